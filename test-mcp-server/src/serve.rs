//! Serving a [`TestServer`]: what the `codex-test-mcp-server` binary (and
//! `codex debug test-server`) run.

use std::sync::Arc;

use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use rmcp::ServiceExt;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio::net::TcpListener;

use crate::{Mode, Options, TestServer};

/// Serves `options` until the client goes away (stdio) or forever (HTTP,
/// which prints `listening on http://ADDR/mcp` first).
///
/// # Errors
///
/// When the transport fails.
pub async fn serve(options: Options) -> Result<(), Box<dyn std::error::Error>> {
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
    match options.mode.clone() {
        Mode::Stdio => serve_stdio(options).await,
        Mode::Http(addr) => serve_http(addr, options).await,
    }
}

async fn serve_stdio(options: Options) -> Result<(), Box<dyn std::error::Error>> {
    if let Some(hostile) = options.hostile.clone() {
        tokio::task::spawn_blocking(move || crate::hostile::serve(&hostile)).await??;
        return Ok(());
    }
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
    let oauth = options.oauth.then(|| {
        let base = format!("http://{}", listener.local_addr().unwrap_or(addr));
        crate::oauth::OAuthState::new(base, options.token_ttl)
    });
    let server = TestServer::new(options);
    let service = StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default(),
    );
    if let Some(state) = oauth {
        return serve_protected(listener, service, state).await;
    }
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

/// The MCP service behind the `--oauth` authorization server.
async fn serve_protected(
    listener: TcpListener,
    service: StreamableHttpService<TestServer, LocalSessionManager>,
    state: Arc<std::sync::Mutex<crate::oauth::OAuthState>>,
) -> Result<(), Box<dyn std::error::Error>> {
    loop {
        let (stream, _) = listener.accept().await?;
        let service = service.clone();
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            let handler = hyper::service::service_fn(move |request| {
                let service = service.clone();
                let state = Arc::clone(&state);
                async move {
                    Ok::<_, std::convert::Infallible>(
                        match crate::oauth::handle(&state, request).await {
                            Ok(answer) => answer,
                            Err(request) => service.handle(request).await,
                        },
                    )
                }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), handler)
                .with_upgrades();
            if let Err(error) = connection.await
                && !error.is_incomplete_message()
            {
                eprintln!("codex-test-mcp-server: connection error: {error}");
            }
        });
    }
}
