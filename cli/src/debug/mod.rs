//! `codex debug ...`: hidden entry points for tests and conformance suites.

mod conformance;

pub(crate) use conformance::ConformanceError;

use crate::args::DebugCommand;
use crate::error::CliError;

pub(crate) fn run(command: DebugCommand) -> Result<(), CliError> {
    match command {
        DebugCommand::ConformanceClient(args) => conformance::run(&args.url),
    }
}
