//! `-c key=value` overrides, parsed as Codex does.
//!
//! The text is split at the first `=`. The key is a dotted TOML path. The
//! value is parsed as a TOML value; when that fails the trimmed text is taken
//! as a string, with one pair of surrounding quotes removed.

use std::fmt;
use std::str::FromStr;

/// One parsed `-c` override.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigOverride {
    raw: String,
    path: Vec<String>,
    value: toml::Value,
    /// `-p/--profile NAME` rather than `-c`: `raw` is the name.
    profile_flag: bool,
}

/// Why a `-c` argument could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OverrideError {
    /// No `=` in the argument.
    #[error("Invalid override (missing '='): {0}")]
    MissingEquals(String),
    /// Nothing before the `=`.
    #[error("Empty key in override: {0}")]
    EmptyKey(String),
    /// The key is not a dotted TOML key.
    #[error("Invalid key in override: {key}: {reason}")]
    InvalidKey {
        /// The key as typed; never the value, which may be a secret.
        key: String,
        /// The TOML parser's explanation.
        reason: String,
    },
}

impl ConfigOverride {
    /// `-p NAME` / `--profile NAME`: `profile = "NAME"`, except that the
    /// loader also looks for the profile file `$CODEX_HOME/NAME.config.toml`
    /// and messages name the flag as typed.
    pub fn profile(name: &str) -> ConfigOverride {
        ConfigOverride {
            raw: name.to_owned(),
            path: vec!["profile".to_owned()],
            value: toml::Value::String(name.to_owned()),
            profile_flag: true,
        }
    }

    /// The profile's name, when this is `--profile`.
    pub fn profile_flag(&self) -> Option<&str> {
        self.profile_flag.then_some(self.raw.as_str())
    }

    /// The argument as typed (for `--profile`, the name).
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// Where messages say this layer came from: `-c KEY`, not the value,
    /// which may be a secret (`-c 'mcp_servers.x.env={TOKEN="..."}'`).
    pub(crate) fn origin(&self) -> super::Origin {
        if self.profile_flag {
            super::Origin::ProfileFlag(self.raw.clone())
        } else {
            let key = self.raw.split_once('=').map_or(&*self.raw, |(key, _)| key);
            super::Origin::Override(key.trim().to_owned())
        }
    }

    /// The dotted path, one element per key.
    pub fn path(&self) -> &[String] {
        &self.path
    }

    /// The value to set.
    pub fn value(&self) -> &toml::Value {
        &self.value
    }

    /// This override as a nested table, ready to merge as a layer.
    pub(crate) fn to_table(&self) -> toml::Table {
        let mut value = self.value.clone();
        for key in self.path.iter().skip(1).rev() {
            let mut table = toml::Table::new();
            table.insert(key.clone(), value);
            value = toml::Value::Table(table);
        }
        let mut root = toml::Table::new();
        if let Some(first) = self.path.first() {
            root.insert(first.clone(), value);
        }
        root
    }
}

impl FromStr for ConfigOverride {
    type Err = OverrideError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let Some((key, value)) = raw.split_once('=') else {
            return Err(OverrideError::MissingEquals(raw.to_owned()));
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(OverrideError::EmptyKey(raw.to_owned()));
        }
        let path = toml_edit::Key::parse(key)
            .map_err(|err| OverrideError::InvalidKey {
                key: key.to_owned(),
                reason: err.message().trim().to_owned(),
            })?
            .into_iter()
            .map(|k| k.get().to_owned())
            .collect();
        Ok(ConfigOverride {
            raw: raw.to_owned(),
            path,
            value: parse_value(value),
            profile_flag: false,
        })
    }
}

impl fmt::Display for ConfigOverride {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.profile_flag {
            write!(f, "--profile {}", self.raw)
        } else {
            f.write_str(&self.raw)
        }
    }
}

/// A TOML value if the text is one, else the text as a string.
fn parse_value(text: &str) -> toml::Value {
    let wrapped = format!("v = {text}");
    if let Ok(mut table) = super::layer::parse_table(&wrapped)
        && table.len() == 1
        && let Some(value) = table.remove("v")
    {
        return value;
    }
    let trimmed = text.trim();
    let unquoted = [('"', '"'), ('\'', '\'')]
        .into_iter()
        .find_map(|(open, close)| {
            trimmed
                .strip_prefix(open)
                .and_then(|rest| rest.strip_suffix(close))
        })
        .unwrap_or(trimmed);
    toml::Value::String(unquoted.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(raw: &str, path: &[&str], value: toml::Value) {
        let parsed: ConfigOverride = raw.parse().expect("valid override");
        assert_eq!(parsed.path(), path);
        assert_eq!(parsed.value(), &value);
    }

    #[test]
    fn values_parse_as_toml_or_fall_back_to_strings() {
        check("model=o3", &["model"], "o3".into());
        check(" a.b = 3 ", &["a", "b"], 3.into());
        check("a=true", &["a"], true.into());
        check("a=\"x y\"", &["a"], "x y".into());
        check("a='x'", &["a"], "x".into());
        check("a=\"unterminated", &["a"], "\"unterminated".into());
        check("a=x=y", &["a"], "x=y".into());
        check(
            "mcp_servers.\"my.server\".args=[\"-y\", \"pkg\"]",
            &["mcp_servers", "my.server", "args"],
            toml::Value::Array(vec!["-y".into(), "pkg".into()]),
        );
        check("a=[1, 2", &["a"], "[1, 2".into());
    }

    #[test]
    fn errors() {
        assert_eq!(
            "novalue".parse::<ConfigOverride>(),
            Err(OverrideError::MissingEquals("novalue".into()))
        );
        assert_eq!(
            " =1".parse::<ConfigOverride>(),
            Err(OverrideError::EmptyKey(" =1".into()))
        );
        assert!(matches!(
            "a..b=1".parse::<ConfigOverride>(),
            Err(OverrideError::InvalidKey { .. })
        ));
        // The value is never repeated: it may be a token.
        let err = "mcp servers.x={env={T=\"s3cret\"}}"
            .parse::<ConfigOverride>()
            .expect_err("a space in the key")
            .to_string();
        assert!(
            err.starts_with("Invalid key in override: mcp servers.x: "),
            "{err}"
        );
        assert!(!err.contains("s3cret"), "{err}");
    }

    #[test]
    fn builds_nested_tables() {
        let parsed: ConfigOverride = "a.b.c=1".parse().expect("valid");
        assert_eq!(parsed.to_table().to_string(), "[a.b]\nc = 1\n");
    }
}
