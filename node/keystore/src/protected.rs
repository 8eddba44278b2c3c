//! The protected path: typed signing calls that carry the whole structure, so
//! the TEE decodes it and checks it against the key's history before it signs.
//!
//! The stock `Keystore` path already protects GRANDPA votes and parachain
//! statements (their bytes are the structure). BABE seals and BEEFY votes reach
//! a keystore only as 32-byte hashes, which the signer cannot relate to a slot
//! or block and refuses by default; a node gets protection for them by calling
//! `sign_babe_header` and `sign_beefy_commitment` where it has the header and
//! the commitment (docs/node-integration.md).

use crate::{
    error::SignerError,
    keystore::{bytes_from, key_type_str, to_hex, TeeSignerKeystore},
};
use serde_json::{json, Value};
use sp_core::{
    crypto::{ByteArray, KeyTypeId},
    ecdsa, ed25519, sr25519,
};

/// A signature and the hash the signer's protection record keeps for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtectedSignature<S> {
    pub signature: S,
    /// `blake2_256` of the signed bytes (GRANDPA, parachains), the header's
    /// pre-hash (BABE), `keccak_256` of the commitment (BEEFY).
    pub payload_hash: [u8; 32],
}

/// Typed signing under slashing protection (docs/protocol.md, "Typed signing").
/// Every method refuses (`SignerError::Refused`) a payload that conflicts with
/// one the key signed before; signing the identical payload again is allowed.
pub trait ProtectedSigning: Send + Sync {
    /// ed25519 over `payload` = SCALE((Message, round: u64, set_id: u64)), the
    /// bytes `sp_consensus_grandpa` signs.
    fn sign_grandpa_vote(
        &self,
        key_type: KeyTypeId,
        public: &ed25519::Public,
        payload: &[u8],
    ) -> Result<ProtectedSignature<ed25519::Signature>, SignerError>;

    /// sr25519 over `blake2_256(header)`, where `header` is the SCALE-encoded
    /// header without its seal, with one BABE pre-runtime digest (its slot is
    /// what the signer protects). The signature is the seal.
    fn sign_babe_header(
        &self,
        key_type: KeyTypeId,
        public: &sr25519::Public,
        header: &[u8],
    ) -> Result<ProtectedSignature<sr25519::Signature>, SignerError>;

    /// ecdsa over `keccak_256(commitment)`, `commitment` = SCALE(Commitment<u32>).
    fn sign_beefy_commitment(
        &self,
        key_type: KeyTypeId,
        public: &ecdsa::Public,
        commitment: &[u8],
    ) -> Result<ProtectedSignature<ecdsa::Signature>, SignerError>;

    /// sr25519 over a parachain statement's signing payload: CompactStatement
    /// ++ SigningContext, an approval vote, or an explicit dispute statement.
    fn sign_para_statement(
        &self,
        key_type: KeyTypeId,
        public: &sr25519::Public,
        payload: &[u8],
    ) -> Result<ProtectedSignature<sr25519::Signature>, SignerError>;
}

impl TeeSignerKeystore {
    fn sign_typed<S: ByteArray>(
        &self,
        method: &str,
        key_type: KeyTypeId,
        public: &[u8],
        payload_name: &str,
        payload: &[u8],
    ) -> Result<ProtectedSignature<S>, SignerError> {
        let mut params = serde_json::Map::new();
        params.insert("keyType".into(), Value::String(key_type_str(key_type)?));
        params.insert("public".into(), Value::String(to_hex(public)));
        params.insert(payload_name.into(), Value::String(to_hex(payload)));
        let result = self.call(method, Value::Object(params))?;
        let signature = bytes_from(&result["signature"], "signature", Some(S::LEN))?;
        let hash = bytes_from(&result["payloadHash"], "payloadHash", Some(32))?;
        Ok(ProtectedSignature {
            signature: S::from_slice(&signature)
                .map_err(|_| SignerError::Protocol("signature".into()))?,
            payload_hash: hash.try_into().expect("length checked"),
        })
    }

    /// `author_rotateKeys`: a fresh set of the relay chain's six session keys,
    /// generated in the TEE, as the SCALE bytes `session.setKeys` takes.
    pub fn rotate_keys(&self) -> Result<Vec<u8>, SignerError> {
        bytes_from(
            &self.call("author_rotateKeys", json!([]))?,
            "session keys",
            None,
        )
    }
}

impl ProtectedSigning for TeeSignerKeystore {
    fn sign_grandpa_vote(
        &self,
        key_type: KeyTypeId,
        public: &ed25519::Public,
        payload: &[u8],
    ) -> Result<ProtectedSignature<ed25519::Signature>, SignerError> {
        self.sign_typed(
            "signer_signGrandpaVote",
            key_type,
            public.as_ref(),
            "payload",
            payload,
        )
    }

    fn sign_babe_header(
        &self,
        key_type: KeyTypeId,
        public: &sr25519::Public,
        header: &[u8],
    ) -> Result<ProtectedSignature<sr25519::Signature>, SignerError> {
        self.sign_typed(
            "signer_signBabeHeader",
            key_type,
            public.as_ref(),
            "header",
            header,
        )
    }

    fn sign_beefy_commitment(
        &self,
        key_type: KeyTypeId,
        public: &ecdsa::Public,
        commitment: &[u8],
    ) -> Result<ProtectedSignature<ecdsa::Signature>, SignerError> {
        self.sign_typed(
            "signer_signBeefyCommitment",
            key_type,
            public.as_ref(),
            "commitment",
            commitment,
        )
    }

    fn sign_para_statement(
        &self,
        key_type: KeyTypeId,
        public: &sr25519::Public,
        payload: &[u8],
    ) -> Result<ProtectedSignature<sr25519::Signature>, SignerError> {
        self.sign_typed(
            "signer_signParaStatement",
            key_type,
            public.as_ref(),
            "payload",
            payload,
        )
    }
}
