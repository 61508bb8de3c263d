//! What the policy decided, as values: why a server does not run
//! ([`StopReason`]) and one [`AuditEvent`] per admission decision, for the
//! audit log. The policy actor compares full verdicts and records the ones
//! that changed; these are the values it records.

use codex_transports::Identity;

use super::{Admission, DisabledReason, McpServers};

/// Why a server does not run (any more).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// Policy or the user disabled it.
    Disabled(DisabledReason),
    /// It is no longer configured.
    Removed,
    /// Its configuration or the launch admission resolved for it changed;
    /// it is started again with the new one, admitted afresh.
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
            StopReason::Changed => f.write_str("its config or admitted launch changed"),
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
                        DisabledReason::ByUser
                        | DisabledReason::NotLoaded
                        | DisabledReason::InvalidName { .. } => Vec::new(),
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
    use crate::policy::{
        Purpose, RequirementSource, Requirements, constrain_servers, parse_requirements,
    };

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
        constrain_servers(map, &reqs, &ctx, Purpose::Launch).into_inner()
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

    #[test]
    fn an_odd_name_is_disabled_with_a_rename_suggested() {
        let events = audit(&servers("[\"my.server\"]\ncommand = \"x\"\n", ""));
        assert!(!events[0].allowed);
        assert_eq!(
            events[0].detail,
            "invalid server name \"my.server\": names use only letters, digits, '-' and '_' \
             (rename it, for example to \"my_server\")"
        );
    }
}
