//! This file computes the new text of an updated file from its old text and the
//! chunks of an update hunk, without touching the filesystem.
//!
//! Each chunk is searched for from where the previous one ended: first its `@@`
//! context line, then its old lines. A search tries four ever looser comparisons in
//! turn: exact, ignoring trailing whitespace, ignoring surrounding whitespace, and
//! finally also mapping common Unicode punctuation (fancy quotes, dashes, unusual
//! spaces) to ASCII.

use std::ops::RangeInclusive;

use super::diff::{Edit, diff};
use super::parse::UpdateChunk;

/// Why the chunks of an update could not be placed in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum MatchError {
    /// The `@@` context line of a chunk was not found.
    Context {
        /// The context line as written in the patch.
        context: String,
    },
    /// The old lines of a chunk were not found.
    Lines {
        /// The old lines, joined with newlines.
        lines: String,
    },
}

/// One planned replacement: `removed` old lines from `start` give way to `lines`.
struct Replacement<'t> {
    /// The index of the first replaced line of the old text.
    start: usize,
    /// How many old lines are replaced.
    removed: usize,
    /// The lines that take their place.
    lines: Vec<&'t str>,
}

/// Applies `chunks` to `original` and returns the new text.
///
/// The result ends with a line terminator unless it is empty. A file whose every
/// line ends with CRLF keeps CRLF line endings.
pub(super) fn updated_text(original: &str, chunks: &[UpdateChunk]) -> Result<String, MatchError> {
    let crlf = original.contains("\r\n") && !original.replace("\r\n", "").contains('\n');
    let normalized;
    let text = if crlf {
        normalized = original.replace("\r\n", "\n");
        normalized.as_str()
    } else {
        original
    };
    let mut lines: Vec<&str> = text.split('\n').collect();
    if lines.last() == Some(&"") {
        lines.pop();
    }

    let mut replacements = Vec::new();
    let mut cursor = 0;
    for chunk in chunks {
        if let Some(context) = &chunk.context {
            match seek(&lines, std::slice::from_ref(context), cursor, false) {
                Some(found) => cursor = found + 1,
                None => {
                    return Err(MatchError::Context {
                        context: context.clone(),
                    });
                }
            }
        }
        if chunk.old_lines.is_empty() {
            // A pure addition goes right after its context line, or else at the end
            // of the file (before a final empty line, as Codex does).
            let start = if chunk.context.is_some() && !chunk.end_of_file {
                cursor
            } else if lines.last() == Some(&"") {
                lines.len() - 1
            } else {
                lines.len()
            };
            replacements.push(Replacement {
                start,
                removed: 0,
                lines: chunk.new_lines.iter().map(String::as_str).collect(),
            });
            continue;
        }
        let mut old: &[String] = &chunk.old_lines;
        let mut new: &[String] = &chunk.new_lines;
        let mut found = seek(&lines, old, cursor, chunk.end_of_file);
        if found.is_none() && old.last().is_some_and(String::is_empty) {
            // Trailing empty lines are often an artefact of how the patch was written:
            // retry without them, dropping as many from the replacement.
            let blank = old.iter().rev().take_while(|line| line.is_empty()).count();
            let new_blank = new.iter().rev().take_while(|line| line.is_empty()).count();
            old = old.get(..old.len() - blank).unwrap_or_default();
            new = new
                .get(..new.len() - blank.min(new_blank))
                .unwrap_or_default();
            found = seek(&lines, old, cursor, chunk.end_of_file);
        }
        let Some(start) = found else {
            return Err(MatchError::Lines {
                lines: chunk.old_lines.join("\n"),
            });
        };
        replacements.push(Replacement {
            start,
            removed: old.len(),
            lines: replacement_lines(&lines, start, old, new),
        });
        cursor = start + old.len();
    }

    replacements.sort_by_key(|replacement| replacement.start);
    let mut result: Vec<&str> = Vec::with_capacity(lines.len());
    let mut next = 0;
    for replacement in &replacements {
        let start = replacement.start.max(next);
        result.extend(lines.get(next..start).unwrap_or_default());
        result.extend(replacement.lines.iter().copied());
        next = start + replacement.removed;
    }
    result.extend(lines.get(next..).unwrap_or_default());

    let ending = if crlf { "\r\n" } else { "\n" };
    let mut out = String::with_capacity(original.len());
    for line in result {
        out.push_str(line);
        out.push_str(ending);
    }
    Ok(out)
}

/// Returns the lines that replace `old`, found at `start` of `lines`, by `new`.
///
/// Context lines (in both `old` and `new`) keep the file's own text, so that a
/// chunk matched while ignoring whitespace or punctuation does not rewrite them.
fn replacement_lines<'t>(
    lines: &[&'t str],
    start: usize,
    old: &'t [String],
    new: &'t [String],
) -> Vec<&'t str> {
    diff(old, new)
        .into_iter()
        .filter_map(|edit| match edit {
            Edit::Equal { old: index, .. } => lines
                .get(start + index)
                .copied()
                .or_else(|| old.get(index).map(String::as_str)),
            Edit::Insert { new: index } => new.get(index).map(String::as_str),
            Edit::Delete { .. } => None,
        })
        .collect()
}

/// Finds where `pattern` occurs in `lines` at or after `start`, trying ever looser
/// comparisons; with `end_of_file` only a match ending at the last line counts.
fn seek(lines: &[&str], pattern: &[String], start: usize, end_of_file: bool) -> Option<usize> {
    if pattern.is_empty() {
        return Some(start.min(lines.len()));
    }
    let last_start = lines.len().checked_sub(pattern.len())?;
    let first_start = if end_of_file { last_start } else { start };
    if first_start > last_start {
        return None;
    }
    let range = first_start..=last_start;
    let found = find_from(lines, pattern, range.clone(), |have, want| have == want)
        .or_else(|| {
            find_from(lines, pattern, range.clone(), |have, want| {
                have.trim_end() == want.trim_end()
            })
        })
        .or_else(|| {
            find_from(lines, pattern, range.clone(), |have, want| {
                have.trim() == want.trim()
            })
        });
    if found.is_some() {
        return found;
    }
    let normalized_lines: Vec<String> = lines.iter().map(|line| normalize(line)).collect();
    let normalized_pattern: Vec<String> = pattern.iter().map(|line| normalize(line)).collect();
    find_from(
        &normalized_lines,
        &normalized_pattern,
        range,
        |have, want| have == want,
    )
}

/// Returns the first start in `range` where every line of `pattern` is `same` as
/// the line of `lines` it lies over.
fn find_from<L: AsRef<str>, P: AsRef<str>>(
    lines: &[L],
    pattern: &[P],
    range: RangeInclusive<usize>,
    same: impl Fn(&str, &str) -> bool,
) -> Option<usize> {
    range.into_iter().find(|&at| {
        pattern.iter().enumerate().all(|(i, want)| {
            lines
                .get(at + i)
                .is_some_and(|have| same(have.as_ref(), want.as_ref()))
        })
    })
}

/// Trims `text` and maps common Unicode punctuation and spaces to ASCII.
fn normalize(text: &str) -> String {
    text.trim()
        .chars()
        .map(|c| match c {
            '\u{2010}'..='\u{2015}' | '\u{2212}' => '-',
            '\u{2018}'..='\u{201B}' | '\u{2032}' => '\'',
            '\u{201C}'..='\u{201F}' | '\u{2033}' => '"',
            '\u{00A0}' | '\u{2002}'..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}' => ' ',
            other => other,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::super::parse::{Hunk, parse_patch};
    use super::*;

    /// Applies the chunks of the single update hunk in `patch` to `original` and
    /// compares the new text, or the failure, with `expected`.
    fn check(original: &str, patch: &str, expected: Expect) {
        let text = format!("*** Begin Patch\n*** Update File: f\n{patch}\n*** End Patch");
        let actual = match parse_patch(&text).map(|patch| patch.hunks.into_iter().next()) {
            Ok(Some(Hunk::Update { chunks, .. })) => match updated_text(original, &chunks) {
                Ok(text) => text,
                Err(error) => format!("{error:?}"),
            },
            other => format!("unexpected parse: {other:?}"),
        };
        expected.assert_eq(&actual);
    }

    #[test]
    fn replaces_lines_in_order() {
        check(
            "a\nb\nc\nb\n",
            "@@\n-b\n+B\n@@\n-b\n+BB",
            expect![[r#"
                a
                B
                c
                BB
            "#]],
        );
    }

    #[test]
    fn locates_chunks_by_context() {
        check(
            "fn one() {\n    x\n}\nfn two() {\n    x\n}\n",
            "@@ fn two() {\n-    x\n+    y",
            expect![[r#"
                fn one() {
                    x
                }
                fn two() {
                    y
                }
            "#]],
        );
        check(
            "a\n",
            "@@ missing\n-a\n+b",
            expect![[r#"Context { context: "missing" }"#]],
        );
    }

    #[test]
    fn matches_end_of_file_only_at_the_end() {
        check(
            "x\ny\nx\n",
            "@@\n-x\n+z\n*** End of File",
            expect![[r#"
                x
                y
                z
            "#]],
        );
        check(
            "x\ny\n",
            "@@\n-x\n+z\n*** End of File",
            expect![[r#"Lines { lines: "x" }"#]],
        );
    }

    #[test]
    fn tolerates_whitespace_and_punctuation() {
        check("a  \nb\n", "@@\n-a\n+c", expect!["c\nb\n"]);
        check("   a\n", "@@\n-a\n+b", expect!["b\n"]);
        check(
            "say(\u{201C}hi\u{201D}) \u{2014} ok\n",
            "@@\n-say(\"hi\") - ok\n+done",
            expect!["done\n"],
        );
    }

    #[test]
    fn handles_additions_endings_and_blank_lines() {
        check("a\nb", "@@\n+c", expect!["a\nb\nc\n"]);
        check("a\nb\n", "@@ a\n+inserted", expect!["a\ninserted\nb\n"]);
        check("a\r\nb\r\n", "@@\n-b\n+c", expect!["a\r\nc\r\n"]);
        check("a\nb\n", "@@\n-a\n-b", expect![""]);
        check("a\nb\n", "@@\n a\n-b\n+c\n\n", expect!["a\nc\n"]);
        check("a\n", "@@\n-q\n+r", expect![[r#"Lines { lines: "q" }"#]]);
    }
}
