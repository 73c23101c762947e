//! The server under test: either an aperture process this tool starts on 127.0.0.1:0
//! (with the memory settings and a source root it prepares) or one already
//! running at `--url`. When the PID is known, its peak RSS is sampled from /proc.

use std::io::{BufRead, BufReader};
use std::path::{Component, Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// The 200 MB blob of the `range` scenario.
pub const BLOB_NAME: &str = "loadtest-blob.bin";
pub const BLOB_SIZE: u64 = 200 * 1024 * 1024;

/// Copies `images` into `root` and creates the sparse blob, so the server reads real
/// files without 200 MB of disk being written.
pub fn prepare_root(root: &Path, images: &[PathBuf]) -> Result<(), String> {
    std::fs::create_dir_all(root).map_err(|e| format!("{}: {e}", root.display()))?;
    for img in images {
        let name = img.file_name().ok_or("image without a file name")?;
        std::fs::copy(img, root.join(name)).map_err(|e| format!("{}: {e}", img.display()))?;
    }
    let blob = root.join(BLOB_NAME);
    let f = std::fs::File::create(&blob).map_err(|e| format!("{}: {e}", blob.display()))?;
    f.set_len(BLOB_SIZE)
        .map_err(|e| format!("{}: {e}", blob.display()))?;
    Ok(())
}

/// Copies the files `rel` (paths relative to `from`) to the same relative paths under
/// `to`, creating folders: the corpus of the `hostile` scenario.
pub fn copy_tree<'a>(
    from: &Path,
    to: &Path,
    rel: impl IntoIterator<Item = &'a str>,
) -> Result<(), String> {
    for rel in rel {
        if !Path::new(rel)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
        {
            return Err(format!(
                "`{rel}` is not a relative path inside {}",
                from.display()
            ));
        }
        let (src, dst) = (from.join(rel), to.join(rel));
        if let Some(dir) = dst.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        std::fs::copy(&src, &dst).map_err(|e| format!("{}: {e}", src.display()))?;
    }
    Ok(())
}

/// A spawned aperture; killed when dropped so no run leaves a server behind.
pub struct Spawned {
    child: Child,
    pub addr: String,
}

/// How long a debug build may take to print its listening line.
const START_TIMEOUT: Duration = Duration::from_secs(30);

impl Spawned {
    pub fn start(bin: &Path, root: &Path, env: &[(String, String)]) -> Result<Spawned, String> {
        let mut cmd = Command::new(bin);
        cmd.arg("serve");
        // aperture refuses unknown APERTURE_* variables and a key in the caller's
        // environment would change signing: start from none of them.
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("APERTURE_") || k == "PORT" {
                cmd.env_remove(k);
            }
        }
        cmd.env("APERTURE_LISTEN", "127.0.0.1:0")
            .env("APERTURE_LOCAL_ROOT", root)
            .env("APERTURE_MEMORY_BUDGET_MB", "256")
            .env("APERTURE_CACHE_MB", "128")
            // a log line per request would cost the server CPU the test is measuring
            .env("APERTURE_LOG_LEVEL", "warn")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("{}: cannot start: {e}", bin.display()))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = std::sync::mpsc::channel();
        // Reads the listening line, then keeps draining stdout (logs go there) so the
        // server never blocks on a full pipe; ends at EOF, i.e. when the server exits.
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
            Ok(addr) => Ok(Spawned { child, addr }),
            Err(_) => {
                let _ = child.kill();
                let status = child.wait().map(|s| s.to_string()).unwrap_or_default();
                Err(format!(
                    "{} did not print its listening line within {START_TIMEOUT:?} ({status})",
                    bin.display()
                ))
            }
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `Some(status)` if the server has exited.
    pub fn exited(&mut self) -> Option<String> {
        self.child.try_wait().ok().flatten().map(|s| s.to_string())
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Samples a process's VmRSS every 100 ms in the background and reads its VmHWM.
pub struct RssSampler {
    pid: u32,
    max_rss: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

/// Upper bound on samples (about 3 hours at 100 ms), so the sampler ends even if
/// `stop` is never called.
const MAX_SAMPLES: u32 = 100_000;

impl RssSampler {
    pub fn start(pid: u32) -> RssSampler {
        let max_rss = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (m, s) = (max_rss.clone(), stop.clone());
        std::thread::spawn(move || {
            for _ in 0..MAX_SAMPLES {
                if s.load(Ordering::Relaxed) {
                    break;
                }
                match status_kb(pid, "VmRSS:") {
                    Some(kb) => {
                        m.fetch_max(kb * 1024, Ordering::Relaxed);
                    }
                    None => break, // the process is gone
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        RssSampler { pid, max_rss, stop }
    }

    /// Starts a new measurement window: zeroes the sampled maximum and asks the kernel
    /// to reset VmHWM (`clear_refs` 5), so each scenario gets its own peak.
    pub fn reset(&self) {
        self.max_rss.store(0, Ordering::Relaxed);
        let _ = std::fs::write(format!("/proc/{}/clear_refs", self.pid), "5");
        if let Some(kb) = status_kb(self.pid, "VmRSS:") {
            self.max_rss.fetch_max(kb * 1024, Ordering::Relaxed);
        }
    }

    /// Peak RSS in bytes since the last `reset`.
    pub fn peak(&self) -> u64 {
        let hwm = status_kb(self.pid, "VmHWM:").unwrap_or(0) * 1024;
        hwm.max(self.max_rss.load(Ordering::Relaxed))
    }
}

impl Drop for RssSampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn status_kb(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
