//! Typed handles: send messages straight to a supervised child's current
//! incarnation, with the message handed back when it cannot be sent.
//!
//! The supervisor is not on the message path. A [`ChildHandle`] holds the
//! live `Addr` of its child; the start function refreshes it on every
//! restart and the supervisor marks it restarting or closed.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll};

use actix::dev::{Request, ToEnvelope};
use actix::{Actor, Addr, Handler, MailboxError, Message};
use pin_project_lite::pin_project;

use crate::child::lock;
use crate::ids::{ChildId, Incarnation};

/// A message that could not be handed to the child; the message comes
/// back so the caller can retry or answer with a typed error.
#[derive(thiserror::Error)]
pub enum SendError<M> {
    /// The child is between incarnations (it exited and a restart is
    /// scheduled, or the supervisor has not yet seen the exit).
    #[error("child is restarting")]
    Restarting(M),
    /// The child is not running and no restart is planned.
    #[error("child is closed")]
    Closed(M),
    /// The child's mailbox is full (only from `try_send`).
    #[error("child mailbox is full")]
    Full(M),
}

impl<M> SendError<M> {
    /// The message that was not sent.
    pub fn into_inner(self) -> M {
        match self {
            SendError::Restarting(m) | SendError::Closed(m) | SendError::Full(m) => m,
        }
    }
}

impl<M> fmt::Debug for SendError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Restarting(_) => f.write_str("Restarting(..)"),
            SendError::Closed(_) => f.write_str("Closed(..)"),
            SendError::Full(_) => f.write_str("Full(..)"),
        }
    }
}

/// Why a request ([`ChildHandle::send`]) got no answer.
#[derive(thiserror::Error)]
pub enum CallError<M> {
    /// Not delivered; the message is handed back.
    #[error(transparent)]
    NotSent(SendError<M>),
    /// Delivered, but the incarnation stopped before it answered; the
    /// message is gone.
    #[error("incarnation {incarnation} stopped before answering")]
    Lost {
        /// The incarnation that had the message.
        incarnation: Incarnation,
    },
}

impl<M> fmt::Debug for CallError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::NotSent(e) => f.debug_tuple("NotSent").field(e).finish(),
            CallError::Lost { incarnation } => f
                .debug_struct("Lost")
                .field("incarnation", incarnation)
                .finish(),
        }
    }
}

/// A typed handle on a supervised child. Cloneable and `Send`; messages
/// go directly to the live incarnation's mailbox.
pub struct ChildHandle<A: Actor> {
    inner: Arc<Inner<A>>,
}

struct Inner<A: Actor> {
    id: ChildId,
    slot: Mutex<Slot<A>>,
}

enum Slot<A: Actor> {
    Empty,
    Live {
        addr: Addr<A>,
        incarnation: Incarnation,
    },
    Restarting,
    Closed,
}

impl<A: Actor> Clone for ChildHandle<A> {
    fn clone(&self) -> Self {
        ChildHandle {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<A: Actor> fmt::Debug for ChildHandle<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildHandle")
            .field("id", &self.inner.id)
            .field("incarnation", &self.incarnation())
            .finish()
    }
}

impl<A: Actor> ChildHandle<A> {
    pub(crate) fn new(id: ChildId) -> Self {
        ChildHandle {
            inner: Arc::new(Inner {
                id,
                slot: Mutex::new(Slot::Empty),
            }),
        }
    }

    pub(crate) fn publish(&self, addr: Addr<A>, incarnation: Incarnation) {
        *lock(&self.inner.slot) = Slot::Live { addr, incarnation };
    }

    pub(crate) fn control(&self) -> Arc<dyn SlotControl> {
        Arc::clone(&self.inner) as Arc<dyn SlotControl>
    }

    /// The child's id.
    pub fn id(&self) -> &ChildId {
        &self.inner.id
    }

    /// The live incarnation, if any.
    pub fn incarnation(&self) -> Option<Incarnation> {
        match &*lock(&self.inner.slot) {
            Slot::Live { addr, incarnation } if addr.connected() => Some(*incarnation),
            Slot::Live { .. } | Slot::Empty | Slot::Restarting | Slot::Closed => None,
        }
    }

    /// The live incarnation's address, for APIs that need an `Addr`.
    /// It goes stale when the child restarts; prefer the handle.
    pub fn addr(&self) -> Option<Addr<A>> {
        match &*lock(&self.inner.slot) {
            Slot::Live { addr, .. } if addr.connected() => Some(addr.clone()),
            Slot::Live { .. } | Slot::Empty | Slot::Restarting | Slot::Closed => None,
        }
    }

    /// Sends a request to the live incarnation and returns a future of the
    /// answer.
    ///
    /// Like `Addr::send`, the message is enqueued by this call, before the
    /// future is first polled, unless the mailbox is full: then it waits
    /// in the future for room.
    ///
    /// # Cancel safety
    /// As with `Addr::send`, dropping the future withdraws the request if
    /// the child has not started handling it (actix skips a request whose
    /// answer nobody waits for); after that it runs to completion. Use
    /// [`try_send`](Self::try_send) for fire-and-forget.
    // Inlined so that the request is built in place in the caller's
    // future: otherwise it is built here and copied out (a ~200-byte
    // memcpy per call, measured as most of the handle's overhead).
    #[inline(always)]
    pub fn send<M>(&self, msg: M) -> Call<A, M>
    where
        A: Handler<M>,
        A::Context: ToEnvelope<A, M>,
        M: Message + Send + 'static,
        M::Result: Send,
    {
        // The lock is held only while the message is enqueued.
        let slot = lock(&self.inner.slot);
        if let Slot::Live { addr, incarnation } = &*slot
            && addr.connected()
        {
            return Call {
                state: CallState::Sent {
                    request: addr.send(msg),
                    incarnation: *incarnation,
                },
            };
        }
        let error = match &*slot {
            Slot::Live { .. } | Slot::Restarting => SendError::Restarting(msg),
            Slot::Empty | Slot::Closed => SendError::Closed(msg),
        };
        Call {
            state: CallState::NotSent { error: Some(error) },
        }
    }

    /// Enqueues a message without waiting for an answer.
    pub fn try_send<M>(&self, msg: M) -> Result<(), SendError<M>>
    where
        A: Handler<M>,
        A::Context: ToEnvelope<A, M>,
        M: Message + Send + 'static,
        M::Result: Send,
    {
        let slot = lock(&self.inner.slot);
        match &*slot {
            Slot::Live { addr, .. } => addr.try_send(msg).map_err(|e| match e {
                actix::prelude::SendError::Full(m) => SendError::Full(m),
                actix::prelude::SendError::Closed(m) => SendError::Restarting(m),
            }),
            Slot::Restarting => Err(SendError::Restarting(msg)),
            Slot::Empty | Slot::Closed => Err(SendError::Closed(msg)),
        }
    }
}

pin_project! {
    /// The answer to [`ChildHandle::send`].
    #[must_use = "a request whose answer nobody awaits is usually not handled at all"]
    pub struct Call<A, M>
    where
        A: Actor,
        A: Handler<M>,
        A::Context: ToEnvelope<A, M>,
        M: Message,
        M: Send,
        M: 'static,
        M::Result: Send,
    {
        #[pin]
        state: CallState<A, M>,
    }
}

pin_project! {
    #[project = CallStateProj]
    enum CallState<A, M>
    where
        A: Actor,
        A: Handler<M>,
        A::Context: ToEnvelope<A, M>,
        M: Message,
        M: Send,
        M: 'static,
        M::Result: Send,
    {
        Sent {
            #[pin]
            request: Request<A, M>,
            incarnation: Incarnation,
        },
        NotSent {
            error: Option<SendError<M>>,
        },
    }
}

impl<A, M> Future for Call<A, M>
where
    A: Handler<M>,
    A::Context: ToEnvelope<A, M>,
    M: Message + Send + 'static,
    M::Result: Send,
{
    type Output = Result<M::Result, CallError<M>>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            CallStateProj::Sent {
                request,
                incarnation,
            } => request.poll(cx).map_err(|e| match e {
                MailboxError::Closed | MailboxError::Timeout => CallError::Lost {
                    incarnation: *incarnation,
                },
            }),
            CallStateProj::NotSent { error } => match error.take() {
                Some(error) => Poll::Ready(Err(CallError::NotSent(error))),
                None => panic!("`Call` polled after it completed"),
            },
        }
    }
}

/// The supervisor's type-erased view of a handle.
pub(crate) trait SlotControl: Send + Sync {
    fn mark_restarting(&self);
    fn mark_closed(&self);
}

impl<A: Actor> SlotControl for Inner<A> {
    fn mark_restarting(&self) {
        *lock(&self.slot) = Slot::Restarting;
    }

    fn mark_closed(&self) {
        *lock(&self.slot) = Slot::Closed;
    }
}
