//! The session actor: the actix shell of the session [`Machine`]. It feeds
//! the machine the policy actor's orders, the server actors' reports and
//! the supervisor's news about server subtrees, and carries out its
//! effects: publishing events, starting and stopping subtrees (in order,
//! on one executor task, so a restart's stop always precedes its start),
//! recording audit lines and releasing startup waiters.
//!
//! The only file of the session kind that knows actix.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use actix::prelude::*;
use codex_runtime::{ActorError, ChildId, Event, EventKind, Exit, SupervisorHandle};
use codex_transports::TransportRegistry;
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use super::machine::{Effect, Input, Machine, Settled, Subtree};
use super::{ServerStatus, SessionEvent};
use crate::audit_log::AuditSink;
use crate::config::McpServerConfig;
use crate::mcp_server::{
    McpServerHandle, ServerEvent, ServerSetup, Timing, Unavailable, server_spec,
};
use crate::policy::Admission;
use crate::policy_actor::{Apply, PolicyView};
use crate::sink::EventSink;

/// The running servers' handles by name, as calls read them without a
/// mailbox round trip. Derived from the machine's routes after every
/// change; never written anywhere else.
pub(crate) type Routes = Arc<BTreeMap<String, McpServerHandle>>;

/// What every server subtree is built from.
#[derive(Debug, Clone)]
pub(crate) struct ServerKit {
    pub(crate) registry: Arc<TransportRegistry>,
    pub(crate) cwd: PathBuf,
    pub(crate) env: Arc<BTreeMap<String, String>>,
    pub(crate) policy: PolicyView,
    pub(crate) audit: AuditSink,
    pub(crate) credentials: Option<PathBuf>,
    pub(crate) timing: Timing,
}

/// The child id of the supervisor every server subtree runs under.
pub(crate) const SERVERS: &str = "servers";

/// One supervisor operation, carried out in order.
enum Command {
    Start {
        child: ChildId,
        spec: codex_runtime::ChildSpec,
    },
    Stop(ChildId),
    /// Signals once everything queued before it is done.
    Barrier(oneshot::Sender<()>),
}

/// Holds the session machine.
pub(crate) struct SessionActor {
    machine: Machine,
    kit: ServerKit,
    supervisor: SupervisorHandle,
    /// The handle of each subtree the machine routes to, by child id.
    handles: HashMap<ChildId, McpServerHandle>,
    routes: watch::Sender<Routes>,
    waiters: HashMap<u64, oneshot::Sender<()>>,
    next_waiter: u64,
    commands: Option<mpsc::UnboundedSender<Command>>,
    /// Reports from server actors.
    reports: Option<mpsc::UnboundedReceiver<ServerEvent>>,
    reporter: mpsc::UnboundedSender<ServerEvent>,
    events: broadcast::Sender<SessionEvent>,
    runtime_events: Option<broadcast::Receiver<Event>>,
    audit: AuditSink,
}

impl std::fmt::Debug for SessionActor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionActor")
            .field("machine", &self.machine)
            .finish_non_exhaustive()
    }
}

/// Everything the session actor is built from.
pub(crate) struct SessionParts {
    pub(crate) kit: ServerKit,
    pub(crate) supervisor: SupervisorHandle,
    pub(crate) routes: watch::Sender<Routes>,
    pub(crate) events: broadcast::Sender<SessionEvent>,
    pub(crate) runtime_events: broadcast::Receiver<Event>,
}

impl SessionActor {
    pub(crate) fn new(parts: SessionParts) -> Self {
        let (reporter, reports) = mpsc::unbounded_channel();
        SessionActor {
            machine: Machine::new(),
            audit: parts.kit.audit.clone(),
            kit: parts.kit,
            supervisor: parts.supervisor,
            handles: HashMap::new(),
            routes: parts.routes,
            waiters: HashMap::new(),
            next_waiter: 0,
            commands: None,
            reports: Some(reports),
            reporter,
            events: parts.events,
            runtime_events: Some(parts.runtime_events),
        }
    }

    fn deliver(&mut self, input: Input, ctx: &mut Context<Self>) {
        let mut routes_changed = false;
        for effect in self.machine.step(input) {
            match effect {
                Effect::Publish(event) => {
                    let _ = self.events.send(event);
                }
                Effect::Audit(entry) => self.audit.record(entry),
                Effect::Wake(waiter) => {
                    if let Some(tx) = self.waiters.remove(&waiter) {
                        let _ = tx.send(());
                    }
                }
                Effect::Start {
                    server,
                    child,
                    config,
                    admission,
                } => {
                    let (spec, handle) = self.server(&server, &child, *config, *admission);
                    self.handles.insert(child.clone(), handle);
                    routes_changed = true;
                    self.command(Command::Start { child, spec }, ctx);
                }
                Effect::Stop { child } => {
                    self.handles.remove(&child);
                    routes_changed = true;
                    self.command(Command::Stop(child), ctx);
                }
            }
        }
        if routes_changed {
            let routes = self
                .machine
                .routes()
                .filter_map(|(name, child)| {
                    self.handles
                        .get(child)
                        .map(|handle| (name.to_owned(), handle.clone()))
                })
                .collect();
            self.routes.send_replace(Arc::new(routes));
        }
    }

    /// The subtree spec and handle of one server.
    fn server(
        &self,
        name: &str,
        child: &ChildId,
        config: McpServerConfig,
        admission: Admission,
    ) -> (codex_runtime::ChildSpec, McpServerHandle) {
        let reporter = self.reporter.clone();
        let kit = &self.kit;
        let setup = Arc::new(ServerSetup {
            name: name.to_owned(),
            config,
            registry: Arc::clone(&kit.registry),
            cwd: kit.cwd.clone(),
            env: Arc::clone(&kit.env),
            admitted: std::sync::Mutex::new(Some(admission)),
            policy: kit.policy.clone(),
            events: EventSink::new(move |event| {
                let _ = reporter.send(event);
            }),
            audit: kit.audit.clone(),
            credentials: kit.credentials.clone(),
            timing: kit.timing,
            live: Default::default(),
        });
        server_spec(child.clone(), setup)
    }

    /// Queues a supervisor operation on the executor, started on first use.
    fn command(&mut self, command: Command, ctx: &mut Context<Self>) {
        let commands = self.commands.get_or_insert_with(|| {
            let (tx, mut rx) = mpsc::unbounded_channel::<Command>();
            let supervisor = self.supervisor.clone();
            let addr = ctx.address();
            tokio::spawn(async move {
                while let Some(command) = rx.recv().await {
                    match command {
                        Command::Start { child, spec } => {
                            if let Err(err) = supervisor.start_child(spec).await {
                                addr.do_send(StartFailed {
                                    child,
                                    reason: err.to_string(),
                                });
                            }
                        }
                        // A server subtree is temporary: terminating it also
                        // forgets it.
                        Command::Stop(child) => {
                            let _ = supervisor.terminate_child(child).await;
                        }
                        Command::Barrier(done) => {
                            let _ = done.send(());
                        }
                    }
                }
            });
            tx
        });
        let _ = commands.send(command);
    }

    /// What the supervisor's event says about a server subtree: events of
    /// the subtree's supervisor (path `[root, servers, subtree]`) or of the
    /// server actor under it (`[root, servers, subtree, server]`).
    fn digest(event: &Event) -> Option<(ChildId, Subtree)> {
        let (subtree, inner) = match event.path.segments() {
            [_root, servers, subtree] if servers.as_str() == SERVERS => (subtree, false),
            [_root, servers, subtree, _server] if servers.as_str() == SERVERS => (subtree, true),
            _ => return None,
        };
        let news = match (&event.kind, inner) {
            (EventKind::Escalated { restarts }, false) => Subtree::Escalated {
                restarts: *restarts,
            },
            (EventKind::Exited(Exit::Failed(ActorError::ChildStartFailed { source, .. })), _) => {
                Subtree::StartRefused(source.to_string())
            }
            (EventKind::Exited(Exit::Failed(error)), true) => {
                Subtree::ServerFailed(error.to_string())
            }
            (EventKind::Stopped, true) => Subtree::ServerStopped,
            _ => return None,
        };
        Some((subtree.clone(), news))
    }
}

impl Actor for SessionActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        if let Some(mut reports) = self.reports.take() {
            ctx.add_stream(futures::stream::poll_fn(move |cx| {
                reports.poll_recv(cx).map(|event| event.map(Reported))
            }));
        }
        if let Some(mut runtime_rx) = self.runtime_events.take() {
            let addr = ctx.address();
            tokio::spawn(async move {
                loop {
                    match runtime_rx.recv().await {
                        Ok(event) => {
                            if let Some((child, news)) = SessionActor::digest(&event) {
                                addr.do_send(SubtreeNews { child, news });
                            }
                        }
                        Err(broadcast::error::RecvError::Lagged(skipped)) => {
                            tracing::warn!(skipped, "runtime events lagged");
                        }
                        Err(broadcast::error::RecvError::Closed) => break,
                    }
                }
            });
        }
    }
}

/// A server actor's report.
#[derive(Debug)]
struct Reported(ServerEvent);

impl StreamHandler<Reported> for SessionActor {
    fn handle(&mut self, Reported(event): Reported, ctx: &mut Context<Self>) {
        self.deliver(Input::Server(event), ctx);
    }

    /// The actor holds a sender itself; the channel never closes first.
    fn finished(&mut self, _ctx: &mut Context<Self>) {}
}

#[derive(Message)]
#[rtype(result = "()")]
struct SubtreeNews {
    child: ChildId,
    news: Subtree,
}

impl Handler<SubtreeNews> for SessionActor {
    type Result = ();

    fn handle(&mut self, msg: SubtreeNews, ctx: &mut Context<Self>) {
        self.deliver(
            Input::Subtree {
                child: msg.child,
                news: msg.news,
            },
            ctx,
        );
    }
}

#[derive(Message)]
#[rtype(result = "()")]
struct StartFailed {
    child: ChildId,
    reason: String,
}

impl Handler<StartFailed> for SessionActor {
    type Result = ();

    fn handle(&mut self, msg: StartFailed, ctx: &mut Context<Self>) {
        self.deliver(
            Input::StartFailed {
                child: msg.child,
                reason: msg.reason,
            },
            ctx,
        );
    }
}

/// The policy actor's orders; answers once every start and stop they
/// caused was carried out.
#[derive(Debug, Message)]
#[rtype(result = "oneshot::Receiver<()>")]
pub(crate) struct ApplyOrders(pub(crate) Apply);

impl Handler<ApplyOrders> for SessionActor {
    type Result = MessageResult<ApplyOrders>;

    fn handle(&mut self, ApplyOrders(apply): ApplyOrders, ctx: &mut Context<Self>) -> Self::Result {
        self.deliver(Input::Apply(apply), ctx);
        let (tx, rx) = oneshot::channel();
        self.command(Command::Barrier(tx), ctx);
        MessageResult(rx)
    }
}

/// Resolves once servers have settled as asked.
#[derive(Debug, Message)]
#[rtype(result = "oneshot::Receiver<()>")]
pub(crate) struct AwaitStartup(pub(crate) Settled);

impl Handler<AwaitStartup> for SessionActor {
    type Result = MessageResult<AwaitStartup>;

    fn handle(
        &mut self,
        AwaitStartup(mode): AwaitStartup,
        ctx: &mut Context<Self>,
    ) -> Self::Result {
        let (tx, rx) = oneshot::channel();
        self.next_waiter += 1;
        let waiter = self.next_waiter;
        self.waiters.insert(waiter, tx);
        self.deliver(Input::Await { waiter, mode }, ctx);
        MessageResult(rx)
    }
}

/// Starts a lazy server for its first call; resolves once its first
/// attempt is over (at once for a server that is not lazy).
#[derive(Debug, Message)]
#[rtype(result = "oneshot::Receiver<()>")]
pub(crate) struct Wake(pub(crate) String);

impl Handler<Wake> for SessionActor {
    type Result = MessageResult<Wake>;

    fn handle(&mut self, Wake(server): Wake, ctx: &mut Context<Self>) -> Self::Result {
        let (tx, rx) = oneshot::channel();
        self.next_waiter += 1;
        let waiter = self.next_waiter;
        self.waiters.insert(waiter, tx);
        self.deliver(Input::Wake { server, waiter }, ctx);
        MessageResult(rx)
    }
}

/// Every server's status.
#[derive(Debug, Message)]
#[rtype(result = "Vec<ServerStatus>")]
pub(crate) struct Snapshot;

impl Handler<Snapshot> for SessionActor {
    type Result = MessageResult<Snapshot>;

    fn handle(&mut self, _: Snapshot, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.machine.statuses())
    }
}

/// The handle of a server's subtree, or why there is none.
#[derive(Debug, Message)]
#[rtype(result = "Result<McpServerHandle, Unavailable>")]
pub(crate) struct Route {
    pub(crate) server: String,
}

impl Handler<Route> for SessionActor {
    type Result = MessageResult<Route>;

    fn handle(&mut self, msg: Route, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.machine.route(&msg.server).and_then(|child| {
            self.handles
                .get(child)
                .cloned()
                .ok_or(Unavailable::NotStarted)
        }))
    }
}

/// Sends `msg` to the session actor and waits for its answer.
pub(crate) async fn ask<M>(
    actor: &codex_runtime::ChildHandle<SessionActor>,
    msg: M,
) -> Result<M::Result, super::SessionError>
where
    M: Message + Send + 'static,
    M::Result: Send,
    SessionActor: Handler<M>,
{
    actor.send(msg).await.map_err(|err| match err {
        codex_runtime::CallError::NotSent(_) | codex_runtime::CallError::Lost { .. } => {
            super::SessionError::Stopped
        }
    })
}

/// Panics the session actor, as a bug in it would (tests only).
#[cfg(test)]
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(super) struct InjectPanic;

#[cfg(test)]
impl Handler<InjectPanic> for SessionActor {
    type Result = ();

    fn handle(&mut self, _: InjectPanic, _: &mut Context<Self>) {
        panic!("injected into the session actor");
    }
}
