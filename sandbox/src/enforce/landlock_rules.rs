//! Landlock rules: read everywhere, write only the writable roots and a few devices; TCP off unless allowed.
//!
//! The ruleset is created and filled in the parent (or the helper); what is
//! left for the sandboxed process is one `landlock_restrict_self(fd, 0)`.

use std::os::fd::{AsRawFd, OwnedFd};

use landlock::{
    ABI, Access, AccessFs, AccessNet, CompatLevel, Compatible, PathBeneath, PathFd, Ruleset,
    RulesetAttr, RulesetCreatedAttr, path_beneath_rules,
};

use crate::SandboxError;
use crate::helper_args::HelperRequest;

/// The filesystem ABI we target: every right up to ABI 5 is handled, as in
/// Codex. Later rights (pathname UNIX socket `connect`) are left alone so that
/// local IPC keeps working.
const FS_ABI: ABI = ABI::V5;

/// Device files that stay writable in every restricted mode.
const WRITABLE_DEVICES: [&str; 3] = ["/dev/null", "/dev/zero", "/dev/full"];

/// Builds the ruleset for `request` and returns its file descriptor, which is
/// close-on-exec: the process that restricts itself with it does not pass it
/// on to the command it executes.
///
/// Fails with [`SandboxError::LandlockNotEnforced`] when the kernel would
/// enforce nothing at all (best effort otherwise, as before).
pub(super) fn build_ruleset(request: &HelperRequest) -> Result<OwnedFd, SandboxError> {
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(AccessFs::from_all(FS_ABI))?;
    if !request.network {
        // Defence in depth next to seccomp: no TCP bind/connect at all (ABI 4+).
        ruleset = ruleset.handle_access(AccessNet::from_all(ABI::V4))?;
    }
    let mut created = ruleset
        .create()?
        .add_rules(path_beneath_rules(["/"], AccessFs::from_read(FS_ABI)))?
        .add_rules(path_beneath_rules(
            WRITABLE_DEVICES,
            AccessFs::from_all(FS_ABI),
        ))?;
    for root in &request.writable_roots {
        let fd = PathFd::new(root)
            .map_err(|_| SandboxError::MissingWritableRoot { path: root.clone() })?;
        created = created.add_rule(PathBeneath::new(fd, AccessFs::from_all(FS_ABI)))?;
    }
    // No descriptor means the kernel supports none of the handled rights
    // (the crate's "not enforced" state): refuse rather than run unconfined.
    let fd: Option<OwnedFd> = created.into();
    let fd = fd.ok_or(SandboxError::LandlockNotEnforced)?;
    set_cloexec(&fd)?;
    Ok(fd)
}

/// The kernel already creates ruleset descriptors with `O_CLOEXEC`; this
/// makes it a guarantee rather than an assumption.
fn set_cloexec(fd: &OwnedFd) -> Result<(), SandboxError> {
    // SAFETY: F_GETFD/F_SETFD on a descriptor we own take and return plain integers.
    let rc = unsafe {
        let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFD);
        if flags < 0 {
            flags
        } else {
            libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, flags | libc::FD_CLOEXEC)
        }
    };
    if rc < 0 {
        return Err(SandboxError::Setup {
            step: "fcntl(landlock ruleset, FD_CLOEXEC)",
            path: None,
            source: std::io::Error::last_os_error(),
        });
    }
    Ok(())
}
