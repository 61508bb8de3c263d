//! [`ModelProvider`]: a provider from config made callable, with its API key
//! and headers read from an environment the caller passes in.
//!
//! Built-in providers, as in Codex:
//! - `openai`: `OPENAI_BASE_URL`, else `openai_base_url` in config, else
//!   `https://api.openai.com/v1`; Responses API; key from `CODEX_API_KEY`
//!   (which wins) or `OPENAI_API_KEY`;
//! - `ollama`: `http://localhost:11434/v1`, Chat Completions, no key;
//! - `lmstudio`: `http://localhost:1234/v1`, Chat Completions, no key.
//!
//! `CODEX_OSS_BASE_URL` or `CODEX_OSS_PORT` move the two local ones. A
//! `[model_providers.ID]` table adds a provider; it cannot redefine a
//! built-in id.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use crate::config::{ModelSettings, ProviderSettings, WireApi};

/// The model used when config names none.
pub const DEFAULT_MODEL: &str = "gpt-5-codex";
const DEFAULT_REQUEST_MAX_RETRIES: u32 = 4;
const DEFAULT_STREAM_MAX_RETRIES: u32 = 5;
const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(300);

/// A string that must never be shown: its `Debug` and `Display` print
/// `*****`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("*****")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("*****")
    }
}

/// A provider ready to be called.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelProvider {
    /// Its id (`openai`, or a `[model_providers]` key).
    pub id: String,
    /// Its display name.
    pub name: String,
    /// The base URL, without a trailing slash.
    pub base_url: String,
    /// Which API it speaks.
    pub wire_api: WireApi,
    /// Appended to every request URL.
    pub query_params: BTreeMap<String, String>,
    /// Extra headers (configured ones and those read from variables).
    pub headers: BTreeMap<String, String>,
    /// Sent as `Authorization: Bearer ...` when present.
    pub api_key: Option<Secret>,
    /// Retries before the stream starts.
    pub request_max_retries: u32,
    /// Retries of a broken or incomplete stream.
    pub stream_max_retries: u32,
    /// The longest wait for the next event.
    pub stream_idle_timeout: Duration,
}

impl ModelProvider {
    /// The endpoint for this provider's wire API, with its query params.
    pub fn endpoint(&self) -> String {
        let path = match self.wire_api {
            WireApi::Responses => "responses",
            WireApi::Chat => "chat/completions",
        };
        let mut url = format!("{}/{path}", self.base_url);
        if !self.query_params.is_empty() {
            let query: Vec<String> = self
                .query_params
                .iter()
                .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
                .collect();
            url.push('?');
            url.push_str(&query.join("&"));
        }
        url
    }

    /// This provider with `name: value` on every request, replacing any
    /// configured header of that name in any letter case: what an admin
    /// requires (`enforce_residency`) cannot be overridden by config.
    pub fn with_required_header(&self, name: &str, value: &str) -> ModelProvider {
        let mut provider = self.clone();
        provider
            .headers
            .retain(|configured, _| !configured.eq_ignore_ascii_case(name));
        provider.headers.insert(name.to_owned(), value.to_owned());
        provider
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Why a provider cannot be called.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProviderError {
    /// `model_provider` names no provider.
    #[error(
        "model provider `{id}` is not defined: add [model_providers.{id}] to config.toml, or use one of openai, ollama, lmstudio"
    )]
    Unknown {
        /// The id asked for.
        id: String,
    },
    /// A user-defined provider has no `base_url`.
    #[error("model provider `{id}` has no base_url")]
    NoBaseUrl {
        /// The provider.
        id: String,
    },
    /// `base_url` is not an http(s) URL.
    #[error("model provider `{id}`: base_url {url:?} is not an http or https URL")]
    BadBaseUrl {
        /// The provider.
        id: String,
        /// The value.
        url: String,
    },
    /// The variable that must hold the API key is unset or empty.
    #[error("Missing environment variable: `{var}`.{}", instructions.as_deref().map(|i| format!(" {i}")).unwrap_or_default())]
    MissingKey {
        /// The variable.
        var: String,
        /// `env_key_instructions`, or our own hint.
        instructions: Option<String>,
    },
}

/// Resolves the configured provider against `env` (a lookup into the
/// process environment, or a test's map). Returns the model name and the
/// provider.
pub fn resolve_provider(
    settings: &ModelSettings,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(String, ModelProvider), ProviderError> {
    let model = settings
        .model
        .clone()
        .unwrap_or_else(|| DEFAULT_MODEL.to_owned());
    let id = settings
        .model_provider
        .clone()
        .unwrap_or_else(|| "openai".to_owned());
    let non_empty = |var: &str| env(var).filter(|value| !value.trim().is_empty());
    let defaults = |id: &str, name: &str, base_url: String, wire_api| ModelProvider {
        id: id.to_owned(),
        name: name.to_owned(),
        base_url,
        wire_api,
        query_params: BTreeMap::new(),
        headers: BTreeMap::new(),
        api_key: None,
        request_max_retries: DEFAULT_REQUEST_MAX_RETRIES,
        stream_max_retries: DEFAULT_STREAM_MAX_RETRIES,
        stream_idle_timeout: DEFAULT_IDLE_TIMEOUT,
    };
    let oss_base = |port: u16| {
        non_empty("CODEX_OSS_BASE_URL").unwrap_or_else(|| {
            let port = non_empty("CODEX_OSS_PORT")
                .and_then(|p| p.trim().parse::<u16>().ok())
                .unwrap_or(port);
            format!("http://localhost:{port}/v1")
        })
    };
    let provider = match id.as_str() {
        "openai" => {
            let base = non_empty("OPENAI_BASE_URL")
                .or_else(|| {
                    settings
                        .openai_base_url
                        .clone()
                        .filter(|url| !url.trim().is_empty())
                })
                .unwrap_or_else(|| "https://api.openai.com/v1".to_owned());
            let mut provider = defaults("openai", "OpenAI", base, WireApi::Responses);
            provider.api_key = Some(openai_key(&non_empty)?);
            provider
        }
        "ollama" => defaults("ollama", "Ollama", oss_base(11434), WireApi::Chat),
        "lmstudio" => defaults("lmstudio", "LM Studio", oss_base(1234), WireApi::Chat),
        other => {
            let settings = settings
                .providers
                .get(other)
                .ok_or_else(|| ProviderError::Unknown { id: id.clone() })?;
            user_provider(other, settings, &non_empty)?
        }
    };
    let base_url = provider.base_url.trim_end_matches('/').to_owned();
    if !(base_url.starts_with("http://") || base_url.starts_with("https://"))
        || url::Url::parse(&base_url).is_err()
    {
        return Err(ProviderError::BadBaseUrl {
            id: provider.id,
            url: base_url,
        });
    }
    Ok((
        model,
        ModelProvider {
            base_url,
            ..provider
        },
    ))
}

fn openai_key(non_empty: &dyn Fn(&str) -> Option<String>) -> Result<Secret, ProviderError> {
    non_empty("CODEX_API_KEY")
        .or_else(|| non_empty("OPENAI_API_KEY"))
        .map(Secret)
        .ok_or_else(|| ProviderError::MissingKey {
            var: "OPENAI_API_KEY".to_owned(),
            instructions: Some(
                "Set it (or `CODEX_API_KEY`) to an OpenAI API key, or choose another \
                 model_provider in config.toml."
                    .to_owned(),
            ),
        })
}

fn user_provider(
    id: &str,
    settings: &ProviderSettings,
    non_empty: &dyn Fn(&str) -> Option<String>,
) -> Result<ModelProvider, ProviderError> {
    let base_url = settings
        .base_url
        .clone()
        .ok_or_else(|| ProviderError::NoBaseUrl { id: id.to_owned() })?;
    let api_key = match (&settings.env_key, &settings.experimental_bearer_token) {
        (Some(var), _) => {
            Some(
                non_empty(var)
                    .map(Secret)
                    .ok_or_else(|| ProviderError::MissingKey {
                        var: var.clone(),
                        instructions: settings.env_key_instructions.clone(),
                    })?,
            )
        }
        (None, Some(token)) => Some(Secret(token.clone())),
        (None, None) if settings.requires_openai_auth => Some(openai_key(non_empty)?),
        (None, None) => None,
    };
    let mut headers = settings.http_headers.clone();
    for (header, var) in &settings.env_http_headers {
        if let Some(value) = non_empty(var) {
            headers.insert(header.clone(), value);
        }
    }
    Ok(ModelProvider {
        id: id.to_owned(),
        name: settings.name.clone().unwrap_or_else(|| id.to_owned()),
        base_url,
        wire_api: settings.wire_api.unwrap_or(WireApi::Responses),
        query_params: settings.query_params.clone(),
        headers,
        api_key,
        request_max_retries: settings
            .request_max_retries
            .unwrap_or(DEFAULT_REQUEST_MAX_RETRIES),
        stream_max_retries: settings
            .stream_max_retries
            .unwrap_or(DEFAULT_STREAM_MAX_RETRIES),
        stream_idle_timeout: settings.stream_idle_timeout.unwrap_or(DEFAULT_IDLE_TIMEOUT),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| vars.get(name).cloned()
    }

    #[test]
    fn openai_takes_the_base_url_and_key_from_the_environment() {
        let settings = ModelSettings::default();
        let (model, provider) = resolve_provider(
            &settings,
            &env(&[
                ("OPENAI_BASE_URL", "http://127.0.0.1:9/v1/"),
                ("OPENAI_API_KEY", "sk-openai"),
                ("CODEX_API_KEY", "sk-codex"),
            ]),
        )
        .expect("resolves");
        assert_eq!(model, DEFAULT_MODEL);
        assert_eq!(provider.endpoint(), "http://127.0.0.1:9/v1/responses");
        assert_eq!(
            provider.api_key.as_ref().map(Secret::expose),
            Some("sk-codex")
        );
        assert_eq!(format!("{provider:?}").matches("sk-").count(), 0);
    }

    #[test]
    fn a_missing_key_names_the_variable() {
        let err = resolve_provider(&ModelSettings::default(), &env(&[])).expect_err("no key");
        assert!(
            err.to_string()
                .starts_with("Missing environment variable: `OPENAI_API_KEY`."),
            "{err}"
        );
        let mut settings = ModelSettings {
            model_provider: Some("corp".to_owned()),
            ..ModelSettings::default()
        };
        settings.providers.insert(
            "corp".to_owned(),
            ProviderSettings {
                base_url: Some("https://llm.corp/v1".to_owned()),
                env_key: Some("CORP_KEY".to_owned()),
                env_key_instructions: Some("Ask IT.".to_owned()),
                ..ProviderSettings::default()
            },
        );
        let err = resolve_provider(&settings, &env(&[("CORP_KEY", " ")])).expect_err("empty");
        assert_eq!(
            err.to_string(),
            "Missing environment variable: `CORP_KEY`. Ask IT."
        );
    }

    #[test]
    fn user_providers_get_query_params_and_env_headers() {
        let mut settings = ModelSettings {
            model: Some("llama".to_owned()),
            model_provider: Some("local".to_owned()),
            ..ModelSettings::default()
        };
        settings.providers.insert(
            "local".to_owned(),
            ProviderSettings {
                base_url: Some("http://127.0.0.1:1234/v1".to_owned()),
                wire_api: Some(WireApi::Chat),
                query_params: BTreeMap::from([("api-version".to_owned(), "a b".to_owned())]),
                env_http_headers: BTreeMap::from([
                    ("X-Org".to_owned(), "ORG".to_owned()),
                    ("X-Unset".to_owned(), "UNSET".to_owned()),
                ]),
                ..ProviderSettings::default()
            },
        );
        let (model, provider) =
            resolve_provider(&settings, &env(&[("ORG", "acme")])).expect("resolves");
        assert_eq!(model, "llama");
        assert_eq!(
            provider.endpoint(),
            "http://127.0.0.1:1234/v1/chat/completions?api-version=a%20b"
        );
        assert_eq!(
            provider.headers,
            BTreeMap::from([("X-Org".to_owned(), "acme".to_owned())])
        );
        assert_eq!(provider.api_key, None);
        assert!(matches!(
            resolve_provider(
                &ModelSettings {
                    model_provider: Some("nope".to_owned()),
                    ..ModelSettings::default()
                },
                &env(&[])
            ),
            Err(ProviderError::Unknown { .. })
        ));
    }
}
