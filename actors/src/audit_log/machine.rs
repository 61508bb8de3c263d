//! The audit log's pure core: which files get a line, the line itself, and
//! the count of lines each file missed. Time arrives as an argument.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::SystemTime;

use serde_json::{Value, json};

use super::{AuditEntry, AuditReport, ProcessChange, ProcessEvent};

/// Everything that can happen to the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// The requirements now name these files (hot reload).
    Configure(Vec<PathBuf>),
    /// A decision to record.
    Record(AuditEntry),
    /// Writing a line to a file failed.
    WriteFailed {
        /// The file.
        path: PathBuf,
        /// Why.
        error: String,
    },
}

/// What the shell must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Append `line` (with its newline) to `path` and flush.
    Append {
        /// The file.
        path: PathBuf,
        /// The line.
        line: String,
    },
    /// Log the entry through `tracing`.
    Trace(String),
    /// Warn, once per failure streak, that `path` cannot be written.
    Warn {
        /// The file.
        path: PathBuf,
        /// Why.
        error: String,
    },
}

/// The state of the log.
#[derive(Debug, Default)]
pub struct Machine {
    paths: Vec<PathBuf>,
    failures: BTreeMap<PathBuf, AuditReport>,
    warned: Vec<PathBuf>,
}

impl Machine {
    /// A log with no file yet.
    pub fn new() -> Self {
        Machine::default()
    }

    /// Advances the log; `now` stamps a recorded line.
    pub fn step(&mut self, input: Input, now: SystemTime) -> Vec<Effect> {
        match input {
            Input::Configure(paths) => {
                self.paths = paths;
                self.paths.sort();
                self.paths.dedup();
                Vec::new()
            }
            Input::Record(entry) => {
                let line = render(&entry, now);
                let mut effects = vec![Effect::Trace(line.clone())];
                effects.extend(self.paths.iter().map(|path| Effect::Append {
                    path: path.clone(),
                    line: line.clone(),
                }));
                effects
            }
            Input::WriteFailed { path, error } => {
                let report = self
                    .failures
                    .entry(path.clone())
                    .or_insert_with(|| AuditReport {
                        path: path.clone(),
                        dropped: 0,
                        last_error: String::new(),
                    });
                report.dropped += 1;
                report.last_error = error.clone();
                if self.warned.contains(&path) {
                    return Vec::new();
                }
                self.warned.push(path.clone());
                vec![Effect::Warn { path, error }]
            }
        }
    }

    /// The files that missed lines, and how many.
    pub fn report(&self) -> Vec<AuditReport> {
        self.failures.values().cloned().collect()
    }
}

/// One entry as its JSON line (without the newline).
pub fn render(entry: &AuditEntry, now: SystemTime) -> String {
    let ts = humantime::format_rfc3339_millis(now).to_string();
    let mut value = match entry {
        AuditEntry::Admission(event) => json!({
            "event": "admission", "server": event.server, "identity": event.identity,
            "allowed": event.allowed, "detail": event.detail, "sources": event.sources,
        }),
        AuditEntry::ToolWithheld { server, tool } => json!({
            "event": "tool_withheld", "server": server, "tool": tool.name,
            "state": tool.why.state(), "reason": tool.why.to_string(),
        }),
        AuditEntry::CallRefused { server, tool, why } => json!({
            "event": "call_refused", "server": server, "tool": tool, "reason": why.to_string(),
        }),
        AuditEntry::Process(ProcessEvent {
            server,
            incarnation,
            pid,
            change: ProcessChange::Started { executable, sha256 },
        }) => json!({
            "event": "server_started", "server": server, "incarnation": incarnation,
            "pid": pid,
            "executable": executable.as_ref().map(|p| p.display().to_string()),
            "sha256": sha256,
        }),
        AuditEntry::Process(ProcessEvent {
            server,
            incarnation,
            pid,
            change: ProcessChange::Stopped { status },
        }) => json!({
            "event": "server_stopped", "server": server, "incarnation": incarnation,
            "pid": pid, "status": status,
        }),
    };
    let mut line = serde_json::Map::new();
    line.insert("ts".to_owned(), Value::String(ts));
    if let Value::Object(fields) = &mut value {
        line.extend(std::mem::take(fields));
    }
    Value::Object(line).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn lines_go_to_every_file_and_failures_are_counted() {
        let mut log = Machine::new();
        log.step(Input::Configure(vec!["/a".into(), "/b".into()]), at(0));
        let effects = log.step(
            Input::Record(AuditEntry::CallRefused {
                server: "gh".to_owned(),
                tool: "delete_repository".to_owned(),
                why: crate::policy::Withheld::Unpinned {
                    lock: "/etc/codex/mcp-tools.lock".into(),
                },
            }),
            at(1_796_000_000),
        );
        let line = r#"{"ts":"2026-11-30T00:53:20.000Z","event":"call_refused","server":"gh","tool":"delete_repository","reason":"/etc/codex/mcp-tools.lock does not pin it (run `codex mcp lock`)"}"#;
        assert_eq!(
            effects,
            vec![
                Effect::Trace(line.to_owned()),
                Effect::Append {
                    path: "/a".into(),
                    line: line.to_owned()
                },
                Effect::Append {
                    path: "/b".into(),
                    line: line.to_owned()
                },
            ]
        );
        let fail = |log: &mut Machine| {
            log.step(
                Input::WriteFailed {
                    path: "/b".into(),
                    error: "Permission denied".to_owned(),
                },
                at(2),
            )
        };
        assert_eq!(fail(&mut log).len(), 1, "the first failure warns");
        assert!(fail(&mut log).is_empty(), "later ones only count");
        assert_eq!(
            log.report(),
            vec![AuditReport {
                path: "/b".into(),
                dropped: 2,
                last_error: "Permission denied".to_owned()
            }]
        );
    }
}
