//! The seccomp filter that blocks the network: no sockets except `AF_UNIX`, no io_uring.
//!
//! The program is compiled once per process (it does not depend on the
//! request) and kept as plain `libc::sock_filter`s, so installing it is a
//! single `seccomp(2)` call that reads prebuilt memory: safe between `fork`
//! and `exec`.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

use crate::SandboxError;

/// The compiled network filter, shared by every spawn of this process.
///
/// * `socket` and `socketpair` with a domain other than `AF_UNIX` fail with `EPERM`.
/// * `io_uring_setup`, `io_uring_enter` and `io_uring_register` fail with
///   `EPERM`, since io_uring can create sockets without `socket(2)`.
/// * Syscalls of another architecture (32-bit `int 0x80` on x86_64, where
///   `socketcall` would dodge the rule) kill the process.
pub(super) fn network_filter() -> Result<&'static [libc::sock_filter], SandboxError> {
    static PROGRAM: OnceLock<Vec<libc::sock_filter>> = OnceLock::new();
    if let Some(program) = PROGRAM.get() {
        return Ok(program);
    }
    let program = compile()?;
    // A concurrent caller may have won the race; both compiled the same program.
    Ok(PROGRAM.get_or_init(|| program))
}

fn compile() -> Result<Vec<libc::sock_filter>, SandboxError> {
    let not_unix = || -> Result<Vec<SeccompRule>, SandboxError> {
        let condition = SeccompCondition::new(
            0,
            SeccompCmpArgLen::Dword,
            SeccompCmpOp::Ne,
            libc::AF_UNIX as u64,
        )
        .map_err(seccompiler::Error::from)?;
        let rule = SeccompRule::new(vec![condition]).map_err(seccompiler::Error::from)?;
        Ok(vec![rule])
    };
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    rules.insert(libc::SYS_socket, not_unix()?);
    rules.insert(libc::SYS_socketpair, not_unix()?);
    for nr in [
        libc::SYS_io_uring_setup,
        libc::SYS_io_uring_enter,
        libc::SYS_io_uring_register,
    ] {
        // An empty rule list matches the syscall unconditionally.
        rules.insert(nr, Vec::new());
    }
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        target_arch(),
    )
    .map_err(seccompiler::Error::from)?;
    let program: BpfProgram = filter.try_into().map_err(seccompiler::Error::from)?;
    if program.is_empty() || program.len() > usize::from(u16::MAX) {
        return Err(seccompiler::Error::EmptyFilter.into());
    }
    Ok(program
        .into_iter()
        .map(|insn| libc::sock_filter {
            code: insn.code,
            jt: insn.jt,
            jf: insn.jf,
            k: insn.k,
        })
        .collect())
}

fn target_arch() -> TargetArch {
    #[cfg(target_arch = "x86_64")]
    let arch = TargetArch::x86_64;
    #[cfg(target_arch = "aarch64")]
    let arch = TargetArch::aarch64;
    #[cfg(target_arch = "riscv64")]
    let arch = TargetArch::riscv64;
    arch
}
