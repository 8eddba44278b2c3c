// signerd configuration: embedded defaults, then a TOML file, then command
// line flags (applied by serve.cpp), each overriding the previous. Every
// option is documented in signerd/example-config.toml.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "auth.hpp"
#include "jsonrpc.hpp"
#include "rpc_methods.hpp"
#include "server.hpp"

namespace teesigner::signerd {

struct Config {
    std::string data_dir;             // default: default_data_dir()
    std::string tee = "soft";         // soft | optee
    std::string log_format = "text";  // text | json
    std::string log_level = "info";   // trace | debug | info | warn | error
    std::string tokens_file;          // name:token lines; empty = no tokens

    // Soft TEE backend.
    std::string softtee_storage;  // default: <data_dir>/softtee
    std::string softtee_ta;       // TA executable; empty = built-in path
    unsigned softtee_timeout_ms = 0;

    ServerOptions server;      // [rpc], [tls], [limits]
    RpcLimits rpc_limits;      // [limits] max_batch, max_json_depth (body from server)
    RpcMethodOptions methods;  // [keystore], [limits] max_message_bytes

    // [keys]: key retirement (signer_retireKeys) and its state file.
    struct Keys {
        uint64_t retire_min_idle_sessions = 2;
        uint64_t session_seconds = 14400;  // Polkadot; Kusama: 3600
        std::string usage_file;            // default: <data_dir>/key-usage.json
    } keys;
    std::map<std::string, std::vector<std::string>> access;  // [access] identity -> methods

    // [protection]: the host-side slashing-protection database and audit log.
    struct Protection {
        std::string database = "sqlite";  // sqlite | postgres | none
        std::string sqlite_path;          // default: <data_dir>/protection.sqlite
        std::string postgres_url;         // also TS_POSTGRES_URL (keeps passwords out of argv)
        unsigned postgres_pool = 4;
        uint64_t audit_max_rows = 1'000'000;  // 0 = keep every row
    } protection;
};

/// $XDG_DATA_HOME/tee-signer, else ~/.local/share/tee-signer, else
/// ./tee-signer-data when there is no home directory.
std::string default_data_dir();

/// Defaults with data_dir filled in.
Config default_config();

/// Apply a TOML document over `config`. Unknown tables or keys, wrong types
/// and out-of-range values throw ConfigError (errors.hpp) naming the file, the key
/// and (for syntax errors) the line.
void apply_toml(Config& config, const std::string& text, const std::string& origin);
void apply_toml_file(Config& config, const std::string& path);

/// Check cross-field consistency after flags were applied (e.g. log format
/// names, backend names). Throws ConfigError.
void validate_config(const Config& config);

/// The access list the config describes.
AccessList access_list(const Config& config);

}  // namespace teesigner::signerd
