//! The `codex` command-line front end.
fn main() {}
