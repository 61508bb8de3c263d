//! The HTTP plugins against small in-test servers: headers and bearer
//! token, redirects, and the legacy SSE transport.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use codex_transports::{ConnectError, TransportConfig, TransportRegistry, USER_AGENT_VALUE};
use http::{Method, Response, StatusCode};
use pretty_assertions::assert_eq;
use rmcp::model::CallToolRequestParams;
use tokio::sync::mpsc;

use common::http_fixture::{Body, Recorded, full, mcp_answer, serve, streamed};
use common::{PATIENCE, ctx, http_config, parent_env};

/// A streamable HTTP server that answers with JSON.
async fn json_mcp_server(recorded: Recorded) -> Response<Body> {
    let mut response = Response::builder();
    if recorded.method != Method::POST {
        return response
            .status(StatusCode::METHOD_NOT_ALLOWED)
            .body(full(""))
            .expect("response");
    }
    match mcp_answer(&recorded.body, "2025-11-25") {
        Some(answer) => {
            response = response
                .header("content-type", "application/json")
                .header("mcp-session-id", "session-1");
            response.body(full(answer.to_string())).expect("response")
        }
        None => response
            .status(StatusCode::ACCEPTED)
            .body(full(""))
            .expect("response"),
    }
}

/// Every error in the chain, joined.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(" / ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

#[tokio::test]
async fn bearer_token_headers_and_user_agent_reach_the_server() {
    let fixture = serve(json_mcp_server).await;
    let mut http = http_config(&fixture.url("/mcp"));
    http.bearer_token_env_var = Some("DOCS_TOKEN".to_owned());
    http.http_headers = BTreeMap::from([("X-Static".to_owned(), "static".to_owned())]);
    http.env_http_headers = BTreeMap::from([
        ("X-From-Env".to_owned(), "HEADER_VALUE".to_owned()),
        ("X-Blank".to_owned(), "BLANK_VALUE".to_owned()),
        ("X-Unset".to_owned(), "UNSET_VALUE".to_owned()),
    ]);
    let mut env = parent_env();
    env.extend([
        ("DOCS_TOKEN".to_owned(), "s3cret".to_owned()),
        ("HEADER_VALUE".to_owned(), "from-env".to_owned()),
        ("BLANK_VALUE".to_owned(), "   ".to_owned()),
    ]);
    let mut client = TransportRegistry::default()
        .connect_and_initialize(
            &TransportConfig::StreamableHttp(http),
            &ctx("docs", env),
            PATIENCE,
        )
        .await
        .expect("initialises");
    client
        .service
        .close_with_timeout(PATIENCE)
        .await
        .expect("closes");

    let requests = fixture.requests();
    let posts: Vec<&Recorded> = requests
        .iter()
        .filter(|r| r.method == Method::POST)
        .collect();
    assert!(posts.len() >= 2, "initialize and initialized were posted");
    for request in posts {
        let header = |name: &str| {
            request
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        assert_eq!(header("authorization").as_deref(), Some("Bearer s3cret"));
        assert_eq!(header("x-static").as_deref(), Some("static"));
        assert_eq!(header("x-from-env").as_deref(), Some("from-env"));
        assert_eq!(header("x-blank"), None);
        assert_eq!(header("x-unset"), None);
        assert_eq!(header("user-agent").as_deref(), Some(USER_AGENT_VALUE));
    }
}

#[tokio::test]
async fn missing_bearer_token_fails_before_any_request() {
    let fixture = serve(json_mcp_server).await;
    let mut http = http_config(&fixture.url("/mcp"));
    http.bearer_token_env_var = Some("DOCS_TOKEN".to_owned());
    let error = TransportRegistry::default()
        .connect_and_initialize(
            &TransportConfig::StreamableHttp(http),
            &ctx("docs", parent_env()),
            PATIENCE,
        )
        .await
        .expect_err("no token");
    assert!(matches!(
        &error,
        ConnectError::MissingBearerToken { server, var } if server == "docs" && var == "DOCS_TOKEN"
    ));
    assert!(fixture.requests().is_empty());
}

/// A server that redirects every request to `target`.
async fn redirecting_to(target: String) -> common::http_fixture::Fixture {
    serve(move |_| {
        let target = target.clone();
        async move {
            Response::builder()
                .status(StatusCode::TEMPORARY_REDIRECT)
                .header("location", target)
                .body(full(""))
                .expect("response")
        }
    })
    .await
}

#[tokio::test]
async fn cross_origin_redirect_is_refused() {
    let elsewhere = serve(json_mcp_server).await;
    let redirector = redirecting_to(elsewhere.url("/mcp")).await;
    let config = TransportConfig::StreamableHttp(http_config(&redirector.url("/mcp")));
    let error = TransportRegistry::default()
        .connect_and_initialize(&config, &ctx("moved", parent_env()), PATIENCE)
        .await
        .expect_err("redirect refused");
    let text = chain(&error);
    assert!(text.contains("refused a cross-origin redirect"), "{text}");
    assert!(
        elsewhere.requests().is_empty(),
        "the other origin was contacted"
    );
}

#[tokio::test]
async fn same_origin_redirect_is_refused_too() {
    let redirector = redirecting_to("/elsewhere".to_owned()).await;
    let config = TransportConfig::StreamableHttp(http_config(&redirector.url("/mcp")));
    let error = TransportRegistry::default()
        .connect_and_initialize(&config, &ctx("moved", parent_env()), PATIENCE)
        .await
        .expect_err("redirect refused");
    let text = chain(&error);
    assert!(text.contains("refused a redirect"), "{text}");
    assert_eq!(redirector.requests().len(), 1);
}

/// A legacy SSE server announcing `endpoint` (relative or absolute).
async fn legacy_sse_server(endpoint: String) -> common::http_fixture::Fixture {
    let stream: Arc<Mutex<Option<mpsc::UnboundedSender<Bytes>>>> = Arc::default();
    serve(move |recorded: Recorded| {
        let stream = Arc::clone(&stream);
        let endpoint = endpoint.clone();
        async move {
            match (recorded.method.clone(), recorded.path.as_str()) {
                (Method::GET, "/sse") => {
                    let (tx, rx) = mpsc::unbounded_channel();
                    let _ = tx.send(Bytes::from(format!(
                        "event: endpoint\ndata: {endpoint}\n\n"
                    )));
                    if let Ok(mut slot) = stream.lock() {
                        *slot = Some(tx);
                    }
                    Response::builder()
                        .header("content-type", "text/event-stream")
                        .body(streamed(rx))
                        .expect("response")
                }
                (Method::POST, path) if path.starts_with("/message") => {
                    if let Some(answer) = mcp_answer(&recorded.body, "2024-11-05")
                        && let Ok(slot) = stream.lock()
                        && let Some(tx) = slot.as_ref()
                    {
                        let _ = tx.send(Bytes::from(format!("event: message\ndata: {answer}\n\n")));
                    }
                    Response::builder()
                        .status(StatusCode::ACCEPTED)
                        .body(full("Accepted"))
                        .expect("response")
                }
                _ => Response::builder()
                    .status(StatusCode::NOT_FOUND)
                    .body(full(""))
                    .expect("response"),
            }
        }
    })
    .await
}

#[tokio::test]
async fn legacy_sse_round_trip() {
    let fixture = legacy_sse_server("/message?sessionId=abc".to_owned()).await;
    let mut http = http_config(&fixture.url("/sse"));
    http.http_headers = BTreeMap::from([("X-Static".to_owned(), "static".to_owned())]);
    let mut client = TransportRegistry::default()
        .connect_and_initialize(
            &TransportConfig::Sse(http),
            &ctx("legacy", parent_env()),
            PATIENCE,
        )
        .await
        .expect("initialises over legacy SSE");
    let peer = client.service.peer().clone();
    let tools = peer.list_all_tools().await.expect("tools/list");
    assert_eq!(tools.len(), 1);
    let args = serde_json::json!({"text": "over sse"});
    let result = peer
        .call_tool(
            CallToolRequestParams::new("echo")
                .with_arguments(args.as_object().cloned().unwrap_or_default()),
        )
        .await
        .expect("tools/call");
    assert_eq!(
        result.content[0].as_text().map(|t| t.text.as_str()),
        Some("over sse")
    );
    client
        .service
        .close_with_timeout(PATIENCE)
        .await
        .expect("closes");

    let requests = fixture.requests();
    assert!(
        requests
            .iter()
            .filter(|r| r.method == Method::POST)
            .all(|r| r.path == "/message?sessionId=abc"
                && r.headers.get("x-static").is_some_and(|v| v == "static")),
        "{requests:?}"
    );
}

#[tokio::test]
async fn legacy_sse_cross_origin_endpoint_is_refused() {
    let fixture = legacy_sse_server("http://127.0.0.2:9/message".to_owned()).await;
    let config = TransportConfig::Sse(http_config(&fixture.url("/sse")));
    let error = TransportRegistry::default()
        .connect_and_initialize(&config, &ctx("legacy", parent_env()), PATIENCE)
        .await
        .expect_err("endpoint refused");
    assert!(
        matches!(&error, ConnectError::CrossOriginEndpoint { endpoint, .. } if endpoint == "http://127.0.0.2:9/message"),
        "{error}"
    );
    assert!(fixture.requests().iter().all(|r| r.method == Method::GET));
}
