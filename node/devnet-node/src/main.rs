//! tee-devnet-node: a small BABE + GRANDPA validator node built from published
//! Substrate crates, whose keys live in tee-signer (`--signer`) or in the
//! node's local keystore. It exists to run real consensus through the signer
//! (see docs/devnet.md).

// sc_cli::Error and sc_service::Error are large; Substrate's runner and
// service builders require them as they are.
#![allow(clippy::result_large_err)]

mod chain_spec;
mod cli;
mod service;
mod signing;

fn main() -> sc_cli::Result<()> {
    cli::run()
}
