//! The node side of tee-signer: an `sp_keystore::Keystore` whose session keys
//! live in a TEE behind a tee-signer signing service.
//!
//! ```no_run
//! use std::sync::Arc;
//! use sp_keystore::KeystorePtr;
//! use tee_signer_keystore::{SignerConfig, TeeSignerKeystore};
//!
//! let signer = Arc::new(
//!     TeeSignerKeystore::new(SignerConfig::new("unix:/run/tee-signer/rpc.sock")).unwrap(),
//! );
//! // What BABE, GRANDPA, BEEFY, the parachain subsystems, authority discovery
//! // and the RPC receive instead of a LocalKeystore:
//! let keystore: KeystorePtr = signer.clone();
//! # let _ = keystore;
//! ```
//!
//! See docs/node-integration.md for where a node creates its keystore and what
//! changes, and docs/protocol.md §6 for the wire mapping.

mod config;
mod connection;
mod error;
mod keystore;
mod protected;

pub use config::SignerConfig;
pub use error::{code, SignerError};
pub use keystore::TeeSignerKeystore;
pub use protected::{ProtectedSignature, ProtectedSigning};
