//! `codex mcp list|get|add|remove|login|logout`.
//!
//! Output follows Codex byte for byte where Codex has the feature; the
//! disabled reasons say which requirement failed and how.

use codex_actors::config::{McpServerConfig, remove_server, write_server};
use codex_actors::policy::{McpServer, admit};
use codex_transports::{CanonicalUrl, HttpConfig, StdioConfig, TransportConfig};
use serde_json::{Value, json};

use crate::args::{AddArgs, ConfigOverrides, GetArgs, ListArgs, McpCommand, NameArgs};
use crate::context::{self, Loaded, validate_name};
use crate::error::CliError;
use crate::output;
use crate::terminal;

pub(crate) fn run(overrides: &ConfigOverrides, command: McpCommand) -> Result<(), CliError> {
    if overrides.ignore_user_config
        && let McpCommand::Add(_) | McpCommand::Remove(_) = command
    {
        return Err(CliError::Usage(
            "mcp add and mcp remove edit $CODEX_HOME/config.toml, which \
             --ignore-user-config leaves unread; drop the flag"
                .to_owned(),
        ));
    }
    match command {
        McpCommand::List(args) => list(overrides, &args),
        McpCommand::Get(args) => get(overrides, &args),
        McpCommand::Add(args) => add(overrides, args),
        McpCommand::Remove(args) => remove(overrides, &args),
        McpCommand::Tools(args) => crate::session::tools(overrides, &args),
        McpCommand::Call(args) => crate::session::call(overrides, args),
        McpCommand::Lock(args) => crate::lock::lock(overrides, &args),
        McpCommand::Login(args) => crate::login::login(overrides, &args),
        McpCommand::Logout(args) => crate::login::logout(overrides, &args),
    }
}

fn list(overrides: &ConfigOverrides, args: &ListArgs) -> Result<(), CliError> {
    let loaded = context::load_verdicts(overrides)?;
    let secrets = output::Secrets::from_flag(args.show_secrets);
    let servers = loaded.effective.mcp_servers.get();
    let logins = output::logins(&loaded.codex_home);
    if args.json {
        let items: Vec<Value> = servers
            .iter()
            .map(|(name, server)| {
                json!({
                    "name": name,
                    "enabled": server.admission.is_allowed(),
                    "disabled_reason": output::disabled_reason_json(server),
                    "disabled_detail": output::disabled_detail_json(server),
                    "transport": output::transport_json(&server.config.transport, secrets),
                    "startup_timeout_sec": server.config.startup_timeout.map(|d| d.as_secs_f64()),
                    "tool_timeout_sec": server.config.tool_timeout.map(|d| d.as_secs_f64()),
                    "auth_status": output::auth_status(name, &server.config, &logins).1,
                })
            })
            .collect();
        terminal::out_json(&pretty(&Value::Array(items)))?;
        return Ok(());
    }
    if servers.is_empty() {
        terminal::out("No MCP servers configured yet. Try `codex mcp add my-tool -- my-command`.")?;
        return Ok(());
    }
    let mut stdio_rows = Vec::new();
    let mut http_rows = Vec::new();
    // Long reasons go under the tables, numbered, so the Status column
    // stays narrow; the cell still begins with `disabled`.
    let mut reasons = Vec::new();
    for (name, server) in servers {
        let mut status = output::status(server);
        if status.len() > MAX_STATUS {
            reasons.push(format!(
                "({}) {name}: {}",
                reasons.len() + 1,
                status.trim_start_matches("disabled: ")
            ));
            status = format!("disabled ({})", reasons.len());
        }
        let auth = output::auth_status(name, &server.config, &logins)
            .0
            .to_owned();
        match &server.config.transport {
            TransportConfig::Stdio(stdio) => stdio_rows.push(vec![
                name.clone(),
                stdio.command.clone(),
                output::dash_if_empty(stdio.args.join(" ")),
                output::masked_env(stdio, secrets),
                stdio
                    .cwd
                    .as_ref()
                    .map_or("-".to_owned(), |cwd| cwd.display().to_string()),
                status,
                auth,
            ]),
            TransportConfig::StreamableHttp(http) | TransportConfig::Sse(http) => {
                http_rows.push(vec![
                    name.clone(),
                    match secrets {
                        output::Secrets::Masked => output::display_url(http),
                        output::Secrets::Shown => http.url.clone(),
                    },
                    http.bearer_token_env_var
                        .clone()
                        .unwrap_or_else(|| "-".to_owned()),
                    status,
                    auth,
                ]);
            }
        }
    }
    let mut text = String::new();
    if !stdio_rows.is_empty() {
        text.push_str(&output::table(
            &["Name", "Command", "Args", "Env", "Cwd", "Status", "Auth"],
            &stdio_rows,
        ));
    }
    if !http_rows.is_empty() {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&output::table(
            &["Name", "Url", "Bearer Token Env Var", "Status", "Auth"],
            &http_rows,
        ));
    }
    if !reasons.is_empty() {
        text.push('\n');
        for reason in &reasons {
            text.push_str(&terminal::line(reason));
            text.push('\n');
        }
    }
    terminal::print(&text)?;
    // The process ends after the listing: handing the loaded config's
    // thousands of blocks back to the allocator one by one would cost more
    // than printing them (a twentieth of the command with 100 servers).
    std::mem::forget(loaded);
    Ok(())
}

/// The widest status shown in the Status column itself.
const MAX_STATUS: usize = 24;

fn get(overrides: &ConfigOverrides, args: &GetArgs) -> Result<(), CliError> {
    let loaded = context::load_verdicts(overrides)?;
    let secrets = output::Secrets::from_flag(args.show_secrets);
    let server = find(&loaded, &args.name)?;
    let config = &server.config;
    if args.json {
        let value = json!({
            "name": args.name,
            "enabled": server.admission.is_allowed(),
            "disabled_reason": output::disabled_reason_json(server),
            "disabled_detail": output::disabled_detail_json(server),
            "transport": output::transport_json(&config.transport, secrets),
            "enabled_tools": config.enabled_tools,
            "disabled_tools": config.disabled_tools,
            "startup_timeout_sec": config.startup_timeout.map(|d| d.as_secs_f64()),
            "tool_timeout_sec": config.tool_timeout.map(|d| d.as_secs_f64()),
        });
        terminal::out_json(&pretty(&value))?;
        return Ok(());
    }
    if !server.admission.is_allowed() {
        let what = match &config.transport {
            TransportConfig::Stdio(stdio) => format!(
                "  command: {}",
                terminal::line(
                    &[stdio.command.clone()]
                        .into_iter()
                        .chain(stdio.args.clone())
                        .collect::<Vec<_>>()
                        .join(" ")
                )
            ),
            TransportConfig::StreamableHttp(http) | TransportConfig::Sse(http) => {
                format!("  url: {}", terminal::line(&output::display_url(http)))
            }
        };
        terminal::out_lines(&[
            format!("{} ({})", args.name, output::status(server)),
            what,
            format!("  why: codex requirements explain {}", args.name),
        ])?;
        return Ok(());
    }
    let mut lines = vec![args.name.clone(), "  enabled: true".to_owned()];
    let tools = |tools: &[String]| {
        if tools.is_empty() {
            "[]".to_owned()
        } else {
            terminal::line(&tools.join(", ")).into_owned()
        }
    };
    if let Some(enabled) = &config.enabled_tools {
        lines.push(format!("  enabled_tools: {}", tools(enabled)));
    }
    if let Some(disabled) = &config.disabled_tools {
        lines.push(format!("  disabled_tools: {}", tools(disabled)));
    }
    lines.push(format!("  transport: {}", config.transport.kind()));
    match &config.transport {
        TransportConfig::Stdio(stdio) => {
            lines.push(format!("  command: {}", terminal::line(&stdio.command)));
            lines.push(format!(
                "  args: {}",
                terminal::line(&output::dash_if_empty(stdio.args.join(" ")))
            ));
            let cwd = stdio
                .cwd
                .as_ref()
                .map_or("-".to_owned(), |cwd| cwd.display().to_string());
            lines.push(format!("  cwd: {}", terminal::line(&cwd)));
            lines.push(format!(
                "  env: {}",
                terminal::line(&output::masked_env(stdio, secrets))
            ));
            if let Some(mode) = config.sandbox {
                lines.push(format!("  sandbox: {mode}"));
            }
        }
        TransportConfig::StreamableHttp(http) | TransportConfig::Sse(http) => {
            lines.push(format!(
                "  url: {}",
                terminal::line(&output::display_url(http))
            ));
            let var = http.bearer_token_env_var.as_deref().unwrap_or("-");
            lines.push(format!("  bearer_token_env_var: {}", terminal::line(var)));
            lines.push(format!(
                "  http_headers: {}",
                terminal::line(&output::masked_headers(http, secrets))
            ));
            lines.push(format!(
                "  env_http_headers: {}",
                terminal::line(&output::env_headers(http))
            ));
        }
    }
    if let Some(timeout) = config.startup_timeout {
        lines.push(format!(
            "  startup_timeout_sec: {}",
            output::seconds(timeout)
        ));
    }
    if let Some(timeout) = config.tool_timeout {
        lines.push(format!("  tool_timeout_sec: {}", output::seconds(timeout)));
    }
    lines.push(format!("  remove: codex mcp remove {}", args.name));
    terminal::out(&lines.join("\n"))?;
    Ok(())
}

fn add(overrides: &ConfigOverrides, args: AddArgs) -> Result<(), CliError> {
    validate_name(&args.name)?;
    // Like Codex, refuse to edit when the current configuration is broken.
    let loaded = context::load(overrides)?;
    let transport = match (args.url, args.command.split_first()) {
        (Some(url), _) => TransportConfig::StreamableHttp(HttpConfig {
            canonical_url: CanonicalUrl::parse(&url)?,
            url,
            bearer_token_env_var: args.bearer_token_env_var,
            http_headers: Default::default(),
            env_http_headers: Default::default(),
        }),
        (None, Some((command, rest))) => TransportConfig::Stdio(StdioConfig {
            command: command.clone(),
            args: rest.to_vec(),
            env: args.env.into_iter().collect(),
            env_vars: Vec::new(),
            cwd: None,
        }),
        (None, None) => return Err(CliError::CommandRequired),
    };
    let mut server = McpServerConfig::new(transport);
    server.oauth.client_id = args.oauth_client_id;
    server.oauth.resource = args.oauth_resource;
    let path = context::user_config_path(&loaded.codex_home);
    write_server(&path, &args.name, &server)?;
    terminal::out(&format!("Added global MCP server '{}'.", args.name))?;
    if let Some(reason) =
        admit(&args.name, &server, &loaded.requirements, &loaded.launch).disabled_reason()
    {
        terminal::out(&format!(
            "Note: '{}' is disabled by {reason}. It stays in config.toml and will start once requirements allow it.",
            args.name
        ))?;
    }
    Ok(())
}

fn remove(overrides: &ConfigOverrides, args: &NameArgs) -> Result<(), CliError> {
    validate_name(&args.name)?;
    // Overrides are parsed (a bad one is an error) but only the user file is
    // edited, as in Codex.
    overrides.parse()?;
    let codex_home = context::codex_home()?;
    let removed = remove_server(&context::user_config_path(&codex_home), &args.name)?;
    if removed {
        terminal::out(&format!("Removed global MCP server '{}'.", args.name))?;
    } else {
        terminal::out(&format!(
            "No MCP server named '{}' found.",
            terminal::line(&args.name)
        ))?;
    }
    Ok(())
}

fn find<'a>(loaded: &'a Loaded, name: &str) -> Result<&'a McpServer, CliError> {
    loaded
        .effective
        .mcp_servers
        .get()
        .get(name)
        .ok_or_else(|| CliError::UnknownServer {
            name: name.to_owned(),
        })
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}
