//! The audit-log actor's actix shell: appends lines to files and reports
//! failures back to the [`Machine`].
//!
//! Entries reach it through an unbounded channel ([`AuditSink`]), not its
//! mailbox: a burst of decisions is never refused for a full mailbox, and
//! a restarted incarnation goes on reading the same channel, so nothing
//! sent is lost.
//!
//! The only file of this actor kind that knows actix.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use actix::prelude::*;
use tokio::sync::mpsc;

use super::machine::{Effect, Input, Machine};
use super::{AuditEntry, AuditReport};

/// Where decisions are sent; cheap to clone, never blocks.
#[derive(Debug, Clone)]
pub(crate) struct AuditSink(mpsc::UnboundedSender<Input>);

impl AuditSink {
    /// Records one decision.
    pub(crate) fn record(&self, entry: AuditEntry) {
        let _ = self.0.send(Input::Record(entry));
    }

    /// From now on, lines go to these files (requirements' `audit_log`).
    pub(crate) fn configure(&self, paths: Vec<PathBuf>) {
        let _ = self.0.send(Input::Configure(paths));
    }
}

/// The receiving end, shared by every incarnation of the actor.
pub(crate) type AuditInbox = Arc<Mutex<mpsc::UnboundedReceiver<Input>>>;

/// A connected sink and inbox.
pub(crate) fn audit_channel() -> (AuditSink, AuditInbox) {
    let (tx, rx) = mpsc::unbounded_channel();
    (AuditSink(tx), Arc::new(Mutex::new(rx)))
}

/// Appends audit lines; shares its report with the session.
pub(crate) struct AuditLogActor {
    machine: Machine,
    report: Arc<Mutex<Vec<AuditReport>>>,
    inbox: AuditInbox,
}

impl AuditLogActor {
    pub(crate) fn new(inbox: AuditInbox, report: Arc<Mutex<Vec<AuditReport>>>) -> Self {
        AuditLogActor {
            machine: Machine::new(),
            report,
            inbox,
        }
    }

    fn deliver(&mut self, input: Input) {
        let mut queue = vec![input];
        while let Some(input) = queue.pop() {
            for effect in self.machine.step(input, SystemTime::now()) {
                match effect {
                    Effect::Trace(line) => tracing::info!(target: "audit", "{line}"),
                    Effect::Warn { path, error } => tracing::warn!(
                        path = %path.display(),
                        "the audit log cannot be written: {error}; its lines are counted as dropped"
                    ),
                    Effect::Append { path, line } => {
                        if let Err(error) = append(&path, &line) {
                            queue.push(Input::WriteFailed {
                                path,
                                error: error.to_string(),
                            });
                        }
                    }
                }
            }
        }
        *self.report.lock().unwrap_or_else(PoisonError::into_inner) = self.machine.report();
    }
}

/// One line, appended and flushed on its own (`O_APPEND`: concurrent
/// writers never interleave inside a line), to a regular file created
/// 0600: a symbolic link or a FIFO at the path is refused, never written
/// through or waited on.
fn append(path: &std::path::Path, line: &str) -> std::io::Result<()> {
    let mut file = codex_sandbox::files::open_append_private(path)?;
    let mut bytes = line.as_bytes().to_vec();
    bytes.push(b'\n');
    file.write_all(&bytes)?;
    file.flush()
}

impl Actor for AuditLogActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let inbox = Arc::clone(&self.inbox);
        ctx.add_stream(futures::stream::poll_fn(move |cx| {
            inbox
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .poll_recv(cx)
                .map(|input| input.map(Received))
        }));
    }

    /// Whatever was sent before the stop is still written: the servers
    /// stop before this actor and report their ends on the way.
    fn stopping(&mut self, _ctx: &mut Context<Self>) -> Running {
        loop {
            let next = self
                .inbox
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .try_recv();
            match next {
                Ok(input) => self.deliver(input),
                Err(_) => break,
            }
        }
        Running::Stop
    }
}

/// One input from the channel.
#[derive(Debug)]
struct Received(Input);

impl StreamHandler<Received> for AuditLogActor {
    fn handle(&mut self, Received(input): Received, _: &mut Context<Self>) {
        self.deliver(input);
    }

    /// Every sink is gone: the session has ended.
    fn finished(&mut self, _ctx: &mut Context<Self>) {}
}
