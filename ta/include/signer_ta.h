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

/* (key_type: KeyTypeId, scheme: Scheme, public: Vec<u8>, message: Vec<u8>) -> Signature
 * Substrate Pair::sign: sr25519 (context "substrate", 64 bytes), ed25519 (64),
 * ecdsa recoverable over blake2_256(message) (65).
 * TEE_ERROR_ITEM_NOT_FOUND if the key is not stored. */
#define TA_SIGNER_CMD_SIGN 0x0005

/* (key_type: KeyTypeId, public: [u8; 33], prehash: [u8; 32]) -> [u8; 65] */
#define TA_SIGNER_CMD_ECDSA_SIGN_PREHASHED 0x0006

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

#endif /* SIGNER_TA_H */
