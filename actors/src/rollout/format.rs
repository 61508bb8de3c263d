//! The Codex rollout file format: one JSON object per line, recording a session.
//!
//! A rollout lives at `$CODEX_HOME/sessions/YYYY/MM/DD/rollout-YYYY-MM-DDThh-mm-ss-<id>.jsonl`
//! (UTC date and time of the session start, see [`session_dir`] and [`file_name`]). Each line is
//! `{"timestamp":"<RFC 3339 UTC, millis>","type":"<kind>","payload":{...}}`, rendered by
//! [`render_line`]. The first line is always a `session_meta`; the others are model-history
//! items (`response_item`), per-turn settings (`turn_context`), protocol events (`event_msg`)
//! and compaction checkpoints (`compacted`). Model-history items and events are kept as
//! [`serde_json::Value`] so that callers convert them to their own types.
//!
//! Reading ([`parse_rollout`], [`read_rollout`]) is tolerant: a line that is not JSON, has an
//! unknown `type`, or whose payload does not have the expected shape is skipped and counted,
//! and an unterminated last line that is not JSON (a write cut short by a crash) is skipped and
//! flagged as a torn tail. Only a missing `session_meta` is an error.

use std::borrow::Cow;
use std::fs::{File, FileType};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The largest rollout file [`read_rollout`] reads: 256 MiB.
pub const MAX_ROLLOUT_BYTES: u64 = 256 * 1024 * 1024;

/// The last instant that RFC 3339 (four-digit years) can name: 9999-12-31T23:59:59.999Z.
const LAST_RFC3339_MILLIS: Duration = Duration::from_millis(253_402_300_799_999);

/// The git state of the session's working directory when the session started.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitInfo {
    /// The commit `HEAD` pointed at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_hash: Option<String>,
    /// The checked-out branch, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// The URL of the `origin` remote, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository_url: Option<String>,
}

/// The payload of the `session_meta` line that opens every rollout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionMeta {
    /// The thread id, a UUID (v7); it also ends the file name.
    pub id: String,
    /// When the session started, RFC 3339 (see [`format_timestamp`]); empty when absent.
    pub timestamp: String,
    /// The working directory of the session.
    pub cwd: PathBuf,
    /// Which program wrote the rollout, e.g. `codex_exec`; empty when absent.
    pub originator: String,
    /// The version of the program that wrote the rollout; empty when absent.
    pub cli_version: String,
    /// How the session was started: `exec`, `cli`, `mcp`, ... A non-string source (newer Codex
    /// writes objects for sub-agents) is kept as its compact JSON text; empty when absent.
    pub source: String,
    /// The model provider id, e.g. `openai`.
    pub model_provider: Option<String>,
    /// The base instructions; written as `{"text": ...}`, read from that or a bare string.
    pub base_instructions: Option<String>,
    /// The git state of `cwd`, when it is in a repository.
    pub git: Option<GitInfo>,
    /// What the caller of `codex mcp-server` chose for this thread (ours;
    /// Codex ignores it): a resumed thread runs with it again.
    pub caller: CallerSettings,
}

/// A `codex mcp-server` caller's `config` (as `-c key=value` overrides)
/// and `profile`, written as `"caller": {"config": [...], "profile": ...}`
/// and left out when empty. Read back as untrusted input: the server
/// checks every entry again before applying it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallerSettings {
    /// The overrides, in the caller's order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub config: Vec<String>,
    /// The `[profiles.NAME]` the caller chose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

impl CallerSettings {
    /// Whether the caller chose nothing.
    pub fn is_empty(&self) -> bool {
        self.config.is_empty() && self.profile.is_none()
    }
}

/// The payload of a `turn_context` line: the settings one turn ran with.
#[derive(Clone, Debug, PartialEq)]
pub struct TurnContext {
    /// The turn id; empty when absent (older Codex versions did not write it).
    pub turn_id: String,
    /// The working directory of the turn.
    pub cwd: PathBuf,
    /// The approval policy, e.g. `never` or `on-request`; a non-string policy is kept as its
    /// compact JSON text.
    pub approval_policy: String,
    /// The sandbox policy, verbatim (e.g. `{"mode":"workspace-write"}`); `null` when absent.
    pub sandbox_policy: Value,
    /// The model the turn used.
    pub model: String,
    /// The reasoning effort, e.g. `medium`.
    pub effort: Option<String>,
    /// The reasoning-summary setting, e.g. `auto`; empty when absent.
    pub summary: String,
}

/// One line of a rollout file, without its timestamp.
#[derive(Clone, Debug, PartialEq)]
pub enum RolloutItem {
    /// `session_meta`: describes the session; only the first line of a file.
    SessionMeta(SessionMeta),
    /// `response_item`: one model-history item as on the Responses API wire (a JSON object).
    ResponseItem(Value),
    /// `turn_context`: the settings of one turn.
    TurnContext(TurnContext),
    /// `event_msg`: a protocol event, a JSON object tagged by its `type` field.
    EventMsg(Value),
    /// `compacted`: a summary that replaced all earlier model history.
    Compacted {
        /// The summary text.
        message: String,
        /// The exact history that replaced everything before this line, when the writer
        /// recorded it (newer Codex versions do); see [`Rollout::history`].
        replacement_history: Option<Vec<Value>>,
    },
}

impl RolloutItem {
    /// The `type` this item has on a line, e.g. `"response_item"`.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            RolloutItem::SessionMeta(_) => "session_meta",
            RolloutItem::ResponseItem(_) => "response_item",
            RolloutItem::TurnContext(_) => "turn_context",
            RolloutItem::EventMsg(_) => "event_msg",
            RolloutItem::Compacted { .. } => "compacted",
        }
    }
}

/// A parsed rollout file.
#[derive(Clone, Debug, PartialEq)]
pub struct Rollout {
    /// The first well-formed line, always a `session_meta`.
    pub meta: SessionMeta,
    /// Every well-formed line after `meta`, in file order.
    pub items: Vec<RolloutItem>,
    /// How many non-blank lines were skipped: not JSON, unknown `type`, or a payload of the wrong
    /// shape. A torn tail is not counted here.
    pub skipped: usize,
    /// Whether the file ended in an unterminated line that is not JSON (a write cut short),
    /// which was skipped.
    pub torn_tail: bool,
}

impl Rollout {
    /// The model history to resume from: the `response_item` payloads in order, where a
    /// `compacted` line replaces everything before it by its `replacement_history` when it has
    /// one, and otherwise by a single user message carrying the summary:
    /// `{"type":"message","role":"user","content":[{"type":"input_text","text":<message>}]}`.
    #[must_use]
    pub fn history(&self) -> Vec<Value> {
        let mut history = Vec::new();
        for item in &self.items {
            match item {
                RolloutItem::ResponseItem(value) => history.push(value.clone()),
                RolloutItem::Compacted {
                    message,
                    replacement_history,
                } => {
                    history = match replacement_history {
                        Some(items) => items.clone(),
                        None => vec![summary_message(message)],
                    };
                }
                RolloutItem::SessionMeta(_)
                | RolloutItem::TurnContext(_)
                | RolloutItem::EventMsg(_) => {}
            }
        }
        history
    }

    /// The settings of the last turn recorded, if any.
    #[must_use]
    pub fn last_turn_context(&self) -> Option<&TurnContext> {
        self.items.iter().rev().find_map(|item| match item {
            RolloutItem::TurnContext(context) => Some(context),
            _ => None,
        })
    }
}

/// Why bytes are not a rollout.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// No line parsed at all.
    #[error("no session_meta line: no well-formed line ({skipped} skipped)")]
    Empty {
        /// How many non-blank lines were skipped.
        skipped: usize,
    },
    /// The first well-formed line is not a `session_meta`.
    #[error("no session_meta line: the first well-formed line (line {line}) is a {kind} line")]
    FirstNotMeta {
        /// The 1-based line number.
        line: usize,
        /// The `type` of that line.
        kind: &'static str,
    },
}

/// Why a rollout could not be read or found.
#[derive(Debug, thiserror::Error)]
pub enum RolloutError {
    /// The file system refused an operation.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The path names something other than a regular file (a symlink is never followed).
    #[error("{} is a {kind}, not a regular file", path.display())]
    NotRegularFile {
        /// The path concerned.
        path: PathBuf,
        /// What it is, e.g. `symlink`, `directory`, `FIFO`.
        kind: &'static str,
    },
    /// The file is larger than the reader accepts.
    #[error("{} is larger than the {limit}-byte limit on rollout files", path.display())]
    TooLarge {
        /// The file concerned.
        path: PathBuf,
        /// The limit in bytes.
        limit: u64,
    },
    /// The file is not a rollout: it has no `session_meta` line first.
    #[error("{} is not a rollout: {source}", path.display())]
    NoSessionMeta {
        /// The file concerned.
        path: PathBuf,
        /// What was found instead.
        #[source]
        source: ParseError,
    },
    /// A thread id that is not a UUID (`8-4-4-4-12` hex digits) was given.
    #[error("invalid thread id {id:?}: expected a UUID like 0199a213-81c0-7800-8aa1-bbab2a035a53")]
    InvalidId {
        /// The id given.
        id: String,
    },
}

/// Formats `time` as RFC 3339 UTC with milliseconds, e.g. `2026-12-06T05:40:01.123Z`.
///
/// Times before 1970 are written as 1970-01-01T00:00:00.000Z and times after the year 9999 as
/// 9999-12-31T23:59:59.999Z.
#[must_use]
pub fn format_timestamp(time: SystemTime) -> String {
    humantime::format_rfc3339_millis(clamp_time(time)).to_string()
}

/// The file name of a rollout started at `started` (UTC), e.g.
/// `rollout-2026-12-06T05-40-01-0199a213-81c0-7800-8aa1-bbab2a035a53.jsonl`.
///
/// `thread_id` should be a UUID; any character other than ASCII letters, digits and `-` is
/// replaced by `_` so that the result is always a single path component.
#[must_use]
pub fn file_name(started: SystemTime, thread_id: &str) -> String {
    let stamp = humantime::format_rfc3339_seconds(clamp_time(started)).to_string();
    let stamp = stamp.trim_end_matches('Z').replace(':', "-");
    let id: String = thread_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("rollout-{stamp}-{id}.jsonl")
}

/// The directory that holds the rollouts started at `started`: `<sessions_root>/YYYY/MM/DD`
/// (UTC date).
#[must_use]
pub fn session_dir(sessions_root: &Path, started: SystemTime) -> PathBuf {
    let stamp = humantime::format_rfc3339_seconds(clamp_time(started)).to_string();
    let part = |range: std::ops::Range<usize>, fallback: &'static str| {
        stamp.get(range).unwrap_or(fallback).to_owned()
    };
    sessions_root
        .join(part(0..4, "1970"))
        .join(part(5..7, "01"))
        .join(part(8..10, "01"))
}

/// Renders `item` as one rollout line stamped `now`, without the trailing newline.
///
/// The result never contains a newline; strings are JSON-escaped. A writer appends it plus
/// `"\n"` in a single write and flushes.
#[must_use]
pub fn render_line(item: &RolloutItem, now: SystemTime) -> String {
    let timestamp = format_timestamp(now);
    let kind = item.kind();
    let payload = render_payload(item);
    format!(r#"{{"timestamp":"{timestamp}","type":"{kind}","payload":{payload}}}"#)
}

/// Parses the bytes of a rollout file.
///
/// Blank lines are ignored; lines that do not parse are skipped and counted in
/// [`Rollout::skipped`]; an unterminated last line that is not JSON sets [`Rollout::torn_tail`]
/// (an unterminated last line that is complete JSON is read like any other line). The first
/// well-formed line must be a `session_meta`.
///
/// # Errors
///
/// [`ParseError`] when no well-formed line parses, or the first one is not a `session_meta`.
pub fn parse_rollout(bytes: &[u8]) -> Result<Rollout, ParseError> {
    let (complete, tail) = match bytes.iter().rposition(|b| *b == b'\n') {
        Some(newline) => (
            bytes.get(..newline),
            bytes.get(newline + 1..).unwrap_or_default(),
        ),
        None => (None, bytes),
    };
    let mut parser = Parser::default();
    for line in complete.into_iter().flat_map(|c| c.split(|b| *b == b'\n')) {
        parser.line(line)?;
    }
    let torn_tail = if is_blank(tail) {
        false
    } else if serde_json::from_slice::<serde::de::IgnoredAny>(tail).is_err() {
        true
    } else {
        parser.line(tail)?;
        false
    };
    match parser.meta {
        Some(meta) => Ok(Rollout {
            meta,
            items: parser.items,
            skipped: parser.skipped,
            torn_tail,
        }),
        None => Err(ParseError::Empty {
            skipped: parser.skipped,
        }),
    }
}

/// Reads and parses the rollout file at `path`; see [`parse_rollout`].
///
/// The file is opened without following a symlink and without blocking (so a FIFO never
/// hangs the caller); anything but a regular file is refused with
/// [`RolloutError::NotRegularFile`], and a file larger than [`MAX_ROLLOUT_BYTES`] with
/// [`RolloutError::TooLarge`].
///
/// # Errors
///
/// [`RolloutError::Io`] when the file cannot be opened or read, `NotRegularFile`, `TooLarge`,
/// and [`RolloutError::NoSessionMeta`] when [`parse_rollout`] fails.
pub fn read_rollout(path: &Path) -> Result<Rollout, RolloutError> {
    read_rollout_limited(path, MAX_ROLLOUT_BYTES)
}

/// [`read_rollout`] with a size limit of `limit` bytes.
fn read_rollout_limited(path: &Path, limit: u64) -> Result<Rollout, RolloutError> {
    let (file, len) = open_regular(path)?;
    if len > limit {
        return Err(too_large(path, limit));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|source| io_error(path, source))?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > limit {
        return Err(too_large(path, limit));
    }
    parse_rollout(&bytes).map_err(|source| RolloutError::NoSessionMeta {
        path: path.to_owned(),
        source,
    })
}

/// Opens `path` read-only with `O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY` and checks that
/// it is a regular file; returns the file and its size.
pub(super) fn open_regular(path: &Path) -> Result<(File, u64), RolloutError> {
    use rustix::fs::{Mode, OFlags};
    use rustix::io::Errno;

    let flags =
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY;
    let fd = match rustix::fs::open(path, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(errno) => {
            // ELOOP: the last component is a symlink; ENXIO: a socket. Name what it is.
            if (errno == Errno::LOOP || errno == Errno::NXIO)
                && let Ok(metadata) = std::fs::symlink_metadata(path)
                && !metadata.file_type().is_file()
            {
                return Err(not_regular(path, metadata.file_type()));
            }
            return Err(io_error(path, errno.into()));
        }
    };
    let file = File::from(fd);
    let metadata = file.metadata().map_err(|source| io_error(path, source))?;
    if !metadata.file_type().is_file() {
        return Err(not_regular(path, metadata.file_type()));
    }
    Ok((file, metadata.len()))
}

/// Parses one line as a `session_meta` line, for discovery; `None` for anything else.
pub(super) fn parse_meta_line(line: &[u8]) -> Option<SessionMeta> {
    match parse_line(line)? {
        RolloutItem::SessionMeta(meta) => Some(meta),
        _ => None,
    }
}

/// The state of [`parse_rollout`] across lines.
#[derive(Default)]
struct Parser {
    meta: Option<SessionMeta>,
    items: Vec<RolloutItem>,
    skipped: usize,
    line_number: usize,
}

impl Parser {
    /// Takes one line (without its newline).
    fn line(&mut self, line: &[u8]) -> Result<(), ParseError> {
        self.line_number += 1;
        if is_blank(line) {
            return Ok(());
        }
        let Some(item) = parse_line(line) else {
            self.skipped += 1;
            return Ok(());
        };
        match (&self.meta, item) {
            (Some(_), item) => self.items.push(item),
            (None, RolloutItem::SessionMeta(meta)) => self.meta = Some(meta),
            (None, item) => {
                return Err(ParseError::FirstNotMeta {
                    line: self.line_number,
                    kind: item.kind(),
                });
            }
        }
        Ok(())
    }
}

/// The envelope of a line as read; the timestamp is not kept.
#[derive(Deserialize)]
struct LineIn {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    payload: Value,
}

/// A `session_meta` payload as read, tolerant of missing and odd fields.
#[derive(Deserialize)]
struct MetaIn {
    id: String,
    #[serde(default)]
    timestamp: Option<String>,
    cwd: PathBuf,
    #[serde(default)]
    originator: Option<String>,
    #[serde(default)]
    cli_version: Option<String>,
    #[serde(default)]
    source: Value,
    #[serde(default)]
    model_provider: Option<String>,
    #[serde(default)]
    base_instructions: Value,
    #[serde(default)]
    git: Value,
    #[serde(default)]
    caller: Value,
}

/// A `session_meta` payload as written.
#[derive(Serialize)]
struct MetaOut<'a> {
    id: &'a str,
    timestamp: &'a str,
    cwd: Cow<'a, str>,
    originator: &'a str,
    cli_version: &'a str,
    source: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    model_provider: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    base_instructions: Option<TextOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    git: Option<&'a GitInfo>,
    #[serde(skip_serializing_if = "CallerSettings::is_empty")]
    caller: &'a CallerSettings,
}

/// The `{"text": ...}` form of the base instructions.
#[derive(Serialize)]
struct TextOut<'a> {
    text: &'a str,
}

/// A `turn_context` payload as read.
#[derive(Deserialize)]
struct TurnIn {
    #[serde(default)]
    turn_id: Option<String>,
    cwd: PathBuf,
    approval_policy: Value,
    #[serde(default)]
    sandbox_policy: Value,
    model: String,
    #[serde(default)]
    effort: Option<String>,
    #[serde(default)]
    summary: Option<String>,
}

/// A `turn_context` payload as written.
#[derive(Serialize)]
struct TurnOut<'a> {
    turn_id: &'a str,
    cwd: Cow<'a, str>,
    approval_policy: &'a str,
    sandbox_policy: &'a Value,
    model: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    effort: Option<&'a str>,
    summary: &'a str,
}

/// A `compacted` payload as read.
#[derive(Deserialize)]
struct CompactedIn {
    message: String,
    #[serde(default)]
    replacement_history: Option<Vec<Value>>,
}

/// A `compacted` payload as written.
#[derive(Serialize)]
struct CompactedOut<'a> {
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    replacement_history: Option<&'a [Value]>,
}

/// Parses one non-blank line; `None` when it is not a well-formed line of a known type.
fn parse_line(line: &[u8]) -> Option<RolloutItem> {
    let LineIn { kind, payload } = serde_json::from_slice(line).ok()?;
    match kind.as_str() {
        "session_meta" => {
            let meta: MetaIn = serde_json::from_value(payload).ok()?;
            Some(RolloutItem::SessionMeta(SessionMeta {
                id: meta.id,
                timestamp: meta.timestamp.unwrap_or_default(),
                cwd: meta.cwd,
                originator: meta.originator.unwrap_or_default(),
                cli_version: meta.cli_version.unwrap_or_default(),
                source: value_text(meta.source),
                model_provider: meta.model_provider,
                base_instructions: instructions_text(meta.base_instructions),
                git: serde_json::from_value(meta.git).ok(),
                // A malformed entry is dropped whole, like an odd `git`.
                caller: serde_json::from_value(meta.caller).unwrap_or_default(),
            }))
        }
        "response_item" if payload.is_object() => Some(RolloutItem::ResponseItem(payload)),
        "event_msg" if payload.is_object() => Some(RolloutItem::EventMsg(payload)),
        "turn_context" => {
            let turn: TurnIn = serde_json::from_value(payload).ok()?;
            Some(RolloutItem::TurnContext(TurnContext {
                turn_id: turn.turn_id.unwrap_or_default(),
                cwd: turn.cwd,
                approval_policy: value_text(turn.approval_policy),
                sandbox_policy: turn.sandbox_policy,
                model: turn.model,
                effort: turn.effort,
                summary: turn.summary.unwrap_or_default(),
            }))
        }
        "compacted" => {
            let compacted: CompactedIn = serde_json::from_value(payload).ok()?;
            Some(RolloutItem::Compacted {
                message: compacted.message,
                replacement_history: compacted.replacement_history,
            })
        }
        _ => None,
    }
}

/// The JSON text of the payload of `item`.
fn render_payload(item: &RolloutItem) -> String {
    let rendered = match item {
        RolloutItem::SessionMeta(meta) => serde_json::to_string(&MetaOut {
            id: &meta.id,
            timestamp: &meta.timestamp,
            cwd: meta.cwd.to_string_lossy(),
            originator: &meta.originator,
            cli_version: &meta.cli_version,
            source: &meta.source,
            model_provider: meta.model_provider.as_deref(),
            base_instructions: meta
                .base_instructions
                .as_deref()
                .map(|text| TextOut { text }),
            git: meta.git.as_ref(),
            caller: &meta.caller,
        }),
        RolloutItem::ResponseItem(value) | RolloutItem::EventMsg(value) => {
            serde_json::to_string(value)
        }
        RolloutItem::TurnContext(turn) => serde_json::to_string(&TurnOut {
            turn_id: &turn.turn_id,
            cwd: turn.cwd.to_string_lossy(),
            approval_policy: &turn.approval_policy,
            sandbox_policy: &turn.sandbox_policy,
            model: &turn.model,
            effort: turn.effort.as_deref(),
            summary: &turn.summary,
        }),
        RolloutItem::Compacted {
            message,
            replacement_history,
        } => serde_json::to_string(&CompactedOut {
            message,
            replacement_history: replacement_history.as_deref(),
        }),
    };
    // Serializing strings, `Value`s and lossy paths cannot fail; `null` keeps this total.
    rendered.unwrap_or_else(|_| "null".to_owned())
}

/// The user message that stands for a compaction summary in [`Rollout::history`].
fn summary_message(message: &str) -> Value {
    let mut text = Map::new();
    text.insert("type".to_owned(), Value::from("input_text"));
    text.insert("text".to_owned(), Value::from(message));
    let mut item = Map::new();
    item.insert("type".to_owned(), Value::from("message"));
    item.insert("role".to_owned(), Value::from("user"));
    item.insert(
        "content".to_owned(),
        Value::Array(vec![Value::Object(text)]),
    );
    Value::Object(item)
}

/// A string value as is; `null` as empty; anything else as its compact JSON text.
fn value_text(value: Value) -> String {
    match value {
        Value::String(text) => text,
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The base instructions from `{"text": ...}` or a bare string; `None` for anything else.
fn instructions_text(value: Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text),
        Value::Object(mut object) => match object.remove("text") {
            Some(Value::String(text)) => Some(text),
            _ => None,
        },
        _ => None,
    }
}

/// Whether `line` holds only ASCII whitespace.
fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

/// `time` limited to what RFC 3339 can write.
fn clamp_time(time: SystemTime) -> SystemTime {
    match time.duration_since(UNIX_EPOCH) {
        Err(_) => UNIX_EPOCH,
        Ok(since) if since > LAST_RFC3339_MILLIS => UNIX_EPOCH
            .checked_add(LAST_RFC3339_MILLIS)
            .unwrap_or(UNIX_EPOCH),
        Ok(_) => time,
    }
}

/// A [`RolloutError::Io`] for `path`.
pub(super) fn io_error(path: &Path, source: std::io::Error) -> RolloutError {
    RolloutError::Io {
        path: path.to_owned(),
        source,
    }
}

/// A [`RolloutError::TooLarge`] for `path`.
fn too_large(path: &Path, limit: u64) -> RolloutError {
    RolloutError::TooLarge {
        path: path.to_owned(),
        limit,
    }
}

/// A [`RolloutError::NotRegularFile`] for `path`, naming what `file_type` is.
fn not_regular(path: &Path, file_type: FileType) -> RolloutError {
    use std::os::unix::fs::FileTypeExt;

    let kind = if file_type.is_symlink() {
        "symlink"
    } else if file_type.is_dir() {
        "directory"
    } else if file_type.is_fifo() {
        "FIFO"
    } else if file_type.is_socket() {
        "socket"
    } else if file_type.is_char_device() {
        "character device"
    } else if file_type.is_block_device() {
        "block device"
    } else {
        "special file"
    };
    RolloutError::NotRegularFile {
        path: path.to_owned(),
        kind,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};
    use proptest::prelude::*;

    fn at(rfc3339: &str) -> SystemTime {
        humantime::parse_rfc3339(rfc3339).unwrap()
    }

    fn json(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    fn meta() -> SessionMeta {
        SessionMeta {
            id: "0199a213-81c0-7800-8aa1-bbab2a035a53".to_owned(),
            timestamp: "2026-12-06T05:40:01.123Z".to_owned(),
            cwd: PathBuf::from("/home/me/project"),
            originator: "codex_exec".to_owned(),
            cli_version: "0.1.0".to_owned(),
            source: "exec".to_owned(),
            model_provider: Some("openai".to_owned()),
            base_instructions: Some("You are Codex.\nBe brief.".to_owned()),
            git: Some(GitInfo {
                commit_hash: Some("abc123".to_owned()),
                branch: Some("main".to_owned()),
                repository_url: None,
            }),
            caller: CallerSettings::default(),
        }
    }

    fn turn() -> TurnContext {
        TurnContext {
            turn_id: "turn-1".to_owned(),
            cwd: PathBuf::from("/home/me/project"),
            approval_policy: "never".to_owned(),
            sandbox_policy: json(r#"{"mode":"workspace-write"}"#),
            model: "gpt-5".to_owned(),
            effort: Some("medium".to_owned()),
            summary: "auto".to_owned(),
        }
    }

    #[test]
    fn renders_each_kind() {
        let now = at("2026-12-06T05:40:01.123Z");
        let check = |item: RolloutItem, expected: Expect| {
            expected.assert_eq(&render_line(&item, now));
        };
        check(
            RolloutItem::SessionMeta(meta()),
            expect![[
                r#"{"timestamp":"2026-12-06T05:40:01.123Z","type":"session_meta","payload":{"id":"0199a213-81c0-7800-8aa1-bbab2a035a53","timestamp":"2026-12-06T05:40:01.123Z","cwd":"/home/me/project","originator":"codex_exec","cli_version":"0.1.0","source":"exec","model_provider":"openai","base_instructions":{"text":"You are Codex.\nBe brief."},"git":{"commit_hash":"abc123","branch":"main"}}}"#
            ]],
        );
        check(
            RolloutItem::SessionMeta(SessionMeta {
                model_provider: None,
                base_instructions: None,
                git: None,
                ..meta()
            }),
            expect![[
                r#"{"timestamp":"2026-12-06T05:40:01.123Z","type":"session_meta","payload":{"id":"0199a213-81c0-7800-8aa1-bbab2a035a53","timestamp":"2026-12-06T05:40:01.123Z","cwd":"/home/me/project","originator":"codex_exec","cli_version":"0.1.0","source":"exec"}}"#
            ]],
        );
        check(
            RolloutItem::ResponseItem(json(
                r#"{"type":"message","role":"user","content":[{"type":"input_text","text":"hi ☃"}]}"#,
            )),
            expect![[
                r#"{"timestamp":"2026-12-06T05:40:01.123Z","type":"response_item","payload":{"type":"message","role":"user","content":[{"type":"input_text","text":"hi ☃"}]}}"#
            ]],
        );
        check(
            RolloutItem::ResponseItem(json(
                r#"{"type":"function_call","name":"shell","arguments":"{\"cmd\":[\"ls\"]}","call_id":"call_1"}"#,
            )),
            expect![[
                r#"{"timestamp":"2026-12-06T05:40:01.123Z","type":"response_item","payload":{"type":"function_call","name":"shell","arguments":"{\"cmd\":[\"ls\"]}","call_id":"call_1"}}"#
            ]],
        );
        check(
            RolloutItem::TurnContext(turn()),
            expect![[
                r#"{"timestamp":"2026-12-06T05:40:01.123Z","type":"turn_context","payload":{"turn_id":"turn-1","cwd":"/home/me/project","approval_policy":"never","sandbox_policy":{"mode":"workspace-write"},"model":"gpt-5","effort":"medium","summary":"auto"}}"#
            ]],
        );
        check(
            RolloutItem::TurnContext(TurnContext {
                effort: None,
                ..turn()
            }),
            expect![[
                r#"{"timestamp":"2026-12-06T05:40:01.123Z","type":"turn_context","payload":{"turn_id":"turn-1","cwd":"/home/me/project","approval_policy":"never","sandbox_policy":{"mode":"workspace-write"},"model":"gpt-5","summary":"auto"}}"#
            ]],
        );
        check(
            RolloutItem::EventMsg(json(
                r#"{"type":"user_message","message":"line 1\nline 2"}"#,
            )),
            expect![[
                r#"{"timestamp":"2026-12-06T05:40:01.123Z","type":"event_msg","payload":{"type":"user_message","message":"line 1\nline 2"}}"#
            ]],
        );
        check(
            RolloutItem::Compacted {
                message: "Summary so far.".to_owned(),
                replacement_history: None,
            },
            expect![[
                r#"{"timestamp":"2026-12-06T05:40:01.123Z","type":"compacted","payload":{"message":"Summary so far."}}"#
            ]],
        );
        check(
            RolloutItem::Compacted {
                message: String::new(),
                replacement_history: Some(vec![json(r#"{"type":"compaction_summary"}"#)]),
            },
            expect![[
                r#"{"timestamp":"2026-12-06T05:40:01.123Z","type":"compacted","payload":{"message":"","replacement_history":[{"type":"compaction_summary"}]}}"#
            ]],
        );
    }

    #[test]
    fn renders_times_and_names() {
        let check = |time: SystemTime, expected: Expect| {
            let id = "0199a213-81c0-7800-8aa1-bbab2a035a53";
            let dir = session_dir(Path::new("/codex/sessions"), time);
            let shown = format!(
                "{} {} {}",
                format_timestamp(time),
                dir.display(),
                file_name(time, id)
            );
            expected.assert_eq(&shown);
        };
        check(
            at("2026-12-06T05:40:01.123Z"),
            expect![
                "2026-12-06T05:40:01.123Z /codex/sessions/2026/12/06 rollout-2026-12-06T05-40-01-0199a213-81c0-7800-8aa1-bbab2a035a53.jsonl"
            ],
        );
        check(
            UNIX_EPOCH - Duration::from_secs(1),
            expect![
                "1970-01-01T00:00:00.000Z /codex/sessions/1970/01/01 rollout-1970-01-01T00-00-00-0199a213-81c0-7800-8aa1-bbab2a035a53.jsonl"
            ],
        );
        check(
            UNIX_EPOCH + Duration::from_secs(400_000_000_000),
            expect![
                "9999-12-31T23:59:59.999Z /codex/sessions/9999/12/31 rollout-9999-12-31T23-59-59-0199a213-81c0-7800-8aa1-bbab2a035a53.jsonl"
            ],
        );
        expect!["rollout-1970-01-01T00-00-00-______etc_passwd.jsonl"]
            .assert_eq(&file_name(UNIX_EPOCH, "../../etc/passwd"));
    }

    /// The parse result of `input` in a compact form: each item re-rendered, then the counts.
    fn show(input: &str) -> String {
        match parse_rollout(input.as_bytes()) {
            Err(error) => format!("error: {error}"),
            Ok(rollout) => {
                let mut out = format!(
                    "meta: {}\n",
                    render_payload(&RolloutItem::SessionMeta(rollout.meta.clone()))
                );
                for item in &rollout.items {
                    out += &format!("{}: {}\n", item.kind(), render_payload(item));
                }
                out += &format!(
                    "skipped: {}, torn_tail: {}\n",
                    rollout.skipped, rollout.torn_tail
                );
                for item in rollout.history() {
                    out += &format!("history: {item}\n");
                }
                out
            }
        }
    }

    #[test]
    fn parses_tolerantly() {
        let check = |input: &str, expected: Expect| expected.assert_eq(&show(input));
        const META: &str = r#"{"timestamp":"t","type":"session_meta","payload":{"id":"i","cwd":"/p","originator":"codex_exec","cli_version":"1","source":"exec"}}"#;
        check(
            "",
            expect!["error: no session_meta line: no well-formed line (0 skipped)"],
        );
        check(
            "not json\n{\"type\":\"response_item\",\"payload\":{\"type\":\"message\"}}\n",
            expect![
                "error: no session_meta line: the first well-formed line (line 2) is a response_item line"
            ],
        );
        check(
            &format!("{META}\n"),
            expect![[r#"
                meta: {"id":"i","timestamp":"","cwd":"/p","originator":"codex_exec","cli_version":"1","source":"exec"}
                skipped: 0, torn_tail: false
            "#]],
        );
        // Garbage, unknown kinds, wrong shapes and blank lines; a torn tail.
        check(
            &format!(
                "garbage\n{META}\n\n{}\n{}\n{}\n{}\r\n{}\n{{\"timestamp\":\"t\",\"type\":\"event_msg\",\"payload\":{{\"ty",
                r#"{"type":"mystery","payload":{}}"#,
                r#"{"type":"response_item","payload":"not an object"}"#,
                r#"{"type":"turn_context","payload":{"cwd":"/p"}}"#,
                r#"{"type":"response_item","payload":{"type":"message","role":"user","content":[]}}"#,
                r#"{"type":"event_msg","payload":{"type":"task_started","turn_id":"1"}}"#,
            ),
            expect![[r#"
                meta: {"id":"i","timestamp":"","cwd":"/p","originator":"codex_exec","cli_version":"1","source":"exec"}
                response_item: {"type":"message","role":"user","content":[]}
                event_msg: {"type":"task_started","turn_id":"1"}
                skipped: 4, torn_tail: true
                history: {"type":"message","role":"user","content":[]}
            "#]],
        );
        // An unterminated but complete last line is kept.
        check(
            &format!(
                "{META}\n{}",
                r#"{"type":"compacted","payload":{"message":"sum"}}"#
            ),
            expect![[r#"
                meta: {"id":"i","timestamp":"","cwd":"/p","originator":"codex_exec","cli_version":"1","source":"exec"}
                compacted: {"message":"sum"}
                skipped: 0, torn_tail: false
                history: {"type":"message","role":"user","content":[{"type":"input_text","text":"sum"}]}
            "#]],
        );
        // Codex's own shapes: base_instructions as an object or a string, extra fields, a
        // non-string source, missing optional fields.
        check(
            concat!(
                r#"{"timestamp":"t","type":"session_meta","payload":{"id":"i","timestamp":"ts","cwd":"/p","originator":"o","cli_version":"v","instructions":null,"source":{"subagent":"review"},"model_provider":"openai","base_instructions":"plain","git":{"commit_hash":"c"}}}"#,
                "\n",
                r#"{"timestamp":"t","type":"session_meta","payload":{"id":"j","cwd":"/q","base_instructions":{"text":"boxed"},"git":"weird"}}"#,
                "\n",
                r#"{"timestamp":"t","type":"turn_context","payload":{"cwd":"/p","approval_policy":"on-request","sandbox_policy":{"type":"read-only"},"model":"m","effort":null,"summary":"auto","user_instructions":"x"}}"#,
                "\n",
            ),
            expect![[r#"
                meta: {"id":"i","timestamp":"ts","cwd":"/p","originator":"o","cli_version":"v","source":"{\"subagent\":\"review\"}","model_provider":"openai","base_instructions":{"text":"plain"},"git":{"commit_hash":"c"}}
                session_meta: {"id":"j","timestamp":"","cwd":"/q","originator":"","cli_version":"","source":"","base_instructions":{"text":"boxed"}}
                turn_context: {"turn_id":"","cwd":"/p","approval_policy":"on-request","sandbox_policy":{"type":"read-only"},"model":"m","summary":"auto"}
                skipped: 0, torn_tail: false
            "#]],
        );
        // A caller's settings come back; a malformed `caller` is dropped whole.
        check(
            concat!(
                r#"{"timestamp":"t","type":"session_meta","payload":{"id":"i","cwd":"/p","caller":{"config":["model=\"m\""],"profile":"fast"}}}"#,
                "\n",
                r#"{"timestamp":"t","type":"session_meta","payload":{"id":"j","cwd":"/q","caller":{"config":[1]}}}"#,
                "\n",
            ),
            expect![[r#"
                meta: {"id":"i","timestamp":"","cwd":"/p","originator":"","cli_version":"","source":"","caller":{"config":["model=\"m\""],"profile":"fast"}}
                session_meta: {"id":"j","timestamp":"","cwd":"/q","originator":"","cli_version":"","source":""}
                skipped: 0, torn_tail: false
            "#]],
        );
        // Compaction replaces earlier history; a replacement history is used as is.
        check(
            &format!(
                "{META}\n{}\n{}\n{}\n{}\n{}\n",
                r#"{"type":"response_item","payload":{"n":1}}"#,
                r#"{"type":"compacted","payload":{"message":"first"}}"#,
                r#"{"type":"response_item","payload":{"n":2}}"#,
                r#"{"type":"compacted","payload":{"message":"","replacement_history":[{"n":"r"}]}}"#,
                r#"{"type":"response_item","payload":{"n":3}}"#,
            ),
            expect![[r#"
                meta: {"id":"i","timestamp":"","cwd":"/p","originator":"codex_exec","cli_version":"1","source":"exec"}
                response_item: {"n":1}
                compacted: {"message":"first"}
                response_item: {"n":2}
                compacted: {"message":"","replacement_history":[{"n":"r"}]}
                response_item: {"n":3}
                skipped: 0, torn_tail: false
                history: {"n":"r"}
                history: {"n":3}
            "#]],
        );
    }

    #[test]
    fn last_turn_context_is_the_latest() {
        let now = UNIX_EPOCH;
        let lines = [
            RolloutItem::SessionMeta(meta()),
            RolloutItem::TurnContext(turn()),
            RolloutItem::TurnContext(TurnContext {
                model: "second".to_owned(),
                ..turn()
            }),
            RolloutItem::EventMsg(json(r#"{"type":"task_complete"}"#)),
        ];
        let text: String = lines
            .iter()
            .map(|item| render_line(item, now) + "\n")
            .collect();
        let rollout = parse_rollout(text.as_bytes()).unwrap();
        assert_eq!(
            rollout.last_turn_context().map(|c| c.model.as_str()),
            Some("second")
        );
        let only_meta = render_line(&lines[0], now);
        assert_eq!(
            parse_rollout(only_meta.as_bytes())
                .unwrap()
                .last_turn_context(),
            None
        );
    }

    #[test]
    fn reads_only_regular_files() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.jsonl");
        let mut file = File::create(&good).unwrap();
        writeln!(
            file,
            "{}",
            render_line(&RolloutItem::SessionMeta(meta()), UNIX_EPOCH)
        )
        .unwrap();
        drop(file);
        assert_eq!(read_rollout(&good).unwrap().meta, meta());

        let root = dir.path().display().to_string();
        let check = |path: PathBuf, limit: u64, expected: Expect| {
            let error = read_rollout_limited(&path, limit).unwrap_err();
            expected.assert_eq(&error.to_string().replace(&root, "<dir>"));
        };
        let link = dir.path().join("link.jsonl");
        std::os::unix::fs::symlink(&good, &link).unwrap();
        check(
            link,
            MAX_ROLLOUT_BYTES,
            expect!["<dir>/link.jsonl is a symlink, not a regular file"],
        );
        let fifo = dir.path().join("fifo.jsonl");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        check(
            fifo,
            MAX_ROLLOUT_BYTES,
            expect!["<dir>/fifo.jsonl is a FIFO, not a regular file"],
        );
        check(
            dir.path().to_owned(),
            MAX_ROLLOUT_BYTES,
            expect!["<dir> is a directory, not a regular file"],
        );
        check(
            dir.path().join("missing"),
            MAX_ROLLOUT_BYTES,
            expect!["cannot read <dir>/missing: No such file or directory (os error 2)"],
        );
        check(
            good.clone(),
            10,
            expect!["<dir>/good.jsonl is larger than the 10-byte limit on rollout files"],
        );
        let huge = dir.path().join("huge.jsonl");
        File::create(&huge)
            .unwrap()
            .set_len(MAX_ROLLOUT_BYTES + 1)
            .unwrap();
        check(
            huge,
            MAX_ROLLOUT_BYTES,
            expect!["<dir>/huge.jsonl is larger than the 268435456-byte limit on rollout files"],
        );
        let other = dir.path().join("other.txt");
        std::fs::write(&other, "hello\n").unwrap();
        check(
            other,
            MAX_ROLLOUT_BYTES,
            expect![
                "<dir>/other.txt is not a rollout: no session_meta line: no well-formed line (1 skipped)"
            ],
        );
    }

    /// Strings with newlines, quotes, backslashes, controls and any Unicode.
    fn text() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                any::<char>(),
                Just('\n'),
                Just('\r'),
                Just('"'),
                Just('\\'),
                Just('\u{2028}'),
                Just('é'),
                Just('😀'),
            ],
            0..12,
        )
        .prop_map(String::from_iter)
    }

    /// JSON values without floats (whose text form need not round-trip exactly).
    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            text().prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map(text(), inner, 0..4)
                    .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    fn object() -> impl Strategy<Value = Value> {
        proptest::collection::btree_map(text(), value(), 0..4)
            .prop_map(|map| Value::Object(map.into_iter().collect()))
    }

    fn session_meta() -> impl Strategy<Value = SessionMeta> {
        let git = proptest::option::of(
            (
                proptest::option::of(text()),
                proptest::option::of(text()),
                proptest::option::of(text()),
            )
                .prop_map(|(commit_hash, branch, repository_url)| GitInfo {
                    commit_hash,
                    branch,
                    repository_url,
                }),
        );
        let caller = (
            proptest::collection::vec(text(), 0..3),
            proptest::option::of(text()),
        )
            .prop_map(|(config, profile)| CallerSettings { config, profile });
        (
            (text(), text(), text(), text(), text(), text()),
            proptest::option::of(text()),
            proptest::option::of(text()),
            git,
            caller,
        )
            .prop_map(
                |(
                    (id, timestamp, cwd, originator, cli_version, source),
                    model_provider,
                    base_instructions,
                    git,
                    caller,
                )| SessionMeta {
                    id,
                    timestamp,
                    cwd: PathBuf::from(cwd),
                    originator,
                    cli_version,
                    source,
                    model_provider,
                    base_instructions,
                    git,
                    caller,
                },
            )
    }

    fn item() -> impl Strategy<Value = RolloutItem> {
        let turn = (
            (text(), text(), text(), value()),
            (text(), proptest::option::of(text()), text()),
        )
            .prop_map(
                |((turn_id, cwd, approval_policy, sandbox_policy), (model, effort, summary))| {
                    RolloutItem::TurnContext(TurnContext {
                        turn_id,
                        cwd: PathBuf::from(cwd),
                        approval_policy,
                        sandbox_policy,
                        model,
                        effort,
                        summary,
                    })
                },
            );
        let compacted = (
            text(),
            proptest::option::of(proptest::collection::vec(object(), 0..3)),
        )
            .prop_map(|(message, replacement_history)| RolloutItem::Compacted {
                message,
                replacement_history,
            });
        prop_oneof![
            session_meta().prop_map(RolloutItem::SessionMeta),
            object().prop_map(RolloutItem::ResponseItem),
            object().prop_map(RolloutItem::EventMsg),
            turn,
            compacted,
        ]
    }

    /// A rendered file: the meta, the items, and the byte offset where each line ends.
    fn file() -> impl Strategy<Value = (SessionMeta, Vec<RolloutItem>, String, Vec<usize>)> {
        (
            session_meta(),
            proptest::collection::vec(item(), 0..6),
            any::<u64>(),
        )
            .prop_map(|(meta, items, millis)| {
                let now = UNIX_EPOCH + Duration::from_millis(millis % 400_000_000_000_000);
                let mut text = render_line(&RolloutItem::SessionMeta(meta.clone()), now);
                let mut ends = vec![text.len()];
                for item in &items {
                    text.push('\n');
                    text += &render_line(item, now);
                    ends.push(text.len());
                }
                text.push('\n');
                (meta, items, text, ends)
            })
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = parse_rollout(&bytes);
        }

        #[test]
        fn parse_never_panics_on_damaged_files(
            (_, _, text, _) in file(),
            flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        ) {
            let mut bytes = text.into_bytes();
            for (at, byte) in flips {
                let at = at.index(bytes.len());
                bytes[at] = byte;
            }
            let _ = parse_rollout(&bytes);
        }

        #[test]
        fn render_then_parse_round_trips((meta, items, text, _) in file()) {
            for line in text.lines() {
                prop_assert!(!line.contains('\n'));
            }
            let rollout = parse_rollout(text.as_bytes()).unwrap();
            prop_assert_eq!(rollout.meta, meta);
            prop_assert_eq!(rollout.items, items);
            prop_assert_eq!(rollout.skipped, 0);
            prop_assert!(!rollout.torn_tail);
        }

        #[test]
        fn a_cut_file_parses_to_a_prefix(
            (meta, items, text, ends) in file(),
            cut in any::<prop::sample::Index>(),
        ) {
            let cut = cut.index(text.len() + 1);
            let bytes = &text.as_bytes()[..cut];
            // Lines whose text is wholly before the cut parse; a cut anywhere but at the
            // start or end of a line's text leaves a torn tail.
            let whole = ends.iter().filter(|end| **end <= cut).count();
            let at_boundary = cut == 0 || ends.contains(&cut) || ends.contains(&(cut - 1));
            match parse_rollout(bytes) {
                Ok(rollout) => {
                    prop_assert!(whole >= 1);
                    prop_assert_eq!(rollout.meta, meta);
                    prop_assert_eq!(&rollout.items[..], &items[..whole - 1]);
                    prop_assert_eq!(rollout.skipped, 0);
                    prop_assert_eq!(rollout.torn_tail, !at_boundary);
                }
                Err(error) => {
                    prop_assert_eq!(whole, 0);
                    prop_assert_eq!(error, ParseError::Empty { skipped: 0 });
                }
            }
        }
    }
}
