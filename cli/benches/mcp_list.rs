//! Wall time of a whole `codex mcp list` process with 100 configured servers
//! and a requirements layer (issue target: median <= 5 ms), twice: with
//! commands that do not exist (the original fixture), and with bare
//! commands that admission resolves on the admin search path (every stdio
//! server found, made absolute and resolved; no rule asks for a hash).
//!
//! Run with `cargo bench -p codex-cli --bench mcp_list`. Each iteration spawns
//! the real binary and waits for it, so the figure includes exec, dynamic
//! loading, config and requirements parsing, admission and rendering.

use std::process::{Command, Stdio};

use criterion::{Criterion, criterion_group, criterion_main};

/// 100 servers whose stdio commands exist, found through the admin
/// search path under an allowlist.
fn resolving_fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let programs = ["env", "sh", "true", "cat", "ls", "python3"];
    let mut config = String::new();
    let mut requirements = String::new();
    for i in 0..100 {
        if i % 4 == 0 {
            config.push_str(&format!(
                "[mcp_servers.remote_{i}]\nurl = \"https://mcp{i}.example.com/mcp\"\n\n"
            ));
            requirements.push_str(&format!(
                "[mcp_server_allowlist.remote_{i}]\nurl = \"https://mcp{i}.example.com/mcp\"\n\n"
            ));
        } else {
            let program = programs[i % programs.len()];
            config.push_str(&format!(
                "[mcp_servers.server_{i}]\ncommand = \"{program}\"\nargs = [\"--port\", \"{i}\"]\n\
                 env = {{ API_KEY = \"secret-{i}\" }}\n\n"
            ));
            requirements.push_str(&format!(
                "[mcp_server_allowlist.server_{i}]\ncommand = \"{program}\"\nallowed_env = [\"API_KEY\"]\n\n"
            ));
        }
    }
    std::fs::create_dir(dir.path().join("home")).expect("home");
    std::fs::write(dir.path().join("home/config.toml"), config).expect("config");
    std::fs::write(dir.path().join("requirements.toml"), requirements).expect("requirements");
    dir
}

fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = String::from("model = \"o3\"\n\n");
    let mut requirements = String::from("allowed_sandbox_modes = [\"read-only\"]\n\n");
    for i in 0..100 {
        if i % 4 == 0 {
            config.push_str(&format!(
                "[mcp_servers.remote_{i}]\nurl = \"https://mcp{i}.example.com/mcp\"\n\
                 bearer_token_env_var = \"TOKEN_{i}\"\n\n"
            ));
            requirements.push_str(&format!(
                "[mcp_servers.remote_{i}.identity]\nurl = \"https://MCP{i}.example.com:443/mcp\"\n\n"
            ));
        } else {
            config.push_str(&format!(
                "[mcp_servers.server_{i}]\ncommand = \"/opt/mcp/server-{i}\"\n\
                 args = [\"--port\", \"{i}\"]\nenv = {{ API_KEY = \"secret-{i}\" }}\n\n"
            ));
            if i % 3 != 0 {
                requirements.push_str(&format!(
                    "[mcp_server_allowlist.server_{i}]\ncommand = \"/opt/mcp/server-{i}\"\n\n"
                ));
            }
        }
    }
    std::fs::create_dir(dir.path().join("home")).expect("home");
    std::fs::write(dir.path().join("home/config.toml"), config).expect("config");
    std::fs::write(dir.path().join("requirements.toml"), requirements).expect("requirements");
    dir
}

fn mcp_list(c: &mut Criterion) {
    for (label, dir) in [
        ("codex mcp list (100 servers + requirements)", fixture()),
        (
            "codex mcp list (100 resolved servers + allowlist)",
            resolving_fixture(),
        ),
    ] {
        bench_list(c, label, &dir);
    }
}

fn bench_list(c: &mut Criterion, label: &str, dir: &tempfile::TempDir) {
    let run = || {
        let status = Command::new(env!("CARGO_BIN_EXE_codex"))
            .args(["mcp", "list"])
            .env("CODEX_HOME", dir.path().join("home"))
            .env(
                "CODEX_REQUIREMENTS_FILE",
                dir.path().join("requirements.toml"),
            )
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run codex");
        assert!(status.success());
    };
    c.bench_function(label, |b| b.iter(run));
}

criterion_group!(benches, mcp_list);
criterion_main!(benches);
