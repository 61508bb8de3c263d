//! `codex sandbox linux`: run one command under the sandbox and exit with its
//! exit code.
//!
//! The mode comes from `-s`/`--full-auto`, else `sandbox_mode` in config,
//! else read-only. Requirements constrain it: a mode they do not allow falls
//! back to an allowed one with a warning that names the requirement source.
//! The sandbox itself is applied by the hidden `codex debug sandbox-exec`
//! helper, which this binary re-executes (see [`HELPER_ARGS`]).

use std::path::PathBuf;
use std::process::ExitCode;

use codex_actors::config::{SandboxMode as ConfigMode, WorkspaceWriteSettings};
use codex_actors::policy::{Requirements, fallback_warning};
use codex_sandbox::{CommandSpec, SandboxLauncher, SandboxMode, SandboxPolicy};

use crate::args::{ConfigOverrides, SandboxCommand, SandboxLinuxArgs};
use crate::context;
use crate::error::CliError;

/// The arguments that put the `codex` binary in sandbox-helper mode.
pub(crate) const HELPER_ARGS: [&str; 2] = ["debug", "sandbox-exec"];

/// Runs the helper when argv asks for it. Called before anything else in
/// `main`, while the process is still single-threaded.
pub(crate) fn dispatch_helper() {
    let mut args = std::env::args_os();
    let _program = args.next();
    let first = args.next();
    let second = args.next();
    if first.as_deref() == Some(HELPER_ARGS[0].as_ref())
        && second.as_deref() == Some(HELPER_ARGS[1].as_ref())
    {
        codex_sandbox::exec_sandboxed_main(args);
    }
}

pub(crate) fn run(
    overrides: &ConfigOverrides,
    command: SandboxCommand,
) -> Result<ExitCode, CliError> {
    match command {
        SandboxCommand::Linux(args) => linux(overrides, args),
    }
}

fn linux(overrides: &ConfigOverrides, args: SandboxLinuxArgs) -> Result<ExitCode, CliError> {
    let loaded = context::load(overrides)?;
    let requested = match (&args.sandbox, args.full_auto) {
        (Some(text), _) => Some(text.parse::<ConfigMode>().map_err(CliError::SandboxMode)?),
        (None, true) => Some(ConfigMode::WorkspaceWrite),
        (None, false) => None,
    };
    let mut mode = loaded.effective.sandbox_mode.clone();
    if let Some(requested) = requested
        && let Err(err) = mode.set(requested)
    {
        let warning = fallback_warning("sandbox_mode", mode.get(), &err);
        crate::terminal::err(&format!("warning: {warning}"));
    }

    let cwd = crate::context::working_dir(args.cd.as_deref())?;
    let policy = policy(
        &loaded.config.sandbox_workspace_write,
        *mode.get(),
        &args.add_dir,
        &loaded.requirements,
    )?;

    let env = loaded
        .config
        .shell_environment_policy
        .apply(std::env::vars_os());
    let spec = CommandSpec::new(args.command, cwd, env);
    let helper = std::env::current_exe().map_err(|source| CliError::CurrentExe { source })?;
    let launcher = SandboxLauncher::new(helper, HELPER_ARGS);
    let status = launcher
        .command(&spec, &policy)?
        .status()
        .map_err(|source| CliError::Spawn { source })?;
    Ok(exit_code_of(status))
}

/// The sandbox policy for `mode`, with `[sandbox_workspace_write]` and
/// the extra writable directories.
pub(crate) fn policy(
    settings: &WorkspaceWriteSettings,
    mode: ConfigMode,
    add_dirs: &[PathBuf],
    requirements: &Requirements,
) -> Result<SandboxPolicy, CliError> {
    let mut policy = SandboxPolicy::new(sandbox_mode(mode));
    policy.network_access = settings.network_access;
    // `$TMPDIR` is the user's own temp dir: writable as Codex makes it,
    // unless config excludes it, or requirements constrain the sandbox
    // mode: then a variable must not widen what the admin's mode allows.
    let constrained = requirements
        .layers
        .iter()
        .any(|layer| layer.allowed_sandbox_modes.is_some());
    policy.tmpdir = (!settings.exclude_tmpdir_env_var && !constrained)
        .then(|| std::env::var_os("TMPDIR").map(PathBuf::from))
        .flatten();
    policy.exclude_slash_tmp = settings.exclude_slash_tmp;
    policy.writable_roots = settings
        .writable_roots
        .iter()
        .chain(add_dirs)
        .map(|dir| crate::context::absolute_dir(dir))
        .collect::<Result<_, _>>()?;
    Ok(policy)
}

/// Our config enum to the sandbox crate's. `external-sandbox` means another
/// layer isolates this process, so nothing more is applied here.
fn sandbox_mode(mode: ConfigMode) -> SandboxMode {
    match mode {
        ConfigMode::ReadOnly => SandboxMode::ReadOnly,
        ConfigMode::WorkspaceWrite => SandboxMode::WorkspaceWrite,
        ConfigMode::DangerFullAccess | ConfigMode::ExternalSandbox => SandboxMode::DangerFullAccess,
    }
}

/// The child's exit code, or 128 + the signal that ended it, as shells do.
fn exit_code_of(status: std::process::ExitStatus) -> ExitCode {
    use std::os::unix::process::ExitStatusExt as _;
    let code = status
        .code()
        .or_else(|| status.signal().map(|signal| 128 + signal))
        .unwrap_or(1);
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
