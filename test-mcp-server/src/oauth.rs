//! `--oauth`: the HTTP test server as an OAuth-protected resource, with a
//! small authorization server on the same port, for end-to-end tests of
//! `codex mcp login`.
//!
//! - `GET /.well-known/oauth-protected-resource/mcp`: RFC 9728 metadata.
//! - `GET /.well-known/oauth-authorization-server`: RFC 8414 metadata
//!   (PKCE S256, RFC 9207 `iss`, dynamic registration).
//! - `POST /register`: any client gets an id (public, `none`).
//! - `GET /authorize`: approves at once (no user), answering `302` to the
//!   redirect URI with `code`, `state` and `iss`. The `resource` must be
//!   this server's.
//! - `POST /token`: `authorization_code` (PKCE checked) and
//!   `refresh_token` (rotated); tokens live `--token-ttl-secs`.
//! - `GET /oauth/stats`: how many tokens were issued and refreshed.
//! - `/mcp`: the MCP server, for a live bearer token only; otherwise 401
//!   with a `WWW-Authenticate` challenge naming the metadata.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt as _, Full};
use serde_json::{Value, json};
use sha2::Digest as _;

/// The scope the resource asks for.
pub const SCOPE: &str = "mcp:tools";

type Body = BoxBody<Bytes, Infallible>;

/// The authorization server's memory.
#[derive(Debug, Default)]
pub struct OAuthState {
    base: String,
    ttl: Duration,
    next: u64,
    codes: HashMap<String, Grant>,
    access: HashMap<String, Instant>,
    refresh: HashMap<String, Grant>,
    issued: u64,
    refreshed: u64,
}

#[derive(Debug, Clone)]
struct Grant {
    client_id: String,
    challenge: String,
    redirect_uri: String,
    scope: Option<String>,
}

fn lock(state: &Mutex<OAuthState>) -> std::sync::MutexGuard<'_, OAuthState> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl OAuthState {
    /// A server at `base` (`http://127.0.0.1:PORT`) whose access tokens
    /// live `ttl`.
    pub fn new(base: String, ttl: Duration) -> Arc<Mutex<OAuthState>> {
        Arc::new(Mutex::new(OAuthState {
            base,
            ttl,
            ..OAuthState::default()
        }))
    }

    fn token(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}-{}-{}", self.next, std::process::id())
    }

    fn resource(&self) -> String {
        format!("{}/mcp", self.base)
    }

    fn issue(&mut self, grant: Grant) -> Value {
        let access = self.token("access");
        let refresh = self.token("refresh");
        self.access
            .insert(access.clone(), Instant::now() + self.ttl);
        let scope = grant.scope.clone();
        self.refresh.insert(refresh.clone(), grant);
        let mut answer = json!({
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.ttl.as_secs(),
            "refresh_token": refresh,
        });
        if let Some(scope) = scope {
            answer["scope"] = json!(scope);
        }
        answer
    }
}

fn reply(status: StatusCode, body: Value) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())).boxed());
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

fn form(body: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Answers an OAuth request, or `None` for `/mcp` with a live token (the
/// MCP server's to answer).
pub async fn handle(
    state: &Mutex<OAuthState>,
    request: Request<hyper::body::Incoming>,
) -> Result<Response<Body>, Request<hyper::body::Incoming>> {
    let path = request.uri().path().to_owned();
    let method = request.method().clone();
    let query = request.uri().query().unwrap_or_default().to_owned();
    if path == "/mcp" || path.starts_with("/mcp/") {
        let bearer = request
            .headers()
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_owned);
        let state = lock(state);
        let live = bearer
            .as_ref()
            .and_then(|token| state.access.get(token))
            .is_some_and(|expiry| *expiry > Instant::now());
        if live {
            return Err(request);
        }
        let mut response = reply(
            StatusCode::UNAUTHORIZED,
            json!({"error": "invalid_token", "error_description": "a live bearer token is needed"}),
        );
        let challenge = format!(
            "Bearer error=\"invalid_token\", resource_metadata=\"{}/.well-known/oauth-protected-resource/mcp\", scope=\"{SCOPE}\"",
            state.base
        );
        if let Ok(value) = http::HeaderValue::from_str(&challenge) {
            response
                .headers_mut()
                .insert(http::header::WWW_AUTHENTICATE, value);
        }
        return Ok(response);
    }
    let body = request
        .into_body()
        .collect()
        .await
        .map(|collected| collected.to_bytes())
        .unwrap_or_default();
    let mut state = lock(state);
    let base = state.base.clone();
    Ok(match (method, path.as_str()) {
        (Method::GET, "/.well-known/oauth-protected-resource/mcp") => reply(
            StatusCode::OK,
            json!({
                "resource": state.resource(),
                "authorization_servers": [base],
                "scopes_supported": [SCOPE],
            }),
        ),
        (Method::GET, "/.well-known/oauth-authorization-server") => reply(
            StatusCode::OK,
            json!({
                "issuer": base,
                "authorization_endpoint": format!("{base}/authorize"),
                "token_endpoint": format!("{base}/token"),
                "registration_endpoint": format!("{base}/register"),
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code", "refresh_token"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["none"],
                "authorization_response_iss_parameter_supported": true,
                "scopes_supported": [SCOPE, "offline_access"],
            }),
        ),
        (Method::POST, "/register") => {
            let asked: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let client_id = state.token("client");
            reply(
                StatusCode::CREATED,
                json!({
                    "client_id": client_id,
                    "redirect_uris": asked["redirect_uris"],
                    "token_endpoint_auth_method": "none",
                }),
            )
        }
        (Method::GET, "/authorize") => {
            let q = form(query.as_bytes());
            let get = |key: &str| q.get(key).cloned().unwrap_or_default();
            if get("response_type") != "code"
                || get("code_challenge_method") != "S256"
                || get("code_challenge").is_empty()
                || get("resource") != state.resource()
                || get("redirect_uri").is_empty()
            {
                return Ok(reply(
                    StatusCode::BAD_REQUEST,
                    json!({"error": "invalid_request", "query": q}),
                ));
            }
            let code = state.token("code");
            state.codes.insert(
                code.clone(),
                Grant {
                    client_id: get("client_id"),
                    challenge: get("code_challenge"),
                    redirect_uri: get("redirect_uri"),
                    scope: q.get("scope").cloned(),
                },
            );
            let location = format!(
                "{}?{}",
                get("redirect_uri"),
                url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("code", &code)
                    .append_pair("state", &get("state"))
                    .append_pair("iss", &base)
                    .finish()
            );
            let mut response = Response::new(Full::new(Bytes::new()).boxed());
            *response.status_mut() = StatusCode::FOUND;
            if let Ok(value) = http::HeaderValue::from_str(&location) {
                response.headers_mut().insert(http::header::LOCATION, value);
            }
            response
        }
        (Method::POST, "/token") => {
            let f = form(&body);
            let get = |key: &str| f.get(key).cloned().unwrap_or_default();
            let refused = |why: &str| {
                reply(
                    StatusCode::BAD_REQUEST,
                    json!({"error": "invalid_grant", "error_description": why}),
                )
            };
            if get("resource") != state.resource() {
                return Ok(refused("wrong resource"));
            }
            match get("grant_type").as_str() {
                "authorization_code" => {
                    let Some(grant) = state.codes.remove(&get("code")) else {
                        return Ok(refused("unknown code"));
                    };
                    let verifier = get("code_verifier");
                    let challenge = b64url(&sha2::Sha256::digest(verifier.as_bytes()));
                    if challenge != grant.challenge
                        || get("redirect_uri") != grant.redirect_uri
                        || get("client_id") != grant.client_id
                    {
                        return Ok(refused("PKCE, redirect_uri or client_id mismatch"));
                    }
                    state.issued += 1;
                    reply(StatusCode::OK, state.issue(grant))
                }
                "refresh_token" => {
                    let Some(grant) = state.refresh.remove(&get("refresh_token")) else {
                        return Ok(refused("unknown refresh token"));
                    };
                    if get("client_id") != grant.client_id {
                        return Ok(refused("client_id mismatch"));
                    }
                    state.refreshed += 1;
                    reply(StatusCode::OK, state.issue(grant))
                }
                _ => refused("unsupported grant_type"),
            }
        }
        (Method::GET, "/oauth/stats") => reply(
            StatusCode::OK,
            json!({"issued": state.issued, "refreshed": state.refreshed}),
        ),
        _ => reply(StatusCode::NOT_FOUND, json!({"error": "not_found"})),
    })
}
