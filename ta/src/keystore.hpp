// The TA's key store on GP persistent objects (TEE_STORAGE_PRIVATE):
//   "key/" ++ key_type ++ scheme ++ public  ->  u8 format | u8 scheme | seed[32]
//   "index"                                 ->  Vec<(KeyTypeId, Scheme, Vec<u8>)>
//   "attestation-key"                       ->  u8 format | seed[32] (ed25519)
// A key object is written before the index lists it, so a crash in between
// leaves at most an unlisted (unused) key object, never a listed key without
// its secret. A retired key (delete_key) becomes a tombstone object (format 0,
// no secret) together with its removal from the index, then the object is
// deleted; a tombstone reads as not found.
#pragma once

#include <optional>
#include <vector>

#include "gp_api.hpp"
#include "teesigner/core/bytes.hpp"
#include "teesigner/core/keys.hpp"
#include "teesigner/core/secure.hpp"

namespace teesigner::ta {

using KeyTypeId = core::ByteArray<4>;

struct KeyRef {
    KeyTypeId key_type{};
    core::Scheme scheme = core::Scheme::sr25519;
    core::Bytes public_key;
};

/// All stored keys, in creation order (empty when none).
TEE_Result load_index(std::vector<KeyRef>& out);

/// Seal `seed` as the key `ref` and list it in the index.
TEE_Result store_key(const KeyRef& ref, const core::SecretArray<32>& seed);

/// Retire the key `ref` (signer_ta.h DELETE_KEY): drop its index entry and make
/// its object a tombstone atomically (one transaction on the soft TEE; on
/// OP-TEE the tombstone first), call `after_commit` (may be null), then delete
/// the object. Its cached pair and probe are dropped. TEE_ERROR_ITEM_NOT_FOUND
/// when neither an index entry nor an object exists.
TEE_Result delete_key(const KeyRef& ref, void (*after_commit)());

/// Whether a key object exists for `ref` (listed in the index or not; a
/// tombstone left by a crash inside delete_key counts until it is deleted).
TEE_Result key_exists(const KeyRef& ref, bool& exists);

/// A stored key pair (the sealed record is read and checked at the key's first
/// use in each command; the derived pair comes from a cache when the seed
/// matches);
/// TEE_ERROR_ITEM_NOT_FOUND if not stored. `out` stays valid until the next
/// keystore_trim_caches().
TEE_Result load_key(const KeyRef& ref, const core::KeyPair*& out);

/// Start a new command: bound the key cache, and make the next use of each key
/// read its sealed record again. Called between commands only, so that
/// pointers handed out during one command stay valid for all of it.
void keystore_trim_caches();

/// The TA's ed25519 attestation key, created on first use.
TEE_Result attestation_key(std::optional<core::KeyPair>& out);

/// Map a core error to a GP result code.
TEE_Result to_tee(core::Error e);

}  // namespace teesigner::ta
