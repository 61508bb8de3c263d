//! The request headers of one MCP server, shared by the streamable HTTP and
//! legacy SSE plugins: the configured ones, those read from the environment
//! snapshot, `User-Agent`, and the bearer token.

use std::collections::BTreeMap;

use http::HeaderMap;
use http::header::{AUTHORIZATION, HeaderName, HeaderValue, USER_AGENT};

use crate::client::USER_AGENT_VALUE;
use crate::config::HttpConfig;
use crate::error::{ConnectError, HeaderProblem};
use crate::plugin::ConnectContext;

/// Headers the MCP transports set themselves; config may not override them.
const RESERVED_HEADERS: [&str; 5] = [
    "accept",
    "content-type",
    "mcp-session-id",
    "last-event-id",
    "host",
];

/// The resolved per-server headers: the configured ones plus the bearer
/// token, if any.
#[derive(Clone)]
pub(crate) struct ServerHeaders {
    /// `http_headers` and the set `env_http_headers`, plus `User-Agent`.
    pub(crate) custom: HeaderMap,
    /// The bearer token, without the `Bearer ` prefix.
    pub(crate) bearer: Option<String>,
}

impl std::fmt::Debug for ServerHeaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Header values may be secrets.
        f.debug_struct("ServerHeaders")
            .field("custom", &self.custom.keys().collect::<Vec<_>>())
            .field("bearer", &self.bearer.as_ref().map(|_| "***"))
            .finish()
    }
}

impl ServerHeaders {
    /// Resolves `config`'s headers against the environment snapshot.
    pub(crate) fn resolve(config: &HttpConfig, ctx: &ConnectContext) -> Result<Self, ConnectError> {
        let env = &ctx.env;
        let bearer = match &config.bearer_token_env_var {
            None => None,
            Some(var) => {
                Some(
                    non_blank(env, var).ok_or_else(|| ConnectError::MissingBearerToken {
                        server: ctx.server_name.clone(),
                        var: var.clone(),
                    })?,
                )
            }
        };
        let mut custom = HeaderMap::new();
        custom.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
        let from_env = config
            .env_http_headers
            .iter()
            .filter_map(|(name, var)| non_blank(env, var).map(|value| (name, value)));
        let literal = config.http_headers.iter().map(|(k, v)| (k, v.clone()));
        for (name, value) in literal.chain(from_env) {
            let problem = |reason| ConnectError::InvalidHeader {
                server: ctx.server_name.clone(),
                name: name.clone(),
                reason,
            };
            let header = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| problem(HeaderProblem::InvalidName))?;
            if RESERVED_HEADERS.contains(&header.as_str()) {
                return Err(problem(HeaderProblem::Reserved));
            }
            let value = HeaderValue::from_str(value.trim())
                .map_err(|_| problem(HeaderProblem::InvalidValue))?;
            custom.insert(header, value);
        }
        Ok(ServerHeaders { custom, bearer })
    }

    /// Adds these headers to `request`. The bearer token wins over a
    /// configured `Authorization` header.
    pub(crate) fn apply(&self, headers: &mut HeaderMap) {
        for (name, value) in &self.custom {
            headers.insert(name.clone(), value.clone());
        }
        if let Some(token) = &self.bearer
            && let Ok(mut value) = HeaderValue::from_str(&format!("Bearer {token}"))
        {
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
    }
}

fn non_blank(env: &BTreeMap<String, String>, var: &str) -> Option<String> {
    env.get(var)
        .filter(|value| !value.trim().is_empty())
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(env: &[(&str, &str)]) -> ConnectContext {
        let env = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        ConnectContext::new("docs", "/", env)
    }

    fn config() -> HttpConfig {
        HttpConfig {
            url: "http://127.0.0.1/mcp".to_owned(),
            canonical_url: crate::CanonicalUrl::parse("http://127.0.0.1/mcp").expect("valid"),
            bearer_token_env_var: None,
            http_headers: BTreeMap::new(),
            env_http_headers: BTreeMap::new(),
        }
    }

    #[test]
    fn missing_or_blank_bearer_token_names_variable_and_server() {
        let mut config = config();
        config.bearer_token_env_var = Some("DOCS_TOKEN".to_owned());
        for env in [&[][..], &[("DOCS_TOKEN", "  ")][..]] {
            let error = ServerHeaders::resolve(&config, &ctx(env)).expect_err("must fail");
            let message = error.to_string();
            assert!(
                message.contains("DOCS_TOKEN") && message.contains("`docs`"),
                "{message}"
            );
        }
        let headers =
            ServerHeaders::resolve(&config, &ctx(&[("DOCS_TOKEN", "tok")])).expect("resolves");
        assert_eq!(headers.bearer.as_deref(), Some("tok"));
    }

    #[test]
    fn env_headers_only_when_set_and_non_blank() {
        let mut config = config();
        config
            .http_headers
            .insert("X-Static".to_owned(), "s".to_owned());
        config
            .env_http_headers
            .insert("X-Set".to_owned(), "SET".to_owned());
        config
            .env_http_headers
            .insert("X-Blank".to_owned(), "BLANK".to_owned());
        config
            .env_http_headers
            .insert("X-Unset".to_owned(), "UNSET".to_owned());
        let headers = ServerHeaders::resolve(&config, &ctx(&[("SET", "v"), ("BLANK", " ")]))
            .expect("resolves");
        let names: Vec<&str> = headers.custom.keys().map(HeaderName::as_str).collect();
        assert_eq!(names, ["user-agent", "x-static", "x-set"]);
    }

    #[test]
    fn reserved_and_invalid_headers_are_refused() {
        for (name, value, problem) in [
            ("Mcp-Session-Id", "x", HeaderProblem::Reserved),
            ("bad name", "x", HeaderProblem::InvalidName),
            ("X-Ok", "a\nb", HeaderProblem::InvalidValue),
        ] {
            let mut config = config();
            config
                .http_headers
                .insert(name.to_owned(), value.to_owned());
            match ServerHeaders::resolve(&config, &ctx(&[])) {
                Err(ConnectError::InvalidHeader { reason, .. }) => assert_eq!(reason, problem),
                other => panic!("{name}: unexpected {other:?}"),
            }
        }
    }
}
