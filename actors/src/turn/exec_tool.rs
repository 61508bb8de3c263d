//! The `exec_command` tool (and the legacy `shell` call): its schema, how
//! its arguments become a command, and the text the model reads back.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

use crate::model_stream::ToolSpec;
use crate::sandbox_process::CommandExit;

/// The name of the shell tool we offer.
pub const EXEC_COMMAND: &str = "exec_command";
/// The tool that writes to (or polls) a command that is still running.
pub const WRITE_STDIN: &str = "write_stdin";
/// The older shell tool, accepted when a model calls it.
pub const LEGACY_SHELL: &str = "shell";

/// How long `exec_command` waits for output before answering, when the
/// call does not say (Codex's default).
pub(crate) const DEFAULT_YIELD: Duration = Duration::from_secs(10);
/// How long `write_stdin` waits, when the call does not say.
pub(crate) const DEFAULT_STDIN_YIELD: Duration = Duration::from_millis(250);
/// The longest a command started by `exec_command` may keep running; the
/// session's end kills it sooner.
pub(crate) const MAX_PROCESS_TIME: Duration = Duration::from_secs(60 * 60);

/// Tokens the model reads of one command's output when the call does not
/// say (`max_output_tokens`).
const DEFAULT_MAX_OUTPUT_TOKENS: usize = 10_000;
/// Bytes per token, for budgets.
const BYTES_PER_TOKEN: usize = 4;
/// The longest a call may ask a command to run.
const MAX_COMMAND_TIME: Duration = Duration::from_secs(600);

/// `exec_command` as the model sees it: Codex 0.169's parameters.
pub fn exec_command_spec() -> ToolSpec {
    ToolSpec {
        name: EXEC_COMMAND.to_owned(),
        description: "Runs a shell command in the workspace and returns its output and exit \
                      code. Commands run non-interactively in the session's sandbox."
            .to_owned(),
        parameters: json!({
            "type": "object",
            "properties": {
                "cmd": { "type": "string", "description": "The shell command to execute." },
                "workdir": {
                    "type": "string",
                    "description": "The working directory; the session's cwd when absent."
                },
                "shell": {
                    "type": "string",
                    "description": "The shell to run the command with (default /bin/bash)."
                },
                "login": {
                    "type": "boolean",
                    "description": "Run the shell as a login shell (-lc); default true."
                },
                "tty": {
                    "type": "boolean",
                    "description": "Ignored: commands never get a terminal here."
                },
                "yield_time_ms": {
                    "type": "number",
                    "description": "How long to wait for the command before answering, in milliseconds (default 10000). A command still running then keeps running: the answer gives its session id for write_stdin."
                },
                "max_output_tokens": {
                    "type": "number",
                    "description": "At most this many tokens of output are returned."
                },
                "sandbox_permissions": {
                    "type": "string",
                    "enum": ["use_default", "require_escalated"],
                    "description": "`require_escalated` asks the user to run the command outside the sandbox; only the on-request approval policy lets you ask."
                },
                "justification": {
                    "type": "string",
                    "description": "One line the user reads when asked to approve."
                },
                "prefix_rule": { "type": "array", "items": { "type": "string" } }
            },
            "required": ["cmd"],
            "additionalProperties": false
        }),
        freeform: None,
    }
}

/// `write_stdin` as the model sees it.
pub fn write_stdin_spec() -> ToolSpec {
    ToolSpec {
        name: WRITE_STDIN.to_owned(),
        description: "Writes to the stdin of a command exec_command left running, or just waits \
                      for more of its output (empty `chars`), and returns what it wrote since."
            .to_owned(),
        parameters: json!({
            "type": "object",
            "properties": {
                "session_id": {
                    "type": "number",
                    "description": "The session id exec_command gave for the running command."
                },
                "chars": {
                    "type": "string",
                    "description": "What to write; empty to only poll for output."
                },
                "yield_time_ms": {
                    "type": "number",
                    "description": "How long to wait for output, in milliseconds (default 250)."
                },
                "max_output_tokens": {
                    "type": "number",
                    "description": "At most this many tokens of output are returned."
                }
            },
            "required": ["session_id"],
            "additionalProperties": false
        }),
        freeform: None,
    }
}

/// A `write_stdin` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StdinCall {
    /// The process session.
    pub(crate) session_id: u64,
    /// What to write (maybe nothing).
    pub(crate) chars: String,
    /// How long to wait for output.
    pub(crate) wait: Duration,
    /// How much output the model reads, in bytes.
    pub(crate) output_budget: usize,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StdinArgs {
    session_id: f64,
    chars: Option<String>,
    yield_time_ms: Option<f64>,
    max_output_tokens: Option<f64>,
}

/// Parses a `write_stdin` call.
pub(crate) fn write_stdin_call(arguments: &str) -> Result<StdinCall, CallRefused> {
    let args: StdinArgs = serde_json::from_str(arguments)
        .map_err(|err| CallRefused::BadArguments(err.to_string()))?;
    let session_id = args.session_id;
    if !(session_id.is_finite()
        && session_id >= 0.0
        && session_id.fract() == 0.0
        && session_id <= 1e15)
    {
        return Err(CallRefused::BadArguments(format!(
            "session_id {session_id} is not a session id"
        )));
    }
    Ok(StdinCall {
        session_id: session_id as u64,
        chars: args.chars.unwrap_or_default(),
        wait: millis(args.yield_time_ms).unwrap_or(DEFAULT_STDIN_YIELD),
        output_budget: budget(args.max_output_tokens),
    })
}

/// A command the model asked for, ready to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CommandCall {
    /// The argv.
    pub(crate) argv: Vec<String>,
    /// Where it runs.
    pub(crate) cwd: PathBuf,
    /// How long it may run (to the end), or its longest life (a process
    /// session).
    pub(crate) timeout: Duration,
    /// How long to wait before answering with what it wrote so far (a
    /// process session); `None` runs it to the end.
    pub(crate) yield_time: Option<Duration>,
    /// How it is shown (`/bin/bash -lc '...'`).
    pub(crate) display: String,
    /// How much output the model reads, in bytes.
    pub(crate) output_budget: usize,
    /// The output format.
    pub(crate) format: OutputFormat,
    /// The model asks to run it outside the sandbox
    /// (`sandbox_permissions = "require_escalated"`).
    pub(crate) escalation: bool,
    /// The model's one-line reason for that.
    pub(crate) justification: Option<String>,
}

/// Which text the model gets back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutputFormat {
    /// `exec_command`'s header lines and output.
    ExecCommand,
    /// The legacy `shell` tool's JSON.
    LegacyJson,
}

/// Why a call cannot run; the text goes back to the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CallRefused {
    /// The arguments are not what the tool takes.
    BadArguments(String),
}

impl CallRefused {
    pub(crate) fn text(&self) -> String {
        match self {
            CallRefused::BadArguments(err) => format!("failed to parse function arguments: {err}"),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExecArgs {
    cmd: String,
    workdir: Option<String>,
    shell: Option<String>,
    login: Option<bool>,
    #[allow(dead_code)]
    tty: Option<bool>,
    yield_time_ms: Option<f64>,
    max_output_tokens: Option<f64>,
    sandbox_permissions: Option<String>,
    justification: Option<String>,
    #[allow(dead_code)]
    prefix_rule: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct ShellArgs {
    command: Vec<String>,
    workdir: Option<String>,
    timeout_ms: Option<f64>,
}

/// Parses an `exec_command` call.
pub(crate) fn exec_command_call(
    arguments: &str,
    cwd: &Path,
    default_timeout: Duration,
) -> Result<CommandCall, CallRefused> {
    let args: ExecArgs = serde_json::from_str(arguments)
        .map_err(|err| CallRefused::BadArguments(err.to_string()))?;
    let escalation = args.sandbox_permissions.as_deref() == Some("require_escalated");
    let shell = args.shell.unwrap_or_else(|| "/bin/bash".to_owned());
    let flag = if args.login.unwrap_or(true) {
        "-lc"
    } else {
        "-c"
    };
    let display = format!("{shell} {flag} {}", shell_quote(&args.cmd));
    let _ = default_timeout;
    Ok(CommandCall {
        argv: vec![shell, flag.to_owned(), args.cmd],
        cwd: workdir(cwd, args.workdir.as_deref()),
        timeout: MAX_PROCESS_TIME,
        yield_time: Some(millis(args.yield_time_ms).unwrap_or(DEFAULT_YIELD)),
        display,
        output_budget: budget(args.max_output_tokens),
        format: OutputFormat::ExecCommand,
        escalation,
        justification: args.justification.filter(|text| !text.trim().is_empty()),
    })
}

/// Parses a legacy `shell` call.
pub(crate) fn shell_call(
    arguments: &str,
    cwd: &Path,
    default_timeout: Duration,
) -> Result<CommandCall, CallRefused> {
    let args: ShellArgs = serde_json::from_str(arguments)
        .map_err(|err| CallRefused::BadArguments(err.to_string()))?;
    if args.command.is_empty() {
        return Err(CallRefused::BadArguments("`command` is empty".to_owned()));
    }
    let display = args
        .command
        .iter()
        .map(|arg| shell_quote(arg))
        .collect::<Vec<_>>()
        .join(" ");
    Ok(CommandCall {
        cwd: workdir(cwd, args.workdir.as_deref()),
        timeout: millis(args.timeout_ms).unwrap_or(default_timeout),
        yield_time: None,
        argv: args.command,
        display,
        output_budget: DEFAULT_MAX_OUTPUT_TOKENS * BYTES_PER_TOKEN,
        format: OutputFormat::LegacyJson,
        escalation: false,
        justification: None,
    })
}

/// Bytes of output the model reads, from `max_output_tokens`.
fn budget(max_output_tokens: Option<f64>) -> usize {
    max_output_tokens
        .filter(|n| n.is_finite() && *n >= 0.0)
        .map_or(DEFAULT_MAX_OUTPUT_TOKENS, |n| n.min(1e9) as usize)
        .saturating_mul(BYTES_PER_TOKEN)
}

fn workdir(cwd: &Path, workdir: Option<&str>) -> PathBuf {
    match workdir {
        Some(dir) if !dir.is_empty() => cwd.join(dir),
        Some(_) | None => cwd.to_owned(),
    }
}

fn millis(value: Option<f64>) -> Option<Duration> {
    let ms = value.filter(|ms| ms.is_finite() && *ms > 0.0)?;
    Duration::try_from_secs_f64(ms / 1000.0)
        .ok()
        .map(|d| d.min(MAX_COMMAND_TIME))
}

/// stdout and stderr in the order they arrived (stdout then stderr when
/// the order is not known).
pub(crate) fn aggregated_output(exit: &CommandExit) -> String {
    if !exit.interleaved.is_empty() || (exit.stdout.is_empty() && exit.stderr.is_empty()) {
        return exit.interleaved.clone();
    }
    let mut text = exit.stdout.clone();
    text.push_str(&exit.stderr);
    text
}

/// What the model reads of a process session's output: exec_command's
/// header lines, with how the command stands (exited, or still running
/// with its session id), then the output.
pub(crate) fn process_output(
    output: &str,
    state: ProcessState,
    wall: Duration,
    chunk_id: &str,
    budget: usize,
) -> String {
    let tokens = output.len().div_ceil(BYTES_PER_TOKEN);
    let state = match state {
        ProcessState::Exited(code) => format!("Process exited with code {code}"),
        ProcessState::Running(id) => format!("Process running with session ID {id}"),
    };
    format!(
        "Chunk ID: {chunk_id}\nWall time: {:.4} seconds\n{state}\nOriginal token count: \
         {tokens}\nOutput:\n{}",
        wall.as_secs_f64(),
        truncate_middle(output, budget)
    )
}

/// How a process session stands after a poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProcessState {
    /// It exited with this code.
    Exited(i32),
    /// It runs on, as this session.
    Running(u64),
}

/// The output the model reads for a finished command.
pub(crate) fn command_output(
    call: &CommandCall,
    exit: &CommandExit,
    wall: Duration,
    chunk_id: &str,
) -> String {
    let mut output = aggregated_output(exit);
    if exit.timed_out {
        output = format!(
            "command timed out after {} milliseconds\n{output}",
            call.timeout.as_millis()
        );
    }
    match call.format {
        OutputFormat::ExecCommand => {
            let tokens = output.len().div_ceil(BYTES_PER_TOKEN);
            format!(
                "Chunk ID: {chunk_id}\nWall time: {:.4} seconds\nProcess exited with code {}\n\
                 Original token count: {tokens}\nOutput:\n{}",
                wall.as_secs_f64(),
                exit.exit_code,
                truncate_middle(&output, call.output_budget)
            )
        }
        OutputFormat::LegacyJson => json!({
            "output": truncate_middle(&output, call.output_budget),
            "metadata": {
                "exit_code": exit.exit_code,
                "duration_seconds": (wall.as_secs_f64() * 10.0).round() / 10.0,
            }
        })
        .to_string(),
    }
}

/// `text` cut in the middle to at most about `budget` bytes, on character
/// boundaries, with a marker saying how many tokens were left out.
pub(crate) fn truncate_middle(text: &str, budget: usize) -> String {
    if text.len() <= budget {
        return text.to_owned();
    }
    let floor = |mut i: usize| {
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let ceil = |mut i: usize| {
        while !text.is_char_boundary(i) {
            i += 1;
        }
        i
    };
    let head = floor(budget / 2);
    let tail = ceil(text.len() - (budget - budget / 2));
    let removed = text[head..tail].len().div_ceil(BYTES_PER_TOKEN);
    format!(
        "{}…{removed} tokens truncated…{}",
        &text[..head],
        &text[tail..]
    )
}

/// Quotes `arg` for a POSIX shell when it needs it.
pub fn shell_quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b));
    if plain {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::expect;

    fn exit(code: i32, stdout: &str, timed_out: bool) -> CommandExit {
        CommandExit {
            interleaved: String::new(),
            exit_code: code,
            timed_out,
            stdout: stdout.to_owned(),
            stderr: "warn\n".to_owned(),
        }
    }

    #[test]
    fn exec_command_runs_through_a_login_bash() {
        let call = exec_command_call(
            r#"{"cmd":"ls -la 'x y'","workdir":"sub","yield_time_ms":50}"#,
            Path::new("/work"),
            Duration::from_secs(10),
        )
        .expect("parses");
        assert_eq!(call.argv, ["/bin/bash", "-lc", "ls -la 'x y'"]);
        assert_eq!(call.display, r#"/bin/bash -lc 'ls -la '\''x y'\'''"#);
        assert_eq!(call.cwd, Path::new("/work/sub"));
        assert_eq!(call.yield_time, Some(Duration::from_millis(50)));
        assert_eq!(call.timeout, MAX_PROCESS_TIME);
        let output = command_output(
            &call,
            &exit(2, "hello\n", false),
            Duration::from_millis(1234),
            "a1b2c3",
        );
        expect![[r#"
            Chunk ID: a1b2c3
            Wall time: 1.2340 seconds
            Process exited with code 2
            Original token count: 3
            Output:
            hello
            warn
        "#]]
        .assert_eq(&output);
    }

    #[test]
    fn bad_arguments_are_refused_and_escalation_is_flagged() {
        let cwd = Path::new("/w");
        let timeout = Duration::from_secs(1);
        assert!(matches!(
            exec_command_call("{", cwd, timeout),
            Err(CallRefused::BadArguments(_))
        ));
        assert!(matches!(
            exec_command_call(r#"{"command":"ls"}"#, cwd, timeout),
            Err(CallRefused::BadArguments(_))
        ));
        let call = exec_command_call(
            r#"{"cmd":"rm -rf /","sandbox_permissions":"require_escalated","justification":"cleanup"}"#,
            cwd,
            timeout,
        )
        .expect("parses");
        assert!(call.escalation);
        assert_eq!(call.justification.as_deref(), Some("cleanup"));
    }

    #[test]
    fn legacy_shell_calls_answer_in_json() {
        let call = shell_call(
            r#"{"command":["echo","a b"],"timeout_ms":2000}"#,
            Path::new("/w"),
            Duration::from_secs(10),
        )
        .expect("parses");
        assert_eq!(call.display, "echo 'a b'");
        assert_eq!(call.timeout, Duration::from_secs(2));
        let output = command_output(
            &call,
            &exit(124, "", true),
            Duration::from_millis(2049),
            "x",
        );
        assert_eq!(
            output,
            r#"{"output":"command timed out after 2000 milliseconds\nwarn\n","metadata":{"exit_code":124,"duration_seconds":2.0}}"#
        );
    }

    #[test]
    fn long_output_is_cut_in_the_middle_on_char_boundaries() {
        let text = "é".repeat(100);
        let cut = truncate_middle(&text, 21);
        assert!(cut.starts_with("éééé") && cut.ends_with("éééé"), "{cut}");
        assert!(cut.contains("tokens truncated"), "{cut}");
        assert_eq!(truncate_middle("short", 100), "short");
    }
}
