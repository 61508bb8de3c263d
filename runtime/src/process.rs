//! Process hygiene for children that own OS processes.
//!
//! * [`ProcessGroupExt::own_process_group`] makes a command's process the
//!   leader of a new process group (`setpgid(0, 0)` in the child), so the
//!   whole tree it spawns can be signalled at once.
//! * [`kill_group`] and [`GroupGuard`] signal that group; the guard sends
//!   `SIGKILL` to the group when dropped, so an actor that holds one
//!   cleans up however it ends (stop, kill or panic).
//! * [`become_subreaper`] makes this process adopt orphaned descendants
//!   (`PR_SET_CHILD_SUBREAPER`) instead of PID 1, and [`Reaper`] collects
//!   them once they are zombies.
//!
//! # Caveat: reaping without stealing exit statuses
//!
//! `waitpid(-1)` would also collect children that tokio or std are about
//! to wait for, and their owners would then see `ECHILD`. The reaper
//! therefore never waits for "any child": it scans `/proc` for zombies
//! whose parent is this process, skips every pid registered with
//! [`OwnedPids`], and only reaps a zombie it has already seen in the
//! previous scan (so an owner that waits promptly always wins). A direct
//! child that is not registered and whose owner waits for it later than
//! one scan interval can still lose its status: register every process
//! you spawn yourself with [`OwnedPids::register`].

use std::collections::HashSet;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use crate::child::lock;

/// Puts a command's process into a new process group of its own.
pub trait ProcessGroupExt {
    /// Sets `setpgid(0, 0)` for the spawned process.
    fn own_process_group(&mut self) -> &mut Self;
}

impl ProcessGroupExt for std::process::Command {
    fn own_process_group(&mut self) -> &mut Self {
        std::os::unix::process::CommandExt::process_group(self, 0)
    }
}

impl ProcessGroupExt for tokio::process::Command {
    fn own_process_group(&mut self) -> &mut Self {
        self.process_group(0)
    }
}

/// Sends `signal` to every process in group `pgid`. Returns `Ok(false)`
/// when the group no longer exists.
pub fn kill_group(pgid: u32, signal: Signal) -> io::Result<bool> {
    let pgid = i32::try_from(pgid).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    match killpg(Pid::from_raw(pgid), signal) {
        Ok(()) => Ok(true),
        Err(Errno::ESRCH) => Ok(false),
        Err(e) => Err(io::Error::from(e)),
    }
}

/// Kills a process group with `SIGKILL` when dropped.
///
/// # Drop
/// Dropping sends `SIGKILL` to the group (errors are ignored: the group
/// may already be gone). Call [`GroupGuard::disarm`] to keep it alive.
#[derive(Debug)]
pub struct GroupGuard {
    pgid: Option<u32>,
}

impl GroupGuard {
    /// Guards the group led by `pid` (a process spawned with
    /// [`ProcessGroupExt::own_process_group`], whose pgid is its pid).
    pub fn new(pid: u32) -> Self {
        GroupGuard { pgid: Some(pid) }
    }

    /// Sends `signal` to the group now.
    pub fn signal(&self, signal: Signal) -> io::Result<bool> {
        match self.pgid {
            Some(pgid) => kill_group(pgid, signal),
            None => Ok(false),
        }
    }

    /// Forgets the group without killing it.
    pub fn disarm(mut self) {
        self.pgid = None;
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pgid) = self.pgid {
            let _ = kill_group(pgid, Signal::SIGKILL);
        }
    }
}

/// Makes this process the child subreaper for its descendants
/// (`PR_SET_CHILD_SUBREAPER`, Linux only). Orphans are then re-parented
/// here instead of to PID 1; run a [`Reaper`] so they do not linger as
/// zombies.
pub fn become_subreaper() -> io::Result<()> {
    nix::sys::prctl::set_child_subreaper(true).map_err(io::Error::from)
}

/// Pids of direct children that someone else (tokio, std) will wait for.
/// The [`Reaper`] never touches them.
#[derive(Debug, Clone, Default)]
pub struct OwnedPids {
    pids: Arc<Mutex<HashSet<i32>>>,
}

impl OwnedPids {
    /// An empty registry.
    pub fn new() -> Self {
        OwnedPids::default()
    }

    /// Registers `pid` until the returned guard is dropped.
    pub fn register(&self, pid: u32) -> OwnedPid {
        let pid = i32::try_from(pid).unwrap_or(i32::MAX);
        lock(&self.pids).insert(pid);
        OwnedPid {
            pids: Arc::clone(&self.pids),
            pid,
        }
    }

    fn contains(&self, pid: i32) -> bool {
        lock(&self.pids).contains(&pid)
    }
}

/// Keeps a pid registered in [`OwnedPids`]; drop it after the owner has
/// waited for the process.
#[derive(Debug)]
pub struct OwnedPid {
    pids: Arc<Mutex<HashSet<i32>>>,
    pid: i32,
}

impl Drop for OwnedPid {
    fn drop(&mut self) {
        lock(&self.pids).remove(&self.pid);
    }
}

/// Collects orphaned zombies re-parented to this process. See the module
/// docs for the caveat.
#[derive(Debug)]
pub struct Reaper {
    owned: OwnedPids,
    seen: HashSet<i32>,
}

impl Reaper {
    /// A reaper that leaves `owned` pids alone.
    pub fn new(owned: OwnedPids) -> Self {
        Reaper {
            owned,
            seen: HashSet::new(),
        }
    }

    /// One scan: reaps unowned zombie children already seen by the
    /// previous scan and returns their pids.
    pub fn scan(&mut self) -> Vec<u32> {
        let me = std::process::id();
        let zombies: HashSet<i32> = zombie_children(me)
            .into_iter()
            .filter(|pid| !self.owned.contains(*pid))
            .collect();
        let mut reaped = Vec::new();
        for &pid in zombies.intersection(&self.seen) {
            match waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) | Err(_) => {}
                Ok(_) => reaped.extend(u32::try_from(pid).ok()),
            }
        }
        self.seen = zombies;
        self.seen
            .retain(|pid| !reaped.iter().any(|r| i64::from(*r) == i64::from(*pid)));
        reaped
    }

    /// Scans every `interval` (and on every `SIGCHLD`) on a tokio task,
    /// until the returned handle is aborted or dropped with the runtime.
    pub fn spawn(mut self, interval: Duration) -> io::Result<tokio::task::JoinHandle<()>> {
        let mut sigchld = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::child())?;
        Ok(tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = sigchld.recv() => {}
                }
                for pid in self.scan() {
                    tracing::debug!(pid, "reaped orphaned zombie");
                }
            }
        }))
    }
}

/// Pids of zombie processes whose parent is `parent`, from `/proc`.
fn zombie_children(parent: u32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // The command name is in parentheses and may contain spaces; the
        // fields after the last ')' are: state ppid ...
        let Some(rest) = stat.rsplit_once(')').map(|(_, rest)| rest) else {
            continue;
        };
        let mut fields = rest.split_whitespace();
        let (Some(state), Some(ppid)) = (fields.next(), fields.next()) else {
            continue;
        };
        if state == "Z" && ppid.parse::<u32>().ok() == Some(parent) {
            out.push(pid);
        }
    }
    out
}
