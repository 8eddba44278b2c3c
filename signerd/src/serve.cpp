#include "serve.hpp"

#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>

#include "logging.hpp"
#include "metrics.hpp"
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
        if (ec)
            throw std::runtime_error("cannot create data directory " + dir + ": " + ec.message());
        ::chmod(dir.c_str(), 0700);
    } else if (!fs::is_directory(dir, ec)) {
        throw std::runtime_error("data directory " + dir + " exists and is not a directory");
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
            throw std::runtime_error("--rpc-port must be 0..65535 (0 disables TCP)");
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
        throw std::runtime_error(
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

        RpcLimits rpc_limits = config.rpc_limits;
        rpc_limits.max_body_bytes = std::max(config.server.limits.max_body_bytes,
                                             config.server.limits.max_ws_message_bytes);
        RpcDispatcher dispatcher(rpc_limits);
        register_rpc_methods(dispatcher, *keys, metrics, config.methods);
        install_call_observer(dispatcher, metrics);
        install_access_policy(dispatcher, access_list(config), metrics);

        KeyService* service = keys.get();
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
        refresh_key_metrics(*keys, metrics);
        spdlog::info("tee-signer ready");

        int sig = 0;
        sigwait(&stop_signals, &sig);
        spdlog::info("received {}, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
        server.stop();
        keys.reset();
        spdlog::info("shutdown complete");
        return 0;
#endif
    } catch (const std::exception& e) {
        spdlog::critical("{}", e.what());
        return 1;
    }
}

void add_serve_command(CLI::App& app) {
    auto flags = std::make_shared<ServeFlags>();
    CLI::App* sub = app.add_subcommand("serve",
                                       "Run the signing service: JSON-RPC over HTTP/WebSocket and "
                                       "a Unix socket, backed by the TEE");
    sub->add_option("--config", flags->config_file, "TOML config file (flags override it)")
        ->check(CLI::ExistingFile);
    auto* data_dir = sub->add_option("--data-dir", flags->data_dir,
                                     "Data directory (default ~/.local/share/tee-signer)");
    auto* rpc_addr =
        sub->add_option("--rpc-addr", flags->rpc_addr, "TCP listen address (default 127.0.0.1)");
    auto* rpc_port =
        sub->add_option("--rpc-port", flags->rpc_port, "TCP port (default 9955; 0 disables TCP)");
    auto* unix_socket = sub->add_option("--unix-socket", flags->unix_socket,
                                        "Also listen on this Unix socket (mode 0600)");
    auto* tee = sub->add_option("--tee", flags->tee, "TEE backend: soft (default) or optee")
                    ->check(CLI::IsMember({"soft", "optee"}));
    auto* tls_cert = sub->add_option("--tls-cert", flags->tls_cert, "TLS certificate chain (PEM)");
    auto* tls_key = sub->add_option("--tls-key", flags->tls_key, "TLS private key (PEM)");
    auto* tls_ca = sub->add_option("--tls-ca", flags->tls_ca,
                                   "CA bundle (PEM) for client certificates: enables mutual TLS");
    auto* tokens = sub->add_option("--tokens-file", flags->tokens_file,
                                   "Bearer tokens, one name:token per line");
    sub->add_flag("--require-auth-local", flags->require_auth_local,
                  "Require authentication from loopback and Unix socket clients too");
    auto* log_format =
        sub->add_option("--log-format", flags->log_format, "Log format: text or json")
            ->check(CLI::IsMember({"text", "json"}));
    auto* log_level = sub->add_option("--log-level", flags->log_level,
                                      "Log level: trace, debug, info, warn, error");
    sub->add_flag("--allow-dev-seeds", flags->allow_dev_seeds,
                  "DEVELOPMENT ONLY: let keystore_generateNew import secret URIs");
    sub->callback([flags, data_dir, rpc_addr, rpc_port, unix_socket, tee, tls_cert, tls_key, tls_ca,
                   tokens, log_format, log_level]() {
        flags->set_data_dir = data_dir->count() > 0;
        flags->set_rpc_addr = rpc_addr->count() > 0;
        flags->set_rpc_port = rpc_port->count() > 0;
        flags->set_unix_socket = unix_socket->count() > 0;
        flags->set_tee = tee->count() > 0;
        flags->set_tls_cert = tls_cert->count() > 0;
        flags->set_tls_key = tls_key->count() > 0;
        flags->set_tls_ca = tls_ca->count() > 0;
        flags->set_tokens_file = tokens->count() > 0;
        flags->set_log_format = log_format->count() > 0;
        flags->set_log_level = log_level->count() > 0;
        const int rc = run_serve(*flags);
        if (rc != 0) throw CLI::RuntimeError(rc);
    });
}

}  // namespace teesigner::signerd
