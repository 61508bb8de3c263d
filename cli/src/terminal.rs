//! The one place untrusted text becomes terminal text.
//!
//! A server's tool descriptions and error messages, the tail of a
//! process's stderr, strings from config files: any of them may carry
//! terminal control sequences (set the window title, clear the screen,
//! move the cursor to draw fake rows, plant OSC 8 links) or a newline that
//! splits a table row. Everything this binary prints for people goes
//! through [`out`] or [`err`], which show every control character visibly
//! (`\x1b`, `\u{202e}`) instead of sending it; table cells and other
//! one-line fields also go through [`line()`] (newlines and tabs shown too)
//! or [`cell`] (and cut to a length). Text this binary styles itself
//! (colors) is assembled from cleaned parts and written with
//! [`err_styled`]. Machine output (`--json`, JSON Lines) is JSON, whose
//! encoder escapes control characters; `mcp call --raw` is the one way to
//! get a tool's bytes as they are ([`out_raw`]).

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::Write as _;

/// The longest table cell, in characters; longer ones end in `…`.
pub(crate) const MAX_CELL: usize = 200;

/// `text` with every control character but newline and tab shown
/// visibly.
pub(crate) fn clean(text: &str) -> Cow<'_, str> {
    escape(text, |c| c == '\n' || c == '\t')
}

/// `text` for a one-line field: every control character, newline and tab
/// included, shown visibly.
pub(crate) fn line(text: &str) -> Cow<'_, str> {
    escape(text, |_| false)
}

/// A table cell: [`line()`], cut to [`MAX_CELL`] characters with `…`.
pub(crate) fn cell(text: &str) -> Cow<'_, str> {
    match line(text) {
        // No more bytes than that means no more characters either.
        Cow::Borrowed(shown)
            if shown.len() <= MAX_CELL || shown.chars().nth(MAX_CELL).is_none() =>
        {
            Cow::Borrowed(shown)
        }
        shown => Cow::Owned(cut(&shown, MAX_CELL)),
    }
}

/// `text` cut to `max` characters, the last one `…` when it was cut.
pub(crate) fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => {
            let mut kept = text[..at].to_owned();
            kept.pop();
            kept.push('…');
            kept
        }
        None => text.to_owned(),
    }
}

/// `text` in exactly `columns` terminal columns: padded with spaces, or,
/// when wider, its end kept after a `…` (a path's end says most). Wide
/// characters count two columns.
pub(crate) fn fit_end(text: &str, columns: usize) -> String {
    use unicode_width::UnicodeWidthChar as _;
    let width = |c: char| c.width().unwrap_or(0);
    let total: usize = text.chars().map(width).sum();
    let (mut shown, used) = if total <= columns {
        (text.to_owned(), total)
    } else {
        let mut kept = Vec::new();
        let mut used = 1; // the `…`
        for c in text.chars().rev() {
            if used + width(c) > columns {
                break;
            }
            used += width(c);
            kept.push(c);
        }
        let shown = std::iter::once('…').chain(kept.into_iter().rev()).collect();
        (shown, used)
    };
    shown.extend(std::iter::repeat_n(' ', columns.saturating_sub(used)));
    shown
}

/// The width of the terminal stdout is, when it is one.
pub(crate) fn width() -> Option<usize> {
    let stdout = std::io::stdout();
    if !std::io::IsTerminal::is_terminal(&stdout) {
        return None;
    }
    rustix::termios::tcgetwinsize(&stdout)
        .ok()
        .map(|size| usize::from(size.ws_col))
        .filter(|&columns| columns > 0)
}

/// Writes `text` and a newline to stdout, cleaned.
pub(crate) fn out(text: &str) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", clean(text))?;
    stdout.flush()
}

/// Writes `text` to stdout, cleaned, as it is (its own newlines).
pub(crate) fn print(text: &str) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(clean(text).as_bytes())?;
    stdout.flush()
}

/// Writes `lines` to stdout, each one shown line ([`line()`]): a newline
/// inside one cannot start a line that looks like another.
pub(crate) fn out_lines(lines: &[String]) -> std::io::Result<()> {
    let shown: Vec<Cow<'_, str>> = lines.iter().map(|text| line(text)).collect();
    out(&shown.join("\n"))
}

/// Writes `bytes` to stdout as they are: `mcp call --raw`, and JSON
/// (whose encoder already escaped every control character).
pub(crate) fn out_raw(bytes: &[u8]) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(bytes)?;
    stdout.flush()
}

/// One JSON document (or JSON Lines line) and a newline on stdout. The
/// encoder escapes C0 controls only; every other character a terminal
/// could act on (DEL, C1 controls such as U+009B, bidi overrides) is
/// escaped here as `\uXXXX`, which decodes to the same string.
pub(crate) fn out_json(text: &str) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", json_escaped(text))?;
    stdout.flush()
}

/// `json` with every [`is_control`] character from DEL up written as a
/// JSON escape. Such a character can only stand inside a string (JSON's
/// own syntax and whitespace are ASCII below DEL, and the encoder has
/// already escaped the C0 controls in strings), where the escape means the
/// same character.
fn json_escaped(json: &str) -> Cow<'_, str> {
    let escape = |c: char| c >= '\u{7f}' && is_control(c);
    if json.bytes().all(|b| b < 0x7f) || !json.chars().any(escape) {
        return Cow::Borrowed(json);
    }
    let mut escaped = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if escape(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                let _ = write!(escaped, "\\u{unit:04x}");
            }
        } else {
            escaped.push(c);
        }
    }
    Cow::Owned(escaped)
}

/// Writes `text` and a newline to stderr, cleaned. A closed stderr is not
/// an error worth failing over.
pub(crate) fn err(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{}", clean(text));
}

/// Writes a line this binary styled itself (its own color codes) to
/// stderr: every untrusted part of it must have gone through [`clean`] or
/// [`line()`] first.
pub(crate) fn err_styled(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// Whether `c` may not reach a terminal as it is: C0 and C1 controls, DEL,
/// and the invisible format characters that reorder or hide text (bidi
/// overrides and isolates, zero-width characters, line and paragraph
/// separators, the byte-order mark).
fn is_control(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{206f}' | '\u{feff}'
        )
}

/// `text` with each control character not `kept` written as an escape.
fn escape(text: &str, kept: impl Fn(char) -> bool) -> Cow<'_, str> {
    // Printable ASCII, and the kept controls, pass without decoding a
    // character: most of what is shown is that.
    let plain = |b: u8| (b' '..=b'~').contains(&b) || (b.is_ascii_control() && kept(b.into()));
    if text.bytes().all(plain) || !text.chars().any(|c| is_control(c) && !kept(c)) {
        return Cow::Borrowed(text);
    }
    let mut shown = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if !is_control(c) || kept(c) {
            shown.push(c);
        } else {
            match c {
                '\n' => shown.push_str("\\n"),
                '\r' => shown.push_str("\\r"),
                '\t' => shown.push_str("\\t"),
                c if (c as u32) < 0x100 => {
                    let _ = write!(shown, "\\x{:02x}", c as u32);
                }
                c => {
                    let _ = write!(shown, "\\u{{{:x}}}", c as u32);
                }
            }
        }
    }
    Cow::Owned(shown)
}

/// Sends mode changes of our own to the terminal on stdout (the chat's
/// bracketed paste and keyboard modes); no text goes this way. Failures
/// are ignored: a mode the terminal lacks is not an error.
pub(crate) fn control(commands: impl FnOnce(&mut std::io::Stdout) -> std::io::Result<()>) {
    let _ = commands(&mut std::io::stdout());
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A column of paths stays a column: padded, or cut from the left, by
    /// terminal columns, wide characters counting two.
    #[test]
    fn fit_end_pads_or_keeps_the_end_by_columns() {
        assert_eq!(fit_end("/a/b", 6), "/a/b  ");
        assert_eq!(fit_end("/home/dev/project", 8), "…project");
        assert_eq!(fit_end("/data/日本語", 7), "…日本語");
        assert_eq!(fit_end("/data/日本語", 6), "…本語 ");
        assert_eq!(fit_end("", 3), "   ");
    }

    #[test]
    fn json_keeps_its_meaning_and_loses_what_a_terminal_acts_on() {
        let value = serde_json::json!({
            "name": "a\u{9b}31m\u{202e}b\x7fc\u{2028}",
            "plain": "ünïcode ✓",
        });
        // Compact and pretty (whose newlines and indents stand between
        // tokens, and must stay as they are).
        for text in [
            value.to_string(),
            serde_json::to_string_pretty(&value).expect("json"),
        ] {
            let shown = json_escaped(&text);
            assert!(
                !shown.chars().any(|c| is_control(c) && c != '\n'),
                "{shown}"
            );
            assert!(
                shown.contains("\\u009b") && shown.contains("\\u202e"),
                "{shown}"
            );
            let back: serde_json::Value = serde_json::from_str(&shown).expect("still JSON");
            assert_eq!(back, value);
        }
        let pretty =
            serde_json::to_string_pretty(&serde_json::json!({"d": "Search — fast"})).expect("json");
        assert_eq!(json_escaped(&pretty), pretty);
        assert!(matches!(
            json_escaped("{\"a\":\"ünïcode\"}"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn escapes_are_shown_not_sent() {
        assert_eq!(
            clean("title\x1b]0;pwned\x07 done\r\n\u{202e}txt"),
            "title\\x1b]0;pwned\\x07 done\\r\n\\u{202e}txt"
        );
        assert_eq!(line("a\nb\tc"), "a\\nb\\tc");
        assert_eq!(clean("\u{9b}31m"), "\\x9b31m");
        assert!(matches!(clean("plain text, ünïcode ✓"), Cow::Borrowed(_)));
        assert!(matches!(clean("a\tb\nc"), Cow::Borrowed(_)));
        assert_eq!(clean("x\x7fy"), "x\\x7fy");
    }

    #[test]
    fn cells_are_cut_with_an_ellipsis() {
        let long = "é".repeat(MAX_CELL + 10);
        let cut = cell(&long);
        assert_eq!(cut.chars().count(), MAX_CELL);
        assert!(cut.ends_with('…'));
        assert_eq!(cell("short"), "short");
    }

    proptest! {
        #[test]
        fn nothing_that_moves_a_terminal_survives(text in any::<String>()) {
            let shown = line(&text);
            prop_assert!(!shown.chars().any(is_control));
            let shown = clean(&text);
            prop_assert!(!shown.chars().any(|c| is_control(c) && c != '\n' && c != '\t'));
            let shown = cell(&text);
            prop_assert!(shown.chars().count() <= MAX_CELL);
        }

        #[test]
        fn ascii_takes_the_fast_path_to_the_same_answer(text in "[\\x00-\\x7f]{0,80}") {
            let shown = line(&text);
            prop_assert!(!shown.chars().any(is_control));
            prop_assert_eq!(matches!(shown, Cow::Borrowed(_)), !text.chars().any(is_control));
            let shown = clean(&text);
            prop_assert!(!shown.chars().any(|c| is_control(c) && c != '\n' && c != '\t'));
        }
    }
}
