//! Fault injection: a transport plugin that wraps the built-in ones and
//! damages their traffic on demand, and an HTTP proxy that does the same in
//! front of any HTTP endpoint (an MCP server, the model API).
//!
//! Nothing here decides *when* a fault happens: a [`FaultInjector`] is told
//! to [`arm`](FaultInjector::arm) a [`Fault`] for a server's next message,
//! to delay its next start, or to do something to its process now
//! ([`ProcessFault`]). The chaos driver (in `codex-actors`) decides from a
//! fault plan. Production sessions never register these plugins: a session
//! gets them only when its owner hands it [`FaultInjector::registry`].
//!
//! - **stdio**: the server is spawned exactly as [`StdioPlugin`] would
//!   (same launch, same process tree guard), but its stdout reaches rmcp
//!   through a line relay that applies message faults, and its stdin
//!   through a copy that [`ProcessFault::Exit`] can cut.
//! - **streamable HTTP and legacy SSE**: the inner plugin connects through
//!   a [`FaultProxy`] on 127.0.0.1 that forwards to exactly the admitted
//!   URL and applies message and HTTP faults to POST requests.
//!
//! [`StdioPlugin`]: crate::StdioPlugin

mod proxy;
mod relay;

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use tokio::sync::Notify;

pub use proxy::{Decider, FaultProxy};

use crate::config::{TransportConfig, TransportKind};
use crate::error::ConnectError;
use crate::identity::CanonicalUrl;
use crate::plugin::{ConnectContext, Connection, TransportPlugin};
use crate::process::ChildProcess;
use crate::registry::TransportRegistry;

/// The largest message either side accepts (rmcp's line limit for stdio,
/// its event limit for SSE); [`Fault::Oversize`] sends one byte more.
pub const MESSAGE_LIMIT: usize = 16 * 1024 * 1024;

/// What a fault does to one message (stdio) or one POST request (HTTP).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Hold the message (or request) this long first.
    Delay(Duration),
    /// Lose it: the line is never delivered; the request never answered.
    Drop,
    /// Deliver it with bytes damaged so it no longer parses.
    Corrupt,
    /// Deliver a line that is not JSON-RPC first.
    GarbageLine,
    /// End the stream: stdout reaches EOF; the HTTP answer has no body.
    Close,
    /// Replace it with a message one byte over [`MESSAGE_LIMIT`].
    Oversize,
    /// Answer the request with this status (HTTP only).
    HttpStatus {
        /// The status code.
        status: u16,
        /// A `Retry-After` header, in whole seconds.
        retry_after: Option<u64>,
    },
    /// Drop the connection without an answer (HTTP only).
    Reset,
    /// Forward the start of the answer, then cut the body short (HTTP
    /// only).
    Truncate,
    /// Send the answer's status and headers, then nothing more, keeping the
    /// connection open (HTTP only).
    Stall,
}

impl Fault {
    /// Whether it only makes sense over HTTP.
    pub fn is_http_only(&self) -> bool {
        matches!(
            self,
            Fault::HttpStatus { .. } | Fault::Reset | Fault::Truncate | Fault::Stall
        )
    }
}

/// One armed fault, to take it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArmId(u64);

/// What a fault does to a stdio server's process, now.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProcessFault {
    /// Send this signal (a number, see [`signal_number`]) to its process
    /// group.
    Kill {
        /// The signal.
        signal: i32,
    },
    /// `SIGSTOP` its process group: it stops reading and writing, until
    /// supervision gives up on it and kills it.
    Hang,
    /// Close its stdin, as a client that goes away would; a server exits
    /// on its own then, with the status it chooses.
    Exit,
    /// Write this many bytes into its stderr pipe (`/proc/PID/fd/2`), as if
    /// it had written them.
    StderrFlood {
        /// How many.
        bytes: usize,
    },
}

/// Why a process fault could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FaultError {
    /// The server has no live stdio process under this injector.
    #[error("MCP server '{server}' has no running stdio process")]
    NoProcess {
        /// The server.
        server: String,
    },
    /// The system refused.
    #[error("cannot {action} MCP server '{server}': {reason}")]
    Failed {
        /// The server.
        server: String,
        /// What was tried.
        action: &'static str,
        /// Why it failed.
        reason: String,
    },
}

/// The number of a signal by its name (`KILL`, `SIGTERM`, case-insensitive).
///
/// ```
/// assert_eq!(codex_transports::fault::signal_number("kill"), Some(9));
/// assert_eq!(codex_transports::fault::signal_number("SIGTERM"), Some(15));
/// assert_eq!(codex_transports::fault::signal_number("NOPE"), None);
/// ```
pub fn signal_number(name: &str) -> Option<i32> {
    let upper = name.to_ascii_uppercase();
    let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
    let signal = match bare {
        "HUP" => rustix::process::Signal::HUP,
        "INT" => rustix::process::Signal::INT,
        "QUIT" => rustix::process::Signal::QUIT,
        "ABRT" => rustix::process::Signal::ABORT,
        "KILL" => rustix::process::Signal::KILL,
        "SEGV" => rustix::process::Signal::SEGV,
        "PIPE" => rustix::process::Signal::PIPE,
        "TERM" => rustix::process::Signal::TERM,
        "USR1" => rustix::process::Signal::USR1,
        "USR2" => rustix::process::Signal::USR2,
        _ => return None,
    };
    Some(signal.as_raw())
}

/// Faults armed per server, and the stdio processes they can reach. Cheap
/// to clone; clones share everything.
#[derive(Clone, Default)]
pub struct FaultInjector {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    armed: Mutex<HashMap<String, VecDeque<(ArmId, Fault)>>>,
    next_arm: std::sync::atomic::AtomicU64,
    slow_starts: Mutex<HashMap<String, Duration>>,
    live: Mutex<HashMap<String, LiveStdio>>,
}

/// The current incarnation of a stdio server under the injector.
#[derive(Clone)]
struct LiveStdio {
    process: ChildProcess,
    close_stdin: Arc<Notify>,
}

impl fmt::Debug for FaultInjector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultInjector")
            .field("armed", &*lock(&self.inner.armed))
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl FaultInjector {
    /// An injector with nothing armed.
    pub fn new() -> Self {
        FaultInjector::default()
    }

    /// A registry whose stdio, streamable HTTP and legacy SSE plugins go
    /// through this injector.
    pub fn registry(&self) -> TransportRegistry {
        let mut registry = TransportRegistry::empty();
        for kind in TransportKind::ALL {
            registry.register(Box::new(FaultPlugin {
                kind,
                injector: self.clone(),
            }));
        }
        registry
    }

    /// Damages the answer to the next `tools/call` sent to `server`. Faults
    /// queue up, one per call. The id lets the caller take the fault back
    /// if no call claimed it ([`FaultInjector::disarm`]).
    pub fn arm(&self, server: &str, fault: Fault) -> ArmId {
        let id = ArmId(
            self.inner
                .next_arm
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        );
        lock(&self.inner.armed)
            .entry(server.to_owned())
            .or_default()
            .push_back((id, fault));
        id
    }

    /// Takes back the fault `id` armed for `server`; `true` when no call had
    /// claimed it (it never did anything).
    pub fn disarm(&self, server: &str, id: ArmId) -> bool {
        let mut armed = lock(&self.inner.armed);
        let Some(queue) = armed.get_mut(server) else {
            return false;
        };
        let before = queue.len();
        queue.retain(|(armed, _)| *armed != id);
        queue.len() != before
    }

    /// The fault armed for `server`'s next message, taken.
    pub fn take(&self, server: &str) -> Option<Fault> {
        lock(&self.inner.armed)
            .get_mut(server)?
            .pop_front()
            .map(|(_, fault)| fault)
    }

    /// Delays `server`'s next start (the spawn, or the first HTTP request)
    /// by `delay`.
    pub fn slow_start(&self, server: &str, delay: Duration) {
        lock(&self.inner.slow_starts).insert(server.to_owned(), delay);
    }

    /// Applies `fault` to `server`'s running stdio process now; returns its
    /// pid.
    ///
    /// # Errors
    ///
    /// [`FaultError::NoProcess`] when it has none; [`FaultError::Failed`]
    /// when the system refuses.
    pub fn process(&self, server: &str, fault: &ProcessFault) -> Result<u32, FaultError> {
        let live = lock(&self.inner.live)
            .get(server)
            .cloned()
            .filter(|live| live.process.try_exit_status().is_none())
            .ok_or_else(|| FaultError::NoProcess {
                server: server.to_owned(),
            })?;
        let pid = live.process.pid();
        let failed = |action: &'static str, reason: String| FaultError::Failed {
            server: server.to_owned(),
            action,
            reason,
        };
        let group = |signal: rustix::process::Signal, action: &'static str| {
            let pgid = rustix::process::Pid::from_raw(pid as i32)
                .ok_or_else(|| failed(action, format!("bad pid {pid}")))?;
            rustix::process::kill_process_group(pgid, signal)
                .map_err(|err| failed(action, err.to_string()))
        };
        match fault {
            ProcessFault::Kill { signal } => {
                let signal = rustix::process::Signal::from_named_raw(*signal)
                    .ok_or_else(|| failed("signal", format!("unknown signal {signal}")))?;
                group(signal, "signal")?;
            }
            ProcessFault::Hang => group(rustix::process::Signal::STOP, "stop")?,
            ProcessFault::Exit => live.close_stdin.notify_one(),
            ProcessFault::StderrFlood { bytes } => {
                let bytes = *bytes;
                // Blocks while the pipe is full, until our reader drains
                // it: off the async threads.
                std::thread::spawn(move || {
                    use std::io::Write as _;
                    let path = format!("/proc/{pid}/fd/2");
                    if let Ok(mut pipe) = std::fs::OpenOptions::new().write(true).open(path) {
                        let line = [b'!'; 1023];
                        let mut left = bytes;
                        let mut written = 0_u64;
                        while left > 0 {
                            // This end of the pipe keeps it open: once the
                            // server is gone, stop and close it, or its
                            // reader never sees the end.
                            if written.is_multiple_of(64) && !running(pid) {
                                break;
                            }
                            let n = left.min(line.len());
                            if pipe.write_all(&line[..n]).is_err() || pipe.write_all(b"\n").is_err()
                            {
                                break;
                            }
                            left -= n;
                            written += 1;
                        }
                    }
                });
            }
        }
        Ok(pid)
    }

    fn take_slow_start(&self, server: &str) -> Option<Duration> {
        lock(&self.inner.slow_starts).remove(server)
    }

    fn set_live(&self, server: &str, live: LiveStdio) {
        lock(&self.inner.live).insert(server.to_owned(), live);
    }
}

/// Whether `pid` is a live process (not gone, not a zombie).
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rfind(')')
            .and_then(|end| stat[end + 1..].split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X")
    })
}

/// A built-in plugin behind the injector: same kind, same identity (the
/// trait's default, so admission sees exactly what it would without it),
/// damaged traffic.
#[derive(Debug)]
struct FaultPlugin {
    kind: TransportKind,
    injector: FaultInjector,
}

impl TransportPlugin for FaultPlugin {
    fn kind(&self) -> TransportKind {
        self.kind
    }

    fn connect<'a>(
        &'a self,
        config: &'a TransportConfig,
        ctx: &'a ConnectContext,
    ) -> BoxFuture<'a, Result<Connection, ConnectError>> {
        async move {
            if config.kind() != self.kind {
                return Err(ConnectError::mismatch(config, self.kind));
            }
            if let Some(delay) = self.injector.take_slow_start(&ctx.server_name) {
                tokio::time::sleep(delay).await;
            }
            match config {
                TransportConfig::Stdio(stdio) => {
                    let spawned = crate::stdio::spawn(stdio, ctx).await?;
                    let (stdout, stdin, unfinished) = spawned.split();
                    let close_stdin = Arc::new(Notify::new());
                    self.injector.set_live(
                        &ctx.server_name,
                        LiveStdio {
                            process: unfinished.process.clone(),
                            close_stdin: Arc::clone(&close_stdin),
                        },
                    );
                    let relay = relay::start(
                        stdout,
                        stdin,
                        ctx.server_name.clone(),
                        self.injector.clone(),
                        close_stdin,
                    );
                    let (read, write, tasks) = relay;
                    Ok(unfinished.connection(read, write).keeping(tasks))
                }
                TransportConfig::StreamableHttp(http) | TransportConfig::Sse(http) => {
                    let upstream = url::Url::parse(http.canonical_url.as_str()).map_err(|err| {
                        ConnectError::Proxy {
                            server: ctx.server_name.clone(),
                            reason: err.to_string(),
                        }
                    })?;
                    let injector = self.injector.clone();
                    let server = ctx.server_name.clone();
                    let decider: Decider = Arc::new(move |method: &http::Method, body: &[u8]| {
                        (method == http::Method::POST && is_tool_call(body))
                            .then(|| injector.take(&server))
                            .flatten()
                    });
                    let proxy =
                        FaultProxy::start(upstream.clone(), decider)
                            .await
                            .map_err(|err| ConnectError::Proxy {
                                server: ctx.server_name.clone(),
                                reason: err.to_string(),
                            })?;
                    let mut through = http.clone();
                    through.url = proxy.proxied(&upstream).to_string();
                    through.canonical_url =
                        CanonicalUrl::parse(&through.url).map_err(|err| ConnectError::Proxy {
                            server: ctx.server_name.clone(),
                            reason: err.to_string(),
                        })?;
                    let through = match config {
                        TransportConfig::Sse(_) => TransportConfig::Sse(through),
                        _ => TransportConfig::StreamableHttp(through),
                    };
                    // A stored login stays the one of the admitted URL.
                    let mut ctx = ctx.clone();
                    ctx.credentials_url = Some(http.canonical_url.as_str().to_owned());
                    let defaults = TransportRegistry::default();
                    Ok(defaults.connect(&through, &ctx).await?.keeping(proxy))
                }
            }
        }
        .boxed()
    }
}

/// Whether `body` is a JSON-RPC `tools/call` request.
fn is_tool_call(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|value| {
            value
                .get("method")
                .and_then(serde_json::Value::as_str)
                .map(|method| method == "tools/call")
        })
        .unwrap_or(false)
}
