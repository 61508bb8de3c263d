//! Files in places others may write (`$CODEX_HOME`, a project, paths an
//! admin names): read only when they are regular files, never more than a
//! cap, never blocking on a FIFO or a device, and, where a link is not
//! expected, never through a symbolic link.
//!
//! The checks are made on the open descriptor (`fstat`), not on the path,
//! so a file swapped between a check and the open cannot slip through.

use std::ffi::CString;
use std::fs::File;
use std::io::{self, Read as _};
use std::os::fd::FromRawFd as _;
use std::os::unix::ffi::OsStrExt as _;
use std::path::Path;

/// Whether a symbolic link at the path itself is followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links {
    /// Follow it (a user's `config.toml` kept in a dotfiles repository).
    Follow,
    /// Refuse it (files this program writes, or reads back after writing).
    Refuse,
}

/// Reads the regular file at `path`, at most `limit` bytes. `Ok(None)`
/// when nothing is there.
///
/// # Errors
///
/// Not a regular file (a FIFO, a device, a directory, or a link under
/// [`Links::Refuse`]), larger than `limit`, or unreadable; each message
/// says which.
pub fn read_regular(path: &Path, limit: u64, links: Links) -> io::Result<Option<Vec<u8>>> {
    let mut file = match open(path, libc::O_RDONLY, 0, links) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err),
    };
    let metadata = file.metadata()?;
    if !metadata.file_type().is_file() {
        return Err(not_regular(&metadata.file_type()));
    }
    if metadata.len() > limit {
        return Err(too_large(limit));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    // The file may grow after the `fstat`: the cap holds anyway.
    (&mut file).take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(limit));
    }
    Ok(Some(bytes))
}

/// Opens (creating it 0600 when missing) the regular file at `path` to
/// append to it. A symbolic link, a FIFO or a device there is refused
/// rather than written through, and the open never blocks.
///
/// # Errors
///
/// As [`read_regular`], and whatever `open` reports.
pub fn open_append_private(path: &Path) -> io::Result<File> {
    let file = open(
        path,
        libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT,
        0o600,
        Links::Refuse,
    )?;
    let metadata = file.metadata()?;
    if !metadata.file_type().is_file() {
        return Err(not_regular(&metadata.file_type()));
    }
    Ok(file)
}

/// Opens `path` with `flags` plus `O_NONBLOCK | O_CLOEXEC | O_NOCTTY`
/// (and `O_NOFOLLOW` under [`Links::Refuse`]), then clears `O_NONBLOCK`
/// so reads and writes of a regular file behave as usual.
fn open(path: &Path, flags: libc::c_int, mode: libc::mode_t, links: Links) -> io::Result<File> {
    let c_path = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "the path holds a NUL byte"))?;
    let mut flags = flags | libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_NOCTTY;
    if links == Links::Refuse {
        flags |= libc::O_NOFOLLOW;
    }
    // SAFETY: `c_path` is a valid NUL-terminated string that outlives the
    // call; `open` has no other memory effects.
    let fd = unsafe { libc::open(c_path.as_ptr(), flags, libc::c_uint::from(mode)) };
    if fd < 0 {
        let err = io::Error::last_os_error();
        return Err(match err.raw_os_error() {
            Some(libc::ELOOP) if links == Links::Refuse => io::Error::new(
                io::ErrorKind::InvalidInput,
                "is a symbolic link, which is not followed here",
            ),
            // A FIFO without a reader, opened to write without blocking.
            Some(libc::ENXIO) => {
                io::Error::new(io::ErrorKind::InvalidInput, "is a FIFO, not a regular file")
            }
            _ => err,
        });
    }
    // SAFETY: `fd` was just returned by `open` and is owned by nobody else.
    let file = unsafe { File::from_raw_fd(fd) };
    // SAFETY: `fcntl` on a descriptor this function owns, with integer
    // arguments only.
    let current = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if current >= 0 {
        // SAFETY: as above.
        unsafe { libc::fcntl(fd, libc::F_SETFL, current & !libc::O_NONBLOCK) };
    }
    Ok(file)
}

fn not_regular(kind: &std::fs::FileType) -> io::Error {
    use std::os::unix::fs::FileTypeExt as _;
    let what = if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else if kind.is_dir() {
        "a directory"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    };
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("is {what}, not a regular file"),
    )
}

fn too_large(limit: u64) -> io::Error {
    let shown = if limit >= 1024 * 1024 {
        format!("{} MiB", limit / 1024 / 1024)
    } else {
        format!("{limit} bytes")
    };
    io::Error::new(
        io::ErrorKind::FileTooLarge,
        format!("is larger than the {shown} limit"),
    )
}

/// Where `bytes` stop being UTF-8, as a 1-based line and column (in
/// characters), or the text.
///
/// # Errors
///
/// The line and column of the first invalid byte, and that byte.
pub fn utf8(bytes: &[u8]) -> Result<&str, Utf8Error> {
    std::str::from_utf8(bytes).map_err(|err| {
        let valid = &bytes[..err.valid_up_to()];
        // The prefix is valid by construction.
        let before = std::str::from_utf8(valid).unwrap_or_default();
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Utf8Error {
            line,
            column: before[line_start..].chars().count() + 1,
            byte: bytes.get(err.valid_up_to()).copied().unwrap_or(0),
        }
    })
}

/// Where text stopped being UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid UTF-8 (byte 0x{byte:02x}) at line {line}, column {column}")]
pub struct Utf8Error {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// The first byte that is not UTF-8.
    pub byte: u8,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_within_the_cap_are_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("f");
        std::fs::write(&file, "hello").expect("write");
        assert_eq!(
            read_regular(&file, 5, Links::Refuse).expect("read"),
            Some(b"hello".to_vec())
        );
        let err = read_regular(&file, 4, Links::Follow).expect_err("too large");
        assert!(
            err.to_string().contains("larger than the 4 bytes limit"),
            "{err}"
        );
        assert_eq!(
            read_regular(&dir.path().join("none"), 5, Links::Follow).expect("absent"),
            None
        );
        // A FIFO is refused at once rather than waited on.
        let fifo = dir.path().join("fifo");
        let c = CString::new(fifo.as_os_str().as_bytes()).expect("c path");
        // SAFETY: a valid path string.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let err = read_regular(&fifo, 5, Links::Follow).expect_err("a fifo");
        assert!(err.to_string().contains("is a FIFO"), "{err}");
        let err = open_append_private(&fifo).expect_err("a fifo");
        assert!(err.to_string().contains("is a FIFO"), "{err}");
        // A link is followed only when asked.
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&file, &link).expect("symlink");
        assert!(read_regular(&link, 5, Links::Follow).is_ok());
        let err = read_regular(&link, 5, Links::Refuse).expect_err("a link");
        assert!(err.to_string().contains("symbolic link"), "{err}");
        let err = open_append_private(&link).expect_err("a link");
        assert!(err.to_string().contains("symbolic link"), "{err}");
    }

    #[test]
    fn appended_files_are_created_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("audit.jsonl");
        drop(open_append_private(&path).expect("create"));
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn utf8_errors_are_located() {
        assert_eq!(utf8(b"ok").expect("text"), "ok");
        let err = utf8(b"a = 1\nb = \"\xc3\xa9\xff\"").expect_err("invalid");
        assert_eq!((err.line, err.column, err.byte), (2, 7, 0xff));
    }
}
