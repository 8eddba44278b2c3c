// tee-signer verify-attestation: asks a running signer for signer_attest with
// a nonce (or reads a saved answer) and verifies it on the operator's machine
// (client/include/teesigner/client/attestation.hpp): the TA's ed25519
// statement, OP-TEE's attestation PTA signatures (RSASSA-PSS, checked with
// OpenSSL), the binding of both to the nonce, and every value the operator
// pinned (PTA public key, TA digests, the TA's attestation key).
//
// Exit codes: 0 every check passed; 1 a check failed or the signer could not
// be reached or refused; 2 bad input.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "protection_cmd.hpp"

namespace teesigner::cli {

struct VerifyAttestationOptions {
    RpcOptions rpc;
    std::string nonce;                   // hex; default: 32 random bytes (asking the signer)
    std::string file;                    // a saved answer instead of asking the signer
    std::string save;                    // write the signer's answer here
    std::string expect_pubkey;           // PEM file: the pinned PTA public key
    std::string write_pubkey;            // PEM file: write the PTA's key (after it verified)
    std::string expect_ta_digest;        // hex: the TA binary's signed-header digest
    std::string expect_ta_file;          // a .ta file whose header digest is expected
    std::string expect_ta_memory;        // hex: the TA's memory measurement
    std::string expect_attestation_key;  // hex: the TA's ed25519 attestation key
    bool allow_self_attested = false;
    unsigned timeout_s = 300;  // the first answer on OP-TEE makes the PTA's RSA key
};

int run_verify_attestation(const VerifyAttestationOptions& options);

/// Registers the `verify-attestation` subcommand.
class VerifyAttestationCommand {
  public:
    explicit VerifyAttestationCommand(CLI::App& app);
    VerifyAttestationCommand(const VerifyAttestationCommand&) = delete;
    VerifyAttestationCommand& operator=(const VerifyAttestationCommand&) = delete;
    CLI::App* subcommand() const noexcept { return sub_; }
    bool parsed() const { return sub_->parsed(); }
    int run() const { return run_verify_attestation(options_); }

  private:
    CLI::App* sub_;
    VerifyAttestationOptions options_;
};

}  // namespace teesigner::cli
