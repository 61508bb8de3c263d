//! The MCP handshake on an opened connection, bounded by a timeout:
//! [`initialize`], and [`TransportPluginExt`], which connects through any
//! plugin and then shakes hands, giving an [`McpClient`]. What we announce
//! and which revisions we offer are the `protocol` module's.

use std::future::Future;
use std::time::Duration;

use rmcp::service::RunningService;
use rmcp::{ClientHandler, RoleClient};

use crate::config::TransportConfig;
use crate::error::ConnectError;
use crate::health::TransportHealth;
use crate::plugin::{ConnectContext, Connection, TransportPlugin};
use crate::process::ChildProcess;
use crate::protocol::{Lifecycle, client_config};

/// How long a failed handshake waits for a dead stdio server's stderr to
/// reach EOF, so the error can quote it.
const STDERR_DRAIN: Duration = Duration::from_secs(2);

/// A running, initialised MCP client.
///
/// # Drop
///
/// Dropping the client cancels rmcp's service loop; the transport is then
/// dropped, which for stdio SIGKILLs the server's whole process group. To
/// shut down and wait, call `client.service.close().await` (or
/// `close_with_timeout`), which closes the transport: a stdio server gets
/// EOF on stdin, a short grace period, and then its group is SIGKILLed.
#[derive(Debug)]
#[non_exhaustive]
pub struct McpClient<H: ClientHandler = rmcp::model::ClientConfig> {
    /// rmcp's running client: `service.peer()` sends requests,
    /// `service.waiting()` resolves when the connection ends.
    pub service: RunningService<RoleClient, H>,
    /// The child process, for stdio servers: its pid, exit status and
    /// stderr tail.
    pub process: Option<ChildProcess>,
    /// What the connection's guards saw (a message past the size limit,
    /// notifications dropped).
    pub health: TransportHealth,
}

/// Conveniences for every [`TransportPlugin`].
pub trait TransportPluginExt: TransportPlugin {
    /// Connects and runs the MCP `initialize` handshake as
    /// [`client_config`] describes it (protocol
    /// 2025-11-25, client `codex-mcp-client`), all within `timeout`.
    ///
    /// The same admission rule as for
    /// [`connect`](TransportPlugin::connect) applies.
    fn connect_and_initialize<'a>(
        &'a self,
        config: &'a TransportConfig,
        ctx: &'a ConnectContext,
        timeout: Duration,
    ) -> impl Future<Output = Result<McpClient, ConnectError>> + Send + 'a {
        self.connect_and_initialize_with(client_config(), config, ctx, timeout)
    }

    /// Like [`connect_and_initialize`](Self::connect_and_initialize), with
    /// a caller-supplied rmcp client handler (to receive notifications).
    /// The handler's `get_info` decides what `initialize` sends; start from
    /// [`client_config`].
    ///
    /// # Cancel safety
    ///
    /// Dropping the future kills a half-started stdio server's group.
    fn connect_and_initialize_with<'a, H>(
        &'a self,
        handler: H,
        config: &'a TransportConfig,
        ctx: &'a ConnectContext,
        timeout: Duration,
    ) -> impl Future<Output = Result<McpClient<H>, ConnectError>> + Send + 'a
    where
        H: ClientHandler,
    {
        connect_and_initialize(self, handler, config, ctx, timeout)
    }
}

impl<T: TransportPlugin + ?Sized> TransportPluginExt for T {}

/// Connects `config` through `plugin` and runs the handshake, all within
/// `timeout`.
async fn connect_and_initialize<P, H>(
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
/// [`TransportPluginExt::connect_and_initialize_with`]
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
    connection: Connection,
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
