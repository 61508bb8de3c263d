//! The `codex` command-line front end.
//!
//! `main` parses arguments, runs one command and maps its outcome to an exit
//! code in one place ([`exit_code`]): 0 on success, 1 for a config or runtime
//! error, 2 for a usage error (clap's own). A broken pipe on stdout counts as
//! success.

mod args;
mod context;
mod conversation;
mod debug;
mod demo;
mod error;
mod exec;
mod lock;
mod login;
mod mcp;
mod mcp_server;
#[cfg(any(target_env = "musl", test))]
mod musl;
mod output;
mod requirements;
mod sandbox;
mod session;
mod terminal;
mod thread;
mod tui;

use std::process::ExitCode;

use clap::Parser as _;

use crate::args::{Cli, Command, DebugCommand, McpCommand, SessionCommand};
use crate::error::CliError;

#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: musl::heap::Heap = musl::heap::Heap::new();

fn main() -> ExitCode {
    // Panics (never expected) get color-eyre's report; errors do not go
    // through eyre so users see one plain line without backtrace noise.
    let _ = color_eyre::config::HookBuilder::default()
        .display_env_section(false)
        .install();
    // The sandbox helper must run before anything else, single-threaded.
    sandbox::dispatch_helper();
    init_tracing();
    let cli = Cli::parse();
    let result = run(cli);
    exit_code(result)
}

fn run(cli: Cli) -> Result<ExitCode, CliError> {
    let global = cli.config_overrides;
    let separated = || std::env::args_os().any(|arg| arg == "--");
    let prompt = match &cli.command {
        None => Some((cli.chat.prompt.as_deref(), false)),
        Some(Command::Exec(exec)) if exec.action.is_none() => Some((exec.prompt.as_deref(), true)),
        Some(_) => None,
    };
    if let Some((prompt, under_exec)) = prompt
        && let Some(message) = args::missing_command(prompt, under_exec, separated())
    {
        return Err(CliError::Usage(message));
    }
    let Some(command) = cli.command else {
        return owning_processes(Stops::CHAT, || tui::run(&global, tui::Start::New(cli.chat)));
    };
    if cli.chat != args::ChatArgs::default() {
        return Err(CliError::Usage(
            "the chat's prompt and flags (-m, -s, -a, --full-auto, --yolo, -C, -i, --add-dir) go \
             without a command; a command takes its own after its name"
                .to_owned(),
        ));
    }
    let done = match command {
        Command::Exec(args) => return owning_processes(Stops::EXEC, || exec::run(&global, args)),
        Command::Session(command) => {
            let start = match command {
                SessionCommand::Resume(args) => tui::Start::Resume(args),
                SessionCommand::Fork(args) => tui::Start::Fork(args),
            };
            return owning_processes(Stops::CHAT, || tui::run(&global, start));
        }
        Command::McpServer(args) => {
            // Over HTTP it stops on SIGTERM and Ctrl-C itself.
            let stops = if args.listen.is_some() {
                Stops::HANGUP
            } else {
                Stops::ALL
            };
            return owning_processes(stops, || mcp_server::run(&global, args));
        }
        Command::Mcp(
            command @ (McpCommand::Tools(_) | McpCommand::Call(_) | McpCommand::Lock(_)),
        ) => owning_processes(Stops::ALL, || mcp::run(&global, command)),
        Command::Mcp(command) => mcp::run(&global, command),
        Command::Requirements(command) => requirements::run(&global, command),
        Command::Debug(command @ DebugCommand::Chaos(_)) => {
            // A chaos run ends on SIGTERM and Ctrl-C with its report.
            return owning_processes(Stops::HANGUP, || debug::run(&global, command));
        }
        Command::Debug(command) => return debug::run(&global, command),
        Command::Demo(args) => return owning_processes(Stops::ALL, || demo::run(&args)),
        Command::Completion(args) => completion(args.shell),
        // The command's own exit code is ours.
        Command::Sandbox(command) => return sandbox::run(&global, command),
    };
    done.map(|()| ExitCode::SUCCESS)
}

/// Prints the completion script of `shell`, generated from the same
/// definitions that parse the command line.
fn completion(shell: clap_complete::Shell) -> Result<(), CliError> {
    use clap::CommandFactory as _;
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "codex", &mut script);
    terminal::out_raw(&script)?;
    Ok(())
}

/// Runs a command that starts MCP servers and sandboxed commands, so that
/// nothing it started outlives it: this process becomes the subreaper of
/// its descendants (orphans come back to it instead of to PID 1), and
/// whatever is left when the command ends is killed.
///
/// `stops` are the signals that end the command at once (a CI job's
/// cancel, `timeout`, a closed terminal): each kills every descendant and
/// exits with 128 + its number, so that a signal cannot leave a server or
/// a command running either. A command that stops gracefully on a signal
/// itself (exec on Ctrl-C) leaves that one out.
fn owning_processes<T>(stops: Stops, command: impl FnOnce() -> T) -> T {
    if let Err(error) = codex_sandbox::become_subreaper() {
        tracing::warn!("cannot become a child subreaper: {error}");
    }
    stop_on(stops);
    let result = command();
    codex_sandbox::kill_descendants();
    result
}

/// Which signals end a process-owning command at once, and what must be
/// undone first.
#[derive(Debug, Clone, Copy)]
struct Stops {
    signals: &'static [i32],
    /// Run before the descendants are killed (the chat's terminal modes).
    undo: fn(),
}

impl Stops {
    const ALL: Stops = Stops {
        signals: &[
            signal_hook::consts::SIGTERM,
            signal_hook::consts::SIGHUP,
            signal_hook::consts::SIGINT,
        ],
        undo: || {},
    };
    /// Ctrl-C is the command's own (exec cancels its turn and reports).
    const EXEC: Stops = Stops {
        signals: &[signal_hook::consts::SIGTERM, signal_hook::consts::SIGHUP],
        undo: || {},
    };
    /// The chat reads Ctrl-C as a key; a signal gives the terminal back.
    const CHAT: Stops = Stops {
        undo: tui::restore_terminal,
        ..Stops::ALL
    };
    /// SIGTERM and Ctrl-C are the command's own.
    const HANGUP: Stops = Stops {
        signals: &[signal_hook::consts::SIGHUP],
        undo: || {},
    };
}

fn stop_on(stops: Stops) {
    let mut signals = match signal_hook::iterator::Signals::new(stops.signals) {
        Ok(signals) => signals,
        Err(error) => {
            tracing::warn!("cannot watch for termination signals: {error}");
            return;
        }
    };
    let watcher = std::thread::Builder::new()
        .name("codex-signals".to_owned())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                (stops.undo)();
                codex_sandbox::kill_descendants();
                std::process::exit(128 + signal);
            }
        });
    if let Err(error) = watcher {
        tracing::warn!("cannot watch for termination signals: {error}");
    }
}

/// Logs (per-actor spans, admission audit events) go to stderr, and only
/// when `RUST_LOG` asks for them, so normal output stays clean.
fn init_tracing() {
    if std::env::var_os("RUST_LOG").is_none() {
        return;
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .try_init();
}

/// The single mapping from outcomes to exit codes.
fn exit_code(result: Result<ExitCode, CliError>) -> ExitCode {
    let err = match result {
        Ok(code) => return code,
        Err(err) => err,
    };
    if err.is_broken_pipe() {
        return ExitCode::SUCCESS;
    }
    // Every error's message already quotes its cause (file, line, column,
    // I/O error), so one line says everything; the source chain is not
    // printed again.
    terminal::err(&format!("Error: {err}"));
    ExitCode::from(err.exit_code())
}
