//! Our HTTP stack (hyper + rustls) and the request headers shared by the
//! streamable HTTP and legacy SSE plugins.
//!
//! Redirects are never followed. A 3xx answer becomes
//! [`HttpError::Redirect`], which says whether the target was on another
//! origin; following even a same-origin redirect would re-send the bearer
//! token to a URL the policy did not match, so we refuse both.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{AUTHORIZATION, HeaderName, HeaderValue, LOCATION, USER_AGENT};
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::config::HttpConfig;
use crate::error::{ConnectError, HeaderProblem, HttpError};
use crate::plugin::ConnectContext;

/// The `User-Agent` we send.
pub const USER_AGENT_VALUE: &str = concat!("codex-mcp-client/", env!("CARGO_PKG_VERSION"));

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

/// How long establishing a TCP connection may take.
pub(crate) const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Our HTTP client: hyper over rustls (webpki roots, ring), HTTP/1.1, that
/// also speaks plain `http` and never follows a redirect. The MCP HTTP
/// transports and the model stream share it. Cheap to clone.
#[derive(Clone)]
pub struct HttpClient {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient").finish_non_exhaustive()
    }
}

impl HttpClient {
    /// A client with the webpki root certificates.
    ///
    /// # Errors
    ///
    /// Fails only if rustls rejects its own default protocol versions.
    pub fn new() -> Result<Self, rustls::Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_connect_timeout(Some(CONNECT_TIMEOUT));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Ok(HttpClient { client })
    }

    /// Sends `request`; a 3xx answer is [`HttpError::Redirect`].
    ///
    /// # Cancel safety
    ///
    /// Dropping the future abandons the request and its connection.
    pub async fn send(
        &self,
        request: Request<Full<Bytes>>,
    ) -> Result<Response<Incoming>, HttpError> {
        let uri = request.uri().clone();
        let response = self
            .client
            .request(request)
            .await
            .map_err(HttpError::Request)?;
        if response.status().is_redirection() {
            return Err(redirect_error(&uri, &response));
        }
        Ok(response)
    }
}

impl HttpClient {
    /// Sends `request` and returns whatever comes back, redirects
    /// included (for the fault proxy, which passes answers through).
    pub(crate) async fn send_raw(
        &self,
        request: Request<Full<Bytes>>,
    ) -> Result<Response<Incoming>, hyper_util::client::legacy::Error> {
        self.client.request(request).await
    }
}

fn redirect_error(uri: &http::Uri, response: &Response<Incoming>) -> HttpError {
    let location = response
        .headers()
        .get(LOCATION)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let base = url::Url::parse(&uri.to_string()).ok();
    let target = base.as_ref().and_then(|base| base.join(location).ok());
    let cross_origin = match (&base, &target) {
        (Some(base), Some(target)) => base.origin() != target.origin(),
        // An unparseable target counts as foreign.
        _ => true,
    };
    HttpError::Redirect {
        status: response.status().as_u16(),
        location: target.map_or_else(|| location.to_owned(), |url| url.to_string()),
        cross_origin,
    }
}

/// Whether `value` is the media type `expected` (parameters ignored).
pub(crate) fn media_type_is(value: Option<&HeaderValue>, expected: &str) -> bool {
    value
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case(expected))
}

/// Reads at most `limit` bytes of `body`. The flag says whether there were
/// more (they are left unread).
pub async fn read_body(mut body: Incoming, limit: usize) -> Result<(Vec<u8>, bool), HttpError> {
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(HttpError::Body)?;
        if let Ok(data) = frame.into_data() {
            let room = limit - bytes.len();
            if data.len() > room {
                bytes.extend_from_slice(&data[..room]);
                return Ok((bytes, true));
            }
            bytes.extend_from_slice(&data);
        }
    }
    Ok((bytes, false))
}

/// Converts a non-success response into [`HttpError::Status`], keeping the
/// start of the body.
pub(crate) async fn status_error(status: StatusCode, body: Incoming) -> HttpError {
    let text = match read_body(body, 4096).await {
        Ok((bytes, _)) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(_) => String::new(),
    };
    HttpError::Status {
        status: status.as_u16(),
        body: text,
    }
}

/// An SSE stream over `body` that fails once one event exceeds
/// `max_event` bytes.
pub fn sse_events(
    body: Incoming,
    max_event: usize,
) -> futures::stream::BoxStream<'static, Result<sse_stream::Sse, sse_stream::Error>> {
    use futures::StreamExt;
    let mut size = EventSize::default();
    let bytes = body.into_data_stream().map(move |chunk| {
        let chunk = chunk.map_err(std::io::Error::other)?;
        if size.feed(&chunk) > max_event {
            return Err(std::io::Error::other(HttpError::EventTooLarge {
                limit: max_event,
            }));
        }
        Ok::<Bytes, std::io::Error>(chunk)
    });
    sse_stream::SseStream::from_bytes_stream(bytes).boxed()
}

/// Counts the bytes of the SSE event being received; a blank line ends an
/// event.
#[derive(Debug, Default)]
struct EventSize {
    current: usize,
    at_line_start: bool,
}

impl EventSize {
    fn feed(&mut self, chunk: &[u8]) -> usize {
        let mut largest = self.current;
        for &byte in chunk {
            match byte {
                b'\n' if self.at_line_start => self.current = 0,
                b'\n' => self.at_line_start = true,
                b'\r' => {}
                _ => {
                    self.at_line_start = false;
                    self.current += 1;
                    largest = largest.max(self.current);
                }
            }
        }
        largest
    }
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

    #[test]
    fn event_size_resets_on_blank_lines() {
        let mut size = EventSize::default();
        assert_eq!(size.feed(b"data: abc\n"), 9);
        assert_eq!(size.feed(b"data: d\n\n"), 16);
        assert_eq!(size.feed(b"data: e\r\n\r\n"), 7);
    }
}
