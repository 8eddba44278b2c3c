// FakeKeyService: an in-process, in-memory KeyService for the server tests
// only. It holds no real keys and its "signatures" are hashes that nothing
// verifies; the real binary always uses TeeKeyService.
#pragma once

#include <map>
#include <mutex>
#include <set>

#include "key_service.hpp"
#include "rpc_methods.hpp"
#include "teesigner/core/hash.hpp"
#include "teesigner/core/random.hpp"

namespace teesigner::signerd::testing {

class FakeKeyService : public KeyService {
  public:
    Bytes rotate_session_keys() override {
        Bytes blob;
        for (const auto& slot : kSessionKeySlots) {
            KeyTypeId id{};
            for (size_t i = 0; i < 4; ++i) id[i] = static_cast<uint8_t>(slot.key_type[i]);
            Bytes pk = generate_new(id, slot.scheme, std::nullopt);
            blob.insert(blob.end(), pk.begin(), pk.end());
        }
        ++rotations;
        return blob;
    }

    std::vector<std::pair<Bytes, KeyTypeId>> decode_session_keys(ByteSpan blob) override {
        return split_session_keys(blob);
    }

    bool has_keys(const std::vector<std::pair<Bytes, KeyTypeId>>& keys) override {
        std::lock_guard lock(mu_);
        for (const auto& [pk, type] : keys) {
            bool found = false;
            for (const auto& [k, list] : keys_)
                if (k.first == type && list.count(pk)) found = true;
            if (!found) return false;
        }
        return true;
    }

    std::vector<Bytes> public_keys(const KeyTypeId& type, Scheme scheme) override {
        std::lock_guard lock(mu_);
        auto it = keys_.find({type, scheme});
        if (it == keys_.end()) return {};
        return {it->second.begin(), it->second.end()};
    }

    Bytes generate_new(const KeyTypeId& type, Scheme scheme,
                       const std::optional<std::string>& seed) override {
        Bytes pk(scheme == Scheme::ecdsa ? 33 : 32);
        if (seed) {
            auto h = core::blake2b_256(core::as_bytes(*seed));
            std::copy(h.begin(), h.end(), pk.begin());
        } else {
            core::random_bytes(pk.data(), pk.size());
        }
        if (scheme == Scheme::ecdsa) pk[0] = 0x02;
        std::lock_guard lock(mu_);
        keys_[{type, scheme}].insert(pk);
        return pk;
    }

    Bytes sign(const KeyTypeId& type, Scheme scheme, ByteSpan pk, ByteSpan message) override {
        require(type, scheme, pk);
        if (refuse_next_sign.exchange(false))
            throw ServiceError(rpc_error::kSlashingRefused, "would equivocate",
                               "grandpa_equivocation");
        Bytes sig(scheme == Scheme::ecdsa ? 65 : 64);
        auto h = core::blake2b_512(message);
        std::copy(h.begin(),
                  h.begin() + static_cast<std::ptrdiff_t>(std::min(sig.size(), h.size())),
                  sig.begin());
        return sig;
    }

    VrfSignature sr25519_vrf_sign(const KeyTypeId& type, ByteSpan pk,
                                  const VrfSignData& data) override {
        require(type, Scheme::sr25519, pk);
        VrfSignature s;
        auto h = data.input_hash ? core::blake2b_256(*data.input_hash)
                                 : core::blake2b_256(data.transcript.label);
        std::copy(h.begin(), h.end(), s.pre_output.begin());
        last_vrf_items = data.transcript.items.size();
        last_vrf_had_extra = data.extra.has_value();
        last_vrf_input_hash = data.input_hash;
        return s;
    }

    Bytes ecdsa_sign_prehashed(const KeyTypeId& type, ByteSpan pk,
                               const ByteArray<32>& prehash) override {
        require(type, Scheme::ecdsa, pk);
        Bytes sig(65, 0);
        std::copy(prehash.begin(), prehash.end(), sig.begin());
        return sig;
    }

    Attestation attest(ByteSpan nonce) override {
        Attestation a;
        a.kind = "fake";
        a.statement.assign(nonce.begin(), nonce.end());
        a.signature.assign(64, 0);
        a.attestation_public_key.assign(32, 0);
        return a;
    }

    KeyServiceHealth health() override {
        KeyServiceHealth h;
        h.backend = "fake";
        h.ok = healthy;
        return h;
    }

    std::atomic<bool> refuse_next_sign{false};
    std::atomic<bool> healthy{true};
    std::atomic<int> rotations{0};
    size_t last_vrf_items = 0;
    bool last_vrf_had_extra = false;
    std::optional<VrfInputHash> last_vrf_input_hash;

  private:
    void require(const KeyTypeId& type, Scheme scheme, ByteSpan pk) {
        std::lock_guard lock(mu_);
        auto it = keys_.find({type, scheme});
        if (it == keys_.end() || !it->second.count(Bytes(pk.begin(), pk.end())))
            throw ServiceError(rpc_error::kKeyNotFound, "no such key in the TEE");
    }

    std::mutex mu_;
    std::map<std::pair<KeyTypeId, Scheme>, std::set<Bytes>> keys_;
};

}  // namespace teesigner::signerd::testing
