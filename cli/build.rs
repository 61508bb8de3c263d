//! Code layout of the release `codex` binary. Starting a command runs a few
//! hundred functions scattered over 20 MB of code, and each page of them
//! costs a page fault; `startup-order.txt` (written by
//! `scripts/startup-order.sh`) lists them, and the linker places them side
//! by side. A name the build no longer has is skipped, so a stale list
//! costs speed, never correctness.
//!
//! Only where the linker is known to take `--symbol-ordering-file`: a
//! release build for x86_64 Linux (GNU) with Rust's own default, LLD
//! (rustc 1.90 and later), and no linker chosen by configuration.
//! `CODEX_LINK_ORDER=0` turns it off.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=startup-order.txt");
    println!("cargo:rerun-if-env-changed=CODEX_LINK_ORDER");
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let target = var("CARGO_CFG_TARGET_ARCH") == "x86_64"
        && var("CARGO_CFG_TARGET_OS") == "linux"
        && var("CARGO_CFG_TARGET_ENV") == "gnu";
    // A configured linker (`target.*.linker`, `-C linker`, `-fuse-ld`,
    // linker features) may not know the flag.
    let flags = var("CARGO_ENCODED_RUSTFLAGS");
    let default_linker = var("RUSTC_LINKER").is_empty()
        && !["linker", "fuse-ld", "link-self-contained"]
            .iter()
            .any(|flag| flags.contains(flag));
    if var("PROFILE") != "release"
        || var("CODEX_LINK_ORDER") == "0"
        || !target
        || !default_linker
        || !rustc_links_with_lld(&var("RUSTC"))
    {
        return;
    }
    let list = Path::new(&var("CARGO_MANIFEST_DIR")).join("startup-order.txt");
    if !list.is_file() {
        return;
    }
    println!(
        "cargo:rustc-link-arg-bin=codex=-Wl,--symbol-ordering-file={}",
        list.display()
    );
    println!("cargo:rustc-link-arg-bin=codex=-Wl,--no-warn-symbol-ordering");
}

/// Whether `rustc` is 1.90 or later, which links x86_64 Linux with LLD by
/// default.
fn rustc_links_with_lld(rustc: &str) -> bool {
    let Ok(output) = Command::new(rustc).arg("--version").output() else {
        return false;
    };
    let version = String::from_utf8_lossy(&output.stdout);
    // "rustc 1.95.0 (59807616e 2026-04-14)"
    let mut numbers = version
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .split('.')
        .map(|part| part.parse::<u32>().unwrap_or(0));
    let (major, minor) = (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0));
    (major, minor) >= (1, 90)
}
