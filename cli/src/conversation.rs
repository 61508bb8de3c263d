//! One conversation (a thread) on the session tree, as every front end
//! drives it: `codex exec` runs one turn of it, the chat one per message,
//! and `codex mcp-server` one per `codex` or `codex-reply` call.
//!
//! A [`Conversation`] owns what outlives a turn: the history, the calls
//! the user approved for the session, the thread's rollout and the token
//! count. Each turn is a fresh [`turn::Machine`] run by
//! [`Session::run_turn`], so every front end runs the same machine under
//! the same policy; a front end only chooses the approver, the cancel
//! token and what it does with each event.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use codex_actors::config::{ApprovalPolicy, SandboxMode};
use codex_actors::model_stream::{ModelProvider, ResponseItem, TokenUsage};
use codex_actors::policy::fallback_warning;
use codex_actors::rollout::{CallerSettings, RolloutItem};
use codex_actors::session::{
    Approver, ServerStatus, Session, ThreadRecord, TurnIo, TurnRuntime, turn_policy,
};
use codex_actors::turn::{self, Input, TurnConfig, TurnEvent, TurnOutcome};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::context::Loaded;
use crate::error::CliError;
use crate::thread::Opened;

/// How long a command may run when the model does not say.
pub(crate) const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// Which front end drives the conversation: it decides what the model is
/// told about who is there, and how the rollout names its origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Front {
    /// `codex exec`: nobody is there to answer.
    Exec,
    /// The interactive chat.
    Chat,
    /// `codex mcp-server`: an MCP client asks, and answers approvals.
    McpServer,
}

impl Front {
    /// The rollout's `originator` and `source`, as Codex writes them.
    pub(crate) fn origin(self) -> (&'static str, &'static str) {
        match self {
            Front::Exec => ("codex_exec", "exec"),
            Front::Chat => ("codex_cli_rs", "cli"),
            Front::McpServer => ("codex_mcp_server", "mcp"),
        }
    }

    fn preamble(self) -> &'static str {
        match self {
            Front::Exec => {
                "You are a coding agent running non-interactively (`codex exec`). Nobody can \
                 answer questions or approve anything during this run: work with what you have, \
                 then give a concise final answer."
            }
            Front::Chat => {
                "You are a coding agent in an interactive terminal chat. The user reads your \
                 messages as they stream and answers approval requests; keep answers concise."
            }
            Front::McpServer => {
                "You are a coding agent called as a tool by another agent over MCP. Your final \
                 message is the tool's result: make it self-contained and concise."
            }
        }
    }
}

/// What the turns of a conversation run with, resolved from flags and
/// config.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) cwd: PathBuf,
    pub(crate) model: String,
    pub(crate) provider: Arc<ModelProvider>,
    pub(crate) mode: SandboxMode,
    pub(crate) approval: ApprovalPolicy,
    pub(crate) reasoning_effort: Option<String>,
    pub(crate) output_schema: Option<Value>,
    pub(crate) thread_id: String,
    pub(crate) notify: Option<Vec<String>>,
    /// The sandbox mode and approval policy of the resumed session's last
    /// turn, when resuming.
    pub(crate) resumed: Option<(SandboxMode, Option<ApprovalPolicy>)>,
}

/// The sandbox mode and approval policy the requirements leave of what
/// the front end asks for, with a warning for each that falls back.
pub(crate) fn constrain(
    loaded: &Loaded,
    mode: SandboxMode,
    approval: ApprovalPolicy,
) -> (SandboxMode, ApprovalPolicy, Vec<String>) {
    let mut warnings = Vec::new();
    let mut constrained_mode = loaded.effective.sandbox_mode.clone();
    if let Err(err) = constrained_mode.set(mode) {
        warnings.push(fallback_warning(
            "sandbox_mode",
            constrained_mode.get(),
            &err,
        ));
    }
    let mut constrained_approval = loaded.effective.approval_policy.clone();
    if let Err(err) = constrained_approval.set(approval) {
        warnings.push(fallback_warning(
            "approval_policy",
            constrained_approval.get(),
            &err,
        ));
    }
    (
        *constrained_mode.get(),
        *constrained_approval.get(),
        warnings,
    )
}

/// What a front end asks of a new or resumed conversation (exec resolves
/// its own flags, which predate this).
#[derive(Debug, Clone)]
pub(crate) struct Request {
    /// Which front end.
    pub(crate) front: Front,
    /// The working directory (already absolute).
    pub(crate) cwd: PathBuf,
    /// `-m`.
    pub(crate) model: Option<String>,
    /// `-s`; else the resumed session's, else config's, else read-only.
    pub(crate) sandbox: Option<SandboxMode>,
    /// `-a`; else the resumed session's, else config's, else on-request.
    pub(crate) approval: Option<ApprovalPolicy>,
    /// `--add-dir`.
    pub(crate) add_dirs: Vec<PathBuf>,
    /// The session to continue.
    pub(crate) resume: Option<crate::thread::Target>,
    /// Fork `resume` instead: a new thread from its history.
    pub(crate) fork: bool,
    /// Record nothing.
    pub(crate) ephemeral: bool,
    /// What a `codex mcp-server` caller chose, recorded in a new thread
    /// so that a reply after a restart runs with it again.
    pub(crate) caller: CallerSettings,
}

/// A conversation ready to start: what to open the session with, the
/// conversation itself, its file, and warnings for the user.
#[derive(Debug)]
pub(crate) struct Prepared {
    /// Config and requirements as loaded.
    pub(crate) loaded: Loaded,
    /// The conversation, not yet recording.
    pub(crate) conversation: Conversation,
    /// The rollout to record into, unless ephemeral (or it could not be
    /// opened: then a warning says so).
    pub(crate) opened: Option<Opened>,
    /// Fallbacks and notes, for the user.
    pub(crate) warnings: Vec<String>,
}

/// Loads config and requirements for `request` and resolves what its
/// turns run with. The requirements bound every choice: a flag, a
/// recorded session or config only chooses among what they allow.
pub(crate) fn prepare(
    overrides: &crate::args::ConfigOverrides,
    request: Request,
) -> Result<Prepared, CliError> {
    let mut loaded = crate::context::load_at(overrides, &request.cwd)?;
    if let Some(model) = &request.model {
        loaded.config.model.model = Some(model.clone());
    }
    let env = |name: &str| std::env::var(name).ok();
    let (model, provider) =
        codex_actors::model_stream::resolve_provider(&loaded.config.model, &env)?;
    let resumed = request
        .resume
        .as_ref()
        .map(|target| {
            crate::thread::Resumed::find(&loaded.codex_home, target, &request.cwd, &provider.id)
        })
        .transpose()?
        .map(|resumed| crate::thread::Resumed {
            fork: request.fork,
            ..resumed
        });
    let (recorded_mode, recorded_approval) = resumed
        .as_ref()
        .map_or((None, None), crate::thread::Resumed::recorded_policy);
    let mode = request
        .sandbox
        .or(recorded_mode)
        .or(loaded.config.sandbox_mode)
        .unwrap_or(SandboxMode::ReadOnly);
    let approval = request
        .approval
        .or(recorded_approval)
        .or(loaded.config.approval_policy)
        .unwrap_or(ApprovalPolicy::OnRequest);
    let (mode, approval, mut warnings) = constrain(&loaded, mode, approval);
    let sandbox = crate::sandbox::policy(
        &loaded.config.sandbox_workspace_write,
        mode,
        &request.add_dirs,
        &loaded.requirements,
    )?;
    let command_env = loaded
        .config
        .shell_environment_policy
        .apply(std::env::vars_os());
    let Thread {
        id: thread_id,
        history,
        opened,
    } = open_thread(
        &loaded.codex_home,
        resumed.as_ref(),
        &request.cwd,
        &provider.id,
        request.front,
        (!request.ephemeral).then_some(&request.caller),
        &mut warnings,
    );
    let provider = Arc::new(provider);
    let settings = Settings {
        cwd: request.cwd,
        model,
        provider: Arc::clone(&provider),
        mode,
        approval,
        reasoning_effort: loaded.config.model.reasoning_effort.clone(),
        output_schema: None,
        thread_id,
        notify: loaded.config.notify.clone(),
        resumed: recorded_mode.map(|mode| (mode, recorded_approval)),
    };
    let runtime = TurnRuntime {
        provider,
        sandbox,
        sandbox_mode: mode,
        approval,
        command_env,
    };
    Ok(Prepared {
        loaded,
        conversation: Conversation::new(request.front, settings, runtime, history),
        opened,
        warnings,
    })
}

/// The thread a run continues or starts.
pub(crate) struct Thread {
    /// Its id: the resumed one, or a new UUID (a new thread, a fork).
    pub(crate) id: String,
    /// The history to continue, made valid (empty for a new thread).
    pub(crate) history: Vec<ResponseItem>,
    /// Its rollout, open to append, unless ephemeral or it could not be
    /// opened (then `warnings` says so: a file that cannot be written
    /// costs the record, not the run).
    pub(crate) opened: Option<Opened>,
}

/// Continues or forks `resumed`, or starts a new thread of `front` in `cwd`,
/// recorded with `caller`'s settings, or not at all when `record` is
/// `None` (`--ephemeral`); notes on a resumed file and a rollout that
/// cannot be written go to `warnings`.
pub(crate) fn open_thread(
    codex_home: &Path,
    resumed: Option<&crate::thread::Resumed>,
    cwd: &Path,
    provider: &str,
    front: Front,
    record: Option<&CallerSettings>,
    warnings: &mut Vec<String>,
) -> Thread {
    let id = resumed.map_or_else(
        || uuid::Uuid::now_v7().to_string(),
        crate::thread::Resumed::continued_id,
    );
    let (history, notes) =
        resumed.map_or_else(|| (Vec::new(), Vec::new()), crate::thread::Resumed::history);
    warnings.extend(notes);
    let opened = record.and_then(|caller| {
        let create =
            || crate::thread::create(codex_home, &id, cwd, provider, front.origin(), caller);
        let opened = match resumed {
            Some(resumed) => resumed.open(create),
            None => create(),
        };
        match opened {
            Ok(opened) => Some(opened),
            Err(err) => {
                warnings.push(format!("this session will not be saved: {err}"));
                None
            }
        }
    });
    Thread {
        id,
        history,
        opened,
    }
}

impl Drop for Conversation {
    /// A new file no turn wrote to is removed: it was created empty, and
    /// only this conversation would have written to it.
    fn drop(&mut self) {
        if self.unwritten.is_empty() {
            return;
        }
        if let Some(path) = &self.record_path
            && std::fs::symlink_metadata(path).is_ok_and(|meta| meta.is_file() && meta.len() == 0)
        {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// A front end's side of one turn.
pub(crate) struct Hooks<'a> {
    /// Answers approval requests.
    pub(crate) approver: &'a Approver,
    /// Interrupts the turn.
    pub(crate) cancel: &'a CancellationToken,
    /// Sees every event, in order.
    pub(crate) on_event: &'a mut (dyn FnMut(TurnEvent) + Send),
}

/// One thread: what outlives its turns.
#[derive(Debug)]
pub(crate) struct Conversation {
    front: Front,
    pub(crate) settings: Settings,
    pub(crate) runtime: TurnRuntime,
    history: Vec<ResponseItem>,
    approvals: BTreeSet<String>,
    record: Option<ThreadRecord>,
    record_path: Option<PathBuf>,
    /// A new file's first lines (its `session_meta`, and for a fork the
    /// recorded lines), held back until the first turn: a chat opened and
    /// left without a word leaves no session behind.
    unwritten: Vec<RolloutItem>,
    /// Whether the resumed session has been told it runs under other rules.
    told_rules: bool,
}

impl Conversation {
    /// A conversation continuing `history` (empty for a new thread).
    pub(crate) fn new(
        front: Front,
        settings: Settings,
        runtime: TurnRuntime,
        history: Vec<ResponseItem>,
    ) -> Self {
        Conversation {
            front,
            settings,
            runtime,
            history,
            approvals: BTreeSet::new(),
            record: None,
            record_path: None,
            unwritten: Vec::new(),
            told_rules: false,
        }
    }

    /// Starts recording into `opened`: the writer now, its opening lines
    /// when the first turn starts.
    pub(crate) async fn record_into(
        &mut self,
        session: &Session,
        opened: Opened,
    ) -> Result<(), CliError> {
        let Opened {
            path,
            file,
            opening,
        } = opened;
        let recorder = session
            .record(file, path.clone(), self.settings.thread_id.clone())
            .await?;
        self.unwritten = opening;
        self.record = Some(ThreadRecord {
            recorder,
            usage: TokenUsage::default(),
        });
        self.record_path = Some(path);
        Ok(())
    }

    /// The rollout file, when the thread is recorded.
    pub(crate) fn record_path(&self) -> Option<&Path> {
        self.record_path.as_deref()
    }

    /// Why the rollout lost lines, if it did.
    pub(crate) fn record_problem(&self) -> Option<String> {
        self.record
            .as_ref()
            .and_then(|record| record.recorder.problem())
    }

    /// The conversation so far.
    pub(crate) fn history(&self) -> &[ResponseItem] {
        &self.history
    }

    /// The machine of the next turn: the tools on offer now, the policy
    /// in force now, the history and the session's approvals so far.
    pub(crate) async fn next_turn(
        &mut self,
        session: &Session,
        servers: &[ServerStatus],
    ) -> Result<turn::Machine, CliError> {
        if let Some(record) = &self.record {
            record
                .recorder
                .record_all(std::mem::take(&mut self.unwritten));
        }
        let mcp_tools = session.mcp_tools().await?;
        let policy = turn_policy(&session.policy(), &self.runtime);
        let settings = &self.settings;
        // A resumed conversation is told when it now runs under other rules
        // (the admin's requirements may have tightened since).
        if let Some((mode, approval)) = settings.resumed
            && !self.told_rules
            && !self.history.is_empty()
            && (mode != policy.sandbox_mode || approval.is_some_and(|a| a != policy.approval))
        {
            let notice = ResponseItem::developer_text(format!(
                "This session resumes under other rules than it was recorded with.\n\n{}",
                environment_context(&settings.cwd, policy.sandbox_mode, policy.approval)
            ));
            if let Some(record) = &self.record {
                record
                    .recorder
                    .record(RolloutItem::ResponseItem(notice.to_value()));
            }
            self.history.push(notice);
        }
        self.told_rules = true;
        let instructions = instructions(self.front, &self.settings, mcp_tools.len());
        let settings = &self.settings;
        Ok(turn::Machine::new(TurnConfig {
            model: settings.model.clone(),
            reasoning_effort: settings.reasoning_effort.clone(),
            thread_id: settings.thread_id.clone(),
            turn_id: uuid::Uuid::now_v7().to_string(),
            instructions,
            cwd: settings.cwd.clone(),
            mcp_tools,
            mcp_servers: servers.iter().map(|status| status.name.clone()).collect(),
            output_schema: settings.output_schema.clone(),
            command_timeout: COMMAND_TIMEOUT,
            seed: std::process::id().into(),
            policy,
            session_approvals: self.approvals.clone(),
            history: self.history.clone(),
        }))
    }

    /// Runs `machine` from `inputs` to its end, then keeps what the turn
    /// added to the history and the approvals, and runs `notify`.
    pub(crate) async fn run(
        &mut self,
        session: &Session,
        machine: &mut turn::Machine,
        inputs: Vec<Input>,
        hooks: Hooks<'_>,
    ) -> TurnOutcome {
        let prompt = inputs.iter().find_map(|input| match input {
            Input::Start { prompt, .. } => Some(prompt.clone()),
            _ => None,
        });
        let outcome = session
            .run_turn(
                machine,
                inputs,
                &self.runtime,
                TurnIo {
                    approver: hooks.approver,
                    cancel: hooks.cancel,
                    on_event: hooks.on_event,
                    record: self.record.as_mut(),
                },
            )
            .await;
        self.history = machine.history().to_vec();
        self.approvals = machine.session_approvals().clone();
        if let (TurnOutcome::Completed { last_message, .. }, Some(argv)) =
            (&outcome, &self.settings.notify)
        {
            let turn = crate::exec::notify::TurnComplete {
                thread_id: &self.settings.thread_id,
                turn_id: &machine.config().turn_id,
                cwd: &self.settings.cwd,
                input_messages: prompt.into_iter().collect(),
                last_assistant_message: last_message.as_deref(),
            };
            if let Err(problem) = crate::exec::notify::notify(argv, &turn) {
                crate::terminal::err(&format!("warning: {problem}"));
            }
        }
        outcome
    }
}

/// The developer message that opens a conversation.
fn instructions(front: Front, settings: &Settings, mcp_tools: usize) -> String {
    let mut text = format!(
        "{preamble} The approval policy is `{approval}`: {approvals}\n\nUse the `exec_command` \
         tool to run shell commands. They run in a `{mode}` sandbox with network access \
         {network}, in {cwd} unless you pass `workdir`.",
        preamble = front.preamble(),
        approval = settings.approval,
        approvals = match (front, settings.approval) {
            (Front::Exec, _) | (_, ApprovalPolicy::Never) =>
                "a call that needs an approval is not run.",
            _ =>
                "a call that needs an approval waits for the user's answer; a denied call tells you so.",
        },
        mode = settings.mode,
        network = network(settings.mode),
        cwd = settings.cwd.display(),
    );
    if mcp_tools > 0 {
        text.push_str(
            " Tools named `mcp__<server>__<tool>` are provided by MCP servers the \
             administrator allowed.",
        );
    }
    text.push_str("\n\n");
    text.push_str(&environment_context(
        &settings.cwd,
        settings.mode,
        settings.approval,
    ));
    text
}

fn network(mode: SandboxMode) -> &'static str {
    match mode {
        SandboxMode::DangerFullAccess | SandboxMode::ExternalSandbox => "enabled",
        SandboxMode::ReadOnly | SandboxMode::WorkspaceWrite => "restricted",
    }
}

/// Codex's `<environment_context>` block.
fn environment_context(cwd: &Path, mode: SandboxMode, approval: ApprovalPolicy) -> String {
    format!(
        "<environment_context>\n  <cwd>{}</cwd>\n  <approval_policy>{approval}</approval_policy>\n  \
         <sandbox_mode>{mode}</sandbox_mode>\n  <network_access>{}</network_access>\n\
         </environment_context>",
        cwd.display(),
        network(mode),
    )
}
