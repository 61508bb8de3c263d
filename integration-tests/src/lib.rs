//! Helpers for the end-to-end tests in `tests/`: a throwaway `CODEX_HOME`,
//! a working directory, and a way to run the real `codex` binary in them.
//!
//! The binary is found next to the test executable (`target/<profile>/codex`).
//! `cargo test --workspace` builds it, because `cli/tests/smoke.rs` is an
//! integration test of the `codex-cli` package.
//!
//! [`McpDeps`] finds the third-party MCP servers and the conformance suite
//! that `scripts/install-test-deps.sh` installs under `target/`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine as _;

pub mod bench;
pub mod load;
mod mcp_deps;
pub mod pty;

pub use mcp_deps::McpDeps;

/// One test's private world: its own `CODEX_HOME`, `HOME` and cwd.
#[derive(Debug)]
pub struct TestEnv {
    dir: tempfile::TempDir,
    vars: Vec<(String, OsString)>,
}

/// What a `codex` run produced.
#[derive(Debug)]
pub struct Run {
    /// Exit code (-1 if killed by a signal).
    pub code: i32,
    /// Standard output, with the test's temp dir replaced by `[TMP]`.
    pub stdout: String,
    /// Standard error, likewise.
    pub stderr: String,
}

impl TestEnv {
    /// A fresh environment with an empty `CODEX_HOME`.
    pub fn new() -> TestEnv {
        let dir = tempfile::tempdir().expect("create temp dir");
        for sub in ["codex-home", "home", "work"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("create dir");
        }
        TestEnv {
            dir,
            vars: Vec::new(),
        }
    }

    /// The temp root (shown as `[TMP]` in outputs).
    pub fn root(&self) -> PathBuf {
        self.dir.path().canonicalize().expect("canonical temp dir")
    }

    /// `CODEX_HOME`.
    pub fn codex_home(&self) -> PathBuf {
        self.root().join("codex-home")
    }

    /// The cwd `codex` runs in.
    pub fn work_dir(&self) -> PathBuf {
        self.root().join("work")
    }

    /// Options for a session in this environment, started through the
    /// crate API: this `CODEX_HOME` and cwd, the process environment, the
    /// default timing, no requirements source (the system file is a
    /// missing file here: tests never touch `/etc`) and no sandbox
    /// launcher; tool locks apply; watched files are read again after 50 ms
    /// of quiet. Tests change what they need with struct update syntax.
    pub fn session_options(&self) -> codex_actors::session::SessionOptions {
        codex_actors::session::SessionOptions {
            codex_home: self.codex_home(),
            cwd: self.work_dir(),
            overrides: Vec::new(),
            user_config: true,
            strict_config: false,
            requirements: codex_actors::policy::RequirementsSources {
                system_file: self.root().join("no-system-requirements.toml"),
                env_file: None,
                env_base64: None,
            },
            env: std::env::vars().collect(),
            timing: codex_actors::mcp_server::Timing::default(),
            only: Vec::new(),
            sandbox_launcher: None,
            tool_locks: true,
            transports: None,
            watch_debounce: std::time::Duration::from_millis(50),
        }
    }

    /// Writes `$CODEX_HOME/config.toml`.
    pub fn write_config(&self, text: &str) {
        std::fs::write(self.codex_home().join("config.toml"), text).expect("write config");
    }

    /// Reads `$CODEX_HOME/config.toml`.
    pub fn read_config(&self) -> String {
        std::fs::read_to_string(self.codex_home().join("config.toml")).expect("read config")
    }

    /// Writes a file under the temp root and returns its path.
    pub fn write_file(&self, relative: &str, text: &str) -> PathBuf {
        let path = self.root().join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create parent");
        }
        std::fs::write(&path, text).expect("write file");
        path
    }

    /// Points `CODEX_REQUIREMENTS_FILE` at a file holding `text`.
    pub fn requirements_file(&mut self, text: &str) -> PathBuf {
        let path = self.write_file("requirements.toml", text);
        self.set_var("CODEX_REQUIREMENTS_FILE", &path);
        path
    }

    /// Puts `text`, base64-encoded, in `CODEX_REQUIREMENTS_TOML_BASE64`.
    pub fn requirements_base64(&mut self, text: &str) {
        let encoded = base64::engine::general_purpose::STANDARD.encode(text);
        self.set_var("CODEX_REQUIREMENTS_TOML_BASE64", encoded);
    }

    /// Sets (or replaces) a variable for later runs.
    pub fn set_var(&mut self, name: &str, value: impl Into<OsString>) {
        self.vars.retain(|(n, _)| n != name);
        self.vars.push((name.to_owned(), value.into()));
    }

    /// Removes a variable for later runs.
    pub fn remove_var(&mut self, name: &str) {
        self.vars.retain(|(n, _)| n != name);
    }

    /// Runs `codex ARGS` with a clean environment.
    pub fn codex(&self, args: &[&str]) -> Run {
        let output = self.command(args).output().expect("run codex");
        self.run_from_output(output)
    }

    /// Runs `codex ARGS` on a pseudo-terminal (through `script(1)`), as a
    /// person at a terminal would. stdout and stderr arrive mixed.
    pub fn codex_in_terminal(&self, args: &[&str]) -> Run {
        let line = std::iter::once(codex_bin().display().to_string())
            .chain(
                args.iter()
                    .map(|a| format!("'{}'", a.replace('\'', "'\\''"))),
            )
            .collect::<Vec<_>>()
            .join(" ");
        let mut command = self.command_for(Path::new("script"), &["-qec", &line, "/dev/null"]);
        command.env("TERM", "dumb");
        let output = command.output().expect("run script(1)");
        self.run_from_output(output)
    }

    /// The command, for tests that need to customise it further.
    pub fn command(&self, args: &[&str]) -> Command {
        self.command_for(&codex_bin(), args)
    }

    /// [`Self::command`] for another build of `codex` (a bench's
    /// profile, say).
    pub fn command_for(&self, program: &Path, args: &[&str]) -> Command {
        assert!(
            !Path::new("/etc/codex/requirements.toml").exists(),
            "/etc/codex/requirements.toml exists on this machine; the end-to-end tests \
             assume it does not (they never write under /etc)"
        );
        let mut command = Command::new(program);
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.root().join("home"))
            .env("CODEX_HOME", self.codex_home())
            .env("RUST_BACKTRACE", "0")
            .current_dir(self.work_dir());
        for (name, value) in &self.vars {
            command.env(name, value);
        }
        command
    }

    /// A [`Run`] from the output of a command this environment built.
    pub fn run_from_output(&self, output: Output) -> Run {
        let root = self.root().to_string_lossy().into_owned();
        let clean = |bytes: &[u8]| String::from_utf8_lossy(bytes).replace(&root, "[TMP]");
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: clean(&output.stdout),
            stderr: clean(&output.stderr),
        }
    }
}

impl Default for TestEnv {
    fn default() -> Self {
        TestEnv::new()
    }
}

/// The `codex` executable under test: `$CODEX_BIN` when it is set (the
/// benches set it to the shipped build, `scripts/build-codex.sh`), else the one
/// built by this workspace next to the test binary.
pub fn codex_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("CODEX_BIN") {
        let bin = PathBuf::from(bin);
        assert!(bin.exists(), "CODEX_BIN={} is missing", bin.display());
        return bin;
    }
    let bin = profile_dir().join("codex");
    assert!(
        bin.exists(),
        "{} is missing; build it with `cargo build -p codex-cli` (cargo test --workspace does)",
        bin.display()
    );
    bin
}

/// `target/<profile>`, where cargo puts this workspace's binaries.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    // target/<profile>/deps/e2e-<hash> -> target/<profile>
    exe.parent()
        .and_then(Path::parent)
        .expect("test binary lives in target/<profile>/deps")
        .to_path_buf()
}

/// A fresh directory outside every root the sandbox makes writable under
/// workspace-write (the cwd, `/tmp`, `$TMPDIR`): under cargo's target dir,
/// or under `/var/tmp` when the checkout itself lives below `/tmp`.
pub fn outside_writable_roots(name: &str) -> PathBuf {
    let target_tmp = profile_dir().join("e2e-tmp");
    let tmpdir = std::env::var_os("TMPDIR").map(PathBuf::from);
    let under_a_writable_root = |dir: &Path| {
        dir.starts_with("/tmp") || tmpdir.as_deref().is_some_and(|t| dir.starts_with(t))
    };
    let base = if under_a_writable_root(&target_tmp) {
        PathBuf::from("/var/tmp")
    } else {
        target_tmp
    };
    let dir = base.join(format!("codex-e2e-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create a directory outside the writable roots");
    dir
}

/// Our test MCP server, built by this workspace into `target/<profile>`.
pub fn test_server_bin() -> PathBuf {
    let bin = profile_dir().join("codex-test-mcp-server");
    assert!(
        bin.exists(),
        "{} is missing; `cargo test --workspace` builds it",
        bin.display()
    );
    bin
}

/// How many live processes have `needle` in their command line.
pub fn processes_with(needle: &str) -> usize {
    pids_with(needle).len()
}

/// The live processes with `needle` in their command line (a zombie's
/// is empty).
fn pids_with(needle: &str) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid = entry.file_name().to_string_lossy().parse::<i32>().ok()?;
            let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
            String::from_utf8_lossy(&cmdline)
                .replace('\0', " ")
                .contains(needle)
                .then_some(pid)
        })
        .collect()
}

/// Waits, up to `patience`, for every process with `needle` in its command
/// line to exit, on its exit itself (a pidfd turns readable), not on a
/// timer; then says how many are still alive.
pub fn wait_gone(needle: &str, patience: std::time::Duration) -> usize {
    let deadline = std::time::Instant::now() + patience;
    for pid in pids_with(needle) {
        let Some(pid) = rustix::process::Pid::from_raw(pid) else {
            continue;
        };
        // Gone already (ESRCH), or no pidfd: the count below tells.
        let Ok(fd) = rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()) else {
            continue;
        };
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let timeout = rustix::event::Timespec::try_from(left).unwrap_or_default();
        let mut fds = [rustix::event::PollFd::new(
            &fd,
            rustix::event::PollFlags::IN,
        )];
        let _ = rustix::event::poll(&mut fds, Some(&timeout));
    }
    processes_with(needle)
}

/// Our test server serving streamable HTTP on 127.0.0.1, killed on drop.
#[derive(Debug)]
pub struct HttpTestServer {
    /// `http://127.0.0.1:PORT/mcp`.
    pub url: String,
    child: std::process::Child,
}

impl HttpTestServer {
    /// Starts `codex-test-mcp-server --http 127.0.0.1:0 ARGS` and waits
    /// (up to 30 s) for the address it prints.
    pub fn start(args: &[&str]) -> HttpTestServer {
        use std::io::BufRead as _;
        let mut child = Command::new(test_server_bin())
            .args(["--http", "127.0.0.1:0"])
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("test server starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = std::io::BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("the test server prints its address");
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        HttpTestServer { url, child }
    }
}

impl Drop for HttpTestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Replaces run-to-run variation (startup times) with placeholders, for
/// snapshots.
pub fn redact_timings(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(" in ") {
        out.push_str(&rest[..i + 4]);
        rest = &rest[i + 4..];
        let digits = rest
            .char_indices()
            .take_while(|(_, c)| c.is_ascii_digit() || *c == '.')
            .count();
        if digits > 0 && rest[digits..].starts_with('s') {
            out.push_str("[T]");
            rest = &rest[digits..];
        }
    }
    out.push_str(rest);
    out
}

impl Run {
    /// stdout and stderr with the exit code, for snapshots.
    pub fn transcript(&self) -> String {
        format!(
            "exit: {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Waits up to `deadline` for the first session event that `pick` maps to
/// `Some`, and panics naming `what` if none comes. Tests and benches wait on
/// events like this, never on sleeps.
pub async fn wait_for_event<T>(
    events: &mut tokio::sync::broadcast::Receiver<codex_actors::session::SessionEvent>,
    deadline: std::time::Duration,
    what: &str,
    mut pick: impl FnMut(&codex_actors::session::SessionEvent) -> Option<T>,
) -> T {
    use tokio::sync::broadcast::error::RecvError;
    let wait = async {
        loop {
            match events.recv().await {
                Ok(event) => {
                    if let Some(found) = pick(&event) {
                        return found;
                    }
                }
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => panic!("event bus closed while waiting for {what}"),
            }
        }
    };
    match tokio::time::timeout(deadline, wait).await {
        Ok(found) => found,
        Err(_) => panic!("no {what} within {deadline:?}"),
    }
}
