//! [`ShellEnvironmentPolicy`]: which environment variables a command gets.
//!
//! The steps run in Codex's order:
//! 1. start from `inherit` (`all`, `core` or `none`);
//! 2. unless `ignore_default_excludes`, drop `*KEY*`, `*SECRET*`, `*TOKEN*`;
//! 3. drop names matching `exclude`;
//! 4. insert `set`, overriding;
//! 5. if `include_only` is non-empty, keep only the names matching it (this
//!    runs after `set`, so it can remove what `set` added).
//!
//! Patterns are globs with `*` and `?`, matched case-insensitively against the name.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::str::FromStr;

use crate::SandboxError;

/// The variables kept by [`EnvInherit::Core`].
pub const CORE_ENV_VARS: [&str; 9] = [
    "HOME", "LOGNAME", "PATH", "SHELL", "USER", "USERNAME", "TMPDIR", "TEMP", "TMP",
];

/// The patterns dropped unless `ignore_default_excludes` is set.
pub const DEFAULT_EXCLUDES: [&str; 3] = ["*KEY*", "*SECRET*", "*TOKEN*"];

/// Where the environment starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvInherit {
    /// The whole parent environment.
    All,
    /// Only [`CORE_ENV_VARS`].
    Core,
    /// Nothing.
    None,
}

impl fmt::Display for EnvInherit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EnvInherit::All => "all",
            EnvInherit::Core => "core",
            EnvInherit::None => "none",
        })
    }
}

impl FromStr for EnvInherit {
    type Err = SandboxError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "all" => Ok(EnvInherit::All),
            "core" => Ok(EnvInherit::Core),
            "none" => Ok(EnvInherit::None),
            other => Err(SandboxError::UnknownEnvInherit {
                value: other.to_owned(),
            }),
        }
    }
}

/// The `[shell_environment_policy]` table, resolved.
///
/// `Default` is Codex's current default: inherit everything, skip the default
/// excludes (`ignore_default_excludes = true`), no excludes, no sets, no
/// include list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShellEnvironmentPolicy {
    /// Where to start from.
    pub inherit: EnvInherit,
    /// Skip dropping `*KEY*`, `*SECRET*`, `*TOKEN*`.
    pub ignore_default_excludes: bool,
    /// Names to drop (case-insensitive globs).
    pub exclude: Vec<String>,
    /// Variables to set, overriding inherited ones.
    pub set: BTreeMap<String, String>,
    /// When non-empty, keep only names matching one of these globs.
    pub include_only: Vec<String>,
}

impl Default for ShellEnvironmentPolicy {
    fn default() -> Self {
        ShellEnvironmentPolicy {
            inherit: EnvInherit::All,
            ignore_default_excludes: true,
            exclude: Vec::new(),
            set: BTreeMap::new(),
            include_only: Vec::new(),
        }
    }
}

impl ShellEnvironmentPolicy {
    /// Builds a command's environment from the parent's variables.
    ///
    /// Pass `std::env::vars_os()` in production; tests pass a fixed list, so
    /// nothing here reads or changes the process environment.
    pub fn apply<I>(&self, parent: I) -> BTreeMap<OsString, OsString>
    where
        I: IntoIterator<Item = (OsString, OsString)>,
    {
        let matches_any = |name: &OsString, patterns: &[String]| {
            let name = name.to_string_lossy();
            patterns.iter().any(|p| glob_matches(p, &name))
        };
        let mut env: BTreeMap<OsString, OsString> = parent
            .into_iter()
            .filter(|(name, _)| match self.inherit {
                EnvInherit::All => true,
                EnvInherit::Core => CORE_ENV_VARS.iter().any(|core| name == core),
                EnvInherit::None => false,
            })
            .collect();
        if !self.ignore_default_excludes {
            let defaults = DEFAULT_EXCLUDES.map(String::from);
            env.retain(|name, _| !matches_any(name, &defaults));
        }
        env.retain(|name, _| !matches_any(name, &self.exclude));
        for (name, value) in &self.set {
            env.insert(name.into(), value.into());
        }
        if !self.include_only.is_empty() {
            env.retain(|name, _| matches_any(name, &self.include_only));
        }
        env
    }
}

/// Case-insensitive glob match with `*` (any run) and `?` (one character).
pub(crate) fn glob_matches(pattern: &str, name: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().flat_map(char::to_lowercase).collect();
    let name: Vec<char> = name.chars().flat_map(char::to_lowercase).collect();
    // Greedy matching with one backtrack point: linear for these patterns.
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, n));
                p += 1;
            }
            Some(&c) if c == '?' || c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((star_p, star_n)) => {
                    p = star_p + 1;
                    n = star_n + 1;
                    star = Some((star_p, star_n + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn glob_rows() {
        let rows = [
            ("*KEY*", "OPENAI_API_KEY", true),
            ("*key*", "OPENAI_API_KEY", true),
            ("*KEY*", "KEYBOARD", true),
            ("AWS_*", "aws_region", true),
            ("AWS_*", "MY_AWS", false),
            ("P?TH", "PATH", true),
            ("P?TH", "PTH", false),
            ("*", "", true),
            ("", "", true),
            ("", "X", false),
            ("A*B*C", "AxxBxxC", true),
            ("A*B*C", "AxxCxxB", false),
            ("HOME", "HOME2", false),
        ];
        for (pattern, name, expected) in rows {
            assert_eq!(glob_matches(pattern, name), expected, "{pattern} vs {name}");
        }
    }

    fn parent() -> Vec<(OsString, OsString)> {
        [
            ("PATH", "/usr/bin"),
            ("HOME", "/root"),
            ("OPENAI_API_KEY", "sk"),
            ("GITHUB_TOKEN", "gh"),
            ("AWS_REGION", "eu"),
            ("EDITOR", "vi"),
        ]
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect()
    }

    #[track_caller]
    fn check(policy: ShellEnvironmentPolicy, expected: &[(&str, &str)]) {
        let got = policy.apply(parent());
        let got: Vec<(String, String)> = got
            .into_iter()
            .map(|(k, v)| (k.into_string().unwrap(), v.into_string().unwrap()))
            .collect();
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn default_inherits_everything() {
        check(
            ShellEnvironmentPolicy::default(),
            &[
                ("AWS_REGION", "eu"),
                ("EDITOR", "vi"),
                ("GITHUB_TOKEN", "gh"),
                ("HOME", "/root"),
                ("OPENAI_API_KEY", "sk"),
                ("PATH", "/usr/bin"),
            ],
        );
    }

    #[test]
    fn default_excludes_drop_secrets() {
        let policy = ShellEnvironmentPolicy {
            ignore_default_excludes: false,
            ..ShellEnvironmentPolicy::default()
        };
        check(
            policy,
            &[
                ("AWS_REGION", "eu"),
                ("EDITOR", "vi"),
                ("HOME", "/root"),
                ("PATH", "/usr/bin"),
            ],
        );
    }

    #[test]
    fn core_then_exclude_then_set() {
        let policy = ShellEnvironmentPolicy {
            inherit: EnvInherit::Core,
            exclude: vec!["home".into()],
            set: [("CI".to_string(), "1".to_string())].into(),
            ..ShellEnvironmentPolicy::default()
        };
        check(policy, &[("CI", "1"), ("PATH", "/usr/bin")]);
    }

    #[test]
    fn include_only_runs_after_set() {
        let policy = ShellEnvironmentPolicy {
            inherit: EnvInherit::All,
            set: [
                ("CI".to_string(), "1".to_string()),
                ("PATH".to_string(), "/bin".to_string()),
            ]
            .into(),
            include_only: vec!["P*".into(), "ed?tor".into()],
            ..ShellEnvironmentPolicy::default()
        };
        check(policy, &[("EDITOR", "vi"), ("PATH", "/bin")]);
    }

    #[test]
    fn none_inherits_nothing() {
        let policy = ShellEnvironmentPolicy {
            inherit: EnvInherit::None,
            ..ShellEnvironmentPolicy::default()
        };
        check(policy, &[]);
        assert_eq!("core".parse::<EnvInherit>().unwrap(), EnvInherit::Core);
        assert!("some".parse::<EnvInherit>().is_err());
    }
}
