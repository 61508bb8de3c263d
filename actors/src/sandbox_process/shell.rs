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
use tokio::sync::{broadcast, mpsc, oneshot};

use super::machine::{CommandExit, Effect, Input, Machine, Stream};
use crate::session::SessionEvent;

/// One sandboxed command.
pub(crate) struct SandboxProcessActor {
    id: u64,
    spec: Option<CommandSpec>,
    policy: SandboxPolicy,
    launcher: SandboxLauncher,
    machine: Machine,
    events: broadcast::Sender<SessionEvent>,
    reply: Option<oneshot::Sender<Result<CommandExit, String>>>,
}

impl SandboxProcessActor {
    pub(crate) fn new(
        id: u64,
        spec: CommandSpec,
        policy: SandboxPolicy,
        launcher: SandboxLauncher,
        events: broadcast::Sender<SessionEvent>,
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
                    let _ = self.events.send(SessionEvent::CommandOutput {
                        id: self.id,
                        stream,
                        text,
                    });
                }
                Effect::Finish(result) => {
                    if let Ok(exit) = &result {
                        let _ = self.events.send(SessionEvent::CommandExited {
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
        let (tx, mut rx) = mpsc::channel::<OutputChunk>(64);
        let mut child = match SandboxedChild::spawn(&spec, &self.policy, &self.launcher, Some(tx)) {
            Ok(child) => child,
            Err(err) => {
                self.deliver(Input::SpawnFailed(err.to_string()), ctx);
                return;
            }
        };
        let addr = ctx.address();
        ctx.spawn(
            async move {
                while let Some(chunk) = rx.recv().await {
                    let stream = match chunk.stream {
                        OutputStream::Stdout => Stream::Stdout,
                        OutputStream::Stderr => Stream::Stderr,
                    };
                    let text = String::from_utf8_lossy(&chunk.bytes).into_owned();
                    addr.do_send(Deliver(Input::Output { stream, text }));
                }
            }
            .into_actor(self),
        );
        // The child lives in this future: if the actor stops first, the
        // future is dropped and so is the child, killing its group.
        ctx.spawn(
            async move { child.wait().await }
                .into_actor(self)
                .map(|result, act, ctx| {
                    let input = match result {
                        Ok(outcome) => Input::Exited(CommandExit {
                            exit_code: outcome.exit_code,
                            timed_out: outcome.timed_out,
                            stdout: outcome.stdout.text(),
                            stderr: outcome.stderr.text(),
                        }),
                        Err(err) => Input::SpawnFailed(err.to_string()),
                    };
                    act.deliver(input, ctx);
                }),
        );
    }
}

#[derive(Message)]
#[rtype(result = "()")]
struct Deliver(Input);

impl Handler<Deliver> for SandboxProcessActor {
    type Result = ();

    fn handle(&mut self, Deliver(input): Deliver, ctx: &mut Context<Self>) {
        self.deliver(input, ctx);
    }
}
