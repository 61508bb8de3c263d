//! The protocol revisions we speak, what we announce in `initialize`, and
//! how a connection agrees on a revision ([`Lifecycle`]).

use rmcp::model::{ClientCapabilities, ClientConfig, Implementation, ProtocolVersion};

/// The client name sent in `initialize`.
pub const CLIENT_NAME: &str = "codex-mcp-client";

/// The client title sent in `initialize`.
pub const CLIENT_TITLE: &str = "Codex";

/// The protocol version we offer: 2025-11-25, the newest revision with an
/// `initialize` handshake. rmcp 3.x would offer a newer one by default,
/// which the MCP conformance suite and older tooling reject.
pub const PROTOCOL_VERSION: ProtocolVersion = ProtocolVersion::V_2025_11_25;

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
    /// rmcp's lifecycle mode for this choice.
    pub(crate) fn mode(self) -> rmcp::service::ClientLifecycleMode {
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
