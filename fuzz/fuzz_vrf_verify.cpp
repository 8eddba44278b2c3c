// sr25519 VRF (schnorrkel, KUSAMA_VRF) verification over transcripts built
// from the input.
//
// Mode 0 (first byte even): arbitrary public key, pre-output and proof; only
// documented errors. When a proof verifies, attaching the pre-output gives the
// same in/out pair.
// Mode 1 (first byte odd): a key from a 32-byte mini secret signs; the proof
// verifies, the verifier's in/out pair and VRF output bytes equal the signer's,
// and flipping any single bit of the pre-output or the proof makes it fail.
// With bit 2 of the first byte, mode 1 signs through the input hash
// (vrf_sign_hashed_with_randomness) and the result must be byte for byte what
// the transcript path gives with the same randomness, and verify both ways.
#include <cstdint>

#include "common.hpp"
#include "teesigner/core/merlin.hpp"
#include "teesigner/core/sr25519.hpp"

using namespace teesigner::core;
using teesigner::fuzz::Input;

namespace {

// Transcript(label) then up to 4 (label, message) items, all from the input.
Transcript make_transcript(Input& in) {
    Transcript t(in.chunk());
    size_t items = in.u8() % 5;
    for (size_t i = 0; i < items; ++i) {
        auto label = in.chunk();
        auto msg = in.chunk();
        t.append_message(label, msg);
    }
    return t;
}

bool same_inout(const sr25519::VrfInOut& a, const sr25519::VrfInOut& b) {
    return a.input == b.input && a.output == b.output;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    teesigner::fuzz::init_core();
    teesigner::fuzz::reset_random();
    Input in(data, size);
    uint8_t mode = in.u8();
    bool with_extra = (mode & 2) != 0;
    if ((mode & 1) == 0) {
        auto pk = in.array<32>();
        auto pre = in.array<32>();
        auto proof = in.array<64>();
        Transcript input = make_transcript(in);
        Transcript extra = with_extra ? make_transcript(in) : sr25519::vrf_default_extra();
        auto io = sr25519::vrf_verify(pk, input, pre, proof, extra);
        if (!io) {
            Error e = io.error();
            TS_FUZZ_CHECK(e == Error::invalid_encoding || e == Error::invalid_signature);
        } else {
            auto attached = sr25519::vrf_attach_pre_output(pk, input, pre);
            TS_FUZZ_CHECK(attached && same_inout(*attached, *io));
        }
        return 0;
    }
    auto mini = in.array<32>();
    uint16_t flip = in.u16();
    auto kp = sr25519::keypair_from_mini_secret(mini);
    TS_FUZZ_CHECK(kp.ok());
    Transcript input = make_transcript(in);
    Transcript extra = with_extra ? make_transcript(in) : sr25519::vrf_default_extra();
    sr25519::VrfInOut signer_io;
    sr25519::VrfSignature sig;
    if ((mode & 4) != 0) {
        auto randomness = in.array<32>();
        const sr25519::VrfInputHash h = sr25519::vrf_input_hash(kp->public_key, input);
        sig = sr25519::vrf_sign_hashed_with_randomness(*kp, h, extra, randomness, &signer_io);
        const sr25519::VrfSignature plain =
            sr25519::vrf_sign_with_randomness(*kp, input, extra, randomness);
        TS_FUZZ_CHECK(plain.pre_output == sig.pre_output && plain.proof == sig.proof);
        TS_FUZZ_CHECK(sr25519::vrf_pre_output_hashed(*kp, h) == sig.pre_output);
        auto hashed_io =
            sr25519::vrf_verify_hashed(kp->public_key, h, sig.pre_output, sig.proof, extra);
        TS_FUZZ_CHECK(hashed_io && same_inout(*hashed_io, signer_io));
    } else {
        sig = sr25519::vrf_sign(*kp, input, extra, &signer_io);
    }
    TS_FUZZ_CHECK(sig.pre_output == signer_io.output);
    auto io = sr25519::vrf_verify(kp->public_key, input, sig.pre_output, sig.proof, extra);
    TS_FUZZ_CHECK(io && same_inout(*io, signer_io));
    static const uint8_t kCtx[] = {'f', 'u', 'z', 'z'};
    TS_FUZZ_CHECK(
        (sr25519::vrf_make_bytes<32>(*io, kCtx) == sr25519::vrf_make_bytes<32>(signer_io, kCtx)));
    // One flipped bit of pre-output (256 bits) or proof (512 bits).
    size_t bit = flip % 768;
    sr25519::VrfSignature bad = sig;
    if (bit < 256)
        bad.pre_output[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    else
        bad.proof[(bit - 256) / 8] ^= static_cast<uint8_t>(1u << ((bit - 256) % 8));
    TS_FUZZ_CHECK(!sr25519::vrf_verify(kp->public_key, input, bad.pre_output, bad.proof, extra));
    return 0;
}
