//! Errors of the signer client, and how they map onto `sp_keystore::Error`.

use serde_json::Value;
use sp_keystore::Error as KeystoreError;

/// JSON-RPC error codes of the signer (docs/protocol.md §3).
pub mod code {
    pub const INVALID_PARAMS: i64 = -32602;
    pub const KEY_NOT_FOUND: i64 = -32003;
    pub const TEE_UNAVAILABLE: i64 = -32004;
    pub const SLASHING_REFUSED: i64 = -32010;
    pub const POLICY_REFUSED: i64 = -32011;
}

/// Why a call to the signer produced no result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignerError {
    /// The signer could not be reached, did not answer within the call timeout,
    /// the connection broke before the answer came, or its TEE is unavailable
    /// (-32004). A signing call that ends this way may or may not have been
    /// signed and recorded by the signer; the node treats it as "no signature".
    Unavailable(String),
    /// The TEE holds no key of that type, scheme and public key (-32003).
    KeyNotFound,
    /// Slashing protection (-32010) or the opaque-signing policy (-32011)
    /// refused the signature. `reason` is `error.data.code` of docs/protocol.md
    /// §4.4, e.g. `grandpa_prevote_equivocation`, `opaque_refused`.
    Refused {
        code: i64,
        message: String,
        reason: Option<String>,
        data: Option<Value>,
    },
    /// Any other JSON-RPC error (bad parameters, unauthorized, rate limited, ...).
    Rpc { code: i64, message: String },
    /// The client's configuration is unusable (bad URL, unreadable certificate, ...).
    Config(String),
    /// The signer answered something the protocol does not allow.
    Protocol(String),
}

impl SignerError {
    /// Builds the error for a JSON-RPC error object `{code, message, data?}`.
    pub(crate) fn from_rpc(error: &Value) -> Self {
        let code = error.get("code").and_then(Value::as_i64).unwrap_or(0);
        let message = error
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        match code {
            code::KEY_NOT_FOUND => SignerError::KeyNotFound,
            code::TEE_UNAVAILABLE => SignerError::Unavailable(message),
            code::SLASHING_REFUSED | code::POLICY_REFUSED => {
                let data = error.get("data").cloned();
                let reason = data
                    .as_ref()
                    .and_then(|d| d.get("code"))
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                SignerError::Refused {
                    code,
                    message,
                    reason,
                    data,
                }
            }
            _ => SignerError::Rpc { code, message },
        }
    }

    /// True for a refusal by slashing protection or policy.
    pub fn is_refusal(&self) -> bool {
        matches!(self, SignerError::Refused { .. })
    }
}

impl std::fmt::Display for SignerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SignerError::Unavailable(why) => write!(f, "tee-signer unavailable: {why}"),
            SignerError::KeyNotFound => f.write_str("tee-signer holds no such key"),
            SignerError::Refused {
                message, reason, ..
            } => match reason {
                Some(reason) => write!(f, "tee-signer refused to sign ({reason}): {message}"),
                None => write!(f, "tee-signer refused to sign: {message}"),
            },
            SignerError::Rpc { code, message } => write!(f, "tee-signer error {code}: {message}"),
            SignerError::Config(why) => write!(f, "tee-signer client configuration: {why}"),
            SignerError::Protocol(why) => write!(f, "tee-signer protocol violation: {why}"),
        }
    }
}

impl std::error::Error for SignerError {}

impl From<SignerError> for KeystoreError {
    /// A refusal becomes `Other`, so that the calling subsystem logs it and
    /// skips the vote or block; it is never `Ok(None)` (which some callers read
    /// as "not our key" and some as "try another key").
    fn from(e: SignerError) -> Self {
        match e {
            SignerError::Unavailable(_) => KeystoreError::Unavailable,
            SignerError::Rpc {
                code: code::INVALID_PARAMS,
                message,
            } => KeystoreError::ValidationError(message),
            other => KeystoreError::Other(other.to_string()),
        }
    }
}
