//! Keeps the binary honest without aperture: argument errors exit 2, and an answer
//! past the deadline (from a stand-in server) counts as late. Being an
//! integration test, it also makes a root `cargo test` build the `aperture-loadtest`
//! binary, which `.ci/run` then runs in smoke mode without another compile.

use std::process::Command;

#[test]
fn unknown_scenario_is_a_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_aperture-loadtest"))
        .args(["--scenario", "nope"])
        .output()
        .expect("run aperture-loadtest");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("carousel"));
}

#[test]
fn url_without_root_is_refused() {
    let out = Command::new(env!("CARGO_BIN_EXE_aperture-loadtest"))
        .args(["--url", "http://127.0.0.1:9", "--scenario", "range"])
        .output()
        .expect("run aperture-loadtest");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--root"));
}

/// A stand-in server for the `range` scenario: answers every request with the right
/// 206 after `delay`, on a thread per connection (keep-alive); returns its URL.
fn slow_range_server(delay: std::time::Duration) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { return };
            std::thread::spawn(move || {
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut out = conn;
                loop {
                    let mut range = None;
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if line.trim().is_empty() {
                            break;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("range: bytes=") {
                            let (a, b) = v.trim().split_once('-').unwrap();
                            range = Some((a.parse::<u64>().unwrap(), b.parse::<u64>().unwrap()));
                        }
                    }
                    let (a, b) = range.unwrap_or((0, 0));
                    std::thread::sleep(delay);
                    let head = format!(
                        "HTTP/1.1 206 Partial Content\r\nContent-Length: {}\r\n\
                         Content-Range: bytes {a}-{b}/{}\r\n\r\n",
                        b - a + 1,
                        200 * 1024 * 1024
                    );
                    let body = vec![0u8; (b - a + 1) as usize];
                    if out.write_all(head.as_bytes()).is_err() || out.write_all(&body).is_err() {
                        return;
                    }
                }
            });
        }
    });
    url
}

/// One range request against a server that answers after 1.6 s: late when the
/// server's deadline is 0.5 s (late after 1.5 s), on time with 5 s. Exit code, stdout.
fn one_slow_range(deadline_secs: &str) -> (Option<i32>, String) {
    let url = slow_range_server(std::time::Duration::from_millis(1600));
    let root = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_aperture-loadtest"))
        .args(["--url", &url, "--scenario", "range", "--requests", "1"])
        .args(["--deadline-secs", deadline_secs])
        .arg("--root")
        .arg(root.path())
        .output()
        .expect("run aperture-loadtest");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn answers_past_the_deadline_are_late_and_fail_the_run() {
    let (code, stdout) = one_slow_range("0.5");
    assert_eq!(code, Some(1), "{stdout}");
    for want in [
        "timeouts 0  late 1",
        "past the server's deadline",
        "| 206:1 | 0 | 0 | 0 | 0/0 | 0 | 1 | n/a |",
    ] {
        assert!(stdout.contains(want), "{want}: {stdout}");
    }
    // the same answer within a 5 s deadline passes
    let (code, stdout) = one_slow_range("5");
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("timeouts 0  late 0"), "{stdout}");
}
