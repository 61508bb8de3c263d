//! The model-stream actor's actix shell: sends the request with our hyper
//! client, turns the answer into [`Input`]s for the [`Machine`], and
//! carries out its effects (send again, wait, report, stop).
//!
//! The only file of this actor kind that knows actix.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use bytes::Bytes;
use codex_transports::{HttpClient, read_body, sse_events};
use futures::StreamExt as _;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderName, HeaderValue, USER_AGENT};
use http_body_util::Full;
use tokio::sync::mpsc;

use super::chat::ChatAccumulator;
use super::machine::{Effect, Input, Machine, RetryPolicy, rejected};
use super::responses::parse_responses_event;
use super::{ModelProvider, StreamEvent};
use crate::config::WireApi;

/// The largest one server-sent event may be.
const MAX_EVENT: usize = 16 * 1024 * 1024;
/// How much of an error body is read.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// One model request, from the first send to the last retry.
pub(crate) struct ModelStreamActor {
    machine: Machine,
    client: HttpClient,
    provider: Arc<ModelProvider>,
    body: Bytes,
    thread_id: String,
    events: mpsc::UnboundedSender<StreamEvent>,
    /// Inputs tagged with an older attempt are stale.
    attempt: u64,
    running: Option<SpawnHandle>,
}

impl ModelStreamActor {
    pub(crate) fn new(
        client: HttpClient,
        provider: Arc<ModelProvider>,
        body: Bytes,
        thread_id: String,
        events: mpsc::UnboundedSender<StreamEvent>,
        seed: u64,
    ) -> Self {
        let policy = RetryPolicy {
            request_max_retries: provider.request_max_retries,
            stream_max_retries: provider.stream_max_retries,
        };
        ModelStreamActor {
            machine: Machine::new(policy, seed),
            client,
            provider,
            body,
            thread_id,
            events,
            attempt: 0,
            running: None,
        }
    }

    fn deliver(&mut self, input: Input, ctx: &mut Context<Self>) {
        for effect in self.machine.step(input) {
            match effect {
                Effect::Send => {
                    self.attempt += 1;
                    if let Some(handle) = self.running.take() {
                        ctx.cancel_future(handle);
                    }
                    let attempt = self.attempt;
                    let inputs = attempt_inputs(
                        self.client.clone(),
                        Arc::clone(&self.provider),
                        self.body.clone(),
                        self.thread_id.clone(),
                    );
                    self.running = Some(ctx.add_stream(inputs.map(move |input| (attempt, input))));
                }
                Effect::Wait(after) => {
                    ctx.run_later(after, |act, ctx| act.deliver(Input::RetryDue, ctx));
                }
                Effect::Report(event) => {
                    if let StreamEvent::Retrying {
                        attempt,
                        max,
                        error,
                        ..
                    } = &event
                    {
                        tracing::warn!(attempt, max, "model request retried: {error}");
                    }
                    // The requester may have gone (the turn was cancelled).
                    let _ = self.events.send(event);
                }
                Effect::Done => ctx.stop(),
            }
        }
    }
}

impl Actor for ModelStreamActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.deliver(Input::Start, ctx);
    }
}

impl StreamHandler<(u64, Input)> for ModelStreamActor {
    fn handle(&mut self, (attempt, input): (u64, Input), ctx: &mut Context<Self>) {
        if attempt == self.attempt {
            self.deliver(input, ctx);
        }
    }

    /// An attempt's inputs always end with a terminal input; the end of
    /// the stream itself means nothing (and must not stop the actor, which
    /// the default would).
    fn finished(&mut self, _ctx: &mut Context<Self>) {}
}

/// Everything one attempt produces: a rejection or an unreachable server,
/// or the stream's events followed by how it ended.
fn attempt_inputs(
    client: HttpClient,
    provider: Arc<ModelProvider>,
    body: Bytes,
    thread_id: String,
) -> impl futures::Stream<Item = Input> {
    enum State {
        Request,
        Streaming {
            events: futures::stream::BoxStream<'static, Result<sse_stream::Sse, sse_stream::Error>>,
            chat: Option<ChatAccumulator>,
        },
        Over,
    }
    let idle = provider.stream_idle_timeout;
    futures::stream::unfold(
        (State::Request, VecDeque::new()),
        move |(mut state, mut queue): (State, VecDeque<Input>)| {
            let client = client.clone();
            let provider = Arc::clone(&provider);
            let body = body.clone();
            let thread_id = thread_id.clone();
            async move {
                loop {
                    if let Some(input) = queue.pop_front() {
                        return Some((input, (state, queue)));
                    }
                    match state {
                        State::Over => return None,
                        State::Request => {
                            match send(&client, &provider, body.clone(), &thread_id).await {
                                Ok(events) => {
                                    let chat = (provider.wire_api == WireApi::Chat)
                                        .then(ChatAccumulator::new);
                                    state = State::Streaming { events, chat };
                                }
                                Err(input) => {
                                    queue.push_back(input);
                                    state = State::Over;
                                }
                            }
                        }
                        State::Streaming {
                            ref mut events,
                            ref mut chat,
                        } => match tokio::time::timeout(idle, events.next()).await {
                            Err(_) => {
                                queue.push_back(Input::Idle(idle));
                                state = State::Over;
                            }
                            Ok(Some(Ok(sse))) => {
                                let Some(data) = sse.data else { continue };
                                match chat {
                                    Some(chat) => {
                                        queue
                                            .extend(chat.feed(&data).into_iter().map(Input::Event));
                                    }
                                    None => {
                                        queue
                                            .extend(parse_responses_event(&data).map(Input::Event));
                                    }
                                }
                            }
                            Ok(Some(Err(err))) => {
                                queue.push_back(Input::Broken(err.to_string()));
                                state = State::Over;
                            }
                            Ok(None) => {
                                if let Some(chat) = chat {
                                    queue.extend(chat.finish().into_iter().map(Input::Event));
                                }
                                queue.push_back(Input::Ended);
                                state = State::Over;
                            }
                        },
                    }
                }
            }
        },
    )
}

type SseStream = futures::stream::BoxStream<'static, Result<sse_stream::Sse, sse_stream::Error>>;

/// Sends the request; on success the response's event stream, otherwise
/// the input that says why not.
async fn send(
    client: &HttpClient,
    provider: &ModelProvider,
    body: Bytes,
    thread_id: &str,
) -> Result<SseStream, Input> {
    let mut request = http::Request::post(provider.endpoint())
        .header(CONTENT_TYPE, "application/json")
        .header(ACCEPT, "text/event-stream")
        .header(USER_AGENT, codex_transports::USER_AGENT_VALUE)
        .header("originator", "codex_exec")
        .body(Full::new(body))
        .map_err(|err| Input::Unreachable(format!("invalid request: {err}")))?;
    let headers = request.headers_mut();
    if let Ok(value) = HeaderValue::from_str(thread_id) {
        headers.insert(HeaderName::from_static("session_id"), value);
    }
    for (name, value) in &provider.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.insert(name, value);
        }
    }
    if let Some(key) = &provider.api_key
        && let Ok(mut value) = HeaderValue::from_str(&format!("Bearer {}", key.expose()))
    {
        value.set_sensitive(true);
        headers.insert(AUTHORIZATION, value);
    }
    // The wait for the response headers is bounded like the wait for each
    // event: an endpoint that accepts the connection and never answers
    // must not hang the turn.
    let url = provider.endpoint();
    let response = match tokio::time::timeout(provider.stream_idle_timeout, client.send(request))
        .await
    {
        Ok(Ok(response)) => response,
        Ok(Err(err)) => return Err(Input::Unreachable(format!("{}: {err}", redact_query(&url)))),
        Err(_) => return Err(Input::NoResponse(provider.stream_idle_timeout)),
    };
    let status = response.status();
    if !status.is_success() {
        let retry_after = retry_after(response.headers());
        let text = match read_body(response.into_body(), MAX_ERROR_BODY).await {
            Ok((bytes, _)) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(_) => String::new(),
        };
        return Err(Input::Rejected(rejected(
            status.as_u16(),
            retry_after,
            &text,
        )));
    }
    Ok(sse_events(response.into_body(), MAX_EVENT))
}

/// The URL without its query, which may carry a key.
fn redact_query(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

/// `retry-after-ms`, else `Retry-After` in seconds.
fn retry_after(headers: &http::HeaderMap) -> Option<Duration> {
    let number = |name: &str| headers.get(name)?.to_str().ok()?.trim().parse::<f64>().ok();
    if let Some(ms) = number("retry-after-ms") {
        return Duration::try_from_secs_f64(ms / 1000.0).ok();
    }
    number("retry-after").and_then(|s| Duration::try_from_secs_f64(s).ok())
}
