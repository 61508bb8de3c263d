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
    }
}
