// tee-signer simulate: two redundant validator nodes with slightly different
// chain views replay a validator's signing workload against one signer, and the
// tool checks that no equivocation got through (docs/simulate.md).
//
// Exit codes: 0 every check passed; 1 a check failed (an equivocation was
// signed, a signature did not verify, a request was refused or allowed
// against the rules, or a call failed); 2 bad options or the signer could not
// be started or reached.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "protection_cmd.hpp"

namespace teesigner::cli {

struct SimulateOptions {
    RpcOptions rpc;
    bool spawn = false;        // start a private `tee-signer serve` (temp data dir)
    unsigned rounds = 40;      // one GRANDPA round, BABE slot and BEEFY block each
    uint64_t seed = 1;         // the chain views and forks; same seed, same workload
    std::string events_file;   // write every request and its outcome (JSON lines)
    std::string check_events;  // re-run the checks on such a file; no signer needed
    unsigned timeout_s = 30;   // per request: the client gives up after this (1 ... 86400)
};

/// One request of one node and what the signer answered.
struct SimEvent {
    char node = 'A';
    std::string type;    // grandpa_prevote, babe_seal, backing, dispute_invalid, ...
    std::string method;  // the RPC method used
    std::string scheme;  // sr25519, ed25519, ecdsa
    std::string vote;    // protected: the vote's identity, e.g. "grandpa/3141/1000/prevote"
    std::string side;    // para: "valid" / "invalid"
    std::string public_key;
    std::string message;  // hex: what the signature is over (payload, pre-hash, prehash)
    std::string payload_hash;
    bool signed_ = false;
    int error_code = 0;          // JSON-RPC code when refused or failed
    std::string refusal;         // data.code of a -32010/-32011 refusal
    std::string signature;       // hex
    std::string vrf_transcript;  // VRF events: the transcript as sent (JSON)
};

nlohmann::json to_json(const SimEvent& e);
/// Throws CliError (exit 2) naming the field when `j` is not an event.
SimEvent event_from_json(const nlohmann::json& j);

/// What the checks found; ok() when nothing is wrong.
struct SimReport {
    size_t signed_count = 0, refused = 0, errors = 0;
    size_t conflicts = 0;         // protected votes on which the nodes asked for different things
    size_t conflicts_caught = 0;  // ... of which exactly the later request was refused
    size_t verified = 0;
    std::vector<std::string> equivocations;  // votes with two different signed payloads
    std::vector<std::string> problems;       // bad signatures, unexpected refusals, errors
    bool ok() const { return equivocations.empty() && problems.empty(); }
};

/// The checks, over every event of a run: at most one distinct payload signed
/// per protected vote (para: never both sides of one candidate), every
/// signature verifies against its public key, conflicting votes refused exactly
/// once with -32010, everything else signed.
SimReport check_events(const std::vector<SimEvent>& events);

int run_simulate(const SimulateOptions& options);

/// Registers the `simulate` subcommand.
class SimulateCommand {
  public:
    explicit SimulateCommand(CLI::App& app);
    SimulateCommand(const SimulateCommand&) = delete;
    SimulateCommand& operator=(const SimulateCommand&) = delete;
    CLI::App* subcommand() const noexcept { return sub_; }
    bool parsed() const { return sub_->parsed(); }
    int run() const { return run_simulate(options_); }

  private:
    CLI::App* sub_;
    SimulateOptions options_;
};

}  // namespace teesigner::cli
