//! The audit-log actor's actix shell: appends lines to files and reports
//! failures back to the [`Machine`].
//!
//! The only file of this actor kind that knows actix.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use actix::prelude::*;

use super::machine::{Effect, Input, Machine};
use super::{AuditEntry, AuditReport};

/// Appends audit lines; shares its report with the session.
pub(crate) struct AuditLogActor {
    machine: Machine,
    report: Arc<Mutex<Vec<AuditReport>>>,
}

impl AuditLogActor {
    pub(crate) fn new(paths: Vec<PathBuf>, report: Arc<Mutex<Vec<AuditReport>>>) -> Self {
        let mut machine = Machine::new();
        machine.step(Input::Configure(paths), SystemTime::now());
        AuditLogActor { machine, report }
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
/// writers never interleave inside a line).
fn append(path: &PathBuf, line: &str) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    let mut bytes = line.as_bytes().to_vec();
    bytes.push(b'\n');
    file.write_all(&bytes)?;
    file.flush()
}

impl Actor for AuditLogActor {
    type Context = Context<Self>;
}

/// Records one decision.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(crate) struct Record(pub(crate) AuditEntry);

impl Handler<Record> for AuditLogActor {
    type Result = ();

    fn handle(&mut self, Record(entry): Record, _: &mut Context<Self>) {
        self.deliver(Input::Record(entry));
    }
}

/// The files requirements name now.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(crate) struct Configure(pub(crate) Vec<PathBuf>);

impl Handler<Configure> for AuditLogActor {
    type Result = ();

    fn handle(&mut self, Configure(paths): Configure, _: &mut Context<Self>) {
        self.deliver(Input::Configure(paths));
    }
}
