//! The MCP side: rmcp's server handler, which answers `tools/list` and
//! hands each `tools/call` to the dispatcher as a [`Job`], and the
//! transport wrapper that turns `notifications/cancelled` into an
//! interrupted turn instead of a dropped answer.
//!
//! rmcp drops the response of a request its client cancelled (as the spec
//! allows); Codex's own server did the same and left cancelled calls
//! without a result (Codex #20925). Here [`Intercept`] gives every
//! `tools/call` its own [`CancellationToken`] as the request arrives, and
//! a cancellation of such a call fires that token and goes no further:
//! the turn stops, and the call answers with what it has.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ClientNotification, ClientRequest,
    Implementation, JsonRpcMessage, ListToolsResult, PaginatedRequestParams, ProgressToken,
    ProtocolVersion, RequestId, ServerCapabilities, ServerConfig,
};
use rmcp::service::{RequestContext, RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use rmcp::{ErrorData, Peer, RoleServer, ServerHandler};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::tools::{self, ArgsError, Call};

/// The most `tools/call` requests whose cancellation the transport tracks
/// at once; past it a call is still served, and a cancellation of it
/// reaches rmcp, which drops its answer.
const MAX_TRACKED_CALLS: usize = 4096;

/// One `tools/call`, for the dispatcher.
#[derive(Debug)]
pub(super) struct Job {
    /// What to run.
    pub(super) call: Call,
    /// Who asked.
    pub(super) client: Client,
    /// Fires when the client cancels the call or goes away.
    pub(super) cancel: CancellationToken,
    /// Where the result goes.
    pub(super) done: oneshot::Sender<CallToolResult>,
}

/// The client of one call: where its notifications and elicitations go.
#[derive(Debug, Clone)]
pub(super) struct Client {
    /// The connection.
    pub(super) peer: Peer<RoleServer>,
    /// The `tools/call` request's id (`_meta.requestId` of its events).
    pub(super) request_id: RequestId,
    /// The request's `_meta.progressToken`, if it had one.
    pub(super) progress: Option<ProgressToken>,
}

/// The cancel token of every `tools/call` in flight, by request id. Each
/// is a child of one root token, which fires when the client goes away.
#[derive(Debug, Clone, Default)]
pub(super) struct Calls(Arc<CallsInner>);

#[derive(Debug, Default)]
struct CallsInner {
    root: CancellationToken,
    tokens: Mutex<HashMap<RequestId, CancellationToken>>,
}

impl Calls {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<RequestId, CancellationToken>> {
        self.0.tokens.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Tracks a call that just arrived.
    fn open(&self, id: RequestId) {
        let mut calls = self.lock();
        if calls.len() < MAX_TRACKED_CALLS {
            calls.entry(id).or_insert_with(|| self.0.root.child_token());
        }
    }

    /// The token of call `id` (a fresh one when the transport did not track
    /// it).
    fn token(&self, id: &RequestId) -> CancellationToken {
        self.lock()
            .get(id)
            .cloned()
            .unwrap_or_else(|| self.0.root.child_token())
    }

    /// Fires the token of call `id`; false when no such call is tracked.
    fn cancel(&self, id: &RequestId) -> bool {
        match self.lock().get(id) {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }

    /// Forgets call `id` (it answered).
    fn close(&self, id: &RequestId) {
        self.lock().remove(id);
    }

    /// Fires every call's token, now and from now on: the client went
    /// away.
    pub(super) fn cancel_all(&self) {
        self.0.root.cancel();
    }
}

/// A transport that tracks `tools/call` requests as they arrive and keeps
/// their cancellations from rmcp (see the module docs).
#[derive(Debug)]
pub(super) struct Intercept<T> {
    inner: T,
    calls: Calls,
}

impl<T> Intercept<T> {
    /// `inner`, tracking calls in `calls`.
    pub(super) fn new(inner: T, calls: Calls) -> Self {
        Intercept { inner, calls }
    }
}

impl<T: Transport<RoleServer>> Transport<RoleServer> for Intercept<T> {
    type Error = T::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleServer>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        self.inner.send(item)
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleServer>> {
        loop {
            let message = self.inner.receive().await?;
            match &message {
                JsonRpcMessage::Request(request)
                    if matches!(request.request, ClientRequest::CallToolRequest(_)) =>
                {
                    self.calls.open(request.id.clone());
                }
                JsonRpcMessage::Notification(notification) => {
                    if let ClientNotification::CancelledNotification(cancelled) =
                        &notification.notification
                        && let Some(id) = &cancelled.params.request_id
                        && self.calls.cancel(id)
                    {
                        continue;
                    }
                }
                JsonRpcMessage::Request(_)
                | JsonRpcMessage::Response(_)
                | JsonRpcMessage::Error(_) => {}
            }
            return Some(message);
        }
    }

    fn close(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send {
        self.inner.close()
    }
}

/// rmcp's handler: lists the tools and queues each call for the
/// dispatcher, then waits for its result.
#[derive(Debug, Clone)]
pub(super) struct Handler {
    jobs: mpsc::Sender<Job>,
    calls: Calls,
}

impl Handler {
    /// A handler queueing calls on `jobs`, their cancellations tracked in
    /// `calls`.
    pub(super) fn new(jobs: mpsc::Sender<Job>, calls: Calls) -> Self {
        Handler { jobs, calls }
    }
}

/// Forgets the call when its handler ends, however it ends.
struct Tracked<'a> {
    calls: &'a Calls,
    id: RequestId,
}

impl Drop for Tracked<'_> {
    fn drop(&mut self) {
        self.calls.close(&self.id);
    }
}

/// An `isError` result saying `message`.
pub(super) fn error_result(message: &str) -> CallToolResult {
    CallToolResult::error(vec![rmcp::model::ContentBlock::text(message)])
}

impl ServerHandler for Handler {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new(
                "codex-mcp-server",
                env!("CARGO_PKG_VERSION"),
            ))
            .with_instructions(
                "Codex as a tool: `codex` starts a thread and runs a turn, `codex-reply` \
                 continues one. Each call answers with the agent's last message.",
            )
    }

    /// Up to 2025-11-25: the server asks its client for approvals with
    /// `elicitation/create`, a server-to-client request that 2026-07-28
    /// no longer has.
    fn supported_protocol_versions(&self) -> std::borrow::Cow<'static, [ProtocolVersion]> {
        std::borrow::Cow::Borrowed(ProtocolVersion::known_up_to(
            &ProtocolVersion::LATEST_WITH_INITIALIZE,
        ))
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(tools::list()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let _tracked = Tracked {
            calls: &self.calls,
            id: context.id.clone(),
        };
        let cancel = self.calls.token(&context.id);
        let call = match tools::parse(&request.name, request.arguments.as_ref()) {
            Ok(call) => call,
            Err(err @ ArgsError::UnknownTool(_)) => {
                return Err(ErrorData::invalid_params(err.to_string(), None));
            }
            Err(err) => {
                return Ok(error_result(&format!("invalid arguments: {err}")).into());
            }
        };
        let (done, result) = oneshot::channel();
        let job = Job {
            call,
            client: Client {
                peer: context.peer.clone(),
                request_id: context.id.clone(),
                progress: context.meta.get_progress_token(),
            },
            cancel: cancel.clone(),
            done,
        };
        if self.jobs.send(job).await.is_err() {
            return Ok(error_result("the server is shutting down").into());
        }
        let mut result = std::pin::pin!(result);
        // rmcp's own token fires when the connection ends (or a transport
        // that is not wrapped delivers a cancellation): the turn stops,
        // and the call still answers.
        let result = tokio::select! {
            result = &mut result => result,
            () = context.ct.cancelled() => {
                cancel.cancel();
                result.await
            }
        };
        Ok(result
            .unwrap_or_else(|_| error_result("the call's session ended without a result"))
            .into())
    }
}
