//! The sandbox helper as a standalone binary, used by this crate's tests and
//! benchmarks: `codex-sandbox-helper --mode MODE ... -- CMD...`.
//!
//! The `codex` CLI does not need it: it calls
//! [`codex_sandbox::exec_sandboxed_main`] from a hidden subcommand.

fn main() {
    codex_sandbox::exec_sandboxed_main(std::env::args_os().skip(1))
}
