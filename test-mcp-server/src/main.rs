//! `codex-test-mcp-server`: serves [`TestServer`] over stdio or streamable HTTP.
//!
//! ```text
//! codex-test-mcp-server                         # stdio
//! codex-test-mcp-server --http 127.0.0.1:0      # prints "listening on http://127.0.0.1:PORT/mcp"
//! ```

use std::process::ExitCode;
use std::sync::Arc;

use codex_test_mcp_server::{Mode, Options, TestServer, UsageError};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use rmcp::ServiceExt;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio::net::TcpListener;

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
    if let Some(secs) = &options.orphan_sleep {
        // `setsid` gives the sleep a session (and group) of its own; the
        // shell exits at once, so the sleep is re-parented away from us.
        let spawned = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(format!("setsid sleep {secs} </dev/null >/dev/null 2>&1 &"))
            .status();
        if let Err(error) = spawned {
            eprintln!("codex-test-mcp-server: cannot start the orphan: {error}");
        }
    }
    let result = match options.mode.clone() {
        Mode::Stdio => serve_stdio(options).await,
        Mode::Http(addr) => serve_http(addr, options).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("codex-test-mcp-server: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn serve_stdio(options: Options) -> Result<(), Box<dyn std::error::Error>> {
    if options.hang {
        eprintln!("codex-test-mcp-server: hanging as asked");
        // Keep stdin open and never read or answer.
        let _stdin = tokio::io::stdin();
        std::future::pending::<()>().await;
    }
    let service = TestServer::new(options)
        .serve(rmcp::transport::stdio())
        .await?;
    service.waiting().await?;
    Ok(())
}

async fn serve_http(
    addr: std::net::SocketAddr,
    options: Options,
) -> Result<(), Box<dyn std::error::Error>> {
    let listener = TcpListener::bind(addr).await?;
    println!("listening on http://{}/mcp", listener.local_addr()?);
    if options.hang {
        // Accept connections and hold them without ever answering.
        let mut held = Vec::new();
        loop {
            let (stream, _) = listener.accept().await?;
            held.push(stream);
        }
    }
    let server = TestServer::new(options);
    let service = StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default(),
    );
    loop {
        let (stream, _) = listener.accept().await?;
        let service = TowerToHyperService::new(service.clone());
        tokio::spawn(async move {
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            if let Err(error) = connection.await
                && !error.is_incomplete_message()
            {
                eprintln!("codex-test-mcp-server: connection error: {error}");
            }
        });
    }
}
