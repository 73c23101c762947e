//! Captures the test binary's log output (JSON lines, `aperture=debug`) in memory, so
//! a test can read the lines its own requests wrote, found by their request id. The
//! subscriber is global and installed once; every test that runs after it logs here
//! too, which only makes the "no secrets" checks stricter.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tracing_subscriber::EnvFilter;

/// Past this, the buffer is emptied before a write, so a long test run cannot grow it
/// without bound (a test reads its lines right after its requests).
const MAX_BYTES: usize = 64 << 20;

#[derive(Clone)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut all = self.0.lock().unwrap();
        if all.len() > MAX_BYTES {
            all.clear();
        }
        all.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The shared capture, installing the subscriber on first use.
pub fn capture() -> Logs {
    static LOGS: OnceLock<Logs> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let sink = buf.clone();
        tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_env_filter(EnvFilter::new("aperture=debug"))
            .with_writer(move || Sink(sink.clone()))
            .try_init()
            .expect("no other global subscriber in the test binary");
        Logs(buf)
    })
    .clone()
}

impl Logs {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// Every captured line containing `needle`.
    pub fn lines(&self, needle: &str) -> Vec<String> {
        self.text()
            .lines()
            .filter(|l| l.contains(needle))
            .map(str::to_string)
            .collect()
    }

    /// The first line containing `needle`, waiting for it: the access-log line is
    /// written when the server drops the body, just after the client has read it.
    pub async fn wait_for(&self, needle: &str) -> String {
        let start = Instant::now();
        loop {
            if let Some(line) = self.lines(needle).into_iter().next() {
                return line;
            }
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "no log line with {needle}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
