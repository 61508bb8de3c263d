//! The credentials file: OAuth tokens per MCP server and resource, under
//! `CODEX_HOME`, readable by its owner only, never in `config.toml`.

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;

use std::path::{Path, PathBuf};

use super::flow::{ClientCredentials, Tokens};

/// The file, under `CODEX_HOME` (as Codex names it).
pub const CREDENTIALS_FILE: &str = ".credentials.json";
/// The file's format.
const VERSION: u64 = 1;

/// One server's login.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredCredential {
    /// The server's name in config.
    pub server: String,
    /// The MCP URL (canonical) the login is for.
    pub url: String,
    /// The RFC 8707 resource, as the server's metadata wrote it.
    pub resource: String,
    /// The authorization server.
    pub issuer: String,
    /// Its authorization endpoint (for a later step-up).
    pub authorization_endpoint: String,
    /// Its token endpoint (for refresh).
    pub token_endpoint: String,
    /// `authorization_response_iss_parameter_supported`.
    #[serde(default)]
    pub iss_parameter_supported: bool,
    /// The client at that server.
    pub client: ClientCredentials,
    /// The tokens.
    pub tokens: Tokens,
}

/// Why the credentials file cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Reading or writing failed.
    #[error("credentials file {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// It is not ours.
    #[error("credentials file {}:{line}:{column}: {reason}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        reason: String,
    },
}

#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct File {
    version: u64,
    #[serde(default)]
    mcp_servers: Vec<StoredCredential>,
}

/// The credentials file at one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialStore {
    path: PathBuf,
}

/// The largest credentials file read: 1 MiB.
const MAX_STORE_BYTES: u64 = 1024 * 1024;
/// How long another process may hold the store's lock.
const LOCK_PATIENCE: std::time::Duration = std::time::Duration::from_secs(10);

/// Takes an exclusive `flock` on `file`, waiting at most `patience` (another
/// `codex` saving a login holds it for milliseconds).
fn lock_within(file: &std::fs::File, patience: std::time::Duration) -> std::io::Result<()> {
    use rustix::fs::FlockOperation;
    let started = std::time::Instant::now();
    loop {
        match rustix::fs::flock(file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => return Ok(()),
            Err(rustix::io::Errno::WOULDBLOCK) if started.elapsed() < patience => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(rustix::io::Errno::WOULDBLOCK) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::WouldBlock,
                    format!(
                        "another process has held the credentials lock for {} s",
                        patience.as_secs()
                    ),
                ));
            }
            Err(err) => return Err(err.into()),
        }
    }
}

impl CredentialStore {
    /// The store at `path` (usually `$CODEX_HOME/.credentials.json`).
    pub fn new(path: impl Into<PathBuf>) -> CredentialStore {
        CredentialStore { path: path.into() }
    }

    /// The store under `codex_home`.
    pub fn in_home(codex_home: &Path) -> CredentialStore {
        CredentialStore::new(codex_home.join(CREDENTIALS_FILE))
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read(&self) -> Result<File, StoreError> {
        // Ours alone: a regular file, not a link, at most 1 MiB.
        let bytes = codex_sandbox::files::read_regular(
            &self.path,
            MAX_STORE_BYTES,
            codex_sandbox::files::Links::Refuse,
        )
        .map_err(|source| StoreError::Io {
            path: self.path.clone(),
            source,
        })?;
        let Some(bytes) = bytes else {
            return Ok(File::default());
        };
        let file: File = serde_json::from_slice(&bytes).map_err(|err| StoreError::Invalid {
            path: self.path.clone(),
            line: err.line(),
            column: err.column(),
            reason: err.to_string(),
        })?;
        if file.version != VERSION {
            return Err(StoreError::Invalid {
                path: self.path.clone(),
                line: 1,
                column: 1,
                reason: format!("unknown version {}", file.version),
            });
        }
        Ok(file)
    }

    /// Holds the store's lock file (`<file>.lock`, exclusive `flock`) while
    /// `change` reads, changes and writes the store: a login and a
    /// refresh in another process never lose each other's tokens.
    fn locked<T>(&self, change: impl FnOnce(&mut File) -> T) -> Result<T, StoreError> {
        let io = |source| StoreError::Io {
            path: self.path.clone(),
            source,
        };
        let dir = self
            .path
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        std::fs::create_dir_all(&dir).map_err(io)?;
        // Never through a link, never a FIFO.
        let lock =
            codex_sandbox::files::open_append_private(&self.path.with_extension("json.lock"))
                .map_err(io)?;
        lock_within(&lock, LOCK_PATIENCE).map_err(io)?;
        let mut file = self.read()?;
        let out = change(&mut file);
        file.version = VERSION;
        self.write(&dir, &file)?;
        Ok(out)
    }

    /// Writes `file` to a fresh temporary file in `dir` (mode 0600), then
    /// renames it over the store, so a reader never sees half a file.
    fn write(&self, dir: &Path, file: &File) -> Result<(), StoreError> {
        let io = |source| StoreError::Io {
            path: self.path.clone(),
            source,
        };
        let mut temporary = tempfile::Builder::new()
            .prefix(".credentials")
            .permissions(std::fs::Permissions::from_mode(0o600))
            .tempfile_in(dir)
            .map_err(io)?;
        let text = serde_json::to_string_pretty(file).unwrap_or_default();
        temporary.write_all(text.as_bytes()).map_err(io)?;
        temporary.write_all(b"\n").map_err(io)?;
        temporary.as_file().sync_all().map_err(io)?;
        temporary.persist(&self.path).map_err(|err| io(err.error))?;
        Ok(())
    }

    /// The login for `server` at `url`, if any.
    ///
    /// # Errors
    ///
    /// The file exists but cannot be read or is not ours.
    pub fn get(&self, server: &str, url: &str) -> Result<Option<StoredCredential>, StoreError> {
        Ok(self
            .read()?
            .mcp_servers
            .into_iter()
            .find(|entry| entry.server == server && entry.url == url))
    }

    /// Every stored login: server name and URL, no secret.
    ///
    /// # Errors
    ///
    /// The file exists but cannot be read or is not ours.
    pub fn logins(&self) -> Result<Vec<(String, String)>, StoreError> {
        Ok(self
            .read()?
            .mcp_servers
            .into_iter()
            .map(|entry| (entry.server, entry.url))
            .collect())
    }

    /// Stores `credential`, replacing the one for the same server and URL.
    ///
    /// # Errors
    ///
    /// The file cannot be read or written.
    pub fn put(&self, credential: StoredCredential) -> Result<(), StoreError> {
        self.locked(|file| {
            file.mcp_servers.retain(|entry| {
                !(entry.server == credential.server && entry.url == credential.url)
            });
            file.mcp_servers.push(credential);
            file.mcp_servers
                .sort_by(|a, b| (&a.server, &a.url).cmp(&(&b.server, &b.url)));
        })
    }

    /// Removes every login of `server`; says whether there was one.
    ///
    /// # Errors
    ///
    /// The file cannot be read or written.
    pub fn remove(&self, server: &str) -> Result<bool, StoreError> {
        if !self.read()?.mcp_servers.iter().any(|e| e.server == server) {
            return Ok(false);
        }
        self.locked(|file| {
            let before = file.mcp_servers.len();
            file.mcp_servers.retain(|entry| entry.server != server);
            file.mcp_servers.len() != before
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credential(server: &str, token: &str) -> StoredCredential {
        StoredCredential {
            server: server.to_owned(),
            url: "https://h/mcp".to_owned(),
            resource: "https://h/mcp".to_owned(),
            issuer: "https://as".to_owned(),
            authorization_endpoint: "https://as/authorize".to_owned(),
            token_endpoint: "https://as/token".to_owned(),
            iss_parameter_supported: true,
            client: ClientCredentials {
                client_id: "c".to_owned(),
                client_secret: None,
                auth_method: None,
            },
            tokens: Tokens {
                access_token: token.to_owned(),
                refresh_token: Some("r".to_owned()),
                expires_at: Some(1),
                scope: None,
            },
        }
    }

    #[test]
    fn logins_are_kept_per_server_private_and_replaced() {
        let dir = tempfile::tempdir().expect("dir");
        let store = CredentialStore::in_home(dir.path());
        assert_eq!(store.get("a", "https://h/mcp").expect("read"), None);
        store.put(credential("a", "t1")).expect("put");
        store.put(credential("b", "t2")).expect("put");
        store.put(credential("a", "t3")).expect("put");
        let a = store.get("a", "https://h/mcp").expect("read").expect("a");
        assert_eq!(a.tokens.access_token, "t3");
        assert_eq!(store.get("a", "https://other/mcp").expect("read"), None);
        let mode = std::fs::metadata(store.path())
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(store.remove("a").expect("remove"));
        assert!(!store.remove("a").expect("remove"));
        assert!(store.get("b", "https://h/mcp").expect("read").is_some());
        // Secrets never print.
        let shown = format!("{:?}", credential("x", "secret-token").tokens);
        assert!(!shown.contains("secret-token"), "{shown}");
    }
}
