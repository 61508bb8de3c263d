//! What a hostile MCP server or a hostile file can do, through the real
//! binary: nothing it sends reaches the terminal as control sequences, no
//! length or number panics, nothing it sends is buffered without bound,
//! one-shot commands report after each server's first attempt, and files
//! in the wrong shape are refused at once with a clear message.

use std::io::Write as _;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use codex_integration_tests::{Run, TestEnv, test_server_bin};
use serde_json::Value;

/// A stdio server entry running the test server with `args`.
fn server(name: &str, args: &[&str], extra: &str) -> String {
    format!(
        "[mcp_servers.{name}]\ncommand = {:?}\nargs = {}\n{extra}\n",
        test_server_bin().display().to_string(),
        serde_json::to_string(args).expect("args")
    )
}

/// Fails when any byte of `run`'s output could drive a terminal.
#[track_caller]
fn assert_inert(run: &Run) {
    for (stream, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{7}') && !text.contains('\u{9b}'),
            "a control character reached {stream}:\n{}",
            run.transcript()
        );
    }
}

pub(crate) fn mkfifo(path: &Path) {
    rustix::fs::mknodat(
        rustix::fs::CWD,
        path,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .expect("mkfifo");
}

#[test]
fn escapes_from_a_server_are_shown_not_sent() {
    let env = TestEnv::new();
    env.write_config(&server("evil", &["--hostile", "escapes"], ""));
    let run = env.codex(&["mcp", "tools"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_inert(&run);
    assert!(
        run.stdout.contains("Echoes \\x1b]0;pwned\\x07"),
        "{}",
        run.stdout
    );
    // A name with a newline stays on its row.
    let rows: Vec<&str> = run.stdout.lines().collect();
    assert!(
        rows.iter().any(|row| row.contains("a name with a newline")),
        "{}",
        run.stdout
    );
    assert!(
        !rows.iter().any(|row| row.trim() == "lines"),
        "{}",
        run.stdout
    );

    // A tool's result: escaped by default, raw only when asked.
    let run = env.codex(&["mcp", "call", "evil", "echo", "--args", "{\"text\":\"x\"}"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_inert(&run);
    assert!(
        run.stdout.starts_with("result \\x1b]0;pwned"),
        "{}",
        run.stdout
    );
    // An unknown tool's error lists the server's names, each on one line.
    let run = env.codex(&["mcp", "call", "evil", "nonexistent"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert_inert(&run);
    assert!(run.stderr.contains("two\\nlines"), "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    let run = env.codex(&[
        "mcp",
        "call",
        "evil",
        "echo",
        "--raw",
        "--args",
        "{\"text\":\"x\"}",
    ]);
    assert!(run.stdout.contains("\u{1b}]0;pwned\u{7}"), "{}", run.stdout);

    // The lock summary names tools the server chose.
    let run = env.codex(&["mcp", "lock"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_inert(&run);
    let lock = env.codex_home().join("mcp-tools.lock");
    let mut pins: Value =
        serde_json::from_str(&std::fs::read_to_string(&lock).expect("lock")).expect("json");
    let tools = pins["servers"]["evil"]
        .as_object_mut()
        .expect("the server's pins");
    tools.retain(|name, _| name == "echo");
    std::fs::write(&lock, serde_json::to_string(&pins).expect("json")).expect("write");
    // Withheld (unpinned) names in `mcp tools`.
    let run = env.codex(&["mcp", "tools"]);
    assert_inert(&run);
    assert!(run.stdout.contains("two\\nlines"), "{}", run.stdout);
    let run = env.codex(&["mcp", "lock"]);
    assert_inert(&run);
    assert!(run.stdout.contains("2 new: evil\\x1b"), "{}", run.stdout);
}

#[test]
fn a_servers_stderr_and_config_strings_are_shown_not_sent() {
    let env = TestEnv::new();
    env.write_config(
        "[mcp_servers.loud]\ncommand = \"/bin/sh\"\n\
         args = [\"-c\", \"printf '\\\\033]0;pwned\\\\007boom\\\\n' >&2; exit 3\"]\n\
         max_restarts = 0\n\
         [mcp_servers.odd]\ncommand = \"/bin/echo\"\nargs = [\"\\u001b[2J\", \"two\\nlines\"]\n\
         enabled = false\n",
    );
    let run = env.codex(&["mcp", "tools", "loud"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert_inert(&run);
    assert!(
        run.stdout.contains("\\x1b]0;pwned\\x07boom"),
        "{}",
        run.transcript()
    );
    for args in [
        vec!["mcp", "list"],
        vec!["mcp", "get", "odd"],
        vec!["mcp", "get", "loud"],
        vec!["requirements", "explain", "odd"],
    ] {
        let run = env.codex(&args);
        assert_eq!(run.code, 0, "{args:?}: {}", run.transcript());
        assert_inert(&run);
    }
    let run = env.codex(&["mcp", "get", "odd", "--json"]);
    assert!(
        run.stdout.contains("\\u001b[2J"),
        "JSON escapes: {}",
        run.stdout
    );
}

#[test]
fn nothing_a_server_sends_reaches_a_real_terminal() {
    // On a pseudo-terminal, where escapes would act.
    let env = TestEnv::new();
    env.write_config(&server("evil", &["--hostile", "escapes"], ""));
    for args in [
        vec!["mcp", "tools"],
        vec!["mcp", "call", "evil", "echo", "--args", "{\"text\":\"x\"}"],
    ] {
        let run = env.codex_in_terminal(&args);
        assert_eq!(run.code, 0, "{args:?}: {}", run.transcript());
        assert!(
            !run.stdout.contains("\u{1b}]") && !run.stdout.contains("\u{1b}[2J"),
            "{args:?}: the title or the screen could change:\n{:?}",
            run.stdout
        );
        assert!(!run.stdout.contains('\u{7}'), "{args:?}: {:?}", run.stdout);
    }
}

#[test]
fn long_text_never_panics() {
    let env = TestEnv::new();
    let long_arg = "a".repeat(70_000);
    env.write_config(&format!(
        "{}[mcp_servers.wide]\ncommand = \"/bin/true\"\nargs = [\"{long_arg}\"]\nenabled = false\n",
        server("big", &["--hostile", "huge-description=1048576"], "")
    ));
    let run = env.codex(&["mcp", "tools", "big"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let row = run
        .stdout
        .lines()
        .find(|line| line.contains("mcp__big__echo"))
        .expect("the tool's row");
    assert!(
        row.ends_with('…') && row.len() < 1_000,
        "{} bytes",
        row.len()
    );
    let run = env.codex(&["mcp", "list"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let run = env.codex(&[
        "mcp",
        "list",
        "-c",
        &format!("mcp_servers.u.url=\"https://h/{}\"", "p".repeat(70_000)),
    ]);
    assert_eq!(run.code, 0, "{}", run.transcript());
}

#[test]
fn a_notification_flood_is_dropped_past_a_budget() {
    let env = TestEnv::new();
    env.write_config(&server(
        "flood",
        &["--hostile", "flood=200000"],
        "startup_timeout_sec = 120",
    ));
    let run = env.codex(&["mcp", "tools", "--json"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let listed: Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(listed[0]["status"], "ready", "{}", run.stdout);
}

#[test]
fn a_message_past_the_limit_names_the_limit() {
    let env = TestEnv::new();
    env.write_config(&server("big", &["--hostile", "oversized=20000000"], ""));
    let started = Instant::now();
    let run = env.codex(&["mcp", "tools", "big"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stdout
            .contains("the server sent a message larger than the 16 MiB limit"),
        "{}",
        run.transcript()
    );
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[test]
fn one_shot_commands_report_after_the_first_attempt() {
    // A server that never becomes ready, with restarts too far apart for
    // the intensity window to give up: a session would retry forever, a
    // one-shot command reports it after its first attempt.
    let env = TestEnv::new();
    env.write_config(&server(
        "slow",
        &["--hostile", "stall"],
        "startup_timeout_sec = 1\nrestart_window_sec = 0.5\nrestart_backoff_ms = 100",
    ));
    let started = Instant::now();
    let run = env.codex(&["mcp", "tools"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(run.stdout.contains("slow: failed:"), "{}", run.transcript());
    assert!(
        run.stdout.contains("timed out after 1 seconds"),
        "{}",
        run.stdout
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    let run = env.codex(&["mcp", "call", "slow", "echo", "--args", "{\"text\":\"x\"}"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[test]
fn numbers_out_of_range_are_usage_or_config_errors() {
    let env = TestEnv::new();
    env.write_config(&server("s", &[], ""));
    let plan = env.write_file("plan.toml", "");
    let plan = plan.display().to_string();
    for duration in ["-1", "nan", "inf", "1e300", "0"] {
        let flag = format!("--duration={duration}");
        let run = env.codex(&["debug", "chaos", "--plan", &plan, &flag]);
        assert_eq!(run.code, 2, "{duration}: {}", run.transcript());
        assert!(run.stderr.contains("out of range"), "{}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    }
    let run = env.codex(&["debug", "chaos", "--plan", &plan, "--concurrency", "0"]);
    assert_eq!(run.code, 2, "{}", run.transcript());

    env.write_config(&server("s", &[], "startup_timeout_sec = 1e19"));
    let run = env.codex(&["mcp", "list"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr.contains("config.toml:4:")
            && run
                .stderr
                .contains("startup_timeout_sec: 1e19 is out of range"),
        "{}",
        run.stderr
    );
    env.write_config(&server("s", &[], ""));
    let plan = env.write_file("plan.toml", "ping_interval_ms = 99999999999\n");
    let run = env.codex(&["debug", "chaos", "--plan", &plan.display().to_string()]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr
            .contains("`ping_interval_ms` = 99999999999 is out of range"),
        "{}",
        run.stderr
    );
}

#[test]
fn fifos_links_and_huge_files_are_refused_at_once() {
    let mut env = TestEnv::new();
    env.write_config(&server("s", &[], ""));
    let home = env.codex_home();
    // A FIFO where the lock is read: refused, not waited on.
    mkfifo(&home.join("mcp-tools.lock"));
    let started = Instant::now();
    let run = env.codex(&["mcp", "tools"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr.contains("is a FIFO, not a regular file"),
        "{}",
        run.stderr
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    std::fs::remove_file(home.join("mcp-tools.lock")).expect("rm");

    // A lock of 1 GiB (sparse): refused by size, not read.
    let file = std::fs::File::create(home.join("mcp-tools.lock")).expect("create");
    file.set_len(1 << 30).expect("sparse");
    let run = env.codex(&["mcp", "tools"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr.contains("larger than the 32 MiB limit"),
        "{}",
        run.stderr
    );
    std::fs::remove_file(home.join("mcp-tools.lock")).expect("rm");

    // A FIFO, then a corrupt file, at the credentials: said, not silent.
    mkfifo(&home.join(".credentials.json"));
    let run = env.codex(&["mcp", "list"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(run.stderr.contains("is a FIFO"), "{}", run.stderr);
    std::fs::remove_file(home.join(".credentials.json")).expect("rm");
    std::fs::write(home.join(".credentials.json"), "{not json").expect("write");
    let run = env.codex(&["mcp", "list"]);
    assert!(
        run.stderr.contains("warning:") && run.stderr.contains(".credentials.json"),
        "{}",
        run.stderr
    );

    // The audit log: a FIFO there never stops a session; a link there is
    // not written through.
    let outside = env.root().join("elsewhere.jsonl");
    let audit = env.root().join("audit.jsonl");
    std::os::unix::fs::symlink(&outside, &audit).expect("symlink");
    let fifo = env.root().join("audit.fifo");
    mkfifo(&fifo);
    env.requirements_file(&format!("audit_log = {:?}\n", audit.display().to_string()));
    let run = env.codex(&["mcp", "call", "s", "echo", "--args", "{\"text\":\"x\"}"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(!outside.exists(), "the link was followed");
    assert!(run.stderr.contains("symbolic link"), "{}", run.stderr);
    env.requirements_file(&format!("audit_log = {:?}\n", fifo.display().to_string()));
    let started = Instant::now();
    let run = env.codex(&["mcp", "call", "s", "echo", "--args", "{\"text\":\"x\"}"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(run.stderr.contains("is a FIFO"), "{}", run.stderr);
    assert!(started.elapsed() < Duration::from_secs(30));

    // A new audit log is private.
    let fresh = env.root().join("fresh.jsonl");
    env.requirements_file(&format!("audit_log = {:?}\n", fresh.display().to_string()));
    let run = env.codex(&["mcp", "call", "s", "echo", "--args", "{\"text\":\"x\"}"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(&fresh)
        .expect("audit log")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn invalid_utf8_is_located_and_plans_parse_in_linear_time() {
    let env = TestEnv::new();
    std::fs::write(
        env.codex_home().join("config.toml"),
        b"model = \"gpt-5\"\n[mcp_servers.a]\ncommand = \"a\xff\"\n",
    )
    .expect("write");
    let run = env.codex(&["mcp", "list"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr
            .contains("invalid UTF-8 (byte 0xff) at line 3, column 13"),
        "{}",
        run.stderr
    );
    env.write_config(&server("s", &[], ""));
    let plan = env.root().join("bad-plan.toml");
    std::fs::write(&plan, b"seed = 1\n\xfe").expect("write");
    let run = env.codex(&["debug", "chaos", "--plan", &plan.display().to_string()]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(run.stderr.contains("at line 2, column 1"), "{}", run.stderr);

    // 20,000 faults, the last one wrong: its location, quickly.
    let mut text = String::from("seed = 1\n");
    for _ in 0..20_000 {
        text.push_str("[[fault]]\ntarget = \"s\"\nwhen = { every_calls = 5 }\naction = \"exit\"\n");
    }
    text.push_str("[[fault]]\ntarget = \"s\"\nwhen = { every_calls = 0 }\naction = \"exit\"\n");
    let plan = env.write_file("big-plan.toml", &text);
    let started = Instant::now();
    let run = env.codex(&["debug", "chaos", "--plan", &plan.display().to_string()]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr.contains("big-plan.toml:80004:8:"),
        "{}",
        run.stderr
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );

    // A workload entry naming an unknown server is located.
    let plan = env.write_file(
        "plan.toml",
        "seed = 1\n\n[[workload]]\nserver = \"nope\"\ntool = \"echo\"\n",
    );
    let run = env.codex(&["debug", "chaos", "--plan", &plan.display().to_string()]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr.contains("plan.toml:3:1: workload server"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_stderr_flood_at_its_maximum_leaks_no_descriptor() {
    let env = TestEnv::new();
    env.write_config(&server(
        "s",
        &[],
        "restart_backoff_ms = 10\nmax_restarts = 100",
    ));
    let plan = env.write_file(
        "plan.toml",
        "seed = 1\n[[fault]]\ntarget = \"s\"\nwhen = { after_calls = 2 }\n\
         action = \"stderr_flood\"\nbytes = 1073741824\n",
    );
    let mut child = env
        .command(&[
            "debug",
            "chaos",
            "--plan",
            &plan.display().to_string(),
            "--duration",
            "1",
            "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let _ = child.stdin.take().map(|mut stdin| stdin.flush());
    let output = child.wait_with_output().expect("wait");
    let run = env.run_from_output(output);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let report: Value = serde_json::from_str(&run.stdout).expect("report");
    assert_eq!(report["leaked_fds"], 0, "{report:#}");
    assert_eq!(report["leftover_processes"], 0, "{report:#}");
}
