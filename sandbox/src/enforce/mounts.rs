//! Read-only bind mounts of protected paths in a private mount namespace.
//!
//! Landlock can only grant access, never take it back below a granted
//! directory, so `.git` inside a writable root is protected by binding it
//! onto itself and remounting that bind read-only, in a mount namespace that
//! only the sandboxed process (and so the command) sees. As root this is a
//! plain `unshare(CLONE_NEWNS)`; otherwise a user namespace that maps the
//! caller's own uid and gid is created first.
//!
//! The command cannot undo the binds: Landlock, applied next, denies
//! `mount`, `umount` and `pivot_root` to a sandboxed process, and a mount
//! point cannot be renamed or removed while it is mounted.
//!
//! Everything that needs memory (C strings, the uid/gid map lines, the flags
//! each remount must keep) is computed by [`MountPlan::new`] beforehand;
//! [`MountPlan::apply`] only makes system calls, so it may run between
//! `fork` and `exec`.

use std::ffi::{CStr, CString};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::ptr;

use super::StepFailure;
use crate::SandboxError;

/// One protected path: the C string to bind and the flags of its read-only remount.
#[derive(Debug)]
struct Bind {
    path: CString,
    remount_flags: libc::c_ulong,
}

/// The prepared mount steps.
#[derive(Debug)]
pub(super) struct MountPlan {
    binds: Vec<Bind>,
    /// `"<uid> <uid> 1"`, written to `/proc/self/uid_map` when a user namespace is needed.
    uid_map: Vec<u8>,
    /// `"<gid> <gid> 1"`, likewise for `/proc/self/gid_map`.
    gid_map: Vec<u8>,
}

impl MountPlan {
    /// Prepares binding `paths` read-only. Runs in the parent: `statfs` reads
    /// the mount flags that the remount must keep, which are those of the
    /// mount each path lives on (a bind copies them).
    pub(super) fn new(paths: &[PathBuf]) -> Result<Self, SandboxError> {
        let binds = paths
            .iter()
            .map(|path| {
                let c_path = c_path(path)?;
                let remount_flags = libc::MS_BIND
                    | libc::MS_REMOUNT
                    | libc::MS_RDONLY
                    | locked_flags(&c_path, path)?;
                Ok(Bind {
                    path: c_path,
                    remount_flags,
                })
            })
            .collect::<Result<Vec<_>, SandboxError>>()?;
        // SAFETY: getuid/getgid have no preconditions and cannot fail.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        Ok(MountPlan {
            binds,
            uid_map: format!("{uid} {uid} 1").into_bytes(),
            gid_map: format!("{gid} {gid} 1").into_bytes(),
        })
    }

    /// Enters a private mount namespace and makes the binds.
    ///
    /// Async-signal-safe: only `unshare`, `open`, `write`, `close` and
    /// `mount` on memory prepared by [`MountPlan::new`]; no allocation, no
    /// locks. The caller must be single-threaded (a freshly forked child or
    /// the helper), which `unshare(CLONE_NEWUSER)` requires anyway.
    pub(super) fn apply(&self) -> Result<(), StepFailure<'_>> {
        self.enter_private_mount_namespace()?;
        for bind in &self.binds {
            mount(
                Some(&bind.path),
                &bind.path,
                libc::MS_BIND | libc::MS_REC,
                "mount(MS_BIND)",
            )?;
            mount(
                None,
                &bind.path,
                bind.remount_flags,
                "mount(MS_REMOUNT|MS_RDONLY)",
            )?;
        }
        Ok(())
    }

    fn enter_private_mount_namespace(&self) -> Result<(), StepFailure<'_>> {
        // SAFETY: unshare is a plain system call; it only changes the
        // namespaces of the calling (single-threaded) process.
        if unsafe { libc::unshare(libc::CLONE_NEWNS) } != 0 {
            let errno = super::errno();
            if errno != libc::EPERM {
                return Err(StepFailure::new("unshare(CLONE_NEWNS)", None, errno));
            }
            // Not privileged: a user namespace gives us CAP_SYS_ADMIN over a
            // new mount namespace. Map our own ids so the command sees no change.
            // SAFETY: as above.
            if unsafe { libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNS) } != 0 {
                return Err(StepFailure::new(
                    "unshare(CLONE_NEWUSER|CLONE_NEWNS)",
                    None,
                    super::errno(),
                ));
            }
            write_proc(c"/proc/self/setgroups", b"deny")?;
            write_proc(c"/proc/self/uid_map", &self.uid_map)?;
            write_proc(c"/proc/self/gid_map", &self.gid_map)?;
        }
        // Keep our mounts from propagating back to the parent namespace.
        mount(
            None,
            c"/",
            libc::MS_REC | libc::MS_PRIVATE,
            "mount(MS_REC|MS_PRIVATE)",
        )
    }
}

/// The kernel's `ST_RELATIME` (`linux/statfs.h`). The `libc` crate defines
/// it for glibc only, but musl's `statvfs` hands the kernel's flags through
/// as they are, so the shipped (musl) binary reads the same bit.
const ST_RELATIME: libc::c_ulong = 0x1000;

/// The flags of the mount under `path` that a remount must keep: inside a
/// user namespace the kernel refuses to clear them (they are "locked").
fn locked_flags(c_path: &CStr, path: &Path) -> Result<libc::c_ulong, SandboxError> {
    // SAFETY: statvfs is plain old data; all-zero is a valid value.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: c_path is a valid NUL-terminated string and `st` a live, writable struct.
    let rc = unsafe { libc::statvfs(c_path.as_ptr(), &mut st) };
    if rc != 0 {
        return Err(setup("statvfs", Some(path), io::Error::last_os_error()));
    }
    let pairs = [
        (libc::ST_NOSUID, libc::MS_NOSUID),
        (libc::ST_NODEV, libc::MS_NODEV),
        (libc::ST_NOEXEC, libc::MS_NOEXEC),
        (libc::ST_NOATIME, libc::MS_NOATIME),
        (libc::ST_NODIRATIME, libc::MS_NODIRATIME),
        (ST_RELATIME, libc::MS_RELATIME),
    ];
    Ok(pairs
        .into_iter()
        .filter(|(st_flag, _)| st.f_flag & st_flag != 0)
        .fold(0, |acc, (_, ms_flag)| acc | ms_flag))
}

/// `mount(2)` without a filesystem type or data. Async-signal-safe.
fn mount<'a>(
    source: Option<&CStr>,
    target: &'a CStr,
    flags: libc::c_ulong,
    step: &'static str,
) -> Result<(), StepFailure<'a>> {
    let source = source.map_or(ptr::null(), CStr::as_ptr);
    // SAFETY: source is null or a valid C string, target is a valid C string,
    // fstype and data are null, which MS_BIND/MS_REMOUNT/propagation changes
    // accept. mount is a plain system call (no allocation, no locks), so it is
    // safe between fork and exec.
    let rc = unsafe { libc::mount(source, target.as_ptr(), ptr::null(), flags, ptr::null()) };
    if rc != 0 {
        return Err(StepFailure::new(step, Some(target), super::errno()));
    }
    Ok(())
}

/// Writes `contents` to a `/proc/self` file in one `write(2)`. Async-signal-safe.
fn write_proc(file: &'static CStr, contents: &[u8]) -> Result<(), StepFailure<'static>> {
    // SAFETY: `file` is a valid C string; open, write and close are
    // async-signal-safe system calls, `contents` is live for the call, and
    // the descriptor is ours alone and closed before returning.
    unsafe {
        let fd = libc::open(file.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return Err(StepFailure::new("open", Some(file), super::errno()));
        }
        let written = libc::write(fd, contents.as_ptr().cast(), contents.len());
        let errno = super::errno();
        libc::close(fd);
        if usize::try_from(written).ok() != Some(contents.len()) {
            let errno = if written < 0 { errno } else { libc::EIO };
            return Err(StepFailure::new("write", Some(file), errno));
        }
    }
    Ok(())
}

fn c_path(path: &Path) -> Result<CString, SandboxError> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| {
        setup(
            "path contains a NUL byte",
            Some(path),
            io::Error::from(io::ErrorKind::InvalidInput),
        )
    })
}

fn setup(step: &'static str, path: Option<&Path>, source: io::Error) -> SandboxError {
    SandboxError::Setup {
        step,
        path: path.map(Path::to_path_buf),
        source,
    }
}

#[cfg(test)]
mod tests {
    /// Our constant is the kernel's, which `libc` names on glibc.
    #[cfg(target_env = "gnu")]
    #[test]
    fn st_relatime_is_the_kernels() {
        assert_eq!(super::ST_RELATIME, libc::ST_RELATIME);
    }
}
