//! Sandboxed commands of a session: run to their end, or held as process
//! sessions that keep running between the caller's polls (`exec_command`
//! that yields, then `write_stdin`). Each command is a temporary child of
//! the session root, killed with its process group at shutdown.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use codex_runtime::{ActorError, ChildHandle, ChildId, ChildSpec, Restart};

use super::{CommandError, Session, SessionEvent};
use crate::sandbox_process::{
    Caller, CommandEvent, CommandExit, Poll, ProcessChunk, SandboxProcessActor,
};
use crate::sink::EventSink;

/// The most process sessions that may run at once.
pub(crate) const MAX_PROCESSES: usize = 32;

/// The running process sessions, by id.
#[derive(Debug, Default)]
pub(crate) struct Processes(Mutex<BTreeMap<u64, ChildHandle<SandboxProcessActor>>>);

impl Processes {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, ChildHandle<SandboxProcessActor>>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A process session whose id has not reached its caller yet.
struct Unclaimed<'a> {
    processes: &'a Processes,
    id: u64,
    claimed: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Unclaimed<'_> {
    /// The caller has the id: the session runs on.
    fn claim(mut self) {
        if let Some(claimed) = self.claimed.take() {
            let _ = claimed.send(());
        }
    }
}

impl Drop for Unclaimed<'_> {
    fn drop(&mut self) {
        // Dropped unclaimed: the sender closes unsent, which stops the
        // command's actor; its entry goes too.
        if self.claimed.is_some() {
            self.processes.lock().remove(&self.id);
        }
    }
}

impl Session {
    /// Runs one command under the sandbox as a temporary child of the
    /// session, publishing its output as [`SessionEvent::Command`], and
    /// returns how it ended. The command's timeout is `spec.timeout`.
    pub async fn run_command(
        &self,
        spec: codex_sandbox::CommandSpec,
        policy: codex_sandbox::SandboxPolicy,
    ) -> Result<CommandExit, CommandError> {
        self.run_command_as(spec, policy, &mut |_| {}).await
    }

    /// [`run_command`](Self::run_command), telling `started` the command's
    /// id (the id of its [`CommandEvent`]s) as soon as it runs.
    pub async fn run_command_as(
        &self,
        spec: codex_sandbox::CommandSpec,
        policy: codex_sandbox::SandboxPolicy,
        started: &mut (dyn FnMut(u64) + Send),
    ) -> Result<CommandExit, CommandError> {
        let (reply_tx, reply_rx) = tokio::sync::oneshot::channel();
        // Held while this future waits: dropping it (a cancelled turn)
        // kills the command.
        let (_waiting, waiting) = tokio::sync::oneshot::channel::<()>();
        let (id, _) = self
            .start_command(
                spec,
                policy,
                Caller::ToEnd {
                    reply: reply_tx,
                    waiting,
                },
            )
            .await?;
        started(id);
        let result = reply_rx.await.map_err(|_| CommandError::Lost);
        let _ = self
            .root
            .handle()
            .delete_child(ChildId::new(format!("cmd:{id}")))
            .await;
        result?.map_err(CommandError::Start)
    }

    /// Starts a command as a process session: it keeps running after this
    /// returns, held by its actor, until it exits or the session ends (or
    /// its `spec.timeout`). Returns the session id and what the command
    /// wrote within `wait` (with its exit, if it ended by then).
    pub async fn start_process(
        &self,
        spec: codex_sandbox::CommandSpec,
        policy: codex_sandbox::SandboxPolicy,
        wait: Duration,
    ) -> Result<(u64, ProcessChunk), CommandError> {
        self.start_process_as(spec, policy, wait, &mut |_| {}).await
    }

    /// [`start_process`](Self::start_process), telling `started` the
    /// session id as soon as the command runs.
    pub async fn start_process_as(
        &self,
        mut spec: codex_sandbox::CommandSpec,
        policy: codex_sandbox::SandboxPolicy,
        wait: Duration,
        started: &mut (dyn FnMut(u64) + Send),
    ) -> Result<(u64, ProcessChunk), CommandError> {
        let running = self.processes.lock().len();
        if running >= MAX_PROCESSES {
            return Err(CommandError::TooManyProcesses(running));
        }
        spec.stdin_pipe = true;
        let (claimed, claim) = tokio::sync::oneshot::channel();
        let (id, handle) = self
            .start_command(spec, policy, Caller::Session { claimed: claim })
            .await?;
        self.processes.lock().insert(id, handle);
        // Until the id is returned, a caller that stops waiting (a
        // cancelled turn) leaves a session nobody can poll: it is killed
        // and forgotten.
        let unclaimed = Unclaimed {
            processes: &self.processes,
            id,
            claimed: Some(claimed),
        };
        started(id);
        let chunk = self.poll_process(id, None, wait).await;
        unclaimed.claim();
        Ok((id, chunk?))
    }

    /// Polls process session `id`: `write` goes to its stdin first, then
    /// the answer comes when it exits or after `wait`. The session is
    /// forgotten once an answer carries its exit.
    pub async fn poll_process(
        &self,
        id: u64,
        write: Option<String>,
        wait: Duration,
    ) -> Result<ProcessChunk, CommandError> {
        let handle = self
            .processes
            .lock()
            .get(&id)
            .cloned()
            .ok_or(CommandError::UnknownProcess(id))?;
        let (answer, answered) = tokio::sync::oneshot::channel();
        let sent = handle.send(Poll {
            write,
            wait,
            answer,
        });
        if sent.await.is_err() {
            self.processes.lock().remove(&id);
            return Err(CommandError::Lost);
        }
        let chunk = answered.await.map_err(|_| CommandError::Lost);
        if chunk.as_ref().map_or(true, |chunk| chunk.exit.is_some()) {
            self.processes.lock().remove(&id);
        }
        chunk
    }

    /// Starts the actor of one command under the root.
    async fn start_command(
        &self,
        spec: codex_sandbox::CommandSpec,
        policy: codex_sandbox::SandboxPolicy,
        caller: Caller,
    ) -> Result<(u64, ChildHandle<SandboxProcessActor>), CommandError> {
        let launcher = self
            .options
            .sandbox_launcher
            .clone()
            .ok_or(CommandError::NoLauncher)?;
        let id = self.next_command.fetch_add(1, Ordering::Relaxed);
        let events = self.events.clone();
        let events = EventSink::new(move |event: CommandEvent| {
            let _ = events.send(SessionEvent::Command(event));
        });
        let mut seed = Some((spec, caller));
        let (child, handle) = ChildSpec::actor(format!("cmd:{id}"), move |_| match seed.take() {
            Some((spec, caller)) => Ok(SandboxProcessActor::new(
                id,
                spec,
                policy.clone(),
                launcher.clone(),
                events.clone(),
                caller,
            )),
            None => Err(ActorError::custom(CommandError::AlreadyRan)),
        });
        let child = child
            .restart(Restart::Temporary)
            .shutdown(codex_runtime::Shutdown::BrutalKill);
        self.root
            .handle()
            .start_child(child)
            .await
            .map_err(|err| CommandError::Start(err.to_string()))?;
        Ok((id, handle))
    }
}
