//! The supervised session through its crate API, against real test-server
//! processes: restarts after `kill -9`, liveness pings, hot reload of
//! requirements and config, and clean shutdown. Every wait is on session
//! events with a generous deadline, never a sleep.

use std::sync::Arc;
use std::time::Duration;

use codex_actors::mcp_server::{ServerEvent, Timing};
use codex_actors::sandbox_process::{CommandEvent, Stream};
use codex_actors::session::{ServerState, Session, SessionEvent, SessionOptions};
use codex_integration_tests::{TestEnv, test_server_bin};
use rustix::process::{Pid, Signal};
use tokio::sync::broadcast;

const DEADLINE: Duration = Duration::from_secs(30);

fn options(
    env: &TestEnv,
    requirements: Option<std::path::PathBuf>,
    timing: Timing,
) -> SessionOptions {
    let mut options = SessionOptions {
        timing,
        sandbox_launcher: Some(codex_sandbox::SandboxLauncher::new(
            codex_integration_tests::codex_bin(),
            ["debug", "sandbox-exec"],
        )),
        ..env.session_options()
    };
    options.requirements.env_file = requirements;
    options
}

fn server_toml(name: &str, extra: &str) -> String {
    format!(
        "[mcp_servers.{name}]\ncommand = {:?}\nrestart_backoff_ms = 10\n{extra}\n",
        test_server_bin().display().to_string()
    )
}

/// Waits for the first event that `pick` maps to `Some`.
async fn wait_for<T>(
    events: &mut broadcast::Receiver<SessionEvent>,
    what: &str,
    pick: impl FnMut(&SessionEvent) -> Option<T>,
) -> T {
    codex_integration_tests::wait_for_event(events, DEADLINE, what, pick).await
}

fn ready_pid(event: &SessionEvent, server: &str) -> Option<(u64, u32)> {
    match event {
        SessionEvent::Server(ServerEvent::Ready {
            server: s,
            incarnation,
            pid: Some(pid),
            ..
        }) if s == server => Some((*incarnation, *pid)),
        _ => None,
    }
}

/// Whether any process of group `pgid` is alive.
fn group_alive(pgid: u32) -> bool {
    let Some(pid) = Pid::from_raw(pgid as i32) else {
        return false;
    };
    rustix::process::test_kill_process_group(pid).is_ok()
}

/// Polls (with a short pause) until the group is gone; bounded.
async fn wait_group_gone(pgid: u32, within: Duration) {
    let start = tokio::time::Instant::now();
    while group_alive(pgid) {
        assert!(
            start.elapsed() < within,
            "process group {pgid} still alive after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn kill9(pid: u32) {
    let pid = Pid::from_raw(pid as i32).expect("pid");
    rustix::process::kill_process(pid, Signal::KILL).expect("kill -9");
}

#[test]
fn kill_9_restarts_relists_tools_and_serves_again() {
    let env = TestEnv::new();
    env.write_config(&server_toml("test", "max_restarts = 5"));
    codex_runtime::block_on(move || async move {
        let session = Session::start(options(&env, None, Timing::default()), None)
            .await
            .expect("start");
        let statuses = session.wait_startup().await.expect("startup");
        let mut events = session.subscribe();
        let first_pid = statuses[0].pid.expect("stdio pid");
        kill9(first_pid);
        let (incarnation, pid) =
            wait_for(&mut events, "a restarted server", |e| ready_pid(e, "test")).await;
        assert!(incarnation >= 2);
        assert_ne!(pid, first_pid);
        let tools = session.tools().await.expect("tools");
        assert!(
            tools.iter().any(|t| t.qualified == "mcp__test__echo"),
            "{tools:?}"
        );
        let result = session
            .call_qualified(
                "mcp__test__echo",
                serde_json::json!({"text": "back"}).as_object().cloned(),
            )
            .await
            .expect("call after restart");
        assert_eq!(
            result.content[0].as_text().map(|t| t.text.as_str()),
            Some("back")
        );
        session.shutdown().await;
        wait_group_gone(pid, Duration::from_secs(5)).await;
    })
    .expect("runtime");
}

#[test]
fn crash_tool_fails_the_call_and_the_server_comes_back() {
    let env = TestEnv::new();
    env.write_config(&server_toml("test", ""));
    codex_runtime::block_on(move || async move {
        let session = Session::start(options(&env, None, Timing::default()), None)
            .await
            .expect("start");
        let mut events = session.subscribe();
        session.wait_startup().await.expect("startup");
        let err = session
            .call("test", "crash", None)
            .await
            .expect_err("crash kills the server");
        assert!(err.to_string().contains("test"), "{err}");
        let failure = wait_for(&mut events, "the crash report", |e| match e {
            SessionEvent::Server(ServerEvent::Failed { failure, .. }) => Some(failure.to_string()),
            _ => None,
        })
        .await;
        assert!(failure.contains("exit status: 3"), "{failure}");
        assert!(
            failure.contains("crash tool called"),
            "stderr tail quoted: {failure}"
        );
        wait_for(&mut events, "the restart", |e| ready_pid(e, "test")).await;
        session.shutdown().await;
    })
    .expect("runtime");
}

#[test]
fn a_wedged_server_is_detected_by_ping_and_restarted() {
    let env = TestEnv::new();
    env.write_config(&server_toml("test", ""));
    let timing = Timing {
        ping_interval: Duration::from_millis(200),
        ping_timeout: Duration::from_millis(500),
    };
    codex_runtime::block_on(move || async move {
        let session = Session::start(options(&env, None, timing), None)
            .await
            .expect("start");
        let mut events = session.subscribe();
        let statuses = session.wait_startup().await.expect("startup");
        let pid = statuses[0].pid.expect("pid");
        rustix::process::kill_process(Pid::from_raw(pid as i32).expect("pid"), Signal::STOP)
            .expect("SIGSTOP");
        let failure = wait_for(&mut events, "the ping failure", |e| match e {
            SessionEvent::Server(ServerEvent::Failed { failure, .. }) => Some(failure.to_string()),
            _ => None,
        })
        .await;
        assert!(failure.contains("did not answer a ping"), "{failure}");
        let (_, new_pid) = wait_for(&mut events, "the restart", |e| ready_pid(e, "test")).await;
        assert_ne!(new_pid, pid);
        wait_group_gone(pid, Duration::from_secs(5)).await;
        session.shutdown().await;
    })
    .expect("runtime");
}

#[test]
fn hot_reload_tightens_relaxes_and_refuses_renames() {
    let mut env = TestEnv::new();
    let bin = test_server_bin().display().to_string();
    env.write_config(&[server_toml("a", ""), server_toml("b", "")].concat());
    let allow_both = format!(
        "[mcp_server_allowlist.a]\ncommand = {bin:?}\n[mcp_server_allowlist.b]\ncommand = {bin:?}\n"
    );
    let requirements = env.requirements_file(&allow_both);
    let config_path = env.codex_home().join("config.toml");
    let opts = options(&env, Some(requirements.clone()), Timing::default());
    codex_runtime::block_on(move || async move {
        // Every session watches its sources.
        let session = Arc::new(Session::start(opts, None).await.expect("start"));
        let mut events = session.subscribe();
        let statuses = session.wait_startup().await.expect("startup");
        let pid_b = statuses[1].pid.expect("pid of b");

        // Tighten: only `a` stays allowed. `b` stops, group and tools gone.
        std::fs::write(
            &requirements,
            format!("[mcp_server_allowlist.a]\ncommand = {bin:?}\n"),
        )
        .expect("write requirements");
        let reason = wait_for(&mut events, "b to stop", |e| match e {
            SessionEvent::ServerStopped { server, reason } if server == "b" => {
                Some(reason.to_string())
            }
            _ => None,
        })
        .await;
        assert!(reason.contains("\"b\" is not in the allowlist"), "{reason}");
        wait_group_gone(pid_b, Duration::from_secs(5)).await;
        let tools = session.tools().await.expect("tools");
        assert!(
            tools.iter().all(|t| t.server != "b"),
            "tools withdrawn: {tools:?}"
        );
        let call = session
            .call("b", "echo", None)
            .await
            .expect_err("b is disabled");
        assert!(call.to_string().contains("not in the allowlist"), "{call}");

        // Relax again: `b` starts.
        std::fs::write(&requirements, &allow_both).expect("write requirements");
        wait_for(&mut events, "b to come back", |e| ready_pid(e, "b")).await;

        // A malformed edit keeps the last good snapshot.
        std::fs::write(&requirements, "[mcp_server_allowlist.a\n").expect("write");
        let message = wait_for(&mut events, "the config error", |e| match e {
            SessionEvent::SourceFailed { message } => Some(message.clone()),
            _ => None,
        })
        .await;
        assert!(message.contains("requirements.toml:1:"), "{message}");
        let statuses = session.statuses().await.expect("statuses");
        assert!(
            statuses
                .iter()
                .all(|s| matches!(s.state, ServerState::Ready { .. }))
        );
        std::fs::write(&requirements, &allow_both).expect("write requirements");

        // Rename attempt at runtime: point `a` at another program.
        let config = std::fs::read_to_string(&config_path).expect("read config");
        std::fs::write(
            &config_path,
            config.replacen(&format!("command = {bin:?}"), "command = \"/bin/cat\"", 1),
        )
        .expect("write config");
        let reason = wait_for(&mut events, "a to stop", |e| match e {
            SessionEvent::ServerStopped { server, reason } if server == "a" => {
                Some(reason.to_string())
            }
            _ => None,
        })
        .await;
        assert!(
            reason.contains("command \"/bin/cat\" does not match allowed"),
            "{reason}"
        );
        session.shutdown().await;
    })
    .expect("runtime");
}

#[test]
fn shutdown_leaves_no_process_behind() {
    let env = TestEnv::new();
    env.write_config(
        &[
            server_toml("a", ""),
            server_toml("b", ""),
            server_toml("c", ""),
        ]
        .concat(),
    );
    codex_runtime::block_on(move || async move {
        let session = Session::start(options(&env, None, Timing::default()), None)
            .await
            .expect("start");
        let statuses = session.wait_startup().await.expect("startup");
        let pids: Vec<u32> = statuses.iter().map(|s| s.pid.expect("pid")).collect();
        assert_eq!(pids.len(), 3);
        for pid in &pids {
            assert!(group_alive(*pid));
        }
        session.shutdown().await;
        for pid in pids {
            wait_group_gone(pid, Duration::from_secs(5)).await;
        }
    })
    .expect("runtime");
}

fn command(env: &TestEnv, script: &str, timeout: Duration) -> codex_sandbox::CommandSpec {
    let argv = ["sh", "-c", script].map(std::ffi::OsString::from).to_vec();
    let envs = std::env::vars_os().collect();
    let mut spec = codex_sandbox::CommandSpec::new(argv, env.work_dir(), envs);
    spec.timeout = timeout;
    spec
}

fn workspace_write() -> codex_sandbox::SandboxPolicy {
    codex_sandbox::SandboxPolicy::new(codex_sandbox::SandboxMode::WorkspaceWrite)
}

#[test]
fn commands_stream_output_and_exit() {
    let env = TestEnv::new();
    codex_runtime::block_on(move || async move {
        let session = Session::start(options(&env, None, Timing::default()), None)
            .await
            .expect("start");
        let mut events = session.subscribe();
        let spec = command(
            &env,
            "echo out; echo err >&2; echo data > inside.txt; exit 3",
            DEADLINE,
        );
        let exit = session
            .run_command(spec, workspace_write())
            .await
            .expect("ran");
        assert_eq!((exit.exit_code, exit.timed_out), (3, false));
        assert_eq!(exit.stdout, "out\n");
        assert_eq!(exit.stderr, "err\n");
        assert!(env.work_dir().join("inside.txt").exists());
        // Every chunk is published before the exit.
        let mut streamed = Vec::new();
        wait_for(&mut events, "the command's exit", |e| match e {
            SessionEvent::Command(CommandEvent::Output { stream, text, .. }) => {
                streamed.push((*stream, text.clone()));
                None
            }
            SessionEvent::Command(CommandEvent::Exited { exit_code, .. }) => Some(*exit_code),
            _ => None,
        })
        .await;
        streamed.sort_by_key(|(stream, _)| *stream == Stream::Stderr);
        assert_eq!(
            streamed,
            [
                (Stream::Stdout, "out\n".to_owned()),
                (Stream::Stderr, "err\n".to_owned())
            ]
        );
        session.shutdown().await;
    })
    .expect("runtime");
}

#[test]
fn a_command_timeout_kills_its_grandchildren() {
    let env = TestEnv::new();
    codex_runtime::block_on(move || async move {
        let session = Session::start(options(&env, None, Timing::default()), None)
            .await
            .expect("start");
        let spec = command(
            &env,
            "sleep 100 & echo $!; wait",
            // Long enough for the shell to print the pid on a loaded
            // machine; `sleep 100` makes it time out all the same.
            Duration::from_secs(5),
        );
        let exit = session
            .run_command(spec, workspace_write())
            .await
            .expect("ran");
        assert_eq!((exit.exit_code, exit.timed_out), (124, true));
        let grandchild: u32 = exit
            .stdout
            .trim()
            .parse()
            .expect("pid of the background sleep");
        let pid = Pid::from_raw(grandchild as i32).expect("pid");
        let start = tokio::time::Instant::now();
        while rustix::process::test_kill_process(pid).is_ok() {
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "grandchild {grandchild} survived"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        session.shutdown().await;
    })
    .expect("runtime");
}

#[test]
fn a_command_that_never_pauses_its_output_still_times_out() {
    let env = TestEnv::new();
    codex_runtime::block_on(move || async move {
        let session = Session::start(options(&env, None, Timing::default()), None)
            .await
            .expect("start");
        // Long enough for `yes` to have printed on a loaded machine.
        let spec = command(&env, "exec yes", Duration::from_secs(3));
        let started = std::time::Instant::now();
        let exit = session
            .run_command(spec, workspace_write())
            .await
            .expect("ran");
        assert_eq!((exit.exit_code, exit.timed_out), (124, true));
        assert!(
            exit.stdout.starts_with("y\ny\n"),
            "{:?}",
            exit.stdout.get(..20)
        );
        // Generous: the point is that it ends, not how fast.
        assert!(started.elapsed() < DEADLINE, "took {:?}", started.elapsed());
        session.shutdown().await;
    })
    .expect("runtime");
}

#[test]
fn shutdown_kills_running_commands() {
    let env = TestEnv::new();
    codex_runtime::block_on(move || async move {
        let session = Arc::new(
            Session::start(options(&env, None, Timing::default()), None)
                .await
                .expect("start"),
        );
        let mut events = session.subscribe();
        let runner = Arc::clone(&session);
        let spec = command(&env, "echo $$; exec sleep 100", DEADLINE);
        let pending =
            actix::spawn(async move { runner.run_command(spec, workspace_write()).await });
        let pid: u32 = wait_for(&mut events, "the command's pid", |e| match e {
            SessionEvent::Command(CommandEvent::Output { text, .. }) => text.trim().parse().ok(),
            _ => None,
        })
        .await;
        assert!(group_alive(pid));
        session.shutdown().await;
        wait_group_gone(pid, Duration::from_secs(5)).await;
        let outcome = pending.await.expect("join");
        assert!(outcome.is_err(), "the command did not finish: {outcome:?}");
    })
    .expect("runtime");
}

#[test]
fn strict_config_refuses_a_reload_with_an_unknown_key_and_keeps_the_policy() {
    let env = TestEnv::new();
    env.write_config(&server_toml("a", ""));
    let with_b = [server_toml("a", ""), server_toml("b", "")].concat();
    codex_runtime::block_on(move || async move {
        let options = SessionOptions {
            strict_config: true,
            ..options(&env, None, Timing::default())
        };
        let session = Session::start(options, None).await.expect("start");
        session.wait_startup().await.expect("startup");
        let mut events = session.subscribe();

        // A typo arrives with a new server: the whole file is refused, as
        // at start, and `b` does not start.
        env.write_config(&format!("modle = \"o3\"\n{with_b}"));
        let refused = session.reload().await.expect_err("a strict reload refuses");
        let message = refused.to_string();
        assert!(
            message.contains("--strict-config") && message.contains("modle"),
            "{message}"
        );
        let names: Vec<String> = session
            .statuses()
            .await
            .expect("statuses")
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(names, ["a"], "the last good policy stays in force");

        // Fixed: the same servers load and `b` starts.
        env.write_config(&with_b);
        session.reload().await.expect("reload");
        wait_for(&mut events, "b ready", |e| ready_pid(e, "b")).await;
        session.shutdown().await;
    })
    .expect("runtime");
}
