//! `aperture health`, the container's HEALTHCHECK: it probes the address `serve` would
//! listen on under the same environment (`PORT` included), or `--addr`.

use crate::support::child::{ChildServer, aperture_command};

fn health(env: &[(&str, String)], args: &[&str]) -> std::process::Output {
    let mut cmd = aperture_command("health");
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run aperture health")
}

#[test]
fn health_probes_the_configured_port() {
    let s = ChildServer::start(&[]);
    let root = ("APERTURE_LOCAL_ROOT", s.root.path().display().to_string());
    // PORT alone means 0.0.0.0:PORT, probed on loopback.
    let out = health(&[root.clone(), ("PORT", s.addr.port().to_string())], &[]);
    assert!(out.status.success(), "{out:?}");
    let out = health(
        std::slice::from_ref(&root),
        &["--addr", &s.addr.to_string()],
    );
    assert!(out.status.success(), "{out:?}");

    // Nothing listening: exit 1 and a reason.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    let out = health(&[root, ("PORT", port.to_string())], &[]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("aperture health: 127.0.0.1:"), "{err}");
}
