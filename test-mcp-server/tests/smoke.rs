//! The server answers `--help` with its usage.
//!
//! This integration test also makes `cargo test --workspace` build the
//! `codex-test-mcp-server` executable, which the end-to-end suite uses.

use std::process::Command;

#[test]
fn prints_usage() {
    let output = Command::new(env!("CARGO_BIN_EXE_codex-test-mcp-server"))
        .arg("--help")
        .output()
        .expect("run the test server");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(text.contains("usage: codex-test-mcp-server"), "{text}");
}
