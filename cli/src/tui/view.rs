//! Drawing the [`App`] into a frame: the history (bottom-aligned, only
//! the cells that fit are laid out), the streaming answer, the status
//! row, the composer or the approval prompt, and the footer.

use codex_actors::session::ServerState;
use codex_actors::turn::{ApprovalRequest, ApprovalSubject};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style, Stylize as _};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::app::{App, Overlay};
use super::cells::{Cell, elapsed};
use crate::terminal;

const SPINNER: [&str; 4] = ["◐", "◓", "◑", "◒"];
/// How many lines of a patch the approval prompt shows.
const PATCH_LINES: usize = 12;

/// Draws `app`.
pub(crate) fn draw(frame: &mut Frame<'_>, app: &App) {
    let area = frame.area();
    let bottom = bottom_pane(app);
    // Its wrapped rows and the border above it; at most half the screen.
    let rows = Paragraph::new(bottom.clone())
        .wrap(Wrap { trim: false })
        .line_count(area.width.max(1));
    // A question may take all but a few rows; the composer half.
    let most = if app.approvals.is_empty() {
        area.height.saturating_sub(2) / 2 + 2
    } else {
        area.height.saturating_sub(3)
    };
    let bottom_height = u16::try_from(rows)
        .unwrap_or(u16::MAX)
        .saturating_add(1)
        .min(most);
    let running = u16::from(app.is_running());
    let [history, status, pane, footer] = Layout::vertical([
        Constraint::Min(1),
        Constraint::Length(running),
        Constraint::Length(bottom_height),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_history(frame, app, history);
    if app.is_running() {
        frame.render_widget(Paragraph::new(status_row(app)), status);
    }
    let composing = app.approvals.is_empty();
    frame.render_widget(
        Paragraph::new(bottom)
            .wrap(Wrap { trim: false })
            .block(Block::new().borders(Borders::TOP).dim()),
        pane,
    );
    if composing && app.overlay.is_none() {
        place_cursor(frame, app, pane);
    }
    frame.render_widget(Paragraph::new(footer_line(app, area.width)), footer);
    if let Some(overlay) = &app.overlay {
        draw_overlay(frame, app, overlay, history);
    }
}

/// The cells that fit, newest at the bottom, after scrolling back.
fn draw_history(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let width = area.width.max(1);
    let need = usize::from(area.height) + app.scroll;
    let mut blocks: Vec<Vec<Line<'static>>> = Vec::new();
    let mut rows = 0;
    if !app.live.is_empty() {
        let lines = Cell::Agent(app.live.clone()).lines();
        rows += Paragraph::new(lines.clone())
            .wrap(Wrap { trim: false })
            .line_count(width);
        blocks.push(lines);
    }
    for cell in app.cells.iter().rev() {
        if rows >= need {
            break;
        }
        let lines = cell.lines();
        rows += Paragraph::new(lines.clone())
            .wrap(Wrap { trim: false })
            .line_count(width);
        blocks.push(lines);
    }
    if app.cells.is_empty() && app.live.is_empty() {
        blocks.push(welcome(app));
        rows += blocks.last().map_or(0, Vec::len);
    }
    let lines: Vec<Line<'static>> = blocks.into_iter().rev().flatten().collect();
    let skip = rows.saturating_sub(need);
    let paragraph = Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .scroll((u16::try_from(skip).unwrap_or(u16::MAX), 0));
    // Bottom-aligned: a short history sits just above the composer.
    let shown = rows.saturating_sub(skip).min(usize::from(area.height));
    let top = area.height - u16::try_from(shown).unwrap_or(area.height);
    let area = Rect {
        y: area.y + top,
        height: area.height - top,
        ..area
    };
    frame.render_widget(paragraph, area);
}

fn welcome(app: &App) -> Vec<Line<'static>> {
    vec![
        Line::from(vec![
            Span::raw(">_ ").dim(),
            Span::raw("codex").bold(),
            Span::raw(format!(" {}", env!("CARGO_PKG_VERSION"))).dim(),
        ]),
        Line::from(format!(
            "model {}  ·  directory {}",
            terminal::line(&app.status.model),
            terminal::line(&app.status.cwd.display().to_string())
        ))
        .dim(),
        Line::from("/ for commands  ·  Enter sends  ·  Ctrl-J newline  ·  Ctrl-C twice quits")
            .dim(),
        Line::default(),
    ]
}

/// `◐ Working (12s · esc to interrupt)`.
fn status_row(app: &App) -> Line<'static> {
    let (started, now) = match (app.running, app.now) {
        (Some(started), Some(now)) => (started, now),
        _ => return Line::default(),
    };
    let took = now.saturating_duration_since(started);
    let frame = (took.as_millis() / 250) as usize % SPINNER.len();
    let what = if app.interrupting {
        "Interrupting"
    } else if !app.approvals.is_empty() {
        "Waiting for your answer"
    } else {
        "Working"
    };
    Line::from(vec![
        Span::raw(format!("{} ", SPINNER[frame])).cyan(),
        Span::raw(what.to_owned()).bold(),
        Span::raw(format!(" ({} · esc to interrupt)", secs(took))).dim(),
    ])
}

fn secs(took: std::time::Duration) -> String {
    if took.as_secs() < 60 {
        format!("{}s", took.as_secs())
    } else {
        elapsed(took)
    }
}

/// The composer, with the slash-command popup; or the approval prompt.
fn bottom_pane(app: &App) -> Text<'static> {
    if let Some(request) = app.approvals.front() {
        return approval_prompt(request, app.approvals.len(), app.answers_open());
    }
    let mut lines: Vec<Line<'static>> = Vec::new();
    for (name, about) in app.completions() {
        lines.push(Line::from(vec![
            Span::raw(format!("{name:<12}")).cyan(),
            Span::raw(about).dim(),
        ]));
    }
    let text = &app.composer.text;
    if text.is_empty() {
        lines.push(Line::from(vec![
            Span::raw("› ").bold(),
            Span::raw(if app.is_running() {
                "Type a message to queue for after this turn"
            } else {
                "Ask Codex to do anything"
            })
            .dim(),
        ]));
    } else {
        for (at, line) in text.split('\n').enumerate() {
            let lead = if at == 0 { "› " } else { "  " };
            lines.push(Line::from(vec![
                Span::raw(lead).bold(),
                Span::raw(terminal::line(line).into_owned()),
            ]));
        }
    }
    Text::from(lines)
}

/// "Would you like to run the following command?" and the answers.
fn approval_prompt(request: &ApprovalRequest, pending: usize, open: bool) -> Text<'static> {
    let question = match &request.subject {
        ApprovalSubject::Command { .. } => "Would you like to run the following command?",
        ApprovalSubject::Patch { .. } => "Would you like to make the following edits?",
        ApprovalSubject::Tool { .. } => "Would you like to call the following tool?",
    };
    let mut lines = vec![Line::from(question).bold()];
    if let ApprovalSubject::Command { cwd, .. } = &request.subject {
        lines.push(Line::from(
            format!("in {}", terminal::line(&cwd.display().to_string())).dim(),
        ));
    }
    lines.push(
        Line::from(format!(
            "Reason: {}",
            terminal::line(&request.reason.to_string())
        ))
        .italic(),
    );
    lines.push(Line::default());
    match &request.subject {
        ApprovalSubject::Command { command, .. } => {
            let shown = super::cells::display_command(command);
            let shown = terminal::clean(&shown).replace('\t', "    ");
            let all: Vec<&str> = shown.split('\n').collect();
            for (at, line) in all.iter().take(PATCH_LINES).enumerate() {
                let lead = if at == 0 { "$ " } else { "  " };
                lines.push(Line::from(vec![
                    Span::raw(lead).dim(),
                    Span::raw((*line).to_owned()),
                ]));
            }
            if all.len() > PATCH_LINES {
                lines.push(Line::from(format!("  … +{} lines", all.len() - PATCH_LINES)).dim());
            }
        }
        ApprovalSubject::Patch { changes, patch } => {
            for change in changes {
                lines.push(Line::from(format!(
                    "{} {}",
                    change.kind,
                    terminal::line(&change.path.display().to_string())
                )));
            }
            let body: Vec<&str> = patch
                .lines()
                .filter(|line| !line.starts_with("*** "))
                .collect();
            for line in body.iter().take(PATCH_LINES) {
                let shown = terminal::line(line).into_owned();
                let styled = match line.chars().next() {
                    Some('+') => Line::from(shown).green(),
                    Some('-') => Line::from(shown).red(),
                    _ => Line::from(shown).dim(),
                };
                lines.push(styled);
            }
            if body.len() > PATCH_LINES {
                lines.push(Line::from(format!("… +{} lines", body.len() - PATCH_LINES)).dim());
            }
        }
        ApprovalSubject::Tool {
            server,
            tool,
            arguments,
        } => {
            lines.push(Line::from(terminal::cut(
                &terminal::line(&format!("{server}.{tool}({arguments})")),
                400,
            )));
        }
    }
    lines.push(Line::default());
    if !open {
        lines.push(Line::from("…").dim());
        return Text::from(lines);
    }
    lines.push(Line::from(vec![
        Span::raw("y").cyan().bold(),
        Span::raw(" yes  ·  "),
        Span::raw("a").cyan().bold(),
        Span::raw(" yes, and don't ask again this session  ·  "),
        Span::raw("n").cyan().bold(),
        Span::raw("/esc no, tell Codex"),
    ]));
    if pending > 1 {
        lines.push(Line::from(format!("{} more waiting", pending - 1)).dim());
    }
    Text::from(lines)
}

fn place_cursor(frame: &mut Frame<'_>, app: &App, pane: Rect) {
    let before = &app.composer.text[..app.composer.cursor];
    let row = before.matches('\n').count();
    let column = before.rsplit('\n').next().map_or(0, |line| {
        unicode_width::UnicodeWidthStr::width(terminal::line(line).as_ref())
    });
    let popup = app.completions().len();
    // The border row, then the popup's rows, then the text after "› ".
    let y = pane.y + 1 + (popup + row) as u16;
    let x = pane.x + 2 + column as u16;
    if y < pane.bottom() && x < pane.right() {
        frame.set_cursor_position((x, y));
    }
}

/// Model · sandbox · approvals · tokens (as many as fit), and the quit
/// hint.
fn footer_line(app: &App, width: u16) -> Line<'static> {
    if app.quit_hint() {
        return Line::from("Press Ctrl-C again to quit").bold();
    }
    let status = &app.status;
    let tokens = app.usage.input_tokens + app.usage.output_tokens;
    let parts = [
        terminal::line(&status.model).into_owned(),
        format!("sandbox {}", status.sandbox),
        format!("approvals {}", status.approval),
        format!("{} tokens used", human_count(tokens)),
    ];
    let mut shown = parts[0].clone();
    for part in &parts[1..] {
        let longer = format!("{shown}  ·  {part}");
        if unicode_width::UnicodeWidthStr::width(longer.as_str()) > usize::from(width) {
            break;
        }
        shown = longer;
    }
    Line::from(shown.dim())
}

fn human_count(n: u64) -> String {
    match n {
        0..1_000 => n.to_string(),
        1_000..1_000_000 => format!("{:.1}K", n as f64 / 1e3),
        _ => format!("{:.1}M", n as f64 / 1e6),
    }
}

fn draw_overlay(frame: &mut Frame<'_>, app: &App, overlay: &Overlay, area: Rect) {
    let (title, lines) = match overlay {
        Overlay::Servers => ("MCP servers", servers(app)),
        Overlay::Status => ("Status", status(app)),
        Overlay::Sessions {
            entries,
            selected,
            fork,
        } => {
            let lines = entries
                .iter()
                .enumerate()
                .map(|(at, entry)| {
                    let mark = if at == *selected { "› " } else { "  " };
                    let mut spans = vec![
                        Span::raw(mark),
                        Span::raw(format!("{}  ", terminal::line(&entry.when))).dim(),
                    ];
                    if let Some(cwd) = &entry.cwd {
                        let shown = terminal::fit_end(&terminal::line(cwd), 30);
                        spans.push(Span::raw(format!("{shown}  ")).dim());
                    }
                    spans.push(Span::raw(terminal::cut(
                        &terminal::line(&entry.preview),
                        80,
                    )));
                    let line = Line::from(spans);
                    if at == *selected { line.bold() } else { line }
                })
                .collect();
            let title = if *fork {
                "Fork a session (↑/↓, Enter; Esc closes)"
            } else {
                "Resume a session (↑/↓, Enter; Esc closes)"
            };
            (title, lines)
        }
    };
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::bordered()
                .title(format!(" {title} "))
                .title_bottom(" esc closes ")
                .border_style(Style::new().fg(Color::Cyan)),
        ),
        area,
    );
}

/// `/mcp`: each server, its state, its tools, and why any is disabled or
/// withheld.
fn servers(app: &App) -> Vec<Line<'static>> {
    if app.servers.is_empty() {
        return vec![Line::from("No MCP servers are configured.").dim()];
    }
    let mut lines = Vec::new();
    for server in &app.servers {
        let (state, color) = match &server.state {
            ServerState::Ready { .. } => ("ready".to_owned(), Color::Green),
            ServerState::Starting => ("starting".to_owned(), Color::Yellow),
            ServerState::Lazy => ("lazy (starts on first call)".to_owned(), Color::Reset),
            ServerState::Restarting { last_failure } => {
                (format!("restarting: {last_failure}"), Color::Yellow)
            }
            ServerState::Failed(reason) => (format!("failed: {reason}"), Color::Red),
            ServerState::Disabled(reason) => (format!("disabled: {reason}"), Color::Red),
        };
        lines.push(Line::from(vec![
            Span::raw("• "),
            Span::raw(terminal::line(&server.name).into_owned()).bold(),
            Span::raw("  "),
            Span::styled(terminal::line(&state).into_owned(), Style::new().fg(color)),
        ]));
        if !server.tools.is_empty() {
            let names: Vec<String> = server
                .tools
                .iter()
                .map(|tool| terminal::line(&tool.name).into_owned())
                .collect();
            lines.push(Line::from(format!("    tools: {}", names.join(", "))).dim());
        }
        for tool in &server.withheld {
            lines.push(Line::from(format!(
                "    withheld {} ({}): {}",
                terminal::line(&tool.name),
                tool.why.state(),
                terminal::line(&tool.why.to_string())
            )));
        }
    }
    lines
}

/// `/status`.
fn status(app: &App) -> Vec<Line<'static>> {
    let status = &app.status;
    let row = |name: &str, value: String| {
        Line::from(vec![
            Span::raw(format!("{name:<14}")).dim(),
            Span::raw(terminal::line(&value).into_owned()),
        ])
    };
    let usage = &app.usage;
    vec![
        row("model", status.model.clone()),
        row("provider", status.provider.clone()),
        row("directory", status.cwd.display().to_string()),
        row("sandbox", status.sandbox.clone()),
        row("approvals", status.approval.clone()),
        row(
            "requirements",
            if status.requirement_sources.is_empty() {
                "none".to_owned()
            } else {
                status.requirement_sources.join(", ")
            },
        ),
        row(
            "tokens",
            format!(
                "{} input ({} cached), {} output",
                usage.input_tokens, usage.cached_input_tokens, usage.output_tokens
            ),
        ),
        row("session", status.session_id.clone()),
        row(
            "rollout",
            status.rollout.as_ref().map_or_else(
                || "not recorded".to_owned(),
                |path| path.display().to_string(),
            ),
        ),
    ]
}
