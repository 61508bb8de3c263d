//! The stdio plugin: a child process speaking newline-delimited JSON-RPC.
//!
//! The plugin executes exactly the [`StdioLaunch`](crate::StdioLaunch) in
//! [`ConnectContext::launch`]: the resolved (possibly hash-pinned) program,
//! its argv, cwd and exact environment, sandboxed when the launch says so,
//! through `codex-sandbox`'s pre-exec route. It looks nothing up itself.
//! The child runs in its own process group and carries a process tag.
//! stderr is piped into a [`StderrTail`].
//!
//! # Drop
//!
//! The transport owns a guard on the process tree. Closing the transport
//! closes the child's stdin, waits up to [`CLOSE_GRACE`] for the child to
//! exit, then SIGKILLs the whole tree; dropping it SIGKILLs the tree at
//! once: the group, descendants that left it (`setsid`), and orphans of it
//! that this process adopted as subreaper. A task reaps the group leader and publishes its exit
//! status on its [`ChildProcess`].

use std::io;
use std::process::Stdio;
use std::time::Duration;

use codex_sandbox::{
    PreparedCommand, ProcessTag, SandboxLauncher, SandboxMode, SandboxPolicy, SpawnRoute,
};
use futures::FutureExt;
use futures::future::BoxFuture;
use rmcp::RoleClient;
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use rmcp::transport::async_rw::AsyncRwTransport;
use tokio::process::{ChildStdin, ChildStdout, Command};

use crate::boxed::BoxedTransport;
use crate::config::{StdioConfig, TransportConfig, TransportKind};
use crate::error::ConnectError;
use crate::health::{MAX_MESSAGE_BYTES, TransportHealth};
use crate::plugin::{ConnectContext, Connection, TransportPlugin};
use crate::process::ChildProcess;
use crate::stderr_tail::StderrTail;

/// How long closing the transport waits for the child to exit after its
/// stdin is closed, before SIGKILLing its group.
pub const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// The plugin for [`TransportKind::Stdio`].
#[derive(Debug, Clone, Copy, Default)]
pub struct StdioPlugin;

impl TransportPlugin for StdioPlugin {
    fn kind(&self) -> TransportKind {
        TransportKind::Stdio
    }

    fn connect<'a>(
        &'a self,
        config: &'a TransportConfig,
        ctx: &'a ConnectContext,
    ) -> BoxFuture<'a, Result<Connection, ConnectError>> {
        async move {
            let stdio = stdio_config(config)?;
            Ok(spawn(stdio, ctx).await?.into_connection())
        }
        .boxed()
    }
}

pub(crate) fn stdio_config(config: &TransportConfig) -> Result<&StdioConfig, ConnectError> {
    match config {
        TransportConfig::Stdio(stdio) => Ok(stdio),
        TransportConfig::StreamableHttp(_) | TransportConfig::Sse(_) => {
            Err(ConnectError::mismatch(config, TransportKind::Stdio))
        }
    }
}

/// A spawned stdio server before its transport is built: its pipes, its
/// process, and the guard that kills its tree.
pub(crate) struct Spawned {
    pub(crate) stdout: ChildStdout,
    pub(crate) stdin: ChildStdin,
    pub(crate) process: ChildProcess,
    group: GroupGuard,
}

impl Spawned {
    /// rmcp's line codec straight over the child's pipes.
    fn into_connection(self) -> Connection {
        let (stdout, stdin, unfinished) = self.split();
        unfinished.connection(stdout, stdin)
    }

    /// The pipes, and what builds the transport once something sits
    /// between them and rmcp.
    pub(crate) fn split(self) -> (ChildStdout, ChildStdin, Unfinished) {
        let Spawned {
            stdout,
            stdin,
            process,
            group,
        } = self;
        (stdout, stdin, Unfinished { process, group })
    }
}

/// A spawned server whose pipes were taken by [`Spawned::split`].
pub(crate) struct Unfinished {
    pub(crate) process: ChildProcess,
    group: GroupGuard,
}

impl Unfinished {
    /// rmcp's line codec over `read` and `write`, which lead to the
    /// child's pipes.
    pub(crate) fn connection<R, W>(self, read: R, write: W) -> Connection
    where
        R: tokio::io::AsyncRead + Send + Unpin + 'static,
        W: tokio::io::AsyncWrite + Send + Unpin + 'static,
    {
        let process = self.process;
        let health = TransportHealth::default();
        let read = LineGuard {
            inner: read,
            line: 0,
            health: health.clone(),
        };
        let transport = StdioTransport {
            io: AsyncRwTransport::new_client(read, write),
            group: self.group,
            process: process.clone(),
        };
        Connection::local(
            BoxedTransport::with_health("stdio", transport, health),
            process,
        )
    }
}

/// Counts the bytes of the line being read: one longer than
/// [`MAX_MESSAGE_BYTES`] fails the read, which ends the connection, with
/// the limit as its reason (rmcp alone would drop the line quietly and
/// leave its request waiting).
struct LineGuard<R> {
    inner: R,
    line: usize,
    health: TransportHealth,
}

impl<R: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for LineGuard<R> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        if let std::task::Poll::Ready(Ok(())) = &polled {
            let fresh = &buf.filled()[before..];
            let mut line = self.line;
            for chunk in fresh.split_inclusive(|&b| b == b'\n') {
                let ended = chunk.ends_with(b"\n");
                let length = line.saturating_add(chunk.len() - usize::from(ended));
                line = if ended { 0 } else { length };
                if length > MAX_MESSAGE_BYTES {
                    self.health.oversized();
                    return std::task::Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "a message larger than the limit",
                    )));
                }
            }
            self.line = line;
        }
        polled
    }
}

pub(crate) async fn spawn(
    config: &StdioConfig,
    ctx: &ConnectContext,
) -> Result<Spawned, ConnectError> {
    let spawn_error = |source| ConnectError::Spawn {
        server: ctx.server_name.clone(),
        command: config.command.clone(),
        source,
    };
    let launch = ctx.launch.clone().ok_or_else(|| ConnectError::NoLaunch {
        server: ctx.server_name.clone(),
    })?;
    let policy = launch
        .sandbox
        .clone()
        .unwrap_or_else(|| SandboxPolicy::new(SandboxMode::DangerFullAccess));
    // The spawn blocks its thread until the child has called `execve`
    // (std waits for the exec to succeed or fail): about a millisecond per
    // server on our VMs. Do it on the blocking pool, not on the async
    // threads, where it would stall every actor on the System thread and
    // serialize the start of many servers. The group guard is made there
    // too, so that if this future is dropped meanwhile, the whole tree dies
    // with the result.
    let (mut child, group) = tokio::task::spawn_blocking(move || {
        // Sandboxed or not, the spec is executed as is, on the pre-exec
        // route: no helper, no re-spelling of the command.
        let launcher = SandboxLauncher::new("/", Vec::<std::ffi::OsString>::new())
            .with_route(SpawnRoute::PreExec);
        // Not tied to the spawning thread: the blocking pool's threads come
        // and go (the tree is killed when the transport goes instead).
        let mut prepared = PreparedCommand::new(&launch.spec, &policy, &launcher, false)
            .map_err(io::Error::other)?;
        std::os::unix::process::CommandExt::process_group(prepared.command_mut(), 0)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let (command, tag) = prepared.into_parts();
        let mut command = Command::from(command);
        command.kill_on_drop(true);
        let child = command.spawn()?;
        let pgid = child
            .id()
            .ok_or_else(|| io::Error::other("the child exited before it was tracked"))?;
        codex_sandbox::register_owned(pgid);
        // From here on the guard kills the tree on every exit path.
        Ok((child, GroupGuard { pgid, tag }))
    })
    .await
    .map_err(|join| io::Error::other(format!("the spawn did not finish: {join}")))
    .and_then(|spawned| spawned)
    .map_err(spawn_error)?;
    let pid = group.pgid;
    let (Some(stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err(spawn_error(io::Error::other("a stdio pipe is missing")));
    };

    let tail = StderrTail::new(ctx.stderr_capacity);
    tokio::spawn(tail.clone().fill_from(stderr, ctx.server_name.clone()));
    let process = ChildProcess::reaped(child, pid, group.tag.clone(), tail);
    Ok(Spawned {
        stdout,
        stdin,
        process,
        group,
    })
}

/// SIGKILLs the server's process tree when dropped (see
/// [`ProcessTag::kill`]).
///
/// The group id stays reserved while any member lives, so the kill cannot
/// reach an unrelated group unless every member is gone and the id was
/// reused since, which the kernel's pid allocation makes very unlikely.
#[derive(Debug)]
struct GroupGuard {
    pgid: u32,
    tag: ProcessTag,
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.tag.kill(self.pgid);
    }
}

/// The stdio transport: rmcp's line codec over the child's pipes (or over
/// streams that lead to them), plus the group guard.
struct StdioTransport<R: tokio::io::AsyncRead, W: tokio::io::AsyncWrite> {
    io: AsyncRwTransport<RoleClient, R, W>,
    group: GroupGuard,
    process: ChildProcess,
}

impl<R, W> Transport<RoleClient> for StdioTransport<R, W>
where
    R: tokio::io::AsyncRead + Send + Unpin + 'static,
    W: tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    type Error = io::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleClient>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        self.io.send(item)
    }

    fn receive(&mut self) -> impl Future<Output = Option<RxJsonRpcMessage<RoleClient>>> + Send {
        self.io.receive()
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        let closed = self.io.close().await;
        let _ = tokio::time::timeout(CLOSE_GRACE, self.process.exited()).await;
        self.group.tag.kill(self.group.pgid);
        closed
    }
}
