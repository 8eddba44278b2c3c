// tee-signer session-keys: rotate a running signer's session keys and print
// what a validator submits on chain (the keys and the session.setKeys call).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace teesigner::cli {

struct SessionKeysOptions {
    std::string network = "kusama";  // kusama or polkadot
    // The signer: http://host:port, https://host:port or unix:/path/to/socket.
    std::string rpc = "http://127.0.0.1:9955/";
    std::string output_type = "text";  // text or json
    std::string ca_file;               // https: CA of the signer's certificate (PEM)
    std::string cert_file, key_file;   // https: client certificate for mutual TLS
    // Bearer token: first line of this file; else $TS_SIGNER_TOKEN; else none.
    std::string token_file;
    unsigned timeout_ms = 30000;
};

/// The token to send: the first line of `token_file` (trailing whitespace
/// removed), else the TS_SIGNER_TOKEN environment variable, else nullopt.
/// Throws CliError if the file cannot be read or holds no token.
std::optional<std::string> read_signer_token(const std::string& token_file);

/// Call index (pallet index, call index) of `session.setKeys` on `network`
/// ("kusama" or "polkadot"); throws CliError for any other network.
std::pair<uint8_t, uint8_t> set_keys_call_index(const std::string& network);

/// SCALE call data of session.setKeys(keys, proof = 0x): call index, the
/// SessionKeys bytes as they are, then an empty Vec<u8> (compact length 0).
std::vector<uint8_t> set_keys_call_data(const std::string& network,
                                        const std::vector<uint8_t>& session_keys);

/// Calls author_rotateKeys on the signer at options.rpc (through the client
/// library: HTTP, HTTPS with token or client certificate, Unix socket) and prints each public
/// key with its field, key type and scheme, the SessionKeys blob and the call
/// data. Returns the exit code (0); throws CliError on failure.
int run_session_keys(const SessionKeysOptions& options);

}  // namespace teesigner::cli
