//! Resolved, validated per-transport configuration.
//!
//! These are the types a plugin receives. Parsing and validation of the user's
//! TOML happen in `codex-actors`; by the time a value of these types exists it
//! is known to be well formed.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use crate::identity::{CanonicalUrl, Identity, StdioIdentity};

/// The transport kinds a server entry can choose, spelled as in config
/// (`transport = "..."`) and in `codex mcp list --json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TransportKind {
    /// A child process speaking JSON-RPC over stdin and stdout.
    Stdio,
    /// MCP streamable HTTP.
    StreamableHttp,
    /// The legacy HTTP+SSE transport (protocol revision 2024-11-05).
    Sse,
}

impl TransportKind {
    /// Every kind, in the order they are documented.
    pub const ALL: [TransportKind; 3] = [
        TransportKind::Stdio,
        TransportKind::StreamableHttp,
        TransportKind::Sse,
    ];

    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TransportKind::Stdio => "stdio",
            TransportKind::StreamableHttp => "streamable_http",
            TransportKind::Sse => "sse",
        }
    }

    /// Whether this kind is identified by a URL rather than a command.
    pub fn is_remote(self) -> bool {
        match self {
            TransportKind::Stdio => false,
            TransportKind::StreamableHttp | TransportKind::Sse => true,
        }
    }
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text is not one of the [`TransportKind`] spellings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown transport {0:?} (expected one of stdio, streamable_http, sse)")]
pub struct UnknownTransport(pub String);

impl FromStr for TransportKind {
    type Err = UnknownTransport;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TransportKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| UnknownTransport(s.to_owned()))
    }
}

/// A stdio server: the program to run and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StdioConfig {
    /// The program (`argv[0]`), run as-is without a shell.
    pub command: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Literal environment variables, applied last.
    pub env: BTreeMap<String, String>,
    /// Names of variables passed through from the parent environment.
    pub env_vars: Vec<String>,
    /// The working directory; the session's cwd when absent.
    pub cwd: Option<PathBuf>,
}

impl StdioConfig {
    /// The identity the policy matches.
    pub fn identity(&self) -> StdioIdentity {
        StdioIdentity {
            command: self.command.clone(),
            args: self.args.clone(),
        }
    }
}

/// An HTTP server (streamable HTTP or legacy SSE).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// The URL as written in config, for display.
    pub url: String,
    /// The canonical URL, which is what is matched and connected to.
    pub canonical_url: CanonicalUrl,
    /// Name of the variable that holds a bearer token.
    pub bearer_token_env_var: Option<String>,
    /// Static headers.
    pub http_headers: BTreeMap<String, String>,
    /// Headers whose values come from the named environment variables.
    pub env_http_headers: BTreeMap<String, String>,
}

/// One server's transport, fully resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportConfig {
    /// See [`TransportKind::Stdio`].
    Stdio(StdioConfig),
    /// See [`TransportKind::StreamableHttp`].
    StreamableHttp(HttpConfig),
    /// See [`TransportKind::Sse`].
    Sse(HttpConfig),
}

impl TransportConfig {
    /// Which kind this is.
    pub fn kind(&self) -> TransportKind {
        match self {
            TransportConfig::Stdio(_) => TransportKind::Stdio,
            TransportConfig::StreamableHttp(_) => TransportKind::StreamableHttp,
            TransportConfig::Sse(_) => TransportKind::Sse,
        }
    }

    /// The identity the policy matches.
    pub fn identity(&self) -> Identity {
        match self {
            TransportConfig::Stdio(stdio) => Identity::Command(stdio.identity()),
            TransportConfig::StreamableHttp(http) | TransportConfig::Sse(http) => {
                Identity::Url(http.canonical_url.clone())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_spelling() {
        for kind in TransportKind::ALL {
            assert_eq!(kind.as_str().parse::<TransportKind>(), Ok(kind));
        }
        assert_eq!(
            "websocket".parse::<TransportKind>(),
            Err(UnknownTransport("websocket".to_owned()))
        );
    }
}
