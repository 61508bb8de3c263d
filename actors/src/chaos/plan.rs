//! Fault plans: what to call, and which faults to inject when.
//!
//! ```toml
//! seed = 1234                       # same seed, same faults at the same calls
//! ping_interval_ms = 500            # optional: how often servers are pinged
//! ping_timeout_ms = 1000
//! pace_ms = 20                      # optional: start a call at most every 20 ms
//!
//! [[workload]]                      # round-robin; default: every ready tool without required arguments
//! server = "mini"
//! tool = "echo"
//! args = { text = "hi" }
//!
//! [[workload]]                      # a sandboxed command
//! command = ["echo", "hi"]
//! timeout_ms = 2000
//!
//! [[fault]]
//! target = "mini"                   # a server, "stdio", "streamable_http", "sse", "model" or "sandbox"
//! when = { every_calls = 40 }       # or after_calls, at_ms, probability
//! action = "kill"
//! signal = "KILL"
//! ```
//!
//! Every mistake (a syntax error, an unknown key, target or action, a
//! parameter the action does not take) is a [`PlanError`] with the file,
//! line and column.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use codex_transports::TransportKind;
use codex_transports::fault::{Fault, ProcessFault, signal_number};
use serde::Deserialize;
use toml::Spanned;

use crate::config::LineIndex;

/// A parsed, checked plan.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultPlan {
    /// Drives every random choice.
    pub seed: u64,
    /// What to call, round-robin (empty: every ready tool that needs no
    /// arguments).
    pub workload: Vec<WorkItem>,
    /// The faults, in file order.
    pub faults: Vec<PlannedFault>,
    /// `ping_interval_ms`.
    pub ping_interval: Option<Duration>,
    /// `ping_timeout_ms`.
    pub ping_timeout: Option<Duration>,
    /// `pace_ms`: the least time between the starts of two calls.
    pub pace: Option<Duration>,
}

/// One workload entry.
#[derive(Debug, Clone, PartialEq)]
pub enum WorkItem {
    /// A tool call.
    Tool {
        /// The server.
        server: String,
        /// The tool.
        tool: String,
        /// Its arguments.
        args: Option<serde_json::Map<String, serde_json::Value>>,
        /// Where the entry is written (`file:line:column`), for errors
        /// found later.
        location: String,
    },
    /// A command run in the session's sandbox.
    Command {
        /// argv.
        argv: Vec<String>,
        /// How long it may run.
        timeout: Duration,
    },
}

/// One `[[fault]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedFault {
    /// What it hits.
    pub target: Target,
    /// When.
    pub when: Trigger,
    /// What it does.
    pub action: Action,
    /// Where `target` is written, for errors found later.
    pub location: String,
}

/// What a fault hits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// One server by name.
    Server(String),
    /// Every server of a transport.
    Kind(TransportKind),
    /// The model endpoint (through `codex debug fault-proxy`).
    Model,
    /// Sandboxed commands.
    Sandbox,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Server(name) => f.write_str(name),
            Target::Kind(kind) => f.write_str(kind.as_str()),
            Target::Model => f.write_str("model"),
            Target::Sandbox => f.write_str("sandbox"),
        }
    }
}

/// When a fault fires. Calls are counted per fault, over the calls that
/// reach its target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Trigger {
    /// On every Nth call.
    EveryCalls(u64),
    /// Once, on the first call after N calls.
    AfterCalls(u64),
    /// Once, this long after the start.
    AtMs(u64),
    /// On each call with this probability (decided by the seed, so the
    /// same seed fires at the same calls).
    Probability(f64),
}

/// What a fault does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Something done to a stdio server's process.
    Process(ProcessFault),
    /// The next start of the server waits this long.
    SlowStart(Duration),
    /// Hold a message (or request) for a delay drawn from `min..=max`.
    Delay {
        /// Shortest.
        min: Duration,
        /// Longest.
        max: Duration,
    },
    /// Something done to a message or request.
    Message(Fault),
    /// The sandboxed command hangs past its timeout.
    SandboxHang,
}

impl Action {
    /// The name as written in a plan.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Process(ProcessFault::Kill { .. }) => "kill",
            Action::Process(ProcessFault::Hang) => "hang",
            Action::Process(ProcessFault::Exit) => "exit",
            Action::Process(ProcessFault::StderrFlood { .. }) => "stderr_flood",
            Action::Process(_) => "process",
            Action::SlowStart(_) => "slow_start",
            Action::Delay { .. } => "delay",
            Action::Message(Fault::Drop) => "drop",
            Action::Message(Fault::Corrupt) => "corrupt",
            Action::Message(Fault::GarbageLine) => "garbage_line",
            Action::Message(Fault::Close) => "close",
            Action::Message(Fault::Oversize) => "oversize",
            Action::Message(Fault::HttpStatus { .. }) => "http_status",
            Action::Message(Fault::Reset) => "reset",
            Action::Message(Fault::Truncate) => "truncate",
            Action::Message(Fault::Stall) => "stall",
            Action::Message(_) => "message",
            Action::SandboxHang => "hang",
        }
    }

    /// Which targets it makes sense for. A legacy SSE server answers a
    /// POST with an empty `202` (its answers come on the event stream), so
    /// only what acts on the POST itself applies to it.
    fn fits(&self, target: Reach) -> bool {
        match self {
            Action::Process(_) => target == Reach::Stdio,
            Action::SlowStart(_) => matches!(target, Reach::Stdio | Reach::Http | Reach::Sse),
            Action::Delay { .. } => matches!(
                target,
                Reach::Stdio | Reach::Http | Reach::Sse | Reach::Model
            ),
            Action::Message(Fault::Drop) => target != Reach::Sandbox,
            Action::Message(Fault::HttpStatus { .. } | Fault::Reset) => {
                matches!(target, Reach::Http | Reach::Sse | Reach::Model)
            }
            Action::Message(fault) if fault.is_http_only() => {
                matches!(target, Reach::Http | Reach::Model)
            }
            Action::Message(_) => matches!(target, Reach::Stdio | Reach::Http | Reach::Model),
            Action::SandboxHang => target == Reach::Sandbox,
        }
    }
}

/// What kind of thing a target is, for checking actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reach {
    Stdio,
    Http,
    Sse,
    Model,
    Sandbox,
}

impl Reach {
    fn of(kind: TransportKind) -> Reach {
        match kind {
            TransportKind::Stdio => Reach::Stdio,
            TransportKind::StreamableHttp => Reach::Http,
            TransportKind::Sse => Reach::Sse,
        }
    }
}

/// A plan that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// The file cannot be read.
    #[error("cannot read fault plan {}: {reason}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        reason: String,
    },
    /// Something in it is wrong.
    #[error("{location}: {message}")]
    Invalid {
        /// `file:line:column`.
        location: String,
        /// What is wrong.
        message: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlan {
    seed: Option<u64>,
    ping_interval_ms: Option<u64>,
    ping_timeout_ms: Option<u64>,
    pace_ms: Option<u64>,
    #[serde(default)]
    workload: Vec<Spanned<RawWork>>,
    #[serde(default)]
    fault: Vec<Spanned<RawFault>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWork {
    server: Option<String>,
    tool: Option<String>,
    args: Option<toml::Table>,
    command: Option<Vec<String>>,
    timeout_ms: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFault {
    target: Spanned<String>,
    when: Spanned<RawWhen>,
    action: Spanned<String>,
    signal: Option<Spanned<String>>,
    delay_ms: Option<Spanned<DelayMs>>,
    status: Option<Spanned<u16>>,
    retry_after_s: Option<Spanned<u64>>,
    bytes: Option<Spanned<u64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWhen {
    every_calls: Option<u64>,
    after_calls: Option<u64>,
    at_ms: Option<u64>,
    probability: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum DelayMs {
    Fixed(u64),
    Range([u64; 2]),
}

/// Default bytes of a `stderr_flood`.
const FLOOD_BYTES: usize = 1024 * 1024;
/// The longest delay a plan may ask for (an hour, in ms).
const MAX_DELAY_MS: u64 = 3_600_000;
/// The most a `stderr_flood` may write.
const MAX_FLOOD: u64 = 1 << 30;
/// The latest `at_ms`: a week.
const MAX_AT_MS: u64 = 7 * 24 * 3_600_000;
/// The longest `retry_after_s`: an hour.
const MAX_RETRY_AFTER_S: u64 = 3_600;

/// Default timeout of a workload command.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

impl FaultPlan {
    /// Reads and parses the plan at `path`.
    ///
    /// # Errors
    ///
    /// [`PlanError`], located.
    pub fn load(path: &Path) -> Result<FaultPlan, PlanError> {
        let text = crate::config::read_optional(path)
            .and_then(|text| text.ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound)))
            .map_err(|err| PlanError::Read {
                path: path.to_owned(),
                reason: err.to_string(),
            })?;
        FaultPlan::parse(&path.display().to_string(), &text)
    }

    /// Parses a plan; `origin` names it in errors.
    ///
    /// # Errors
    ///
    /// [`PlanError::Invalid`] with the line and column of the problem.
    pub fn parse(origin: &str, text: &str) -> Result<FaultPlan, PlanError> {
        let lines = LineIndex::new(text);
        let at = |offset: usize| {
            let (line, column) = lines.locate(offset);
            format!("{origin}:{line}:{column}")
        };
        let invalid = |offset: usize, message: String| PlanError::Invalid {
            location: at(offset),
            message,
        };
        let raw: RawPlan = toml::from_str(text).map_err(|err| {
            let offset = err.span().map_or(0, |span| span.start);
            invalid(offset, err.message().trim().to_owned())
        })?;
        let mut workload = Vec::new();
        for item in raw.workload {
            let offset = item.span().start;
            let item = item.into_inner();
            let work = match (item.server, item.tool, item.command) {
                (Some(server), Some(tool), None) => {
                    if item.timeout_ms.is_some() {
                        return Err(invalid(offset, "`timeout_ms` is for commands".to_owned()));
                    }
                    let args = match item.args {
                        Some(table) => match serde_json::to_value(table) {
                            Ok(serde_json::Value::Object(map)) => Some(map),
                            _ => return Err(invalid(offset, "`args` must be a table".to_owned())),
                        },
                        None => None,
                    };
                    WorkItem::Tool {
                        server,
                        tool,
                        args,
                        location: at(offset),
                    }
                }
                (None, None, Some(argv)) if !argv.is_empty() => {
                    if item.args.is_some() {
                        return Err(invalid(offset, "`args` is for tool calls".to_owned()));
                    }
                    WorkItem::Command {
                        argv,
                        timeout: match item.timeout_ms {
                            None => COMMAND_TIMEOUT,
                            Some(ms) if (1..=MAX_DELAY_MS).contains(&ms) => {
                                Duration::from_millis(ms)
                            }
                            Some(ms) => {
                                return Err(invalid(
                                    offset,
                                    format!(
                                        "`timeout_ms` = {ms} is out of range (1 to {MAX_DELAY_MS})"
                                    ),
                                ));
                            }
                        },
                    }
                }
                (None, None, Some(_)) => {
                    return Err(invalid(offset, "`command` is empty".to_owned()));
                }
                _ => {
                    return Err(invalid(
                        offset,
                        "a workload entry is either `server` and `tool` (with optional `args`) or `command`"
                            .to_owned(),
                    ));
                }
            };
            workload.push(work);
        }
        let mut faults = Vec::new();
        for fault in raw.fault {
            let fault = fault.into_inner();
            faults.push(planned(fault, &at)?);
        }
        Ok(FaultPlan {
            seed: raw.seed.unwrap_or(0),
            workload,
            faults,
            ping_interval: bounded_ms("ping_interval_ms", raw.ping_interval_ms, 1)
                .map_err(|message| invalid(0, message))?,
            ping_timeout: bounded_ms("ping_timeout_ms", raw.ping_timeout_ms, 1)
                .map_err(|message| invalid(0, message))?,
            pace: bounded_ms("pace_ms", raw.pace_ms, 0).map_err(|message| invalid(0, message))?,
        })
    }

    /// Checks every target against the session's servers (name to
    /// transport) and every action against its target.
    ///
    /// # Errors
    ///
    /// [`PlanError::Invalid`] at the fault's `target`.
    pub fn check(&self, servers: &BTreeMap<String, TransportKind>) -> Result<(), PlanError> {
        for fault in &self.faults {
            let invalid = |message: String| PlanError::Invalid {
                location: fault.location.clone(),
                message,
            };
            let reaches: Vec<Reach> = match &fault.target {
                Target::Server(name) => match servers.get(name) {
                    Some(kind) => vec![Reach::of(*kind)],
                    None => {
                        return Err(invalid(format!(
                            "target {name:?} is not a configured MCP server (nor stdio, streamable_http, sse, model or sandbox)"
                        )));
                    }
                },
                Target::Kind(kind) => vec![Reach::of(*kind)],
                Target::Model => vec![Reach::Model],
                Target::Sandbox => vec![Reach::Sandbox],
            };
            if let Some(reach) = reaches.iter().find(|reach| !fault.action.fits(**reach)) {
                let what = match reach {
                    Reach::Stdio => "a stdio server",
                    Reach::Http => "an HTTP server",
                    Reach::Sse => "a legacy SSE server",
                    Reach::Model => "the model",
                    Reach::Sandbox => "the sandbox",
                };
                return Err(invalid(format!(
                    "action {:?} does not apply to {what} ({})",
                    fault.action.name(),
                    fault.target
                )));
            }
        }
        for item in &self.workload {
            if let WorkItem::Tool {
                server, location, ..
            } = item
                && !servers.contains_key(server)
            {
                return Err(PlanError::Invalid {
                    location: location.clone(),
                    message: format!("workload server {server:?} is not a configured MCP server"),
                });
            }
        }
        Ok(())
    }
}

/// `value` milliseconds when it is from `min` to [`MAX_DELAY_MS`].
fn bounded_ms(key: &str, value: Option<u64>, min: u64) -> Result<Option<Duration>, String> {
    match value {
        None => Ok(None),
        Some(ms) if (min..=MAX_DELAY_MS).contains(&ms) => Ok(Some(Duration::from_millis(ms))),
        Some(ms) => Err(format!(
            "`{key}` = {ms} is out of range ({min} to {MAX_DELAY_MS})"
        )),
    }
}

fn planned(fault: RawFault, at: &dyn Fn(usize) -> String) -> Result<PlannedFault, PlanError> {
    let invalid = |offset: usize, message: String| PlanError::Invalid {
        location: at(offset),
        message,
    };
    let target_at = fault.target.span().start;
    let target = match fault.target.get_ref().as_str() {
        "stdio" => Target::Kind(TransportKind::Stdio),
        "streamable_http" => Target::Kind(TransportKind::StreamableHttp),
        "sse" => Target::Kind(TransportKind::Sse),
        "model" => Target::Model,
        "sandbox" => Target::Sandbox,
        "" => return Err(invalid(target_at, "`target` is empty".to_owned())),
        name => Target::Server(name.to_owned()),
    };
    let when_at = fault.when.span().start;
    let when = fault.when.into_inner();
    let triggers = [
        when.every_calls.map(Trigger::EveryCalls),
        when.after_calls.map(Trigger::AfterCalls),
        when.at_ms.map(Trigger::AtMs),
        when.probability.map(Trigger::Probability),
    ];
    let mut given = triggers.into_iter().flatten();
    let when = match (given.next(), given.next()) {
        (Some(trigger), None) => trigger,
        _ => {
            return Err(invalid(
                when_at,
                "`when` needs exactly one of every_calls, after_calls, at_ms, probability"
                    .to_owned(),
            ));
        }
    };
    match when {
        Trigger::EveryCalls(0) => {
            return Err(invalid(
                when_at,
                "`every_calls` must be at least 1".to_owned(),
            ));
        }
        Trigger::AtMs(ms) if ms > MAX_AT_MS => {
            return Err(invalid(
                when_at,
                format!("`at_ms` = {ms} is out of range (0 to {MAX_AT_MS}, a week)"),
            ));
        }
        Trigger::Probability(p) if !(0.0..=1.0).contains(&p) => {
            return Err(invalid(
                when_at,
                "`probability` must be between 0 and 1".to_owned(),
            ));
        }
        _ => {}
    }

    let action_at = fault.action.span().start;
    let name = fault.action.get_ref().as_str();
    // Which parameters the action takes.
    let takes: &[&str] = match name {
        "kill" => &["signal"],
        "delay" | "slow_start" => &["delay_ms"],
        "http_status" => &["status", "retry_after_s"],
        "stderr_flood" => &["bytes"],
        _ => &[],
    };
    let given: [(&str, Option<usize>); 5] = [
        ("signal", fault.signal.as_ref().map(|v| v.span().start)),
        ("delay_ms", fault.delay_ms.as_ref().map(|v| v.span().start)),
        ("status", fault.status.as_ref().map(|v| v.span().start)),
        (
            "retry_after_s",
            fault.retry_after_s.as_ref().map(|v| v.span().start),
        ),
        ("bytes", fault.bytes.as_ref().map(|v| v.span().start)),
    ];
    for (key, offset) in given {
        if let Some(offset) = offset
            && !takes.contains(&key)
        {
            return Err(invalid(offset, format!("action {name:?} takes no `{key}`")));
        }
    }
    let too_long = |ms: u64| ms > MAX_DELAY_MS;
    let delay = |required: bool| -> Result<Option<(Duration, Duration)>, PlanError> {
        match &fault.delay_ms {
            Some(spanned) => match spanned.get_ref() {
                DelayMs::Fixed(ms) | DelayMs::Range([_, ms]) if too_long(*ms) => Err(invalid(
                    spanned.span().start,
                    format!("`delay_ms` is at most {MAX_DELAY_MS} (an hour)"),
                )),
                DelayMs::Fixed(ms) => Ok(Some((
                    Duration::from_millis(*ms),
                    Duration::from_millis(*ms),
                ))),
                DelayMs::Range([low, high]) if low <= high => Ok(Some((
                    Duration::from_millis(*low),
                    Duration::from_millis(*high),
                ))),
                DelayMs::Range(_) => Err(invalid(
                    spanned.span().start,
                    "`delay_ms = [low, high]` needs low <= high".to_owned(),
                )),
            },
            None if required => Err(invalid(
                action_at,
                format!("action {name:?} needs `delay_ms`"),
            )),
            None => Ok(None),
        }
    };
    let action = match name {
        "kill" => {
            let signal = match &fault.signal {
                Some(signal) => signal_number(signal.get_ref()).ok_or_else(|| {
                    invalid(
                        signal.span().start,
                        format!("unknown signal {:?}", signal.get_ref()),
                    )
                })?,
                None => signal_number("KILL").unwrap_or(9),
            };
            Action::Process(ProcessFault::Kill { signal })
        }
        "hang" if target == Target::Sandbox => Action::SandboxHang,
        "hang" => Action::Process(ProcessFault::Hang),
        "exit" => Action::Process(ProcessFault::Exit),
        "stderr_flood" => {
            let bytes = match &fault.bytes {
                Some(b) if *b.get_ref() > MAX_FLOOD => {
                    return Err(invalid(
                        b.span().start,
                        format!("`bytes` is at most {MAX_FLOOD}"),
                    ));
                }
                Some(b) => usize::try_from(*b.get_ref()).unwrap_or(FLOOD_BYTES),
                None => FLOOD_BYTES,
            };
            Action::Process(ProcessFault::StderrFlood { bytes })
        }
        "slow_start" => {
            let (min, _) = delay(true)?.unwrap_or_default();
            Action::SlowStart(min)
        }
        "delay" => {
            let (min, max) = delay(true)?.unwrap_or_default();
            Action::Delay { min, max }
        }
        "drop" => Action::Message(Fault::Drop),
        "corrupt" => Action::Message(Fault::Corrupt),
        "garbage_line" => Action::Message(Fault::GarbageLine),
        "close" => Action::Message(Fault::Close),
        "oversize" => Action::Message(Fault::Oversize),
        "http_status" => {
            let status = fault.status.map_or(500, Spanned::into_inner);
            if !(100..=599).contains(&status) {
                return Err(invalid(
                    action_at,
                    format!("status {status} is not an HTTP status"),
                ));
            }
            let retry_after = match fault.retry_after_s {
                Some(secs) if *secs.get_ref() > MAX_RETRY_AFTER_S => {
                    return Err(invalid(
                        secs.span().start,
                        format!(
                            "`retry_after_s` = {} is out of range (0 to {MAX_RETRY_AFTER_S})",
                            secs.get_ref()
                        ),
                    ));
                }
                other => other.map(Spanned::into_inner),
            };
            Action::Message(Fault::HttpStatus {
                status,
                retry_after,
            })
        }
        "reset" => Action::Message(Fault::Reset),
        "truncate" => Action::Message(Fault::Truncate),
        "stall" => Action::Message(Fault::Stall),
        other => {
            return Err(invalid(
                action_at,
                format!(
                    "unknown action {other:?} (expected kill, hang, slow_start, exit, stderr_flood, \
                     delay, drop, corrupt, garbage_line, close, oversize, http_status, reset, \
                     truncate or stall)"
                ),
            ));
        }
    };
    Ok(PlannedFault {
        target,
        when,
        action,
        location: at(target_at),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn servers() -> BTreeMap<String, TransportKind> {
        BTreeMap::from([
            ("mini".to_owned(), TransportKind::Stdio),
            ("web".to_owned(), TransportKind::StreamableHttp),
            ("old".to_owned(), TransportKind::Sse),
        ])
    }

    #[test]
    fn the_documented_plan_parses() {
        let plan = FaultPlan::parse(
            "plan.toml",
            r#"
seed = 1234
[[workload]]
server = "mini"
tool = "echo"
args = { text = "hi" }
[[workload]]
command = ["echo", "hi"]
timeout_ms = 500
[[fault]]
target = "mini"
when = { every_calls = 40 }
action = "kill"
signal = "TERM"
[[fault]]
target = "web"
when = { probability = 0.02 }
action = "http_status"
status = 429
retry_after_s = 1
[[fault]]
target = "stdio"
when = { at_ms = 100 }
action = "delay"
delay_ms = [5, 50]
[[fault]]
target = "sandbox"
when = { after_calls = 3 }
action = "hang"
"#,
        )
        .expect("parses");
        plan.check(&servers()).expect("fits");
        assert_eq!(plan.seed, 1234);
        assert_eq!(plan.workload.len(), 2);
        assert_eq!(
            plan.faults
                .iter()
                .map(|f| f.action.clone())
                .collect::<Vec<_>>(),
            vec![
                Action::Process(ProcessFault::Kill { signal: 15 }),
                Action::Message(Fault::HttpStatus {
                    status: 429,
                    retry_after: Some(1)
                }),
                Action::Delay {
                    min: Duration::from_millis(5),
                    max: Duration::from_millis(50)
                },
                Action::SandboxHang,
            ]
        );
        assert_eq!(plan.faults[1].when, Trigger::Probability(0.02));
    }

    fn error(text: &str) -> String {
        match FaultPlan::parse("p.toml", text) {
            Ok(plan) => plan
                .check(&servers())
                .map(|()| "ok".to_owned())
                .unwrap_or_else(|err| err.to_string()),
            Err(err) => err.to_string(),
        }
    }

    #[test]
    fn mistakes_are_located() {
        let fault = |body: &str| {
            format!(
                "seed = 1\n[[fault]]\ntarget = \"mini\"\nwhen = {{ every_calls = 2 }}\n{body}\n"
            )
        };
        assert_eq!(
            error(&fault("action = \"explode\"")),
            "p.toml:5:10: unknown action \"explode\" (expected kill, hang, slow_start, exit, stderr_flood, delay, drop, corrupt, garbage_line, close, oversize, http_status, reset, truncate or stall)"
        );
        assert_eq!(
            error(&fault("action = \"drop\"\nsignal = \"KILL\"")),
            "p.toml:6:10: action \"drop\" takes no `signal`"
        );
        assert!(
            error(&fault("action = \"drop\"\ncolour = 1"))
                .starts_with("p.toml:6:1: unknown field `colour`"),
            "{}",
            error(&fault("action = \"drop\"\ncolour = 1"))
        );
        assert_eq!(
            error(&fault("action = \"kill\"\nsignal = \"BOOM\"")),
            "p.toml:6:10: unknown signal \"BOOM\""
        );
        assert_eq!(
            error(&fault("action = \"reset\"")),
            "p.toml:3:10: action \"reset\" does not apply to a stdio server (mini)"
        );
        assert_eq!(
            error("[[fault]]\ntarget = \"nope\"\nwhen = { every_calls = 1 }\naction = \"drop\"\n"),
            "p.toml:2:10: target \"nope\" is not a configured MCP server (nor stdio, streamable_http, sse, model or sandbox)"
        );
        assert_eq!(
            error(
                "[[fault]]\ntarget = \"web\"\nwhen = { every_calls = 1, at_ms = 3 }\naction = \"drop\"\n"
            ),
            "p.toml:3:8: `when` needs exactly one of every_calls, after_calls, at_ms, probability"
        );
        assert_eq!(
            error("[[fault]]\ntarget = \"web\"\nwhen = { every_calls = 1 }\naction = \"kill\"\n"),
            "p.toml:2:10: action \"kill\" does not apply to an HTTP server (web)"
        );
        assert_eq!(
            error(&fault("action = \"delay\"\ndelay_ms = [1, 99999999999]")),
            "p.toml:6:12: `delay_ms` is at most 3600000 (an hour)"
        );
        assert_eq!(
            error(
                "[[fault]]\ntarget = \"old\"\nwhen = { every_calls = 1 }\naction = \"corrupt\"\n"
            ),
            "p.toml:2:10: action \"corrupt\" does not apply to a legacy SSE server (old)"
        );
        assert_eq!(
            error(
                "[[fault]]\ntarget = \"old\"\nwhen = { every_calls = 1 }\naction = \"http_status\"\n"
            ),
            "ok"
        );
        assert_eq!(
            error("seed = \"x\""),
            "p.toml:1:8: invalid type: string \"x\", expected u64"
        );
    }
}
