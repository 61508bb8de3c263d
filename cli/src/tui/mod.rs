//! The interactive chat: `codex [PROMPT]` and `codex resume`.
//!
//! The chat is one more client of the session actor tree. Its state is a
//! pure model ([`app::App`], `update(event) -> effects`), drawn by
//! [`view`] through ratatui; this module is the shell that feeds it keys
//! (crossterm's event stream), the turn's events, approval requests and
//! server statuses, and carries out its effects. Turns run through the
//! same [`Conversation`] as `codex exec`, on a task of their own, so the
//! screen keeps answering while the model streams.
//!
//! Redraws happen only after something happened: a key, a turn event
//! (coalesced: every event already queued is applied before one draw), a
//! status change, and a 250 ms tick while a turn runs (its elapsed time).
//! An idle chat wakes for nothing.
//!
//! The terminal is restored on every way out: a normal exit, an error
//! (the [`Screen`] guard), and a panic (the hook `ratatui::init` sets).

mod app;
mod cells;
mod view;

use std::collections::HashMap;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::rc::Rc;
use std::time::{Duration, Instant};

use codex_actors::config::{ApprovalPolicy, SandboxMode};
use codex_actors::model_stream::{ContentItem, ResponseItem};
use codex_actors::policy::Constrained;
use codex_actors::rollout::{LastFilter, read_rollout, recent, resume_history};
use codex_actors::session::{ServerState, ServerStatus, Session, SessionEvent};
use codex_actors::turn::{ApprovalDecision, ApprovalRequest, Input, TurnOutcome};
use crossterm::event::{Event as TermEvent, EventStream};
use futures::StreamExt as _;
use futures::future::BoxFuture;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::args::{ChatArgs, ChatFlags, ChatResumeArgs, ConfigOverrides};
use crate::conversation::{self, Conversation, Front, Hooks, Prepared, Request};
use crate::error::CliError;
use crate::thread::{self, Target};
use app::{App, Effect, Event, SessionEntry, Status};
use cells::Cell;

/// How often the running turn's elapsed time is redrawn.
const TICK: Duration = Duration::from_millis(250);
/// How long `/diff` may take.
const DIFF_TIMEOUT: Duration = Duration::from_secs(10);
/// The most `/diff` shows.
const DIFF_LINES: usize = 400;
/// How many sessions `/resume` offers.
const PICKER: usize = 20;
/// How long quitting waits for an interrupted turn to wind down.
const TURN_STOP: Duration = Duration::from_secs(5);

/// How the chat starts.
#[derive(Debug)]
pub(crate) enum Start {
    /// `codex [PROMPT]`.
    New(ChatArgs),
    /// `codex resume`.
    Resume(ChatResumeArgs),
    /// `codex fork`.
    Fork(ChatResumeArgs),
}

/// Runs the chat until the user quits.
pub(crate) fn run(overrides: &ConfigOverrides, start: Start) -> Result<ExitCode, CliError> {
    if !(std::io::stdin().is_terminal() && std::io::stdout().is_terminal()) {
        return Err(CliError::NotATerminal);
    }
    let (args, fork) = match start {
        Start::New(args) => {
            let request = request(args.flags.clone(), None, false)?;
            return open_chat(
                overrides,
                request,
                &args.flags,
                args.prompt,
                (None, Listing::default()),
            );
        }
        Start::Resume(args) => (args, false),
        Start::Fork(args) => (args, true),
    };
    // Neither an id nor `--last`: the chat opens on the picker of recorded
    // sessions, as Codex's does (`--all`: of every directory).
    let pick = (!args.last && args.session_id.is_none()).then_some(Pick { fork });
    let (prompt, resume) = if pick.is_some() {
        (args.prompt, None)
    } else if args.last {
        if args.prompt.is_some() {
            return Err(CliError::Usage(
                "with --last, give only the first message (a session id and --last \
                 exclude each other)"
                    .to_owned(),
            ));
        }
        let last = Target::Last {
            all: args.all,
            interactive_only: !args.include_non_interactive,
        };
        (args.session_id, Some(last))
    } else {
        match args.session_id {
            Some(id) if !args.all => (args.prompt, Some(Target::Id(id))),
            _ => {
                return Err(CliError::Usage(
                    "--all goes with --last, or alone for the picker of every \
                     directory's sessions"
                        .to_owned(),
                ));
            }
        }
    };
    let listing = Listing {
        every_directory: args.all,
        include_non_interactive: args.include_non_interactive,
    };
    let request = request(args.flags.clone(), resume, fork)?;
    open_chat(overrides, request, &args.flags, prompt, (pick, listing))
}

/// Opens the chat `request` asks for, with `flags`' images on the first
/// message.
fn open_chat(
    overrides: &ConfigOverrides,
    request: Request,
    flags: &ChatFlags,
    prompt: Option<String>,
    offer: (Option<Pick>, Listing),
) -> Result<ExitCode, CliError> {
    let images = flags
        .images
        .iter()
        .map(|path| crate::exec::image::data_url(path))
        .collect::<Result<Vec<_>, _>>()?;
    let prepared = conversation::prepare(overrides, request)?;
    let overrides = overrides.clone();
    codex_runtime::block_on(move || async move {
        chat(&overrides, prepared, prompt, images, offer).await
    })?
}

/// The picker `codex resume` and `codex fork` open on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pick {
    /// The session picked is forked (`codex fork`), not continued.
    fork: bool,
}

/// Which recorded sessions the chat offers, in that picker and `/resume`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Listing {
    /// Those of every directory (`--all`), not only the working
    /// directory's.
    every_directory: bool,
    /// Those of `codex exec` and MCP clients too
    /// (`--include-non-interactive`), not only chats.
    include_non_interactive: bool,
}

/// The conversation the flags ask for.
fn request(flags: ChatFlags, resume: Option<Target>, fork: bool) -> Result<Request, CliError> {
    let cwd = crate::context::working_dir(flags.cd.as_deref())?;
    let mut sandbox = flags
        .sandbox
        .as_deref()
        .map(str::parse::<SandboxMode>)
        .transpose()
        .map_err(CliError::SandboxMode)?;
    let mut approval = flags
        .approval
        .as_deref()
        .map(str::parse::<ApprovalPolicy>)
        .transpose()
        .map_err(CliError::ApprovalPolicy)?;
    if flags.full_auto {
        sandbox = Some(SandboxMode::WorkspaceWrite);
        approval = Some(ApprovalPolicy::OnRequest);
    }
    // Asked for, not granted: requirements constrain both, as any flag.
    if flags.yolo {
        sandbox = Some(SandboxMode::DangerFullAccess);
        approval = Some(ApprovalPolicy::Never);
    }
    Ok(Request {
        front: Front::Chat,
        cwd,
        model: flags.model,
        sandbox,
        approval,
        add_dirs: flags.add_dir,
        resume,
        fork,
        ephemeral: false,
        caller: Default::default(),
    })
}

/// What the shell hears from the turn task and the approver.
enum Shell {
    /// For the app.
    App(Event),
    /// The turn asks; the answer goes back through `reply`.
    Ask(ApprovalRequest, oneshot::Sender<ApprovalDecision>),
    /// The turn ended; the conversation comes back.
    Done(TurnOutcome, Box<Conversation>),
}

/// The chat's shell: the session, the conversation when no turn has it,
/// and what answers go back to.
struct Chat {
    session: Rc<Session>,
    conversation: Option<Box<Conversation>>,
    codex_home: PathBuf,
    approval_policy: Constrained<ApprovalPolicy>,
    requirement_sources: Vec<String>,
    tx: mpsc::UnboundedSender<Shell>,
    cancel: Option<CancellationToken>,
    replies: HashMap<String, oneshot::Sender<ApprovalDecision>>,
    /// Images for the first message.
    images: Vec<String>,
    /// Servers already reported as failed or disabled.
    reported: Vec<String>,
    /// Which sessions the picker offers.
    listing: Listing,
}

async fn chat(
    overrides: &ConfigOverrides,
    prepared: Prepared,
    prompt: Option<String>,
    images: Vec<String>,
    (pick, listing): (Option<Pick>, Listing),
) -> Result<ExitCode, CliError> {
    let Prepared {
        loaded,
        conversation,
        opened,
        warnings,
    } = prepared;
    let mut options =
        crate::session::session_options_at(overrides, &conversation.settings.cwd, Vec::new())?;
    options.watch_debounce = crate::session::watch_debounce(&loaded);
    let codex_home = loaded.codex_home.clone();
    let approval_policy = loaded.effective.approval_policy.clone();
    let requirement_sources = loaded
        .requirements
        .layers
        .iter()
        .map(|layer| layer.source.to_string())
        .collect();
    let session = Rc::new(Session::start(options, Some(crate::session::preloaded(loaded))).await?);
    let mut conversation = Box::new(conversation);
    let mut notes: Vec<Cell> = warnings.into_iter().map(Cell::Warning).collect();
    if let Some(opened) = opened
        && let Err(err) = conversation.record_into(&session, opened).await
    {
        notes.push(Cell::Warning(format!(
            "this session will not be saved: {err}"
        )));
    }
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut shell = Chat {
        session: Rc::clone(&session),
        conversation: None,
        codex_home,
        approval_policy,
        requirement_sources,
        tx,
        cancel: None,
        replies: HashMap::new(),
        images,
        reported: Vec::new(),
        listing,
    };
    let mut history = history_cells(conversation.history());
    history.extend(notes);
    let mut app = App::new(shell.status_of(&conversation), history);
    shell.conversation = Some(conversation);

    let mut screen = Screen::enter()?;
    let mut keys = EventStream::new();
    let mut session_events = session.subscribe();
    let mut events_open = true;
    let mut ticker = tokio::time::interval(TICK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let now = Instant::now();
    if let Some(prompt) = prompt.filter(|prompt| !prompt.trim().is_empty()) {
        let effects = app.update(Event::Paste(prompt), now);
        shell.apply(&mut app, effects).await;
        let effects = app.update(
            Event::Key(crossterm::event::KeyEvent::new(
                crossterm::event::KeyCode::Enter,
                crossterm::event::KeyModifiers::NONE,
            )),
            now,
        );
        shell.apply(&mut app, effects).await;
    }
    shell.refresh_servers(&mut app).await;
    if let Some(pick) = pick {
        let entries = shell.sessions();
        app.update(
            Event::Sessions {
                entries,
                fork: pick.fork,
            },
            Instant::now(),
        );
    }
    loop {
        screen.draw(&app)?;
        if app.quit {
            break;
        }
        let wake = app.next_wake().map(tokio::time::Instant::from_std);
        tokio::select! {
            key = keys.next() => match key {
                Some(Ok(TermEvent::Key(key))) => {
                    let effects = app.update(Event::Key(key), Instant::now());
                    shell.apply(&mut app, effects).await;
                }
                Some(Ok(TermEvent::Paste(text))) => {
                    let effects = app.update(Event::Paste(text), Instant::now());
                    shell.apply(&mut app, effects).await;
                }
                Some(Ok(_)) => {}
                // The terminal is gone: nobody is left to chat with.
                Some(Err(_)) | None => break,
            },
            message = rx.recv() => {
                let mut next = message;
                // Apply everything already queued, then draw once.
                while let Some(message) = next {
                    shell.hear(&mut app, message).await;
                    next = rx.try_recv().ok();
                }
            }
            event = session_events.recv(), if events_open => match event {
                Ok(SessionEvent::Server(_) | SessionEvent::PolicyApplied { .. })
                | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    shell.refresh_servers(&mut app).await;
                }
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => events_open = false,
            },
            _ = ticker.tick(), if app.is_running() => {
                app.update(Event::Tick, Instant::now());
            }
            () = async {
                match wake {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            } => {
                app.update(Event::Tick, Instant::now());
            }
        }
    }
    drop(screen);
    // A turn still running is interrupted, and its conversation awaited
    // (briefly), so that its last lines reach the rollout first.
    if let Some(cancel) = shell.cancel.take() {
        cancel.cancel();
        let finished = tokio::time::timeout(TURN_STOP, async {
            while let Some(message) = rx.recv().await {
                if let Shell::Done(_, conversation) = message {
                    return Some(conversation);
                }
            }
            None
        })
        .await;
        if let Ok(Some(conversation)) = finished {
            shell.conversation = Some(conversation);
        }
    }
    session.shutdown().await;
    if let Some(problem) = shell
        .conversation
        .as_ref()
        .and_then(|conversation| conversation.record_problem())
    {
        crate::terminal::err(&format!("warning: {problem}"));
    }
    if let Some(path) = shell
        .conversation
        .as_ref()
        .and_then(|conversation| conversation.record_path())
    {
        crate::terminal::err(&format!(
            "To continue this session, run `codex resume {}` ({}).",
            app.status.session_id,
            path.display()
        ));
    }
    crate::session::warn_audit_drops(&session);
    Ok(ExitCode::SUCCESS)
}

impl Chat {
    fn status_of(&self, conversation: &Conversation) -> Status {
        let settings = &conversation.settings;
        Status {
            model: settings.model.clone(),
            provider: settings.provider.id.clone(),
            sandbox: settings.mode.to_string(),
            approval: settings.approval.to_string(),
            requirement_sources: self.requirement_sources.clone(),
            session_id: settings.thread_id.clone(),
            rollout: conversation.record_path().map(Path::to_owned),
            cwd: settings.cwd.clone(),
        }
    }

    async fn hear(&mut self, app: &mut App, message: Shell) {
        match message {
            Shell::App(event) => {
                let effects = app.update(event, Instant::now());
                Box::pin(self.apply(app, effects)).await;
            }
            Shell::Ask(request, reply) => {
                self.replies.insert(request.call_id.clone(), reply);
                app.update(Event::Ask(request), Instant::now());
            }
            Shell::Done(outcome, conversation) => {
                self.cancel = None;
                // Unanswered requests of the ended turn are denied.
                self.replies.clear();
                self.conversation = Some(conversation);
                let effects = app.update(Event::TurnDone(outcome), Instant::now());
                Box::pin(self.apply(app, effects)).await;
            }
        }
    }

    async fn apply(&mut self, app: &mut App, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::Submit(text) => self.submit(text),
                Effect::Interrupt => {
                    if let Some(cancel) = &self.cancel {
                        cancel.cancel();
                    }
                }
                Effect::Answer { call_id, decision } => {
                    if let Some(reply) = self.replies.remove(&call_id) {
                        let _ = reply.send(decision);
                    }
                }
                Effect::RefreshServers => self.refresh_servers(app).await,
                Effect::Diff => {
                    let cwd = self.cwd();
                    let text = diff(&cwd).await;
                    app.update(Event::Note(text), Instant::now());
                }
                Effect::New => self.replace(app, None, false).await,
                Effect::ListSessions => {
                    let entries = self.sessions();
                    app.update(
                        Event::Sessions {
                            entries,
                            fork: false,
                        },
                        Instant::now(),
                    );
                }
                Effect::Resume(id) => self.replace(app, Some(id), false).await,
                Effect::Fork(id) => self.replace(app, Some(id), true).await,
                Effect::SetModel(model) => {
                    if let Some(conversation) = &mut self.conversation {
                        conversation.settings.model.clone_from(&model);
                        app.status.model.clone_from(&model);
                        app.update(
                            Event::Note(format!("model set to {model} from the next turn")),
                            Instant::now(),
                        );
                    }
                }
                Effect::SetApproval(policy) => {
                    let mut constrained = self.approval_policy.clone();
                    let note = match constrained.set(policy) {
                        Ok(()) => {
                            if let Some(conversation) = &mut self.conversation {
                                conversation.settings.approval = policy;
                                conversation.runtime.approval = policy;
                            }
                            app.status.approval = policy.to_string();
                            Event::Note(format!("approval policy set to {policy}"))
                        }
                        Err(err) => Event::Problem(format!(
                            "approval policy {policy} is not allowed: {err}"
                        )),
                    };
                    app.update(note, Instant::now());
                }
                Effect::Quit => {}
            }
        }
    }

    fn cwd(&self) -> PathBuf {
        self.conversation.as_ref().map_or_else(
            || std::env::current_dir().unwrap_or_default(),
            |conversation| conversation.settings.cwd.clone(),
        )
    }

    /// Starts a turn with `prompt` on a task of its own; the conversation
    /// comes back with [`Shell::Done`].
    fn submit(&mut self, prompt: String) {
        let Some(mut conversation) = self.conversation.take() else {
            return;
        };
        let cancel = CancellationToken::new();
        self.cancel = Some(cancel.clone());
        let session = Rc::clone(&self.session);
        let tx = self.tx.clone();
        let images = std::mem::take(&mut self.images);
        tokio::task::spawn_local(async move {
            let asks = tx.clone();
            let approver = move |request: ApprovalRequest| -> BoxFuture<'static, ApprovalDecision> {
                let (reply, answer) = oneshot::channel();
                let _ = asks.send(Shell::Ask(request, reply));
                // No answer (the turn ended, the chat quit) denies.
                Box::pin(async move { answer.await.unwrap_or(ApprovalDecision::Deny) })
            };
            let events = tx.clone();
            let mut on_event = move |event| {
                let _ = events.send(Shell::App(Event::Turn(event)));
            };
            let outcome = async {
                let servers = tokio::select! {
                    servers = session.wait_first_attempts() => servers.unwrap_or_default(),
                    () = cancel.cancelled() => return TurnOutcome::Interrupted,
                };
                let mut machine = match conversation.next_turn(&session, &servers).await {
                    Ok(machine) => machine,
                    Err(err) => {
                        return TurnOutcome::Failed {
                            message: err.to_string(),
                        };
                    }
                };
                conversation
                    .run(
                        &session,
                        &mut machine,
                        vec![Input::Start { prompt, images }],
                        Hooks {
                            approver: &approver,
                            cancel: &cancel,
                            on_event: &mut on_event,
                        },
                    )
                    .await
            }
            .await;
            let _ = tx.send(Shell::Done(outcome, conversation));
        });
    }

    async fn refresh_servers(&mut self, app: &mut App) {
        let Ok(servers) = self.session.statuses().await else {
            return;
        };
        for server in &servers {
            let problem = match &server.state {
                ServerState::Disabled(reason) if !reason.is_by_user() => {
                    format!("MCP server '{}' is disabled: {reason}", server.name)
                }
                ServerState::Failed(reason) => {
                    format!("MCP server '{}' failed: {reason}", server.name)
                }
                _ => continue,
            };
            if !self.reported.contains(&server.name) {
                self.reported.push(server.name.clone());
                app.cells.push(Cell::Warning(problem));
            }
        }
        self.reported.retain(|name| {
            servers.iter().any(|server: &ServerStatus| {
                &server.name == name
                    && matches!(
                        server.state,
                        ServerState::Disabled(_) | ServerState::Failed(_)
                    )
            })
        });
        app.update(Event::Servers(servers), Instant::now());
    }

    /// The sessions of this directory (of every one, under `--all`) that
    /// hold something to continue, newest first.
    fn sessions(&self) -> Vec<SessionEntry> {
        let Some(conversation) = &self.conversation else {
            return Vec::new();
        };
        let root = thread::sessions_root(&self.codex_home);
        let filter = LastFilter {
            cwd: (!self.listing.every_directory).then_some(&conversation.settings.cwd),
            model_provider: Some(&conversation.settings.provider.id),
            interactive_only: !self.listing.include_non_interactive,
        };
        // Files are read only until the picker is full, so chats left
        // empty, passed over below, cannot crowd out the ones worth offering.
        let Ok(paths) = recent(&root, filter) else {
            return Vec::new();
        };
        paths
            .filter_map(|path| {
                let rollout = read_rollout(&path).ok()?;
                let (history, _) = resume_history(&rollout);
                // A chat opened and left without a word has nothing to
                // continue (opening the picker itself starts one).
                if history.is_empty() {
                    return None;
                }
                let preview = history
                    .iter()
                    .find_map(user_text)
                    .unwrap_or_else(|| "(no message)".to_owned());
                Some(SessionEntry {
                    id: rollout.meta.id.clone(),
                    when: rollout
                        .meta
                        .timestamp
                        .chars()
                        .take(16)
                        .collect::<String>()
                        .replace('T', " "),
                    preview: preview.lines().next().unwrap_or_default().to_owned(),
                    cwd: self
                        .listing
                        .every_directory
                        .then(|| rollout.meta.cwd.display().to_string()),
                    path,
                })
            })
            .filter(|entry| {
                Some(entry.id.as_str()) != Some(conversation.settings.thread_id.as_str())
            })
            .take(PICKER)
            .collect()
    }

    /// `/new` (no id) or `/resume ID`: the conversation is replaced by a
    /// new thread or the recorded one (a fork of it, with `fork`), with the
    /// same settings.
    async fn replace(&mut self, app: &mut App, id: Option<String>, fork: bool) {
        let Some(old) = self.conversation.take() else {
            return;
        };
        let settings = old.settings.clone();
        let runtime = old.runtime.clone();
        let mut recorded = None;
        let create = |thread_id: &str| {
            thread::create(
                &self.codex_home,
                thread_id,
                &settings.cwd,
                &settings.provider.id,
                Front::Chat.origin(),
                &Default::default(),
            )
        };
        let (thread_id, history, opened) = match &id {
            None => {
                let thread_id = uuid::Uuid::now_v7().to_string();
                let opened = create(&thread_id);
                (thread_id, Vec::new(), opened)
            }
            Some(id) => {
                let found = thread::Resumed::find(
                    &self.codex_home,
                    &Target::Id(id.clone()),
                    &settings.cwd,
                    &settings.provider.id,
                );
                match found {
                    Ok(resumed) => {
                        let resumed = thread::Resumed { fork, ..resumed };
                        let (history, _) = resumed.history();
                        let (mode, approval) = resumed.recorded_policy();
                        recorded = mode.map(|mode| (mode, approval));
                        let thread_id = resumed.continued_id();
                        let opened = resumed.open(|| create(&thread_id));
                        (thread_id, history, opened)
                    }
                    Err(err) => {
                        self.conversation = Some(old);
                        app.update(Event::Problem(err.to_string()), Instant::now());
                        return;
                    }
                }
            }
        };
        let mut settings = settings;
        settings.thread_id = thread_id;
        settings.resumed = recorded;
        let mut conversation = Box::new(Conversation::new(Front::Chat, settings, runtime, history));
        let mut notes = Vec::new();
        match opened {
            Ok(opened) => {
                if let Err(err) = conversation.record_into(&self.session, opened).await {
                    notes.push(Cell::Warning(format!(
                        "this session will not be saved: {err}"
                    )));
                }
            }
            Err(err) => notes.push(Cell::Warning(format!(
                "this session will not be saved: {err}"
            ))),
        }
        let mut history = history_cells(conversation.history());
        history.extend(notes);
        let status = self.status_of(&conversation);
        self.conversation = Some(conversation);
        app.update(Event::Opened { status, history }, Instant::now());
    }
}

/// What a recorded history shows: the user's messages and the answers.
fn history_cells(history: &[ResponseItem]) -> Vec<Cell> {
    history
        .iter()
        .filter_map(|item| match item {
            ResponseItem::Message(message) if message.role == "assistant" => {
                let text = message_text(&message.content);
                (!text.is_empty()).then_some(Cell::Agent(text))
            }
            _ => user_text(item).map(Cell::User),
        })
        .collect()
}

/// A user message's text, unless it is context we added.
fn user_text(item: &ResponseItem) -> Option<String> {
    match item {
        ResponseItem::Message(message) if message.role == "user" => {
            let text = message_text(&message.content);
            (!text.is_empty() && !text.starts_with("<environment_context>")).then_some(text)
        }
        _ => None,
    }
}

fn message_text(content: &[ContentItem]) -> String {
    content
        .iter()
        .filter_map(|part| match part {
            ContentItem::InputText { text } | ContentItem::OutputText { text } => {
                Some(text.as_str())
            }
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `git diff` of the working tree, with untracked files shown as added.
async fn diff(cwd: &Path) -> String {
    let git = |args: &'static [&'static str]| {
        let mut command = tokio::process::Command::new("git");
        command
            .arg("-C")
            .arg(cwd)
            .args(args)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        async move {
            match tokio::time::timeout(DIFF_TIMEOUT, command.output()).await {
                Ok(Ok(output)) if output.status.success() => {
                    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
                }
                Ok(Ok(output)) => Err(String::from_utf8_lossy(&output.stderr).trim().to_owned()),
                Ok(Err(err)) => Err(format!("cannot run git: {err}")),
                Err(_) => Err(format!("git took longer than {}s", DIFF_TIMEOUT.as_secs())),
            }
        }
    };
    let tracked = match git(&["diff", "--no-color", "--no-ext-diff"]).await {
        Ok(text) => text,
        Err(problem) => return format!("/diff: {problem}"),
    };
    let untracked = git(&["ls-files", "--others", "--exclude-standard"])
        .await
        .unwrap_or_default();
    let mut text = tracked;
    for file in untracked.lines().filter(|line| !line.is_empty()) {
        text.push_str(&format!("new file (untracked): {file}\n"));
    }
    if text.trim().is_empty() {
        return "/diff: no changes".to_owned();
    }
    let lines: Vec<&str> = text.lines().collect();
    let mut shown = lines
        .iter()
        .take(DIFF_LINES)
        .copied()
        .collect::<Vec<_>>()
        .join("\n");
    if lines.len() > DIFF_LINES {
        shown.push_str(&format!("\n… {} more lines", lines.len() - DIFF_LINES));
    }
    shown
}

/// The terminal in chat mode: raw, on the alternate screen, with
/// bracketed paste and (where the terminal supports it) Shift-Enter told
/// apart from Enter. Dropping it restores the terminal.
struct Screen {
    terminal: ratatui::DefaultTerminal,
}

impl Screen {
    fn enter() -> Result<Screen, CliError> {
        // Installs a panic hook that restores the terminal first.
        let terminal = ratatui::try_init().map_err(CliError::Output)?;
        let screen = Screen { terminal };
        crate::terminal::control(|out| {
            crossterm::execute!(
                out,
                crossterm::event::EnableBracketedPaste,
                crossterm::event::PushKeyboardEnhancementFlags(
                    crossterm::event::KeyboardEnhancementFlags::DISAMBIGUATE_ESCAPE_CODES,
                )
            )
        });
        Ok(screen)
    }

    fn draw(&mut self, app: &App) -> Result<(), CliError> {
        self.terminal
            .draw(|frame| view::draw(frame, app))
            .map_err(CliError::Output)?;
        Ok(())
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// Gives the terminal back as the chat found it: its modes, the main
/// screen, cooked input. Also what a signal that ends the chat runs.
pub(crate) fn restore_terminal() {
    crate::terminal::control(|out| {
        crossterm::execute!(
            out,
            crossterm::event::PopKeyboardEnhancementFlags,
            crossterm::event::DisableBracketedPaste
        )
    });
    ratatui::restore();
}

#[cfg(test)]
mod tests;
