//! `codex mcp login NAME` and `codex mcp logout NAME`: OAuth for streamable
//! HTTP servers.
//!
//! Login runs only for a server the policy admits, and only ever talks to
//! the admitted URL and the endpoints its metadata names (no redirect is
//! followed). It asks the server for a challenge, discovers the protected
//! resource and its authorization server, registers a client (or uses the
//! configured one), then sends the user's browser to the authorization URL
//! and receives the code on a loopback listener (`127.0.0.1`, the port of
//! `mcp_oauth_callback_port` or a free one). The tokens go to
//! `$CODEX_HOME/.credentials.json` (mode 0600) and are never printed.

use std::time::Duration;

use codex_transports::oauth::{
    Callback, Challenge, ClientChoice, CredentialStore, OAuth, OAuthError, Registration,
    StoredCredential, choose_scope,
};
use codex_transports::{HttpClient, TransportConfig};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::args::{ConfigOverrides, LoginArgs, NameArgs};
use crate::context;
use crate::error::CliError;
use crate::output;
use crate::terminal;

/// How long login waits for the browser.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(300);
/// The client name registered at the authorization server.
const CLIENT_NAME: &str = "Codex";

pub(crate) fn login(overrides: &ConfigOverrides, args: &LoginArgs) -> Result<(), CliError> {
    let loaded = context::load(overrides)?;
    let server = loaded
        .effective
        .mcp_servers
        .get()
        .get(&args.name)
        .ok_or_else(|| CliError::UnknownServer {
            name: args.name.clone(),
        })?;
    let TransportConfig::StreamableHttp(http) = &server.config.transport else {
        return Err(CliError::OAuthStdio(
            "OAuth login is only supported for streamable HTTP servers.",
        ));
    };
    // Admission first: no login for a server the policy does not allow.
    if !server.admission.is_allowed() {
        return Err(CliError::ServerNotAdmitted {
            server: args.name.clone(),
            status: output::status(server),
        });
    }
    let url = http.canonical_url.as_str().to_owned();
    let store = CredentialStore::in_home(&loaded.codex_home);
    let port = loaded.config.oauth_callback_port.unwrap_or(0);
    let settings = server.config.oauth.clone();
    let secret = match &settings.client_secret_env_var {
        Some(var) => Some(std::env::var(var).map_err(|_| CliError::OAuth {
            server: args.name.clone(),
            message: format!("the client secret variable {var} is not set"),
        })?),
        None => None,
    };
    let name = args.name.clone();
    let scopes = args.scopes.clone();
    let open_browser = !args.no_browser;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| CliError::OAuth {
            server: name.clone(),
            message: format!("cannot start the async runtime: {source}"),
        })?;
    let credential = runtime.block_on(async {
        let http = HttpClient::new().map_err(|err| CliError::OAuth {
            server: name.clone(),
            message: err.to_string(),
        })?;
        let oauth = OAuth::new(http.clone());
        let oauth_failed = |err: OAuthError| CliError::OAuth {
            server: name.clone(),
            message: err.to_string(),
        };
        // The requests below wait for the server; say so before they start.
        terminal::err(&format!(
            "Asking {} how to sign in to '{name}' (each request waits up to {} s)...",
            codex_transports::mask_url_secrets(&url),
            codex_transports::oauth::REQUEST_TIMEOUT.as_secs()
        ));
        let challenge = probe(&http, &url).await;
        let (mut resource, auth_server) = oauth
            .discover(&url, &challenge)
            .await
            .map_err(oauth_failed)?;
        if let Some(configured) = &settings.resource {
            resource.resource.clone_from(configured);
        }
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|source| CliError::OAuth {
                server: name.clone(),
                message: format!("cannot listen on 127.0.0.1:{port} for the browser: {source}"),
            })?;
        let local = listener.local_addr().map_err(|source| CliError::OAuth {
            server: name.clone(),
            message: source.to_string(),
        })?;
        let redirect_uri = format!("http://127.0.0.1:{}/callback", local.port());
        let choice = match (&settings.client_id, &settings.client_metadata_url) {
            (Some(client_id), _) => ClientChoice::PreRegistered {
                client_id: client_id.clone(),
                client_secret: secret,
            },
            (None, Some(document)) => ClientChoice::MetadataDocument(document.clone()),
            (None, None) => ClientChoice::Register,
        };
        let client = oauth
            .client(
                &auth_server,
                &choice,
                &Registration {
                    client_name: CLIENT_NAME.to_owned(),
                    redirect_uri: redirect_uri.clone(),
                },
            )
            .await
            .map_err(oauth_failed)?;
        // `--scopes`, then config, then what the server asks for.
        let explicit = (!scopes.is_empty())
            .then_some(scopes.as_slice())
            .or(settings.scopes.as_deref());
        let scope = match explicit {
            Some(list) => choose_scope(
                None,
                None,
                Some(list),
                None,
                auth_server.scopes_supported.as_deref().unwrap_or_default(),
            ),
            None => choose_scope(
                challenge.scope.as_deref(),
                resource.scopes_supported.as_deref(),
                None,
                None,
                auth_server.scopes_supported.as_deref().unwrap_or_default(),
            ),
        };
        let pending = oauth
            .begin(
                &auth_server,
                &resource,
                &client,
                &redirect_uri,
                scope.as_deref(),
            )
            .map_err(oauth_failed)?;
        terminal::err(&format!(
            "Authorize `{name}` in your browser; if it does not open, visit:\n{}",
            terminal::line(pending.url.as_str())
        ));
        if open_browser {
            open(&pending.url);
        }
        let state = pending.state().to_owned();
        let callback = tokio::time::timeout(BROWSER_TIMEOUT, receive(&listener, &state))
            .await
            .map_err(|_| CliError::OAuth {
                server: name.clone(),
                message: format!(
                    "no answer from the browser within {} s; run `codex mcp login {name}` again",
                    BROWSER_TIMEOUT.as_secs()
                ),
            })?;
        let tokens = oauth
            .finish(&auth_server, &client, pending, &callback)
            .await
            .map_err(oauth_failed)?;
        Ok::<_, CliError>(StoredCredential {
            server: name.clone(),
            url: url.clone(),
            resource: resource.resource,
            issuer: auth_server.issuer,
            authorization_endpoint: auth_server.authorization_endpoint,
            token_endpoint: auth_server.token_endpoint,
            iss_parameter_supported: auth_server.iss_parameter_supported,
            client,
            tokens,
        })
    })?;
    store.put(credential).map_err(|err| CliError::OAuth {
        server: args.name.clone(),
        message: err.to_string(),
    })?;
    terminal::out(&format!(
        "Successfully logged in to MCP server '{}'.",
        args.name
    ))?;
    Ok(())
}

pub(crate) fn logout(overrides: &ConfigOverrides, args: &NameArgs) -> Result<(), CliError> {
    let loaded = context::load(overrides)?;
    let Some(server) = loaded.effective.mcp_servers.get().get(&args.name) else {
        return Err(CliError::UnknownServerInConfiguration {
            name: args.name.clone(),
        });
    };
    if matches!(server.config.transport, TransportConfig::Stdio(_)) {
        return Err(CliError::OAuthStdio(
            "OAuth logout is only supported for streamable_http transports.",
        ));
    }
    let store = CredentialStore::in_home(&loaded.codex_home);
    let removed = store.remove(&args.name).map_err(|err| CliError::OAuth {
        server: args.name.clone(),
        message: format!("failed to delete OAuth credentials: {err}"),
    })?;
    let text = if removed {
        format!("Removed OAuth credentials for '{}'.", args.name)
    } else {
        format!("No OAuth credentials stored for '{}'.", args.name)
    };
    terminal::out(&text)?;
    Ok(())
}

/// The server's challenge to an unauthenticated request (an empty one when
/// it does not send any: discovery then starts at the well-known URLs).
async fn probe(http: &HttpClient, url: &str) -> Challenge {
    let body = r#"{"jsonrpc":"2.0","id":0,"method":"server/discover","params":{}}"#;
    let Ok(request) = http::Request::post(url)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::ACCEPT, "application/json, text/event-stream")
        .header(
            "mcp-protocol-version",
            codex_transports::MODERN_PROTOCOL_VERSION.as_str(),
        )
        .body(http_body_util::Full::new(bytes::Bytes::from_static(
            body.as_bytes(),
        )))
    else {
        return Challenge::default();
    };
    match tokio::time::timeout(codex_transports::oauth::REQUEST_TIMEOUT, http.send(request)).await {
        Ok(Ok(response)) => response
            .headers()
            .get(http::header::WWW_AUTHENTICATE)
            .and_then(|value| value.to_str().ok())
            .map(Challenge::parse)
            .unwrap_or_default(),
        _ => Challenge::default(),
    }
}

/// Opens `url` in the user's browser, if there is one; failing is fine
/// (the URL is printed).
fn open(url: &str) {
    // Only web URLs go to the system's opener.
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return;
    }
    let candidates: &[&str] = if cfg!(target_os = "macos") {
        &["open"]
    } else {
        &["xdg-open", "sensible-browser"]
    };
    for program in candidates {
        let spawned = std::process::Command::new(program)
            .arg(url)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        if spawned.is_ok() {
            return;
        }
    }
}

/// How long one connection to the loopback listener may take to send its
/// request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Waits for the browser's `GET /callback?...` carrying `state`, answers
/// it, and returns its parameters. Anything else (another path, a request
/// without our state, an idle or broken connection) is answered or dropped,
/// and the wait goes on: no other local process can end the login.
async fn receive(listener: &tokio::net::TcpListener, state: &str) -> Callback {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let Ok(Some(target)) =
            tokio::time::timeout(REQUEST_TIMEOUT, request_target(&mut stream)).await
        else {
            continue;
        };
        let path = target.split('?').next().unwrap_or_default();
        if path != "/callback" {
            let _ = stream
                .write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                )
                .await;
            continue;
        }
        let callback = Callback::from_url(&target);
        if callback.state.as_deref() != Some(state) {
            let _ = stream
                .write_all(
                    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                )
                .await;
            continue;
        }
        let page = if callback.code.is_some() {
            "Codex received the authorization. You can close this tab."
        } else {
            "The authorization failed; see the terminal."
        };
        let answer = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
            page.len()
        );
        let _ = stream.write_all(answer.as_bytes()).await;
        return callback;
    }
}

/// The request target of a GET, read from at most 16 KiB of head.
async fn request_target(stream: &mut tokio::net::TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut buf = [0_u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&head);
    let mut parts = text.lines().next()?.split(' ');
    (parts.next() == Some("GET")).then(|| parts.next().map(str::to_owned))?
}
