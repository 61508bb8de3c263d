//! The plugin trait, its context and its result.
//!
//! A [`TransportPlugin`] has three required methods: [`kind`], [`identity`]
//! and [`connect`]. Everything else (the `initialize` handshake with a
//! timeout) lives on [`TransportPluginExt`](crate::TransportPluginExt),
//! implemented for every plugin.
//!
//! [`kind`]: TransportPlugin::kind
//! [`identity`]: TransportPlugin::identity
//! [`connect`]: TransportPlugin::connect

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use futures::future::BoxFuture;

use crate::boxed::BoxedTransport;
use crate::config::{TransportConfig, TransportKind};
use crate::error::ConnectError;
use crate::identity::Identity;
use crate::launch::StdioLaunch;
use crate::process::ChildProcess;
use crate::protocol::Lifecycle;

/// How many bytes of a stdio server's stderr [`ConnectContext::new`] keeps.
pub const DEFAULT_STDERR_CAPACITY: usize = 64 * 1024;

/// One way of reaching an MCP server.
///
/// Object safe: a [`TransportRegistry`](crate::TransportRegistry) holds
/// `Box<dyn TransportPlugin>`. A plugin depends only on this trait, the
/// config types and the identity types; it knows nothing of sessions,
/// actors or policy.
///
/// # Admission
///
/// Plugins never decide whether a server may run. Callers must only call
/// [`connect`](TransportPlugin::connect) (or the conveniences built on it)
/// with a config that the policy's admission function allowed, matched on
/// the [`identity`](TransportPlugin::identity) this plugin reports.
pub trait TransportPlugin: Send + Sync + fmt::Debug {
    /// The kind this plugin connects.
    fn kind(&self) -> TransportKind;

    /// The identity the admission policy matches for `config`.
    ///
    /// Fails with [`ConnectError::KindMismatch`] when `config` is of another
    /// kind. The default is [`TransportConfig::identity`].
    fn identity(&self, config: &TransportConfig) -> Result<Identity, ConnectError> {
        if config.kind() == self.kind() {
            Ok(config.identity())
        } else {
            Err(ConnectError::mismatch(config, self.kind()))
        }
    }

    /// Opens the transport: spawns the child, or prepares the HTTP client
    /// (legacy SSE also opens its event stream here). No MCP message is
    /// exchanged yet.
    ///
    /// Has no timeout of its own; see
    /// [`TransportPluginExt::connect_and_initialize`](crate::TransportPluginExt::connect_and_initialize).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it completes releases everything it
    /// acquired (a spawned child's process group is killed).
    fn connect<'a>(
        &'a self,
        config: &'a TransportConfig,
        ctx: &'a ConnectContext,
    ) -> BoxFuture<'a, Result<Connection, ConnectError>>;
}

/// What a plugin may use from its surroundings. The plugin reads nothing
/// else: in particular not the process environment, which arrives as the
/// `env` snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectContext {
    /// The server's name in config, used in error messages and logs.
    pub server_name: String,
    /// The session's working directory: a stdio server's cwd when none is
    /// configured, and the base of a relative one.
    pub cwd: PathBuf,
    /// A snapshot of the parent environment. Stdio servers get the
    /// passthrough variables and `env_vars` from it; HTTP servers get their
    /// bearer token and `env_http_headers` values from it.
    pub env: BTreeMap<String, String>,
    /// How many bytes of a stdio server's stderr to keep.
    pub stderr_capacity: usize,
    /// What a stdio server runs, as admission resolved it. The stdio
    /// plugin executes exactly this and refuses to connect without it.
    pub launch: Option<StdioLaunch>,
    /// How the handshake agrees on a protocol revision.
    pub lifecycle: Lifecycle,
    /// The OAuth credentials file (`$CODEX_HOME/.credentials.json`): an
    /// HTTP server without a configured bearer token uses the login stored
    /// there for its name and URL.
    pub credentials: Option<PathBuf>,
    /// The URL a stored login is under, when the connection goes elsewhere
    /// (a fault-injection proxy); the configured URL when `None`.
    pub credentials_url: Option<String>,
}

impl ConnectContext {
    /// A context with [`DEFAULT_STDERR_CAPACITY`].
    pub fn new(
        server_name: impl Into<String>,
        cwd: impl Into<PathBuf>,
        env: BTreeMap<String, String>,
    ) -> Self {
        ConnectContext {
            server_name: server_name.into(),
            cwd: cwd.into(),
            env,
            stderr_capacity: DEFAULT_STDERR_CAPACITY,
            launch: None,
            lifecycle: Lifecycle::default(),
            credentials: None,
            credentials_url: None,
        }
    }

    /// The same context with the launch a stdio server runs.
    #[must_use]
    pub fn with_launch(mut self, launch: StdioLaunch) -> Self {
        self.launch = Some(launch);
        self
    }
}

/// An opened transport, not yet initialised.
#[derive(Debug)]
#[non_exhaustive]
pub struct Connection {
    /// The rmcp client transport. Closing it (or dropping it) shuts the
    /// connection down; for stdio that kills the server's process group.
    pub transport: BoxedTransport,
    /// The child process, for stdio servers.
    pub process: Option<ChildProcess>,
}

impl Connection {
    /// A connection without a local process.
    pub fn remote(transport: BoxedTransport) -> Self {
        Connection {
            transport,
            process: None,
        }
    }

    /// A connection to a local child process.
    pub fn local(transport: BoxedTransport, process: ChildProcess) -> Self {
        Connection {
            transport,
            process: Some(process),
        }
    }

    /// The same connection, with `keep` living as long as its transport.
    #[must_use]
    pub fn keeping<K: Send + 'static>(self, keep: K) -> Self {
        Connection {
            transport: self.transport.keeping(keep),
            process: self.process,
        }
    }
}
