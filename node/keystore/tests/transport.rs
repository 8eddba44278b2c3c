//! Transports, authentication, concurrency, timeouts and reconnection,
//! against a real `tee-signer serve`.

mod common;

use common::{Options, Signer};
use sp_core::{crypto::KeyTypeId, ed25519, sr25519, Pair as _};
use sp_keystore::{Keystore, KeystorePtr};
use std::{
    path::Path,
    process::Command,
    sync::Arc,
    time::{Duration, Instant},
};
use tee_signer_keystore::{SignerConfig, SignerError, TeeSignerKeystore};

const TEST: KeyTypeId = KeyTypeId(*b"test");

fn sign_and_verify(ks: &dyn Keystore) {
    let public = ks.sr25519_generate_new(TEST, None).unwrap();
    let sig = ks
        .sr25519_sign(TEST, &public, b"over the wire")
        .unwrap()
        .unwrap();
    assert!(sr25519::Pair::verify(&sig, b"over the wire", &public));
}

#[test]
fn unix_socket_and_loopback_websocket() {
    let signer = Signer::unix();
    sign_and_verify(&TeeSignerKeystore::new(SignerConfig::new(signer.url())).unwrap());
    let by_path = SignerConfig::new(signer.socket.display().to_string());
    sign_and_verify(&TeeSignerKeystore::new(by_path).unwrap());
    sign_and_verify(&TeeSignerKeystore::new(SignerConfig::new(signer.ws_url())).unwrap());
    let http = format!("http://localhost:{}/", signer.port);
    sign_and_verify(&TeeSignerKeystore::new(SignerConfig::new(http)).unwrap());
}

#[test]
fn configuration_errors_are_reported_at_construction() {
    for (config, needle) in [
        (SignerConfig::new("ws://192.0.2.1:9955"), "loopback only"),
        (SignerConfig::new("tcp://127.0.0.1"), "expected unix:"),
        (SignerConfig::new("wss://localhost:1"), "needs ca_file"),
        (
            SignerConfig::new("ws://127.0.0.1:1").with_ca_file("/nonexistent"),
            "wss://",
        ),
        (
            SignerConfig::new("wss://localhost:1").with_ca_file("/nonexistent"),
            "cannot read",
        ),
    ] {
        match TeeSignerKeystore::new(config) {
            Err(SignerError::Config(why)) => assert!(why.contains(needle), "{why}"),
            Err(other) => panic!("{other}"),
            Ok(_) => panic!("accepted a bad configuration ({needle})"),
        }
    }
}

#[test]
fn many_threads_share_one_connection() {
    let signer = Signer::unix();
    let ks: KeystorePtr = signer.keystore();
    let public = ks.ed25519_generate_new(TEST, None).unwrap();
    let threads: Vec<_> = (0..8u8)
        .map(|t| {
            let ks = ks.clone();
            std::thread::spawn(move || {
                for i in 0..40u8 {
                    let msg = [t, i, 0xab];
                    let sig = ks.ed25519_sign(TEST, &public, &msg).unwrap().unwrap();
                    assert!(
                        ed25519::Pair::verify(&sig, &msg[..], &public),
                        "thread {t} call {i}"
                    );
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    // One connection served all 320 calls (plus the generate call).
    let metrics = signer_metrics(signer.port);
    let open = metrics
        .lines()
        .find(|l| l.starts_with("teesigner_connections_open{transport=\"unix\"}"))
        .unwrap_or_else(|| panic!("no unix connection gauge in\n{metrics}"));
    assert!(open.ends_with(" 1"), "{open}");
}

fn signer_metrics(port: u16) -> String {
    let out = Command::new("curl")
        .args(["-sf", &format!("http://127.0.0.1:{port}/metrics")])
        .output()
        .expect("curl");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_killed_signer_fails_calls_fast_and_the_keystore_reconnects() {
    let mut signer = Signer::unix();
    let config = SignerConfig::new(signer.url())
        .with_backoff(Duration::from_millis(50), Duration::from_millis(400));
    let ks: KeystorePtr = Arc::new(TeeSignerKeystore::new(config).unwrap());
    let public = ks.ed25519_generate_new(TEST, None).unwrap();
    assert!(ks.ed25519_sign(TEST, &public, b"before").unwrap().is_some());

    signer.kill9();
    let start = Instant::now();
    for _ in 0..5 {
        assert!(matches!(
            ks.ed25519_sign(TEST, &public, b"while down"),
            Err(sp_keystore::Error::Unavailable)
        ));
    }
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "fails fast, not after the call timeout"
    );
    // Listing keys has no error channel: an unreachable signer lists none.
    assert!(ks.ed25519_public_keys(TEST).is_empty());

    signer.spawn();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match ks.ed25519_sign(TEST, &public, b"after") {
            Ok(Some(sig)) => {
                assert!(ed25519::Pair::verify(&sig, &b"after"[..], &public));
                break;
            }
            Err(sp_keystore::Error::Unavailable) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50))
            }
            other => panic!("after restart: {other:?}"),
        }
    }
    assert_eq!(
        ks.ed25519_public_keys(TEST),
        vec![public],
        "the key survived the kill"
    );
}

/// A WebSocket server that accepts the upgrade and then never answers.
fn silent_server(path: &Path) -> std::thread::JoinHandle<()> {
    let listener = std::os::unix::net::UnixListener::bind(path).unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            listener.set_nonblocking(true).unwrap();
            let listener = tokio::net::UnixListener::from_std(listener).unwrap();
            let (stream, _) = listener.accept().await.unwrap();
            let _ws = tokio_tungstenite::accept_async(stream).await.unwrap();
            tokio::time::sleep(Duration::from_secs(5)).await;
        })
    })
}

#[test]
fn a_signer_that_does_not_answer_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("silent.sock");
    let _server = silent_server(&path);
    let config = SignerConfig::new(format!("unix:{}", path.display()))
        .with_call_timeout(Duration::from_millis(300));
    let ks = TeeSignerKeystore::new(config).unwrap();
    let start = Instant::now();
    match ks.call("rpc_methods", serde_json::json!([])) {
        Err(SignerError::Unavailable(why)) => assert!(why.contains("no answer"), "{why}"),
        other => panic!("{other:?}"),
    }
    let elapsed = start.elapsed();
    assert!(
        elapsed >= Duration::from_millis(300) && elapsed < Duration::from_secs(2),
        "{elapsed:?}"
    );
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA, a server certificate for DNS:localhost, a client certificate
/// (CN=node-a), and an unrelated CA.
fn make_pki(dir: &Path) {
    for ca in ["ca", "other-ca"] {
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                &format!("{ca}.key"),
                "-out",
                &format!("{ca}.pem"),
                "-days",
                "2",
                "-subj",
                &format!("/CN=test {ca}"),
            ],
        );
    }
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    std::fs::write(dir.join("client.ext"), "extendedKeyUsage=clientAuth\n").unwrap();
    for (name, cn) in [("server", "localhost"), ("client", "node-a")] {
        openssl(
            dir,
            &[
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
                "-subj",
                &format!("/CN={cn}"),
            ],
        );
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-out",
                &format!("{name}.pem"),
                "-extfile",
                &format!("{name}.ext"),
            ],
        );
    }
}

#[test]
fn tls_with_token_and_mutual_tls() {
    let pki = tempfile::tempdir().unwrap();
    let p = |name: &str| pki.path().join(name).display().to_string();
    make_pki(pki.path());
    let token = "node-token-0123456789abcdef";
    std::fs::write(pki.path().join("tokens"), format!("node:{token}\n")).unwrap();
    let signer = Signer::start(Options {
        args: vec![
            "--tls-cert".into(),
            p("server.pem"),
            "--tls-key".into(),
            p("server.key"),
            "--tls-ca".into(),
            p("ca.pem"),
            "--tokens-file".into(),
            p("tokens"),
            "--require-auth-local".into(),
        ],
        ..Default::default()
    });
    let url = format!("wss://localhost:{}", signer.port);
    let quick =
        |c: SignerConfig| c.with_backoff(Duration::from_millis(10), Duration::from_millis(10));

    // Bearer token over TLS, server verified against our CA.
    let with_token = quick(
        SignerConfig::new(&url)
            .with_ca_file(p("ca.pem"))
            .with_token(token),
    );
    sign_and_verify(&TeeSignerKeystore::new(with_token).unwrap());
    // Mutual TLS, no token.
    let mtls = quick(
        SignerConfig::new(&url)
            .with_ca_file(p("ca.pem"))
            .with_client_cert(p("client.pem"), p("client.key")),
    );
    sign_and_verify(&TeeSignerKeystore::new(mtls).unwrap());

    let refused = |config: SignerConfig, needle: &str| {
        let ks = TeeSignerKeystore::new(quick(config)).unwrap();
        match ks.call("rpc_methods", serde_json::json!([])) {
            Err(SignerError::Unavailable(why)) => assert!(why.contains(needle), "{needle}: {why}"),
            other => panic!("{needle}: {other:?}"),
        }
    };
    // No credentials, a wrong token: the upgrade is refused with 401.
    refused(SignerConfig::new(&url).with_ca_file(p("ca.pem")), "401");
    refused(
        SignerConfig::new(&url)
            .with_ca_file(p("ca.pem"))
            .with_token("wrong-token-0123456789"),
        "401",
    );
    // A server certificate from another CA, or for another name: no connection.
    refused(
        SignerConfig::new(&url)
            .with_ca_file(p("other-ca.pem"))
            .with_token(token),
        "TLS",
    );
    refused(
        SignerConfig::new(format!("wss://127.0.0.1:{}", signer.port))
            .with_ca_file(p("ca.pem"))
            .with_token(token),
        "TLS",
    );
}

/// Calls of `method` the signer has answered, from its /metrics.
fn rpc_count(signer: &Signer, method: &str) -> u64 {
    let prefix = format!("teesigner_rpc_requests_total{{method=\"{method}\"");
    signer_metrics(signer.port)
        .lines()
        .filter(|l| l.starts_with(&prefix))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum()
}

#[test]
fn questions_about_keys_the_signer_does_not_hold_are_answered_locally() {
    const BABE: KeyTypeId = sp_core::crypto::key_types::BABE;
    let signer = Signer::unix();
    let ks: KeystorePtr = signer.keystore();
    let own = ks.sr25519_generate_new(BABE, None).unwrap();
    let data = sp_consensus_babe::make_vrf_sign_data(&[1; 32], 9u64.into(), 1);
    let start = Instant::now();
    // A 1,000-validator set asked about as BABE's primary claim (a VRF for
    // every authority) and the parachain subsystems (has_keys) do, each slot.
    for i in 0..1000u32 {
        let mut raw = [0u8; 32];
        raw[..4].copy_from_slice(&i.to_le_bytes());
        raw[31] = 0x77;
        let other = sr25519::Public::from_raw(raw);
        assert!(!ks.has_keys(&[(other.0.to_vec(), BABE)]));
        assert_eq!(ks.sr25519_vrf_sign(BABE, &other, &data).unwrap(), None);
    }
    assert!(ks.has_keys(&[(own.0.to_vec(), BABE)]));
    assert!(ks.sr25519_vrf_sign(BABE, &own, &data).unwrap().is_some());
    let seconds = start.elapsed().as_secs() + 2;
    assert_eq!(
        rpc_count(&signer, "keystore_sr25519VrfSign"),
        1,
        "only our key's VRF went out"
    );
    assert_eq!(rpc_count(&signer, "keystore_hasKeys"), 0);
    let listings = rpc_count(&signer, "keystore_publicKeys");
    assert!(
        listings <= 3 * seconds,
        "{listings} listings in about {seconds} s"
    );

    // A key generated through another client is seen within a second.
    let other_client = signer.keystore();
    let fresh = other_client.sr25519_generate_new(BABE, None).unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    assert!(ks.has_keys(&[(fresh.0.to_vec(), BABE)]));
    assert!(ks.sr25519_vrf_sign(BABE, &fresh, &data).unwrap().is_some());
}
