//! Test support: a real `tee-signer serve` (soft TEE) in a temporary directory.
//!
//! The signer binary is `$TEE_SIGNER_BIN`, or `build/cli/tee-signer` at the
//! repository root (built by `cmake --preset default`); its development TA
//! (`$TS_SOFTTEE_TA`, or `build/tee/ts-softtee-ta-test`) is used when a test
//! needs well-known dev keys in the signer and in a `LocalKeystore` alike.
//! A missing binary fails the test: nothing here skips.

#![allow(dead_code)]

use std::{
    io::Read,
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};
use tee_signer_keystore::{SignerConfig, TeeSignerKeystore};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

pub fn signer_bin() -> PathBuf {
    let path = std::env::var_os("TEE_SIGNER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("build/cli/tee-signer"));
    assert!(
        path.is_file(),
        "{} not found: build the signer first (cmake --preset default && cmake --build --preset default) or set TEE_SIGNER_BIN",
        path.display()
    );
    path
}

fn dev_ta() -> PathBuf {
    let path = std::env::var_os("TS_SOFTTEE_TA_TEST")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            signer_bin()
                .parent()
                .unwrap()
                .join("../tee/ts-softtee-ta-test")
        });
    assert!(
        path.is_file(),
        "{} not found (the development TA)",
        path.display()
    );
    path
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Options for one signer process.
#[derive(Clone, Default)]
pub struct Options {
    /// Use the development TA and `--allow-dev-seeds` (dev keys like //Alice).
    pub dev_seeds: bool,
    /// Extra `serve` arguments.
    pub args: Vec<String>,
    pub tcp: bool,
}

pub struct Signer {
    pub dir: tempfile::TempDir,
    pub socket: PathBuf,
    pub port: u16,
    options: Options,
    child: Option<Child>,
}

impl Signer {
    pub fn start(options: Options) -> Signer {
        let dir = tempfile::Builder::new()
            .prefix("ts-node-")
            .tempdir()
            .unwrap();
        let socket = dir.path().join("rpc.sock");
        let port = free_port();
        let mut signer = Signer {
            dir,
            socket,
            port,
            options,
            child: None,
        };
        signer.spawn();
        signer
    }

    pub fn unix() -> Signer {
        Signer::start(Options::default())
    }

    pub fn dev() -> Signer {
        Signer::start(Options {
            dev_seeds: true,
            ..Default::default()
        })
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("signer.log")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Starts the process (again) on the same data directory and waits for
    /// "tee-signer ready".
    pub fn spawn(&mut self) {
        assert!(self.child.is_none());
        let log = std::fs::File::create(self.log_path()).unwrap();
        let mut cmd = Command::new(signer_bin());
        cmd.arg("serve")
            .arg("--data-dir")
            .arg(self.dir.path().join("data"))
            .arg("--unix-socket")
            .arg(&self.socket)
            .arg("--rpc-port")
            .arg(self.port.to_string())
            .args(&self.options.args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        if self.options.dev_seeds {
            cmd.arg("--allow-dev-seeds").env("TS_SOFTTEE_TA", dev_ta());
        }
        let child = cmd.spawn().expect("start tee-signer");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let mut text = String::new();
            std::fs::File::open(self.log_path())
                .unwrap()
                .read_to_string(&mut text)
                .unwrap();
            if text.contains("tee-signer ready") {
                break;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("tee-signer exited early ({status}):\n{text}");
            }
            assert!(
                Instant::now() < deadline,
                "tee-signer not ready in 60 s:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL, as a crash or the OOM killer would.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    pub fn url(&self) -> String {
        format!("unix:{}", self.socket.display())
    }

    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }

    pub fn keystore(&self) -> Arc<TeeSignerKeystore> {
        Arc::new(TeeSignerKeystore::new(SignerConfig::new(self.url())).unwrap())
    }
}

impl Drop for Signer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGTERM: a clean shutdown, so the log shows any error at exit.
            let _ = Command::new("kill").arg(child.id().to_string()).status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
