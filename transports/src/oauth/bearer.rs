//! A stored login as the bearer token of one HTTP connection.

use std::time::Duration;

use super::discovery::AuthServer;
use super::store::{CredentialStore, StoreError, StoredCredential};
use super::{OAuth, OAuthError};
use crate::client::HttpClient;

/// How long before it expires an access token is refreshed (as Codex).
const REFRESH_MARGIN: Duration = Duration::from_secs(30);
/// After a failed refresh, how long before the next try.
const RETRY_AFTER: Duration = Duration::from_secs(30);

/// The login of one server, refreshed before it expires and once more when
/// the server refuses it; every refresh is written back to the store.
#[derive(Debug)]
pub(crate) struct OAuthBearer {
    store: CredentialStore,
    oauth: OAuth,
    credential: tokio::sync::Mutex<Held>,
}

/// The login as this connection holds it.
#[derive(Debug)]
struct Held {
    credential: StoredCredential,
    /// When a refresh last failed.
    failed_at: Option<std::time::Instant>,
}

impl OAuthBearer {
    /// The login stored for `server` at `url`, if there is one.
    pub(crate) fn load(
        store: &CredentialStore,
        server: &str,
        url: &str,
        http: HttpClient,
    ) -> Result<Option<OAuthBearer>, StoreError> {
        Ok(store.get(server, url)?.map(|credential| OAuthBearer {
            store: store.clone(),
            oauth: OAuth::new(http),
            credential: tokio::sync::Mutex::new(Held {
                credential,
                failed_at: None,
            }),
        }))
    }

    /// The access token to send, refreshed first when it is about to
    /// expire. A refresh that fails leaves the old token (the server then
    /// says whether it still counts), and is not tried again for a while.
    pub(crate) async fn token(&self) -> String {
        let mut held = self.credential.lock().await;
        if held.credential.tokens.expires_within(REFRESH_MARGIN)
            && held.failed_at.is_none_or(|at| at.elapsed() >= RETRY_AFTER)
        {
            self.refresh(&mut held).await;
        }
        held.credential.tokens.access_token.clone()
    }

    /// After the server refused `refused`: a new token, if one can be had
    /// (a refresh, unless another request already refreshed it).
    pub(crate) async fn after_refusal(&self, refused: &str) -> Option<String> {
        let mut held = self.credential.lock().await;
        if held.credential.tokens.access_token != refused {
            return Some(held.credential.tokens.access_token.clone());
        }
        self.refresh(&mut held).await;
        let token = &held.credential.tokens.access_token;
        (token != refused).then(|| token.clone())
    }

    /// Refreshes the held login: first from the store (another process
    /// may have logged in or refreshed since), else at the token endpoint;
    /// the result is written back.
    async fn refresh(&self, held: &mut Held) {
        let server = held.credential.server.clone();
        if let Ok(Some(stored)) = self.store.get(&server, &held.credential.url)
            && stored.tokens != held.credential.tokens
            && !stored.tokens.expires_within(REFRESH_MARGIN)
        {
            held.credential = stored;
            held.failed_at = None;
            return;
        }
        match self.refresh_at_server(&held.credential).await {
            Ok(credential) => {
                held.credential = credential;
                held.failed_at = None;
            }
            Err(err) => {
                tracing::warn!(server = %server, "OAuth refresh failed: {err}");
                held.failed_at = Some(std::time::Instant::now());
            }
        }
    }

    async fn refresh_at_server(
        &self,
        credential: &StoredCredential,
    ) -> Result<StoredCredential, OAuthError> {
        let Some(refresh_token) = credential.tokens.refresh_token.clone() else {
            return Err(OAuthError::Token(
                "no refresh token; log in again".to_owned(),
            ));
        };
        let server = AuthServer {
            issuer: credential.issuer.clone(),
            authorization_endpoint: credential.authorization_endpoint.clone(),
            token_endpoint: credential.token_endpoint.clone(),
            registration_endpoint: None,
            scopes_supported: None,
            token_endpoint_auth_methods: None,
            client_id_metadata_documents: false,
            iss_parameter_supported: credential.iss_parameter_supported,
        };
        let mut tokens = self
            .oauth
            .refresh(
                &server,
                &credential.client,
                &refresh_token,
                &credential.resource,
            )
            .await?;
        if tokens.scope.is_none() {
            tokens.scope = credential.tokens.scope.clone();
        }
        let mut updated = credential.clone();
        updated.tokens = tokens;
        let store = self.store.clone();
        let written = updated.clone();
        // File I/O and its lock off the async threads.
        tokio::task::spawn_blocking(move || store.put(written))
            .await
            .map_err(|err| OAuthError::Token(format!("saving the tokens failed: {err}")))??;
        Ok(updated)
    }
}
