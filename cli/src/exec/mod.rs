//! `codex exec`: one headless agent turn, as Codex runs it.
//!
//! The steps: check the git repo, read the prompt, load config and
//! requirements once, resolve the model provider, start the supervised
//! session and wait for every admitted MCP server's first attempt (each up
//! to its own startup timeout), then run the turn. Servers that are
//! disabled by requirements or fail to start become `error` items that say
//! why, before the turn starts; a `required` one that fails ends the run.
//!
//! Output: with `--json`, stdout carries only JSONL; otherwise progress
//! goes to stderr and only the final message to stdout (when stdout and
//! stderr are not both terminals). Exit codes: 0 when the turn completed,
//! 1 when it failed or on a config or usage error, 130 after Ctrl-C.

mod human;
pub(crate) mod image;
pub(crate) mod jsonl;
pub(crate) mod notify;
mod prompt;

use std::io::IsTerminal as _;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use codex_actors::config::{ApprovalPolicy, SandboxMode, Startup};
use codex_actors::model_stream::resolve_provider;
use codex_actors::policy::Withheld;
use codex_actors::rollout::CallerSettings;
use codex_actors::session::{ServerState, ServerStatus, Session, TurnRuntime, no_one_to_ask};
use codex_actors::turn::{self, Input, TurnEvent, TurnOutcome};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::args::{ConfigOverrides, ExecAction, ExecArgs};
use crate::context;
use crate::conversation::{self, Conversation, Front, Hooks, Settings};
use crate::error::CliError;
use crate::terminal;
use crate::thread::{self, Resumed};

/// Writes `-o FILE` as Codex does: created or truncated, never through a
/// symbolic link in its last component (a link planted where the answer
/// goes would otherwise overwrite the file it points to).
fn write_last_message(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(path)?;
    file.write_all(text.as_bytes())
}

/// The exit code after Ctrl-C.
const INTERRUPTED: u8 = 130;

pub(crate) fn run(overrides: &ConfigOverrides, args: ExecArgs) -> Result<ExitCode, CliError> {
    // `codex exec hello resume --last` would otherwise drop `hello`.
    let prompt_before = |command: &str, usage: &str| match &args.prompt {
        Some(_) => Err(CliError::Usage(format!(
            "a prompt goes after `{command}`, not before it: {usage}"
        ))),
        None => Ok(()),
    };
    let (target, fork, prompt_arg) = match args.action {
        Some(ExecAction::Resume(resume)) => {
            prompt_before("resume", "codex exec resume [SESSION_ID | --last] [PROMPT]")?;
            let (target, prompt) = thread::target(resume)?;
            (Some(target), false, prompt)
        }
        Some(ExecAction::Fork(fork)) => {
            prompt_before("fork", "codex exec fork SESSION_ID [PROMPT]")?;
            (Some(thread::Target::Id(fork.session_id)), true, fork.prompt)
        }
        None => (None, false, args.prompt.clone()),
    };
    let shared = args.shared.clone();
    let cwd = crate::context::working_dir(args.cd.as_deref())?;
    if !(shared.skip_git_repo_check || args.yolo || in_git_repo(&cwd)) {
        return Err(CliError::NotInGitRepo);
    }
    if args.full_auto {
        note("warning: --full-auto is deprecated; use --sandbox workspace-write instead.");
    }
    let images = shared
        .images
        .iter()
        .map(|path| image::data_url(path))
        .collect::<Result<Vec<_>, _>>()?;
    let stdin_is_terminal = std::io::stdin().is_terminal();
    // The note goes out before the read: a pipe left open would block it.
    let (prompt, _) = prompt::resolve(
        prompt_arg.as_deref(),
        stdin_is_terminal,
        &mut std::io::stdin(),
        &mut |source| match source {
            prompt::Source::Stdin => note("Reading prompt from stdin..."),
            prompt::Source::ArgumentAndStdin => note("Reading additional input from stdin..."),
            prompt::Source::Argument => {}
        },
    )?;
    let output_schema = shared
        .output_schema
        .as_deref()
        .map(read_schema)
        .transpose()?;

    let mut loaded = context::load_at(overrides, &cwd)?;
    if let Some(model) = &shared.model {
        loaded.config.model.model = Some(model.clone());
    }
    let env = |name: &str| std::env::var(name).ok();
    let (model, provider) = resolve_provider(&loaded.config.model, &env)?;
    let resumed = target
        .as_ref()
        .map(|target| Resumed::find(&loaded.codex_home, target, &cwd, &provider.id))
        .transpose()?
        .map(|resumed| Resumed { fork, ..resumed });

    // The sandbox: the flag, else (resuming) the session's unless `-c`
    // sets it, else config, else read-only. Requirements may refuse it,
    // and then it falls back with a warning item.
    let overridden = |key: &str| {
        overrides
            .parse()
            .is_ok_and(|all| all.iter().any(|o| o.path() == [key]))
    };
    let (recorded_mode, recorded_approval) = resumed
        .as_ref()
        .map_or((None, None), Resumed::recorded_policy);
    let requested = if args.yolo {
        SandboxMode::DangerFullAccess
    } else if let Some(text) = &args.sandbox {
        text.parse::<SandboxMode>().map_err(CliError::SandboxMode)?
    } else if args.full_auto {
        SandboxMode::WorkspaceWrite
    } else if let Some(recorded) = recorded_mode.filter(|_| !overridden("sandbox_mode")) {
        recorded
    } else {
        loaded.config.sandbox_mode.unwrap_or(SandboxMode::ReadOnly)
    };
    // Nobody is there to approve anything: exec wants `never` (a resumed
    // session keeps its own unless `-c` sets one). Requirements may refuse
    // it, and then it falls back the same way, with a warning.
    let wanted_approval = match recorded_approval.filter(|_| !overridden("approval_policy")) {
        Some(recorded) => recorded,
        None if overridden("approval_policy") => loaded
            .config
            .approval_policy
            .unwrap_or(ApprovalPolicy::Never),
        None => ApprovalPolicy::Never,
    };
    let (mode, approval, mut warnings) =
        conversation::constrain(&loaded, requested, wanted_approval);
    let sandbox = crate::sandbox::policy(
        &loaded.config.sandbox_workspace_write,
        mode,
        &args.add_dir,
        &loaded.requirements,
    )?;
    let command_env = loaded
        .config
        .shell_environment_policy
        .apply(std::env::vars_os());

    // The thread: the resumed one, or a new one; and its file, unless
    // `--ephemeral`.
    let conversation::Thread {
        id: thread_id,
        history,
        opened,
    } = conversation::open_thread(
        &loaded.codex_home,
        resumed.as_ref(),
        &cwd,
        &provider.id,
        Front::Exec,
        (!shared.ephemeral).then_some(&CallerSettings::default()),
        &mut warnings,
    );

    let json = shared.json;
    let color = human::use_color(shared.color);
    let settings = Settings {
        cwd,
        model,
        provider: Arc::new(provider),
        mode,
        approval,
        reasoning_effort: loaded.config.model.reasoning_effort.clone(),
        output_schema,
        thread_id,
        notify: loaded.config.notify.clone(),
        resumed: recorded_mode.map(|mode| (mode, recorded_approval)),
    };
    let mut options = crate::session::session_options_at(overrides, &settings.cwd, Vec::new())?;
    options.watch_debounce = crate::session::watch_debounce(&loaded);
    let preloaded = crate::session::preloaded(loaded);
    let last_message_file = shared.output_last_message.clone();
    let outcome = codex_runtime::block_on(move || async move {
        let session = Session::start(options, Some(preloaded)).await?;
        let cancel = CancellationToken::new();
        let on_signal = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                on_signal.cancel();
            }
        });
        let runtime = TurnRuntime {
            provider: Arc::clone(&settings.provider),
            sandbox,
            sandbox_mode: settings.mode,
            approval: settings.approval,
            command_env,
        };
        let mut conversation = Conversation::new(Front::Exec, settings, runtime, history);
        if let Some(opened) = opened {
            conversation.record_into(&session, opened).await?;
        }
        let turn = Turn {
            prompt,
            images,
            warnings,
        };
        let result = drive(&session, &mut conversation, turn, &cancel, json, color).await;
        // Stops every server and every command, killing their groups, and
        // lets the session file take its last lines.
        session.shutdown().await;
        if let Some(problem) = conversation.record_problem() {
            note(&format!("warning: {problem}"));
        }
        crate::session::warn_audit_drops(&session);
        result
    })??;
    finish(outcome, last_message_file.as_deref(), json)
}

/// The user's side of the turn.
struct Turn {
    prompt: String,
    images: Vec<String>,
    /// Shown before the turn starts.
    warnings: Vec<String>,
}

/// Waits for the servers, then runs the turn, printing as it goes.
async fn drive(
    session: &Session,
    conversation: &mut Conversation,
    turn: Turn,
    cancel: &CancellationToken,
    json: bool,
    color: bool,
) -> Result<TurnOutcome, CliError> {
    let Turn {
        prompt,
        images,
        mut warnings,
    } = turn;
    let mut out = Output::new(json, color);
    out.thread_started(&conversation.settings, &prompt);

    let startup = tokio::select! {
        statuses = session.wait_first_attempts() => statuses?,
        () = cancel.cancelled() => return Ok(TurnOutcome::Interrupted),
    };
    let required_failed = startup_warnings(&startup, &mut warnings);
    let mut machine = conversation.next_turn(session, &startup).await?;
    let mut inputs: Vec<Input> = warnings.into_iter().map(Input::Warning).collect();
    if !required_failed.is_empty() {
        for input in inputs {
            for effect in machine.step(input) {
                if let turn::Effect::Emit(event) = effect {
                    out.event(&event);
                }
            }
        }
        let message = format!(
            "required MCP servers failed to initialize: {}",
            required_failed.join(", ")
        );
        out.fatal(&message);
        return Err(CliError::RequiredServers(message));
    }
    inputs.push(Input::Start {
        prompt: prompt.clone(),
        images,
    });
    let mut on_event = |event: TurnEvent| out.event(&event);
    let outcome = conversation
        .run(
            session,
            &mut machine,
            inputs,
            Hooks {
                approver: &no_one_to_ask,
                cancel,
                on_event: &mut on_event,
            },
        )
        .await;
    Ok(outcome)
}

/// What the servers' first attempts mean for a turn: a warning in
/// `warnings` for each server that is disabled by requirements or failed to
/// start and for each withheld tool (the model and the user read them),
/// a note on stderr for a lazy server that had to start, and the names of
/// the `required` servers that failed.
pub(crate) fn startup_warnings(
    startup: &[ServerStatus],
    warnings: &mut Vec<String>,
) -> Vec<String> {
    let mut required_failed = Vec::new();
    for status in startup {
        if status.startup == Startup::Lazy
            && !status.required
            && !matches!(status.state, ServerState::Lazy | ServerState::Disabled(_))
        {
            note(&format!(
                "note: MCP server '{}' started with the session: startup = \"lazy\" needs its \
                 tools pinned in a tool lock (run `codex mcp lock`)",
                status.name
            ));
        }
    }
    for status in startup {
        let reason = match &status.state {
            ServerState::Disabled(reason) if reason.is_by_user() => continue,
            ServerState::Disabled(reason) => {
                warnings.push(format!(
                    "MCP server '{}' is disabled: {reason}",
                    status.name
                ));
                continue;
            }
            ServerState::Failed(reason)
            | ServerState::Restarting {
                last_failure: reason,
            } => reason,
            ServerState::Ready { .. } | ServerState::Starting | ServerState::Lazy => continue,
        };
        warnings.push(format!(
            "MCP server '{}' failed to start: {reason}",
            status.name
        ));
        if status.required {
            required_failed.push(status.name.clone());
        }
    }
    for status in startup {
        for tool in &status.withheld {
            // Tools an admin forbids are never mentioned to the model.
            if matches!(tool.why, Withheld::Forbidden(_)) {
                continue;
            }
            warnings.push(format!(
                "MCP tool '{}' of server '{}' is withheld ({}): {}",
                tool.name,
                status.name,
                tool.why.state(),
                tool.why
            ));
        }
    }
    required_failed
}

/// Maps the outcome to an exit code, after `-o` and the final message.
fn finish(
    outcome: TurnOutcome,
    last_message_file: Option<&Path>,
    json: bool,
) -> Result<ExitCode, CliError> {
    match outcome {
        TurnOutcome::Completed { last_message, .. } => {
            if let Some(path) = last_message_file {
                let text = last_message.clone().unwrap_or_default();
                if last_message.is_none() {
                    note(&format!(
                        "Warning: no last agent message; wrote empty content to {}",
                        path.display()
                    ));
                }
                write_last_message(path, &text).map_err(|source| CliError::WriteFile {
                    path: path.to_owned(),
                    source,
                })?;
            }
            let both_terminals = std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
            if !json
                && !both_terminals
                && let Some(text) = last_message
            {
                // The answer goes out as the model wrote it into a file or
                // a pipe; a terminal gets it cleaned.
                if std::io::stdout().is_terminal() {
                    terminal::out(&text)?;
                } else {
                    terminal::out_raw(format!("{text}\n").as_bytes())?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        TurnOutcome::Failed { .. } => Ok(ExitCode::FAILURE),
        TurnOutcome::Interrupted => {
            note(
                "Interrupted (Ctrl-C): the turn was cancelled, and every command and MCP server \
                 it started was stopped.",
            );
            Ok(ExitCode::from(INTERRUPTED))
        }
    }
}

/// JSONL on stdout, or human progress on stderr.
struct Output {
    json: bool,
    human: human::Renderer,
    /// The message of the last `error` line, when it was the last line.
    last_error: Option<String>,
}

impl Output {
    fn new(json: bool, color: bool) -> Self {
        Output {
            json,
            human: human::Renderer::new(color),
            last_error: None,
        }
    }

    fn line(&self, value: &Value) {
        let _ = terminal::out_json(&value.to_string());
    }

    fn thread_started(&mut self, settings: &Settings, prompt: &str) {
        let thread_id = &settings.thread_id;
        if self.json {
            self.line(&jsonl::thread_started(thread_id));
        } else {
            self.human.header(&[
                ("workdir", settings.cwd.display().to_string()),
                ("model", settings.model.clone()),
                ("provider", settings.provider.id.clone()),
                ("approval", settings.approval.to_string()),
                ("sandbox", settings.mode.to_string()),
                ("session id", thread_id.to_owned()),
            ]);
            self.human.prompt(prompt);
        }
    }

    fn event(&mut self, event: &TurnEvent) {
        if self.json {
            // As in Codex, a failed turn ends with an `error` line and then
            // `turn.failed`, even when no error event came before it.
            if let TurnEvent::TurnFailed { message } = event
                && self.last_error.as_deref() != Some(message.as_str())
            {
                self.line(&jsonl::error(message));
            }
            self.last_error = match event {
                TurnEvent::Error { message } => Some(message.clone()),
                _ => None,
            };
            if let Some(line) = jsonl::event(event) {
                self.line(&line);
            }
        } else {
            self.human.event(event);
        }
    }

    fn fatal(&mut self, message: &str) {
        if self.json {
            self.line(&jsonl::error(message));
        }
        // Human mode: `main` prints the error once.
    }
}

fn note(text: &str) {
    terminal::err(text);
}

fn in_git_repo(cwd: &Path) -> bool {
    cwd.ancestors().any(|dir| dir.join(".git").exists())
}

fn read_schema(path: &Path) -> Result<Value, CliError> {
    let text = std::fs::read_to_string(path).map_err(|source| CliError::OutputSchema {
        path: path.to_owned(),
        problem: source.to_string(),
    })?;
    serde_json::from_str(&text).map_err(|err| CliError::OutputSchema {
        path: path.to_owned(),
        problem: format!("not valid JSON: {err}"),
    })
}

impl From<prompt::PromptError> for CliError {
    fn from(err: prompt::PromptError) -> Self {
        CliError::Prompt(err.to_string())
    }
}
