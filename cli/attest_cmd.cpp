#include "attest_cmd.hpp"

#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>

#include "commands.hpp"
#include "teesigner/client/attestation.hpp"
#include "teesigner/client/client.hpp"
#include "teesigner/core/bytes.hpp"
#include "teesigner/core/random.hpp"

namespace teesigner::cli {
namespace {

namespace att = client::attestation;

std::string read_file(const std::string& path, const char* what) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw CliError(std::string("cannot read ") + what + " " + path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

void write_file(const std::string& path, const std::string& data, const char* what) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out || !(out << data) || !out.flush())
        throw CliError(std::string("cannot write ") + what + " " + path);
}

core::Bytes hex_option(const std::string& value, const char* name, size_t size = 0) {
    auto b = core::from_hex(value);
    if (!b || (size != 0 && b->size() != size))
        throw CliError(std::string(name) + " must be " +
                       (size != 0 ? std::to_string(size) + " bytes of " : std::string()) +
                       "hex (got '" + value + "')");
    return std::move(b).value();
}

att::Digest digest_option(const std::string& value, const char* name) {
    core::Bytes b = hex_option(value, name, 32);
    att::Digest d{};
    std::copy(b.begin(), b.end(), d.begin());
    return d;
}

}  // namespace

int run_verify_attestation(const VerifyAttestationOptions& o) {
    att::Expectations expect;
    if (!o.nonce.empty()) {
        expect.nonce = hex_option(o.nonce, "--nonce");
        if (expect.nonce.empty() || expect.nonce.size() > 64)
            throw CliError("--nonce must be 1 to 64 bytes");
    } else if (!o.file.empty()) {
        throw CliError("--file needs the --nonce the answer was asked for");
    } else {
        expect.nonce.resize(32);
        core::random_bytes(expect.nonce.data(), expect.nonce.size());
    }
    if (!o.expect_pubkey.empty()) {
        expect.pta_public_key =
            att::rsa_public_key_from_pem(read_file(o.expect_pubkey, "--expect-pubkey"));
        if (!expect.pta_public_key)
            throw CliError("--expect-pubkey " + o.expect_pubkey + ": not a PEM RSA public key");
    }
    if (!o.expect_ta_digest.empty() && !o.expect_ta_file.empty())
        throw CliError("give either --expect-ta-digest or --expect-ta-file, not both");
    if (!o.expect_ta_digest.empty())
        expect.ta_header_digest = digest_option(o.expect_ta_digest, "--expect-ta-digest");
    if (!o.expect_ta_file.empty()) {
        const std::string ta = read_file(o.expect_ta_file, "--expect-ta-file");
        expect.ta_header_digest = att::ta_file_header_digest(
            std::span(reinterpret_cast<const uint8_t*>(ta.data()), ta.size()));
        if (!expect.ta_header_digest)
            throw CliError("--expect-ta-file " + o.expect_ta_file +
                           ": no OP-TEE signed header with a SHA-256 digest");
    }
    if (!o.expect_ta_memory.empty())
        expect.ta_memory_digest = digest_option(o.expect_ta_memory, "--expect-ta-memory");
    if (!o.expect_attestation_key.empty())
        expect.attestation_key =
            hex_option(o.expect_attestation_key, "--expect-attestation-key", 32);
    expect.allow_self_attested = o.allow_self_attested;
    if (o.timeout_s == 0 || o.timeout_s > 86400) throw CliError("--timeout must be 1 ... 86400");

    nlohmann::json answer;
    if (!o.file.empty()) {
        const std::string text = read_file(o.file, "--file");
        answer = nlohmann::json::parse(text, nullptr, false);
        if (answer.is_discarded()) throw CliError("--file " + o.file + ": not JSON");
        // A whole JSON-RPC response is fine too.
        if (answer.is_object() && answer.contains("result")) answer = answer["result"];
        if (answer.is_object() && answer.contains("error"))
            throw CliError("--file " + o.file + " holds an error answer: " + answer.dump(), 1);
    } else {
        client::Endpoint endpoint = make_endpoint(o.rpc);
        endpoint.timeout = std::chrono::seconds(o.timeout_s);
        try {
            client::Client c(endpoint);
            answer = c.attest(expect.nonce);
        } catch (const client::RpcError& e) {
            throw CliError(std::string("signer_attest failed: ") + e.what(), 1);
        } catch (const client::TransportError& e) {
            throw CliError(std::string("signer_attest: ") + e.what(), 1);
        }
        if (!o.save.empty()) write_file(o.save, answer.dump(2) + "\n", "--save");
    }

    const att::Report r = att::verify(answer, expect);
    std::printf("tee-signer verify-attestation: kind %s, nonce %s\n", r.kind.c_str(),
                core::to_hex(expect.nonce).c_str());
    for (const std::string& line : r.lines) std::printf("%s\n", line.c_str());
    for (const std::string& key : r.keys) std::printf("key  %s\n", key.c_str());
    if (r.ta_memory_digest)
        std::printf("TA memory measurement (signed): %s\n",
                    core::to_hex(*r.ta_memory_digest).c_str());
    if (r.ta_header_digest)
        std::printf("TA header digest (signed):      %s\n",
                    core::to_hex(*r.ta_header_digest).c_str());
    if (!o.write_pubkey.empty()) {
        if (!r.ok || !r.pta_public_key)
            throw CliError(
                "--write-pubkey: not written, the answer did not verify or has no PTA key", 1);
        write_file(o.write_pubkey, att::rsa_public_key_pem(*r.pta_public_key), "--write-pubkey");
        std::printf("PTA public key written to %s (pin it only if this device is known good)\n",
                    o.write_pubkey.c_str());
    }
    std::printf("result: %s\n", r.ok ? "PASS" : "FAIL");
    return r.ok ? 0 : 1;
}

VerifyAttestationCommand::VerifyAttestationCommand(CLI::App& app) {
    sub_ = app.add_subcommand(
        "verify-attestation",
        "Ask a signer for signer_attest with a fresh nonce (or read a saved answer) and verify "
        "it: the TA's statement, OP-TEE's attestation PTA signatures, the nonce binding and "
        "every pinned value");
    add_rpc_options(sub_, options_.rpc);
    sub_->add_option("--nonce", options_.nonce,
                     "The nonce, hex, 1 to 64 bytes (default: 32 random bytes; required with "
                     "--file)")
        ->type_name("HEX");
    sub_->add_option("--file", options_.file,
                     "Verify a saved signer_attest answer (result object or whole JSON-RPC "
                     "response) instead of asking the signer")
        ->type_name("FILE");
    sub_->add_option("--save", options_.save, "Write the signer's answer to FILE (JSON)")
        ->type_name("FILE");
    sub_->add_option("--expect-pubkey", options_.expect_pubkey,
                     "The OP-TEE attestation PTA's public key to require (PEM), obtained out of "
                     "band at enrolment")
        ->type_name("FILE");
    sub_->add_option("--write-pubkey", options_.write_pubkey,
                     "Write the PTA's public key as PEM to FILE, if everything verified "
                     "(enrolment of a device known to be good)")
        ->type_name("FILE");
    sub_->add_option("--expect-ta-digest", options_.expect_ta_digest,
                     "The TA binary's signed-header digest to require (32 bytes hex)")
        ->type_name("HEX");
    sub_->add_option("--expect-ta-file", options_.expect_ta_file,
                     "Require the signed-header digest of this .ta file")
        ->type_name("FILE");
    sub_->add_option("--expect-ta-memory", options_.expect_ta_memory,
                     "The TA's memory measurement to require (32 bytes hex, recorded at "
                     "enrolment)")
        ->type_name("HEX");
    sub_->add_option("--expect-attestation-key", options_.expect_attestation_key,
                     "The TA's ed25519 attestation key to require (32 bytes hex)")
        ->type_name("HEX");
    sub_->add_flag("--allow-self-attested", options_.allow_self_attested,
                   "Accept an answer without TEE evidence (the soft TEE): only the TA's own "
                   "statement is checked");
    sub_->add_option("--timeout", options_.timeout_s,
                     "Seconds to wait for the signer (default 300: OP-TEE makes its attestation "
                     "key on first use)")
        ->type_name("SECONDS");
}

}  // namespace teesigner::cli
