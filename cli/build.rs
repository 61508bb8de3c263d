//! Code layout of the optimised `codex` binary. Starting a command runs a few
//! hundred functions scattered over 16 MB of code, and each page of them
//! costs a page fault; `startup-order.txt` (written by
//! `scripts/startup-order.sh` from the shipped build) lists them, and the
//! linker places them side by side. A name the build no longer has is
//! skipped, so a stale list costs speed, never correctness (a release
//! build's ThinLTO names, `.llvm.<hash>`, are not in the list at all).
//!
//! Only optimised builds (release, and `dist`, the shipped profile), and
//! only where the linker takes `--symbol-ordering-file` (LLD and mold do;
//! GNU ld does not): a one-line program is linked with the same rustc,
//! target, flags and linker first, and the list is passed only if that link
//! succeeds. Where it does not (the musl target links with GNU ld), the
//! link is tried again with the LLD that rustup ships beside rustc.
//! `CODEX_LINK_ORDER=0` turns it off.

use std::path::Path;
use std::process::{Command, Stdio};

fn main() {
    println!("cargo:rerun-if-changed=startup-order.txt");
    println!("cargo:rerun-if-env-changed=CODEX_LINK_ORDER");
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    if var("PROFILE") != "release" || var("CODEX_LINK_ORDER") == "0" {
        return;
    }
    let list = Path::new(&var("CARGO_MANIFEST_DIR")).join("startup-order.txt");
    if !list.is_file() {
        return;
    }
    let ordering = [
        "-Xlinker".to_owned(),
        format!("--symbol-ordering-file={}", list.display()),
        "-Xlinker".to_owned(),
        "--no-warn-symbol-ordering".to_owned(),
    ];
    // The musl target links through GNU ld, which takes no ordering; the
    // toolchain ships LLD for exactly this, so that one is tried next.
    let link_args = if links_with(&ordering) {
        ordering.to_vec()
    } else {
        let with_lld: Option<Vec<String>> =
            toolchain_lld().map(|lld| lld.into_iter().chain(ordering).collect());
        match with_lld {
            Some(args) if links_with(&args) => args,
            _ => {
                println!(
                    "cargo:warning=the linker does not take --symbol-ordering-file: \
                     the release binary keeps the default code layout"
                );
                return;
            }
        }
    };
    for arg in link_args {
        println!("cargo:rustc-link-arg-bin=codex={arg}");
    }
}

/// The C compiler driver's arguments that link with the LLD rustup ships
/// (`lib/rustlib/HOST/bin/gcc-ld/ld.lld` in the sysroot), when it is there.
fn toolchain_lld() -> Option<[String; 2]> {
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let output = Command::new(var("RUSTC"))
        .arg("--print=sysroot")
        .output()
        .ok()
        .filter(|output| output.status.success())?;
    let sysroot = String::from_utf8_lossy(&output.stdout);
    let dir = Path::new(sysroot.trim())
        .join("lib/rustlib")
        .join(var("HOST"))
        .join("bin/gcc-ld");
    dir.join("ld.lld")
        .is_file()
        .then(|| ["-fuse-ld=lld".to_owned(), format!("-B{}", dir.display())])
}

/// Whether a one-line program links with `link_args`, built as this
/// package will be: same rustc, target, flags and configured linker.
fn links_with(link_args: &[String]) -> bool {
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let out_dir = std::path::PathBuf::from(var("OUT_DIR"));
    let source = out_dir.join("link_probe.rs");
    if std::fs::write(&source, "fn main() {}\n").is_err() {
        return false;
    }
    let mut rustc = Command::new(var("RUSTC"));
    rustc
        .arg("--crate-name=codex_link_probe")
        .arg("--crate-type=bin")
        .arg("--edition=2021")
        .arg(format!("--target={}", var("TARGET")))
        .arg("-o")
        .arg(out_dir.join("link_probe"));
    let linker = var("RUSTC_LINKER");
    if !linker.is_empty() {
        rustc.arg(format!("-Clinker={linker}"));
    }
    let flags = var("CARGO_ENCODED_RUSTFLAGS");
    rustc.args(flags.split('\x1f').filter(|flag| !flag.is_empty()));
    for arg in link_args {
        rustc.arg(format!("-Clink-arg={arg}"));
    }
    rustc
        .arg(&source)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}
