// Decoders (and encoders, for tests and tools) of every payload a Kusama /
// Polkadot validator signs with its session keys, bit-compatible with the
// polkadot-sdk types they come from:
//
//   gran  GRANDPA vote       SCALE((finality_grandpa::Message, round: u64, set_id: u64))
//                            (sp-consensus-grandpa localized_payload)
//   babe  block seal         sr25519 over blake2_256(SCALE(header without the seal));
//                            the slot is in the header's BABE PreRuntime digest
//   beef  BEEFY vote         ecdsa over keccak_256(SCALE(sp_consensus_beefy::Commitment))
//   para  backing statement  SCALE(CompactStatement) ++ SCALE(SigningContext)
//         approval vote      SCALE(("APPR", candidate_hash, session_index))
//         approval (many)    SCALE(("APPR", Vec<candidate_hash>, session_index))
//         dispute statement  SCALE(("DISP", valid: bool, candidate_hash, session_index))
//
// Every decoder reads through scale::Decoder (never past the input), is strict
// where parity-scale-codec is strict, and refuses trailing bytes (DecodeAll):
// a decoded payload therefore re-encodes to exactly the input bytes. Errors are
// Error::invalid_encoding.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "teesigner/core/bytes.hpp"
#include "teesigner/core/result.hpp"

namespace teesigner::core::payloads {

// ---- GRANDPA -------------------------------------------------------------------

/// finality_grandpa::Message variant indices.
enum class GrandpaMessageKind : uint8_t { prevote = 0, precommit = 1, primary_propose = 2 };

/// One localized GRANDPA message (block numbers are u32 on Kusama/Polkadot).
struct GrandpaVote {
    GrandpaMessageKind kind = GrandpaMessageKind::prevote;
    Hash256 target_hash{};
    uint32_t target_number = 0;
    uint64_t round = 0;
    uint64_t set_id = 0;
    friend bool operator==(const GrandpaVote&, const GrandpaVote&) = default;
};

/// Size of every encoded GRANDPA signing payload: 1 + 32 + 4 + 8 + 8.
inline constexpr size_t kGrandpaPayloadSize = 53;

/// Decode SCALE((Message, round, set_id)), the bytes a GRANDPA voter signs.
Result<GrandpaVote> decode_grandpa_vote(ByteSpan payload);
/// The signing payload of `vote`.
Bytes encode_grandpa_vote(const GrandpaVote& vote);

// ---- Headers and digests (sp_runtime::generic) ----------------------------------

using EngineId = ByteArray<4>;
inline constexpr EngineId kBabeEngineId = {'B', 'A', 'B', 'E'};

/// sp_runtime::generic::DigestItem variant indices (1-3 and 7 are unused).
enum class DigestItemKind : uint8_t {
    other = 0,
    consensus = 4,
    seal = 5,
    pre_runtime = 6,
    runtime_environment_updated = 8,
};

/// One digest item. `engine` is zero for Other and RuntimeEnvironmentUpdated;
/// `data` is empty for RuntimeEnvironmentUpdated.
struct DigestItem {
    DigestItemKind kind = DigestItemKind::other;
    EngineId engine{};
    Bytes data;
    friend bool operator==(const DigestItem&, const DigestItem&) = default;
};

/// sp_runtime::generic::Header<u32, BlakeTwo256>.
struct Header {
    Hash256 parent_hash{};
    uint32_t number = 0;  // Compact<u32> on the wire
    Hash256 state_root{};
    Hash256 extrinsics_root{};
    std::vector<DigestItem> digest;
    friend bool operator==(const Header&, const Header&) = default;
};

Result<Header> decode_header(ByteSpan encoded);
Bytes encode_header(const Header& header);

// ---- BABE ------------------------------------------------------------------------

/// sp_consensus_babe::digests::PreDigest variant indices.
enum class BabePreDigestKind : uint8_t { primary = 1, secondary_plain = 2, secondary_vrf = 3 };

/// A BABE pre-runtime digest. The VRF signature (pre-output, proof) is present
/// for primary and secondary-VRF claims and zero for secondary-plain ones.
struct BabePreDigest {
    BabePreDigestKind kind = BabePreDigestKind::primary;
    uint32_t authority_index = 0;
    uint64_t slot = 0;
    ByteArray<32> vrf_pre_output{};
    ByteArray<64> vrf_proof{};
    friend bool operator==(const BabePreDigest&, const BabePreDigest&) = default;
};

Result<BabePreDigest> decode_babe_pre_digest(ByteSpan encoded);
Bytes encode_babe_pre_digest(const BabePreDigest& pre_digest);

/// A header about to be sealed by BABE, and what the signer derives from it.
struct BabeSealRequest {
    Header header;
    BabePreDigest pre_digest;
    /// blake2_256(SCALE(header)): the hash the BABE seal signs (the header
    /// carries no seal yet, so this is the block's pre-seal hash).
    Hash256 pre_hash{};
};

/// Decode an unsealed header for BABE sealing. Refused (invalid_encoding) when
/// the header does not decode, when it already carries a Seal item, or when it
/// does not carry exactly one PreRuntime item of engine "BABE" whose data
/// decodes (completely) as a PreDigest: what sc-consensus-babe's
/// find_pre_digest accepts.
Result<BabeSealRequest> decode_babe_seal_request(ByteSpan header);

// ---- BEEFY -----------------------------------------------------------------------

/// sp_consensus_beefy::Commitment<u32>.
struct BeefyCommitment {
    std::vector<std::pair<ByteArray<2>, Bytes>> payload;  // (BeefyPayloadId, value)
    uint32_t block_number = 0;
    uint64_t validator_set_id = 0;
    friend bool operator==(const BeefyCommitment&, const BeefyCommitment&) = default;
};

Result<BeefyCommitment> decode_beefy_commitment(ByteSpan encoded);
Bytes encode_beefy_commitment(const BeefyCommitment& commitment);
/// keccak_256(encoded): the prehash a BEEFY voter's ecdsa key signs.
Hash256 beefy_prehash(ByteSpan encoded_commitment) noexcept;

// ---- Parachains (polkadot-primitives) ----------------------------------------------

/// What a para-validator statement says. Backing and approval statements and
/// valid dispute votes take the "valid" side of a candidate; an invalid dispute
/// vote takes the "invalid" side.
enum class ParaStatementKind : uint8_t {
    backing_seconded = 1,   // CompactStatement::Seconded ++ SigningContext
    backing_valid = 2,      // CompactStatement::Valid ++ SigningContext
    approval = 3,           // ApprovalVote: ("APPR", candidate, session)
    approval_multiple = 4,  // ApprovalVoteMultipleCandidates with != 1 candidates
    dispute_valid = 5,      // ExplicitDisputeStatement { valid: true }
    dispute_invalid = 6,    // ExplicitDisputeStatement { valid: false }
};

inline constexpr ByteArray<4> kBackingMagic = {'B', 'K', 'N', 'G'};
inline constexpr ByteArray<4> kApprovalMagic = {'A', 'P', 'P', 'R'};
inline constexpr ByteArray<4> kDisputeMagic = {'D', 'I', 'S', 'P'};

struct ParaStatement {
    ParaStatementKind kind = ParaStatementKind::approval;
    uint32_t session = 0;
    /// One candidate, except for approval_multiple (at least one).
    std::vector<Hash256> candidates;
    /// SigningContext::parent_hash (backing statements only; zero otherwise).
    Hash256 parent_hash{};
    /// True for every kind except dispute_invalid.
    bool valid_side() const noexcept { return kind != ParaStatementKind::dispute_invalid; }
    friend bool operator==(const ParaStatement&, const ParaStatement&) = default;
};

/// True when `payload` starts with one of the three magics above: such bytes
/// must decode as a statement (a para payload that does not is refused, never
/// treated as opaque).
bool has_para_magic(ByteSpan payload) noexcept;

// ---- Proof of possession of session keys ------------------------------------------------

/// sp-core's statement of ownership, "POP_" ++ owner: the runtime's
/// SessionKeys::generate (polkadot-sdk stable2609) signs it with each
/// new session key when `author_rotateKeys` names an owner. Not slashable.
inline constexpr ByteArray<4> kProofOfPossessionTag = {'P', 'O', 'P', '_'};

/// True when `payload` is a proof-of-possession statement for a 20- or 32-byte
/// account id, i.e. "POP_" followed by 20 or 32 bytes (24 or 36 in all). Those
/// lengths are never a BABE seal's 32-byte pre-hash nor a 53-byte GRANDPA vote,
/// so a host cannot pass a slashable payload off as a statement.
bool is_proof_of_possession_statement(ByteSpan payload) noexcept;

/// Decode any of the para signing payloads listed at the top of this file. An
/// "APPR" payload of exactly 40 bytes is a single-candidate ApprovalVote
/// (ApprovalVoteMultipleCandidates signs that same form for one candidate);
/// any other length must be the Vec form with at least one candidate.
Result<ParaStatement> decode_para_statement(ByteSpan payload);
/// The signing payload of `statement` (approval_multiple always in Vec form).
Result<Bytes> encode_para_statement(const ParaStatement& statement);

}  // namespace teesigner::core::payloads
