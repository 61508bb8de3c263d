//! What the shipped binary, static on musl, takes from us instead of from
//! musl's C library: the allocator ([`heap`]) and the copies `memcpy` and
//! `memmove` ([`copy`], x86_64). Each replaced a measured cost of musl's
//! (BENCHMARKS.md). Built into every test binary too, where the tests call
//! them directly and the C library's own stay in use.
//!
//! This folder and `sandbox` are the only code with `unsafe`
//! (`tidy::unsafe_code_lives_in_the_sandbox_and_the_musl_runtime`).

#[cfg(target_arch = "x86_64")]
mod copy;
pub(crate) mod heap;
