// The C API over teesigner::client::Client: every entry point catches
// everything, so no exception crosses into C.
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>

#include "teesigner/client/client.h"
#include "teesigner/client/client.hpp"

struct ts_client {
    explicit ts_client(teesigner::client::Endpoint e) : client(std::move(e)) {}
    teesigner::client::Client client;
};

struct ts_client_error {
    int code = TS_E_INTERNAL;
    int rpc_code = 0;
    std::string message;
    std::string data_json = "null";
};

namespace {

using teesigner::client::Bytes;

// Fills *err (when asked for) and returns `code`.
int fail(ts_client_error** err, int code, const std::string& message, int rpc_code = 0,
         const std::string& data_json = "null") noexcept {
    if (err == nullptr) return code;
    *err = nullptr;
    try {
        auto e = std::make_unique<ts_client_error>();
        e->code = code;
        e->rpc_code = rpc_code;
        e->message = message;
        e->data_json = data_json;
        *err = e.release();
    } catch (...) {
        // Out of memory while reporting: the code alone must do.
    }
    return code;
}

// Runs `body` and maps every exception to a code and an error object.
template <class Body>
int guarded(ts_client_error** err, Body&& body) noexcept {
    if (err != nullptr) *err = nullptr;
    try {
        return body();
    } catch (const teesigner::client::RpcError& e) {
        std::string data = "null";
        try {
            data = e.data().dump();
        } catch (...) {
        }
        return fail(err, TS_E_RPC, e.rpc_message(), e.code(), data);
    } catch (const teesigner::client::TransportError& e) {
        return fail(err, TS_E_TRANSPORT, e.what());
    } catch (const std::invalid_argument& e) {
        return fail(err, TS_E_INVALID_ARGUMENT, e.what());
    } catch (const nlohmann::json::exception& e) {
        return fail(err, TS_E_INVALID_ARGUMENT, e.what());
    } catch (const std::bad_alloc&) {
        return fail(err, TS_E_NO_MEMORY, "out of memory");
    } catch (const std::exception& e) {
        return fail(err, TS_E_INTERNAL, e.what());
    } catch (...) {
        return fail(err, TS_E_INTERNAL, "unknown error");
    }
}

int copy_out(const Bytes& value, uint8_t* out, size_t cap, size_t* out_len, ts_client_error** err) {
    if (out_len != nullptr) *out_len = value.size();
    if (value.size() > cap || (out == nullptr && !value.empty()))
        return fail(err, TS_E_BUFFER_TOO_SMALL,
                    "output buffer too small: need " + std::to_string(value.size()) + " bytes");
    if (!value.empty()) std::memcpy(out, value.data(), value.size());
    return TS_OK;
}

std::string opt(const char* s) {
    return s == nullptr ? std::string() : std::string(s);
}

Bytes bytes_in(const uint8_t* p, size_t n) {
    if (p == nullptr && n != 0) throw std::invalid_argument("NULL buffer with a nonzero length");
    return n == 0 ? Bytes() : Bytes(p, p + n);
}

}  // namespace

extern "C" {

int ts_client_open(const char* url, const char* token, const char* ca_file, const char* cert_file,
                   const char* key_file, uint32_t timeout_ms, ts_client** handle,
                   ts_client_error** err) {
    return guarded(err, [&]() -> int {
        if (handle == nullptr) return fail(err, TS_E_INVALID_ARGUMENT, "handle is NULL");
        *handle = nullptr;
        if (url == nullptr) return fail(err, TS_E_INVALID_ARGUMENT, "url is NULL");
        teesigner::client::Endpoint e;
        e.url = url;
        if (token != nullptr && *token != '\0') e.token = std::string(token);
        e.ca_file = opt(ca_file);
        e.cert_file = opt(cert_file);
        e.key_file = opt(key_file);
        e.timeout = std::chrono::milliseconds(timeout_ms == 0 ? 30000 : timeout_ms);
        try {
            *handle = std::make_unique<ts_client>(std::move(e)).release();
        } catch (const teesigner::client::TransportError& ex) {
            // A bad URL or TLS file is the caller's argument, not the network.
            return fail(err, TS_E_INVALID_ARGUMENT, ex.what());
        }
        return TS_OK;
    });
}

void ts_client_close(ts_client* handle) {
    std::unique_ptr<ts_client> owned(handle);
}

void ts_client_free(void* p) {
    std::free(p);
}

int ts_client_call_json(ts_client* handle, const char* method, const char* params_json,
                        char** result_json, ts_client_error** err) {
    return guarded(err, [&]() -> int {
        if (handle == nullptr || method == nullptr || result_json == nullptr)
            return fail(err, TS_E_INVALID_ARGUMENT, "handle, method and result_json must be set");
        *result_json = nullptr;
        nlohmann::json params = nlohmann::json::array();
        if (params_json != nullptr) {
            params = nlohmann::json::parse(params_json, nullptr, false);
            if (params.is_discarded() || (!params.is_array() && !params.is_object()))
                return fail(err, TS_E_INVALID_ARGUMENT,
                            "params_json must be a JSON array or object");
        }
        const std::string text = handle->client.call(method, std::move(params)).dump();
        char* out = static_cast<char*>(std::malloc(text.size() + 1));
        if (out == nullptr) return fail(err, TS_E_NO_MEMORY, "out of memory");
        std::memcpy(out, text.c_str(), text.size() + 1);
        *result_json = out;
        return TS_OK;
    });
}

int ts_client_sign(ts_client* handle, const char* key_type, const char* scheme,
                   const uint8_t* public_key, size_t public_key_len, const uint8_t* message,
                   size_t message_len, uint8_t* sig, size_t sig_cap, size_t* sig_len,
                   ts_client_error** err) {
    return guarded(err, [&]() -> int {
        if (sig_len != nullptr) *sig_len = 0;
        if (handle == nullptr || key_type == nullptr || scheme == nullptr)
            return fail(err, TS_E_INVALID_ARGUMENT, "handle, key_type and scheme must be set");
        const Bytes signature = handle->client.sign(
            key_type, scheme, bytes_in(public_key, public_key_len), bytes_in(message, message_len));
        return copy_out(signature, sig, sig_cap, sig_len, err);
    });
}

int ts_client_rotate_keys(ts_client* handle, uint8_t* keys, size_t keys_cap, size_t* keys_len,
                          ts_client_error** err) {
    return guarded(err, [&]() -> int {
        if (keys_len != nullptr) *keys_len = 0;
        if (handle == nullptr) return fail(err, TS_E_INVALID_ARGUMENT, "handle is NULL");
        return copy_out(handle->client.rotate_keys(), keys, keys_cap, keys_len, err);
    });
}

int ts_client_public_keys(ts_client* handle, const char* key_type, const char* scheme, uint8_t* out,
                          size_t out_cap, size_t* out_len, size_t* count, ts_client_error** err) {
    return guarded(err, [&]() -> int {
        if (out_len != nullptr) *out_len = 0;
        if (count != nullptr) *count = 0;
        if (handle == nullptr || key_type == nullptr || scheme == nullptr)
            return fail(err, TS_E_INVALID_ARGUMENT, "handle, key_type and scheme must be set");
        const auto keys = handle->client.public_keys(key_type, scheme);
        Bytes all;
        for (const auto& k : keys) all.insert(all.end(), k.begin(), k.end());
        if (count != nullptr) *count = keys.size();
        return copy_out(all, out, out_cap, out_len, err);
    });
}

int ts_client_error_code(const ts_client_error* err) {
    return err == nullptr ? TS_OK : err->code;
}

int ts_client_error_rpc_code(const ts_client_error* err) {
    return err == nullptr ? 0 : err->rpc_code;
}

const char* ts_client_error_message(const ts_client_error* err) {
    return err == nullptr ? "" : err->message.c_str();
}

const char* ts_client_error_data_json(const ts_client_error* err) {
    return err == nullptr ? "null" : err->data_json.c_str();
}

void ts_client_error_free(ts_client_error* err) {
    std::unique_ptr<ts_client_error> owned(err);
}

}  // extern "C"
