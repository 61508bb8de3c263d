//! Wall time of a whole `codex mcp list` process with 100 configured servers
//! and a requirements layer (issue target: median <= 5 ms).
//!
//! Run with `cargo bench -p codex-cli --bench mcp_list`. Each iteration spawns
//! the real binary and waits for it, so the figure includes exec, dynamic
//! loading, config and requirements parsing, admission and rendering.

use std::process::{Command, Stdio};

use criterion::{Criterion, criterion_group, criterion_main};

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
    let dir = fixture();
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
    c.bench_function("codex mcp list (100 servers + requirements)", |b| {
        b.iter(run)
    });
}

criterion_group!(benches, mcp_list);
criterion_main!(benches);
