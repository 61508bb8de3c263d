//! The errors of this crate's boundary: [`ConnectError`] for connecting and
//! handshaking, and [`HeaderProblem`], why a configured header cannot be
//! sent. What our HTTP stack reports underneath is
//! [`HttpError`](crate::HttpError), beside the client.

use std::time::Duration;

use crate::client::HttpError;
use crate::config::{TransportConfig, TransportKind};

/// Connecting to, or handshaking with, one MCP server failed.
///
/// Every variant that concerns a server names it (`server`), so the message
/// can be shown to the user as is.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// No plugin is registered for this kind.
    #[error("no transport plugin is registered for `{kind}`")]
    UnknownKind {
        /// The kind asked for.
        kind: TransportKind,
    },
    /// A plugin was handed a config of another kind.
    #[error("the `{plugin}` transport plugin cannot connect a `{config}` server")]
    KindMismatch {
        /// The plugin's kind.
        plugin: TransportKind,
        /// The config's kind.
        config: TransportKind,
    },
    /// The stdio server's program could not be started.
    #[error("MCP server `{server}`: failed to spawn `{command}`: {source}")]
    Spawn {
        /// The server name.
        server: String,
        /// The configured command.
        command: String,
        /// Why `spawn` failed.
        #[source]
        source: std::io::Error,
    },
    /// A stdio server was to be connected without the launch admission
    /// resolved for it.
    #[error(
        "MCP server `{server}`: no launch spec (stdio servers run only what admission resolved)"
    )]
    NoLaunch {
        /// The server name.
        server: String,
    },
    /// The credentials file cannot be read.
    #[error("MCP server `{server}`: {source}")]
    Credentials {
        /// The server name.
        server: String,
        /// Why.
        #[source]
        source: crate::oauth::StoreError,
    },
    /// The fault-injection proxy in front of the server could not start.
    #[error("MCP server `{server}`: the fault proxy could not start: {reason}")]
    Proxy {
        /// The server name.
        server: String,
        /// Why.
        reason: String,
    },
    /// `bearer_token_env_var` names a variable that is unset or blank.
    #[error(
        "MCP server `{server}`: environment variable `{var}` (bearer_token_env_var) is not set or is empty"
    )]
    MissingBearerToken {
        /// The server name.
        server: String,
        /// The variable name.
        var: String,
    },
    /// A configured HTTP header cannot be sent.
    #[error("MCP server `{server}`: cannot send HTTP header `{name}`: {reason}")]
    InvalidHeader {
        /// The server name.
        server: String,
        /// The header name as configured.
        name: String,
        /// What is wrong with it.
        reason: HeaderProblem,
    },
    /// The TLS client could not be set up.
    #[error("MCP server `{server}`: TLS setup failed: {source}")]
    Tls {
        /// The server name.
        server: String,
        /// The rustls error.
        #[source]
        source: rustls::Error,
    },
    /// An HTTP exchange made while connecting failed (legacy SSE only; the
    /// streamable HTTP transport reports through [`ConnectError::Initialize`]).
    #[error("MCP server `{server}`: {url}: {source}")]
    Http {
        /// The server name.
        server: String,
        /// The URL requested.
        url: String,
        /// What went wrong.
        #[source]
        source: HttpError,
    },
    /// A legacy SSE server announced a POST endpoint on another origin.
    #[error(
        "MCP server `{server}`: refusing the legacy SSE endpoint `{endpoint}`: it is not on the origin of `{url}`"
    )]
    CrossOriginEndpoint {
        /// The server name.
        server: String,
        /// The configured URL.
        url: String,
        /// The endpoint the server announced, resolved.
        endpoint: String,
    },
    /// A legacy SSE stream ended, or announced an unusable endpoint, before
    /// the `endpoint` event gave a usable URL.
    #[error(
        "MCP server `{server}`: the legacy SSE stream at `{url}` gave no usable `endpoint` event"
    )]
    NoEndpoint {
        /// The server name.
        server: String,
        /// The configured URL.
        url: String,
    },
    /// The MCP `initialize` handshake failed.
    #[error(
        "MCP server `{server}`: initialize failed: {source}{}",
        stderr_suffix(stderr_tail)
    )]
    Initialize {
        /// The server name.
        server: String,
        /// rmcp's reason.
        #[source]
        source: Box<rmcp::service::ClientInitializeError>,
        /// The end of the server's stderr (stdio only; empty otherwise).
        stderr_tail: String,
    },
    /// The server broke a limit on what it may send (a message too large),
    /// and the connection was closed.
    #[error("MCP server `{server}`: {problem}")]
    Limit {
        /// The server name.
        server: String,
        /// Which limit, and what happened.
        problem: String,
    },
    /// Connecting and the handshake did not finish within the timeout.
    #[error(
        "MCP server `{server}`: timed out handshaking with MCP server after {timeout:?}{}",
        stderr_suffix(stderr_tail)
    )]
    HandshakeTimeout {
        /// The server name.
        server: String,
        /// The timeout that expired.
        timeout: Duration,
        /// The end of the server's stderr (stdio only; empty otherwise).
        stderr_tail: String,
    },
}

impl ConnectError {
    /// The error a plugin of kind `plugin` returns for `config` when the
    /// kinds differ.
    pub(crate) fn mismatch(config: &TransportConfig, plugin: TransportKind) -> Self {
        ConnectError::KindMismatch {
            plugin,
            config: config.kind(),
        }
    }

    /// The `WWW-Authenticate` challenge of a server that asked for a login
    /// (401) or a wider scope (403) during the handshake.
    pub fn auth_challenge(&self) -> Option<&str> {
        match self {
            ConnectError::Initialize { source, .. } => source.auth_challenge(),
            _ => None,
        }
    }
}

fn stderr_suffix(tail: &str) -> String {
    let tail = tail.trim_end();
    if tail.is_empty() {
        String::new()
    } else {
        format!("\nserver stderr (last lines):\n{tail}")
    }
}

/// Why a configured header cannot be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderProblem {
    /// Not a valid HTTP header name.
    #[error("invalid header name")]
    InvalidName,
    /// The value has characters HTTP does not allow (such as a newline).
    #[error("invalid header value")]
    InvalidValue,
    /// The transport sets this header itself.
    #[error("the header is reserved by the MCP transport")]
    Reserved,
}
