//! The model stream's pure core: one request, its retries, and what to
//! report. No actix, no tokio, no IO; time and randomness come in from the
//! shell (the jitter generator is seeded by it).
//!
//! | failure                                   | layer   | retried? |
//! |-------------------------------------------|---------|----------|
//! | HTTP 429, 5xx; connect or send failed      | request | up to `request_max_retries` |
//! | HTTP 429 for quota or usage limits         | -       | never    |
//! | any other 4xx                             | -       | never    |
//! | stream broke, idle timeout, ended without `response.completed` | stream | up to `stream_max_retries` |
//! | `response.failed`: context window, quota  | -       | never    |
//! | `response.failed`: anything else          | stream  | up to `stream_max_retries` |
//!
//! Each retry waits `200 ms × 2^(n-1) × U(0.9, 1.1)` for the layer's n-th
//! retry, or what the server asked for (`Retry-After`, `retry-after-ms`,
//! or "try again in Ns" in a rate-limit message), at most
//! [`MAX_SERVER_DELAY`]. Items are buffered and reported only with
//! `response.completed`, so a retried attempt never leaks half a response.

use std::time::Duration;

use super::{ModelError, ModelResponse, ResponseItem, StreamEvent, TokenUsage};

/// The longest server-requested delay we honour; longer requests wait this.
pub const MAX_SERVER_DELAY: Duration = Duration::from_secs(60);
const BASE_DELAY: Duration = Duration::from_millis(200);

/// How many retries each layer allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Before the stream starts.
    pub request_max_retries: u32,
    /// After it started.
    pub stream_max_retries: u32,
}

/// A stream event the machine acts on, from either wire API.
#[derive(Debug, Clone, PartialEq)]
pub enum WireEvent {
    /// Text of the answer, as it arrives (shown live; the complete message
    /// comes as an item).
    TextDelta(String),
    /// An output item is complete.
    ItemDone(ResponseItem),
    /// The response is complete.
    Completed {
        /// The response id.
        id: String,
        /// Its usage.
        usage: TokenUsage,
    },
    /// The server failed the response.
    Failed {
        /// The error code.
        code: Option<String>,
        /// The message.
        message: String,
    },
}

/// Everything that can happen to a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// Begin.
    Start,
    /// The server answered with a non-success status.
    Rejected(ModelError),
    /// The request could not be sent or got no answer.
    Unreachable(String),
    /// One stream event.
    Event(WireEvent),
    /// The stream ended.
    Ended,
    /// Reading the stream failed.
    Broken(String),
    /// No event arrived within the idle timeout.
    Idle(Duration),
    /// No response headers arrived within the idle timeout.
    NoResponse(Duration),
    /// A retry's delay passed.
    RetryDue,
}

/// What the shell must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Send the request (again); everything from an earlier attempt is
    /// stale from now on.
    Send,
    /// Deliver [`Input::RetryDue`] after this long.
    Wait(Duration),
    /// Tell the requester.
    Report(StreamEvent),
    /// The request is over; stop.
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Idle,
    Sent,
    Waiting,
    Done,
}

/// The state of one request.
#[derive(Debug)]
pub struct Machine {
    policy: RetryPolicy,
    phase: Phase,
    items: Vec<ResponseItem>,
    request_retries: u32,
    stream_retries: u32,
    attempts: u32,
    rng: u64,
}

/// Which budget a failure draws on.
enum Class {
    Request(Option<Duration>),
    Stream(Option<Duration>),
    Fatal,
}

impl Machine {
    /// A request under `policy`; `seed` drives the jitter.
    pub fn new(policy: RetryPolicy, seed: u64) -> Self {
        Machine {
            policy,
            phase: Phase::Idle,
            items: Vec::new(),
            request_retries: 0,
            stream_retries: 0,
            attempts: 0,
            rng: seed | 1,
        }
    }

    /// Advances the machine.
    pub fn step(&mut self, input: Input) -> Vec<Effect> {
        match (self.phase, input) {
            (Phase::Done, _) => Vec::new(),
            (Phase::Idle, Input::Start) | (Phase::Waiting, Input::RetryDue) => self.send(),
            (Phase::Sent, Input::Event(WireEvent::ItemDone(item))) => {
                self.items.push(item);
                Vec::new()
            }
            (Phase::Sent, Input::Event(WireEvent::TextDelta(text))) => {
                vec![Effect::Report(StreamEvent::Delta(text))]
            }
            (Phase::Sent, Input::Event(WireEvent::Completed { id, usage })) => {
                self.phase = Phase::Done;
                let response = ModelResponse {
                    id,
                    items: std::mem::take(&mut self.items),
                    usage,
                };
                vec![
                    Effect::Report(StreamEvent::Completed(response)),
                    Effect::Done,
                ]
            }
            (Phase::Sent, Input::Event(WireEvent::Failed { code, message })) => {
                self.fail(failed_error(code, message))
            }
            (Phase::Sent, Input::Rejected(error)) => self.fail(error),
            (Phase::Sent, Input::Unreachable(message)) => self.fail(ModelError::Transport(message)),
            (Phase::Sent, Input::Broken(message)) => self.fail(ModelError::Stream(message)),
            (Phase::Sent, Input::Idle(after)) => self.fail(ModelError::IdleTimeout(after)),
            (Phase::Sent, Input::NoResponse(after)) => self.fail(ModelError::NoResponse(after)),
            (Phase::Sent, Input::Ended) => self.fail(ModelError::Incomplete),
            // Out of order or stale: nothing to do.
            (Phase::Idle | Phase::Sent | Phase::Waiting, _) => Vec::new(),
        }
    }

    fn send(&mut self) -> Vec<Effect> {
        self.phase = Phase::Sent;
        self.items.clear();
        self.attempts += 1;
        vec![Effect::Send]
    }

    fn fail(&mut self, error: ModelError) -> Vec<Effect> {
        let (used, max, server_delay) = match classify(&error) {
            Class::Fatal => return self.finish(error),
            Class::Request(delay) => (
                &mut self.request_retries,
                self.policy.request_max_retries,
                delay,
            ),
            Class::Stream(delay) => (
                &mut self.stream_retries,
                self.policy.stream_max_retries,
                delay,
            ),
        };
        if *used >= max {
            let attempts = self.attempts;
            return self.finish(ModelError::RetryLimit {
                attempts,
                last: Box::new(error),
            });
        }
        *used += 1;
        let attempt = *used;
        let after = match server_delay {
            Some(delay) => delay.min(MAX_SERVER_DELAY),
            None => self.backoff(attempt),
        };
        self.phase = Phase::Waiting;
        vec![
            Effect::Report(StreamEvent::Retrying {
                attempt,
                max,
                after,
                error,
            }),
            Effect::Wait(after),
        ]
    }

    fn finish(&mut self, error: ModelError) -> Vec<Effect> {
        self.phase = Phase::Done;
        vec![Effect::Report(StreamEvent::Failed(error)), Effect::Done]
    }

    /// `200 ms × 2^(attempt-1) × U(0.9, 1.1)`.
    fn backoff(&mut self, attempt: u32) -> Duration {
        // xorshift64*: plenty for jitter, and reproducible from the seed.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let unit =
            (self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64;
        let factor = 0.9 + 0.2 * unit;
        let exponent = attempt.saturating_sub(1).min(16);
        BASE_DELAY.mul_f64(f64::from(1u32 << exponent) * factor)
    }
}

/// Maps a `response.failed` code to the error it means.
fn failed_error(code: Option<String>, message: String) -> ModelError {
    match code.as_deref() {
        Some("context_length_exceeded") => ModelError::ContextWindowExceeded(message),
        Some("insufficient_quota" | "usage_not_included" | "usage_limit_reached") => {
            ModelError::QuotaExceeded(message)
        }
        _ => ModelError::Failed { code, message },
    }
}

fn classify(error: &ModelError) -> Class {
    match error {
        ModelError::Status {
            status,
            retry_after,
            ..
        } => match status {
            429 | 500..=599 => Class::Request(*retry_after),
            _ => Class::Fatal,
        },
        ModelError::Transport(_) | ModelError::NoResponse(_) => Class::Request(None),
        ModelError::Stream(_) | ModelError::Incomplete | ModelError::IdleTimeout(_) => {
            Class::Stream(None)
        }
        ModelError::Failed { code, message } => {
            let delay = (code.as_deref() == Some("rate_limit_exceeded"))
                .then(|| try_again_in(message))
                .flatten();
            Class::Stream(delay)
        }
        ModelError::ContextWindowExceeded(_)
        | ModelError::QuotaExceeded(_)
        | ModelError::RetryLimit { .. }
        | ModelError::Stopped => Class::Fatal,
    }
}

/// The delay in "... try again in 1.5s." / "in 20ms" / "in 3 seconds".
fn try_again_in(message: &str) -> Option<Duration> {
    let lower = message.to_ascii_lowercase();
    let rest = &lower[lower.find("try again in ")? + "try again in ".len()..];
    let number: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let value: f64 = number.parse().ok()?;
    let unit = rest[number.len()..].trim_start();
    let seconds = if unit.starts_with("ms") {
        value / 1000.0
    } else if unit.starts_with('s') {
        value
    } else {
        return None;
    };
    Duration::try_from_secs_f64(seconds).ok()
}

/// The error for a non-success HTTP answer: the message from an OpenAI
/// style `{"error": {...}}` body (or the body's start), the server's
/// requested delay, and quota errors told apart from rate limits.
pub(crate) fn rejected(status: u16, retry_after: Option<Duration>, body: &str) -> ModelError {
    let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let error = parsed.as_ref().and_then(|v| v.get("error"));
    let field = |key: &str| {
        error
            .and_then(|e| e.get(key))
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
    };
    let message = field("message").unwrap_or_else(|| {
        let text = body.trim();
        let end = text.char_indices().nth(1000).map_or(text.len(), |(i, _)| i);
        text[..end].to_owned()
    });
    let kind = field("type").or_else(|| field("code"));
    if status == 429
        && matches!(
            kind.as_deref(),
            Some("insufficient_quota" | "usage_limit_reached" | "usage_not_included")
        )
    {
        return ModelError::QuotaExceeded(message);
    }
    ModelError::Status {
        status,
        message,
        retry_after,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};

    fn policy() -> RetryPolicy {
        RetryPolicy {
            request_max_retries: 2,
            stream_max_retries: 1,
        }
    }

    /// Feeds the inputs and renders the effects, one per line.
    #[track_caller]
    fn check(inputs: Vec<Input>, expect: Expect) {
        let mut machine = Machine::new(policy(), 42);
        let mut out = String::new();
        for input in inputs {
            for effect in machine.step(input) {
                let line = match effect {
                    Effect::Report(StreamEvent::Retrying {
                        attempt,
                        max,
                        after,
                        error,
                    }) => format!(
                        "retry {attempt}/{max} after ~{}ms: {error}",
                        after.as_millis() / 10 * 10
                    ),
                    Effect::Report(StreamEvent::Completed(response)) => format!(
                        "completed {} with {} items",
                        response.id,
                        response.items.len()
                    ),
                    Effect::Report(StreamEvent::Failed(error)) => format!("failed: {error}"),
                    other => format!("{other:?}"),
                };
                out.push_str(&line);
                out.push('\n');
            }
        }
        expect.assert_eq(&out);
    }

    fn done(id: &str) -> Input {
        Input::Event(WireEvent::Completed {
            id: id.to_owned(),
            usage: TokenUsage::default(),
        })
    }

    fn item() -> Input {
        Input::Event(WireEvent::ItemDone(ResponseItem::assistant_text("x")))
    }

    fn status(code: u16, retry_after: Option<Duration>) -> Input {
        Input::Rejected(rejected(
            code,
            retry_after,
            r#"{"error":{"message":"nope"}}"#,
        ))
    }

    #[test]
    fn server_errors_are_retried_with_backoff_then_given_up() {
        check(
            vec![
                Input::Start,
                status(500, None),
                Input::RetryDue,
                Input::Unreachable("connection refused".to_owned()),
                Input::RetryDue,
                status(503, None),
            ],
            expect![[r#"
                Send
                retry 1/2 after ~200ms: unexpected status 500: nope
                Wait(204.796813ms)
                Send
                retry 2/2 after ~390ms: connection refused
                Wait(396.271448ms)
                Send
                failed: exceeded retry limit after 3 attempts; last error: unexpected status 503: nope
                Done
            "#]],
        );
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        check(
            vec![
                Input::Start,
                status(429, Some(Duration::from_secs(2))),
                Input::RetryDue,
                status(429, Some(Duration::from_secs(3600))),
                Input::RetryDue,
                item(),
                done("r1"),
            ],
            expect![[r#"
                Send
                retry 1/2 after ~2000ms: unexpected status 429: nope
                Wait(2s)
                Send
                retry 2/2 after ~60000ms: unexpected status 429: nope
                Wait(60s)
                Send
                completed r1 with 1 items
                Done
            "#]],
        );
    }

    #[test]
    fn client_errors_and_quota_are_never_retried() {
        check(
            vec![Input::Start, status(400, None), Input::RetryDue],
            expect![[r#"
                Send
                failed: unexpected status 400: nope
                Done
            "#]],
        );
        let mut machine = Machine::new(policy(), 1);
        machine.step(Input::Start);
        let quota = rejected(
            429,
            None,
            r#"{"error":{"type":"insufficient_quota","message":"pay up"}}"#,
        );
        assert_eq!(
            machine.step(Input::Rejected(quota)),
            vec![
                Effect::Report(StreamEvent::Failed(ModelError::QuotaExceeded(
                    "pay up".to_owned()
                ))),
                Effect::Done
            ]
        );
    }

    #[test]
    fn a_cut_stream_is_sent_again_and_partial_items_are_dropped() {
        check(
            vec![
                Input::Start,
                item(),
                item(),
                Input::Ended,
                Input::RetryDue,
                item(),
                done("r2"),
                Input::Ended,
            ],
            expect![[r#"
                Send
                retry 1/1 after ~200ms: stream closed before response.completed
                Wait(204.796813ms)
                Send
                completed r2 with 1 items
                Done
            "#]],
        );
        check(
            vec![
                Input::Start,
                Input::Idle(Duration::from_secs(300)),
                Input::RetryDue,
                Input::Event(WireEvent::Failed {
                    code: Some("server_error".to_owned()),
                    message: "boom".to_owned(),
                }),
            ],
            expect![[r#"
                Send
                retry 1/1 after ~200ms: idle timeout waiting for SSE after 300 s
                Wait(204.796813ms)
                Send
                failed: exceeded retry limit after 2 attempts; last error: boom
                Done
            "#]],
        );
    }

    #[test]
    fn context_window_is_fatal_and_rate_limits_wait_as_told() {
        check(
            vec![
                Input::Start,
                Input::Event(WireEvent::Failed {
                    code: Some("rate_limit_exceeded".to_owned()),
                    message: "Rate limit reached. Please try again in 1.5s.".to_owned(),
                }),
                Input::RetryDue,
                Input::Event(WireEvent::Failed {
                    code: Some("context_length_exceeded".to_owned()),
                    message: "too long".to_owned(),
                }),
            ],
            expect![[r#"
                Send
                retry 1/1 after ~1500ms: Rate limit reached. Please try again in 1.5s.
                Wait(1.5s)
                Send
                failed: the model's context window is exhausted: too long
                Done
            "#]],
        );
        assert_eq!(
            try_again_in("try again in 20ms"),
            Some(Duration::from_millis(20))
        );
        assert_eq!(
            try_again_in("try again in 3 seconds"),
            Some(Duration::from_secs(3))
        );
        assert_eq!(try_again_in("try again later"), None);
    }

    proptest::proptest! {
        #[test]
        fn backoff_stays_within_ten_percent(seed: u64, attempt in 1u32..12) {
            let mut machine = Machine::new(policy(), seed);
            let nominal = BASE_DELAY.as_secs_f64() * f64::from(1u32 << (attempt - 1));
            let delay = machine.backoff(attempt).as_secs_f64();
            proptest::prop_assert!(delay >= nominal * 0.9 - 1e-9 && delay <= nominal * 1.1 + 1e-9);
        }
    }
}
