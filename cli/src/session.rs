//! `codex mcp tools` and `codex mcp call`: commands that start a real,
//! supervised session with the configured servers.
//!
//! Both go through the session, so every server they reach was admitted by
//! the policy first. Progress goes to stderr (only on a terminal); results
//! go to stdout.

use std::io::IsTerminal as _;

use codex_actors::mcp_server::Timing;
use codex_actors::policy::{Withheld, WithheldTool};
use codex_actors::session::{
    DEFAULT_WATCH_DEBOUNCE, Preloaded, QualifiedTool, ServerState, ServerStatus, Session,
    SessionOptions,
};
use serde_json::{Value, json};

use crate::args::{CallArgs, ConfigOverrides, ToolsArgs};
use crate::context;
use crate::error::CliError;
use crate::output;
use crate::terminal;

pub(crate) fn tools(overrides: &ConfigOverrides, args: &ToolsArgs) -> Result<(), CliError> {
    let loaded = context::load(overrides)?;
    if let Some(name) = &args.name
        && !loaded.effective.mcp_servers.get().contains_key(name)
    {
        return Err(CliError::UnknownServer { name: name.clone() });
    }
    let options = session_options(overrides, args.name.iter().cloned().collect())?;
    let preloaded = preloaded(loaded);
    let json = args.json;
    codex_runtime::block_on(move || async move {
        let session = Session::start(options, Some(preloaded)).await?;
        let startup = wait_with_progress(&session).await;
        let statuses = session.statuses().await;
        let tools = session.tools().await;
        session.shutdown().await;
        warn_audit_drops(&session);
        let statuses = statuses?;
        let tools = tools?;
        print_tools(&statuses, &tools, json)?;
        startup?;
        let admitted: Vec<&ServerStatus> = statuses
            .iter()
            .filter(|s| !matches!(s.state, ServerState::Disabled(_)))
            .collect();
        let failed = admitted
            .iter()
            .filter(|s| !matches!(s.state, ServerState::Ready { .. } | ServerState::Lazy))
            .count();
        if failed == 0 {
            Ok(())
        } else {
            Err(CliError::ServersFailed {
                failed,
                total: admitted.len(),
            })
        }
    })?
}

pub(crate) fn call(overrides: &ConfigOverrides, args: CallArgs) -> Result<(), CliError> {
    let loaded = context::load(overrides)?;
    let Some(server) = loaded.effective.mcp_servers.get().get(&args.server) else {
        return Err(CliError::UnknownServer { name: args.server });
    };
    if !server.admission.is_allowed() {
        return Err(CliError::ServerNotAdmitted {
            server: args.server,
            status: output::status(server),
        });
    }
    let options = session_options(overrides, vec![args.server.clone()])?;
    let preloaded = preloaded(loaded);
    codex_runtime::block_on(move || async move {
        let session = Session::start(options, Some(preloaded)).await?;
        let startup = wait_with_progress(&session).await;
        let result = match startup {
            Ok(()) => 'call: {
                // The one server asked for did not start: say why, rather
                // than that it is not connected.
                let statuses = session.statuses().await.unwrap_or_default();
                if let Some(reason) = statuses
                    .iter()
                    .find(|status| status.name == args.server)
                    .and_then(|status| match &status.state {
                        ServerState::Failed(reason)
                        | ServerState::Restarting {
                            last_failure: reason,
                        } => Some(reason.clone()),
                        _ => None,
                    })
                {
                    break 'call Err(CliError::ServerDidNotStart {
                        server: args.server.clone(),
                        reason,
                    });
                }
                let tool = tool_name(&session, &args.server, &args.tool).await;
                match session.call(&args.server, &tool, args.args).await {
                    Err(codex_actors::mcp_server::ToolCallError::UnknownTool { .. }) => {
                        Err(unknown_tool(&session, &args.server, &args.tool).await)
                    }
                    other => other.map_err(CliError::from),
                }
            }
            Err(err) => Err(err),
        };
        session.shutdown().await;
        warn_audit_drops(&session);
        let result = result?;
        if args.json {
            let value = serde_json::to_value(&result).unwrap_or(Value::Null);
            terminal::out_json(&serde_json::to_string_pretty(&value).unwrap_or_default())?;
        } else {
            for block in &result.content {
                let text = match block.as_text() {
                    Some(text) => text.text.clone(),
                    None => serde_json::to_string(block).unwrap_or_default(),
                };
                // The tool's bytes as they are only when asked for.
                if args.raw_text {
                    terminal::out_raw(format!("{text}\n").as_bytes())?;
                } else {
                    terminal::out(&text)?;
                }
            }
        }
        if result.is_error == Some(true) {
            return Err(CliError::ToolReturnedError {
                server: args.server,
                tool: args.tool,
            });
        }
        Ok(())
    })?
}

/// The MCP name of the tool `asked` names on `server`: its own name, or
/// the qualified name `mcp tools` prints (`mcp__server__tool`).
async fn tool_name(session: &Session, server: &str, asked: &str) -> String {
    let qualified = session.tools().await.unwrap_or_default();
    qualified
        .into_iter()
        .find(|q| q.server == server && q.qualified == asked && q.tool != asked)
        .map_or_else(|| asked.to_owned(), |q| q.tool)
}

/// A tool the server does not list: the error lists what it does, and a
/// close name when there is one.
async fn unknown_tool(session: &Session, server: &str, asked: &str) -> CliError {
    let statuses = session.statuses().await.unwrap_or_default();
    let names: Vec<String> = statuses
        .iter()
        .find(|s| s.name == server)
        .map(|s| s.tools.iter().map(|t| t.name.clone()).collect())
        .unwrap_or_default();
    let closest = names
        .iter()
        .map(|name| (strsim::damerau_levenshtein(asked, name), name))
        .min();
    // The names are the server's: each shown on one line, escaped and cut,
    // and no more of them than a reader takes in.
    let hint = match closest {
        Some((distance, name)) if distance <= 3 => {
            format!(" Did you mean `{}`?", terminal::cell(name))
        }
        _ => String::new(),
    };
    let mut known: Vec<String> = names
        .iter()
        .take(MAX_LISTED_TOOLS)
        .map(|name| terminal::cell(name).into_owned())
        .collect();
    if names.len() > MAX_LISTED_TOOLS {
        known.push(format!("and {} more", names.len() - MAX_LISTED_TOOLS));
    }
    CliError::UnknownTool {
        server: server.to_owned(),
        tool: terminal::line(asked).into_owned(),
        known: known.join(", "),
        hint,
    }
}

/// How many of a server's tools an unknown-tool error lists.
const MAX_LISTED_TOOLS: usize = 30;

/// What `context::load` read and admitted, handed to the session so it
/// neither reads the files again nor admits anything twice.
pub(crate) fn preloaded(loaded: context::Loaded) -> Preloaded {
    Preloaded {
        servers: loaded.effective.mcp_servers.into_inner(),
        requirements: loaded.requirements,
        tools_lock_allows_new: loaded.config.tools_lock_allows_new,
    }
}

pub(crate) fn session_options(
    overrides: &ConfigOverrides,
    only: Vec<String>,
) -> Result<SessionOptions, CliError> {
    let cwd = std::env::current_dir().map_err(|source| CliError::Cwd { source })?;
    session_options_at(overrides, &cwd, only)
}

/// Session options for a session working in `cwd`.
pub(crate) fn session_options_at(
    overrides: &ConfigOverrides,
    cwd: &std::path::Path,
    only: Vec<String>,
) -> Result<SessionOptions, CliError> {
    let cwd = cwd.to_owned();
    Ok(SessionOptions {
        codex_home: context::codex_home()?,
        requirements: context::requirement_sources(),
        cwd,
        overrides: overrides.parse()?,
        user_config: !overrides.ignore_user_config,
        strict_config: overrides.strict_config,
        env: context::process_env(),
        timing: Timing::default(),
        only,
        sandbox_launcher: std::env::current_exe()
            .ok()
            .map(|exe| codex_sandbox::SandboxLauncher::new(exe, crate::sandbox::HELPER_ARGS)),
        tool_locks: true,
        transports: None,
        watch_debounce: DEFAULT_WATCH_DEBOUNCE,
    })
}

/// How long a running session lets a changed file be quiet before reading
/// it again: `watch_debounce_ms` in config.
pub(crate) fn watch_debounce(loaded: &context::Loaded) -> std::time::Duration {
    loaded
        .config
        .watch_debounce
        .unwrap_or(DEFAULT_WATCH_DEBOUNCE)
}

/// Waits for every server's first attempt (each bounded by its startup
/// timeout; a one-shot command reports a server that failed it rather
/// than wait for restarts), then fails if a `required` one failed. On a
/// terminal, a wait longer than [`PATIENCE`] names the servers it waits
/// for, once (the results follow on stdout).
pub(crate) async fn wait_with_progress(session: &Session) -> Result<(), CliError> {
    let show = std::io::stderr().is_terminal();
    let wait = async {
        let statuses = session.wait_first_attempts().await?;
        let failed: Vec<String> = statuses
            .iter()
            .filter(|s| s.required)
            .filter_map(|s| match &s.state {
                ServerState::Failed(reason)
                | ServerState::Restarting {
                    last_failure: reason,
                } => Some(format!("{}: {reason}", s.name)),
                _ => None,
            })
            .collect();
        if failed.is_empty() {
            Ok(())
        } else {
            Err(codex_actors::session::SessionError::RequiredFailed(
                failed.join("; "),
            ))
        }
    };
    tokio::pin!(wait);
    let slow = tokio::time::sleep(PATIENCE);
    tokio::pin!(slow);
    let mut announced = !show;
    loop {
        tokio::select! {
            result = &mut wait => return result.map_err(CliError::from),
            () = &mut slow, if !announced => {
                announced = true;
                let waiting: Vec<String> = session
                    .statuses()
                    .await
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|s| s.state.is_pending())
                    .map(|s| s.name)
                    .collect();
                if !waiting.is_empty() {
                    terminal::err(&terminal::line(&format!(
                        "waiting for MCP servers to start (each up to its startup timeout): {}",
                        waiting.join(", ")
                    )));
                }
            }
        }
    }
}

/// How long a start may take before a terminal is told what it waits for.
const PATIENCE: std::time::Duration = std::time::Duration::from_secs(2);

/// The withheld tools a user is shown: a lock's verdicts. Tools an admin
/// forbids are never listed.
fn shown_withheld(status: &ServerStatus) -> impl Iterator<Item = &WithheldTool> {
    status
        .withheld
        .iter()
        .filter(|tool| !matches!(tool.why, Withheld::Forbidden(_)))
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}

fn status_text(state: &ServerState) -> String {
    match state {
        ServerState::Ready { .. } => "ready".to_owned(),
        ServerState::Failed(reason) => format!("failed: {reason}"),
        ServerState::Disabled(reason) if reason.is_by_user() => "disabled".to_owned(),
        ServerState::Disabled(reason) => format!("disabled: {reason}"),
        ServerState::Starting => "starting".to_owned(),
        ServerState::Lazy => {
            "lazy: starts on its first call; tools as pinned by the lock".to_owned()
        }
        ServerState::Restarting { last_failure } => format!("failed: {last_failure}"),
    }
}

fn print_tools(
    statuses: &[ServerStatus],
    tools: &[QualifiedTool],
    json: bool,
) -> Result<(), CliError> {
    let qualified = |server: &str, tool: &str| {
        tools
            .iter()
            .find(|q| q.server == server && q.tool == tool)
            .map(|q| q.qualified.clone())
    };
    if json {
        let items: Vec<Value> = statuses
            .iter()
            .map(|status| {
                let (state, reason, startup) = match &status.state {
                    ServerState::Ready { elapsed } => ("ready", None, Some(elapsed.as_secs_f64())),
                    ServerState::Disabled(reason) => ("disabled", Some(reason.to_string()), None),
                    ServerState::Failed(reason)
                    | ServerState::Restarting {
                        last_failure: reason,
                    } => ("failed", Some(reason.clone()), None),
                    ServerState::Starting => ("starting", None, None),
                    ServerState::Lazy => (
                        "lazy",
                        Some("starts on its first call; tools as pinned by the lock".to_owned()),
                        None,
                    ),
                };
                let tools: Vec<Value> = status
                    .tools
                    .iter()
                    .map(|tool| {
                        json!({
                            "name": tool.name,
                            "qualified_name": qualified(&status.name, &tool.name),
                            "description": tool.description,
                            "input_schema": tool.input_schema,
                        })
                    })
                    .collect();
                let withheld: Vec<Value> = shown_withheld(status)
                    .map(|tool| {
                        let diff = match &tool.why {
                            Withheld::Changed { diff, .. } => Some(diff.clone()),
                            _ => None,
                        };
                        json!({
                            "name": tool.name,
                            "state": tool.why.state(),
                            "reason": tool.why.to_string(),
                            "diff": diff,
                        })
                    })
                    .collect();
                json!({
                    "name": status.name,
                    "status": state,
                    "reason": reason,
                    "protocol_version": status.protocol_version,
                    "startup_sec": startup,
                    "tools": tools,
                    "withheld": withheld,
                })
            })
            .collect();
        terminal::out_json(
            &serde_json::to_string_pretty(&Value::Array(items)).unwrap_or_default(),
        )?;
        return Ok(());
    }
    let mut text = String::new();
    for status in statuses {
        let startup = match &status.state {
            ServerState::Ready { elapsed } => format!(" in {:.2}s", elapsed.as_secs_f64()),
            _ => String::new(),
        };
        // A failure's first line is the status; the rest (a server's
        // stderr) is indented under it, one shown line each.
        let state = status_text(&status.state);
        let mut state_lines = state.lines();
        text.push_str(&format!(
            "{}: {}{startup}\n",
            terminal::line(&status.name),
            terminal::line(state_lines.next().unwrap_or_default())
        ));
        for line in state_lines {
            text.push_str(&format!("    {}\n", terminal::line(line)));
        }
        let names: Vec<String> = status
            .tools
            .iter()
            .map(|tool| qualified(&status.name, &tool.name).unwrap_or_else(|| tool.name.clone()))
            .collect();
        // On a terminal, a description fits what is left of its line.
        let room = terminal::width().map(|width| {
            let name_width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
            width.saturating_sub(name_width + 4).max(20)
        });
        let rows: Vec<Vec<String>> = status
            .tools
            .iter()
            .zip(names)
            .map(|(tool, name)| {
                let description = tool.description.as_deref().map(first_line).unwrap_or("");
                let description = match room {
                    Some(room) => terminal::cut(description, room),
                    None => description.to_owned(),
                };
                vec![name, description]
            })
            .collect();
        if !rows.is_empty() {
            for line in output::table(&["Tool", "Description"], &rows).lines() {
                text.push_str(&format!("  {}\n", line.trim_end()));
            }
        }
        let withheld: Vec<Vec<String>> = shown_withheld(status)
            .map(|tool| {
                let why = match &tool.why {
                    Withheld::Changed { diff, .. } => diff.join("; "),
                    Withheld::Unpinned { lock } => {
                        format!("not in {} (run `codex mcp lock`)", lock.display())
                    }
                    Withheld::Forbidden(refusal) => refusal.to_string(),
                };
                vec![tool.name.clone(), tool.why.state().to_owned(), why]
            })
            .collect();
        if !withheld.is_empty() {
            for line in output::table(&["Withheld", "State", "Why"], &withheld).lines() {
                text.push_str(&format!("  {}\n", line.trim_end()));
            }
        }
    }
    terminal::print(&text)?;
    Ok(())
}

/// Warns on stderr about every audit file that missed lines. Call after
/// [`Session::shutdown`], when the count is final.
pub(crate) fn warn_audit_drops(session: &Session) {
    for report in session.audit_report() {
        terminal::err(&format!(
            "warning: audit log {} could not be written ({}); {} line{} dropped",
            report.path.display(),
            report.last_error,
            report.dropped,
            if report.dropped == 1 {
                " was"
            } else {
                "s were"
            }
        ));
    }
}
