//! MCP transport plugins and the identities the admission policy matches.
//!
//! - [`TransportConfig`] is one server's resolved transport: [`StdioConfig`]
//!   or [`HttpConfig`] (streamable HTTP or legacy SSE), chosen by
//!   [`TransportKind`].
//! - [`Identity`] is what a server presents to the policy: a
//!   [`StdioIdentity`] (command and args) or a [`CanonicalUrl`].
//!
//! ```
//! use codex_transports::CanonicalUrl;
//!
//! let a = CanonicalUrl::parse("https://MCP.example.com:443/mcp#x").unwrap();
//! let b = CanonicalUrl::parse("https://mcp.example.com/mcp").unwrap();
//! assert_eq!(a, b);
//! ```

mod config;
mod identity;

pub use config::{HttpConfig, StdioConfig, TransportConfig, TransportKind, UnknownTransport};
pub use identity::{CanonicalUrl, Identity, StdioIdentity, UrlError};
