//! The legacy HTTP+SSE plugin (protocol revision 2024-11-05).
//!
//! rmcp dropped this transport, but servers still offer it. The client GETs
//! the configured URL as an event stream and waits for the `endpoint` event,
//! whose data is the URL to POST JSON-RPC messages to, resolved against the
//! configured URL. An endpoint on another origin is refused. Answers arrive
//! as `message` events on the stream.
//!
//! # Drop
//!
//! Dropping or closing the transport stops the task reading the stream,
//! which closes the GET connection.

use std::sync::Arc;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use http::header::{ACCEPT, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Method, Request};
use http_body_util::Full;
use rmcp::RoleClient;
use rmcp::model::ServerJsonRpcMessage;
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::boxed::BoxedTransport;
use crate::client::{HttpClient, HttpError, media_type_is, sse_events, status_error};
use crate::config::{HttpConfig, TransportConfig, TransportKind};
use crate::error::ConnectError;
use crate::headers::ServerHeaders;
use crate::plugin::{ConnectContext, Connection, TransportPlugin};

/// The largest event accepted on the stream.
const MAX_EVENT: usize = 16 * 1024 * 1024;
/// Messages buffered between the stream reader and rmcp.
const CHANNEL_CAPACITY: usize = 64;

/// The plugin for [`TransportKind::Sse`].
#[derive(Debug, Clone, Copy, Default)]
pub struct SsePlugin;

impl TransportPlugin for SsePlugin {
    fn kind(&self) -> TransportKind {
        TransportKind::Sse
    }

    fn connect<'a>(
        &'a self,
        config: &'a TransportConfig,
        ctx: &'a ConnectContext,
    ) -> BoxFuture<'a, Result<Connection, ConnectError>> {
        async move {
            let http = sse_config(config)?;
            let transport = LegacySseTransport::open(http, ctx).await?;
            Ok(Connection::remote(BoxedTransport::new("sse", transport)))
        }
        .boxed()
    }
}

fn sse_config(config: &TransportConfig) -> Result<&HttpConfig, ConnectError> {
    match config {
        TransportConfig::Sse(http) => Ok(http),
        TransportConfig::Stdio(_) | TransportConfig::StreamableHttp(_) => {
            Err(ConnectError::mismatch(config, TransportKind::Sse))
        }
    }
}

/// An open legacy SSE session.
#[derive(Debug)]
struct LegacySseTransport {
    stack: HttpClient,
    endpoint: Arc<str>,
    headers: Arc<HeaderMap>,
    incoming: mpsc::Receiver<ServerJsonRpcMessage>,
    reader: JoinHandle<()>,
}

impl LegacySseTransport {
    async fn open(config: &HttpConfig, ctx: &ConnectContext) -> Result<Self, ConnectError> {
        let server = || ctx.server_name.clone();
        let base = config.canonical_url.as_url();
        let http_error = |source| ConnectError::Http {
            server: server(),
            url: config.canonical_url.redacted(),
            source,
        };
        let resolved = ServerHeaders::resolve(config, ctx)?;
        let mut headers = HeaderMap::new();
        resolved.apply(&mut headers);
        let stack = HttpClient::new().map_err(|source| ConnectError::Tls {
            server: server(),
            source,
        })?;

        let mut request = Request::builder()
            .method(Method::GET)
            .uri(base.as_str())
            .body(Full::new(Bytes::new()))
            .map_err(|e| http_error(HttpError::Build(e)))?;
        request.headers_mut().extend(headers.clone());
        request
            .headers_mut()
            .insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
        let response = stack.send(request).await.map_err(http_error)?;
        let status = response.status();
        if !status.is_success() {
            return Err(http_error(status_error(status, response.into_body()).await));
        }
        let content_type = response.headers().get(CONTENT_TYPE);
        if !media_type_is(content_type, "text/event-stream") {
            let found = content_type.map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
            return Err(http_error(HttpError::ContentType(found)));
        }
        let mut events = sse_events(response.into_body(), MAX_EVENT);

        let no_endpoint = || ConnectError::NoEndpoint {
            server: server(),
            url: config.canonical_url.redacted(),
        };
        let endpoint = loop {
            match events.next().await {
                Some(Ok(event)) if event.event.as_deref() == Some("endpoint") => {
                    break event.data.unwrap_or_default();
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Err(no_endpoint()),
            }
        };
        let endpoint = base.join(endpoint.trim()).map_err(|_| no_endpoint())?;
        if endpoint.origin() != base.origin() {
            return Err(ConnectError::CrossOriginEndpoint {
                server: server(),
                url: config.canonical_url.redacted(),
                endpoint: endpoint.to_string(),
            });
        }

        let (tx, incoming) = mpsc::channel(CHANNEL_CAPACITY);
        let reader = tokio::spawn(read_messages(events, tx, server()));
        Ok(LegacySseTransport {
            stack,
            endpoint: endpoint.as_str().into(),
            headers: Arc::new(headers),
            incoming,
            reader,
        })
    }
}

/// Forwards `message` events until the stream ends or rmcp stops listening.
async fn read_messages(
    mut events: futures::stream::BoxStream<'static, Result<sse_stream::Sse, sse_stream::Error>>,
    tx: mpsc::Sender<ServerJsonRpcMessage>,
    server: String,
) {
    while let Some(event) = events.next().await {
        let event = match event {
            Ok(event) => event,
            Err(error) => {
                tracing::debug!(server = %server, "legacy SSE stream failed: {error}");
                break;
            }
        };
        if !matches!(event.event.as_deref(), None | Some("message")) {
            continue;
        }
        let Some(data) = event.data.filter(|data| !data.trim().is_empty()) else {
            continue;
        };
        match serde_json::from_str::<ServerJsonRpcMessage>(&data) {
            Ok(message) => {
                if tx.send(message).await.is_err() {
                    break;
                }
            }
            Err(error) => {
                tracing::debug!(server = %server, "skipping a non-JSON-RPC SSE message: {error}");
            }
        }
    }
}

impl Drop for LegacySseTransport {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl Transport<RoleClient> for LegacySseTransport {
    type Error = HttpError;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleClient>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        let stack = self.stack.clone();
        let endpoint = Arc::clone(&self.endpoint);
        let headers = Arc::clone(&self.headers);
        async move {
            let body = serde_json::to_vec(&item).map_err(HttpError::Json)?;
            let mut request = Request::builder()
                .method(Method::POST)
                .uri(endpoint.as_ref())
                .body(Full::new(Bytes::from(body)))
                .map_err(HttpError::Build)?;
            request.headers_mut().extend((*headers).clone());
            request
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            let response = stack.send(request).await?;
            let status = response.status();
            if status.is_success() {
                Ok(())
            } else {
                Err(status_error(status, response.into_body()).await)
            }
        }
    }

    fn receive(&mut self) -> impl Future<Output = Option<RxJsonRpcMessage<RoleClient>>> + Send {
        self.incoming.recv()
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        self.reader.abort();
        self.incoming.close();
        Ok(())
    }
}
