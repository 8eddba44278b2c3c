#include "tls.hpp"

#include <openssl/x509.h>

#include <exception>
#include <stdexcept>

#include "errors.hpp"

namespace teesigner::signerd::server_detail {

namespace ssl = boost::asio::ssl;

std::unique_ptr<ssl::context> make_tls_context(const ServerOptions& o, bool tokens_configured) {
    auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                     ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                     ssl::context::single_dh_use);
    SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
    try {
        ctx->use_certificate_chain_file(o.tls_cert);
    } catch (const std::exception& e) {
        throw ConfigError("cannot load TLS certificate " + o.tls_cert + ": " + e.what());
    }
    try {
        ctx->use_private_key_file(o.tls_key, ssl::context::pem);
    } catch (const std::exception& e) {
        throw ConfigError("cannot load TLS private key " + o.tls_key + ": " + e.what());
    }
    if (SSL_CTX_check_private_key(ctx->native_handle()) != 1)
        throw ConfigError("TLS private key " + o.tls_key + " does not match certificate " +
                          o.tls_cert);
    if (!o.tls_ca.empty()) {
        try {
            ctx->load_verify_file(o.tls_ca);
        } catch (const std::exception& e) {
            throw ConfigError("cannot load TLS client CA " + o.tls_ca + ": " + e.what());
        }
        // With tokens as an alternative, a client certificate is optional;
        // without, it is mandatory.
        auto mode = ssl::verify_peer;
        if (!tokens_configured) mode |= ssl::verify_fail_if_no_peer_cert;
        ctx->set_verify_mode(mode);
        // Tell clients which CA we accept.
        STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(o.tls_ca.c_str());
        if (names != nullptr) SSL_CTX_set_client_CA_list(ctx->native_handle(), names);
    } else {
        ctx->set_verify_mode(ssl::verify_none);
    }
    return ctx;
}

std::string cert_common_name(SSL* ssl) {
    X509* cert = SSL_get1_peer_certificate(ssl);
    if (cert == nullptr) return {};
    std::string cn;
    if (SSL_get_verify_result(ssl) == X509_V_OK) {
        X509_NAME* subject = X509_get_subject_name(cert);
        int idx = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
        if (idx >= 0) {
            ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx));
            unsigned char* utf8 = nullptr;
            int len = ASN1_STRING_to_UTF8(&utf8, data);
            if (len > 0) cn.assign(reinterpret_cast<char*>(utf8), static_cast<size_t>(len));
            OPENSSL_free(utf8);
        }
    }
    X509_free(cert);
    // An empty or control-character CN is not a usable identity.
    for (char c : cn) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return {};
    }
    return cn;
}

}  // namespace teesigner::signerd::server_detail
