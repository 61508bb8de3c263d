//! The audit-log actor: one JSON line per policy decision, appended to
//! every file the requirements name (`audit_log = "PATH"`).
//!
//! Lines record every admission (allowed or disabled, the rule or the
//! reason, the source), every tool withheld, every refused call, and every
//! start and stop of a server process with its resolved executable and
//! digest. They never hold a secret: URLs are redacted and no environment
//! or header value is written. Each line is appended with `O_APPEND` and
//! flushed on its own. A file that cannot be written is never fatal and
//! never a silent loss: [`AuditReport`] counts the lines it missed, and the
//! CLI warns on stderr. Every entry also goes to `tracing` (target
//! `audit`), so `RUST_LOG=audit=info` shows them without a file.

mod machine;
mod shell;

use std::path::PathBuf;

use crate::policy::{AuditEvent, Withheld, WithheldTool};

pub use machine::{Effect, Input, Machine, render};
pub(crate) use shell::{AuditLogActor, AuditSink, audit_channel};

/// One decision. Each variant nests the value it records; nothing here
/// mirrors another type field by field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditEntry {
    /// A server was admitted or disabled.
    Admission(AuditEvent),
    /// A tool is not offered: an admin rule forbids it or a lock withholds
    /// it.
    ToolWithheld {
        /// The server.
        server: String,
        /// The tool and why.
        tool: WithheldTool,
    },
    /// A call was refused.
    CallRefused {
        /// The server.
        server: String,
        /// The tool.
        tool: String,
        /// Why.
        why: Withheld,
    },
    /// A server process started or stopped.
    Process(ProcessEvent),
}

/// A server process started or stopped: reported by the server actor to
/// the session (as a server event) and to the audit log alike.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessEvent {
    /// The server.
    pub server: String,
    /// Its incarnation.
    pub incarnation: u64,
    /// The process (and process group) id.
    pub pid: u32,
    /// What happened.
    pub change: ProcessChange,
}

/// What happened to a server process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcessChange {
    /// It was spawned.
    Started {
        /// The file it runs.
        executable: Option<PathBuf>,
        /// That file's SHA-256 (when pinned, or hashed for the audit log).
        sha256: Option<String>,
    },
    /// It stopped (its tree was killed).
    Stopped {
        /// How it ended.
        status: String,
    },
}

/// What an audit file missed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditReport {
    /// The file.
    pub path: PathBuf,
    /// Lines that could not be written.
    pub dropped: u64,
    /// The last error.
    pub last_error: String,
}
