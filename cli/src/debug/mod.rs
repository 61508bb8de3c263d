//! `codex debug ...`: hidden entry points for tests and conformance suites.

mod chaos;
mod conformance;

use std::process::ExitCode;

pub(crate) use conformance::ConformanceError;

use crate::args::{ConfigOverrides, DebugCommand};
use crate::error::CliError;

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
    }
}

/// Serves the test MCP server on a current-thread runtime, as its own
/// binary would.
fn test_server(args: Vec<String>) -> ExitCode {
    use std::io::Write as _;
    let options = match codex_test_mcp_server::Options::parse(args) {
        Ok(options) => options,
        Err(codex_test_mcp_server::UsageError::Help) => {
            let _ = writeln!(
                std::io::stdout().lock(),
                "{}",
                codex_test_mcp_server::UsageError::Help
            );
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            let _ = writeln!(std::io::stderr().lock(), "{error}");
            return ExitCode::from(64);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            let _ = writeln!(std::io::stderr().lock(), "codex test-server: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(codex_test_mcp_server::serve(options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let _ = writeln!(std::io::stderr().lock(), "codex test-server: {error}");
            ExitCode::FAILURE
        }
    }
}
