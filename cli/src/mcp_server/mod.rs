//! `codex mcp-server`: the agent as an MCP server for other agents.
//!
//! The server speaks MCP with rmcp's server side over stdio
//! (newline-delimited JSON-RPC; stdout carries nothing else, warnings go
//! to stderr), or with `--listen` over streamable HTTP on a loopback
//! address, and offers two tools (`tools.rs`): `codex` starts a thread and
//! runs a turn, `codex-reply` runs the next turn of a thread. A call answers with
//! the agent's last message as `content[0]` and `structuredContent`
//! `{threadId, content}`; a failure is an `isError` result saying why.
//!
//! The pieces:
//! - `handler.rs`: rmcp's handler, and the transport wrapper that keeps a
//!   cancelled call answerable;
//! - `threads.rs`: the live threads, one [`Session`](codex_actors::session::Session)
//!   each, and running a call's turn through the same
//!   [`Conversation`](crate::conversation::Conversation) as `exec` and the
//!   chat;
//! - `events.rs`: each event of a turn as a `codex/event` notification
//!   (and `notifications/progress` when the request has a progress token);
//! - `approval.rs`: what the policy asks the user becomes an
//!   `elicitation/create` request; anything but an explicit yes denies.
//!
//! Each call runs as its own task on the actor System's thread, so many run
//! at once (up to [`MAX_RUNNING_CALLS`]; more wait their turn). A cancelled
//! call (`notifications/cancelled`) interrupts its turn and still answers
//! (over stdio). When stdin closes (or, over HTTP, on Ctrl-C or SIGTERM),
//! every turn is cancelled, every session stopped, and the server exits;
//! `main` then kills whatever any of them left behind.
//!
//! The host's requirements govern every session: a call's `config` and
//! `sandbox` are `-c` and `-s` for it, which requirements bound exactly as
//! they bound the flags.

mod approval;
mod events;
mod handler;
mod threads;
mod tools;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use rmcp::ServiceExt as _;
use rmcp::transport::async_rw::AsyncRwTransport;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

use crate::args::{ConfigOverrides, McpServerArgs};
use crate::error::CliError;
use handler::{Calls, Handler, Intercept, Job, error_result};
use threads::Threads;
use tools::Call;

/// The largest message the client may send: a longer line is dropped
/// unread.
const MAX_MESSAGE_BYTES: usize = 8 << 20;

/// How many calls may wait for the dispatcher at once; a client sending
/// more waits.
const MAX_QUEUED_CALLS: usize = 64;

/// How many calls run at once; more wait in the queue (and past it, in
/// the client's pipe).
const MAX_RUNNING_CALLS: usize = threads::MAX_LIVE_THREADS;

/// How long stopping waits for cancelled calls to finish.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves MCP on stdin and stdout until stdin closes, or with `--listen`
/// over streamable HTTP until Ctrl-C or SIGTERM.
pub(crate) fn run(overrides: &ConfigOverrides, args: McpServerArgs) -> Result<ExitCode, CliError> {
    if let Some(addr) = args.listen
        && !addr.ip().is_loopback()
    {
        return Err(CliError::Usage(format!(
            "--listen {addr}: only a loopback address (127.0.0.1 or [::1]) is served: \
             whoever connects runs commands as you"
        )));
    }
    let cwd = threads::server_cwd()?;
    // A broken config or requirements file fails the server at start, not
    // each call.
    crate::context::load_at(overrides, &cwd)?;
    let overrides = overrides.clone();
    codex_runtime::block_on(move || serve(overrides, cwd, args.listen))??;
    Ok(ExitCode::SUCCESS)
}

async fn serve(
    overrides: ConfigOverrides,
    cwd: PathBuf,
    listen: Option<SocketAddr>,
) -> Result<(), CliError> {
    let calls = Calls::default();
    let (jobs, mut queue) = mpsc::channel::<Job>(MAX_QUEUED_CALLS);
    let handler = Handler::new(jobs, calls.clone());
    // Fires when the client goes away (stdio) or the server is told to
    // stop (HTTP).
    let closed = CancellationToken::new();
    match listen {
        None => serve_stdio(handler, calls.clone(), closed.clone()).await?,
        Some(addr) => serve_http(handler, addr, closed.clone()).await?,
    }

    let threads = Rc::new(Threads::new(overrides, cwd));
    let permits = Arc::new(Semaphore::new(MAX_RUNNING_CALLS));
    let mut permit = None;
    let mut running = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            acquired = Arc::clone(&permits).acquire_owned(), if permit.is_none() => {
                permit = acquired.ok();
            }
            job = queue.recv(), if permit.is_some() => {
                let Some(job) = job else { break };
                if let Some(permit) = permit.take() {
                    running.spawn_local(dispatch(Rc::clone(&threads), job, permit));
                }
            }
            Some(ended) = running.join_next(), if !running.is_empty() => {
                if let Err(err) = ended
                    && err.is_panic()
                {
                    crate::terminal::err("warning: a call's task panicked; its call got an error");
                }
            }
            () = closed.cancelled() => break,
        }
    }

    // The client is gone: every turn stops, queued calls are refused, and
    // every session stops with the processes it started.
    calls.cancel_all();
    queue.close();
    while let Ok(job) = queue.try_recv() {
        let _ = job.done.send(error_result("the server is shutting down"));
    }
    let drained = tokio::time::timeout(STOP_TIMEOUT, async {
        while running.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        running.abort_all();
    }
    threads.stop_all().await;
    Ok(())
}

/// Serves `handler` on stdin and stdout; `closed` fires when stdin closes.
async fn serve_stdio(
    handler: Handler,
    calls: Calls,
    closed: CancellationToken,
) -> Result<(), CliError> {
    let (stdin, stdout) = rmcp::transport::stdio_pipes();
    let transport = Intercept::new(
        AsyncRwTransport::new_server(stdin, stdout).with_max_line_length(MAX_MESSAGE_BYTES),
        calls,
    );
    let service = handler
        .serve(transport)
        .await
        .map_err(|err| CliError::McpHandshake(Box::new(err)))?;
    tokio::spawn(async move {
        let _ = service.waiting().await;
        closed.cancel();
    });
    Ok(())
}

/// Serves `handler` over streamable HTTP at `http://ADDR/mcp` (loopback
/// `Host`s only, and no request from a browser page); `closed` fires on
/// Ctrl-C or SIGTERM.
///
/// A call a client cancels over HTTP stops its turn, but rmcp drops its
/// answer: the wrapper that keeps cancelled calls answerable works on
/// stdio only.
async fn serve_http(
    handler: Handler,
    addr: SocketAddr,
    closed: CancellationToken,
) -> Result<(), CliError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| CliError::Listen { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| CliError::Listen { addr, source })?;
    let config = StreamableHttpServerConfig::default()
        .enforce_origin_validation()
        .with_cancellation_token(closed.child_token());
    let service = StreamableHttpService::new(
        move || Ok(handler.clone()),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    crate::terminal::err(&format!(
        "codex mcp-server: listening on http://{bound}/mcp"
    ));
    let accepting = closed.clone();
    tokio::spawn(async move {
        loop {
            let stream = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(_) => continue,
                },
                () = accepting.cancelled() => return,
            };
            let service = TowerToHyperService::new(service.clone());
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .with_upgrades()
                    .await;
            });
        }
    });
    tokio::spawn(async move {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let terminated = async {
            match term.as_mut() {
                Some(term) => {
                    term.recv().await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            () = terminated => {}
        }
        closed.cancel();
    });
    Ok(())
}

/// Runs one call, holding one of the running calls' permits, and sends
/// its result.
async fn dispatch(threads: Rc<Threads>, job: Job, _permit: OwnedSemaphorePermit) {
    let Job {
        call,
        client,
        cancel,
        done,
    } = job;
    let result = match call {
        // Cancelled while it waited for its turn to run: nothing to start.
        Call::Start(_) | Call::Reply(_) if cancel.is_cancelled() => {
            error_result("the call was cancelled before it started")
        }
        Call::Start(args) => threads.start(args, &client, &cancel).await,
        Call::Reply(args) => threads.reply(args, &client, &cancel).await,
    };
    let _ = done.send(result);
}
