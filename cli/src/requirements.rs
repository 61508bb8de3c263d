//! `codex requirements show|explain`: what the admin requires, and why one
//! server is or is not admitted.

use std::io::Write as _;

use codex_actors::config::McpServerConfig;
use codex_actors::policy::{
    Admission, AllowRule, DenyRule, DisabledReason, Requirements, RequirementsLayer, RuleIdentity,
    RuleName, admit,
};
use codex_transports::TransportConfig;
use serde_json::{Value, json};

use crate::args::{ConfigOverrides, ListArgs, NameArgs, RequirementsCommand};
use crate::context::{self, Loaded};
use crate::error::CliError;
use crate::output;

pub(crate) fn run(
    overrides: &ConfigOverrides,
    command: RequirementsCommand,
) -> Result<(), CliError> {
    let loaded = context::load(overrides)?;
    match command {
        RequirementsCommand::Show(args) => show(&loaded, &args),
        RequirementsCommand::Explain(args) => explain(&loaded, &args),
    }
}

fn show(loaded: &Loaded, args: &ListArgs) -> Result<(), CliError> {
    let layers = &loaded.requirements.layers;
    let effective = &loaded.effective;
    let mut out = std::io::stdout().lock();
    if args.json {
        let sources: Vec<Value> = layers.iter().map(layer_json).collect();
        let value = json!({
            "sources": sources,
            "effective": {
                "sandbox_mode": effective.sandbox_mode.get().as_str(),
                "approval_policy": effective.approval_policy.get().as_str(),
            },
        });
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        )?;
        return Ok(());
    }
    let mut text = String::new();
    if layers.is_empty() {
        text.push_str(
            "No requirements are set: every configured MCP server may run, and any sandbox mode \
             and approval policy may be used.\n",
        );
    } else {
        text.push_str("Requirements, by source (highest priority first; every source applies):\n");
    }
    for layer in layers {
        text.push_str(&format!("\n{}\n", layer.source));
        let mut rows: Vec<Vec<String>> = Vec::new();
        match &layer.allowlist {
            None => text.push_str("  MCP allowlist: none (names are not filtered)\n"),
            Some(rules) if rules.is_empty() => {
                text.push_str("  MCP allowlist: empty (every MCP server is disabled)\n")
            }
            Some(rules) => rows.extend(rules.iter().map(allow_row)),
        }
        rows.extend(layer.denylist.iter().map(deny_row));
        if !rows.is_empty() {
            let table = output::table(&["Rule", "Name", "Identity", "Key"], &rows);
            for line in table.lines() {
                text.push_str(&format!("  {}\n", line.trim_end()));
            }
        }
        if let Some(modes) = &layer.allowed_sandbox_modes {
            text.push_str(&format!("  allowed_sandbox_modes: {}\n", join(modes)));
        }
        if let Some(policies) = &layer.allowed_approval_policies {
            text.push_str(&format!(
                "  allowed_approval_policies: {}\n",
                join(policies)
            ));
        }
    }
    text.push_str(&format!(
        "\nIn effect:\n  sandbox_mode: {}\n  approval_policy: {}\n",
        effective.sandbox_mode.get(),
        effective.approval_policy.get()
    ));
    out.write_all(text.as_bytes())?;
    Ok(())
}

fn explain(loaded: &Loaded, args: &NameArgs) -> Result<(), CliError> {
    let Some(server) = loaded.effective.mcp_servers.get().get(&args.name) else {
        return Err(CliError::UnknownServer {
            name: args.name.clone(),
        });
    };
    let config = &server.config;
    let mut lines = vec![format!("{}: {}", args.name, output::status(server))];
    lines.push(format!("  transport: {}", config.transport.kind()));
    match &config.transport {
        TransportConfig::Stdio(stdio) => {
            lines.push(format!("  command: {:?}", stdio.command));
            lines.push(format!("  args: {:?}", stdio.args));
        }
        TransportConfig::StreamableHttp(http) | TransportConfig::Sse(http) => {
            lines.push(format!("  url: {:?}", http.url));
            lines.push(format!(
                "  canonical url: {:?}",
                http.canonical_url.redacted()
            ));
        }
    }
    if loaded.requirements.layers.is_empty() {
        lines.push("  no requirements are set: the allowlist does not filter".to_owned());
    }
    // Each layer on its own, through the same admission function.
    let as_enabled = McpServerConfig {
        enabled: true,
        ..config.clone()
    };
    for layer in &loaded.requirements.layers {
        let single = Requirements {
            layers: vec![layer.clone()],
        };
        let verdict = match admit(&args.name, &as_enabled, &single) {
            Admission::Allowed { matched, .. } => match matched.first() {
                Some(rule) => format!("allowed by {}", rule.rule),
                None => "no allowlist; no denylist entry matches".to_owned(),
            },
            Admission::Disabled(DisabledReason::Requirements { cause, .. }) => {
                format!("fails: {cause}")
            }
            Admission::Disabled(DisabledReason::ByUser) => "allowed".to_owned(),
            Admission::Disabled(reason @ DisabledReason::NotLoaded) => reason.to_string(),
        };
        lines.push(format!("  {}: {verdict}", layer.source));
    }
    if let Admission::Disabled(DisabledReason::ByUser) = &server.admission {
        lines.push("  the user config sets enabled = false".to_owned());
    }
    let verdict = match &server.admission {
        Admission::Allowed { .. } => "verdict: enabled".to_owned(),
        Admission::Disabled(reason) => format!("verdict: disabled: {reason}"),
    };
    lines.push(format!("  {verdict}"));
    writeln!(std::io::stdout().lock(), "{}", lines.join("\n"))?;
    Ok(())
}

fn rule_name(name: &RuleName) -> String {
    match name {
        RuleName::Exact(name) => name.clone(),
        RuleName::Any => "*".to_owned(),
    }
}

fn identity_text(identity: &RuleIdentity) -> String {
    match identity {
        RuleIdentity::Command {
            command,
            args: Some(args),
        } => format!("command {command:?} args {args:?}"),
        RuleIdentity::Command {
            command,
            args: None,
        } => format!("command {command:?}"),
        RuleIdentity::Url(url) => format!("url {:?}", url.redacted()),
    }
}

fn allow_row(rule: &AllowRule) -> Vec<String> {
    vec![
        "allow".to_owned(),
        rule_name(&rule.name),
        identity_text(&rule.identity),
        rule.key.clone(),
    ]
}

fn deny_row(rule: &DenyRule) -> Vec<String> {
    vec![
        "deny".to_owned(),
        rule_name(&rule.name),
        rule.identity
            .as_ref()
            .map_or("any transport".to_owned(), identity_text),
        rule.key.clone(),
    ]
}

fn identity_json(identity: &RuleIdentity) -> Value {
    match identity {
        RuleIdentity::Command { command, args } => json!({ "command": command, "args": args }),
        RuleIdentity::Url(url) => json!({ "url": url.as_str() }),
    }
}

fn layer_json(layer: &RequirementsLayer) -> Value {
    let allowlist = layer.allowlist.as_ref().map(|rules| {
        rules
            .iter()
            .map(|rule| {
                json!({
                    "name": rule_name(&rule.name),
                    "identity": identity_json(&rule.identity),
                    "rule": rule.key,
                })
            })
            .collect::<Vec<_>>()
    });
    let denylist: Vec<Value> = layer
        .denylist
        .iter()
        .map(|rule| {
            json!({
                "name": rule_name(&rule.name),
                "identity": rule.identity.as_ref().map(identity_json),
                "rule": rule.key,
            })
        })
        .collect();
    json!({
        "source": layer.source.to_string(),
        "mcp_allowlist": allowlist,
        "mcp_denylist": denylist,
        "allowed_sandbox_modes": layer.allowed_sandbox_modes.as_ref().map(|m| m.iter().map(|v| v.as_str()).collect::<Vec<_>>()),
        "allowed_approval_policies": layer.allowed_approval_policies.as_ref().map(|p| p.iter().map(|v| v.as_str()).collect::<Vec<_>>()),
    })
}

fn join<T: std::fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
