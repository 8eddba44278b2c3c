#include "serve.hpp"

#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>

#include "dispatcher_hooks.hpp"
#include "errors.hpp"
#include "logging.hpp"
#include "metrics.hpp"
#include "protected_key_service.hpp"
#include "protection_db.hpp"
#include "rpc_methods.hpp"
#include "server.hpp"
#ifdef TS_SIGNERD_HAVE_TEE
#include "tee_key_service.hpp"
#endif

namespace teesigner::signerd {
namespace {

void ensure_data_dir(const std::string& dir) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::exists(dir, ec)) {
        fs::create_directories(dir, ec);
        if (ec) throw StartupError("cannot create data directory " + dir + ": " + ec.message());
        ::chmod(dir.c_str(), 0700);
    } else if (!fs::is_directory(dir, ec)) {
        throw StartupError("data directory " + dir + " exists and is not a directory");
    }
    struct stat st {};
    if (::stat(dir.c_str(), &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
        spdlog::warn("data directory {} is accessible by group or others; chmod 700 it", dir);
}

}  // namespace

Config build_config(const ServeFlags& f) {
    Config c = default_config();
    if (!f.config_file.empty()) apply_toml_file(c, f.config_file);
    if (f.set_data_dir) c.data_dir = f.data_dir;
    if (f.set_rpc_addr) c.server.rpc_addr = f.rpc_addr;
    if (f.set_rpc_port) {
        if (f.rpc_port < 0 || f.rpc_port > 65535)
            throw ConfigError("--rpc-port must be 0..65535 (0 disables TCP)");
        c.server.tcp_enabled = f.rpc_port != 0;
        if (f.rpc_port != 0) c.server.rpc_port = static_cast<uint16_t>(f.rpc_port);
    }
    if (f.set_unix_socket) c.server.unix_socket = f.unix_socket;
    if (f.set_tee) c.tee = f.tee;
    if (f.set_tls_cert) c.server.tls_cert = f.tls_cert;
    if (f.set_tls_key) c.server.tls_key = f.tls_key;
    if (f.set_tls_ca) c.server.tls_ca = f.tls_ca;
    if (f.set_tokens_file) c.tokens_file = f.tokens_file;
    if (f.require_auth_local) c.server.require_auth_local = true;
    if (f.set_log_format) c.log_format = f.log_format;
    if (f.set_log_level) c.log_level = f.log_level;
    if (f.allow_dev_seeds) c.methods.allow_dev_seeds = true;
    if (c.softtee_storage.empty()) c.softtee_storage = c.data_dir + "/softtee";
    if (c.keys.usage_file.empty()) c.keys.usage_file = c.data_dir + "/key-usage.json";
    if (const char* url = std::getenv("TS_POSTGRES_URL"); url && *url)
        c.protection.postgres_url = url;
    if (f.set_postgres_url) c.protection.postgres_url = f.postgres_url;
    if (f.set_protection_db) c.protection.database = f.protection_db;
    if (c.protection.sqlite_path.empty())
        c.protection.sqlite_path = c.data_dir + "/protection.sqlite";
    validate_config(c);
    return c;
}

int run_serve(const ServeFlags& flags) {
    Config config;
    try {
        config = build_config(flags);
        setup_logging(config.log_format, config.log_level);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "tee-signer serve: %s\n", e.what());
        return 2;
    }

    // SIGINT/SIGTERM are taken synchronously by this thread (sigwait); block
    // them before any other thread exists so that every thread inherits the mask.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    ::signal(SIGPIPE, SIG_IGN);

    try {
        ensure_data_dir(config.data_dir);

        TokenStore tokens;
        if (!config.tokens_file.empty()) {
            std::vector<std::string> warnings;
            tokens = TokenStore::load_file(config.tokens_file, &warnings);
            for (const auto& w : warnings) spdlog::warn("{}", w);
            spdlog::info("loaded {} bearer token(s) from {}", tokens.size(), config.tokens_file);
        }
        // Refuse a bad listener configuration before starting the TEE.
        validate_server_security(config.server, tokens);

        Metrics metrics;
#ifndef TS_SIGNERD_HAVE_TEE
        throw StartupError(
            "this build has no TEE backend (the tee/ component was not built); cannot serve");
#else
        TeeOptions tee;
        tee.backend = config.tee;
        tee.softtee_storage = config.softtee_storage;
        tee.softtee_ta = config.softtee_ta;
        tee.softtee_timeout_ms = config.softtee_timeout_ms;
        tee.allow_dev_seeds = config.methods.allow_dev_seeds;
        auto keys = std::make_unique<TeeKeyService>(tee, &metrics);
        spdlog::info("connected to the {} TEE{}", config.tee,
                     config.tee == "soft" ? " (storage " + config.softtee_storage + ")" : "");
        if (config.methods.allow_dev_seeds)
            spdlog::warn("development seeds are enabled: keystore_generateNew accepts secret URIs");

        // The host-side protection database sits in front of the TEE (fail closed).
        std::unique_ptr<ProtectionDb> protection_db;
        std::unique_ptr<ProtectedKeyService> protected_keys;
        KeyService* service = keys.get();
        const auto& pc = config.protection;
        if (pc.database != "none") {
            ProtectionDbOptions o;
            o.backend = pc.database;
            o.sqlite_path = pc.sqlite_path;
            o.postgres_url = pc.postgres_url;
            o.pool_size = pc.postgres_pool;
            o.audit_max_rows = pc.audit_max_rows;
            char host[256] = {};
            if (::gethostname(host, sizeof host - 1) == 0) o.instance = host;
            o.instance += ":" + config.data_dir;
            protection_db = open_protection_db(o);
            protected_keys = std::make_unique<ProtectedKeyService>(*keys, *protection_db, &metrics);
            service = protected_keys.get();
            spdlog::info(
                "slashing protection database: {} ({})", pc.database,
                pc.database == "sqlite" ? pc.sqlite_path : redact_postgres_url(pc.postgres_url));
        } else {
            spdlog::warn(
                "slashing protection database disabled: only the TEE's own state protects");
        }

        // When each key last signed, for signer_retireKeys.
        KeyUsageOptions usage_options;
        usage_options.state_file = config.keys.usage_file;
        usage_options.min_idle_sessions = config.keys.retire_min_idle_sessions;
        usage_options.session_seconds = config.keys.session_seconds;
        KeyUsage usage(usage_options);
        RpcMethodOptions method_options = config.methods;
        method_options.usage = &usage;

        RpcLimits rpc_limits = config.rpc_limits;
        rpc_limits.max_body_bytes = std::max(config.server.limits.max_body_bytes,
                                             config.server.limits.max_ws_message_bytes);
        RpcDispatcher dispatcher(rpc_limits);
        register_rpc_methods(dispatcher, *service, metrics, method_options);
        install_call_observer(dispatcher, metrics);
        install_access_policy(dispatcher, access_list(config), metrics);
        if (protected_keys) {
            // The audit log names the caller: remember it for the handler, which
            // runs on this same thread right after the access check.
            dispatcher.set_access_policy([access = access_list(config), &metrics](
                                             const std::string& method, const ClientContext& c) {
                set_audit_context(c.identity, method);
                if (access.allowed(method, c.identity)) return true;
                metrics.refusal("access");
                spdlog::warn("refused {} for {}: not in its allow-list", method, c.identity);
                return false;
            });
        }
        Server server(config.server, dispatcher, metrics, std::move(tokens), [service]() {
            KeyServiceHealth h = service->health();
            HealthReport r;
            r.ok = h.ok;
            r.body = {{"status", h.ok ? "ok" : "unhealthy"},
                      {"tee", h.backend},
                      {"teeRestarts", h.restarts}};
            if (!h.detail.empty()) r.body["detail"] = h.detail;
            return r;
        });
        server.start();
        refresh_key_metrics(*service, metrics);
        spdlog::info("tee-signer ready");

        int sig = 0;
        sigwait(&stop_signals, &sig);
        spdlog::info("received {}, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
        server.stop();
        protected_keys.reset();
        protection_db.reset();
        keys.reset();
        spdlog::info("shutdown complete");
        return 0;
#endif
    } catch (const std::exception& e) {
        spdlog::critical("{}", e.what());
        return 1;
    }
}

struct ServeCommand::Options {
    CLI::Option *data_dir, *rpc_addr, *rpc_port, *unix_socket, *tee, *tls_cert, *tls_key, *tls_ca,
        *tokens, *log_format, *log_level, *protection_db, *postgres_url;
};

ServeCommand::ServeCommand(CLI::App& app) : options_(std::make_shared<Options>()) {
    ServeFlags& f = flags_;
    Options& o = *options_;
    sub_ = app.add_subcommand("serve",
                              "Run the signing service: JSON-RPC over HTTP/WebSocket and a Unix "
                              "socket, backed by the TEE");
    sub_->add_option("--config", f.config_file, "TOML config file (flags override it)")
        ->check(CLI::ExistingFile);
    o.data_dir = sub_->add_option("--data-dir", f.data_dir,
                                  "Data directory (default ~/.local/share/tee-signer)");
    o.rpc_addr =
        sub_->add_option("--rpc-addr", f.rpc_addr, "TCP listen address (default 127.0.0.1)");
    o.rpc_port =
        sub_->add_option("--rpc-port", f.rpc_port, "TCP port (default 9955; 0 disables TCP)");
    o.unix_socket = sub_->add_option("--unix-socket", f.unix_socket,
                                     "Also listen on this Unix socket (mode 0600)");
    o.tee = sub_->add_option("--tee", f.tee, "TEE backend: soft (default) or optee")
                ->check(CLI::IsMember({"soft", "optee"}));
    o.tls_cert = sub_->add_option("--tls-cert", f.tls_cert, "TLS certificate chain (PEM)");
    o.tls_key = sub_->add_option("--tls-key", f.tls_key, "TLS private key (PEM)");
    o.tls_ca = sub_->add_option("--tls-ca", f.tls_ca,
                                "CA bundle (PEM) for client certificates: enables mutual TLS");
    o.tokens =
        sub_->add_option("--tokens-file", f.tokens_file, "Bearer tokens, one name:token per line");
    sub_->add_flag("--require-auth-local", f.require_auth_local,
                   "Require authentication from loopback and Unix socket clients too");
    o.log_format = sub_->add_option("--log-format", f.log_format, "Log format: text or json")
                       ->check(CLI::IsMember({"text", "json"}));
    o.log_level =
        sub_->add_option("--log-level", f.log_level, "Log level: trace, debug, info, warn, error");
    sub_->add_flag("--allow-dev-seeds", f.allow_dev_seeds,
                   "DEVELOPMENT ONLY: let keystore_generateNew import secret URIs");
    o.protection_db =
        sub_->add_option("--protection-db", f.protection_db,
                         "Host-side slashing-protection database: sqlite (default), postgres "
                         "(shared by several signers) or none")
            ->check(CLI::IsMember({"sqlite", "postgres", "none"}));
    o.postgres_url = sub_->add_option(
        "--postgres-url", f.postgres_url,
        "PostgreSQL connection URL (prefer TS_POSTGRES_URL: argv is visible to other users)");
}

bool ServeCommand::parsed() const {
    return sub_->parsed();
}

ServeFlags ServeCommand::flags() const {
    const Options& o = *options_;
    ServeFlags f = flags_;
    f.set_data_dir = o.data_dir->count() > 0;
    f.set_rpc_addr = o.rpc_addr->count() > 0;
    f.set_rpc_port = o.rpc_port->count() > 0;
    f.set_unix_socket = o.unix_socket->count() > 0;
    f.set_tee = o.tee->count() > 0;
    f.set_tls_cert = o.tls_cert->count() > 0;
    f.set_tls_key = o.tls_key->count() > 0;
    f.set_tls_ca = o.tls_ca->count() > 0;
    f.set_tokens_file = o.tokens->count() > 0;
    f.set_log_format = o.log_format->count() > 0;
    f.set_log_level = o.log_level->count() > 0;
    f.set_protection_db = o.protection_db->count() > 0;
    f.set_postgres_url = o.postgres_url->count() > 0;
    return f;
}

int ServeCommand::run() {
    return run_serve(flags());
}

}  // namespace teesigner::signerd
