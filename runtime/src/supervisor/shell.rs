//! The actix side of a supervisor: performs the machine's effects.
//!
//! Starting, readiness waits and ordered stops run under `ctx.wait`, so
//! the supervisor's mailbox pauses while they run, as in OTP where start
//! and terminate happen inside the supervisor process. Exits are observed
//! by one watcher task per incarnation that awaits the actor's task: a
//! panic surfaces as a `JoinError` and becomes `Failed(Panicked)`.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix::{
    Actor, ActorContext, ActorFutureExt, AsyncContext, Context, Handler, Message, ResponseFuture,
    Running, WrapFuture,
};
use tokio::sync::{oneshot, watch};
use tokio::task::AbortHandle;

use crate::child::{ChildContext, ChildSpec, Readiness, Started};
use crate::events::{Event, EventKind};
use crate::exit::{ActorError, Exit};
use crate::ids::{ActorPath, ChildId, Incarnation};
use crate::supervisor::SupervisorError;
use crate::supervisor::config::{Shutdown, SupervisorConfig};
use crate::supervisor::machine::{Effect, Input, Machine, Refusal};

/// The supervisor actor. Start a tree with
/// [`Supervisor::start`](crate::Supervisor::start), nest one with
/// [`ChildSpec::supervisor`](crate::ChildSpec::supervisor).
pub struct Supervisor {
    me: ChildContext,
    machine: Machine,
    specs: HashMap<ChildId, ChildSpec>,
    running: HashMap<ChildId, Running_>,
    last: HashMap<ChildId, Incarnation>,
    initial: Vec<ChildSpec>,
    queue: VecDeque<Work>,
    busy: bool,
    phase: Phase,
    command: CommandOutcome,
    boot_error: Option<(ChildId, ActorError)>,
}

impl std::fmt::Debug for Supervisor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Supervisor")
            .field("path", self.me.path())
            .field("machine", &self.machine)
            .finish_non_exhaustive()
    }
}

/// One live incarnation as the shell sees it.
struct Running_ {
    incarnation: Incarnation,
    stop: Arc<crate::child::StopSignal>,
    abort: AbortHandle,
    exit: watch::Receiver<Option<Exit>>,
}

enum Work {
    Input(Input),
    /// A command from a handle: its outcome is collected until `Reply`.
    Command(Input),
    Effect(Effect),
    Reply(oneshot::Sender<Result<(), SupervisorError>>),
    /// Every initial child has been started (or one failed).
    Booted,
    /// Every child has been stopped: exit with this reason.
    Finish(Exit),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Booting,
    Up,
    Closing,
    Done,
}

#[derive(Debug, Default)]
struct CommandOutcome {
    refusal: Option<Refusal>,
    start_error: Option<(ChildId, ActorError)>,
}

/// Sent by an incarnation's watcher when its task ends.
#[derive(Message)]
#[rtype(result = "()")]
struct ChildExited {
    id: ChildId,
    incarnation: Incarnation,
    exit: Exit,
}

/// Dynamic-children commands, answered once their effects are done.
#[derive(Message)]
#[rtype(result = "Result<(), SupervisorError>")]
pub(crate) enum Command {
    Start(ChildSpec),
    Terminate(ChildId),
    Restart(ChildId),
    Delete(ChildId),
}

/// Asks for the children in start order with their live incarnations.
#[derive(Message)]
#[rtype(result = "Vec<(ChildId, Option<Incarnation>)>")]
pub(crate) struct WhichChildren;

impl Supervisor {
    pub(crate) fn new(
        me: ChildContext,
        config: SupervisorConfig,
        children: Vec<ChildSpec>,
    ) -> Self {
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
            ^ u64::from(std::process::id());
        Supervisor {
            me,
            machine: Machine::new(config, seed),
            specs: HashMap::new(),
            running: HashMap::new(),
            last: HashMap::new(),
            initial: children,
            queue: VecDeque::new(),
            busy: false,
            phase: Phase::Booting,
            command: CommandOutcome::default(),
            boot_error: None,
        }
    }

    fn path_of(&self, id: &ChildId) -> ActorPath {
        self.me.path().child(id.clone())
    }

    fn publish(&self, id: &ChildId, incarnation: Incarnation, kind: EventKind) {
        self.me.events().publish(Event {
            path: self.path_of(id),
            incarnation,
            kind,
        });
    }

    fn now() -> std::time::Instant {
        tokio::time::Instant::now().into_std()
    }

    /// Runs queued work until it is empty or an effect needs to wait.
    fn drive(&mut self, ctx: &mut Context<Self>) {
        while !self.busy {
            let Some(work) = self.queue.pop_front() else {
                return;
            };
            match work {
                Work::Input(Input::Add { id, .. })
                    if self.phase == Phase::Booting && self.boot_error.is_some() =>
                {
                    // OTP stops booting at the first child that fails.
                    self.specs.remove(&id);
                }
                Work::Input(input) => self.feed(input),
                Work::Command(input) => {
                    self.command = CommandOutcome::default();
                    self.feed(input);
                }
                Work::Effect(effect) => self.perform(effect, ctx),
                Work::Reply(tx) => {
                    let outcome = std::mem::take(&mut self.command);
                    let result = match (outcome.refusal, outcome.start_error) {
                        (Some(refusal), _) => Err(SupervisorError::Refused(refusal)),
                        (None, Some((child, source))) => {
                            Err(SupervisorError::StartFailed { child, source })
                        }
                        (None, None) => Ok(()),
                    };
                    let _ = tx.send(result);
                }
                Work::Booted => self.booted(),
                Work::Finish(exit) => {
                    self.phase = Phase::Done;
                    self.me.set_exit(exit);
                    ctx.stop();
                    return;
                }
            }
        }
    }

    fn feed(&mut self, input: Input) {
        if let Input::StartFailed { id, error, .. } = &input {
            self.command.start_error = Some((id.clone(), error.clone()));
            if self.phase == Phase::Booting && self.boot_error.is_none() {
                self.boot_error = Some((id.clone(), error.clone()));
            }
        }
        let effects = self.machine.step(input, Self::now());
        for effect in effects.into_iter().rev() {
            self.queue.push_front(Work::Effect(effect));
        }
    }

    fn booted(&mut self) {
        match self.boot_error.take() {
            None => {
                self.phase = Phase::Up;
                self.me.ready();
            }
            Some((child, source)) => {
                let exit = Exit::Failed(ActorError::ChildStartFailed {
                    supervisor: self.me.path().to_string(),
                    child: child.to_string(),
                    source: Box::new(source),
                });
                self.close(exit);
            }
        }
    }

    /// Stops every child in reverse order, then exits with `exit`.
    fn close(&mut self, exit: Exit) {
        self.phase = Phase::Closing;
        // Stops already decided still run; everything else is dropped.
        self.queue
            .retain(|w| matches!(w, Work::Effect(Effect::Stop { .. })));
        self.queue.push_back(Work::Input(Input::Shutdown));
        self.queue.push_back(Work::Finish(exit));
    }

    fn perform(&mut self, effect: Effect, ctx: &mut Context<Self>) {
        match effect {
            Effect::Start { id, incarnation } => self.start_child(id, incarnation, ctx),
            Effect::Stop { id, incarnation } => {
                let Some(run) = self.running.remove(&id) else {
                    return;
                };
                if run.incarnation != incarnation {
                    self.running.insert(id, run);
                    return;
                }
                let shutdown = self
                    .specs
                    .get(&id)
                    .map_or(Shutdown::BrutalKill, |s| s.shutdown);
                self.wait_on(ctx, stop(run, shutdown), |_, _| {});
            }
            Effect::ScheduleRestart { after, children } => {
                for (id, incarnation) in &children {
                    if let Some(slot) = self.specs.get(id).and_then(|s| s.slot.as_ref()) {
                        slot.mark_restarting();
                    }
                    self.publish(id, *incarnation, EventKind::Restarting { after });
                }
                let due = children
                    .into_iter()
                    .map(|(id, incarnation)| Work::Input(Input::RestartDue { id, incarnation }));
                if after.is_zero() {
                    for work in due.rev() {
                        self.queue.push_front(work);
                    }
                } else {
                    let due: Vec<Work> = due.collect();
                    ctx.run_later(after, move |act, ctx| {
                        act.queue.extend(due);
                        act.drive(ctx);
                    });
                }
            }
            Effect::Stopped { id } => {
                if let Some(slot) = self.specs.get(&id).and_then(|s| s.slot.as_ref()) {
                    slot.mark_closed();
                }
                let incarnation = self.last.get(&id).copied().unwrap_or(Incarnation(0));
                self.publish(&id, incarnation, EventKind::Stopped);
            }
            Effect::Removed { id } => {
                if let Some(slot) = self.specs.remove(&id).and_then(|s| s.slot) {
                    slot.mark_closed();
                }
                self.last.remove(&id);
            }
            Effect::Escalate { restarts } => {
                let config = self.machine.config();
                let error = ActorError::Escalated {
                    supervisor: self.me.path().to_string(),
                    intensity: config.intensity,
                    period: config.period,
                };
                self.me.events().publish(Event {
                    path: self.me.path().clone(),
                    incarnation: self.me.incarnation(),
                    kind: EventKind::Escalated { restarts },
                });
                self.phase = Phase::Closing;
                // The machine's `Stop` effects are already queued ahead.
                self.queue.push_back(Work::Finish(Exit::Failed(error)));
            }
            Effect::AutoShutdown => {
                self.phase = Phase::Closing;
                self.queue.push_back(Work::Finish(Exit::Shutdown));
            }
            Effect::Ignored { id, incarnation } => {
                tracing::debug!(child = %id, incarnation = incarnation.0, "ignored stale incarnation");
            }
            Effect::Refused(refusal) => self.command.refusal = Some(refusal),
        }
    }

    fn start_child(&mut self, id: ChildId, incarnation: Incarnation, ctx: &mut Context<Self>) {
        let path = self.path_of(&id);
        let Some(spec) = self.specs.get_mut(&id) else {
            return;
        };
        let readiness = spec.readiness;
        let (cx, ready_rx) =
            ChildContext::new(id.clone(), path, incarnation, self.me.events().clone());
        self.last.insert(id.clone(), incarnation);
        let started = match (spec.start)(cx) {
            Ok(started) => started,
            Err(error) => {
                self.queue.push_front(Work::Input(Input::StartFailed {
                    id,
                    incarnation,
                    error,
                }));
                return;
            }
        };
        self.publish(&id, incarnation, EventKind::Started);
        let exit = self.watch(id.clone(), incarnation, started, ctx);
        match readiness {
            Readiness::OnStart => {
                self.publish(&id, incarnation, EventKind::Ready);
                self.queue
                    .push_front(Work::Input(Input::Ready { id, incarnation }));
            }
            Readiness::Signal(timeout) => {
                let abort = self.running.get(&id).map(|r| r.abort.clone());
                let Some(abort) = abort else {
                    return;
                };
                let wait = await_ready(ready_rx, exit, abort, timeout);
                self.wait_on(ctx, wait, move |act, outcome| {
                    let input = match outcome {
                        Ok(()) => {
                            act.publish(&id, incarnation, EventKind::Ready);
                            Input::Ready { id, incarnation }
                        }
                        Err(error) => Input::StartFailed {
                            id,
                            incarnation,
                            error,
                        },
                    };
                    act.queue.push_front(Work::Input(input));
                });
            }
        }
    }

    /// Registers a live incarnation and spawns the task that reports its
    /// exit, exactly once, to the bus, to waiters and to the mailbox.
    fn watch(
        &mut self,
        id: ChildId,
        incarnation: Incarnation,
        started: Started,
        ctx: &mut Context<Self>,
    ) -> watch::Receiver<Option<Exit>> {
        let Started { join, stop, cx } = started;
        let (exit_tx, exit_rx) = watch::channel(None);
        self.running.insert(
            id.clone(),
            Running_ {
                incarnation,
                stop,
                abort: join.abort_handle(),
                exit: exit_rx.clone(),
            },
        );
        let me = ctx.address();
        let bus = self.me.events().clone();
        let path = self.path_of(&id);
        actix::spawn(async move {
            let exit = match join.await {
                Ok(()) => cx.clean_exit(),
                Err(e) if e.is_panic() => Exit::Failed(ActorError::from_panic(&*e.into_panic())),
                Err(_) => Exit::Killed,
            };
            bus.publish(Event {
                path,
                incarnation,
                kind: EventKind::Exited(exit.clone()),
            });
            exit_tx.send_replace(Some(exit.clone()));
            me.do_send(ChildExited {
                id,
                incarnation,
                exit,
            });
        });
        exit_rx
    }

    /// Runs `fut` while the mailbox waits, then `then`, then resumes.
    fn wait_on<T: 'static>(
        &mut self,
        ctx: &mut Context<Self>,
        fut: impl std::future::Future<Output = T> + 'static,
        then: impl FnOnce(&mut Self, T) + 'static,
    ) {
        self.busy = true;
        ctx.wait(fut.into_actor(self).map(move |out, act, ctx| {
            act.busy = false;
            then(act, out);
            act.drive(ctx);
        }));
    }
}

/// Waits for the ready signal, racing the child's exit and the timeout;
/// kills the child on timeout.
async fn await_ready(
    ready: oneshot::Receiver<()>,
    exit: watch::Receiver<Option<Exit>>,
    abort: AbortHandle,
    timeout: Duration,
) -> Result<(), ActorError> {
    let exited = |mut exit: watch::Receiver<Option<Exit>>| async move {
        match exit.wait_for(Option::is_some).await {
            Ok(e) => e.clone().unwrap_or(Exit::Killed),
            Err(_) => Exit::Killed,
        }
    };
    let out = tokio::select! {
        biased;
        r = ready => match r {
            Ok(()) => return Ok(()),
            // The context was dropped without a signal: the actor is gone.
            Err(_) => None,
        },
        e = exited(exit.clone()) => Some(e),
        () = tokio::time::sleep(timeout) => {
            abort.abort();
            exited(exit).await;
            return Err(ActorError::ReadyTimeout { after: timeout });
        }
    };
    let exit = match out {
        Some(e) => e,
        None => exited(exit).await,
    };
    Err(ActorError::ExitedBeforeReady {
        exit: Box::new(exit),
    })
}

/// Ask, wait, then kill, as the child's shutdown says.
async fn stop(run: Running_, shutdown: Shutdown) {
    let Running_ {
        stop,
        abort,
        mut exit,
        ..
    } = run;
    let ask = move || stop.request();
    match shutdown {
        Shutdown::BrutalKill => abort.abort(),
        Shutdown::Infinity => ask(),
        Shutdown::Timeout(limit) => {
            ask();
            let stopped = tokio::time::timeout(limit, exit.wait_for(Option::is_some)).await;
            if stopped.is_err() {
                abort.abort();
            }
        }
    }
    let _ = exit.wait_for(Option::is_some).await;
}

impl Actor for Supervisor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        for spec in std::mem::take(&mut self.initial) {
            let input = Input::Add {
                id: spec.id.clone(),
                restart: spec.restart,
                significant: spec.significant,
            };
            self.specs.insert(spec.id.clone(), spec);
            self.queue.push_back(Work::Input(input));
        }
        self.queue.push_back(Work::Booted);
        self.drive(ctx);
    }

    fn stopping(&mut self, ctx: &mut Context<Self>) -> Running {
        // Actix polls a context once more when its runtime is torn down
        // (the system was dropped without a shutdown). Nothing async can
        // run then; `Drop` aborts the children.
        if tokio::runtime::Handle::try_current().is_err() {
            return Running::Stop;
        }
        match self.phase {
            Phase::Done => Running::Stop,
            Phase::Closing => Running::Continue,
            Phase::Booting | Phase::Up => {
                self.close(Exit::Shutdown);
                if !self.busy {
                    self.drive(ctx);
                }
                // With nothing left to stop, `drive` may already be done.
                if self.phase == Phase::Done {
                    Running::Stop
                } else {
                    Running::Continue
                }
            }
        }
    }
}

impl Drop for Supervisor {
    /// A supervisor that is dropped without a clean shutdown (killed, or
    /// panicked) takes its children down with it.
    fn drop(&mut self) {
        for run in self.running.values() {
            run.abort.abort();
        }
    }
}

impl Handler<ChildExited> for Supervisor {
    type Result = ();

    fn handle(&mut self, msg: ChildExited, ctx: &mut Context<Self>) {
        let ChildExited {
            id,
            incarnation,
            exit,
        } = msg;
        if self
            .running
            .get(&id)
            .is_some_and(|r| r.incarnation == incarnation)
        {
            self.running.remove(&id);
        }
        self.queue.push_back(Work::Input(Input::Exited {
            id,
            incarnation,
            exit,
        }));
        self.drive(ctx);
    }
}

impl Handler<Command> for Supervisor {
    type Result = ResponseFuture<Result<(), SupervisorError>>;

    fn handle(&mut self, msg: Command, ctx: &mut Context<Self>) -> Self::Result {
        let (tx, rx) = oneshot::channel();
        let input = match msg {
            Command::Start(spec) => {
                let input = Input::Add {
                    id: spec.id.clone(),
                    restart: spec.restart,
                    significant: spec.significant,
                };
                if !self.specs.contains_key(&spec.id) {
                    self.specs.insert(spec.id.clone(), spec);
                }
                input
            }
            Command::Terminate(id) => Input::Terminate { id },
            Command::Restart(id) => Input::Restart { id },
            Command::Delete(id) => Input::Delete { id },
        };
        if matches!(self.phase, Phase::Closing | Phase::Done) {
            let _ = tx.send(Err(SupervisorError::Refused(Refusal::ShuttingDown)));
        } else {
            self.queue.push_back(Work::Command(input));
            self.queue.push_back(Work::Reply(tx));
            self.drive(ctx);
        }
        Box::pin(async move { rx.await.unwrap_or(Err(SupervisorError::Unavailable)) })
    }
}

impl Handler<WhichChildren> for Supervisor {
    type Result = actix::MessageResult<WhichChildren>;

    fn handle(&mut self, _: WhichChildren, _: &mut Context<Self>) -> Self::Result {
        actix::MessageResult(self.machine.children())
    }
}
