//! This file holds every filesystem operation of `apply_patch`. Each one is done
//! relative to a directory descriptor of a writable root, so that no path, and no
//! symbolic link met while resolving one, can lead a write outside that root.
//!
//! Paths are resolved with `openat2` and `RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS`
//! when the root is confined; the kernel then fails with `EXDEV` any resolution that
//! would leave the root. Creating, renaming and removing are done with the `*at`
//! calls relative to a parent directory opened that way, and never follow a
//! symbolic link in the last component. Files are opened with `O_NONBLOCK`, so that
//! a FIFO never blocks, and checked with `fstat` to be regular files.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

/// The largest file, in bytes, that `apply_patch` reads.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// How often a call that failed with `EAGAIN`, `EINTR` or `EEXIST` is retried.
const ATTEMPTS: usize = 16;

/// The permissions of a newly created file, before the umask.
const NEW_FILE_MODE: u32 = 0o644;

/// The permissions of a newly created directory, before the umask.
const NEW_DIR_MODE: u32 = 0o755;

/// A counter that makes the names of temporary files unique within the process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// The kind of a filesystem object that is not a regular file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A directory.
    Directory,
    /// A symbolic link.
    Symlink,
    /// A named pipe.
    Fifo,
    /// A Unix domain socket.
    Socket,
    /// A character device.
    CharacterDevice,
    /// A block device.
    BlockDevice,
    /// A regular file; it only appears where a file of another kind was expected.
    RegularFile,
    /// Something the kernel reports with an unknown type.
    Unknown,
}

impl FileKind {
    /// Returns the kind of a `FileType`.
    pub(super) fn of(file_type: FileType) -> FileKind {
        match file_type {
            FileType::Directory => FileKind::Directory,
            FileType::Symlink => FileKind::Symlink,
            FileType::Fifo => FileKind::Fifo,
            FileType::Socket => FileKind::Socket,
            FileType::CharacterDevice => FileKind::CharacterDevice,
            FileType::BlockDevice => FileKind::BlockDevice,
            FileType::RegularFile => FileKind::RegularFile,
            FileType::Unknown => FileKind::Unknown,
        }
    }
}

impl fmt::Display for FileKind {
    /// Writes the kind as a noun phrase, such as "directory" or "named pipe (FIFO)".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileKind::Directory => "directory",
            FileKind::Symlink => "symbolic link",
            FileKind::Fifo => "named pipe (FIFO)",
            FileKind::Socket => "socket",
            FileKind::CharacterDevice => "character device",
            FileKind::BlockDevice => "block device",
            FileKind::RegularFile => "regular file",
            FileKind::Unknown => "file of unknown type",
        })
    }
}

/// Why a filesystem operation failed, before the caller names the path and action.
#[derive(Debug)]
pub(super) enum FsError {
    /// Resolving the path left the root (`EXDEV` from `openat2`).
    Escapes,
    /// The kernel has no `openat2`, so a confined operation was refused.
    Openat2Missing,
    /// The object is not a regular file.
    NotRegular(FileKind),
    /// The file is larger than [`MAX_FILE_BYTES`].
    TooLarge,
    /// Any other failure of a system call.
    Io(io::Error),
}

impl FsError {
    /// Whether the failure is a missing file or directory.
    pub(super) fn is_not_found(&self) -> bool {
        matches!(self, FsError::Io(error) if error.kind() == io::ErrorKind::NotFound)
    }
}

impl From<Errno> for FsError {
    /// Maps `EXDEV` and `ENOSYS`, which only the confined `openat2` reports here, to
    /// their meaning, and every other error number to an I/O error.
    fn from(errno: Errno) -> FsError {
        match errno {
            Errno::XDEV => FsError::Escapes,
            Errno::NOSYS => FsError::Openat2Missing,
            other => FsError::Io(other.into()),
        }
    }
}

impl From<io::Error> for FsError {
    /// Wraps an error of a read or write on an open file.
    fn from(error: io::Error) -> FsError {
        FsError::Io(error)
    }
}

/// The permissions and owner of a file, kept when the file is replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FileMeta {
    /// The permission bits, set-id and sticky bits included.
    mode: Mode,
    /// The owning user.
    uid: u32,
    /// The owning group.
    gid: u32,
}

/// An open writable root, against which every path is resolved.
#[derive(Debug)]
pub(super) struct Root {
    /// The absolute, lexically normalised path of the root.
    pub(super) path: PathBuf,
    /// A path-only descriptor of the root directory.
    fd: OwnedFd,
    /// Whether resolution must stay beneath the root.
    confined: bool,
}

impl Root {
    /// Opens the directory at `path` as a root; `confined` keeps resolution beneath it.
    pub(super) fn open(path: &Path, confined: bool) -> io::Result<Root> {
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let fd = rustix::fs::open(path, flags, Mode::empty())?;
        Ok(Root {
            path: path.to_owned(),
            fd,
            confined,
        })
    }

    /// Opens `path` relative to `dir` with `openat2`, confined when the root is.
    ///
    /// An empty path means `dir` itself. A kernel without `openat2` is refused when
    /// the root is confined; an unconfined root then falls back to `openat`.
    fn open_at(
        &self,
        dir: BorrowedFd<'_>,
        path: &Path,
        flags: OFlags,
        mode: Mode,
    ) -> Result<OwnedFd, FsError> {
        let path = if path.as_os_str().is_empty() {
            Path::new(".")
        } else {
            path
        };
        let flags = flags | OFlags::CLOEXEC;
        let resolve = if self.confined {
            ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS
        } else {
            ResolveFlags::empty()
        };
        for _ in 0..ATTEMPTS {
            match rustix::fs::openat2(dir, path, flags, mode, resolve) {
                Err(Errno::AGAIN | Errno::INTR) => {}
                Err(Errno::NOSYS) if !self.confined => {
                    return rustix::fs::openat(dir, path, flags, mode).map_err(FsError::from);
                }
                other => return other.map_err(FsError::from),
            }
        }
        Err(FsError::Io(Errno::AGAIN.into()))
    }

    /// Opens the directory at `rel` (relative to the root) as a path-only descriptor.
    pub(super) fn open_dir(&self, rel: &Path) -> Result<OwnedFd, FsError> {
        let flags = OFlags::PATH | OFlags::DIRECTORY;
        self.open_at(self.fd.as_fd(), rel, flags, Mode::empty())
    }

    /// Opens the directory at `rel`, or returns `None` when it does not exist.
    pub(super) fn probe_dir(&self, rel: &Path) -> Result<Option<OwnedFd>, FsError> {
        match self.open_dir(rel) {
            Ok(dir) => Ok(Some(dir)),
            Err(error) if error.is_not_found() => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Opens the directory at `rel`, creating missing directories one by one and
    /// recording each one created (relative to the root) in `created`.
    pub(super) fn ensure_dir(
        &self,
        rel: &Path,
        created: &mut Vec<PathBuf>,
    ) -> Result<OwnedFd, FsError> {
        if let Some(dir) = self.probe_dir(rel)? {
            return Ok(dir);
        }
        let mut prefix = PathBuf::new();
        let mut dir = self.open_dir(&prefix)?;
        for component in rel.components() {
            prefix.push(component);
            dir = match self.probe_dir(&prefix)? {
                Some(next) => next,
                None => {
                    let name = component.as_os_str();
                    match rustix::fs::mkdirat(&dir, name, Mode::from_raw_mode(NEW_DIR_MODE)) {
                        Ok(()) => created.push(prefix.clone()),
                        Err(Errno::EXIST) => {}
                        Err(errno) => return Err(errno.into()),
                    }
                    self.open_dir(&prefix)?
                }
            };
        }
        Ok(dir)
    }

    /// Reads the regular file at `rel`, following symbolic links within the root,
    /// and returns its bytes, permissions and owner.
    pub(super) fn read_file(&self, rel: &Path) -> Result<(Vec<u8>, FileMeta), FsError> {
        let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY;
        let fd = self.open_at(self.fd.as_fd(), rel, flags, Mode::empty())?;
        let stat = rustix::fs::fstat(&fd)?;
        check_regular(stat.st_mode)?;
        if u64::try_from(stat.st_size).unwrap_or(0) > MAX_FILE_BYTES {
            return Err(FsError::TooLarge);
        }
        let mut bytes = Vec::new();
        File::from(fd)
            .take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)?;
        if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > MAX_FILE_BYTES {
            return Err(FsError::TooLarge);
        }
        let meta = FileMeta {
            mode: Mode::from_raw_mode(stat.st_mode),
            uid: stat.st_uid,
            gid: stat.st_gid,
        };
        Ok((bytes, meta))
    }

    /// Overwrites the regular file at `rel` in place, following symbolic links within
    /// the root; used when the last component is a link, to keep the link.
    pub(super) fn write_through(&self, rel: &Path, bytes: &[u8]) -> Result<(), FsError> {
        let flags = OFlags::WRONLY | OFlags::NONBLOCK | OFlags::NOCTTY;
        let fd = self.open_at(self.fd.as_fd(), rel, flags, Mode::empty())?;
        check_regular(rustix::fs::fstat(&fd)?.st_mode)?;
        let mut file = File::from(fd);
        file.set_len(0)?;
        file.write_all(bytes)?;
        Ok(())
    }

    /// Replaces `name` in `dir` with a new file holding `bytes`: writes a fresh
    /// temporary file in `dir`, gives it the permissions and (where the process may)
    /// the owner in `meta`, if any, and renames it over `name`.
    pub(super) fn replace_file(
        &self,
        dir: &OwnedFd,
        name: &OsStr,
        bytes: &[u8],
        meta: Option<FileMeta>,
    ) -> Result<(), FsError> {
        let (temp_name, fd) = self.create_temp(dir)?;
        let result = fill_and_rename(fd, dir, &temp_name, name, bytes, meta);
        if result.is_err() {
            // Cleaning up is best effort: the error that matters is the one above.
            let _ = rustix::fs::unlinkat(dir, temp_name.as_os_str(), AtFlags::empty());
        }
        result
    }

    /// Creates a new, empty temporary file in `dir` with a name no file has.
    fn create_temp(&self, dir: &OwnedFd) -> Result<(OsString, OwnedFd), FsError> {
        let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW;
        for _ in 0..ATTEMPTS {
            let count = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
            let name = format!(".apply_patch.{}.{count}.tmp", std::process::id());
            let mode = Mode::from_raw_mode(NEW_FILE_MODE);
            match self.open_at(dir.as_fd(), Path::new(&name), flags, mode) {
                Ok(fd) => return Ok((OsString::from(name), fd)),
                Err(FsError::Io(error)) if error.kind() == io::ErrorKind::AlreadyExists => {}
                Err(error) => return Err(error),
            }
        }
        Err(FsError::Io(Errno::EXIST.into()))
    }
}

/// Writes `bytes` into the temporary file `fd`, applies `meta`, and renames the
/// file from `temp_name` to `name` within `dir`.
fn fill_and_rename(
    fd: OwnedFd,
    dir: &OwnedFd,
    temp_name: &OsStr,
    name: &OsStr,
    bytes: &[u8],
    meta: Option<FileMeta>,
) -> Result<(), FsError> {
    let mut file = File::from(fd);
    file.write_all(bytes)?;
    if let Some(meta) = meta {
        let stat = rustix::fs::fstat(&file)?;
        if (stat.st_uid, stat.st_gid) != (meta.uid, meta.gid) {
            // Only a privileged process may give a file away; otherwise the file
            // keeps the process's owner, as any newly written file would.
            let uid = rustix::fs::Uid::from_raw_unchecked(meta.uid);
            let gid = rustix::fs::Gid::from_raw_unchecked(meta.gid);
            let _ = rustix::fs::fchown(&file, Some(uid), Some(gid));
        }
        rustix::fs::fchmod(&file, meta.mode)?;
    }
    drop(file);
    rustix::fs::renameat(dir, temp_name, dir, name)?;
    Ok(())
}

/// Fails unless `st_mode` describes a regular file.
fn check_regular(st_mode: rustix::fs::RawMode) -> Result<(), FsError> {
    match FileType::from_raw_mode(st_mode) {
        FileType::RegularFile => Ok(()),
        other => Err(FsError::NotRegular(FileKind::of(other))),
    }
}

/// Returns the type of `name` in `dir` without following a symbolic link, or `None`
/// when there is nothing of that name.
pub(super) fn kind_at(dir: &OwnedFd, name: &OsStr) -> Result<Option<FileType>, FsError> {
    match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(stat) => Ok(Some(FileType::from_raw_mode(stat.st_mode))),
        Err(Errno::NOENT) => Ok(None),
        Err(errno) => Err(errno.into()),
    }
}

/// Removes the file or symbolic link `name` from `dir`.
pub(super) fn remove_file(dir: &OwnedFd, name: &OsStr) -> Result<(), FsError> {
    Ok(rustix::fs::unlinkat(dir, name, AtFlags::empty())?)
}

/// Removes the empty directory `name` from `dir`.
pub(super) fn remove_dir(dir: &OwnedFd, name: &OsStr) -> Result<(), FsError> {
    Ok(rustix::fs::unlinkat(dir, name, AtFlags::REMOVEDIR)?)
}

/// Returns the target of the symbolic link `name` in `dir`.
pub(super) fn read_link(dir: &OwnedFd, name: &OsStr) -> Result<OsString, FsError> {
    let target = rustix::fs::readlinkat(dir, name, Vec::new())?;
    Ok(OsString::from_vec(target.into_bytes()))
}

/// Creates the symbolic link `name` in `dir`, pointing to `target`.
pub(super) fn make_link(dir: &OwnedFd, name: &OsStr, target: &OsStr) -> Result<(), FsError> {
    Ok(rustix::fs::symlinkat(target, dir, name)?)
}
