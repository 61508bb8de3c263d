//! History cells: what the chat shows of each message and call, as lines
//! of styled text. Every string from outside (the model, a command's
//! output, a tool's result) is cleaned here, before ratatui sees it.

use std::time::Duration;

use codex_actors::turn::{ItemDetails, ItemStatus, McpOutcome, ThreadItem};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

use crate::terminal;

/// How many lines of a command's output or a tool's result a cell shows.
const OUTPUT_LINES: usize = 5;
/// The longest argument list shown in a tool call's title.
const ARGUMENTS: usize = 80;

/// One entry of the chat's history.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    /// What the user sent.
    User(String),
    /// The model's answer (complete, or the part streamed so far).
    Agent(String),
    /// A reasoning summary.
    Reasoning(String),
    /// A command.
    Command {
        /// The item's id.
        id: String,
        /// As the user reads it (the shell wrapper taken off).
        command: String,
        /// stdout and stderr as they arrived.
        output: String,
        /// Set once it ended.
        exit_code: Option<i32>,
        /// How long it ran.
        duration: Option<Duration>,
        /// Where it stands.
        status: ItemStatus,
    },
    /// An MCP tool call.
    Tool {
        /// The item's id.
        id: String,
        /// `server.tool(arguments)`.
        title: String,
        /// The result's text, once there is one.
        result: Option<String>,
        /// Why it failed.
        error: Option<String>,
        /// Where it stands.
        status: ItemStatus,
    },
    /// A patch.
    Patch {
        /// The item's id.
        id: String,
        /// `A`, `M` or `D`, and the path.
        changes: Vec<(char, String)>,
        /// Where it stands.
        status: ItemStatus,
    },
    /// A note of ours (a slash command's answer, an interruption).
    Info(String),
    /// A warning (a server that could not start, a retry).
    Warning(String),
    /// An error (the turn failed).
    Error(String),
}

impl Cell {
    /// The cell an item becomes, or `None` for items that are not cells
    /// (an agent message streams; it is added when complete).
    pub(crate) fn from_item(item: &ThreadItem) -> Option<Cell> {
        let id = item.id.clone();
        Some(match &item.details {
            ItemDetails::AgentMessage { text } => Cell::Agent(text.clone()),
            ItemDetails::Reasoning { text } => Cell::Reasoning(text.clone()),
            ItemDetails::CommandExecution {
                command,
                aggregated_output,
                exit_code,
                duration,
                status,
                ..
            } => Cell::Command {
                id,
                command: display_command(command),
                output: aggregated_output.clone(),
                exit_code: *exit_code,
                duration: *duration,
                status: *status,
            },
            ItemDetails::McpToolCall {
                server,
                tool,
                arguments,
                result,
                error,
                status,
            } => Cell::Tool {
                id,
                title: format!(
                    "{server}.{tool}({})",
                    terminal::cut(&arguments.to_string(), ARGUMENTS)
                ),
                result: result.as_ref().map(result_text),
                error: error.clone(),
                status: *status,
            },
            ItemDetails::FileChange { changes, status } => Cell::Patch {
                id,
                changes: changes
                    .iter()
                    .map(|change| {
                        let mark = match change.kind {
                            "add" => 'A',
                            "delete" => 'D',
                            _ => 'M',
                        };
                        (mark, change.path.display().to_string())
                    })
                    .collect(),
                status: *status,
            },
            ItemDetails::Error { message } => Cell::Warning(message.clone()),
        })
    }

    /// The item id of a call's cell.
    pub(crate) fn id(&self) -> Option<&str> {
        match self {
            Cell::Command { id, .. } | Cell::Tool { id, .. } | Cell::Patch { id, .. } => Some(id),
            _ => None,
        }
    }

    /// The cell as lines, before wrapping.
    pub(crate) fn lines(&self) -> Vec<Line<'static>> {
        let mut lines = match self {
            Cell::User(text) => prefixed(text, "› ", Style::new().bold(), Style::new()),
            Cell::Agent(text) => prefixed(text, "• ", Style::new(), Style::new()),
            Cell::Reasoning(text) => prefixed(
                text,
                "• ",
                Style::new().dim(),
                Style::new().dim().add_modifier(Modifier::ITALIC),
            ),
            Cell::Command {
                command,
                output,
                exit_code,
                duration,
                status,
                ..
            } => {
                let (verb, color) = match status {
                    ItemStatus::InProgress => ("Running", Color::Reset),
                    ItemStatus::Completed => ("Ran", Color::Green),
                    ItemStatus::Failed => ("Ran", Color::Red),
                    ItemStatus::Declined => ("Declined", Color::Red),
                };
                let mut lines = vec![Line::from(vec![
                    Span::styled("• ", Style::new().fg(color).bold()),
                    Span::styled(verb, Style::new().bold()),
                    Span::raw(" "),
                    Span::raw(clean_line(command)),
                ])];
                if *status != ItemStatus::InProgress {
                    let mut body: Vec<String> = output_lines(output);
                    if body.is_empty() && *status != ItemStatus::Declined {
                        body.push("(no output)".to_owned());
                    }
                    match (status, exit_code) {
                        (ItemStatus::Failed, Some(code)) => body.push(format!("exit {code}")),
                        (ItemStatus::Failed, None) => body.push("failed".to_owned()),
                        _ => {}
                    }
                    if let Some(took) = duration.filter(|_| *status != ItemStatus::Declined)
                        && let Some(last) = body.last_mut()
                    {
                        last.push_str(&format!("  ({})", elapsed(took)));
                    }
                    lines.extend(tree(body, Style::new().dim()));
                }
                lines
            }
            Cell::Tool {
                title,
                result,
                error,
                status,
                ..
            } => {
                let (verb, color) = match status {
                    ItemStatus::InProgress => ("Calling", Color::Reset),
                    ItemStatus::Completed => ("Called", Color::Green),
                    ItemStatus::Failed | ItemStatus::Declined => ("Called", Color::Red),
                };
                let verb = if *status == ItemStatus::Declined {
                    "Declined"
                } else {
                    verb
                };
                let mut lines = vec![Line::from(vec![
                    Span::styled("• ", Style::new().fg(color).bold()),
                    Span::styled(verb, Style::new().bold()),
                    Span::raw(" "),
                    Span::raw(clean_line(title)),
                ])];
                let body = match (error, result) {
                    (Some(error), _) => output_lines(error),
                    (None, Some(result)) => output_lines(result),
                    (None, None) => Vec::new(),
                };
                let style = if error.is_some() {
                    Style::new().fg(Color::Red)
                } else {
                    Style::new().dim()
                };
                lines.extend(tree(body, style));
                lines
            }
            Cell::Patch {
                changes, status, ..
            } => {
                let (verb, color) = match status {
                    ItemStatus::InProgress => ("Editing", Color::Reset),
                    ItemStatus::Completed => ("Edited", Color::Green),
                    ItemStatus::Failed | ItemStatus::Declined => ("Not applied", Color::Red),
                };
                let files = if changes.len() == 1 { "file" } else { "files" };
                let mut lines = vec![Line::from(vec![
                    Span::styled("• ", Style::new().fg(color).bold()),
                    Span::styled(verb, Style::new().bold()),
                    Span::raw(format!(" {} {files}", changes.len())),
                ])];
                let body = changes
                    .iter()
                    .map(|(mark, path)| format!("{mark} {}", clean_line(path)))
                    .collect();
                lines.extend(tree(body, Style::new()));
                lines
            }
            Cell::Info(text) => prefixed(text, "• ", Style::new().dim(), Style::new().dim()),
            Cell::Warning(text) => prefixed(
                text,
                "⚠ ",
                Style::new().fg(Color::Yellow),
                Style::new().fg(Color::Yellow),
            ),
            Cell::Error(text) => prefixed(
                text,
                "■ ",
                Style::new().fg(Color::Red),
                Style::new().fg(Color::Red),
            ),
        };
        lines.push(Line::default());
        lines
    }
}

/// `text`, each line cleaned, the first after `mark`, the others indented
/// to match.
fn prefixed(text: &str, mark: &'static str, mark_style: Style, style: Style) -> Vec<Line<'static>> {
    let clean = terminal::clean(text).replace('\t', "    ");
    clean
        .split('\n')
        .enumerate()
        .map(|(at, line)| {
            let lead = if at == 0 { mark } else { "  " };
            Line::from(vec![
                Span::styled(lead, mark_style),
                Span::styled(line.to_owned(), style),
            ])
        })
        .collect()
}

/// Lines under a call: `  └ ` before the first, indented after.
fn tree(body: Vec<String>, style: Style) -> Vec<Line<'static>> {
    body.into_iter()
        .enumerate()
        .map(|(at, line)| {
            let lead = if at == 0 { "  └ " } else { "    " };
            Line::from(vec![Span::raw(lead), Span::styled(line, style)])
        })
        .collect()
}

/// The first lines of `text`, cleaned, with a count of the rest.
fn output_lines(text: &str) -> Vec<String> {
    let all: Vec<&str> = text.lines().collect();
    let mut lines: Vec<String> = all
        .iter()
        .take(OUTPUT_LINES)
        .map(|line| clean_line(line))
        .collect();
    if all.len() > OUTPUT_LINES {
        lines.push(format!("… +{} lines", all.len() - OUTPUT_LINES));
    }
    lines
}

fn clean_line(text: &str) -> String {
    terminal::line(text).replace("\\t", "    ")
}

/// `/bin/bash -lc 'cmd'` as the user reads it: `cmd`.
pub(crate) fn display_command(command: &str) -> String {
    for shell in ["/bin/bash -lc ", "bash -lc ", "/bin/sh -c ", "sh -c "] {
        if let Some(rest) = command.strip_prefix(shell) {
            if let Some(inner) = rest
                .strip_prefix('\'')
                .and_then(|rest| rest.strip_suffix('\''))
                .filter(|inner| !inner.contains('\''))
            {
                return inner.to_owned();
            }
            return rest.to_owned();
        }
    }
    command.to_owned()
}

/// The text blocks of a tool result, else its JSON.
fn result_text(outcome: &McpOutcome) -> String {
    let texts: Vec<&str> = outcome
        .content
        .iter()
        .filter_map(|block| block.get("text").and_then(serde_json::Value::as_str))
        .collect();
    if texts.is_empty() {
        match &outcome.structured_content {
            Some(value) => value.to_string(),
            None => serde_json::Value::Array(outcome.content.clone()).to_string(),
        }
    } else {
        texts.join("\n")
    }
}

/// `850ms`, `3.2s`, `1m 05s`.
pub(crate) fn elapsed(took: Duration) -> String {
    let ms = took.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if took.as_secs() < 60 {
        format!("{:.1}s", took.as_secs_f64())
    } else {
        format!("{}m {:02}s", took.as_secs() / 60, took.as_secs() % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(cell: &Cell) -> String {
        cell.lines()
            .iter()
            .map(|line| line.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn the_shell_wrapper_is_taken_off() {
        assert_eq!(display_command("/bin/bash -lc 'ls -la'"), "ls -la");
        assert_eq!(
            display_command("/bin/bash -lc echo 'a'\\''b'"),
            "echo 'a'\\''b'"
        );
        assert_eq!(display_command("git status"), "git status");
    }

    #[test]
    fn a_command_shows_its_first_lines_and_counts_the_rest() {
        let output: String = (1..=8).map(|n| format!("line {n}\n")).collect();
        let cell = Cell::Command {
            id: "item_1".to_owned(),
            command: "seq 8".to_owned(),
            output,
            exit_code: Some(0),
            duration: Some(Duration::from_millis(12)),
            status: ItemStatus::Completed,
        };
        let shown = text(&cell);
        assert!(shown.starts_with("• Ran seq 8\n  └ line 1\n"), "{shown}");
        assert!(shown.contains("line 5\n    … +3 lines  (12ms)"), "{shown}");
        assert!(!shown.contains("line 6"), "{shown}");
    }

    #[test]
    fn control_characters_never_reach_the_screen() {
        let cell = Cell::Agent("evil \x1b]0;title\x07 text".to_owned());
        let shown = text(&cell);
        assert!(
            !shown.contains('\x1b') && !shown.contains('\x07'),
            "{shown:?}"
        );
    }
}
