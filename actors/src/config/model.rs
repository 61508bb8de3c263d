//! `model`, `model_provider`, `model_reasoning_effort` and
//! `[model_providers.ID]`: which model to ask, and how to reach it.
//!
//! Validated here into [`ModelSettings`]; turning a provider into something
//! that can be called (base URL, API key from the environment) is the model
//! stream's job, so that loading config never reads the environment.

use std::collections::BTreeMap;
use std::time::Duration;

use super::fields::{FieldProblem, Fields};
use super::settings::WireApi;

/// The model settings of one configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelSettings {
    /// `model`.
    pub model: Option<String>,
    /// `model_provider`: a key of `providers` or a built-in provider.
    pub model_provider: Option<String>,
    /// `model_reasoning_effort` (`minimal`, `low`, `medium`, `high`, ...),
    /// passed to the Responses API as is.
    pub reasoning_effort: Option<String>,
    /// `[model_providers.ID]`, by id.
    pub providers: BTreeMap<String, ProviderSettings>,
    /// `openai_base_url`: where the built-in `openai` provider is reached
    /// (`OPENAI_BASE_URL` in the environment wins).
    pub openai_base_url: Option<String>,
}

/// One `[model_providers.ID]` table, as configured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProviderSettings {
    /// `name`, for messages.
    pub name: Option<String>,
    /// `base_url`: requests go to `{base_url}/responses` or
    /// `{base_url}/chat/completions`.
    pub base_url: Option<String>,
    /// `env_key`: the variable that holds the API key.
    pub env_key: Option<String>,
    /// `env_key_instructions`: shown when the variable is missing.
    pub env_key_instructions: Option<String>,
    /// `wire_api`; `responses` when absent.
    pub wire_api: Option<WireApi>,
    /// `query_params`, appended to every request URL.
    pub query_params: BTreeMap<String, String>,
    /// `http_headers`, sent as is.
    pub http_headers: BTreeMap<String, String>,
    /// `env_http_headers`: header name → variable holding its value; a
    /// header whose variable is unset or empty is left out.
    pub env_http_headers: BTreeMap<String, String>,
    /// `request_max_retries` (default 4, at most 100).
    pub request_max_retries: Option<u32>,
    /// `stream_max_retries` (default 5, at most 100).
    pub stream_max_retries: Option<u32>,
    /// `stream_idle_timeout_ms` (default 300 000).
    pub stream_idle_timeout: Option<Duration>,
    /// `requires_openai_auth`: the key comes from `OPENAI_API_KEY` (or
    /// `CODEX_API_KEY` in `exec`) when `env_key` is not set.
    pub requires_openai_auth: bool,
    /// `experimental_bearer_token`: a key written into config (discouraged).
    pub experimental_bearer_token: Option<String>,
}

const PROVIDER_KEYS: &[&str] = &[
    "name",
    "base_url",
    "env_key",
    "env_key_instructions",
    "wire_api",
    "query_params",
    "http_headers",
    "env_http_headers",
    "request_max_retries",
    "stream_max_retries",
    "stream_idle_timeout_ms",
    "requires_openai_auth",
    "experimental_bearer_token",
];

/// Reads the model keys of the merged document. Returns the settings and
/// the paths of keys it ignored (for warnings).
pub(crate) fn model_settings(
    merged: &toml::Table,
) -> Result<(ModelSettings, Vec<Vec<String>>), FieldProblem> {
    let top = Fields::new(&[]);
    let mut ignored = Vec::new();
    let mut providers = BTreeMap::new();
    match merged.get("model_providers") {
        None => {}
        Some(toml::Value::Table(table)) => {
            for (id, value) in table {
                let base = ["model_providers", id.as_str()];
                let fields = Fields::new(&base);
                let Some(table) = value.as_table() else {
                    return Err(fields.problem(
                        &[],
                        format!(
                            "model_providers.{id}: expected a table, found {}",
                            super::type_name(value)
                        ),
                    ));
                };
                providers.insert(id.clone(), provider(&fields, table)?);
                ignored.extend(
                    table
                        .keys()
                        .filter(|key| !PROVIDER_KEYS.contains(&key.as_str()))
                        .map(|key| fields.path(&[key])),
                );
            }
        }
        Some(other) => {
            return Err(top.problem(
                &["model_providers"],
                format!(
                    "model_providers: expected a table, found {}",
                    super::type_name(other)
                ),
            ));
        }
    }
    let settings = ModelSettings {
        model: top.string(merged, "model")?,
        model_provider: top.string(merged, "model_provider")?,
        reasoning_effort: top.string(merged, "model_reasoning_effort")?,
        providers,
        openai_base_url: top.string(merged, "openai_base_url")?,
    };
    Ok((settings, ignored))
}

fn provider(fields: &Fields, table: &toml::Table) -> Result<ProviderSettings, FieldProblem> {
    let wire_api = match fields.string(table, "wire_api")? {
        None => None,
        Some(text) => Some(
            text.parse::<WireApi>()
                .map_err(|err| fields.problem(&["wire_api"], err.to_string()))?,
        ),
    };
    let retries = |key: &str| -> Result<Option<u32>, FieldProblem> {
        match fields.integer(table, key)? {
            None => Ok(None),
            Some(n) if n <= 100 => Ok(Some(n as u32)),
            Some(n) => {
                Err(fields.problem(&[key], format!("{key}: {n} is out of range (0 to 100)")))
            }
        }
    };
    Ok(ProviderSettings {
        name: fields.string(table, "name")?,
        base_url: fields.string(table, "base_url")?,
        env_key: fields.string(table, "env_key")?,
        env_key_instructions: fields.string(table, "env_key_instructions")?,
        wire_api,
        query_params: fields
            .string_map(table, "query_params")?
            .unwrap_or_default(),
        http_headers: fields
            .string_map(table, "http_headers")?
            .unwrap_or_default(),
        env_http_headers: fields
            .string_map(table, "env_http_headers")?
            .unwrap_or_default(),
        request_max_retries: retries("request_max_retries")?,
        stream_max_retries: retries("stream_max_retries")?,
        stream_idle_timeout: fields.millis(table, "stream_idle_timeout_ms")?,
        requires_openai_auth: fields
            .boolean(table, "requires_openai_auth")?
            .unwrap_or(false),
        experimental_bearer_token: fields.string(table, "experimental_bearer_token")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};

    #[track_caller]
    fn check(toml: &str, expect: Expect) {
        let table: toml::Table = toml.parse().expect("valid toml");
        let rendered = match model_settings(&table) {
            Ok((settings, ignored)) => {
                let mut out = format!("{settings:#?}");
                for path in ignored {
                    out.push_str(&format!("\nignored: {}", path.join(".")));
                }
                out
            }
            Err(problem) => format!("error at {}: {}", problem.path.join("."), problem.message),
        };
        expect.assert_eq(&rendered);
    }

    #[test]
    fn a_local_provider() {
        check(
            r#"model = "qwen3"
model_provider = "local"
[model_providers.local]
name = "LM Studio"
base_url = "http://127.0.0.1:1234/v1"
wire_api = "chat"
stream_idle_timeout_ms = 5000
request_max_retries = 0
colour = "blue""#,
            expect![[r#"
                ModelSettings {
                    model: Some(
                        "qwen3",
                    ),
                    model_provider: Some(
                        "local",
                    ),
                    reasoning_effort: None,
                    providers: {
                        "local": ProviderSettings {
                            name: Some(
                                "LM Studio",
                            ),
                            base_url: Some(
                                "http://127.0.0.1:1234/v1",
                            ),
                            env_key: None,
                            env_key_instructions: None,
                            wire_api: Some(
                                Chat,
                            ),
                            query_params: {},
                            http_headers: {},
                            env_http_headers: {},
                            request_max_retries: Some(
                                0,
                            ),
                            stream_max_retries: None,
                            stream_idle_timeout: Some(
                                5s,
                            ),
                            requires_openai_auth: false,
                            experimental_bearer_token: None,
                        },
                    },
                    openai_base_url: None,
                }
                ignored: model_providers.local.colour"#]],
        );
    }

    #[test]
    fn bad_values_name_the_key() {
        check(
            "[model_providers.x]\nwire_api = \"grpc\"",
            expect![[
                r#"error at model_providers.x.wire_api: unknown wire_api "grpc" (expected one of responses, chat)"#
            ]],
        );
        check(
            "[model_providers.x]\nstream_max_retries = 1000",
            expect![
                "error at model_providers.x.stream_max_retries: stream_max_retries: 1000 is out of range (0 to 100)"
            ],
        );
        check(
            "model = 5",
            expect!["error at model: model: expected a string, found an integer"],
        );
    }
}
