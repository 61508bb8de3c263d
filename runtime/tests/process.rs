//! Process hygiene on real processes: own process groups, group kill,
//! and the orphan reaper under a child subreaper. This file is its own
//! test binary because becoming a subreaper changes the whole process.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use codex_runtime::process::{
    GroupGuard, OwnedPids, ProcessGroupExt, Reaper, become_subreaper, kill_group,
};
use nix::sys::signal::Signal;

/// One registry for the whole binary: tests run on parallel threads and
/// a reaper must never take another test's owned child.
static OWNED: std::sync::LazyLock<OwnedPids> = std::sync::LazyLock::new(OwnedPids::new);

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Waits (bounded) for `cond`, scanning with `reaper` in between.
fn eventually(reaper: &mut Reaper, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        reaper.scan();
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// Spawns `sh` in its own group; it starts a background `sleep` and
/// prints its pid, then waits.
fn shell_with_grandchild(owned: &OwnedPids) -> (std::process::Child, u32, codex_runtime::process::OwnedPid) {
    let mut child = Command::new("sh")
        .args(["-c", "sleep 60 & echo $!; wait"])
        .stdout(Stdio::piped())
        .own_process_group()
        .spawn()
        .expect("spawn sh");
    let guard = owned.register(child.id());
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().expect("stdout")),
        &mut line,
    )
    .expect("read pid");
    let grandchild: u32 = line.trim().parse().expect("pid");
    (child, grandchild, guard)
}

#[test]
fn group_kill_reaps_the_whole_tree_without_stealing_owned_statuses() {
    become_subreaper().expect("subreaper");
    let owned = OWNED.clone();
    let mut reaper = Reaper::new(owned.clone());

    // The group is the shell's pid; killing it takes the grandchild too.
    let (mut sh, grandchild, _owned) = shell_with_grandchild(&owned);
    assert!(alive(grandchild));
    assert!(kill_group(sh.id(), Signal::SIGKILL).expect("killpg"));
    // The owner still gets its child's status: the reaper skipped it.
    let status = sh.wait().expect("owner waits");
    assert!(!status.success());
    // The grandchild was re-parented to us and is reaped by the reaper.
    assert!(eventually(&mut reaper, || !alive(grandchild)));
    assert!(!kill_group(sh.id(), Signal::SIGKILL).expect("gone"));
}

#[test]
fn dropping_a_group_guard_kills_the_group() {
    become_subreaper().expect("subreaper");
    let owned = OWNED.clone();
    let mut reaper = Reaper::new(owned.clone());
    let (mut sh, grandchild, _owned) = shell_with_grandchild(&owned);
    drop(GroupGuard::new(sh.id()));
    sh.wait().expect("owner waits");
    assert!(eventually(&mut reaper, || !alive(grandchild)));
}
