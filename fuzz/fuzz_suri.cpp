// Secret URIs: parse_secret_uri and KeyPair::from_suri for all three schemes
// on arbitrary text. Only documented errors, never a crash; a URI that does
// not parse is refused by from_suri as invalid_uri; a key that comes out has
// the scheme's public key size and signs verifiably.
//
// A parsed phrase goes through PBKDF2 (2048 rounds) per scheme, which is slow
// under ASan; hex seeds ("0x...") take the fast path.
#include <cstdint>

#include "common.hpp"
#include "teesigner/core/keys.hpp"
#include "teesigner/core/suri.hpp"

using namespace teesigner::core;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    teesigner::fuzz::init_core();
    teesigner::fuzz::reset_random();
    if (size > 4096) return 0;  // far beyond any URI; keeps PBKDF2 inputs small
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto uri = parse_secret_uri(text);
    if (!uri) {
        TS_FUZZ_CHECK(uri.error() == Error::invalid_uri);
        for (Scheme s : {Scheme::sr25519, Scheme::ed25519, Scheme::ecdsa}) {
            auto pair = KeyPair::from_suri(s, text);
            TS_FUZZ_CHECK(!pair && pair.error() == Error::invalid_uri);
        }
        return 0;
    }
    auto seed = secret_uri_seed(*uri);
    if (!seed) {
        Error e = seed.error();
        TS_FUZZ_CHECK(e == Error::invalid_encoding || e == Error::invalid_length ||
                      e == Error::invalid_mnemonic || e == Error::invalid_checksum);
    }
    // One scheme per input (the input length picks it): each phrase costs a
    // PBKDF2 run per derivation, which dominates the time per input.
    {
        const Scheme s = static_cast<Scheme>(size % 3);
        auto pair = KeyPair::from_suri(s, text);
        if (!pair) {
            Error e = pair.error();
            TS_FUZZ_CHECK(e == Error::invalid_encoding || e == Error::invalid_length ||
                          e == Error::invalid_mnemonic || e == Error::invalid_checksum ||
                          e == Error::unsupported || e == Error::crypto_failure);
            // The same root seed error, or a junction the scheme refuses.
            if (!seed) TS_FUZZ_CHECK(e == seed.error());
            return 0;
        }
        TS_FUZZ_CHECK(seed.ok());
        TS_FUZZ_CHECK(pair->public_key().size() == public_key_size(s));
        static const uint8_t kMsg[] = {'f', 'u', 'z', 'z'};
        auto sig = pair->sign(kMsg);
        TS_FUZZ_CHECK(sig && verify(s, SignatureBytes(*sig), kMsg,
                                    PublicKeyBytes(pair->public_key())) == Error::ok);
    }
    return 0;
}
