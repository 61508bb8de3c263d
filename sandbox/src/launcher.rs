//! [`SandboxLauncher`] and [`CommandSpec`]: turning a command and a policy into a `std::process::Command`.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::SandboxError;
use crate::enforce::Prepared;
use crate::executable::Executable;
use crate::helper_args::HelperRequest;
use crate::policy::SandboxPolicy;
use crate::probe::probe;

/// Set to `1` in the environment of commands whose network is blocked.
pub const NETWORK_DISABLED_ENV_VAR: &str = "CODEX_SANDBOX_NETWORK_DISABLED";

/// Default time a command may run before its process group is killed.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// One command to run: argv, working directory, the exact environment, and a timeout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandSpec {
    /// The program and its arguments. Without [`program`](Self::program),
    /// `argv[0]` is looked up in `PATH`; with it, `argv[0]` is only the
    /// name the program sees.
    pub argv: Vec<OsString>,
    /// The exact file to run, resolved beforehand (MCP servers: by
    /// admission, possibly pinned to an open, hashed file).
    pub program: Option<Executable>,
    /// The working directory (absolute). Under `workspace-write` it is a writable root.
    pub cwd: PathBuf,
    /// The complete environment of the command, usually from
    /// [`ShellEnvironmentPolicy::apply`](crate::ShellEnvironmentPolicy::apply).
    pub env: BTreeMap<OsString, OsString>,
    /// How long the command may run ([`DEFAULT_TIMEOUT`] unless changed).
    pub timeout: Duration,
    /// Give the command a pipe for its standard input
    /// ([`SandboxedChild::take_stdin`](crate::SandboxedChild::take_stdin));
    /// otherwise it reads `/dev/null`.
    pub stdin_pipe: bool,
}

impl CommandSpec {
    /// A spec with the [`DEFAULT_TIMEOUT`].
    pub fn new(
        argv: Vec<OsString>,
        cwd: impl Into<PathBuf>,
        env: BTreeMap<OsString, OsString>,
    ) -> Self {
        CommandSpec {
            argv,
            program: None,
            cwd: cwd.into(),
            env,
            timeout: DEFAULT_TIMEOUT,
            stdin_pipe: false,
        }
    }
}

/// How [`SandboxedChild::spawn`](crate::SandboxedChild::spawn) (and so
/// [`run`](crate::run) and [`run_streaming`](crate::run_streaming)) sandboxes
/// a restricted command. Both routes enforce exactly the same things; see
/// the crate docs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum SpawnRoute {
    /// Prepare the sandbox in the parent (Landlock ruleset, seccomp program,
    /// mount paths) and apply it in the forked child with raw system calls
    /// just before it executes the command: one `execve` per spawn, as a
    /// plain spawn. The default.
    #[default]
    PreExec,
    /// Execute the helper, which sandboxes itself and then executes the
    /// command: one extra `execve` per spawn. What
    /// [`SandboxLauncher::command`] always builds.
    Helper,
}

/// How to start a sandboxed command: the *helper* (a program that calls
/// [`exec_sandboxed_main`](crate::exec_sandboxed_main) with the arguments
/// that follow `helper_args`) and the [`SpawnRoute`] that
/// [`SandboxedChild`](crate::SandboxedChild) takes.
///
/// For the `codex` binary the helper is its own path plus the hidden
/// subcommand, e.g.
/// `SandboxLauncher::new(std::env::current_exe()?, ["debug", "sandbox-exec"])`.
/// Under `danger-full-access` the helper is not used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxLauncher {
    /// The helper program.
    pub helper: PathBuf,
    /// Arguments placed before the sandbox arguments (e.g. a subcommand).
    pub helper_args: Vec<OsString>,
    /// How [`SandboxedChild::spawn`](crate::SandboxedChild::spawn) sandboxes;
    /// [`SandboxLauncher::command`] ignores it.
    pub route: SpawnRoute,
}

impl SandboxLauncher {
    /// A launcher for `helper` with the given leading arguments, taking the
    /// default [`SpawnRoute::PreExec`].
    pub fn new<I, S>(helper: impl Into<PathBuf>, helper_args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        SandboxLauncher {
            helper: helper.into(),
            helper_args: helper_args.into_iter().map(Into::into).collect(),
            route: SpawnRoute::default(),
        }
    }

    /// The same launcher taking `route`.
    #[must_use]
    pub fn with_route(mut self, route: SpawnRoute) -> Self {
        self.route = route;
        self
    }

    /// Builds the `Command` that runs `spec` under `policy` through the
    /// helper (always, whatever [`route`](Self::route) says): program,
    /// arguments, working directory and a cleared environment holding exactly
    /// `spec.env` (plus `CODEX_SANDBOX_NETWORK_DISABLED=1` when the network is
    /// blocked).
    ///
    /// The result is self-contained argv: callers may take it apart with
    /// `get_program()`/`get_args()` and spawn it themselves (sandboxed MCP
    /// servers do). Stdio, the process group and the timeout are left to the
    /// caller; this is what `codex sandbox linux` uses to run a command with
    /// inherited stdio.
    ///
    /// # Errors
    ///
    /// Refuses ([`SandboxError::Unsupported`]) when [`probe`] finds a missing
    /// mechanism that `policy` needs, and fails on an empty argv or a bad or
    /// missing writable root.
    pub fn command(
        &self,
        spec: &CommandSpec,
        policy: &SandboxPolicy,
    ) -> Result<Command, SandboxError> {
        if spec.program.as_ref().is_some_and(Executable::is_pinned) {
            // A pinned file is an open descriptor of this process; the
            // helper could not be handed it safely.
            return Err(SandboxError::PinnedNeedsPreExec);
        }
        let mut command = match resolve(spec, policy)? {
            None => direct(spec),
            Some(request) => {
                let mut command = Command::new(&self.helper);
                command.args(&self.helper_args).args(request.to_args());
                command
            }
        };
        finish(&mut command, spec, policy);
        Ok(command)
    }

    /// The `Command` for `spec` as [`route`](Self::route) says, plus the
    /// prepared sandbox that the caller must apply in the child with
    /// [`Prepared::apply_or_exit`] (pre-exec route, restricted mode only).
    pub(crate) fn command_for_route(
        &self,
        spec: &CommandSpec,
        policy: &SandboxPolicy,
    ) -> Result<(Command, Option<Prepared>), SandboxError> {
        match self.route {
            SpawnRoute::Helper if !spec.program.as_ref().is_some_and(Executable::is_pinned) => {
                Ok((self.command(spec, policy)?, None))
            }
            SpawnRoute::Helper | SpawnRoute::PreExec => {
                let prepared = match resolve(spec, policy)? {
                    None => None,
                    Some(request) => Prepared::new(&request)?,
                };
                let mut command = direct(spec);
                finish(&mut command, spec, policy);
                Ok((command, prepared))
            }
        }
    }
}

/// Validates `spec` and resolves `policy` for it: `None` when unrestricted,
/// otherwise the request the helper (or the pre-exec child) applies.
fn resolve(
    spec: &CommandSpec,
    policy: &SandboxPolicy,
) -> Result<Option<HelperRequest>, SandboxError> {
    if spec.argv.is_empty() {
        return Err(SandboxError::EmptyCommand);
    }
    if let Some(program) = &spec.program
        && !program.path().is_absolute()
    {
        return Err(SandboxError::RelativePath {
            what: "program",
            path: program.path().to_owned(),
        });
    }
    if !spec.cwd.is_absolute() {
        return Err(SandboxError::RelativePath {
            what: "working directory",
            path: spec.cwd.clone(),
        });
    }
    if policy.is_unrestricted() {
        return Ok(None);
    }
    let roots = policy.writable_roots_for(&spec.cwd)?;
    let read_only_subpaths: Vec<PathBuf> = roots
        .iter()
        .flat_map(|root| root.read_only_subpaths.iter().cloned())
        .collect();
    probe().check(policy, !read_only_subpaths.is_empty())?;
    let mut command = spec.argv.clone();
    if let Some(program) = &spec.program {
        command[0] = program.path().as_os_str().to_owned();
    }
    Ok(Some(HelperRequest {
        mode: policy.mode,
        writable_roots: roots.into_iter().map(|root| root.root).collect(),
        read_only_subpaths,
        network: policy.has_network_access(),
        command,
    }))
}

/// `spec`'s own program and arguments (argv is known to be non-empty).
fn direct(spec: &CommandSpec) -> Command {
    match &spec.program {
        Some(program) => {
            let mut command = Command::new(program.exec_path());
            std::os::unix::process::CommandExt::arg0(&mut command, &spec.argv[0]);
            command.args(&spec.argv[1..]);
            command
        }
        None => {
            let mut command = Command::new(&spec.argv[0]);
            command.args(&spec.argv[1..]);
            command
        }
    }
}

/// Environment and working directory, the same on every route.
fn finish(command: &mut Command, spec: &CommandSpec, policy: &SandboxPolicy) {
    command.env_clear().envs(&spec.env).current_dir(&spec.cwd);
    if !policy.has_network_access() {
        command.env(NETWORK_DISABLED_ENV_VAR, "1");
    }
}

/// The program a `Command` runs, for error messages.
pub(crate) fn program_of(command: &Command) -> PathBuf {
    Path::new(command.get_program()).to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::SandboxMode;
    use pretty_assertions::assert_eq;

    fn args_of(command: &Command) -> Vec<String> {
        std::iter::once(command.get_program())
            .chain(command.get_args())
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn full_access_runs_the_command_directly() {
        let launcher = SandboxLauncher::new("/bin/helper", ["sandbox-exec"]);
        let spec = CommandSpec::new(vec!["echo".into(), "hi".into()], "/", BTreeMap::new());
        let policy = SandboxPolicy::new(SandboxMode::DangerFullAccess);
        let command = launcher.command(&spec, &policy).unwrap();
        assert_eq!(args_of(&command), ["echo", "hi"]);
        assert_eq!(command.get_envs().count(), 0);
    }

    #[test]
    fn read_only_goes_through_the_helper() {
        let launcher = SandboxLauncher::new("/bin/helper", ["sandbox-exec"]);
        let spec = CommandSpec::new(vec!["echo".into(), "hi".into()], "/", BTreeMap::new());
        let policy = SandboxPolicy::new(SandboxMode::ReadOnly);
        let command = launcher.command(&spec, &policy).unwrap();
        assert_eq!(
            args_of(&command),
            [
                "/bin/helper",
                "sandbox-exec",
                "--mode",
                "read-only",
                "--",
                "echo",
                "hi"
            ]
        );
        let envs: Vec<_> = command.get_envs().collect();
        assert_eq!(
            envs,
            [(
                std::ffi::OsStr::new(NETWORK_DISABLED_ENV_VAR),
                Some(std::ffi::OsStr::new("1"))
            )]
        );
    }

    #[test]
    fn routes_pick_the_program() {
        let launcher = SandboxLauncher::new("/bin/helper", ["sandbox-exec"]);
        let spec = CommandSpec::new(vec!["echo".into(), "hi".into()], "/", BTreeMap::new());
        let policy = SandboxPolicy::new(SandboxMode::ReadOnly);
        assert_eq!(launcher.route, SpawnRoute::PreExec);
        let (command, prepared) = launcher.command_for_route(&spec, &policy).unwrap();
        assert_eq!(args_of(&command), ["echo", "hi"]);
        assert!(
            prepared.is_some(),
            "the pre-exec route sandboxes in the child"
        );
        let (command, prepared) = launcher
            .clone()
            .with_route(SpawnRoute::Helper)
            .command_for_route(&spec, &policy)
            .unwrap();
        assert_eq!(
            args_of(&command)[..4],
            ["/bin/helper", "sandbox-exec", "--mode", "read-only"]
        );
        assert!(prepared.is_none());
        // Same environment and cwd on both routes.
        let full = SandboxPolicy::new(SandboxMode::DangerFullAccess);
        let (command, prepared) = launcher.command_for_route(&spec, &full).unwrap();
        assert_eq!(args_of(&command), ["echo", "hi"]);
        assert!(prepared.is_none());
    }

    #[test]
    fn bad_specs_are_errors() {
        let launcher = SandboxLauncher::new("/bin/helper", Vec::<OsString>::new());
        let policy = SandboxPolicy::new(SandboxMode::ReadOnly);
        let empty = CommandSpec::new(vec![], "/", BTreeMap::new());
        assert!(matches!(
            launcher.command(&empty, &policy),
            Err(SandboxError::EmptyCommand)
        ));
        let relative = CommandSpec::new(vec!["true".into()], "rel", BTreeMap::new());
        assert!(matches!(
            launcher.command(&relative, &policy),
            Err(SandboxError::RelativePath { .. })
        ));
    }
}
