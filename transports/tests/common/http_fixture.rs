//! A tiny hyper server on 127.0.0.1 that records every request and answers
//! through a handler, for HTTP transport tests.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// A response body.
pub type Body = UnsyncBoxBody<Bytes, Infallible>;

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// A running fixture server; it stops when the test's runtime ends.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub addr: SocketAddr,
    pub requests: Arc<Mutex<Vec<Recorded>>>,
}

impl Fixture {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

/// A complete body.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed_unsync()
}

/// A body streamed from a channel; it ends when every sender is dropped.
pub fn streamed(rx: mpsc::UnboundedReceiver<Bytes>) -> Body {
    let frames = futures::stream::unfold(rx, |mut rx| async move {
        let chunk = rx.recv().await?;
        Some((Ok::<_, Infallible>(Frame::data(chunk)), rx))
    });
    StreamBody::new(frames).boxed_unsync()
}

/// Serves `handler` on 127.0.0.1 with an ephemeral port.
pub async fn serve<F, Fut>(handler: F) -> Fixture
where
    F: Fn(Recorded) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Response<Body>> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let requests = Arc::new(Mutex::new(Vec::new()));
    let fixture = Fixture {
        addr,
        requests: Arc::clone(&requests),
    };
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let handler = handler.clone();
            let requests = Arc::clone(&requests);
            let service =
                hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
                    let handler = handler.clone();
                    let requests = Arc::clone(&requests);
                    async move {
                        let (parts, body) = request.into_parts();
                        let body = body
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        let recorded = Recorded {
                            method: parts.method,
                            path: parts
                                .uri
                                .path_and_query()
                                .map(|p| p.to_string())
                                .unwrap_or_default(),
                            headers: parts.headers,
                            body,
                        };
                        if let Ok(mut log) = requests.lock() {
                            log.push(recorded.clone());
                        }
                        Ok::<_, Infallible>(handler(recorded).await)
                    }
                });
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    fixture
}

/// A minimal MCP answer to the JSON-RPC request in `body`, if it is one.
pub fn mcp_answer(body: &[u8], protocol_version: &str) -> Option<serde_json::Value> {
    let request: serde_json::Value = serde_json::from_slice(body).ok()?;
    let id = request.get("id")?.clone();
    let method = request.get("method")?.as_str()?;
    let result = match method {
        "initialize" => serde_json::json!({
            "protocolVersion": protocol_version,
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "fixture", "version": "0"}
        }),
        "tools/list" => serde_json::json!({
            "tools": [{"name": "echo", "inputSchema": {"type": "object"}}]
        }),
        "tools/call" => {
            let text = request
                .pointer("/params/arguments/text")
                .and_then(|t| t.as_str())
                .unwrap_or_default();
            serde_json::json!({"content": [{"type": "text", "text": text}]})
        }
        // A server from before 2026-07-28 knows no `server/discover`.
        "server/discover" => {
            return Some(serde_json::json!({
                "jsonrpc": "2.0",
                "id": id,
                "error": {"code": -32601, "message": "Method not found"}
            }));
        }
        _ => serde_json::json!({}),
    };
    Some(serde_json::json!({"jsonrpc": "2.0", "id": id, "result": result}))
}
