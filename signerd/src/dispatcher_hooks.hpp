// What the service installs on its dispatcher: the call observer (metrics and
// the log line of every call) and the per-identity access policy.
#pragma once

#include "auth.hpp"
#include "jsonrpc.hpp"
#include "metrics.hpp"

namespace teesigner::signerd {

/// Route every dispatched call to the metrics (requests by method and code,
/// latency histogram) and to the log (method, identity, code, duration; never
/// parameters).
void install_call_observer(RpcDispatcher& dispatcher, Metrics& metrics);
/// Enforce an allow-list on the dispatcher (refusals counted under
/// teesigner_refusals_total{rule="access"}).
void install_access_policy(RpcDispatcher& dispatcher, AccessList access, Metrics& metrics);

}  // namespace teesigner::signerd
