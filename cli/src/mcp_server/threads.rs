//! The threads the server holds, and running a call's turn on one.
//!
//! A `codex` call prepares a conversation exactly as the chat and `exec`
//! do ([`conversation::prepare`]: config, the call's `config` as `-c`
//! overrides, requirements, the rollout), starts a [`Session`] of its own
//! (its own supervision tree: one crashing session leaves the others
//! running) and runs one turn. The thread then stays live, idle, for
//! `codex-reply`, up to [`MAX_LIVE_THREADS`]; past that the least recently
//! used idle thread's session is stopped. Its rollout stays, so a reply to
//! it, or to any thread recorded before a restart of the server, resumes
//! from the file, with the sandbox and approval policy it recorded and the
//! call's `config` and `profile` (checked again, since the file is only a
//! file).
//!
//! A reply to a thread that is running a turn for another call answers at
//! once with an `isError` result: it neither waits nor queues.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use codex_actors::rollout::CallerSettings;
use codex_actors::session::Session;
use codex_actors::turn::{self, Input, TurnEvent, TurnOutcome};
use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::json;
use tokio::sync::{Mutex, OwnedMutexGuard};
use tokio_util::sync::CancellationToken;

use super::approval;
use super::events::Events;
use super::handler::{Client, error_result};
use super::tools::{ReplyArgs, StartArgs, checked_caller};
use crate::args::ConfigOverrides;
use crate::conversation::{self, Conversation, Front, Hooks, Prepared, Request};
use crate::error::CliError;
use crate::exec::jsonl;
use crate::thread::{Resumed, Target};

/// How many threads keep a live session; past it the least recently used
/// idle one is stopped (a reply resumes it from its rollout). Each session
/// watches its config and requirements files with inotify instances of its
/// own (four), and Linux allows a user 128 by default: a session past that
/// would not see a changed policy.
pub(super) const MAX_LIVE_THREADS: usize = 16;

/// How long stopping waits for a cancelled turn to let go of its thread.
const RELEASE_TIMEOUT: Duration = Duration::from_secs(10);

/// Every thread with a live session, by thread id. Lives on the System's
/// thread, like the sessions.
#[derive(Debug)]
pub(super) struct Threads {
    /// The server's own `-c` and `-p`.
    overrides: ConfigOverrides,
    /// The server's working directory: a relative `cwd` starts here.
    cwd: PathBuf,
    slots: RefCell<HashMap<String, Arc<Mutex<Slot>>>>,
}

/// One thread's place: its live session, unless it is being opened.
#[derive(Debug)]
struct Slot {
    live: Option<Live>,
    last_used: Instant,
}

/// A thread with its session.
#[derive(Debug)]
struct Live {
    session: Session,
    conversation: Conversation,
    /// How long an approval waits for the client.
    approval_timeout: Duration,
    /// Whether a turn has run since the servers started: their problems
    /// are reported to the first one.
    reported: bool,
}

/// What one turn is asked to do.
#[derive(Debug)]
struct TurnRequest {
    prompt: String,
    /// Shown to the model and the client before the turn starts.
    warnings: Vec<String>,
    /// Replace the opening instructions (a new thread only).
    base_instructions: Option<String>,
    /// Add to the opening instructions (a new thread only).
    developer_instructions: Option<String>,
}

impl Threads {
    /// No threads yet, for a server run with `overrides` in `cwd`.
    pub(super) fn new(overrides: ConfigOverrides, cwd: PathBuf) -> Threads {
        Threads {
            overrides,
            cwd,
            slots: RefCell::default(),
        }
    }

    /// `codex`: a new thread and its first turn.
    pub(super) async fn start(
        &self,
        args: StartArgs,
        client: &Client,
        cancel: &CancellationToken,
    ) -> CallToolResult {
        let cwd = match &args.cwd {
            Some(dir) => self.cwd.join(dir),
            None => self.cwd.clone(),
        };
        let cwd = match cwd.canonicalize() {
            Ok(cwd) if cwd.is_dir() => cwd,
            Ok(cwd) => return error_result(&format!("cwd {}: not a directory", cwd.display())),
            Err(err) => return error_result(&format!("cwd {}: {err}", cwd.display())),
        };
        // A caller works inside the server's directory: a `cwd` of `/`
        // under workspace-write would make the whole disk writable.
        let root = self.cwd.canonicalize().unwrap_or_else(|_| self.cwd.clone());
        if !cwd.starts_with(&root) {
            return error_result(&format!(
                "cwd {} is outside the server's directory {}",
                cwd.display(),
                root.display()
            ));
        }
        // `model` is recorded as the override it means, so a reply after a
        // restart uses it too.
        let mut config = args.config;
        config.extend(
            args.model
                .as_ref()
                .map(|model| format!("model={}", toml::Value::String(model.clone()))),
        );
        let caller = CallerSettings {
            config,
            profile: args.profile,
        };
        let overrides = self.with_caller(&caller);
        let request = Request {
            front: Front::McpServer,
            cwd,
            model: args.model,
            sandbox: args.sandbox,
            approval: args.approval,
            add_dirs: Vec::new(),
            resume: None,
            fork: false,
            ephemeral: false,
            caller,
        };
        let (live, warnings) = match open(&overrides, request).await {
            Ok(opened) => opened,
            Err(err) => return error_result(&err.to_string()),
        };
        let thread_id = live.conversation.settings.thread_id.clone();
        let slot = Arc::new(Mutex::new(Slot {
            live: Some(live),
            last_used: Instant::now(),
        }));
        let guard = Arc::clone(&slot).lock_owned().await;
        self.slots.borrow_mut().insert(thread_id, slot);
        self.evict().await;
        run(
            guard,
            TurnRequest {
                prompt: args.prompt,
                warnings,
                base_instructions: args.base_instructions,
                developer_instructions: args.developer_instructions,
            },
            client,
            cancel,
        )
        .await
    }

    /// `codex-reply`: the next turn of a live thread, or of a recorded one
    /// (resumed from its rollout).
    pub(super) async fn reply(
        &self,
        args: ReplyArgs,
        client: &Client,
        cancel: &CancellationToken,
    ) -> CallToolResult {
        let ReplyArgs { thread_id, prompt } = args;
        let slot = {
            let mut slots = self.slots.borrow_mut();
            Arc::clone(slots.entry(thread_id.clone()).or_insert_with(|| {
                Arc::new(Mutex::new(Slot {
                    live: None,
                    last_used: Instant::now(),
                }))
            }))
        };
        let Ok(mut guard) = slot.try_lock_owned() else {
            return error_result(&format!(
                "thread {thread_id} is running a turn for another call; reply once that call \
                 has its result"
            ));
        };
        let mut warnings = Vec::new();
        if guard.live.is_none() {
            match self.resume(&thread_id).await {
                Ok((live, notes)) => {
                    guard.live = Some(live);
                    warnings = notes;
                }
                Err(err) => {
                    drop(guard);
                    self.slots.borrow_mut().remove(&thread_id);
                    return error_result(&err.to_string());
                }
            }
            self.evict().await;
        }
        run(
            guard,
            TurnRequest {
                prompt,
                warnings,
                base_instructions: None,
                developer_instructions: None,
            },
            client,
            cancel,
        )
        .await
    }

    /// Opens the recorded thread `thread_id` in the directory it was
    /// recorded in (or the server's, when that is gone).
    async fn resume(&self, thread_id: &str) -> Result<(Live, Vec<String>), CliError> {
        let target = Target::Id(thread_id.to_owned());
        let codex_home = crate::context::codex_home()?;
        let recorded = Resumed::find(&codex_home, &target, &self.cwd, "")?;
        let cwd = Some(recorded.rollout.meta.cwd.clone())
            .filter(|dir| dir.is_absolute() && dir.is_dir())
            .unwrap_or_else(|| self.cwd.clone());
        // The rollout is a file anyone with the home directory can edit:
        // what it says the caller chose is checked as a call's `config` is.
        let (caller, dropped) = checked_caller(&recorded.rollout.meta.caller);
        let request = Request {
            front: Front::McpServer,
            cwd,
            model: None,
            sandbox: None,
            approval: None,
            add_dirs: Vec::new(),
            resume: Some(target),
            fork: false,
            ephemeral: false,
            caller: caller.clone(),
        };
        let (live, mut warnings) = open(&self.with_caller(&caller), request).await?;
        warnings.extend(dropped);
        Ok((live, warnings))
    }

    /// The host's overrides with a caller's `config` and `profile`; the
    /// host's own `-c` comes last, so a caller's cannot undo it.
    fn with_caller(&self, caller: &CallerSettings) -> ConfigOverrides {
        let mut raw = caller.config.clone();
        raw.extend(self.overrides.raw.iter().cloned());
        ConfigOverrides {
            raw,
            profile: caller
                .profile
                .clone()
                .or_else(|| self.overrides.profile.clone()),
            strict_config: self.overrides.strict_config,
            ignore_user_config: self.overrides.ignore_user_config,
        }
    }

    /// Stops the sessions of the least recently used idle threads while
    /// more than [`MAX_LIVE_THREADS`] are live.
    async fn evict(&self) {
        let mut idle: Vec<(Instant, String, OwnedMutexGuard<Slot>)> = Vec::new();
        let live = {
            let slots = self.slots.borrow();
            for (id, slot) in slots.iter() {
                if let Ok(guard) = Arc::clone(slot).try_lock_owned()
                    && guard.live.is_some()
                {
                    idle.push((guard.last_used, id.clone(), guard));
                }
            }
            slots.len()
        };
        let excess = live.saturating_sub(MAX_LIVE_THREADS);
        idle.sort_by_key(|(last_used, _, _)| *last_used);
        for (_, id, mut guard) in idle.into_iter().take(excess) {
            self.slots.borrow_mut().remove(&id);
            if let Some(live) = guard.live.take() {
                live.stop().await;
            }
        }
    }

    /// Stops every session (the client went away; running turns were
    /// cancelled).
    pub(super) async fn stop_all(&self) {
        let slots: Vec<Arc<Mutex<Slot>>> = self
            .slots
            .borrow_mut()
            .drain()
            .map(|(_, slot)| slot)
            .collect();
        let stops = slots.into_iter().map(|slot| async move {
            if let Ok(mut guard) = tokio::time::timeout(RELEASE_TIMEOUT, slot.lock_owned()).await
                && let Some(live) = guard.live.take()
            {
                live.stop().await;
            }
        });
        futures::future::join_all(stops).await;
    }
}

impl Live {
    /// Stops the session and every process it started; the rollout takes
    /// its last lines.
    async fn stop(self) {
        self.session.shutdown().await;
        if let Some(problem) = self.conversation.record_problem() {
            crate::terminal::err(&format!("warning: {problem}"));
        }
        crate::session::warn_audit_drops(&self.session);
    }
}

/// Prepares the conversation `request` asks for and starts its session,
/// recording into its rollout. Returns it with the warnings for its first
/// turn.
async fn open(
    overrides: &ConfigOverrides,
    request: Request,
) -> Result<(Live, Vec<String>), CliError> {
    let Prepared {
        loaded,
        mut conversation,
        opened,
        warnings,
    } = conversation::prepare(overrides, request)?;
    let approval_timeout = loaded
        .config
        .mcp_server_approval_timeout
        .unwrap_or(approval::DEFAULT_TIMEOUT);
    let mut options =
        crate::session::session_options_at(overrides, &conversation.settings.cwd, Vec::new())?;
    options.watch_debounce = crate::session::watch_debounce(&loaded);
    let session = Session::start(options, Some(crate::session::preloaded(loaded))).await?;
    if let Some(opened) = opened
        && let Err(err) = conversation.record_into(&session, opened).await
    {
        session.shutdown().await;
        return Err(err);
    }
    Ok((
        Live {
            session,
            conversation,
            approval_timeout,
            reported: false,
        },
        warnings,
    ))
}

/// Runs one turn on the thread `guard` holds, with its events going to
/// `client`, and answers with the result.
async fn run(
    mut guard: OwnedMutexGuard<Slot>,
    request: TurnRequest,
    client: &Client,
    cancel: &CancellationToken,
) -> CallToolResult {
    let Some(live) = guard.live.as_mut() else {
        return error_result("the thread has no session");
    };
    let thread_id = live.conversation.settings.thread_id.clone();
    let events = Events::start(client.clone(), thread_id.clone());
    events.send(jsonl::thread_started(&thread_id));
    let outcome = turn(live, request, client, cancel, &events).await;
    events.finish().await;
    guard.last_used = Instant::now();
    result(&thread_id, outcome)
}

async fn turn(
    live: &mut Live,
    request: TurnRequest,
    client: &Client,
    cancel: &CancellationToken,
    events: &Events,
) -> Result<TurnOutcome, CliError> {
    let TurnRequest {
        prompt,
        mut warnings,
        base_instructions,
        developer_instructions,
    } = request;
    let Live {
        session,
        conversation,
        approval_timeout,
        reported,
    } = live;
    let startup = tokio::select! {
        statuses = session.wait_first_attempts() => statuses?,
        () = cancel.cancelled() => return Ok(TurnOutcome::Interrupted),
    };
    if !*reported {
        let failed = crate::exec::startup_warnings(&startup, &mut warnings);
        if !failed.is_empty() {
            for warning in &warnings {
                events.send(jsonl::error(warning));
            }
            return Err(CliError::RequiredServers(format!(
                "required MCP servers failed to initialize: {}",
                failed.join(", ")
            )));
        }
        *reported = true;
    }
    let mut machine = conversation.next_turn(session, &startup).await?;
    if base_instructions.is_some() || developer_instructions.is_some() {
        machine = with_instructions(
            &machine,
            base_instructions.as_deref(),
            developer_instructions.as_deref(),
        );
    }
    let mut inputs: Vec<Input> = warnings.into_iter().map(Input::Warning).collect();
    inputs.push(Input::Start {
        prompt,
        images: Vec::new(),
    });
    let approver = approval::approver(
        client.clone(),
        conversation.settings.thread_id.clone(),
        *approval_timeout,
    );
    let mut on_event = |event: TurnEvent| {
        if let Some(line) = jsonl::event(&event) {
            events.send(line);
        }
    };
    Ok(conversation
        .run(
            session,
            &mut machine,
            inputs,
            Hooks {
                approver: &approver,
                cancel,
                on_event: &mut on_event,
            },
        )
        .await)
}

/// The machine of a new thread's first turn, opening with `base` instead of
/// its own instructions and `developer` after them. A thread with history
/// keeps the instructions it opened with.
fn with_instructions(
    machine: &turn::Machine,
    base: Option<&str>,
    developer: Option<&str>,
) -> turn::Machine {
    let mut config = machine.config().clone();
    if config.history.is_empty() {
        let mut text = base.map_or_else(|| config.instructions.clone(), str::to_owned);
        if let Some(developer) = developer {
            text.push_str("\n\n");
            text.push_str(developer);
        }
        config.instructions = text;
    }
    turn::Machine::new(config)
}

/// The call's result: the last agent message, or why there is none.
fn result(thread_id: &str, outcome: Result<TurnOutcome, CliError>) -> CallToolResult {
    let (mut result, content) = match outcome {
        Ok(TurnOutcome::Completed { last_message, .. }) => {
            let text = last_message.unwrap_or_default();
            (
                CallToolResult::success(vec![ContentBlock::text(text.clone())]),
                text,
            )
        }
        Ok(TurnOutcome::Failed { message }) => {
            let text = format!("the turn failed: {message}");
            (error_result(&text), text)
        }
        Ok(TurnOutcome::Interrupted) => {
            let text = "the turn was interrupted: the call was cancelled".to_owned();
            (error_result(&text), text)
        }
        Err(err) => {
            let text = err.to_string();
            (error_result(&text), text)
        }
    };
    result.structured_content = Some(json!({"threadId": thread_id, "content": content}));
    result
}

/// The directory a relative `cwd` argument starts from.
pub(super) fn server_cwd() -> Result<PathBuf, CliError> {
    std::env::current_dir()
        .and_then(|dir| dir.canonicalize())
        .map_err(|source| CliError::Cwd { source })
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    #[test]
    fn results_carry_the_thread_and_the_text() {
        let id = "0199a213-81c0-7800-8aa1-bbab2a035a53";
        let cases = [
            (
                Ok(TurnOutcome::Completed {
                    last_message: Some("done".to_owned()),
                    usage: Default::default(),
                }),
                json!({
                    "content": [{"type": "text", "text": "done"}],
                    "structuredContent": {"threadId": id, "content": "done"},
                    "isError": false
                }),
            ),
            (
                Ok(TurnOutcome::Interrupted),
                json!({
                    "content": [{"type": "text", "text": "the turn was interrupted: the call was cancelled"}],
                    "structuredContent": {"threadId": id, "content": "the turn was interrupted: the call was cancelled"},
                    "isError": true
                }),
            ),
            (
                Ok(TurnOutcome::Failed {
                    message: "stream closed".to_owned(),
                }),
                json!({
                    "content": [{"type": "text", "text": "the turn failed: stream closed"}],
                    "structuredContent": {"threadId": id, "content": "the turn failed: stream closed"},
                    "isError": true
                }),
            ),
        ];
        for (outcome, expected) in cases {
            let mut value = serde_json::to_value(result(id, outcome)).expect("JSON");
            if let Some(fields) = value.as_object_mut() {
                fields.remove("resultType");
            }
            assert_eq!(value, expected);
        }
    }
}
