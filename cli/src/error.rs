//! [`CliError`]: everything a command can fail with, and its exit code.

use codex_actors::config::{ConfigError, EditError, OverrideError};
use codex_actors::policy::RequirementsError;

/// A command's failure. Each variant maps to one exit code in
/// [`CliError::exit_code`].
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// A `-c` argument is malformed.
    #[error(transparent)]
    Override(#[from] OverrideError),
    /// config.toml (or a layer) is unreadable or invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Requirements are unreadable or invalid.
    #[error(transparent)]
    Requirements(#[from] RequirementsError),
    /// Writing config.toml failed.
    #[error(transparent)]
    Edit(#[from] EditError),
    /// No server by that name.
    #[error("No MCP server named '{}' found.", crate::terminal::line(name))]
    UnknownServer {
        /// The name asked for.
        name: String,
    },
    /// `logout` of an unknown name (Codex words it differently).
    #[error(
        "No MCP server named '{}' found in configuration.",
        crate::terminal::line(name)
    )]
    UnknownServerInConfiguration {
        /// The name asked for.
        name: String,
    },
    /// A name outside `[A-Za-z0-9_-]+`.
    #[error(
        "invalid server name '{}' (use letters, numbers, '-', '_')",
        crate::terminal::line(name)
    )]
    InvalidName {
        /// The name given.
        name: String,
    },
    /// `add --url` with something that is not an http(s) URL.
    #[error("{0}")]
    InvalidUrl(#[from] codex_transports::UrlError),
    /// `add` with neither `--url` nor a command (clap normally catches it).
    #[error("command is required")]
    CommandRequired,
    /// OAuth on a stdio server.
    #[error("{0}")]
    OAuthStdio(&'static str),
    /// An OAuth login or logout failed.
    #[error("OAuth for MCP server '{server}': {message}")]
    OAuth {
        /// The server.
        server: String,
        /// What failed.
        message: String,
    },
    /// `-s` names no sandbox mode.
    #[error("{0}")]
    SandboxMode(codex_actors::config::UnknownValue),
    /// The sandbox refused or failed to set up.
    #[error(transparent)]
    Sandbox(#[from] codex_sandbox::SandboxError),
    /// The current directory is unusable.
    #[error("cannot determine the current directory: {source}")]
    Cwd {
        /// The I/O error.
        source: std::io::Error,
    },
    /// A directory argument does not exist.
    #[error("{}: {source}", path.display())]
    Directory {
        /// The directory.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// This executable cannot find itself (needed to re-exec the helper).
    #[error("cannot locate the codex executable: {source}")]
    CurrentExe {
        /// The I/O error.
        source: std::io::Error,
    },
    /// The sandboxed command could not be started.
    #[error("failed to start the sandboxed command: {source}")]
    Spawn {
        /// The I/O error.
        source: std::io::Error,
    },
    /// A session failed to start (a required server failed, or the runtime).
    #[error(transparent)]
    Session(#[from] codex_actors::session::SessionError),
    /// The actor runtime could not run.
    #[error(transparent)]
    Runtime(#[from] codex_runtime::RuntimeError),
    /// A tool call failed.
    #[error(transparent)]
    ToolCall(#[from] codex_actors::mcp_server::ToolCallError),
    /// The tool ran and reported an error.
    #[error("tool '{tool}' on MCP server '{server}' returned an error")]
    ToolReturnedError {
        /// The server.
        server: String,
        /// The tool.
        tool: String,
    },
    /// A server is disabled by policy or config, so it cannot be called.
    #[error("MCP server '{server}' is {status}")]
    ServerNotAdmitted {
        /// The server.
        server: String,
        /// `disabled: <reason>`.
        status: String,
    },
    /// The server `mcp call` asked for did not start.
    #[error("MCP server '{server}' did not start: {reason}")]
    ServerDidNotStart {
        /// The server.
        server: String,
        /// Why, as its supervisor recorded it.
        reason: String,
    },
    /// At least one admitted server did not become ready.
    #[error("{failed} of {total} MCP servers did not start")]
    ServersFailed {
        /// How many failed.
        failed: usize,
        /// How many were admitted.
        total: usize,
    },
    /// `codex debug conformance-client` failed its scenario.
    #[error(transparent)]
    Conformance(#[from] crate::debug::ConformanceError),
    /// `exec` outside a git repository without the flag that allows it.
    #[error("Not inside a trusted directory and --skip-git-repo-check was not specified.")]
    NotInGitRepo,
    /// The chat needs a terminal.
    #[error(
        "the chat needs a terminal on stdin and stdout; for scripts and CI, run `codex exec \"PROMPT\"`"
    )]
    NotATerminal,
    /// `-a` named no approval policy.
    #[error("invalid --ask-for-approval: {0}")]
    ApprovalPolicy(codex_actors::config::UnknownValue),
    /// `exec` found no prompt.
    #[error("{0}")]
    Prompt(String),
    /// `--output-schema` names a file that is unreadable or not JSON.
    #[error("--output-schema {}: {problem}", path.display())]
    OutputSchema {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// The model provider cannot be used.
    #[error(transparent)]
    Provider(#[from] codex_actors::model_stream::ProviderError),
    /// A file could not be written.
    #[error("failed to write {}: {source}", path.display())]
    WriteFile {
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// `requirements pin` of an HTTP server.
    #[error(
        "'{}' is not a stdio server: only executables can be pinned by hash",
        crate::terminal::line(name)
    )]
    PinRemote {
        /// The server.
        name: String,
    },
    /// `requirements pin` could not hash the executable.
    #[error("cannot pin '{}': {problem}", crate::terminal::line(name))]
    Pin {
        /// The server.
        name: String,
        /// What failed.
        problem: String,
    },
    /// A `required = true` server did not start.
    #[error("{0}")]
    RequiredServers(String),
    /// A tool lock file cannot be read or parsed.
    #[error(transparent)]
    Lock(#[from] codex_actors::policy::LockError),
    /// A fault plan cannot be used.
    #[error(transparent)]
    Plan(#[from] codex_actors::chaos::PlanError),
    /// A chaos run could not run its workload.
    #[error(transparent)]
    Chaos(#[from] codex_actors::chaos::ChaosError),
    /// A chaos run left something behind or lost a call.
    #[error("chaos run failed: {0}")]
    ChaosFailed(String),
    /// `--upstream` is not a URL.
    #[error("--upstream {url}: {reason}")]
    Upstream {
        /// What was given.
        url: String,
        /// Why it is not a URL.
        reason: String,
    },
    /// A listening socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: std::net::SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// `codex demo` could not set itself up.
    #[error("demo: {0}")]
    Demo(String),
    /// A session file cannot be found, read or written.
    #[error(transparent)]
    Rollout(#[from] codex_actors::rollout::RolloutError),
    /// `exec resume` found no session to continue.
    #[error("{0}")]
    NoSession(String),
    /// `--strict-config`: the config holds keys this version does not
    /// know, each with its place.
    #[error(transparent)]
    StrictConfig(#[from] codex_actors::config::UnknownKeys),
    /// Arguments that clap accepts but that do not go together.
    #[error("{0}")]
    Usage(String),
    /// An `-i` image cannot be attached.
    #[error("--image {}: {problem}", path.display())]
    Image {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// `mcp call` of a tool the server does not list.
    #[error("MCP server '{server}' has no tool '{tool}'.{hint} Its tools: {known}")]
    UnknownTool {
        /// The server.
        server: String,
        /// The name given.
        tool: String,
        /// The tools it lists.
        known: String,
        /// A close name, when there is one.
        hint: String,
    },
    /// Writing to stdout failed.
    #[error("failed to write output: {0}")]
    Output(#[from] std::io::Error),
    /// `codex mcp-server`'s client did not complete the MCP handshake.
    #[error("the MCP handshake with the client failed: {0}")]
    McpHandshake(Box<rmcp::service::ServerInitializeError>),
}

impl CliError {
    /// 1 for every runtime or config error; usage errors exit 2 from clap.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            CliError::Override(_)
            | CliError::Config(_)
            | CliError::Requirements(_)
            | CliError::Edit(_)
            | CliError::UnknownServer { .. }
            | CliError::UnknownServerInConfiguration { .. }
            | CliError::InvalidName { .. }
            | CliError::InvalidUrl(_)
            | CliError::CommandRequired
            | CliError::OAuthStdio(_)
            | CliError::OAuth { .. }
            | CliError::SandboxMode(_)
            | CliError::Sandbox(_)
            | CliError::Cwd { .. }
            | CliError::Directory { .. }
            | CliError::CurrentExe { .. }
            | CliError::Conformance(_)
            | CliError::Spawn { .. }
            | CliError::Session(_)
            | CliError::Runtime(_)
            | CliError::ToolCall(_)
            | CliError::ToolReturnedError { .. }
            | CliError::ServerNotAdmitted { .. }
            | CliError::ServerDidNotStart { .. }
            | CliError::ServersFailed { .. }
            | CliError::NotInGitRepo
            | CliError::NotATerminal
            | CliError::ApprovalPolicy(_)
            | CliError::Prompt(_)
            | CliError::OutputSchema { .. }
            | CliError::Provider(_)
            | CliError::WriteFile { .. }
            | CliError::RequiredServers(_)
            | CliError::PinRemote { .. }
            | CliError::Pin { .. }
            | CliError::Lock(_)
            | CliError::Plan(_)
            | CliError::Chaos(_)
            | CliError::ChaosFailed(_)
            | CliError::Upstream { .. }
            | CliError::Listen { .. }
            | CliError::Demo(_)
            | CliError::Rollout(_)
            | CliError::NoSession(_)
            | CliError::StrictConfig(_)
            | CliError::Image { .. }
            | CliError::UnknownTool { .. }
            | CliError::Output(_)
            | CliError::McpHandshake(_) => 1,
            CliError::Usage(_) => 2,
        }
    }

    /// A closed stdout (`codex mcp list | head`) is not a failure.
    pub(crate) fn is_broken_pipe(&self) -> bool {
        matches!(self, CliError::Output(err) if err.kind() == std::io::ErrorKind::BrokenPipe)
    }
}
