//! The interactive chat, driven through a real pseudo-terminal: the real
//! `codex` binary draws into a PTY whose output a `vt100` parser turns
//! into a screen, and the tests type keys and read that screen, against
//! the mock model.

use codex_integration_tests::pty::Pty;
use codex_test_mcp_server::mock_model::{Reply, ev};
use serde_json::json;

use crate::exec::Exec;

/// How long any one screen may take to appear.
const PATIENCE: std::time::Duration = std::time::Duration::from_secs(60);

/// The chat in a pseudo-terminal, in `exec`'s environment.
fn open(exec: &Exec, args: &[&str]) -> Pty {
    Pty::start(exec.env.command(args), PATIENCE)
}

fn answer(id: &str, text: &str) -> Reply {
    Reply::sse(vec![ev::message(id, text), ev::completed(id)])
}

/// A whole chat: `message` sent, `answer` seen, Ctrl-D; the session it
/// leaves is what the resume and fork tests start from.
fn chat_once(exec: &Exec, message: &str, answer: &str) {
    let mut chat = open(exec, &[]);
    chat.wait_for("Ask Codex to do anything");
    chat.typed(message);
    chat.send(b"\r");
    chat.wait_for(answer);
    chat.send(b"\x04");
    assert_eq!(chat.exit_code(), 0);
}

/// The model asks to run `cmd` outside the sandbox, then answers `text`.
fn escalation(cmd: &str, text: &str) -> Vec<Reply> {
    vec![
        Reply::sse(vec![
            ev::function_call(
                "call_1",
                "exec_command",
                &json!({
                    "cmd": cmd,
                    "sandbox_permissions": "require_escalated",
                    "justification": "the test asks for it",
                }),
            ),
            ev::completed("r1"),
        ]),
        answer("r2", text),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prompt_gets_its_answer_and_ctrl_c_twice_quits_with_the_terminal_restored() {
    let exec = Exec::with_config(vec![answer("r1", "Hello from the mock model")], "").await;
    let mut chat = open(&exec, &[]);
    chat.wait_for("Ask Codex to do anything");
    chat.typed("say hello");
    chat.wait_for("› say hello");
    chat.send(b"\r");
    let screen = chat.wait_for("Hello from the mock model");
    assert!(screen.contains("• Hello from the mock model"), "{screen}");
    chat.wait_for("tokens used");
    // The first Ctrl-C arms, the second quits.
    chat.send(b"\x03");
    chat.wait_for("Press Ctrl-C again to quit");
    // Two more in one write: the first quits, or, if a loaded machine let
    // the window close before it arrived, arms again for the second.
    chat.send(b"\x03\x03");
    assert_eq!(chat.exit_code(), 0, "{}", chat.raw());
    let raw = chat.raw();
    assert!(raw.contains("\x1b[?1049l"), "left the alternate screen");
    assert!(raw.contains("\x1b[?25h"), "showed the cursor again");
    assert!(chat.cooked(), "the terminal is back in cooked mode");
    assert!(raw.contains("codex resume"), "{raw}");
    let requests = exec.model.requests();
    assert_eq!(requests.len(), 1, "no request the user did not start");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approved_command_runs() {
    let marker = "approved-and-ran";
    let exec = Exec::with_config(
        escalation(&format!("echo {marker}"), "It ran."),
        "approval_policy = \"on-request\"\n",
    )
    .await;
    let mut chat = open(&exec, &[]);
    chat.wait_for("Ask Codex to do anything");
    chat.typed("run it");
    chat.send(b"\r");
    let screen = chat.wait_for("Would you like to run the following command?");
    assert!(screen.contains(&format!("$ echo {marker}")), "{screen}");
    assert!(screen.contains("the test asks for it"), "{screen}");
    // The answers open a moment after the question shows.
    chat.wait_for("y yes");
    chat.typed("y");
    chat.wait_for(&format!("• Ran echo {marker}"));
    chat.wait_for("It ran.");
    let output = exec.model.requests()[1]
        .function_call_output("call_1")
        .expect("the command's output");
    assert!(output.contains(marker), "{output}");
    chat.send(b"\x04");
    assert_eq!(chat.exit_code(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_command_is_not_run_and_the_model_is_told() {
    let exec = Exec::with_config(
        escalation("touch denied-file", "Understood."),
        "approval_policy = \"on-request\"\n",
    )
    .await;
    let mut chat = open(&exec, &[]);
    chat.wait_for("Ask Codex to do anything");
    chat.typed("make a file");
    chat.send(b"\r");
    chat.wait_for("Would you like to run the following command?");
    chat.wait_for("y yes");
    chat.typed("n");
    chat.wait_for("Understood.");
    let output = exec.model.requests()[1]
        .function_call_output("call_1")
        .expect("the denial");
    assert!(output.contains("declined"), "{output}");
    assert!(!exec.env.work_dir().join("denied-file").exists());
    chat.send(b"\x04");
    assert_eq!(chat.exit_code(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn esc_interrupts_a_running_turn() {
    let exec = Exec::with_config(
        vec![
            Reply::stall(vec![ev::text_delta("Thinking about")]),
            answer("r2", "after the interruption"),
        ],
        "",
    )
    .await;
    let mut chat = open(&exec, &[]);
    chat.wait_for("Ask Codex to do anything");
    chat.typed("take your time");
    chat.send(b"\r");
    chat.wait_for("Thinking about");
    chat.wait_for("esc to interrupt");
    chat.send(b"\x1b");
    chat.wait_for("Interrupted");
    // The chat goes on.
    chat.typed("next");
    chat.send(b"\r");
    chat.wait_for("after the interruption");
    chat.send(b"\x04");
    assert_eq!(chat.exit_code(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_is_recorded_and_resume_last_shows_it() {
    let exec = Exec::with_config(
        vec![answer("r1", "first answer"), answer("r2", "second answer")],
        "",
    )
    .await;
    chat_once(&exec, "remember the number 42", "first answer");

    let mut resumed = open(&exec, &["resume", "--last"]);
    let screen = resumed.wait_for("first answer");
    assert!(screen.contains("› remember the number 42"), "{screen}");
    resumed.typed("what was it?");
    resumed.send(b"\r");
    resumed.wait_for("second answer");
    resumed.send(b"\x04");
    assert_eq!(resumed.exit_code(), 0);
    // The second request carries the first exchange.
    let requests = exec.model.requests();
    let input = requests[1].body["input"].to_string();
    assert!(input.contains("remember the number 42"), "{input}");
    assert!(input.contains("first answer"), "{input}");
    drop(resumed);

    // `codex resume` with neither an id nor `--last` opens on the picker;
    // Enter continues the session chosen.
    let mut picked = open(&exec, &["resume"]);
    picked.wait_for("remember the number 42");
    picked.send(b"\r");
    let screen = picked.wait_for("second answer");
    assert!(screen.contains("› what was it?"), "{screen}");
    picked.send(b"\x04");
    assert_eq!(picked.exit_code(), 0);
    drop(picked);
    // `--all` alone: the picker of every directory's sessions.
    let mut everywhere = open(&exec, &["resume", "--all"]);
    let screen = everywhere.wait_for("remember the number 42");
    // Chats opened and left empty (the pickers' own) are not offered.
    assert!(!screen.contains("(no message)"), "{screen}");
    everywhere.send(b"\x1b");
    // Ctrl-D only once the picker is gone: sent at once, a terminal
    // parser may read Esc and Ctrl-D together as Alt-Ctrl-D.
    everywhere.wait_until("the picker to close", |screen| {
        !screen.contains("Resume a session")
    });
    everywhere.send(b"\x04");
    assert_eq!(everywhere.exit_code(), 0);
    drop(everywhere);
    // The pickers' own chats, newer and empty, are passed over by
    // `--last` too: it reopens the session that holds the exchange.
    let mut last = open(&exec, &["resume", "--last"]);
    let screen = last.wait_for("second answer");
    assert!(screen.contains("› what was it?"), "{screen}");
    last.send(b"\x04");
    assert_eq!(last.exit_code(), 0);
}

/// The text of every session file under `CODEX_HOME/sessions`.
fn session_texts(exec: &Exec) -> Vec<String> {
    fn walk(dir: &std::path::Path, found: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, found);
            } else if let Ok(text) = std::fs::read_to_string(&path) {
                found.push(text);
            }
        }
    }
    let mut found = Vec::new();
    walk(&exec.env.codex_home().join("sessions"), &mut found);
    found
}

/// `codex fork --last` and `codex fork` (the picker) open a new thread on
/// a recorded session's history and leave that session as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fork_opens_a_new_thread_on_a_recorded_history() {
    let exec = Exec::with_config(
        vec![
            answer("r1", "first answer"),
            answer("r2", "forked answer"),
            answer("r3", "picked fork answer"),
        ],
        "",
    )
    .await;
    chat_once(&exec, "remember the number 42", "first answer");

    // A fork opened and left without a word leaves nothing behind, and no
    // file at all: its lines wait for its first turn.
    let files = session_texts(&exec).len();
    let mut idle = open(&exec, &["fork", "--last"]);
    idle.wait_for("first answer");
    idle.send(b"\x04");
    assert_eq!(idle.exit_code(), 0);
    drop(idle);
    assert_eq!(
        session_texts(&exec).len(),
        files,
        "no file for an idle fork"
    );

    let mut fork = open(&exec, &["fork", "--last"]);
    let screen = fork.wait_for("first answer");
    assert!(screen.contains("› remember the number 42"), "{screen}");
    fork.typed("fork turn");
    fork.send(b"\r");
    fork.wait_for("forked answer");
    fork.send(b"\x04");
    assert_eq!(fork.exit_code(), 0);
    drop(fork);
    let input = exec.model.requests()[1].body["input"].to_string();
    assert!(input.contains("remember the number 42"), "{input}");
    let texts = session_texts(&exec);
    let with_history = texts
        .iter()
        .filter(|text| text.contains("remember the number 42"))
        .count();
    assert_eq!(with_history, 2, "the original and the fork");
    assert_eq!(
        texts
            .iter()
            .filter(|text| text.contains("fork turn"))
            .count(),
        1,
        "the original does not get the fork's turn"
    );

    // Neither an id nor --last: the picker, and the session picked (the
    // newest, the fork) is forked again.
    let mut picked = open(&exec, &["fork"]);
    picked.wait_for("Fork a session");
    picked.send(b"\r");
    let screen = picked.wait_for("forked answer");
    assert!(screen.contains("› fork turn"), "{screen}");
    picked.typed("third");
    picked.send(b"\r");
    picked.wait_for("picked fork answer");
    picked.send(b"\x04");
    assert_eq!(picked.exit_code(), 0);
    let texts = session_texts(&exec);
    assert_eq!(
        texts
            .iter()
            .filter(|text| text.contains("fork turn"))
            .count(),
        2,
        "the fork and its fork"
    );
    assert_eq!(
        texts.iter().filter(|text| text.contains("third")).count(),
        1
    );
}

/// The chat offers chats: a `codex exec` run is left out of `--last`
/// (and the picker) unless `--include-non-interactive` says otherwise, as
/// in Codex.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chat_offers_exec_sessions_only_when_asked() {
    let exec = Exec::with_config(
        vec![
            answer("r1", "answered headless"),
            answer("r2", "and now here"),
        ],
        "",
    )
    .await;
    let run = exec.run(&["a headless question"], None).await;
    assert_eq!(run.code, 0, "{}", run.transcript());

    let mut chat = open(&exec, &["resume", "--last"]);
    assert_eq!(chat.exit_code(), 1, "{}", chat.raw());
    let shown = chat.raw();
    assert!(
        shown.contains("no recorded chat session") && shown.contains("--include-non-interactive"),
        "{shown}"
    );
    drop(chat);

    let mut chat = open(&exec, &["resume", "--last", "--include-non-interactive"]);
    let screen = chat.wait_for("answered headless");
    assert!(screen.contains("a headless question"), "{screen}");
    chat.typed("go on");
    chat.send(b"\r");
    chat.wait_for("and now here");
    chat.send(b"\x04");
    assert_eq!(chat.exit_code(), 0);
}

#[test]
fn without_a_terminal_it_points_to_exec() {
    let env = codex_integration_tests::TestEnv::new();
    let run = env.codex(&[]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(run.stderr.contains("codex exec"), "{}", run.stderr);
}
