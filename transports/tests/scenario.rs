//! One MCP exchange, run over every transport our test server speaks.

mod common;

use std::time::Duration;

use codex_transports::{
    ConnectContext, McpClient, TransportConfig, TransportPluginExt, TransportRegistry,
};
use pretty_assertions::assert_eq;
use rmcp::model::CallToolRequestParams;

use common::{PATIENCE, ctx, http_config, http_server, parent_env, stdio_server, with_launch};

const TOOLS: [&str; 8] = codex_test_mcp_server::TOOL_NAMES;

/// Calls `tool` with `args` and returns the text of the answer.
async fn call(client: &McpClient, tool: &'static str, args: serde_json::Value) -> String {
    let args = args.as_object().cloned().expect("object arguments");
    let result = client
        .service
        .peer()
        .call_tool(CallToolRequestParams::new(tool).with_arguments(args))
        .await
        .unwrap_or_else(|e| panic!("{tool} failed: {e}"));
    assert_ne!(result.is_error, Some(true), "{tool} reported an error");
    result
        .content
        .iter()
        .filter_map(|block| block.as_text().map(|text| text.text.clone()))
        .collect()
}

/// Initialise, list tools (paginated), call echo and add, close.
async fn scenario(config: TransportConfig, ctx: ConnectContext) {
    let ctx = with_launch(ctx, &config);
    let registry = TransportRegistry::default();
    let mut client = registry
        .connect_and_initialize(&config, &ctx, PATIENCE)
        .await
        .expect("connects and initialises");

    let info = client.service.peer().peer_info().expect("server info");
    assert_eq!(info.protocol_version.as_str(), "2026-07-28");
    assert_eq!(
        info.server_info.as_ref().map(|i| i.name.as_str()),
        Some("scenario")
    );

    let tools = client
        .service
        .peer()
        .list_all_tools()
        .await
        .expect("tools/list");
    let names: Vec<String> = tools.iter().map(|tool| tool.name.to_string()).collect();
    assert_eq!(names, TOOLS);

    assert_eq!(
        call(&client, "echo", serde_json::json!({"text": "hello"})).await,
        "hello"
    );
    assert_eq!(
        call(&client, "add", serde_json::json!({"a": 2, "b": 40})).await,
        "42"
    );
    assert_eq!(
        call(&client, "big_output", serde_json::json!({"bytes": 100_000}))
            .await
            .len(),
        100_000
    );

    client
        .service
        .close_with_timeout(PATIENCE)
        .await
        .expect("closes");
}

const SERVER_ARGS: [&str; 4] = ["--name", "scenario", "--tools-page-size", "2"];

#[tokio::test]
async fn scenario_over_stdio() {
    scenario(stdio_server(&SERVER_ARGS), ctx("stdio", parent_env())).await;
}

#[tokio::test]
async fn scenario_over_streamable_http() {
    let server = http_server(&SERVER_ARGS).await;
    let config = TransportConfig::StreamableHttp(http_config(&server.url));
    scenario(config, ctx("http", parent_env())).await;
}

#[tokio::test]
async fn handshake_timeout_bounds_a_hanging_server() {
    let registry = TransportRegistry::default();
    let config = stdio_server(&["--hang"]);
    let plugin = registry.get(config.kind()).expect("stdio registered");
    let error = plugin
        .connect_and_initialize(
            &config,
            &with_launch(ctx("hang", parent_env()), &config),
            // Long enough for the server to start and say it hangs on a
            // loaded machine; `--hang` makes it time out all the same.
            Duration::from_secs(5),
        )
        .await
        .expect_err("must time out");
    let message = error.to_string();
    assert!(message.contains("timed out handshaking"), "{message}");
    assert!(message.contains("hanging as asked"), "{message}");
}

#[tokio::test]
async fn handshake_timeout_over_http() {
    let server = http_server(&["--hang"]).await;
    let config = TransportConfig::StreamableHttp(http_config(&server.url));
    let error = TransportRegistry::default()
        .connect_and_initialize(
            &config,
            &ctx("hang", parent_env()),
            Duration::from_millis(500),
        )
        .await
        .expect_err("must time out");
    assert!(
        error.to_string().contains("timed out handshaking"),
        "{error}"
    );
}
