//! This file parses the text of an `apply_patch` call into a [`Patch`] and renders a
//! [`Patch`] back into canonical patch text.
//!
//! The parser is pure and never panics. It is lenient in the same ways as Codex: it
//! accepts a heredoc wrapper around the patch, whitespace around the markers and hunk
//! headers, a first chunk of an update without an `@@` line, and blank lines inside a
//! chunk, which stand for empty context lines.

use std::fmt;
use std::path::{Path, PathBuf};

use super::diff::{Edit, diff};

/// The line that opens every patch.
pub(super) const BEGIN_PATCH: &str = "*** Begin Patch";
/// The line that closes every patch.
pub(super) const END_PATCH: &str = "*** End Patch";
/// The start of the header of a hunk that adds a file.
const ADD_FILE: &str = "*** Add File:";
/// The start of the header of a hunk that deletes a file.
const DELETE_FILE: &str = "*** Delete File:";
/// The start of the header of a hunk that updates a file.
const UPDATE_FILE: &str = "*** Update File:";
/// The start of the optional line of an update hunk that renames the file.
const MOVE_TO: &str = "*** Move to:";
/// The line that ends a chunk which must match at the end of the file.
const END_OF_FILE: &str = "*** End of File";
/// The line that introduces a chunk without a locating context line.
const CHUNK_MARKER: &str = "@@";
/// The start of a line that introduces a chunk with a locating context line.
const CHUNK_CONTEXT_MARKER: &str = "@@ ";

/// A parsed patch: the file operations in the order the patch lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patch {
    /// The file operations, in patch order.
    pub hunks: Vec<Hunk>,
}

/// One file operation of a patch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hunk {
    /// Creates a file, or overwrites it if it exists.
    Add {
        /// The path as written in the patch.
        path: PathBuf,
        /// The whole content of the new file; every line ends with a newline.
        contents: String,
    },
    /// Deletes a file.
    Delete {
        /// The path as written in the patch.
        path: PathBuf,
    },
    /// Edits a file in place, and optionally renames it.
    Update {
        /// The path as written in the patch.
        path: PathBuf,
        /// The new path, when the hunk has a `*** Move to:` line.
        move_to: Option<PathBuf>,
        /// The edits, in the order they apply; there is at least one.
        chunks: Vec<UpdateChunk>,
    },
}

impl Hunk {
    /// Returns the path the hunk reads or writes, as written in the patch.
    pub fn path(&self) -> &Path {
        match self {
            Hunk::Add { path, .. } | Hunk::Delete { path } | Hunk::Update { path, .. } => path,
        }
    }
}

/// One edit of an update hunk: lines to find in the file and the lines that replace them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateChunk {
    /// The text after `@@ `, a line that is searched for first to locate the chunk.
    pub context: Option<String>,
    /// The context and removed lines, in order: the lines that must be found.
    pub old_lines: Vec<String>,
    /// The context and added lines, in order: the lines that replace them.
    pub new_lines: Vec<String>,
    /// Whether the chunk ended with `*** End of File` and so must match at the end.
    pub end_of_file: bool,
}

/// Why a patch text could not be parsed; the `Display` text is what the model reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The first non-blank line is not `*** Begin Patch`.
    #[error("Invalid patch: The first line of the patch must be '*** Begin Patch'")]
    MissingBegin,
    /// The last non-blank line is not `*** End Patch`.
    #[error("Invalid patch: The last line of the patch must be '*** End Patch'")]
    MissingEnd,
    /// A line where a hunk should start is not a hunk header.
    #[error(
        "Invalid patch hunk on line {line}: '{text}' is not a valid hunk header. \
         Valid hunk headers: '*** Add File: {{path}}', '*** Delete File: {{path}}', \
         '*** Update File: {{path}}'"
    )]
    InvalidHunkHeader {
        /// The 1-based line number in the patch text.
        line: usize,
        /// The offending line, trimmed.
        text: String,
    },
    /// An update hunk has no chunks.
    #[error("Invalid patch hunk on line {line}: Update file hunk for path '{path}' is empty")]
    EmptyUpdate {
        /// The 1-based line number of the `*** Update File:` header.
        line: usize,
        /// The path named by the header.
        path: String,
    },
    /// A chunk has no context, added or removed lines.
    #[error("Invalid patch hunk on line {line}: Update hunk does not contain any lines")]
    EmptyChunk {
        /// The 1-based line number where the chunk's lines were expected.
        line: usize,
    },
    /// The first line of a chunk's body does not start with ' ', '+' or '-'.
    #[error(
        "Invalid patch hunk on line {line}: Unexpected line found in update hunk: '{text}'. \
         Every line should start with ' ' (context line), '+' (added line), or '-' (removed line)"
    )]
    UnexpectedChunkLine {
        /// The 1-based line number of the offending line.
        line: usize,
        /// The offending line.
        text: String,
    },
    /// A chunk after the first one does not start with an `@@` line.
    #[error(
        "Invalid patch hunk on line {line}: Expected update hunk to start with a @@ context \
         marker, got: '{text}'"
    )]
    MissingChunkHeader {
        /// The 1-based line number of the offending line.
        line: usize,
        /// The offending line.
        text: String,
    },
}

/// A line of the patch text with its 1-based line number.
#[derive(Debug, Clone, Copy)]
struct Line<'a> {
    /// The 1-based line number in the whole text.
    number: usize,
    /// The line without its line terminator.
    text: &'a str,
}

/// Parses the text of an `apply_patch` call.
///
/// Line numbers in errors count from 1 at the first line of `text`, heredoc wrapper
/// and leading blank lines included.
pub fn parse_patch(text: &str) -> Result<Patch, ParseError> {
    let all: Vec<Line<'_>> = text
        .lines()
        .enumerate()
        .map(|(index, text)| Line {
            number: index + 1,
            text,
        })
        .collect();
    let lines = trim_blank_lines(&all);
    let body = match strip_markers(lines) {
        Ok(body) => body,
        Err(error) => match strip_heredoc(lines) {
            Some(inner) => strip_markers(trim_blank_lines(inner))?,
            None => return Err(error),
        },
    };
    parse_hunks(body)
}

/// Drops blank lines at both ends of `lines`.
fn trim_blank_lines<'s, 'a>(lines: &'s [Line<'a>]) -> &'s [Line<'a>] {
    let start = lines
        .iter()
        .position(|line| !line.text.trim().is_empty())
        .unwrap_or(lines.len());
    let end = lines
        .iter()
        .rposition(|line| !line.text.trim().is_empty())
        .map_or(start, |last| last + 1);
    lines.get(start..end).unwrap_or_default()
}

/// Checks the Begin and End markers and returns the lines between them.
fn strip_markers<'s, 'a>(lines: &'s [Line<'a>]) -> Result<&'s [Line<'a>], ParseError> {
    let (first, rest) = lines.split_first().ok_or(ParseError::MissingBegin)?;
    if first.text.trim() != BEGIN_PATCH {
        return Err(ParseError::MissingBegin);
    }
    let (last, body) = rest.split_last().ok_or(ParseError::MissingEnd)?;
    if last.text.trim() != END_PATCH {
        return Err(ParseError::MissingEnd);
    }
    Ok(body)
}

/// Returns the lines inside a heredoc wrapper such as `apply_patch <<'EOF'` ... `EOF`.
fn strip_heredoc<'s, 'a>(lines: &'s [Line<'a>]) -> Option<&'s [Line<'a>]> {
    let (first, rest) = lines.split_first()?;
    let delimiter = heredoc_delimiter(first.text)?;
    let (last, inner) = rest.split_last()?;
    (last.text.trim() == delimiter).then_some(inner)
}

/// Returns the delimiter word of a heredoc opening line, which may start with one
/// command word, as in `apply_patch <<'EOF'`, `<<EOF` or `<<"EOF"`.
fn heredoc_delimiter(line: &str) -> Option<&str> {
    let (command, after) = line.trim().split_once("<<")?;
    if command.trim().contains(char::is_whitespace) {
        return None;
    }
    let after = after.strip_prefix('-').unwrap_or(after).trim();
    let word = if let Some(quoted) = after.strip_prefix('\'') {
        quoted.strip_suffix('\'')?
    } else if let Some(quoted) = after.strip_prefix('"') {
        quoted.strip_suffix('"')?
    } else {
        after
    };
    let valid = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    valid.then_some(word)
}

/// Parses the hunks between the Begin and End markers.
fn parse_hunks(lines: &[Line<'_>]) -> Result<Patch, ParseError> {
    let mut hunks = Vec::new();
    let mut index = 0;
    while let Some(line) = lines.get(index) {
        if line.text.trim().is_empty() {
            index += 1;
            continue;
        }
        let (hunk, next) = parse_hunk(lines, index)?;
        hunks.push(hunk);
        index = next;
    }
    Ok(Patch { hunks })
}

/// Returns the trimmed path after `marker` when `line` is a header of that kind.
fn header_path<'a>(line: &'a str, marker: &str) -> Option<&'a str> {
    let path = line.trim().strip_prefix(marker)?.trim();
    (!path.is_empty()).then_some(path)
}

/// Parses the hunk whose header is `lines[index]` and returns it with the index of
/// the first line after it.
fn parse_hunk(lines: &[Line<'_>], index: usize) -> Result<(Hunk, usize), ParseError> {
    let Some(header) = lines.get(index) else {
        return Err(ParseError::MissingEnd);
    };
    if let Some(path) = header_path(header.text, ADD_FILE) {
        let mut contents = String::new();
        let mut next = index + 1;
        while let Some(added) = lines.get(next).and_then(|line| line.text.strip_prefix('+')) {
            contents.push_str(added);
            contents.push('\n');
            next += 1;
        }
        let hunk = Hunk::Add {
            path: PathBuf::from(path),
            contents,
        };
        return Ok((hunk, next));
    }
    if let Some(path) = header_path(header.text, DELETE_FILE) {
        let hunk = Hunk::Delete {
            path: PathBuf::from(path),
        };
        return Ok((hunk, index + 1));
    }
    if let Some(path) = header_path(header.text, UPDATE_FILE) {
        return parse_update(lines, index, path);
    }
    Err(ParseError::InvalidHunkHeader {
        line: header.number,
        text: header.text.trim().to_owned(),
    })
}

/// Parses an update hunk whose header at `lines[index]` names `path`.
fn parse_update(lines: &[Line<'_>], index: usize, path: &str) -> Result<(Hunk, usize), ParseError> {
    let mut next = index + 1;
    let move_to = lines
        .get(next)
        .and_then(|line| header_path(line.text, MOVE_TO))
        .map(PathBuf::from);
    if move_to.is_some() {
        next += 1;
    }
    let mut chunks = Vec::new();
    while let Some(line) = lines.get(next) {
        if line.text.trim().is_empty() {
            next += 1;
            continue;
        }
        if line.text.starts_with("***") {
            break;
        }
        let (chunk, after) = parse_chunk(lines, next, chunks.is_empty())?;
        chunks.push(chunk);
        next = after;
    }
    if chunks.is_empty() {
        let line = lines.get(index).map_or(0, |line| line.number);
        return Err(ParseError::EmptyUpdate {
            line,
            path: path.to_owned(),
        });
    }
    let hunk = Hunk::Update {
        path: PathBuf::from(path),
        move_to,
        chunks,
    };
    Ok((hunk, next))
}

/// Parses the chunk starting at `lines[index]` and returns it with the index of the
/// first line after it; `first` allows the missing `@@` line of a hunk's first chunk.
fn parse_chunk(
    lines: &[Line<'_>],
    index: usize,
    first: bool,
) -> Result<(UpdateChunk, usize), ParseError> {
    let Some(start) = lines.get(index) else {
        return Err(ParseError::MissingEnd);
    };
    let (context, body_start) = if start.text.trim_end() == CHUNK_MARKER {
        (None, index + 1)
    } else if let Some(context) = start.text.strip_prefix(CHUNK_CONTEXT_MARKER) {
        (Some(context.to_owned()), index + 1)
    } else if first {
        (None, index)
    } else {
        return Err(ParseError::MissingChunkHeader {
            line: start.number,
            text: start.text.to_owned(),
        });
    };
    let mut chunk = UpdateChunk {
        context,
        old_lines: Vec::new(),
        new_lines: Vec::new(),
        end_of_file: false,
    };
    let mut next = body_start;
    while let Some(line) = lines.get(next) {
        if line.text.trim_end() == END_OF_FILE {
            if next == body_start {
                return Err(ParseError::EmptyChunk { line: line.number });
            }
            chunk.end_of_file = true;
            next += 1;
            break;
        }
        let mut chars = line.text.chars();
        match chars.next() {
            None => {
                chunk.old_lines.push(String::new());
                chunk.new_lines.push(String::new());
            }
            Some(' ') => {
                chunk.old_lines.push(chars.as_str().to_owned());
                chunk.new_lines.push(chars.as_str().to_owned());
            }
            Some('-') => chunk.old_lines.push(chars.as_str().to_owned()),
            Some('+') => chunk.new_lines.push(chars.as_str().to_owned()),
            Some(_) if next == body_start => {
                return Err(ParseError::UnexpectedChunkLine {
                    line: line.number,
                    text: line.text.to_owned(),
                });
            }
            Some(_) => break,
        }
        next += 1;
    }
    if next == body_start {
        return Err(ParseError::EmptyChunk { line: start.number });
    }
    Ok((chunk, next))
}

impl fmt::Display for Patch {
    /// Renders the patch as canonical patch text, which parses back to an equal patch.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{BEGIN_PATCH}")?;
        for hunk in &self.hunks {
            match hunk {
                Hunk::Add { path, contents } => {
                    writeln!(f, "{ADD_FILE} {}", path.display())?;
                    for line in contents.split_inclusive('\n') {
                        writeln!(f, "+{}", line.strip_suffix('\n').unwrap_or(line))?;
                    }
                }
                Hunk::Delete { path } => writeln!(f, "{DELETE_FILE} {}", path.display())?,
                Hunk::Update {
                    path,
                    move_to,
                    chunks,
                } => {
                    writeln!(f, "{UPDATE_FILE} {}", path.display())?;
                    if let Some(move_to) = move_to {
                        writeln!(f, "{MOVE_TO} {}", move_to.display())?;
                    }
                    for chunk in chunks {
                        render_chunk(f, chunk)?;
                    }
                }
            }
        }
        writeln!(f, "{END_PATCH}")
    }
}

/// Writes one chunk, interleaving its old and new lines along a minimal diff.
fn render_chunk(f: &mut fmt::Formatter<'_>, chunk: &UpdateChunk) -> fmt::Result {
    match &chunk.context {
        Some(context) => writeln!(f, "{CHUNK_CONTEXT_MARKER}{context}")?,
        None => writeln!(f, "{CHUNK_MARKER}")?,
    }
    for edit in diff(&chunk.old_lines, &chunk.new_lines) {
        let (prefix, line) = match edit {
            Edit::Equal { old, .. } => (' ', chunk.old_lines.get(old)),
            Edit::Delete { old } => ('-', chunk.old_lines.get(old)),
            Edit::Insert { new } => ('+', chunk.new_lines.get(new)),
        };
        writeln!(f, "{prefix}{}", line.map_or("", String::as_str))?;
    }
    if chunk.end_of_file {
        writeln!(f, "{END_OF_FILE}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};
    use proptest::prelude::*;

    use super::*;

    /// Parses `input` and compares the debug form of the patch, or the error text.
    fn check(input: &str, expected: Expect) {
        let actual = match parse_patch(input) {
            Ok(patch) => format!("{patch:#?}"),
            Err(error) => error.to_string(),
        };
        expected.assert_eq(&actual);
    }

    #[test]
    fn parses_every_hunk_kind() {
        check(
            "*** Begin Patch
*** Add File: src/new.txt
+hello
+
+world
*** Delete File: old.txt
*** Update File: a.py
*** Move to: b.py
@@ def f():
-    return 1
+    return 2
@@
 x
-y
*** End of File
*** End Patch",
            expect![[r#"
                Patch {
                    hunks: [
                        Add {
                            path: "src/new.txt",
                            contents: "hello\n\nworld\n",
                        },
                        Delete {
                            path: "old.txt",
                        },
                        Update {
                            path: "a.py",
                            move_to: Some(
                                "b.py",
                            ),
                            chunks: [
                                UpdateChunk {
                                    context: Some(
                                        "def f():",
                                    ),
                                    old_lines: [
                                        "    return 1",
                                    ],
                                    new_lines: [
                                        "    return 2",
                                    ],
                                    end_of_file: false,
                                },
                                UpdateChunk {
                                    context: None,
                                    old_lines: [
                                        "x",
                                        "y",
                                    ],
                                    new_lines: [
                                        "x",
                                    ],
                                    end_of_file: true,
                                },
                            ],
                        },
                    ],
                }"#]],
        );
    }

    #[test]
    fn accepts_lenient_forms() {
        check(
            "apply_patch <<'EOF'
  *** Begin Patch  
   *** Update File: a.txt   
 keep

-drop
+add
*** End Patch   
EOF
",
            expect![[r#"
                Patch {
                    hunks: [
                        Update {
                            path: "a.txt",
                            move_to: None,
                            chunks: [
                                UpdateChunk {
                                    context: None,
                                    old_lines: [
                                        "keep",
                                        "",
                                        "drop",
                                    ],
                                    new_lines: [
                                        "keep",
                                        "",
                                        "add",
                                    ],
                                    end_of_file: false,
                                },
                            ],
                        },
                    ],
                }"#]],
        );
        check(
            "<<EOF\n*** Begin Patch\n*** Delete File: x\n\n*** Delete File: y\n*** End Patch\nEOF",
            expect![[r#"
                Patch {
                    hunks: [
                        Delete {
                            path: "x",
                        },
                        Delete {
                            path: "y",
                        },
                    ],
                }"#]],
        );
        check(
            "<<\"PATCH\"\r\n*** Begin Patch\r\n*** Add File: x\r\n+a\r\n*** End Patch\r\nPATCH\r\n",
            expect![[r#"
                Patch {
                    hunks: [
                        Add {
                            path: "x",
                            contents: "a\n",
                        },
                    ],
                }"#]],
        );
    }

    #[test]
    fn reports_marker_errors() {
        check(
            "",
            expect!["Invalid patch: The first line of the patch must be '*** Begin Patch'"],
        );
        check(
            "*** Add File: x\n+a\n*** End Patch",
            expect!["Invalid patch: The first line of the patch must be '*** Begin Patch'"],
        );
        check(
            "*** Begin Patch\n*** Add File: x\n+a\n",
            expect!["Invalid patch: The last line of the patch must be '*** End Patch'"],
        );
        check(
            "*** Begin Patch",
            expect!["Invalid patch: The last line of the patch must be '*** End Patch'"],
        );
        check(
            "<<'EOF'\n*** Begin Patch\n*** Delete File: x\nEOF",
            expect!["Invalid patch: The last line of the patch must be '*** End Patch'"],
        );
        check(
            "*** Begin Patch\n*** End Patch",
            expect![[r#"
                Patch {
                    hunks: [],
                }"#]],
        );
    }

    #[test]
    fn reports_hunk_errors_with_line_numbers() {
        check(
            "\n*** Begin Patch\n*** Add File: x\n+a\nb\n*** End Patch",
            expect![[
                "Invalid patch hunk on line 5: 'b' is not a valid hunk header. Valid hunk headers: '*** Add File: {path}', '*** Delete File: {path}', '*** Update File: {path}'"
            ]],
        );
        check(
            "*** Begin Patch\n*** Frobnicate File: x\n*** End Patch",
            expect![[
                "Invalid patch hunk on line 2: '*** Frobnicate File: x' is not a valid hunk header. Valid hunk headers: '*** Add File: {path}', '*** Delete File: {path}', '*** Update File: {path}'"
            ]],
        );
        check(
            "*** Begin Patch\n*** Add File:\n*** End Patch",
            expect![[
                "Invalid patch hunk on line 2: '*** Add File:' is not a valid hunk header. Valid hunk headers: '*** Add File: {path}', '*** Delete File: {path}', '*** Update File: {path}'"
            ]],
        );
        check(
            "*** Begin Patch\n*** Delete File: a\n*** Update File: b.txt\n*** End Patch",
            expect!["Invalid patch hunk on line 3: Update file hunk for path 'b.txt' is empty"],
        );
        check(
            "*** Begin Patch\n*** Update File: b.txt\n*** Move to: c.txt\n\n*** End Patch",
            expect!["Invalid patch hunk on line 2: Update file hunk for path 'b.txt' is empty"],
        );
        check(
            "*** Begin Patch\n*** Update File: b\n@@ ctx\n*** End Patch",
            expect!["Invalid patch hunk on line 3: Update hunk does not contain any lines"],
        );
        check(
            "*** Begin Patch\n*** Update File: b\n@@\n*** End of File\n*** End Patch",
            expect!["Invalid patch hunk on line 4: Update hunk does not contain any lines"],
        );
        check(
            "*** Begin Patch\n*** Update File: b\n@@\n-a\n@@\n@@\n+b\n*** End Patch",
            expect![[
                "Invalid patch hunk on line 6: Unexpected line found in update hunk: '@@'. Every line should start with ' ' (context line), '+' (added line), or '-' (removed line)"
            ]],
        );
        check(
            "*** Begin Patch\n*** Update File: b\n-a\nbad line\n*** End Patch",
            expect![[
                "Invalid patch hunk on line 4: Expected update hunk to start with a @@ context marker, got: 'bad line'"
            ]],
        );
        check(
            "<<EOF\n*** Begin Patch\n*** Update File: b\nbad\n*** End Patch\nEOF",
            expect![[
                "Invalid patch hunk on line 4: Unexpected line found in update hunk: 'bad'. Every line should start with ' ' (context line), '+' (added line), or '-' (removed line)"
            ]],
        );
    }

    #[test]
    fn renders_canonical_text() {
        let patch = parse_patch(
            "*** Begin Patch\n*** Update File: a\n*** Move to: b\n@@ fn main\n a\n-b\n+c\n d\n\n*** End of File\n*** Add File: n\n+x\n*** Delete File: z\n*** End Patch",
        );
        let rendered = patch.map(|patch| patch.to_string()).unwrap_or_default();
        expect![[r#"
            *** Begin Patch
            *** Update File: a
            *** Move to: b
            @@ fn main
             a
            -b
            +c
             d
             
            *** End of File
            *** Add File: n
            +x
            *** Delete File: z
            *** End Patch
        "#]]
        .assert_eq(&rendered);
    }

    /// Generates a path: one to three short words joined by slashes.
    fn path_strategy() -> impl Strategy<Value = PathBuf> {
        "[a-z_.]{1,6}(/[a-z_]{1,6}){0,2}".prop_map(PathBuf::from)
    }

    /// Generates the text of one line: anything but line terminators.
    fn line_strategy() -> impl Strategy<Value = String> {
        "[^\r\n]{0,12}"
    }

    /// Generates a chunk with at least one old or new line.
    fn chunk_strategy() -> impl Strategy<Value = UpdateChunk> {
        (
            proptest::option::of("[a-z(][a-z ():]{0,10}"),
            proptest::collection::vec(line_strategy(), 0..5),
            proptest::collection::vec(line_strategy(), 0..5),
            any::<bool>(),
        )
            .prop_filter("a chunk has lines", |(_, old, new, _)| {
                !old.is_empty() || !new.is_empty()
            })
            .prop_map(|(context, old_lines, new_lines, end_of_file)| UpdateChunk {
                context,
                old_lines,
                new_lines,
                end_of_file,
            })
    }

    /// Generates any hunk that the renderer can express.
    fn hunk_strategy() -> impl Strategy<Value = Hunk> {
        prop_oneof![
            (
                path_strategy(),
                proptest::collection::vec(line_strategy(), 0..5)
            )
                .prop_map(|(path, lines)| Hunk::Add {
                    path,
                    contents: lines.iter().map(|line| format!("{line}\n")).collect(),
                }),
            path_strategy().prop_map(|path| Hunk::Delete { path }),
            (
                path_strategy(),
                proptest::option::of(path_strategy()),
                proptest::collection::vec(chunk_strategy(), 1..4)
            )
                .prop_map(|(path, move_to, chunks)| Hunk::Update {
                    path,
                    move_to,
                    chunks,
                }),
        ]
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_text(text in any::<String>()) {
            let _ = parse_patch(&text);
        }

        #[test]
        fn never_panics_between_valid_markers(
            body in proptest::collection::vec(
                prop_oneof![
                    any::<String>(),
                    "(\\*\\*\\* (Add|Delete|Update) File: ?|\\*\\*\\* Move to: |\\*\\*\\* End of File|@@ ?|[ +-])[^\n]{0,6}",
                ],
                0..12,
            ),
            heredoc in any::<bool>(),
        ) {
            let mut text = String::from("*** Begin Patch\n");
            for line in &body {
                text.push_str(line);
                text.push('\n');
            }
            text.push_str("*** End Patch\n");
            if heredoc {
                text = format!("apply_patch <<'EOF'\n{text}EOF\n");
            }
            let _ = parse_patch(&text);
        }

        #[test]
        fn rendered_patches_round_trip(hunks in proptest::collection::vec(hunk_strategy(), 0..5)) {
            let patch = Patch { hunks };
            prop_assert_eq!(parse_patch(&patch.to_string()), Ok(patch));
        }
    }
}
