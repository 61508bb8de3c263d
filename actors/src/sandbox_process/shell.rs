//! The sandbox-process actor's actix shell: spawns the command through the
//! sandbox, forwards its output, answers with its exit (to the end) or
//! with what is new at each poll (a process session), and writes what a
//! poll brings to the command's stdin. Dropping the actor (session
//! shutdown, supervisor kill) drops the child, which kills its whole
//! process group.
//!
//! The only file of this actor kind that knows actix.

use std::time::Duration;

use actix::prelude::*;
use codex_sandbox::{
    CommandSpec, OutputChunk, OutputStream, SandboxLauncher, SandboxPolicy, SandboxedChild,
};
use tokio::io::AsyncWriteExt as _;
use tokio::net::unix::pipe;
use tokio::sync::{mpsc, oneshot};

use super::CommandEvent;
use super::machine::{CommandExit, Effect, Input, Machine, Mode, ProcessChunk, Stream};
use crate::sink::EventSink;

/// Who waits for the command.
pub(crate) enum Caller {
    /// To the end: the exit, once. The command is killed if the caller
    /// stops waiting first (its `waiting` sender dropped: a cancelled turn).
    ToEnd {
        /// Where the exit goes.
        reply: oneshot::Sender<Result<CommandExit, String>>,
        /// Closes when the caller is gone.
        waiting: oneshot::Receiver<()>,
    },
    /// A process session: each poll is answered on its own channel. Until
    /// `claimed` says its id reached the caller, the command is killed if
    /// the caller stops waiting (nobody could ever poll it).
    Session {
        /// Sent to when the caller has the id; closed unsent if it is gone.
        claimed: oneshot::Receiver<()>,
    },
}

/// One sandboxed command.
pub(crate) struct SandboxProcessActor {
    id: u64,
    spec: Option<CommandSpec>,
    policy: SandboxPolicy,
    launcher: SandboxLauncher,
    machine: Machine,
    events: EventSink<CommandEvent>,
    reply: Option<oneshot::Sender<Result<CommandExit, String>>>,
    poll: Option<oneshot::Sender<ProcessChunk>>,
    /// Counts polls, so an older poll's timer does not end a newer wait.
    polls: u64,
    stdin: Option<pipe::Sender>,
    /// Resolves when the caller is gone (to the end: it stops waiting; a
    /// session: it never got the id), or, for a session, when it has it.
    waiting: Option<oneshot::Receiver<()>>,
}

impl SandboxProcessActor {
    pub(crate) fn new(
        id: u64,
        spec: CommandSpec,
        policy: SandboxPolicy,
        launcher: SandboxLauncher,
        events: EventSink<CommandEvent>,
        caller: Caller,
    ) -> Self {
        let (mode, reply, waiting) = match caller {
            Caller::ToEnd { reply, waiting } => (Mode::ToEnd, Some(reply), Some(waiting)),
            Caller::Session { claimed } => (Mode::Session, None, Some(claimed)),
        };
        SandboxProcessActor {
            id,
            spec: Some(spec),
            policy,
            launcher,
            machine: Machine::new(mode),
            events,
            reply,
            poll: None,
            polls: 0,
            stdin: None,
            waiting,
        }
    }

    fn deliver(&mut self, input: Input, ctx: &mut Context<Self>) {
        for effect in self.machine.step(input) {
            match effect {
                Effect::PublishOutput { stream, text } => {
                    self.events.report(CommandEvent::Output {
                        id: self.id,
                        stream,
                        text,
                    });
                }
                Effect::PublishExit(exit) => {
                    self.events.report(CommandEvent::Exited {
                        id: self.id,
                        exit_code: exit.exit_code,
                        timed_out: exit.timed_out,
                    });
                }
                Effect::Finish(result) => {
                    if let Some(reply) = self.reply.take() {
                        let _ = reply.send(result);
                    }
                }
                Effect::Answer(chunk) => {
                    if let Some(poll) = self.poll.take() {
                        let _ = poll.send(chunk);
                    }
                }
                Effect::Stop => ctx.stop(),
            }
        }
    }
}

impl Actor for SandboxProcessActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let Some(spec) = self.spec.take() else {
            return;
        };
        // The caller is gone before the command could reach it (the exit
        // still owed, or a session's id never handed out): stopping drops
        // the child, which kills its group.
        if let Some(waiting) = self.waiting.take() {
            // A to-the-end command starts with its reply owed; a session
            // has none.
            let session = self.reply.is_none();
            ctx.spawn(async move { waiting.await.is_err() }.into_actor(self).map(
                move |gone, act, ctx| {
                    if gone && (session || act.reply.is_some()) {
                        ctx.stop();
                    }
                },
            ));
        }
        let (tx, rx) = mpsc::channel::<OutputChunk>(64);
        let mut child = match SandboxedChild::spawn(&spec, &self.policy, &self.launcher, Some(tx)) {
            Ok(child) => child,
            Err(err) => {
                self.deliver(Input::SpawnFailed(err.to_string()), ctx);
                return;
            }
        };
        self.stdin = child.take_stdin();
        // Every input reaches the actor through one stream, in order: all
        // chunks, then the exit. (Mailbox messages would not do: once the
        // exit stops the actor, it never reads its mailbox again, so chunks
        // still queued there would be lost.)
        // The stream owns the child: if the actor stops first, the stream is
        // dropped and so is the child, killing its group.
        ctx.add_stream(inputs(child, rx));
    }
}

/// The command's inputs: output chunks as they arrive, then its exit.
fn inputs(
    child: SandboxedChild,
    rx: mpsc::Receiver<OutputChunk>,
) -> impl futures::Stream<Item = Input> {
    futures::stream::unfold(Some((child, rx)), |state| async move {
        let (mut child, mut rx) = state?;
        // `wait` first, so that a command that never pauses its output
        // still meets its timeout. `wait` is cancel safe, and once the
        // child has exited it returns the same outcome again.
        let result = tokio::select! {
            biased;
            result = child.wait() => result,
            Some(chunk) = rx.recv() => return Some((output(chunk), Some((child, rx)))),
        };
        // `wait` returns once the readers are done (finished, or aborted at
        // the drain deadline), so whatever they sent is already queued:
        // hand that over, a chunk per step, before the exit.
        if let Ok(chunk) = rx.try_recv() {
            return Some((output(chunk), Some((child, rx))));
        }
        let input = match result {
            Ok(outcome) => Input::Exited(CommandExit {
                exit_code: outcome.exit_code,
                timed_out: outcome.timed_out,
                stdout: outcome.stdout.text(),
                stderr: outcome.stderr.text(),
                interleaved: String::new(),
            }),
            Err(err) => Input::SpawnFailed(err.to_string()),
        };
        // The leader is reaped; dropping `child` kills what is left of its
        // group.
        drop(child);
        Some((input, None))
    })
}

fn output(chunk: OutputChunk) -> Input {
    let stream = match chunk.stream {
        OutputStream::Stdout => Stream::Stdout,
        OutputStream::Stderr => Stream::Stderr,
    };
    let text = String::from_utf8_lossy(&chunk.bytes).into_owned();
    Input::Output { stream, text }
}

impl StreamHandler<Input> for SandboxProcessActor {
    fn handle(&mut self, input: Input, ctx: &mut Context<Self>) {
        self.deliver(input, ctx);
    }

    /// The exit, the stream's last item, is handled above; a session waits
    /// for its next poll to hand it over.
    fn finished(&mut self, _ctx: &mut Context<Self>) {}
}

/// A poll of a process session: `write` goes to the command's stdin first
/// (an empty one only polls), then the answer comes when the command exits
/// or after `wait`, whichever is first.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(crate) struct Poll {
    pub(crate) write: Option<String>,
    pub(crate) wait: Duration,
    pub(crate) answer: oneshot::Sender<ProcessChunk>,
}

impl Handler<Poll> for SandboxProcessActor {
    type Result = ();

    fn handle(&mut self, poll: Poll, ctx: &mut Context<Self>) {
        // One poll at a time: a newer one answers the older with nothing.
        if let Some(older) = self.poll.replace(poll.answer) {
            let _ = older.send(ProcessChunk {
                output: String::new(),
                exit: None,
            });
        }
        let write = poll.write.filter(|text| !text.is_empty());
        match (write, self.stdin.take()) {
            (Some(text), Some(mut stdin)) => {
                let wait = poll.wait;
                ctx.wait(
                    async move {
                        let written = stdin.write_all(text.as_bytes()).await.is_ok()
                            && stdin.flush().await.is_ok();
                        (stdin, written)
                    }
                    .into_actor(self)
                    .map(move |(stdin, written), act, ctx| {
                        if written {
                            act.stdin = Some(stdin);
                        }
                        act.arm(wait, ctx);
                    }),
                );
            }
            (_, stdin) => {
                self.stdin = stdin;
                self.arm(poll.wait, ctx);
            }
        }
    }
}

impl SandboxProcessActor {
    /// Polls the machine, and ends the wait after `wait`.
    fn arm(&mut self, wait: Duration, ctx: &mut Context<Self>) {
        self.polls += 1;
        let poll = self.polls;
        self.deliver(Input::Poll, ctx);
        ctx.run_later(wait, move |act, ctx| {
            if act.polls == poll {
                act.deliver(Input::WaitOver, ctx);
            }
        });
    }
}
