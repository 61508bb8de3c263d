//! The client, the scopes, and the authorization-code flow.

use std::time::{Duration, SystemTime};

use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, RefreshToken, Scope, TokenResponse as _, TokenUrl,
};
use serde_json::{Value, json};

use super::discovery::{AuthServer, Challenge, ProtectedResource};
use super::{OAuth, OAuthError};

/// How the client identifies itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientChoice {
    /// Credentials the user or admin registered beforehand.
    PreRegistered {
        /// `client_id`.
        client_id: String,
        /// `client_secret`, for confidential clients.
        client_secret: Option<String>,
    },
    /// A client ID metadata document at this HTTPS URL, used when the
    /// server supports them; else dynamic registration.
    MetadataDocument(String),
    /// Dynamic client registration.
    Register,
}

/// What dynamic registration sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// `client_name`.
    pub client_name: String,
    /// The redirect URI.
    pub redirect_uri: String,
}

/// A client identity at one authorization server.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClientCredentials {
    /// `client_id`.
    pub client_id: String,
    /// `client_secret`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// The token endpoint authentication method the registration agreed
    /// on, if it said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_method: Option<String>,
}

impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "*****"),
            )
            .field("auth_method", &self.auth_method)
            .finish()
    }
}

/// Tokens from the token endpoint.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Tokens {
    /// The access token.
    pub access_token: String,
    /// The refresh token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// When the access token expires (seconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    /// The scope granted (or requested, when the server did not say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("access_token", &"*****")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "*****"),
            )
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .finish()
    }
}

impl Tokens {
    /// Whether the access token expires within `margin` (or has).
    pub fn expires_within(&self, margin: Duration) -> bool {
        let Some(at) = self.expires_at else {
            return false;
        };
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        now.saturating_add(margin) >= Duration::from_secs(at)
    }
}

/// The scope to ask for: the challenge's, else the resource's
/// `scopes_supported`, else the configured one, else none; joined with
/// `previous` (a re-authorization asks for everything at once), and with
/// `offline_access` when the authorization server offers it.
///
/// ```
/// use codex_transports::oauth::choose_scope;
/// assert_eq!(choose_scope(Some("a"), Some(&["b".into()]), None, None, &[]), Some("a".into()));
/// assert_eq!(choose_scope(None, Some(&["b".into(), "c".into()]), None, None, &[]), Some("b c".into()));
/// assert_eq!(choose_scope(None, None, None, None, &[]), None);
/// assert_eq!(choose_scope(Some("w"), None, None, Some("r"), &["offline_access".into()]),
///            Some("r w offline_access".into()));
/// ```
pub fn choose_scope(
    challenge: Option<&str>,
    resource_scopes: Option<&[String]>,
    configured: Option<&[String]>,
    previous: Option<&str>,
    server_scopes: &[String],
) -> Option<String> {
    let chosen: Option<Vec<String>> = challenge
        .map(|s| s.split_whitespace().map(str::to_owned).collect())
        .or_else(|| resource_scopes.map(<[String]>::to_vec))
        .or_else(|| configured.map(<[String]>::to_vec))
        .filter(|list: &Vec<String>| !list.is_empty());
    let mut scopes: Vec<String> = previous
        .map(|p| p.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    for scope in chosen? {
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    if server_scopes.iter().any(|s| s == "offline_access")
        && !scopes.iter().any(|s| s == "offline_access")
    {
        scopes.push("offline_access".to_owned());
    }
    Some(scopes.join(" "))
}

/// An authorization in progress: the URL to visit, and what checks the
/// answer.
pub struct PendingAuthorization {
    /// Where the user (or the browser) goes.
    pub url: String,
    state: String,
    verifier: PkceCodeVerifier,
    issuer: String,
    iss_required: bool,
    redirect_uri: String,
    resource: String,
    scope: Option<String>,
}

/// The parameters of the redirect back.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Callback {
    /// `code`.
    pub code: Option<String>,
    /// `state`.
    pub state: Option<String>,
    /// `iss` (RFC 9207).
    pub iss: Option<String>,
    /// `error`, when the user or the server refused.
    pub error: Option<String>,
    /// `error_description`.
    pub error_description: Option<String>,
}

impl std::fmt::Debug for PendingAuthorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingAuthorization")
            .field("issuer", &self.issuer)
            .field("redirect_uri", &self.redirect_uri)
            .field("resource", &self.resource)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl PendingAuthorization {
    /// The `state` the redirect back must carry.
    pub fn state(&self) -> &str {
        &self.state
    }
}

impl std::fmt::Debug for Callback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Callback")
            .field("code", &self.code.as_ref().map(|_| "*****"))
            .field("iss", &self.iss)
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

/// `text` without control characters (it came from a server, and goes to
/// a terminal).
fn printable(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(300).collect()
}

impl Callback {
    /// Reads the query of a redirect URL (or just a query string).
    pub fn from_url(url: &str) -> Callback {
        let query = url.split_once('?').map_or(url, |(_, q)| q);
        let query = query.split('#').next().unwrap_or_default();
        let mut callback = Callback::default();
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let value = Some(value.into_owned());
            match name.as_ref() {
                "code" => callback.code = value,
                "state" => callback.state = value,
                "iss" => callback.iss = value,
                "error" => callback.error = value,
                "error_description" => callback.error_description = value,
                _ => {}
            }
        }
        callback
    }
}

fn url_error(what: &str, err: impl std::fmt::Display) -> OAuthError {
    OAuthError::Invalid {
        url: what.to_owned(),
        reason: err.to_string(),
    }
}

/// The `oauth2` crate's basic client for `server` and `client`.
fn basic_client(
    server: &AuthServer,
    client: &ClientCredentials,
    redirect_uri: &str,
) -> Result<
    oauth2::basic::BasicClient<
        oauth2::EndpointSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointSet,
    >,
    OAuthError,
> {
    let mut basic = oauth2::basic::BasicClient::new(ClientId::new(client.client_id.clone()))
        .set_auth_uri(
            AuthUrl::new(server.authorization_endpoint.clone())
                .map_err(|e| url_error(&server.authorization_endpoint, e))?,
        )
        .set_token_uri(
            TokenUrl::new(server.token_endpoint.clone())
                .map_err(|e| url_error(&server.token_endpoint, e))?,
        )
        .set_redirect_uri(
            RedirectUrl::new(redirect_uri.to_owned()).map_err(|e| url_error(redirect_uri, e))?,
        );
    if let Some(secret) = &client.client_secret {
        basic = basic.set_client_secret(ClientSecret::new(secret.clone()));
    }
    // The registration's word first; else what the server lists, basic
    // preferred as RFC 6749 says; without a secret the id goes in the body.
    let method = client.auth_method.clone().or_else(|| {
        client.client_secret.as_ref().map(|_| {
            let listed = server
                .token_endpoint_auth_methods
                .clone()
                .unwrap_or_default();
            if !listed.iter().any(|m| m == "client_secret_basic")
                && listed.iter().any(|m| m == "client_secret_post")
            {
                "client_secret_post".to_owned()
            } else {
                "client_secret_basic".to_owned()
            }
        })
    });
    let auth_type = match method.as_deref() {
        Some("client_secret_post") | Some("none") => AuthType::RequestBody,
        _ => AuthType::BasicAuth,
    };
    Ok(basic.set_auth_type(auth_type))
}

fn tokens_from(response: &oauth2::basic::BasicTokenResponse, requested: Option<&str>) -> Tokens {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    Tokens {
        access_token: response.access_token().secret().clone(),
        refresh_token: response.refresh_token().map(|t| t.secret().clone()),
        expires_at: response
            .expires_in()
            .map(|d| now.checked_add(d).map_or(u64::MAX, |at| at.as_secs())),
        scope: response
            .scopes()
            .map(|scopes| {
                scopes
                    .iter()
                    .map(|s| s.to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .or_else(|| requested.map(str::to_owned)),
    }
}

impl OAuth {
    /// The client to use at `server`: `choice`, falling back to dynamic
    /// registration when a metadata document is not supported.
    ///
    /// # Errors
    ///
    /// No way to get a client id, or registration failed.
    pub async fn client(
        &self,
        server: &AuthServer,
        choice: &ClientChoice,
        registration: &Registration,
    ) -> Result<ClientCredentials, OAuthError> {
        match choice {
            ClientChoice::PreRegistered {
                client_id,
                client_secret,
            } => Ok(ClientCredentials {
                client_id: client_id.clone(),
                client_secret: client_secret.clone(),
                auth_method: None,
            }),
            ClientChoice::MetadataDocument(url) if server.client_id_metadata_documents => {
                Ok(ClientCredentials {
                    client_id: url.clone(),
                    client_secret: None,
                    auth_method: Some("none".to_owned()),
                })
            }
            ClientChoice::MetadataDocument(_) | ClientChoice::Register => {
                self.register(server, registration).await
            }
        }
    }

    /// Dynamic client registration (RFC 7591) as a native public client that
    /// may refresh.
    ///
    /// # Errors
    ///
    /// No registration endpoint, or the server refused.
    pub async fn register(
        &self,
        server: &AuthServer,
        registration: &Registration,
    ) -> Result<ClientCredentials, OAuthError> {
        let endpoint =
            server
                .registration_endpoint
                .clone()
                .ok_or_else(|| OAuthError::NoClient {
                    issuer: server.issuer.clone(),
                })?;
        let body = json!({
            "client_name": registration.client_name,
            "redirect_uris": [registration.redirect_uri],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
            "application_type": "native",
        });
        let request = http::Request::post(&endpoint)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::ACCEPT, "application/json")
            .body(http_body_util::Full::new(bytes::Bytes::from(
                body.to_string(),
            )))
            .map_err(|err| url_error(&endpoint, err))?;
        let response = self.send(&endpoint, request).await?;
        let failed = |reason: String| OAuthError::Registration {
            url: endpoint.clone(),
            reason,
        };
        if !response.status().is_success() {
            return Err(failed(format!(
                "HTTP {}: {}",
                response.status(),
                String::from_utf8_lossy(response.body())
            )));
        }
        let doc: Value = serde_json::from_slice(response.body())
            .map_err(|err| failed(format!("not JSON: {err}")))?;
        let client_id = doc
            .get("client_id")
            .and_then(Value::as_str)
            .ok_or_else(|| failed("no client_id".to_owned()))?;
        Ok(ClientCredentials {
            client_id: client_id.to_owned(),
            client_secret: doc
                .get("client_secret")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
            auth_method: doc
                .get("token_endpoint_auth_method")
                .and_then(Value::as_str)
                .map(str::to_owned),
        })
    }

    /// Starts an authorization: PKCE S256, a fresh `state`, the
    /// `resource` of `resource`, and `scope` when there is one.
    ///
    /// # Errors
    ///
    /// An endpoint that is not a URL.
    pub fn begin(
        &self,
        server: &AuthServer,
        resource: &ProtectedResource,
        client: &ClientCredentials,
        redirect_uri: &str,
        scope: Option<&str>,
    ) -> Result<PendingAuthorization, OAuthError> {
        if !super::secure(&server.authorization_endpoint) {
            return Err(OAuthError::Invalid {
                url: server.authorization_endpoint.clone(),
                reason: "the authorization endpoint must use https".to_owned(),
            });
        }
        let basic = basic_client(server, client, redirect_uri)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = basic
            .authorize_url(CsrfToken::new_random)
            .set_pkce_challenge(challenge)
            .add_extra_param("resource", resource.resource.clone());
        if let Some(scope) = scope {
            request = request.add_scope(Scope::new(scope.to_owned()));
        }
        let (url, state) = request.url();
        Ok(PendingAuthorization {
            url: url.to_string(),
            state: state.secret().clone(),
            verifier,
            issuer: server.issuer.clone(),
            iss_required: server.iss_parameter_supported,
            redirect_uri: redirect_uri.to_owned(),
            resource: resource.resource.clone(),
            scope: scope.map(str::to_owned),
        })
    }

    /// Checks the redirect back (`state`; `iss` equal to the issuer, byte
    /// for byte, and present when the server promised it) and only then
    /// exchanges the code.
    ///
    /// # Errors
    ///
    /// A refused or forged callback, or the token endpoint's refusal.
    pub async fn finish(
        &self,
        server: &AuthServer,
        client: &ClientCredentials,
        pending: PendingAuthorization,
        callback: &Callback,
    ) -> Result<Tokens, OAuthError> {
        if callback.state.as_deref() != Some(pending.state.as_str()) {
            return Err(OAuthError::Callback(
                "the state does not match the request".to_owned(),
            ));
        }
        if let Some(error) = &callback.error {
            let detail = callback
                .error_description
                .as_deref()
                .map(|d| format!(": {}", printable(d)))
                .unwrap_or_default();
            return Err(OAuthError::Callback(format!(
                "the authorization server answered {}{detail}",
                printable(error)
            )));
        }
        match &callback.iss {
            Some(iss) if *iss != pending.issuer => {
                return Err(OAuthError::Callback(format!(
                    "it comes from issuer {}, not {}",
                    printable(iss),
                    pending.issuer
                )));
            }
            None if pending.iss_required => {
                return Err(OAuthError::Callback(
                    "it lacks the iss parameter the authorization server promised".to_owned(),
                ));
            }
            _ => {}
        }
        let code = callback
            .code
            .clone()
            .ok_or_else(|| OAuthError::Callback("it carries no code".to_owned()))?;
        let basic = basic_client(server, client, &pending.redirect_uri)?;
        let response = basic
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(pending.verifier)
            .add_extra_param("resource", pending.resource.clone())
            .request_async(self)
            .await
            .map_err(|err| OAuthError::Token(token_error(&err)))?;
        Ok(tokens_from(&response, pending.scope.as_deref()))
    }

    /// A new access token from `refresh_token`, for `resource`; the old
    /// refresh token stays when the server sends none.
    ///
    /// # Errors
    ///
    /// The token endpoint's refusal (the user must log in again).
    pub async fn refresh(
        &self,
        server: &AuthServer,
        client: &ClientCredentials,
        refresh_token: &str,
        resource: &str,
    ) -> Result<Tokens, OAuthError> {
        // Any valid URL: a refresh carries no redirect.
        let basic = basic_client(server, client, "http://127.0.0.1/callback")?;
        let token = RefreshToken::new(refresh_token.to_owned());
        let response = basic
            .exchange_refresh_token(&token)
            .add_extra_param("resource", resource.to_owned())
            .request_async(self)
            .await
            .map_err(|err| OAuthError::Token(token_error(&err)))?;
        let mut tokens = tokens_from(&response, None);
        if tokens.refresh_token.is_none() {
            tokens.refresh_token = Some(refresh_token.to_owned());
        }
        Ok(tokens)
    }

    /// What a browser would be sent to: GETs the authorization URL without
    /// following the redirect and reads the callback from its `Location`.
    /// For authorization servers that answer at once (test servers, and
    /// the conformance suite's).
    ///
    /// # Errors
    ///
    /// The server did not redirect.
    pub async fn follow_authorization(&self, url: &str) -> Result<Callback, OAuthError> {
        let request = http::Request::get(url)
            .body(http_body_util::Full::new(bytes::Bytes::new()))
            .map_err(|err| url_error(url, err))?;
        let response = self.send(url, request).await?;
        let location = response
            .headers()
            .get(http::header::LOCATION)
            .and_then(|value| value.to_str().ok())
            .filter(|_| response.status().is_redirection())
            .ok_or_else(|| {
                OAuthError::Callback(format!(
                    "the authorization endpoint answered HTTP {} without a redirect",
                    response.status()
                ))
            })?;
        Ok(Callback::from_url(location))
    }

    /// Whether a 403 `challenge` is worth a new authorization: it asks for
    /// a scope that `granted` lacks.
    pub fn step_up_helps(challenge: &Challenge, granted: Option<&str>) -> bool {
        let Some(wanted) = &challenge.scope else {
            return false;
        };
        let have: Vec<&str> = granted.unwrap_or_default().split_whitespace().collect();
        wanted
            .split_whitespace()
            .any(|scope| !have.contains(&scope))
    }
}

fn token_error<E: std::error::Error>(
    err: &oauth2::RequestTokenError<E, oauth2::basic::BasicErrorResponse>,
) -> String {
    match err {
        oauth2::RequestTokenError::ServerResponse(response) => {
            let mut text = response.error().to_string();
            if let Some(description) = response.error_description() {
                text.push_str(&format!(": {description}"));
            }
            text
        }
        oauth2::RequestTokenError::Request(err) => err.to_string(),
        // Never the body: a 200 answer that does not parse may still hold
        // tokens.
        oauth2::RequestTokenError::Parse(err, _) => format!("unreadable answer ({err})"),
        oauth2::RequestTokenError::Other(text) => text.clone(),
    }
}
