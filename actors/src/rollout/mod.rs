//! Sessions on disk, in Codex's rollout format: one JSON line per item,
//! under `$CODEX_HOME/sessions/YYYY/MM/DD/rollout-<time>-<thread id>.jsonl`.
//!
//! `format` is the file format (rendering lines, naming files, reading
//! them back tolerantly: a line that does not parse, a torn last line, is
//! skipped); `discover` finds a session by id or the most recent one for a
//! directory. The writer is an actor, one per recorded thread, a temporary
//! child of the session: it appends every item as one line with one
//! `write`, so a killed process leaves a file that resumes up to its last
//! whole line. Items reach it through an unbounded channel, and whatever
//! was sent before the session stops is written.
//!
//! Nothing secret is written: items are the conversation, the turn's
//! settings and usage; no key, header or environment value is part of
//! them, and a repository URL is written without its credentials.

mod discover;
mod format;
mod machine;
mod shell;
mod turn_log;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::mpsc;

use crate::model_stream::{CustomToolCallOutput, FunctionCallOutput, ResponseItem};

pub use discover::{
    LastFilter, MAX_META_LINE_BYTES, find_by_id, find_last, recent, rollout_file_id,
};
pub use format::{
    CallerSettings, GitInfo, MAX_ROLLOUT_BYTES, ParseError, Rollout, RolloutError, RolloutItem,
    SessionMeta, TurnContext, file_name, format_timestamp, parse_rollout, read_rollout,
    render_line, session_dir,
};
pub(crate) use shell::RolloutWriter;
pub use turn_log::TurnLog;

/// Where a recorded thread's lines go.
#[derive(Debug, Clone)]
pub struct Recorder {
    tx: mpsc::UnboundedSender<RolloutItem>,
    path: PathBuf,
    thread_id: String,
    problems: Arc<Mutex<Option<String>>>,
}

impl Recorder {
    /// Records one item (a line, written in the order recorded).
    pub fn record(&self, item: RolloutItem) {
        let _ = self.tx.send(item);
    }

    /// Records items in order.
    pub fn record_all(&self, items: impl IntoIterator<Item = RolloutItem>) {
        for item in items {
            self.record(item);
        }
    }

    /// The rollout file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The thread's id.
    pub fn thread_id(&self) -> &str {
        &self.thread_id
    }

    /// Why lines could not be written, if some were not.
    pub fn problem(&self) -> Option<String> {
        self.problems
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// A recorder and the inbox of its writer.
#[allow(clippy::type_complexity)]
pub(crate) fn recorder(
    path: PathBuf,
    thread_id: String,
) -> (
    Recorder,
    mpsc::UnboundedReceiver<RolloutItem>,
    Arc<Mutex<Option<String>>>,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let problems = Arc::new(Mutex::new(None));
    (
        Recorder {
            tx,
            path,
            thread_id,
            problems: Arc::clone(&problems),
        },
        rx,
        problems,
    )
}

/// Creates a new rollout file (0600; it must not exist; no symbolic link is
/// followed) in its dated folder under `sessions_root`.
pub fn create_rollout(
    sessions_root: &Path,
    started: std::time::SystemTime,
    thread_id: &str,
) -> Result<(PathBuf, File), RolloutError> {
    let dir = session_dir(sessions_root, started);
    std::fs::create_dir_all(&dir).map_err(|source| RolloutError::Io {
        path: dir.clone(),
        source,
    })?;
    let path = dir.join(file_name(started, thread_id));
    let file = open_append(&path, true)?;
    Ok((path, file))
}

/// Opens a rollout to append to it: a regular file (no symbolic link, no
/// FIFO), or a new one when `create`.
pub fn open_append(path: &Path, create: bool) -> Result<File, RolloutError> {
    use rustix::fs::{Mode, OFlags};
    let mut flags = OFlags::WRONLY
        | OFlags::APPEND
        | OFlags::NOFOLLOW
        | OFlags::NONBLOCK
        | OFlags::CLOEXEC
        | OFlags::NOCTTY;
    if create {
        flags |= OFlags::CREATE | OFlags::EXCL;
    }
    let fd = rustix::fs::open(path, flags, Mode::from_raw_mode(0o600)).map_err(|errno| {
        RolloutError::Io {
            path: path.to_owned(),
            source: errno.into(),
        }
    })?;
    let file = File::from(fd);
    let metadata = file.metadata().map_err(|source| RolloutError::Io {
        path: path.to_owned(),
        source,
    })?;
    if !metadata.file_type().is_file() {
        return Err(RolloutError::Io {
            path: path.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file"),
        });
    }
    Ok(file)
}

/// The model history a rollout resumes from, made valid for a request: a
/// call the session never answered (it was killed or interrupted
/// mid-call) gets an output saying so, right after it, and an output
/// without its call is dropped. Returns the history and how many items
/// were added or dropped.
pub fn resume_history(rollout: &Rollout) -> (Vec<ResponseItem>, usize) {
    let items: Vec<ResponseItem> = rollout
        .history()
        .into_iter()
        .map(ResponseItem::from_value)
        .collect();
    let call_id = |item: &ResponseItem| match item {
        ResponseItem::FunctionCall(call) => Some((call.call_id.clone(), false)),
        ResponseItem::CustomToolCall(call) => Some((call.call_id.clone(), true)),
        _ => None,
    };
    let output_id = |item: &ResponseItem| match item {
        ResponseItem::FunctionCallOutput(output) => Some(output.call_id.clone()),
        ResponseItem::CustomToolCallOutput(output) => Some(output.call_id.clone()),
        _ => None,
    };
    let calls: std::collections::BTreeSet<String> = items
        .iter()
        .filter_map(|item| call_id(item).map(|(id, _)| id))
        .collect();
    let answered: std::collections::BTreeSet<String> = items.iter().filter_map(output_id).collect();
    let mut repaired = 0;
    let mut history = Vec::with_capacity(items.len());
    for item in items {
        if output_id(&item).is_some_and(|id| !calls.contains(&id)) {
            repaired += 1;
            continue;
        }
        let dangling = call_id(&item).filter(|(id, _)| !answered.contains(id));
        history.push(item);
        if let Some((call_id, custom)) = dangling {
            repaired += 1;
            let output = ABORTED.to_owned();
            history.push(if custom {
                ResponseItem::CustomToolCallOutput(CustomToolCallOutput { call_id, output })
            } else {
                ResponseItem::FunctionCallOutput(FunctionCallOutput { call_id, output })
            });
        }
    }
    (history, repaired)
}

/// What the model reads for a call the session never finished.
const ABORTED: &str = "aborted: the session ended before this call finished";

/// Opens a rollout to resume it: appended to, after a newline when its
/// last line was cut short, so the torn part stays a line of its own
/// (which readers skip) and the next line is whole.
pub fn open_to_resume(path: &Path) -> Result<File, RolloutError> {
    use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
    let mut file = open_append(path, false)?;
    let io = |source| RolloutError::Io {
        path: path.to_owned(),
        source,
    };
    let len = file.metadata().map_err(io)?.len();
    if len > 0 {
        let mut reader = open_regular_read(path)?;
        reader.seek(SeekFrom::Start(len - 1)).map_err(io)?;
        let mut last = [0u8; 1];
        reader.read_exact(&mut last).map_err(io)?;
        if last[0] != b'\n' {
            file.write_all(b"\n").map_err(io)?;
        }
    }
    Ok(file)
}

fn open_regular_read(path: &Path) -> Result<File, RolloutError> {
    use rustix::fs::{Mode, OFlags};
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    rustix::fs::open(path, flags, Mode::empty())
        .map(File::from)
        .map_err(|errno| RolloutError::Io {
            path: path.to_owned(),
            source: errno.into(),
        })
}

/// The repository a directory is in, from `.git` (no `git` process):
/// the commit, the branch, and `origin`'s URL without credentials.
pub fn git_info(cwd: &Path) -> Option<GitInfo> {
    let root = cwd.ancestors().find(|dir| dir.join(".git").exists())?;
    let mut git_dir = root.join(".git");
    if git_dir.is_file() {
        let pointer = read_small(&git_dir)?;
        let target = pointer.trim().strip_prefix("gitdir:")?.trim();
        git_dir = root.join(target);
    }
    let head = read_small(&git_dir.join("HEAD"))?;
    let head = head.trim();
    let (branch, commit_hash) = match head.strip_prefix("ref: ") {
        Some(reference) => {
            let branch = reference.strip_prefix("refs/heads/").unwrap_or(reference);
            let commit = read_small(&git_dir.join(reference))
                .map(|text| text.trim().to_owned())
                .or_else(|| packed_ref(&git_dir, reference));
            (Some(branch.to_owned()), commit)
        }
        None => (None, Some(head.to_owned())),
    };
    let repository_url = read_small(&git_dir.join("config")).and_then(|config| origin_url(&config));
    Some(GitInfo {
        commit_hash,
        branch,
        repository_url,
    })
}

/// A small text file (a git pointer or ref), at most 64 KiB.
fn read_small(path: &Path) -> Option<String> {
    let metadata = std::fs::symlink_metadata(path).ok()?;
    if !metadata.is_file() || metadata.len() > 64 * 1024 {
        return None;
    }
    std::fs::read_to_string(path).ok()
}

fn packed_ref(git_dir: &Path, reference: &str) -> Option<String> {
    let metadata = std::fs::symlink_metadata(git_dir.join("packed-refs")).ok()?;
    if !metadata.is_file() || metadata.len() > 16 * 1024 * 1024 {
        return None;
    }
    let packed = std::fs::read_to_string(git_dir.join("packed-refs")).ok()?;
    packed.lines().find_map(|line| {
        let (hash, name) = line.split_once(' ')?;
        (name == reference).then(|| hash.to_owned())
    })
}

/// `[remote "origin"] url = ...`, with any `user:password@` removed.
fn origin_url(config: &str) -> Option<String> {
    let mut in_origin = false;
    for line in config.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_origin = line == "[remote \"origin\"]";
            continue;
        }
        if in_origin
            && let Some((key, value)) = line.split_once('=')
            && key.trim() == "url"
        {
            let url = value.trim();
            return Some(match url.split_once("://") {
                Some((scheme, rest)) => match rest.split_once('@') {
                    Some((userinfo, host)) if !userinfo.contains('/') => {
                        format!("{scheme}://{host}")
                    }
                    _ => url.to_owned(),
                },
                None => url.to_owned(),
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rollout_of(lines: &[serde_json::Value]) -> Rollout {
        let meta = serde_json::json!({"timestamp": "t", "type": "session_meta",
            "payload": {"id": "0199a213-81c0-7800-8aa1-bbab2a035a53", "cwd": "/w"}});
        let text: String = std::iter::once(&meta)
            .chain(lines)
            .map(|line| format!("{line}\n"))
            .collect();
        parse_rollout(text.as_bytes()).expect("a rollout")
    }

    fn item(payload: serde_json::Value) -> serde_json::Value {
        serde_json::json!({"timestamp": "t", "type": "response_item", "payload": payload})
    }

    #[test]
    fn a_dangling_call_gets_an_aborted_output_and_an_orphan_output_goes() {
        let rollout = rollout_of(&[
            item(serde_json::json!({"type": "message", "role": "user",
                "content": [{"type": "input_text", "text": "go"}]})),
            item(serde_json::json!({"type": "function_call", "call_id": "a",
                "name": "exec_command", "arguments": "{}"})),
            item(
                serde_json::json!({"type": "custom_tool_call", "call_id": "b",
                "name": "apply_patch", "input": "x"}),
            ),
            item(
                serde_json::json!({"type": "custom_tool_call_output", "call_id": "b",
                "output": "ok"}),
            ),
            item(
                serde_json::json!({"type": "function_call_output", "call_id": "zz",
                "output": "lost"}),
            ),
        ]);
        let (history, repaired) = resume_history(&rollout);
        assert_eq!(repaired, 2);
        let kinds: Vec<String> = history
            .iter()
            .map(|item| {
                let value = item.to_value();
                format!(
                    "{}:{}",
                    value["type"].as_str().unwrap_or(""),
                    value["call_id"].as_str().unwrap_or("")
                )
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "message:",
                "function_call:a",
                "function_call_output:a",
                "custom_tool_call:b",
                "custom_tool_call_output:b"
            ]
        );
    }

    #[test]
    fn resuming_a_torn_file_starts_a_fresh_line() {
        use std::io::Write as _;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("r.jsonl");
        std::fs::write(&path, "{\"a\":1}\n{\"torn").expect("write");
        let mut file = open_to_resume(&path).expect("open");
        file.write_all(b"{\"b\":2}\n").expect("append");
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(text, "{\"a\":1}\n{\"torn\n{\"b\":2}\n");
        // A whole file gets no extra newline.
        drop(open_to_resume(&path).expect("open"));
        assert_eq!(std::fs::read_to_string(&path).expect("read"), text);
    }

    #[test]
    fn origin_urls_lose_their_credentials() {
        let config = "[core]\n\tbare = false\n[remote \"origin\"]\n\turl = https://user:ghp_secret@github.com/o/r.git\n";
        assert_eq!(
            origin_url(config).as_deref(),
            Some("https://github.com/o/r.git")
        );
        assert_eq!(
            origin_url("[remote \"origin\"]\nurl = git@github.com:o/r.git\n").as_deref(),
            Some("git@github.com:o/r.git")
        );
    }

    #[test]
    fn a_new_rollout_is_private_and_never_overwritten() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("tempdir");
        let started = std::time::SystemTime::now();
        let (path, _) = create_rollout(dir.path(), started, "t1").expect("created");
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(create_rollout(dir.path(), started, "t1").is_err());
        let link = dir.path().join("link.jsonl");
        std::os::unix::fs::symlink(&path, &link).expect("symlink");
        assert!(open_append(&link, false).is_err(), "a link is not followed");
    }
}
