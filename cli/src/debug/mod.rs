//! `codex debug ...`: hidden entry points for tests and conformance suites.

mod chaos;
mod conformance;

use std::process::ExitCode;

pub(crate) use conformance::ConformanceError;

use crate::args::{ConfigOverrides, DebugCommand, SchemaKind};
use crate::error::CliError;
use crate::terminal;

pub(crate) fn run(
    overrides: &ConfigOverrides,
    command: DebugCommand,
) -> Result<ExitCode, CliError> {
    match command {
        DebugCommand::ConformanceClient(args) => {
            conformance::run(&args.url).map(|()| ExitCode::SUCCESS)
        }
        DebugCommand::Chaos(args) => chaos::chaos(overrides, &args),
        DebugCommand::FaultProxy(args) => chaos::fault_proxy(&args).map(|()| ExitCode::SUCCESS),
        DebugCommand::TestServer(args) => Ok(test_server(args.args)),
        DebugCommand::MockModel(args) => mock_model(&args.reply).map(|()| ExitCode::SUCCESS),
        DebugCommand::Schema(args) => {
            let schema = match args.which {
                SchemaKind::Config => codex_actors::config::config_schema(),
                SchemaKind::Requirements => codex_actors::policy::requirements_schema(),
                SchemaKind::ExecEvents => crate::exec::jsonl::schema(),
            };
            terminal::out_json(&serde_json::to_string_pretty(&schema).unwrap_or_default())?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Serves the mock model until killed, answering `reply` to every request.
fn mock_model(reply: &str) -> Result<(), CliError> {
    use codex_test_mcp_server::mock_model::{MockModel, Reply, ev};
    let reply = reply.to_owned();
    codex_runtime::block_on(move || async move {
        let model = MockModel::start(Vec::new())
            .await
            .map_err(|source| CliError::Listen {
                addr: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
                source,
            })?;
        model.answer_forever(Reply::sse(vec![
            ev::created("r"),
            ev::message("m", &reply),
            ev::completed("r"),
        ]));
        terminal::out(&format!("listening on {}", model.base_url()))?;
        std::future::pending::<()>().await;
        Ok::<(), CliError>(())
    })?
}

/// Serves the test MCP server on a current-thread runtime, as its own
/// binary would.
fn test_server(args: Vec<String>) -> ExitCode {
    let options = match codex_test_mcp_server::Options::parse(args) {
        Ok(options) => options,
        Err(codex_test_mcp_server::UsageError::Help) => {
            let _ = terminal::out(&codex_test_mcp_server::UsageError::Help.to_string());
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            terminal::err(&error.to_string());
            return ExitCode::from(64);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            terminal::err(&format!("codex test-server: {error}"));
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(codex_test_mcp_server::serve(options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            terminal::err(&format!("codex test-server: {error}"));
            ExitCode::FAILURE
        }
    }
}
