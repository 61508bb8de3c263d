//! The lifecycle event bus: every start, ready, exit, restart, escalation
//! and final stop, published on a `tokio::sync::broadcast` channel.

use std::fmt;
use std::time::Duration;

use tokio::sync::broadcast;

use crate::exit::Exit;
use crate::ids::{ActorPath, Incarnation};

/// One thing that happened to one actor incarnation.
#[derive(Debug, Clone)]
pub struct Event {
    /// The actor's place in the tree, e.g. `root/mcp/docs` when shown.
    pub path: ActorPath,
    /// The incarnation concerned.
    pub incarnation: Incarnation,
    /// What happened.
    pub kind: EventKind,
}

/// The kinds of lifecycle events.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum EventKind {
    /// The start function returned and the actor is running.
    Started,
    /// The actor signalled ready (or was ready on start).
    Ready,
    /// The incarnation ended. Published exactly once per incarnation.
    Exited(Exit),
    /// The child will be started again, as the given incarnation, after
    /// the backoff delay.
    Restarting {
        /// The backoff delay.
        after: Duration,
    },
    /// The supervisor at `path` exceeded its restart intensity, stopped
    /// all its children and is exiting with a failure.
    Escalated {
        /// Restarts counted inside the window.
        restarts: u32,
    },
    /// The child will not run again (manual terminate, a transient or
    /// temporary child that ended, or its supervisor shutting down).
    Stopped,
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{} ", self.path, self.incarnation)?;
        match &self.kind {
            EventKind::Started => f.write_str("started"),
            EventKind::Ready => f.write_str("ready"),
            EventKind::Exited(exit) => write!(f, "exited: {exit}"),
            EventKind::Restarting { after } => write!(f, "restarting after {after:?}"),
            EventKind::Escalated { restarts } => write!(f, "escalated after {restarts} restarts"),
            EventKind::Stopped => f.write_str("stopped"),
        }
    }
}

/// A cloneable sender of lifecycle events. Publishing never blocks; a
/// subscriber that falls behind by more than the capacity sees
/// `RecvError::Lagged`.
#[derive(Debug, Clone)]
pub struct EventBus {
    tx: broadcast::Sender<Event>,
}

impl EventBus {
    /// A bus that keeps up to `capacity` events for slow subscribers.
    pub fn new(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity.max(1));
        EventBus { tx }
    }

    /// A new receiver that sees every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }

    /// Publishes an event and logs it through `tracing`.
    pub fn publish(&self, event: Event) {
        match &event.kind {
            EventKind::Exited(exit) if exit.is_abnormal() => {
                tracing::warn!(path = %event.path, incarnation = event.incarnation.0, %exit, "actor exited");
            }
            EventKind::Escalated { restarts } => {
                tracing::error!(path = %event.path, restarts, "supervisor escalated");
            }
            EventKind::Started
            | EventKind::Ready
            | EventKind::Exited(_)
            | EventKind::Restarting { .. }
            | EventKind::Stopped => {
                tracing::debug!(path = %event.path, incarnation = event.incarnation.0, event = %event, "lifecycle");
            }
        }
        // No subscriber is not an error: the bus is for observers.
        let _ = self.tx.send(event);
    }
}

impl Default for EventBus {
    /// Capacity 1024.
    fn default() -> Self {
        EventBus::new(1024)
    }
}
