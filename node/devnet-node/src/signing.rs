//! The validator's signing path: which keystore BABE, GRANDPA and the RPC get,
//! how a BABE seal reaches tee-signer's protected `SIGN_BABE_HEADER` instead of
//! the opaque pre-hash, and the counters the devnet reads.
//!
//! BABE seals a block with `sr25519_sign(babe, key, pre_hash)`: 32 bytes that
//! carry no slot, which tee-signer refuses as opaque. The proposer of this node
//! builds that very header a moment earlier, so [`RecordingEnvironment`] keeps
//! each proposed header by its hash in a [`HeaderBook`], and
//! [`ValidatorKeystore`] turns a BABE signature over a known pre-hash into
//! `sign_babe_header(header)`: the signer recomputes the pre-hash, reads the
//! slot from the BABE pre-digest and refuses a second header for that slot.

use codec::Encode;
use futures::{future::BoxFuture, FutureExt, TryFutureExt};
use prometheus_endpoint::{register, CounterVec, Opts, PrometheusError, Registry, U64};
use sp_consensus::{Environment, ProposeArgs, Proposer};
use sp_core::{
    crypto::{CryptoTypeId, KeyTypeId},
    ecdsa, ed25519, sr25519, H256,
};
use sp_keystore::{Error as KeystoreError, Keystore, KeystorePtr};
use sp_runtime::traits::{Block as BlockT, Header as HeaderT};
use std::{
    collections::VecDeque,
    path::PathBuf,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};
use tee_signer_keystore::{ProtectedSigning, SignerError, TeeSignerKeystore};

const BABE: KeyTypeId = sp_consensus_babe::KEY_TYPE;
const GRANDPA: KeyTypeId = sp_consensus_grandpa::KEY_TYPE;

/// The unsealed headers this node proposed most recently, by pre-hash. A slot
/// worker seals its proposal within the same slot, so a few entries suffice.
#[derive(Default)]
pub struct HeaderBook {
    headers: Mutex<VecDeque<(H256, Vec<u8>)>>,
}

impl HeaderBook {
    const CAPACITY: usize = 16;

    fn record(&self, pre_hash: H256, header: Vec<u8>) {
        let mut headers = self.headers.lock().expect("header book lock");
        if headers.len() == Self::CAPACITY {
            headers.pop_front();
        }
        headers.push_back((pre_hash, header));
    }

    fn find(&self, pre_hash: &[u8]) -> Option<Vec<u8>> {
        let headers = self.headers.lock().expect("header book lock");
        headers
            .iter()
            .rev()
            .find(|(hash, _)| hash.as_bytes() == pre_hash)
            .map(|(_, header)| header.clone())
    }
}

/// A block-authoring environment that records every header its proposer
/// builds in a [`HeaderBook`] before BABE seals it.
pub struct RecordingEnvironment<E> {
    inner: E,
    book: Arc<HeaderBook>,
}

impl<E> RecordingEnvironment<E> {
    pub fn new(inner: E, book: Arc<HeaderBook>) -> Self {
        Self { inner, book }
    }
}

impl<B, E> Environment<B> for RecordingEnvironment<E>
where
    B: BlockT<Hash = H256>,
    E: Environment<B>,
    E::CreateProposer: Send,
{
    type Proposer = RecordingProposer<E::Proposer>;
    type CreateProposer = BoxFuture<'static, Result<Self::Proposer, Self::Error>>;
    type Error = E::Error;

    fn init(&mut self, parent_header: &B::Header) -> Self::CreateProposer {
        let book = self.book.clone();
        self.inner
            .init(parent_header)
            .map_ok(move |inner| RecordingProposer { inner, book })
            .boxed()
    }
}

pub struct RecordingProposer<P> {
    inner: P,
    book: Arc<HeaderBook>,
}

impl<B, P> Proposer<B> for RecordingProposer<P>
where
    B: BlockT<Hash = H256>,
    P: Proposer<B>,
{
    type Error = P::Error;
    type Proposal = BoxFuture<'static, Result<sp_consensus::Proposal<B>, Self::Error>>;

    fn propose(self, args: ProposeArgs<B>) -> Self::Proposal {
        let book = self.book;
        self.inner
            .propose(args)
            .map_ok(move |proposal| {
                let header = proposal.block.header();
                book.record(header.hash(), header.encode());
                proposal
            })
            .boxed()
    }
}

/// What a signature was for, as the devnet counts it.
#[derive(Clone, Copy)]
enum Purpose {
    GrandpaVote,
    BabeSeal,
    BabeClaim,
    SessionKey,
    Other,
}

impl Purpose {
    fn label(self) -> &'static str {
        match self {
            Purpose::GrandpaVote => "grandpa_vote",
            Purpose::BabeSeal => "babe_seal",
            Purpose::BabeClaim => "babe_claim",
            Purpose::SessionKey => "session_key",
            Purpose::Other => "other",
        }
    }

    fn of(key_type: KeyTypeId) -> Self {
        match key_type {
            GRANDPA => Purpose::GrandpaVote,
            BABE => Purpose::BabeSeal,
            _ => Purpose::Other,
        }
    }
}

/// `tee_devnet_signatures_total{source, purpose, outcome}`: every signature the
/// consensus code asked for, by where the key lives (`tee-signer`, `local`),
/// what it was for and how it ended (`signed`, `refused`, `unavailable`,
/// `not_held`, `error`).
#[derive(Clone)]
pub struct SigningMetrics {
    signatures: CounterVec<U64>,
}

impl SigningMetrics {
    pub fn register(registry: &Registry) -> Result<Self, PrometheusError> {
        let signatures = register(
            CounterVec::new(
                Opts::new(
                    "tee_devnet_signatures_total",
                    "Signatures requested by the node's consensus code, by key source, purpose and outcome",
                ),
                &["source", "purpose", "outcome"],
            )?,
            registry,
        )?;
        Ok(Self { signatures })
    }
}

/// Stand-by after a refused GRANDPA vote. When the signer refuses one of
/// this node's GRANDPA votes because the same key already voted differently
/// in that round, another node of a redundant set is voting with it. GRANDPA
/// ends its voter on a vote it cannot sign, and the node stops; restarted, a
/// node that is still catching up would vote differently again and stop
/// again. So the refusal starts a stand-by window, kept in a file because it
/// must outlive the process: while it runs, the node tells GRANDPA it holds
/// no GRANDPA key (`has_keys` is false), follows rounds without voting and
/// catches up; afterwards it votes again, and if the other node still votes
/// first, the signer refuses it again (never both).
pub struct GrandpaStandby {
    file: PathBuf,
    window: Duration,
    /// End of the window, seconds since the Unix epoch: read from `file` once
    /// at start-up, then kept here (GRANDPA asks `has_keys` every round).
    until: AtomicU64,
}

impl GrandpaStandby {
    pub fn new(file: PathBuf, window: Duration) -> Self {
        let until = std::fs::read_to_string(&file)
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .unwrap_or(0);
        Self {
            file,
            window,
            until: AtomicU64::new(until),
        }
    }

    fn now() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }

    fn active(&self) -> bool {
        self.until.load(Ordering::Relaxed) > Self::now()
    }

    fn begin(&self) {
        let until = Self::now() + self.window.as_secs();
        self.until.store(until, Ordering::Relaxed);
        if let Err(e) = std::fs::write(&self.file, until.to_string()) {
            log::error!(target: "tee-devnet", "cannot record the GRANDPA stand-by in {}: {e}", self.file.display());
        }
        log::warn!(
            target: "tee-devnet",
            "⏸️  another node votes with this GRANDPA key: standing by (no GRANDPA votes) for {} s",
            self.window.as_secs()
        );
    }
}

/// The keystore the node's consensus code and RPC use: the local keystore or
/// tee-signer, with BABE seals routed to the protected typed method and every
/// signature counted.
pub struct ValidatorKeystore {
    inner: KeystorePtr,
    signer: Option<Arc<TeeSignerKeystore>>,
    book: Arc<HeaderBook>,
    metrics: Option<SigningMetrics>,
    standby: Option<GrandpaStandby>,
}

impl ValidatorKeystore {
    /// Keys in the node's local keystore.
    pub fn local(inner: KeystorePtr, metrics: Option<SigningMetrics>) -> Self {
        Self {
            inner,
            signer: None,
            book: Default::default(),
            metrics,
            standby: None,
        }
    }

    /// Keys in tee-signer; `book` is shared with the node's [`RecordingEnvironment`].
    pub fn tee(
        signer: Arc<TeeSignerKeystore>,
        book: Arc<HeaderBook>,
        metrics: Option<SigningMetrics>,
        standby: Option<GrandpaStandby>,
    ) -> Self {
        Self {
            inner: signer.clone(),
            signer: Some(signer),
            book,
            metrics,
            standby,
        }
    }

    fn source(&self) -> &'static str {
        if self.signer.is_some() {
            "tee-signer"
        } else {
            "local"
        }
    }

    fn count<T>(&self, purpose: Purpose, result: &Result<Option<T>, KeystoreError>) {
        let outcome = match result {
            Ok(Some(_)) => "signed",
            Ok(None) => "not_held",
            Err(e) => self.failed(purpose, e),
        };
        self.inc(purpose, outcome);
    }

    fn count_generated<T>(&self, result: &Result<T, KeystoreError>) {
        let outcome = match result {
            Ok(_) => "signed",
            Err(e) => self.failed(Purpose::SessionKey, e),
        };
        self.inc(Purpose::SessionKey, outcome);
    }

    /// Logs why a signature was not given and names the outcome.
    fn failed(&self, purpose: Purpose, error: &KeystoreError) -> &'static str {
        log::warn!(
            target: "tee-devnet",
            "{} signature ({}) not given: {error}",
            purpose.label(),
            self.source()
        );
        match error {
            KeystoreError::Unavailable => "unavailable",
            KeystoreError::Other(message) if message.contains("refused") => "refused",
            _ => "error",
        }
    }

    fn inc(&self, purpose: Purpose, outcome: &str) {
        if let Some(metrics) = &self.metrics {
            metrics
                .signatures
                .with_label_values(&[self.source(), purpose.label(), outcome])
                .inc();
        }
    }

    /// A BABE seal over a header this node proposed, through the signer's
    /// protected typed method. `None` when the pre-hash is not one we built.
    fn sign_babe_seal(
        &self,
        public: &sr25519::Public,
        pre_hash: &[u8],
    ) -> Option<Result<Option<sr25519::Signature>, KeystoreError>> {
        let signer = self.signer.as_ref()?;
        let header = self.book.find(pre_hash)?;
        Some(match signer.sign_babe_header(BABE, public, &header) {
            Ok(signed) => Ok(Some(signed.signature)),
            Err(SignerError::KeyNotFound) => Ok(None),
            Err(e) => Err(e.into()),
        })
    }
}

impl Keystore for ValidatorKeystore {
    fn sr25519_public_keys(&self, key_type: KeyTypeId) -> Vec<sr25519::Public> {
        self.inner.sr25519_public_keys(key_type)
    }

    fn sr25519_generate_new(
        &self,
        key_type: KeyTypeId,
        seed: Option<&str>,
    ) -> Result<sr25519::Public, KeystoreError> {
        let result = self.inner.sr25519_generate_new(key_type, seed);
        self.count_generated(&result);
        result
    }

    fn sr25519_sign(
        &self,
        key_type: KeyTypeId,
        public: &sr25519::Public,
        msg: &[u8],
    ) -> Result<Option<sr25519::Signature>, KeystoreError> {
        let typed = (key_type == BABE)
            .then(|| self.sign_babe_seal(public, msg))
            .flatten();
        let result = typed.unwrap_or_else(|| self.inner.sr25519_sign(key_type, public, msg));
        self.count(Purpose::of(key_type), &result);
        result
    }

    fn sr25519_vrf_sign(
        &self,
        key_type: KeyTypeId,
        public: &sr25519::Public,
        data: &sr25519::vrf::VrfSignData,
    ) -> Result<Option<sr25519::vrf::VrfSignature>, KeystoreError> {
        let result = self.inner.sr25519_vrf_sign(key_type, public, data);
        // BABE tries a claim with every authority key each slot; only the
        // keys this node holds are worth counting.
        if !matches!(result, Ok(None)) {
            self.count(Purpose::BabeClaim, &result);
        }
        result
    }

    fn sr25519_vrf_pre_output(
        &self,
        key_type: KeyTypeId,
        public: &sr25519::Public,
        input: &sr25519::vrf::VrfInput,
    ) -> Result<Option<sr25519::vrf::VrfPreOutput>, KeystoreError> {
        self.inner.sr25519_vrf_pre_output(key_type, public, input)
    }

    fn ed25519_public_keys(&self, key_type: KeyTypeId) -> Vec<ed25519::Public> {
        self.inner.ed25519_public_keys(key_type)
    }

    fn ed25519_generate_new(
        &self,
        key_type: KeyTypeId,
        seed: Option<&str>,
    ) -> Result<ed25519::Public, KeystoreError> {
        let result = self.inner.ed25519_generate_new(key_type, seed);
        self.count_generated(&result);
        result
    }

    fn ed25519_sign(
        &self,
        key_type: KeyTypeId,
        public: &ed25519::Public,
        msg: &[u8],
    ) -> Result<Option<ed25519::Signature>, KeystoreError> {
        let result = self.inner.ed25519_sign(key_type, public, msg);
        self.count(Purpose::of(key_type), &result);
        if let (GRANDPA, Some(standby), Err(KeystoreError::Other(message))) =
            (key_type, &self.standby, &result)
        {
            if message.contains("refused") && message.contains("equivocation") {
                standby.begin();
            }
        }
        result
    }

    fn ecdsa_public_keys(&self, key_type: KeyTypeId) -> Vec<ecdsa::Public> {
        self.inner.ecdsa_public_keys(key_type)
    }

    fn ecdsa_generate_new(
        &self,
        key_type: KeyTypeId,
        seed: Option<&str>,
    ) -> Result<ecdsa::Public, KeystoreError> {
        self.inner.ecdsa_generate_new(key_type, seed)
    }

    fn ecdsa_sign(
        &self,
        key_type: KeyTypeId,
        public: &ecdsa::Public,
        msg: &[u8],
    ) -> Result<Option<ecdsa::Signature>, KeystoreError> {
        self.inner.ecdsa_sign(key_type, public, msg)
    }

    fn ecdsa_sign_prehashed(
        &self,
        key_type: KeyTypeId,
        public: &ecdsa::Public,
        msg: &[u8; 32],
    ) -> Result<Option<ecdsa::Signature>, KeystoreError> {
        self.inner.ecdsa_sign_prehashed(key_type, public, msg)
    }

    fn insert(&self, key_type: KeyTypeId, suri: &str, public: &[u8]) -> Result<(), ()> {
        self.inner.insert(key_type, suri, public)
    }

    fn keys(&self, key_type: KeyTypeId) -> Result<Vec<Vec<u8>>, KeystoreError> {
        self.inner.keys(key_type)
    }

    fn has_keys(&self, public_keys: &[(Vec<u8>, KeyTypeId)]) -> bool {
        let standing_by = public_keys.iter().any(|(_, key_type)| *key_type == GRANDPA)
            && self.standby.as_ref().is_some_and(GrandpaStandby::active);
        !standing_by && self.inner.has_keys(public_keys)
    }

    fn sign_with(
        &self,
        key_type: KeyTypeId,
        crypto_id: CryptoTypeId,
        public: &[u8],
        msg: &[u8],
    ) -> Result<Option<Vec<u8>>, KeystoreError> {
        if crypto_id == sr25519::CRYPTO_ID && key_type == BABE {
            if let Ok(public) = sr25519::Public::try_from(public) {
                return self
                    .sr25519_sign(key_type, &public, msg)
                    .map(|s| s.map(|s| s.0.to_vec()));
            }
        }
        let result = self.inner.sign_with(key_type, crypto_id, public, msg);
        self.count(Purpose::of(key_type), &result);
        result
    }
}
