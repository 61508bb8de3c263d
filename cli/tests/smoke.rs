//! The binary starts and prints its version.
//!
//! Besides checking that, this integration test makes `cargo test` build the
//! `codex` executable itself, which the end-to-end suite in
//! `integration-tests/` drives.

use std::process::Command;

#[test]
fn prints_version() {
    let output = Command::new(env!("CARGO_BIN_EXE_codex"))
        .arg("--version")
        .output()
        .expect("run codex");
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.starts_with("codex "), "{stdout}");
}
