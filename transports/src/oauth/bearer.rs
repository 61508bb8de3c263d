//! A stored login as the bearer token of one HTTP connection.

use std::time::Duration;

use super::discovery::AuthServer;
use super::store::{CredentialStore, StoreError, StoredCredential};
use super::{OAuth, OAuthError};
use crate::http::HttpClient;

/// How long before it expires an access token is refreshed (as Codex).
const REFRESH_MARGIN: Duration = Duration::from_secs(30);

/// The login of one server, refreshed before it expires and once more when
/// the server refuses it; every refresh is written back to the store.
#[derive(Debug)]
pub(crate) struct OAuthBearer {
    store: CredentialStore,
    oauth: OAuth,
    credential: tokio::sync::Mutex<StoredCredential>,
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
            credential: tokio::sync::Mutex::new(credential),
        }))
    }

    /// The access token to send, refreshed first when it is about to
    /// expire. A refresh that fails leaves the old token (the server then
    /// says whether it still counts).
    pub(crate) async fn token(&self) -> String {
        let mut credential = self.credential.lock().await;
        if credential.tokens.expires_within(REFRESH_MARGIN)
            && let Err(err) = self.refresh(&mut credential).await
        {
            tracing::warn!(server = %credential.server, "OAuth refresh failed: {err}");
        }
        credential.tokens.access_token.clone()
    }

    /// After the server refused `refused`: a new token, if one can be had
    /// (a refresh, unless another request already refreshed it).
    pub(crate) async fn after_refusal(&self, refused: &str) -> Option<String> {
        let mut credential = self.credential.lock().await;
        if credential.tokens.access_token != refused {
            return Some(credential.tokens.access_token.clone());
        }
        match self.refresh(&mut credential).await {
            Ok(()) => Some(credential.tokens.access_token.clone()),
            Err(err) => {
                tracing::warn!(server = %credential.server, "OAuth refresh failed: {err}");
                None
            }
        }
    }

    async fn refresh(&self, credential: &mut StoredCredential) -> Result<(), OAuthError> {
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
        credential.tokens = tokens;
        self.store.put(credential.clone())?;
        Ok(())
    }
}
