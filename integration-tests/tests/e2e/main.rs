//! End-to-end tests: the real `codex` binary in a throwaway `CODEX_HOME`.
//!
//! One test binary, one module per capability.

/// Attempts to get past the policy from the user's side.
mod bypass;
/// Fault injection: `codex debug chaos` and `codex debug fault-proxy`.
mod chaos;
/// The official MCP conformance suite against `codex debug conformance-client`.
mod conformance;
/// `codex demo`, the README's main command.
mod demo;
/// Malformed input: clear errors, right exit codes, no panics.
mod errors;
/// `codex exec` against a mock of the model API.
mod exec;
/// The tool surface: apply_patch, process sessions, namespaced and unknown
/// calls.
mod exec_tools;
/// A hostile MCP server and hostile files: escapes, sizes, floods,
/// numbers, FIFOs and links.
mod hostile;
/// What the admin allowed is exactly what runs: cwd, PATH, environment,
/// denylist spellings, sandbox roots, orphans, secrets, matchers, names and
/// hash pinning.
mod launch_identity;
/// Lazy MCP servers: offered from the lock, started by their first call.
mod lazy_servers;
/// `codex mcp add` and `remove` editing config.toml in place.
mod mcp_add_remove;
/// `codex mcp list` and `get`, text and JSON.
mod mcp_list_get;
/// `codex mcp-server`: the agent as an MCP server, driven by the MCP
/// Inspector, by our own client and by raw JSON-RPC.
mod mcp_server;
/// `codex mcp tools` and `call`: real sessions through the binary.
mod mcp_session;
/// `codex mcp login` and `logout` against an OAuth-protected test server.
mod oauth;
/// The policy actor: requirements changed during a turn apply to its next
/// call, and every requirement key Codex enforces.
mod policy_live;
/// `codex requirements show` and `explain`.
mod requirements;
/// `codex sandbox linux` under real kernel enforcement.
mod sandbox;
/// The JSON Schemas agree with the parsers and with what exec prints.
mod schemas;
/// The seed pull request's transcript, with both allowlist spellings.
mod seed_transcript;
/// Sessions on disk and `codex exec resume`.
mod sessions;
/// The supervised session through its API: restarts, pings, hot reload.
mod supervised_session;
/// Real third-party MCP servers (server-everything, mcp-server-time) over
/// stdio, streamable HTTP and legacy SSE.
mod third_party;
/// Project conventions, checked.
mod tidy;
/// Admin tool rules, tool locks and the audit log.
mod tool_policy;
/// The interactive chat in a pseudo-terminal.
mod tui;
