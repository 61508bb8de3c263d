//! This module implements Codex's `apply_patch` tool: a pure parser of the patch
//! language and an applier that writes only where a [`WritePolicy`] allows.
//!
//! [`parse_patch`] turns the text into a [`Patch`]; [`plan`] reads the files, checks
//! every target and computes every new content without writing; [`apply`] writes,
//! undoing its writes if one fails. [`apply_patch`] does all three. The `Display`
//! texts of the errors and [`Applied::summary`] are the messages the model reads.

mod apply;
mod confined;
mod diff;
mod grammar;
mod matching;
mod parse;

use std::path::Path;

pub use apply::{Applied, ApplyError, ChangeKind, FileChange, Plan, WritePolicy, apply, plan};
pub use confined::{FileKind, MAX_FILE_BYTES};
pub use diff::unified_diff;
pub use grammar::{LARK_GRAMMAR, TOOL_DESCRIPTION};
pub use parse::{Hunk, ParseError, Patch, UpdateChunk, parse_patch};

/// Why `apply_patch` failed: the patch did not parse, or could not be applied.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PatchError {
    /// The patch text is malformed.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// The patch could not be applied; no file was changed unless the error says so.
    #[error(transparent)]
    Apply(#[from] ApplyError),
}

/// Parses `text`, plans it against `cwd` and `policy`, and applies it.
pub fn apply_patch(text: &str, cwd: &Path, policy: &WritePolicy) -> Result<Applied, PatchError> {
    let patch = parse_patch(text)?;
    let plan = plan(&patch, cwd, policy)?;
    Ok(apply(&plan)?)
}
