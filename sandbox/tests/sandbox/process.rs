//! Process control: exit codes, timeouts that kill the whole group, the
//! output cap, the environment filter and killing on drop.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::time::Duration;

use codex_sandbox::{
    CommandSpec, EnvInherit, OUTPUT_MAX_BYTES, OutputChunk, OutputStream, SandboxMode,
    SandboxPolicy, SandboxedChild, ShellEnvironmentPolicy, SpawnRoute, TIMEOUT_EXIT_CODE,
};
use pretty_assertions::assert_eq;
use tokio::sync::mpsc;

use crate::util::{for_both_routes, launcher, run_sh, scratch, sh, wait_gone};

for_both_routes!(
    exit_code_and_both_streams_are_reported,
    timeout_kills_the_whole_process_group,
    dropping_the_handle_kills_and_reaps_the_group,
    output_is_capped_with_head_tail_and_marker,
    environment_is_exactly_the_filtered_policy,
);

/// Reads streamed chunks until a whole first line of stdout has arrived.
async fn first_stdout_line(rx: &mut mpsc::Receiver<OutputChunk>) -> String {
    let mut line = Vec::new();
    while !line.contains(&b'\n') {
        let chunk = rx.recv().await.expect("the command printed a line");
        if chunk.stream == OutputStream::Stdout {
            line.extend_from_slice(&chunk.bytes);
        }
    }
    String::from_utf8(line)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_owned()
}

async fn exit_code_and_both_streams_are_reported(route: SpawnRoute) {
    let cwd = scratch();
    for mode in [SandboxMode::WorkspaceWrite, SandboxMode::DangerFullAccess] {
        let outcome = run_sh(route, mode, "echo out; echo err >&2; exit 3", cwd.path()).await;
        assert_eq!(
            (
                outcome.exit_code,
                outcome.timed_out,
                outcome.stdout.text(),
                outcome.stderr.text()
            ),
            (3, false, "out\n".to_string(), "err\n".to_string()),
            "{mode}"
        );
        assert_eq!(outcome.aggregated_output(), b"out\nerr\n");
    }
}

async fn timeout_kills_the_whole_process_group(route: SpawnRoute) {
    let cwd = scratch();
    for mode in [SandboxMode::WorkspaceWrite, SandboxMode::DangerFullAccess] {
        let mut spec = sh("sleep 100 & echo $!; wait", cwd.path());
        // Long enough for the shell (and, on the helper route, the helper)
        // to print the pid on a loaded machine.
        spec.timeout = Duration::from_secs(5);
        let policy = SandboxPolicy::new(mode);
        let (tx, mut rx) = mpsc::channel(16);
        let task = tokio::spawn(async move {
            codex_sandbox::run_streaming(&spec, &policy, &launcher(route), tx).await
        });
        let grandchild: i32 = first_stdout_line(&mut rx).await.parse().unwrap();
        let outcome = task.await.unwrap().unwrap();
        assert_eq!(
            (outcome.timed_out, outcome.exit_code, outcome.signal),
            (true, TIMEOUT_EXIT_CODE, Some(libc::SIGKILL)),
            "{mode}"
        );
        assert_eq!(outcome.stdout.text(), format!("{grandchild}\n"));
        wait_gone(grandchild).await;
    }
}

async fn dropping_the_handle_kills_and_reaps_the_group(route: SpawnRoute) {
    let cwd = scratch();
    let spec = sh("sleep 100 & echo $!; wait", cwd.path());
    let policy = SandboxPolicy::new(SandboxMode::WorkspaceWrite);
    let (tx, mut rx) = mpsc::channel(16);
    let child = SandboxedChild::spawn(&spec, &policy, &launcher(route), Some(tx)).unwrap();
    let leader = child.id();
    let grandchild: i32 = first_stdout_line(&mut rx).await.parse().unwrap();
    drop(child);
    // The leader was reaped synchronously by Drop.
    assert!(!std::path::Path::new(&format!("/proc/{leader}")).exists());
    wait_gone(grandchild).await;
}

async fn output_is_capped_with_head_tail_and_marker(route: SpawnRoute) {
    let cwd = scratch();
    let script = "printf START; head -c 3000000 /dev/zero | tr '\\0' a; printf END; \
                  head -c 10 /dev/zero | tr '\\0' e >&2";
    let outcome = run_sh(route, SandboxMode::WorkspaceWrite, script, cwd.path()).await;
    let total = 3_000_008u64;
    let elided = total - OUTPUT_MAX_BYTES as u64;
    let stdout = &outcome.stdout;
    assert_eq!((stdout.total_bytes, stdout.elided_bytes), (total, elided));
    let marker = format!("\n[... {elided} bytes elided ...]\n");
    let half = OUTPUT_MAX_BYTES / 2;
    let mut expected = b"START".to_vec();
    expected.extend(std::iter::repeat_n(b'a', half - 5));
    expected.extend_from_slice(marker.as_bytes());
    expected.extend(std::iter::repeat_n(b'a', half - 3));
    expected.extend_from_slice(b"END");
    assert!(stdout.bytes == expected, "head, marker and tail differ");
    assert_eq!(outcome.stderr.text(), "eeeeeeeeee");
}

async fn environment_is_exactly_the_filtered_policy(route: SpawnRoute) {
    let cwd = scratch();
    let parent: Vec<(OsString, OsString)> = [
        ("PATH", "/usr/bin:/bin"),
        ("HOME", "/root"),
        ("OPENAI_API_KEY", "sk-secret"),
        ("AWS_REGION", "eu"),
        ("EDITOR", "vi"),
    ]
    .into_iter()
    .map(|(k, v)| (k.into(), v.into()))
    .collect();
    let policy_env = ShellEnvironmentPolicy {
        inherit: EnvInherit::All,
        ignore_default_excludes: false,
        exclude: vec!["aws_*".into()],
        set: BTreeMap::from([("CI".to_string(), "1".to_string())]),
        include_only: Vec::new(),
    };
    let spec = CommandSpec::new(
        vec!["/usr/bin/env".into()],
        cwd.path().to_path_buf(),
        policy_env.apply(parent),
    );
    let outcome = codex_sandbox::run(
        &spec,
        &SandboxPolicy::new(SandboxMode::ReadOnly),
        &launcher(route),
    )
    .await
    .unwrap();
    let mut lines: Vec<String> = outcome.stdout.text().lines().map(String::from).collect();
    lines.sort();
    // The one variable we add: the tag that lets the process tree be found
    // and killed.
    let tag = format!("{}=", codex_sandbox::TAG_ENV);
    assert_eq!(lines.iter().filter(|l| l.starts_with(&tag)).count(), 1);
    lines.retain(|l| !l.starts_with(&tag));
    assert_eq!(
        lines,
        [
            "CI=1",
            "CODEX_SANDBOX_NETWORK_DISABLED=1",
            "EDITOR=vi",
            "HOME=/root",
            "PATH=/usr/bin:/bin",
        ]
    );
}
