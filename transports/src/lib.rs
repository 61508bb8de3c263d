//! MCP transport plugins and the identities the admission policy matches.
//!
//! - [`TransportConfig`] is one server's resolved transport: [`StdioConfig`]
//!   or [`HttpConfig`] (streamable HTTP or legacy SSE), chosen by
//!   [`TransportKind`].
//! - [`Identity`] is what a server presents to the policy: a
//!   [`StdioIdentity`] (command and args) or a [`CanonicalUrl`].
//! - [`TransportPlugin`] is one way of reaching a server: it names its
//!   [`TransportKind`], reports the [`Identity`] of a config, and connects,
//!   yielding a [`Connection`] whose [`BoxedTransport`] is an rmcp client
//!   transport. [`TransportPluginExt`] adds the `initialize` handshake with a
//!   timeout, giving an [`McpClient`].
//! - [`TransportRegistry`] maps kinds to plugins; its default holds
//!   [`StdioPlugin`], [`StreamableHttpPlugin`] and [`SsePlugin`].
//! - A stdio server's [`ChildProcess`] gives its pid, exit status and
//!   [`StderrTail`]; its process group dies with its transport.
//! - [`HttpClient`] is our hyper + rustls client, which never follows a
//!   redirect; the HTTP transports and the model stream share it.
//!
//! Admission is not decided here: callers must only connect configs that the
//! policy's admission function allowed.
//!
//! ```
//! use std::collections::BTreeMap;
//! use codex_transports::{
//!     CanonicalUrl, HttpConfig, Identity, TransportConfig, TransportKind, TransportRegistry,
//! };
//!
//! let a = CanonicalUrl::parse("https://MCP.example.com:443/mcp#x").unwrap();
//! let b = CanonicalUrl::parse("https://mcp.example.com/mcp").unwrap();
//! assert_eq!(a, b);
//!
//! let registry = TransportRegistry::default();
//! let config = TransportConfig::StreamableHttp(HttpConfig {
//!     url: "https://MCP.example.com:443/mcp#x".to_owned(),
//!     canonical_url: a,
//!     bearer_token_env_var: None,
//!     http_headers: BTreeMap::new(),
//!     env_http_headers: BTreeMap::new(),
//! });
//! let plugin = registry.get(TransportKind::StreamableHttp).unwrap();
//! assert_eq!(plugin.identity(&config).unwrap(), Identity::Url(b));
//! ```

mod boxed;
mod client;
mod config;
mod error;
pub mod fault;
mod handshake;
mod headers;
mod health;
mod identity;
mod launch;
pub mod oauth;
mod plugin;
mod process;
mod protocol;
mod registry;
mod sse;
mod stderr_tail;
mod stdio;
mod streamable;

pub use boxed::BoxedTransport;
pub use client::{HttpClient, HttpError, USER_AGENT_VALUE, read_body, sse_events};
pub use config::{HttpConfig, StdioConfig, TransportConfig, TransportKind, UnknownTransport};
pub use error::{ConnectError, HeaderProblem};
pub use handshake::{McpClient, TransportPluginExt, initialize};
pub use health::{
    MAX_MESSAGE_BYTES, NOTIFICATION_BURST, NOTIFICATIONS_PER_SECOND, TransportHealth,
};
pub use identity::{CanonicalUrl, Identity, StdioIdentity, UrlError, mask_url_secrets};
pub use launch::{
    PASSTHROUGH_ENV, ResolveError, ResolvedProgram, StdioLaunch, canonical, lexical_absolute,
    passthrough_env, resolve_program, stdio_environment,
};
pub use plugin::{ConnectContext, Connection, DEFAULT_STDERR_CAPACITY, TransportPlugin};
pub use process::ChildProcess;
pub use protocol::{
    CLIENT_NAME, CLIENT_TITLE, Lifecycle, MODERN_PROTOCOL_VERSION, PROTOCOL_VERSION, client_config,
};
pub use registry::TransportRegistry;
pub use sse::SsePlugin;
pub use stderr_tail::StderrTail;
pub use stdio::{CLOSE_GRACE, StdioPlugin};
pub use streamable::StreamableHttpPlugin;
