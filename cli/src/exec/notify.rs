//! `notify = ["program", "arg", ...]`: after each completed turn, the
//! program runs with one more argument, a JSON description of the turn
//! (Codex's `agent-turn-complete`). Fire and forget: nothing waits for it,
//! its output goes nowhere, and it may outlive the job.

use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

/// What a completed turn tells the notify program.
#[derive(Debug)]
pub(crate) struct TurnComplete<'a> {
    pub(crate) thread_id: &'a str,
    pub(crate) turn_id: &'a str,
    pub(crate) cwd: &'a Path,
    pub(crate) input_messages: Vec<String>,
    pub(crate) last_assistant_message: Option<&'a str>,
}

impl TurnComplete<'_> {
    /// The JSON argument, with Codex's kebab-case keys.
    pub(crate) fn payload(&self) -> Value {
        json!({
            "type": "agent-turn-complete",
            "thread-id": self.thread_id,
            "turn-id": self.turn_id,
            "cwd": self.cwd.display().to_string(),
            "input-messages": self.input_messages,
            "last-assistant-message": self.last_assistant_message,
        })
    }
}

/// Starts `argv` plus the payload. Returns why it could not start.
pub(crate) fn notify(argv: &[String], turn: &TurnComplete<'_>) -> Result<(), String> {
    let Some((program, args)) = argv.split_first() else {
        return Ok(());
    };
    let child = Command::new(program)
        .args(args)
        .arg(turn.payload().to_string())
        .current_dir(turn.cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Its own group: a Ctrl-C meant for the job does not reach it.
        .process_group(0)
        .spawn()
        .map_err(|err| format!("cannot run notify program {program:?}: {err}"))?;
    // Not waited for, and spared when the job kills what it started.
    codex_sandbox::let_go(child.id());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payload_has_codex_keys() {
        let turn = TurnComplete {
            thread_id: "t",
            turn_id: "u",
            cwd: Path::new("/w"),
            input_messages: vec!["hi".to_owned()],
            last_assistant_message: None,
        };
        assert_eq!(
            turn.payload(),
            json!({
                "type": "agent-turn-complete",
                "thread-id": "t",
                "turn-id": "u",
                "cwd": "/w",
                "input-messages": ["hi"],
                "last-assistant-message": null,
            })
        );
    }
}
