//! The client side of the official MCP conformance suite
//! (`@modelcontextprotocol/conformance` 0.2, client mode).
//!
//! The suite starts a test server for one scenario, appends its URL to the
//! command and sets `MCP_CONFORMANCE_SCENARIO`, `MCP_CONFORMANCE_PROTOCOL_VERSION`
//! (which wire to speak: `2025-11-25` with `initialize`, or the stateless
//! `2026-07-28`) and, for some scenarios, `MCP_CONFORMANCE_CONTEXT`. We
//! connect through the streamable-HTTP plugin of `codex-transports`, with
//! the OAuth client of `codex_transports::oauth` when the server asks for a
//! login, do what the scenario's server expects, and exit non-zero if
//! anything fails. The suite then grades what its servers saw.
//!
//! | scenario | what we do |
//! |---|---|
//! | `initialize` | handshake, then list the tools |
//! | `tools_call` | call `add_numbers` |
//! | `elicitation-sep1034-client-defaults` | call the tool; answer its form elicitation with the schema's defaults |
//! | `sse-retry` | call `test_reconnection`; rmcp resumes the closed SSE stream |
//! | `request-metadata` | discover (refused once for its version), then list the tools |
//! | `sep-2322-client-request-state` | call the four tools, answering `input_required` rounds |
//! | `http-standard-headers` | every method once: tools, resources, prompts |
//! | `http-custom-headers` | list the tools, then the context's calls (their `x-mcp-header` arguments go out as `Mcp-Param-*`) |
//! | `http-invalid-tool-headers` | list the tools (invalid ones are dropped), call `valid_tool` |
//! | `json-schema-ref-no-deref` | list the tools; no `$ref` is ever fetched |
//! | `json-schema-2020-12-preservation` | echo the 2020-12 schema back as it was received |
//! | `auth/*` | log in as the server asks (discovery, registration, PKCE, scopes, `iss`), list the tools and call `test-tool` |

use std::collections::BTreeMap;
use std::time::Duration;

use codex_transports::oauth::{
    Challenge, ClientChoice, ClientCredentials, OAuth, OAuthError, Registration, choose_scope,
};
use codex_transports::{
    CanonicalUrl, ConnectContext, ConnectError, HttpClient, HttpConfig, Lifecycle, McpClient,
    StreamableHttpPlugin, TransportConfig, TransportPluginExt,
};
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientConfig, ElicitRequestParams, ElicitResult,
    ElicitationAction, ElicitationCapability, ErrorData, FormElicitationCapability,
    GetPromptRequestParams, JsonObject, ReadResourceRequestParams,
};
use rmcp::service::{RequestContext, ServiceError};
use rmcp::{ClientHandler, RoleClient};
use serde_json::{Value, json};

use crate::error::CliError;

/// The variables the suite sets.
const SCENARIO_VAR: &str = "MCP_CONFORMANCE_SCENARIO";
const VERSION_VAR: &str = "MCP_CONFORMANCE_PROTOCOL_VERSION";
const CONTEXT_VAR: &str = "MCP_CONFORMANCE_CONTEXT";
/// The bearer token's variable in the connection's environment snapshot.
const TOKEN_VAR: &str = "CONFORMANCE_ACCESS_TOKEN";
/// The client ID metadata document the suite's authorization servers
/// expect (they never fetch it).
const METADATA_DOCUMENT: &str = "https://conformance-test.local/client-metadata.json";
/// Where the authorization server is told to send the browser back; the
/// suite's answers at once, and we read the redirect instead of following
/// it.
const REDIRECT_URI: &str = "http://127.0.0.1:3000/callback";
/// Authorizations allowed in one run (a step-up that never satisfies the
/// server must end).
const MAX_AUTHORIZATIONS: u32 = 3;
/// Connecting and the handshake together.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// One whole scenario; the e2e test gives the suite's client 60 s.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(45);
/// Closing the session (a DELETE for stateful servers).
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a conformance run failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum ConformanceError {
    /// `MCP_CONFORMANCE_SCENARIO` is unset or not UTF-8.
    #[error("{SCENARIO_VAR} is not set; the conformance suite sets it")]
    NoScenario,
    /// A scenario we do not know.
    #[error("unknown conformance scenario '{name}'")]
    UnknownScenario {
        /// The name given.
        name: String,
    },
    /// `MCP_CONFORMANCE_CONTEXT` is not what the scenario needs.
    #[error("{CONTEXT_VAR}: {0}")]
    Context(String),
    /// The URL the suite passed is unusable.
    #[error(transparent)]
    Url(#[from] codex_transports::UrlError),
    /// The async runtime could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    /// The HTTP client could not be built.
    #[error("cannot set up TLS: {0}")]
    Tls(String),
    /// Connecting or the handshake failed.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// Logging in failed (or was refused on purpose).
    #[error("OAuth: {0}")]
    OAuth(#[from] OAuthError),
    /// A request failed.
    #[error("scenario '{scenario}': {what} failed: {source}")]
    Request {
        /// The scenario.
        scenario: String,
        /// The request, e.g. `tools/list`.
        what: &'static str,
        /// rmcp's error.
        source: Box<ServiceError>,
    },
    /// The server did not offer the tool the scenario needs.
    #[error("scenario '{scenario}': the server has no tool '{tool}'")]
    MissingTool {
        /// The scenario.
        scenario: String,
        /// The tool.
        tool: String,
    },
    /// A tool answered, but not as expected.
    #[error("scenario '{scenario}': tool '{tool}' answered {answer}")]
    WrongAnswer {
        /// The scenario.
        scenario: String,
        /// The tool.
        tool: String,
        /// What it answered (JSON).
        answer: String,
    },
    /// The scenario did not finish in time.
    #[error("scenario '{scenario}' did not finish within {timeout:?}")]
    Timeout {
        /// The scenario.
        scenario: String,
        /// The limit.
        timeout: Duration,
    },
}

/// The client scenarios we implement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scenario {
    Initialize,
    ToolsCall,
    ElicitationDefaults,
    SseRetry,
    RequestMetadata,
    RequestState,
    StandardHeaders,
    CustomHeaders,
    InvalidToolHeaders,
    RefNoDeref,
    SchemaPreservation,
    /// Any `auth/*` scenario: the login is what is graded.
    Auth,
}

impl Scenario {
    const NAMED: [(&'static str, Scenario); 11] = [
        ("initialize", Scenario::Initialize),
        ("tools_call", Scenario::ToolsCall),
        (
            "elicitation-sep1034-client-defaults",
            Scenario::ElicitationDefaults,
        ),
        ("sse-retry", Scenario::SseRetry),
        ("request-metadata", Scenario::RequestMetadata),
        ("sep-2322-client-request-state", Scenario::RequestState),
        ("http-standard-headers", Scenario::StandardHeaders),
        ("http-custom-headers", Scenario::CustomHeaders),
        ("http-invalid-tool-headers", Scenario::InvalidToolHeaders),
        ("json-schema-ref-no-deref", Scenario::RefNoDeref),
        (
            "json-schema-2020-12-preservation",
            Scenario::SchemaPreservation,
        ),
    ];

    fn parse(name: &str) -> Result<Scenario, ConformanceError> {
        if name.starts_with("auth/") {
            return Ok(Scenario::Auth);
        }
        Scenario::NAMED
            .iter()
            .find(|(known, _)| *known == name)
            .map(|(_, scenario)| *scenario)
            .ok_or_else(|| ConformanceError::UnknownScenario {
                name: name.to_owned(),
            })
    }
}

/// Everything one run knows.
struct Run {
    name: String,
    scenario: Scenario,
    lifecycle: Lifecycle,
    context: Value,
    url: String,
    config: TransportConfig,
    cwd: std::path::PathBuf,
    oauth: OAuth,
    login: Login,
}

/// The OAuth state of one run.
#[derive(Default)]
struct Login {
    token: Option<String>,
    /// The scope of the current token.
    scope: Option<String>,
    /// The authorization server the client and token belong to.
    issuer: Option<String>,
    client: Option<ClientCredentials>,
    authorizations: u32,
}

/// Runs the scenario named by `MCP_CONFORMANCE_SCENARIO` against `url`.
pub(crate) fn run(url: &str) -> Result<(), CliError> {
    let name = std::env::var(SCENARIO_VAR).map_err(|_| ConformanceError::NoScenario)?;
    let scenario = Scenario::parse(&name)?;
    let lifecycle = match std::env::var(VERSION_VAR).as_deref() {
        Ok("2026-07-28") => Lifecycle::Modern,
        _ => Lifecycle::Legacy,
    };
    let context = match std::env::var(CONTEXT_VAR) {
        Ok(text) => serde_json::from_str(&text)
            .map_err(|err| ConformanceError::Context(format!("not JSON: {err}")))?,
        Err(_) => Value::Null,
    };
    let canonical_url = CanonicalUrl::parse(url).map_err(ConformanceError::Url)?;
    let cwd = std::env::current_dir().map_err(|source| CliError::Cwd { source })?;
    let config = TransportConfig::StreamableHttp(HttpConfig {
        url: url.to_owned(),
        canonical_url,
        bearer_token_env_var: None,
        http_headers: BTreeMap::new(),
        env_http_headers: BTreeMap::new(),
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(ConformanceError::Runtime)?;
    runtime.block_on(async {
        let http = HttpClient::new().map_err(|err| ConformanceError::Tls(err.to_string()))?;
        let mut run = Run {
            name: name.clone(),
            scenario,
            lifecycle,
            context,
            url: url.to_owned(),
            config,
            cwd,
            oauth: OAuth::new(http),
            login: Login::default(),
        };
        tokio::time::timeout(SCENARIO_TIMEOUT, run.perform())
            .await
            .map_err(|_| ConformanceError::Timeout {
                scenario: name.clone(),
                timeout: SCENARIO_TIMEOUT,
            })?
    })?;
    let _ = crate::terminal::out(&format!("conformance scenario '{name}': done"));
    Ok(())
}

/// A request's failure: a challenge to log in (or step up), or anything
/// else.
enum Failure {
    Challenge(String),
    Other(ConformanceError),
}

impl Run {
    /// Connects (logging in as often as the server asks), then does what
    /// the scenario expects; a challenge in the middle means a new login
    /// and a new connection.
    async fn perform(&mut self) -> Result<(), ConformanceError> {
        loop {
            let client = match self.connect().await {
                Ok(client) => client,
                Err(err) => match err.auth_challenge() {
                    Some(challenge) => {
                        let challenge = challenge.to_owned();
                        self.authorize(&challenge).await?;
                        continue;
                    }
                    None => return Err(err.into()),
                },
            };
            let outcome = self.exercise(&client).await;
            let mut client = client;
            let _ = client.service.close_with_timeout(CLOSE_TIMEOUT).await;
            match outcome {
                Ok(()) => return Ok(()),
                Err(Failure::Challenge(challenge)) => self.authorize(&challenge).await?,
                Err(Failure::Other(err)) => return Err(err),
            }
        }
    }

    async fn connect(&self) -> Result<McpClient<Handler>, ConnectError> {
        let mut env = BTreeMap::new();
        let mut config = self.config.clone();
        if let (Some(token), TransportConfig::StreamableHttp(http)) =
            (&self.login.token, &mut config)
        {
            env.insert(TOKEN_VAR.to_owned(), token.clone());
            http.bearer_token_env_var = Some(TOKEN_VAR.to_owned());
        }
        let mut ctx = ConnectContext::new("conformance", self.cwd.clone(), env);
        ctx.lifecycle = self.lifecycle;
        StreamableHttpPlugin
            .connect_and_initialize_with(Handler::new(), &config, &ctx, CONNECT_TIMEOUT)
            .await
    }

    /// Logs in as `challenge` asks: the resource's metadata (which must be
    /// this server), its authorization server (whose issuer must be what
    /// the resource named), a client there, the scope, then the browser
    /// leg and the token.
    async fn authorize(&mut self, header: &str) -> Result<(), ConformanceError> {
        let challenge = Challenge::parse(header);
        if challenge.is_insufficient_scope()
            && !OAuth::step_up_helps(&challenge, self.login.scope.as_deref())
        {
            return Err(OAuthError::Callback(format!(
                "the server still asks for scope {:?}, which the token already has",
                challenge.scope.unwrap_or_default()
            ))
            .into());
        }
        if self.login.authorizations >= MAX_AUTHORIZATIONS {
            return Err(OAuthError::TooManyAttempts(MAX_AUTHORIZATIONS).into());
        }
        self.login.authorizations += 1;
        let (resource, server) = self.oauth.discover(&self.url, &challenge).await?;
        if self.login.issuer.as_deref() != Some(server.issuer.as_str()) {
            // A new authorization server: nothing from the old one is
            // reused there.
            self.login = Login {
                authorizations: self.login.authorizations,
                issuer: Some(server.issuer.clone()),
                ..Login::default()
            };
        }
        let client = match self.login.client.clone() {
            Some(client) => client,
            None => {
                let choice = match self.context.get("client_id").and_then(Value::as_str) {
                    Some(id) => ClientChoice::PreRegistered {
                        client_id: id.to_owned(),
                        client_secret: self
                            .context
                            .get("client_secret")
                            .and_then(Value::as_str)
                            .map(str::to_owned),
                    },
                    None => ClientChoice::MetadataDocument(METADATA_DOCUMENT.to_owned()),
                };
                let registration = Registration {
                    client_name: "codex conformance client".to_owned(),
                    redirect_uri: REDIRECT_URI.to_owned(),
                };
                self.oauth.client(&server, &choice, &registration).await?
            }
        };
        self.login.client = Some(client.clone());
        let previous = challenge
            .is_insufficient_scope()
            .then(|| self.login.scope.clone())
            .flatten();
        let scope = choose_scope(
            challenge.scope.as_deref(),
            resource.scopes_supported.as_deref(),
            None,
            previous.as_deref(),
            server.scopes_supported.as_deref().unwrap_or_default(),
        );
        let pending =
            self.oauth
                .begin(&server, &resource, &client, REDIRECT_URI, scope.as_deref())?;
        let callback = self.oauth.follow_authorization(&pending.url).await?;
        let tokens = self
            .oauth
            .finish(&server, &client, pending, &callback)
            .await?;
        self.login.scope = tokens.scope.clone().or(scope);
        self.login.token = Some(tokens.access_token);
        Ok(())
    }

    /// What the scenario's server expects once connected.
    async fn exercise(&self, client: &McpClient<Handler>) -> Result<(), Failure> {
        let peer = client.service.peer();
        let tools = peer
            .list_all_tools()
            .await
            .map_err(|err| self.failure("tools/list", err))?;
        let has = |name: &str| tools.iter().any(|tool| tool.name == name);
        let call = |tool: &str, arguments: Value| {
            let arguments: JsonObject = match arguments {
                Value::Object(map) => map,
                _ => JsonObject::new(),
            };
            // `RunningService::call_tool` answers `input_required` rounds
            // through our handler.
            client
                .service
                .call_tool(CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments))
        };
        let require = |tool: &str| {
            if has(tool) {
                Ok(())
            } else {
                Err(Failure::Other(ConformanceError::MissingTool {
                    scenario: self.name.clone(),
                    tool: tool.to_owned(),
                }))
            }
        };
        match self.scenario {
            Scenario::Initialize | Scenario::RequestMetadata | Scenario::RefNoDeref => Ok(()),
            Scenario::ToolsCall => {
                require("add_numbers")?;
                let result = call("add_numbers", json!({"a": 2, "b": 3}))
                    .await
                    .map_err(|err| self.failure("tools/call", err))?;
                self.expect_text("add_numbers", &result, "5")
            }
            Scenario::ElicitationDefaults => {
                let tool = "test_client_elicitation_defaults";
                require(tool)?;
                let result = call(tool, json!({}))
                    .await
                    .map_err(|err| self.failure("tools/call", err))?;
                self.expect_text(tool, &result, "Elicitation completed")
            }
            Scenario::SseRetry => {
                require("test_reconnection")?;
                let result = call("test_reconnection", json!({}))
                    .await
                    .map_err(|err| self.failure("tools/call", err))?;
                self.expect_text("test_reconnection", &result, "")
            }
            Scenario::RequestState => {
                for tool in [
                    "test_mrtr_echo_state",
                    "test_mrtr_no_state",
                    "test_mrtr_unrelated",
                    "test_mrtr_no_result_type",
                ] {
                    require(tool)?;
                    let result = call(tool, json!({}))
                        .await
                        .map_err(|err| self.failure("tools/call", err))?;
                    self.expect_text(tool, &result, "ok")?;
                }
                Ok(())
            }
            Scenario::StandardHeaders => {
                for tool in &tools {
                    call(&tool.name, json!({}))
                        .await
                        .map_err(|err| self.failure("tools/call", err))?;
                }
                let resources = peer
                    .list_all_resources()
                    .await
                    .map_err(|err| self.failure("resources/list", err))?;
                if let Some(resource) = resources.first() {
                    peer.read_resource(ReadResourceRequestParams::new(resource.uri.clone()))
                        .await
                        .map_err(|err| self.failure("resources/read", err))?;
                }
                let prompts = peer
                    .list_all_prompts()
                    .await
                    .map_err(|err| self.failure("prompts/list", err))?;
                if let Some(prompt) = prompts.first() {
                    peer.get_prompt(GetPromptRequestParams::new(prompt.name.clone()))
                        .await
                        .map_err(|err| self.failure("prompts/get", err))?;
                }
                Ok(())
            }
            Scenario::CustomHeaders => {
                let calls = self
                    .context
                    .get("toolCalls")
                    .and_then(Value::as_array)
                    .cloned()
                    .ok_or_else(|| {
                        Failure::Other(ConformanceError::Context(
                            "no toolCalls for http-custom-headers".to_owned(),
                        ))
                    })?;
                for entry in calls {
                    let tool = entry["name"].as_str().unwrap_or_default().to_owned();
                    require(&tool)?;
                    call(&tool, entry["arguments"].clone())
                        .await
                        .map_err(|err| self.failure("tools/call", err))?;
                }
                Ok(())
            }
            Scenario::InvalidToolHeaders => {
                // rmcp drops every tool whose `x-mcp-header` annotations
                // break the rules before we see the list.
                require("valid_tool")?;
                call("valid_tool", json!({"region": "us-west1"}))
                    .await
                    .map_err(|err| self.failure("tools/call", err))?;
                Ok(())
            }
            Scenario::SchemaPreservation => {
                let focal = tools
                    .iter()
                    .find(|tool| tool.name == "json_schema_2020_12_tool")
                    .ok_or_else(|| {
                        Failure::Other(ConformanceError::MissingTool {
                            scenario: self.name.clone(),
                            tool: "json_schema_2020_12_tool".to_owned(),
                        })
                    })?;
                require("json_schema_echo")?;
                let schema = Value::Object((*focal.input_schema).clone());
                call("json_schema_echo", json!({"schema": schema}))
                    .await
                    .map_err(|err| self.failure("tools/call", err))?;
                Ok(())
            }
            Scenario::Auth => {
                if has("test-tool") {
                    call("test-tool", json!({}))
                        .await
                        .map_err(|err| self.failure("tools/call", err))?;
                }
                Ok(())
            }
        }
    }

    /// A request's error: a challenge when the server asked for a login or
    /// a scope, else the error.
    fn failure(&self, what: &'static str, err: ServiceError) -> Failure {
        match err.auth_challenge() {
            Some(challenge) => Failure::Challenge(challenge.to_owned()),
            None => Failure::Other(ConformanceError::Request {
                scenario: self.name.clone(),
                what,
                source: Box::new(err),
            }),
        }
    }

    fn expect_text(
        &self,
        tool: &str,
        result: &CallToolResult,
        needle: &str,
    ) -> Result<(), Failure> {
        let found = result.is_error != Some(true)
            && (needle.is_empty()
                || result
                    .content
                    .iter()
                    .filter_map(|content| content.as_text())
                    .any(|text| text.text.contains(needle)));
        if found {
            Ok(())
        } else {
            Err(Failure::Other(ConformanceError::WrongAnswer {
                scenario: self.name.clone(),
                tool: tool.to_owned(),
                answer: serde_json::to_string(result).unwrap_or_default(),
            }))
        }
    }
}

/// Our announcement plus form elicitation, answered with the requested
/// schema's defaults (SEP-1034; a boolean without one is `true`), as a user
/// who accepts every suggested value would. The same answers serve
/// `input_required` rounds (SEP-2322).
#[derive(Debug, Clone)]
struct Handler {
    info: ClientConfig,
}

impl Handler {
    fn new() -> Handler {
        let mut info = codex_transports::client_config();
        let mut elicitation = ElicitationCapability::new();
        elicitation.form = Some(FormElicitationCapability::new());
        info.capabilities.elicitation = Some(elicitation);
        Handler { info }
    }
}

impl ClientHandler for Handler {
    fn get_info(&self) -> ClientConfig {
        self.info.clone()
    }

    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        match request {
            ElicitRequestParams::FormElicitationParams {
                requested_schema, ..
            } => {
                let schema = serde_json::to_value(&requested_schema)
                    .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
                Ok(ElicitResult::new(ElicitationAction::Accept).with_content(defaults_of(&schema)))
            }
            _ => Ok(ElicitResult::new(ElicitationAction::Decline)),
        }
    }
}

/// `{property: default}` for every property of an object schema that has a
/// default, and `true` for a boolean that has none.
fn defaults_of(schema: &Value) -> Value {
    let defaults = schema
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(name, property)| {
            let value = property.get("default").cloned().or_else(|| {
                (property.get("type").and_then(Value::as_str) == Some("boolean"))
                    .then_some(Value::Bool(true))
            })?;
            Some((name.clone(), value))
        })
        .collect();
    Value::Object(defaults)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_names_parse() {
        for (name, scenario) in Scenario::NAMED {
            assert_eq!(Scenario::parse(name).ok(), Some(scenario));
        }
        assert_eq!(
            Scenario::parse("auth/basic-cimd").ok(),
            Some(Scenario::Auth)
        );
        assert!(matches!(
            Scenario::parse("nope"),
            Err(ConformanceError::UnknownScenario { .. })
        ));
    }

    #[test]
    fn defaults_cover_every_property_that_has_one() {
        let schema = json!({
            "type": "object",
            "properties": {
                "name": {"type": "string", "default": "John Doe"},
                "age": {"type": "integer", "default": 30},
                "score": {"type": "number", "default": 95.5},
                "status": {"type": "string", "enum": ["active", "inactive"], "default": "active"},
                "verified": {"type": "boolean", "default": true},
                "confirmed": {"type": "boolean"},
                "note": {"type": "string"}
            }
        });
        assert_eq!(
            defaults_of(&schema),
            json!({"name": "John Doe", "age": 30, "score": 95.5, "status": "active",
                   "verified": true, "confirmed": true})
        );
        assert_eq!(defaults_of(&json!({"type": "object"})), json!({}));
    }
}
