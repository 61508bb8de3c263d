//! The session as the shell of a turn: it performs the [`turn::Machine`]'s
//! effects (model streams, sandboxed commands, MCP calls) concurrently and
//! feeds their results back, until the turn finishes or is cancelled.

use std::collections::{BTreeMap, VecDeque};
use std::ffi::OsString;
use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt as _;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{CommandError, Session, SessionError};
use crate::mcp_server::ToolCallError;
use crate::model_stream::{
    ModelProvider, ModelRequest, ModelStreamActor, StreamEvent, chat_body, responses_body,
};
use crate::turn::{self, Effect, Input, McpOutcome, McpTool, TurnEvent, TurnOutcome};

/// What commands and model requests of a turn run with.
#[derive(Debug, Clone)]
pub struct TurnRuntime {
    /// The model provider.
    pub provider: Arc<ModelProvider>,
    /// The sandbox every command runs in.
    pub sandbox: codex_sandbox::SandboxPolicy,
    /// The environment of every command (`shell_environment_policy`
    /// applied to the parent environment).
    pub command_env: BTreeMap<OsString, OsString>,
}

impl Session {
    /// The tools of every ready server, as the model is offered them.
    pub async fn mcp_tools(&self) -> Result<Vec<McpTool>, SessionError> {
        let statuses = self.statuses().await?;
        let qualified = self.tools().await?;
        let mut tools = Vec::new();
        for status in &statuses {
            for info in &status.tools {
                let Some(name) = qualified
                    .iter()
                    .find(|q| q.server == status.name && q.tool == info.name)
                else {
                    continue;
                };
                tools.push(McpTool {
                    qualified: name.qualified.clone(),
                    server: status.name.clone(),
                    tool: info.name.clone(),
                    spec: crate::model_stream::ToolSpec {
                        name: name.qualified.clone(),
                        description: info.description.clone().unwrap_or_default(),
                        parameters: info.input_schema.clone(),
                    },
                });
            }
        }
        Ok(tools)
    }

    /// Starts a model-stream actor for `request`, as a temporary child of
    /// the session. Its [`StreamEvent`]s arrive on the returned channel,
    /// which closes after the final one (or if the actor dies first).
    pub async fn sample(
        &self,
        provider: Arc<ModelProvider>,
        request: &ModelRequest,
    ) -> Result<mpsc::UnboundedReceiver<StreamEvent>, SessionError> {
        let body = match provider.wire_api {
            crate::config::WireApi::Responses => responses_body(request),
            crate::config::WireApi::Chat => chat_body(request),
        };
        let body = bytes::Bytes::from(serde_json::to_vec(&body).unwrap_or_default());
        let (tx, rx) = mpsc::unbounded_channel();
        let n = self
            .next_command
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let client = self.http.clone();
        let thread_id = request.thread_id.clone();
        let mut seed = Some((tx, body));
        let spec = codex_runtime::ChildSpec::new(format!("model:{n}"), move |cx| {
            let Some((tx, body)) = seed.take() else {
                return Err(codex_runtime::ActorError::custom(SessionError::Stopped));
            };
            Ok(cx.start(ModelStreamActor::new(
                client.clone(),
                Arc::clone(&provider),
                body,
                thread_id.clone(),
                tx,
                jitter_seed(n),
            )))
        })
        .restart(codex_runtime::Restart::Temporary)
        .shutdown(codex_runtime::Shutdown::BrutalKill);
        self.root
            .handle()
            .start_child(spec)
            .await
            .map_err(|_| SessionError::Stopped)?;
        Ok(rx)
    }

    /// Runs `machine` from `inputs` (warnings, then `Start`) until the turn
    /// finishes or `cancel` fires, reporting every event to `on_event`.
    /// Calls of one response run concurrently.
    pub async fn run_turn(
        &self,
        machine: &mut turn::Machine,
        inputs: Vec<Input>,
        runtime: &TurnRuntime,
        cancel: &CancellationToken,
        on_event: &mut (dyn FnMut(TurnEvent) + Send),
    ) -> TurnOutcome {
        let mut queue: VecDeque<Input> = inputs.into();
        let mut running: FuturesUnordered<BoxFuture<'_, Vec<Input>>> = FuturesUnordered::new();
        // Retry notices arrive here as they happen; final reports come back
        // from `running`.
        let (live, mut notices) = mpsc::unbounded_channel();
        let mut outcome = None;
        loop {
            while let Some(input) = queue.pop_front() {
                for effect in machine.step(input) {
                    match effect {
                        Effect::Emit(event) => on_event(event),
                        Effect::Finish(done) => outcome = Some(done),
                        Effect::Sample(request) => running.push(self.stream_inputs(
                            Arc::clone(&runtime.provider),
                            request,
                            live.clone(),
                        )),
                        Effect::RunCommand {
                            call_id,
                            argv,
                            cwd,
                            timeout,
                        } => {
                            let mut spec = codex_sandbox::CommandSpec::new(
                                argv.into_iter().map(OsString::from).collect(),
                                cwd,
                                runtime.command_env.clone(),
                            );
                            spec.timeout = timeout;
                            let policy = runtime.sandbox.clone();
                            running.push(Box::pin(async move {
                                let started = Instant::now();
                                let result = self
                                    .run_command(spec, policy)
                                    .await
                                    .map_err(|err: CommandError| err.to_string());
                                vec![Input::CommandDone {
                                    call_id,
                                    result,
                                    wall: started.elapsed(),
                                }]
                            }));
                        }
                        Effect::CallTool {
                            call_id,
                            server,
                            tool,
                            arguments,
                        } => running.push(Box::pin(async move {
                            let result = self
                                .call(&server, &tool, arguments)
                                .await
                                .map(|result| McpOutcome {
                                    content: result
                                        .content
                                        .iter()
                                        .map(|block| {
                                            serde_json::to_value(block)
                                                .unwrap_or(serde_json::Value::Null)
                                        })
                                        .collect(),
                                    structured_content: result.structured_content.clone(),
                                    is_error: result.is_error == Some(true),
                                })
                                .map_err(|err: ToolCallError| err.to_string());
                            vec![Input::McpDone { call_id, result }]
                        })),
                    }
                }
            }
            if let Some(outcome) = outcome {
                return outcome;
            }
            if running.is_empty() && notices.is_empty() {
                // The machine waits only while something runs; anything
                // else is a bug, reported rather than hung on.
                return TurnOutcome::Failed {
                    message: "the turn stopped waiting on nothing (internal error)".to_owned(),
                };
            }
            tokio::select! {
                biased;
                () = cancel.cancelled() => queue.push_back(Input::Interrupt),
                Some(notice) = notices.recv() => queue.push_back(notice),
                Some(inputs) = running.next() => queue.extend(inputs),
            }
        }
    }

    /// One model request for the turn: retry notices go to `live` as they
    /// come; the future resolves to the final report (or `StreamLost`).
    fn stream_inputs(
        &self,
        provider: Arc<ModelProvider>,
        request: ModelRequest,
        live: mpsc::UnboundedSender<Input>,
    ) -> BoxFuture<'_, Vec<Input>> {
        Box::pin(async move {
            let mut rx = match self.sample(provider, &request).await {
                Ok(rx) => rx,
                Err(_) => return vec![Input::StreamLost],
            };
            while let Some(event) = rx.recv().await {
                if matches!(event, StreamEvent::Retrying { .. }) {
                    let _ = live.send(Input::Stream(event));
                } else {
                    return vec![Input::Stream(event)];
                }
            }
            vec![Input::StreamLost]
        })
    }
}

/// A different jitter seed per request and per process.
fn jitter_seed(n: u64) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ u64::from(std::process::id())
}
