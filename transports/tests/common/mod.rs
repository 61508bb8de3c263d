//! Helpers shared by the transport tests: the test server binary, configs,
//! contexts and small waits.

#![allow(dead_code, unreachable_pub)]

pub mod http_fixture;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use codex_transports::{CanonicalUrl, ConnectContext, HttpConfig, StdioConfig, TransportConfig};
use tokio::io::{AsyncBufReadExt, BufReader};

/// Generous bound for anything that should take milliseconds.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("transports/ has a parent")
        .to_path_buf()
}

/// The `codex-test-mcp-server` binary, built once per test process.
pub fn server_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace_root().join("target"));
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = std::process::Command::new(cargo)
            .args(["build", "-q", "-p", "codex-test-mcp-server"])
            .current_dir(workspace_root())
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building codex-test-mcp-server failed");
        let binary = target.join("debug").join("codex-test-mcp-server");
        assert!(binary.exists(), "{} missing", binary.display());
        binary
    })
}

/// The parent environment snapshot the tests pass in (never the real one).
pub fn parent_env() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("HOME".to_owned(), "/nonexistent-home".to_owned()),
        ("PATH".to_owned(), "/usr/local/bin:/usr/bin:/bin".to_owned()),
        ("LANG".to_owned(), "C.UTF-8".to_owned()),
    ])
}

/// A context for server `name` in the temp dir.
pub fn ctx(name: &str, env: BTreeMap<String, String>) -> ConnectContext {
    ConnectContext::new(name, std::env::temp_dir(), env)
}

/// `ctx` with the launch of `config` when it is a stdio server, resolved
/// without policy (these tests exercise the transport, not admission).
pub fn with_launch(ctx: ConnectContext, config: &TransportConfig) -> ConnectContext {
    match config {
        TransportConfig::Stdio(stdio) => {
            let launch = codex_transports::StdioLaunch::unchecked(stdio, &ctx.cwd, &ctx.env)
                .expect("the test server resolves");
            ctx.with_launch(launch)
        }
        TransportConfig::StreamableHttp(_) | TransportConfig::Sse(_) => ctx,
    }
}

/// Our test server over stdio with `args`.
pub fn stdio_server(args: &[&str]) -> TransportConfig {
    TransportConfig::Stdio(StdioConfig {
        command: server_binary().display().to_string(),
        args: args.iter().map(|arg| (*arg).to_owned()).collect(),
        env: BTreeMap::new(),
        env_vars: Vec::new(),
        cwd: None,
    })
}

/// An HTTP config for `url` with no auth or headers.
pub fn http_config(url: &str) -> HttpConfig {
    HttpConfig {
        url: url.to_owned(),
        canonical_url: CanonicalUrl::parse(url).expect("valid url"),
        bearer_token_env_var: None,
        http_headers: BTreeMap::new(),
        env_http_headers: BTreeMap::new(),
    }
}

/// Our test server over streamable HTTP, killed on drop.
pub struct HttpServer {
    pub url: String,
    _child: tokio::process::Child,
}

/// Starts the test server with `--http 127.0.0.1:0` plus `args` and reads
/// the URL it prints.
pub async fn http_server(args: &[&str]) -> HttpServer {
    let mut child = tokio::process::Command::new(server_binary())
        .args(["--http", "127.0.0.1:0"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("test server starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut line = String::new();
    tokio::time::timeout(PATIENCE, BufReader::new(stdout).read_line(&mut line))
        .await
        .expect("server prints its address in time")
        .expect("stdout readable");
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    HttpServer { url, _child: child }
}

/// Whether every process in group `pgid` is gone or a zombie.
pub fn group_is_dead(pgid: u32) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return false;
    };
    entries.flatten().all(|entry| {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            return true;
        };
        // Fields after the parenthesised command: state, ppid, pgrp, ...
        let Some(after) = stat.rsplit_once(')').map(|(_, rest)| rest) else {
            return true;
        };
        let fields: Vec<&str> = after.split_whitespace().collect();
        let (Some(state), Some(pgrp)) = (fields.first(), fields.get(2)) else {
            return true;
        };
        *pgrp != pgid.to_string() || *state == "Z"
    })
}

/// Waits (up to [`PATIENCE`]) until `check` holds, re-checking every few
/// milliseconds.
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
