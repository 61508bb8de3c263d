//! The MCP server handler and its tools.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::ToolCallContext;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, DiscoverResult,
    Implementation, InitializeRequestParams, InitializeResult, ListToolsResult,
    PaginatedRequestParams, ProtocolVersion, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, schemars, tool, tool_router};

use crate::options::{Mode, Options};
use crate::{CRASH_EXIT_CODE, CRASH_ON_INIT_EXIT_CODE, CRASH_ON_INIT_LINE, CRASH_TOOL_LINE};

/// How long the process lingers after the last allowed call before exiting,
/// so that the answer to that call is written out first.
const EXIT_AFTER_CALLS_GRACE: Duration = Duration::from_millis(200);

/// The largest `big_output` answer, to keep a typo from exhausting memory.
const BIG_OUTPUT_MAX: u64 = 256 * 1024 * 1024;

/// The test server. Cheap to clone: clones share the call counter, so one
/// process counts calls across HTTP sessions.
#[derive(Debug, Clone)]
pub struct TestServer {
    options: Arc<Options>,
    calls: Arc<AtomicU64>,
    tool_router: ToolRouter<Self>,
    /// `echo`'s description, when changed (`--echo-description`, `mutate`).
    echo_description: Arc<Mutex<Option<String>>>,
    /// Whether a `server/discover` (the 2026-07-28 start) was answered.
    discovered: Arc<std::sync::atomic::AtomicBool>,
}

/// The tools the server lists (without `--extra-tool`), in the order it
/// lists them.
pub const TOOL_NAMES: [&str; 8] = [
    "add",
    "big_output",
    "crash",
    "echo",
    "garbage",
    "mutate",
    "sleep",
    "write_file",
];

/// The tool `--extra-tool` adds to the list.
pub const EXTRA_TOOL: &str = "extra";

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct EchoArgs {
    /// Text to send back.
    text: String,
}

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct AddArgs {
    /// Left operand.
    a: i64,
    /// Right operand.
    b: i64,
}

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct SleepArgs {
    /// Milliseconds to sleep before answering.
    ms: u64,
}

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct BigOutputArgs {
    /// Number of bytes of text to return.
    bytes: u64,
}

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct MutateArgs {
    /// The new description of `echo`.
    description: String,
}

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct WriteFileArgs {
    /// The file to write.
    path: String,
    /// What to write.
    text: String,
}

#[tool_router]
impl TestServer {
    /// A server shaped by `options`.
    pub fn new(options: Options) -> Self {
        TestServer {
            echo_description: Arc::new(Mutex::new(options.echo_description.clone())),
            options: Arc::new(options),
            calls: Arc::new(AtomicU64::new(0)),
            tool_router: Self::tool_router(),
            discovered: Arc::default(),
        }
    }

    #[tool(
        description = "Changes the description of `echo` and tells the client its tools changed"
    )]
    async fn mutate(
        &self,
        Parameters(MutateArgs { description }): Parameters<MutateArgs>,
        context: RequestContext<RoleServer>,
    ) -> String {
        *self
            .echo_description
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(description);
        // Best effort: a client that is gone misses the notification.
        let _ = context.peer.notify_tool_list_changed().await;
        "tools changed".to_owned()
    }

    #[tool(description = "Returns its `text` argument unchanged")]
    fn echo(&self, Parameters(EchoArgs { text }): Parameters<EchoArgs>) -> String {
        text
    }

    #[tool(
        description = "Returns the sum of `a` and `b`",
        annotations(read_only_hint = true)
    )]
    fn add(&self, Parameters(AddArgs { a, b }): Parameters<AddArgs>) -> String {
        a.wrapping_add(b).to_string()
    }

    #[tool(description = "Sleeps `ms` milliseconds, then answers")]
    async fn sleep(&self, Parameters(SleepArgs { ms }): Parameters<SleepArgs>) -> String {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        format!("slept {ms} ms")
    }

    #[tool(description = "Returns `bytes` bytes of text")]
    fn big_output(
        &self,
        Parameters(BigOutputArgs { bytes }): Parameters<BigOutputArgs>,
    ) -> Result<String, ErrorData> {
        if bytes > BIG_OUTPUT_MAX {
            return Err(ErrorData::invalid_params(
                format!("bytes must be at most {BIG_OUTPUT_MAX}"),
                None,
            ));
        }
        let pattern = b"0123456789abcdefghijklmnopqrstuvwxyz\n";
        let text: String = pattern
            .iter()
            .cycle()
            .take(usize::try_from(bytes).unwrap_or(usize::MAX))
            .map(|&b| char::from(b))
            .collect();
        Ok(text)
    }

    #[tool(description = "Writes `text` to the file at `path`; a failure is a tool error")]
    fn write_file(
        &self,
        Parameters(WriteFileArgs { path, text }): Parameters<WriteFileArgs>,
    ) -> CallToolResult {
        match std::fs::write(&path, text.as_bytes()) {
            Ok(()) => CallToolResult::success(vec![ContentBlock::text(format!(
                "wrote {} bytes to {path}",
                text.len()
            ))]),
            Err(err) => CallToolResult::error(vec![ContentBlock::text(format!(
                "cannot write {path}: {err}"
            ))]),
        }
    }

    #[tool(description = "Writes a line to stderr and exits with code 3")]
    fn crash(&self) -> String {
        eprintln!("{CRASH_TOOL_LINE}");
        std::process::exit(CRASH_EXIT_CODE);
    }

    #[tool(description = "Writes a non-JSON line to stdout (stdio mode), then answers normally")]
    fn garbage(&self) -> String {
        if self.options.mode == Mode::Stdio {
            let mut stdout = std::io::stdout().lock();
            let line = format!("{}\n", crate::GARBAGE_LINE);
            // Best effort: a failed write shows up as a missing line in tests.
            let _ = stdout.write_all(line.as_bytes());
            let _ = stdout.flush();
        }
        "wrote garbage".to_owned()
    }
}

impl TestServer {
    /// What `--crash-on-init` and `--slow-init-ms` do to a start, whichever
    /// lifecycle it uses.
    async fn starting(&self) {
        if self.options.crash_on_init {
            eprintln!("{CRASH_ON_INIT_LINE}");
            std::process::exit(CRASH_ON_INIT_EXIT_CODE);
        }
        if !self.options.slow_init.is_zero() {
            tokio::time::sleep(self.options.slow_init).await;
        }
    }
}

impl ServerHandler for TestServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new(
                self.options.name.clone(),
                env!("CARGO_PKG_VERSION"),
            ))
            .with_instructions("A scriptable server for testing MCP clients.")
    }

    async fn initialize(
        &self,
        request: InitializeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<InitializeResult, ErrorData> {
        self.starting().await;
        context.peer.set_peer_info(request.clone());
        self.negotiate_initialize(&request)
    }

    fn supported_protocol_versions(&self) -> std::borrow::Cow<'static, [ProtocolVersion]> {
        if self.options.legacy {
            std::borrow::Cow::Borrowed(ProtocolVersion::known_up_to(
                &ProtocolVersion::LATEST_WITH_INITIALIZE,
            ))
        } else {
            std::borrow::Cow::Borrowed(ProtocolVersion::KNOWN_VERSIONS)
        }
    }

    async fn discover(
        &self,
        _context: RequestContext<RoleServer>,
    ) -> Result<DiscoverResult, ErrorData> {
        if self.options.legacy {
            // As a server from before 2026-07-28: no such method.
            return Err(ErrorData::method_not_found::<
                rmcp::model::DiscoverRequestMethod,
            >());
        }
        // The start-up behaviours apply to the first discover only (later
        // ones are liveness checks).
        if !self.discovered.swap(true, Ordering::SeqCst) {
            self.starting().await;
        }
        Ok(DiscoverResult::from_server_info(
            self.supported_protocol_versions().into_owned(),
            self.get_info(),
        ))
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let mut tools = self.tool_router.list_all();
        let echo_description = self
            .echo_description
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(description) = echo_description {
            for tool in tools.iter_mut().filter(|t| t.name == "echo") {
                tool.description = Some(description.clone().into());
            }
        }
        if self.options.extra_tool {
            let mut extra = tools
                .iter()
                .find(|t| t.name == "crash")
                .cloned()
                .ok_or_else(|| ErrorData::internal_error("no template tool", None))?;
            extra.name = EXTRA_TOOL.into();
            extra.description = Some("A tool that appeared later".into());
            tools.push(extra);
        }
        let Some(page_size) = self.options.tools_page_size else {
            return Ok(ListToolsResult::with_all_items(tools));
        };
        let start = match request.and_then(|params| params.cursor) {
            None => 0,
            Some(cursor) => cursor
                .parse::<usize>()
                .ok()
                .filter(|&start| start <= tools.len())
                .ok_or_else(|| {
                    ErrorData::invalid_params(format!("unknown cursor {cursor:?}"), None)
                })?,
        };
        let end = start.saturating_add(page_size).min(tools.len());
        let mut page = ListToolsResult::with_all_items(tools[start..end].to_vec());
        if end < tools.len() {
            page.next_cursor = Some(end.to_string());
        }
        Ok(page)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let response = if self.options.extra_tool && request.name == EXTRA_TOOL {
            Ok(CallToolResult::success(vec![ContentBlock::text("extra")]).into())
        } else {
            self.tool_router
                .call(ToolCallContext::new(self, request, context))
                .await
        };
        let answered = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if self.options.exit_after_calls == Some(answered) {
            tokio::spawn(async {
                tokio::time::sleep(EXIT_AFTER_CALLS_GRACE).await;
                std::process::exit(0);
            });
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_published_names_are_the_listed_tools() {
        let server = TestServer::new(Options::parse(Vec::<String>::new()).expect("defaults"));
        let mut listed: Vec<String> = server
            .tool_router
            .list_all()
            .into_iter()
            .map(|tool| tool.name.to_string())
            .collect();
        listed.sort();
        assert_eq!(listed, TOOL_NAMES);
    }
}
