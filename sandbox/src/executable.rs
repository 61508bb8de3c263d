//! [`Executable`]: the exact file a command runs, found before the spawn.
//!
//! An executable is an absolute path with every symlink resolved (what the
//! kernel will load), plus the name the program sees as `argv[0]`.
//! [`Executable::open_pinned`] also opens the file and hashes it
//! (SHA-256); the process is then started from that same open file
//! (`/proc/self/fd/N`, which is `fexecve`), so the file cannot be swapped
//! between the hash check and the exec.
//!
//! A script (`#!`) is hashed as itself; its interpreter is started by the
//! kernel with `/proc/self/fd/N` as the script's path, so that descriptor
//! must survive the exec: for scripts it is not close-on-exec in the child
//! (the parent's copy stays close-on-exec, so no other child inherits it).

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

/// The program of a command, resolved.
#[derive(Debug, Clone)]
pub struct Executable {
    path: PathBuf,
    pinned: Option<Pinned>,
}

#[derive(Debug, Clone)]
struct Pinned {
    fd: Arc<OwnedFd>,
    digest: String,
    script: bool,
}

impl PartialEq for Executable {
    fn eq(&self, other: &Self) -> bool {
        self.path == other.path && self.digest() == other.digest()
    }
}

impl Eq for Executable {}

impl Executable {
    /// The program at `path`, run by path. `path` should be absolute and
    /// resolved.
    pub fn at(path: impl Into<PathBuf>) -> Self {
        Executable {
            path: path.into(),
            pinned: None,
        }
    }

    /// Opens `path` (absolute, resolved), checks it is a regular file, and
    /// hashes it. The returned executable runs from the open file.
    ///
    /// # Errors
    ///
    /// Any I/O error opening or reading the file, or `InvalidInput` when it
    /// is not a regular file.
    pub fn open_pinned(path: &Path) -> io::Result<Self> {
        let mut file = File::open(path)?;
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not a regular file", path.display()),
            ));
        }
        let mut hasher = Sha256::new();
        let mut first = [0u8; 2];
        let mut head = 0;
        let mut buffer = vec![0u8; 256 * 1024];
        loop {
            let n = file.read(&mut buffer)?;
            if n == 0 {
                break;
            }
            while head < 2 && head < n {
                first[head] = buffer[head];
                head += 1;
            }
            hasher.update(&buffer[..n]);
        }
        let digest = hex(&hasher.finalize());
        Ok(Executable {
            path: path.to_owned(),
            pinned: Some(Pinned {
                fd: Arc::new(OwnedFd::from(file)),
                digest,
                script: head == 2 && first == *b"#!",
            }),
        })
    }

    /// The resolved path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The SHA-256 (lower-case hex) of the file, when pinned.
    pub fn digest(&self) -> Option<&str> {
        self.pinned.as_ref().map(|p| p.digest.as_str())
    }

    /// What `exec` is given: the path, or `/proc/self/fd/N` of the open
    /// file when pinned.
    pub(crate) fn exec_path(&self) -> PathBuf {
        match &self.pinned {
            Some(pinned) => PathBuf::from(format!("/proc/self/fd/{}", pinned.fd.as_raw_fd())),
            None => self.path.clone(),
        }
    }

    /// The descriptor the child must keep open across its exec (a pinned
    /// script's, for its interpreter to read).
    pub(crate) fn inherited_fd(&self) -> Option<i32> {
        self.pinned
            .as_ref()
            .filter(|pinned| pinned.script)
            .map(|pinned| pinned.fd.as_raw_fd())
    }

    /// Whether the program runs from an open file.
    pub fn is_pinned(&self) -> bool {
        self.pinned.is_some()
    }
}

/// The SHA-256 of the file at `path`, lower-case hex.
///
/// # Errors
///
/// As [`Executable::open_pinned`].
pub fn sha256_file(path: &Path) -> io::Result<String> {
    Executable::open_pinned(path).map(|exe| exe.digest().unwrap_or_default().to_owned())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_files_carry_their_digest_and_kind() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("s");
        std::fs::write(&script, "#!/bin/sh\necho hi\n").unwrap();
        let exe = Executable::open_pinned(&script).unwrap();
        assert_eq!(exe.digest().map(str::len), Some(64));
        assert_eq!(exe, Executable::open_pinned(&script).unwrap());
        assert_ne!(exe, Executable::at(&script), "pinned and unpinned differ");
        assert!(
            exe.inherited_fd().is_some(),
            "a script keeps its fd across exec"
        );
        assert!(exe.exec_path().starts_with("/proc/self/fd/"));
        let binary = dir.path().join("b");
        std::fs::write(&binary, b"\x7fELF....").unwrap();
        let exe = Executable::open_pinned(&binary).unwrap();
        assert!(exe.inherited_fd().is_none());
        assert!(Executable::open_pinned(dir.path()).is_err(), "a directory");
        assert_eq!(
            Executable::at("/bin/true").exec_path(),
            Path::new("/bin/true")
        );
    }

    #[test]
    fn digests_are_sha256() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("abc");
        std::fs::write(&file, "abc").unwrap();
        assert_eq!(
            sha256_file(&file).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
