// The JSON-RPC error for a slashing-protection refusal, shared by every path
// that can refuse (the TA's answer in tee_key_service.cpp, the host database in
// protected_key_service.cpp), so a client sees one format whichever refused.
#pragma once

#include "key_service.hpp"
#include "teesigner/core/protection.hpp"

namespace teesigner::signerd {

/// -32010 (kSlashingRefused) with data {code, reason, rule, position, and
/// earlier / watermark / keyType as the reason has them}; -32011
/// (kPolicyRefused) for opaque_refused. See docs/protocol.md.
ServiceError refusal_error(const core::protection::Refusal& refusal);

}  // namespace teesigner::signerd
