#include "config.hpp"

#include <toml++/toml.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>

#include "errors.hpp"

namespace teesigner::signerd {
namespace {

std::string where(const std::string& origin, const toml::node& node, const std::string& key) {
    const auto& src = node.source();
    std::string out = origin;
    if (src.begin.line > 0) out += ":" + std::to_string(src.begin.line);
    return out + ": " + key;
}

// Typed readers: each throws with the file, line and key on a wrong type.
class Reader {
  public:
    explicit Reader(std::string origin) : origin_(std::move(origin)) {}

    std::string string(const toml::node& n, const std::string& key) const {
        if (auto v = n.value<std::string>(); v && n.is_string()) return *v;
        fail(n, key, "expected a string");
    }
    bool boolean(const toml::node& n, const std::string& key) const {
        if (auto v = n.value<bool>(); v && n.is_boolean()) return *v;
        fail(n, key, "expected true or false");
    }
    int64_t integer(const toml::node& n, const std::string& key, int64_t min, int64_t max) const {
        if (!n.is_integer()) fail(n, key, "expected an integer");
        const int64_t v = *n.value<int64_t>();
        if (v < min || v > max)
            fail(n, key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
        return v;
    }
    std::vector<std::string> strings(const toml::node& n, const std::string& key) const {
        const toml::array* arr = n.as_array();
        if (arr == nullptr) fail(n, key, "expected an array of strings");
        std::vector<std::string> out;
        for (const auto& item : *arr) {
            if (!item.is_string()) fail(n, key, "expected an array of strings");
            out.push_back(*item.value<std::string>());
        }
        return out;
    }
    [[noreturn]] void fail(const toml::node& n, const std::string& key,
                           const std::string& message) const {
        throw ConfigError(where(origin_, n, key) + ": " + message);
    }
    const std::string& origin() const { return origin_; }

  private:
    std::string origin_;
};

using Setter = std::function<void(const toml::node&, const std::string& key)>;

void apply_table(const Reader& r, const toml::table& table, const std::string& prefix,
                 const std::map<std::string, Setter>& setters) {
    for (const auto& [k, node] : table) {
        const std::string key(k.str());
        const std::string full = prefix.empty() ? key : prefix + "." + key;
        auto it = setters.find(key);
        if (it == setters.end()) r.fail(node, full, "unknown option");
        it->second(node, full);
    }
}

std::chrono::milliseconds ms(int64_t v) {
    return std::chrono::milliseconds(v);
}

}  // namespace

std::string default_data_dir() {
    if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg == '/')
        return std::string(xdg) + "/tee-signer";
    if (const char* home = std::getenv("HOME"); home && *home == '/')
        return std::string(home) + "/.local/share/tee-signer";
    return "./tee-signer-data";
}

Config default_config() {
    Config c;
    c.data_dir = default_data_dir();
    return c;
}

void apply_toml(Config& c, const std::string& text, const std::string& origin) {
    toml::table root;
    try {
        root = toml::parse(text, origin);
    } catch (const toml::parse_error& e) {
        std::ostringstream msg;
        msg << origin << ":" << e.source().begin.line << ":" << e.source().begin.column << ": "
            << e.description();
        throw ConfigError(msg.str());
    }
    const Reader r(origin);
    auto& s = c.server;
    auto& l = s.limits;
    const int64_t kBig = int64_t{1} << 40;

    auto table_of = [&r](const toml::node& n, const std::string& key) -> const toml::table& {
        const toml::table* t = n.as_table();
        if (t == nullptr) r.fail(n, key, "expected a table");
        return *t;
    };

    std::map<std::string, Setter> rpc = {
        {"addr", [&](const toml::node& n, const std::string& k) { s.rpc_addr = r.string(n, k); }},
        {"port",
         [&](const toml::node& n, const std::string& k) {
             const auto port = r.integer(n, k, 0, 65535);
             s.tcp_enabled = port != 0;
             if (port != 0) s.rpc_port = static_cast<uint16_t>(port);
         }},
        {"unix_socket",
         [&](const toml::node& n, const std::string& k) { s.unix_socket = r.string(n, k); }},
        {"require_auth_local",
         [&](const toml::node& n, const std::string& k) {
             s.require_auth_local = r.boolean(n, k);
         }},
        {"metrics_require_auth",
         [&](const toml::node& n, const std::string& k) {
             s.metrics_require_auth = r.boolean(n, k);
         }},
        {"allowed_origins",
         [&](const toml::node& n, const std::string& k) { s.allowed_origins = r.strings(n, k); }},
        {"io_threads",
         [&](const toml::node& n, const std::string& k) {
             s.io_threads = static_cast<int>(r.integer(n, k, 1, 64));
         }},
        {"workers",
         [&](const toml::node& n, const std::string& k) {
             s.rpc_workers = static_cast<int>(r.integer(n, k, 1, 256));
         }},
    };
    std::map<std::string, Setter> tls = {
        {"cert", [&](const toml::node& n, const std::string& k) { s.tls_cert = r.string(n, k); }},
        {"key", [&](const toml::node& n, const std::string& k) { s.tls_key = r.string(n, k); }},
        {"ca", [&](const toml::node& n, const std::string& k) { s.tls_ca = r.string(n, k); }},
    };
    std::map<std::string, Setter> auth = {
        {"tokens_file",
         [&](const toml::node& n, const std::string& k) { c.tokens_file = r.string(n, k); }},
    };
    auto size_setter = [&](size_t& field, int64_t min, int64_t max) -> Setter {
        return [&r, &field, min, max](const toml::node& n, const std::string& k) {
            field = static_cast<size_t>(r.integer(n, k, min, max));
        };
    };
    auto ms_setter = [&](std::chrono::milliseconds& field) -> Setter {
        return [&r, &field](const toml::node& n, const std::string& k) {
            field = ms(r.integer(n, k, 1, 86'400'000));
        };
    };
    std::map<std::string, Setter> limits = {
        {"max_body_bytes", size_setter(l.max_body_bytes, 64, kBig)},
        {"max_header_bytes", size_setter(l.max_header_bytes, 1024, 1 << 20)},
        {"max_ws_message_bytes", size_setter(l.max_ws_message_bytes, 64, kBig)},
        {"max_batch", size_setter(c.rpc_limits.max_batch_size, 1, 100000)},
        {"max_json_depth",
         [&](const toml::node& n, const std::string& k) {
             c.rpc_limits.max_depth = static_cast<int>(r.integer(n, k, 2, 1000));
         }},
        {"max_message_bytes", size_setter(c.methods.max_message_bytes, 1, kBig)},
        {"header_timeout_ms", ms_setter(l.header_timeout)},
        {"body_timeout_ms", ms_setter(l.body_timeout)},
        {"idle_timeout_ms", ms_setter(l.idle_timeout)},
        {"handshake_timeout_ms", ms_setter(l.handshake_timeout)},
        {"write_timeout_ms", ms_setter(l.write_timeout)},
        {"max_connections", size_setter(l.max_connections, 1, 1000000)},
        {"max_connections_per_ip", size_setter(l.max_connections_per_ip, 1, 1000000)},
        {"max_connections_per_identity", size_setter(l.max_connections_per_identity, 1, 1000000)},
        {"rate_limit_per_second", size_setter(l.rate_limit_per_second, 0, 1000000)},
        {"rate_limit_burst", size_setter(l.rate_limit_burst, 1, 10000000)},
        {"rate_limit_local",
         [&](const toml::node& n, const std::string& k) { l.rate_limit_local = r.boolean(n, k); }},
        {"max_inflight_per_connection", size_setter(l.max_inflight_per_connection, 1, 100000)},
    };
    std::map<std::string, Setter> softtee = {
        {"storage",
         [&](const toml::node& n, const std::string& k) { c.softtee_storage = r.string(n, k); }},
        {"ta", [&](const toml::node& n, const std::string& k) { c.softtee_ta = r.string(n, k); }},
        {"timeout_ms",
         [&](const toml::node& n, const std::string& k) {
             c.softtee_timeout_ms = static_cast<unsigned>(r.integer(n, k, 0, 3'600'000));
         }},
    };
    std::map<std::string, Setter> keystore = {
        {"allow_dev_seeds",
         [&](const toml::node& n, const std::string& k) {
             c.methods.allow_dev_seeds = r.boolean(n, k);
         }},
    };
    std::map<std::string, Setter> keys = {
        {"retire_min_idle_sessions",
         [&](const toml::node& n, const std::string& k) {
             c.keys.retire_min_idle_sessions = static_cast<uint64_t>(r.integer(n, k, 1, 10000));
         }},
        {"session_seconds",
         [&](const toml::node& n, const std::string& k) {
             c.keys.session_seconds = static_cast<uint64_t>(r.integer(n, k, 1, 31'536'000));
         }},
        {"usage_file",
         [&](const toml::node& n, const std::string& k) { c.keys.usage_file = r.string(n, k); }},
    };
    auto& pr = c.protection;
    std::map<std::string, Setter> protection = {
        {"database",
         [&](const toml::node& n, const std::string& k) { pr.database = r.string(n, k); }},
        {"sqlite_path",
         [&](const toml::node& n, const std::string& k) { pr.sqlite_path = r.string(n, k); }},
        {"postgres_url",
         [&](const toml::node& n, const std::string& k) { pr.postgres_url = r.string(n, k); }},
        {"postgres_pool",
         [&](const toml::node& n, const std::string& k) {
             pr.postgres_pool = static_cast<unsigned>(r.integer(n, k, 1, 64));
         }},
        {"audit_max_rows",
         [&](const toml::node& n, const std::string& k) {
             pr.audit_max_rows = static_cast<uint64_t>(r.integer(n, k, 0, kBig));
         }},
    };
    auto section = [&](std::map<std::string, Setter>& setters) -> Setter {
        return [&](const toml::node& n, const std::string& k) {
            apply_table(r, table_of(n, k), k, setters);
        };
    };
    std::map<std::string, Setter> top = {
        {"data_dir",
         [&](const toml::node& n, const std::string& k) { c.data_dir = r.string(n, k); }},
        {"tee", [&](const toml::node& n, const std::string& k) { c.tee = r.string(n, k); }},
        {"log_format",
         [&](const toml::node& n, const std::string& k) { c.log_format = r.string(n, k); }},
        {"log_level",
         [&](const toml::node& n, const std::string& k) { c.log_level = r.string(n, k); }},
        {"rpc", section(rpc)},
        {"tls", section(tls)},
        {"auth", section(auth)},
        {"limits", section(limits)},
        {"softtee", section(softtee)},
        {"keystore", section(keystore)},
        {"keys", section(keys)},
        {"protection", section(protection)},
        {"access",
         [&](const toml::node& n, const std::string& k) {
             for (const auto& [identity, list] : table_of(n, k)) {
                 const std::string id(identity.str());
                 c.access[id] = r.strings(list, k + "." + id);
             }
         }},
    };
    apply_table(r, root, "", top);
}

void apply_toml_file(Config& config, const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ConfigError("cannot read config file " + path);
    std::ostringstream text;
    text << in.rdbuf();
    apply_toml(config, text.str(), path);
}

void validate_config(const Config& c) {
    if (c.tee != "soft" && c.tee != "optee")
        throw ConfigError("tee must be \"soft\" or \"optee\", not \"" + c.tee + "\"");
    if (c.log_format != "text" && c.log_format != "json")
        throw ConfigError("log_format must be \"text\" or \"json\", not \"" + c.log_format + "\"");
    static const char* kLevels[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};
    bool level_ok = false;
    for (const char* l : kLevels) level_ok = level_ok || c.log_level == l;
    if (!level_ok) throw ConfigError("log_level must be one of trace, debug, info, warn, error");
    if (c.data_dir.empty()) throw ConfigError("data_dir must not be empty");
    const auto& pr = c.protection;
    if (pr.database != "sqlite" && pr.database != "postgres" && pr.database != "none")
        throw ConfigError(
            "protection.database must be \"sqlite\", \"postgres\" or \"none\", not \"" +
            pr.database + "\"");
    if (pr.database == "postgres" && pr.postgres_url.empty())
        throw ConfigError(
            "protection.database = \"postgres\" needs protection.postgres_url, --postgres-url or "
            "TS_POSTGRES_URL");
    for (const auto& [identity, methods] : c.access) {
        if (identity.empty()) throw ConfigError("access: empty identity");
        for (const auto& m : methods) {
            if (m.empty()) throw ConfigError("access." + identity + ": empty method pattern");
            const auto star = m.find('*');
            if (star != std::string::npos && star != m.size() - 1)
                throw ConfigError("access." + identity + ": \"" + m +
                                  "\": '*' may only end a pattern");
        }
    }
}

AccessList access_list(const Config& c) {
    AccessList list;
    for (const auto& [identity, methods] : c.access) list.allow(identity, methods);
    return list;
}

}  // namespace teesigner::signerd
