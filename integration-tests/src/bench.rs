//! Helpers shared by the benchmarks in `benches/`: binaries of the bench's
//! own profile, percentiles, units and the machine's load.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

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
