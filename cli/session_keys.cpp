#include "session_keys.hpp"

#include <sys/stat.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "commands.hpp"
#include "teesigner/client/client.hpp"
#include "teesigner/core/bytes.hpp"

namespace teesigner::cli {
namespace {

// Kusama/Polkadot SessionKeys in runtime order (docs/protocol.md, author_rotateKeys).
struct SessionKeyField {
    const char* field;
    const char* key_type;
    const char* scheme;
    size_t length;
};
constexpr SessionKeyField kSessionKeys[] = {
    {"grandpa", "gran", "ed25519", 32},
    {"babe", "babe", "sr25519", 32},
    {"para_validator", "para", "sr25519", 32},
    {"para_assignment", "asgn", "sr25519", 32},
    {"authority_discovery", "audi", "sr25519", 32},
    {"beefy", "beef", "ecdsa", 33},
};
constexpr size_t kSessionKeysLength = 193;

std::string rtrim(std::string s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
    return s;
}

}  // namespace

std::optional<std::string> read_signer_token(const std::string& token_file) {
    if (token_file.empty()) {
        const char* env = std::getenv("TS_SIGNER_TOKEN");
        if (env == nullptr || *env == '\0') return std::nullopt;
        return rtrim(env);
    }
    std::ifstream in(token_file);
    if (!in) throw CliError("cannot read token file " + token_file);
    std::string token;
    std::getline(in, token);
    token = rtrim(std::move(token));
    if (token.empty()) throw CliError("token file " + token_file + " is empty");
    struct stat st {};
    if (::stat(token_file.c_str(), &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
        std::fprintf(stderr,
                     "warning: token file %s is accessible by group or others; chmod 600 it\n",
                     token_file.c_str());
    return token;
}

std::pair<uint8_t, uint8_t> set_keys_call_index(const std::string& network) {
    // Session is pallet 8 on Kusama and 9 on Polkadot; set_keys is its call 0.
    // Read from the runtime metadata shipped in @polkadot/types-support 16.5.6
    // (metadata v14; Kusama spec_version 1003000, Polkadot spec_version 1002005).
    if (network == "kusama") return {8, 0};
    if (network == "polkadot") return {9, 0};
    throw CliError("--network must be kusama or polkadot (got '" + network + "')");
}

std::vector<uint8_t> set_keys_call_data(const std::string& network,
                                        const std::vector<uint8_t>& session_keys) {
    const auto [pallet, call] = set_keys_call_index(network);
    std::vector<uint8_t> out;
    out.reserve(2 + session_keys.size() + 1);
    out.push_back(pallet);
    out.push_back(call);
    // keys: T::Keys is a struct of fixed-size public keys: its SCALE encoding is
    // the concatenation author_rotateKeys returns, with no length prefix.
    out.insert(out.end(), session_keys.begin(), session_keys.end());
    out.push_back(0x00);  // proof: Vec<u8>, compact length 0
    return out;
}

int run_session_keys(const SessionKeysOptions& options) {
    if (options.output_type != "text" && options.output_type != "json")
        throw CliError("--output-type must be text or json");
    const auto [pallet, call] = set_keys_call_index(options.network);

    client::Endpoint endpoint;
    endpoint.url = options.rpc;
    endpoint.token = read_signer_token(options.token_file);
    endpoint.ca_file = options.ca_file;
    endpoint.cert_file = options.cert_file;
    endpoint.key_file = options.key_file;
    endpoint.timeout = std::chrono::milliseconds(options.timeout_ms);
    nlohmann::json answer;
    try {
        client::Client signer(std::move(endpoint));
        answer = signer.call("author_rotateKeys");
    } catch (const client::RpcError& e) {
        throw CliError("author_rotateKeys failed: " + e.rpc_message() + " (" +
                       std::to_string(e.code()) + ")");
    } catch (const client::TransportError& e) {
        throw CliError(e.what());
    }
    if (!answer.is_string()) throw CliError("author_rotateKeys answered without a hex result");
    const std::string hex = answer.get<std::string>();
    auto keys = core::from_hex(hex);
    if (!keys.ok()) throw CliError("author_rotateKeys answered malformed hex");
    if (keys.value().size() != kSessionKeysLength)
        throw CliError("author_rotateKeys answered " + std::to_string(keys.value().size()) +
                       " bytes, expected " + std::to_string(kSessionKeysLength) +
                       " (Kusama/Polkadot SessionKeys)");
    const std::vector<uint8_t>& blob = keys.value();
    const std::vector<uint8_t> call_data = set_keys_call_data(options.network, blob);

    nlohmann::json listed = nlohmann::json::array();
    size_t at = 0;
    for (const auto& k : kSessionKeys) {
        const core::ByteSpan pub(blob.data() + at, k.length);
        listed.push_back({{"field", k.field},
                          {"keyType", k.key_type},
                          {"scheme", k.scheme},
                          {"public", core::to_hex(pub)}});
        at += k.length;
    }

    if (options.output_type == "json") {
        const nlohmann::json out = {{"network", options.network},
                                    {"sessionKeys", core::to_hex(blob)},
                                    {"keys", listed},
                                    {"callIndex", {pallet, call}},
                                    {"setKeysCallData", core::to_hex(call_data)}};
        std::printf("%s\n", out.dump(2).c_str());
        return 0;
    }
    std::printf("Network:            %s\n", options.network.c_str());
    std::printf("Session keys:       %s\n", core::to_hex(blob).c_str());
    for (const auto& k : listed) {
        std::printf("  %-20s %s %-8s %s\n", k["field"].get<std::string>().c_str(),
                    k["keyType"].get<std::string>().c_str(), k["scheme"].get<std::string>().c_str(),
                    k["public"].get<std::string>().c_str());
    }
    std::printf("session.setKeys:    call index (%u, %u), proof 0x\n", unsigned{pallet},
                unsigned{call});
    std::printf("Call data:          %s\n", core::to_hex(call_data).c_str());
    return 0;
}

}  // namespace teesigner::cli
