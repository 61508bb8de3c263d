//! [`SandboxLauncher`] and [`CommandSpec`]: turning a command and a policy into a `std::process::Command`.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::SandboxError;
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
    /// The program and its arguments; the program is looked up in `PATH`.
    pub argv: Vec<OsString>,
    /// The working directory (absolute). Under `workspace-write` it is a writable root.
    pub cwd: PathBuf,
    /// The complete environment of the command, usually from
    /// [`ShellEnvironmentPolicy::apply`](crate::ShellEnvironmentPolicy::apply).
    pub env: BTreeMap<OsString, OsString>,
    /// How long the command may run ([`DEFAULT_TIMEOUT`] unless changed).
    pub timeout: Duration,
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
            cwd: cwd.into(),
            env,
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// How to start the sandbox helper: a program that calls
/// [`exec_sandboxed_main`](crate::exec_sandboxed_main) with the arguments that
/// follow `helper_args`.
///
/// For the `codex` binary this is its own path plus the hidden subcommand,
/// e.g. `SandboxLauncher::new(std::env::current_exe()?, ["debug", "sandbox-exec"])`.
/// Under `danger-full-access` the helper is not used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxLauncher {
    /// The helper program.
    pub helper: PathBuf,
    /// Arguments placed before the sandbox arguments (e.g. a subcommand).
    pub helper_args: Vec<OsString>,
}

impl SandboxLauncher {
    /// A launcher for `helper` with the given leading arguments.
    pub fn new<I, S>(helper: impl Into<PathBuf>, helper_args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        SandboxLauncher {
            helper: helper.into(),
            helper_args: helper_args.into_iter().map(Into::into).collect(),
        }
    }

    /// Builds the `Command` that runs `spec` under `policy`: program,
    /// arguments, working directory and a cleared environment holding exactly
    /// `spec.env` (plus `CODEX_SANDBOX_NETWORK_DISABLED=1` when the network is
    /// blocked).
    ///
    /// Stdio, the process group and the timeout are left to the caller; this
    /// is what `codex sandbox linux` uses to run a command with inherited
    /// stdio. [`SandboxedChild::spawn`](crate::SandboxedChild::spawn) builds on it.
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
        let (program, args) = spec.argv.split_first().ok_or(SandboxError::EmptyCommand)?;
        if !spec.cwd.is_absolute() {
            return Err(SandboxError::RelativePath {
                what: "working directory",
                path: spec.cwd.clone(),
            });
        }
        let mut command = if policy.is_unrestricted() {
            let mut command = Command::new(program);
            command.args(args);
            command
        } else {
            let tmpdir = std::env::var_os("TMPDIR").map(PathBuf::from);
            let roots = policy.writable_roots_for(&spec.cwd, tmpdir.as_deref())?;
            let read_only_subpaths: Vec<PathBuf> = roots
                .iter()
                .flat_map(|root| root.read_only_subpaths.iter().cloned())
                .collect();
            probe().check(policy, !read_only_subpaths.is_empty())?;
            let request = HelperRequest {
                mode: policy.mode,
                writable_roots: roots.into_iter().map(|root| root.root).collect(),
                read_only_subpaths,
                network: policy.has_network_access(),
                command: spec.argv.clone(),
            };
            let mut command = Command::new(&self.helper);
            command.args(&self.helper_args).args(request.to_args());
            command
        };
        command.env_clear().envs(&spec.env).current_dir(&spec.cwd);
        if !policy.has_network_access() {
            command.env(NETWORK_DISABLED_ENV_VAR, "1");
        }
        Ok(command)
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
