//! Finding rollout files under a sessions directory, by thread id or as the latest session.
//!
//! The layout searched is `<sessions_root>/YYYY/MM/DD/rollout-YYYY-MM-DDThh-mm-ss-<uuid>.jsonl`.
//! Only directories named by four or two digits and files named exactly so are considered;
//! symlinks below the root (to directories or files) are never followed, so discovery cannot
//! leave the sessions directory. The root itself may be a symlink. A missing root means no
//! sessions; an unreadable subdirectory or file is skipped.

use std::fs::{DirEntry, FileType};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::format::{RolloutError, SessionMeta, io_error, open_regular, parse_meta_line};

/// The most [`find_last`] reads of a candidate's first line: 1 MiB.
pub const MAX_META_LINE_BYTES: u64 = 1024 * 1024;

/// What the session [`find_last`] looks for must match.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LastFilter<'a> {
    /// When set, the session's `cwd` must be this directory (compared after canonicalizing both
    /// when they exist, else as written).
    pub cwd: Option<&'a Path>,
    /// When set, the session's `model_provider` must be this; a session without one does not
    /// match.
    pub model_provider: Option<&'a str>,
    /// Only sessions a person had, not those of `codex exec`, an MCP client or a subagent:
    /// what the chat's `--last` and picker offer unless told `--include-non-interactive`.
    pub interactive_only: bool,
}

/// The `source` values of sessions a person had, as Codex counts them: its terminal and
/// editor front ends, its other apps, and none at all (Codex's older files, read as its
/// default, `vscode`).
const INTERACTIVE_SOURCES: [&str; 5] = ["cli", "vscode", "atlas", "chatgpt", ""];

/// Finds the rollout of thread `id` under `sessions_root`.
///
/// `id` must be a UUID (`8-4-4-4-12` hex digits, compared case-insensitively), else
/// [`RolloutError::InvalidId`]: it is only ever compared with file names, never joined to a
/// path. Day directories are searched newest first, and the first match is returned.
///
/// # Errors
///
/// [`RolloutError::InvalidId`] for a malformed id; [`RolloutError::Io`] when the root exists
/// but cannot be read.
pub fn find_by_id(sessions_root: &Path, id: &str) -> Result<Option<PathBuf>, RolloutError> {
    if !is_uuid(id) {
        return Err(RolloutError::InvalidId { id: id.to_owned() });
    }
    for day in day_dirs(sessions_root)? {
        for (name, file_type, entry) in list_dir(&day) {
            if file_type.is_file()
                && rollout_file_id(&name).is_some_and(|found| found.eq_ignore_ascii_case(id))
            {
                return Ok(Some(entry.path()));
            }
        }
    }
    Ok(None)
}

/// Finds the most recently modified rollout under `sessions_root` whose `session_meta`
/// matches `filter`: the first of [`recent`].
///
/// # Errors
///
/// [`RolloutError::Io`] when the root exists but cannot be read.
pub fn find_last(
    sessions_root: &Path,
    filter: LastFilter<'_>,
) -> Result<Option<PathBuf>, RolloutError> {
    Ok(recent(sessions_root, filter)?.next())
}

/// The rollouts under `sessions_root` whose `session_meta` matches
/// `filter`, most recently modified first (`--last`, and the picker).
///
/// The directory is listed at once; each candidate's first line (at most
/// [`MAX_META_LINE_BYTES`]) is read only when the iterator reaches it, so
/// taking the first few reads only as many files as it must. A candidate
/// whose first line is not a `session_meta` is passed over.
///
/// # Errors
///
/// [`RolloutError::Io`] when the root exists but cannot be read.
pub fn recent<'a>(
    sessions_root: &Path,
    filter: LastFilter<'a>,
) -> Result<impl Iterator<Item = PathBuf> + use<'a>, RolloutError> {
    let mut candidates: Vec<(SystemTime, PathBuf)> = Vec::new();
    for day in day_dirs(sessions_root)? {
        for (name, file_type, entry) in list_dir(&day) {
            if !file_type.is_file() || rollout_file_id(&name).is_none() {
                continue;
            }
            // `DirEntry::metadata` does not follow symlinks.
            if let Ok(modified) = entry.metadata().and_then(|metadata| metadata.modified()) {
                candidates.push((modified, entry.path()));
            }
        }
    }
    candidates.sort_unstable_by(|a, b| b.cmp(a));
    let wanted_cwd = filter.cwd.map(|cwd| (cwd, cwd.canonicalize().ok()));
    Ok(candidates.into_iter().filter_map(move |(_, path)| {
        let meta = read_first_meta(&path)?;
        if let Some(provider) = filter.model_provider
            && meta.model_provider.as_deref() != Some(provider)
        {
            return None;
        }
        if filter.interactive_only && !INTERACTIVE_SOURCES.contains(&meta.source.as_str()) {
            return None;
        }
        if let Some((cwd, canonical)) = &wanted_cwd
            && !same_dir(cwd, canonical.as_deref(), &meta.cwd)
        {
            return None;
        }
        Some(path)
    }))
}

/// The thread id at the end of a rollout file name, when `name` is exactly
/// `rollout-YYYY-MM-DDThh-mm-ss-<uuid>.jsonl`.
#[must_use]
pub fn rollout_file_id(name: &str) -> Option<&str> {
    let rest = name.strip_prefix("rollout-")?.strip_suffix(".jsonl")?;
    let (stamp, id) = rest.split_at_checked(19)?;
    let id = id.strip_prefix('-')?;
    let stamp_ok = stamp.bytes().enumerate().all(|(at, byte)| match at {
        4 | 7 | 13 | 16 => byte == b'-',
        10 => byte == b'T',
        _ => byte.is_ascii_digit(),
    });
    (stamp_ok && is_uuid(id)).then_some(id)
}

/// Whether `id` is a UUID in its 36-character hyphenated form.
fn is_uuid(id: &str) -> bool {
    id.len() == 36
        && id.bytes().enumerate().all(|(at, byte)| match at {
            8 | 13 | 18 | 23 => byte == b'-',
            _ => byte.is_ascii_hexdigit(),
        })
}

/// The `YYYY/MM/DD` directories under `root`, newest (by name) first.
///
/// A missing root yields none; any other error reading the root is returned.
fn day_dirs(root: &Path) -> Result<Vec<PathBuf>, RolloutError> {
    match std::fs::read_dir(root) {
        Ok(_) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(io_error(root, error)),
    }
    let mut days = Vec::new();
    for year in numbered_subdirs(root, 4) {
        for month in numbered_subdirs(&year, 2) {
            days.extend(numbered_subdirs(&month, 2));
        }
    }
    Ok(days)
}

/// The real (not symlinked) subdirectories of `dir` named by `digits` ASCII digits, sorted
/// by name in descending order.
fn numbered_subdirs(dir: &Path, digits: usize) -> Vec<PathBuf> {
    let mut found: Vec<(String, PathBuf)> = list_dir(dir)
        .into_iter()
        .filter(|(name, file_type, _)| {
            file_type.is_dir() && name.len() == digits && name.bytes().all(|b| b.is_ascii_digit())
        })
        .map(|(name, _, entry)| (name, entry.path()))
        .collect();
    found.sort_unstable_by(|a, b| b.0.cmp(&a.0));
    found.into_iter().map(|(_, path)| path).collect()
}

/// The entries of `dir` with UTF-8 names, each with its own (unfollowed) file type; empty when
/// `dir` cannot be read.
fn list_dir(dir: &Path) -> Vec<(String, FileType, DirEntry)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let file_type = entry.file_type().ok()?;
            Some((name, file_type, entry))
        })
        .collect()
}

/// The `session_meta` on the first line of `path`, reading at most [`MAX_META_LINE_BYTES`].
fn read_first_meta(path: &Path) -> Option<SessionMeta> {
    let (file, _) = open_regular(path).ok()?;
    let mut line = Vec::new();
    BufReader::new(file.take(MAX_META_LINE_BYTES))
        .read_until(b'\n', &mut line)
        .ok()?;
    parse_meta_line(&line)
}

/// Whether the session directory `found` is `wanted` (whose canonical form is `canonical`).
fn same_dir(wanted: &Path, canonical: Option<&Path>, found: &Path) -> bool {
    if wanted == found {
        return true;
    }
    match (canonical, found.canonicalize()) {
        (Some(canonical), Ok(found)) => canonical == found,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::super::format::{RolloutItem, file_name, render_line, session_dir};
    use super::*;
    use expect_test::{Expect, expect};
    use std::fs::File;
    use std::time::{Duration, UNIX_EPOCH};

    /// The session start time of fixture number `n`: one per hour from 2026-12-06T00:00:00Z.
    fn started(n: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_796_515_200 + n * 3600)
    }

    fn id(n: u64) -> String {
        format!("0199a213-81c0-7800-8aa1-{n:012x}")
    }

    fn meta(n: u64, cwd: &Path, provider: &str) -> SessionMeta {
        SessionMeta {
            id: id(n),
            timestamp: String::new(),
            cwd: cwd.to_owned(),
            originator: "codex_exec".to_owned(),
            cli_version: "0.1.0".to_owned(),
            source: "exec".to_owned(),
            model_provider: Some(provider.to_owned()),
            base_instructions: None,
            git: None,
            caller: Default::default(),
        }
    }

    /// Writes session `n` (started at `started(n)`, modified at `started(modified)`).
    fn write(root: &Path, n: u64, modified: u64, cwd: &Path, provider: &str) -> PathBuf {
        let dir = session_dir(root, started(n));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(file_name(started(n), &id(n)));
        let line = render_line(
            &RolloutItem::SessionMeta(meta(n, cwd, provider)),
            started(n),
        );
        std::fs::write(&path, line + "\n").unwrap();
        File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(started(modified))
            .unwrap();
        path
    }

    /// The chat's `--last` and picker pass over sessions nobody had
    /// (`exec`, `mcp`), unless told otherwise.
    #[test]
    fn interactive_only_passes_over_exec_and_mcp_sessions() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("sessions");
        let cwd = tmp.path();
        // The fixtures are `exec` sessions; rewrite others' source, keeping
        // their times.
        let rewrite = |path: &Path, source: &str, modified: u64| {
            let text = std::fs::read_to_string(path).unwrap();
            let text = text.replace(r#""source":"exec","#, source);
            std::fs::write(path, text).unwrap();
            File::options()
                .write(true)
                .open(path)
                .unwrap()
                .set_modified(started(modified))
                .unwrap();
        };
        let chat = write(&root, 1, 1, cwd, "openai");
        rewrite(&chat, r#""source":"cli","#, 1);
        let exec = write(&root, 2, 2, cwd, "openai");
        let mcp = write(&root, 3, 3, cwd, "openai");
        rewrite(&mcp, r#""source":"mcp","#, 3);
        // An older file with no source at all was a person's.
        let old = write(&root, 4, 0, cwd, "openai");
        rewrite(&old, "", 0);
        let filter = |interactive_only| LastFilter {
            cwd: Some(cwd),
            model_provider: None,
            interactive_only,
        };
        let all: Vec<PathBuf> = recent(&root, filter(false)).unwrap().collect();
        assert_eq!(all, [mcp, exec, chat.clone(), old.clone()]);
        let people: Vec<PathBuf> = recent(&root, filter(true)).unwrap().collect();
        assert_eq!(people, [chat, old]);
    }

    fn shown(root: &Path, found: Result<Option<PathBuf>, RolloutError>) -> String {
        match found {
            Ok(Some(path)) => path.strip_prefix(root).unwrap().display().to_string(),
            Ok(None) => "none".to_owned(),
            Err(error) => format!("error: {error}"),
        }
    }

    #[test]
    fn names_are_recognized() {
        let check = |name: &str, expected: Expect| {
            expected.assert_eq(&format!("{:?}", rollout_file_id(name)));
        };
        check(
            "rollout-2026-12-06T05-40-01-0199a213-81c0-7800-8aa1-bbab2a035a53.jsonl",
            expect![[r#"Some("0199a213-81c0-7800-8aa1-bbab2a035a53")"#]],
        );
        check(
            "rollout-2026-12-06T05:40:01-0199a213-81c0-7800-8aa1-bbab2a035a53.jsonl",
            expect!["None"],
        );
        check(
            "rollout-2026-12-06T05-40-01-0199a213-81c0-7800-8aa1-bbab2a035a53.json",
            expect!["None"],
        );
        check(
            "rollout-2026-12-06T05-40-01-0199a213-81c0-7800-8aa1-bbab2a035a5.jsonl",
            expect!["None"],
        );
        check(
            "rollout-2026-12-06T05-40-01-0199a213-81c0-7800-8aa1-bbab2a035a5g.jsonl",
            expect!["None"],
        );
        check("rollout-é.jsonl", expect!["None"]);
        check("", expect!["None"]);
    }

    #[test]
    fn finds_by_id() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("sessions");
        let outside = tmp.path().join("outside");
        let cwd = tmp.path();
        write(&root, 1, 1, cwd, "openai");
        write(&root, 30, 30, cwd, "openai");
        // A symlinked file and a symlinked day directory, both pointing outside.
        let foreign = write(&outside, 2, 2, cwd, "openai");
        let day = session_dir(&root, started(1));
        std::os::unix::fs::symlink(&foreign, day.join(foreign.file_name().unwrap())).unwrap();
        let foreign_day = write(&outside, 100, 100, cwd, "openai");
        std::os::unix::fs::symlink(
            foreign_day.parent().unwrap(),
            day.parent().unwrap().join("20"),
        )
        .unwrap();

        let check = |id: &str, expected: Expect| {
            expected.assert_eq(&shown(&root, find_by_id(&root, id)));
        };
        check(
            &id(1),
            expect![
                "2026/12/06/rollout-2026-12-06T01-00-00-0199a213-81c0-7800-8aa1-000000000001.jsonl"
            ],
        );
        check(
            &id(30).to_uppercase(),
            expect![
                "2026/12/07/rollout-2026-12-07T06-00-00-0199a213-81c0-7800-8aa1-00000000001e.jsonl"
            ],
        );
        check(&id(2), expect!["none"]);
        check(&id(100), expect!["none"]);
        check(&id(3), expect!["none"]);
        check(
            "../outside",
            expect![[
                r#"error: invalid thread id "../outside": expected a UUID like 0199a213-81c0-7800-8aa1-bbab2a035a53"#
            ]],
        );
        check(
            "0199a213",
            expect![[
                r#"error: invalid thread id "0199a213": expected a UUID like 0199a213-81c0-7800-8aa1-bbab2a035a53"#
            ]],
        );
        assert_eq!(
            find_by_id(&tmp.path().join("missing"), &id(1)).unwrap(),
            None
        );
    }

    #[test]
    fn finds_the_last_matching_session() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("sessions");
        let here = tmp.path().join("here");
        let there = tmp.path().join("there");
        std::fs::create_dir_all(&here).unwrap();
        std::fs::create_dir_all(&there).unwrap();
        let alias = tmp.path().join("alias");
        std::os::unix::fs::symlink(&here, &alias).unwrap();
        // Session 5 started last but session 1 was modified last (it was resumed).
        write(&root, 1, 50, &here, "openai");
        write(&root, 2, 2, &there, "oss");
        write(&root, 5, 5, &alias, "openai");
        write(&root, 6, 6, Path::new("/gone"), "openai");
        // Newer candidates that must be skipped: garbage first line, a FIFO, a symlink.
        let day = session_dir(&root, started(7));
        let garbage = day.join(file_name(started(7), &id(7)));
        std::fs::write(&garbage, "not json\n").unwrap();
        let fifo = day.join(file_name(started(8), &id(8)));
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let foreign = write(&tmp.path().join("outside"), 9, 99, &here, "openai");
        std::os::unix::fs::symlink(&foreign, day.join(file_name(started(9), &id(9)))).unwrap();

        let check = |cwd: Option<&Path>, model_provider: Option<&str>, expected: Expect| {
            let filter = LastFilter {
                cwd,
                model_provider,
                interactive_only: false,
            };
            expected.assert_eq(&shown(&root, find_last(&root, filter)));
        };
        check(
            None,
            None,
            expect![
                "2026/12/06/rollout-2026-12-06T01-00-00-0199a213-81c0-7800-8aa1-000000000001.jsonl"
            ],
        );
        check(
            Some(&there),
            None,
            expect![
                "2026/12/06/rollout-2026-12-06T02-00-00-0199a213-81c0-7800-8aa1-000000000002.jsonl"
            ],
        );
        check(
            None,
            Some("oss"),
            expect![
                "2026/12/06/rollout-2026-12-06T02-00-00-0199a213-81c0-7800-8aa1-000000000002.jsonl"
            ],
        );
        check(Some(&there), Some("openai"), expect!["none"]);
        check(
            Some(Path::new("/gone")),
            None,
            expect![
                "2026/12/06/rollout-2026-12-06T06-00-00-0199a213-81c0-7800-8aa1-000000000006.jsonl"
            ],
        );
        // The symlinked alias and the real directory are the same directory.
        File::options()
            .write(true)
            .open(session_dir(&root, started(5)).join(file_name(started(5), &id(5))))
            .unwrap()
            .set_modified(started(60))
            .unwrap();
        check(
            Some(&here),
            None,
            expect![
                "2026/12/06/rollout-2026-12-06T05-00-00-0199a213-81c0-7800-8aa1-000000000005.jsonl"
            ],
        );
        check(
            Some(&alias),
            Some("openai"),
            expect![
                "2026/12/06/rollout-2026-12-06T05-00-00-0199a213-81c0-7800-8aa1-000000000005.jsonl"
            ],
        );
        check(Some(Path::new("/nowhere")), None, expect!["none"]);
        assert_eq!(
            find_last(&tmp.path().join("missing"), LastFilter::default()).unwrap(),
            None
        );
        let not_dir = tmp.path().join("file");
        std::fs::write(&not_dir, "").unwrap();
        assert!(find_last(&not_dir, LastFilter::default()).is_err());
    }

    /// Bytes this thread has read through `read` and the like (`rchar`);
    /// other tests run on other threads.
    fn bytes_read_by_this_thread() -> u64 {
        std::fs::read_to_string("/proc/thread-self/io")
            .expect("/proc/thread-self/io")
            .lines()
            .find_map(|line| line.strip_prefix("rchar: "))
            .and_then(|count| count.trim().parse().ok())
            .expect("an rchar line")
    }

    #[test]
    fn ten_thousand_sessions_are_read_by_their_first_lines() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("sessions");
        let cwd = tmp.path();
        for n in 0..10_000 {
            write(&root, n, n, cwd, "openai");
        }
        // The newest session is also huge (sparse): only its first line is read.
        let newest = write(&root, 20_000, 20_000, cwd, "openai");
        File::options()
            .append(true)
            .open(&newest)
            .unwrap()
            .set_len(4 * 1024 * 1024 * 1024)
            .unwrap();
        File::options()
            .write(true)
            .open(&newest)
            .unwrap()
            .set_modified(started(20_000))
            .unwrap();
        let filter = LastFilter {
            cwd: Some(cwd),
            model_provider: Some("openai"),
            interactive_only: false,
        };
        let start = std::time::Instant::now();
        let read_before = bytes_read_by_this_thread();
        let found = find_last(&root, filter).unwrap();
        let read = bytes_read_by_this_thread() - read_before;
        let elapsed = start.elapsed();
        assert_eq!(found, Some(newest));
        // First lines only, and not of every file: a whole read of the
        // 4 GiB file, or of each small one, is far more than this.
        assert!(read < 1 << 20, "read {read} bytes");
        eprintln!("find_last over 10,001 sessions: {elapsed:?}, {read} bytes read");
        let start = std::time::Instant::now();
        assert!(find_by_id(&root, &id(3)).unwrap().is_some());
        eprintln!("find_by_id over 10,001 sessions: {:?}", start.elapsed());
    }
}
