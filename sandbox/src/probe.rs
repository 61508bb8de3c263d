//! [`probe`]: which isolation mechanisms this kernel offers, as a [`Support`] report.

use std::fmt;
use std::fs;
use std::sync::OnceLock;

use crate::SandboxError;
use crate::policy::{SandboxMode, SandboxPolicy};

/// One kernel mechanism the sandbox relies on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    /// Landlock filesystem rules.
    Landlock,
    /// seccomp-bpf filters.
    Seccomp,
    /// A private mount namespace (directly as root, or inside a user namespace).
    MountNamespace,
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mechanism::Landlock => "Landlock (Linux 5.13+ with the landlock LSM enabled)",
            Mechanism::Seccomp => "seccomp-bpf (CONFIG_SECCOMP_FILTER)",
            Mechanism::MountNamespace => {
                "a mount namespace (root, or unprivileged user namespaces enabled)"
            }
        })
    }
}

/// What the running kernel supports, found by [`probe`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Support {
    /// The Landlock ABI version, or `None` when Landlock is unavailable.
    pub landlock_abi: Option<u32>,
    /// Whether seccomp filters with `SECCOMP_RET_ERRNO` can be installed.
    pub seccomp_filter: bool,
    /// Whether a private mount namespace can be made: the effective uid is 0
    /// or unprivileged user namespaces are enabled.
    pub mount_namespace: bool,
}

impl Support {
    /// Checks that every mechanism `policy` needs is present.
    ///
    /// `needs_mounts` says whether there are read-only subpaths to protect
    /// (`.git` and friends), which need a mount namespace.
    pub fn check(&self, policy: &SandboxPolicy, needs_mounts: bool) -> Result<(), SandboxError> {
        let missing = |mechanism| {
            Err(SandboxError::Unsupported {
                mode: policy.mode,
                mechanism,
            })
        };
        match policy.mode {
            SandboxMode::DangerFullAccess => return Ok(()),
            SandboxMode::ReadOnly | SandboxMode::WorkspaceWrite => {}
        }
        if self.landlock_abi.is_none() {
            return missing(Mechanism::Landlock);
        }
        if !policy.has_network_access() && !self.seccomp_filter {
            return missing(Mechanism::Seccomp);
        }
        if needs_mounts && !self.mount_namespace {
            return missing(Mechanism::MountNamespace);
        }
        Ok(())
    }
}

/// Probes the kernel once per process; later calls return the cached report.
pub fn probe() -> Support {
    static SUPPORT: OnceLock<Support> = OnceLock::new();
    *SUPPORT.get_or_init(|| Support {
        landlock_abi: landlock_abi(),
        seccomp_filter: seccomp_filter_available(),
        mount_namespace: mount_namespace_available(),
    })
}

fn landlock_abi() -> Option<u32> {
    const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1;
    // SAFETY: with a null attribute pointer, size 0 and the VERSION flag the
    // syscall only returns the ABI version (or an error); it reads no memory.
    let abi = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    u32::try_from(abi).ok().filter(|&v| v > 0)
}

fn seccomp_filter_available() -> bool {
    const SECCOMP_GET_ACTION_AVAIL: libc::c_uint = 2;
    let action: u32 = libc::SECCOMP_RET_ERRNO;
    // SAFETY: SECCOMP_GET_ACTION_AVAIL reads one u32 through the pointer,
    // which points at a live local for the duration of the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_GET_ACTION_AVAIL,
            0u32,
            &action as *const u32,
        )
    };
    rc == 0
}

fn mount_namespace_available() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    if euid == 0 {
        return true;
    }
    let max = fs::read_to_string("/proc/sys/user/max_user_namespaces")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(0);
    let apparmor_restricted =
        fs::read_to_string("/proc/sys/kernel/apparmor_restrict_unprivileged_userns")
            .is_ok_and(|s| s.trim() == "1");
    max > 0 && !apparmor_restricted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_refuses_missing_mechanisms() {
        let none = Support {
            landlock_abi: None,
            seccomp_filter: false,
            mount_namespace: false,
        };
        let workspace = SandboxPolicy::new(SandboxMode::WorkspaceWrite);
        let err = none.check(&workspace, false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "sandbox mode `workspace-write` needs Landlock (Linux 5.13+ with the landlock LSM enabled), which this system does not provide: refusing to run"
        );
        let no_seccomp = Support {
            landlock_abi: Some(7),
            ..none
        };
        assert!(matches!(
            no_seccomp.check(&workspace, false),
            Err(SandboxError::Unsupported {
                mechanism: Mechanism::Seccomp,
                ..
            })
        ));
        let mut networked = workspace.clone();
        networked.network_access = true;
        assert!(no_seccomp.check(&networked, false).is_ok());
        assert!(matches!(
            no_seccomp.check(&networked, true),
            Err(SandboxError::Unsupported {
                mechanism: Mechanism::MountNamespace,
                ..
            })
        ));
        let full = SandboxPolicy::new(SandboxMode::DangerFullAccess);
        assert!(none.check(&full, true).is_ok());
    }

    #[test]
    fn this_machine_has_everything() {
        // Our dev machines and CI (see the crate docs) have all three; a
        // failure here means the tests below would not prove enforcement.
        let support = probe();
        assert!(support.landlock_abi.is_some(), "{support:?}");
        assert!(support.seccomp_filter, "{support:?}");
        assert!(support.mount_namespace, "{support:?}");
    }
}
