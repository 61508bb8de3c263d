//! The one way this crate reads hand-checked TOML: typed values out of a
//! `toml::Value`, with the path of the key for the error.
//!
//! `config.toml` (merged from several layers before it is read) and each
//! `requirements.toml` are read through it; the caller turns the path into
//! a file, line and column with [`super::TomlLayer::locate`]. A document
//! read on its own into fixed types (a fault plan) uses serde with
//! `Spanned` instead, which says the same in fewer lines.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::time::Duration;

/// The longest duration any setting takes: a week. Longer ones are
/// refused where they are read, so no deadline arithmetic can overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// The known key closest to `key`, when it is close enough to be a typo
/// (config and requirements readers both suggest it).
pub(crate) fn closest<'a>(key: &str, known: impl Iterator<Item = &'a str>) -> Option<String> {
    known
        .map(|candidate| (strsim::damerau_levenshtein(key, candidate), candidate))
        .filter(|(distance, candidate)| *distance <= 2.max(candidate.len() / 4))
        .min()
        .map(|(_, candidate)| candidate.to_owned())
}

/// A problem with one field, before it is given a file location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldProblem {
    /// Path from the document root to the offending key.
    pub(crate) path: Vec<String>,
    /// What is wrong, in Codex's words where Codex has words for it.
    pub(crate) message: String,
}

/// A type a TOML value can be read as, and how a message names it.
pub(crate) trait Read<'v>: Sized {
    /// `a string`, `a table`, ...: what was expected.
    const WHAT: &'static str;
    /// The value as `Self`, or the value that is not what was expected
    /// (an array's odd element, say).
    fn read(value: &'v toml::Value) -> Result<Self, &'v toml::Value>;
}

impl<'v> Read<'v> for &'v str {
    const WHAT: &'static str = "a string";
    fn read(value: &'v toml::Value) -> Result<Self, &'v toml::Value> {
        value.as_str().ok_or(value)
    }
}

impl<'v> Read<'v> for &'v toml::Table {
    const WHAT: &'static str = "a table";
    fn read(value: &'v toml::Value) -> Result<Self, &'v toml::Value> {
        value.as_table().ok_or(value)
    }
}

impl<'v> Read<'v> for &'v [toml::Value] {
    const WHAT: &'static str = "an array";
    fn read(value: &'v toml::Value) -> Result<Self, &'v toml::Value> {
        value.as_array().map(Vec::as_slice).ok_or(value)
    }
}

impl<'v> Read<'v> for i64 {
    const WHAT: &'static str = "an integer";
    fn read(value: &'v toml::Value) -> Result<Self, &'v toml::Value> {
        value.as_integer().ok_or(value)
    }
}

impl<'v> Read<'v> for bool {
    const WHAT: &'static str = "true or false";
    fn read(value: &'v toml::Value) -> Result<Self, &'v toml::Value> {
        value.as_bool().ok_or(value)
    }
}

impl<'v> Read<'v> for Vec<String> {
    const WHAT: &'static str = "an array of strings";
    fn read(value: &'v toml::Value) -> Result<Self, &'v toml::Value> {
        value
            .as_array()
            .ok_or(value)?
            .iter()
            .map(|item| item.as_str().map(str::to_owned).ok_or(item))
            .collect()
    }
}

/// `value` read as `T`, or `expected T, found ...`.
pub(crate) fn read<'v, T: Read<'v>>(value: &'v toml::Value) -> Result<T, String> {
    T::read(value).map_err(|odd| format!("expected {}, found {}", T::WHAT, type_name(odd)))
}

/// `table[key]` read as `T`, when set.
pub(crate) fn get<'v, T: Read<'v>>(table: &'v toml::Table, key: &str) -> Result<Option<T>, String> {
    entry(table, key).map(read).transpose()
}

/// `table[key]`. A config table is small and most keys asked for are not
/// in it: comparing the few keys it has is cheaper than hashing the key
/// asked for (`toml`'s ordered map hashes with SipHash), which was a tenth
/// of `codex mcp list` with 100 servers.
pub(crate) fn entry<'t>(table: &'t toml::Table, key: &str) -> Option<&'t toml::Value> {
    const SCAN_UP_TO: usize = 8;
    if table.len() <= SCAN_UP_TO {
        table
            .iter()
            .find_map(|(name, value)| (name == key).then_some(value))
    } else {
        table.get(key)
    }
}

/// Typed access to the keys of one table, with paths for errors. The path
/// is borrowed: it becomes text only in an error.
pub(crate) struct Fields<'a> {
    base: Cow<'a, [&'a str]>,
}

impl<'a> Fields<'a> {
    /// Accessors for the table at `base`.
    pub(crate) fn new(base: &'a [&'a str]) -> Fields<'a> {
        Fields {
            base: Cow::Borrowed(base),
        }
    }

    /// Accessors for the table at `keys` under this one.
    pub(crate) fn nested<'b>(&self, keys: &[&'b str]) -> Fields<'b>
    where
        'a: 'b,
    {
        let mut base: Vec<&'b str> = self.base.to_vec();
        base.extend_from_slice(keys);
        Fields {
            base: Cow::Owned(base),
        }
    }

    pub(crate) fn path(&self, keys: &[&str]) -> Vec<String> {
        self.base
            .iter()
            .chain(keys)
            .map(|k| (*k).to_owned())
            .collect()
    }

    pub(crate) fn problem(&self, keys: &[&str], message: String) -> FieldProblem {
        FieldProblem {
            path: self.path(keys),
            message,
        }
    }

    /// `table[key]` read as `T`, when set; a message starts with the key.
    pub(crate) fn get<'v, T: Read<'v>>(
        &self,
        table: &'v toml::Table,
        key: &str,
    ) -> Result<Option<T>, FieldProblem> {
        get(table, key).map_err(|message| self.problem(&[key], format!("{key}: {message}")))
    }

    pub(crate) fn string(
        &self,
        table: &toml::Table,
        key: &str,
    ) -> Result<Option<String>, FieldProblem> {
        Ok(self.get::<&str>(table, key)?.map(str::to_owned))
    }

    pub(crate) fn boolean(
        &self,
        table: &toml::Table,
        key: &str,
    ) -> Result<Option<bool>, FieldProblem> {
        self.get(table, key)
    }

    pub(crate) fn strings(
        &self,
        table: &toml::Table,
        key: &str,
    ) -> Result<Option<Vec<String>>, FieldProblem> {
        self.get(table, key)
    }

    pub(crate) fn integer(
        &self,
        table: &toml::Table,
        key: &str,
    ) -> Result<Option<i64>, FieldProblem> {
        match entry(table, key) {
            None => Ok(None),
            Some(toml::Value::Integer(i)) if *i >= 0 => Ok(Some(*i)),
            Some(toml::Value::Integer(i)) => Err(self.problem(
                &[key],
                format!("{key}: expected a non-negative integer, found {i}"),
            )),
            Some(other) => Err(self.problem(
                &[key],
                format!(
                    "{key}: expected a non-negative integer, found {}",
                    type_name(other)
                ),
            )),
        }
    }

    /// A duration in seconds (an integer or a float), from 0 to
    /// [`MAX_DURATION`].
    pub(crate) fn seconds(
        &self,
        table: &toml::Table,
        key: &str,
    ) -> Result<Option<Duration>, FieldProblem> {
        // The number as written, for the message: a large integer shown
        // as the float it rounds to would not be what the user wrote.
        let (secs, written) = match entry(table, key) {
            None => return Ok(None),
            Some(toml::Value::Integer(i)) => (*i as f64, i.to_string()),
            Some(toml::Value::Float(f)) => (*f, format!("{f:?}")),
            Some(other) => {
                return Err(self.problem(
                    &[key],
                    format!(
                        "{key}: expected a number of seconds, found {}",
                        type_name(other)
                    ),
                ));
            }
        };
        match Duration::try_from_secs_f64(secs) {
            Ok(duration) if duration <= MAX_DURATION => Ok(Some(duration)),
            _ => Err(self.problem(
                &[key],
                format!(
                    "{key}: {written} is out of range (0 to {} seconds)",
                    MAX_DURATION.as_secs()
                ),
            )),
        }
    }

    /// A duration in milliseconds (an integer), from 0 to
    /// [`MAX_DURATION`].
    pub(crate) fn millis(
        &self,
        table: &toml::Table,
        key: &str,
    ) -> Result<Option<Duration>, FieldProblem> {
        match self.integer(table, key)? {
            None => Ok(None),
            Some(ms) if ms.unsigned_abs() <= MAX_DURATION.as_millis() as u64 => {
                Ok(Some(Duration::from_millis(ms.unsigned_abs())))
            }
            Some(ms) => Err(self.problem(
                &[key],
                format!(
                    "{key}: {ms} is out of range (0 to {} milliseconds)",
                    MAX_DURATION.as_millis()
                ),
            )),
        }
    }

    pub(crate) fn string_map(
        &self,
        table: &toml::Table,
        key: &str,
    ) -> Result<Option<BTreeMap<String, String>>, FieldProblem> {
        match entry(table, key) {
            None => Ok(None),
            Some(toml::Value::Table(map)) => map
                .iter()
                .map(|(k, v)| match v {
                    toml::Value::String(s) => Ok((k.clone(), s.clone())),
                    other => Err(self.problem(
                        &[key, k],
                        format!("{key}.{k}: expected a string, found {}", type_name(other)),
                    )),
                })
                .collect::<Result<_, _>>()
                .map(Some),
            Some(other) => Err(self.problem(
                &[key],
                format!(
                    "{key}: expected a table of strings, found {}",
                    type_name(other)
                ),
            )),
        }
    }
}

/// A TOML type's name, for messages.
pub(crate) fn type_name(value: &toml::Value) -> &'static str {
    match value {
        toml::Value::String(_) => "a string",
        toml::Value::Integer(_) => "an integer",
        toml::Value::Float(_) => "a float",
        toml::Value::Boolean(_) => "a boolean",
        toml::Value::Datetime(_) => "a datetime",
        toml::Value::Array(_) => "an array",
        toml::Value::Table(_) => "a table",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_found_in_small_and_large_tables_alike() {
        for size in [0, 1, 7, 8, 9, 40] {
            let table: toml::Table = (0..size)
                .map(|i| (format!("key{i}"), toml::Value::Integer(i)))
                .collect();
            for i in 0..size + 2 {
                let key = format!("key{i}");
                assert_eq!(entry(&table, &key), table.get(&key), "{size} {key}");
            }
            assert_eq!(entry(&table, "key"), None);
        }
    }

    #[test]
    fn values_are_read_as_their_type_or_named_in_the_error() {
        let table: toml::Table = "s = \"x\"\nb = true\nl = [\"a\", \"b\"]\nm = [\"a\", 1]\n"
            .parse()
            .expect("toml");
        let fields = Fields::new(&["mcp_servers", "a"]);
        assert_eq!(fields.string(&table, "s"), Ok(Some("x".to_owned())));
        assert_eq!(fields.boolean(&table, "b"), Ok(Some(true)));
        assert_eq!(fields.string(&table, "none"), Ok(None));
        assert_eq!(
            fields.strings(&table, "l"),
            Ok(Some(vec!["a".to_owned(), "b".to_owned()]))
        );
        assert_eq!(
            fields.strings(&table, "m"),
            Err(FieldProblem {
                path: vec!["mcp_servers".into(), "a".into(), "m".into()],
                message: "m: expected an array of strings, found an integer".to_owned(),
            })
        );
        assert_eq!(
            fields.boolean(&table, "s").map_err(|p| p.message),
            Err("s: expected true or false, found a string".to_owned())
        );
        assert_eq!(
            read::<&toml::Table>(&table["s"]),
            Err("expected a table, found a string".to_owned())
        );
    }

    /// A number out of range is shown as written.
    #[test]
    fn numbers_out_of_range_are_shown_as_written() {
        let table: toml::Table = "n = -5\nbig = 9223372036854775807\nf = -1.5\n"
            .parse()
            .expect("toml");
        let fields = Fields::new(&["mcp_servers", "a"]);
        assert_eq!(
            fields.integer(&table, "n").map_err(|p| p.message),
            Err("n: expected a non-negative integer, found -5".to_owned())
        );
        assert_eq!(
            fields.seconds(&table, "big").map_err(|p| p.message),
            Err("big: 9223372036854775807 is out of range (0 to 604800 seconds)".to_owned())
        );
        assert_eq!(
            fields.seconds(&table, "f").map_err(|p| p.message),
            Err("f: -1.5 is out of range (0 to 604800 seconds)".to_owned())
        );
    }
}
