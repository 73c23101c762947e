//! aperture as a separate process: the real binary (`CARGO_BIN_EXE_aperture`) started on
//! 127.0.0.1:0 and configured only through its environment, for the tests that measure
//! memory. An in-process server shares its RSS with every other test running in parallel
//! in this binary, so a growth figure taken there measures the neighbours as much as the
//! server; a child's /proc/PID/status is the server alone.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use aperture::cli::signed_path;
use aperture::url::signature::Signer;

use super::{KEY_HEX, Root, SALT_HEX};

/// How long a debug build may take to print its listening line.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A running aperture process, killed when dropped.
pub struct ChildServer {
    child: Child,
    pub addr: SocketAddr,
    pub root: Root,
    signer: Signer,
}

impl ChildServer {
    /// Signed with the test key and salt, serving a fresh fixture root, plus `env`.
    pub fn start(env: &[(&str, String)]) -> ChildServer {
        let root = Root::new();
        let mut cmd = aperture_command("serve");
        cmd.env("APERTURE_LISTEN", "127.0.0.1:0")
            .env("APERTURE_LOCAL_ROOT", root.path())
            .env("APERTURE_KEY", KEY_HEX)
            .env("APERTURE_SALT", SALT_HEX)
            .env("APERTURE_LOG_LEVEL", "warn");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().expect("start the aperture binary");
        let addr = read_listening_line(&mut child);
        let pairs = vec![(
            hex::decode(KEY_HEX).unwrap(),
            hex::decode(SALT_HEX).unwrap(),
        )];
        ChildServer {
            child,
            addr,
            root,
            signer: Signer::new(pairs, 32, false),
        }
    }

    pub fn sign(&self, source: &str, options: &str) -> String {
        signed_path(&self.signer, source, options, None, false)
    }

    /// Signed raw path for a file in the root.
    pub fn raw(&self, name: &str) -> String {
        self.sign(&format!("local:///{name}"), "raw:1")
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits (at most `limit`) for the process to exit.
    pub fn terminate(&mut self, limit: Duration) -> std::process::ExitStatus {
        // SAFETY: kill(2) on our own child's pid; no memory is involved.
        let sent = unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        assert_eq!(sent, 0, "SIGTERM could not be sent");
        let deadline = std::time::Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for aperture") {
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "aperture did not exit within {limit:?} of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The server's resident set size in bytes.
    pub fn rss_bytes(&self) -> u64 {
        rss_of(
            &Path::new("/proc")
                .join(self.child.id().to_string())
                .join("status"),
        )
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The aperture binary with `subcommand`, and none of the caller's `APERTURE_*`, `PORT`
/// or `AWS_*` variables (aperture refuses unknown `APERTURE_*` ones).
pub fn aperture_command(subcommand: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_aperture"));
    cmd.arg(subcommand);
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if k.starts_with("APERTURE_") || k == "PORT" || k.starts_with("AWS_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// Waits for `aperture listening on http://ADDR`, then keeps draining stdout on a thread
/// so the server never blocks on a full pipe.
fn read_listening_line(child: &mut Child) -> SocketAddr {
    let stdout = child.stdout.take().expect("stdout is piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(addr) = line.strip_prefix("aperture listening on http://")
                && let Some(tx) = tx.take()
            {
                let _ = tx.send(addr.trim().to_owned());
            }
        }
    });
    match rx.recv_timeout(START_TIMEOUT) {
        Ok(addr) => addr.parse().expect("a socket address"),
        Err(_) => {
            let _ = child.kill();
            panic!("aperture did not print its listening line within {START_TIMEOUT:?}");
        }
    }
}

/// VmRSS of a /proc status file, in bytes.
pub fn rss_of(status: &Path) -> u64 {
    let status = std::fs::read_to_string(status).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}
