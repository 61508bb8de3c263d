//! The client side of the official MCP conformance suite.

use crate::error::CliError;

/// Runs the scenario named by `MCP_CONFORMANCE_SCENARIO` against `url`.
pub(crate) fn run(url: &str) -> Result<(), CliError> {
    let _ = url;
    Err(CliError::NotImplemented {
        what: "codex debug conformance-client",
    })
}
