// ts_oracle: a line-oriented JSON front end to the core, used by the Node
// cross-checks (tests/node/crosscheck.test.mjs) to compare our keys, signatures
// and VRF results with @polkadot/keyring, @polkadot/util-crypto,
// @polkadot/wasm-crypto (schnorrkel compiled to wasm) and @scure/sr25519.
//
// Protocol: one JSON object per input line, one JSON object per output line, in
// order. Byte strings are hex ("0x" optional on input, always present on output).
// Every answer is either the op's result or {"error": "..."}; a bad request never
// stops the process. Ops:
//
//   {"op":"public","scheme":S,"suri":U}                 -> {"public"}
//   {"op":"sign","scheme":S,"suri":U,"message":M}       -> {"signature"}
//   {"op":"sign_prehashed","suri":U,"prehash":H}        -> {"signature"}   (ecdsa)
//   {"op":"verify","scheme":S,"signature","message","public"}
//                                                       -> {"valid","reason"?}
//   {"op":"verify_prehashed","signature","prehash","public"} -> {"valid","reason"?}
//   {"op":"hash","alg":"blake2b_256"|"keccak_256","data"} -> {"digest"}
//
// sr25519-specific ops take the key from one of: "seed" (32-byte mini secret),
// "secret" (64 bytes in the ed25519 layout scalar*8 || nonce that polkadot-js and
// @scure/sr25519 use), or "suri". Where "randomness" (32 bytes) is given, the *_with_randomness
// core variant is used so results can be compared bit for bit with @scure/sr25519,
// whose sign/vrf.sign/HDKD.secretSoft take the same 32 random bytes.
//
//   {"op":"sr25519_from_seed","seed"}                    -> {"secret","public"}
//   {"op":"sr25519_sign",key,"message","context"?="substrate","randomness"?}
//                                                        -> {"signature"}
//   {"op":"sr25519_derive",key,"chain_code","hard":bool,"randomness"?}
//                                                        -> {"secret","public","chain_code"}
//   {"op":"sr25519_derive_public","public","chain_code"} -> {"public","chain_code"}
//   {"op":"vrf_sign",key,"context","message","extra"?,"randomness"?,"output_context"?}
//        -> {"pre_output","proof","signature" (pre_output||proof, 96 bytes),
//            "output" (make_bytes::<[u8;32]>(output_context), if output_context given)}
//   {"op":"vrf_verify","public","context","message","extra"?,"signature" (96) |
//        "pre_output"+"proof","output_context"?} -> {"valid","reason"?,"output"?}
//   {"op":"vrf_output","public","context","message","pre_output","output_context",
//        "length"?=32} -> {"output"}  (attach the pre-output without a proof)
//
// The VRF input transcript is schnorrkel's signing_context(context).bytes(message)
// and the extra transcript is Transcript("VRF") with append_message("", extra) only
// when extra is non-empty: exactly what polkadot-js wasm-crypto's ext_vrf_sign /
// ext_vrf_verify and @scure/sr25519's vrf.sign / vrf.verify build.
#include <sodium.h>

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "teesigner/core/bytes.hpp"
#include "teesigner/core/hash.hpp"
#include "teesigner/core/keccak.hpp"
#include "teesigner/core/keys.hpp"
#include "teesigner/core/random.hpp"
#include "teesigner/core/result.hpp"
#include "teesigner/core/sr25519.hpp"

namespace {

namespace core = teesigner::core;
namespace sr = teesigner::core::sr25519;
using json = nlohmann::json;

// Thrown for a malformed request; turned into {"error": ...} by the loop.
struct RequestError {
    std::string message;
};

[[noreturn]] void fail(const std::string& message) {
    throw RequestError{message};
}

std::string field(const json& req, const char* name) {
    auto it = req.find(name);
    if (it == req.end() || !it->is_string()) fail(std::string("missing string field ") + name);
    return it->get<std::string>();
}

core::Bytes hex_field(const json& req, const char* name) {
    auto bytes = core::from_hex(field(req, name));
    if (!bytes) fail(std::string("field ") + name + ": " + core::error_message(bytes.error()));
    return std::move(bytes).value();
}

core::Bytes hex_field_or_empty(const json& req, const char* name) {
    return req.contains(name) ? hex_field(req, name) : core::Bytes{};
}

template <size_t N>
core::ByteArray<N> fixed_field(const json& req, const char* name) {
    core::Bytes bytes = hex_field(req, name);
    if (bytes.size() != N) {
        fail(std::string("field ") + name + ": expected " + std::to_string(N) + " bytes, got " +
             std::to_string(bytes.size()));
    }
    core::ByteArray<N> out{};
    for (size_t i = 0; i < N; ++i) out[i] = bytes[i];
    return out;
}

std::optional<sr::Randomness> randomness_field(const json& req) {
    if (!req.contains("randomness")) return std::nullopt;
    return fixed_field<32>(req, "randomness");
}

core::Scheme scheme_field(const json& req) {
    std::string name = field(req, "scheme");
    auto scheme = core::scheme_from_name(name);
    if (!scheme) fail("unknown scheme " + name);
    return *scheme;
}

core::KeyPair keypair_from_suri(core::Scheme scheme, const json& req) {
    auto pair = core::KeyPair::from_suri(scheme, field(req, "suri"));
    if (!pair) fail(std::string("suri: ") + core::error_message(pair.error()));
    return std::move(pair).value();
}

// The sr25519 key of a request: "secret", "seed" or "suri" (see the header comment).
sr::KeyPair sr25519_key(const json& req) {
    if (req.contains("secret")) {
        auto kp = sr::keypair_from_ed25519_bytes(hex_field(req, "secret"));
        if (!kp) fail(std::string("secret: ") + core::error_message(kp.error()));
        return std::move(kp).value();
    }
    if (req.contains("seed")) {
        auto kp = sr::keypair_from_mini_secret(hex_field(req, "seed"));
        if (!kp) fail(std::string("seed: ") + core::error_message(kp.error()));
        return std::move(kp).value();
    }
    if (req.contains("suri")) {
        core::KeyPair pair = keypair_from_suri(core::Scheme::sr25519, req);
        const sr::KeyPair* kp = pair.as_sr25519();
        if (kp == nullptr) fail("suri: not an sr25519 key");
        return kp->clone();
    }
    fail("missing key: give \"secret\", \"seed\" or \"suri\"");
}

json verdict(core::Error e) {
    json out = {{"valid", e == core::Error::ok}};
    if (e != core::Error::ok) out["reason"] = core::error_message(e);
    return out;
}

core::Transcript vrf_input(const json& req) {
    return sr::signing_transcript(hex_field(req, "context"), hex_field(req, "message"));
}

core::Transcript vrf_extra(const json& req) {
    return sr::vrf_extra_from_bytes(hex_field_or_empty(req, "extra"));
}

void add_vrf_output(json& out, const json& req, const sr::VrfInOut& inout) {
    if (!req.contains("output_context")) return;
    auto bytes = sr::vrf_make_bytes<32>(inout, hex_field(req, "output_context"));
    out["output"] = core::to_hex(bytes);
}

json op_public(const json& req) {
    core::KeyPair pair = keypair_from_suri(scheme_field(req), req);
    return {{"public", core::to_hex(pair.public_key())}};
}

json op_sign(const json& req) {
    core::KeyPair pair = keypair_from_suri(scheme_field(req), req);
    auto sig = pair.sign(hex_field(req, "message"));
    if (!sig) fail(std::string("sign: ") + core::error_message(sig.error()));
    return {{"signature", core::to_hex(*sig)}};
}

json op_sign_prehashed(const json& req) {
    core::KeyPair pair = keypair_from_suri(core::Scheme::ecdsa, req);
    auto sig = pair.sign_prehashed(hex_field(req, "prehash"));
    if (!sig) fail(std::string("sign_prehashed: ") + core::error_message(sig.error()));
    return {{"signature", core::to_hex(*sig)}};
}

json op_verify(const json& req) {
    return verdict(
        core::verify(scheme_field(req), core::SignatureBytes(hex_field(req, "signature")),
                     hex_field(req, "message"), core::PublicKeyBytes(hex_field(req, "public"))));
}

json op_verify_prehashed(const json& req) {
    return verdict(core::verify_prehashed(core::SignatureBytes(hex_field(req, "signature")),
                                          hex_field(req, "prehash"),
                                          core::PublicKeyBytes(hex_field(req, "public"))));
}

json op_hash(const json& req) {
    std::string alg = field(req, "alg");
    core::Bytes data = hex_field(req, "data");
    if (alg == "blake2b_256") return {{"digest", core::to_hex(core::blake2b_256(data))}};
    if (alg == "keccak_256") return {{"digest", core::to_hex(core::keccak_256(data))}};
    fail("unknown alg " + alg);
}

json sr25519_pair_json(const sr::KeyPair& kp) {
    auto secret = sr::secret_to_ed25519_bytes(kp.secret);
    return {{"secret", core::to_hex(secret.span())}, {"public", core::to_hex(kp.public_key)}};
}

json op_sr25519_from_seed(const json& req) {
    auto kp = sr::keypair_from_mini_secret(hex_field(req, "seed"));
    if (!kp) fail(std::string("seed: ") + core::error_message(kp.error()));
    return sr25519_pair_json(*kp);
}

json op_sr25519_sign(const json& req) {
    sr::KeyPair kp = sr25519_key(req);
    core::Bytes context = req.contains("context") ? hex_field(req, "context")
                                                  : core::Bytes(sr::kSubstrateContext.begin(),
                                                                sr::kSubstrateContext.end());
    core::Transcript t = sr::signing_transcript(context, hex_field(req, "message"));
    auto randomness = randomness_field(req);
    sr::Signature sig = randomness ? sr::sign_with_randomness(kp, t, *randomness) : sr::sign(kp, t);
    return {{"signature", core::to_hex(sig)}};
}

json op_sr25519_derive(const json& req) {
    sr::KeyPair parent = sr25519_key(req);
    auto cc = fixed_field<32>(req, "chain_code");
    auto hard = req.find("hard");
    if (hard == req.end() || !hard->is_boolean()) fail("missing boolean field hard");
    sr::ChainCode next{};
    auto randomness = randomness_field(req);
    sr::KeyPair child = hard->get<bool>() ? sr::derive_hard(parent, cc, &next)
                        : randomness.has_value()
                            ? sr::derive_soft_with_randomness(parent, cc, *randomness, &next)
                            : sr::derive_soft(parent, cc, &next);
    json out = sr25519_pair_json(child);
    out["chain_code"] = core::to_hex(next);
    return out;
}

json op_sr25519_derive_public(const json& req) {
    sr::ChainCode next{};
    auto pub =
        sr::derive_soft_public(hex_field(req, "public"), fixed_field<32>(req, "chain_code"), &next);
    if (!pub) fail(std::string("derive_public: ") + core::error_message(pub.error()));
    return {{"public", core::to_hex(*pub)}, {"chain_code", core::to_hex(next)}};
}

json op_vrf_sign(const json& req) {
    sr::KeyPair kp = sr25519_key(req);
    sr::VrfInOut inout;
    auto randomness = randomness_field(req);
    sr::VrfSignature sig = randomness ? sr::vrf_sign_with_randomness(
                                            kp, vrf_input(req), vrf_extra(req), *randomness, &inout)
                                      : sr::vrf_sign(kp, vrf_input(req), vrf_extra(req), &inout);
    core::Bytes both(sig.pre_output.begin(), sig.pre_output.end());
    both.insert(both.end(), sig.proof.begin(), sig.proof.end());
    json out = {{"pre_output", core::to_hex(sig.pre_output)},
                {"proof", core::to_hex(sig.proof)},
                {"signature", core::to_hex(both)},
                {"input", core::to_hex(inout.input)}};
    add_vrf_output(out, req, inout);
    return out;
}

json op_vrf_verify(const json& req) {
    core::Bytes pre_output;
    core::Bytes proof;
    if (req.contains("signature")) {
        core::Bytes sig = hex_field(req, "signature");
        if (sig.size() != sr::kVrfPreOutputSize + sr::kVrfProofSize) {
            return verdict(core::Error::invalid_length);
        }
        pre_output.assign(sig.begin(), sig.begin() + sr::kVrfPreOutputSize);
        proof.assign(sig.begin() + sr::kVrfPreOutputSize, sig.end());
    } else {
        pre_output = hex_field(req, "pre_output");
        proof = hex_field(req, "proof");
    }
    auto inout =
        sr::vrf_verify(hex_field(req, "public"), vrf_input(req), pre_output, proof, vrf_extra(req));
    json out = verdict(inout.error());
    if (inout) add_vrf_output(out, req, *inout);
    return out;
}

json op_vrf_output(const json& req) {
    auto inout = sr::vrf_attach_pre_output(hex_field(req, "public"), vrf_input(req),
                                           hex_field(req, "pre_output"));
    if (!inout) fail(std::string("vrf_output: ") + core::error_message(inout.error()));
    size_t length = 32;
    if (req.contains("length")) {
        if (!req["length"].is_number_unsigned()) fail("length must be an unsigned integer");
        length = req["length"].get<size_t>();
        if (length > 1024) fail("length too large");
    }
    core::Bytes out(length);
    sr::vrf_make_bytes(*inout, hex_field(req, "output_context"), out);
    return {{"output", core::to_hex(out)}, {"input", core::to_hex(inout->input)}};
}

json dispatch(const json& req) {
    if (!req.is_object()) fail("request must be a JSON object");
    std::string op = field(req, "op");
    if (op == "public") return op_public(req);
    if (op == "sign") return op_sign(req);
    if (op == "sign_prehashed") return op_sign_prehashed(req);
    if (op == "verify") return op_verify(req);
    if (op == "verify_prehashed") return op_verify_prehashed(req);
    if (op == "hash") return op_hash(req);
    if (op == "sr25519_from_seed") return op_sr25519_from_seed(req);
    if (op == "sr25519_sign") return op_sr25519_sign(req);
    if (op == "sr25519_derive") return op_sr25519_derive(req);
    if (op == "sr25519_derive_public") return op_sr25519_derive_public(req);
    if (op == "vrf_sign") return op_vrf_sign(req);
    if (op == "vrf_verify") return op_vrf_verify(req);
    if (op == "vrf_output") return op_vrf_output(req);
    fail("unknown op " + op);
}

void libsodium_random(uint8_t* out, size_t len) {
    randombytes_buf(out, len);
}

}  // namespace

int main() {
    if (sodium_init() < 0) {
        std::fputs("ts_oracle: sodium_init failed\n", stderr);
        return 2;
    }
    core::set_random_source(libsodium_random);
    std::ios::sync_with_stdio(false);

    std::string line;
    while (std::getline(std::cin, line)) {
        if (line.empty()) continue;
        json answer;
        try {
            answer = dispatch(json::parse(line));
        } catch (const RequestError& e) {
            answer = {{"error", e.message}};
        } catch (const json::exception& e) {
            answer = {{"error", std::string("bad request: ") + e.what()}};
        }
        std::cout << answer.dump() << '\n' << std::flush;
    }
    return 0;
}
