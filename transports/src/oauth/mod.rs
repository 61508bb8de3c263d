//! OAuth for HTTP MCP servers (the MCP authorization spec, 2025-11-25 and
//! 2026-07-28): discovery, client registration, the authorization-code
//! flow with PKCE, refresh, and the credentials file.
//!
//! The OAuth protocol itself (PKCE, the authorization URL, the code and
//! refresh exchanges, client authentication `client_secret_basic`,
//! `client_secret_post` and `none`) is the `oauth2` crate's, run on our own
//! [`HttpClient`]: no second HTTP stack. What is MCP-specific is here:
//!
//! 1. [`Challenge`]: the `WWW-Authenticate` of a 401 or 403.
//! 2. [`OAuth::protected_resource`]: RFC 9728 metadata from the challenge's
//!    `resource_metadata`, else the path-based then the root well-known;
//!    its `resource` must be the MCP server itself (same origin, a path
//!    prefix), or the flow stops.
//! 3. [`OAuth::authorization_server`]: RFC 8414 and OpenID metadata, path
//!    insertion first, never the root document for an issuer with a path;
//!    its `issuer` must equal the identifier it was found under, byte for
//!    byte; PKCE S256 must be supported.
//! 4. The client: pre-registered, a client ID metadata document when the
//!    server supports one, or dynamic registration ([`OAuth::register`]).
//! 5. [`choose_scope`]: the challenge's scope, else the resource's
//!    `scopes_supported`, else none; `offline_access` added when the server
//!    offers it; re-authorization asks for the union.
//! 6. [`OAuth::begin`] and [`OAuth::finish`]: the browser leg, with the
//!    `state` and RFC 9207 `iss` checks before any token request, and the
//!    RFC 8707 `resource` (the metadata's string, verbatim) on every request.
//!
//! Every request is made with redirects off: metadata is only ever read
//! from the URLs named above, so discovery cannot wander off to another
//! origin. Identifiers (`resource`, `issuer`) are kept as the exact strings
//! the servers sent.

mod bearer;
mod discovery;
mod flow;
mod store;

use std::time::Duration;

pub use discovery::{AuthServer, Challenge, ProtectedResource};
pub use flow::{
    Callback, ClientChoice, ClientCredentials, PendingAuthorization, Registration, Tokens,
    choose_scope,
};
pub use store::{CREDENTIALS_FILE, CredentialStore, StoreError, StoredCredential};

pub(crate) use bearer::OAuthBearer;

use crate::client::HttpClient;

/// The most a metadata or token answer may weigh.
const MAX_BODY: usize = 1024 * 1024;
/// How long one OAuth request may take.
/// How long each discovery, registration or token request may wait for
/// an answer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Why an OAuth step failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OAuthError {
    /// A request could not be made or answered.
    #[error("{url}: {reason}")]
    Http {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// No protected-resource metadata was found.
    #[error("the server publishes no OAuth protected-resource metadata (tried {tried})")]
    NoResourceMetadata {
        /// The URLs tried.
        tried: String,
    },
    /// The metadata names another resource than the server.
    #[error(
        "the protected-resource metadata is for {resource}, not for {server}; refusing to authorize"
    )]
    ResourceMismatch {
        /// What the metadata says.
        resource: String,
        /// The MCP server's URL.
        server: String,
    },
    /// The metadata names no authorization server.
    #[error("the protected-resource metadata names no authorization server")]
    NoAuthorizationServer,
    /// No authorization-server metadata was found.
    #[error("authorization server {issuer} publishes no metadata (tried {tried})")]
    NoServerMetadata {
        /// The issuer.
        issuer: String,
        /// The URLs tried.
        tried: String,
    },
    /// The metadata's issuer is not the server it was found for.
    #[error(
        "the authorization server metadata says issuer {found}, expected {expected}; refusing to use it"
    )]
    IssuerMismatch {
        /// Where it was looked up.
        expected: String,
        /// What it says.
        found: String,
    },
    /// The server does not support PKCE with S256.
    #[error("authorization server {issuer} does not support PKCE (S256); refusing to authorize")]
    NoPkce {
        /// The issuer.
        issuer: String,
    },
    /// A document is not what it should be.
    #[error("{url}: {reason}")]
    Invalid {
        /// Where it came from.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// No way to get a client id.
    #[error(
        "authorization server {issuer} supports neither dynamic client registration nor client ID metadata documents; set `oauth_client_id` for this server"
    )]
    NoClient {
        /// The issuer.
        issuer: String,
    },
    /// Registration was refused.
    #[error("client registration at {url} failed: {reason}")]
    Registration {
        /// The endpoint.
        url: String,
        /// Why.
        reason: String,
    },
    /// The redirect came back wrong.
    #[error("the authorization response was refused: {0}")]
    Callback(String),
    /// The token endpoint refused.
    #[error("the token request failed: {0}")]
    Token(String),
    /// More re-authorizations than allowed.
    #[error("gave up after {0} authorization attempts")]
    TooManyAttempts(u32),
    /// The credentials file.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The OAuth client: discovery, registration, authorization and tokens over
/// our [`HttpClient`]. Cheap to clone.
#[derive(Debug, Clone)]
pub struct OAuth {
    http: HttpClient,
}

impl OAuth {
    /// A client on `http`.
    pub fn new(http: HttpClient) -> OAuth {
        OAuth { http }
    }

    /// GETs `url` (no redirects followed) and returns its JSON when the
    /// answer is 200 with a JSON object; `None` for anything else but a
    /// transport error.
    async fn get_json(&self, url: &str) -> Result<Option<serde_json::Value>, OAuthError> {
        let request = http::Request::get(url)
            .header(http::header::ACCEPT, "application/json")
            .body(http_body_util::Full::new(bytes::Bytes::new()))
            .map_err(|err| OAuthError::Http {
                url: url.to_owned(),
                reason: err.to_string(),
            })?;
        let response = self.send(url, request).await?;
        if response.status() != http::StatusCode::OK {
            return Ok(None);
        }
        Ok(serde_json::from_slice::<serde_json::Value>(response.body())
            .ok()
            .filter(serde_json::Value::is_object))
    }

    /// Sends one request without following redirects; the body is read up
    /// to [`MAX_BODY`].
    async fn send(
        &self,
        url: &str,
        request: http::Request<http_body_util::Full<bytes::Bytes>>,
    ) -> Result<http::Response<Vec<u8>>, OAuthError> {
        let failed = |reason: String| OAuthError::Http {
            url: url.to_owned(),
            reason,
        };
        if !secure(url) {
            return Err(failed(
                "OAuth endpoints must use https (plain http only on loopback)".to_owned(),
            ));
        }
        // The whole exchange, body included, is bounded.
        let exchange = async {
            let response = self
                .http
                .send_raw(request)
                .await
                .map_err(|err| failed(err.to_string()))?;
            let (parts, body) = response.into_parts();
            let (bytes, _) = crate::client::read_body(body, MAX_BODY)
                .await
                .map_err(|err| failed(err.to_string()))?;
            Ok(http::Response::from_parts(parts, bytes))
        };
        tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|_| failed(format!("no answer within {}s", REQUEST_TIMEOUT.as_secs())))?
    }

    /// One request of the `oauth2` crate, on our HTTP client.
    async fn exchange(
        &self,
        request: oauth2::HttpRequest,
    ) -> Result<oauth2::HttpResponse, OAuthError> {
        let url = request.uri().to_string();
        let (parts, body) = request.into_parts();
        let request =
            http::Request::from_parts(parts, http_body_util::Full::new(bytes::Bytes::from(body)));
        self.send(&url, request).await
    }
}

/// Whether `url` may carry OAuth traffic: https, or plain http to a
/// loopback host (local test servers).
///
/// ```
/// use codex_transports::oauth::secure;
/// assert!(secure("https://as.example.com/token"));
/// assert!(secure("http://127.0.0.1:8080/token"));
/// assert!(secure("http://localhost:3000/token"));
/// assert!(!secure("http://as.example.com/token"));
/// assert!(!secure("file:///etc/passwd"));
/// ```
pub fn secure(url: &str) -> bool {
    let Ok(parsed) = url::Url::parse(url) else {
        return false;
    };
    match parsed.scheme() {
        "https" => true,
        "http" => match parsed.host() {
            Some(url::Host::Domain(host)) => host == "localhost" || host.ends_with(".localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        },
        _ => false,
    }
}

/// The `oauth2` crate's view of our HTTP client: boxed, `Send` futures, so
/// the exchanges can run inside transport futures.
impl<'c> oauth2::AsyncHttpClient<'c> for OAuth {
    type Error = OAuthError;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<oauth2::HttpResponse, OAuthError>> + Send + 'c>,
    >;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(self.exchange(request))
    }
}
