//! Command-line arguments, as clap definitions.

use clap::{Args, Parser, Subcommand};

use clap::builder::PossibleValuesParser;
use codex_actors::config::{ApprovalPolicy, ConfigOverride, SandboxMode};

/// What `-s/--sandbox` takes on every command, as in Codex: the config's
/// spellings, but for `external-sandbox`, which says that something outside
/// isolates the agent; it is not a flag a user types, so a slip cannot lift
/// the sandbox.
fn sandbox_modes() -> impl Iterator<Item = &'static str> {
    SandboxMode::ALL
        .iter()
        .filter(|mode| **mode != SandboxMode::ExternalSandbox)
        .map(|mode| mode.as_str())
}

/// What `-a/--ask-for-approval` takes: the config's spellings.
fn approval_policies() -> impl Iterator<Item = &'static str> {
    ApprovalPolicy::ALL.iter().map(|policy| policy.as_str())
}

/// An agent-session runtime with Codex-compatible MCP administration.
#[derive(Debug, Parser)]
#[command(
    name = "codex",
    version,
    about,
    propagate_version = true,
    subcommand_precedence_over_arg = true,
    override_usage = "codex [OPTIONS] [PROMPT]\n       codex [OPTIONS] <COMMAND> [ARGS]"
)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) config_overrides: ConfigOverrides,
    /// With no command: the interactive chat.
    #[command(flatten)]
    pub(crate) chat: ChatArgs,
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
}

/// Codex commands this build does not have. Typed as `codex WORD`, each
/// would be a one-word chat prompt, and a user who meant the command would
/// get a model turn instead.
const CODEX_ONLY_COMMANDS: [&str; 7] = [
    "app-server",
    "apply",
    "cloud",
    "features",
    "login",
    "logout",
    "review",
];

/// The same for `codex exec WORD`.
const CODEX_ONLY_EXEC_COMMANDS: [&str; 1] = ["review"];

/// A prompt that is only the name of a Codex command this build lacks, as
/// the error to give instead of sending it to the model. `separated`: a
/// `--` on the command line marked what follows as a prompt, and it is
/// sent.
pub(crate) fn missing_command(
    prompt: Option<&str>,
    under_exec: bool,
    separated: bool,
) -> Option<String> {
    let word = prompt?;
    let (commands, prefix): (&[&str], _) = if under_exec {
        (&CODEX_ONLY_EXEC_COMMANDS, "codex exec")
    } else {
        (&CODEX_ONLY_COMMANDS, "codex")
    };
    (!separated && commands.contains(&word)).then(|| {
        format!(
            "`{prefix} {word}` is a Codex command this build does not have; to send \
             \"{word}\" to the model as the prompt, put `--` before it: {prefix} -- {word}"
        )
    })
}

/// `codex [PROMPT]`: the interactive chat, and its flags (`codex resume`
/// takes them too).
#[derive(Debug, Clone, Default, PartialEq, Args)]
pub(crate) struct ChatArgs {
    /// The first message to send.
    #[arg(id = "chat_prompt", value_name = "PROMPT")]
    pub(crate) prompt: Option<String>,
    #[command(flatten)]
    pub(crate) flags: ChatFlags,
}

// The chat's flags. (Not a doc comment: flattened under a deferred
// subcommand, clap would make it the about text.)
#[derive(Debug, Clone, Default, PartialEq, Args)]
pub(crate) struct ChatFlags {
    /// The model to use.
    // An explicit `id` is also what a bare `long` would be spelled as,
    // so the long name is given: `--model`, as Codex spells it.
    #[arg(id = "chat_model", short = 'm', long = "model", value_name = "MODEL")]
    pub(crate) model: Option<String>,
    /// The sandbox for commands: read-only, workspace-write or
    /// danger-full-access.
    #[arg(
        id = "chat_sandbox",
        short = 's',
        long = "sandbox",
        value_name = "MODE",
        value_parser = PossibleValuesParser::new(sandbox_modes())
    )]
    pub(crate) sandbox: Option<String>,
    /// When to ask before running a command: untrusted, on-failure,
    /// on-request or never.
    #[arg(
        id = "chat_approval",
        short = 'a',
        long = "ask-for-approval",
        value_name = "POLICY",
        value_parser = PossibleValuesParser::new(approval_policies())
    )]
    pub(crate) approval: Option<String>,
    /// `--sandbox workspace-write --ask-for-approval on-request`.
    #[arg(
        id = "chat_full_auto",
        long = "full-auto",
        conflicts_with_all = ["chat_sandbox", "chat_approval"]
    )]
    pub(crate) full_auto: bool,
    /// No sandbox and no approvals (`--yolo`); requirements still apply.
    #[arg(
        id = "chat_yolo",
        long = "dangerously-bypass-approvals-and-sandbox",
        alias = "yolo",
        conflicts_with_all = ["chat_sandbox", "chat_approval", "chat_full_auto"]
    )]
    pub(crate) yolo: bool,
    /// Work in DIR.
    #[arg(id = "chat_cd", short = 'C', long = "cd", value_name = "DIR")]
    pub(crate) cd: Option<std::path::PathBuf>,
    /// Attach an image to the first message (repeatable, or
    /// comma-separated).
    #[arg(
        id = "chat_image",
        short = 'i',
        long = "image",
        value_name = "FILE",
        value_delimiter = ','
    )]
    pub(crate) images: Vec<std::path::PathBuf>,
    /// Another writable directory under workspace-write (repeatable).
    #[arg(id = "chat_add_dir", long = "add-dir", value_name = "DIR")]
    pub(crate) add_dir: Vec<std::path::PathBuf>,
}

// `codex resume` and `codex fork`: by id, the latest (`--last`), or,
// with neither, the chat opened on a picker of recorded sessions. (Not a
// doc comment: under a deferred subcommand, clap would make it the about
// text.)
#[derive(Debug, Clone, Args)]
pub(crate) struct ChatResumeArgs {
    /// The session (thread) id. With `--last`, this is the first message.
    #[arg(value_name = "SESSION_ID")]
    pub(crate) session_id: Option<String>,
    /// The first message to send.
    #[arg(value_name = "PROMPT")]
    pub(crate) prompt: Option<String>,
    /// The most recent session recorded in this directory, instead of an
    /// id.
    #[arg(long)]
    pub(crate) last: bool,
    /// Sessions of any directory: with `--last`, the latest of them;
    /// alone, the picker offers them all.
    #[arg(long)]
    pub(crate) all: bool,
    /// Sessions of `codex exec` and of MCP clients too, in the picker and
    /// for `--last` (by default only chats are offered).
    #[arg(long)]
    pub(crate) include_non_interactive: bool,
    #[command(flatten)]
    pub(crate) flags: ChatFlags,
}

/// `codex mcp-server`.
#[derive(Debug, Clone, Args)]
pub(crate) struct McpServerArgs {
    /// Serve streamable HTTP on this address (127.0.0.1:PORT) instead of
    /// stdio.
    #[arg(long, value_name = "ADDR")]
    pub(crate) listen: Option<std::net::SocketAddr>,
}

/// `-c key=value`, accepted before or after the subcommand.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct ConfigOverrides {
    /// Override a config value: a dotted path and a TOML value
    /// (e.g. `-c mcp_servers.docs.enabled=false`); a value that is not TOML
    /// is taken as a string.
    #[arg(short = 'c', long = "config", value_name = "key=value", global = true)]
    pub(crate) raw: Vec<String>,
    /// Use the profile NAME: `$CODEX_HOME/NAME.config.toml` over config.toml,
    /// or else its `[profiles.NAME]` table.
    #[arg(short = 'p', long = "profile", value_name = "NAME", global = true)]
    pub(crate) profile: Option<String>,
    /// Refuse to run when the config has keys this version does not know
    /// (without it, each is a warning and ignored).
    #[arg(long, global = true)]
    pub(crate) strict_config: bool,
    /// Do not read `$CODEX_HOME/config.toml` (a CI job's run then does not
    /// depend on the machine's config; requirements still apply).
    #[arg(long, global = true)]
    pub(crate) ignore_user_config: bool,
}

impl ConfigOverrides {
    /// Parses every override; the first malformed one is the error. A
    /// profile is the override `profile = "NAME"`, before the others.
    pub(crate) fn parse(&self) -> Result<Vec<ConfigOverride>, codex_actors::config::OverrideError> {
        let profile = self.profile.as_deref().map(ConfigOverride::profile);
        profile
            .into_iter()
            .map(Ok)
            .chain(self.raw.iter().map(|raw| raw.parse()))
            .collect()
    }
}

// Not deferred, unlike the subcommand enums below (`defer`: a subcommand's
// arguments are built only when it runs or shows help, not at every start;
// BENCHMARKS.md, issue 18). Clap copies the tree under `codex help` before
// deferred subcommands are built, so `codex help exec <TAB>` would no longer
// complete `resume`.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run one agent turn non-interactively (for scripts and CI).
    #[command(visible_alias = "e")]
    Exec(ExecArgs),
    #[command(flatten)]
    Session(SessionCommand),
    /// Serve the agent as an MCP server (tools `codex` and `codex-reply`)
    /// on stdio.
    McpServer(McpServerArgs),
    /// Manage MCP servers in config.toml.
    #[command(subcommand)]
    Mcp(McpCommand),
    /// Show admin requirements and how they apply.
    #[command(subcommand)]
    Requirements(RequirementsCommand),
    /// Run a command under the sandbox.
    #[command(subcommand)]
    Sandbox(SandboxCommand),
    /// Tools for developing and testing this runtime.
    #[command(subcommand, hide = true)]
    Debug(DebugCommand),
    /// Show the runtime end to end, offline: admission, a supervised
    /// session, a model turn, a crash and a live policy change.
    Demo(DemoArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell,
    /// elvish).
    Completion(CompletionArgs),
}

/// `codex resume` and `codex fork`, listed among the top-level commands
/// but, having no subcommands of their own, deferred: each brings the
/// chat's flags, built only when it runs.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub(crate) enum SessionCommand {
    /// Open a recorded session in the chat: by id, the latest here
    /// (`--last`), or one picked from a list (neither).
    Resume(ChatResumeArgs),
    /// Start a new chat from a recorded session's history: by id, the
    /// latest here (`--last`), or one picked from a list (neither).
    Fork(ChatResumeArgs),
}

/// `codex completion`.
#[derive(Debug, Args)]
pub(crate) struct CompletionArgs {
    /// The shell.
    #[arg(value_enum, default_value = "bash")]
    pub(crate) shell: clap_complete::Shell,
}

/// `codex exec`.
#[derive(Debug, Args)]
#[command(subcommand_negates_reqs = true)]
pub(crate) struct ExecArgs {
    /// Continue a recorded session instead of starting one.
    #[command(subcommand)]
    pub(crate) action: Option<ExecAction>,
    /// The instructions; `-` (or none, with input piped) reads them from
    /// stdin.
    #[arg(value_name = "PROMPT")]
    pub(crate) prompt: Option<String>,
    /// Flags `exec resume` accepts too, before or after `resume`.
    #[command(flatten)]
    pub(crate) shared: ExecShared,
    /// The sandbox for commands: read-only, workspace-write or
    /// danger-full-access.
    #[arg(short = 's', long = "sandbox", value_name = "MODE", value_parser = PossibleValuesParser::new(sandbox_modes()))]
    pub(crate) sandbox: Option<String>,
    /// Work in DIR (it becomes the workspace root).
    #[arg(short = 'C', long = "cd", value_name = "DIR")]
    pub(crate) cd: Option<std::path::PathBuf>,
    /// Deprecated: `--sandbox workspace-write`.
    #[arg(long, hide = true, conflicts_with_all = ["sandbox", "yolo"])]
    pub(crate) full_auto: bool,
    /// No sandbox at all; also skips the git check.
    #[arg(
        long = "dangerously-bypass-approvals-and-sandbox",
        alias = "yolo",
        conflicts_with = "sandbox"
    )]
    pub(crate) yolo: bool,
    /// Another writable directory under workspace-write (repeatable).
    #[arg(long = "add-dir", value_name = "DIR")]
    pub(crate) add_dir: Vec<std::path::PathBuf>,
}

// Flags of `codex exec` that `exec resume` takes as well. (Not a doc
// comment: under a deferred subcommand, clap would make it the about text.)
#[derive(Debug, Clone, Args)]
pub(crate) struct ExecShared {
    /// Print events to stdout as JSON Lines.
    #[arg(long, alias = "experimental-json", global = true)]
    pub(crate) json: bool,
    /// Write the final agent message to FILE.
    #[arg(
        short = 'o',
        long = "output-last-message",
        value_name = "FILE",
        global = true
    )]
    pub(crate) output_last_message: Option<std::path::PathBuf>,
    /// A JSON Schema the final answer must follow.
    #[arg(long, value_name = "FILE", global = true)]
    pub(crate) output_schema: Option<std::path::PathBuf>,
    /// The model to use.
    #[arg(short = 'm', long, global = true)]
    pub(crate) model: Option<String>,
    /// Attach an image to the prompt (repeatable, or comma-separated).
    #[arg(
        short = 'i',
        long = "image",
        value_name = "FILE",
        value_delimiter = ',',
        global = true
    )]
    pub(crate) images: Vec<std::path::PathBuf>,
    /// Run outside a git repository.
    #[arg(long, global = true)]
    pub(crate) skip_git_repo_check: bool,
    /// Color on stderr.
    #[arg(long, value_enum, default_value_t = Color::Auto, global = true)]
    pub(crate) color: Color,
    /// Write no session file.
    #[arg(long, global = true)]
    pub(crate) ephemeral: bool,
}

/// `codex exec <action>`.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub(crate) enum ExecAction {
    /// Continue a recorded session: by id, or the latest here (`--last`).
    Resume(ResumeArgs),
    /// Start a new session from a recorded one's history, by id.
    Fork(ForkArgs),
}

// `codex exec fork`. (Not a doc comment: under a deferred subcommand,
// clap would make it the about text.)
#[derive(Debug, Args)]
pub(crate) struct ForkArgs {
    /// The session (thread) id to fork, a UUID.
    #[arg(value_name = "SESSION_ID")]
    pub(crate) session_id: String,
    /// The instructions; `-` (or none, with input piped) reads them from
    /// stdin.
    #[arg(value_name = "PROMPT")]
    pub(crate) prompt: Option<String>,
}

// `codex exec resume`. (Not a doc comment: under a deferred
// subcommand, clap would make it the about text.)
#[derive(Debug, Args)]
pub(crate) struct ResumeArgs {
    /// The session (thread) id, a UUID. With `--last`, this is the prompt.
    #[arg(value_name = "SESSION_ID")]
    pub(crate) session_id: Option<String>,
    /// The instructions; `-` (or none, with input piped) reads them from
    /// stdin.
    #[arg(value_name = "PROMPT")]
    pub(crate) prompt: Option<String>,
    /// Continue the most recent session recorded in this directory.
    #[arg(long)]
    pub(crate) last: bool,
    /// With `--last`: in any directory.
    #[arg(long, requires = "last")]
    pub(crate) all: bool,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Color {
    /// Always.
    Always,
    /// Never.
    Never,
    /// On a terminal, unless `NO_COLOR` is set.
    Auto,
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub(crate) enum SandboxCommand {
    /// Run a command under Landlock and seccomp (Linux).
    Linux(SandboxLinuxArgs),
}

#[derive(Debug, Args)]
pub(crate) struct SandboxLinuxArgs {
    /// Shorthand for `--sandbox workspace-write`.
    #[arg(long, conflicts_with = "sandbox")]
    pub(crate) full_auto: bool,
    /// The sandbox mode: read-only, workspace-write or danger-full-access.
    #[arg(short = 's', long = "sandbox", value_name = "MODE", value_parser = PossibleValuesParser::new(sandbox_modes()))]
    pub(crate) sandbox: Option<String>,
    /// Run the command in this directory (and make it the workspace root).
    #[arg(short = 'C', long = "cd", value_name = "DIR")]
    pub(crate) cd: Option<std::path::PathBuf>,
    /// Another writable directory under workspace-write (repeatable).
    #[arg(long = "add-dir", value_name = "DIR")]
    pub(crate) add_dir: Vec<std::path::PathBuf>,
    /// The command to run, and its arguments (after `--`, or after the
    /// options: everything from the command on is its own).
    #[arg(
        trailing_var_arg = true,
        required = true,
        value_name = "COMMAND",
        value_parser = clap::value_parser!(std::ffi::OsString)
    )]
    pub(crate) command: Vec<std::ffi::OsString>,
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub(crate) enum DebugCommand {
    /// Act as an MCP client for the official conformance suite: connect to
    /// URL and run the scenario named by `MCP_CONFORMANCE_SCENARIO`.
    ConformanceClient(ConformanceArgs),
    /// Drive a workload through a supervised session under a fault plan
    /// and report what survived.
    Chaos(ChaosArgs),
    /// Run an HTTP proxy in front of URL that injects the plan's faults
    /// with `target = "model"` (for the model endpoint).
    FaultProxy(FaultProxyArgs),
    /// Serve the test MCP server (stdio, or `--http ADDR`); `codex demo`
    /// uses it as its servers.
    TestServer(TestServerArgs),
    /// Print the JSON Schema (draft 2020-12) of `config.toml`,
    /// `requirements.toml` or one line of `codex exec --json`.
    Schema(SchemaArgs),
    /// Serve a mock of the model API on 127.0.0.1 that answers every
    /// request with one text message (for benchmarks and manual runs);
    /// prints `listening on URL`, then serves until killed.
    MockModel(MockModelArgs),
}

#[derive(Debug, Args)]
pub(crate) struct SchemaArgs {
    /// Which document.
    #[arg(value_enum)]
    pub(crate) which: SchemaKind,
}

/// The documents `codex debug schema` describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum SchemaKind {
    /// `$CODEX_HOME/config.toml`.
    Config,
    /// An admin's `requirements.toml`.
    Requirements,
    /// One line of `codex exec --json`.
    ExecEvents,
}

#[derive(Debug, Args)]
pub(crate) struct MockModelArgs {
    /// The text of every answer.
    #[arg(long, default_value = "hi")]
    pub(crate) reply: String,
}

#[derive(Debug, Args)]
pub(crate) struct TestServerArgs {
    /// The test server's own flags (`--help` lists them).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub(crate) args: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Print a machine-readable record of the run instead.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ChaosArgs {
    /// The fault plan (TOML).
    #[arg(long, value_name = "PLAN.toml")]
    pub(crate) plan: std::path::PathBuf,
    /// Stop after N calls (100 when neither this nor --duration is given).
    #[arg(
        long,
        value_name = "N",
        conflicts_with = "duration",
        value_parser = clap::value_parser!(u64).range(1..=100_000_000)
    )]
    pub(crate) calls: Option<u64>,
    /// Stop after S seconds (more than 0, at most a week).
    #[arg(long, value_name = "S", value_parser = parse_duration)]
    pub(crate) duration: Option<std::time::Duration>,
    /// Calls in flight at once (1 to 1024).
    #[arg(long, value_name = "K", default_value_t = 4, value_parser = parse_concurrency)]
    pub(crate) concurrency: usize,
    /// Print the report as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct FaultProxyArgs {
    /// The fault plan (TOML); its faults must target "model".
    #[arg(long, value_name = "PLAN.toml")]
    pub(crate) plan: std::path::PathBuf,
    /// Where to forward (the origin of this URL; paths pass through).
    #[arg(long, value_name = "URL")]
    pub(crate) upstream: String,
    /// Where to listen.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub(crate) listen: std::net::SocketAddr,
}

#[derive(Debug, Args)]
pub(crate) struct ConformanceArgs {
    /// The conformance server's URL.
    pub(crate) url: String,
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub(crate) enum McpCommand {
    /// List configured MCP servers.
    List(ListArgs),
    /// Show one configured MCP server.
    Get(GetArgs),
    /// Add a global MCP server to config.toml.
    Add(AddArgs),
    /// Remove a global MCP server from config.toml.
    Remove(NameArgs),
    /// Start the configured servers and list their tools.
    Tools(ToolsArgs),
    /// Call one tool through a supervised session.
    Call(CallArgs),
    /// Pin the tools of the configured servers in $CODEX_HOME/mcp-tools.lock.
    Lock(LockArgs),
    /// Log in to a streamable HTTP MCP server with OAuth.
    Login(LoginArgs),
    /// Remove the stored OAuth credentials of a server.
    Logout(NameArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Print JSON instead of tables.
    #[arg(long)]
    pub(crate) json: bool,
    /// Show env and header values instead of `*****`.
    #[arg(long)]
    pub(crate) show_secrets: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ToolsArgs {
    /// Only this server.
    pub(crate) name: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct LockArgs {
    /// Only these servers (the pins of the others are kept).
    #[arg(value_name = "NAME")]
    pub(crate) names: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct CallArgs {
    /// The server.
    pub(crate) server: String,
    /// The tool's MCP name.
    pub(crate) tool: String,
    /// The arguments, as a JSON object.
    #[arg(long, value_name = "JSON", value_parser = parse_json_object)]
    pub(crate) args: Option<serde_json::Map<String, serde_json::Value>>,
    /// Print the whole result as JSON.
    #[arg(long)]
    pub(crate) json: bool,
    /// Print the tool's text as it is, control characters included (by
    /// default they are shown escaped).
    #[arg(long = "raw", id = "raw_text", conflicts_with = "json")]
    pub(crate) raw_text: bool,
}

/// Seconds, as a finite number above 0 and at most a week.
fn parse_duration(raw: &str) -> Result<std::time::Duration, String> {
    let secs: f64 = raw
        .parse()
        .map_err(|_| format!("{raw:?} is not a number of seconds"))?;
    let max = codex_actors::config::MAX_DURATION;
    if !secs.is_finite() || secs <= 0.0 || secs > max.as_secs_f64() {
        return Err(format!(
            "{raw} is out of range (more than 0, at most {} seconds)",
            max.as_secs()
        ));
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

/// A count of calls in flight, from 1 to 1024.
fn parse_concurrency(raw: &str) -> Result<usize, String> {
    match raw.parse::<usize>() {
        Ok(n) if (1..=1024).contains(&n) => Ok(n),
        _ => Err(format!("{raw:?} is out of range (1 to 1024)")),
    }
}

fn parse_json_object(raw: &str) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    match serde_json::from_str::<serde_json::Value>(raw) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(_) => Err("arguments must be a JSON object, e.g. '{\"text\": \"hi\"}'".to_owned()),
        Err(err) => Err(format!("invalid JSON: {err}")),
    }
}

#[derive(Debug, Args)]
pub(crate) struct GetArgs {
    /// The server's name.
    pub(crate) name: String,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
    /// Show env and header values instead of `*****`.
    #[arg(long)]
    pub(crate) show_secrets: bool,
}

#[derive(Debug, Args)]
pub(crate) struct NameArgs {
    /// The server's name.
    pub(crate) name: String,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("subject").required(true).args(["name", "command"])))]
pub(crate) struct ExplainArgs {
    /// The server's name.
    pub(crate) name: Option<String>,
    /// A shell command to check against `[rules] prefix_rules`, as the
    /// agent would run it (`bash -lc COMMAND`).
    #[arg(long, value_name = "COMMAND")]
    pub(crate) command: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct LoginArgs {
    /// The server's name.
    pub(crate) name: String,
    /// OAuth scopes, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub(crate) scopes: Vec<String>,
    /// Do not open a browser: print the URL and wait for the redirect.
    #[arg(long)]
    pub(crate) no_browser: bool,
}

#[derive(Debug, Args)]
#[command(
    override_usage = "codex mcp add [OPTIONS] <NAME> <COMMAND|--url <URL>>",
    group(clap::ArgGroup::new("target").required(true).args(["url", "command"]))
)]
pub(crate) struct AddArgs {
    /// A name for the server: letters, numbers, '-' and '_'.
    pub(crate) name: String,
    /// The URL of a streamable HTTP server.
    #[arg(long, conflicts_with_all = ["command", "env"])]
    pub(crate) url: Option<String>,
    /// The variable holding a bearer token for the HTTP server.
    #[arg(
        long,
        value_name = "ENV_VAR",
        requires = "url",
        conflicts_with = "command"
    )]
    pub(crate) bearer_token_env_var: Option<String>,
    /// The OAuth client id to sign in to the HTTP server with, when it does
    /// not register clients itself.
    #[arg(
        long,
        value_name = "CLIENT_ID",
        requires = "url",
        conflicts_with = "command"
    )]
    pub(crate) oauth_client_id: Option<String>,
    /// The OAuth resource (RFC 8707) to ask tokens for, when it is not the
    /// server's URL.
    #[arg(
        long,
        value_name = "RESOURCE",
        requires = "url",
        conflicts_with = "command"
    )]
    pub(crate) oauth_resource: Option<String>,
    /// An environment variable for a stdio server (repeatable).
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_env_pair)]
    pub(crate) env: Vec<(String, String)>,
    /// The command (and its arguments) that runs a stdio server, after
    /// `--` or after the options: everything from the command on is its
    /// own (`codex mcp add docs npx -y docs-server`).
    #[arg(trailing_var_arg = true, value_name = "COMMAND")]
    pub(crate) command: Vec<String>,
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub(crate) enum RequirementsCommand {
    /// Print the effective requirements, each rule with its source.
    Show(ListArgs),
    /// Explain the verdict for one configured MCP server, or what the
    /// admin's command rules say of a command (`--command`).
    Explain(ExplainArgs),
    /// Print an allowlist rule that pins one stdio server's executable by
    /// its SHA-256, for an admin to paste into requirements.toml.
    Pin(NameArgs),
}

fn parse_env_pair(raw: &str) -> Result<(String, String), String> {
    match raw.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_owned(), value.to_owned()))
        }
        _ => Err("environment entries must be in KEY=VALUE form".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    /// Deferred subcommands keep their own about text: a doc comment on an
    /// `Args` struct under them would replace it.
    #[test]
    fn deferred_commands_say_what_they_do() {
        for (args, about) in [
            (
                &["codex", "resume", "--help"][..],
                "Open a recorded session in the chat",
            ),
            (
                &["codex", "fork", "--help"],
                "Start a new chat from a recorded session's",
            ),
            (
                &["codex", "exec", "resume", "--help"],
                "Continue a recorded session",
            ),
            (
                &["codex", "exec", "fork", "--help"],
                "Start a new session from a recorded",
            ),
        ] {
            let help = Cli::try_parse_from(args).expect_err("help").to_string();
            assert!(help.starts_with(about), "{args:?}: {help}");
        }
    }

    /// The chat's flags are spelled as Codex spells them, before a prompt
    /// and after `resume`. Each flag's `id` differs from its long name, and
    /// clap derives a bare `long` from the `id`: `--chat_model` once.
    #[test]
    fn chat_flags_take_codex_spellings() {
        let flags = ChatFlags {
            model: Some("o3".into()),
            sandbox: Some("read-only".into()),
            approval: Some("never".into()),
            full_auto: false,
            yolo: false,
            cd: Some("dir".into()),
            images: vec!["a.png".into(), "b.png".into()],
            add_dir: vec!["extra".into()],
        };
        let spelled = [
            "--model",
            "o3",
            "--sandbox",
            "read-only",
            "--ask-for-approval",
            "never",
            "--cd",
            "dir",
            "--image",
            "a.png,b.png",
            "--add-dir",
            "extra",
        ];
        let short = [
            "-m",
            "o3",
            "-s",
            "read-only",
            "-a",
            "never",
            "-C",
            "dir",
            "-i",
            "a.png",
            "-i",
            "b.png",
            "--add-dir",
            "extra",
        ];
        for args in [&spelled[..], &short[..]] {
            let top = Cli::try_parse_from(["codex"].iter().chain(args).chain(["hi"].iter()))
                .unwrap_or_else(|err| panic!("{args:?}: {err}"));
            assert_eq!(top.chat.flags, flags, "{args:?}");
            assert_eq!(top.chat.prompt.as_deref(), Some("hi"));
            let resume = Cli::try_parse_from(["codex", "resume", "--last"].iter().chain(args))
                .unwrap_or_else(|err| panic!("resume {args:?}: {err}"));
            let Some(Command::Session(SessionCommand::Resume(resume))) = resume.command else {
                panic!("resume {args:?} parsed as another command");
            };
            assert_eq!(resume.flags, flags, "resume {args:?}");
        }
        let auto = Cli::try_parse_from(["codex", "--full-auto"]).expect("--full-auto");
        assert!(auto.chat.flags.full_auto);
        for yolo in ["--yolo", "--dangerously-bypass-approvals-and-sandbox"] {
            let cli = Cli::try_parse_from(["codex", yolo]).expect(yolo);
            assert!(cli.chat.flags.yolo, "{yolo}");
            assert!(Cli::try_parse_from(["codex", yolo, "--full-auto"]).is_err());
            assert!(Cli::try_parse_from(["codex", yolo, "-s", "read-only"]).is_err());
        }
        assert!(Cli::try_parse_from(["codex", "--chat_model", "o3"]).is_err());
    }

    /// `mcp add` and `sandbox linux` take their command after `--` or
    /// straight after the options, as Codex does; what follows the command
    /// is its own, flags included.
    #[test]
    fn a_trailing_command_is_taken_with_or_without_a_separator() {
        let add = |args: &[&str]| match Cli::try_parse_from(args)
            .unwrap_or_else(|err| panic!("{args:?}: {err}"))
            .command
        {
            Some(Command::Mcp(McpCommand::Add(add))) => add,
            other => panic!("{args:?} parsed as {other:?}"),
        };
        let want = ["npx", "-y", "docs", "--port", "1"].map(String::from);
        for args in [
            &[
                "codex", "mcp", "add", "docs", "npx", "-y", "docs", "--port", "1",
            ][..],
            &[
                "codex", "mcp", "add", "docs", "--", "npx", "-y", "docs", "--port", "1",
            ],
            &[
                "codex", "mcp", "add", "--env", "A=b", "docs", "npx", "-y", "docs", "--port", "1",
            ],
        ] {
            assert_eq!(add(args).command, want, "{args:?}");
        }
        // An option after the command belongs to the command.
        let late = add(&["codex", "mcp", "add", "docs", "npx", "--env", "A=b"]);
        assert_eq!(late.command, ["npx", "--env", "A=b"].map(String::from));
        assert!(late.env.is_empty());
        assert!(Cli::try_parse_from(["codex", "mcp", "add", "docs"]).is_err());
        // OAuth settings go with `--url`, as in Codex.
        let web = add(&[
            "codex",
            "mcp",
            "add",
            "w",
            "--url",
            "https://h/mcp",
            "--oauth-client-id",
            "c1",
            "--oauth-resource",
            "https://h/",
        ]);
        assert_eq!(web.oauth_client_id.as_deref(), Some("c1"));
        assert_eq!(web.oauth_resource.as_deref(), Some("https://h/"));
        for flag in ["--oauth-client-id", "--oauth-resource"] {
            assert!(
                Cli::try_parse_from(["codex", "mcp", "add", "s", flag, "x", "--", "cmd"]).is_err(),
                "{flag}"
            );
        }
        assert!(
            Cli::try_parse_from(["codex", "mcp", "add", "w", "--url", "http://h/", "npx"]).is_err()
        );

        let sandbox = |args: &[&str]| match Cli::try_parse_from(args)
            .unwrap_or_else(|err| panic!("{args:?}: {err}"))
            .command
        {
            Some(Command::Sandbox(SandboxCommand::Linux(linux))) => linux,
            other => panic!("{args:?} parsed as {other:?}"),
        };
        for args in [
            &["codex", "sandbox", "linux", "-s", "read-only", "ls", "-la"][..],
            &[
                "codex",
                "sandbox",
                "linux",
                "-s",
                "read-only",
                "--",
                "ls",
                "-la",
            ],
        ] {
            let linux = sandbox(args);
            assert_eq!(linux.command, ["ls", "-la"].map(std::ffi::OsString::from));
            assert_eq!(linux.sandbox.as_deref(), Some("read-only"));
        }
        assert!(Cli::try_parse_from(["codex", "sandbox", "linux"]).is_err());
    }

    /// `-s` and `-a` are checked by clap, a usage error (exit 2) listing
    /// what is accepted; `external-sandbox` is the config's, not a flag's.
    #[test]
    fn sandbox_and_approval_flags_take_only_codex_values() {
        for args in [
            &["codex", "-s", "bogus"][..],
            &["codex", "-s", "external-sandbox"],
            &["codex", "-a", "sometimes"],
            &["codex", "exec", "-s", "external-sandbox", "hi"],
            &["codex", "exec", "resume", "--last", "-s", "read-only"],
            &[
                "codex",
                "sandbox",
                "linux",
                "-s",
                "external-sandbox",
                "true",
            ],
        ] {
            let err = Cli::try_parse_from(args).expect_err(&format!("{args:?}"));
            assert_eq!(err.exit_code(), 2, "{args:?}");
        }
        let err = Cli::try_parse_from(["codex", "-s", "bogus"]).expect_err("bogus");
        assert_eq!(err.kind(), clap::error::ErrorKind::InvalidValue);
        for mode in sandbox_modes() {
            let cli = Cli::try_parse_from(["codex", "exec", "-s", mode, "hi"]).expect(mode);
            let Some(Command::Exec(exec)) = cli.command else {
                panic!("exec -s {mode}");
            };
            assert_eq!(exec.sandbox.as_deref(), Some(mode));
        }
        for policy in approval_policies() {
            let cli = Cli::try_parse_from(["codex", "-a", policy]).expect(policy);
            assert_eq!(cli.chat.flags.approval.as_deref(), Some(policy));
        }
    }

    /// `codex login` and the like are not sent to the model as a prompt;
    /// `--` says that is what was meant.
    #[test]
    fn codex_commands_this_build_lacks_are_not_prompts() {
        let error = missing_command(Some("login"), false, false).expect("login");
        assert_eq!(
            error,
            "`codex login` is a Codex command this build does not have; to send \"login\" \
             to the model as the prompt, put `--` before it: codex -- login"
        );
        assert!(
            missing_command(Some("review"), true, false)
                .expect("exec review")
                .starts_with("`codex exec review` is a Codex command")
        );
        for word in CODEX_ONLY_COMMANDS {
            assert!(
                missing_command(Some(word), false, false).is_some(),
                "{word}"
            );
            assert_eq!(missing_command(Some(word), false, true), None, "{word}");
        }
        // Only the bare word: a sentence that starts with it is a prompt.
        for prompt in [
            "review this diff",
            "Login",
            "app-server please",
            "fix the login",
        ] {
            assert_eq!(
                missing_command(Some(prompt), false, false),
                None,
                "{prompt}"
            );
        }
        assert_eq!(missing_command(Some("login"), true, false), None);
        assert_eq!(missing_command(None, false, false), None);
        // What clap makes of them: prompts, so the check above is needed.
        let cli = Cli::try_parse_from(["codex", "login"]).expect("parses");
        assert_eq!(cli.chat.prompt.as_deref(), Some("login"));
        assert!(cli.command.is_none());
    }

    #[test]
    fn completion_defaults_to_bash() {
        let cli = Cli::try_parse_from(["codex", "completion"]).expect("completion");
        let Some(Command::Completion(args)) = cli.command else {
            panic!("not completion");
        };
        assert_eq!(args.shell, clap_complete::Shell::Bash);
    }

    #[test]
    fn env_pairs() {
        assert_eq!(parse_env_pair("A=b=c"), Ok(("A".into(), "b=c".into())));
        assert_eq!(parse_env_pair(" A =x"), Ok(("A".into(), "x".into())));
        assert!(parse_env_pair("=x").is_err());
        assert!(parse_env_pair("novalue").is_err());
    }
}
