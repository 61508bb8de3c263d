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

pub use machine::{Effect, Input, Machine, render};
pub(crate) use shell::{AuditLogActor, Configure, Record};

/// One decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditEntry {
    /// A server was admitted or disabled.
    Admission {
        /// The server.
        server: String,
        /// `stdio "cmd" [args]` or the redacted URL.
        identity: String,
        /// Whether it may run.
        allowed: bool,
        /// The rules that admitted it, or the reason it is disabled.
        detail: String,
        /// The requirements sources that decided.
        sources: Vec<String>,
    },
    /// A tool is not offered: an admin rule forbids it or a lock withholds
    /// it.
    ToolWithheld {
        /// The server.
        server: String,
        /// The tool.
        tool: String,
        /// `forbidden`, `changed` or `unpinned`.
        state: String,
        /// Why.
        reason: String,
    },
    /// A call was refused.
    CallRefused {
        /// The server.
        server: String,
        /// The tool.
        tool: String,
        /// Why.
        reason: String,
    },
    /// A server process started.
    ServerStarted {
        /// The server.
        server: String,
        /// Its incarnation.
        incarnation: u64,
        /// The process id.
        pid: u32,
        /// The file it runs.
        executable: Option<PathBuf>,
        /// That file's SHA-256.
        sha256: Option<String>,
    },
    /// A server process stopped.
    ServerStopped {
        /// The server.
        server: String,
        /// Its incarnation.
        incarnation: u64,
        /// The process id.
        pid: u32,
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
