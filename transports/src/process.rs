//! [`ChildProcess`]: a running stdio server as seen from outside its
//! transport: its pid (which is also its process group id), the tail of its
//! stderr, and the exit status of the group leader, which a task reaps and
//! publishes.
//!
//! Killing the tree when the transport goes is the stdio plugin's guard;
//! this handle only observes, and can kill the tree on demand.

use std::io;
use std::process::ExitStatus;

use codex_sandbox::ProcessTag;
use tokio::process::Child;
use tokio::sync::watch;

use crate::stderr_tail::StderrTail;

/// A running stdio server, as seen from outside its transport. Cheap to
/// clone; dropping it does nothing.
#[derive(Debug, Clone)]
pub struct ChildProcess {
    pid: u32,
    tag: ProcessTag,
    stderr: StderrTail,
    exit: watch::Receiver<Option<Option<ExitStatus>>>,
}

impl ChildProcess {
    /// The child's pid, which is also its process group id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The process group id (equal to [`pid`](ChildProcess::pid)).
    pub fn pgid(&self) -> u32 {
        self.pid
    }

    /// The end of the child's stderr.
    pub fn stderr(&self) -> &StderrTail {
        &self.stderr
    }

    /// The group leader's exit status, once it has exited and been reaped.
    /// `Some(None)` means waiting for it failed.
    pub fn try_exit_status(&self) -> Option<Option<ExitStatus>> {
        *self.exit.borrow()
    }

    /// Waits for the group leader to exit and returns its status (`None` if
    /// waiting for it failed).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn exited(&self) -> Option<ExitStatus> {
        let mut exit = self.exit.clone();
        match exit.wait_for(Option::is_some).await {
            Ok(status) => status.flatten(),
            // The reaper task is gone (its runtime shut down).
            Err(_) => None,
        }
    }

    /// SIGKILLs the whole process tree now: the group, descendants that
    /// left it, and orphans of it this process adopted. The transport still
    /// has to be closed or dropped by its owner.
    pub fn kill_group(&self) -> io::Result<()> {
        self.tag.kill(self.pid);
        Ok(())
    }
}

impl ChildProcess {
    /// The handle on `child`, the leader of process group `pid` tagged
    /// `tag`, whose stderr fills `stderr`. A task reaps `child`, releases
    /// `pid` from the processes this one owns
    /// ([`codex_sandbox::release_owned`]), and publishes its exit status.
    pub(crate) fn reaped(mut child: Child, pid: u32, tag: ProcessTag, stderr: StderrTail) -> Self {
        let (exit_tx, exit_rx) = watch::channel(None);
        tokio::spawn(async move {
            let status = child.wait().await.ok();
            codex_sandbox::release_owned(pid);
            exit_tx.send_replace(Some(status));
        });
        ChildProcess {
            pid,
            tag,
            stderr,
            exit: exit_rx,
        }
    }
}
