//! The thread a run continues or starts, and the file it is recorded
//! in: `$CODEX_HOME/sessions/...`, found by id or as the latest session of
//! this directory for `exec resume`, created for a new run, never touched
//! with `--ephemeral`.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use codex_actors::config::{ApprovalPolicy, SandboxMode};
use codex_actors::model_stream::ResponseItem;
use codex_actors::rollout::{
    CallerSettings, LastFilter, Rollout, RolloutItem, SessionMeta, create_rollout, find_by_id,
    format_timestamp, git_info, open_to_resume, read_rollout, recent, resume_history,
};

use crate::args::ResumeArgs;
use crate::error::CliError;

/// Which recorded session `exec resume` continues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// The session with this thread id.
    Id(String),
    /// The most recent session of this directory, or of any with `all`.
    Last {
        /// Any directory.
        all: bool,
        /// Only a session a person had, not one of `codex exec` or an MCP
        /// client (the chat's `--last`, unless `--include-non-interactive`).
        interactive_only: bool,
    },
}

/// `exec resume`'s arguments: the target and the prompt argument. With
/// `--last`, the one positional argument is the prompt.
pub(crate) fn target(args: ResumeArgs) -> Result<(Target, Option<String>), CliError> {
    if args.last {
        if args.prompt.is_some() {
            return Err(CliError::Usage(
                "with --last, give only the prompt (a session id and --last exclude each other)"
                    .to_owned(),
            ));
        }
        let last = Target::Last {
            all: args.all,
            interactive_only: false,
        };
        return Ok((last, args.session_id));
    }
    match args.session_id {
        Some(id) => Ok((Target::Id(id), args.prompt)),
        None => Err(CliError::Usage(
            "exec resume needs a session id, or --last for the latest session here".to_owned(),
        )),
    }
}

/// The most recent session `filter` matches that holds something to
/// continue. A chat with nothing in it is passed over, as the picker
/// passes it over: resuming it would continue nothing. A newer session
/// that cannot be read is passed over too, and the one found says so
/// (its notes); when none is found, the first such error is the answer.
fn last_with_history(root: &Path, filter: LastFilter<'_>) -> Result<Option<Resumed>, CliError> {
    let mut unreadable = Vec::new();
    for path in recent(root, filter)? {
        match read_rollout(&path) {
            Ok(rollout) if resume_history(&rollout).0.is_empty() => {}
            Ok(rollout) => {
                return Ok(Some(Resumed {
                    path,
                    rollout,
                    fork: false,
                    passed_over: unreadable.iter().map(ToString::to_string).collect(),
                }));
            }
            Err(err) => unreadable.push(err),
        }
    }
    match unreadable.into_iter().next() {
        Some(err) => Err(err.into()),
        None => Ok(None),
    }
}

/// A recorded session, read back.
#[derive(Debug)]
pub(crate) struct Resumed {
    /// Its file.
    pub(crate) path: PathBuf,
    /// What it holds.
    pub(crate) rollout: Rollout,
    /// Whether it is forked (`codex fork`, `exec fork`) rather than
    /// continued: a new thread, with a new id and file, starts from its
    /// history and the recorded file is left as it is.
    pub(crate) fork: bool,
    /// Why newer sessions were passed over on the way to this one
    /// (`--last`: they could not be read).
    pub(crate) passed_over: Vec<String>,
}

impl Resumed {
    /// Finds and reads the session `target` names.
    pub(crate) fn find(
        codex_home: &Path,
        target: &Target,
        cwd: &Path,
        provider: &str,
    ) -> Result<Resumed, CliError> {
        let root = sessions_root(codex_home);
        let found = match target {
            Target::Id(id) => match find_by_id(&root, id)? {
                Some(path) => Some(Resumed {
                    rollout: read_rollout(&path)?,
                    path,
                    fork: false,
                    passed_over: Vec::new(),
                }),
                None => None,
            },
            Target::Last {
                all,
                interactive_only,
            } => last_with_history(
                &root,
                LastFilter {
                    cwd: (!all).then_some(cwd),
                    model_provider: Some(provider),
                    interactive_only: *interactive_only,
                },
            )?,
        };
        found.ok_or_else(|| {
            CliError::NoSession(match target {
                Target::Id(id) => format!("no session {id} under {}", root.display()),
                Target::Last {
                    all,
                    interactive_only,
                } => {
                    let kind = if *interactive_only { "chat " } else { "" };
                    let mut message = if *all {
                        format!("no recorded {kind}session (provider {provider})")
                    } else {
                        format!(
                            "no recorded {kind}session for {} (provider {provider})",
                            cwd.display()
                        )
                    };
                    message.push_str(&format!(" under {}", root.display()));
                    let hints: Vec<&str> = [
                        (!all).then_some("--all looks in every directory"),
                        interactive_only.then_some(
                            "--include-non-interactive takes sessions of codex exec and MCP \
                             clients too",
                        ),
                    ]
                    .into_iter()
                    .flatten()
                    .collect();
                    if !hints.is_empty() {
                        message.push_str("; ");
                        message.push_str(&hints.join("; "));
                    }
                    message
                }
            })
        })
    }

    /// The recorded thread's id.
    pub(crate) fn thread_id(&self) -> &str {
        &self.rollout.meta.id
    }

    /// The id the run continues under: the recorded one, or a new one for
    /// a fork.
    pub(crate) fn continued_id(&self) -> String {
        if self.fork {
            uuid::Uuid::now_v7().to_string()
        } else {
            self.thread_id().to_owned()
        }
    }

    /// Opens the file the continued thread is written to: the recorded
    /// one, appended to; for a fork, the new file `create` makes, whose
    /// first lines after its `session_meta` are the recorded lines
    /// (written anew, with the time of the fork), so that it resumes whole
    /// on its own.
    pub(crate) fn open(
        &self,
        create: impl FnOnce() -> Result<Opened, CliError>,
    ) -> Result<Opened, CliError> {
        if !self.fork {
            return reopen(self);
        }
        let mut opened = create()?;
        // A file may hold more than one `session_meta` (older Codex wrote
        // one per resume); the fork's own is its only one.
        opened.opening.extend(
            self.rollout
                .items
                .iter()
                .filter(|item| !matches!(item, RolloutItem::SessionMeta(_)))
                .cloned(),
        );
        Ok(opened)
    }

    /// The history to continue, made valid, and notes on what was off
    /// (skipped lines, a torn tail, calls that never finished).
    pub(crate) fn history(&self) -> (Vec<ResponseItem>, Vec<String>) {
        let (history, repaired) = resume_history(&self.rollout);
        let mut notes: Vec<String> = self
            .passed_over
            .iter()
            .map(|why| format!("a newer session was passed over: {why}"))
            .collect();
        if self.rollout.skipped > 0 {
            notes.push(format!(
                "{} line(s) of {} could not be read and were skipped",
                self.rollout.skipped,
                self.path.display()
            ));
        }
        if self.rollout.torn_tail {
            notes.push(format!(
                "the last line of {} was cut short (the run was killed); the session resumes \
                 from the line before",
                self.path.display()
            ));
        }
        if repaired > 0 {
            notes.push(format!(
                "{repaired} tool call(s) of the recorded session never finished; the model is \
                 told they were aborted"
            ));
        }
        (history, notes)
    }

    /// The sandbox mode and approval policy of the last recorded turn.
    pub(crate) fn recorded_policy(&self) -> (Option<SandboxMode>, Option<ApprovalPolicy>) {
        let Some(context) = self.rollout.last_turn_context() else {
            return (None, None);
        };
        let mode = context
            .sandbox_policy
            .get("mode")
            .and_then(serde_json::Value::as_str)
            .and_then(|mode| mode.parse().ok());
        let approval = context.approval_policy.parse().ok();
        (mode, approval)
    }
}

/// `$CODEX_HOME/sessions`.
pub(crate) fn sessions_root(codex_home: &Path) -> PathBuf {
    codex_home.join("sessions")
}

/// A rollout open to append to, and where it is.
#[derive(Debug)]
pub(crate) struct Opened {
    pub(crate) path: PathBuf,
    pub(crate) file: File,
    /// Lines to write first (a new file's `session_meta`).
    pub(crate) opening: Vec<RolloutItem>,
}

/// Opens the resumed file to append to it.
pub(crate) fn reopen(resumed: &Resumed) -> Result<Opened, CliError> {
    let file = open_to_resume(&resumed.path)?;
    Ok(Opened {
        path: resumed.path.clone(),
        file,
        opening: Vec::new(),
    })
}

/// Creates the file of a new thread, with its `session_meta` naming who
/// started it (`originator`, `source`: see `conversation::Front::origin`)
/// and what a `codex mcp-server` caller chose for it.
pub(crate) fn create(
    codex_home: &Path,
    thread_id: &str,
    cwd: &Path,
    provider: &str,
    (originator, source): (&str, &str),
    caller: &CallerSettings,
) -> Result<Opened, CliError> {
    let started = SystemTime::now();
    let (path, file) = create_rollout(&sessions_root(codex_home), started, thread_id)?;
    let meta = SessionMeta {
        id: thread_id.to_owned(),
        timestamp: format_timestamp(started),
        cwd: cwd.to_owned(),
        originator: originator.to_owned(),
        cli_version: env!("CARGO_PKG_VERSION").to_owned(),
        source: source.to_owned(),
        model_provider: Some(provider.to_owned()),
        base_instructions: None,
        git: git_info(cwd),
        caller: caller.clone(),
    };
    Ok(Opened {
        path,
        file,
        opening: vec![RolloutItem::SessionMeta(meta)],
    })
}
