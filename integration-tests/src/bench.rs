//! Helpers shared by the benchmarks in `benches/`: binaries of the bench's
//! own profile, percentiles, units and the machine's load.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::TestEnv;

/// What a bench binary was asked to run: the full run under `cargo bench`
/// (which passes `--bench`), a smoke run under `cargo test`; names on the
/// command line pick parts (none: every part).
#[derive(Debug)]
pub struct Selection {
    /// `--bench` was given.
    pub full: bool,
    picked: Vec<String>,
}

impl Selection {
    /// The process's own arguments.
    pub fn from_args() -> Selection {
        let args: Vec<String> = std::env::args().skip(1).collect();
        Selection {
            full: args.iter().any(|a| a == "--bench"),
            picked: args.into_iter().filter(|a| !a.starts_with('-')).collect(),
        }
    }

    /// Whether the part `name` runs.
    pub fn wants(&self, name: &str) -> bool {
        self.picked.is_empty() || self.picked.iter().any(|picked| picked == name)
    }
}

/// `NAME bench (full|smoke), N cores`: the first line a bench prints.
pub fn banner(name: &str, full: bool) -> String {
    format!(
        "{name} bench ({}), {} cores",
        if full { "full" } else { "smoke" },
        std::thread::available_parallelism().map_or(0, |n| n.get())
    )
}

/// `bin ARGS` as [`TestEnv::command_for`] runs it, with the key the
/// benches' mock provider reads (`MOCK_API_KEY`).
pub fn codex_command(bin: &Path, env: &TestEnv, args: &[&str]) -> Command {
    let mut command = env.command_for(bin, args);
    command.env("MOCK_API_KEY", "dummy");
    command
}

/// `codex exec --skip-git-repo-check ARGS` in `env` against its mock
/// model; returns the wall time, asserting the turn completed.
pub fn run_exec(bin: &Path, env: &TestEnv, args: &[&str]) -> Duration {
    let mut command = codex_command(bin, env, &["exec", "--skip-git-repo-check"]);
    command
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null());
    let started = Instant::now();
    let output = command.output().expect("run exec");
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("\"turn.completed\""),
        "{} did not complete its turn: {stdout}",
        bin.display()
    );
    elapsed
}

/// `/proc/loadavg`'s first three fields: other work on the machine.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// The binary `bin` of package `package` in the running bench's profile
/// directory, built with `cargo build` for that profile when missing.
pub fn profile_bin(package: &str, bin: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    // target/<profile>/deps/<bench>-<hash> -> target/<profile>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("bench binary lives in target/<profile>/deps")
        .to_path_buf();
    let path = profile_dir.join(bin);
    if !path.exists() {
        let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") => "dev".to_owned(),
            Some(other) => other.to_owned(),
            None => "release".to_owned(),
        };
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        eprintln!("building {package} ({profile})");
        let status = Command::new(cargo)
            .args(["build", "--profile", &profile, "-p", package])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("run cargo build");
        assert!(status.success(), "building {package} failed");
    }
    assert!(path.exists(), "{} is missing", path.display());
    path
}

/// Nearest-rank percentile of a sorted slice.
pub fn pct(sorted: &[Duration], q: f64) -> Duration {
    assert!(!sorted.is_empty());
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// `samples`, sorted.
pub fn sorted(mut samples: Vec<Duration>) -> Vec<Duration> {
    samples.sort_unstable();
    samples
}

/// Microseconds with one decimal.
pub fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

/// Milliseconds with one decimal.
pub fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

/// `a / b`.
pub fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}
