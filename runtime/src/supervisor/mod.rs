//! OTP-style supervisors on actix.
//!
//! A [`Supervisor`] owns an ordered list of [`ChildSpec`]s. It starts them
//! in order, waiting for each one to be ready, restarts them according to
//! their restart type and its strategy, gives up when restarts come too
//! fast, and stops them in reverse order. The decisions live in a pure
//! machine (no actix, no tokio, `now` passed in); the actor only performs
//! them.
//!
//! # Restart type × exit reason
//!
//! Whether a child that exited by itself is restarted:
//!
//! | restart type | `Normal` | `Shutdown` | `Killed` | `Failed(_)` (incl. panic) |
//! |--------------|----------|------------|----------|---------------------------|
//! | `Permanent`  | restart  | restart    | restart  | restart                   |
//! | `Transient`  | stop     | stop       | restart  | restart                   |
//! | `Temporary`  | stop, forget spec | stop, forget spec | stop, forget spec | stop, forget spec |
//!
//! # Strategy × siblings
//!
//! What happens to the siblings of a child that is restarted:
//!
//! | strategy     | siblings stopped (reverse start order) | children started again (start order) |
//! |--------------|----------------------------------------|--------------------------------------|
//! | `OneForOne`  | none                                   | the failed child                     |
//! | `OneForAll`  | all others                             | all, except temporary ones           |
//! | `RestForOne` | those started after the failed child   | the failed child and those after it  |
//!
//! A manually terminated child stays stopped under every strategy. A group
//! restart counts as one restart. More than `intensity` restarts within
//! `period` (default 1 in 5 s) stops every child in reverse order and
//! makes the supervisor exit with `Failed(Escalated)`, which its parent
//! treats like any other failure. Manual `terminate_child` and
//! `restart_child` count neither as restarts nor toward intensity.
//!
//! Two deliberate differences from OTP: escalation is an abnormal exit
//! (OTP uses `shutdown`), so a transient sub-supervisor is restarted by
//! its parent; and restarts wait for an exponential backoff with jitter
//! (set [`Backoff::NONE`] to restart at once).

pub(crate) mod config;
mod machine;
mod shell;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{broadcast, oneshot, watch};

pub use config::{AutoShutdown, Backoff, Restart, Shutdown, Strategy, SupervisorConfig};
pub use machine::{Effect, Input, Machine, Refusal};
pub use shell::Supervisor;

use crate::child::{ChildContext, ChildKind, ChildSpec, lock};
use crate::events::{Event, EventBus, EventKind};
use crate::exit::{ActorError, Exit};
use crate::handle::{CallError, ChildHandle};
use crate::ids::{ActorPath, ChildId, Incarnation};
use shell::{Command, WhichChildren};

/// Why a supervisor command failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum SupervisorError {
    /// The supervisor refused the command.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The child was added but could not be started; its spec is dropped.
    #[error("child `{child}` failed to start: {source}")]
    StartFailed {
        /// The child.
        child: ChildId,
        /// Why.
        source: ActorError,
    },
    /// The supervisor is not running (restarting, or gone).
    #[error("supervisor is not running")]
    Unavailable,
    /// The supervisor exited before it became ready.
    #[error("supervisor exited: {0}")]
    Exited(Exit),
}

/// A handle on a supervisor: dynamic children and the event bus. For a
/// nested supervisor it follows restarts like any [`ChildHandle`].
#[derive(Debug, Clone)]
pub struct SupervisorHandle {
    inner: ChildHandle<Supervisor>,
}

impl SupervisorHandle {
    async fn command(&self, command: Command) -> Result<(), SupervisorError> {
        match self.inner.send(command).await {
            Ok(result) => result,
            Err(CallError::NotSent(_) | CallError::Lost { .. }) => {
                Err(SupervisorError::Unavailable)
            }
        }
    }

    /// Adds a child at the end of the start order, starts it and waits
    /// until it is ready (OTP's `start_child`).
    pub async fn start_child(&self, spec: ChildSpec) -> Result<(), SupervisorError> {
        self.command(Command::Start(spec)).await
    }

    /// Stops a child without restarting it and without counting toward
    /// intensity; the spec is kept (OTP's `terminate_child`).
    pub async fn terminate_child(&self, id: impl Into<ChildId>) -> Result<(), SupervisorError> {
        self.command(Command::Terminate(id.into())).await
    }

    /// Starts a terminated child again (OTP's `restart_child`).
    pub async fn restart_child(&self, id: impl Into<ChildId>) -> Result<(), SupervisorError> {
        self.command(Command::Restart(id.into())).await
    }

    /// Forgets a terminated child's spec (OTP's `delete_child`).
    pub async fn delete_child(&self, id: impl Into<ChildId>) -> Result<(), SupervisorError> {
        self.command(Command::Delete(id.into())).await
    }

    /// Children in start order with their live incarnation, if any.
    pub async fn which_children(
        &self,
    ) -> Result<Vec<(ChildId, Option<Incarnation>)>, SupervisorError> {
        self.inner
            .send(WhichChildren)
            .await
            .map_err(|_| SupervisorError::Unavailable)
    }
}

/// The root of a supervision tree, as returned by [`Supervisor::start`].
#[derive(Debug)]
pub struct RootSupervisor {
    handle: SupervisorHandle,
    bus: EventBus,
    ready: std::sync::Mutex<Option<oneshot::Receiver<()>>>,
    stop: Arc<crate::child::StopSignal>,
    exit: watch::Receiver<Option<Exit>>,
}

impl RootSupervisor {
    /// The handle for dynamic children and events.
    pub fn handle(&self) -> &SupervisorHandle {
        &self.handle
    }

    /// Subscribes to the lifecycle events of the whole tree. Subscribe
    /// to the [`EventBus`] before starting to see the boot events too.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.bus.subscribe()
    }

    /// Waits until every initial child is ready; fails if the supervisor
    /// exits first (for example because a child could not start).
    pub async fn ready(&self) -> Result<(), SupervisorError> {
        let rx = lock(&self.ready).take();
        if let Some(rx) = rx {
            tokio::select! {
                biased;
                signalled = rx => {
                    if signalled.is_ok() {
                        return Ok(());
                    }
                }
                _ = self.wait() => {}
            }
        }
        match self.exit.borrow().clone() {
            Some(exit) => Err(SupervisorError::Exited(exit)),
            None => Ok(()),
        }
    }

    /// Waits for the supervisor to exit and returns why.
    pub async fn wait(&self) -> Exit {
        let mut exit = self.exit.clone();
        match exit.wait_for(Option::is_some).await {
            Ok(e) => e.clone().unwrap_or(Exit::Killed),
            Err(_) => Exit::Killed,
        }
    }

    /// Stops every child in reverse order, then the supervisor; returns
    /// the supervisor's exit.
    pub async fn shutdown(&self) -> Exit {
        self.stop.request();
        self.wait().await
    }
}

impl Supervisor {
    /// Starts a root supervisor named `name` on the current actix arbiter.
    /// Its events, and those of every child below it, go to `bus`.
    ///
    /// Must be called inside an actix `System` (see
    /// [`block_on`](crate::block_on)).
    pub fn start(
        name: &str,
        config: SupervisorConfig,
        bus: &EventBus,
        children: Vec<ChildSpec>,
    ) -> RootSupervisor {
        let id = ChildId::new(name);
        let path = ActorPath::root(id.clone());
        let (cx, ready) = ChildContext::new(id.clone(), path.clone(), Incarnation(1), bus.clone());
        let inner = ChildHandle::<Supervisor>::new(id);
        let (started, addr) = cx.clone().spawn(|_| Supervisor::new(cx, config, children));
        inner.publish(addr, Incarnation(1));
        bus.publish(Event {
            path: path.clone(),
            incarnation: Incarnation(1),
            kind: EventKind::Started,
        });
        let (exit_tx, exit) = watch::channel(None);
        let crate::child::Started { join, stop, cx } = started;
        let watcher_bus = bus.clone();
        actix::spawn(async move {
            let exit = match join.await {
                Ok(()) => cx.clean_exit(),
                Err(e) if e.is_panic() => Exit::Failed(ActorError::from_panic(&*e.into_panic())),
                Err(_) => Exit::Killed,
            };
            watcher_bus.publish(Event {
                path,
                incarnation: Incarnation(1),
                kind: EventKind::Exited(exit.clone()),
            });
            exit_tx.send_replace(Some(exit));
        });
        RootSupervisor {
            handle: SupervisorHandle { inner },
            bus: bus.clone(),
            ready: std::sync::Mutex::new(Some(ready)),
            stop,
            exit,
        }
    }
}

impl ChildSpec {
    /// A sub-supervisor spec. `children` is called on every (re)start to
    /// build fresh child specs; children added at run time are lost when
    /// the sub-supervisor restarts, as in OTP. The spec waits up to 60 s
    /// for the sub-tree to be ready and has shutdown `Infinity`.
    pub fn supervisor(
        id: impl Into<ChildId>,
        config: SupervisorConfig,
        mut children: impl FnMut() -> Vec<ChildSpec> + Send + 'static,
    ) -> (ChildSpec, SupervisorHandle) {
        let id = id.into();
        let inner = ChildHandle::<Supervisor>::new(id.clone());
        let publish = inner.clone();
        let mut spec = ChildSpec::new(id, move |cx: ChildContext| {
            let incarnation = cx.incarnation();
            let config = config.clone();
            let specs = children();
            let (started, addr) = cx
                .clone()
                .spawn(move |_| Supervisor::new(cx, config, specs));
            publish.publish(addr, incarnation);
            Ok(started)
        })
        .kind(ChildKind::Supervisor)
        .await_ready(Duration::from_secs(60));
        spec.slot = Some(inner.control());
        (spec, SupervisorHandle { inner })
    }
}
