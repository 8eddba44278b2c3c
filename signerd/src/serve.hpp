// `tee-signer serve`: runs signerd. The CLI (cli/main.cpp) adds the
// subcommand with a ServeCommand before parsing and, when it was parsed, runs
// the service until SIGINT/SIGTERM.
#pragma once

#include <memory>
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
    std::string protection_db;  // sqlite | postgres | none
    std::string postgres_url;

    bool set_protection_db = false, set_postgres_url = false;
    bool set_data_dir = false, set_rpc_addr = false, set_rpc_port = false, set_unix_socket = false,
         set_tee = false, set_tls_cert = false, set_tls_key = false, set_tls_ca = false,
         set_tokens_file = false, set_log_format = false, set_log_level = false;
};

/// The `serve` subcommand for a CLI that parses first and dispatches after:
///
///     teesigner::signerd::ServeCommand serve(app);     // before app.parse()
///     ...
///     if (serve.parsed()) return serve.run();          // after app.parse()
///
/// run() returns the process exit code (0 after SIGINT/SIGTERM, 2 for a bad
/// configuration, 1 for a start-up or runtime failure) and prints the reason
/// itself. `app` must outlive the object.
class ServeCommand {
  public:
    explicit ServeCommand(CLI::App& app);
    /// The subcommand (e.g. for check_name).
    CLI::App* subcommand() const { return sub_; }
    bool parsed() const;
    /// The flags as parsed (with set_* filled in).
    ServeFlags flags() const;
    int run();

  private:
    CLI::App* sub_;
    ServeFlags flags_;
    struct Options;
    std::shared_ptr<Options> options_;
};

/// Defaults, then the config file (if any), then the flags; validated.
Config build_config(const ServeFlags& flags);

/// Run the service until SIGINT or SIGTERM. Returns the process exit code
/// (0 after a clean shutdown); prints the reason for a failure to stderr.
int run_serve(const ServeFlags& flags);

}  // namespace teesigner::signerd
