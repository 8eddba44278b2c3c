//! Command line: Substrate's own `run` options, `--signer` for where the
//! validator's keys live, and `devnet-spec` to write a chain spec.

use crate::{chain_spec, service};
use sc_cli::SubstrateCli;
use std::path::PathBuf;
use tee_signer_keystore::SignerConfig;

#[derive(Debug, clap::Parser)]
#[command(
    name = "tee-devnet-node",
    about = "A BABE + GRANDPA validator node whose keys live in tee-signer (--signer) or a local keystore"
)]
pub struct Cli {
    #[command(subcommand)]
    pub subcommand: Option<Subcommand>,

    #[command(flatten)]
    pub run: sc_cli::RunCmd,

    #[command(flatten)]
    pub signer: SignerArgs,
}

/// Where the validator's keys live.
#[derive(Debug, Clone, clap::Args)]
pub struct SignerArgs {
    /// Sign with keys held by tee-signer at this endpoint instead of the
    /// node's keystore: `unix:/path/to/socket`, `ws://127.0.0.1:PORT` (loopback
    /// only) or `wss://HOST:PORT`.
    #[arg(long, value_name = "URL")]
    pub signer: Option<String>,

    /// File holding the bearer token for the signer.
    #[arg(long, value_name = "FILE", requires = "signer")]
    pub signer_token_file: Option<PathBuf>,

    /// CA bundle (PEM) that signed the signer's TLS certificate (`wss://`).
    #[arg(long, value_name = "FILE", requires = "signer")]
    pub signer_ca: Option<PathBuf>,

    /// After the signer refuses one of this node's GRANDPA votes as an
    /// equivocation (another node votes with the same key), cast no GRANDPA
    /// vote for this many seconds; 0 turns the stand-by off.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 60,
        requires = "signer"
    )]
    pub standby_after_refusal: u64,

    /// Client certificate and key (PEM) for mutual TLS with the signer.
    #[arg(long, value_names = ["CERT", "KEY"], num_args = 2, requires = "signer")]
    pub signer_client_cert: Option<Vec<PathBuf>>,
}

impl SignerArgs {
    /// The signer's client configuration, or `None` for the local keystore.
    pub fn config(&self) -> Result<Option<SignerConfig>, sc_service::Error> {
        let Some(url) = &self.signer else {
            return Ok(None);
        };
        let mut config = SignerConfig::new(url.clone());
        if let Some(path) = &self.signer_token_file {
            let token = std::fs::read_to_string(path).map_err(|e| {
                sc_service::Error::Other(format!("--signer-token-file {}: {e}", path.display()))
            })?;
            config = config.with_token(token.trim());
        }
        if let Some(path) = &self.signer_ca {
            config = config.with_ca_file(path);
        }
        if let Some([cert, key]) = self.signer_client_cert.as_deref() {
            config = config.with_client_cert(cert, key);
        }
        Ok(Some(config))
    }
}

#[derive(Debug, clap::Subcommand)]
pub enum Subcommand {
    /// Write the devnet's chain spec (raw) for the given validators to stdout.
    DevnetSpec(chain_spec::DevnetSpecCmd),
}

impl SubstrateCli for Cli {
    fn impl_name() -> String {
        "tee-signer devnet node".into()
    }

    fn impl_version() -> String {
        env!("CARGO_PKG_VERSION").into()
    }

    fn description() -> String {
        env!("CARGO_PKG_DESCRIPTION").into()
    }

    fn author() -> String {
        "tee-signer".into()
    }

    fn support_url() -> String {
        "https://github.com/tee-signer/tee-signer/issues".into()
    }

    fn copyright_start_year() -> i32 {
        2026
    }

    fn load_spec(&self, id: &str) -> Result<Box<dyn sc_service::ChainSpec>, String> {
        Ok(match id {
            "dev" | "" => Box::new(chain_spec::development()?),
            path => Box::new(chain_spec::ChainSpec::from_json_file(PathBuf::from(path))?),
        })
    }
}

pub fn run() -> sc_cli::Result<()> {
    let cli = <Cli as SubstrateCli>::from_args();
    match &cli.subcommand {
        Some(Subcommand::DevnetSpec(cmd)) => cmd.run(),
        None => {
            let runner = cli.create_runner(&cli.run)?;
            let signer = cli.signer.clone();
            runner.run_node_until_exit(|config| async move {
                service::new_full(config, &signer).map_err(sc_cli::Error::Service)
            })
        }
    }
}
