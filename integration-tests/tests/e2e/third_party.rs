//! Real third-party MCP servers through `codex-transports`: the reference
//! `server-everything` over stdio, streamable HTTP and legacy SSE (one
//! scenario, every transport), and the Python `mcp-server-time` over stdio.
//!
//! The servers come from `scripts/install-test-deps.sh`; see
//! [`McpDeps::locate`] for what happens when they are missing.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use codex_integration_tests::McpDeps;
use codex_transports::{
    CanonicalUrl, ConnectContext, HttpConfig, McpClient, StdioConfig, TransportConfig,
    TransportPluginExt, TransportRegistry,
};
use rmcp::model::{CallToolRequestParams, CallToolResult, JsonObject};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Connect plus `initialize`; Node and Python start slowly on a busy CI box.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(60);
/// One request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Until an HTTP server says it listens.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Test-only Node preload (written for these tests): a `listen(port)` call
/// without a host binds 127.0.0.1 instead of every interface, because
/// server-everything takes only a `PORT`.
const LOOPBACK_SHIM: &str = r#"'use strict';
const net = require('node:net');
const originalListen = net.Server.prototype.listen;
net.Server.prototype.listen = function listenOnLoopback(...args) {
  const port = args[0];
  const portOnly = typeof port === 'number' || (typeof port === 'string' && /^[0-9]+$/.test(port));
  if (portOnly && typeof args[1] !== 'string') {
    args.splice(1, 0, '127.0.0.1');
  }
  return originalListen.apply(this, args);
};
"#;

#[tokio::test]
async fn server_everything_over_stdio() {
    let Some(deps) = McpDeps::locate("server_everything_over_stdio") else {
        return;
    };
    let config = TransportConfig::Stdio(StdioConfig {
        command: deps.node().display().to_string(),
        args: vec![
            deps.server_everything().display().to_string(),
            "stdio".into(),
        ],
        env: BTreeMap::new(),
        env_vars: Vec::new(),
        cwd: None,
    });
    let client = connect(&config).await;
    assert!(
        client.process.is_some(),
        "a stdio server is a local process"
    );
    check_everything(client, "stdio").await;
}

#[tokio::test]
async fn server_everything_over_streamable_http() {
    let Some(deps) = McpDeps::locate("server_everything_over_streamable_http") else {
        return;
    };
    let server = HttpServer::start(&deps, "streamableHttp").await;
    let config = TransportConfig::StreamableHttp(http_config(&server.url("/mcp")));
    check_everything(connect(&config).await, "streamable_http").await;
    server.stop().await;
}

#[tokio::test]
async fn server_everything_over_legacy_sse() {
    let Some(deps) = McpDeps::locate("server_everything_over_legacy_sse") else {
        return;
    };
    let server = HttpServer::start(&deps, "sse").await;
    let config = TransportConfig::Sse(http_config(&server.url("/sse")));
    check_everything(connect(&config).await, "sse").await;
    server.stop().await;
}

#[tokio::test]
async fn mcp_server_time_over_stdio() {
    let Some(deps) = McpDeps::locate("mcp_server_time_over_stdio") else {
        return;
    };
    let config = TransportConfig::Stdio(StdioConfig {
        command: deps.mcp_server_time().display().to_string(),
        args: vec!["--local-timezone".into(), "UTC".into()],
        env: BTreeMap::new(),
        env_vars: Vec::new(),
        cwd: None,
    });
    let mut client = connect(&config).await;
    let tools = list_tool_names(&client).await;
    assert!(
        tools.iter().any(|name| name == "get_current_time"),
        "tools: {tools:?}"
    );
    let result = call(&client, "get_current_time", json!({"timezone": "UTC"})).await;
    assert_ne!(result.is_error, Some(true), "{result:?}");
    let text = only_text(&result);
    let answer: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(answer["timezone"], "UTC", "{answer}");
    let datetime = answer["datetime"].as_str().unwrap_or_default();
    assert!(
        datetime.ends_with("+00:00") && datetime.len() >= 19,
        "{answer}"
    );
    close(&mut client).await;
}

/// The same real servers through the `codex` binary: a supervised session
/// admits them, lists their tools and routes calls to them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_servers_through_the_codex_binary() {
    let Some(deps) = McpDeps::locate("real_servers_through_the_codex_binary") else {
        return;
    };
    let http = HttpServer::start(&deps, "streamableHttp").await;
    let env = codex_integration_tests::TestEnv::new();
    let node = deps.node().display().to_string();
    let everything = deps.server_everything().display().to_string();
    let time = deps.mcp_server_time().display().to_string();
    env.write_config(&format!(
        "[mcp_servers.everything]\ncommand = {node:?}\nargs = [{everything:?}, \"stdio\"]\n\
         [mcp_servers.time]\ncommand = {time:?}\nargs = [\"--local-timezone\", \"UTC\"]\n\
         [mcp_servers.remote]\nurl = {:?}\n",
        http.url("/mcp")
    ));
    let env = std::sync::Arc::new(env);
    let run = |args: &'static [&'static str]| {
        let env = std::sync::Arc::clone(&env);
        tokio::task::spawn_blocking(move || env.codex(args))
    };
    let tools = run(&["mcp", "tools", "--json"]).await.expect("join");
    assert_eq!(tools.code, 0, "{}", tools.transcript());
    let listed: Value = serde_json::from_str(&tools.stdout).expect("json");
    let qualified: Vec<&str> = listed
        .as_array()
        .expect("servers")
        .iter()
        .flat_map(|server| server["tools"].as_array().into_iter().flatten())
        .filter_map(|tool| tool["qualified_name"].as_str())
        .collect();
    for name in [
        "mcp__everything__echo",
        "mcp__remote__echo",
        "mcp__time__get_current_time",
    ] {
        assert!(
            qualified.contains(&name),
            "{name} missing from {qualified:?}"
        );
    }
    let echo = run(&[
        "mcp",
        "call",
        "everything",
        "echo",
        "--args",
        r#"{"message": "via codex"}"#,
    ])
    .await
    .expect("join");
    assert_eq!(
        (echo.code, echo.stdout.as_str()),
        (0, "Echo: via codex\n"),
        "{}",
        echo.transcript()
    );
    let remote = run(&[
        "mcp",
        "call",
        "remote",
        "echo",
        "--args",
        r#"{"message": "over http"}"#,
    ])
    .await
    .expect("join");
    assert_eq!(
        remote.stdout,
        "Echo: over http\n",
        "{}",
        remote.transcript()
    );
    let now = run(&[
        "mcp",
        "call",
        "time",
        "get_current_time",
        "--args",
        r#"{"timezone": "UTC"}"#,
    ])
    .await
    .expect("join");
    assert_eq!(now.code, 0, "{}", now.transcript());
    assert!(
        now.stdout.contains("\"timezone\": \"UTC\""),
        "{}",
        now.stdout
    );
    http.stop().await;
}

/// The scenario every server-everything transport runs: its identity, the
/// whole tool list (following pagination) and an `echo` round trip.
async fn check_everything(mut client: McpClient, transport: &str) {
    let info = client
        .service
        .peer_info()
        .unwrap_or_else(|| panic!("{transport}: no initialize result"));
    let name = info.server_info.as_ref().map(|server| server.name.as_str());
    assert_eq!(name, Some("mcp-servers/everything"), "{transport}");
    let tools = list_tool_names(&client).await;
    for expected in ["echo", "get-sum"] {
        assert!(
            tools.iter().any(|name| name == expected),
            "{transport}: no {expected} in {tools:?}"
        );
    }
    let result = call(&client, "echo", json!({"message": "hello from codex"})).await;
    assert_ne!(result.is_error, Some(true), "{transport}: {result:?}");
    assert_eq!(only_text(&result), "Echo: hello from codex", "{transport}");
    close(&mut client).await;
}

async fn connect(config: &TransportConfig) -> McpClient {
    let registry = TransportRegistry::default();
    let plugin = registry
        .get(config.kind())
        .unwrap_or_else(|e| panic!("{e}"));
    let cwd = std::env::temp_dir();
    let env: std::collections::BTreeMap<String, String> = std::env::vars().collect();
    let mut ctx = ConnectContext::new("third-party", cwd.clone(), env.clone());
    if let TransportConfig::Stdio(stdio) = config {
        // The transport under test, outside a session: no admission.
        let launch = codex_transports::StdioLaunch::unchecked(stdio, &cwd, &env)
            .unwrap_or_else(|e| panic!("resolving {}: {e}", stdio.command));
        ctx = ctx.with_launch(launch);
    }
    plugin
        .connect_and_initialize(config, &ctx, CONNECT_TIMEOUT)
        .await
        .unwrap_or_else(|e| panic!("connecting over {}: {e}", config.kind()))
}

async fn list_tool_names(client: &McpClient) -> Vec<String> {
    let tools = tokio::time::timeout(REQUEST_TIMEOUT, client.service.peer().list_all_tools())
        .await
        .expect("tools/list timed out")
        .expect("tools/list");
    tools
        .into_iter()
        .map(|tool| tool.name.into_owned())
        .collect()
}

async fn call(client: &McpClient, tool: &'static str, arguments: Value) -> CallToolResult {
    let arguments: JsonObject = match arguments {
        Value::Object(map) => map,
        other => panic!("arguments must be an object: {other}"),
    };
    let request = CallToolRequestParams::new(tool).with_arguments(arguments);
    tokio::time::timeout(REQUEST_TIMEOUT, client.service.peer().call_tool(request))
        .await
        .unwrap_or_else(|_| panic!("tools/call {tool} timed out"))
        .unwrap_or_else(|e| panic!("tools/call {tool}: {e}"))
}

fn only_text(result: &CallToolResult) -> String {
    let texts: Vec<&str> = result
        .content
        .iter()
        .filter_map(|content| content.as_text())
        .map(|text| text.text.as_str())
        .collect();
    assert_eq!(texts.len(), 1, "one text content expected: {result:?}");
    texts[0].to_owned()
}

async fn close(client: &mut McpClient) {
    let closed = client
        .service
        .close_with_timeout(REQUEST_TIMEOUT)
        .await
        .expect("close");
    assert!(closed.is_some(), "the client did not close in time");
}

fn http_config(url: &str) -> HttpConfig {
    HttpConfig {
        url: url.to_owned(),
        canonical_url: CanonicalUrl::parse(url).unwrap_or_else(|e| panic!("{e}")),
        bearer_token_env_var: None,
        http_headers: BTreeMap::new(),
        env_http_headers: BTreeMap::new(),
    }
}

/// server-everything in an HTTP mode on 127.0.0.1, killed on drop.
struct HttpServer {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl HttpServer {
    /// Starts `mode` on a free port and waits until it says it listens.
    /// Retries on another port if the one picked was taken meanwhile.
    async fn start(deps: &McpDeps, mode: &str) -> HttpServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let shim = dir.path().join("loopback.cjs");
        std::fs::write(&shim, LOOPBACK_SHIM).expect("write shim");
        let mut failures = Vec::new();
        for _ in 0..3 {
            let port = free_port();
            match Self::try_start(deps, mode, &shim, dir.path(), port).await {
                Ok(child) => {
                    return HttpServer {
                        child,
                        port,
                        _dir: dir,
                    };
                }
                Err(stderr) => failures.push(format!("port {port}:\n{stderr}")),
            }
        }
        panic!(
            "server-everything {mode} did not start:\n{}",
            failures.join("\n")
        );
    }

    /// The child once it printed its "port N" line, or its stderr so far.
    async fn try_start(
        deps: &McpDeps,
        mode: &str,
        shim: &Path,
        home: &Path,
        port: u16,
    ) -> Result<Child, String> {
        let mut child = Command::new(deps.node())
            .arg("--require")
            .arg(shim)
            .arg(deps.server_everything())
            .arg(mode)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home)
            .env("PORT", port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn server-everything");
        let stderr = child.stderr.take().expect("piped stderr");
        let mut lines = BufReader::new(stderr).lines();
        let needle = format!("port {port}");
        let mut seen = String::new();
        let ready = tokio::time::timeout(READY_TIMEOUT, async {
            while let Ok(Some(line)) = lines.next_line().await {
                seen.push_str(&line);
                seen.push('\n');
                if line.contains(&needle) && !line.contains("in use") {
                    return true;
                }
            }
            false
        })
        .await;
        match ready {
            Ok(true) => {
                // Keep draining stderr so the server never blocks on a full pipe.
                tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
                Ok(child)
            }
            Ok(false) => {
                let _ = child.kill().await;
                Err(seen)
            }
            Err(_) => {
                let _ = child.kill().await;
                Err(format!(
                    "{seen}(no \"{needle}\" line within {READY_TIMEOUT:?})"
                ))
            }
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Kills the server and reaps it.
    async fn stop(mut self) {
        self.child.kill().await.expect("kill server-everything");
    }
}

/// A port that was free a moment ago on 127.0.0.1.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}
