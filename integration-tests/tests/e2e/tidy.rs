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

/// Code lines of a Rust file: comments left out, so prose may name what a
/// file avoids.
fn code_of(file: &Path) -> String {
    std::fs::read_to_string(file)
        .expect("read source")
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The folders of `actors/src`, lowest first: each may use only the ones
/// before it.
const ACTOR_FOLDERS: &[&str] = &[
    "config",
    "policy",
    "sink",
    "audit_log",
    "config_source",
    "policy_actor",
    "mcp_server",
    "sandbox_process",
    "model_stream",
    "apply_patch",
    "turn",
    "rollout",
    "session",
    "chaos",
    "edges",
    "regressions",
];

/// The folder of `actors/src` a file belongs to.
fn actor_folder(root: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(root.join("actors/src")).ok()?;
    let first = relative.components().next()?.as_os_str().to_str()?;
    Some(first.trim_end_matches(".rs").to_owned())
}

#[test]
fn actor_folders_use_only_the_folders_below_them() {
    let root = workspace_root();
    let mut files = Vec::new();
    rust_files(&root.join("actors/src"), &mut files);
    let mut wrong = Vec::new();
    for file in &files {
        let Some(folder) = actor_folder(&root, file) else {
            continue;
        };
        let Some(rank) = ACTOR_FOLDERS.iter().position(|f| *f == folder) else {
            assert!(
                folder == "lib",
                "{} is in a folder ACTOR_FOLDERS does not order; add it there and to ARCHITECTURE.md",
                file.display()
            );
            continue;
        };
        let code = code_of(file);
        for (other_rank, other) in ACTOR_FOLDERS.iter().enumerate() {
            if other_rank > rank && code.contains(&format!("crate::{other}")) {
                wrong.push(format!("{} uses crate::{other}", file.display()));
            }
        }
    }
    assert!(wrong.is_empty(), "imports that run up: {wrong:#?}");
}

#[test]
fn in_actors_only_shell_files_know_actix() {
    let root = workspace_root();
    let mut files = Vec::new();
    rust_files(&root.join("actors/src"), &mut files);
    let offenders: Vec<String> = files
        .iter()
        .filter(|f| f.file_name().is_some_and(|n| n != "shell.rs"))
        .filter(|f| code_of(f).contains("actix"))
        .map(|f| f.display().to_string())
        .collect();
    assert!(
        offenders.is_empty(),
        "actix outside shell.rs: {offenders:#?}"
    );
}

#[test]
fn admission_is_decided_in_one_place() {
    // `admit(` (and its forms `admit_for(`, for a verdict without a launch,
    // and `admit_in(`, within one pass over a server map) is called by the
    // policy's own constrained map (what the
    // policy actor and `mcp list` use), by a restart through the policy
    // view, and, to explain a verdict and start nothing, by `requirements
    // explain` (one layer at a time) and `mcp add` (will the new server
    // run?). Nothing else decides admission.
    let allowed = [
        "actors/src/policy/admit.rs",
        "actors/src/policy/effective.rs",
        "actors/src/policy_actor/mod.rs",
        "cli/src/requirements.rs",
        "cli/src/mcp.rs",
    ];
    let root = workspace_root();
    let mut files = Vec::new();
    for krate in ["actors/src", "cli/src", "transports/src"] {
        rust_files(&root.join(krate), &mut files);
    }
    let callers: Vec<String> = files
        .iter()
        .filter(|f| {
            let name = f.to_string_lossy();
            !name.contains("tests") && !name.ends_with("laws.rs")
        })
        .filter(|f| {
            let code = code_of(f);
            ["admit(&", " admit(name", "admit_for(", "admit_in("]
                .iter()
                .any(|call| code.contains(call))
        })
        .map(|f| f.strip_prefix(&root).unwrap_or(f).display().to_string())
        .filter(|f| !allowed.contains(&f.as_str()))
        .collect();
    assert!(
        callers.is_empty(),
        "admission decided elsewhere: {callers:#?}"
    );
}

#[test]
fn untrusted_text_reaches_the_terminal_in_one_place() {
    // Everything the binary prints goes through `cli/src/terminal.rs`,
    // which shows control characters instead of sending them.
    let root = workspace_root();
    let mut files = Vec::new();
    rust_files(&root.join("cli/src"), &mut files);
    let writes = [
        "println!",
        "eprintln!",
        "print!(",
        "eprint!(",
        "stdout().lock",
        "stderr().lock",
        "io::stdout()",
        "io::stderr()",
    ];
    let offenders: Vec<String> = files
        .iter()
        .filter(|f| f.file_name().is_some_and(|n| n != "terminal.rs"))
        .filter(|f| {
            let code = code_of(f).replace("std::io::stdout().is_terminal()", "");
            let code = code.replace("std::io::stderr().is_terminal()", "");
            writes.iter().any(|write| code.contains(write))
        })
        .map(|f| f.strip_prefix(&root).unwrap_or(f).display().to_string())
        .collect();
    assert!(
        offenders.is_empty(),
        "printing outside cli/src/terminal.rs: {offenders:#?}"
    );
}

#[test]
fn unsafe_code_lives_in_the_sandbox_and_the_musl_runtime() {
    // `unsafe_code` is denied workspace-wide; `sandbox` allows it for its
    // system calls, and `cli/src/musl/` for what the shipped binary takes
    // from us instead of musl (its allocator, `memcpy`). Every other file
    // stays safe Rust.
    let root = workspace_root();
    let mut files = Vec::new();
    for krate in CRATES.iter().filter(|k| **k != "sandbox") {
        rust_files(&root.join(krate), &mut files);
    }
    // Spelled in pieces, so this file does not match itself.
    let marks: Vec<String> = ["{", "fn", "impl", "extern", "trait"]
        .iter()
        .map(|word| format!("{} {word}", "unsafe"))
        .chain([concat!("allow(", "unsafe_code)").to_owned()])
        .collect();
    let unsafe_files: Vec<String> = files
        .iter()
        .filter(|f| {
            let code = code_of(f);
            marks.iter().any(|mark| code.contains(mark.as_str()))
        })
        .map(|f| f.strip_prefix(&root).unwrap_or(f).display().to_string())
        .filter(|f| !f.starts_with("cli/src/musl/"))
        .collect();
    assert!(
        unsafe_files.is_empty(),
        "unsafe code outside sandbox/ and cli/src/musl/: {unsafe_files:#?}"
    );
}
