// tee-signer's key commands: subkey's inspect, generate, sign and verify, with
// subkey's flags and output so operators' habits carry over.
//
// Exit codes: 0 success; 1 a signature did not verify; 2 bad input or any other
// error. Every error is one line on stderr, "error: ...".
#pragma once

#include <optional>
#include <stdexcept>
#include <string>

namespace teesigner::cli {

/// A user-facing failure: printed as one "error: <message>" line, then the
/// process exits with `exit_code`.
class CliError : public std::runtime_error {
  public:
    explicit CliError(const std::string& message, int exit_code = 2)
        : std::runtime_error(message), exit_code_(exit_code) {}
    int exit_code() const noexcept { return exit_code_; }

  private:
    int exit_code_;
};

/// Flags shared by the key commands (subkey's CryptoSchemeFlag,
/// NetworkSchemeFlag, OutputTypeFlag, KeystoreParams).
struct CommonOptions {
    std::string scheme = "sr25519";
    std::optional<std::string> network;  // unset: substrate (42), or the address's own
    std::string output_type = "text";
    std::optional<std::string> password;
    std::optional<std::string> password_filename;
};

struct InspectOptions {
    CommonOptions common;
    std::optional<std::string> uri;  // unset: read from stdin
    bool public_key = false;         // --public: the URI is a hex public key
};

struct GenerateOptions {
    CommonOptions common;
    unsigned words = 12;
};

struct SignOptions {
    CommonOptions common;
    std::optional<std::string> suri;
    std::optional<std::string> message;  // unset: read from stdin
    bool hex = false;
};

struct VerifyOptions {
    CommonOptions common;
    std::string signature;
    std::string public_uri;
    std::optional<std::string> message;  // unset: read from stdin
    bool hex = false;
};

/// Each returns the process exit code or throws CliError.
int run_inspect(const InspectOptions& opts);
int run_generate(const GenerateOptions& opts);
int run_sign(const SignOptions& opts);
int run_verify(const VerifyOptions& opts);

}  // namespace teesigner::cli
