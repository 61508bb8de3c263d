//! Hot reload as a pure function: given what runs and what the new
//! configuration admits, decide what to stop and what to start, and record
//! an audit event for every decision.

use std::collections::BTreeMap;

use codex_transports::Identity;

use super::{Admission, DisabledReason, McpServers};
use crate::config::McpServerConfig;

/// What the session must do to match a new snapshot.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// Running servers to stop (no longer admitted, removed, or changed),
    /// with why.
    pub stop: Vec<(String, StopReason)>,
    /// Servers to start: newly admitted, or changed (after their stop).
    pub start: Vec<String>,
}

/// Why a server does not run (any more).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// Policy or the user disabled it.
    Disabled(DisabledReason),
    /// It is no longer configured.
    Removed,
    /// Its configuration changed; it is started again with the new one,
    /// which was admitted afresh.
    Changed,
}

impl StopReason {
    /// Whether the user's own `enabled = false` is the reason (shown as a
    /// bare `disabled`, as Codex does).
    pub fn is_by_user(&self) -> bool {
        matches!(self, StopReason::Disabled(DisabledReason::ByUser))
    }
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StopReason::Disabled(reason) => write!(f, "{reason}"),
            StopReason::Removed => f.write_str("removed from config"),
            StopReason::Changed => f.write_str("config changed"),
        }
    }
}

/// One admission decision, for the audit log. URLs are canonical with
/// userinfo removed and query values redacted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// The server.
    pub server: String,
    /// `stdio command args` or the redacted URL.
    pub identity: String,
    /// Whether it may run.
    pub allowed: bool,
    /// The rules that admitted it, or the reason it is disabled.
    pub detail: String,
    /// The requirements sources that decided (the disabling layer, or the
    /// layers whose entries admitted it); empty when none did.
    pub sources: Vec<String>,
}

/// Compares `running` (name → config of each running server) with `next`
/// and plans the difference. Deterministic: names are visited in order.
pub fn plan(running: &BTreeMap<String, McpServerConfig>, next: &McpServers) -> Plan {
    let mut plan = Plan::default();
    for (name, config) in running {
        match next.get(name) {
            None => plan.stop.push((name.clone(), StopReason::Removed)),
            Some(server) => match &server.admission {
                Admission::Disabled(reason) => plan
                    .stop
                    .push((name.clone(), StopReason::Disabled(reason.clone()))),
                Admission::Allowed { .. } if &server.config != config => {
                    plan.stop.push((name.clone(), StopReason::Changed));
                    plan.start.push(name.clone());
                }
                Admission::Allowed { .. } => {}
            },
        }
    }
    for (name, server) in next {
        if server.admission.is_allowed() && !running.contains_key(name) {
            plan.start.push(name.clone());
        }
    }
    plan.start.sort();
    plan
}

/// The audit events for every server in `servers`.
pub fn audit(servers: &McpServers) -> Vec<AuditEvent> {
    servers
        .iter()
        .map(|(name, server)| {
            let identity = match server.config.transport.identity() {
                Identity::Command(stdio) => {
                    format!("stdio {:?} {:?}", stdio.command, stdio.args)
                }
                Identity::Url(url) => {
                    format!("{} {}", server.config.transport.kind(), url.redacted())
                }
            };
            let (allowed, detail, sources) = match &server.admission {
                Admission::Allowed { matched, .. } if matched.is_empty() => {
                    (true, "no allowlist applies".to_owned(), Vec::new())
                }
                Admission::Allowed { matched, .. } => (
                    true,
                    matched
                        .iter()
                        .map(|m| format!("{} ({})", m.rule, m.source))
                        .collect::<Vec<_>>()
                        .join(", "),
                    matched.iter().map(|m| m.source.to_string()).collect(),
                ),
                Admission::Disabled(reason) => {
                    let sources = match reason {
                        DisabledReason::Requirements { source, .. } => vec![source.to_string()],
                        DisabledReason::ByUser | DisabledReason::NotLoaded => Vec::new(),
                    };
                    (false, reason.to_string(), sources)
                }
            };
            AuditEvent {
                server: name.clone(),
                identity,
                allowed,
                detail,
                sources,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Origin, resolve_server};
    use crate::policy::{RequirementSource, Requirements, constrain_servers, parse_requirements};
    use expect_test::{Expect, expect};

    fn servers(config: &str, requirements: &str) -> McpServers {
        let table: toml::Table = config.parse().expect("toml");
        let map = table
            .iter()
            .map(|(name, value)| (name.clone(), resolve_server(name, value).expect("server").0))
            .collect();
        let mut reqs = Requirements::none();
        if !requirements.is_empty() {
            let (layer, _) = parse_requirements(
                RequirementSource::EnvBase64,
                Origin::EnvVar("test"),
                requirements,
            )
            .expect("requirements");
            reqs.push(layer);
        }
        let ctx = crate::policy::LaunchContext {
            cwd: "/".into(),
            env: Default::default(),
        };
        constrain_servers(&map, &reqs, &ctx).into_inner()
    }

    fn running(servers: &McpServers) -> BTreeMap<String, McpServerConfig> {
        servers
            .iter()
            .filter(|(_, s)| s.admission.is_allowed())
            .map(|(n, s)| (n.clone(), s.config.clone()))
            .collect()
    }

    #[track_caller]
    fn check(before: (&str, &str), after: (&str, &str), expect: Expect) {
        let now = running(&servers(before.0, before.1));
        let plan = plan(&now, &servers(after.0, after.1));
        expect.assert_debug_eq(&plan);
    }

    const TWO: &str = "[a]\ncommand = \"a\"\n[b]\ncommand = \"b\"\n";

    #[test]
    fn tightening_stops_and_relaxing_starts() {
        let only_a = "[mcp_server_allowlist.a]\ncommand = \"a\"\n";
        check(
            (TWO, ""),
            (TWO, only_a),
            expect![[r#"
                Plan {
                    stop: [
                        (
                            "b",
                            Disabled(
                                Requirements {
                                    source: EnvBase64,
                                    cause: NotInAllowlist {
                                        name: "b",
                                    },
                                },
                            ),
                        ),
                    ],
                    start: [],
                }
            "#]],
        );
        check(
            (TWO, only_a),
            (TWO, ""),
            expect![[r#"
                Plan {
                    stop: [],
                    start: [
                        "b",
                    ],
                }
            "#]],
        );
    }

    #[test]
    fn changed_command_restarts_and_is_admitted_again() {
        let allow_a = "[mcp_server_allowlist.a]\ncommand = \"a\"\n";
        check(
            (TWO, ""),
            ("[a]\ncommand = \"a2\"\n[b]\ncommand = \"b\"\n", ""),
            expect![[r#"
                Plan {
                    stop: [
                        (
                            "a",
                            Changed,
                        ),
                    ],
                    start: [
                        "a",
                    ],
                }
            "#]],
        );
        // A rename of the command under an allowlist is refused at runtime.
        check(
            ("[a]\ncommand = \"a\"\n", allow_a),
            ("[a]\ncommand = \"/tmp/evil\"\n", allow_a),
            expect![[r#"
                Plan {
                    stop: [
                        (
                            "a",
                            Disabled(
                                Requirements {
                                    source: EnvBase64,
                                    cause: CommandMismatch {
                                        allowed: "a",
                                        actual: "/tmp/evil",
                                    },
                                },
                            ),
                        ),
                    ],
                    start: [],
                }
            "#]],
        );
    }

    #[test]
    fn audit_redacts_urls() {
        let events = audit(&servers(
            "[w]\nurl = \"https://u:p@h/mcp?token=secret\"\n",
            "[mcp_server_allowlist.w]\nurl = \"https://h/mcp?token=secret\"\n",
        ));
        let text = format!("{events:?}");
        assert!(!text.contains("secret"), "{text}");
        assert!(!text.contains("u:p"), "{text}");
        assert!(!events[0].allowed);
    }
}
