//! Child specs and the context a child is started with.
//!
//! A [`ChildSpec`] says how to build a fresh actor and how to treat it.
//! Its start function receives a [`ChildContext`], builds the actor and
//! starts it with [`ChildContext::start`], which returns the opaque
//! [`Started`] the supervisor watches.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll, Waker};

use actix::dev::ContextFut;
use actix::{Actor, ActorContext, AsyncContext, Context};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::events::EventBus;
use crate::exit::{ActorError, Exit};
use crate::handle::{ChildHandle, SlotControl};
use crate::ids::{ActorPath, ChildId, Incarnation};
use crate::supervisor::{Restart, Shutdown};

/// Whether a child is a worker or a supervisor (OTP's `type`); it only
/// changes the default shutdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildKind {
    /// A plain actor: default shutdown is a 5 s timeout.
    Worker,
    /// A sub-supervisor: default shutdown is `Infinity`.
    Supervisor,
}

/// When a started child counts as ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// As soon as the start function returns.
    OnStart,
    /// When the child calls [`ChildContext::ready`]; a child that has not
    /// done so within the timeout is killed and counts as failed.
    Signal(Duration),
}

/// The start function of a child: builds a fresh actor every time.
pub type StartFn = Box<dyn FnMut(ChildContext) -> Result<Started, ActorError> + Send>;

/// How to start and supervise one child.
pub struct ChildSpec {
    pub(crate) id: ChildId,
    pub(crate) start: StartFn,
    pub(crate) restart: Restart,
    pub(crate) shutdown: Shutdown,
    pub(crate) kind: ChildKind,
    pub(crate) significant: bool,
    pub(crate) readiness: Readiness,
    pub(crate) slot: Option<Arc<dyn SlotControl>>,
}

impl fmt::Debug for ChildSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildSpec")
            .field("id", &self.id)
            .field("restart", &self.restart)
            .field("shutdown", &self.shutdown)
            .field("kind", &self.kind)
            .field("significant", &self.significant)
            .field("readiness", &self.readiness)
            .finish_non_exhaustive()
    }
}

impl ChildSpec {
    /// A worker spec with OTP's defaults (permanent, 5 s shutdown, ready
    /// on start) around a raw start function.
    pub fn new(
        id: impl Into<ChildId>,
        start: impl FnMut(ChildContext) -> Result<Started, ActorError> + Send + 'static,
    ) -> Self {
        ChildSpec {
            id: id.into(),
            start: Box::new(start),
            restart: Restart::Permanent,
            shutdown: Shutdown::Timeout(Duration::from_secs(5)),
            kind: ChildKind::Worker,
            significant: false,
            readiness: Readiness::OnStart,
            slot: None,
        }
    }

    /// A worker spec whose `factory` builds a fresh actor for every
    /// incarnation, plus a typed handle that always points at the live one.
    pub fn actor<A>(
        id: impl Into<ChildId>,
        mut factory: impl FnMut(&ChildContext) -> Result<A, ActorError> + Send + 'static,
    ) -> (Self, ChildHandle<A>)
    where
        A: Actor<Context = Context<A>>,
    {
        let id = id.into();
        let handle = ChildHandle::<A>::new(id.clone());
        let publish = handle.clone();
        let mut spec = ChildSpec::new(id, move |cx: ChildContext| {
            let actor = factory(&cx)?;
            let incarnation = cx.incarnation();
            let (started, addr) = cx.spawn(|_| actor);
            publish.publish(addr, incarnation);
            Ok(started)
        });
        spec.slot = Some(handle.control());
        (spec, handle)
    }

    /// Sets the restart type.
    pub fn restart(mut self, restart: Restart) -> Self {
        self.restart = restart;
        self
    }

    /// Sets the shutdown.
    pub fn shutdown(mut self, shutdown: Shutdown) -> Self {
        self.shutdown = shutdown;
        self
    }

    /// Sets the kind; a supervisor kind also sets shutdown to `Infinity`.
    pub fn kind(mut self, kind: ChildKind) -> Self {
        self.kind = kind;
        if kind == ChildKind::Supervisor {
            self.shutdown = Shutdown::Infinity;
        }
        self
    }

    /// Marks the child significant for auto-shutdown.
    pub fn significant(mut self, significant: bool) -> Self {
        self.significant = significant;
        self
    }

    /// Waits for [`ChildContext::ready`] for at most `timeout` on every
    /// start.
    pub fn await_ready(mut self, timeout: Duration) -> Self {
        self.readiness = Readiness::Signal(timeout);
        self
    }

    /// The child's id.
    pub fn id(&self) -> &ChildId {
        &self.id
    }
}

/// What a start function receives: the child's identity, its ready
/// signal, and a place to record why it stops. Cheap to clone; an actor
/// usually keeps one.
#[derive(Clone)]
pub struct ChildContext {
    shared: Arc<Shared>,
}

struct Shared {
    id: ChildId,
    path: ActorPath,
    incarnation: Incarnation,
    bus: EventBus,
    ready: Mutex<Option<oneshot::Sender<()>>>,
    exit: Mutex<Option<Exit>>,
    stop_requested: AtomicBool,
}

impl fmt::Debug for ChildContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildContext")
            .field("path", &self.shared.path)
            .field("incarnation", &self.shared.incarnation)
            .finish_non_exhaustive()
    }
}

impl ChildContext {
    pub(crate) fn new(
        id: ChildId,
        path: ActorPath,
        incarnation: Incarnation,
        bus: EventBus,
    ) -> (Self, oneshot::Receiver<()>) {
        let (tx, rx) = oneshot::channel();
        let shared = Shared {
            id,
            path,
            incarnation,
            bus,
            ready: Mutex::new(Some(tx)),
            exit: Mutex::new(None),
            stop_requested: AtomicBool::new(false),
        };
        (
            ChildContext {
                shared: Arc::new(shared),
            },
            rx,
        )
    }

    /// The child's id.
    pub fn id(&self) -> &ChildId {
        &self.shared.id
    }

    /// The child's path from the root supervisor, e.g. `root/mcp/docs`.
    pub fn path(&self) -> &ActorPath {
        &self.shared.path
    }

    /// This incarnation's generation number.
    pub fn incarnation(&self) -> Incarnation {
        self.shared.incarnation
    }

    /// The lifecycle bus of the tree this child belongs to.
    pub fn events(&self) -> &EventBus {
        &self.shared.bus
    }

    /// Signals that the child is ready. Only the first call counts.
    pub fn ready(&self) {
        let tx = lock(&self.shared.ready).take();
        if let Some(tx) = tx {
            let _ = tx.send(());
        }
    }

    /// Records that this incarnation failed. The actor should then stop
    /// itself (`ctx.stop()`); its exit is reported as `Failed(error)`.
    pub fn fail(&self, error: ActorError) {
        *lock(&self.shared.exit) = Some(Exit::Failed(error));
    }

    /// Records the exit reason explicitly (the last call wins).
    pub fn set_exit(&self, exit: Exit) {
        *lock(&self.shared.exit) = Some(exit);
    }

    /// Starts `actor` under supervision and returns what the start
    /// function must hand back.
    pub fn start<A>(self, actor: A) -> Started
    where
        A: Actor<Context = Context<A>>,
    {
        self.spawn(|_| actor).0
    }

    /// Like [`start`](Self::start), but builds the actor with access to
    /// its context (to spawn futures or keep its own address).
    pub fn start_with<A>(self, build: impl FnOnce(&mut Context<A>) -> A) -> Started
    where
        A: Actor<Context = Context<A>>,
    {
        self.spawn(build).0
    }

    /// Spawns the actor on the current arbiter inside its incarnation
    /// span, with a hidden future that stops it when asked.
    pub(crate) fn spawn<A>(
        self,
        build: impl FnOnce(&mut Context<A>) -> A,
    ) -> (Started, actix::Addr<A>)
    where
        A: Actor<Context = Context<A>>,
    {
        let stop = Arc::new(StopSignal {
            shared: Arc::clone(&self.shared),
            requested: AtomicBool::new(false),
            waker: Mutex::new(None),
        });
        let mut ctx = Context::<A>::new();
        let actor = build(&mut ctx);
        let addr = ctx.address();
        let span = tracing::info_span!(
            "actor",
            kind = short_type_name::<A>(),
            name = %self.shared.path,
            incarnation = self.shared.incarnation.0,
        );
        let fut = Stoppable {
            fut: ctx.into_future(actor),
            stop: Arc::clone(&stop),
            registered: false,
        };
        // With no subscriber interested in the span, skip entering it on
        // every poll.
        let join = if span.is_disabled() {
            actix::spawn(fut)
        } else {
            actix::spawn(async move { fut.instrument(span).await })
        };
        (
            Started {
                join,
                stop,
                cx: self,
            },
            addr,
        )
    }

    /// The exit reason once the actor's future has completed normally.
    pub(crate) fn clean_exit(&self) -> Exit {
        if let Some(exit) = lock(&self.shared.exit).take() {
            return exit;
        }
        if self.shared.stop_requested.load(Ordering::SeqCst) {
            Exit::Shutdown
        } else {
            Exit::Normal
        }
    }
}

/// A started child, as returned by a start function. Opaque: the
/// supervisor uses it to ask the actor to stop, to kill it, and to learn
/// how it ended.
pub struct Started {
    pub(crate) join: JoinHandle<()>,
    pub(crate) stop: Arc<StopSignal>,
    pub(crate) cx: ChildContext,
}

/// Asks a running child to stop, from outside its context.
///
/// The child's task polls a [`Stoppable`] wrapper that checks one flag
/// per poll; nothing extra sits in the actor's mailbox or among its
/// spawned futures, so supervision costs nothing per message.
pub(crate) struct StopSignal {
    shared: Arc<Shared>,
    requested: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl fmt::Debug for StopSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StopSignal")
            .field("requested", &self.requested)
            .finish_non_exhaustive()
    }
}

impl StopSignal {
    /// Requests a graceful stop (`ctx.stop()` inside the actor).
    pub(crate) fn request(&self) {
        self.shared.stop_requested.store(true, Ordering::SeqCst);
        self.requested.store(true, Ordering::SeqCst);
        if let Some(waker) = lock(&self.waker).as_ref() {
            waker.wake_by_ref();
        }
    }
}

/// The child's actor future plus the stop check.
struct Stoppable<A: Actor<Context = Context<A>>> {
    fut: ContextFut<A, Context<A>>,
    stop: Arc<StopSignal>,
    registered: bool,
}

impl<A: Actor<Context = Context<A>>> Future for Stoppable<A> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<()> {
        let this = &mut *self;
        if !this.registered {
            // A task's waker does not change, so it is stored once.
            *lock(&this.stop.waker) = Some(cx.waker().clone());
            this.registered = true;
        }
        // A plain load on the hot path; the swap only when a stop is asked.
        if this.stop.requested.load(Ordering::Acquire)
            && this.stop.requested.swap(false, Ordering::SeqCst)
        {
            this.fut.ctx().stop();
        }
        Pin::new(&mut this.fut).poll(cx)
    }
}

impl fmt::Debug for Started {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Started")
            .field("cx", &self.cx)
            .finish_non_exhaustive()
    }
}

fn short_type_name<T>() -> &'static str {
    let full = std::any::type_name::<T>();
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base)
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
