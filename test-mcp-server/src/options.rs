//! Command-line options of the test server.

use std::net::SocketAddr;
use std::time::Duration;

/// Where the server listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// JSON-RPC over stdin and stdout (the default).
    Stdio,
    /// Streamable HTTP on this address (port 0 picks a free port).
    Http(SocketAddr),
}

/// How the test server behaves; see `--help`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Transport to serve.
    pub mode: Mode,
    /// `server_info.name` (`--name`).
    pub name: String,
    /// Exit before answering `initialize` (`--crash-on-init`).
    pub crash_on_init: bool,
    /// Delay before answering `initialize` (`--slow-init-ms`).
    pub slow_init: Duration,
    /// Exit with code 0 once this many tool calls have been answered
    /// (`--exit-after-calls`).
    pub exit_after_calls: Option<u64>,
    /// Never answer anything (`--hang`).
    pub hang: bool,
    /// Tools per `tools/list` page; all in one page when absent
    /// (`--tools-page-size`).
    pub tools_page_size: Option<usize>,
    /// Start `sleep SECS` in a new session through a shell that exits at
    /// once, leaving an orphan that left our process group
    /// (`--orphan-sleep SECS`): the case a group kill misses.
    pub orphan_sleep: Option<String>,
    /// `echo`'s description instead of its own (`--echo-description TEXT`).
    pub echo_description: Option<String>,
    /// List one more tool, `extra` (`--extra-tool`).
    pub extra_tool: bool,
    /// Speak only the revisions with `initialize` (up to 2025-11-25), as
    /// servers built before 2026-07-28 do (`--legacy`).
    pub legacy: bool,
    /// Over HTTP, require OAuth and serve a small authorization server on
    /// the same port (`--oauth`).
    pub oauth: bool,
    /// How long its access tokens live (`--token-ttl-secs`, default 3600).
    pub token_ttl: Duration,
    /// Behave as a hostile server instead (stdio only; `--hostile KIND`,
    /// see [`crate::Hostile`]).
    pub hostile: Option<crate::Hostile>,
}

/// The command line could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UsageError {
    /// An unknown flag.
    #[error("unknown flag {0:?}\n{USAGE}")]
    UnknownFlag(String),
    /// A flag that needs a value had none.
    #[error("flag {0} needs a value\n{USAGE}")]
    MissingValue(&'static str),
    /// A flag's value did not parse.
    #[error("bad value {value:?} for {flag}\n{USAGE}")]
    BadValue {
        /// The flag.
        flag: &'static str,
        /// What was given.
        value: String,
    },
    /// `--help` was asked for; the message is the usage text.
    #[error("{USAGE}")]
    Help,
}

/// Usage text.
pub(crate) const USAGE: &str = "usage: codex-test-mcp-server [--http ADDR] [--name NAME] [--crash-on-init] \
[--slow-init-ms N] [--exit-after-calls N] [--hang] [--tools-page-size N] [--orphan-sleep SECS] [--echo-description TEXT] [--extra-tool] [--legacy] [--oauth] [--token-ttl-secs N] \
[--hostile escapes|huge-description=N|flood=N|oversized=N|stall]";

impl Options {
    /// Parses the arguments after the program name.
    pub fn parse<I, S>(args: I) -> Result<Self, UsageError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut options = Options {
            mode: Mode::Stdio,
            name: "codex-test-mcp-server".to_owned(),
            crash_on_init: false,
            slow_init: Duration::ZERO,
            exit_after_calls: None,
            hang: false,
            tools_page_size: None,
            orphan_sleep: None,
            echo_description: None,
            extra_tool: false,
            legacy: false,
            oauth: false,
            token_ttl: Duration::from_secs(3600),
            hostile: None,
        };
        let mut args = args.into_iter().map(Into::into);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--http" => options.mode = Mode::Http(parse_value("--http", args.next())?),
                "--name" => options.name = args.next().ok_or(UsageError::MissingValue("--name"))?,
                "--crash-on-init" => options.crash_on_init = true,
                "--slow-init-ms" => {
                    options.slow_init =
                        Duration::from_millis(parse_value("--slow-init-ms", args.next())?);
                }
                "--exit-after-calls" => {
                    options.exit_after_calls =
                        Some(parse_value("--exit-after-calls", args.next())?);
                }
                "--hang" => options.hang = true,
                "--echo-description" => {
                    options.echo_description = Some(
                        args.next()
                            .ok_or(UsageError::MissingValue("--echo-description"))?,
                    );
                }
                "--extra-tool" => options.extra_tool = true,
                "--legacy" => options.legacy = true,
                "--oauth" => options.oauth = true,
                "--token-ttl-secs" => {
                    let secs: u64 = parse_value("--token-ttl-secs", args.next())?;
                    options.token_ttl = Duration::from_secs(secs);
                }
                "--orphan-sleep" => {
                    let secs: f64 = parse_value("--orphan-sleep", args.next())?;
                    options.orphan_sleep = Some(secs.to_string());
                }
                "--tools-page-size" => {
                    let size: usize = parse_value("--tools-page-size", args.next())?;
                    if size == 0 {
                        return Err(UsageError::BadValue {
                            flag: "--tools-page-size",
                            value: "0".to_owned(),
                        });
                    }
                    options.tools_page_size = Some(size);
                }
                "--hostile" => options.hostile = Some(parse_value("--hostile", args.next())?),
                "--help" | "-h" => return Err(UsageError::Help),
                _ => return Err(UsageError::UnknownFlag(arg)),
            }
        }
        Ok(options)
    }
}

fn parse_value<T: std::str::FromStr>(
    flag: &'static str,
    value: Option<String>,
) -> Result<T, UsageError> {
    let value = value.ok_or(UsageError::MissingValue(flag))?;
    value
        .parse()
        .map_err(|_| UsageError::BadValue { flag, value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_parse() {
        let options = Options::parse([
            "--crash-on-init",
            "--slow-init-ms",
            "250",
            "--exit-after-calls",
            "2",
            "--hang",
            "--tools-page-size",
            "1",
        ])
        .expect("valid flags");
        assert!(options.crash_on_init && options.hang);
        assert_eq!(options.slow_init, Duration::from_millis(250));
        assert_eq!(options.exit_after_calls, Some(2));
        assert_eq!(options.tools_page_size, Some(1));
        assert_eq!(options.mode, Mode::Stdio);
    }

    #[test]
    fn bad_flags_are_usage_errors() {
        assert_eq!(
            Options::parse(["--bogus"]),
            Err(UsageError::UnknownFlag("--bogus".to_owned()))
        );
        assert_eq!(
            Options::parse(["--slow-init-ms"]),
            Err(UsageError::MissingValue("--slow-init-ms"))
        );
        assert!(matches!(
            Options::parse(["--http", "nope"]),
            Err(UsageError::BadValue { flag: "--http", .. })
        ));
    }
}
