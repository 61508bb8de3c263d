//! [`FaultProxy`]: an HTTP/1.1 proxy on 127.0.0.1 in front of one
//! upstream origin, which asks a [`Decider`] about every request and
//! damages the ones it is told to.
//!
//! Requests are forwarded with their method, path, query, headers (the
//! `Host` rewritten, hop-by-hop headers dropped) and body; answers come
//! back streamed, so SSE passes through as it is produced. Redirects are
//! passed back, never followed.

use std::convert::Infallible;
use std::fmt;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use futures::{Stream, StreamExt as _};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST, RETRY_AFTER};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::{Fault, MESSAGE_LIMIT};
use crate::client::HttpClient;

/// Says which fault, if any, the request with this method and body gets.
pub type Decider = Arc<dyn Fn(&Method, &[u8]) -> Option<Fault> + Send + Sync>;

type Body = http_body_util::combinators::UnsyncBoxBody<Bytes, std::io::Error>;
type Frames = Pin<Box<dyn Stream<Item = Result<Frame<Bytes>, std::io::Error>> + Send>>;

/// Headers that describe one hop, not the message.
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// A running proxy; dropping it stops it and every connection through it.
pub struct FaultProxy {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl fmt::Debug for FaultProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultProxy")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Shared {
    upstream: url::Url,
    client: HttpClient,
    decide: Decider,
}

impl FaultProxy {
    /// Listens on 127.0.0.1 (a free port) and forwards to `upstream`'s
    /// origin.
    ///
    /// # Errors
    ///
    /// When the port cannot be bound or TLS cannot be set up.
    pub async fn start(upstream: url::Url, decide: Decider) -> std::io::Result<FaultProxy> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), upstream, decide).await
    }

    /// Like [`FaultProxy::start`], on `addr`.
    ///
    /// # Errors
    ///
    /// When `addr` cannot be bound or TLS cannot be set up.
    pub async fn start_on(
        addr: SocketAddr,
        upstream: url::Url,
        decide: Decider,
    ) -> std::io::Result<FaultProxy> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let client = HttpClient::new().map_err(std::io::Error::other)?;
        let shared = Arc::new(Shared {
            upstream,
            client,
            decide,
        });
        let task = tokio::spawn(accept(listener, shared));
        Ok(FaultProxy { addr, task })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `url` with its origin replaced by the proxy's.
    pub fn proxied(&self, url: &url::Url) -> url::Url {
        let mut through = url.clone();
        let _ = through.set_scheme("http");
        let _ = through.set_host(Some("127.0.0.1"));
        let _ = through.set_port(Some(self.addr.port()));
        let _ = through.set_username("");
        let _ = through.set_password(None);
        through
    }
}

async fn accept(listener: TcpListener, shared: Arc<Shared>) {
    // Owned here, so aborting this task drops every connection.
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else {
                    // Out of descriptors, say: wait instead of spinning.
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                };
                let shared = Arc::clone(&shared);
                connections.spawn(async move {
                    let service = service_fn(move |request| {
                        let shared = Arc::clone(&shared);
                        async move { handle(&shared, request).await }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// A reset: hyper closes the connection without answering.
#[derive(Debug)]
struct Reset;

impl fmt::Display for Reset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("injected fault: connection reset")
    }
}

impl std::error::Error for Reset {}

async fn handle(shared: &Shared, request: Request<Incoming>) -> Result<Response<Body>, Reset> {
    let (parts, body) = request.into_parts();
    // A request larger than any message is refused, never held whole.
    let body = match http_body_util::Limited::new(body, MESSAGE_LIMIT)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return Err(Reset),
    };
    let fault = (shared.decide)(&parts.method, &body);
    if let Some(fault) = &fault {
        tracing::info!(?fault, path = %parts.uri.path(), "injecting a fault into an HTTP request");
    }
    match &fault {
        Some(Fault::Delay(delay)) => tokio::time::sleep(*delay).await,
        Some(Fault::Reset) => return Err(Reset),
        Some(Fault::HttpStatus {
            status,
            retry_after,
        }) => return Ok(status_answer(*status, *retry_after)),
        Some(Fault::Oversize) => return Ok(oversize_answer()),
        Some(Fault::Drop) => {
            // Never answered: the client gives up on its own timeout.
            std::future::pending::<()>().await;
        }
        _ => {}
    }
    let request = Request::from_parts(parts, body);
    let upstream = match forward(shared, request).await {
        Ok(response) => response,
        Err(reason) => {
            return Ok(plain(
                StatusCode::BAD_GATEWAY,
                format!("fault proxy: upstream failed: {reason}"),
            ));
        }
    };
    let (mut parts, body) = upstream.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    let frames: Frames = Box::pin(
        body.into_data_stream()
            .map(|chunk| chunk.map(Frame::data).map_err(std::io::Error::other)),
    );
    let damaged = !matches!(fault, None | Some(Fault::Delay(_)));
    let frames: Frames = match fault {
        Some(Fault::Corrupt) => corrupt_first(frames),
        Some(Fault::GarbageLine) => {
            let garbage = if is_event_stream(&parts.headers) {
                "data: injected fault: not JSON\n\n"
            } else {
                "injected fault: not JSON\n"
            };
            let first = futures::stream::once(async move {
                Ok(Frame::data(Bytes::from_static(garbage.as_bytes())))
            });
            Box::pin(first.chain(frames))
        }
        Some(Fault::Close) => Box::pin(futures::stream::empty()),
        Some(Fault::Truncate) => {
            // One chunk, then an error: the body ends before it is complete.
            Box::pin(frames.take(1).chain(futures::stream::once(async {
                Err(std::io::Error::other("injected fault: body truncated"))
            })))
        }
        // Headers only: the answer itself never comes.
        Some(Fault::Stall) => {
            drop(frames);
            Box::pin(futures::stream::pending())
        }
        _ => frames,
    };
    if damaged {
        // The length no longer holds.
        parts.headers.remove(CONTENT_LENGTH);
    }
    Ok(Response::from_parts(
        parts,
        BodyExt::boxed_unsync(StreamBody::new(frames)),
    ))
}

async fn forward(shared: &Shared, request: Request<Bytes>) -> Result<Response<Incoming>, String> {
    let (mut parts, body) = request.into_parts();
    let mut target = shared.upstream.clone();
    target.set_path(parts.uri.path());
    target.set_query(parts.uri.query());
    parts.uri = target
        .as_str()
        .parse()
        .map_err(|err: http::uri::InvalidUri| err.to_string())?;
    strip_hop_by_hop(&mut parts.headers);
    if let Some(host) = target.host_str() {
        let authority = match target.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        if let Ok(value) = HeaderValue::from_str(&authority) {
            parts.headers.insert(HOST, value);
        }
    }
    let request = Request::from_parts(parts, Full::new(body));
    shared
        .client
        .send_raw(request)
        .await
        .map_err(|err| err.to_string())
}

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
}

fn is_event_stream(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"))
}

/// The stream with its first chunk's bytes damaged so it no longer parses.
fn corrupt_first(frames: Frames) -> Frames {
    let mut first = true;
    Box::pin(frames.map(move |frame| {
        let frame = frame?;
        if !first {
            return Ok(frame);
        }
        first = false;
        match frame.into_data() {
            Ok(data) => {
                let mut bytes = data.to_vec();
                if let Some(b) = bytes.iter_mut().find(|b| **b == b'{') {
                    *b = 0xFF;
                }
                let middle = bytes.len() / 2;
                if let Some(b) = bytes.get_mut(middle) {
                    *b = 0xFE;
                }
                Ok(Frame::data(Bytes::from(bytes)))
            }
            Err(frame) => Ok(frame),
        }
    }))
}

fn plain(status: StatusCode, text: String) -> Response<Body> {
    let mut response = Response::new(
        Full::new(Bytes::from(text))
            .map_err(|never: Infallible| match never {})
            .boxed_unsync(),
    );
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}

fn status_answer(status: u16, retry_after: Option<u64>) -> Response<Body> {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::json!({
        "error": {"message": format!("injected fault: HTTP {status}"), "type": "injected_fault"}
    })
    .to_string();
    let mut response = plain(code, body);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// One SSE event whose data is one byte over [`MESSAGE_LIMIT`], streamed.
fn oversize_answer() -> Response<Body> {
    const CHUNK: usize = 64 * 1024;
    let chunks = MESSAGE_LIMIT / CHUNK + 1;
    let filler = Bytes::from(vec![b'x'; CHUNK]);
    let frames = futures::stream::once(async { Ok(Frame::data(Bytes::from_static(b"data: "))) })
        .chain(futures::stream::iter(
            (0..chunks).map(move |_| Ok(Frame::data(filler.clone()))),
        ))
        .chain(futures::stream::once(async {
            Ok(Frame::data(Bytes::from_static(b"\n\n")))
        }));
    let mut response = Response::new(BodyExt::boxed_unsync(StreamBody::new(frames)));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    response
}
