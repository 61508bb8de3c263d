//! Landlock rules: read everywhere, write only the writable roots and a few devices; TCP off unless allowed.

use landlock::{
    ABI, Access, AccessFs, AccessNet, CompatLevel, Compatible, PathBeneath, PathFd, Ruleset,
    RulesetAttr, RulesetCreatedAttr, RulesetStatus, path_beneath_rules,
};

use crate::SandboxError;
use crate::helper_args::HelperRequest;

/// The filesystem ABI we target: every right up to ABI 5 is handled, as in
/// Codex. Later rights (pathname UNIX socket `connect`) are left alone so that
/// local IPC keeps working.
const FS_ABI: ABI = ABI::V5;

/// Device files that stay writable in every restricted mode.
const WRITABLE_DEVICES: [&str; 3] = ["/dev/null", "/dev/zero", "/dev/full"];

pub(super) fn restrict_self(request: &HelperRequest) -> Result<(), SandboxError> {
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(AccessFs::from_all(FS_ABI))?;
    if !request.network {
        // Defence in depth next to seccomp: no TCP bind/connect at all (ABI 4+).
        ruleset = ruleset.handle_access(AccessNet::from_all(ABI::V4))?;
    }
    let mut created = ruleset
        .create()?
        .add_rules(path_beneath_rules(["/"], AccessFs::from_read(FS_ABI)))?
        .add_rules(path_beneath_rules(
            WRITABLE_DEVICES,
            AccessFs::from_all(FS_ABI),
        ))?;
    for root in &request.writable_roots {
        let fd = PathFd::new(root)
            .map_err(|_| SandboxError::MissingWritableRoot { path: root.clone() })?;
        created = created.add_rule(PathBeneath::new(fd, AccessFs::from_all(FS_ABI)))?;
    }
    let status = created.no_new_privs(true).restrict_self()?;
    match status.ruleset {
        RulesetStatus::FullyEnforced | RulesetStatus::PartiallyEnforced => Ok(()),
        RulesetStatus::NotEnforced => Err(SandboxError::LandlockNotEnforced),
    }
}
