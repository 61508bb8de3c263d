//! Where requirements come from: the well-known system file and the two
//! environment variables, and [`RequirementSource`], the name a layer goes
//! by in messages.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

/// The well-known system requirements file.
pub const SYSTEM_REQUIREMENTS_FILE: &str = "/etc/codex/requirements.toml";
/// Names a requirements file to add as a layer.
pub const REQUIREMENTS_FILE_ENV: &str = "CODEX_REQUIREMENTS_FILE";
/// Holds a base64-encoded requirements document to add as a layer.
pub const REQUIREMENTS_BASE64_ENV: &str = "CODEX_REQUIREMENTS_TOML_BASE64";

/// Where one requirements layer came from. Its `Display` is what messages
/// show inside `requirements (...)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RequirementSource {
    /// The system file.
    SystemFile(PathBuf),
    /// The file named by `CODEX_REQUIREMENTS_FILE`.
    EnvFile(PathBuf),
    /// The document in `CODEX_REQUIREMENTS_TOML_BASE64`.
    EnvBase64,
}

impl fmt::Display for RequirementSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequirementSource::SystemFile(path) | RequirementSource::EnvFile(path) => {
                write!(f, "{}", path.display())
            }
            RequirementSource::EnvBase64 => f.write_str(REQUIREMENTS_BASE64_ENV),
        }
    }
}

/// Where to look for requirements. Built by the binary from its
/// environment; tests build it by hand and never touch `/etc`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequirementsSources {
    /// Normally [`SYSTEM_REQUIREMENTS_FILE`].
    pub system_file: PathBuf,
    /// From `CODEX_REQUIREMENTS_FILE`, resolved against the cwd.
    pub env_file: Option<PathBuf>,
    /// From `CODEX_REQUIREMENTS_TOML_BASE64`.
    pub env_base64: Option<String>,
}

impl RequirementsSources {
    /// The production sources: the system file plus the two variables, read
    /// through `var` (so callers decide what "the environment" is).
    pub fn from_env(var: impl Fn(&str) -> Option<OsString>, cwd: &Path) -> Self {
        RequirementsSources {
            system_file: PathBuf::from(SYSTEM_REQUIREMENTS_FILE),
            env_file: var(REQUIREMENTS_FILE_ENV)
                .filter(|value| !value.is_empty())
                .map(|value| cwd.join(value)),
            env_base64: var(REQUIREMENTS_BASE64_ENV)
                .map(|value| value.to_string_lossy().trim().to_owned())
                .filter(|value| !value.is_empty()),
        }
    }
}
