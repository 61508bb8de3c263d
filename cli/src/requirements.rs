//! `codex requirements show|explain`: what the admin requires, and why one
//! server is or is not admitted.

use codex_actors::config::McpServerConfig;
use codex_actors::policy::command_rules::{self, PatternToken};
use codex_actors::policy::{
    Admission, AllowRule, DenyRule, DisabledReason, Requirements, RequirementsLayer, RuleIdentity,
    RuleName, ToolRules, admit, resolve_program_for,
};
use codex_transports::TransportConfig;
use serde_json::{Value, json};

use crate::args::{ConfigOverrides, ExplainArgs, ListArgs, NameArgs, RequirementsCommand};
use crate::context::{self, Loaded};
use crate::error::CliError;
use crate::output;
use crate::terminal;

pub(crate) fn run(
    overrides: &ConfigOverrides,
    command: RequirementsCommand,
) -> Result<(), CliError> {
    let loaded = context::load(overrides)?;
    match command {
        RequirementsCommand::Show(args) => show(&loaded, &args),
        RequirementsCommand::Explain(ExplainArgs {
            command: Some(command),
            ..
        }) => explain_command(&loaded, &command),
        RequirementsCommand::Explain(ExplainArgs {
            name: Some(name), ..
        }) => explain(&loaded, &NameArgs { name }),
        // clap requires one of the two.
        RequirementsCommand::Explain(ExplainArgs { .. }) => Ok(()),
        RequirementsCommand::Pin(args) => pin(&loaded, &args),
    }
}

/// `requirements pin NAME`: the rule that admits exactly this server as it
/// is configured now, with the digest of the file it runs.
fn pin(loaded: &Loaded, args: &NameArgs) -> Result<(), CliError> {
    let Some(server) = loaded.effective.mcp_servers.get().get(&args.name) else {
        return Err(CliError::UnknownServer {
            name: args.name.clone(),
        });
    };
    let TransportConfig::Stdio(stdio) = &server.config.transport else {
        return Err(CliError::PinRemote {
            name: args.name.clone(),
        });
    };
    let program =
        resolve_program_for(stdio, &loaded.requirements, &loaded.launch).map_err(|err| {
            CliError::Pin {
                name: args.name.clone(),
                problem: err.to_string(),
            }
        })?;
    let digest = codex_sandbox::sha256_file(&program.real).map_err(|err| CliError::Pin {
        name: args.name.clone(),
        problem: format!("{}: {err}", program.real.display()),
    })?;
    let quote = |text: &str| toml::Value::String(text.to_owned()).to_string();
    let list = |items: &mut dyn Iterator<Item = &String>| {
        items.map(|item| quote(item)).collect::<Vec<_>>().join(", ")
    };
    let mut rule = format!(
        "# {} runs {} (sha256 as of now; add the next digest before an update)\n\
         [mcp_server_allowlist.{}]\ncommand = {}\n",
        args.name,
        program.real.display(),
        args.name,
        quote(&stdio.command)
    );
    if !stdio.args.is_empty() {
        rule.push_str(&format!("args = [{}]\n", list(&mut stdio.args.iter())));
    }
    if let Some(cwd) = &stdio.cwd {
        let cwd = codex_transports::lexical_absolute(&loaded.launch.cwd.join(cwd));
        rule.push_str(&format!("cwd = {}\n", quote(&cwd.display().to_string())));
    }
    let vars: Vec<&String> = stdio.env.keys().chain(&stdio.env_vars).collect();
    if !vars.is_empty() {
        rule.push_str(&format!(
            "allowed_env = [{}]\n",
            list(&mut vars.into_iter())
        ));
    }
    rule.push_str(&format!("sha256 = [{}]\n", quote(&digest)));
    terminal::print(&rule)?;
    Ok(())
}

fn show(loaded: &Loaded, args: &ListArgs) -> Result<(), CliError> {
    let layers = &loaded.requirements.layers;
    let effective = &loaded.effective;
    if args.json {
        let sources: Vec<Value> = layers.iter().map(layer_json).collect();
        let value = json!({
            "sources": sources,
            "effective": {
                "sandbox_mode": effective.sandbox_mode.get().as_str(),
                "approval_policy": effective.approval_policy.get().as_str(),
            },
        });
        terminal::out_json(&serde_json::to_string_pretty(&value).unwrap_or_default())?;
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
    for layer in layers.iter() {
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
        if let Some(dirs) = &layer.search_path {
            let dirs: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
            text.push_str(&format!("  mcp_server_search_path: {}\n", dirs.join(":")));
        }
        if let Some(lock) = &layer.tools_lock {
            text.push_str(&format!("  mcp_tools_lock: {}\n", lock.display()));
        }
        if let Some(log) = &layer.audit_log {
            text.push_str(&format!("  audit_log: {}\n", log.display()));
        }
        if let Some(residency) = layer.enforce_residency {
            text.push_str(&format!("  enforce_residency: {}\n", residency.as_str()));
        }
        if !layer.command_rules.is_empty() {
            let rows: Vec<Vec<String>> = layer
                .command_rules
                .iter()
                .map(|rule| {
                    vec![
                        rule.decision.to_string(),
                        pattern_text(&rule.pattern),
                        rule.justification.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            text.push_str("  [rules] prefix_rules:\n");
            let table = output::table(&["Decision", "Pattern", "Justification"], &rows);
            for line in table.lines() {
                text.push_str(&format!("    {}\n", line.trim_end()));
            }
        }
    }
    text.push_str(&format!(
        "\nIn effect:\n  sandbox_mode: {}\n  approval_policy: {}\n",
        effective.sandbox_mode.get(),
        effective.approval_policy.get()
    ));
    terminal::print(&text)?;
    Ok(())
}

/// A pattern as a command prefix: `git push`, `rm (-rf|-fr)`.
fn pattern_text(pattern: &[PatternToken]) -> String {
    pattern
        .iter()
        .map(|token| match token {
            PatternToken::Token(token) => token.clone(),
            PatternToken::AnyOf(tokens) => format!("({})", tokens.join("|")),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `requirements explain --command CMD`: the verdict of the admin's command
/// rules, every layer's, on `bash -lc CMD`.
fn explain_command(loaded: &Loaded, command: &str) -> Result<(), CliError> {
    let rules = loaded.requirements.command_rules();
    let argv = ["/bin/bash".to_owned(), "-lc".to_owned(), command.to_owned()];
    let mut text = String::new();
    if rules.is_empty() {
        text.push_str("No command rules are set: the approval policy alone decides.\n");
    } else {
        match command_rules::evaluate(&rules, &argv) {
            None => text.push_str("No command rule matches: the approval policy alone decides.\n"),
            Some(verdict) => {
                text.push_str(&format!("{}: {verdict}\n", verdict.decision));
                if let Some(rule) = verdict.rule {
                    text.push_str(&format!(
                        "  rule: {} = {} ({})\n",
                        pattern_text(&rule.pattern),
                        rule.decision,
                        rule.source
                    ));
                }
            }
        }
    }
    let commands = match command_rules::commands_of(&argv) {
        command_rules::Parsed::Commands(commands) => commands,
        command_rules::Parsed::Unparsed { partial, .. } => partial,
    };
    for simple in commands {
        text.push_str(&format!("  runs: {simple}\n"));
    }
    terminal::print(&text)?;
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
            lines.push(format!("  url: {:?}", output::display_url(http)));
            lines.push(format!(
                "  canonical url: {:?}",
                http.canonical_url.redacted()
            ));
        }
    }
    if let Admission::Allowed {
        launch: Some(launch),
        ..
    } = &server.admission
    {
        match launch {
            Ok(spec) => {
                if let Some(program) = &spec.program {
                    lines.push(format!("  runs: {}", program.path().display()));
                }
                lines.push(format!("  in: {}", spec.cwd.display()));
                let names: Vec<String> = spec
                    .env
                    .keys()
                    .map(|k| k.to_string_lossy().into_owned())
                    .collect();
                lines.push(format!("  environment: {}", names.join(", ")));
            }
            Err(err) => lines.push(format!("  cannot run: {err}")),
        }
    }
    if let Admission::Allowed { tools, .. } = &server.admission {
        lines.extend(tool_rule_lines(tools));
    }
    if let Some(lock) = loaded
        .requirements
        .layers
        .iter()
        .find_map(|layer| layer.tools_lock.as_ref())
    {
        lines.push(format!(
            "  tool lock: {} (required by the admin)",
            lock.display()
        ));
    }
    if loaded.requirements.layers.is_empty() {
        lines.push("  no requirements are set: the allowlist does not filter".to_owned());
    }
    // Each layer on its own, through the same admission function.
    let as_enabled = McpServerConfig {
        enabled: true,
        ..config.clone()
    };
    for layer in loaded.requirements.layers.iter() {
        let single = Requirements::single(layer.clone());
        let verdict = match admit(&args.name, &as_enabled, &single, &loaded.launch) {
            Admission::Allowed { matched, .. } => match matched.first() {
                Some(rule) => format!("allowed by {}", rule.rule),
                None => "no allowlist; no denylist entry matches".to_owned(),
            },
            Admission::Disabled(DisabledReason::Requirements { cause, .. }) => {
                format!("fails: {cause}")
            }
            Admission::Disabled(DisabledReason::ByUser) => "allowed".to_owned(),
            Admission::Disabled(
                reason @ (DisabledReason::NotLoaded | DisabledReason::InvalidName { .. }),
            ) => reason.to_string(),
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
    terminal::out_lines(&lines)?;
    Ok(())
}

/// What each tool filter keeps and removes, the admin's rules included.
fn tool_rule_lines(rules: &ToolRules) -> Vec<String> {
    if rules.filters().is_empty() {
        return vec!["  tools: every tool the server lists".to_owned()];
    }
    let mut lines = Vec::new();
    for (origin, filter) in rules.filters() {
        if let Some(enabled) = &filter.enabled {
            lines.push(format!(
                "  tools kept by {origin}: {}",
                names_or_none(enabled)
            ));
        }
        if let Some(disabled) = &filter.disabled {
            lines.push(format!(
                "  tools removed by {origin}: {}",
                names_or_none(disabled)
            ));
        }
    }
    lines
}

fn names_or_none(names: &[String]) -> String {
    if names.is_empty() {
        "(none)".to_owned()
    } else {
        names.join(", ")
    }
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
        } => format!(
            "command {command:?} args [{}]",
            args.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        RuleIdentity::Command {
            command,
            args: None,
        } => format!("command {command:?}"),
        RuleIdentity::Url(url) => format!("url {url}"),
    }
}

fn allow_row(rule: &AllowRule) -> Vec<String> {
    let mut identity = identity_text(&rule.identity);
    if let Some(cwd) = &rule.cwd {
        identity.push_str(&format!(" cwd {:?}", cwd.display().to_string()));
    }
    if let Some(vars) = &rule.allowed_env {
        identity.push_str(&format!(" allowed_env [{}]", vars.join(", ")));
    }
    if let Some(digests) = &rule.sha256 {
        let short: Vec<&str> = digests.iter().map(|d| &d[..d.len().min(12)]).collect();
        identity.push_str(&format!(" sha256 [{}]", short.join(", ")));
    }
    if let Some(enabled) = &rule.tools.enabled {
        identity.push_str(&format!(" enabled_tools [{}]", enabled.join(", ")));
    }
    if let Some(disabled) = &rule.tools.disabled {
        identity.push_str(&format!(" disabled_tools [{}]", disabled.join(", ")));
    }
    vec![
        "allow".to_owned(),
        rule_name(&rule.name),
        identity,
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
        RuleIdentity::Command { command, args } => json!({
            "command": command,
            "args": args.as_ref().map(|args| args.iter().map(output::value_matcher_json).collect::<Vec<_>>()),
        }),
        RuleIdentity::Url(url) => json!({ "url": output::url_matcher_json(url) }),
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
                    "cwd": rule.cwd.as_ref().map(|cwd| cwd.display().to_string()),
                    "allowed_env": rule.allowed_env,
                    "sha256": rule.sha256,
                    "enabled_tools": rule.tools.enabled,
                    "disabled_tools": rule.tools.disabled,
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
        "mcp_server_search_path": layer.search_path.as_ref().map(|dirs| dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>()),
        "mcp_tools_lock": layer.tools_lock.as_ref().map(|p| p.display().to_string()),
        "audit_log": layer.audit_log.as_ref().map(|p| p.display().to_string()),
        "enforce_residency": layer.enforce_residency.map(|r| r.as_str()),
        "prefix_rules": layer.command_rules.iter().map(|rule| json!({
            "pattern": rule.pattern.iter().map(|token| match token {
                PatternToken::Token(token) => json!({ "token": token }),
                PatternToken::AnyOf(tokens) => json!({ "any_of": tokens }),
            }).collect::<Vec<_>>(),
            "decision": rule.decision.to_string(),
            "justification": rule.justification,
        })).collect::<Vec<_>>(),
    })
}

fn join<T: std::fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
