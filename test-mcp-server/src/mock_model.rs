//! [`MockModel`]: a local stand-in for the OpenAI API that speaks the real
//! wire formats: Responses API server-sent events, Chat Completions chunks,
//! and error answers with their headers. Each test scripts the replies, in
//! order, and reads back every request it received.
//!
//! ```no_run
//! # async fn demo() {
//! use codex_test_mcp_server::mock_model::{MockModel, Reply, ev};
//!
//! let model = MockModel::start(vec![Reply::sse(vec![
//!     ev::message("m1", "hello"),
//!     ev::completed("r1"),
//! ])])
//! .await
//! .unwrap();
//! // Point a client at `model.base_url()` (it ends in `/v1`).
//! let requests = model.requests();
//! # drop(requests);
//! # }
//! ```
//!
//! The model is the only part of this project that is mocked: nothing else
//! can run here for real.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt as _;
use http_body_util::{BodyExt, StreamBody, combinators::UnsyncBoxBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Reply {
    /// `200 text/event-stream`: each event as `event: TYPE` and `data: JSON`,
    /// then, per `end`, the stream ends, is cut, or stalls.
    Sse {
        /// The events' JSON payloads (each has a `type`).
        events: Vec<Value>,
        /// How the stream ends after them.
        end: End,
        /// A pause before each event.
        delay: Duration,
    },
    /// `200 text/event-stream` of Chat Completions chunks (`data:` only),
    /// then `data: [DONE]`.
    Chat(Vec<Value>),
    /// `reply`, once the test opens `release` (the request is received and
    /// recorded at once; only the answer waits).
    Held {
        /// The answer.
        reply: Box<Reply>,
        /// Opens the gate.
        release: Release,
    },
    /// A non-success answer.
    Status {
        /// The HTTP status.
        status: u16,
        /// Extra headers (`Retry-After`, ...).
        headers: Vec<(String, String)>,
        /// The body.
        body: String,
    },
}

/// A gate for a [`Reply::Held`]: the test opens it when it is ready for the
/// answer, so a turn can be held open at a known point without sleeping.
#[derive(Debug, Clone)]
pub struct Release(Arc<tokio::sync::watch::Sender<bool>>);

impl Release {
    /// A closed gate.
    pub fn new() -> Self {
        Release(Arc::new(tokio::sync::watch::channel(false).0))
    }

    /// Opens the gate; held answers go out.
    pub fn open(&self) {
        self.0.send_replace(true);
    }

    async fn wait(&self) {
        let mut rx = self.0.subscribe();
        let _ = rx.wait_for(|open| *open).await;
    }
}

impl Default for Release {
    fn default() -> Self {
        Release::new()
    }
}

/// How an SSE reply ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The body ends normally.
    Close,
    /// The connection is held open and nothing more is sent.
    Stall,
}

impl Reply {
    /// A stream of `events` that then ends normally.
    pub fn sse(events: Vec<Value>) -> Reply {
        Reply::Sse {
            events,
            end: End::Close,
            delay: Duration::ZERO,
        }
    }

    /// A stream of `events` that then stalls with the connection open.
    pub fn stall(events: Vec<Value>) -> Reply {
        Reply::Sse {
            events,
            end: End::Stall,
            delay: Duration::ZERO,
        }
    }

    /// A stream of `events`, each after `delay`.
    pub fn slow(events: Vec<Value>, delay: Duration) -> Reply {
        Reply::Sse {
            events,
            end: End::Close,
            delay,
        }
    }

    /// An error answer with an OpenAI-style JSON body.
    pub fn status(status: u16, message: &str) -> Reply {
        Reply::Status {
            status,
            headers: Vec::new(),
            body: serde_json::json!({"error": {"message": message, "type": "server_error"}})
                .to_string(),
        }
    }

    /// This reply, held until `release` opens.
    #[must_use]
    pub fn held(self, release: &Release) -> Reply {
        Reply::Held {
            reply: Box::new(self),
            release: release.clone(),
        }
    }

    /// The same reply with one more header (for [`Reply::Status`]).
    #[must_use]
    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        if let Reply::Status { headers, .. } = &mut self {
            headers.push((name.to_owned(), value.to_owned()));
        }
        self
    }
}

/// What the mock received.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// `POST`, `GET`, ...
    pub method: String,
    /// The path and query.
    pub path: String,
    /// Every header, names lower-case.
    pub headers: Vec<(String, String)>,
    /// The body as JSON (`Null` when it is not JSON).
    pub body: Value,
}

impl RecordedRequest {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The names of the tools offered (both wire shapes).
    pub fn tool_names(&self) -> Vec<String> {
        self.body["tools"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|tool| {
                tool.get("name")
                    .or_else(|| tool.get("function").and_then(|f| f.get("name")))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .collect()
    }

    /// The `output` of the `function_call_output` for `call_id` in `input`.
    pub fn function_call_output(&self, call_id: &str) -> Option<String> {
        self.body["input"]
            .as_array()?
            .iter()
            .find(|item| item["type"] == "function_call_output" && item["call_id"] == call_id)
            .and_then(|item| item["output"].as_str())
            .map(str::to_owned)
    }

    /// The `output` of the `custom_tool_call_output` for `call_id`.
    pub fn custom_tool_call_output(&self, call_id: &str) -> Option<String> {
        self.body["input"]
            .as_array()?
            .iter()
            .find(|item| item["type"] == "custom_tool_call_output" && item["call_id"] == call_id)
            .and_then(|item| item["output"].as_str())
            .map(str::to_owned)
    }
}

#[derive(Debug, Default)]
struct State {
    replies: VecDeque<Reply>,
    /// Answers every request once `replies` is empty.
    fallback: Option<Reply>,
    requests: Vec<RecordedRequest>,
    /// Whether to keep request bodies (benchmarks turn this off).
    record: bool,
    /// Counts model requests received, for tests that wait for one.
    received: tokio::sync::watch::Sender<usize>,
}

/// A running mock; it stops when dropped.
#[derive(Debug)]
pub struct MockModel {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for MockModel {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl MockModel {
    /// Starts on `127.0.0.1` at a free port with `replies` in order. A
    /// request beyond the script gets HTTP 418, which clients never retry.
    pub async fn start(replies: Vec<Reply>) -> std::io::Result<MockModel> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State {
            replies: replies.into(),
            fallback: None,
            requests: Vec::new(),
            record: true,
            received: tokio::sync::watch::channel(0).0,
        }));
        let shared = Arc::clone(&state);
        let server = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let state = Arc::clone(&shared);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        let state = Arc::clone(&state);
                        async move { Ok::<_, Infallible>(answer(&state, request).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(MockModel {
            addr,
            state,
            server,
        })
    }

    /// `http://127.0.0.1:PORT/v1`, for `OPENAI_BASE_URL` or `base_url`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Every model request received so far (`GET .../models` excluded).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state)
            .requests
            .iter()
            .filter(|r| r.method == "POST")
            .cloned()
            .collect()
    }

    /// Waits until at least `n` model requests (`POST`) were received.
    pub async fn wait_for_requests(&self, n: usize) {
        let mut rx = lock(&self.state).received.subscribe();
        let _ = rx.wait_for(|received| *received >= n).await;
    }

    /// Appends replies to the script.
    pub fn push(&self, replies: Vec<Reply>) {
        lock(&self.state).replies.extend(replies);
    }

    /// Answers `reply` to every request beyond the script, and stops
    /// recording requests (for benchmarks that send thousands).
    pub fn answer_forever(&self, reply: Reply) {
        let mut state = lock(&self.state);
        state.fallback = Some(reply);
        state.record = false;
    }
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

type Body = UnsyncBoxBody<Bytes, Infallible>;

async fn answer(state: &Mutex<State>, request: Request<Incoming>) -> Response<Body> {
    let method = request.method().to_string();
    let path = request
        .uri()
        .path_and_query()
        .map_or_else(String::new, |p| p.to_string());
    let headers = request
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let bytes = request
        .into_body()
        .collect()
        .await
        .map(|body| body.to_bytes())
        .unwrap_or_default();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    if method == "GET" && path.ends_with("/models") {
        return full(
            StatusCode::OK,
            "application/json",
            r#"{"object":"list","data":[]}"#,
        );
    }
    let reply = {
        let mut state = lock(state);
        if method == "POST" {
            state.received.send_modify(|received| *received += 1);
        }
        if state.record {
            state.requests.push(RecordedRequest {
                method,
                path,
                headers,
                body,
            });
        }
        state.replies.pop_front().or_else(|| state.fallback.clone())
    };
    let reply = match reply {
        Some(Reply::Held { reply, release }) => {
            release.wait().await;
            Some(*reply)
        }
        other => other,
    };
    match reply {
        None => full(
            StatusCode::IM_A_TEAPOT,
            "application/json",
            r#"{"error":{"message":"the mock model has no scripted reply left"}}"#,
        ),
        Some(Reply::Status {
            status,
            headers,
            body,
        }) => {
            let mut response = full(
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                "application/json",
                &body,
            );
            for (name, value) in headers {
                if let (Ok(name), Ok(value)) = (
                    http::HeaderName::from_bytes(name.as_bytes()),
                    http::HeaderValue::from_str(&value),
                ) {
                    response.headers_mut().insert(name, value);
                }
            }
            response
        }
        Some(Reply::Chat(chunks)) => {
            let mut frames: Vec<String> = chunks
                .iter()
                .map(|chunk| format!("data: {chunk}\n\n"))
                .collect();
            frames.push("data: [DONE]\n\n".to_owned());
            event_stream(frames, End::Close, Duration::ZERO)
        }
        // A held reply is unwrapped above; a reply held twice is a script bug.
        Some(Reply::Held { .. }) => full(
            StatusCode::INTERNAL_SERVER_ERROR,
            "application/json",
            r#"{"error":{"message":"a held reply inside a held reply"}}"#,
        ),
        Some(Reply::Sse { events, end, delay }) => {
            let frames = events
                .iter()
                .map(|event| {
                    let kind = event["type"].as_str().unwrap_or("message");
                    format!("event: {kind}\ndata: {event}\n\n")
                })
                .collect();
            event_stream(frames, end, delay)
        }
    }
}

fn full(status: StatusCode, content_type: &str, body: &str) -> Response<Body> {
    let mut response = Response::new(
        http_body_util::Full::new(Bytes::from(body.to_owned()))
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *response.status_mut() = status;
    if let Ok(value) = http::HeaderValue::from_str(content_type) {
        response
            .headers_mut()
            .insert(http::header::CONTENT_TYPE, value);
    }
    response
}

fn event_stream(frames: Vec<String>, end: End, delay: Duration) -> Response<Body> {
    let frames = futures::stream::iter(frames).then(move |frame| async move {
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        Ok::<_, Infallible>(Frame::data(Bytes::from(frame)))
    });
    let body = match end {
        End::Close => BodyExt::boxed_unsync(StreamBody::new(frames.boxed())),
        End::Stall => BodyExt::boxed_unsync(StreamBody::new(
            frames.chain(futures::stream::pending()).boxed(),
        )),
    };
    let mut response = Response::new(body);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/event-stream"),
    );
    response
}

/// Builders for Responses API events, in the shapes the API sends.
pub mod ev {
    use serde_json::{Value, json};

    /// `response.created`.
    pub fn created(id: &str) -> Value {
        json!({"type": "response.created", "response": {"id": id}})
    }

    /// An assistant message, as `response.output_item.done`.
    pub fn message(id: &str, text: &str) -> Value {
        json!({
            "type": "response.output_item.done",
            "item": {
                "type": "message", "id": id, "role": "assistant", "status": "completed",
                "content": [{"type": "output_text", "text": text, "annotations": []}]
            }
        })
    }

    /// A text delta (display only).
    pub fn text_delta(text: &str) -> Value {
        json!({"type": "response.output_text.delta", "delta": text})
    }

    /// A reasoning item with one summary part.
    pub fn reasoning(id: &str, summary: &str) -> Value {
        json!({
            "type": "response.output_item.done",
            "item": {
                "type": "reasoning", "id": id,
                "summary": [{"type": "summary_text", "text": summary}],
                "encrypted_content": "opaque"
            }
        })
    }

    /// A function call.
    pub fn function_call(call_id: &str, name: &str, arguments: &Value) -> Value {
        json!({
            "type": "response.output_item.done",
            "item": {
                "type": "function_call", "id": format!("fc_{call_id}"), "call_id": call_id,
                "name": name, "arguments": arguments.to_string(), "status": "completed"
            }
        })
    }

    /// A function call whose `arguments` are the given raw text.
    pub fn function_call_raw(call_id: &str, name: &str, arguments: &str) -> Value {
        json!({
            "type": "response.output_item.done",
            "item": {
                "type": "function_call", "id": format!("fc_{call_id}"), "call_id": call_id,
                "name": name, "arguments": arguments, "status": "completed"
            }
        })
    }

    /// A freeform (custom) tool call, such as `apply_patch`, with its raw
    /// input text.
    pub fn custom_tool_call(call_id: &str, name: &str, input: &str) -> Value {
        json!({
            "type": "response.output_item.done",
            "item": {
                "type": "custom_tool_call", "id": format!("ctc_{call_id}"), "call_id": call_id,
                "name": name, "input": input, "status": "completed"
            }
        })
    }

    /// `response.completed` with some token usage.
    pub fn completed(id: &str) -> Value {
        completed_with(id, 12, 3, 5)
    }

    /// `response.completed` with the given input, cached and output tokens.
    pub fn completed_with(id: &str, input: u64, cached: u64, output: u64) -> Value {
        json!({
            "type": "response.completed",
            "response": {
                "id": id,
                "usage": {
                    "input_tokens": input,
                    "input_tokens_details": {"cached_tokens": cached},
                    "output_tokens": output,
                    "output_tokens_details": {"reasoning_tokens": 1},
                    "total_tokens": input + output
                }
            }
        })
    }

    /// `response.failed`.
    pub fn failed(id: &str, code: &str, message: &str) -> Value {
        json!({
            "type": "response.failed",
            "response": {"id": id, "error": {"code": code, "message": message}}
        })
    }

    /// A Chat Completions chunk with text.
    pub fn chat_text(text: &str) -> Value {
        json!({"id": "chat-1", "object": "chat.completion.chunk",
               "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": null}]})
    }

    /// A Chat Completions chunk with one tool-call fragment.
    pub fn chat_tool_fragment(
        index: u64,
        id: Option<&str>,
        name: Option<&str>,
        arguments: &str,
    ) -> Value {
        let mut call = json!({"index": index, "function": {"arguments": arguments}});
        if let Some(id) = id {
            call["id"] = json!(id);
            call["type"] = json!("function");
        }
        if let Some(name) = name {
            call["function"]["name"] = json!(name);
        }
        json!({"id": "chat-1", "object": "chat.completion.chunk",
               "choices": [{"index": 0, "delta": {"tool_calls": [call]}, "finish_reason": null}]})
    }

    /// The closing Chat Completions chunk.
    pub fn chat_finish(reason: &str) -> Value {
        json!({"id": "chat-1", "object": "chat.completion.chunk",
               "choices": [{"index": 0, "delta": {}, "finish_reason": reason}],
               "usage": {"prompt_tokens": 9, "completion_tokens": 4}})
    }
}
