//! `[sandbox_workspace_write]` and `[shell_environment_policy]`: the config
//! tables that shape how commands run, resolved into `codex-sandbox` types.

use std::path::PathBuf;

use codex_sandbox::{EnvInherit, ShellEnvironmentPolicy};

use super::fields::{FieldProblem, Fields};

/// `[sandbox_workspace_write]`: extra knobs of the workspace-write mode.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkspaceWriteSettings {
    /// Let commands use the network.
    pub network_access: bool,
    /// More writable roots besides the cwd and the temp dirs.
    pub writable_roots: Vec<PathBuf>,
    /// Do not make `$TMPDIR` writable.
    pub exclude_tmpdir_env_var: bool,
    /// Do not make `/tmp` writable.
    pub exclude_slash_tmp: bool,
}

pub(crate) fn workspace_write(
    value: Option<&toml::Value>,
) -> Result<WorkspaceWriteSettings, FieldProblem> {
    let fields = Fields::new(&["sandbox_workspace_write"]);
    let Some(value) = value else {
        return Ok(WorkspaceWriteSettings::default());
    };
    let Some(table) = value.as_table() else {
        return Err(fields.problem(&[], "expected a table".to_owned()));
    };
    Ok(WorkspaceWriteSettings {
        network_access: fields.boolean(table, "network_access")?.unwrap_or(false),
        writable_roots: fields
            .strings(table, "writable_roots")?
            .unwrap_or_default()
            .into_iter()
            .map(PathBuf::from)
            .collect(),
        exclude_tmpdir_env_var: fields
            .boolean(table, "exclude_tmpdir_env_var")?
            .unwrap_or(false),
        exclude_slash_tmp: fields.boolean(table, "exclude_slash_tmp")?.unwrap_or(false),
    })
}

pub(crate) fn shell_environment_policy(
    value: Option<&toml::Value>,
) -> Result<ShellEnvironmentPolicy, FieldProblem> {
    let fields = Fields::new(&["shell_environment_policy"]);
    let defaults = ShellEnvironmentPolicy::default();
    let Some(value) = value else {
        return Ok(defaults);
    };
    let Some(table) = value.as_table() else {
        return Err(fields.problem(&[], "expected a table".to_owned()));
    };
    let inherit = match fields.string(table, "inherit")? {
        None => defaults.inherit,
        Some(text) => text.parse::<EnvInherit>().map_err(|_| {
            fields.problem(
                &["inherit"],
                format!("inherit: unknown value {text:?} (expected one of all, core, none)"),
            )
        })?,
    };
    Ok(ShellEnvironmentPolicy {
        inherit,
        ignore_default_excludes: fields
            .boolean(table, "ignore_default_excludes")?
            .unwrap_or(defaults.ignore_default_excludes),
        exclude: fields.strings(table, "exclude")?.unwrap_or_default(),
        set: fields.string_map(table, "set")?.unwrap_or_default(),
        include_only: fields.strings(table, "include_only")?.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str) -> toml::Value {
        toml::Value::Table(text.parse().expect("toml"))
    }

    #[test]
    fn defaults_when_absent() {
        assert_eq!(workspace_write(None), Ok(WorkspaceWriteSettings::default()));
        assert_eq!(
            shell_environment_policy(None),
            Ok(ShellEnvironmentPolicy::default())
        );
    }

    #[test]
    fn parses_every_key() {
        let ww = workspace_write(Some(&value(
            "network_access = true\nwritable_roots = [\"/data\"]\nexclude_slash_tmp = true",
        )))
        .expect("valid");
        assert!(ww.network_access && ww.exclude_slash_tmp && !ww.exclude_tmpdir_env_var);
        assert_eq!(ww.writable_roots, [PathBuf::from("/data")]);
        let env = shell_environment_policy(Some(&value(
            "inherit = \"core\"\nignore_default_excludes = false\nexclude = [\"AWS_*\"]\n\
             set = { CI = \"1\" }\ninclude_only = [\"PATH\", \"HOME\"]",
        )))
        .expect("valid");
        assert_eq!(env.inherit, EnvInherit::Core);
        assert!(!env.ignore_default_excludes);
        assert_eq!(env.exclude, ["AWS_*"]);
        assert_eq!(env.set.get("CI").map(String::as_str), Some("1"));
        assert_eq!(env.include_only, ["PATH", "HOME"]);
    }

    #[test]
    fn errors_name_the_key() {
        let err = shell_environment_policy(Some(&value("inherit = \"most\""))).expect_err("bad");
        assert_eq!(err.path, ["shell_environment_policy", "inherit"]);
        let err = workspace_write(Some(&value("network_access = \"yes\""))).expect_err("bad");
        assert_eq!(err.path, ["sandbox_workspace_write", "network_access"]);
    }
}
