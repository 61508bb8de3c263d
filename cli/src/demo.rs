//! `codex demo`: the runtime end to end, offline, in a throwaway home.
//!
//! The MCP servers are this binary itself (`codex debug test-server`,
//! started through `current_exe`), the model is an in-process mock that
//! speaks the Responses wire format, and everything lives in a temporary
//! directory that is removed at the end. The system requirements file, if
//! the machine has one, still applies: a demo does not get around an
//! admin either.
//!
//! 1. Admission: three servers, a requirements layer that allows two.
//! 2. A supervised start with live progress, and the tools.
//! 3. One `exec` turn: the model calls an MCP tool and a sandboxed command.
//! 4. A server is killed; the supervisor restarts it and re-lists its tools.
//! 5. The requirements file is tightened while the session runs; the
//!    session notices and stops the server.
//! 6. A summary (`--json`: a record of every step).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use codex_actors::config::{ModelSettings, ProviderSettings};
use codex_actors::mcp_server::{ServerEvent, Timing};
use codex_actors::model_stream::resolve_provider;
use codex_actors::policy::{RequirementsSources, SYSTEM_REQUIREMENTS_FILE};
use codex_actors::session::{
    ServerState, Session, SessionEvent, SessionOptions, TurnIo, TurnRuntime, no_one_to_ask,
    turn_policy,
};
use codex_actors::turn::{self, Input, ItemDetails, TurnConfig, TurnEvent, TurnOutcome};
use codex_test_mcp_server::mock_model::{MockModel, Reply, ev};
use serde_json::{Value, json};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::args::DemoArgs;
use crate::error::CliError;

/// How long any one step may wait for the session.
const PATIENCE: Duration = Duration::from_secs(30);
/// The servers: two the admin allows, one not.
const ALLOWED: [&str; 2] = ["notes", "calc"];
const DENIED: &str = "shady";
/// The server step 4 kills and step 5 disallows.
const VICTIM: &str = "calc";

pub(crate) fn run(args: &DemoArgs) -> Result<ExitCode, CliError> {
    let exe = std::env::current_exe().map_err(|source| CliError::CurrentExe { source })?;
    let home = tempfile::Builder::new()
        .prefix("codex-demo-")
        .tempdir()
        .map_err(|source| CliError::Demo(format!("cannot create a temporary home: {source}")))?;
    let root = home.path().to_owned();
    let json = args.json;
    let record = codex_runtime::block_on(move || async move { demo(&exe, &root, json).await })??;
    drop(home);
    let ok = record["ok"] == true;
    if json {
        crate::terminal::out_json(&serde_json::to_string_pretty(&record).unwrap_or_default())?;
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Prints as the demo goes (unless `--json`) and records every step.
struct Show {
    json: bool,
    steps: Vec<Value>,
}

impl Show {
    fn line(&self, text: impl AsRef<str>) {
        if !self.json {
            let _ = crate::terminal::out(text.as_ref());
        }
    }

    fn step(&mut self, number: usize, title: &str) {
        self.line(format!("\n{number}. {title}"));
    }

    fn done(&mut self, name: &str, ok: bool, details: Value) {
        let mut entry = json!({"step": name, "ok": ok});
        if let (Value::Object(entry), Value::Object(details)) = (&mut entry, details) {
            entry.extend(details);
        }
        self.steps.push(entry);
    }
}

async fn demo(exe: &Path, root: &Path, json: bool) -> Result<Value, CliError> {
    let started = Instant::now();
    let mut show = Show {
        json,
        steps: Vec::new(),
    };
    let codex_home = root.join("home");
    let work = root.join("work");
    for dir in [&codex_home, &work] {
        std::fs::create_dir_all(dir).map_err(|source| CliError::WriteFile {
            path: dir.clone(),
            source,
        })?;
    }
    let model = MockModel::start(vec![
        Reply::sse(vec![
            ev::created("r1"),
            ev::function_call(
                "c1",
                "mcp__notes__echo",
                &json!({"text": "hello from an MCP server"}),
            ),
            ev::function_call(
                "c2",
                "exec_command",
                &json!({"cmd": "exec 2>&1; echo hello from the sandbox; echo a note > note.txt", "login": false}),
            ),
            ev::completed("r1"),
        ]),
        Reply::sse(vec![
            ev::message(
                "m1",
                "I called one MCP tool and ran one command in the sandbox; their outputs are above.",
            ),
            ev::completed("r2"),
        ]),
    ])
    .await
    .map_err(|source| CliError::Demo(format!("cannot start the mock model: {source}")))?;

    let config = config_toml(exe);
    write(&codex_home.join("config.toml"), &config)?;
    let requirements = root.join("requirements.toml");
    write(&requirements, &requirements_toml(exe, &ALLOWED))?;

    show.line("codex demo: three MCP servers, an admin policy, a model turn, a crash and a live policy change.");
    show.line(format!(
        "Everything runs offline in {} (removed at the end); the servers are this codex binary.",
        root.display()
    ));

    let options = SessionOptions {
        codex_home: codex_home.clone(),
        cwd: work.clone(),
        overrides: Vec::new(),
        user_config: true,
        strict_config: false,
        requirements: RequirementsSources {
            system_file: PathBuf::from(SYSTEM_REQUIREMENTS_FILE),
            env_file: Some(requirements.clone()),
            env_base64: None,
        },
        env: crate::context::process_env(),
        timing: Timing::default(),
        watch_debounce: Duration::from_millis(100),
        only: Vec::new(),
        sandbox_launcher: Some(codex_sandbox::SandboxLauncher::new(
            exe,
            crate::sandbox::HELPER_ARGS,
        )),
        tool_locks: true,
        transports: None,
    };

    // 1 and 2: admission, then the supervised start.
    let session = Arc::new(Session::start(options, None).await?);
    let mut events = session.subscribe();
    show.step(
        1,
        "Admission: requirements.toml allows notes and calc, by name and command",
    );
    let statuses = wait_startup(&session).await?;
    let mut admission = Vec::new();
    for status in &statuses {
        let (state, why) = match &status.state {
            ServerState::Disabled(reason) => ("disabled", reason.to_string()),
            _ => ("allowed", String::new()),
        };
        show.line(format!(
            "   {:<6} {state}{}",
            status.name,
            if why.is_empty() {
                String::new()
            } else {
                format!(": {why}")
            }
        ));
        admission.push(json!({"server": status.name, "state": state, "reason": why}));
    }
    let admitted_ok = statuses.iter().all(|s| {
        let disabled = matches!(s.state, ServerState::Disabled(_));
        disabled == (s.name == DENIED)
    });
    show.done("admission", admitted_ok, json!({"servers": admission}));

    show.step(2, "Supervised start");
    let mut started_servers = Vec::new();
    let mut tool_names = Vec::new();
    for status in statuses
        .iter()
        .filter(|s| !matches!(s.state, ServerState::Disabled(_)))
    {
        let line = match &status.state {
            ServerState::Ready { elapsed } => format!(
                "   {}: ready in {:.2}s, pid {}, {} tools",
                status.name,
                elapsed.as_secs_f64(),
                status.pid.map_or_else(|| "-".to_owned(), |p| p.to_string()),
                status.tools.len()
            ),
            other => format!("   {}: {other:?}", status.name),
        };
        show.line(line);
        started_servers.push(json!({
            "server": status.name,
            "ready": matches!(status.state, ServerState::Ready { .. }),
            "tools": status.tools.len(),
        }));
    }
    let qualified = session.tools().await?;
    tool_names.extend(qualified.iter().map(|t| t.qualified.clone()));
    show.line(format!("   tools: {}", tool_names.join(", ")));
    let all_ready = statuses
        .iter()
        .filter(|s| s.name != DENIED)
        .all(|s| matches!(s.state, ServerState::Ready { .. }));
    show.done(
        "start",
        all_ready,
        json!({"servers": started_servers, "tools": tool_names}),
    );

    // 3. One exec turn.
    show.step(
        3,
        "One exec turn against the mock model: an MCP tool, then a sandboxed command (read-only)",
    );
    let turn = run_turn(&session, &model, &work, &mut show).await;
    show.done("turn", turn.0, turn.1);

    // 4. Kill and restart.
    show.step(
        4,
        &format!("Crash: kill -9 {VICTIM}; the supervisor restarts it"),
    );
    let restart = kill_and_restart(&session, &mut events, &mut show).await;
    show.done("restart", restart.0, restart.1);

    // 5. Live policy change.
    show.step(
        5,
        &format!(
            "Policy change: requirements.toml stops allowing {VICTIM}, while the session runs"
        ),
    );
    let policy = tighten(&session, &mut events, &requirements, exe, &mut show).await;
    show.done("policy", policy.0, policy.1);

    session.shutdown().await;
    crate::session::warn_audit_drops(&session);

    let passed = show.steps.iter().filter(|s| s["ok"] == true).count();
    let total = show.steps.len();
    let wall = started.elapsed();
    show.line(format!(
        "\nSummary: {passed} of {total} steps passed in {:.1} s; nothing is left running.",
        wall.as_secs_f64()
    ));
    Ok(json!({
        "ok": passed == total,
        "home": root.display().to_string(),
        "steps": show.steps,
        "wall_ms": wall.as_millis() as u64,
    }))
}

fn write(path: &Path, text: &str) -> Result<(), CliError> {
    std::fs::write(path, text).map_err(|source| CliError::WriteFile {
        path: path.to_owned(),
        source,
    })
}

fn server_args(name: &str) -> String {
    format!("[\"debug\", \"test-server\", \"--name\", \"{name}\"]")
}

fn config_toml(exe: &Path) -> String {
    let mut text = String::from("# Written by `codex demo`.\n");
    for name in ALLOWED.iter().chain([&DENIED]) {
        text.push_str(&format!(
            "[mcp_servers.{name}]\ncommand = {:?}\nargs = {}\nrestart_backoff_ms = 50\n\
             # The demo's model calls tools headless: they may run unasked.\n\
             default_tools_approval_mode = \"approve\"\n\n",
            exe.display().to_string(),
            server_args(name)
        ));
    }
    text
}

fn requirements_toml(exe: &Path, allowed: &[&str]) -> String {
    let mut text = String::from("# The demo's admin: only these servers, exactly as written.\n");
    for name in allowed {
        text.push_str(&format!(
            "[mcp_server_allowlist.{name}]\ncommand = {:?}\nargs = {}\n",
            exe.display().to_string(),
            server_args(name)
        ));
    }
    text
}

/// Waits until every server has settled.
async fn wait_startup(
    session: &Session,
) -> Result<Vec<codex_actors::session::ServerStatus>, CliError> {
    tokio::time::timeout(PATIENCE, session.wait_startup())
        .await
        .map_err(|_| CliError::Demo("the servers did not settle in time".to_owned()))?
        .map_err(CliError::from)
}

async fn run_turn(
    session: &Session,
    model: &MockModel,
    work: &Path,
    show: &mut Show,
) -> (bool, Value) {
    let settings = ModelSettings {
        model: Some("demo-model".to_owned()),
        model_provider: Some("demo".to_owned()),
        reasoning_effort: None,
        providers: BTreeMap::from([(
            "demo".to_owned(),
            ProviderSettings {
                name: Some("the demo's mock model".to_owned()),
                base_url: Some(model.base_url()),
                ..ProviderSettings::default()
            },
        )]),
        openai_base_url: None,
    };
    let (model_name, provider) = match resolve_provider(&settings, &|_| None) {
        Ok(resolved) => resolved,
        Err(err) => return (false, json!({"error": err.to_string()})),
    };
    let mcp_tools = match session.mcp_tools().await {
        Ok(tools) => tools,
        Err(err) => return (false, json!({"error": err.to_string()})),
    };
    let mut sandbox = codex_sandbox::SandboxPolicy::new(codex_sandbox::SandboxMode::ReadOnly);
    sandbox.tmpdir = None;
    let runtime = TurnRuntime {
        provider: Arc::new(provider),
        sandbox,
        sandbox_mode: codex_actors::config::SandboxMode::ReadOnly,
        approval: codex_actors::config::ApprovalPolicy::Never,
        command_env: std::env::vars_os().collect(),
    };
    let config = TurnConfig {
        model: model_name,
        reasoning_effort: None,
        thread_id: "demo".to_owned(),
        turn_id: uuid::Uuid::now_v7().to_string(),
        instructions: "You are running inside `codex demo`.".to_owned(),
        cwd: work.to_owned(),
        mcp_tools,
        mcp_servers: ALLOWED.iter().map(|s| (*s).to_owned()).collect(),
        output_schema: None,
        command_timeout: Duration::from_secs(20),
        seed: 1,
        policy: turn_policy(&session.policy(), &runtime),
        session_approvals: Default::default(),
        history: Vec::new(),
    };
    let mut machine = turn::Machine::new(config);
    let mut items = Vec::new();
    let mut lines = Vec::new();
    let mut on_event = |event: TurnEvent| {
        items.extend(crate::exec::jsonl::event(&event));
        if let TurnEvent::ItemCompleted(item) = &event {
            lines.push((
                creation_order(&item.id),
                match &item.details {
                    ItemDetails::McpToolCall {
                        server,
                        tool,
                        result,
                        error,
                        ..
                    } => {
                        let answer = result
                            .as_ref()
                            .and_then(|r| r.content.first())
                            .and_then(|c| c["text"].as_str())
                            .map(str::to_owned)
                            .or_else(|| error.clone())
                            .unwrap_or_default();
                        format!("   tool {server}/{tool} -> {answer}")
                    }
                    ItemDetails::CommandExecution {
                        command,
                        aggregated_output,
                        exit_code,
                        ..
                    } => format!(
                        "   command {command} -> exit {}\n{}",
                        exit_code.map_or_else(|| "-".to_owned(), |c| c.to_string()),
                        aggregated_output
                            .lines()
                            .map(|l| format!("      {l}"))
                            .collect::<Vec<_>>()
                            .join("\n")
                    ),
                    ItemDetails::FileChange { changes, status } => {
                        format!("   patch -> {} file(s), {}", changes.len(), status.as_str())
                    }
                    ItemDetails::AgentMessage { text } => format!("   agent: {text}"),
                    ItemDetails::Reasoning { text } => format!("   reasoning: {text}"),
                    ItemDetails::Error { message } => format!("   note: {message}"),
                },
            ));
        }
    };
    let cancel = CancellationToken::new();
    let outcome = tokio::time::timeout(
        PATIENCE,
        session.run_turn(
            &mut machine,
            vec![Input::Start {
                prompt: "Say hello through the tools.".to_owned(),
                images: Vec::new(),
            }],
            &runtime,
            TurnIo {
                approver: &no_one_to_ask,
                cancel: &cancel,
                on_event: &mut on_event,
                record: None,
            },
        ),
    )
    .await;
    // The two calls run at once and either may finish first: shown in the
    // order the model made them, the transcript is the same every run.
    lines.sort_by_key(|(order, _)| *order);
    for (_, line) in &lines {
        show.line(line);
    }
    let blocked = !work.join("note.txt").exists();
    show.line(if blocked {
        "   the sandbox kept the command from writing note.txt"
    } else {
        "   note: note.txt was written (no kernel sandbox on this machine?)"
    });
    let completed = matches!(outcome, Ok(TurnOutcome::Completed { .. }));
    let tool_ok = items.iter().any(|item| {
        item["type"] == "item.completed"
            && item["item"]["type"] == "mcp_tool_call"
            && item["item"]["status"] == "completed"
    });
    (
        completed && tool_ok,
        json!({"items": items, "write_blocked": blocked, "requests": model.requests().len()}),
    )
}

async fn kill_and_restart(
    session: &Session,
    events: &mut broadcast::Receiver<SessionEvent>,
    show: &mut Show,
) -> (bool, Value) {
    let statuses = session.statuses().await.unwrap_or_default();
    let Some(pid) = statuses
        .iter()
        .find(|s| s.name == VICTIM)
        .and_then(|s| s.pid)
    else {
        show.line(format!("   {VICTIM} is not running"));
        return (false, json!({"server": VICTIM}));
    };
    let killed_at = Instant::now();
    let killed = rustix::process::Pid::from_raw(pid as i32)
        .is_some_and(|p| rustix::process::kill_process(p, rustix::process::Signal::KILL).is_ok());
    show.line(format!("   {VICTIM}: pid {pid} killed with SIGKILL"));
    let wait = async {
        let mut failure = None;
        loop {
            match events.recv().await {
                Ok(SessionEvent::Server(ServerEvent::Failed {
                    server, failure: f, ..
                })) if server == VICTIM => failure = Some(f.to_string()),
                Ok(SessionEvent::Server(ServerEvent::Ready {
                    server,
                    incarnation,
                    pid: new_pid,
                    tools,
                    ..
                })) if server == VICTIM && incarnation > 1 => {
                    return (failure, incarnation, new_pid, tools.len());
                }
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return (failure, 0, None, 0),
            }
        }
    };
    match tokio::time::timeout(PATIENCE, wait).await {
        Ok((failure, incarnation, new_pid, tools)) if incarnation > 1 => {
            if let Some(failure) = &failure {
                show.line(format!("   supervisor saw: {failure}"));
            }
            let ms = killed_at.elapsed().as_millis() as u64;
            show.line(format!(
                "   {VICTIM}: restarted in {ms} ms as pid {}, {tools} tools re-listed (incarnation {incarnation})",
                new_pid.map_or_else(|| "-".to_owned(), |p| p.to_string())
            ));
            (
                killed,
                json!({"server": VICTIM, "old_pid": pid, "new_pid": new_pid, "restart_ms": ms,
                       "tools": tools, "incarnation": incarnation, "failure": failure}),
            )
        }
        _ => {
            show.line(format!(
                "   {VICTIM}: no restart within {}s",
                PATIENCE.as_secs()
            ));
            (false, json!({"server": VICTIM, "old_pid": pid}))
        }
    }
}

async fn tighten(
    session: &Arc<Session>,
    events: &mut broadcast::Receiver<SessionEvent>,
    requirements: &Path,
    exe: &Path,
    show: &mut Show,
) -> (bool, Value) {
    // Every session watches its requirements; nothing to switch on.
    let remaining: Vec<&str> = ALLOWED.iter().copied().filter(|s| *s != VICTIM).collect();
    if let Err(err) = std::fs::write(requirements, requirements_toml(exe, &remaining)) {
        return (false, json!({"error": err.to_string()}));
    }
    show.line(format!(
        "   requirements.toml now allows only {}",
        remaining.join(", ")
    ));
    let wait = async {
        loop {
            match events.recv().await {
                Ok(SessionEvent::ServerStopped { server, reason }) if server == VICTIM => {
                    return Some(reason.to_string());
                }
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    };
    match tokio::time::timeout(PATIENCE, wait).await {
        Ok(Some(reason)) => {
            show.line(format!("   {VICTIM}: stopped: {reason}"));
            let tools = session.tools().await.unwrap_or_default();
            let gone = !tools.iter().any(|t| t.server == VICTIM);
            show.line(format!(
                "   its tools are withdrawn; {} tools remain",
                tools.len()
            ));
            (
                gone,
                json!({"server": VICTIM, "reason": reason, "tools_left": tools.len()}),
            )
        }
        _ => {
            show.line(format!(
                "   {VICTIM} was not stopped within {}s",
                PATIENCE.as_secs()
            ));
            (false, json!({"server": VICTIM}))
        }
    }
}

/// Where an item stands among the turn's items: `item_N` is the N-th made.
/// An id of another form sorts last (the sort keeps completion order).
fn creation_order(id: &str) -> u64 {
    id.strip_prefix("item_")
        .and_then(|n| n.parse().ok())
        .unwrap_or(u64::MAX)
}
