//! One TOML document with its origin, and the means to point into it.
//!
//! Values are parsed with `toml` for speed. Locations (file, line, column)
//! are only needed to report problems, so the text is kept and re-read with
//! `toml_edit`, which keeps spans, when a problem is found.

use std::fmt;
use std::path::{Path, PathBuf};

/// Where a TOML document came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A file on disk.
    File(PathBuf),
    /// A `-c key=value` override: its key as typed, never its value.
    Override(String),
    /// An environment variable holding a whole document.
    EnvVar(&'static str),
    /// The `[profiles.NAME]` table `profile` (or `-p NAME`) selects.
    Profile(String),
    /// `-p NAME` / `--profile NAME` itself, as typed.
    ProfileFlag(String),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File(path) => write!(f, "{}", path.display()),
            Origin::Override(raw) => write!(f, "-c {raw}"),
            Origin::EnvVar(name) => f.write_str(name),
            Origin::Profile(name) => write!(f, "profile `{name}`"),
            Origin::ProfileFlag(name) => write!(f, "--profile {name}"),
        }
    }
}

/// A point in a document, 1-based, for messages like `file:3:7`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The document.
    pub origin: Origin,
    /// 1-based line; 0 when the position is unknown.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.origin {
            Origin::Override(_) | Origin::Profile(_) | Origin::ProfileFlag(_) => {
                write!(f, "{}", self.origin)
            }
            Origin::File(_) | Origin::EnvVar(_) if self.line == 0 => {
                write!(f, "{}", self.origin)
            }
            Origin::File(_) | Origin::EnvVar(_) => {
                write!(f, "{}:{}:{}", self.origin, self.line, self.column)
            }
        }
    }
}

/// A TOML syntax error, located, with the offending line and a caret
/// under the column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}: invalid TOML: {message}{}", snippet_suffix(snippet))]
pub struct SyntaxError {
    /// Where the parser stopped.
    pub location: Location,
    /// The parser's explanation.
    pub message: String,
    /// The line and a caret under the column (empty when unknown).
    pub snippet: String,
}

fn snippet_suffix(snippet: &str) -> String {
    if snippet.is_empty() {
        String::new()
    } else {
        format!("\n{snippet}")
    }
}

/// `  | <line>` and `  | ^` under `column` (1-based, in characters); the
/// line is cut to 200 characters around the column. A control or
/// invisible formatting character is written escaped (`\u{1b}`) and a tab
/// as a space, here rather than by the terminal's sanitiser, so that the
/// caret is counted against what is shown.
fn snippet(text: &str, line: usize, column: usize) -> String {
    let Some(source) = text.lines().nth(line.saturating_sub(1)) else {
        return String::new();
    };
    let start = column.saturating_sub(1).saturating_sub(100);
    let before = column.saturating_sub(1).saturating_sub(start);
    let mut shown = String::new();
    let mut caret = 0;
    for (index, c) in source.chars().skip(start).take(200).enumerate() {
        let width_before = shown.chars().count();
        match c {
            '\t' => shown.push(' '),
            c if escaped(c) => {
                shown.extend(c.escape_unicode());
            }
            c => shown.push(c),
        }
        if index < before {
            caret += shown.chars().count() - width_before;
        }
    }
    format!("  | {shown}\n  | {}^", " ".repeat(caret))
}

/// `text` with each control or invisible formatting character (a newline,
/// an escape, a bidi override) written escaped, `\u{1b}`: a file's text
/// placed in a one-line message stays one line and shows what it holds.
pub(crate) fn escape_invisible(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(escaped) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut shown = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if escaped(c) {
            shown.extend(c.escape_unicode());
        } else {
            shown.push(c);
        }
    }
    std::borrow::Cow::Owned(shown)
}

/// Characters shown escaped: controls, and those of [`is_invisible_format`].
fn escaped(c: char) -> bool {
    c.is_control() || is_invisible_format(c)
}

/// Characters that reorder or hide text: bidi marks, overrides and
/// isolates, zero-width characters, separators and the byte order mark.
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{206f}' | '\u{feff}')
}

/// A parsed TOML document that remembers its text and origin.
#[derive(Debug, Clone)]
pub(crate) struct TomlLayer {
    pub(crate) origin: Origin,
    text: String,
    pub(crate) table: toml::Table,
}

impl TomlLayer {
    /// Parses `text`; a syntax error names the origin, line and column.
    pub(crate) fn parse(origin: Origin, text: String) -> Result<Self, SyntaxError> {
        match parse_table(&text) {
            Ok(table) => Ok(TomlLayer {
                origin,
                text,
                table,
            }),
            Err(err) => {
                let (line, column) = line_column(&text, err.offset);
                Err(SyntaxError {
                    location: Location {
                        origin,
                        line,
                        column,
                    },
                    message: err.message,
                    snippet: snippet(&text, line, column),
                })
            }
        }
    }

    /// A layer built from a table rather than text (for `-c` overrides).
    pub(crate) fn from_table(origin: Origin, table: toml::Table) -> Self {
        TomlLayer {
            origin,
            text: String::new(),
            table,
        }
    }

    /// Whether this layer defines the dotted `path`.
    pub(crate) fn defines(&self, path: &[&str]) -> bool {
        let Some((first, rest)) = path.split_first() else {
            return true;
        };
        let mut value = match self.table.get(*first) {
            Some(value) => value,
            None => return false,
        };
        for key in rest {
            match value.as_table().and_then(|table| table.get(*key)) {
                Some(next) => value = next,
                None => return false,
            }
        }
        true
    }

    /// The location of the deepest key of `path` present in this document.
    pub(crate) fn locate(&self, path: &[&str]) -> Location {
        let offset = if self.text.is_empty() {
            None
        } else {
            locate_offset(&self.text, path)
        };
        let (line, column) = offset.map_or((0, 0), |offset| line_column(&self.text, offset));
        Location {
            origin: self.origin.clone(),
            line,
            column,
        }
    }
}

/// Why a text is not a TOML table: the parser's message and the byte
/// offset it stopped at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TableError {
    pub(crate) message: String,
    pub(crate) offset: usize,
}

/// Parses a TOML document into a [`toml::Table`].
///
/// The tree `text.parse::<toml::Table>()` gives. Most documents are built
/// straight from the parser's events (`tree`); the rest, and every error,
/// from `toml`'s borrowed parse tree instead of through serde's visitors
/// (and so without their one quirk: a table whose key is toml's private
/// `$__toml_private_datetime` stays a table, not a datetime).
pub(crate) fn parse_table(text: &str) -> Result<toml::Table, TableError> {
    super::tree::table(text).map_or_else(|| toml_table(text), Ok)
}

/// [`parse_table`] by `toml`'s own tree, for what `tree` leaves to it.
pub(super) fn toml_table(text: &str) -> Result<toml::Table, TableError> {
    let document = toml::de::DeTable::parse(text).map_err(|err| TableError {
        message: err.message().trim().to_owned(),
        offset: err.span().map_or(0, |span| span.start),
    })?;
    owned_table(document.into_inner())
}

fn owned_table(table: toml::de::DeTable<'_>) -> Result<toml::Table, TableError> {
    let mut owned = toml::Table::with_capacity(table.len());
    for (key, value) in table {
        owned.insert(key.into_inner().into_owned(), owned_value(value)?);
    }
    Ok(owned)
}

fn owned_value(value: toml::Spanned<toml::de::DeValue<'_>>) -> Result<toml::Value, TableError> {
    use toml::de::DeValue;
    let span = value.span();
    let out_of_range = |what: &str| TableError {
        message: format!("{what} out of range"),
        offset: span.start,
    };
    Ok(match value.into_inner() {
        DeValue::String(text) => toml::Value::String(text.into_owned()),
        DeValue::Integer(integer) => toml::Value::Integer(
            i64::from_str_radix(integer.as_str(), integer.radix()).map_err(|err| {
                match err.kind() {
                    std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
                        out_of_range("integer")
                    }
                    _ => TableError {
                        message: "invalid integer".to_owned(),
                        offset: span.start,
                    },
                }
            })?,
        ),
        DeValue::Float(float) => toml::Value::Float(
            super::tree::float(float.as_str())
                .ok_or_else(|| out_of_range("floating-point number"))?,
        ),
        DeValue::Boolean(flag) => toml::Value::Boolean(flag),
        DeValue::Datetime(datetime) => toml::Value::Datetime(datetime),
        DeValue::Array(array) => toml::Value::Array(
            array
                .into_iter()
                .map(owned_value)
                .collect::<Result<_, _>>()?,
        ),
        DeValue::Table(table) => toml::Value::Table(owned_table(table)?),
    })
}

/// Finds the byte offset of the deepest key along `path`.
fn locate_offset(text: &str, path: &[&str]) -> Option<usize> {
    let doc = toml_edit::Document::parse(text).ok()?;
    let mut table: &dyn toml_edit::TableLike = doc.as_table();
    let mut found = None;
    for key in path {
        let Some((k, item)) = table.get_key_value(key) else {
            break;
        };
        found = k.span().map(|span| span.start).or(found);
        match item.as_table_like() {
            Some(inner) => table = inner,
            None => break,
        }
    }
    found
}

/// Converts a byte offset into a 1-based line and character column.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before
        .get(line_start..)
        .map_or(1, |s| s.chars().count() + 1);
    (line, column)
}

/// Line starts of a text, found once: many offsets located in time
/// proportional to the text, not to the text per offset.
#[derive(Debug)]
pub(crate) struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(at, _)| at + 1))
            .collect();
        LineIndex { text, starts }
    }

    /// The 1-based line and column (in characters) of `offset`, as
    /// [`line_column`] finds them.
    pub(crate) fn locate(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.starts.partition_point(|&start| start <= offset);
        let start = self.starts[line.saturating_sub(1)];
        let column = self
            .text
            .get(start..offset)
            .map_or(1, |s| s.chars().count() + 1);
        (line, column)
    }
}

/// The largest config or requirements file read: 16 MiB.
pub const MAX_CONFIG_BYTES: u64 = 16 * 1024 * 1024;

/// Reads a config or requirements file, treating "not found" as absent: a
/// regular file (a link to one is fine; a FIFO is refused, never waited
/// on), at most [`MAX_CONFIG_BYTES`], in UTF-8 (an invalid byte is
/// reported with its line and column).
pub(crate) fn read_optional(path: &Path) -> std::io::Result<Option<String>> {
    read_text(path, MAX_CONFIG_BYTES, codex_sandbox::files::Links::Follow)
}

/// [`read_optional`] with its own cap and link rule.
pub(crate) fn read_text(
    path: &Path,
    limit: u64,
    links: codex_sandbox::files::Links,
) -> std::io::Result<Option<String>> {
    let Some(bytes) = codex_sandbox::files::read_regular(path, limit, links)? else {
        return Ok(None);
    };
    match String::from_utf8(bytes) {
        Ok(text) => Ok(Some(text)),
        Err(err) => {
            let located = codex_sandbox::files::utf8(err.as_bytes())
                .err()
                .map_or_else(|| "invalid UTF-8".to_owned(), |e| e.to_string());
            Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                located,
            ))
        }
    }
}

/// Merges `over` (a table, or some of its entries) into `base`: tables
/// merge key by key, anything else is replaced by the higher layer.
pub(crate) fn merge_into<'a>(
    base: &mut toml::Table,
    over: impl IntoIterator<Item = (&'a String, &'a toml::Value)>,
) {
    for (key, value) in over {
        match (base.get_mut(key), value) {
            (Some(toml::Value::Table(base_table)), toml::Value::Table(over_table)) => {
                merge_into(base_table, over_table);
            }
            _ => {
                base.insert(key.clone(), value.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(text: &str) -> TomlLayer {
        TomlLayer::parse(Origin::File("c.toml".into()), text.to_owned()).expect("valid toml")
    }

    #[test]
    fn syntax_errors_carry_line_and_column() {
        let err = TomlLayer::parse(
            Origin::File("/h/config.toml".into()),
            "a = 1\n[mcp_servers.x]\ncommand = \n".to_owned(),
        )
        .expect_err("invalid");
        assert_eq!(err.location.to_string(), "/h/config.toml:3:11");
    }

    /// The caret sits under the character the parser stopped at, however
    /// the characters before it are shown.
    #[test]
    fn the_caret_is_counted_against_the_shown_line() {
        assert_eq!(snippet("ab = 1", 1, 4), "  | ab = 1\n  |    ^");
        assert_eq!(
            snippet("m = \"\x1b\x1bab", 1, 8),
            format!("  | m = \"\\u{{1b}}\\u{{1b}}ab\n  | {}^", " ".repeat(17))
        );
        assert_eq!(
            snippet("\tx = \u{202e}y", 1, 6),
            "  |  x = \\u{202e}y\n  |      ^"
        );
        // Nothing a terminal would act on is left in it.
        let shown = snippet("a\u{9b}b\u{2066}c", 1, 3);
        assert!(
            !shown.chars().any(|c| c.is_control() && c != '\n'),
            "{shown}"
        );
    }

    #[test]
    fn locates_keys_in_tables_dotted_and_inline() {
        let text = "x = 1\n[mcp_servers.docs]\ncommand = \"a\"\nurl = \"b\"\n\
                    [mcp_servers.web]\nenv = { K = \"v\" }\nmcp_servers.z.url = 1\n";
        let doc = layer(text);
        assert_eq!(doc.locate(&["mcp_servers", "docs", "url"]).line, 4);
        assert_eq!(doc.locate(&["mcp_servers", "docs", "url"]).column, 1);
        let env = doc.locate(&["mcp_servers", "web", "env", "K"]);
        assert_eq!((env.line, env.column), (6, 9));
        assert_eq!(doc.locate(&["mcp_servers", "docs", "missing"]).line, 2);
    }

    #[test]
    fn merge_is_recursive_and_higher_wins() {
        let mut base = layer("[a]\nx = 1\ny = [1]\n[b]\nz = 1\n").table;
        merge_into(&mut base, &layer("[a]\ny = [2]\nw = 3\n").table);
        assert_eq!(
            base.to_string(),
            layer("[a]\nx = 1\ny = [2]\nw = 3\n[b]\nz = 1\n")
                .table
                .to_string()
        );
    }

    /// The direct build of the table is the tree `toml`'s own `Table`
    /// parse gives, for every kind of value and table.
    #[test]
    fn parse_table_builds_the_tree_toml_builds() {
        let documents = [
            "",
            "a = 1\nb = 0x7f\nc = 0o17\nd = 0b101\ne = 1_000\nf = 9223372036854775807\n",
            "g = -9223372036854775808\nh = 1.5e3\ni = -0.0\nj = inf\nk = -inf\nl = 1_0.2_5\n",
            "m = true\nn = 1979-05-27T07:32:00-08:00\no = 07:32:00\np = 1979-05-27\n",
            "q = 'lit'\nr = \"\\u00e9\\n\"\ns = '''\nmulti\n'''\nt = [1, [2, 'x'], { u = 3 }]\n",
            "[x.y]\nz = 1\n[[arr]]\nk = 1\n[[arr]]\nk = 2\n[x]\nw = { a.b = 1, c = [] }\n",
            "\"quoted key\" = 1\nsite.\"a.b\" = 2\n[mcp_servers.docs]\ncommand = \"npx\"\nenv = { K = \"v\" }\n",
        ];
        for text in documents {
            let ours = parse_table(text).expect(text);
            let theirs = text.parse::<toml::Table>().expect(text);
            assert_eq!(ours.to_string(), theirs.to_string(), "{text}");
            assert_eq!(
                ours.keys().collect::<Vec<_>>(),
                theirs.keys().collect::<Vec<_>>()
            );
        }
        let nan = parse_table("n = nan").expect("nan");
        assert!(nan["n"].as_float().is_some_and(f64::is_nan));
        // Text is never read as toml's private datetime marker.
        let marker =
            parse_table("d = { \"$__toml_private_datetime\" = \"1979-05-27\" }").expect("a table");
        assert!(marker["d"].is_table(), "{marker}");
    }

    /// What `toml` refuses is refused, with its message and at its place;
    /// a number too large for the tree (an integer past 64 bits, a float
    /// past `f64`) is refused at the number.
    #[test]
    fn parse_table_refuses_what_toml_refuses() {
        for text in ["a = ", "a = 1\na = 2", "[t]\n[t]", "a = 1979-13-01"] {
            let ours = parse_table(text).expect_err(text);
            let theirs = text.parse::<toml::Table>().expect_err(text);
            assert_eq!(ours.message, theirs.message().trim(), "{text}");
            assert_eq!(Some(ours.offset), theirs.span().map(|s| s.start), "{text}");
        }
        for (text, message, offset) in [
            ("a = 9223372036854775808", "integer out of range", 4),
            ("b = [1, -9223372036854775809]", "integer out of range", 8),
            ("c = 1e999", "floating-point number out of range", 4),
            ("d = 0x", "invalid integer", 4),
        ] {
            let err = parse_table(text).expect_err(text);
            assert_eq!((err.message.as_str(), err.offset), (message, offset));
            assert!(text.parse::<toml::Table>().is_err(), "{text}");
        }
    }

    #[test]
    fn line_column_counts_characters() {
        assert_eq!(line_column("ab\ncé = ", 7), (2, 4));
        assert_eq!(line_column("", 10), (1, 1));
        let text = "ab\ncé = \n\nx";
        let index = LineIndex::new(text);
        for offset in 0..=text.len() + 2 {
            if text.is_char_boundary(offset.min(text.len())) {
                assert_eq!(index.locate(offset), line_column(text, offset), "{offset}");
            }
        }
    }
}
