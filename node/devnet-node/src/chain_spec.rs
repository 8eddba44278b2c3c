//! Chain specs: `dev` (one validator, //Alice) and the devnet's, written by
//! `devnet-spec` from the validators' session keys.

use sc_service::ChainType;
use sp_core::{crypto::Ss58Codec, ed25519, sr25519, ByteArray};
use sp_keyring::Sr25519Keyring;
use std::str::FromStr;
use tee_devnet_runtime::{genesis, AccountId, WASM_BINARY};

pub type ChainSpec = sc_service::GenericChainSpec;

fn wasm() -> Result<&'static [u8], String> {
    WASM_BINARY.ok_or_else(|| "the runtime's wasm was not built (SKIP_WASM_BUILD?)".to_string())
}

/// One validator, //Alice, from the runtime's "development" preset.
pub fn development() -> Result<ChainSpec, String> {
    Ok(ChainSpec::builder(wasm()?, None)
        .with_name("tee-signer devnet (dev)")
        .with_id("tee_devnet_dev")
        .with_chain_type(ChainType::Development)
        .with_genesis_config_preset_name(genesis::DEVELOPMENT)
        .build())
}

/// `NAME` (a dev account whose session keys are derived from //NAME, as
/// `--alice` does) or `NAME=0x<GRANDPA ed25519 32 bytes><BABE sr25519 32 bytes>`
/// (keys generated elsewhere, e.g. the first 64 bytes of tee-signer's
/// `author_rotateKeys`). NAME is a dev keyring name (alice, bob, charlie, ...)
/// and gives the validator's account.
#[derive(Debug, Clone)]
pub struct ValidatorArg {
    account: AccountId,
    grandpa: sp_consensus_grandpa::AuthorityId,
    babe: sp_consensus_babe::AuthorityId,
}

impl FromStr for ValidatorArg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (name, keys) = match s.split_once('=') {
            Some((name, keys)) => (name, Some(keys)),
            None => (s, None),
        };
        let keyring = Sr25519Keyring::from_str(name).map_err(|_| {
            format!("{name}: not a dev account name (alice, bob, charlie, dave, eve, ferdie)")
        })?;
        let account = keyring.to_account_id();
        let (grandpa, babe) = match keys {
            None => {
                let seed = format!("//{}", keyring);
                let grandpa = sp_core::ed25519::Pair::from_string_public(&seed)?;
                let babe = sp_core::sr25519::Pair::from_string_public(&seed)?;
                (grandpa, babe)
            }
            Some(hex) => {
                let bytes = sp_core::bytes::from_hex(hex).map_err(|e| format!("{name}: {e}"))?;
                if bytes.len() != 64 {
                    return Err(format!(
                        "{name}: session keys must be 64 bytes (GRANDPA ed25519 ++ BABE sr25519), got {}",
                        bytes.len()
                    ));
                }
                let grandpa =
                    ed25519::Public::from_slice(&bytes[..32]).map_err(|_| "grandpa key")?;
                let babe = sr25519::Public::from_slice(&bytes[32..]).map_err(|_| "babe key")?;
                (grandpa, babe)
            }
        };
        Ok(ValidatorArg {
            account,
            grandpa: grandpa.into(),
            babe: babe.into(),
        })
    }
}

trait PublicFromSeed {
    type Public;
    fn from_string_public(seed: &str) -> Result<Self::Public, String>;
}

impl<P: sp_core::Pair> PublicFromSeed for P {
    type Public = P::Public;
    fn from_string_public(seed: &str) -> Result<P::Public, String> {
        P::from_string(seed, None)
            .map(|pair| pair.public())
            .map_err(|e| format!("{seed}: {e:?}"))
    }
}

#[derive(Debug, clap::Args)]
pub struct DevnetSpecCmd {
    /// A validator: `NAME` or `NAME=0x<64 bytes of session keys>` (repeat).
    #[arg(long = "validator", value_name = "NAME[=KEYS]", required = true)]
    validators: Vec<ValidatorArg>,

    /// Write the human-readable genesis (a config patch) instead of the raw storage.
    #[arg(long)]
    plain: bool,
}

impl DevnetSpecCmd {
    pub fn run(&self) -> sc_cli::Result<()> {
        let validators: Vec<_> = self
            .validators
            .iter()
            .map(|v| (v.account.clone(), v.grandpa.clone(), v.babe.clone()))
            .collect();
        let endowed: Vec<AccountId> = validators.iter().map(|v| v.0.clone()).collect();
        let spec = ChainSpec::builder(wasm()?, None)
            .with_name("tee-signer devnet")
            .with_id("tee_devnet")
            .with_chain_type(ChainType::Local)
            .with_genesis_config_patch(genesis::patch(&validators, &endowed))
            .build();
        for v in &self.validators {
            eprintln!(
                "validator {}: grandpa {} babe {}",
                v.account.to_ss58check(),
                v.grandpa,
                v.babe
            );
        }
        println!("{}", spec.as_json(!self.plain)?);
        Ok(())
    }
}
