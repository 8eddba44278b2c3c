// tee-signer keys list|retire: the keys a running signer holds, and retiring
// an old session's keys (signer_retireKeys, docs/protocol.md) once
// session.setKeys with the new ones has taken effect.
//
// Exit codes: 0 success; 1 the signer could not be reached or refused (a key
// that signed within the window, the newest set, ...: each key is printed with
// the reason); 2 bad input.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "protection_cmd.hpp"

namespace teesigner::cli {

struct KeysListOptions {
    RpcOptions rpc;
    std::vector<std::string> key_types;  // extra key types besides the session ones
    std::string network;                 // kusama, polkadot or substrate: SS58 addresses
    std::string output_type = "text";
};

struct KeysRetireOptions {
    RpcOptions rpc;
    std::string session_keys;       // a SessionKeys blob (0x hex, 193 bytes)
    std::vector<std::string> keys;  // or public:keyType pairs
    bool force = false;
    std::string output_type = "text";
};

int run_keys_list(const KeysListOptions& options);
int run_keys_retire(const KeysRetireOptions& options);

/// Registers `keys` with `list` and `retire`; `dispatch` runs the parsed one.
class KeysCommand {
  public:
    explicit KeysCommand(CLI::App& app);
    KeysCommand(const KeysCommand&) = delete;
    KeysCommand& operator=(const KeysCommand&) = delete;
    CLI::App* subcommand() const noexcept { return sub_; }
    int dispatch() const;

  private:
    CLI::App* sub_;
    CLI::App *list_, *retire_;
    KeysListOptions list_options_;
    KeysRetireOptions retire_options_;
};

}  // namespace teesigner::cli
