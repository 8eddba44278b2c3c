//! Each validator duty's round trip through the adapter (Unix socket, soft
//! TEE, SQLite protection database: the signer's defaults) against
//! `sc_keystore::LocalKeystore` in the same run.
//!
//!   cargo bench -p tee-signer-keystore --bench round_trip
//!
//! Needs the signer built (see tests/common/mod.rs). Protected duties sign a
//! new position every iteration (next round, slot, block, candidate), as a
//! validator does; a refusal aborts the benchmark.

#[path = "../tests/common/mod.rs"]
mod common;

use codec::Encode;
use criterion::{criterion_group, criterion_main, Criterion};
use polkadot_primitives::{CandidateHash, CompactStatement, SigningContext, PARACHAIN_KEY_TYPE_ID};
use sc_keystore::LocalKeystore;
use sp_consensus_babe::{
    digests::{CompatibleDigestItem, PreDigest, SecondaryPlainPreDigest},
    make_vrf_sign_data, Slot,
};
use sp_consensus_beefy::{known_payloads, Commitment, Payload};
use sp_core::{crypto::key_types, H256};
use sp_io::hashing::keccak_256;
use sp_keystore::{Keystore, KeystorePtr};
use sp_runtime::{
    generic::{Digest, DigestItem, Header},
    traits::{BlakeTwo256, Header as _},
};
use std::sync::Arc;
use tee_signer_keystore::{ProtectedSigning, TeeSignerKeystore};

fn header(slot: u64) -> Header<u32, BlakeTwo256> {
    let pre = PreDigest::SecondaryPlain(SecondaryPlainPreDigest {
        authority_index: 0,
        slot: Slot::from(slot),
    });
    Header::new(
        1,
        H256::zero(),
        H256::zero(),
        H256::repeat_byte(1),
        Digest {
            logs: vec![DigestItem::babe_pre_digest(pre)],
        },
    )
}

fn commitment(block: u32) -> Vec<u8> {
    Commitment {
        payload: Payload::from_single_entry(known_payloads::MMR_ROOT_ID, vec![7u8; 32].encode()),
        block_number: block,
        validator_set_id: 1,
    }
    .encode()
}

fn duties(c: &mut Criterion, name: &str, ks: KeystorePtr, typed: Option<Arc<TeeSignerKeystore>>) {
    let mut group = c.benchmark_group(name);
    let gran = ks.ed25519_generate_new(key_types::GRANDPA, None).unwrap();
    let babe = ks.sr25519_generate_new(key_types::BABE, None).unwrap();
    let para = ks
        .sr25519_generate_new(PARACHAIN_KEY_TYPE_ID, None)
        .unwrap();
    let audi = ks
        .sr25519_generate_new(key_types::AUTHORITY_DISCOVERY, None)
        .unwrap();
    let beef = ks.ecdsa_generate_new(key_types::BEEFY, None).unwrap();

    let mut round = 0u64;
    group.bench_function("grandpa_prevote", |b| {
        b.iter(|| {
            round += 1;
            let vote = finality_grandpa::Message::Prevote(finality_grandpa::Prevote {
                target_hash: H256::repeat_byte(1),
                target_number: round as u32,
            });
            sp_consensus_grandpa::sign_message::<H256, u32>(ks.clone(), vote, gran.into(), round, 1)
                .expect("signed")
        })
    });
    let mut n = 0u64;
    group.bench_function("para_backing_statement", |b| {
        b.iter(|| {
            n += 1;
            let context = SigningContext {
                session_index: (n / 100) as u32,
                parent_hash: H256::zero(),
            };
            let mut hash = [0u8; 32];
            hash[..8].copy_from_slice(&n.to_le_bytes());
            let payload =
                CompactStatement::Seconded(CandidateHash(H256(hash))).signing_payload(&context);
            ks.sr25519_sign(PARACHAIN_KEY_TYPE_ID, &para, &payload)
                .unwrap()
                .expect("signed")
        })
    });
    let mut slot = 0u64;
    group.bench_function("babe_slot_claim_vrf", |b| {
        b.iter(|| {
            slot += 1;
            let data = make_vrf_sign_data(&[3; 32], Slot::from(slot), 1);
            ks.sr25519_vrf_sign(key_types::BABE, &babe, &data)
                .unwrap()
                .expect("signed")
        })
    });
    group.bench_function("authority_discovery_record", |b| {
        b.iter(|| {
            ks.sr25519_sign(key_types::AUTHORITY_DISCOVERY, &audi, b"record")
                .unwrap()
                .expect("signed")
        })
    });
    let mut slot = 0u64;
    let mut block = 0u32;
    match &typed {
        Some(tee) => {
            group.bench_function("babe_seal_typed", |b| {
                b.iter(|| {
                    slot += 1;
                    tee.sign_babe_header(key_types::BABE, &babe, &header(slot).encode())
                        .expect("signed")
                })
            });
            group.bench_function("beefy_vote_typed", |b| {
                b.iter(|| {
                    block += 1;
                    tee.sign_beefy_commitment(key_types::BEEFY, &beef, &commitment(block))
                        .expect("signed")
                })
            });
        }
        None => {
            group.bench_function("babe_seal_typed", |b| {
                b.iter(|| {
                    slot += 1;
                    let pre_hash = header(slot).hash();
                    ks.sr25519_sign(key_types::BABE, &babe, pre_hash.as_ref())
                        .unwrap()
                        .expect("signed")
                })
            });
            group.bench_function("beefy_vote_typed", |b| {
                b.iter(|| {
                    block += 1;
                    let prehash = keccak_256(&commitment(block));
                    ks.ecdsa_sign_prehashed(key_types::BEEFY, &beef, &prehash)
                        .unwrap()
                        .expect("signed")
                })
            });
        }
    }
    group.finish();
}

fn bench(c: &mut Criterion) {
    let signer = common::Signer::unix();
    let tee = signer.keystore();
    duties(c, "tee_signer_unix", tee.clone(), Some(tee.clone()));
    duties(
        c,
        "local_keystore",
        Arc::new(LocalKeystore::in_memory()),
        None,
    );
    drop(tee);
    drop(signer);
}

criterion_group!(benches, bench);
criterion_main!(benches);
