// `tee-signer serve`: runs signerd. The CLI (cli/main.cpp) registers the
// subcommand with add_serve_command(app) before parsing; the subcommand's
// callback runs the service until SIGINT/SIGTERM.
#pragma once

#include <string>

#include "config.hpp"

namespace CLI {
class App;
}

namespace teesigner::signerd {

/// Command line flags of `serve`; `set_*` says whether the flag was given
/// (flags override the config file only when given).
struct ServeFlags {
    std::string config_file;
    std::string data_dir;
    std::string rpc_addr;
    int rpc_port = 0;
    std::string unix_socket;
    std::string tee;
    std::string tls_cert, tls_key, tls_ca;
    std::string tokens_file;
    bool require_auth_local = false;
    std::string log_format;
    std::string log_level;
    bool allow_dev_seeds = false;

    bool set_data_dir = false, set_rpc_addr = false, set_rpc_port = false, set_unix_socket = false,
         set_tee = false, set_tls_cert = false, set_tls_key = false, set_tls_ca = false,
         set_tokens_file = false, set_log_format = false, set_log_level = false;
};

/// Add the `serve` subcommand to `app`. On failure its callback throws
/// CLI::RuntimeError(exit code) after printing the reason to stderr, so
/// CLI11_PARSE / app.exit() returns that code without printing more.
void add_serve_command(CLI::App& app);

/// Defaults, then the config file (if any), then the flags; validated.
Config build_config(const ServeFlags& flags);

/// Run the service until SIGINT or SIGTERM. Returns the process exit code
/// (0 after a clean shutdown); prints the reason for a failure to stderr.
int run_serve(const ServeFlags& flags);

}  // namespace teesigner::signerd
