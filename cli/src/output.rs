//! Rendering helpers shared by the commands: Codex's padded tables, masked
//! environment cells, and the JSON twins of internal types.
//!
//! Internal types are not `Serialize`; this module converts them by hand at
//! the edge, so the JSON shape is written down in one place.

use std::borrow::Cow;
use std::time::Duration;

use codex_actors::config::McpServerConfig;
use codex_actors::policy::{
    DisabledReason, McpServer, PolicyCause, RuleFamily, UrlMatcher, ValueMatcher,
};
use codex_transports::{HttpConfig, StdioConfig, TransportConfig};
use serde_json::{Value, json};

use crate::terminal;

/// Renders rows as Codex does: every cell left-aligned and padded to its
/// column's width in bytes, columns joined by two spaces, trailing spaces
/// kept. Each cell is one line of shown text ([`terminal::cell`]): control
/// characters visible, newlines included, and cut to a length; any length
/// renders.
pub(crate) fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<Cow<'_, str>>> = rows
        .iter()
        .map(|row| row.iter().map(|cell| terminal::cell(cell)).collect())
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let mut out = String::new();
    push_row(&mut out, header.iter().copied(), &widths);
    for row in &rows {
        push_row(&mut out, row.iter().map(AsRef::as_ref), &widths);
    }
    out
}

/// One line of [`table`]: the cells padded to their column's width (by
/// hand: `{:<width$}` panics past 65,535), two spaces apart.
fn push_row<'a>(out: &mut String, cells: impl Iterator<Item = &'a str>, widths: &[usize]) {
    for (column, (cell, width)) in cells.zip(widths).enumerate() {
        if column > 0 {
            out.push_str("  ");
        }
        out.push_str(cell);
        out.extend(std::iter::repeat_n(
            ' ',
            width.saturating_sub(cell.chars().count()),
        ));
    }
    out.push('\n');
}

/// `KEY=*****` for each `env` key (sorted; the value when shown), then
/// each `env_vars` name.
pub(crate) fn masked_env(stdio: &StdioConfig, secrets: Secrets) -> String {
    let literal = stdio
        .env
        .iter()
        .map(|(key, value)| (key.as_str(), secrets.text(value)));
    let passed = stdio.env_vars.iter().map(|key| (key.as_str(), MASK));
    pairs(literal.chain(passed))
}

/// `K=*****, ...` for static headers, sorted (the values when shown).
pub(crate) fn masked_headers(http: &HttpConfig, secrets: Secrets) -> String {
    pairs(
        http.http_headers
            .iter()
            .map(|(key, value)| (key.as_str(), secrets.text(value))),
    )
}

/// `K=VARNAME, ...` for env-sourced headers, sorted.
pub(crate) fn env_headers(http: &HttpConfig) -> String {
    pairs(
        http.env_http_headers
            .iter()
            .map(|(key, var)| (key.as_str(), var.as_str())),
    )
}

/// `K=V, ...`, or `-` for none: one cell of `mcp list` or a line of
/// `mcp get`, written into one string.
fn pairs<'a>(items: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let mut cell = String::new();
    for (key, value) in items {
        if !cell.is_empty() {
            cell.push_str(", ");
        }
        cell.push_str(key);
        cell.push('=');
        cell.push_str(value);
    }
    dash_if_empty(cell)
}

/// The configured URL with its user name, password and query values
/// replaced by `*****`: any of them may be a token.
pub(crate) fn display_url(http: &HttpConfig) -> String {
    // Only a URL with userinfo or a query has anything to mask.
    if !http.canonical_url.has_userinfo() && !http.url.contains('?') {
        return http.url.clone();
    }
    codex_transports::mask_url_secrets(http.url.trim())
}

pub(crate) fn dash_if_empty(text: String) -> String {
    if text.is_empty() {
        "-".to_owned()
    } else {
        text
    }
}

/// A matcher as it is written in requirements: a plain string for
/// `exact`, else `{ "match": ..., "value" | "expression": ... }`.
pub(crate) fn value_matcher_json(matcher: &ValueMatcher) -> Value {
    match matcher {
        ValueMatcher::Exact(value) => json!(value),
        ValueMatcher::Prefix(value) => json!({ "match": "prefix", "value": value }),
        ValueMatcher::Regex(pattern) => json!({ "match": "regex", "expression": pattern.source() }),
    }
}

/// A URL matcher as written (URLs canonical, query values redacted).
pub(crate) fn url_matcher_json(matcher: &UrlMatcher) -> Value {
    match matcher {
        UrlMatcher::Exact(url) => json!(url.redacted()),
        UrlMatcher::Prefix(url) => json!({ "match": "prefix", "value": url.redacted() }),
        UrlMatcher::Regex(pattern) => json!({ "match": "regex", "expression": pattern.source() }),
    }
}

/// `enabled`, `disabled` or `disabled: <reason>`.
pub(crate) fn status(server: &McpServer) -> String {
    match server.admission.disabled_reason() {
        None => "enabled".to_owned(),
        Some(reason) => match reason.status_text() {
            Some(text) => format!("disabled: {text}"),
            None => "disabled".to_owned(),
        },
    }
}

/// Codex's `auth_status`, without a network probe (so `mcp list` stays
/// fast and offline): stdio servers are `Unsupported`; an HTTP server with
/// `bearer_token_env_var` is `Bearer token`, one with a stored login
/// `OAuth`, one configured for OAuth (`scopes`, `oauth_client_id`) but not
/// logged in `Not logged in`, any other `Unsupported`.
pub(crate) fn auth_status(
    name: &str,
    config: &McpServerConfig,
    logins: &[(String, String)],
) -> (&'static str, &'static str) {
    match &config.transport {
        TransportConfig::Stdio(_) => ("Unsupported", "unsupported"),
        TransportConfig::StreamableHttp(http) | TransportConfig::Sse(http) => {
            let logged_in = logins
                .iter()
                .any(|(server, url)| server == name && url == http.canonical_url.as_str());
            if http.bearer_token_env_var.is_some() {
                ("Bearer token", "bearer_token")
            } else if logged_in {
                ("OAuth", "o_auth")
            } else if config.oauth.client_id.is_some() || config.oauth.scopes.is_some() {
                ("Not logged in", "not_logged_in")
            } else {
                ("Unsupported", "unsupported")
            }
        }
    }
}

/// The servers (name, URL) with a stored OAuth login under `codex_home`; a
/// credentials file that cannot be read counts as none.
pub(crate) fn logins(codex_home: &std::path::Path) -> Vec<(String, String)> {
    match codex_transports::oauth::CredentialStore::in_home(codex_home).logins() {
        Ok(logins) => logins,
        // Said, not hidden: every server would otherwise look logged out.
        Err(err) => {
            terminal::err(&format!(
                "warning: {err}; the OAuth logins stored there are ignored"
            ));
            Vec::new()
        }
    }
}

/// Seconds as Codex prints them in `get`: `10`, `1.5`.
pub(crate) fn seconds(duration: Duration) -> String {
    format!("{}", duration.as_secs_f64())
}

/// The `transport` object of `list --json` and `get --json`.
pub(crate) fn transport_json(transport: &TransportConfig, secrets: Secrets) -> Value {
    let values = |map: &std::collections::BTreeMap<String, String>| -> Value {
        if map.is_empty() {
            return Value::Null;
        }
        json!(
            map.iter()
                .map(|(k, v)| (k.clone(), secrets.show(v)))
                .collect::<serde_json::Map<String, Value>>()
        )
    };
    match transport {
        TransportConfig::Stdio(stdio) => json!({
            "type": "stdio",
            "command": stdio.command,
            "args": stdio.args,
            "env": values(&stdio.env),
            "env_vars": stdio.env_vars,
            "cwd": stdio.cwd.as_ref().map(|cwd| cwd.to_string_lossy().into_owned()),
        }),
        TransportConfig::StreamableHttp(http) | TransportConfig::Sse(http) => json!({
            "type": transport.kind().as_str(),
            "url": match secrets {
                Secrets::Masked => display_url(http),
                Secrets::Shown => http.url.clone(),
            },
            "bearer_token_env_var": http.bearer_token_env_var,
            "http_headers": values(&http.http_headers),
            "env_http_headers": if http.env_http_headers.is_empty() { Value::Null } else { json!(http.env_http_headers) },
        }),
    }
}

/// Whether env and header values are shown (`--show-secrets`) or masked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Secrets {
    /// `*****`, the default everywhere.
    Masked,
    /// The values, when the user asks.
    Shown,
}

impl Secrets {
    pub(crate) fn from_flag(show: bool) -> Self {
        if show {
            Secrets::Shown
        } else {
            Secrets::Masked
        }
    }

    /// `value`, or the mask, as text.
    pub(crate) fn text(self, value: &str) -> &str {
        match self {
            Secrets::Masked => MASK,
            Secrets::Shown => value,
        }
    }

    /// `value`, or the mask.
    pub(crate) fn show(self, value: &str) -> Value {
        match self {
            Secrets::Masked => Value::String(MASK.to_owned()),
            Secrets::Shown => Value::String(value.to_owned()),
        }
    }
}

/// What a secret looks like in output.
pub(crate) const MASK: &str = "*****";

/// Codex's `disabled_reason` string: set only for requirement reasons.
pub(crate) fn disabled_reason_json(server: &McpServer) -> Value {
    server
        .admission
        .disabled_reason()
        .and_then(DisabledReason::status_text)
        .map_or(Value::Null, Value::String)
}

/// Our structured `disabled_detail` object, or null when enabled.
pub(crate) fn disabled_detail_json(server: &McpServer) -> Value {
    let Some(reason) = server.admission.disabled_reason() else {
        return Value::Null;
    };
    let (source, cause) = match reason {
        DisabledReason::ByUser => {
            return json!({ "kind": "disabled_by_user", "message": reason.to_string() });
        }
        DisabledReason::NotLoaded => {
            return json!({ "kind": "requirements_not_loaded", "message": reason.to_string() });
        }
        DisabledReason::InvalidName { .. } => {
            return json!({ "kind": "invalid_name", "message": reason.to_string() });
        }
        DisabledReason::Requirements { source, cause } => (source, cause),
    };
    let mut detail = serde_json::Map::new();
    let kind = match cause {
        PolicyCause::NotInAllowlist { .. } => "not_in_allowlist",
        PolicyCause::EmptyAllowlist => "empty_allowlist",
        PolicyCause::TransportMismatch { allowed, actual } => {
            let allowed = match allowed {
                RuleFamily::Command => "stdio",
                RuleFamily::Url => "http",
            };
            detail.insert("expected".into(), json!(allowed));
            detail.insert("actual".into(), json!(actual.as_str()));
            "transport_mismatch"
        }
        PolicyCause::CommandMismatch { allowed, actual } => {
            detail.insert("expected".into(), json!(allowed));
            detail.insert("actual".into(), json!(actual));
            "command_mismatch"
        }
        PolicyCause::ArgsMismatch { allowed, actual } => {
            detail.insert("expected".into(), json!(allowed));
            detail.insert("actual".into(), json!(actual));
            "args_mismatch"
        }
        PolicyCause::UrlMismatch { allowed, actual } => {
            detail.insert("expected".into(), json!(allowed));
            detail.insert("actual".into(), json!(actual.redacted()));
            "url_mismatch"
        }
        PolicyCause::UserinfoInUrl { url } => {
            detail.insert("actual".into(), json!(url.redacted()));
            "userinfo_in_url"
        }
        PolicyCause::Denied { rule } => {
            detail.insert("rule".into(), json!(rule));
            "denied"
        }
        PolicyCause::EnvNotPermitted { var, field } => {
            detail.insert("variable".into(), json!(var));
            detail.insert("field".into(), json!(field));
            "env_not_permitted"
        }
        PolicyCause::EnvNotListed { var, field } => {
            detail.insert("variable".into(), json!(var));
            detail.insert("field".into(), json!(field));
            "env_not_listed"
        }
        PolicyCause::CwdNotAllowed { cwd } => {
            detail.insert("actual".into(), json!(cwd.display().to_string()));
            "cwd_not_allowed"
        }
        PolicyCause::CwdMismatch { allowed, actual } => {
            detail.insert("expected".into(), json!(allowed.display().to_string()));
            detail.insert("actual".into(), json!(actual.display().to_string()));
            "cwd_mismatch"
        }
        PolicyCause::HashMismatch { path, actual } => {
            detail.insert("path".into(), json!(path.display().to_string()));
            detail.insert("actual".into(), json!(actual));
            "sha256_mismatch"
        }
        PolicyCause::HashUnverifiable { command, reason } => {
            detail.insert("command".into(), json!(command));
            detail.insert("reason".into(), json!(reason));
            "sha256_unverifiable"
        }
    };
    let mut out = serde_json::Map::new();
    out.insert("kind".into(), json!(kind));
    out.insert("source".into(), json!(source.to_string()));
    out.extend(detail);
    out.insert("message".into(), json!(reason.to_string()));
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_is_masked_however_the_url_is_spaced() {
        for url in [
            "https://bot:secret@h.example/mcp",
            "\u{a0}https://bot:secret@h.example/mcp",
            " https://bot:secret@h.example/mcp\u{2003}",
            "https://:secret@h.example/mcp",
            // A token as the user name, and tokens in the query.
            "https://secret@h.example/mcp",
            "https://x-access-token:secret@h.example/mcp?api_key=secret&v=secret",
        ] {
            let http = HttpConfig {
                url: url.to_owned(),
                canonical_url: codex_transports::CanonicalUrl::parse(url).expect("a URL"),
                bearer_token_env_var: None,
                http_headers: Default::default(),
                env_http_headers: Default::default(),
            };
            let shown = display_url(&http);
            assert!(!shown.contains("secret"), "{url:?} shown as {shown}");
            assert!(
                shown.contains("*****@h.example/mcp"),
                "{url:?} shown as {shown}"
            );
        }
    }

    #[test]
    fn table_pads_every_cell_including_the_last() {
        let rendered = table(
            &["Name", "Status"],
            &[
                vec!["a".into(), "enabled".into()],
                vec!["long-name".into(), "x".into()],
            ],
        );
        assert_eq!(
            rendered,
            "Name       Status \na          enabled\nlong-name  x      \n"
        );
    }
}
