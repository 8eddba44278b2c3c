//! Where the signer is and how to authenticate to it.

use crate::error::SignerError;
use std::{path::PathBuf, time::Duration};

/// How to reach a tee-signer (`tee-signer serve`) and what to wait for.
///
/// `url` is one of
/// * `unix:/run/tee-signer/rpc.sock` (or `unix:///run/...`, or an absolute
///   path): the signer's Unix socket; the default for a node on the same host;
/// * `ws://127.0.0.1:9955` (`http://` is accepted as the same): plain TCP, loopback
///   only: the client refuses a plain-text connection to any other host;
/// * `wss://signer.example:9955` (`https://` the same): TLS, verified with
///   `ca_file` (required; system roots are not used), optionally with a client
///   certificate (`client_cert` + `client_key`, mutual TLS).
///
/// A bearer `token` is sent in the WebSocket upgrade request's
/// `Authorization` header on any transport.
#[derive(Clone, Debug)]
pub struct SignerConfig {
    pub url: String,
    pub token: Option<String>,
    pub ca_file: Option<PathBuf>,
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    /// How long one call waits for its answer (connecting included) before it
    /// returns `Unavailable`. Default 2 s: a GRANDPA round or BABE slot has
    /// moved on long before a slower answer would help.
    pub call_timeout: Duration,
    /// How long one connection attempt may take. Default 2 s.
    pub connect_timeout: Duration,
    /// The wait after a failed connection attempt starts here and doubles up
    /// to `max_backoff`. Defaults 100 ms and 5 s.
    pub min_backoff: Duration,
    pub max_backoff: Duration,
}

impl SignerConfig {
    /// A configuration for `url` with the default timeouts and no credentials.
    pub fn new(url: impl Into<String>) -> Self {
        SignerConfig {
            url: url.into(),
            token: None,
            ca_file: None,
            client_cert: None,
            client_key: None,
            call_timeout: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(2),
            min_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
        }
    }

    /// Sends `Authorization: Bearer <token>`.
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Verifies the server's certificate against this CA bundle (PEM).
    pub fn with_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// Presents this client certificate chain and key (PEM) for mutual TLS.
    pub fn with_client_cert(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.client_cert = Some(cert.into());
        self.client_key = Some(key.into());
        self
    }

    pub fn with_call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = timeout;
        self
    }

    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    pub fn with_backoff(mut self, min: Duration, max: Duration) -> Self {
        self.min_backoff = min;
        self.max_backoff = max.max(min);
        self
    }
}

/// The transport part of a parsed URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Unix {
        path: PathBuf,
    },
    Tcp {
        host: String,
        port: u16,
        path: String,
    },
    Tls {
        host: String,
        port: u16,
        path: String,
    },
}

impl Endpoint {
    pub(crate) fn parse(url: &str) -> Result<Endpoint, SignerError> {
        let bad = |why: &str| SignerError::Config(format!("signer URL {url:?}: {why}"));
        if url.starts_with('/') {
            return Ok(Endpoint::Unix {
                path: PathBuf::from(url),
            });
        }
        if let Some(rest) = url.strip_prefix("unix:") {
            let path = rest.trim_start_matches("//");
            if !path.starts_with('/') {
                return Err(bad("a Unix socket path must be absolute"));
            }
            return Ok(Endpoint::Unix {
                path: PathBuf::from(path),
            });
        }
        let (tls, rest) = if let Some(r) = url.strip_prefix("wss://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("ws://") {
            (false, r)
        } else if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(bad("expected unix:, ws://, wss://, http:// or https://"));
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].to_owned()),
            None => (rest, "/".to_owned()),
        };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let end = v6
                .find(']')
                .ok_or_else(|| bad("unterminated IPv6 address"))?;
            let port = v6[end + 1..].strip_prefix(':');
            (v6[..end].to_owned(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_owned(), Some(p)),
                None => (authority.to_owned(), None),
            }
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let port = match port {
            Some(p) => p.parse::<u16>().map_err(|_| bad("bad port"))?,
            None => 9955,
        };
        if tls {
            Ok(Endpoint::Tls { host, port, path })
        } else {
            if !is_loopback(&host) {
                return Err(bad(
                    "plain-text connections are allowed to loopback only; use wss:// with a CA",
                ));
            }
            Ok(Endpoint::Tcp { host, port, path })
        }
    }

    /// The URL of the WebSocket upgrade request (its host is only a header for
    /// a Unix socket).
    pub(crate) fn request_url(&self) -> String {
        match self {
            Endpoint::Unix { .. } => "ws://localhost/".to_owned(),
            Endpoint::Tcp { host, port, path } => format!("ws://{}:{port}{path}", bracket(host)),
            Endpoint::Tls { host, port, path } => format!("wss://{}:{port}{path}", bracket(host)),
        }
    }
}

fn bracket(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_transport() {
        assert_eq!(
            Endpoint::parse("unix:///run/ts.sock").unwrap(),
            Endpoint::Unix {
                path: "/run/ts.sock".into()
            }
        );
        assert_eq!(
            Endpoint::parse("/run/ts.sock").unwrap(),
            Endpoint::Unix {
                path: "/run/ts.sock".into()
            }
        );
        assert_eq!(
            Endpoint::parse("ws://127.0.0.1:9000").unwrap(),
            Endpoint::Tcp {
                host: "127.0.0.1".into(),
                port: 9000,
                path: "/".into()
            }
        );
        assert_eq!(
            Endpoint::parse("http://[::1]/rpc").unwrap(),
            Endpoint::Tcp {
                host: "::1".into(),
                port: 9955,
                path: "/rpc".into()
            }
        );
        assert_eq!(
            Endpoint::parse("wss://signer.example:443").unwrap(),
            Endpoint::Tls {
                host: "signer.example".into(),
                port: 443,
                path: "/".into()
            }
        );
    }

    #[test]
    fn refuses_plain_text_to_another_host_and_bad_urls() {
        for url in [
            "ws://10.0.0.1:9955",
            "http://signer.example",
            "unix:rel/path",
            "ftp://x",
            "ws://:1",
            "ws://127.0.0.1:99999",
        ] {
            assert!(
                matches!(Endpoint::parse(url), Err(SignerError::Config(_))),
                "{url}"
            );
        }
    }
}
