//! The sandbox-process actor's actix shell: spawns the command through the
//! sandbox, forwards its output, and answers with its exit. Dropping the
//! actor (session shutdown, supervisor kill) drops the child, which kills
//! its whole process group.
//!
//! The only file of this actor kind that knows actix.

use actix::prelude::*;
use codex_sandbox::{
    CommandSpec, OutputChunk, OutputStream, SandboxLauncher, SandboxPolicy, SandboxedChild,
};
use tokio::sync::{mpsc, oneshot};

use super::CommandEvent;
use super::machine::{CommandExit, Effect, Input, Machine, Stream};
use crate::sink::EventSink;

/// One sandboxed command.
pub(crate) struct SandboxProcessActor {
    id: u64,
    spec: Option<CommandSpec>,
    policy: SandboxPolicy,
    launcher: SandboxLauncher,
    machine: Machine,
    events: EventSink<CommandEvent>,
    reply: Option<oneshot::Sender<Result<CommandExit, String>>>,
}

impl SandboxProcessActor {
    pub(crate) fn new(
        id: u64,
        spec: CommandSpec,
        policy: SandboxPolicy,
        launcher: SandboxLauncher,
        events: EventSink<CommandEvent>,
        reply: oneshot::Sender<Result<CommandExit, String>>,
    ) -> Self {
        SandboxProcessActor {
            id,
            spec: Some(spec),
            policy,
            launcher,
            machine: Machine::new(),
            events,
            reply: Some(reply),
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
                Effect::Finish(result) => {
                    if let Ok(exit) = &result {
                        self.events.report(CommandEvent::Exited {
                            id: self.id,
                            exit_code: exit.exit_code,
                            timed_out: exit.timed_out,
                        });
                    }
                    if let Some(reply) = self.reply.take() {
                        let _ = reply.send(result);
                    }
                    ctx.stop();
                }
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
        let (tx, rx) = mpsc::channel::<OutputChunk>(64);
        let child = match SandboxedChild::spawn(&spec, &self.policy, &self.launcher, Some(tx)) {
            Ok(child) => child,
            Err(err) => {
                self.deliver(Input::SpawnFailed(err.to_string()), ctx);
                return;
            }
        };
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

    /// Not reached in practice: the exit, the stream's last item, stops
    /// the actor, and a stopping actor drops its streams unfinished.
    fn finished(&mut self, _ctx: &mut Context<Self>) {}
}
