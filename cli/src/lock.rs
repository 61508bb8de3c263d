//! `codex mcp lock [NAME...]`: pins the tool definitions of the admitted
//! servers in `$CODEX_HOME/mcp-tools.lock`.
//!
//! The servers start in a real session, admitted like any other, with
//! locks ignored so that every tool is seen as it is now. Pins of servers
//! that were not named, or that did not start, are kept as they were: the
//! command only ever replaces what it has just observed.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;

use codex_actors::policy::{LOCK_FILE, LockOrigin, LockedTool, ToolLock};
use codex_actors::session::{ServerState, ServerStatus, Session};

use crate::args::{ConfigOverrides, LockArgs};
use crate::context;
use crate::error::CliError;
use crate::output;
use crate::session::{preloaded, session_options, wait_with_progress};
use crate::terminal;

type Pins = BTreeMap<String, BTreeMap<String, LockedTool>>;

pub(crate) fn lock(overrides: &ConfigOverrides, args: &LockArgs) -> Result<(), CliError> {
    let loaded = context::load(overrides)?;
    for name in &args.names {
        let Some(server) = loaded.effective.mcp_servers.get().get(name) else {
            return Err(CliError::UnknownServer { name: name.clone() });
        };
        if !server.admission.is_allowed() {
            return Err(CliError::ServerNotAdmitted {
                server: name.clone(),
                status: output::status(server),
            });
        }
    }
    let path = loaded.codex_home.join(LOCK_FILE);
    let previous = ToolLock::load(LockOrigin::User {
        path: path.clone(),
        allow_new: false,
    })?;
    if let Some(admin) = loaded
        .requirements
        .layers
        .iter()
        .find_map(|layer| layer.tools_lock.as_ref())
    {
        terminal::err(&format!(
            "warning: requirements set mcp_tools_lock = {}; sessions use that lock, not the one written here",
            admin.display()
        ));
    }
    let mut options = session_options(overrides, args.names.clone())?;
    options.tool_locks = false;
    let preloaded = preloaded(loaded);
    let statuses = codex_runtime::block_on(move || async move {
        let session = Session::start(options, Some(preloaded)).await?;
        // A required server that failed is reported below with the rest;
        // the others are still worth pinning.
        let _ = wait_with_progress(&session).await;
        let statuses = session.statuses().await;
        session.shutdown().await;
        crate::session::warn_audit_drops(&session);
        Ok::<_, CliError>(statuses?)
    })??;

    let before: Pins = previous
        .as_ref()
        .map(|lock| lock.servers().clone())
        .unwrap_or_default();
    let mut pins = before.clone();
    let mut lines = Vec::new();
    let mut failed = 0;
    let mut admitted = 0;
    for status in &statuses {
        match &status.state {
            ServerState::Ready { .. } => {
                admitted += 1;
                let now = observed(status);
                lines.push(summary(&status.name, before.get(&status.name), &now));
                pins.insert(status.name.clone(), now);
            }
            ServerState::Disabled(_) => {}
            ServerState::Failed(reason)
            | ServerState::Restarting {
                last_failure: reason,
            } => {
                admitted += 1;
                failed += 1;
                lines.push(format!(
                    "{}: not pinned, it did not start ({}); its previous pins are kept",
                    status.name,
                    reason.lines().next().unwrap_or(reason)
                ));
            }
            ServerState::Lazy => {
                admitted += 1;
                failed += 1;
                lines.push(format!(
                    "{}: not pinned, it was not started; its previous pins are kept",
                    status.name
                ));
            }
            ServerState::Starting => {
                admitted += 1;
                failed += 1;
                lines.push(format!("{}: not pinned, it is still starting", status.name));
            }
        }
    }
    if pins != before || previous.is_none() {
        write_atomically(&path, &codex_actors::policy::render_lock(&pins))?;
        lines.push(format!("Wrote {}", path.display()));
    } else {
        lines.push(format!("{} is up to date", path.display()));
    }
    // One shown line each: tool names come from the servers.
    terminal::out_lines(&lines)?;
    if failed == 0 {
        Ok(())
    } else {
        Err(CliError::ServersFailed {
            failed,
            total: admitted,
        })
    }
}

/// The pins of what `status` lists now.
fn observed(status: &ServerStatus) -> BTreeMap<String, LockedTool> {
    status
        .tools
        .iter()
        .map(|tool| (tool.name.clone(), LockedTool::pin(&tool.definition)))
        .collect()
}

/// `NAME: N tools pinned (1 new: a; 1 changed: b; 1 removed: c)`.
fn summary(
    server: &str,
    before: Option<&BTreeMap<String, LockedTool>>,
    now: &BTreeMap<String, LockedTool>,
) -> String {
    let mut line = format!(
        "{server}: {} tool{} pinned",
        now.len(),
        if now.len() == 1 { "" } else { "s" }
    );
    let Some(before) = before else {
        return line;
    };
    let pick = |names: Vec<&String>, what: &str| {
        (!names.is_empty()).then(|| {
            let names: Vec<&str> = names.into_iter().map(String::as_str).collect();
            format!("{} {what}: {}", names.len(), names.join(", "))
        })
    };
    let changes: Vec<String> = [
        pick(
            now.keys().filter(|k| !before.contains_key(*k)).collect(),
            "new",
        ),
        pick(
            now.iter()
                .filter(|(k, pin)| before.get(*k).is_some_and(|old| old.sha256 != pin.sha256))
                .map(|(k, _)| k)
                .collect(),
            "changed",
        ),
        pick(
            before.keys().filter(|k| !now.contains_key(*k)).collect(),
            "removed",
        ),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !changes.is_empty() {
        line.push_str(&format!(" ({})", changes.join("; ")));
    }
    line
}

/// Writes `text` to a fresh temporary file beside `path` and renames it
/// over `path`, so a reader never sees half a lock.
fn write_atomically(path: &Path, text: &str) -> Result<(), CliError> {
    let failed = |source| CliError::WriteFile {
        path: path.to_owned(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(failed)?;
    // Readable by others, as a plain write would leave it: it holds no
    // secret, and reviewers or an admin may read it.
    let mut temporary = tempfile::Builder::new()
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644))
        .tempfile_in(dir)
        .map_err(failed)?;
    temporary.write_all(text.as_bytes()).map_err(failed)?;
    temporary.persist(path).map_err(|err| failed(err.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pins(tools: &[(&str, &str)]) -> BTreeMap<String, LockedTool> {
        tools
            .iter()
            .map(|(name, description)| {
                (
                    (*name).to_owned(),
                    LockedTool::pin(&json!({"name": name, "description": description})),
                )
            })
            .collect()
    }

    #[test]
    fn the_summary_names_what_moved() {
        let before = pins(&[("a", "A"), ("b", "B"), ("c", "C")]);
        let now = pins(&[("a", "A"), ("b", "B2"), ("d", "D")]);
        assert_eq!(
            summary("srv", Some(&before), &now),
            "srv: 3 tools pinned (1 new: d; 1 changed: b; 1 removed: c)"
        );
        assert_eq!(summary("srv", Some(&now), &now), "srv: 3 tools pinned");
        assert_eq!(
            summary("srv", None, &pins(&[("a", "A")])),
            "srv: 1 tool pinned"
        );
    }
}
