//! Frames of the chat, rendered into ratatui's `TestBackend` and compared
//! with insta snapshots.

use std::time::{Duration, Instant};

use codex_actors::config::Startup;
use codex_actors::mcp_server::ToolInfo;
use codex_actors::policy::DisabledReason;
use codex_actors::policy::StopReason;
use codex_actors::session::{ServerState, ServerStatus};
use codex_actors::turn::{
    ApprovalReason, ApprovalRequest, ApprovalSubject, ItemDetails, ItemStatus, McpOutcome,
    ThreadItem, TurnEvent,
};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::app::{App, Event, Status};
use super::view;

fn status() -> Status {
    Status {
        model: "gpt-5.1-codex".to_owned(),
        provider: "openai".to_owned(),
        sandbox: "workspace-write".to_owned(),
        approval: "on-request".to_owned(),
        requirement_sources: vec!["/etc/codex/requirements.toml".to_owned()],
        session_id: "019a0000-0000-7000-8000-000000000000".to_owned(),
        rollout: None,
        cwd: "/work/project".into(),
    }
}

/// The screen as text, one row per line, trailing spaces kept off.
fn frame(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("a test terminal");
    terminal
        .draw(|frame| view::draw(frame, app))
        .expect("a frame");
    let buffer = terminal.backend().buffer();
    let mut rows = Vec::new();
    for y in 0..buffer.area.height {
        let mut row = String::new();
        for x in 0..buffer.area.width {
            row.push_str(buffer[(x, y)].symbol());
        }
        rows.push(row.trim_end().to_owned());
    }
    rows.join("\n")
}

fn submitted(prompt: &str, at: Instant) -> App {
    let mut app = App::new(status(), Vec::new());
    app.update(Event::Paste(prompt.to_owned()), at);
    app.update(
        Event::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
        at,
    );
    app
}

#[test]
fn a_streamed_answer() {
    let start = Instant::now();
    let mut app = submitted("Explain the supervisor", start);
    for piece in [
        "The supervisor ",
        "restarts a failed ",
        "child with backoff",
    ] {
        app.update(
            Event::Turn(TurnEvent::TextDelta {
                text: piece.to_owned(),
            }),
            start,
        );
    }
    app.update(Event::Tick, start + Duration::from_secs(3));
    insta::assert_snapshot!(frame(&app, 80, 14));
}

#[test]
fn a_command_cell() {
    let start = Instant::now();
    let mut app = submitted("list the files", start);
    app.update(
        Event::Turn(TurnEvent::ItemCompleted(ThreadItem {
            id: "item_0".to_owned(),
            details: ItemDetails::CommandExecution {
                command: "/bin/bash -lc 'ls'".to_owned(),
                cwd: "/work/project".into(),
                aggregated_output: "Cargo.toml\nREADME.md\nsrc\n".to_owned(),
                exit_code: Some(0),
                duration: Some(Duration::from_millis(14)),
                status: ItemStatus::Completed,
            },
        })),
        start,
    );
    app.update(
        Event::Turn(TurnEvent::ItemCompleted(ThreadItem {
            id: "item_1".to_owned(),
            details: ItemDetails::CommandExecution {
                command: "/bin/bash -lc 'cargo test'".to_owned(),
                cwd: "/work/project".into(),
                aggregated_output: String::new(),
                exit_code: Some(101),
                duration: Some(Duration::from_millis(2400)),
                status: ItemStatus::Failed,
            },
        })),
        start,
    );
    insta::assert_snapshot!(frame(&app, 80, 16));
}

#[test]
fn an_mcp_call_cell() {
    let start = Instant::now();
    let mut app = submitted("what time is it", start);
    app.update(
        Event::Turn(TurnEvent::ItemCompleted(ThreadItem {
            id: "item_0".to_owned(),
            details: ItemDetails::McpToolCall {
                server: "time".to_owned(),
                tool: "get_current_time".to_owned(),
                arguments: serde_json::json!({"timezone": "Europe/Paris"}),
                result: Some(McpOutcome {
                    content: vec![serde_json::json!({"type": "text", "text": "{\"datetime\": \"2026-12-06T09:00:00+01:00\"}"})],
                    structured_content: None,
                    is_error: false,
                }),
                error: None,
                status: ItemStatus::Completed,
            },
        })),
        start,
    );
    insta::assert_snapshot!(frame(&app, 80, 12));
}

#[test]
fn a_disabled_server_in_mcp() {
    let start = Instant::now();
    let mut app = App::new(status(), Vec::new());
    let tool = |name: &str| ToolInfo {
        name: name.to_owned(),
        description: None,
        input_schema: serde_json::json!({"type": "object"}),
        definition: serde_json::json!({"name": name}),
    };
    let server = |name: &str, state| ServerStatus {
        name: name.to_owned(),
        state,
        required: false,
        startup: Startup::Eager,
        tools: Vec::new(),
        withheld: Vec::new(),
        pid: None,
        incarnation: None,
        protocol_version: None,
    };
    let mut time = server(
        "time",
        ServerState::Ready {
            elapsed: Duration::from_millis(300),
        },
    );
    time.tools = vec![tool("get_current_time"), tool("convert_time")];
    let shadow = server(
        "shadow",
        ServerState::Disabled(StopReason::Disabled(DisabledReason::InvalidName {
            name: "my.server".to_owned(),
        })),
    );
    app.update(Event::Servers(vec![shadow, time]), start);
    app.update(Event::Paste("/mcp".to_owned()), start);
    app.update(
        Event::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
        start,
    );
    insta::assert_snapshot!(frame(&app, 90, 12));
}

#[test]
fn the_approval_modal() {
    let start = Instant::now();
    let mut app = submitted("clean the build", start);
    app.update(
        Event::Ask(ApprovalRequest {
            call_id: "call_1".to_owned(),
            subject: ApprovalSubject::Command {
                command: "/bin/bash -lc 'rm -rf target'".to_owned(),
                cwd: "/work/project".into(),
            },
            reason: ApprovalReason::Escalation {
                justification: Some("the build directory is outside the sandbox".to_owned()),
            },
        }),
        start,
    );
    app.update(Event::Tick, start + super::app::ANSWER_DELAY);
    insta::assert_snapshot!(frame(&app, 100, 16));
}

#[test]
fn a_narrow_terminal() {
    let start = Instant::now();
    let mut app = submitted("Summarize the README in one paragraph please", start);
    app.update(
        Event::Turn(TurnEvent::ItemCompleted(ThreadItem {
            id: "item_0".to_owned(),
            details: ItemDetails::AgentMessage {
                text: "The README explains how to build the runtime, run its tests, and \
                       configure MCP servers under admin requirements."
                    .to_owned(),
            },
        })),
        start,
    );
    insta::assert_snapshot!(frame(&app, 40, 16));
}

#[test]
fn hostile_text_is_shown_not_obeyed() {
    let start = Instant::now();
    let mut app = submitted("hi", start);
    app.update(
        Event::Turn(TurnEvent::TextDelta {
            text: "ok\x1b[2J\x1b]0;owned\x07".to_owned(),
        }),
        start,
    );
    let shown = frame(&app, 60, 8);
    assert!(
        !shown.contains('\x1b') && !shown.contains('\x07'),
        "{shown:?}"
    );
    assert!(shown.contains("\\x1b[2J"), "{shown}");
}

#[test]
fn a_patch_approval() {
    let start = Instant::now();
    let mut app = submitted("fix the typo in the system config", start);
    app.update(
        Event::Ask(ApprovalRequest {
            call_id: "call_2".to_owned(),
            subject: ApprovalSubject::Patch {
                changes: vec![codex_actors::turn::FileChangeEntry {
                    path: "/etc/app.conf".into(),
                    kind: "update",
                }],
                patch: "*** Begin Patch\n*** Update File: /etc/app.conf\n@@\n-colour = red\n+color = red\n*** End Patch"
                    .to_owned(),
            },
            reason: ApprovalReason::Patch {
                outside: vec!["/etc/app.conf".into()],
            },
        }),
        start,
    );
    app.update(Event::Tick, start + super::app::ANSWER_DELAY);
    insta::assert_snapshot!(frame(&app, 90, 18));
}

#[test]
fn the_first_frame() {
    let app = App::new(status(), Vec::new());
    insta::assert_snapshot!(frame(&app, 80, 10));
}

#[test]
fn tiny_terminals_draw_without_panicking() {
    let start = Instant::now();
    let mut app = submitted("a prompt long enough to wrap on a tiny screen", start);
    app.update(
        Event::Ask(ApprovalRequest {
            call_id: "c".to_owned(),
            subject: ApprovalSubject::Command {
                command: "ls".to_owned(),
                cwd: "/".into(),
            },
            reason: ApprovalReason::Untrusted,
        }),
        start,
    );
    for (width, height) in [(1, 1), (2, 3), (10, 2), (5, 40), (200, 4)] {
        let _ = frame(&app, width, height);
    }
}

/// `codex fork --all`: the picker names each session's directory (its end,
/// when long), escaped, before the first message.
#[test]
fn the_fork_picker_of_every_directory() {
    let mut app = App::new(status(), Vec::new());
    let entry = |id: &str, cwd: &str, preview: &str| super::app::SessionEntry {
        id: id.to_owned(),
        path: std::path::PathBuf::new(),
        when: "2026-12-07 03:10".to_owned(),
        preview: preview.to_owned(),
        cwd: Some(cwd.to_owned()),
    };
    app.update(
        Event::Sessions {
            entries: vec![
                entry("a", "/home/dev/api", "add a --verbose flag"),
                entry(
                    "b",
                    "/home/dev/src/github.com/example/a-very-long-repository-name",
                    "why does CI fail?",
                ),
                entry("c", "/tmp/\u{1b}[31mred", "an escape in the path"),
                entry("d", "/home/dev/資料/日本語のリポジトリ", "wide characters"),
            ],
            fork: true,
        },
        Instant::now(),
    );
    insta::assert_snapshot!(frame(&app, 100, 10));
}
