// The HTTP side of a connection, and the entry point of every connection: TLS
// handshake, request header and body limits and timeouts, authentication, the
// Origin check and the rate limit, JSON-RPC over POST, GET /health and
// /metrics, and the hand-over of WebSocket upgrades (websocket_session.hpp).
#pragma once

#include <memory>

#include "server_state.hpp"

namespace teesigner::signerd::server_detail {

/// Serve a newly accepted connection on its own strand until it closes (or is
/// upgraded); the session keeps `slot` as long as the connection lives.
/// Defined for TcpStream, TlsStream and UnixStream.
template <class Stream>
void start_http_session(Stream&& stream, std::shared_ptr<State> state, ConnInfo info,
                        ConnectionSlot slot);

}  // namespace teesigner::signerd::server_detail
