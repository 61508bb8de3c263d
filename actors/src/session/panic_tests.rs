//! A panic in the session actor ends the session: the runtime catches it,
//! `state` is a significant child, so the root shuts the whole tree down in
//! order. Every server's process tree is killed, and every later question
//! gets [`SessionError::Stopped`] at once rather than waiting forever.
//! Against a real process (`sleep`, a server that never answers its
//! handshake and so stays starting).

use std::time::Duration;

use super::*;
use crate::mcp_server::Timing;

const DEADLINE: Duration = Duration::from_secs(30);

fn options(home: &std::path::Path) -> SessionOptions {
    SessionOptions {
        codex_home: home.to_owned(),
        cwd: home.to_owned(),
        overrides: Vec::new(),
        user_config: true,
        strict_config: false,
        requirements: RequirementsSources {
            system_file: home.join("no-system-requirements.toml"),
            env_file: None,
            env_base64: None,
        },
        env: std::env::vars().collect(),
        timing: Timing::default(),
        only: Vec::new(),
        sandbox_launcher: None,
        tool_locks: true,
        transports: None,
        watch_debounce: Duration::from_millis(50),
    }
}

/// The child of this process running `sleep 613` (a count no other test
/// uses), whatever path its program was resolved to.
fn server_pid() -> Option<u32> {
    let me = std::process::id().to_string();
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            let parent = stat.rsplit_once(") ")?.1.split(' ').nth(1)?;
            let command = std::fs::read_to_string(entry.path().join("cmdline")).ok()?;
            let argv: Vec<&str> = command.trim_end_matches('\0').split('\0').collect();
            let sleeping =
                matches!(argv.as_slice(), [program, "613"] if program.ends_with("sleep"));
            (parent == me && sleeping).then_some(pid)
        })
}

/// Whether process `pid` still exists (a zombie counts as gone: it runs
/// nothing).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        // The state follows the command's closing parenthesis.
        stat.rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z'))
    })
}

#[test]
fn a_panic_in_the_session_actor_ends_the_session_and_kills_its_servers() {
    let home = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        home.path().join("config.toml"),
        "[mcp_servers.silent]\ncommand = \"sleep\"\nargs = [\"613\"]\nstartup_timeout_sec = 600\n",
    )
    .expect("write config");
    let options = options(home.path());
    codex_runtime::block_on(move || async move {
        let session = Session::start(options, None).await.expect("start");
        let pid = tokio::time::timeout(DEADLINE, async {
            loop {
                if let Some(pid) = server_pid() {
                    return pid;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("the server's process starts");
        assert!(alive(pid));

        session
            .actor
            .send(shell::InjectPanic)
            .await
            .expect_err("the handler panics; no answer comes");

        let answer = tokio::time::timeout(DEADLINE, session.statuses())
            .await
            .expect("an answer, not a hang");
        assert!(matches!(answer, Err(SessionError::Stopped)), "{answer:?}");
        let gone = tokio::time::timeout(DEADLINE, async {
            while alive(pid) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        assert!(
            gone.is_ok(),
            "the server's process {pid} outlived the session"
        );
        session.shutdown().await;
    })
    .expect("runtime");
}
