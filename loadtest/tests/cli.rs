//! Keeps the binary honest without a server: argument errors exit 2. Being an
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
