//! Loader tests: layering, trust, overrides and error locations.

use super::*;
use pretty_assertions::assert_eq;

struct Fixture {
    _dir: tempfile::TempDir,
    home: PathBuf,
    project: PathBuf,
}

impl Fixture {
    fn new(user_config: &str) -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().canonicalize().expect("canonical");
        let home = root.join("home");
        let project = root.join("repo");
        std::fs::create_dir_all(&home).expect("home");
        std::fs::create_dir_all(project.join(".git")).expect("git");
        std::fs::create_dir_all(project.join(".codex")).expect("codex");
        let user_config = user_config.replace("$PROJECT", &project.to_string_lossy());
        std::fs::write(home.join("config.toml"), user_config).expect("config");
        Fixture {
            _dir: dir,
            home,
            project,
        }
    }

    fn project_config(&self, text: &str) -> &Self {
        std::fs::write(self.project.join(".codex/config.toml"), text).expect("write");
        self
    }

    fn load(&self, overrides: &[&str]) -> Result<ConfigSnapshot, ConfigError> {
        self.load_profile(None, overrides)
    }

    /// With `--profile NAME` first, as the CLI puts it.
    fn load_profile(
        &self,
        profile: Option<&str>,
        overrides: &[&str],
    ) -> Result<ConfigSnapshot, ConfigError> {
        load_config(&LoadOptions {
            codex_home: self.home.clone(),
            cwd: self.project.clone(),
            user_config: true,
            overrides: profile
                .map(ConfigOverride::profile)
                .into_iter()
                .chain(overrides.iter().map(|o| o.parse().expect("valid override")))
                .collect(),
        })
    }

    fn error(&self, overrides: &[&str]) -> String {
        self.profile_error(None, overrides)
    }

    fn profile_error(&self, profile: Option<&str>, overrides: &[&str]) -> String {
        let err = self
            .load_profile(profile, overrides)
            .expect_err("should fail");
        err.to_string()
            .replace(&self.home.to_string_lossy().into_owned(), "$HOME")
            .replace(&self.project.to_string_lossy().into_owned(), "$PROJECT")
    }
}

fn names(snapshot: &ConfigSnapshot) -> Vec<&str> {
    snapshot.mcp_servers.keys().map(String::as_str).collect()
}

#[test]
fn missing_files_mean_empty_config() {
    let dir = tempfile::tempdir().expect("tempdir");
    let snapshot = load_config(&LoadOptions {
        codex_home: dir.path().join("nope"),
        cwd: dir.path().to_owned(),
        overrides: Vec::new(),
        user_config: true,
    })
    .expect("loads");
    assert!(snapshot.mcp_servers.is_empty());
    assert!(snapshot.layers.is_empty());
}

#[test]
fn untrusted_project_layer_is_ignored_with_a_warning() {
    let fixture = Fixture::new("[mcp_servers.a]\ncommand = \"a\"\n");
    fixture.project_config("[mcp_servers.p]\ncommand = \"p\"\n");
    let snapshot = fixture.load(&[]).expect("loads");
    assert_eq!(names(&snapshot), ["a"]);
    assert_eq!(snapshot.diagnostics.len(), 1);
    assert!(
        snapshot.diagnostics[0]
            .message
            .contains("is not marked as trusted"),
        "{:?}",
        snapshot.diagnostics
    );
}

#[test]
fn trusted_project_layer_applies_and_overrides_user() {
    let fixture = Fixture::new(
        "[mcp_servers.a]\ncommand = \"a\"\n[projects.\"$PROJECT\"]\ntrust_level = \"trusted\"\n",
    );
    fixture.project_config("[mcp_servers.p]\ncommand = \"p\"\n[mcp_servers.a]\nargs = [\"x\"]\n");
    let snapshot = fixture.load(&[]).expect("loads");
    assert_eq!(names(&snapshot), ["a", "p"]);
    let McpServerConfig { transport, .. } = &snapshot.mcp_servers["a"];
    assert_eq!(
        transport.identity(),
        codex_transports::Identity::Command(codex_transports::StdioIdentity {
            command: "a".into(),
            args: vec!["x".into()],
        })
    );
    assert!(snapshot.diagnostics.is_empty());
}

#[test]
fn project_cannot_trust_itself() {
    let fixture = Fixture::new("");
    fixture.project_config(
        "[projects.\"/\"]\ntrust_level = \"trusted\"\n[mcp_servers.p]\ncommand = \"p\"\n",
    );
    // The project file names its own trust, but trust is read only from the
    // user config: the layer stays ignored.
    assert!(fixture.load(&[]).expect("loads").mcp_servers.is_empty());
}

#[test]
fn untrusted_project_with_broken_toml_is_ignored() {
    let fixture = Fixture::new("");
    fixture.project_config("this is not toml");
    assert!(fixture.load(&[]).is_ok());
}

#[test]
fn overrides_apply_last() {
    let fixture = Fixture::new("[mcp_servers.a]\ncommand = \"a\"\n");
    let snapshot = fixture
        .load(&[
            "mcp_servers.a.enabled=false",
            "sandbox_mode=workspace-write",
        ])
        .expect("loads");
    assert!(!snapshot.mcp_servers["a"].enabled);
    assert_eq!(snapshot.sandbox_mode, Some(SandboxMode::WorkspaceWrite));
}

#[test]
fn errors_name_file_line_and_column() {
    let fixture = Fixture::new(
        "model = \"o3\"\n\n[mcp_servers.docs]\ncommand = \"a\"\nurl = \"http://h/\"\n",
    );
    assert_eq!(
        fixture.error(&[]),
        "$HOME/config.toml:5:1: mcp_servers.docs: url is not supported for stdio"
    );
    let fixture = Fixture::new("[mcp_servers.docs]\ncommand = \"a\"\n");
    assert_eq!(
        fixture.error(&["mcp_servers.docs.url=\"http://h/\""]),
        "-c mcp_servers.docs.url: mcp_servers.docs: url is not supported for stdio"
    );
    assert_eq!(
        fixture.error(&["mcp_servers.sentry.enabled=true"]),
        "-c mcp_servers.sentry.enabled: mcp_servers.sentry: needs `command` (a stdio server) or `url` (an HTTP server)"
    );
    let fixture = Fixture::new("[mcp_servers.docs]\ncommand = \"a\"\nargs = \"--flag\"\n");
    assert_eq!(
        fixture.error(&[]),
        "$HOME/config.toml:3:1: mcp_servers.docs: args: expected an array of strings, found a string"
    );
    let fixture = Fixture::new("sandbox_mode = \"yolo\"\n");
    assert_eq!(
        fixture.error(&[]),
        "$HOME/config.toml:1:1: sandbox_mode: unknown sandbox_mode \"yolo\" (expected one of \
         read-only, workspace-write, danger-full-access, external-sandbox)"
    );
    let fixture = Fixture::new("[mcp_servers\ncommand = 1\n");
    assert_eq!(
        fixture.error(&[]),
        "$HOME/config.toml:1:13: invalid TOML: unclosed table, expected `]`\n  | [mcp_servers\n  |             ^"
    );
}

#[test]
fn codex_home_resolution() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("file");
    std::fs::write(&file, "").expect("write");
    assert_eq!(
        resolve_codex_home(None, Some(Path::new("/home/u"))).expect("default"),
        PathBuf::from("/home/u/.codex")
    );
    assert_eq!(
        resolve_codex_home(Some(Path::new("")), Some(Path::new("/home/u"))).expect("empty"),
        PathBuf::from("/home/u/.codex")
    );
    let missing = resolve_codex_home(Some(&dir.path().join("missing")), None)
        .expect_err("missing")
        .to_string();
    assert!(
        missing.ends_with("but that path does not exist"),
        "{missing}"
    );
    let not_dir = resolve_codex_home(Some(&file), None)
        .expect_err("file")
        .to_string();
    assert!(
        not_dir.ends_with("but that path is not a directory"),
        "{not_dir}"
    );
}

#[test]
fn a_profile_sits_above_the_files_and_below_overrides() {
    let fixture = Fixture::new(
        "model = \"gpt-5\"\nsandbox_mode = \"read-only\"\nprofile = \"fast\"\n\
         [profiles.fast]\nmodel = \"o3\"\nsandbox_mode = \"workspace-write\"\n\
         [profiles.slow]\nmodel = \"gpt-5-pro\"\n",
    );
    // `profile` in the file picks one.
    let snapshot = fixture.load(&[]).expect("loads");
    assert_eq!(snapshot.model.model.as_deref(), Some("o3"));
    assert_eq!(snapshot.sandbox_mode, Some(SandboxMode::WorkspaceWrite));
    // `-p` (an override of `profile`) picks another; `-c` still wins.
    let snapshot = fixture
        .load(&["profile=\"slow\"", "model=\"mine\""])
        .expect("loads");
    assert_eq!(snapshot.model.model.as_deref(), Some("mine"));
    assert_eq!(snapshot.sandbox_mode, Some(SandboxMode::ReadOnly));
    let snapshot = fixture.load(&["profile=\"slow\""]).expect("loads");
    assert_eq!(snapshot.model.model.as_deref(), Some("gpt-5-pro"));
    // An unknown one names those that exist.
    assert_eq!(
        fixture.error(&["profile=\"nope\""]),
        "-c profile: profile: config profile `nope` not found (defined: fast, slow)"
    );
}

#[test]
fn a_profile_file_is_the_profile_for_the_flag() {
    let fixture = Fixture::new(
        "model = \"gpt-5\"\nsandbox_mode = \"read-only\"\nprofile = \"fast\"\n\
         [profiles.fast]\nmodel = \"o3\"\n",
    );
    std::fs::write(
        fixture.home.join("work.config.toml"),
        "model = \"gpt-5-pro\"\n[mcp_servers.docs]\ncommand = \"docs\"\n",
    )
    .expect("profile file");
    // The file sits over config.toml; the flag's choice wins over the
    // file's `profile = "fast"`, and `-c` still wins over both.
    let snapshot = fixture.load_profile(Some("work"), &[]).expect("loads");
    assert_eq!(snapshot.model.model.as_deref(), Some("gpt-5-pro"));
    assert_eq!(snapshot.sandbox_mode, Some(SandboxMode::ReadOnly));
    assert_eq!(names(&snapshot), ["docs"]);
    let snapshot = fixture
        .load_profile(Some("work"), &["model=\"mine\""])
        .expect("loads");
    assert_eq!(snapshot.model.model.as_deref(), Some("mine"));
    // A session watches the file it read.
    let options = |profile: Option<&str>| LoadOptions {
        codex_home: fixture.home.clone(),
        cwd: fixture.project.clone(),
        overrides: profile.map(ConfigOverride::profile).into_iter().collect(),
        user_config: true,
    };
    assert!(config_files(&options(Some("work"))).contains(&fixture.home.join("work.config.toml")));
    assert!(!config_files(&options(None)).contains(&fixture.home.join("work.config.toml")));
    // Without the flag, the file is not read.
    let snapshot = fixture.load(&[]).expect("loads");
    assert_eq!(snapshot.model.model.as_deref(), Some("o3"));
    assert!(snapshot.mcp_servers.is_empty());
    // `-c profile=work` is the old way only: no file is looked for.
    assert!(
        fixture
            .error(&["profile=\"work\""])
            .starts_with("-c profile: profile: config profile `work` not found")
    );

    // The same name kept the old way as well is refused, with where to move it.
    std::fs::write(fixture.home.join("fast.config.toml"), "model = \"o4\"\n").expect("file");
    assert_eq!(
        fixture.profile_error(Some("fast"), &[]),
        "$HOME/config.toml:3:1: profile: --profile `fast` cannot be used while \
         $HOME/config.toml also defines profile `fast` the old way; move those settings into \
         $HOME/fast.config.toml and remove them here"
    );
}

#[test]
fn the_profile_flag_falls_back_to_a_table_and_says_where_it_looked() {
    let fixture = Fixture::new("[profiles.fast]\nmodel = \"o3\"\n");
    let snapshot = fixture.load_profile(Some("fast"), &[]).expect("loads");
    assert_eq!(snapshot.model.model.as_deref(), Some("o3"));
    assert_eq!(
        fixture.profile_error(Some("nope"), &[]),
        "--profile nope: profile: config profile `nope` not found \
         (defined: fast; no $HOME/nope.config.toml)"
    );
    // A name that is not a plain word has no file: `-p` stays in CODEX_HOME.
    std::fs::write(
        fixture.home.join("..").join("up.config.toml"),
        "model = \"x\"\n",
    )
    .expect("file");
    for name in ["../up", "/etc/x", ".hidden", ""] {
        assert_eq!(profile_path(&fixture.home, name), None, "{name}");
        assert!(fixture.load_profile(Some(name), &[]).is_err(), "{name}");
    }
    assert_eq!(
        profile_path(&fixture.home, "team.ci-2"),
        Some(fixture.home.join("team.ci-2.config.toml"))
    );
}

#[test]
fn startup_defaults_to_mcp_startup() {
    let fixture = Fixture::new(
        "mcp_startup = \"lazy\"\n[mcp_servers.a]\ncommand = \"a\"\n\
         [mcp_servers.b]\ncommand = \"b\"\nstartup = \"eager\"\n",
    );
    let snapshot = fixture.load(&[]).expect("loads");
    assert_eq!(snapshot.mcp_startup, Startup::Lazy);
    assert_eq!(snapshot.mcp_servers["a"].startup, Startup::Lazy);
    assert_eq!(snapshot.mcp_servers["b"].startup, Startup::Eager);
    let fixture = Fixture::new("[mcp_servers.a]\ncommand = \"a\"\nstartup = \"later\"\n");
    assert!(
        fixture
            .error(&[])
            .contains("unknown startup \"later\" (expected eager or lazy)")
    );
}

#[test]
fn bounded_integers_say_their_range_and_type() {
    let error = |text: &str| parse_config(text, &[]).expect_err("invalid").to_string();
    assert_eq!(
        error("watch_debounce_ms = 5000\n"),
        "config.toml:1:1: watch_debounce_ms: 5000 is out of range (0 to 1000 milliseconds)"
    );
    assert_eq!(
        error("mcp_server_approval_timeout_sec = 0\n"),
        "config.toml:1:1: mcp_server_approval_timeout_sec: 0 is out of range (1 to 86400 seconds)"
    );
    assert_eq!(
        error("mcp_oauth_callback_port = 70000\n"),
        "config.toml:1:1: mcp_oauth_callback_port: 70000 is not a port number"
    );
    assert_eq!(
        error("watch_debounce_ms = \"soon\"\n"),
        "config.toml:1:1: watch_debounce_ms: expected an integer, found a string"
    );
    let config = parse_config(
        "watch_debounce_ms = 250\nmcp_server_approval_timeout_sec = 30\nmcp_oauth_callback_port = 1455\n",
        &[],
    )
    .expect("valid");
    assert_eq!(
        config.watch_debounce,
        Some(std::time::Duration::from_millis(250))
    );
    assert_eq!(
        config.mcp_server_approval_timeout,
        Some(std::time::Duration::from_secs(30))
    );
    assert_eq!(config.oauth_callback_port, Some(1455));
}

/// A message about a `-c` override names its key, never its value: the
/// value may be a token.
#[test]
fn an_override_is_named_by_its_key_in_messages() {
    let fixture = Fixture::new("");
    let error = fixture.error(&["mcp_servers.b={command=\"x\",env={TOKEN=\"SECRETC\",B=2}}"]);
    assert!(error.starts_with("-c mcp_servers.b: "), "{error}");
    assert!(!error.contains("SECRETC"), "{error}");
    let snapshot = fixture
        .load(&["mcp_servers.b={url=\"https://h/\",http_headers={A=\"HDRSEC\"},bogus=1}"])
        .expect("loads with a warning");
    let warnings: Vec<String> = snapshot
        .diagnostics
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(warnings.iter().any(|w| w.contains("bogus")), "{warnings:?}");
    assert!(
        warnings.iter().all(|w| !w.contains("HDRSEC")),
        "{warnings:?}"
    );
}

/// Without the user's config.toml (`--ignore-user-config`) nothing of it
/// is read or watched, its trust included; `-c` still applies, and the
/// hint for an untrusted project names `-c`, not the unread file.
#[test]
fn without_the_user_config_only_the_command_line_counts() {
    let fixture = Fixture::new(
        "model = \"o3\"\n[mcp_servers.a]\ncommand = \"a\"\n\
         [projects.\"$PROJECT\"]\ntrust_level = \"trusted\"\n",
    );
    fixture.project_config("[mcp_servers.p]\ncommand = \"p\"\n");
    let options = |user_config, overrides: &[&str]| LoadOptions {
        codex_home: fixture.home.clone(),
        cwd: fixture.project.clone(),
        overrides: overrides
            .iter()
            .map(|o| o.parse().expect("valid override"))
            .collect(),
        user_config,
    };
    let with = load_config(&options(true, &[])).expect("loads");
    assert_eq!(names(&with), ["a", "p"]);
    assert!(config_files(&options(true, &[])).contains(&fixture.home.join("config.toml")));

    let without = load_config(&options(false, &["mcp_servers.c.command=\"c\""])).expect("loads");
    assert_eq!(names(&without), ["c"]);
    assert_eq!(without.model.model, None);
    assert!(!config_files(&options(false, &[])).contains(&fixture.home.join("config.toml")));
    let hint = &without.diagnostics[0];
    assert_eq!(hint.kind, DiagnosticKind::UntrustedProject);
    assert!(
        hint.message.contains("--ignore-user-config") && hint.message.contains("add -c"),
        "{}",
        hint.message
    );
}

/// An unknown key's text is the file's: its newlines and escapes are shown
/// escaped, so the warning stays one line.
#[test]
fn an_unknown_key_is_named_on_one_line() {
    let fixture = Fixture::new("\"a\\nwarning: fake\\u001b[2J\" = 1\n[\"t\\u202e\"]\nx = 1\n");
    let snapshot = fixture.load(&[]).expect("loads");
    let messages: Vec<&str> = snapshot
        .diagnostics
        .iter()
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(
        messages,
        [
            "unknown key `a\\u{a}warning: fake\\u{1b}[2J` (ignored)",
            "unknown key `t\\u{202e}` (ignored)",
        ]
    );
    assert!(
        snapshot
            .diagnostics
            .iter()
            .all(|d| d.kind == DiagnosticKind::UnknownKey)
    );
}
