// A JSON-RPC WebSocket connection, after the HTTP session has authenticated
// its upgrade request: several requests in flight (up to the per-connection
// limit), answers in completion order, the rate limit per message.
#pragma once

#include <memory>

#include "server_state.hpp"

namespace teesigner::signerd::server_detail {

/// What the HTTP session hands over with an authenticated upgrade request.
struct Upgrade {
    std::shared_ptr<State> state;
    ConnInfo info;
    ConnectionSlot slot;
    IdentitySlot identity_slot;
    ClientContext client;
    http::request<http::string_body> request;
};

/// Accept the upgrade on `stream` and serve the connection until it closes;
/// the session keeps the connection's slots as long as it lives. Defined for
/// TcpStream, TlsStream and UnixStream.
template <class Stream>
void start_websocket_session(Stream&& stream, Upgrade upgrade);

}  // namespace teesigner::signerd::server_detail
