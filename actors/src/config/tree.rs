//! A `toml::Table` built straight from `toml_parser`'s events, for the
//! documents config and requirements files almost always are.
//!
//! `toml` builds its own spanned tree first (`DeTable`: an event vector,
//! then maps keyed by spanned keys), and `layer` then copied that into a
//! `Table`: two trees and three passes for every file a command reads.
//! Here the events go into the `Table` as they arrive: reading the config
//! of `mcp list`'s 100 servers takes 2.2 M instructions instead of 3.1 M
//! (issue 18; BENCHMARKS.md, tenth pass).
//!
//! Lexing, grammar, escapes and every check on a value are `toml_parser`'s,
//! the same code `toml` runs. What is ours is only where a value goes:
//! `[table]` headers (and the tables their paths imply), key/value pairs,
//! arrays and inline tables. Anything else gives `None`, and the caller
//! parses with `toml` itself: a syntax error, a duplicate key, a number out
//! of range, a dotted key in a pair, an array of tables, a header that
//! reopens a table or runs into an inline one, and a header under a table
//! defined before the last header. So a document read here is one `toml`
//! reads the same way (same tree, same key order: `tree_law.rs` states the
//! law, and a property test and the `toml_tree` fuzz target hold the two
//! to it), and every refusal and its message are `toml`'s.

use std::borrow::Cow;
use std::collections::HashSet;

use toml_parser::decoder::{Encoding, ScalarKind};
use toml_parser::parser::{EventReceiver, RecursionGuard, ValidateWhitespace};
use toml_parser::{ErrorSink, ParseError, Raw, Source, Span};

/// How deep arrays and inline tables may nest: `toml`'s own limit.
const DEPTH_LIMIT: u32 = 80;

/// The longest header path read here; `toml` refuses 80 keys and more.
const PATH_LIMIT: usize = 64;

/// `text` as a table, or `None` when `toml` itself must read it.
pub(super) fn table(text: &str) -> Option<toml::Table> {
    let source = Source::new(text);
    let tokens = source.lex().into_vec();
    let mut builder = Builder::new(text);
    let mut error: Option<ParseError> = None;
    {
        let mut whitespace = ValidateWhitespace::new(&mut builder, source);
        let mut guard = RecursionGuard::new(&mut whitespace, DEPTH_LIMIT);
        toml_parser::parser::parse_document(&tokens, &mut guard, &mut error);
    }
    if error.is_some() {
        return None;
    }
    builder.finish()
}

/// Converts a decoded float; `None` when it is out of range (a finite
/// literal too large for an `f64` parses as infinity).
pub(super) fn float(text: &str) -> Option<f64> {
    let parsed: f64 = text.parse().ok()?;
    (!parsed.is_infinite() || text.contains("inf")).then_some(parsed)
}

/// The table under `key` in `parent`; `None` when it is missing or not a
/// table.
fn child_table<'t>(parent: &'t mut toml::Table, key: &str) -> Option<&'t mut toml::Table> {
    match parent.get_mut(key) {
        Some(toml::Value::Table(child)) => Some(child),
        _ => None,
    }
}

/// An array or inline table being read.
enum Open {
    Array(Vec<toml::Value>),
    /// The table so far, and the key whose value comes next.
    Table(toml::Table, Option<String>),
}

struct Builder<'s> {
    text: &'s str,
    /// Set when the document needs `toml`'s own parser; the rest of the
    /// events are then ignored.
    unsupported: bool,
    /// The document's tables, once the first header ends the top level.
    root: toml::Table,
    /// The table being filled: the top level's own pairs, then each
    /// header's.
    current: toml::Table,
    /// The path of the header that opened `current`; `None` at the top.
    header: Option<Vec<Cow<'s, str>>>,
    /// The path of the last header: every table along it was made by a
    /// header (none is an inline table), so the next header, which most
    /// often shares its start (`[mcp_servers.a]`, `[mcp_servers.b]`),
    /// walks that far without asking `implied`.
    known: Vec<Cow<'s, str>>,
    /// Tables only implied so far (`a` by `[a.b]`), by path: a header may
    /// still define each, once.
    implied: HashSet<Vec<Cow<'s, str>>>,
    /// Keys read so far: a header's path, or a pair's key.
    keys: Vec<Cow<'s, str>>,
    in_header: bool,
    /// Arrays and inline tables being read, innermost last.
    open: Vec<Open>,
}

impl<'s> Builder<'s> {
    fn new(text: &'s str) -> Self {
        Builder {
            text,
            unsupported: false,
            root: toml::Table::new(),
            current: toml::Table::new(),
            header: None,
            known: Vec::new(),
            implied: HashSet::new(),
            keys: Vec::new(),
            in_header: false,
            open: Vec::new(),
        }
    }

    fn finish(mut self) -> Option<toml::Table> {
        if self.unsupported || self.in_header || !self.open.is_empty() || !self.keys.is_empty() {
            return None;
        }
        self.end_table();
        (!self.unsupported).then_some(self.root)
    }

    /// The text of a key or value token to decode; `None` once the
    /// document is left to `toml`, which a span off the text's character
    /// boundaries (never seen) also does.
    fn token(&mut self, span: Span, encoding: Option<Encoding>) -> Option<Raw<'s>> {
        if self.unsupported {
            return None;
        }
        let Some(text) = self.text.get(span.start()..span.end()) else {
            self.unsupported = true;
            return None;
        };
        Some(Raw::new_unchecked(text, encoding, span))
    }

    /// A value is complete: into the open array or inline table, or the
    /// current table under the key just read.
    fn value(&mut self, value: toml::Value) {
        let (table, key) = match self.open.last_mut() {
            Some(Open::Array(items)) => {
                items.push(value);
                return;
            }
            Some(Open::Table(table, key)) => (table, key.take()),
            None => match (self.keys.pop(), self.keys.is_empty()) {
                (Some(key), true) => (&mut self.current, Some(key.into_owned())),
                _ => (&mut self.current, None),
            },
        };
        match key.map(|key| table.entry(key)) {
            Some(toml::map::Entry::Vacant(slot)) => {
                slot.insert(value);
            }
            // A duplicate key: toml's message.
            Some(toml::map::Entry::Occupied(_)) | None => self.unsupported = true,
        }
    }

    /// The end of a table's pairs (at the next header, or the end): the
    /// table goes where its header said, along the tables its start made
    /// sure of.
    fn end_table(&mut self) {
        let table = std::mem::take(&mut self.current);
        let Some(path) = self.header.take() else {
            self.root = table;
            return;
        };
        let Some((key, parents)) = path.split_last() else {
            self.unsupported = true;
            return;
        };
        let mut parent = &mut self.root;
        for step in parents {
            let Some(child) = child_table(parent, step) else {
                self.unsupported = true;
                return;
            };
            parent = child;
        }
        parent.insert(key.to_string(), toml::Value::Table(table));
        self.known = path;
    }

    /// A `[header]` is read: its table becomes the one being filled. A
    /// table only implied so far is taken out with what it holds, and goes
    /// back (last, as in `toml`) when its pairs end.
    fn start_table(&mut self, path: Vec<Cow<'s, str>>) {
        let Some((key, parents)) = path.split_last() else {
            self.unsupported = true;
            return;
        };
        if path.len() > PATH_LIMIT {
            self.unsupported = true;
            return;
        }
        let known = self
            .known
            .iter()
            .zip(parents)
            .take_while(|(a, b)| a == b)
            .count();
        let mut parent = &mut self.root;
        for (at, step) in parents.iter().enumerate() {
            if !parent.contains_key(step.as_ref()) {
                parent.insert(step.to_string(), toml::Value::Table(toml::Table::new()));
                self.implied.insert(path[..=at].to_vec());
            } else if at >= known && !self.implied.contains(&path[..=at]) {
                // A table a header defined before the last one, or an
                // inline table (which no header may extend).
                self.unsupported = true;
                return;
            }
            let Some(child) = child_table(parent, step) else {
                self.unsupported = true;
                return;
            };
            parent = child;
        }
        match parent.remove_entry(key.as_ref()) {
            None => {}
            Some((_, toml::Value::Table(table))) if self.implied.remove(path.as_slice()) => {
                self.current = table;
            }
            // Defined twice, or not a table: toml's message.
            Some(_) => {
                self.unsupported = true;
                return;
            }
        }
        self.header = Some(path);
    }
}

impl<'s> EventReceiver for Builder<'s> {
    fn std_table_open(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        if self.unsupported {
            return;
        }
        if !self.open.is_empty() || !self.keys.is_empty() {
            self.unsupported = true;
            return;
        }
        self.end_table();
        self.in_header = true;
    }

    fn std_table_close(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        if self.unsupported {
            return;
        }
        self.in_header = false;
        let path = std::mem::take(&mut self.keys);
        self.start_table(path);
    }

    fn array_table_open(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        self.unsupported = true;
    }

    fn inline_table_open(&mut self, _span: Span, _error: &mut dyn ErrorSink) -> bool {
        self.open.push(Open::Table(toml::Table::new(), None));
        true
    }

    fn inline_table_close(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        match self.open.pop() {
            Some(Open::Table(table, None)) => self.value(toml::Value::Table(table)),
            _ => self.unsupported = true,
        }
    }

    fn array_open(&mut self, _span: Span, _error: &mut dyn ErrorSink) -> bool {
        self.open.push(Open::Array(Vec::new()));
        true
    }

    fn array_close(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        match self.open.pop() {
            Some(Open::Array(items)) => self.value(toml::Value::Array(items)),
            _ => self.unsupported = true,
        }
    }

    fn simple_key(&mut self, span: Span, encoding: Option<Encoding>, error: &mut dyn ErrorSink) {
        let Some(raw) = self.token(span, encoding) else {
            return;
        };
        let mut key = Cow::Borrowed("");
        raw.decode_key(&mut key, error);
        match self.open.last_mut() {
            Some(Open::Table(_, slot @ None)) => *slot = Some(key.into_owned()),
            Some(_) => self.unsupported = true,
            None if self.in_header || self.keys.is_empty() => self.keys.push(key),
            None => self.unsupported = true,
        }
    }

    fn key_sep(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        // A dotted key outside a header implies tables with rules of
        // their own: toml reads those.
        if !self.in_header {
            self.unsupported = true;
        }
    }

    fn scalar(&mut self, span: Span, encoding: Option<Encoding>, error: &mut dyn ErrorSink) {
        let Some(raw) = self.token(span, encoding) else {
            return;
        };
        let mut decoded = Cow::Borrowed("");
        let kind = raw.decode_scalar(&mut decoded, error);
        let value = match kind {
            ScalarKind::String => Some(toml::Value::String(decoded.into_owned())),
            ScalarKind::Boolean(flag) => Some(toml::Value::Boolean(flag)),
            ScalarKind::Integer(radix) => i64::from_str_radix(&decoded, radix.value())
                .ok()
                .map(toml::Value::Integer),
            ScalarKind::Float => float(&decoded).map(toml::Value::Float),
            ScalarKind::DateTime => decoded.parse().ok().map(toml::Value::Datetime),
        };
        match value {
            Some(value) => self.value(value),
            None => self.unsupported = true,
        }
    }
}
