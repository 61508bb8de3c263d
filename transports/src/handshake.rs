//! The MCP `initialize` handshake: what we announce, bounded by a timeout.

use std::time::Duration;

use rmcp::ClientHandler;
use rmcp::model::{ClientCapabilities, ClientConfig, Implementation, ProtocolVersion};

use crate::config::TransportConfig;
use crate::error::ConnectError;
use crate::plugin::{ConnectContext, McpClient, TransportPlugin};
use crate::stdio::ChildProcess;

/// The client name sent in `initialize`.
pub const CLIENT_NAME: &str = "codex-mcp-client";

/// The client title sent in `initialize`.
pub const CLIENT_TITLE: &str = "Codex";

/// The protocol version we offer: 2025-11-25, the newest revision with an
/// `initialize` handshake. rmcp 3.x would offer a newer one by default,
/// which the MCP conformance suite and older tooling reject.
pub const PROTOCOL_VERSION: ProtocolVersion = ProtocolVersion::V_2025_11_25;

/// How long a failed handshake waits for a dead stdio server's stderr to
/// reach EOF, so the error can quote it.
const STDERR_DRAIN: Duration = Duration::from_secs(2);

/// What we send in `initialize`: protocol [`PROTOCOL_VERSION`], client info
/// [`CLIENT_NAME`] / [`CLIENT_TITLE`] with this crate's version, and default
/// capabilities. It is itself an rmcp `ClientHandler` that ignores every
/// server-initiated message.
///
/// ```
/// let config = codex_transports::client_config();
/// assert_eq!(config.protocol_version.as_str(), "2025-11-25");
/// assert_eq!(config.client_info.name, "codex-mcp-client");
/// assert_eq!(config.client_info.title.as_deref(), Some("Codex"));
/// ```
pub fn client_config() -> ClientConfig {
    ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new(CLIENT_NAME, env!("CARGO_PKG_VERSION")).with_title(CLIENT_TITLE),
    )
    .with_protocol_version(PROTOCOL_VERSION)
}

pub(crate) async fn connect_and_initialize<P, H>(
    plugin: &P,
    handler: H,
    config: &TransportConfig,
    ctx: &ConnectContext,
    timeout: Duration,
) -> Result<McpClient<H>, ConnectError>
where
    P: TransportPlugin + ?Sized,
    H: ClientHandler,
{
    let started = tokio::time::Instant::now();
    let timed_out = |stderr_tail: String| ConnectError::HandshakeTimeout {
        server: ctx.server_name.clone(),
        timeout,
        stderr_tail,
    };
    let connection = tokio::time::timeout(timeout, plugin.connect(config, ctx))
        .await
        .map_err(|_| timed_out(String::new()))??;
    let process = connection.process;
    let remaining = timeout.saturating_sub(started.elapsed());
    // On failure or timeout rmcp drops the transport, which kills a stdio
    // server's process group; its stderr then reaches EOF.
    match tokio::time::timeout(remaining, rmcp::serve_client(handler, connection.transport)).await {
        Ok(Ok(service)) => Ok(McpClient { service, process }),
        Ok(Err(source)) => Err(ConnectError::Initialize {
            server: ctx.server_name.clone(),
            source: Box::new(source),
            stderr_tail: drained_stderr(process.as_ref()).await,
        }),
        Err(_) => Err(timed_out(drained_stderr(process.as_ref()).await)),
    }
}

/// The stderr tail of a server that is going away, after waiting (briefly)
/// for its stderr to reach EOF.
async fn drained_stderr(process: Option<&ChildProcess>) -> String {
    let Some(process) = process else {
        return String::new();
    };
    let _ = tokio::time::timeout(STDERR_DRAIN, process.stderr().closed()).await;
    process.stderr().text()
}
