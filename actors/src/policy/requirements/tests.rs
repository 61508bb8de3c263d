//! Requirements parsing tests: both allowlist spellings, denylists, settings,
//! warnings and errors with locations.

use super::*;
use expect_test::{Expect, expect};
use std::path::Path;

#[track_caller]
fn check(text: &str, expect: Expect) {
    let rendered = match parse_requirements(
        RequirementSource::SystemFile("/etc/codex/requirements.toml".into()),
        Origin::File("req.toml".into()),
        text,
    ) {
        Ok((layer, warnings)) => {
            let mut out = String::new();
            match &layer.allowlist {
                None => out.push_str("allowlist: none\n"),
                Some(rules) => {
                    out.push_str(&format!("allowlist: {} rule(s)\n", rules.len()));
                    for rule in rules {
                        out.push_str(&format!(
                            "  {} {:?} {:?}\n",
                            rule.key, rule.name, rule.identity
                        ));
                    }
                }
            }
            for rule in &layer.denylist {
                out.push_str(&format!(
                    "deny {} {:?} {:?}\n",
                    rule.key, rule.name, rule.identity
                ));
            }
            if let Some(modes) = &layer.allowed_sandbox_modes {
                out.push_str(&format!("sandbox: [{}]\n", join(modes)));
            }
            if let Some(policies) = &layer.allowed_approval_policies {
                out.push_str(&format!("approval: [{}]\n", join(policies)));
            }
            if let Some(residency) = layer.enforce_residency {
                out.push_str(&format!("residency: {}\n", residency.as_str()));
            }
            for rule in &layer.command_rules {
                out.push_str(&format!(
                    "rule {} {:?} {:?}\n",
                    rule.decision, rule.pattern, rule.justification
                ));
            }
            for warning in warnings {
                out.push_str(&format!("warning: {warning}\n"));
            }
            out
        }
        Err(err) => format!("error: {err}\n"),
    };
    expect.assert_eq(&rendered);
}

#[test]
fn both_spellings_form_one_allowlist() {
    check(
        r#"
[mcp_server_allowlist.hello_world]
command = "hello-world-mcp"

[mcp_servers.docs.identity]
url = "https://Docs.Example.com:443/mcp"

[mcp_server_allowlist."*"]
command = "npx"
args = ["-y", "@acme/mcp@1.2.3"]
"#,
        expect![[r#"
            allowlist: 3 rule(s)
              mcp_server_allowlist.hello_world Exact("hello_world") Command { command: "hello-world-mcp", args: None }
              mcp_server_allowlist."*" Any Command { command: "npx", args: Some([Exact("-y"), Exact("@acme/mcp@1.2.3")]) }
              mcp_servers.docs.identity Exact("docs") Url(Exact(CanonicalUrl { url: Url { scheme: "https", cannot_be_a_base: false, username: "", password: None, host: Some(Domain("docs.example.com")), port: None, path: "/mcp", query: None, fragment: None }, has_userinfo: false }))
        "#]],
    );
}

#[test]
fn absent_and_empty_allowlists_differ() {
    check("", expect!["allowlist: none\n"]);
    check("mcp_servers = {}", expect!["allowlist: 0 rule(s)\n"]);
    check("[mcp_server_allowlist]", expect!["allowlist: 0 rule(s)\n"]);
}

#[test]
fn denylist_entries() {
    check(
        r#"
[mcp_server_denylist.docs]
[mcp_server_denylist."*"]
url = "https://evil.example/mcp"
"#,
        expect![[r#"
            allowlist: none
            deny mcp_server_denylist.docs Exact("docs") None
            deny mcp_server_denylist."*" Any Some(Url(Exact(CanonicalUrl { url: Url { scheme: "https", cannot_be_a_base: false, username: "", password: None, host: Some(Domain("evil.example")), port: None, path: "/mcp", query: None, fragment: None }, has_userinfo: false })))
        "#]],
    );
}

#[test]
fn settings() {
    check(
        r#"
allowed_sandbox_modes = ["read-only", "workspace-write"]
allowed_approval_policies = ["on-request", "never"]
"#,
        expect![[r#"
            allowlist: none
            sandbox: [read-only, workspace-write]
            approval: [on-request, never]
        "#]],
    );
    check(
        "allowed_sandbox_modes = [\"workspace-write\"]",
        expect![[r#"
            error: invalid requirements: req.toml:1:1: allowed_sandbox_modes: must include 'read-only' to allow any sandbox policy (found [workspace-write])
        "#]],
    );
    check(
        "allowed_approval_policies = []",
        expect![[r#"
            error: invalid requirements: req.toml:1:1: allowed_approval_policies: field `allowed_approval_policies` cannot be empty
        "#]],
    );
    check(
        "allowed_approval_policies = [\"sometimes\"]",
        expect![[r#"
            error: invalid requirements: req.toml:1:1: allowed_approval_policies: unknown approval_policy "sometimes" (expected one of untrusted, on-failure, on-request, never)
        "#]],
    );
}

#[test]
fn unknown_keys_warn_with_location() {
    check(
        r#"
allowed_web_search_modes = []

[mcp_servers.docs]
description = "fine"
note = "not fine"
[mcp_servers.docs.identity]
command = "docs"
checksum = "abc"
"#,
        expect![[r#"
            allowlist: 1 rule(s)
              mcp_servers.docs.identity Exact("docs") Command { command: "docs", args: None }
            warning: req.toml:2:1: unknown requirements key `allowed_web_search_modes` (ignored)
            warning: req.toml:6:1: unknown requirements key `mcp_servers.docs.note` (ignored)
            warning: req.toml:9:1: unknown requirements key `mcp_servers.docs.identity.checksum` (ignored)
        "#]],
    );
}

#[test]
fn typos_in_requirements_name_the_key_meant() {
    check(
        r#"
allowed_sandbox_mode = ["read-only"]

[mcp_server_alowlist.a]
command = "a"

[mcp_server_allowlist.b]
command = "b"
alowed_env = ["X"]

[mcp_servers.c]
identiy = { command = "c" }
identity = { command = "c" }
"#,
        expect![[r#"
            allowlist: 2 rule(s)
              mcp_server_allowlist.b Exact("b") Command { command: "b", args: None }
              mcp_servers.c.identity Exact("c") Command { command: "c", args: None }
            warning: req.toml:2:1: unknown requirements key `allowed_sandbox_mode` (ignored; did you mean `allowed_sandbox_modes`?)
            warning: req.toml:4:2: unknown requirements key `mcp_server_alowlist` (ignored; did you mean `mcp_server_allowlist`?)
            warning: req.toml:9:1: unknown requirements key `mcp_server_allowlist.b.alowed_env` (ignored; did you mean `allowed_env`?)
            warning: req.toml:12:1: unknown requirements key `mcp_servers.c.identiy` (ignored; did you mean `identity`?)
        "#]],
    );
    check(
        "[mcp_server_allowlist.a]\ncomand = \"a\"\n",
        expect![[r#"
            error: invalid requirements: req.toml:1:23: mcp_server_allowlist.a: an allowlist entry needs `command` or `url`; `comand` is not a known key: did you mean `command`?
        "#]],
    );
}

#[test]
fn malformed_rules_are_errors() {
    check(
        "[mcp_servers.docs]\ndescription = \"x\"\n",
        expect![[r#"
            error: invalid requirements: req.toml:1:14: mcp_servers.docs: missing field `identity`
        "#]],
    );
    check(
        "[mcp_servers.docs.identity]\ncommand = \"a\"\nurl = \"https://h/\"\n",
        expect![[r#"
            error: invalid requirements: req.toml:1:19: mcp_servers.docs.identity: a rule names either `command` or `url`, not both
        "#]],
    );
    check(
        "[mcp_server_allowlist.docs]\n",
        expect![[r#"
            error: invalid requirements: req.toml:1:23: mcp_server_allowlist.docs: an allowlist entry needs `command` or `url`
        "#]],
    );
    check(
        "[mcp_server_allowlist.docs]\nurl = \"ftp://h/\"\n",
        expect![[r#"
            error: invalid requirements: req.toml:2:1: mcp_server_allowlist.docs.url: unsupported url scheme "ftp" in "ftp://h/" (expected http or https)
        "#]],
    );
    check(
        "[mcp_server_allowlist.docs]\ncommand = { executable = \"x\" }\n",
        expect![[r#"
            error: invalid requirements: req.toml:2:1: mcp_server_allowlist.docs.command: expected a string, found a table
        "#]],
    );
    check(
        "mcp_server_allowlist = [1]",
        expect![[r#"
            error: invalid requirements: req.toml:1:1: mcp_server_allowlist: expected a table, found an array
        "#]],
    );
    check(
        "[mcp_server_allowlist.docs\n",
        expect![[r#"
            error: invalid requirements: req.toml:1:27: invalid TOML: unclosed table, expected `]`
              | [mcp_server_allowlist.docs
              |                           ^
        "#]],
    );
}

#[test]
fn sandbox_demands() {
    check(
        "[mcp_server_allowlist.fs]\ncommand = \"fs\"\nsandbox = \"workspace-write\"\n",
        expect![[r#"
            allowlist: 1 rule(s)
              mcp_server_allowlist.fs Exact("fs") Command { command: "fs", args: None }
        "#]],
    );
    check(
        "[mcp_server_allowlist.web]\nurl = \"https://h/\"\nsandbox = \"read-only\"\n",
        expect![[r#"
            error: invalid requirements: req.toml:1:23: mcp_server_allowlist.web: `sandbox` goes with `command`: it means nothing for a remote server
        "#]],
    );
    check(
        "[mcp_server_allowlist.fs]\ncommand = \"fs\"\nsandbox = \"none\"\n",
        expect![[r#"
            error: invalid requirements: req.toml:3:1: mcp_server_allowlist.fs.sandbox: unknown sandbox "none" (expected read-only or workspace-write)
        "#]],
    );
}

#[test]
fn sources_load_and_report_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let system = dir.path().join("system.toml");
    let env_file = dir.path().join("env.toml");
    std::fs::write(&system, "[mcp_server_allowlist.a]\ncommand = \"a\"\n").expect("write");
    std::fs::write(&env_file, "allowed_approval_policies = [\"never\"]\n").expect("write");
    let encoded = base64::engine::general_purpose::STANDARD.encode("[mcp_server_denylist.b]\n");
    let loaded = load_requirements(&RequirementsSources {
        system_file: system.clone(),
        env_file: Some(env_file.clone()),
        env_base64: Some(encoded),
    })
    .expect("loads");
    let sources: Vec<String> = loaded
        .requirements
        .layers
        .iter()
        .map(|l| l.source.to_string())
        .collect();
    assert_eq!(
        sources,
        [
            system.display().to_string(),
            env_file.display().to_string(),
            "CODEX_REQUIREMENTS_TOML_BASE64".to_owned()
        ]
    );

    // A missing system file is fine: most machines have none.
    let none = load_requirements(&RequirementsSources {
        system_file: dir.path().join("missing.toml"),
        env_file: None,
        env_base64: None,
    })
    .expect("loads");
    assert!(none.requirements.layers.is_empty());
    // A file named by CODEX_REQUIREMENTS_FILE must be there: a mistyped
    // path would otherwise turn every requirement off unseen.
    let err = load_requirements(&RequirementsSources {
        system_file: dir.path().join("missing.toml"),
        env_file: Some(dir.path().join("missing-too.toml")),
        env_base64: None,
    })
    .expect_err("a named file is missing")
    .to_string();
    assert!(
        err.ends_with(
            "missing-too.toml: CODEX_REQUIREMENTS_FILE names it, but there is no such file"
        ),
        "{err}"
    );

    let bad = |encoded: &str| {
        load_requirements(&RequirementsSources {
            system_file: dir.path().join("missing.toml"),
            env_file: None,
            env_base64: Some(encoded.to_owned()),
        })
        .expect_err("fails")
        .to_string()
    };
    assert!(bad("@@@").starts_with("CODEX_REQUIREMENTS_TOML_BASE64: invalid base64"));
    assert!(
        bad("/w==").starts_with("CODEX_REQUIREMENTS_TOML_BASE64: decoded document is not UTF-8")
    );
    let broken = base64::engine::general_purpose::STANDARD.encode("a = \n");
    assert_eq!(
        bad(&broken),
        "invalid requirements: CODEX_REQUIREMENTS_TOML_BASE64:1:5: invalid TOML: string values must be quoted, expected literal string\n  | a = \n  |     ^"
    );

    // An unreadable source (here: a directory) is an error naming it.
    let err = load_requirements(&RequirementsSources {
        system_file: dir.path().to_owned(),
        env_file: None,
        env_base64: None,
    })
    .expect_err("directory");
    assert!(
        err.to_string()
            .starts_with("failed to read requirements file"),
        "{err}"
    );
}

#[test]
fn env_sources_resolve_relative_to_cwd() {
    let vars = |name: &str| match name {
        "CODEX_REQUIREMENTS_FILE" => Some("req.toml".into()),
        "CODEX_REQUIREMENTS_TOML_BASE64" => Some("  ".into()),
        _ => None,
    };
    let sources = RequirementsSources::from_env(vars, Path::new("/work"));
    assert_eq!(sources.env_file, Some(PathBuf::from("/work/req.toml")));
    assert_eq!(sources.env_base64, None);
    assert_eq!(
        sources.system_file,
        PathBuf::from("/etc/codex/requirements.toml")
    );
}

#[test]
fn command_rules_and_residency() {
    check(
        r#"
enforce_residency = "us"

[rules]
prefix_rules = [
  { pattern = [{ token = "git" }, { token = "push" }], decision = "forbidden", justification = "CI pushes." },
  { pattern = [{ token = "rm" }, { any_of = ["-rf", "-fr"] }], decision = "prompt" },
  { pattern = ["ls"], decision = "allow" },
  { pattern = ["make", ["test", "check"]], decision = "allow", color = "red" },
]
"#,
        expect![[r#"
            allowlist: none
            residency: us
            rule forbidden [Token("git"), Token("push")] Some("CI pushes.")
            rule prompt [Token("rm"), AnyOf(["-rf", "-fr"])] None
            rule allow [Token("ls")] None
            rule allow [Token("make"), AnyOf(["test", "check"])] None
            warning: req.toml:5:1: unknown key `color` in a prefix rule (ignored)
        "#]],
    );
}

#[test]
fn bad_command_rules_are_located() {
    check(
        "[rules]\nprefix_rules = [{ pattern = [], decision = \"forbidden\" }]\n",
        expect![[r#"
            error: invalid requirements: req.toml:2:1: rules.prefix_rules.0: the pattern is empty
        "#]],
    );
    check(
        "[rules]\nprefix_rules = [{ pattern = [\"git\"], decision = \"maybe\" }]\n",
        expect![[r#"
            error: invalid requirements: req.toml:2:1: rules.prefix_rules.0: unknown decision "maybe" (expected allow, prompt or forbidden)
        "#]],
    );
    check(
        "enforce_residency = \"eu\"\n",
        expect![[r#"
            error: invalid requirements: req.toml:1:1: enforce_residency: unknown residency "eu" (expected "us")
        "#]],
    );
}
