//! The adapter checked with Substrate's and Polkadot's own crates.
//!
//! Every test drives a real `tee-signer serve` (soft TEE) through an
//! `Arc<dyn Keystore>`, exactly as a node holds its keystore, using the
//! signing helpers the node's subsystems use, and verifies the results with
//! the checks those crates apply to other validators' messages. Where a test
//! says "drop-in", the same calls go to `sc_keystore::LocalKeystore` with the
//! same (development) key and must come out the same.

mod common;

use codec::{Decode, Encode};
use common::Signer;
use polkadot_primitives::{
    ApprovalVote, CandidateHash, CompactStatement, DisputeStatement, ExplicitDisputeStatement,
    InvalidDisputeStatementKind, Signed, SigningContext, ValidDisputeStatementKind, ValidatorId,
    ValidatorIndex, ValidatorSignature, ASSIGNMENT_KEY_TYPE_ID, PARACHAIN_KEY_TYPE_ID,
};
use sc_keystore::LocalKeystore;
use sp_application_crypto::{AppCrypto, RuntimeAppPublic, Wraps};
use sp_consensus_babe::{
    digests::{CompatibleDigestItem, PreDigest, PrimaryPreDigest},
    make_vrf_sign_data, make_vrf_transcript, AuthorityId as BabeId, AuthorityPair as BabePair,
    Slot,
};
use sp_consensus_beefy::{
    check_commitment_signature, ecdsa_crypto::AuthorityId as BeefyId, known_payloads, Commitment,
    Payload,
};
use sp_consensus_grandpa::{
    check_message_signature, sign_message, AuthorityId as GrandpaId, Message,
};
use sp_core::{
    crypto::{ByteArray, KeyTypeId, Pair as _, VrfPublic},
    ecdsa, ed25519, sr25519, H256,
};
use sp_io::hashing::keccak_256;
use sp_keystore::{Keystore, KeystorePtr};
use sp_runtime::{
    generic::{Digest, DigestItem, Header},
    traits::{BlakeTwo256, Header as _, OpaqueKeys},
};
use std::sync::Arc;
use tee_signer_keystore::{ProtectedSigning, SignerError, TeeSignerKeystore};

const GRANDPA: KeyTypeId = sp_core::crypto::key_types::GRANDPA;
const BABE: KeyTypeId = sp_core::crypto::key_types::BABE;
const BEEFY: KeyTypeId = sp_core::crypto::key_types::BEEFY;
const AUDI: KeyTypeId = sp_core::crypto::key_types::AUTHORITY_DISCOVERY;

/// sc-consensus-babe's authoring score (its private AUTHORING_SCORE_VRF_CONTEXT
/// and AUTHORING_SCORE_LENGTH, lib.rs).
const AUTHORING_SCORE_VRF_CONTEXT: &[u8] = b"substrate-babe-vrf";
/// sc-consensus-babe's primary threshold for one authority holding all the
/// weight with c = 1/4: 2^128 * (1 - (1 - c)^1).
const THRESHOLD_C_QUARTER: u128 = u128::MAX / 4;

fn as_ptr(ks: &Arc<TeeSignerKeystore>) -> KeystorePtr {
    ks.clone()
}

fn local() -> KeystorePtr {
    Arc::new(LocalKeystore::in_memory())
}

type GrandpaHeader = Header<u32, BlakeTwo256>;

fn prevote(target: u8, number: u32) -> Message<GrandpaHeader> {
    finality_grandpa::Message::Prevote(finality_grandpa::Prevote {
        target_hash: H256::repeat_byte(target),
        target_number: number,
    })
}

fn precommit(target: u8, number: u32) -> Message<GrandpaHeader> {
    finality_grandpa::Message::Precommit(finality_grandpa::Precommit {
        target_hash: H256::repeat_byte(target),
        target_number: number,
    })
}

/// A GRANDPA voter's round through `sp_consensus_grandpa::sign_message`:
/// returns which of the four votes got a signature that verifies.
fn grandpa_round(ks: &KeystorePtr, id: &GrandpaId, round: u64, set_id: u64) -> [bool; 4] {
    let mut out = [false; 4];
    let votes = [
        prevote(1, 10),
        prevote(2, 11),
        precommit(1, 10),
        precommit(2, 11),
    ];
    for (i, vote) in votes.into_iter().enumerate() {
        if let Some(signed) = sign_message(ks.clone(), vote, id.clone(), round, set_id) {
            let result =
                check_message_signature(&signed.message, id, &signed.signature, round, set_id);
            assert!(result.is_valid(), "vote {i} signed but does not verify");
            out[i] = true;
        }
    }
    out
}

#[test]
fn grandpa_votes_verify_and_a_conflicting_vote_in_the_round_gets_no_signature() {
    let signer = Signer::unix();
    let tee = signer.keystore();
    let ks = as_ptr(&tee);
    let id = GrandpaId::from(ks.ed25519_generate_new(GRANDPA, None).unwrap());

    // Prevote for block 1, a conflicting prevote (refused), precommit, a
    // conflicting precommit (refused).
    assert_eq!(grandpa_round(&ks, &id, 5, 1), [true, false, true, false]);
    // The same votes again: identical re-signing is fine, conflicts still refused.
    assert_eq!(grandpa_round(&ks, &id, 5, 1), [true, false, true, false]);
    // The next round and another set are new positions.
    assert_eq!(grandpa_round(&ks, &id, 6, 1), [true, false, true, false]);

    // The refusal is an error, never Ok(None) (which would read "not my key").
    let conflicting = sp_consensus_grandpa::localized_payload(5, 1, &prevote(3, 12));
    match ks.ed25519_sign(GRANDPA, id.as_ref(), &conflicting) {
        Err(sp_keystore::Error::Other(why)) => assert!(why.contains("grandpa_prevote"), "{why}"),
        other => panic!("conflicting prevote: {other:?}"),
    }
    // Verification is not vacuous: a signature for round 5 fails for round 7.
    let signed = sign_message(ks.clone(), prevote(1, 10), id.clone(), 5, 1).unwrap();
    assert!(!check_message_signature(&signed.message, &id, &signed.signature, 7, 1).is_valid());
    // The typed path refuses the same conflict with the details.
    match tee.sign_grandpa_vote(GRANDPA, id.as_ref(), &conflicting) {
        Err(SignerError::Refused {
            reason: Some(reason),
            ..
        }) => assert_eq!(reason, "grandpa_prevote_equivocation"),
        other => panic!("typed conflicting prevote: {other:?}"),
    }
}

#[test]
fn grandpa_drop_in_for_the_local_keystore() {
    let signer = Signer::dev();
    let tee = as_ptr(&signer.keystore());
    let local = local();
    let a = tee.ed25519_generate_new(GRANDPA, Some("//Alice")).unwrap();
    let b = local
        .ed25519_generate_new(GRANDPA, Some("//Alice"))
        .unwrap();
    assert_eq!(a, b, "the same development key in both");
    assert_eq!(
        a,
        ed25519::Pair::from_string("//Alice", None)
            .unwrap()
            .public()
    );
    let id = GrandpaId::from(a);
    let from_tee = sign_message(tee.clone(), prevote(7, 70), id.clone(), 9, 2).unwrap();
    let from_local = sign_message(local.clone(), prevote(7, 70), id.clone(), 9, 2).unwrap();
    // ed25519 is deterministic: the TEE's signature is the local keystore's.
    assert_eq!(from_tee.signature, from_local.signature);
    // The local keystore would sign the equivocation; the signer does not.
    assert_eq!(grandpa_round(&local, &id, 20, 2), [true, true, true, true]);
    assert_eq!(grandpa_round(&tee, &id, 20, 2), [true, false, true, false]);
}

fn babe_slot_claims(ks: &KeystorePtr, public: &sr25519::Public) -> Vec<(u128, bool)> {
    let randomness = [0x5a; 32];
    let epoch = 3;
    (100u64..164)
        .map(|slot| {
            let data = make_vrf_sign_data(&randomness, Slot::from(slot), epoch);
            let signature = ks
                .sr25519_vrf_sign(BABE, public, &data)
                .unwrap()
                .expect("our key");
            assert!(
                public.vrf_verify(&data, &signature),
                "slot {slot}: VRF does not verify"
            );
            // vrf_pre_output over the same input agrees.
            let input = make_vrf_transcript(&randomness, Slot::from(slot), epoch);
            let pre_output = ks
                .sr25519_vrf_pre_output(BABE, public, &input)
                .unwrap()
                .unwrap();
            assert_eq!(pre_output, signature.pre_output);
            let score = u128::from_le_bytes(
                public
                    .make_bytes::<16>(
                        AUTHORING_SCORE_VRF_CONTEXT,
                        data.as_ref(),
                        &signature.pre_output,
                    )
                    .unwrap(),
            );
            (score, score < THRESHOLD_C_QUARTER)
        })
        .collect()
}

#[test]
fn babe_slot_claims_verify_and_win_the_same_slots_as_a_local_keystore() {
    let signer = Signer::dev();
    let tee = as_ptr(&signer.keystore());
    let local = local();
    let public = tee.sr25519_generate_new(BABE, Some("//Alice")).unwrap();
    assert_eq!(
        public,
        local.sr25519_generate_new(BABE, Some("//Alice")).unwrap()
    );
    let remote = babe_slot_claims(&tee, &public);
    let here = babe_slot_claims(&local, &public);
    // The VRF output is a function of the key and input: same scores, same
    // primary-slot decisions.
    assert_eq!(remote, here);
    let won = remote.iter().filter(|(_, won)| *won).count();
    assert!(
        won > 0 && won < remote.len(),
        "threshold decides both ways ({won} of 64)"
    );

    // A VRF under another key does not verify for this one.
    let other = tee.sr25519_generate_new(BABE, None).unwrap();
    let data = make_vrf_sign_data(&[1; 32], Slot::from(5), 0);
    let signature = tee.sr25519_vrf_sign(BABE, &other, &data).unwrap().unwrap();
    assert!(other.vrf_verify(&data, &signature));
    assert!(!public.vrf_verify(&data, &signature));
}

#[test]
fn babe_vrf_with_another_extra_transcript_is_refused_not_mis_signed() {
    let signer = Signer::unix();
    let ks = as_ptr(&signer.keystore());
    let public = ks
        .sr25519_generate_new(ASSIGNMENT_KEY_TYPE_ID, None)
        .unwrap();
    let data = sr25519::vrf::VrfTranscript::new(b"label", &[(b"domain", b"data")])
        .into_sign_data()
        .with_extra(sr25519::vrf::VrfTranscript::new(b"extra", &[(b"x", b"y")]));
    assert!(ks
        .sr25519_vrf_sign(ASSIGNMENT_KEY_TYPE_ID, &public, &data)
        .is_err());
}

/// Polkadot's approval-voting contexts (polkadot-node-primitives,
/// `approval::v2`), which this crate does not depend on.
const RELAY_VRF_MODULO_CONTEXT_V2: &[u8] = b"A&V MOD v2";
const CORE_RANDOMNESS_CONTEXT_V2: &[u8] = b"A&V CORE v2";
const ASSIGNED_CORE_CONTEXT_V2: &[u8] = b"A&V ASSIGNED v2";

/// A `CoreBitfield` as SCALE encodes it (`BitVec<u8, Lsb0>`: the length in
/// bits as a compact integer, then the bytes).
fn core_bitfield(cores: &[u32]) -> Vec<u8> {
    let bits = cores.iter().max().map_or(0, |m| m + 1);
    let mut bytes = vec![0u8; bits.div_ceil(8) as usize];
    for core in cores {
        bytes[(core / 8) as usize] |= 1 << (core % 8);
    }
    let mut encoded = codec::Compact(bits).encode();
    encoded.extend(bytes);
    encoded
}

/// The cores a RelayVRFModuloCompact assignment draws (approval voting's
/// `relay_vrf_modulo_cores`): `samples` little-endian u32s modulo `n_cores`
/// from the 160 bytes the VRF output gives for CORE_RANDOMNESS_CONTEXT_V2,
/// without repeats, in drawing order.
fn relay_vrf_modulo_cores(
    public: &sr25519::Public,
    input: &sr25519::vrf::VrfInput,
    pre_output: &sr25519::vrf::VrfPreOutput,
    samples: usize,
    n_cores: u32,
) -> Vec<u32> {
    struct Randomness([u8; 160]);
    impl Default for Randomness {
        fn default() -> Self {
            Randomness([0; 160])
        }
    }
    impl AsMut<[u8]> for Randomness {
        fn as_mut(&mut self) -> &mut [u8] {
            &mut self.0
        }
    }
    let key = schnorrkel::PublicKey::from_bytes(public.as_ref()).unwrap();
    let in_out = pre_output
        .0
        .attach_input_hash(&key, input.0.clone())
        .unwrap();
    let randomness: Randomness = in_out.make_bytes(CORE_RANDOMNESS_CONTEXT_V2);
    let mut cores = Vec::new();
    for sample in randomness.0.chunks_exact(4).take(samples) {
        let core = u32::from_le_bytes(sample.try_into().unwrap()) % n_cores;
        if !cores.contains(&core) {
            cores.push(core);
        }
    }
    cores
}

/// Polkadot's RelayVRFModuloCompact assignment (approval-voting's criteria.rs,
/// `vrf_sign_extra_after_check` split in two): the VRF output over the relay
/// VRF story picks cores; the certificate's proof also signs the claimed cores.
#[test]
fn approval_assignment_certificates_sign_the_claimed_cores_and_verify() {
    let signer = Signer::dev();
    let tee = signer.keystore();
    let ks = as_ptr(&tee);
    let local = local();
    let public = ks
        .sr25519_generate_new(ASSIGNMENT_KEY_TYPE_ID, Some("//Alice"))
        .unwrap();
    local
        .sr25519_generate_new(ASSIGNMENT_KEY_TYPE_ID, Some("//Alice"))
        .unwrap();
    let (n_cores, samples) = (7u32, 6usize);
    let mut certificates = 0;
    for story_byte in 0..16u8 {
        let story = [story_byte; 32];
        let input =
            sr25519::vrf::VrfTranscript::new(RELAY_VRF_MODULO_CONTEXT_V2, &[(b"RC-VRF", &story)]);
        let pre_output = ks
            .sr25519_vrf_pre_output(ASSIGNMENT_KEY_TYPE_ID, &public, &input)
            .unwrap()
            .unwrap();
        // The same output as a local keystore: the same cores are drawn.
        assert_eq!(
            pre_output,
            local
                .sr25519_vrf_pre_output(ASSIGNMENT_KEY_TYPE_ID, &public, &input)
                .unwrap()
                .unwrap()
        );
        let mut cores = relay_vrf_modulo_cores(&public, &input, &pre_output, samples, n_cores);
        // Only cores with a candidate leaving them count: say the even ones.
        cores.retain(|core| core % 2 == 0);
        if cores.is_empty() {
            continue;
        }
        let claimed = core_bitfield(&cores);
        let signature = tee
            .sr25519_vrf_sign_extra(
                ASSIGNMENT_KEY_TYPE_ID,
                &public,
                &input,
                ASSIGNED_CORE_CONTEXT_V2,
                &[(b"cores", &claimed)],
            )
            .unwrap()
            .unwrap();
        assert_eq!(signature.pre_output, pre_output);
        let with_cores = |bitfield: &[u8]| {
            sr25519::vrf::VrfSignData::new(input.clone()).with_extra(
                sr25519::vrf::VrfTranscript::new(ASSIGNED_CORE_CONTEXT_V2, &[(b"cores", bitfield)]),
            )
        };
        assert!(public.vrf_verify(&with_cores(&claimed), &signature));
        // And as approval voting checks another validator's certificate:
        // schnorrkel's vrf_verify_extra with the same two transcripts.
        let key = schnorrkel::PublicKey::from_bytes(public.as_ref()).unwrap();
        let (in_out, _) = key
            .vrf_verify_extra(
                input.0.clone(),
                &signature.pre_output.0,
                &signature.proof.0,
                sr25519::vrf::VrfTranscript::new(ASSIGNED_CORE_CONTEXT_V2, &[(b"cores", &claimed)])
                    .0,
            )
            .unwrap();
        assert_eq!(in_out.to_preout(), pre_output.0);
        // The proof binds the claim: one more core, or no extra, fails.
        let more = core_bitfield(&[cores.clone(), vec![n_cores]].concat());
        assert!(!public.vrf_verify(&with_cores(&more), &signature));
        assert!(!public.vrf_verify(&input.clone().into_sign_data(), &signature));
        certificates += 1;
    }
    assert!(certificates > 0, "no story gave a claimable core");

    // A key the signer does not hold: Ok(None), as the trait's methods answer.
    let input =
        sr25519::vrf::VrfTranscript::new(RELAY_VRF_MODULO_CONTEXT_V2, &[(b"RC-VRF", &[0; 32])]);
    let unknown = sr25519::Pair::generate().0.public();
    assert!(tee
        .sr25519_vrf_sign_extra(
            ASSIGNMENT_KEY_TYPE_ID,
            &unknown,
            &input,
            ASSIGNED_CORE_CONTEXT_V2,
            &[(b"cores", &core_bitfield(&[0]))],
        )
        .unwrap()
        .is_none());
}

fn babe_header(parent: u8, slot: u64, vrf: sr25519::vrf::VrfSignature) -> GrandpaHeader {
    let pre_digest = PreDigest::Primary(PrimaryPreDigest {
        authority_index: 0,
        slot: Slot::from(slot),
        vrf_signature: vrf,
    });
    GrandpaHeader::new(
        42,
        H256::repeat_byte(0xee),
        H256::repeat_byte(0xdd),
        H256::repeat_byte(parent),
        Digest {
            logs: vec![DigestItem::babe_pre_digest(pre_digest)],
        },
    )
}

/// What sc-consensus-babe's `check_header` and `check_primary_header` do to an
/// imported header: pop the seal (it must be the last digest), hash the rest,
/// verify the seal by the slot's author, verify the pre-digest's VRF.
fn import_check(
    mut header: GrandpaHeader,
    author: &BabeId,
    randomness: &[u8; 32],
    epoch: u64,
) -> bool {
    let Some(seal) = header.digest_mut().pop() else {
        return false;
    };
    let Some(signature) = seal.as_babe_seal() else {
        return false;
    };
    let pre_hash = header.hash();
    if !BabePair::verify(&signature, pre_hash, author) {
        return false;
    }
    let Some(PreDigest::Primary(primary)) = header
        .digest()
        .logs()
        .iter()
        .find_map(|item| item.as_babe_pre_digest())
    else {
        return false;
    };
    let data = make_vrf_sign_data(randomness, primary.slot, epoch);
    author
        .as_inner_ref()
        .vrf_verify(&data, &primary.vrf_signature)
}

#[test]
fn babe_header_sealed_through_the_typed_path_imports_and_a_second_header_in_the_slot_is_refused() {
    let signer = Signer::unix();
    let tee = signer.keystore();
    let ks = as_ptr(&tee);
    let public = ks.sr25519_generate_new(BABE, None).unwrap();
    let author = BabeId::from(public);
    let randomness = [7u8; 32];
    let slot = 1_000;
    let vrf = ks
        .sr25519_vrf_sign(
            BABE,
            &public,
            &make_vrf_sign_data(&randomness, Slot::from(slot), 2),
        )
        .unwrap()
        .unwrap();

    let mut header = babe_header(1, slot, vrf.clone());
    let sealed = tee
        .sign_babe_header(BABE, &public, &header.encode())
        .unwrap();
    assert_eq!(
        sealed.payload_hash,
        header.hash().0,
        "the seal covers the pre-hash"
    );
    header
        .digest_mut()
        .push(DigestItem::babe_seal(sealed.signature.into()));
    assert!(import_check(header.clone(), &author, &randomness, 2));
    // The check is not vacuous: another epoch's VRF input fails.
    assert!(!import_check(header, &author, &randomness, 3));

    // A second, different header for the same slot: equivocation, refused.
    let fork = babe_header(2, slot, vrf.clone());
    match tee.sign_babe_header(BABE, &public, &fork.encode()) {
        Err(SignerError::Refused {
            reason: Some(reason),
            ..
        }) => assert_eq!(reason, "babe_equivocation"),
        other => panic!("second header in slot {slot}: {other:?}"),
    }
    // The same header again is fine (a retry after a lost answer).
    let again = tee.sign_babe_header(BABE, &public, &babe_header(1, slot, vrf.clone()).encode());
    assert!(again.is_ok(), "{again:?}");

    // The stock path carries only the 32-byte pre-hash: refused by default.
    match ks.sr25519_sign(BABE, &public, fork.hash().as_ref()) {
        Err(sp_keystore::Error::Other(why)) => assert!(why.contains("opaque_refused"), "{why}"),
        other => panic!("opaque BABE pre-hash: {other:?}"),
    }
}

fn beefy_commitment(block: u32, root: u8) -> Commitment<u32> {
    Commitment {
        payload: Payload::from_single_entry(known_payloads::MMR_ROOT_ID, vec![root; 32].encode()),
        block_number: block,
        validator_set_id: 4,
    }
}

#[test]
fn beefy_commitments_verify_and_a_conflicting_commitment_is_refused() {
    let signer = Signer::dev();
    let tee = signer.keystore();
    let ks = as_ptr(&tee);
    let public = ks.ecdsa_generate_new(BEEFY, Some("//Alice")).unwrap();
    let id = BeefyId::from(public);
    let commitment = beefy_commitment(100, 1);
    let signed = tee
        .sign_beefy_commitment(BEEFY, &public, &commitment.encode())
        .unwrap();
    assert_eq!(signed.payload_hash, keccak_256(&commitment.encode()));
    assert!(check_commitment_signature(
        &commitment,
        &id,
        &signed.signature.into()
    ));
    assert!(!check_commitment_signature(
        &beefy_commitment(101, 1),
        &id,
        &signed.signature.into()
    ));

    // Drop-in: a local keystore with the same key signs the same prehash to
    // the same bytes (RFC 6979 nonces).
    let local = local();
    local.ecdsa_generate_new(BEEFY, Some("//Alice")).unwrap();
    let prehash = keccak_256(&commitment.encode());
    let here = local
        .ecdsa_sign_prehashed(BEEFY, &public, &prehash)
        .unwrap()
        .unwrap();
    assert_eq!(here, signed.signature);

    // Another payload for block 100 in set 4: refused.
    match tee.sign_beefy_commitment(BEEFY, &public, &beefy_commitment(100, 2).encode()) {
        Err(SignerError::Refused {
            reason: Some(reason),
            ..
        }) => assert_eq!(reason, "beefy_equivocation"),
        other => panic!("conflicting commitment: {other:?}"),
    }
    // The stock path (BEEFY's keystore signs the keccak prehash) is opaque: refused.
    assert!(ks.ecdsa_sign_prehashed(BEEFY, &public, &prehash).is_err());
    assert!(ks
        .ecdsa_sign_prehashed(
            BEEFY,
            &public,
            &keccak_256(&beefy_commitment(100, 2).encode())
        )
        .is_err());
}

fn candidate(n: u8) -> CandidateHash {
    CandidateHash(H256::repeat_byte(n))
}

/// A validator's parachain duties through the stock keystore calls; returns
/// whether each was signed (and verified with polkadot-primitives' checks).
fn para_duties(ks: &KeystorePtr, public: &sr25519::Public, session: u32) -> [bool; 5] {
    let id = ValidatorId::from(*public);
    let context = SigningContext {
        session_index: session,
        parent_hash: H256::repeat_byte(9),
    };
    let mut out = [false; 5];
    // 0: seconded, 1: valid (backing statements, polkadot_primitives::Signed).
    for (i, statement) in [
        CompactStatement::Seconded(candidate(1)),
        CompactStatement::Valid(candidate(1)),
    ]
    .into_iter()
    .enumerate()
    {
        let signed: Option<Signed<CompactStatement>> =
            Signed::sign(ks, statement, &context, ValidatorIndex(3), &id)
                .ok()
                .flatten();
        if let Some(signed) = signed {
            assert!(signed
                .clone()
                .into_unchecked()
                .check_signature(&context, &id)
                .is_ok());
            out[i] = true;
        }
    }
    // 2: approval vote, checked as the dispute statement it becomes on chain.
    let approval = ApprovalVote(candidate(1)).signing_payload(session);
    if let Ok(Some(sig)) = ks.sr25519_sign(PARACHAIN_KEY_TYPE_ID, public, &approval) {
        let sig = ValidatorSignature::from(sig);
        assert!(
            DisputeStatement::Valid(ValidDisputeStatementKind::ApprovalChecking)
                .check_signature(&id, candidate(1), session, &sig)
                .is_ok()
        );
        out[2] = true;
    }
    // 3: explicit dispute statement "valid", 4: "invalid" for the same candidate.
    for (i, valid) in [(3, true), (4, false)] {
        let payload = ExplicitDisputeStatement {
            valid,
            candidate_hash: candidate(1),
            session,
        }
        .signing_payload();
        if let Ok(Some(sig)) = ks.sr25519_sign(PARACHAIN_KEY_TYPE_ID, public, &payload) {
            let kind = if valid {
                DisputeStatement::Valid(ValidDisputeStatementKind::Explicit)
            } else {
                DisputeStatement::Invalid(InvalidDisputeStatementKind::Explicit)
            };
            let sig = ValidatorSignature::from(sig);
            assert!(kind
                .check_signature(&id, candidate(1), session, &sig)
                .is_ok());
            // Not vacuous: the signature does not stand for another candidate.
            assert!(kind
                .check_signature(&id, candidate(2), session, &sig)
                .is_err());
            out[i] = true;
        }
    }
    out
}

#[test]
fn parachain_statements_verify_and_valid_then_invalid_is_refused() {
    let signer = Signer::dev();
    let tee = signer.keystore();
    let ks = as_ptr(&tee);
    let public = ks
        .sr25519_generate_new(PARACHAIN_KEY_TYPE_ID, Some("//Alice"))
        .unwrap();
    // Everything for "valid", then "invalid" for the same candidate: refused.
    assert_eq!(
        para_duties(&ks, &public, 7),
        [true, true, true, true, false]
    );
    // A local keystore signs all five: the protection is the signer's.
    let local = local();
    local
        .sr25519_generate_new(PARACHAIN_KEY_TYPE_ID, Some("//Alice"))
        .unwrap();
    assert_eq!(para_duties(&local, &public, 7), [true; 5]);

    // The other order on a fresh candidate: invalid first, then backing it is refused.
    let context = SigningContext {
        session_index: 7,
        parent_hash: H256::repeat_byte(9),
    };
    let invalid = ExplicitDisputeStatement {
        valid: false,
        candidate_hash: candidate(5),
        session: 7,
    }
    .signing_payload();
    assert!(tee
        .sign_para_statement(PARACHAIN_KEY_TYPE_ID, &public, &invalid)
        .is_ok());
    let backing = CompactStatement::Valid(candidate(5)).signing_payload(&context);
    match tee.sign_para_statement(PARACHAIN_KEY_TYPE_ID, &public, &backing) {
        Err(SignerError::Refused {
            reason: Some(reason),
            ..
        }) => assert_eq!(reason, "para_valid_invalid"),
        other => panic!("valid after invalid: {other:?}"),
    }
    assert!(ks
        .sr25519_sign(PARACHAIN_KEY_TYPE_ID, &public, &backing)
        .is_err());
}

sp_runtime::impl_opaque_keys! {
    /// The relay chain's session keys (Polkadot and Kusama runtimes), in order.
    pub struct RelayChainSessionKeys {
        pub grandpa: sp_consensus_grandpa::AuthorityId,
        pub babe: sp_consensus_babe::AuthorityId,
        pub para_validator: polkadot_primitives::ValidatorId,
        pub para_assignment: polkadot_primitives::AssignmentId,
        pub authority_discovery: sp_authority_discovery::AuthorityId,
        pub beefy: sp_consensus_beefy::ecdsa_crypto::AuthorityId,
    }
}

fn assert_held(ks: &KeystorePtr, keys: &RelayChainSessionKeys) {
    let raw = keys.clone().into_raw_public_keys();
    assert_eq!(raw.len(), 6);
    assert!(
        ks.has_keys(&raw),
        "the signer holds every key under its own key type"
    );
    for (public, key_type) in &raw {
        assert!(ks.keys(*key_type).unwrap().contains(public));
    }
    // has_keys is not vacuous: a key under the wrong type is not held.
    let (grandpa, _) = raw[0].clone();
    assert!(!ks.has_keys(&[(grandpa, BABE)]));
}

#[test]
fn rotate_keys_gives_the_relay_chains_session_keys_and_has_keys_agrees() {
    let signer = Signer::unix();
    let tee = signer.keystore();
    let ks = as_ptr(&tee);

    // The signer's own author_rotateKeys.
    let blob = tee.rotate_keys().unwrap();
    let keys = RelayChainSessionKeys::decode(&mut &blob[..]).unwrap();
    assert_eq!(keys.encode(), blob, "exactly the six keys, nothing after");
    assert_held(&ks, &keys);

    // The node's author_rotateKeys: the runtime's SessionKeys::generate under
    // the keystore extension, which calls *_generate_new key by key and then
    // signs the owner's proof of possession with each new key.
    let owner = [0x42u8; 32];
    let mut ext = sp_io::TestExternalities::default();
    ext.register_extension(sp_keystore::KeystoreExt::new(ks.clone()));
    let generated = ext.execute_with(|| RelayChainSessionKeys::generate(&owner, None));
    let keys2 = generated.keys;
    assert_held(&ks, &keys2);
    assert_ne!(keys2.encode(), blob, "fresh keys");
    // The proof verifies as the runtime's session pallet checks it, and only
    // for its owner.
    let proof = generated.proof.encode();
    assert!(keys2.ownership_proof_is_valid(&owner, &proof));
    assert!(!keys2.ownership_proof_is_valid(&[0x43u8; 32], &proof));
    assert_eq!(
        ks.sr25519_public_keys(AUDI).len(),
        2,
        "one authority-discovery key per rotation"
    );
}

#[test]
fn unknown_keys_insert_and_seeds_map_as_the_keystore_trait_promises() {
    let signer = Signer::unix();
    let ks = as_ptr(&signer.keystore());
    let unknown_sr = sr25519::Public::from_raw([3; 32]);
    let unknown_ed = ed25519::Public::from_raw([3; 32]);
    let unknown_ec = ecdsa::Public::from_raw([2; 33]);
    let para_payload = b"an opaque message for an unknown key";
    assert_eq!(
        ks.sr25519_sign(AUDI, &unknown_sr, para_payload).unwrap(),
        None
    );
    assert_eq!(
        ks.ed25519_sign(
            GRANDPA,
            &unknown_ed,
            &sp_consensus_grandpa::localized_payload(1, 1, &prevote(1, 1))
        )
        .unwrap(),
        None
    );
    assert_eq!(
        ks.ecdsa_sign(KeyTypeId(*b"test"), &unknown_ec, para_payload)
            .unwrap(),
        None
    );
    assert_eq!(
        ks.ecdsa_sign_prehashed(KeyTypeId(*b"test"), &unknown_ec, &[0; 32])
            .unwrap(),
        None
    );
    let data = make_vrf_sign_data(&[0; 32], Slot::from(1), 1);
    assert_eq!(ks.sr25519_vrf_sign(BABE, &unknown_sr, &data).unwrap(), None);
    assert_eq!(
        ks.sign_with(AUDI, sr25519::CRYPTO_ID, unknown_sr.as_ref(), para_payload)
            .unwrap(),
        None
    );
    assert!(!ks.has_keys(&[(unknown_sr.to_raw_vec(), AUDI)]));
    assert!(ks.has_keys(&[]));

    // Keys are never imported: insert refuses, and a seed is refused by a
    // release signer.
    let public = sr25519::Pair::from_string("//Alice", None)
        .unwrap()
        .public();
    assert_eq!(ks.insert(AUDI, "//Alice", public.as_ref()), Err(()));
    assert!(ks.sr25519_generate_new(AUDI, Some("//Alice")).is_err());
    assert!(ks.sr25519_public_keys(AUDI).is_empty());
}

#[test]
fn sign_with_uses_the_scheme_of_its_crypto_id() {
    let signer = Signer::unix();
    let ks = as_ptr(&signer.keystore());
    let kt = KeyTypeId(*b"test"); // opaque signing allowed for unlisted key types
    let msg = b"sign_with";
    let sr = ks.sr25519_generate_new(kt, None).unwrap();
    let ed = ks.ed25519_generate_new(kt, None).unwrap();
    let ec = ks.ecdsa_generate_new(kt, None).unwrap();

    let sig = ks
        .sign_with(kt, sr25519::CRYPTO_ID, sr.as_ref(), msg)
        .unwrap()
        .unwrap();
    let sig = sr25519::Signature::decode(&mut &sig[..]).unwrap();
    assert!(sr25519::Pair::verify(&sig, msg, &sr));
    let sig = ks
        .sign_with(kt, ed25519::CRYPTO_ID, ed.as_ref(), msg)
        .unwrap()
        .unwrap();
    assert!(ed25519::Pair::verify(
        &ed25519::Signature::decode(&mut &sig[..]).unwrap(),
        msg,
        &ed
    ));
    let sig = ks
        .sign_with(kt, ecdsa::CRYPTO_ID, ec.as_ref(), msg)
        .unwrap()
        .unwrap();
    assert!(ecdsa::Pair::verify(
        &ecdsa::Signature::decode(&mut &sig[..]).unwrap(),
        msg,
        &ec
    ));
    // The ed25519 key's bytes under the sr25519 crypto id: not that key.
    assert_eq!(
        ks.sign_with(kt, sr25519::CRYPTO_ID, ed.as_ref(), msg)
            .unwrap(),
        None
    );
    // Unknown crypto ids and malformed keys are errors.
    assert!(ks
        .sign_with(
            kt,
            sp_core::crypto::CryptoTypeId(*b"bls8"),
            sr.as_ref(),
            msg
        )
        .is_err());
    assert!(ks
        .sign_with(kt, ecdsa::CRYPTO_ID, sr.as_ref(), msg)
        .is_err());

    // The typed helpers' results match what sp-core verifies, via app types.
    let audi = ks.sr25519_generate_new(AUDI, None).unwrap();
    let record = b"authority discovery record";
    let sig = ks.sr25519_sign(AUDI, &audi, record).unwrap().unwrap();
    let app_public = sp_authority_discovery::AuthorityId::from(audi);
    assert!(app_public.verify(&record, &sig.into()));
    let _ = <sp_authority_discovery::AuthorityId as AppCrypto>::ID;
}
