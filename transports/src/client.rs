//! Our HTTP client (hyper + rustls), shared by the MCP HTTP transports,
//! OAuth and the model stream, and [`HttpError`], what it reports.
//!
//! Redirects are never followed. A 3xx answer becomes
//! [`HttpError::Redirect`], which says whether the target was on another
//! origin; following even a same-origin redirect would re-send the bearer
//! token to a URL the policy did not match, so we refuse both.
//!
//! This module knows nothing of MCP: the per-server headers are
//! `headers.rs`'s.

use std::sync::Arc;

use bytes::Bytes;
use http::header::{HeaderValue, LOCATION};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// The `User-Agent` we send.
pub const USER_AGENT_VALUE: &str = concat!("codex-mcp-client/", env!("CARGO_PKG_VERSION"));

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
        location: crate::identity::mask_url_secrets(
            &target.map_or_else(|| location.to_owned(), |url| url.to_string()),
        ),
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

/// An HTTP exchange failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// Connecting or sending failed.
    #[error("{}", request_cause(.0))]
    Request(#[source] hyper_util::client::legacy::Error),
    /// Reading the response body failed.
    #[error("reading the response failed: {0}")]
    Body(#[source] hyper::Error),
    /// The request could not be built (for example, a bad URL).
    #[error("invalid request: {0}")]
    Build(#[source] http::Error),
    /// A message could not be serialised.
    #[error("invalid JSON: {0}")]
    Json(#[source] serde_json::Error),
    /// The server redirected; redirects are never followed.
    #[error("{} (HTTP {status}) to `{location}`", if *cross_origin { "refused a cross-origin redirect" } else { "refused a redirect" })]
    Redirect {
        /// The 3xx status.
        status: u16,
        /// The `Location`, resolved against the request URL, its secrets
        /// masked.
        location: String,
        /// Whether the target is on another origin.
        cross_origin: bool,
    },
    /// The server answered with an unexpected status.
    #[error("unexpected HTTP status {status}: {body}")]
    Status {
        /// The status code.
        status: u16,
        /// The start of the body, for diagnosis.
        body: String,
    },
    /// The response had an unexpected `Content-Type`.
    #[error("unexpected content type {0:?}")]
    ContentType(Option<String>),
    /// One server-sent event was larger than the limit.
    #[error("a server-sent event exceeded {limit} bytes")]
    EventTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The transport was closed.
    #[error("the transport is closed")]
    Closed,
}

/// What went wrong with a request, in words: "connection refused",
/// "connection timed out", "dns error: ...", from the innermost cause.
fn request_cause(err: &hyper_util::client::legacy::Error) -> String {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(err);
    let mut innermost = None;
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => return "connection refused".to_owned(),
                std::io::ErrorKind::TimedOut => return "connection timed out".to_owned(),
                std::io::ErrorKind::ConnectionReset => return "connection reset".to_owned(),
                _ => {}
            }
        }
        innermost = Some(cause);
        source = cause.source();
    }
    match innermost {
        Some(cause) if err.is_connect() => format!("cannot connect: {cause}"),
        Some(cause) => cause.to_string(),
        None if err.is_connect() => "cannot connect".to_owned(),
        None => err.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_size_resets_on_blank_lines() {
        let mut size = EventSize::default();
        assert_eq!(size.feed(b"data: abc\n"), 9);
        assert_eq!(size.feed(b"data: d\n\n"), 16);
        assert_eq!(size.feed(b"data: e\r\n\r\n"), 7);
    }
}
