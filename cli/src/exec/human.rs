//! `codex exec` without `--json`: progress for a person, on stderr.
//!
//! A command shows as its command line and where it runs, then, once it
//! ends, how it ended and how long it took, its output (stdout and stderr
//! in the order they came), and a blank line.
//!
//! Everything shown comes from the model, commands or servers: each part
//! is cleaned ([`terminal::clean`]) before this renderer adds its own
//! colors.

use std::io::IsTerminal as _;
use std::time::Duration;

use codex_actors::turn::{ItemDetails, ItemStatus, TurnEvent};

use crate::args::Color;
use crate::terminal;

/// Lines of a command's output shown.
const OUTPUT_LINES: usize = 20;

/// Whether to color stderr: `always`, `never`, or on a terminal without
/// `NO_COLOR`.
pub(crate) fn use_color(color: Color) -> bool {
    match color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    }
}

/// Writes turn events as text.
pub(crate) struct Renderer {
    color: bool,
}

impl Renderer {
    pub(crate) fn new(color: bool) -> Self {
        Renderer { color }
    }

    /// `text`, cleaned, in a color.
    fn paint(&self, code: &str, text: &str) -> String {
        let text = terminal::clean(text);
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.into_owned()
        }
    }

    /// A line assembled from painted and cleaned parts.
    fn write(&self, text: &str) {
        terminal::err_styled(text);
    }

    /// A line of untrusted text.
    fn plain(&self, text: &str) {
        terminal::err(text);
    }

    pub(crate) fn header(&self, rows: &[(&str, String)]) {
        for (key, value) in rows {
            self.write(&format!(
                "{}: {}",
                self.paint("1", key),
                terminal::clean(value)
            ));
        }
        self.write("--------");
    }

    pub(crate) fn prompt(&self, prompt: &str) {
        self.write(&self.paint("36", "user"));
        self.plain(prompt);
    }

    pub(crate) fn event(&mut self, event: &TurnEvent) {
        match event {
            TurnEvent::TurnStarted | TurnEvent::TextDelta { .. } => {}
            TurnEvent::ItemStarted(item) => match &item.details {
                ItemDetails::CommandExecution { command, cwd, .. } => {
                    self.write(&self.paint("35", "exec"));
                    self.write(&format!(
                        "{} in {}",
                        self.paint("1", command),
                        terminal::clean(&cwd.display().to_string())
                    ));
                }
                ItemDetails::McpToolCall {
                    server,
                    tool,
                    arguments,
                    ..
                } => {
                    self.write(&self.paint("35", "tool"));
                    self.plain(&format!("{server}.{tool}({arguments})"));
                }
                ItemDetails::FileChange { changes, .. } => {
                    self.write(&self.paint("35", "apply_patch"));
                    for change in changes {
                        self.plain(&format!("{} {}", change.kind, change.path.display()));
                    }
                }
                ItemDetails::AgentMessage { .. }
                | ItemDetails::Reasoning { .. }
                | ItemDetails::Error { .. } => {}
            },
            TurnEvent::ItemCompleted(item) => match &item.details {
                ItemDetails::AgentMessage { text } => {
                    self.write(&self.paint("35", "codex"));
                    self.plain(text);
                }
                ItemDetails::Reasoning { text } => {
                    self.write(&self.paint("3", "thinking"));
                    self.write(&self.paint("3", text));
                }
                ItemDetails::CommandExecution {
                    command,
                    cwd,
                    aggregated_output,
                    exit_code,
                    duration,
                    status,
                } => {
                    if *status == ItemStatus::Declined {
                        self.write(&self.paint("35", "exec"));
                        self.plain(&format!("{command} in {}", cwd.display()));
                    }
                    let took = duration.map(took).unwrap_or_default();
                    let verdict = match (status, exit_code) {
                        (ItemStatus::Completed, _) => self.paint("32", &format!("succeeded{took}")),
                        (ItemStatus::Declined, _) => self.paint("31", "declined"),
                        (_, Some(code)) => self.paint("31", &format!("exited {code}{took}")),
                        (_, None) => self.paint("31", &format!("failed{took}")),
                    };
                    self.write(&format!("{verdict}:"));
                    let lines: Vec<&str> = aggregated_output.lines().collect();
                    for line in lines.iter().take(OUTPUT_LINES) {
                        self.plain(line);
                    }
                    if lines.len() > OUTPUT_LINES {
                        self.write(&format!("... ({} more lines)", lines.len() - OUTPUT_LINES));
                    }
                    self.write("");
                }
                ItemDetails::FileChange { status, .. } => match status {
                    ItemStatus::Completed => {
                        self.write(&format!("{}\n", self.paint("32", "applied")))
                    }
                    _ => self.write(&format!("{}\n", self.paint("31", "not applied"))),
                },
                ItemDetails::McpToolCall { error, status, .. } => match (status, error) {
                    (ItemStatus::Completed, _) => {
                        self.write(&format!("{}\n", self.paint("32", "succeeded")))
                    }
                    (_, Some(error)) => {
                        self.write(&format!(
                            "{}: {}\n",
                            self.paint("31", "failed"),
                            terminal::clean(error)
                        ));
                    }
                    (_, None) => self.write(&format!("{}\n", self.paint("31", "failed"))),
                },
                ItemDetails::Error { message } => {
                    self.write(&format!(
                        "{} {}",
                        self.paint("33", "warning:"),
                        terminal::clean(message)
                    ));
                }
            },
            TurnEvent::Error { message } => self.write(&self.paint("33", message)),
            TurnEvent::TurnCompleted { usage } => {
                self.write(&self.paint("1", "tokens used"));
                self.write(&(usage.input_tokens + usage.output_tokens).to_string());
            }
            TurnEvent::TurnFailed { message } => {
                self.write(&format!(
                    "{} {}",
                    self.paint("31", "ERROR:"),
                    terminal::clean(message)
                ));
            }
        }
    }
}

/// ` in 120ms`, ` in 1.3s`.
fn took(duration: Duration) -> String {
    let ms = duration.as_millis();
    if ms < 1000 {
        format!(" in {ms}ms")
    } else {
        format!(" in {:.1}s", duration.as_secs_f64())
    }
}
