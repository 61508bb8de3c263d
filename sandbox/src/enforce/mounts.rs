//! Read-only bind mounts of protected paths in a private mount namespace.
//!
//! Landlock can only grant access, never take it back below a granted
//! directory, so `.git` inside a writable root is protected by binding it
//! onto itself and remounting that bind read-only, in a mount namespace that
//! only the helper (and so the command) sees. As root this is a plain
//! `unshare(CLONE_NEWNS)`; otherwise a user namespace that maps the caller's
//! own uid and gid is created first.
//!
//! The command cannot undo the binds: Landlock, applied next, denies
//! `mount`, `umount` and `pivot_root` to a sandboxed process, and a mount
//! point cannot be renamed or removed while it is mounted.

use std::ffi::CString;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr;

use crate::SandboxError;

pub(super) fn bind_read_only(paths: &[impl AsRef<Path>]) -> Result<(), SandboxError> {
    enter_private_mount_namespace()?;
    for path in paths {
        let path = path.as_ref();
        let c_path = c_path(path)?;
        mount(
            Some(&c_path),
            &c_path,
            libc::MS_BIND | libc::MS_REC,
            "mount(MS_BIND)",
            path,
        )?;
        let flags =
            libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY | locked_flags(&c_path, path)?;
        mount(None, &c_path, flags, "mount(MS_REMOUNT|MS_RDONLY)", path)?;
    }
    Ok(())
}

fn enter_private_mount_namespace() -> Result<(), SandboxError> {
    // SAFETY: getuid/getgid have no preconditions and cannot fail.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    // SAFETY: unshare only changes this (single-threaded) process's namespaces.
    let rc = unsafe { libc::unshare(libc::CLONE_NEWNS) };
    if rc != 0 {
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EPERM) {
            return Err(setup("unshare(CLONE_NEWNS)", None, err));
        }
        // Not privileged: a user namespace gives us CAP_SYS_ADMIN over a new
        // mount namespace. Map our own ids so the command sees no change.
        // SAFETY: as above; the helper has not started any thread.
        let rc = unsafe { libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNS) };
        if rc != 0 {
            let err = io::Error::last_os_error();
            return Err(setup("unshare(CLONE_NEWUSER|CLONE_NEWNS)", None, err));
        }
        write_proc("/proc/self/setgroups", "deny")?;
        write_proc("/proc/self/uid_map", &format!("{uid} {uid} 1"))?;
        write_proc("/proc/self/gid_map", &format!("{gid} {gid} 1"))?;
    }
    // Keep our mounts from propagating back to the parent namespace.
    let root = c_path(Path::new("/"))?;
    mount(
        None,
        &root,
        libc::MS_REC | libc::MS_PRIVATE,
        "mount(MS_REC|MS_PRIVATE)",
        Path::new("/"),
    )
}

/// The flags of the mount under `path` that a remount must keep: inside a
/// user namespace the kernel refuses to clear them (they are "locked").
fn locked_flags(c_path: &CString, path: &Path) -> Result<libc::c_ulong, SandboxError> {
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
        (libc::ST_RELATIME, libc::MS_RELATIME),
    ];
    Ok(pairs
        .into_iter()
        .filter(|(st_flag, _)| st.f_flag & st_flag != 0)
        .fold(0, |acc, (_, ms_flag)| acc | ms_flag))
}

fn mount(
    source: Option<&CString>,
    target: &CString,
    flags: libc::c_ulong,
    step: &'static str,
    path: &Path,
) -> Result<(), SandboxError> {
    let source = source.map_or(ptr::null(), |s| s.as_ptr());
    // SAFETY: source is null or a valid C string, target is a valid C string,
    // fstype and data are null, which MS_BIND/MS_REMOUNT/propagation changes accept.
    let rc = unsafe { libc::mount(source, target.as_ptr(), ptr::null(), flags, ptr::null()) };
    if rc != 0 {
        return Err(setup(step, Some(path), io::Error::last_os_error()));
    }
    Ok(())
}

fn write_proc(file: &'static str, contents: &str) -> Result<(), SandboxError> {
    fs::write(file, contents).map_err(|err| setup("write", Some(Path::new(file)), err))
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
