//! [`BoxedTransport`]: one rmcp client transport type for every kind.
//!
//! rmcp's `Transport` trait returns `impl Future`, so it cannot be a trait
//! object. A private object-safe mirror with boxed futures, implemented for
//! every rmcp client transport, lets [`BoxedTransport`] hold any of them and
//! implement `Transport<RoleClient>` itself, so one
//! `RunningService<RoleClient, _>` type serves stdio, streamable HTTP and
//! legacy SSE alike.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::io;

use futures::FutureExt;
use futures::future::BoxFuture;
use rmcp::RoleClient;
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;

use crate::health::{Budget, TransportHealth};
use std::time::Instant;

/// Any rmcp client transport, behind one type.
///
/// Errors from the inner transport become [`io::Error`]s whose source is the
/// original error.
pub struct BoxedTransport {
    inner: Box<dyn DynClientTransport>,
    name: &'static str,
    health: TransportHealth,
    budget: Budget,
}

impl BoxedTransport {
    /// Boxes `transport`, naming it `name` in errors and logs.
    pub fn new<T>(name: &'static str, transport: T) -> Self
    where
        T: Transport<RoleClient> + 'static,
    {
        BoxedTransport::with_health(name, transport, TransportHealth::default())
    }

    /// Like [`new`](Self::new), reporting to `health` (which a guard below
    /// the transport may share).
    pub fn with_health<T>(name: &'static str, transport: T, health: TransportHealth) -> Self
    where
        T: Transport<RoleClient> + 'static,
    {
        BoxedTransport {
            inner: Box::new(transport),
            name,
            health,
            budget: Budget::new(Instant::now()),
        }
    }

    /// What this connection's guards saw; keep a clone before handing the
    /// transport to rmcp.
    pub fn health(&self) -> TransportHealth {
        self.health.clone()
    }

    /// The name given to [`BoxedTransport::new`].
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The same transport, with `keep` (tasks, a proxy) living as long as
    /// it does.
    pub fn keeping<K: Send + 'static>(self, keep: K) -> BoxedTransport {
        let name = self.name;
        let health = self.health.clone();
        BoxedTransport::with_health(
            name,
            Kept {
                inner: self,
                _keep: keep,
            },
            health,
        )
    }

    /// The next message that passes the notification budget.
    async fn next_message(&mut self) -> Option<RxJsonRpcMessage<RoleClient>> {
        loop {
            let message = self.inner.receive_boxed().await?;
            if !budgeted(&message) || self.budget.take(Instant::now()) {
                return Some(message);
            }
            let dropped = self.health.dropped();
            if dropped == 1 || dropped.is_multiple_of(100_000) {
                tracing::warn!(
                    transport = self.name,
                    dropped,
                    "a server sends notifications faster than the budget allows; the rest are dropped"
                );
            }
        }
    }
}

/// A transport and what must live as long as it.
struct Kept<K> {
    inner: BoxedTransport,
    _keep: K,
}

impl<K: Send + 'static> Transport<RoleClient> for Kept<K> {
    type Error = io::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleClient>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        self.inner.send(item)
    }

    fn receive(&mut self) -> impl Future<Output = Option<RxJsonRpcMessage<RoleClient>>> + Send {
        self.inner.receive()
    }

    fn close(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send {
        self.inner.close()
    }
}

impl fmt::Debug for BoxedTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoxedTransport")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The object-safe mirror of `Transport<RoleClient>`.
trait DynClientTransport: Send {
    fn send_boxed(
        &mut self,
        item: TxJsonRpcMessage<RoleClient>,
    ) -> BoxFuture<'static, io::Result<()>>;
    fn receive_boxed(&mut self) -> BoxFuture<'_, Option<RxJsonRpcMessage<RoleClient>>>;
    fn close_boxed(&mut self) -> BoxFuture<'_, io::Result<()>>;
}

impl<T> DynClientTransport for T
where
    T: Transport<RoleClient> + 'static,
{
    fn send_boxed(
        &mut self,
        item: TxJsonRpcMessage<RoleClient>,
    ) -> BoxFuture<'static, io::Result<()>> {
        self.send(item)
            .map(|result| result.map_err(io::Error::other))
            .boxed()
    }

    fn receive_boxed(&mut self) -> BoxFuture<'_, Option<RxJsonRpcMessage<RoleClient>>> {
        self.receive().boxed()
    }

    fn close_boxed(&mut self) -> BoxFuture<'_, io::Result<()>> {
        self.close()
            .map(|result| result.map_err(io::Error::other))
            .boxed()
    }
}

impl Transport<RoleClient> for BoxedTransport {
    type Error = io::Error;

    fn name() -> Cow<'static, str> {
        Cow::Borrowed("codex-transports::BoxedTransport")
    }

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleClient>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        self.inner.send_boxed(item)
    }

    fn receive(&mut self) -> impl Future<Output = Option<RxJsonRpcMessage<RoleClient>>> + Send {
        self.next_message()
    }

    fn close(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send {
        self.inner.close_boxed()
    }
}

/// Whether a message counts against the notification budget: any
/// notification but a cancellation or `tools/list_changed`.
fn budgeted(message: &RxJsonRpcMessage<RoleClient>) -> bool {
    use rmcp::model::{JsonRpcMessage, ServerNotification};
    match message {
        JsonRpcMessage::Notification(notification) => !matches!(
            notification.notification,
            ServerNotification::CancelledNotification(_)
                | ServerNotification::ToolListChangedNotification(_)
        ),
        _ => false,
    }
}
