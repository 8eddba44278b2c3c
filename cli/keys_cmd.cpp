#include "keys_cmd.hpp"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "commands.hpp"
#include "teesigner/client/client.hpp"
#include "teesigner/core/bytes.hpp"
#include "teesigner/core/ss58.hpp"

namespace teesigner::cli {
namespace {

using json = nlohmann::json;

struct TypeScheme {
    std::string key_type;
    const char* scheme;
};

// The Kusama/Polkadot session key types with their schemes (docs/protocol.md).
const TypeScheme kSessionTypes[] = {
    {"gran", "ed25519"}, {"babe", "sr25519"}, {"para", "sr25519"},
    {"asgn", "sr25519"}, {"audi", "sr25519"}, {"beef", "ecdsa"},
};

// A JSON-RPC error is the caller's to report; an unreachable signer is exit 1.
json call(client::Client& c, std::string_view method, json params) {
    try {
        return c.call(method, std::move(params));
    } catch (const client::TransportError& e) {
        throw CliError(e.what(), 1);
    }
}

uint16_t ss58_prefix(const std::string& network) {
    if (network == "polkadot") return 0;
    if (network == "kusama") return 2;
    if (network == "substrate") return 42;
    throw CliError("--network must be kusama, polkadot or substrate (got '" + network + "')");
}

std::string address_of(const std::string& public_hex, const std::string& network) {
    if (network.empty()) return "";
    auto pk = core::from_hex(public_hex);
    if (!pk.ok()) return "";
    auto a = core::ss58_encode(pk.value(), ss58_prefix(network));
    return a.ok() ? a.value() : "";
}

void print_key_line(const json& k, const std::string& extra) {
    std::printf("  %s %-8s %s%s\n", k.value("keyType", "").c_str(),
                k["scheme"].is_string() ? k["scheme"].get<std::string>().c_str() : "?",
                k.value("public", "").c_str(), extra.c_str());
}

}  // namespace

int run_keys_list(const KeysListOptions& o) {
    if (o.output_type != "text" && o.output_type != "json")
        throw CliError("--output-type must be text or json");
    if (!o.network.empty()) (void)ss58_prefix(o.network);
    std::vector<TypeScheme> types(std::begin(kSessionTypes), std::end(kSessionTypes));
    for (const std::string& kt : o.key_types) {
        if (kt.size() != 4) throw CliError("--key-type must be 4 characters (got '" + kt + "')");
        for (const char* s : {"sr25519", "ed25519", "ecdsa"}) types.push_back({kt, s});
    }
    client::Client signer(make_endpoint(o.rpc));
    json listed = json::array();
    try {
        for (const TypeScheme& t : types) {
            json keys = call(signer, "keystore_publicKeys", json::array({t.key_type, t.scheme}));
            for (const auto& pk : keys) {
                json entry = {{"keyType", t.key_type}, {"scheme", t.scheme}, {"public", pk}};
                if (!o.network.empty()) entry["ss58"] = address_of(pk, o.network);
                listed.push_back(std::move(entry));
            }
        }
    } catch (const client::RpcError& e) {
        throw CliError(std::string("keystore_publicKeys failed: ") + e.what(), 1);
    }
    if (o.output_type == "json") {
        std::printf("%s\n", json{{"keys", listed}}.dump(2).c_str());
        return 0;
    }
    std::printf("%zu key(s)\n", listed.size());
    for (const auto& k : listed)
        print_key_line(k, k.contains("ss58") ? "  " + k["ss58"].get<std::string>() : "");
    return 0;
}

int run_keys_retire(const KeysRetireOptions& o) {
    if (o.output_type != "text" && o.output_type != "json")
        throw CliError("--output-type must be text or json");
    if (o.session_keys.empty() == o.keys.empty())
        throw CliError("give either --session-keys BLOB or one or more --key PUBLIC:KEYTYPE");
    json keys;
    if (!o.session_keys.empty()) {
        keys = o.session_keys;
    } else {
        keys = json::array();
        for (const std::string& k : o.keys) {
            const auto colon = k.rfind(':');
            if (colon == std::string::npos || k.size() - colon - 1 != 4)
                throw CliError("--key must be PUBLIC:KEYTYPE, e.g. 0x1234…:babe (got '" + k + "')");
            keys.push_back(json::array({k.substr(0, colon), k.substr(colon + 1)}));
        }
    }
    json params = {{"keys", keys}};
    if (o.force) params["force"] = true;
    client::Client signer(make_endpoint(o.rpc));
    json answer;
    try {
        answer = call(signer, "signer_retireKeys", params);
    } catch (const client::RpcError& e) {
        const json& data = e.data();
        if (o.output_type == "json") {
            std::printf(
                "%s\n",
                json{{"error", {{"code", e.code()}, {"message", e.rpc_message()}, {"data", data}}}}
                    .dump(2)
                    .c_str());
        } else if (data.is_object() && data.contains("keys")) {
            std::printf("Nothing retired: %s\n", e.rpc_message().c_str());
            for (const auto& k : data["keys"]) {
                std::string extra = "  " + k.value("status", "");
                if (k.contains("reason")) extra += ": " + k["reason"].get<std::string>();
                if (k["lastSigned"].is_string())
                    extra += ", last signed " + k["lastSigned"].get<std::string>();
                if (k.contains("retirableAt"))
                    extra += ", retirable from " + k["retirableAt"].get<std::string>();
                print_key_line(k, extra);
            }
        }
        throw CliError(
            "signer_retireKeys refused: " + e.rpc_message() + " (" + std::to_string(e.code()) + ")",
            e.code() == client::rpc_code::kInvalidParams ? 2 : 1);
    }
    if (o.output_type == "json") {
        std::printf("%s\n", answer.dump(2).c_str());
        return 0;
    }
    std::printf("Retired %d key(s)\n", answer.value("retired", 0));
    for (const auto& k : answer["keys"]) {
        std::string extra = "  " + k.value("status", "");
        if (k["lastSigned"].is_string())
            extra += " (last signed " + k["lastSigned"].get<std::string>() + ")";
        print_key_line(k, extra);
    }
    return 0;
}

KeysCommand::KeysCommand(CLI::App& app) {
    sub_ =
        app.add_subcommand("keys", "The keys a running signer holds: list them, retire old ones");
    sub_->require_subcommand(1);

    list_ = sub_->add_subcommand("list",
                                 "List the public keys per key type (session key types, "
                                 "and any --key-type)");
    add_rpc_options(list_, list_options_.rpc);
    list_
        ->add_option("--key-type", list_options_.key_types,
                     "Also list this key type (all schemes); repeatable")
        ->type_name("TYPE");
    list_
        ->add_option(
            "-n,--network", list_options_.network,
            "Also print each public key in SS58 (subkey's \"Public key (SS58)\") for kusama, "
            "polkadot or substrate")
        ->type_name("NETWORK");
    list_
        ->add_option("--output-type", list_options_.output_type,
                     "Output format: text (default) or json")
        ->type_name("FORMAT");

    retire_ = sub_->add_subcommand(
        "retire",
        "Delete an old session's keys from the signer (signer_retireKeys): refused for a key "
        "that signed within the configured number of sessions, and without --force for the "
        "newest rotated set; nothing is retired unless every key may be");
    add_rpc_options(retire_, retire_options_.rpc);
    retire_
        ->add_option("--session-keys", retire_options_.session_keys,
                     "The old SessionKeys blob (0x hex, 193 bytes, as author_rotateKeys "
                     "returned it)")
        ->type_name("BLOB");
    retire_
        ->add_option("--key", retire_options_.keys,
                     "One key as PUBLIC:KEYTYPE (0x hex public key); repeatable")
        ->type_name("PUBLIC:TYPE");
    retire_->add_flag("--force", retire_options_.force,
                      "Also retire keys of the newest rotated set, or whose use the signer has "
                      "not tracked for the whole window (never a key that signed within it)");
    retire_
        ->add_option("--output-type", retire_options_.output_type,
                     "Output format: text (default) or json")
        ->type_name("FORMAT");
}

int KeysCommand::dispatch() const {
    if (!sub_->parsed()) return -1;
    if (list_->parsed()) return run_keys_list(list_options_);
    if (retire_->parsed()) return run_keys_retire(retire_options_);
    throw CliError("keys: expected list or retire");
}

}  // namespace teesigner::cli
