// The server's TLS: the server context built from the options (certificate
// chain, key, and for mutual TLS the client CA) and the identity a verified
// client certificate gives a connection.
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/ssl.hpp>
#include <memory>
#include <string>

#include "server.hpp"

namespace teesigner::signerd::server_detail {

/// TLS 1.2 or later; with `o.tls_ca` client certificates are verified, and
/// required unless bearer tokens are configured too. Throws ConfigError
/// (errors.hpp) naming the file that does not load.
std::unique_ptr<boost::asio::ssl::context> make_tls_context(const ServerOptions& o,
                                                            bool tokens_configured);

/// The subject CN of the peer's verified certificate; empty without one, when
/// verification failed, or when the CN holds control characters.
std::string cert_common_name(SSL* ssl);

}  // namespace teesigner::signerd::server_detail
