//! The sandbox-process actor's pure core: one command, from spawn to exit.
//!
//! Output chunks are published as they arrive; the exit (with the timeout
//! flag and the capped output) is published once and answers the caller.
//! Nothing after the exit is published.

/// Which stream a chunk came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// How a command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandExit {
    /// The exit code (124 after a timeout, 128 + N after signal N).
    pub exit_code: i32,
    /// Whether the timeout killed it.
    pub timed_out: bool,
    /// Captured stdout (head and tail when over the cap).
    pub stdout: String,
    /// Captured stderr (head and tail when over the cap).
    pub stderr: String,
}

/// Everything that can happen to a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Output arrived.
    Output {
        /// The stream.
        stream: Stream,
        /// The bytes, decoded lossily.
        text: String,
    },
    /// The command ended.
    Exited(CommandExit),
    /// It could not be started (the sandbox refused, or exec failed).
    SpawnFailed(String),
}

/// What the shell must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Publish an output chunk.
    PublishOutput {
        /// The stream.
        stream: Stream,
        /// The text.
        text: String,
    },
    /// Answer the caller and publish the exit, then stop.
    Finish(Result<CommandExit, String>),
}

/// The state of one command.
#[derive(Debug, Default)]
pub struct Machine {
    finished: bool,
}

impl Machine {
    /// A command that has just been asked for.
    pub fn new() -> Self {
        Machine::default()
    }

    /// Advances the machine.
    pub fn step(&mut self, input: Input) -> Vec<Effect> {
        if self.finished {
            return Vec::new();
        }
        match input {
            Input::Output { stream, text } => vec![Effect::PublishOutput { stream, text }],
            Input::Exited(exit) => {
                self.finished = true;
                vec![Effect::Finish(Ok(exit))]
            }
            Input::SpawnFailed(reason) => {
                self.finished = true;
                vec![Effect::Finish(Err(reason))]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_then_exit_then_nothing() {
        let mut machine = Machine::new();
        let out = |text: &str| Input::Output {
            stream: Stream::Stdout,
            text: text.to_owned(),
        };
        assert_eq!(
            machine.step(out("a")),
            vec![Effect::PublishOutput {
                stream: Stream::Stdout,
                text: "a".to_owned()
            }]
        );
        let exit = CommandExit {
            exit_code: 124,
            timed_out: true,
            stdout: "a".to_owned(),
            stderr: String::new(),
        };
        assert_eq!(
            machine.step(Input::Exited(exit.clone())),
            vec![Effect::Finish(Ok(exit))]
        );
        assert_eq!(machine.step(out("late")), Vec::new());
        assert_eq!(machine.step(Input::SpawnFailed("x".to_owned())), Vec::new());
    }
}
