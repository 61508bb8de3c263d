//! The sandbox-process actor's pure core: one command, from spawn to exit.
//!
//! Two ways to run:
//! - to the end ([`Mode::ToEnd`]): output chunks are published as they
//!   arrive, and the exit (with the timeout flag and the capped output)
//!   answers the caller once;
//! - as a process session ([`Mode::Session`]): the command keeps running
//!   between the caller's polls; each poll gets the output that arrived
//!   since the last one, once the command exits or the poll's wait is over,
//!   whichever comes first. The exit is answered to the first poll after
//!   it, and then the actor stops.
//!
//! Either way the output is also kept in the order it arrived, across
//! stdout and stderr (bounded, head and tail), which is what a person
//! reading the command's output expects.

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
    /// stdout and stderr in the order they arrived (head and tail when
    /// over the cap).
    pub interleaved: String,
}

/// What a poll of a process session returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessChunk {
    /// The output since the previous poll, in arrival order.
    pub output: String,
    /// How the command ended, once it has (or why it could not start).
    pub exit: Option<Result<CommandExit, String>>,
}

/// How the command runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Until it exits; the exit is the answer.
    ToEnd,
    /// As a session the caller polls.
    Session,
}

/// Everything that can happen to a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Input {
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
    /// A caller polls (a session): it is answered at once when the command
    /// has ended, else when it ends or [`Input::WaitOver`] comes.
    Poll,
    /// The pending poll's wait is over.
    WaitOver,
}

/// What the shell must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Effect {
    /// Publish an output chunk.
    PublishOutput {
        /// The stream.
        stream: Stream,
        /// The text.
        text: String,
    },
    /// Publish the exit.
    PublishExit(CommandExit),
    /// Answer the caller (to the end).
    Finish(Result<CommandExit, String>),
    /// Answer the pending poll (a session).
    Answer(ProcessChunk),
    /// Stop the actor.
    Stop,
}

/// The most output kept in arrival order, and the most a session keeps
/// unread between polls: half from the start, half from the end.
pub const KEPT_BYTES: usize = 1024 * 1024;

/// A bounded text buffer: the first and the last half of what was pushed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Kept {
    head: String,
    tail: String,
    dropped: usize,
}

impl Kept {
    fn push(&mut self, text: &str) {
        let half = KEPT_BYTES / 2;
        if self.head.len() < half {
            let room = half - self.head.len();
            let cut = floor_char_boundary(text, room.min(text.len()));
            self.head.push_str(&text[..cut]);
            self.push_tail(&text[cut..]);
        } else {
            self.push_tail(text);
        }
    }

    fn push_tail(&mut self, text: &str) {
        self.tail.push_str(text);
        let half = KEPT_BYTES / 2;
        if self.tail.len() > half {
            let excess = self.tail.len() - half;
            let cut = ceil_char_boundary(&self.tail, excess);
            self.dropped += cut;
            self.tail.drain(..cut);
        }
    }

    fn take(&mut self) -> String {
        let mut text = std::mem::take(&mut self.head);
        if self.dropped > 0 {
            text.push_str(&format!(
                "\n[... {} bytes of output dropped ...]\n",
                self.dropped
            ));
        }
        text.push_str(&std::mem::take(&mut self.tail));
        self.dropped = 0;
        text
    }

    fn text(&self) -> String {
        self.clone().take()
    }
}

fn floor_char_boundary(text: &str, at: usize) -> usize {
    (0..=at.min(text.len()))
        .rev()
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(0)
}

fn ceil_char_boundary(text: &str, at: usize) -> usize {
    (at.min(text.len())..=text.len())
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(text.len())
}

/// The state of one command.
#[derive(Debug)]
pub(crate) struct Machine {
    mode: Mode,
    /// Everything, in arrival order (for the exit).
    all: Kept,
    /// What a session's next poll gets.
    unread: Kept,
    exit: Option<Result<CommandExit, String>>,
    polled: bool,
    done: bool,
}

impl Machine {
    /// A command that has just been asked for.
    pub(crate) fn new(mode: Mode) -> Self {
        Machine {
            mode,
            all: Kept::default(),
            unread: Kept::default(),
            exit: None,
            polled: false,
            done: false,
        }
    }

    /// Advances the machine.
    pub(crate) fn step(&mut self, input: Input) -> Vec<Effect> {
        if self.done {
            return Vec::new();
        }
        match input {
            Input::Output { stream, text } => {
                self.all.push(&text);
                if self.mode == Mode::Session {
                    self.unread.push(&text);
                }
                vec![Effect::PublishOutput { stream, text }]
            }
            Input::Exited(mut exit) => {
                exit.interleaved = self.all.text();
                let mut effects = vec![Effect::PublishExit(exit.clone())];
                self.exit = Some(Ok(exit));
                effects.extend(self.ended());
                effects
            }
            Input::SpawnFailed(reason) => {
                self.exit = Some(Err(reason));
                self.ended()
            }
            Input::Poll => {
                self.polled = true;
                if self.exit.is_some() {
                    self.answer()
                } else {
                    Vec::new()
                }
            }
            Input::WaitOver if self.polled => self.answer(),
            Input::WaitOver => Vec::new(),
        }
    }

    /// The command ended: to the end, that is the answer; in a session, a
    /// waiting poll gets it now, else the next one does.
    fn ended(&mut self) -> Vec<Effect> {
        match self.mode {
            Mode::ToEnd => {
                self.done = true;
                let exit = self
                    .exit
                    .take()
                    .unwrap_or_else(|| Err("no exit".to_owned()));
                vec![Effect::Finish(exit), Effect::Stop]
            }
            Mode::Session if self.polled => self.answer(),
            Mode::Session => Vec::new(),
        }
    }

    /// Answers the pending poll with what is unread, and the exit if any
    /// (after which the session is over).
    fn answer(&mut self) -> Vec<Effect> {
        self.polled = false;
        let exit = self.exit.take();
        let over = exit.is_some();
        let mut effects = vec![Effect::Answer(ProcessChunk {
            output: self.unread.take(),
            exit,
        })];
        if over {
            self.done = true;
            effects.push(Effect::Stop);
        }
        effects
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(stream: Stream, text: &str) -> Input {
        Input::Output {
            stream,
            text: text.to_owned(),
        }
    }

    fn exit(code: i32) -> CommandExit {
        CommandExit {
            exit_code: code,
            timed_out: false,
            stdout: "a".to_owned(),
            stderr: "b".to_owned(),
            interleaved: String::new(),
        }
    }

    #[test]
    fn to_the_end_answers_once_with_the_output_in_arrival_order() {
        let mut machine = Machine::new(Mode::ToEnd);
        machine.step(out(Stream::Stderr, "b"));
        machine.step(out(Stream::Stdout, "a"));
        let effects = machine.step(Input::Exited(exit(3)));
        let CommandExit { interleaved, .. } = match &effects[1] {
            Effect::Finish(Ok(exit)) => exit.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(interleaved, "ba");
        assert_eq!(effects[2], Effect::Stop);
        assert_eq!(machine.step(out(Stream::Stdout, "late")), Vec::new());
    }

    #[test]
    fn a_session_answers_each_poll_with_what_is_new_then_the_exit() {
        let mut machine = Machine::new(Mode::Session);
        machine.step(out(Stream::Stdout, "one "));
        assert_eq!(machine.step(Input::Poll), Vec::new(), "waits for its wait");
        assert_eq!(
            machine.step(Input::WaitOver),
            vec![Effect::Answer(ProcessChunk {
                output: "one ".to_owned(),
                exit: None,
            })]
        );
        assert_eq!(machine.step(Input::WaitOver), Vec::new(), "no poll pending");
        machine.step(out(Stream::Stderr, "two"));
        machine.step(Input::Poll);
        let effects = machine.step(Input::Exited(exit(0)));
        assert!(matches!(effects[0], Effect::PublishExit(_)));
        let Effect::Answer(chunk) = &effects[1] else {
            panic!("{effects:?}");
        };
        assert_eq!(chunk.output, "two");
        assert!(matches!(&chunk.exit, Some(Ok(exit)) if exit.exit_code == 0));
        assert_eq!(effects[2], Effect::Stop);
    }

    #[test]
    fn unread_output_is_bounded() {
        let mut kept = Kept::default();
        let line = "é".repeat(1000);
        for _ in 0..2000 {
            kept.push(&line);
        }
        let text = kept.take();
        assert!(text.len() < KEPT_BYTES + 100, "{}", text.len());
        assert!(text.contains("bytes of output dropped"));
        assert!(kept.take().is_empty());
    }
}
