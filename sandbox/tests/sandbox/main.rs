//! End-to-end tests of the sandbox with real kernel enforcement (no mocks).
//!
//! One test binary; one module per area. Every test gets its own temporary
//! directories under cargo's target dir (not under `/tmp`, which is a
//! writable root under `workspace-write`). The helper is this crate's
//! `codex-sandbox-helper` binary.

// `pidfd_open` on grandchildren has no safe wrapper; each block has a SAFETY comment.
#![allow(unsafe_code)]

/// Filesystem and network enforcement per mode.
mod enforcement;
/// Process groups, timeouts, output caps, environment, drop.
mod process;
/// Shared helpers: launcher, scratch dirs, specs.
mod util;
