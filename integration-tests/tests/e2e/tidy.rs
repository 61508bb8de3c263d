//! Conventions checked as tests: every Rust file opens with a `//!` doc, the
//! dependency directions in ARCHITECTURE.md hold, and pure state machines
//! (`machine.rs`) know neither actix nor tokio.

use std::path::{Path, PathBuf};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("integration-tests sits in the workspace root")
        .to_owned()
}

const CRATES: &[&str] = &[
    "runtime",
    "actors",
    "transports",
    "sandbox",
    "cli",
    "integration-tests",
    "test-mcp-server",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path
                .file_name()
                .is_some_and(|n| n == "snapshots" || n == "target")
            {
                continue;
            }
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_rust_file_starts_with_a_module_doc() {
    let root = workspace_root();
    let mut missing = Vec::new();
    for krate in CRATES {
        let mut files = Vec::new();
        rust_files(&root.join(krate), &mut files);
        for file in files {
            let text = std::fs::read_to_string(&file).expect("read source");
            let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            if !first.starts_with("//!") {
                missing.push(
                    file.strip_prefix(&root)
                        .unwrap_or(&file)
                        .display()
                        .to_string(),
                );
            }
        }
    }
    assert!(
        missing.is_empty(),
        "files without a `//!` header: {missing:#?}"
    );
}

fn our_dependencies(krate: &str) -> Vec<String> {
    let manifest = std::fs::read_to_string(workspace_root().join(krate).join("Cargo.toml"))
        .expect("read manifest");
    let mut deps = Vec::new();
    let mut in_normal_deps = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_normal_deps = line == "[dependencies]";
            continue;
        }
        if in_normal_deps
            && let Some(name) = line.split(['.', '=', ' ']).next()
            && name.starts_with("codex-")
        {
            deps.push(name.to_owned());
        }
    }
    deps
}

#[test]
fn dependency_directions_hold() {
    assert_eq!(
        our_dependencies("runtime"),
        Vec::<String>::new(),
        "runtime depends on nothing of ours"
    );
    assert_eq!(
        our_dependencies("sandbox"),
        Vec::<String>::new(),
        "sandbox depends on nothing of ours"
    );
    for krate in CRATES {
        assert!(
            !our_dependencies(krate).contains(&"codex-cli".to_owned()),
            "{krate} depends on cli"
        );
    }
    for dep in our_dependencies("transports") {
        assert_eq!(dep, "codex-sandbox", "transports may only use sandbox");
    }
}

#[test]
fn machines_are_pure() {
    let root = workspace_root();
    let mut files = Vec::new();
    for krate in CRATES {
        rust_files(&root.join(krate), &mut files);
    }
    for file in files
        .iter()
        .filter(|f| f.file_name().is_some_and(|n| n == "machine.rs"))
    {
        let text = std::fs::read_to_string(file).expect("read machine");
        // Code, not prose: a doc comment may say what the machine avoids.
        let code: String = text
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        for banned in ["actix", "tokio"] {
            assert!(
                !code.contains(banned),
                "{} uses {banned}; machines are pure",
                file.display()
            );
        }
    }
}
