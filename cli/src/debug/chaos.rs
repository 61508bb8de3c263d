//! `codex debug chaos` and `codex debug fault-proxy`: fault injection from
//! the command line.
//!
//! `chaos` starts a supervised session with the configured servers
//! (admitted as always) whose transports go through a fault injector,
//! drives the plan's workload, shuts the session down, then checks that
//! nothing was left behind: no process (a `/proc` scan) and no file
//! descriptor (`/proc/self/fd` counted before and after).

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use codex_actors::EventSink;
use codex_actors::chaos::{
    Applied, ChaosOptions, ChaosReport, CommandSetup, Engine, Event, FaultPlan, Progress, Target,
    run_chaos,
};
use codex_actors::session::Session;
use codex_transports::TransportKind;
use codex_transports::fault::{Decider, FaultInjector, FaultProxy};
use serde_json::{Value, json};

use crate::args::{ChaosArgs, ConfigOverrides, FaultProxyArgs};
use crate::context;
use crate::error::CliError;
use crate::session::{preloaded, session_options, wait_with_progress, warn_audit_drops};

/// The defaults a server gets when its config says nothing.
const DEFAULT_TOOL_TIMEOUT: Duration = Duration::from_secs(60);
const DEFAULT_STARTUP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long shutdown may take to release processes and descriptors.
const SETTLE: Duration = Duration::from_secs(5);

pub(crate) fn chaos(overrides: &ConfigOverrides, args: &ChaosArgs) -> Result<ExitCode, CliError> {
    let plan = FaultPlan::load(&args.plan)?;
    let loaded = context::load(overrides)?;
    let servers: BTreeMap<String, TransportKind> = loaded
        .effective
        .mcp_servers
        .get()
        .iter()
        .map(|(name, server)| (name.clone(), server.config.transport.kind()))
        .collect();
    plan.check(&servers)?;
    if let Some(fault) = plan.faults.iter().find(|f| f.target == Target::Model) {
        return Err(CliError::Plan(codex_actors::chaos::PlanError::Invalid {
            location: fault.location.clone(),
            message: "a chaos run calls no model: put faults with target = \"model\" in the plan of `codex debug fault-proxy`".to_owned(),
        }));
    }
    let call_deadline = loaded
        .effective
        .mcp_servers
        .get()
        .values()
        .map(|server| {
            server.config.tool_timeout.unwrap_or(DEFAULT_TOOL_TIMEOUT)
                + server
                    .config
                    .startup_timeout
                    .unwrap_or(DEFAULT_STARTUP_TIMEOUT)
        })
        .max()
        .unwrap_or(DEFAULT_TOOL_TIMEOUT);
    let cwd = std::env::current_dir().map_err(|source| CliError::Cwd { source })?;
    let policy = crate::sandbox::policy(
        &loaded.config.sandbox_workspace_write,
        *loaded.effective.sandbox_mode.get(),
        &[],
        &loaded.requirements,
    )?;
    let commands = CommandSetup {
        policy,
        env: loaded
            .config
            .shell_environment_policy
            .apply(std::env::vars_os()),
        cwd,
    };
    let injector = FaultInjector::new();
    let mut options = session_options(overrides, Vec::new())?;
    options.transports = Some(Arc::new(injector.registry()));
    if let Some(every) = plan.ping_interval {
        options.timing.ping_interval = every;
    }
    if let Some(timeout) = plan.ping_timeout {
        options.timing.ping_timeout = timeout;
    }
    // Only a ping notices a hung server: wait one ping cycle for it.
    let hangs = plan.faults.iter().any(|fault| {
        matches!(
            fault.action,
            codex_actors::chaos::Action::Process(codex_transports::fault::ProcessFault::Hang)
        )
    });
    let settle_for = if hangs {
        options.timing.ping_interval + options.timing.ping_timeout
    } else {
        Duration::ZERO
    };
    let chaos_options = ChaosOptions {
        settle: settle_for,
        calls: args.calls,
        duration: args.duration,
        concurrency: args.concurrency,
        commands: Some(commands),
        call_deadline,
        servers,
    };
    let preloaded = preloaded(loaded);
    let show = std::io::stderr().is_terminal();
    let progress = show.then(|| {
        EventSink::new(|progress: Progress| {
            let line = match progress {
                Progress::Injected(what) => format!("injected: {what}"),
                Progress::Calls { done, of: Some(of) } => format!("{done}/{of} calls"),
                Progress::Calls { done, of: None } => format!("{done} calls"),
            };
            crate::terminal::err(&line);
        })
    });
    let outcome = codex_runtime::block_on(move || async move {
        let fds_before = open_fds();
        let session = Arc::new(Session::start(options, Some(preloaded)).await?);
        if let Err(err) = wait_with_progress(&session).await {
            crate::terminal::err(&format!("warning: {err}"));
        }
        let report = run_chaos(&session, &injector, &plan, &chaos_options, progress).await;
        session.shutdown().await;
        warn_audit_drops(&session);
        drop(session);
        drop(injector);
        let leftover = settle(|| codex_sandbox::leftover_processes().len()).await;
        let leaked = settle(|| open_fds().saturating_sub(fds_before)).await;
        Ok::<_, CliError>((report, leftover, leaked))
    })??;
    let (report, leftover, leaked) = outcome;
    let report = report?;
    let mut json = report.to_json();
    json["leftover_processes"] = json!(leftover);
    json["leaked_fds"] = json!(leaked);
    if args.json {
        crate::terminal::out_json(&serde_json::to_string_pretty(&json).unwrap_or_default())?;
    } else {
        crate::terminal::print(&summary(&report, leftover, leaked))?;
    }
    let mut problems = Vec::new();
    if report.unaccounted > 0 {
        problems.push(format!("{} calls unaccounted", report.unaccounted));
    }
    if leftover > 0 {
        problems.push(format!("{leftover} processes left over"));
    }
    if leaked > 0 {
        problems.push(format!("{leaked} file descriptors leaked"));
    }
    if problems.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(CliError::ChaosFailed(problems.join(", ")))
    }
}

/// Waits (up to [`SETTLE`]) for `count` to reach zero; returns its last
/// value.
async fn settle(count: impl Fn() -> usize) -> usize {
    let deadline = Instant::now() + SETTLE;
    loop {
        let now = count();
        if now == 0 || Instant::now() >= deadline {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// This process's open file descriptors.
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, Iterator::count)
}

fn summary(report: &ChaosReport, leftover: usize, leaked: usize) -> String {
    let secs = report.wall.as_secs_f64();
    let rate = if secs > 0.0 {
        report.issued as f64 / secs
    } else {
        0.0
    };
    let mut text = format!(
        "seed {}: {} calls, {} ok, {} errors, {} unaccounted ({secs:.1} s, {rate:.0} calls/s)\n",
        report.seed, report.issued, report.ok, report.error, report.unaccounted
    );
    for (name, server) in &report.servers {
        let recover = match (
            server["recover_ms"]["p50"].as_u64(),
            server["recover_ms"]["p99"].as_u64(),
        ) {
            (Some(p50), Some(p99)) => format!(", back in {p50} ms (p50) / {p99} ms (p99)"),
            _ => String::new(),
        };
        let escalated = if server["escalated"] == true {
            ", gave up"
        } else {
            ""
        };
        text.push_str(&format!(
            "  {name}: {}, {} restarts{recover}{escalated}\n",
            server["state"].as_str().unwrap_or("unknown"),
            server["restarts"]
        ));
    }
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for fault in &report.injected {
        let action = fault["action"].as_str().unwrap_or("?").to_owned();
        *kinds.entry(action).or_default() += 1;
    }
    let kinds: Vec<String> = kinds
        .iter()
        .map(|(kind, n)| format!("{kind} ×{n}"))
        .collect();
    text.push_str(&format!(
        "injected: {} faults{}\n",
        report.injected.len(),
        if kinds.is_empty() {
            String::new()
        } else {
            format!(" ({})", kinds.join(", "))
        }
    ));
    if !report.skipped.is_empty() {
        text.push_str(&format!(
            "skipped: {} (their server was down)\n",
            report.skipped.len()
        ));
    }
    text.push_str(&format!(
        "leftover processes: {leftover}, leaked file descriptors: {leaked}\n"
    ));
    text
}

pub(crate) fn fault_proxy(args: &FaultProxyArgs) -> Result<(), CliError> {
    let plan = FaultPlan::load(&args.plan)?;
    if let Some(fault) = plan.faults.iter().find(|f| f.target != Target::Model) {
        return Err(CliError::Plan(codex_actors::chaos::PlanError::Invalid {
            location: fault.location.clone(),
            message: "the fault proxy applies only faults with target = \"model\"".to_owned(),
        }));
    }
    plan.check(&BTreeMap::new())?;
    let upstream = url::Url::parse(&args.upstream).map_err(|err| CliError::Upstream {
        url: args.upstream.clone(),
        reason: err.to_string(),
    })?;
    let listen = args.listen;
    codex_runtime::block_on(move || async move {
        let engine = Arc::new(Mutex::new((Engine::new(&plan), 0_u64)));
        let started = Instant::now();
        let decider: Decider = Arc::new(move |method: &http::Method, _body: &[u8]| {
            if method != http::Method::POST {
                return None;
            }
            let mut guard = engine.lock().unwrap_or_else(PoisonError::into_inner);
            let (engine, n) = &mut *guard;
            *n += 1;
            let mut fired = engine.on(*n, Event::ModelRequest);
            fired.extend(engine.due(started.elapsed(), *n, &[]));
            let mut chosen = None;
            for fault in fired {
                let line: Value = fault.to_json();
                crate::terminal::err(&line.to_string());
                if let (None, Applied::Message(message)) = (&chosen, fault.action) {
                    chosen = Some(message);
                }
            }
            chosen
        });
        let proxy = FaultProxy::start_on(listen, upstream, decider)
            .await
            .map_err(|source| CliError::Listen {
                addr: listen,
                source,
            })?;
        crate::terminal::out(&format!("listening on http://{}", proxy.addr()))?;
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .map_err(CliError::Output)?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
        drop(proxy);
        Ok::<(), CliError>(())
    })?
}
