//! The client side of the official MCP conformance suite.
//!
//! `conformance client --command "codex debug conformance-client"` starts a
//! test server for one scenario, appends its URL to the command and names the
//! scenario in `MCP_CONFORMANCE_SCENARIO`. We connect through the
//! streamable-HTTP plugin of `codex-transports`, do what the scenario's
//! server expects, and exit non-zero if anything fails. The suite then grades
//! what its server saw.
//!
//! | scenario | what we do |
//! |---|---|
//! | `initialize` | handshake, then list the tools |
//! | `tools_call` | call `add_numbers` and check the sum |
//! | `elicitation-sep1034-client-defaults` | call the tool; answer its form elicitation with the schema's defaults |
//! | `sse-retry` | call `test_reconnection`; rmcp resumes the closed SSE stream |
//!
//! The `auth/*` scenarios need OAuth, which this runtime does not have yet;
//! they are refused with a clear error.

use std::collections::BTreeMap;
use std::time::Duration;

use codex_transports::{
    CanonicalUrl, ConnectContext, ConnectError, HttpConfig, McpClient, StreamableHttpPlugin,
    TransportConfig, TransportPluginExt,
};
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientConfig, ElicitRequestParams, ElicitResult,
    ElicitationAction, ElicitationCapability, ErrorData, FormElicitationCapability, JsonObject,
};
use rmcp::service::{RequestContext, ServiceError};
use rmcp::{ClientHandler, RoleClient};
use serde_json::{Value, json};

use crate::error::CliError;

/// The variable that names the scenario.
const SCENARIO_VAR: &str = "MCP_CONFORMANCE_SCENARIO";
/// Connecting and `initialize` together.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// One whole scenario; the suite itself gives up after 30 s.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(25);
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
    /// An `auth/*` scenario.
    #[error("conformance scenario '{name}' needs OAuth, which is not supported yet")]
    AuthUnsupported {
        /// The name given.
        name: String,
    },
    /// The URL the suite passed is unusable.
    #[error(transparent)]
    Url(#[from] codex_transports::UrlError),
    /// The async runtime could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    /// Connecting or `initialize` failed.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// A request failed.
    #[error("scenario '{scenario}': {what} failed: {source}")]
    Request {
        /// The scenario.
        scenario: &'static str,
        /// The request, e.g. `tools/list`.
        what: &'static str,
        /// rmcp's error.
        source: Box<ServiceError>,
    },
    /// The server did not offer the tool the scenario needs.
    #[error("scenario '{scenario}': the server has no tool '{tool}'")]
    MissingTool {
        /// The scenario.
        scenario: &'static str,
        /// The tool.
        tool: &'static str,
    },
    /// A tool answered, but not as expected.
    #[error("scenario '{scenario}': tool '{tool}' answered {answer}, expected {expected}")]
    WrongAnswer {
        /// The scenario.
        scenario: &'static str,
        /// The tool.
        tool: &'static str,
        /// What it answered (JSON).
        answer: String,
        /// What we expected.
        expected: &'static str,
    },
    /// The scenario did not finish in time.
    #[error("scenario '{scenario}' did not finish within {timeout:?}")]
    Timeout {
        /// The scenario.
        scenario: &'static str,
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
}

impl Scenario {
    const ALL: [Scenario; 4] = [
        Scenario::Initialize,
        Scenario::ToolsCall,
        Scenario::ElicitationDefaults,
        Scenario::SseRetry,
    ];

    fn name(self) -> &'static str {
        match self {
            Scenario::Initialize => "initialize",
            Scenario::ToolsCall => "tools_call",
            Scenario::ElicitationDefaults => "elicitation-sep1034-client-defaults",
            Scenario::SseRetry => "sse-retry",
        }
    }

    fn parse(name: &str) -> Result<Scenario, ConformanceError> {
        if name.starts_with("auth/") {
            return Err(ConformanceError::AuthUnsupported {
                name: name.to_owned(),
            });
        }
        Scenario::ALL
            .into_iter()
            .find(|scenario| scenario.name() == name)
            .ok_or_else(|| ConformanceError::UnknownScenario {
                name: name.to_owned(),
            })
    }
}

/// Runs the scenario named by `MCP_CONFORMANCE_SCENARIO` against `url`.
pub(crate) fn run(url: &str) -> Result<(), CliError> {
    let name = std::env::var(SCENARIO_VAR).map_err(|_| ConformanceError::NoScenario)?;
    let scenario = Scenario::parse(&name)?;
    let canonical_url = CanonicalUrl::parse(url).map_err(ConformanceError::Url)?;
    let cwd = std::env::current_dir().map_err(|source| CliError::Cwd { source })?;
    let config = TransportConfig::StreamableHttp(HttpConfig {
        url: url.to_owned(),
        canonical_url,
        bearer_token_env_var: None,
        http_headers: BTreeMap::new(),
        env_http_headers: BTreeMap::new(),
    });
    let ctx = ConnectContext::new("conformance", cwd, BTreeMap::new());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(ConformanceError::Runtime)?;
    runtime.block_on(async {
        tokio::time::timeout(SCENARIO_TIMEOUT, perform(scenario, &config, &ctx))
            .await
            .map_err(|_| ConformanceError::Timeout {
                scenario: scenario.name(),
                timeout: SCENARIO_TIMEOUT,
            })?
    })?;
    println!("conformance scenario '{}': done", scenario.name());
    Ok(())
}

async fn perform(
    scenario: Scenario,
    config: &TransportConfig,
    ctx: &ConnectContext,
) -> Result<(), ConformanceError> {
    let mut client = StreamableHttpPlugin
        .connect_and_initialize_with(Handler::new(), config, ctx, CONNECT_TIMEOUT)
        .await?;
    let outcome = exercise(scenario, &client).await;
    // Closing sends DELETE to stateful servers; its result does not grade us.
    let _ = client.service.close_with_timeout(CLOSE_TIMEOUT).await;
    outcome
}

/// What the scenario's server expects after `initialize`.
async fn exercise(scenario: Scenario, client: &McpClient<Handler>) -> Result<(), ConformanceError> {
    let name = scenario.name();
    let peer = client.service.peer();
    let tools = peer
        .list_all_tools()
        .await
        .map_err(|source| ConformanceError::Request {
            scenario: name,
            what: "tools/list",
            source: Box::new(source),
        })?;
    let (tool, arguments, expected): (&'static str, Value, Expected) = match scenario {
        Scenario::Initialize => return Ok(()),
        Scenario::ToolsCall => (
            "add_numbers",
            json!({"a": 2, "b": 3}),
            Expected::TextContaining("5"),
        ),
        Scenario::ElicitationDefaults => (
            "test_client_elicitation_defaults",
            json!({}),
            Expected::TextContaining("Elicitation completed"),
        ),
        Scenario::SseRetry => ("test_reconnection", json!({}), Expected::Success),
    };
    if !tools.iter().any(|offered| offered.name == tool) {
        return Err(ConformanceError::MissingTool {
            scenario: name,
            tool,
        });
    }
    let arguments: JsonObject = match arguments {
        Value::Object(map) => map,
        _ => JsonObject::new(),
    };
    let result = peer
        .call_tool(CallToolRequestParams::new(tool).with_arguments(arguments))
        .await
        .map_err(|source| ConformanceError::Request {
            scenario: name,
            what: "tools/call",
            source: Box::new(source),
        })?;
    if expected.matches(&result) {
        Ok(())
    } else {
        Err(ConformanceError::WrongAnswer {
            scenario: name,
            tool,
            answer: serde_json::to_string(&result).unwrap_or_default(),
            expected: expected.describe(),
        })
    }
}

/// What a successful tool result must look like.
#[derive(Debug, Clone, Copy)]
enum Expected {
    /// Not an error.
    Success,
    /// Not an error, and some text content contains this.
    TextContaining(&'static str),
}

impl Expected {
    fn matches(self, result: &CallToolResult) -> bool {
        if result.is_error == Some(true) {
            return false;
        }
        match self {
            Expected::Success => true,
            Expected::TextContaining(needle) => result
                .content
                .iter()
                .filter_map(|content| content.as_text())
                .any(|text| text.text.contains(needle)),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Expected::Success => "a successful result",
            Expected::TextContaining(_) => "a successful result with the expected text",
        }
    }
}

/// Our `initialize` announcement plus form elicitation, answered with the
/// requested schema's defaults (SEP-1034), as a user who accepts every
/// suggested value would.
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
/// default.
fn defaults_of(schema: &Value) -> Value {
    let defaults = schema
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(name, property)| Some((name.clone(), property.get("default")?.clone())))
        .collect();
    Value::Object(defaults)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_names_round_trip() {
        for scenario in Scenario::ALL {
            assert_eq!(Scenario::parse(scenario.name()).ok(), Some(scenario));
        }
        assert!(matches!(
            Scenario::parse("auth/basic-cimd"),
            Err(ConformanceError::AuthUnsupported { .. })
        ));
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
                "note": {"type": "string"}
            }
        });
        assert_eq!(
            defaults_of(&schema),
            json!({"name": "John Doe", "age": 30, "score": 95.5, "status": "active", "verified": true})
        );
        assert_eq!(defaults_of(&json!({"type": "object"})), json!({}));
    }
}
