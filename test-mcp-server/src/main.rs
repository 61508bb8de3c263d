//! `codex-test-mcp-server`: serves [`TestServer`] over stdio or streamable HTTP.
//!
//! ```text
//! codex-test-mcp-server                         # stdio
//! codex-test-mcp-server --http 127.0.0.1:0      # prints "listening on http://127.0.0.1:PORT/mcp"
//! ```
//!
//! [`TestServer`]: codex_test_mcp_server::TestServer

use std::process::ExitCode;

use codex_test_mcp_server::{Options, UsageError, serve};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(UsageError::Help) => {
            println!("{}", UsageError::Help);
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(64);
        }
    };
    match serve(options).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("codex-test-mcp-server: {error}");
            ExitCode::FAILURE
        }
    }
}
