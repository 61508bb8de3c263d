//! In-place edits of `config.toml` for `codex mcp add` and `remove`.
//!
//! Edits go through `toml_edit`, so comments, ordering and formatting of
//! everything else in the file survive. The new text is written to a
//! temporary file beside the original and renamed over it, so a crash never
//! leaves half a config behind.

use std::path::{Path, PathBuf};

use codex_transports::TransportConfig;
use toml_edit::{Array, DocumentMut, Item, Table, value};

use super::McpServerConfig;
use super::layer::{Location, Origin, line_column, read_optional};

/// Why the config file could not be edited.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EditError {
    /// The file (or its folder) could not be read or written.
    #[error("failed to {action} {}: {source}", path.display())]
    Io {
        /// `read` or `write`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML, so it is left untouched.
    #[error("{location}: invalid TOML: {message}")]
    Syntax {
        /// Where the parser stopped.
        location: Location,
        /// The parser's explanation.
        message: String,
    },
    /// `mcp_servers` exists but is not a table.
    #[error("{}: `mcp_servers` is not a table", path.display())]
    NotATable {
        /// The file.
        path: PathBuf,
    },
    /// The server would not load (an empty command, say), so it is not
    /// written: a config that every later command refuses helps no one.
    #[error("{subject}: {message}; nothing was written")]
    Rejected {
        /// `mcp_servers.NAME`, or the key concerned.
        subject: String,
        /// What the loader says of it.
        message: String,
    },
}

/// Writes (or overwrites) `[mcp_servers.NAME]` in the file at `path`, once
/// the loader accepts the server on its own.
pub fn write_server(path: &Path, name: &str, server: &McpServerConfig) -> Result<(), EditError> {
    let table = server_table(server);
    let mut alone = DocumentMut::new();
    let mut servers = Table::new();
    servers.set_implicit(true);
    servers.insert(name, Item::Table(table.clone()));
    alone.insert("mcp_servers", Item::Table(servers));
    match super::parse_config(&alone.to_string(), &[]) {
        Ok(_) => {}
        Err(super::ConfigError::Invalid {
            subject, message, ..
        }) => return Err(EditError::Rejected { subject, message }),
        Err(other) => {
            return Err(EditError::Rejected {
                subject: format!("mcp_servers.{name}"),
                message: other.to_string(),
            });
        }
    }
    let mut doc = read_document(path)?;
    let servers = doc
        .entry("mcp_servers")
        .or_insert_with(|| {
            let mut table = Table::new();
            table.set_implicit(true);
            Item::Table(table)
        })
        .as_table_mut()
        .ok_or_else(|| EditError::NotATable {
            path: path.to_owned(),
        })?;
    servers.insert(name, Item::Table(table));
    write_document(path, &doc)
}

/// Removes `[mcp_servers.NAME]`; returns whether it was there. An emptied
/// `[mcp_servers]` table is removed too.
pub fn remove_server(path: &Path, name: &str) -> Result<bool, EditError> {
    let mut doc = read_document(path)?;
    let Some(servers) = doc.get_mut("mcp_servers") else {
        return Ok(false);
    };
    let Some(servers) = servers.as_table_like_mut() else {
        return Err(EditError::NotATable {
            path: path.to_owned(),
        });
    };
    if servers.remove(name).is_none() {
        return Ok(false);
    }
    if servers.is_empty() {
        doc.remove("mcp_servers");
    }
    write_document(path, &doc)?;
    Ok(true)
}

fn server_table(server: &McpServerConfig) -> Table {
    let mut table = Table::new();
    let strings = |items: &[String]| Item::Value(Array::from_iter(items.iter()).into());
    match &server.transport {
        TransportConfig::Stdio(stdio) => {
            table.insert("command", value(&stdio.command));
            if !stdio.args.is_empty() {
                table.insert("args", strings(&stdio.args));
            }
            if !stdio.env_vars.is_empty() {
                table.insert("env_vars", strings(&stdio.env_vars));
            }
            if let Some(mode) = server.sandbox {
                table.insert("sandbox", value(mode.as_str()));
            }
            if let Some(cwd) = &stdio.cwd {
                table.insert("cwd", value(cwd.to_string_lossy().as_ref()));
            }
            if !stdio.env.is_empty() {
                let mut env = Table::new();
                for (key, val) in &stdio.env {
                    env.insert(key, value(val));
                }
                table.insert("env", Item::Table(env));
            }
        }
        TransportConfig::StreamableHttp(http) | TransportConfig::Sse(http) => {
            if matches!(server.transport, TransportConfig::Sse(_)) {
                table.insert("transport", value("sse"));
            }
            table.insert("url", value(&http.url));
            if let Some(var) = &http.bearer_token_env_var {
                table.insert("bearer_token_env_var", value(var));
            }
            for (key, map) in [
                ("http_headers", &http.http_headers),
                ("env_http_headers", &http.env_http_headers),
            ] {
                if !map.is_empty() {
                    let mut sub = Table::new();
                    for (k, v) in map {
                        sub.insert(k, value(v));
                    }
                    table.insert(key, Item::Table(sub));
                }
            }
            // Spelled as Codex's `mcp add` writes them.
            if let Some(resource) = &server.oauth.resource {
                table.insert("oauth_resource", value(resource));
            }
            if let Some(client_id) = &server.oauth.client_id {
                let mut oauth = Table::new();
                oauth.insert("client_id", value(client_id));
                table.insert("oauth", Item::Table(oauth));
            }
        }
    }
    if !server.enabled {
        table.insert("enabled", value(false));
    }
    if server.required {
        table.insert("required", value(true));
    }
    if let Some(timeout) = server.startup_timeout {
        table.insert("startup_timeout_sec", value(timeout.as_secs_f64()));
    }
    if let Some(timeout) = server.tool_timeout {
        table.insert("tool_timeout_sec", value(timeout.as_secs_f64()));
    }
    if let Some(tools) = &server.enabled_tools {
        table.insert("enabled_tools", strings(tools));
    }
    if let Some(tools) = &server.disabled_tools {
        table.insert("disabled_tools", strings(tools));
    }
    // Sub-tables (env, headers) must follow the plain keys.
    table.sort_values_by(|_, a, _, b| a.is_table().cmp(&b.is_table()));
    table
}

fn read_document(path: &Path) -> Result<DocumentMut, EditError> {
    let text = read_optional(path)
        .map_err(|source| EditError::Io {
            action: "read",
            path: path.to_owned(),
            source,
        })?
        .unwrap_or_default();
    text.parse::<DocumentMut>().map_err(|err| {
        let offset = err.span().map_or(0, |span| span.start);
        let (line, column) = line_column(&text, offset);
        EditError::Syntax {
            location: Location {
                origin: Origin::File(path.to_owned()),
                line,
                column,
            },
            message: err.message().trim().to_owned(),
        }
    })
}

fn write_document(path: &Path, doc: &DocumentMut) -> Result<(), EditError> {
    let io = |source| EditError::Io {
        action: "write",
        path: path.to_owned(),
        source,
    };
    // A config.toml that is a link (dotfile managers keep the real file in
    // a repository) is read through the link, so it is written through it
    // too: the file it points to is replaced and the link stays.
    let path = match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => std::fs::canonicalize(path).map_err(io)?,
        _ => path.to_owned(),
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io)?;
    let file_name = path.file_name().map_or_else(
        || "config.toml".into(),
        |name| name.to_string_lossy().into_owned(),
    );
    let tmp = dir.join(format!(".{file_name}.tmp-{}", std::process::id()));
    // A new file only: whatever sits at that name (a link left there, say)
    // is removed, never written through.
    let _ = std::fs::remove_file(&tmp);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(io)?;
    let written = std::io::Write::write_all(&mut file, doc.to_string().as_bytes())
        .and_then(|()| file.sync_all());
    drop(file);
    if let Err(err) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(err));
    }
    if let Ok(meta) = std::fs::metadata(&path) {
        // Keep the original's permissions (a config may hold secrets).
        let _ = std::fs::set_permissions(&tmp, meta.permissions());
    }
    std::fs::rename(&tmp, &path).map_err(|err| {
        let _ = std::fs::remove_file(&tmp);
        io(err)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use codex_transports::{CanonicalUrl, HttpConfig, StdioConfig};
    use pretty_assertions::assert_eq;

    fn stdio(command: &str, args: &[&str], env: &[(&str, &str)]) -> McpServerConfig {
        McpServerConfig::new(TransportConfig::Stdio(StdioConfig {
            command: command.to_owned(),
            args: args.iter().map(|s| (*s).to_owned()).collect(),
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            env_vars: Vec::new(),
            cwd: None,
        }))
    }

    /// A linked config.toml is written through its link, which stays.
    #[test]
    fn a_linked_config_is_written_through_the_link() {
        let dir = tempfile::tempdir().expect("tempdir");
        let real = dir.path().join("dotfiles").join("codex.toml");
        std::fs::create_dir_all(real.parent().expect("parent")).expect("dir");
        std::fs::write(&real, "# kept in a repository\nmodel = \"o3\"\n").expect("write");
        let link = dir.path().join("config.toml");
        std::os::unix::fs::symlink(&real, &link).expect("link");
        write_server(&link, "docs", &stdio("docs-mcp", &[], &[])).expect("add");
        assert!(
            std::fs::symlink_metadata(&link)
                .expect("link")
                .file_type()
                .is_symlink()
        );
        assert_eq!(
            std::fs::read_to_string(&real).expect("read"),
            "# kept in a repository\nmodel = \"o3\"\n\n[mcp_servers.docs]\ncommand = \"docs-mcp\"\n"
        );
        assert!(remove_server(&link, "docs").expect("remove"));
        assert_eq!(
            std::fs::read_to_string(&real).expect("read"),
            "# kept in a repository\nmodel = \"o3\"\n"
        );
        assert!(
            std::fs::symlink_metadata(&link)
                .expect("link")
                .file_type()
                .is_symlink()
        );
    }

    /// A server the loader would refuse is not written: every later
    /// command would fail on it.
    #[test]
    fn a_server_that_would_not_load_is_not_written() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "# mine\n").expect("write");
        let err = write_server(&path, "empty", &stdio("", &[], &[])).expect_err("empty command");
        assert_eq!(
            err.to_string(),
            "mcp_servers.empty: command must not be empty; nothing was written"
        );
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "# mine\n");
    }

    #[test]
    fn add_keeps_comments_and_other_tables() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.toml");
        std::fs::write(
            &path,
            "# my settings\nmodel = \"o3\" # inline\n\n[mcp_servers.old]\ncommand = \"old\"\n",
        )
        .expect("write");
        write_server(
            &path,
            "docs",
            &stdio("docs-mcp", &["--x"], &[("B", "2"), ("A", "1")]),
        )
        .expect("add");
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            "# my settings\nmodel = \"o3\" # inline\n\n[mcp_servers.old]\ncommand = \"old\"\n\n\
             [mcp_servers.docs]\ncommand = \"docs-mcp\"\nargs = [\"--x\"]\n\n\
             [mcp_servers.docs.env]\nA = \"1\"\nB = \"2\"\n"
        );
        assert!(remove_server(&path, "docs").expect("remove"));
        assert!(!remove_server(&path, "docs").expect("remove again"));
        assert!(remove_server(&path, "old").expect("remove"));
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            "# my settings\nmodel = \"o3\" # inline\n"
        );
    }

    #[test]
    fn add_http_into_missing_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("home").join("config.toml");
        let url = "https://h/mcp".to_owned();
        let server = McpServerConfig {
            transport: TransportConfig::StreamableHttp(HttpConfig {
                canonical_url: CanonicalUrl::parse(&url).expect("url"),
                url,
                bearer_token_env_var: Some("TOKEN".to_owned()),
                http_headers: Default::default(),
                env_http_headers: Default::default(),
            }),
            ..stdio("unused", &[], &[])
        };
        write_server(&path, "web", &server).expect("add");
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            "[mcp_servers.web]\nurl = \"https://h/mcp\"\nbearer_token_env_var = \"TOKEN\"\n"
        );

        // OAuth settings are written as Codex spells them, and read back.
        let mut oauth = server.clone();
        oauth.oauth.client_id = Some("client-1".to_owned());
        oauth.oauth.resource = Some("https://h/".to_owned());
        write_server(&path, "web", &oauth).expect("add");
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(
            text,
            "[mcp_servers.web]\nurl = \"https://h/mcp\"\nbearer_token_env_var = \"TOKEN\"\n\
             oauth_resource = \"https://h/\"\n\n[mcp_servers.web.oauth]\nclient_id = \"client-1\"\n"
        );
        let loaded = super::super::parse_config(&text, &[]).expect("loads");
        assert_eq!(loaded.mcp_servers["web"].oauth, oauth.oauth);
    }

    #[test]
    fn broken_file_is_left_alone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "a = \n").expect("write");
        let err = write_server(&path, "x", &stdio("x", &[], &[])).expect_err("syntax");
        assert!(
            err.to_string().contains("config.toml:1:5: invalid TOML"),
            "{err}"
        );
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "a = \n");
    }
}
