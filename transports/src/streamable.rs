//! The streamable HTTP plugin: rmcp's streamable-HTTP client worker over our
//! hyper + rustls stack.
//!
//! [`HyperStreamableClient`] implements rmcp's `StreamableHttpClient`; rmcp's
//! `StreamableHttpClientTransport` drives it (sessions, the standalone SSE
//! stream, reconnection). We send `User-Agent`, the configured headers and
//! the bearer token on every request, and never follow redirects.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use futures::FutureExt;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use http::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use rmcp::model::{
    ClientJsonRpcMessage, ClientRequest, ErrorData, JsonRpcMessage, ServerJsonRpcMessage,
};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::{
    AuthRequiredError, HttpStatusError, InsufficientScopeError, StreamableHttpClient,
    StreamableHttpClientTransportConfig, StreamableHttpError, StreamableHttpPostResponse,
    StreamableHttpResponseLimits,
};
use sse_stream::Sse;

use crate::boxed::BoxedTransport;
use crate::client::{HttpClient, HttpError, media_type_is, read_body, sse_events};
use crate::config::{HttpConfig, TransportConfig, TransportKind};
use crate::error::ConnectError;
use crate::headers::ServerHeaders;
use crate::oauth::{Challenge, CredentialStore, OAuthBearer};
use crate::plugin::{ConnectContext, Connection, TransportPlugin};

const JSON: &str = "application/json";
const EVENT_STREAM: &str = "text/event-stream";
const SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");
const LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");
/// Limits used by the plain `post_message` / `get_stream` entry points.
const DEFAULT_MAX_EVENT: usize = 16 * 1024 * 1024;

type Error = StreamableHttpError<HttpError>;
type SseStream = BoxStream<'static, Result<Sse, sse_stream::Error>>;

/// The plugin for [`TransportKind::StreamableHttp`].
#[derive(Debug, Clone, Copy, Default)]
pub struct StreamableHttpPlugin;

impl TransportPlugin for StreamableHttpPlugin {
    fn kind(&self) -> TransportKind {
        TransportKind::StreamableHttp
    }

    fn connect<'a>(
        &'a self,
        config: &'a TransportConfig,
        ctx: &'a ConnectContext,
    ) -> BoxFuture<'a, Result<Connection, ConnectError>> {
        async move {
            let http = http_config(config)?;
            let headers = ServerHeaders::resolve(http, ctx)?;
            let stack = HttpClient::new().map_err(|source| ConnectError::Tls {
                server: ctx.server_name.clone(),
                source,
            })?;
            let mut transport_config =
                StreamableHttpClientTransportConfig::with_uri(http.canonical_url.as_str());
            if let Some(token) = &headers.bearer {
                transport_config = transport_config.auth_header(token.clone());
            }
            let custom: HashMap<HeaderName, HeaderValue> = headers
                .custom
                .iter()
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect();
            transport_config = transport_config.custom_headers(custom);
            // A configured token wins; else the stored login, if any.
            let oauth = match (&headers.bearer, &ctx.credentials) {
                (None, Some(path)) => OAuthBearer::load(
                    &CredentialStore::new(path.clone()),
                    &ctx.server_name,
                    ctx.credentials_url
                        .as_deref()
                        .unwrap_or(http.canonical_url.as_str()),
                    stack.clone(),
                )
                .map_err(|source| ConnectError::Credentials {
                    server: ctx.server_name.clone(),
                    source,
                })?
                .map(Arc::new),
                _ => None,
            };
            let health = crate::TransportHealth::default();
            let client = HyperStreamableClient {
                stack,
                oauth,
                health: health.clone(),
            };
            let transport = StreamableHttpClientTransport::with_client(client, transport_config);
            Ok(Connection::remote(BoxedTransport::with_health(
                "streamable_http",
                transport,
                health,
            )))
        }
        .boxed()
    }
}

fn http_config(config: &TransportConfig) -> Result<&HttpConfig, ConnectError> {
    match config {
        TransportConfig::StreamableHttp(http) => Ok(http),
        TransportConfig::Stdio(_) | TransportConfig::Sse(_) => Err(ConnectError::mismatch(
            config,
            TransportKind::StreamableHttp,
        )),
    }
}

/// rmcp's `StreamableHttpClient` over [`HttpClient`], with a stored OAuth
/// login when the server has one.
#[derive(Debug, Clone)]
struct HyperStreamableClient {
    stack: HttpClient,
    oauth: Option<Arc<OAuthBearer>>,
    /// Told when an answer is past the size limit.
    health: crate::TransportHealth,
}

impl HyperStreamableClient {
    fn request(
        method: Method,
        uri: &str,
        auth_token: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        body: Bytes,
    ) -> Result<Request<Full<Bytes>>, Error> {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .body(Full::new(body))
            .map_err(|e| StreamableHttpError::Client(HttpError::Build(e)))?;
        let headers = request.headers_mut();
        headers.extend(custom_headers);
        if let Some(token) = auth_token {
            let value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
                StreamableHttpError::UnexpectedServerResponse(Cow::Borrowed(
                    "the bearer token is not a valid header value",
                ))
            })?;
            headers.insert(http::header::AUTHORIZATION, value);
        }
        Ok(request)
    }

    /// Sends `request`; with a stored login, as its bearer, and once more
    /// with a refreshed token if the server refuses the first.
    async fn send(&self, mut request: Request<Full<Bytes>>) -> Result<Response<Incoming>, Error> {
        let Some(oauth) = &self.oauth else {
            return self
                .stack
                .send(request)
                .await
                .map_err(StreamableHttpError::Client);
        };
        let token = oauth.token().await;
        set_bearer(&mut request, &token);
        let (parts, body) = request.into_parts();
        let again = Request::from_parts(parts.clone(), body.clone());
        let response = self
            .stack
            .send(Request::from_parts(parts, body))
            .await
            .map_err(StreamableHttpError::Client)?;
        if response.status() != StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        let Some(fresh) = oauth.after_refusal(&token).await else {
            return Ok(response);
        };
        let mut again = again;
        set_bearer(&mut again, &fresh);
        self.stack
            .send(again)
            .await
            .map_err(StreamableHttpError::Client)
    }
}

fn set_bearer(request: &mut Request<Full<Bytes>>, token: &str) {
    if let Ok(mut value) = HeaderValue::from_str(&format!("Bearer {token}")) {
        value.set_sensitive(true);
        request
            .headers_mut()
            .insert(http::header::AUTHORIZATION, value);
    }
}

/// Maps 401 and 403 answers that carry a challenge to rmcp's auth errors.
fn auth_error(response: &Response<Incoming>) -> Option<Error> {
    let challenge = response
        .headers()
        .get(WWW_AUTHENTICATE)?
        .to_str()
        .ok()?
        .to_owned();
    match response.status() {
        StatusCode::UNAUTHORIZED => Some(StreamableHttpError::AuthRequired(
            AuthRequiredError::new(challenge),
        )),
        StatusCode::FORBIDDEN => {
            let scope = Challenge::parse(&challenge).scope;
            Some(StreamableHttpError::InsufficientScope(
                InsufficientScopeError::new(challenge, scope),
            ))
        }
        _ => None,
    }
}

/// The error answer to a `server/discover` that a server without a session
/// refused with a client error (other than an auth challenge), correlated
/// with the request's id.
fn discover_refused(
    message: &ClientJsonRpcMessage,
    session_attached: bool,
    status: StatusCode,
    body: &[u8],
) -> Option<StreamableHttpPostResponse> {
    if session_attached
        || !status.is_client_error()
        || matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
    {
        return None;
    }
    let JsonRpcMessage::Request(request) = message else {
        return None;
    };
    if !matches!(request.request, ClientRequest::DiscoverRequest(_)) {
        return None;
    }
    let error = match serde_json::from_slice::<ServerJsonRpcMessage>(body) {
        Ok(JsonRpcMessage::Error(error)) => error.error,
        _ => ErrorData::invalid_request(
            format!(
                "server/discover refused with HTTP {status}: {}",
                String::from_utf8_lossy(body)
            ),
            None,
        ),
    };
    Some(StreamableHttpPostResponse::Json(
        ServerJsonRpcMessage::error(error, Some(request.id.clone())),
        None,
    ))
}

fn session_id_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get(SESSION_ID)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

impl StreamableHttpClient for HyperStreamableClient {
    type Error = HttpError;

    async fn post_message(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_token: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<StreamableHttpPostResponse, Error> {
        self.post_message_with_response_limits(
            uri,
            message,
            session_id,
            auth_token,
            custom_headers,
            StreamableHttpResponseLimits::default(),
        )
        .await
    }

    async fn post_message_with_max_sse_event_size(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_token: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> Result<StreamableHttpPostResponse, Error> {
        let mut limits = StreamableHttpResponseLimits::default();
        limits.max_sse_event_size = max_sse_event_size;
        self.post_message_with_response_limits(
            uri,
            message,
            session_id,
            auth_token,
            custom_headers,
            limits,
        )
        .await
    }

    async fn post_message_with_response_limits(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_token: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        limits: StreamableHttpResponseLimits,
    ) -> Result<StreamableHttpPostResponse, Error> {
        let body = serde_json::to_vec(&message)
            .map_err(|e| StreamableHttpError::Client(HttpError::Json(e)))?;
        let mut request =
            Self::request(Method::POST, &uri, auth_token, custom_headers, body.into())?;
        let headers = request.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(JSON));
        headers.insert(
            ACCEPT,
            HeaderValue::from_static("application/json, text/event-stream"),
        );
        let session_attached = session_id.is_some();
        if let Some(session_id) = session_id {
            let value = HeaderValue::from_str(&session_id).map_err(|_| {
                StreamableHttpError::UnexpectedServerResponse(Cow::Borrowed(
                    "the session id is not a valid header value",
                ))
            })?;
            headers.insert(SESSION_ID, value);
        }
        let response = self.send(request).await?;
        let status = response.status();
        if let Some(error) = auth_error(&response) {
            return Err(error);
        }
        if matches!(status, StatusCode::ACCEPTED | StatusCode::NO_CONTENT) {
            return Ok(StreamableHttpPostResponse::Accepted);
        }
        if status == StatusCode::NOT_FOUND && session_attached {
            return Err(StreamableHttpError::SessionExpired);
        }
        let content_type = response.headers().get(CONTENT_TYPE).cloned();
        let content_length = response
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok());
        let session_id = session_id_of(response.headers());
        let awaits_no_response = !matches!(message, JsonRpcMessage::Request(_));

        if !status.is_success() {
            let retry_after = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned);
            let is_json = media_type_is(content_type.as_ref(), JSON);
            let limit = if is_json {
                limits.max_json_response_size
            } else {
                limits.max_error_response_size
            };
            let (bytes, _) = read_body(response.into_body(), limit)
                .await
                .map_err(StreamableHttpError::Client)?;
            // A legacy server refusing `server/discover` tells the lifecycle
            // to fall back to `initialize`: answer with an error that
            // carries the request's own id, whatever the body said.
            if let Some(answer) = discover_refused(&message, session_attached, status, &bytes) {
                return Ok(answer);
            }
            // A JSON-RPC error in the body is the real answer.
            if is_json
                && let Ok(error @ JsonRpcMessage::Error(_)) =
                    serde_json::from_slice::<ServerJsonRpcMessage>(&bytes)
            {
                return Ok(StreamableHttpPostResponse::Json(error, session_id));
            }
            if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
                return Err(StreamableHttpError::HttpStatus(HttpStatusError::new(
                    status.as_u16(),
                    retry_after,
                )));
            }
            // Cut the bytes, not the text: a cut inside a character would
            // panic.
            let text =
                String::from_utf8_lossy(&bytes[..bytes.len().min(limits.max_error_response_size)]);
            return Err(StreamableHttpError::UnexpectedServerResponse(Cow::Owned(
                format!("HTTP {status}: {text}"),
            )));
        }
        if content_length == Some(0) && awaits_no_response {
            return Ok(StreamableHttpPostResponse::Accepted);
        }
        if media_type_is(content_type.as_ref(), EVENT_STREAM) {
            let events = sse_events(response.into_body(), limits.max_sse_event_size);
            return Ok(StreamableHttpPostResponse::Sse(events, session_id));
        }
        if media_type_is(content_type.as_ref(), JSON) {
            let limit = limits.max_json_response_size;
            let (bytes, truncated) = read_body(response.into_body(), limit)
                .await
                .map_err(StreamableHttpError::Client)?;
            if truncated {
                self.health.oversized();
                return Err(StreamableHttpError::ResponseBodyTooLarge { max_size: limit });
            }
            return match serde_json::from_slice::<ServerJsonRpcMessage>(&bytes) {
                Ok(parsed) => Ok(StreamableHttpPostResponse::Json(parsed, session_id)),
                Err(_) if awaits_no_response => Ok(StreamableHttpPostResponse::Accepted),
                Err(error) => Err(StreamableHttpError::Deserialize(error)),
            };
        }
        if awaits_no_response {
            return Ok(StreamableHttpPostResponse::Accepted);
        }
        Err(StreamableHttpError::UnexpectedContentType(
            content_type.map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned()),
        ))
    }

    async fn delete_session(
        &self,
        uri: Arc<str>,
        session_id: Arc<str>,
        auth_token: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<(), Error> {
        let mut request = Self::request(
            Method::DELETE,
            &uri,
            auth_token,
            custom_headers,
            Bytes::new(),
        )?;
        if let Ok(value) = HeaderValue::from_str(&session_id) {
            request.headers_mut().insert(SESSION_ID, value);
        }
        let response = self.send(request).await?;
        let status = response.status();
        if status == StatusCode::METHOD_NOT_ALLOWED || status.is_success() {
            return Ok(());
        }
        Err(StreamableHttpError::UnexpectedServerResponse(Cow::Owned(
            format!("delete_session returned HTTP {status}"),
        )))
    }

    async fn get_stream(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        auth_token: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<SseStream, Error> {
        self.get_stream_with_max_sse_event_size(
            uri,
            session_id,
            last_event_id,
            auth_token,
            custom_headers,
            DEFAULT_MAX_EVENT,
        )
        .await
    }

    async fn get_stream_with_max_sse_event_size(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        auth_token: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> Result<SseStream, Error> {
        let mut request =
            Self::request(Method::GET, &uri, auth_token, custom_headers, Bytes::new())?;
        let headers = request.headers_mut();
        headers.insert(ACCEPT, HeaderValue::from_static(EVENT_STREAM));
        if let Some(value) = session_id.and_then(|id| HeaderValue::from_str(&id).ok()) {
            headers.insert(SESSION_ID, value);
        }
        if let Some(value) = last_event_id.and_then(|id| HeaderValue::from_str(&id).ok()) {
            headers.insert(LAST_EVENT_ID, value);
        }
        let response = self.send(request).await?;
        let status = response.status();
        if status == StatusCode::METHOD_NOT_ALLOWED {
            return Err(StreamableHttpError::ServerDoesNotSupportSse);
        }
        if let Some(error) = auth_error(&response) {
            return Err(error);
        }
        if !status.is_success() {
            return Err(StreamableHttpError::UnexpectedServerResponse(Cow::Owned(
                format!("get_stream returned HTTP {status}"),
            )));
        }
        let content_type = response.headers().get(CONTENT_TYPE);
        if !media_type_is(content_type, EVENT_STREAM) {
            return Err(StreamableHttpError::UnexpectedContentType(
                content_type.map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned()),
            ));
        }
        Ok(sse_events(response.into_body(), max_sse_event_size))
    }
}

#[cfg(test)]
mod tests {
    use crate::oauth::Challenge;

    fn scope_of(challenge: &str) -> Option<String> {
        Challenge::parse(challenge).scope
    }

    #[test]
    fn scopes_from_challenges() {
        assert_eq!(
            scope_of(r#"Bearer error="insufficient_scope", scope="a b""#).as_deref(),
            Some("a b")
        );
        assert_eq!(scope_of("Bearer scope=read, x=1").as_deref(), Some("read"));
        assert_eq!(scope_of("Bearer realm=x"), None);
    }
}
