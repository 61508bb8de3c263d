//! The stdio plugin's process rules: environment, cwd, stderr tail, exit
//! status, and the process group dying with the transport.

mod common;

use std::collections::BTreeMap;

use codex_test_mcp_server::{CRASH_ON_INIT_LINE, CRASH_TOOL_LINE};
use codex_transports::{
    ConnectError, StdioConfig, TransportConfig, TransportKind, TransportRegistry,
};
use pretty_assertions::assert_eq;
use rmcp::model::CallToolRequestParams;

use common::{
    PATIENCE, ctx, eventually, group_is_dead, parent_env, server_binary, stdio_server, with_launch,
};

/// A stdio config that runs `script` under `/bin/sh` and then execs our
/// test server.
fn shell_then_server(script: &str) -> StdioConfig {
    StdioConfig {
        command: "/bin/sh".to_owned(),
        args: vec![
            "-c".to_owned(),
            format!("{script}; exec \"$0\""),
            server_binary().display().to_string(),
        ],
        env: BTreeMap::new(),
        env_vars: Vec::new(),
        cwd: None,
    }
}

#[tokio::test]
async fn environment_is_cleared_then_rebuilt_and_cwd_applied() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = shell_then_server("env > env.txt; pwd > pwd.txt");
    config.env_vars = vec![
        "FROM_PARENT".to_owned(),
        "OVERRIDDEN".to_owned(),
        "NOT_IN_PARENT".to_owned(),
    ];
    config.env = BTreeMap::from([
        ("OVERRIDDEN".to_owned(), "literal".to_owned()),
        ("LITERAL".to_owned(), "l".to_owned()),
        ("PATH".to_owned(), "/usr/bin:/bin".to_owned()),
    ]);
    config.cwd = Some(dir.path().to_path_buf());
    let mut env = parent_env();
    env.extend([
        ("FROM_PARENT".to_owned(), "p".to_owned()),
        ("OVERRIDDEN".to_owned(), "parent".to_owned()),
        ("SECRET".to_owned(), "must not leak".to_owned()),
        ("TERM".to_owned(), "dumb".to_owned()),
    ]);

    let client = TransportRegistry::default()
        .connect_and_initialize(
            &TransportConfig::Stdio(config.clone()),
            &with_launch(ctx("env", env), &TransportConfig::Stdio(config)),
            PATIENCE,
        )
        .await
        .expect("initialises");

    let written = std::fs::read_to_string(dir.path().join("env.txt")).expect("env.txt");
    let mut seen: BTreeMap<&str, &str> = written
        .lines()
        .filter_map(|line| line.split_once('='))
        // Variables the shell itself sets.
        .filter(|(name, _)| !matches!(*name, "PWD" | "OLDPWD" | "SHLVL" | "_"))
        .collect();
    // The one variable the spawn adds: the tag its process tree is found by.
    assert!(seen.remove(codex_sandbox::TAG_ENV).is_some(), "{seen:?}");
    assert_eq!(
        seen,
        BTreeMap::from([
            ("FROM_PARENT", "p"),
            ("HOME", "/nonexistent-home"),
            ("LANG", "C.UTF-8"),
            ("LITERAL", "l"),
            ("OVERRIDDEN", "literal"),
            ("PATH", "/usr/bin:/bin"),
            ("TERM", "dumb"),
        ])
    );
    let pwd = std::fs::read_to_string(dir.path().join("pwd.txt")).expect("pwd.txt");
    let expected = dir.path().canonicalize().expect("canonical temp dir");
    assert_eq!(pwd.trim(), expected.display().to_string());
    drop(client);
}

#[tokio::test]
async fn crash_exit_status_and_stderr_tail_are_reported() {
    let client = TransportRegistry::default()
        .connect_and_initialize(
            &stdio_server(&[]),
            &with_launch(ctx("crash", parent_env()), &stdio_server(&[])),
            PATIENCE,
        )
        .await
        .expect("initialises");
    let process = client.process.clone().expect("stdio has a process");
    let call = client
        .service
        .peer()
        .call_tool(CallToolRequestParams::new("crash"))
        .await;
    assert!(call.is_err(), "the crash tool never answers: {call:?}");

    let status = tokio::time::timeout(PATIENCE, process.exited())
        .await
        .expect("exits in time")
        .expect("status known");
    assert_eq!(status.code(), Some(3));
    tokio::time::timeout(PATIENCE, process.stderr().closed())
        .await
        .expect("stderr reaches EOF");
    assert!(
        process.stderr().text().contains(CRASH_TOOL_LINE),
        "{:?}",
        process.stderr().text()
    );
    assert_eq!(
        process.stderr().last_lines(1),
        vec![CRASH_TOOL_LINE.to_owned()]
    );
}

#[tokio::test]
async fn crash_on_init_quotes_stderr_in_the_error() {
    let error = TransportRegistry::default()
        .connect_and_initialize(
            &stdio_server(&["--crash-on-init"]),
            &with_launch(
                ctx("boom", parent_env()),
                &stdio_server(&["--crash-on-init"]),
            ),
            PATIENCE,
        )
        .await
        .expect_err("initialize fails");
    match &error {
        ConnectError::Initialize {
            server,
            stderr_tail,
            ..
        } => {
            assert_eq!(server, "boom");
            assert!(stderr_tail.contains(CRASH_ON_INIT_LINE), "{stderr_tail:?}");
        }
        other => panic!("unexpected error {other:?}"),
    }
}

#[tokio::test]
async fn spawn_failure_names_server_and_command() {
    let config = TransportConfig::Stdio(StdioConfig {
        command: "/nonexistent/mcp-server".to_owned(),
        args: Vec::new(),
        env: BTreeMap::new(),
        env_vars: Vec::new(),
        cwd: None,
    });
    // A launch whose program vanished after it was resolved: the exec
    // fails, and the error says which server and which command.
    let mut spec = codex_sandbox::CommandSpec::new(
        vec!["mcp-server".into()],
        std::env::temp_dir(),
        BTreeMap::new(),
    );
    spec.program = Some(codex_sandbox::Executable::at("/nonexistent/mcp-server"));
    let launch = codex_transports::StdioLaunch {
        spec,
        sandbox: None,
    };
    let error = TransportRegistry::default()
        .connect(&config, &ctx("ghost", parent_env()).with_launch(launch))
        .await
        .expect_err("spawn fails");
    let message = error.to_string();
    assert!(
        message.contains("`ghost`") && message.contains("/nonexistent/mcp-server"),
        "{message}"
    );
}

#[tokio::test]
async fn garbage_on_stdout_is_skipped() {
    let client = TransportRegistry::default()
        .connect_and_initialize(
            &stdio_server(&[]),
            &with_launch(ctx("garbage", parent_env()), &stdio_server(&[])),
            PATIENCE,
        )
        .await
        .expect("initialises");
    let peer = client.service.peer();
    peer.call_tool(CallToolRequestParams::new("garbage"))
        .await
        .expect("garbage answers");
    let args = serde_json::json!({"text": "still fine"});
    let echoed = peer
        .call_tool(
            CallToolRequestParams::new("echo")
                .with_arguments(args.as_object().cloned().unwrap_or_default()),
        )
        .await
        .expect("echo after garbage");
    assert_eq!(
        echoed.content[0].as_text().map(|t| t.text.as_str()),
        Some("still fine")
    );
}

/// Starts a server whose shell leaves a background grandchild in the group.
async fn server_with_grandchild() -> (codex_transports::McpClient, u32, u32) {
    let dir = tempfile::tempdir().expect("temp dir");
    let pidfile = dir.path().join("grandchild.pid");
    let config = shell_then_server(&format!("sleep 300 & echo $! > '{}'", pidfile.display()));
    let client = TransportRegistry::default()
        .connect_and_initialize(
            &TransportConfig::Stdio(config.clone()),
            &with_launch(ctx("tree", parent_env()), &TransportConfig::Stdio(config)),
            PATIENCE,
        )
        .await
        .expect("initialises");
    let grandchild: u32 = std::fs::read_to_string(&pidfile)
        .expect("pid file")
        .trim()
        .parse()
        .expect("a pid");
    let pgid = client.process.as_ref().expect("stdio process").pgid();
    assert!(!group_is_dead(pgid), "the group is alive while connected");
    (client, pgid, grandchild)
}

#[tokio::test]
async fn close_kills_the_whole_process_group() {
    let (mut client, pgid, grandchild) = server_with_grandchild().await;
    let process = client.process.clone().expect("stdio process");
    client
        .service
        .close_with_timeout(PATIENCE)
        .await
        .expect("closes");
    tokio::time::timeout(PATIENCE, process.exited())
        .await
        .expect("leader exits");
    eventually("the group to die", || group_is_dead(pgid)).await;
    assert!(group_is_dead(pgid), "grandchild {grandchild} survived");
}

#[tokio::test]
async fn drop_kills_the_whole_process_group() {
    let (client, pgid, _grandchild) = server_with_grandchild().await;
    let process = client.process.clone().expect("stdio process");
    drop(client);
    tokio::time::timeout(PATIENCE, process.exited())
        .await
        .expect("leader exits");
    eventually("the group to die", || group_is_dead(pgid)).await;
}

#[tokio::test]
async fn plain_server_group_is_gone_after_close() {
    let mut client = TransportRegistry::default()
        .connect_and_initialize(
            &stdio_server(&[]),
            &with_launch(ctx("plain", parent_env()), &stdio_server(&[])),
            PATIENCE,
        )
        .await
        .expect("initialises");
    let process = client.process.clone().expect("stdio process");
    let pgid = rustix::process::Pid::from_raw(i32::try_from(process.pgid()).expect("pid fits"))
        .expect("non-zero pid");
    assert!(rustix::process::test_kill_process_group(pgid).is_ok());
    client
        .service
        .close_with_timeout(PATIENCE)
        .await
        .expect("closes");
    tokio::time::timeout(PATIENCE, process.exited())
        .await
        .expect("leader reaped");
    // The leader was reaped and had no children: the group no longer exists.
    assert_eq!(
        rustix::process::test_kill_process_group(pgid),
        Err(rustix::io::Errno::SRCH)
    );
}

#[tokio::test]
async fn exit_after_calls_ends_the_connection() {
    let client = TransportRegistry::default()
        .connect_and_initialize(
            &stdio_server(&["--exit-after-calls", "1"]),
            &with_launch(
                ctx("once", parent_env()),
                &stdio_server(&["--exit-after-calls", "1"]),
            ),
            PATIENCE,
        )
        .await
        .expect("initialises");
    let process = client.process.clone().expect("stdio process");
    let args = serde_json::json!({"a": 1, "b": 1});
    client
        .service
        .peer()
        .call_tool(
            CallToolRequestParams::new("add")
                .with_arguments(args.as_object().cloned().unwrap_or_default()),
        )
        .await
        .expect("first call answered");
    let status = tokio::time::timeout(PATIENCE, process.exited())
        .await
        .expect("exits")
        .expect("status");
    assert_eq!(status.code(), Some(0));
    let reason = tokio::time::timeout(PATIENCE, client.service.waiting())
        .await
        .expect("service ends");
    assert!(reason.is_ok(), "{reason:?}");
}

#[test]
fn registry_knows_every_kind() {
    let registry = TransportRegistry::default();
    for kind in TransportKind::ALL {
        assert_eq!(registry.get(kind).expect("registered").kind(), kind);
    }
    let empty = TransportRegistry::empty();
    assert!(matches!(
        empty.get(TransportKind::Stdio),
        Err(ConnectError::UnknownKind {
            kind: TransportKind::Stdio
        })
    ));
}
