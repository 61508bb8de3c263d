//! A small, scriptable MCP server for testing our client side.
//!
//! [`TestServer`] is an rmcp [`ServerHandler`](rmcp::ServerHandler) with a handful of tools
//! (`echo`, `add`, `sleep`, `big_output`, `write_file`, `crash`, `garbage`,
//! `mutate`) whose
//! behaviour is shaped by [`Options`], parsed from the command line with
//! [`Options::parse`]. The binary `codex-test-mcp-server` serves it over
//! stdio (the default) or streamable HTTP (`--http 127.0.0.1:0`).
//!
//! [`mock_model::MockModel`] stands in for the model API (Responses and Chat
//! Completions) in tests and benchmarks.
//!
//! ```
//! use codex_test_mcp_server::{Mode, Options};
//!
//! let options = Options::parse(["--http", "127.0.0.1:0", "--name", "alpha"]).unwrap();
//! assert_eq!(options.name, "alpha");
//! assert!(matches!(options.mode, Mode::Http(_)));
//! ```

mod hostile;
pub mod mock_model;
pub mod oauth;
mod options;
mod serve;
mod server;

pub use hostile::{ESCAPES, Hostile};
pub use options::{Mode, Options, UsageError};
pub use serve::serve;
pub use server::{EXTRA_TOOL, TOOL_NAMES, TestServer};

/// The recognisable line `--crash-on-init` writes to stderr before exiting.
pub const CRASH_ON_INIT_LINE: &str = "codex-test-mcp-server: crashing on initialize as asked";

/// The recognisable line the `crash` tool writes to stderr before exiting.
pub const CRASH_TOOL_LINE: &str = "codex-test-mcp-server: crash tool called, exiting with code 3";

/// The line the `garbage` tool writes to stdout in stdio mode.
pub const GARBAGE_LINE: &str = "this line is not JSON-RPC";

/// The exit code of the `crash` tool.
pub const CRASH_EXIT_CODE: i32 = 3;

/// The exit code of `--crash-on-init`.
pub const CRASH_ON_INIT_EXIT_CODE: i32 = 2;
