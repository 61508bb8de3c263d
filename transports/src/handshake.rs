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

/// The newest protocol revision we speak: stateless, with `server/discover`
/// instead of `initialize`.
pub const MODERN_PROTOCOL_VERSION: ProtocolVersion = ProtocolVersion::V_2026_07_28;

/// How a connection agrees on a protocol revision.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Lifecycle {
    /// Offer [`MODERN_PROTOCOL_VERSION`] with `server/discover`; a server
    /// that answers it as a legacy server (an error, or nothing within ten
    /// seconds) gets the `initialize` handshake at [`PROTOCOL_VERSION`].
    #[default]
    Negotiate,
    /// Only the `initialize` handshake, at [`PROTOCOL_VERSION`].
    Legacy,
    /// Only `server/discover`, at [`MODERN_PROTOCOL_VERSION`].
    Modern,
}

impl Lifecycle {
    fn mode(self) -> rmcp::service::ClientLifecycleMode {
        match self {
            // A server that refuses 2026-07-28 with the versions it knows
            // gets the newest of ours among them; one that does not know
            // `server/discover` at all gets `initialize`.
            Lifecycle::Negotiate => rmcp::service::ClientLifecycleMode::Auto {
                preferred_versions: vec![MODERN_PROTOCOL_VERSION, PROTOCOL_VERSION],
                legacy_version: Some(PROTOCOL_VERSION),
            },
            Lifecycle::Legacy => rmcp::service::ClientLifecycleMode::Initialize,
            Lifecycle::Modern => rmcp::service::ClientLifecycleMode::Discover {
                preferred_versions: vec![MODERN_PROTOCOL_VERSION],
            },
        }
    }
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
    let connection = tokio::time::timeout(timeout, plugin.connect(config, ctx))
        .await
        .map_err(|_| ConnectError::HandshakeTimeout {
            server: ctx.server_name.clone(),
            timeout,
            stderr_tail: String::new(),
        })??;
    let remaining = timeout.saturating_sub(started.elapsed());
    // A timeout is reported against the whole budget, not what was left.
    initialize(
        handler,
        connection,
        &ctx.server_name,
        remaining,
        ctx.lifecycle,
    )
    .await
    .map_err(|err| match err {
        ConnectError::HandshakeTimeout {
            server,
            stderr_tail,
            ..
        } => ConnectError::HandshakeTimeout {
            server,
            timeout,
            stderr_tail,
        },
        other => other,
    })
}

/// Runs the `initialize` handshake on an opened connection, within
/// `timeout`. For callers that need the connection's process between the
/// spawn and the handshake (to record that it started, say);
/// [`TransportPluginExt::connect_and_initialize_with`](crate::TransportPluginExt::connect_and_initialize_with)
/// does both steps.
///
/// # Errors
///
/// [`ConnectError::Initialize`] or [`ConnectError::HandshakeTimeout`], each
/// with the tail of a stdio server's stderr.
///
/// # Cancel safety
///
/// Dropping the future drops the connection, which kills a stdio server's
/// process group.
pub async fn initialize<H>(
    handler: H,
    connection: crate::plugin::Connection,
    server_name: &str,
    timeout: Duration,
    lifecycle: Lifecycle,
) -> Result<McpClient<H>, ConnectError>
where
    H: ClientHandler,
{
    let process = connection.process;
    let health = connection.transport.health();
    // On failure or timeout rmcp drops the transport, which kills a stdio
    // server's process group; its stderr then reaches EOF.
    let serve = rmcp::serve_client_with_lifecycle(handler, connection.transport, lifecycle.mode());
    let served = tokio::time::timeout(timeout, serve).await;
    if let (Ok(Err(_)), Some(problem)) = (&served, health.problem()) {
        return Err(ConnectError::Limit {
            server: server_name.to_owned(),
            problem,
        });
    }
    match served {
        Ok(Ok(service)) => Ok(McpClient {
            service,
            process,
            health,
        }),
        Ok(Err(source)) => Err(ConnectError::Initialize {
            server: server_name.to_owned(),
            source: Box::new(source),
            stderr_tail: drained_stderr(process.as_ref()).await,
        }),
        Err(_) => Err(ConnectError::HandshakeTimeout {
            server: server_name.to_owned(),
            timeout,
            stderr_tail: drained_stderr(process.as_ref()).await,
        }),
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
