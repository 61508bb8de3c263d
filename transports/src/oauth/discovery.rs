//! Finding out where and how to log in: the challenge, the protected
//! resource's metadata (RFC 9728) and the authorization server's (RFC 8414,
//! OpenID Connect Discovery).

use serde_json::Value;

use super::{OAuth, OAuthError};

/// The auth-params of a `WWW-Authenticate` challenge that matter here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Challenge {
    /// `resource_metadata`: where the protected-resource metadata is.
    pub resource_metadata: Option<String>,
    /// `scope`: what the request needs.
    pub scope: Option<String>,
    /// `error`, e.g. `invalid_token` or `insufficient_scope`.
    pub error: Option<String>,
}

impl Challenge {
    /// Parses a header value: a scheme, then `name=value` or
    /// `name="quoted value"` pairs in any order. Unknown parameters are
    /// ignored; names are case-insensitive.
    ///
    /// ```
    /// use codex_transports::oauth::Challenge;
    /// let c = Challenge::parse(r#"Bearer error="insufficient_scope", scope="a b", resource_metadata="https://h/.well-known/oauth-protected-resource""#);
    /// assert_eq!(c.scope.as_deref(), Some("a b"));
    /// assert_eq!(c.error.as_deref(), Some("insufficient_scope"));
    /// assert!(c.resource_metadata.is_some());
    /// ```
    pub fn parse(header: &str) -> Challenge {
        let mut challenge = Challenge::default();
        let mut rest = header.trim();
        // Skip the scheme (a token followed by a space), if any.
        if let Some((first, after)) = rest.split_once(' ')
            && !first.contains('=')
        {
            rest = after;
        }
        while !rest.is_empty() {
            rest = rest.trim_start_matches([' ', ',', '\t']);
            let Some(eq) = rest.find('=') else { break };
            let name = rest[..eq].trim().to_ascii_lowercase();
            rest = rest[eq + 1..].trim_start();
            let value;
            if let Some(quoted) = rest.strip_prefix('"') {
                let mut out = String::new();
                let mut chars = quoted.char_indices();
                let mut end = quoted.len();
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some((_, escaped)) = chars.next() {
                                out.push(escaped);
                            }
                        }
                        '"' => {
                            end = i + 1;
                            break;
                        }
                        other => out.push(other),
                    }
                }
                value = out;
                rest = &quoted[end.min(quoted.len())..];
            } else {
                let end = rest.find([',', ' ']).unwrap_or(rest.len());
                value = rest[..end].to_owned();
                rest = &rest[end..];
            }
            match name.as_str() {
                "resource_metadata" => challenge.resource_metadata = Some(value),
                "scope" => challenge.scope = Some(value),
                "error" => challenge.error = Some(value),
                _ => {}
            }
        }
        challenge
    }

    /// Whether the server says the token lacks a scope.
    pub fn is_insufficient_scope(&self) -> bool {
        self.error.as_deref() == Some("insufficient_scope")
    }
}

/// A protected resource's metadata (RFC 9728), as far as it matters here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectedResource {
    /// `resource`, exactly as sent: the RFC 8707 value of every request.
    pub resource: String,
    /// `authorization_servers`, exactly as sent.
    pub authorization_servers: Vec<String>,
    /// `scopes_supported`.
    pub scopes_supported: Option<Vec<String>>,
    /// Where it was read.
    pub url: String,
}

/// An authorization server's metadata, as far as it matters here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthServer {
    /// `issuer`, exactly as sent (and equal to the identifier it was found
    /// under).
    pub issuer: String,
    /// `authorization_endpoint`.
    pub authorization_endpoint: String,
    /// `token_endpoint`.
    pub token_endpoint: String,
    /// `registration_endpoint`.
    pub registration_endpoint: Option<String>,
    /// `scopes_supported`.
    pub scopes_supported: Option<Vec<String>>,
    /// `token_endpoint_auth_methods_supported`.
    pub token_endpoint_auth_methods: Option<Vec<String>>,
    /// `client_id_metadata_document_supported`.
    pub client_id_metadata_documents: bool,
    /// `authorization_response_iss_parameter_supported` (RFC 9207).
    pub iss_parameter_supported: bool,
}

fn strings(value: Option<&Value>) -> Option<Vec<String>> {
    value?.as_array().map(|items| {
        items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    })
}

/// `origin` (scheme, host, port) and path of a URL.
fn split(url: &str) -> Option<(String, String)> {
    let parsed = url::Url::parse(url).ok()?;
    let origin = parsed.origin().ascii_serialization();
    let path = parsed.path().trim_end_matches('/').to_owned();
    Some((origin, path))
}

/// Whether the metadata's `resource` names the MCP server at `server`:
/// the same origin, and the server's path within the resource's path.
fn resource_covers(resource: &str, server: &str) -> bool {
    let (Some((r_origin, r_path)), Some((s_origin, s_path))) = (split(resource), split(server))
    else {
        return false;
    };
    if url::Url::parse(resource).is_ok_and(|u| u.fragment().is_some()) {
        return false;
    }
    r_origin == s_origin
        && (r_path.is_empty() || s_path == r_path || s_path.starts_with(&format!("{r_path}/")))
}

impl OAuth {
    /// The protected resource at `server` (see
    /// [`OAuth::protected_resource`]) and the metadata of the first
    /// authorization server it names (see [`OAuth::authorization_server`]).
    ///
    /// # Errors
    ///
    /// Either lookup fails, or the resource names no authorization server.
    pub async fn discover(
        &self,
        server: &str,
        challenge: &Challenge,
    ) -> Result<(ProtectedResource, AuthServer), OAuthError> {
        let resource = self.protected_resource(server, challenge).await?;
        let issuer = resource
            .authorization_servers
            .first()
            .ok_or(OAuthError::NoAuthorizationServer)?;
        let metadata = self.authorization_server(issuer).await?;
        Ok((resource, metadata))
    }

    /// The protected-resource metadata of the MCP server at `server`: from
    /// the challenge's `resource_metadata` when it names one (only there),
    /// else the path-based well-known, then the root one.
    ///
    /// # Errors
    ///
    /// None found, or it names another resource.
    pub async fn protected_resource(
        &self,
        server: &str,
        challenge: &Challenge,
    ) -> Result<ProtectedResource, OAuthError> {
        let candidates: Vec<String> = match &challenge.resource_metadata {
            Some(url) => vec![url.clone()],
            None => {
                let (origin, path) = split(server).ok_or_else(|| OAuthError::Invalid {
                    url: server.to_owned(),
                    reason: "not a URL".to_owned(),
                })?;
                let root = format!("{origin}/.well-known/oauth-protected-resource");
                if path.is_empty() {
                    vec![root]
                } else {
                    vec![format!("{root}{path}"), root]
                }
            }
        };
        for url in &candidates {
            let Some(doc) = self.get_json(url).await? else {
                continue;
            };
            if let Some(found) = ProtectedResource::from_document(&doc, server, url)? {
                return Ok(found);
            }
        }
        Err(OAuthError::NoResourceMetadata {
            tried: candidates.join(", "),
        })
    }

    /// The metadata of the authorization server `issuer` (as the resource
    /// metadata names it): for an issuer with a path `/p`, the RFC 8414 and
    /// OpenID documents with the path inserted, then the OpenID document
    /// appended to it; for one without, the two root documents.
    ///
    /// # Errors
    ///
    /// None found, an issuer that differs from `issuer` by one byte, or no
    /// PKCE S256.
    pub async fn authorization_server(&self, issuer: &str) -> Result<AuthServer, OAuthError> {
        let (origin, path) = split(issuer).ok_or_else(|| OAuthError::Invalid {
            url: issuer.to_owned(),
            reason: "not a URL".to_owned(),
        })?;
        let candidates = if path.is_empty() {
            vec![
                format!("{origin}/.well-known/oauth-authorization-server"),
                format!("{origin}/.well-known/openid-configuration"),
            ]
        } else {
            vec![
                format!("{origin}/.well-known/oauth-authorization-server{path}"),
                format!("{origin}/.well-known/openid-configuration{path}"),
                format!("{origin}{path}/.well-known/openid-configuration"),
            ]
        };
        for url in &candidates {
            let Some(doc) = self.get_json(url).await? else {
                continue;
            };
            return AuthServer::from_document(&doc, issuer, url);
        }
        Err(OAuthError::NoServerMetadata {
            issuer: issuer.to_owned(),
            tried: candidates.join(", "),
        })
    }
}

impl ProtectedResource {
    /// The metadata in `doc`, read at `url`, for `server`: `None` when it
    /// has no `resource`.
    ///
    /// # Errors
    ///
    /// A resource that does not cover `server`.
    pub fn from_document(
        doc: &Value,
        server: &str,
        url: &str,
    ) -> Result<Option<ProtectedResource>, OAuthError> {
        let Some(resource) = doc.get("resource").and_then(Value::as_str) else {
            return Ok(None);
        };
        if !resource_covers(resource, server) {
            return Err(OAuthError::ResourceMismatch {
                resource: resource.to_owned(),
                server: server.to_owned(),
            });
        }
        Ok(Some(ProtectedResource {
            resource: resource.to_owned(),
            authorization_servers: strings(doc.get("authorization_servers")).unwrap_or_default(),
            scopes_supported: strings(doc.get("scopes_supported")),
            url: url.to_owned(),
        }))
    }
}

impl AuthServer {
    /// The authorization server metadata in `doc`, read at `url`, for
    /// `issuer`.
    ///
    /// # Errors
    ///
    /// An issuer that differs from `issuer`, no PKCE S256, or a missing
    /// endpoint.
    pub fn from_document(doc: &Value, issuer: &str, url: &str) -> Result<AuthServer, OAuthError> {
        let url = url.to_owned();
        let found = doc
            .get("issuer")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if found != issuer {
            return Err(OAuthError::IssuerMismatch {
                expected: issuer.to_owned(),
                found: found.to_owned(),
            });
        }
        let endpoint = |key: &str| {
            doc.get(key)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| OAuthError::Invalid {
                    url: url.clone(),
                    reason: format!("no {key}"),
                })
        };
        let pkce = strings(doc.get("code_challenge_methods_supported")).unwrap_or_default();
        if !pkce.iter().any(|m| m == "S256") {
            return Err(OAuthError::NoPkce {
                issuer: issuer.to_owned(),
            });
        }
        Ok(AuthServer {
            issuer: found.to_owned(),
            authorization_endpoint: endpoint("authorization_endpoint")?,
            token_endpoint: endpoint("token_endpoint")?,
            registration_endpoint: endpoint("registration_endpoint").ok(),
            scopes_supported: strings(doc.get("scopes_supported")),
            token_endpoint_auth_methods: strings(doc.get("token_endpoint_auth_methods_supported")),
            client_id_metadata_documents: doc
                .get("client_id_metadata_document_supported")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            iss_parameter_supported: doc
                .get("authorization_response_iss_parameter_supported")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_parse_in_any_order_and_quoting() {
        let c = Challenge::parse(
            r#"Bearer resource_metadata="http://h/prm", scope="mcp:basic mcp:write", error="insufficient_scope""#,
        );
        assert_eq!(c.resource_metadata.as_deref(), Some("http://h/prm"));
        assert_eq!(c.scope.as_deref(), Some("mcp:basic mcp:write"));
        assert!(c.is_insufficient_scope());
        let c = Challenge::parse(r#"Bearer error=invalid_token, error_description="a, b""#);
        assert_eq!(c.error.as_deref(), Some("invalid_token"));
        assert_eq!(c.scope, None);
        assert_eq!(Challenge::parse(""), Challenge::default());
    }

    #[test]
    fn a_resource_must_cover_the_server() {
        assert!(resource_covers("http://h:1/mcp", "http://h:1/mcp"));
        assert!(resource_covers("http://h:1", "http://h:1/mcp"));
        assert!(resource_covers("http://h:1/", "http://h:1/mcp"));
        assert!(!resource_covers("http://h:1/mc", "http://h:1/mcp"));
        assert!(!resource_covers(
            "https://evil.example.com/mcp",
            "http://h:1/mcp"
        ));
        assert!(!resource_covers("http://h:2/mcp", "http://h:1/mcp"));
        assert!(!resource_covers("http://h:1/mcp#x", "http://h:1/mcp"));
    }
}
