//! The MCP server actor: one per admitted server, supervised.
//!
//! Each incarnation connects through its transport plugin, runs
//! `initialize` and lists every tool under `startup_timeout_sec`, then
//! serves calls under `tool_timeout_sec` and pings for liveness. A crash, a
//! closed transport or an unanswered ping ends the incarnation with a
//! [`ServerFailure`] that quotes the server's stderr; the supervisor decides
//! whether to start a fresh one, which connects and lists tools again.
//!
//! Every incarnation is admitted before it connects, exactly once: the
//! first with the verdict the policy actor reached when it ordered the
//! start, every restart by the one admission function over the policy
//! snapshot in force ([`PolicyView`]). A server no longer admitted is
//! refused, and shows as disabled. A live incarnation follows the policy:
//! every new snapshot re-judges its tools, and a call is checked against
//! the snapshot it runs under. Incarnations report [`ServerEvent`]s
//! through the [`EventSink`] their owner gave them.

pub(crate) mod machine;
mod shell;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use codex_runtime::{ActorError, ChildHandle, ChildId, ChildSpec, SupervisorConfig};
use codex_transports::TransportRegistry;
use rmcp::model::CallToolResult;

pub use machine::{Phase, ServerFailure, ToolInfo};

use crate::audit_log::{AuditSink, ProcessEvent};
use crate::config::{McpServerConfig, ToolApprovals};
use crate::policy::{Admission, StopReason, Withheld, WithheldTool, stricter};
use crate::policy_actor::{PolicySnapshot, PolicyView};
use crate::sink::EventSink;
use machine::{Judge, Verdict, judge_tools};
use shell::{CallTool, McpServerActor};

/// Default bound on `initialize` plus the first `tools/list`.
pub const DEFAULT_STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// Default bound on one tool call.
pub const DEFAULT_TOOL_TIMEOUT: Duration = Duration::from_secs(300);

/// Liveness settings shared by every server of a session.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    /// How often a ready server is pinged.
    pub ping_interval: Duration,
    /// How long a ping may take before the server counts as wedged.
    pub ping_timeout: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            ping_interval: Duration::from_secs(15),
            ping_timeout: Duration::from_secs(10),
        }
    }
}

/// What an incarnation reports to its owner (the session).
#[derive(Debug, Clone, PartialEq)]
pub enum ServerEvent {
    /// An incarnation began connecting.
    Starting {
        /// The server.
        server: String,
        /// Its incarnation number.
        incarnation: u64,
    },
    /// An incarnation is ready with these tools.
    Ready {
        /// The server.
        server: String,
        /// Its incarnation number.
        incarnation: u64,
        /// The tools offered.
        tools: Vec<ToolInfo>,
        /// The tools an admin rule forbids or a lock withholds.
        withheld: Vec<WithheldTool>,
        /// Time from start to ready.
        elapsed: Duration,
        /// The server process (and process group leader), for stdio.
        pid: Option<u32>,
        /// The protocol revision agreed with it.
        protocol_version: Option<String>,
    },
    /// A ready incarnation's tools changed (`tools/list_changed`).
    ToolsChanged {
        /// The server.
        server: String,
        /// Its incarnation number.
        incarnation: u64,
        /// The tools offered now.
        tools: Vec<ToolInfo>,
        /// The tools withheld now.
        withheld: Vec<WithheldTool>,
    },
    /// A stdio server's process started or stopped.
    Process(ProcessEvent),
    /// An incarnation ended abnormally; the supervisor may restart it.
    Failed {
        /// The server.
        server: String,
        /// Its incarnation number.
        incarnation: u64,
        /// Why.
        failure: ServerFailure,
    },
}

/// Everything an incarnation needs, shared across incarnations.
#[derive(Debug)]
pub(crate) struct ServerSetup {
    /// The server's name.
    pub name: String,
    /// Its validated config.
    pub config: McpServerConfig,
    /// Transport plugins.
    pub registry: Arc<TransportRegistry>,
    /// The session's working directory.
    pub cwd: PathBuf,
    /// A snapshot of the parent environment.
    pub env: Arc<BTreeMap<String, String>>,
    /// The verdict the policy reached when it ordered the start. The first
    /// incarnation uses it; every later one is admitted by `policy`.
    pub(crate) admitted: Mutex<Option<Admission>>,
    /// The policy in force: admission for restarts, and the tool rules
    /// and locks every incarnation follows.
    pub(crate) policy: PolicyView,
    /// Where incarnations report.
    pub(crate) events: EventSink<ServerEvent>,
    /// Where process starts and stops are recorded. Straight to the audit
    /// log, not through the session actor: a process stopped by the
    /// session's own shutdown is recorded too.
    pub(crate) audit: AuditSink,
    /// The OAuth credentials file, for HTTP servers the user logged in to.
    pub credentials: Option<PathBuf>,
    /// Ping settings.
    pub timing: Timing,
    /// Where the ready incarnation publishes its connection, so calls skip
    /// the actor mailboxes.
    pub(crate) live: LiveSlot,
}

impl ServerSetup {
    fn startup_timeout(&self) -> Duration {
        self.config
            .startup_timeout
            .unwrap_or(DEFAULT_STARTUP_TIMEOUT)
    }

    fn tool_timeout(&self) -> Duration {
        self.config.tool_timeout.unwrap_or(DEFAULT_TOOL_TIMEOUT)
    }

    fn publish(&self, event: ServerEvent) {
        self.events.report(event);
    }

    /// The admission for the incarnation starting now: the policy's
    /// verdict for the first one (so a start is admitted exactly once),
    /// then a fresh one against the requirements in force.
    fn admission(&self) -> Admission {
        let first = self
            .admitted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        first.unwrap_or_else(|| self.policy.admit_restart(&self.name, &self.config))
    }

    /// This server's view of a policy snapshot.
    fn judge(&self, snapshot: &PolicySnapshot) -> Judge {
        judge_of(snapshot, &self.name)
    }
}

/// `server`'s view of a policy snapshot: its tool filters (or why it may
/// not run), the locks, and its tools' approval modes.
/// The tools of a server that has not started, as the first lock in force
/// pins them, judged by `snapshot` like a listing (so a tool another lock
/// pins differently, or a filter forbids, is not offered).
pub(crate) fn pinned_tools(
    snapshot: &PolicySnapshot,
    server: &str,
) -> (Vec<ToolInfo>, Vec<WithheldTool>) {
    let Some(pins) = snapshot.locks.first().and_then(|lock| lock.server(server)) else {
        return (Vec::new(), Vec::new());
    };
    let tools: Vec<ToolInfo> = pins
        .iter()
        .map(|(name, pin)| {
            let definition = &pin.definition;
            ToolInfo {
                name: name.clone(),
                description: definition
                    .get("description")
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_owned),
                input_schema: definition
                    .get("inputSchema")
                    .cloned()
                    .unwrap_or_else(|| serde_json::json!({"type": "object"})),
                definition: definition.clone(),
            }
        })
        .collect();
    judge_tools(server, &judge_of(snapshot, server), &tools)
}

pub(crate) fn judge_of(snapshot: &PolicySnapshot, server: &str) -> Judge {
    Judge {
        version: snapshot.version,
        rules: snapshot.tool_rules(server).cloned(),
        locks: Arc::clone(&snapshot.locks),
        approvals: snapshot
            .verdict(server)
            .map(|verdict| verdict.config.approvals.clone())
            .unwrap_or_default(),
    }
}

/// Who makes a call: the user (`codex mcp call`, a chaos workload) or the
/// model, whose calls of a tool that needs approval run only once it was
/// given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// The user's own call: no approval applies.
    User,
    /// The model's call; `approved` when the turn obtained an approval (or
    /// found none was needed).
    Model {
        /// Whether it was approved.
        approved: bool,
    },
}

/// Why a server cannot take a call right now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Unavailable {
    /// No server of that name is configured.
    #[error("no such server is configured")]
    NotConfigured,
    /// The policy, the user or a config change stopped it.
    #[error("disabled: {0}")]
    Disabled(StopReason),
    /// It failed for good (restarts exhausted, or refused at start).
    #[error("failed: {0}")]
    Failed(String),
    /// It has not been started.
    #[error("not started")]
    NotStarted,
    /// It starts on its first call, and has not had one yet.
    #[error("not started yet (it starts on its first call)")]
    Lazy,
    /// Its actor is gone (the session is shutting down).
    #[error("the session has stopped")]
    SessionStopped,
}

/// Why a tool call did not produce a result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ToolCallError {
    /// The call ran past `tool_timeout_sec`; the server was sent
    /// `notifications/cancelled`.
    #[error(
        "timed out awaiting tools/call after {after:?} (tool '{tool}' on MCP server '{server}')"
    )]
    Timeout {
        /// The server.
        server: String,
        /// The tool.
        tool: String,
        /// The bound.
        after: Duration,
    },
    /// `enabled_tools` / `disabled_tools` hide the tool.
    #[error("tool '{tool}' is disabled for MCP server '{server}'")]
    Disabled {
        /// The server.
        server: String,
        /// The tool.
        tool: String,
    },
    /// An admin rule forbids the tool, or a tool lock withholds it.
    #[error("tool '{tool}' of MCP server '{server}' is refused: {why}")]
    Refused {
        /// The server.
        server: String,
        /// The tool.
        tool: String,
        /// Which rule or lock, and why.
        why: Withheld,
    },
    /// The model called a tool that needs approval, and none was given.
    #[error(
        "MCP tool call requires approval, but it was not approved (tool '{tool}' on MCP server '{server}')"
    )]
    NeedsApproval {
        /// The server.
        server: String,
        /// The tool.
        tool: String,
    },
    /// The server did not list the tool.
    #[error("MCP server '{server}' has no tool '{tool}'")]
    UnknownTool {
        /// The server.
        server: String,
        /// The tool.
        tool: String,
    },
    /// The request failed in transport or protocol.
    #[error("tools/call of '{tool}' on MCP server '{server}' failed: {message}")]
    Service {
        /// The server.
        server: String,
        /// The tool.
        tool: String,
        /// What rmcp reported.
        message: String,
    },
    /// The server is not connected (it crashed, or is restarting).
    #[error("MCP server '{server}' is not connected")]
    NotConnected {
        /// The server.
        server: String,
    },
    /// No running server of that name.
    #[error("MCP server '{server}' is not running: {why}")]
    Unavailable {
        /// The server.
        server: String,
        /// Why.
        why: Unavailable,
    },
}

/// A ready incarnation's connection: what a call needs, nothing else.
#[derive(Debug, Clone)]
pub(crate) struct Live {
    pub(crate) server: String,
    pub(crate) peer: rmcp::service::Peer<rmcp::service::RoleClient>,
    /// Every tool the server listed, for judging one under a newer policy.
    pub(crate) listed: Arc<BTreeMap<String, ToolInfo>>,
    /// The tools offered under `version`.
    pub(crate) offered: Arc<BTreeSet<String>>,
    /// The tools withheld under `version`, and why.
    pub(crate) withheld: Arc<BTreeMap<String, Withheld>>,
    /// Why `version` refuses the server, if it does.
    pub(crate) refused: Option<StopReason>,
    /// The approval modes under `version`.
    pub(crate) approvals: Arc<ToolApprovals>,
    /// The policy snapshot these were judged under.
    pub(crate) version: u64,
    pub(crate) policy: PolicyView,
    pub(crate) timeout: Duration,
    pub(crate) incarnation: u64,
}

impl Live {
    /// Whether `tool` may be called under the policy in force now: the
    /// judgement of this incarnation when it is current, else the one tool
    /// is judged against the newer snapshot on the spot (the incarnation
    /// catches up a moment later), so a withdrawn tool is never callable.
    fn check(&self, tool: &str, caller: Caller) -> Result<(), ToolCallError> {
        let server = || self.server.clone();
        let snapshot = self.policy.current();
        let (refused, verdict, approvals) = if snapshot.version == self.version {
            let verdict = match (self.offered.contains(tool), self.withheld.get(tool)) {
                (true, _) => Verdict::Offered,
                (false, Some(why)) => Verdict::Withheld(why.clone()),
                (false, None) => Verdict::Hidden,
            };
            (self.refused.clone(), verdict, Arc::clone(&self.approvals))
        } else {
            let judge = judge_of(&snapshot, &self.server);
            let verdict = match self.listed.get(tool) {
                Some(info) => judge.tool(&self.server, info),
                None => Verdict::Hidden,
            };
            (judge.rules.err(), verdict, Arc::new(judge.approvals))
        };
        if let Some(reason) = refused {
            return Err(ToolCallError::Unavailable {
                server: server(),
                why: Unavailable::Disabled(reason),
            });
        }
        match verdict {
            Verdict::Offered => {
                let read_only = self.listed.get(tool).is_some_and(ToolInfo::read_only);
                match caller {
                    Caller::Model { approved: false }
                        if approvals.needs_approval(tool, read_only) =>
                    {
                        Err(ToolCallError::NeedsApproval {
                            server: server(),
                            tool: tool.to_owned(),
                        })
                    }
                    Caller::User | Caller::Model { .. } => Ok(()),
                }
            }
            Verdict::Withheld(why) => Err(ToolCallError::Refused {
                server: server(),
                tool: tool.to_owned(),
                why,
            }),
            Verdict::Hidden if self.listed.contains_key(tool) => Err(ToolCallError::Disabled {
                server: server(),
                tool: tool.to_owned(),
            }),
            Verdict::Hidden => Err(ToolCallError::UnknownTool {
                server: server(),
                tool: tool.to_owned(),
            }),
        }
    }

    /// Calls `tool` under the tool timeout. Dropping the request future on
    /// timeout makes rmcp send `notifications/cancelled` for it.
    pub(crate) async fn call(
        self,
        tool: String,
        arguments: Option<serde_json::Map<String, serde_json::Value>>,
        caller: Caller,
    ) -> Result<CallToolResult, ToolCallError> {
        self.check(&tool, caller)?;
        let server = self.server;
        let mut params = rmcp::model::CallToolRequestParams::new(tool.clone());
        if let Some(arguments) = arguments {
            params = params.with_arguments(arguments);
        }
        match tokio::time::timeout(self.timeout, call_rounds(&self.peer, params)).await {
            Ok(Ok(result)) => Ok(result),
            Ok(Err(message)) => Err(ToolCallError::Service {
                server,
                tool,
                message,
            }),
            Err(_) => Err(ToolCallError::Timeout {
                server,
                tool,
                after: self.timeout,
            }),
        }
    }
}

/// What a model asks of a server's resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceQuery {
    /// `resources/list`, one page.
    List {
        /// The page.
        cursor: Option<String>,
    },
    /// `resources/templates/list`, one page.
    Templates {
        /// The page.
        cursor: Option<String>,
    },
    /// `resources/read`.
    Read {
        /// The resource.
        uri: String,
    },
}

impl Live {
    /// Asks the server about its resources, under the tool timeout, if the
    /// policy in force still admits it.
    pub(crate) async fn resources(
        self,
        query: ResourceQuery,
    ) -> Result<serde_json::Value, ToolCallError> {
        let snapshot = self.policy.current();
        if let Err(reason) = snapshot.tool_rules(&self.server) {
            return Err(ToolCallError::Unavailable {
                server: self.server,
                why: Unavailable::Disabled(reason),
            });
        }
        let peer = self.peer;
        let asked = async move {
            use rmcp::model::{PaginatedRequestParams, ReadResourceRequestParams};
            let page = |cursor| Some(PaginatedRequestParams::default().with_cursor(cursor));
            match query {
                ResourceQuery::List { cursor } => peer
                    .list_resources(page(cursor))
                    .await
                    .map(|r| serde_json::to_value(r).unwrap_or_default()),
                ResourceQuery::Templates { cursor } => peer
                    .list_resource_templates(page(cursor))
                    .await
                    .map(|r| serde_json::to_value(r).unwrap_or_default()),
                ResourceQuery::Read { uri } => peer
                    .read_resource(ReadResourceRequestParams::new(uri))
                    .await
                    .map(|r| serde_json::to_value(r).unwrap_or_default()),
            }
        };
        match tokio::time::timeout(self.timeout, asked).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) => Err(ToolCallError::Service {
                server: self.server,
                tool: "resources".to_owned(),
                message: call_error(&err),
            }),
            Err(_) => Err(ToolCallError::Timeout {
                server: self.server,
                tool: "resources".to_owned(),
                after: self.timeout,
            }),
        }
    }
}

/// A failed call's message; a server that wants a wider OAuth scope says
/// how to get it (a headless session cannot send anyone to a browser).
fn call_error(err: &rmcp::service::ServiceError) -> String {
    let Some(challenge) = err.auth_challenge() else {
        return err.to_string();
    };
    let challenge = codex_transports::oauth::Challenge::parse(challenge);
    match challenge.scope {
        Some(scope) if challenge.is_insufficient_scope() => format!(
            "the server needs OAuth scope `{scope}` for this call; log in again with `codex mcp login <server> --scopes {}`",
            scope.split_whitespace().collect::<Vec<_>>().join(",")
        ),
        _ => "the server refused the login; run `codex mcp login <server>` again".to_owned(),
    }
}

/// How many `input_required` rounds one call may take (SEP-2322).
const MAX_INPUT_ROUNDS: usize = 10;

/// `tools/call`, following `input_required` results (2026-07-28): each
/// round answers the server's input requests and sends the call again, with
/// a new request id, the answers and the server's `requestState` echoed
/// verbatim. A headless session has nobody to ask, so it declines every
/// elicitation and shares no roots; a sampling request (which we never
/// announce) ends the call with an error.
async fn call_rounds(
    peer: &rmcp::service::Peer<rmcp::service::RoleClient>,
    mut params: rmcp::model::CallToolRequestParams,
) -> Result<CallToolResult, String> {
    use rmcp::model::{CallToolResponse, InputRequest};
    for _ in 0..MAX_INPUT_ROUNDS {
        match peer
            .call_tool_once(params.clone())
            .await
            .map_err(|err| call_error(&err))?
        {
            CallToolResponse::Complete(result) => return Ok(result),
            CallToolResponse::InputRequired(asked) => {
                let mut answers = rmcp::model::InputResponses::new();
                for (key, request) in asked.input_requests.unwrap_or_default() {
                    let answer = match request {
                        InputRequest::Elicitation(_) => serde_json::json!({"action": "decline"}),
                        InputRequest::ListRoots(_) => serde_json::json!({"roots": []}),
                        InputRequest::CreateMessage(_) => {
                            return Err(
                                "the server asked for sampling, which this client does not offer"
                                    .to_owned(),
                            );
                        }
                        _ => {
                            return Err(format!(
                                "the server asked for input this client does not know ({key})"
                            ));
                        }
                    };
                    answers.insert(key, answer);
                }
                params.input_responses = (!answers.is_empty()).then_some(answers);
                params.request_state = asked.request_state;
            }
            CallToolResponse::Task(_) => {
                return Err(
                    "the server answered with a task, which this client does not offer".to_owned(),
                );
            }
            _ => {
                return Err(
                    "the server answered with a result this client does not know".to_owned(),
                );
            }
        }
    }
    Err(format!(
        "the server still needed input after {MAX_INPUT_ROUNDS} rounds"
    ))
}

/// Shared between a server's incarnations and its handle. Set when an
/// incarnation is ready, cleared when it fails or stops.
#[derive(Debug, Clone, Default)]
pub(crate) struct LiveSlot(Arc<RwLock<Option<Live>>>);

impl LiveSlot {
    fn set(&self, live: Live) {
        match self.0.write() {
            Ok(mut slot) => *slot = Some(live),
            Err(poisoned) => *poisoned.into_inner() = Some(live),
        }
    }

    /// Clears the slot if it still holds `incarnation`.
    fn clear(&self, incarnation: u64) {
        let mut slot = match self.0.write() {
            Ok(slot) => slot,
            Err(poisoned) => poisoned.into_inner(),
        };
        if slot
            .as_ref()
            .is_some_and(|live| live.incarnation == incarnation)
        {
            *slot = None;
        }
    }

    fn get(&self) -> Option<Live> {
        match self.0.read() {
            Ok(slot) => slot.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

/// A typed handle on one server's live incarnation.
#[derive(Debug, Clone)]
pub struct McpServerHandle {
    name: String,
    inner: ChildHandle<McpServerActor>,
    live: LiveSlot,
}

impl McpServerHandle {
    /// Asks a ready server about its resources.
    pub async fn resources(
        &self,
        query: ResourceQuery,
    ) -> Result<serde_json::Value, ToolCallError> {
        match self.live.get() {
            Some(live) => live.resources(query).await,
            None => Err(ToolCallError::NotConnected {
                server: self.name.clone(),
            }),
        }
    }

    /// Whether a ready incarnation is serving calls right now.
    pub fn is_live(&self) -> bool {
        self.live.get().is_some()
    }

    /// Calls `tool` with `arguments` for `caller`, under the server's tool
    /// timeout and the policy in force.
    pub async fn call(
        &self,
        tool: &str,
        arguments: Option<serde_json::Map<String, serde_json::Value>>,
        caller: Caller,
    ) -> Result<CallToolResult, ToolCallError> {
        // A ready server is called directly on its connection; otherwise the
        // call waits in the actor's mailbox (while it connects) or fails with
        // why it cannot run.
        if let Some(live) = self.live.get() {
            return live.call(tool.to_owned(), arguments, caller).await;
        }
        let msg = CallTool {
            tool: tool.to_owned(),
            arguments,
            caller,
        };
        match self.inner.send(msg).await {
            Ok(result) => result,
            // Between incarnations, or the one that had the call died:
            // the server is not connected (a restart may follow).
            Err(
                codex_runtime::CallError::NotSent(codex_runtime::SendError::Restarting(_))
                | codex_runtime::CallError::Lost { .. },
            ) => Err(ToolCallError::NotConnected {
                server: self.name.clone(),
            }),
            Err(codex_runtime::CallError::NotSent(_)) => Err(ToolCallError::Unavailable {
                server: self.name.clone(),
                why: Unavailable::NotStarted,
            }),
        }
    }
}

/// The child specs for one server: a per-server supervisor (carrying the
/// server's restart intensity and backoff) around the server actor. The
/// outer spec is temporary: a server that exhausts its restarts stays
/// failed until config or policy changes, so the sub-supervisor is built
/// exactly once and the returned handle follows every incarnation of the
/// server actor below it.
pub(crate) fn server_spec(id: ChildId, setup: Arc<ServerSetup>) -> (ChildSpec, McpServerHandle) {
    let restart = setup.config.restart;
    let name = setup.name.clone();
    let actor_setup = Arc::clone(&setup);
    let (actor_spec, inner) = ChildSpec::actor("server", move |cx| match actor_setup.admission() {
        Admission::Disabled(reason) => {
            // Told to the session as a value, so the server shows as
            // disabled rather than failed.
            let failure = ServerFailure::NotAdmitted(reason);
            actor_setup.publish(ServerEvent::Failed {
                server: actor_setup.name.clone(),
                incarnation: cx.incarnation().0,
                failure: failure.clone(),
            });
            Err(ActorError::custom(failure))
        }
        Admission::Allowed {
            sandbox, launch, ..
        } => {
            let sandbox = stricter(actor_setup.config.sandbox, sandbox);
            Ok(McpServerActor::new(
                Arc::clone(&actor_setup),
                cx.clone(),
                sandbox,
                launch,
            ))
        }
    });
    let mut actor_spec = Some(actor_spec.restart(restart.kind));
    let config = SupervisorConfig::default()
        .intensity(restart.max_restarts, restart.window)
        .backoff(codex_runtime::Backoff {
            initial: restart.backoff_initial,
            max: restart.backoff_max,
            multiplier: 2.0,
            jitter: 0.1,
            reset_after: restart.window,
        });
    let (spec, _supervisor) =
        ChildSpec::supervisor(id, config, move || actor_spec.take().into_iter().collect());
    (
        spec.restart(codex_runtime::Restart::Temporary),
        McpServerHandle {
            name,
            inner,
            live: setup.live.clone(),
        },
    )
}
