//! One persistent JSON-RPC connection to the signer, shared by every thread.
//!
//! `sp_keystore::Keystore` is synchronous and the node calls it from many
//! threads and async tasks. Calls are handed to a dedicated I/O thread that owns
//! the WebSocket (over a Unix socket, TCP or TLS) and matches answers to calls
//! by JSON-RPC id, so concurrent calls share one connection without waiting on
//! each other. The caller blocks on a channel, never on the node's executor:
//! the connection's I/O runs on its own runtime, so a caller on a
//! single-threaded executor cannot deadlock it.
//!
//! Reconnection: after a failure the I/O thread retries in the background with
//! exponential backoff. Calls made while no connection is up and no attempt is
//! due fail at once with `Unavailable` instead of stalling a voter until its
//! timeout.

use crate::{
    config::{Endpoint, SignerConfig},
    error::SignerError,
};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        mpsc as std_mpsc, Arc,
    },
    time::{Duration, Instant},
};
use tokio::{
    io::{AsyncRead, AsyncWrite},
    net::{TcpStream, UnixStream},
    sync::mpsc,
};
use tokio_rustls::{
    rustls::{self, pki_types::ServerName},
    TlsConnector,
};
use tokio_tungstenite::{
    tungstenite::{client::IntoClientRequest, http::HeaderValue, Message},
    WebSocketStream,
};

type Reply = Result<Value, SignerError>;

/// How often an otherwise quiet connection sends a WebSocket ping.
const KEEPALIVE: Duration = Duration::from_secs(30);

struct Call {
    id: u64,
    text: String,
    reply: std_mpsc::SyncSender<Reply>,
    deadline: Instant,
}

/// The caller's side: cheap to share (`&self` methods, `Send + Sync`).
pub(crate) struct Connection {
    calls: Option<mpsc::UnboundedSender<Call>>,
    next_id: AtomicU64,
    call_timeout: Duration,
    io_thread: Option<std::thread::JoinHandle<()>>,
}

impl Connection {
    /// Validates `config` (URL, certificates, key) and starts the I/O thread,
    /// which connects at once; the signer need not be up yet.
    pub(crate) fn open(config: &SignerConfig) -> Result<Connection, SignerError> {
        let endpoint = Endpoint::parse(&config.url)?;
        let tls = match &endpoint {
            Endpoint::Tls { .. } => Some(tls_connector(config)?),
            _ => {
                if config.ca_file.is_some() || config.client_cert.is_some() {
                    return Err(SignerError::Config(
                        "a CA or client certificate needs a wss:// or https:// URL".into(),
                    ));
                }
                None
            }
        };
        let authorization = match &config.token {
            Some(token) => {
                let mut value = HeaderValue::from_str(&format!("Bearer {token}"))
                    .map_err(|_| SignerError::Config("the token has invalid characters".into()))?;
                value.set_sensitive(true);
                Some(value)
            }
            None => None,
        };
        let target = Target {
            endpoint,
            tls,
            authorization,
            connect_timeout: config.connect_timeout,
        };
        let backoff = Backoff::new(config.min_backoff, config.max_backoff);
        let (calls, receiver) = mpsc::unbounded_channel();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| SignerError::Config(format!("cannot start the I/O runtime: {e}")))?;
        let io_thread = std::thread::Builder::new()
            .name("tee-signer-io".into())
            .spawn(move || runtime.block_on(run(target, backoff, receiver)))
            .map_err(|e| SignerError::Config(format!("cannot start the I/O thread: {e}")))?;
        Ok(Connection {
            calls: Some(calls),
            next_id: AtomicU64::new(1),
            call_timeout: config.call_timeout,
            io_thread: Some(io_thread),
        })
    }

    /// Calls `method` with `params` and waits for the answer, at most the call
    /// timeout. Safe to call from any thread, concurrently.
    pub(crate) fn call(&self, method: &str, params: Value) -> Reply {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let text =
            json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string();
        let (reply, answer) = std_mpsc::sync_channel(1);
        let deadline = Instant::now() + self.call_timeout;
        let calls = self.calls.as_ref().expect("set until drop");
        calls
            .send(Call {
                id,
                text,
                reply,
                deadline,
            })
            .map_err(|_| SignerError::Unavailable("the connection thread has stopped".into()))?;
        match answer.recv_timeout(self.call_timeout) {
            Ok(reply) => reply,
            Err(std_mpsc::RecvTimeoutError::Timeout) => Err(SignerError::Unavailable(format!(
                "no answer to {method} within {} ms",
                self.call_timeout.as_millis()
            ))),
            Err(std_mpsc::RecvTimeoutError::Disconnected) => Err(SignerError::Unavailable(
                "the connection thread has stopped".into(),
            )),
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        // Closing the channel ends the I/O loop, which closes the WebSocket.
        self.calls.take();
        if let Some(thread) = self.io_thread.take() {
            let _ = thread.join();
        }
    }
}

struct Target {
    endpoint: Endpoint,
    tls: Option<TlsConnector>,
    authorization: Option<HeaderValue>,
    connect_timeout: Duration,
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}
type Socket = WebSocketStream<Box<dyn Io>>;

struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    fn new(min: Duration, max: Duration) -> Self {
        Backoff {
            min,
            max,
            next: min,
        }
    }
    fn reset(&mut self) {
        self.next = self.min;
    }
    fn step(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(self.max);
        wait
    }
}

enum SessionEnd {
    /// The keystore was dropped.
    Closed,
    Failed(String),
}

async fn run(target: Target, mut backoff: Backoff, mut calls: mpsc::UnboundedReceiver<Call>) {
    let mut next_attempt = tokio::time::Instant::now();
    let mut failures = 0u64;
    loop {
        let first = tokio::select! {
            call = calls.recv() => match call {
                Some(call) => Some(call),
                None => return,
            },
            _ = tokio::time::sleep_until(next_attempt) => None,
        };
        if let Some(call) = &first {
            if tokio::time::Instant::now() < next_attempt {
                let wait = next_attempt - tokio::time::Instant::now();
                let _ = call.reply.try_send(Err(SignerError::Unavailable(format!(
                    "not connected; next attempt in {} ms",
                    wait.as_millis()
                ))));
                continue;
            }
        }
        match connect(&target).await {
            Ok(socket) => {
                if failures > 0 {
                    log::info!(target: "tee-signer", "connected to the signer after {failures} failed attempts");
                }
                failures = 0;
                backoff.reset();
                match session(socket, &mut calls, first).await {
                    SessionEnd::Closed => return,
                    SessionEnd::Failed(why) => {
                        // Reconnect at once: a working connection that ended
                        // (the signer restarted, or closed it) is no reason to
                        // make the next vote wait. Backoff starts if that fails.
                        log::warn!(target: "tee-signer", "connection to the signer lost: {why}");
                        next_attempt = tokio::time::Instant::now();
                    }
                }
            }
            Err(why) => {
                failures += 1;
                // The first failure is worth a warning; the retries every few
                // seconds while the signer stays down are not.
                if failures == 1 {
                    log::warn!(target: "tee-signer", "cannot connect to the signer: {why}");
                } else {
                    log::debug!(target: "tee-signer", "cannot connect to the signer: {why}");
                }
                if let Some(call) = first {
                    let _ = call.reply.try_send(Err(SignerError::Unavailable(why)));
                }
                next_attempt = tokio::time::Instant::now() + backoff.step();
            }
        }
    }
}

async fn connect(target: &Target) -> Result<Socket, String> {
    tokio::time::timeout(target.connect_timeout, connect_inner(target))
        .await
        .map_err(|_| {
            format!(
                "no connection within {} ms",
                target.connect_timeout.as_millis()
            )
        })?
}

async fn connect_inner(target: &Target) -> Result<Socket, String> {
    let stream: Box<dyn Io> = match &target.endpoint {
        Endpoint::Unix { path } => Box::new(
            UnixStream::connect(path)
                .await
                .map_err(|e| format!("{}: {e}", path.display()))?,
        ),
        Endpoint::Tcp { host, port, .. } => {
            let tcp = TcpStream::connect((host.as_str(), *port))
                .await
                .map_err(|e| format!("{host}:{port}: {e}"))?;
            tcp.set_nodelay(true).map_err(|e| e.to_string())?;
            Box::new(tcp)
        }
        Endpoint::Tls { host, port, .. } => {
            let tcp = TcpStream::connect((host.as_str(), *port))
                .await
                .map_err(|e| format!("{host}:{port}: {e}"))?;
            tcp.set_nodelay(true).map_err(|e| e.to_string())?;
            let name = ServerName::try_from(host.clone())
                .map_err(|_| format!("{host:?} is not a valid TLS server name"))?;
            let connector = target.tls.as_ref().expect("built for wss URLs");
            Box::new(
                connector
                    .connect(name, tcp)
                    .await
                    .map_err(|e| format!("TLS handshake with {host}:{port}: {e}"))?,
            )
        }
    };
    let mut request = target
        .endpoint
        .request_url()
        .into_client_request()
        .map_err(|e| format!("upgrade request: {e}"))?;
    if let Some(authorization) = &target.authorization {
        request
            .headers_mut()
            .insert("Authorization", authorization.clone());
    }
    let (socket, _) = tokio_tungstenite::client_async(request, stream)
        .await
        .map_err(|e| format!("WebSocket upgrade: {e}"))?;
    Ok(socket)
}

/// Serves calls over one connection until it fails or the keystore is dropped.
async fn session(
    socket: Socket,
    calls: &mut mpsc::UnboundedReceiver<Call>,
    first: Option<Call>,
) -> SessionEnd {
    let (mut sink, mut stream) = socket.split();
    let mut pending: HashMap<u64, Call> = HashMap::new();
    let mut sweep = tokio::time::interval(Duration::from_millis(500));
    // The signer closes connections idle for `limits.idle_timeout_ms`
    // (2 minutes by default); a ping keeps a quiet validator's connection up.
    let mut keepalive = tokio::time::interval(KEEPALIVE);
    keepalive.reset();
    let fail_all = |pending: &mut HashMap<u64, Call>, why: &str| {
        for (_, call) in pending.drain() {
            let _ = call.reply.try_send(Err(SignerError::Unavailable(format!(
                "connection lost before the answer ({why})"
            ))));
        }
    };
    let mut next = first;
    loop {
        if let Some(call) = next.take() {
            if call.deadline <= Instant::now() {
                // Its caller has given up: do not have the signer sign a vote
                // that nobody will gossip.
                continue;
            }
            if let Err(e) = sink.send(Message::text(call.text.clone())).await {
                let why = e.to_string();
                let _ = call
                    .reply
                    .try_send(Err(SignerError::Unavailable(why.clone())));
                fail_all(&mut pending, &why);
                return SessionEnd::Failed(why);
            }
            pending.insert(call.id, call);
        }
        tokio::select! {
            call = calls.recv() => match call {
                Some(call) => next = Some(call),
                None => {
                    let _ = sink.send(Message::Close(None)).await;
                    fail_all(&mut pending, "keystore dropped");
                    return SessionEnd::Closed;
                },
            },
            message = stream.next() => match message {
                Some(Ok(Message::Text(text))) => dispatch(text.as_str(), &mut pending),
                Some(Ok(Message::Binary(bytes))) => match std::str::from_utf8(&bytes) {
                    Ok(text) => dispatch(text, &mut pending),
                    Err(_) => log::warn!(target: "tee-signer", "ignoring a non-UTF-8 message"),
                },
                Some(Ok(Message::Close(frame))) => {
                    let why = format!("closed by the signer ({frame:?})");
                    fail_all(&mut pending, &why);
                    return SessionEnd::Failed(why);
                },
                Some(Ok(_)) => {}, // ping/pong: tungstenite answers pings itself
                Some(Err(e)) => {
                    let why = e.to_string();
                    fail_all(&mut pending, &why);
                    return SessionEnd::Failed(why);
                },
                None => {
                    fail_all(&mut pending, "end of stream");
                    return SessionEnd::Failed("end of stream".into());
                },
            },
            _ = keepalive.tick() => {
                if let Err(e) = sink.send(Message::Ping(Vec::new().into())).await {
                    let why = e.to_string();
                    fail_all(&mut pending, &why);
                    return SessionEnd::Failed(why);
                }
            },
            _ = sweep.tick() => {
                // Forget calls whose caller has stopped waiting.
                let now = Instant::now();
                pending.retain(|_, call| call.deadline > now);
            },
        }
    }
}

fn dispatch(text: &str, pending: &mut HashMap<u64, Call>) {
    let answer: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            log::warn!(target: "tee-signer", "ignoring an answer that is not JSON: {e}");
            return;
        }
    };
    let Some(id) = answer.get("id").and_then(Value::as_u64) else {
        log::warn!(target: "tee-signer", "ignoring an answer without a numeric id: {answer}");
        return;
    };
    let Some(call) = pending.remove(&id) else {
        return; // its caller timed out
    };
    let reply = if let Some(error) = answer.get("error") {
        Err(SignerError::from_rpc(error))
    } else if let Some(result) = answer.get("result") {
        Ok(result.clone())
    } else {
        Err(SignerError::Protocol(format!(
            "answer {id} has neither result nor error"
        )))
    };
    let _ = call.reply.try_send(reply);
}

fn read_pem(path: &std::path::Path, what: &str) -> Result<Vec<u8>, SignerError> {
    std::fs::read(path)
        .map_err(|e| SignerError::Config(format!("cannot read {what} {}: {e}", path.display())))
}

fn tls_connector(config: &SignerConfig) -> Result<TlsConnector, SignerError> {
    use rustls::pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};
    let ca_file = config.ca_file.as_ref().ok_or_else(|| {
        SignerError::Config("a wss:// URL needs ca_file: the signer's CA bundle (PEM)".into())
    })?;
    let mut roots = rustls::RootCertStore::empty();
    let ca_pem = read_pem(ca_file, "CA bundle")?;
    for cert in CertificateDer::pem_slice_iter(&ca_pem) {
        let cert = cert.map_err(|e| SignerError::Config(format!("CA bundle: {e}")))?;
        roots
            .add(cert)
            .map_err(|e| SignerError::Config(format!("CA bundle: {e}")))?;
    }
    if roots.is_empty() {
        return Err(SignerError::Config(format!(
            "no certificate in {}",
            ca_file.display()
        )));
    }
    // ring's default provider: classical key exchange (X25519, P-256), which
    // is what the signer's OpenSSL 3.0 offers; rustls marks it deprecated only
    // for lacking post-quantum hybrids. aws-lc-rs would add a C toolchain build.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| SignerError::Config(format!("TLS: {e}")))?
        .with_root_certificates(roots);
    let client = match (&config.client_cert, &config.client_key) {
        (Some(cert), Some(key)) => {
            let chain_pem = read_pem(cert, "client certificate")?;
            let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&chain_pem)
                .collect::<Result<_, _>>()
                .map_err(|e| SignerError::Config(format!("client certificate: {e}")))?;
            let key_pem = read_pem(key, "client key")?;
            let key = PrivateKeyDer::from_pem_slice(&key_pem)
                .map_err(|e| SignerError::Config(format!("client key: {e}")))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| SignerError::Config(format!("client certificate: {e}")))?
        }
        (None, None) => builder.with_no_client_auth(),
        _ => {
            return Err(SignerError::Config(
                "client_cert and client_key go together".into(),
            ))
        }
    };
    Ok(TlsConnector::from(Arc::new(client)))
}
