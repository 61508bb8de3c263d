//! The helper's argv protocol: a resolved policy plus the command, as plain flags.
//!
//! ```text
//! --mode read-only|workspace-write|danger-full-access
//! [--writable-root ABS]...      # writable directories
//! [--read-only ABS]...          # paths inside them to bind read-only
//! [--network]                   # network allowed (absent: blocked)
//! -- CMD [ARG]...
//! ```
//!
//! The parent resolves everything (roots, protected subpaths) so the helper
//! only applies what it is told. Paths travel as `OsString`s, so non-UTF-8
//! paths survive.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

use crate::SandboxError;
use crate::policy::SandboxMode;

/// Everything the helper needs to sandbox itself and exec the command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HelperRequest {
    pub(crate) mode: SandboxMode,
    pub(crate) writable_roots: Vec<PathBuf>,
    pub(crate) read_only_subpaths: Vec<PathBuf>,
    pub(crate) network: bool,
    pub(crate) command: Vec<OsString>,
}

impl HelperRequest {
    pub(crate) fn to_args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec!["--mode".into(), self.mode.as_str().into()];
        for root in &self.writable_roots {
            args.push("--writable-root".into());
            args.push(root.into());
        }
        for path in &self.read_only_subpaths {
            args.push("--read-only".into());
            args.push(path.into());
        }
        if self.network {
            args.push("--network".into());
        }
        args.push("--".into());
        args.extend(self.command.iter().cloned());
        args
    }

    pub(crate) fn parse<I>(args: I) -> Result<Self, SandboxError>
    where
        I: IntoIterator<Item = OsString>,
    {
        let mut args = args.into_iter();
        let bad = |arg: &OsStr, problem| SandboxError::HelperArgs {
            arg: arg.to_owned(),
            problem,
        };
        let mut mode = None;
        let mut request = HelperRequest {
            mode: SandboxMode::ReadOnly,
            writable_roots: Vec::new(),
            read_only_subpaths: Vec::new(),
            network: false,
            command: Vec::new(),
        };
        loop {
            let Some(flag) = args.next() else {
                return Err(bad(OsStr::new(""), "missing `-- COMMAND`"));
            };
            let flag_str = flag.to_str().unwrap_or("");
            match flag_str {
                "--" => break,
                "--network" => request.network = true,
                "--mode" | "--writable-root" | "--read-only" => {
                    let value = args.next().ok_or_else(|| bad(&flag, "missing value"))?;
                    match flag_str {
                        "--mode" => {
                            let parsed = value
                                .to_str()
                                .and_then(|v| v.parse::<SandboxMode>().ok())
                                .ok_or_else(|| bad(&value, "unknown sandbox mode"))?;
                            mode = Some(parsed);
                        }
                        _ => {
                            let path = PathBuf::from(&value);
                            if !path.is_absolute() {
                                return Err(bad(&value, "path must be absolute"));
                            }
                            if flag_str == "--writable-root" {
                                request.writable_roots.push(path);
                            } else {
                                request.read_only_subpaths.push(path);
                            }
                        }
                    }
                }
                _ => return Err(bad(&flag, "unknown flag")),
            }
        }
        request.mode = mode.ok_or_else(|| bad(OsStr::new("--"), "missing `--mode`"))?;
        request.command = args.collect();
        if request.command.is_empty() {
            return Err(SandboxError::EmptyCommand);
        }
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use proptest::prelude::*;
    use std::os::unix::ffi::OsStringExt;

    fn request() -> HelperRequest {
        HelperRequest {
            mode: SandboxMode::WorkspaceWrite,
            writable_roots: vec!["/work".into(), "/tmp".into()],
            read_only_subpaths: vec!["/work/.git".into()],
            network: false,
            command: vec!["sh".into(), "-c".into(), "echo --mode".into()],
        }
    }

    #[test]
    fn serialises_as_flags() {
        let args: Vec<String> = request()
            .to_args()
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect();
        assert_eq!(
            args.join(" "),
            "--mode workspace-write --writable-root /work --writable-root /tmp \
             --read-only /work/.git -- sh -c echo --mode"
        );
        assert_eq!(
            HelperRequest::parse(request().to_args()).unwrap(),
            request()
        );
    }

    #[test]
    fn rejects_bad_input() {
        let rows: [(&[&str], &str); 6] = [
            (
                &[],
                "bad sandbox helper arguments: missing `-- COMMAND` (at \"\")",
            ),
            (
                &["--mode", "ro", "--", "x"],
                "bad sandbox helper arguments: unknown sandbox mode (at \"ro\")",
            ),
            (
                &["--writable-root", "rel", "--", "x"],
                "bad sandbox helper arguments: path must be absolute (at \"rel\")",
            ),
            (
                &["--bogus", "--", "x"],
                "bad sandbox helper arguments: unknown flag (at \"--bogus\")",
            ),
            (
                &["--", "x"],
                "bad sandbox helper arguments: missing `--mode` (at \"--\")",
            ),
            (
                &["--mode", "read-only", "--"],
                "the command to run is empty",
            ),
        ];
        for (args, expected) in rows {
            let err = HelperRequest::parse(args.iter().map(OsString::from)).unwrap_err();
            assert_eq!(err.to_string(), expected, "{args:?}");
        }
    }

    proptest! {
        #[test]
        fn round_trips(
            roots in proptest::collection::vec(proptest::collection::vec(1u8..=255, 0..12), 0..4),
            command in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..12), 1..5),
            network in any::<bool>(),
        ) {
            let abs = |bytes: Vec<u8>| {
                let mut path = b"/".to_vec();
                path.extend(bytes);
                PathBuf::from(OsString::from_vec(path))
            };
            let request = HelperRequest {
                mode: SandboxMode::WorkspaceWrite,
                writable_roots: roots.clone().into_iter().map(abs).collect(),
                read_only_subpaths: roots.into_iter().map(abs).collect(),
                network,
                command: command.into_iter().map(OsString::from_vec).collect(),
            };
            prop_assert_eq!(HelperRequest::parse(request.to_args()).unwrap(), request);
        }
    }
}
