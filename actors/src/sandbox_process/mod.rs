//! The sandbox-process actor: one per command the session runs. It is a
//! temporary child of the session's supervisor (a command is never
//! restarted), streams its output as session events, enforces the command's
//! timeout through `codex-sandbox`, and is killed with its process group
//! when the session shuts down. It reports [`CommandEvent`]s through the
//! sink its owner gave it.
//!
//! A command runs to its end, or as a process session that keeps running
//! between polls (the model's `exec_command` that yields, then
//! `write_stdin`): the actor holds it, with a pipe to its stdin.

mod machine;
mod shell;

pub use machine::{CommandExit, KEPT_BYTES, ProcessChunk, Stream};
pub(crate) use shell::{Caller, Poll, SandboxProcessActor};

/// What a command reports to its owner while it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandEvent {
    /// The command wrote output.
    Output {
        /// The command's id.
        id: u64,
        /// Which stream.
        stream: Stream,
        /// The bytes, decoded lossily.
        text: String,
    },
    /// The command ended.
    Exited {
        /// The command's id.
        id: u64,
        /// Its exit code (124 after a timeout).
        exit_code: i32,
        /// Whether the timeout killed it.
        timed_out: bool,
    },
}
