/*
 * The tee-signer trusted application's interface: UUID, command ids and the
 * SCALE encodings of every request and response. Shared by the TA and the host.
 *
 * Every command takes
 *   params[0]  TEE_PARAM_TYPE_MEMREF_INPUT   the SCALE-encoded request (may be
 *              empty; TEE_PARAM_TYPE_NONE is accepted for an empty request)
 *   params[1]  TEE_PARAM_TYPE_MEMREF_OUTPUT  receives the SCALE-encoded response
 *   params[2], params[3]  TEE_PARAM_TYPE_NONE
 * A response that does not fit sets params[1].memref.size to the size needed
 * and returns TEE_ERROR_SHORT_BUFFER; commands that create keys check the
 * output size *before* creating anything, so a retry never makes two keys.
 *
 * Types below are Rust/SCALE notation: KeyTypeId = [u8; 4] (e.g. "gran"),
 * Scheme = u8 (0 sr25519, 1 ed25519, 2 ecdsa), Public = the raw public key
 * (32 bytes for sr25519/ed25519, 33 for ecdsa, no length prefix).
 *
 * No command returns private key material, in any build.
 */
#ifndef SIGNER_TA_H
#define SIGNER_TA_H

/* 286496c0-e466-46b0-9ef1-8d9e504801d9 (random, fixed for this TA) */
#define TA_SIGNER_UUID                                     \
    {                                                      \
        0x286496c0, 0xe466, 0x46b0, {                      \
            0x9e, 0xf1, 0x8d, 0x9e, 0x50, 0x48, 0x01, 0xd9 \
        }                                                  \
    }

#define TA_SIGNER_SCHEME_SR25519 0
#define TA_SIGNER_SCHEME_ED25519 1
#define TA_SIGNER_SCHEME_ECDSA 2

/* (key_type: KeyTypeId, scheme: Scheme) -> Public
 * A fresh key from TEE_GenerateRandom, sealed in TA storage. */
#define TA_SIGNER_CMD_GENERATE_KEY 0x0001

/* () -> SessionKeys
 * Six fresh keys in Kusama/Polkadot SessionKeys order: gran ed25519, babe
 * sr25519, para sr25519, asgn sr25519, audi sr25519, beef ecdsa. The response
 * is the concatenation of their public keys (193 bytes), exactly what
 * author_rotateKeys returns and session.setKeys takes. */
#define TA_SIGNER_CMD_GENERATE_SESSION_KEYS 0x0002

/* (key_type: KeyTypeId, scheme: Scheme) -> Vec<Public> */
#define TA_SIGNER_CMD_LIST_PUBLIC_KEYS 0x0003

/* (keys: Vec<(Vec<u8>, KeyTypeId)>) -> bool
 * sp-keystore has_keys: true iff every (public key, key type) is stored. */
#define TA_SIGNER_CMD_HAS_KEYS 0x0004

/* 0x0005 and 0x0006 were SIGN and ECDSA_SIGN_PREHASHED, the plain-signature
 * forms of SIGN_CHECKED and ECDSA_SIGN_PREHASHED_CHECKED (below); removed, and
 * not to be reused. */

/* (key_type: KeyTypeId, public: [u8; 32], input: VrfTranscript,
 *  extra: Option<VrfTranscript>) -> (pre_output: [u8; 32], proof: [u8; 64])
 * VrfTranscript = (label: Vec<u8>, items: Vec<(Vec<u8>, Vec<u8>)>): the merlin
 * transcript Transcript::new(label) followed by append_message(item label,
 * item bytes) for each item, as sp-core's VrfTranscript::new builds it (BABE:
 * "BABE" with "slot number", "current epoch", "chain randomness"). No extra
 * means the default extra transcript ("VRF"), as sp-core's VrfSignData. The
 * response is sp-core's sr25519 VrfSignature (pre-output then proof).
 * sr25519 keys only. */
#define TA_SIGNER_CMD_VRF_SIGN 0x0007

/* (key_type: KeyTypeId, public: [u8; 32], input_hash: [u8; 64],
 *  extra: Option<VrfTranscript>) -> (pre_output: [u8; 32], proof: [u8; 64])
 * VRF_SIGN with the input transcript given as its hash, for callers that hold
 * a finished merlin transcript they cannot serialize (sp-core 43's
 * VrfSignData): input_hash = the 64 bytes of challenge_bytes("VRFHash") after
 * append_message("vrf-nm-pk", public) on a clone of the input transcript, the
 * bytes schnorrkel maps to the input point (ristretto255 from_hash). The
 * response is exactly what VRF_SIGN gives for that transcript (the proof is
 * randomised, as there). The hash binds the public key: one computed for
 * another key yields a VRF that verifies for no transcript. Like VRF_SIGN, not
 * subject to slashing protection. sr25519 keys only. */
#define TA_SIGNER_CMD_VRF_SIGN_HASHED 0x0009
#define TA_SIGNER_VRF_INPUT_HASH_SIZE 64

/* (key_type: KeyTypeId, scheme: Scheme, public: Vec<u8>) -> ()
 * Retire a key: remove it from the key index and delete its sealed object;
 * the secret is wiped from the TA's caches. TEE_ERROR_ITEM_NOT_FOUND if the
 * TA holds neither an index entry nor an object for it. The index entry goes
 * and the object becomes unusable in one atomic step: the soft TEE commits
 * the new index and a secret-less tombstone over the key object in one
 * storage transaction, then deletes the tombstone; OP-TEE (no multi-object
 * transactions) overwrites the key object with the tombstone first and then
 * writes the index, so a crash in between leaves the key listed but unusable
 * (never usable but unlisted). Either way a retired key never signs again,
 * and repeating DELETE_KEY after a crash completes the removal. The key's
 * slashing-protection records stay (they are per public key, bounded, keep
 * the history export complete, and never let anything sign). The host decides
 * whether a key may be retired (signer_retireKeys, docs/protocol.md); the TA
 * deletes what it is asked to. With TEST_CRASH_AFTER_PERSIST set (test
 * builds), the TA dies right after the atomic step. */
#define TA_SIGNER_CMD_DELETE_KEY 0x000A

/* (nonce: Vec<u8>, at most 64 bytes) -> (statement: Vec<u8>, signature: [u8; 64])
 * statement = SCALE(label: String, nonce: Vec<u8>,
 *                   keys: Vec<(KeyTypeId, Scheme, Vec<u8>)>,
 *                   report_data: [u8; 32], attestation_key: [u8; 32])
 * report_data = blake2_256(nonce ++ every public key in `keys` order);
 * signature = ed25519 over statement by the TA's own attestation key.
 * The label says "self-attested, NOT hardware-backed": nothing vouches for the
 * attestation key; a verifier learns only that the same TA instance holds
 * these keys (pin the attestation key at enrolment). */
#define TA_SIGNER_CMD_ATTEST 0x0008
#define TA_SIGNER_ATTEST_LABEL "tee-signer/self-attested/v1: NOT hardware-backed"
#define TA_SIGNER_MAX_NONCE 64

/* (nonce: Vec<u8>, at most 64 bytes)
 *   -> (statement: Vec<u8>, signature: [u8; 64], tee: TeeEvidence)
 * ATTEST's statement and signature, plus evidence from OP-TEE's attestation
 * pseudo-TA (optee_os built with CFG_ATTESTATION_PTA=y; its interface is
 * OP-TEE's lib/libutee/include/pta_attestation.h) bound to the statement's
 * report_data, in one command (so over the same key index):
 *   TeeEvidence = (algorithm: u32, exponent: Vec<u8>, modulus: Vec<u8>,
 *                  memory_digest: [u8; 32], memory_signature: Vec<u8>,
 *                  header_digest: [u8; 32], header_signature: Vec<u8>)
 * algorithm: what the PTA reports for its key (0x70414930,
 *   TEE_ALG_RSASSA_PKCS1_PSS_MGF1_SHA256); exponent, modulus: the PTA's RSA
 *   public key, big-endian (the PTA generates it on first use and keeps it in
 *   secure storage).
 * memory_digest: SHA-256 of this TA instance's read-only memory (code and
 *   read-only data), measured by the PTA for its caller
 *   (PTA_ATTESTATION_HASH_TA_MEMORY): only a TA can obtain it, and only for
 *   itself, so it ties report_data to the code that computed it.
 * header_digest: the digest in the signed header of the installed TA binary
 *   TA_SIGNER_UUID (PTA_ATTESTATION_GET_TA_SHDR_DIGEST), the 32 bytes at
 *   offset 20 of the .ta file. Any normal-world client can ask the PTA for
 *   it, with any nonce: it says which binary is installed, not who asked.
 * Each signature: RSASSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt,
 *   over the message report_data ++ digest (the PTA signs
 *   SHA-256(nonce ++ digest) with nonce = report_data).
 * TA_SIGNER_ERROR_NO_TEE_ATTESTATION when the TEE has no attestation PTA (the
 * soft TEE; OP-TEE without CFG_ATTESTATION_PTA): use ATTEST. */
#define TA_SIGNER_CMD_ATTEST_TEE 0x000B
#define TA_SIGNER_ERROR_NO_TEE_ATTESTATION 0x80005304
/* OP-TEE's attestation PTA (pta_attestation.h: PTA_ATTESTATION_UUID) */
#define TA_SIGNER_OPTEE_ATTESTATION_PTA_UUID               \
    {                                                      \
        0x39800861, 0x182a, 0x4720, {                      \
            0x9b, 0x67, 0x2b, 0xcd, 0x62, 0x2b, 0xc0, 0xb5 \
        }                                                  \
    }

/* ---- Slashing protection (docs/slashing-protection.md) --------------------
 *
 * Every signing command decides on the trusted side, with the rules of
 * core/protection.hpp, and persists the record (GP persistent object,
 * committed atomically) BEFORE it signs and replies. Protection state is kept
 * per public key, whatever key type label the key is stored under; "the key's
 * key types" below means every key type the same public key is stored under.
 *
 * The typed and *_CHECKED commands answer TEE_SUCCESS with
 *   SignOutcome = enum {
 *     0 Signed  (signature: Vec<u8>, payload_hash: [u8; 32]),
 *     1 Refused (Refusal),
 *   }
 *   Refusal = (reason: u8, rule: u8, position: (u64, u64), watermark: (u64, u64),
 *              earlier_kind: u8, earlier_sides: u8, subject: [u8; 32],
 *              earlier_number: u32, earlier_payload_hash: [u8; 32],
 *              key_type: KeyTypeId)
 *   reason: 1 conflict, 2 below_watermark, 3 opaque_refused, 4 malformed, 5 capacity
 *   rule:   0 none (opaque policy), 1 grandpa, 2 babe, 3 beefy, 4 para
 *   position: grandpa (set_id, round); babe (slot, 0); beefy (set_id, block);
 *             para (session, 0). watermark: the key's watermark (below_watermark).
 *   earlier_*: the conflicting earlier record (conflict): kind (grandpa 0
 *     prevote / 1 precommit; para: statement kind 1 seconded, 2 valid,
 *     3 approval, 4 approval (several), 5 dispute valid, 6 dispute invalid),
 *     sides (para: 1 valid, 2 invalid, 3 both), subject (grandpa target hash;
 *     para candidate hash), number (grandpa target number), payload_hash.
 *   key_type: the key type whose opaque policy refused (opaque_refused).
 *   payload_hash (Signed) and earlier_payload_hash: blake2_256 of the signed
 *     bytes (grandpa, para, SIGN_CHECKED), the header pre-hash (babe), the
 *     keccak-256 prehash (beefy, prehashed ecdsa).
 * The output buffer must hold TA_SIGNER_SIGN_OUTCOME_MAX bytes (checked before
 * anything is recorded). A typed payload that does not decode is
 * TEE_ERROR_BAD_FORMAT (nothing recorded). (The results 0x80005301 and
 * 0x80005302 were the refusals of the removed SIGN and ECDSA_SIGN_PREHASHED;
 * not to be reused.) */
#define TA_SIGNER_SIGN_OUTCOME_MAX 112
/* GENERATE_KEY, GENERATE_SESSION_KEYS, IMPORT_SURI: the keystore already holds
 * TA_SIGNER_MAX_KEYS_PER_TYPE keys of the key type, or TA_SIGNER_MAX_KEYS in
 * all; nothing was stored for the refused key (the sealed key index has a
 * fixed size; without these bounds a client could fill it and lock every key). */
#define TA_SIGNER_ERROR_KEY_LIMIT 0x80005303
#define TA_SIGNER_MAX_KEYS_PER_TYPE 1024
#define TA_SIGNER_MAX_KEYS 8192

/* (key_type: KeyTypeId, public: [u8; 32], payload: Vec<u8>) -> SignOutcome
 * payload = SCALE((finality_grandpa::Message, round: u64, set_id: u64)), the
 * GRANDPA localized payload; ed25519 signature over it. Prevotes and
 * precommits are protected; primary proposals are signed without a record. */
#define TA_SIGNER_CMD_SIGN_GRANDPA_VOTE 0x0010

/* (key_type: KeyTypeId, public: [u8; 32], header: Vec<u8>) -> SignOutcome
 * header = SCALE(sp_runtime Header) WITHOUT the seal, carrying exactly one BABE
 * PreRuntime digest. The TA reads the slot from the pre-digest, computes
 * pre_hash = blake2_256(header) and returns the sr25519 signature over the 32
 * pre-hash bytes (what sc-consensus-babe puts in the seal); payload_hash = pre_hash. */
#define TA_SIGNER_CMD_SIGN_BABE_HEADER 0x0011

/* (key_type: KeyTypeId, public: [u8; 33], commitment: Vec<u8>) -> SignOutcome
 * commitment = SCALE(sp_consensus_beefy::Commitment<u32>). The TA computes
 * keccak_256(commitment) and returns the 65-byte ecdsa signature over that
 * prehash (what sc-consensus-beefy signs); payload_hash = the prehash. */
#define TA_SIGNER_CMD_SIGN_BEEFY_COMMITMENT 0x0012

/* (key_type: KeyTypeId, public: [u8; 32], payload: Vec<u8>) -> SignOutcome
 * payload = a parachain signing payload: CompactStatement ("BKNG" ...) ++
 * SigningContext, ApprovalVote / ApprovalVoteMultipleCandidates ("APPR" ...)
 * or ExplicitDisputeStatement ("DISP" ...). sr25519 signature over it. */
#define TA_SIGNER_CMD_SIGN_PARA_STATEMENT 0x0013

/* (key_type: KeyTypeId, scheme: Scheme, public: Vec<u8>, message: Vec<u8>) -> SignOutcome
 * Substrate Pair::sign: sr25519 (context "substrate", 64 bytes), ed25519 (64),
 * ecdsa recoverable over blake2_256(message) (65). TEE_ERROR_ITEM_NOT_FOUND if
 * the key is not stored. sp-keystore raw signing: for a key stored as "gran",
 * bytes that decode as a GRANDPA payload are protected as a vote; for "para",
 * bytes starting with "BKNG"/"APPR"/"DISP" must decode as a statement and are
 * protected; anything else is opaque and signed only if the opaque policy
 * allows it for every one of the key's key types. */
#define TA_SIGNER_CMD_SIGN_CHECKED 0x0014

/* (key_type: KeyTypeId, public: [u8; 33], prehash: [u8; 32]) -> SignOutcome
 * A recoverable ecdsa signature (65 bytes) over the prehash. Always opaque:
 * allowed only if the opaque policy allows it for every key type of the key
 * (refused by default for "beef"; BEEFY votes go through
 * SIGN_BEEFY_COMMITMENT). */
#define TA_SIGNER_CMD_ECDSA_SIGN_PREHASHED_CHECKED 0x0015

/* (cursor: u64, max_bytes: u32) -> (document: Vec<u8>, next: Option<u64>)
 * One page of the protection state (never keys) as a binary interchange
 * Document (core/protection.hpp, docs/protection-interchange.md). Start with
 * cursor 0 and repeat with `next` until None; every page is a complete
 * Document and pages may be imported one by one. max_bytes is capped at
 * TA_SIGNER_EXPORT_PAGE_MAX (0 means the cap). Stop signing while exporting
 * for a consistent snapshot. */
#define TA_SIGNER_CMD_EXPORT_PROTECTION 0x0020
#define TA_SIGNER_EXPORT_PAGE_MAX (64 * 1024) /* a page exceeds it only for one large item (<= 90 KB) */

/* (document: Vec<u8>) -> (items: u32, records_added: u32,
 *                          records_conflicting: u32, watermarks_raised: u32)
 * Merge a Document conservatively: the union of the records (a local record
 * wins over a different imported one for the same vote; para sides are OR-ed)
 * and the maximum of the watermarks. TEE_ERROR_BAD_FORMAT if it does not decode,
 * TEE_ERROR_EXCESS_DATA if it is larger than TA_SIGNER_IMPORT_MAX (split larger
 * histories into several Documents: the TA's heap is small on OP-TEE). */
#define TA_SIGNER_CMD_IMPORT_PROTECTION 0x0021
#define TA_SIGNER_IMPORT_MAX (128 * 1024)

/* () -> Vec<(KeyTypeId, allow_opaque: bool)>
 * The opaque-signing policy: the effective setting for gran, babe, beef,
 * para, asgn, audi, followed by every other explicitly set key type. A key
 * type not listed uses the default: allowed. */
#define TA_SIGNER_CMD_GET_PROTECTION_POLICY 0x0022

/* (entries: Vec<(KeyTypeId, allow_opaque: bool)>) -> ()
 * Replace the explicit policy entries (types not listed return to their
 * defaults: refused for gran, babe, beef; allowed otherwise). At most
 * TA_SIGNER_POLICY_MAX entries (TEE_ERROR_BAD_PARAMETERS otherwise). */
#define TA_SIGNER_POLICY_MAX 64
#define TA_SIGNER_CMD_SET_PROTECTION_POLICY 0x0023

/* (items: Vec<(command: u32, request: Vec<u8>)>)
 *   -> Vec<(result: u32, response: Vec<u8>)>
 * Group commit: up to TA_SIGNER_BATCH_MAX signing requests in one invocation,
 * each with one of SIGN_CHECKED, ECDSA_SIGN_PREHASHED_CHECKED, SIGN_GRANDPA_VOTE,
 * SIGN_BABE_HEADER, SIGN_BEEFY_COMMITMENT, SIGN_PARA_STATEMENT, VRF_SIGN or
 * VRF_SIGN_HASHED and
 * that command's request. Items are decided in order exactly as if sent alone
 * in that order (a later item sees the records of earlier ones, so two
 * conflicting votes in one batch sign the first and refuse the second). The
 * protection records of all items are then committed together, and only after
 * that commit are the signatures made: persistence-before-release holds for
 * every item. `result` and `response` are what the command would have
 * returned alone (response at most TA_SIGNER_SIGN_OUTCOME_MAX bytes); another
 * command id is TEE_ERROR_NOT_SUPPORTED for that item. If the commit fails, the
 * whole command fails with the storage error and nothing is signed.
 * The output buffer must hold TA_SIGNER_BATCH_OUT_MAX(n) bytes for n items. */
#define TA_SIGNER_CMD_SIGN_BATCH 0x0030
#define TA_SIGNER_BATCH_MAX 64
#define TA_SIGNER_BATCH_OUT_MAX(n) (2 + (n) * (4 + 2 + TA_SIGNER_SIGN_OUTCOME_MAX))

/* Development builds only (TS_TA_DEV_COMMANDS): import a secret URI.
 * (key_type: KeyTypeId, scheme: Scheme, suri: String) -> Public
 * Answers TEE_ERROR_NOT_SUPPORTED in release builds. */
#define TA_SIGNER_CMD_IMPORT_SURI 0x0100

/* Test builds only (TS_TA_TEST_COMMANDS), soft TEE: exercise the sandbox. */
#define TA_SIGNER_CMD_TEST_FORBIDDEN_SYSCALL 0x0F01 /* () -> () : calls socket() */
#define TA_SIGNER_CMD_TEST_SPIN 0x0F02              /* (millis: u32) -> () : busy-waits */
/* (path: String) -> () : openat(storage dir, path); TEE_SUCCESS if it opened,
 * TEE_ERROR_ACCESS_DENIED if the sandbox refused, TEE_ERROR_ITEM_NOT_FOUND if absent */
#define TA_SIGNER_CMD_TEST_OPEN_RELATIVE 0x0F03
/* () -> () : the next signing command that persists a new protection record
 * kills the TA process (SIGKILL) after the record is committed and the
 * signature computed, before the reply leaves; the next DELETE_KEY kills it
 * after the index and tombstone are committed, before the object is deleted
 * (crash-consistency tests). */
#define TA_SIGNER_CMD_TEST_CRASH_AFTER_PERSIST 0x0F04

#endif /* SIGNER_TA_H */
