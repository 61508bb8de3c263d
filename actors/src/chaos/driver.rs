//! Drives a workload through a running session under a fault plan, and
//! reports what survived.
//!
//! The session must have been started with the plan's injector's registry
//! (`SessionOptions::transports`), so its servers' traffic goes through the
//! fault plugins; they were admitted like any others. Every call is bounded
//! by a deadline well past the server's own timeouts: a call that outlives
//! it is *unaccounted*, the one outcome that must never happen.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use codex_transports::TransportKind;
use codex_transports::fault::{ArmId, FaultInjector};
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::engine::{Applied, Engine, Event, Fired};
use super::plan::{FaultPlan, WorkItem};
use crate::mcp_server::ServerEvent;
use crate::session::{ServerState, ServerStatus, Session, SessionEvent};
use crate::sink::EventSink;

/// How long past its own timeouts a call may take before it counts as
/// unaccounted.
const SLACK: Duration = Duration::from_secs(30);
/// How often timed faults are checked.
const TICK: Duration = Duration::from_millis(10);

/// How often a call waiting for its server's next incarnation looks again
/// without having seen it become ready.
const READY_TICK: Duration = Duration::from_millis(50);

/// How much to run, and how.
#[derive(Debug, Clone)]
pub struct ChaosOptions {
    /// Stop after this many calls…
    pub calls: Option<u64>,
    /// …or after this long (whichever comes first; neither: 100 calls).
    pub duration: Option<Duration>,
    /// Calls in flight at once.
    pub concurrency: usize,
    /// How workload commands run: the sandbox, the environment and the
    /// working directory.
    pub commands: Option<CommandSetup>,
    /// Each call's deadline: the longest tool timeout plus the longest
    /// startup timeout of the session's servers.
    pub call_deadline: Duration,
    /// Every configured server's transport.
    pub servers: BTreeMap<String, TransportKind>,
    /// How long after the workload supervision may take to notice the last
    /// faults (a hung server shows only when a ping times out): one ping
    /// interval plus one ping timeout.
    pub settle: Duration,
}

/// How workload commands run.
#[derive(Debug, Clone)]
pub struct CommandSetup {
    /// The sandbox.
    pub policy: codex_sandbox::SandboxPolicy,
    /// Their environment.
    pub env: BTreeMap<OsString, OsString>,
    /// Their working directory.
    pub cwd: PathBuf,
}

/// Progress, for a terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// A fault fired.
    Injected(String),
    /// Calls finished so far.
    Calls {
        /// Done.
        done: u64,
        /// Of this many (when known).
        of: Option<u64>,
    },
}

/// What one call ended as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Ok,
    Error,
    Unaccounted,
}

/// A task stopped when this is dropped (also on an early return).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The message faults armed for one call; dropped when the call is over,
/// it takes back those no request claimed and reports them skipped.
struct Unclaimed {
    injector: FaultInjector,
    armed: Vec<(Fired, ArmId)>,
    fired: Arc<Mutex<Vec<Fired>>>,
    skipped: Arc<Mutex<Vec<Value>>>,
}

impl Drop for Unclaimed {
    fn drop(&mut self) {
        for (fault, id) in self.armed.drain(..) {
            if self.injector.disarm(&fault.target, id) {
                let mut entry = fault.to_json();
                entry["reason"] = json!("its call never reached the server");
                self.fired
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .retain(|f| f != &fault);
                self.skipped
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(entry);
            }
        }
    }
}

/// Calls by outcome.
#[derive(Debug, Default)]
struct Tally {
    ok: u64,
    error: u64,
    unaccounted: u64,
}

impl Tally {
    fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Ok => self.ok += 1,
            Outcome::Error => self.error += 1,
            Outcome::Unaccounted => self.unaccounted += 1,
        }
    }

    fn total(&self) -> u64 {
        self.ok + self.error + self.unaccounted
    }
}

/// One server's supervision, seen from the events.
#[derive(Debug, Default, Clone)]
struct ServerStats {
    restarts: u64,
    escalated: bool,
    failed_at: Option<Instant>,
    recoveries: Vec<Duration>,
}

/// The survival report (before the caller adds process and fd counts).
#[derive(Debug, Clone, PartialEq)]
pub struct ChaosReport {
    /// The plan's seed.
    pub seed: u64,
    /// Calls issued.
    pub issued: u64,
    /// That got a result.
    pub ok: u64,
    /// That got an error (or an error result).
    pub error: u64,
    /// That got neither in time.
    pub unaccounted: u64,
    /// Per server: `restarts`, `escalated`, `recover_ms`.
    pub servers: BTreeMap<String, Value>,
    /// Every fault that fired, in order.
    pub injected: Vec<Value>,
    /// Faults that could not be applied (a process fault on a server
    /// that was down), with why.
    pub skipped: Vec<Value>,
    /// How long the workload ran.
    pub wall: Duration,
}

impl ChaosReport {
    /// The JSON report; the caller adds `leftover_processes` and
    /// `leaked_fds`.
    pub fn to_json(&self) -> Value {
        json!({
            "seed": self.seed,
            "calls": {
                "issued": self.issued,
                "ok": self.ok,
                "error": self.error,
                "unaccounted": self.unaccounted,
            },
            "servers": self.servers,
            "injected": self.injected,
            "skipped": self.skipped,
            "wall_ms": self.wall.as_millis() as u64,
        })
    }
}

/// The work the workload cycles through.
#[derive(Debug, Clone)]
enum Work {
    Tool {
        server: String,
        kind: TransportKind,
        tool: String,
        args: Option<serde_json::Map<String, Value>>,
    },
    Command {
        argv: Vec<String>,
        timeout: Duration,
    },
}

/// Why the workload cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChaosError {
    /// Nothing to call.
    #[error(
        "the workload is empty: no ready server has a tool without required arguments; add [[workload]] entries to the plan"
    )]
    NoWork,
    /// A workload command, but no way to run commands.
    #[error("the workload has commands, but this session cannot run sandboxed commands")]
    NoCommands,
    /// The session stopped.
    #[error("the session stopped")]
    Stopped,
}

/// Runs the workload under `plan` through `session`, whose transports go
/// through `injector`.
///
/// # Errors
///
/// [`ChaosError`] when there is nothing to run.
pub async fn run_chaos(
    session: &Arc<Session>,
    injector: &FaultInjector,
    plan: &FaultPlan,
    options: &ChaosOptions,
    progress: Option<EventSink<Progress>>,
) -> Result<ChaosReport, ChaosError> {
    let statuses = session.statuses().await.map_err(|_| ChaosError::Stopped)?;
    let kinds = &options.servers;
    let work = workload(plan, &statuses, kinds);
    if work.is_empty() {
        return Err(ChaosError::NoWork);
    }
    if work.iter().any(|w| matches!(w, Work::Command { .. })) && options.commands.is_none() {
        return Err(ChaosError::NoCommands);
    }
    let servers: Vec<(String, TransportKind)> =
        kinds.iter().map(|(k, v)| (k.clone(), *v)).collect();
    let engine = Arc::new(Mutex::new(Engine::new(plan)));
    let fired: Arc<Mutex<Vec<Fired>>> = Arc::default();
    let skipped: Arc<Mutex<Vec<Value>>> = Arc::default();
    let stats: Arc<Mutex<BTreeMap<String, ServerStats>>> = Arc::new(Mutex::new(
        statuses
            .iter()
            .filter(|s| !matches!(s.state, ServerState::Disabled(_)))
            .map(|s| (s.name.clone(), ServerStats::default()))
            .collect(),
    ));
    let issued = Arc::new(std::sync::atomic::AtomicU64::new(0));

    // Supervision, from the events.
    let mut events = session.subscribe();
    let watcher = AbortOnDrop({
        let stats = Arc::clone(&stats);
        tokio::spawn(async move {
            use tokio::sync::broadcast::error::RecvError;
            loop {
                let event = match events.recv().await {
                    Ok(event) => event,
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return,
                };
                let mut stats = stats.lock().unwrap_or_else(PoisonError::into_inner);
                match event {
                    SessionEvent::Server(ServerEvent::Failed { server, .. }) => {
                        let entry = stats.entry(server).or_default();
                        entry.failed_at.get_or_insert_with(Instant::now);
                    }
                    SessionEvent::Server(ServerEvent::Ready {
                        server,
                        incarnation,
                        ..
                    }) if incarnation > 1 => {
                        let entry = stats.entry(server).or_default();
                        entry.restarts += 1;
                        if let Some(at) = entry.failed_at.take() {
                            entry.recoveries.push(at.elapsed());
                        }
                    }
                    SessionEvent::ServerGaveUp { server, .. } => {
                        stats.entry(server).or_default().escalated = true;
                    }
                    _ => {}
                }
            }
        })
    });

    let started = Instant::now();
    // The incarnations process faults ended (server, pid): the report
    // waits until each was followed by another, or the server failed.
    let ended: Arc<Mutex<Vec<(String, u32)>>> = Arc::default();
    // The servers whose incarnation a fault has just ended, with its pid:
    // calls to them wait for the next one.
    let down: Down = Arc::default();
    let apply = {
        let injector = injector.clone();
        let ended = Arc::clone(&ended);
        let down = Arc::clone(&down);
        let fired = Arc::clone(&fired);
        let skipped = Arc::clone(&skipped);
        let progress = progress.clone();
        // Returns whether a command must hang, and the message faults armed
        // for the call (to take back if the call never reaches its server).
        move |faults: Vec<Fired>| -> (bool, Vec<(Fired, ArmId)>) {
            let mut hang = false;
            let mut armed = Vec::new();
            for fault in faults {
                let outcome = match &fault.action {
                    Applied::Process(process) => injector
                        .process(&fault.target, process)
                        .map(|pid| {
                            if ends_incarnation(process) {
                                ended
                                    .lock()
                                    .unwrap_or_else(PoisonError::into_inner)
                                    .push((fault.target.clone(), pid));
                                down.lock()
                                    .unwrap_or_else(PoisonError::into_inner)
                                    .insert(fault.target.clone(), pid);
                            }
                        })
                        .map_err(|err| err.to_string()),
                    Applied::SlowStart(delay) => {
                        injector.slow_start(&fault.target, *delay);
                        Ok(())
                    }
                    Applied::Message(message) => {
                        let id = injector.arm(&fault.target, message.clone());
                        armed.push((fault.clone(), id));
                        Ok(())
                    }
                    Applied::SandboxHang => {
                        hang = true;
                        Ok(())
                    }
                };
                let mut entry = fault.to_json();
                match outcome {
                    Ok(()) => {
                        if let Some(progress) = &progress {
                            progress.report(Progress::Injected(format!(
                                "call {}: {} on {}",
                                fault.at_call, entry["action"], fault.target
                            )));
                        }
                        fired
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .push(fault);
                    }
                    Err(reason) => {
                        entry["reason"] = json!(reason);
                        skipped
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .push(entry);
                    }
                }
            }
            (hang, armed)
        }
    };
    let apply = Arc::new(apply);

    // Timed faults.
    let ticker = AbortOnDrop({
        let engine = Arc::clone(&engine);
        let apply = Arc::clone(&apply);
        let issued = Arc::clone(&issued);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(TICK);
            loop {
                every.tick().await;
                let due = engine.lock().unwrap_or_else(PoisonError::into_inner).due(
                    started.elapsed(),
                    issued.load(std::sync::atomic::Ordering::SeqCst),
                    &servers,
                );
                if !due.is_empty() {
                    // Timed message faults wait for whichever call comes.
                    let _ = apply(due);
                }
            }
        })
    });

    let limit = options.calls.or(if options.duration.is_some() {
        None
    } else {
        Some(100)
    });
    let permits = Arc::new(Semaphore::new(options.concurrency.max(1)));
    let mut running: JoinSet<Outcome> = JoinSet::new();
    let mut tally = Tally::default();
    let mut n: u64 = 0;
    loop {
        if limit.is_some_and(|limit| n >= limit)
            || options.duration.is_some_and(|d| started.elapsed() >= d)
        {
            break;
        }
        if let Some(pace) = plan.pace {
            let due = started + pace * u32::try_from(n).unwrap_or(u32::MAX);
            tokio::time::sleep_until(due.into()).await;
        }
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            break;
        };
        while let Some(done) = running.try_join_next() {
            tally.add(done.unwrap_or(Outcome::Unaccounted));
        }
        n += 1;
        issued.store(n, std::sync::atomic::Ordering::SeqCst);
        let item = work[((n - 1) % work.len() as u64) as usize].clone();
        let event = match &item {
            Work::Tool { server, kind, .. } => Event::Call {
                server,
                kind: *kind,
            },
            Work::Command { .. } => Event::Command,
        };
        let faults = engine
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .on(n, event);
        // A call whose own fault ends its server's incarnation meets the
        // dead server, as a client would; the calls after it wait for the
        // next incarnation, so the next fault finds a live one.
        let target = match &item {
            Work::Tool { server, .. } => Some(server.clone()),
            Work::Command { .. } => None,
        };
        let down_pid = |server: &Option<String>| {
            let down = down.lock().unwrap_or_else(PoisonError::into_inner);
            server.as_ref().and_then(|server| down.get(server).copied())
        };
        let before = down_pid(&target);
        let (hang, armed) = apply(faults);
        let waits = down_pid(&target) == before;
        let deadline = options.call_deadline + SLACK;
        let call_deadline = options.call_deadline;
        let down = Arc::clone(&down);
        let commands = options.commands.clone();
        let session = Arc::clone(session);
        let unclaimed = Unclaimed {
            injector: injector.clone(),
            armed,
            fired: Arc::clone(&fired),
            skipped: Arc::clone(&skipped),
        };
        running.spawn(async move {
            let _permit = permit;
            // When the call is over, a fault no request claimed did nothing.
            let _unclaimed = unclaimed;
            let call = async {
                match item {
                    Work::Tool {
                        server, tool, args, ..
                    } => {
                        if waits {
                            let until = Instant::now() + call_deadline;
                            await_next_incarnation(&session, &server, &down, until).await;
                        }
                        match session.call(&server, &tool, args).await {
                            Ok(result) if result.is_error != Some(true) => Outcome::Ok,
                            Ok(_) | Err(_) => Outcome::Error,
                        }
                    }
                    Work::Command { argv, timeout } => {
                        let Some(setup) = commands else {
                            return Outcome::Error;
                        };
                        let argv: Vec<OsString> = if hang {
                            ["/bin/sh", "-c", "sleep 3600"].map(OsString::from).to_vec()
                        } else {
                            argv.into_iter().map(OsString::from).collect()
                        };
                        let mut spec = codex_sandbox::CommandSpec::new(argv, setup.cwd, setup.env);
                        spec.timeout = timeout;
                        match session.run_command(spec, setup.policy).await {
                            Ok(exit) if exit.exit_code == 0 => Outcome::Ok,
                            Ok(_) | Err(_) => Outcome::Error,
                        }
                    }
                }
            };
            tokio::time::timeout(deadline, call)
                .await
                .unwrap_or(Outcome::Unaccounted)
        });
        if let Some(progress) = &progress
            && n.is_multiple_of(50)
        {
            progress.report(Progress::Calls {
                done: tally.total(),
                of: limit,
            });
        }
    }
    while let Some(done) = running.join_next().await {
        tally.add(done.unwrap_or(Outcome::Unaccounted));
    }
    let wall = started.elapsed();
    drop(ticker);
    // Let supervision finish what the last faults started: after one ping
    // cycle every hung server has been noticed, then every server ends
    // ready, or failed for good.
    tokio::time::sleep(options.settle).await;
    let _ = tokio::time::timeout(options.call_deadline + SLACK, session.wait_startup()).await;
    // Every incarnation a fault ended must have been followed by another
    // (or its server must have failed for good) before the report is read.
    let ended: Vec<(String, u32)> = ended.lock().unwrap_or_else(PoisonError::into_inner).clone();
    let deadline = Instant::now() + options.call_deadline + options.settle + SLACK;
    let statuses = loop {
        let statuses = session.statuses().await.map_err(|_| ChaosError::Stopped)?;
        let settled = ended
            .iter()
            .all(|(server, pid)| replaced(&statuses, server, *pid));
        if settled || Instant::now() >= deadline {
            break statuses;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // Restarts from the servers' own incarnation numbers: nothing a lagging
    // event channel skipped is missed.
    let incarnations: BTreeMap<String, u64> = statuses
        .iter()
        .filter_map(|s| Some((s.name.clone(), s.incarnation?)))
        .collect();
    let finals: BTreeMap<String, &'static str> = statuses
        .into_iter()
        .map(|status| {
            let state = match status.state {
                ServerState::Ready { .. } => "ready",
                ServerState::Disabled(_) => "disabled",
                ServerState::Failed(_) => "failed",
                ServerState::Lazy => "lazy",
                ServerState::Starting | ServerState::Restarting { .. } => "restarting",
            };
            (status.name, state)
        })
        .collect();
    drop(watcher);
    let servers = stats
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .map(|(name, stats)| {
            let mut recoveries: Vec<u64> = stats
                .recoveries
                .iter()
                .map(|d| d.as_millis() as u64)
                .collect();
            recoveries.sort_unstable();
            // The last incarnation that became ready is number N: N - 1
            // restarts (the events' count when it never did).
            let restarts = incarnations
                .get(name)
                .map_or(stats.restarts, |n| n.saturating_sub(1).max(stats.restarts));
            (
                name.clone(),
                json!({
                    "state": finals.get(name).copied().unwrap_or("unknown"),
                    "restarts": restarts,
                    "escalated": stats.escalated,
                    "recover_ms": {
                        "p50": percentile(&recoveries, 50),
                        "p99": percentile(&recoveries, 99),
                    },
                }),
            )
        })
        .collect();
    let mut injected: Vec<Fired> = fired.lock().unwrap_or_else(PoisonError::into_inner).clone();
    injected.sort_by_key(|f| (f.at_call, f.fault));
    Ok(ChaosReport {
        seed: plan.seed,
        issued: n,
        ok: tally.ok,
        error: tally.error,
        unaccounted: tally.unaccounted,
        servers,
        injected: injected.iter().map(Fired::to_json).collect(),
        skipped: skipped
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone(),
        wall,
    })
}

/// Servers whose incarnation a fault ended, by name, with its pid.
type Down = Arc<Mutex<BTreeMap<String, u32>>>;

/// Waits, until `until`, while a fault has ended `server`'s incarnation and
/// no other has replaced it: a call issued in between would only find the
/// server down, and count towards the next fault all the same.
async fn await_next_incarnation(session: &Session, server: &str, down: &Down, until: Instant) {
    let lock = || down.lock().unwrap_or_else(PoisonError::into_inner);
    let Some(pid) = lock().get(server).copied() else {
        return;
    };
    let mut events = session.subscribe();
    loop {
        let Ok(statuses) = session.statuses().await else {
            return;
        };
        if replaced(&statuses, server, pid) {
            let mut down = lock();
            if down.get(server) == Some(&pid) {
                down.remove(server);
            }
            return;
        }
        if Instant::now() >= until {
            return;
        }
        next_ready(&mut events, server, until).await;
    }
}

/// Whether the incarnation `pid` of `server` is over for good: another one
/// is ready, or the server failed or was disabled (or is gone).
fn replaced(statuses: &[ServerStatus], server: &str, pid: u32) -> bool {
    statuses
        .iter()
        .find(|s| s.name == server)
        .is_none_or(|s| match s.state {
            ServerState::Ready { .. } => s.pid != Some(pid),
            ServerState::Failed(_) | ServerState::Disabled(_) => true,
            _ => false,
        })
}

/// Until `server`'s next ready event, or a tick (the channel can lag),
/// and never past `until`.
async fn next_ready(
    events: &mut tokio::sync::broadcast::Receiver<SessionEvent>,
    server: &str,
    until: Instant,
) {
    use tokio::sync::broadcast::error::RecvError;
    let tick = (Instant::now() + READY_TICK).min(until);
    let _ = tokio::time::timeout_at(tick.into(), async {
        loop {
            match events.recv().await {
                Ok(SessionEvent::Server(ServerEvent::Ready { server: ready, .. }))
                    if ready == server =>
                {
                    return;
                }
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => std::future::pending::<()>().await,
            }
        }
    })
    .await;
}

/// Whether a process fault ends the server's incarnation (a restart must
/// follow).
fn ends_incarnation(fault: &codex_transports::fault::ProcessFault) -> bool {
    use codex_transports::fault::ProcessFault;
    !matches!(fault, ProcessFault::StderrFlood { .. })
}

/// The `p`th percentile (nearest rank) of sorted `values`, if any.
fn percentile(sorted: &[u64], p: usize) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

/// The workload: the plan's, or every ready tool without required
/// arguments.
fn workload(
    plan: &FaultPlan,
    statuses: &[crate::session::ServerStatus],
    kinds: &BTreeMap<String, TransportKind>,
) -> Vec<Work> {
    if !plan.workload.is_empty() {
        return plan
            .workload
            .iter()
            .map(|item| match item {
                WorkItem::Tool {
                    server, tool, args, ..
                } => Work::Tool {
                    server: server.clone(),
                    kind: kinds.get(server).copied().unwrap_or(TransportKind::Stdio),
                    tool: tool.clone(),
                    args: args.clone(),
                },
                WorkItem::Command { argv, timeout } => Work::Command {
                    argv: argv.clone(),
                    timeout: *timeout,
                },
            })
            .collect();
    }
    statuses
        .iter()
        .filter(|s| matches!(s.state, ServerState::Ready { .. }))
        .flat_map(|status| {
            status
                .tools
                .iter()
                .filter(|tool| {
                    tool.input_schema
                        .get("required")
                        .and_then(Value::as_array)
                        .is_none_or(Vec::is_empty)
                })
                .map(|tool| Work::Tool {
                    server: status.name.clone(),
                    kind: kinds
                        .get(&status.name)
                        .copied()
                        .unwrap_or(TransportKind::Stdio),
                    tool: tool.name.clone(),
                    args: None,
                })
        })
        .collect()
}
