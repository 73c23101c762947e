//! `aperture health`, the container's HEALTHCHECK: it probes the address `serve` would
//! listen on under the same environment (`PORT` included), or `--addr`.

use crate::support::child::{ChildServer, aperture_command};

/// Runs `aperture health` in an empty folder: it needs no local root (the default
/// `samples` is not there), only the listen address.
fn health(env: &[(&str, String)], args: &[&str]) -> std::process::Output {
    let empty = tempfile::tempdir().unwrap();
    let mut cmd = aperture_command("health");
    cmd.args(args).current_dir(empty.path());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run aperture health")
}

#[test]
fn health_probes_the_configured_port() {
    let s = ChildServer::start(&[]);
    // PORT alone means 0.0.0.0:PORT, probed on loopback.
    let out = health(&[("PORT", s.addr.port().to_string())], &[]);
    assert!(out.status.success(), "{out:?}");
    let out = health(&[], &["--addr", &s.addr.to_string()]);
    assert!(out.status.success(), "{out:?}");
    // A local root that does not exist is not health's concern either.
    let gone = ("APERTURE_LOCAL_ROOT", "/no/such/dir".to_string());
    let out = health(&[gone], &["--addr", &s.addr.to_string()]);
    assert!(out.status.success(), "{out:?}");

    // Nothing listening: exit 1 and a reason.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    let out = health(&[("PORT", port.to_string())], &[]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("aperture health: 127.0.0.1:"), "{err}");
}
