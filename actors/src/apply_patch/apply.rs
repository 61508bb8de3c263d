//! This file turns a parsed [`Patch`] into a [`Plan`], checked against a
//! [`WritePolicy`], and carries the plan out, undoing its writes if one fails.
//!
//! Planning reads every file the patch touches and computes every new content, but
//! changes nothing on disk; all policy checks and context matching happen there.
//! Applying then performs the writes in patch order through the confined operations
//! of the `confined` module, keeping a journal of what each write replaced, so that
//! a failure part way leaves every file as it was.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::io;
use std::path::{Component, Path, PathBuf};

use rustix::fs::FileType;
use rustix::io::Errno;

use super::confined::{self, FileKind, FileMeta, FsError, MAX_FILE_BYTES, Root};
use super::diff::unified_diff;
use super::matching::{MatchError, updated_text};
use super::parse::{Hunk, Patch};

/// Where `apply_patch` may write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WritePolicy {
    /// Any path the process can write (the `danger-full-access` sandbox).
    Anywhere,
    /// Only paths under one of these roots (relative roots start from the working
    /// directory); an empty list makes every write fail.
    Within(Vec<PathBuf>),
}

/// What a patch does to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// The file is created, or overwritten if it exists.
    Add,
    /// The file is removed.
    Delete,
    /// The file is edited, and maybe moved.
    Update,
}

/// One file that a patch changes, for the UI's `file_change` items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// The absolute, lexically normalised path of the file.
    pub path: PathBuf,
    /// What happens to the file.
    pub kind: ChangeKind,
    /// The absolute, lexically normalised new path of a moved file.
    pub move_to: Option<PathBuf>,
}

/// Why a patch could not be planned or applied; the `Display` text is what the
/// model reads. Paths are as written in the patch unless a field says otherwise.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The patch has no hunks.
    #[error("No files were modified.")]
    NoChanges,
    /// The working directory is a relative path.
    #[error(
        "Cannot apply a patch relative to '{}': the working directory must be an absolute path",
        cwd.display()
    )]
    RelativeCwd {
        /// The working directory that was given.
        cwd: PathBuf,
    },
    /// The target lies outside every writable root.
    #[error("{}", outside_roots_message(target, roots))]
    OutsideWritableRoots {
        /// The path as written in the patch.
        path: PathBuf,
        /// The absolute, lexically normalised target.
        target: PathBuf,
        /// The writable roots, normalised; empty when the sandbox is read-only.
        roots: Vec<PathBuf>,
    },
    /// Resolving the path went through a symbolic link that leads out of the root.
    #[error(
        "The patch tries to write {}, which resolves outside the writable roots through a \
         symbolic link",
        path.display()
    )]
    Escapes {
        /// The path as written in the patch.
        path: PathBuf,
    },
    /// The kernel lacks `openat2`, without which writes cannot be confined.
    #[error(
        "Refusing to touch {}: confining writes to the writable roots needs the openat2 \
         system call (Linux 5.6 or newer), which this kernel does not provide",
        path.display()
    )]
    Openat2Unavailable {
        /// The path as written in the patch.
        path: PathBuf,
    },
    /// A writable root could not be opened.
    #[error("Failed to open writable root {}: {source}", root.display())]
    OpenRoot {
        /// The root, normalised.
        root: PathBuf,
        /// The error of `open`.
        source: io::Error,
    },
    /// The path names something other than a regular file.
    #[error(
        "{} is a {kind}, not a regular file; apply_patch only reads and writes regular files",
        path.display()
    )]
    NotRegularFile {
        /// The path as written in the patch.
        path: PathBuf,
        /// What it is instead.
        kind: FileKind,
    },
    /// The file is larger than the read limit.
    #[error("{} is larger than {limit} bytes, the most apply_patch reads", path.display())]
    TooLarge {
        /// The path as written in the patch.
        path: PathBuf,
        /// The limit in bytes.
        limit: u64,
    },
    /// The file to update is not UTF-8 text.
    #[error("Failed to read file to update {}: the file is not valid UTF-8", path.display())]
    NotUtf8 {
        /// The path as written in the patch.
        path: PathBuf,
    },
    /// The `@@` context line of a chunk was not found.
    #[error("Failed to find context '{context}' in {}", path.display())]
    ContextNotFound {
        /// The path as written in the patch.
        path: PathBuf,
        /// The context line.
        context: String,
    },
    /// The old lines of a chunk were not found.
    #[error("Failed to find expected lines in {}:\n{lines}", path.display())]
    LinesNotFound {
        /// The path as written in the patch.
        path: PathBuf,
        /// The chunk's old lines, joined with newlines.
        lines: String,
    },
    /// The file to update could not be read.
    #[error("Failed to read file to update {}: {source}", path.display())]
    Read {
        /// The path as written in the patch.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The file to delete could not be deleted (or read first, to allow undoing).
    #[error("Failed to delete file {}: {source}", path.display())]
    Delete {
        /// The path as written in the patch.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The file could not be written.
    #[error("Failed to write file {}: {source}", path.display())]
    Write {
        /// The path as written in the patch.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The parent directories of the file could not be opened or created.
    #[error("Failed to create parent directories for {}: {source}", path.display())]
    CreateParent {
        /// The path as written in the patch.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A write failed and every earlier write of the patch was undone.
    #[error("{source}\nNo file was changed: the writes already made were undone.")]
    RolledBack {
        /// The failure that stopped the patch.
        source: Box<ApplyError>,
    },
    /// A write failed and undoing the earlier writes failed too.
    #[error(
        "{source}\nUndoing the writes already made also failed, so some files are changed: {}",
        join_errors(failures)
    )]
    RollbackIncomplete {
        /// The failure that stopped the patch.
        source: Box<ApplyError>,
        /// The failures while undoing, latest write first.
        failures: Vec<ApplyError>,
    },
}

/// Writes the message of [`ApplyError::OutsideWritableRoots`].
fn outside_roots_message(target: &Path, roots: &[PathBuf]) -> String {
    if roots.is_empty() {
        return format!(
            "The patch tries to write {}, but the sandbox is read-only: there are no writable roots",
            target.display()
        );
    }
    let mut message = format!(
        "The patch tries to write {}, which is outside the writable roots: ",
        target.display()
    );
    for (i, root) in roots.iter().enumerate() {
        if i > 0 {
            message.push_str(", ");
        }
        let _ = write!(message, "{}", root.display());
    }
    message
}

/// Joins the messages of rollback failures.
fn join_errors(errors: &[ApplyError]) -> String {
    let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
    messages.join("; ")
}

/// What a filesystem operation was doing, which chooses the error's wording.
#[derive(Debug, Clone, Copy)]
enum Action {
    /// Reading a file to update.
    Read,
    /// Deleting a file.
    Delete,
    /// Writing a file.
    Write,
    /// Opening or creating parent directories.
    CreateParent,
}

/// Names the path and action of a filesystem failure.
fn fs_error(error: FsError, action: Action, path: &Path) -> ApplyError {
    let path = path.to_owned();
    match error {
        FsError::Escapes => ApplyError::Escapes { path },
        FsError::Openat2Missing => ApplyError::Openat2Unavailable { path },
        FsError::NotRegular(kind) => ApplyError::NotRegularFile { path, kind },
        FsError::TooLarge => ApplyError::TooLarge {
            path,
            limit: MAX_FILE_BYTES,
        },
        FsError::Io(source) => match action {
            Action::Read => ApplyError::Read { path, source },
            Action::Delete => ApplyError::Delete { path, source },
            Action::Write => ApplyError::Write { path, source },
            Action::CreateParent => ApplyError::CreateParent { path, source },
        },
    }
}

/// Returns the error for a file that is not there.
fn not_found(action: Action, path: &Path) -> ApplyError {
    fs_error(FsError::Io(Errno::NOENT.into()), action, path)
}

/// Resolves `.` and `..` in `path` on the text alone; `..` at the root stays there.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Where one file of the patch lives: a root and a path relative to it.
#[derive(Debug, Clone)]
struct Location {
    /// The index of the root in [`Plan::roots`].
    root: usize,
    /// The path relative to the root; only normal components.
    rel: PathBuf,
    /// The absolute, lexically normalised target.
    target: PathBuf,
    /// The path as written in the patch, for messages.
    shown: PathBuf,
}

impl Location {
    /// Splits the relative path into its parent directory and file name.
    fn split(&self) -> Result<(&Path, &OsStr), ApplyError> {
        match (self.rel.parent(), self.rel.file_name()) {
            (Some(parent), Some(name)) => Ok((parent, name)),
            _ => Err(ApplyError::NotRegularFile {
                path: self.shown.clone(),
                kind: FileKind::Directory,
            }),
        }
    }
}

/// One write of a plan.
#[derive(Debug)]
enum Operation {
    /// Creates or replaces a file with these bytes.
    Write {
        /// Where.
        location: Location,
        /// The new content.
        bytes: Vec<u8>,
    },
    /// Removes a file or symbolic link.
    Remove {
        /// Where.
        location: Location,
    },
}

/// The old and new text of one change, for its diff.
#[derive(Debug, Clone)]
struct ChangeText {
    /// The label of the old side, `/dev/null` for a new file.
    old_label: String,
    /// The label of the new side, `/dev/null` for a deleted file.
    new_label: String,
    /// The old text, lossily decoded.
    old: String,
    /// The new text, lossily decoded.
    new: String,
}

/// The paths of the success message, as written in the patch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Summary {
    /// Added files.
    added: Vec<PathBuf>,
    /// Updated files, under their new path when moved.
    modified: Vec<PathBuf>,
    /// Deleted files.
    deleted: Vec<PathBuf>,
}

/// Everything a patch will do, checked and computed, but not yet written.
#[derive(Debug)]
pub struct Plan {
    /// The roots the operations are relative to.
    roots: Vec<Root>,
    /// The writes, in order.
    operations: Vec<Operation>,
    /// One entry per hunk.
    changes: Vec<FileChange>,
    /// The texts of each change, parallel to `changes`.
    texts: Vec<ChangeText>,
    /// The success message's paths.
    summary: Summary,
}

impl Plan {
    /// Returns the files the patch changes, one per hunk, in patch order.
    pub fn changes(&self) -> &[FileChange] {
        &self.changes
    }

    /// Returns each change with a unified diff of its file, old against new.
    pub fn diffs(&self) -> impl Iterator<Item = (&FileChange, String)> + '_ {
        self.changes.iter().zip(&self.texts).map(|(change, text)| {
            let diff = unified_diff(&text.old, &text.new, &text.old_label, &text.new_label);
            (change, diff)
        })
    }
}

/// The result of a patch that was applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The files changed, one per hunk.
    changes: Vec<FileChange>,
    /// The success message's paths.
    summary: Summary,
}

impl Applied {
    /// Returns the message for the model: `Success. Updated the following files:`
    /// and then a line `A <path>`, `M <path>` or `D <path>` per file, each ending
    /// with a newline.
    pub fn summary(&self) -> String {
        let mut text = String::from("Success. Updated the following files:\n");
        let groups = [
            ('A', &self.summary.added),
            ('M', &self.summary.modified),
            ('D', &self.summary.deleted),
        ];
        for (letter, paths) in groups {
            for path in paths {
                let _ = writeln!(text, "{letter} {}", path.display());
            }
        }
        text
    }

    /// Returns the files changed, one per hunk, in patch order.
    pub fn changes(&self) -> &[FileChange] {
        &self.changes
    }
}

/// Builds a [`Plan`]: the state of the files seen so far and the writes decided.
struct Planner<'a> {
    /// The working directory that relative paths start from.
    cwd: &'a Path,
    /// The write policy.
    policy: &'a WritePolicy,
    /// The writable roots, normalised (unused under `Anywhere`).
    allowed: Vec<PathBuf>,
    /// The roots opened so far.
    roots: Vec<Root>,
    /// The content each target will have after the writes so far; `None` if removed.
    overlay: HashMap<PathBuf, Option<Vec<u8>>>,
    /// The writes so far.
    operations: Vec<Operation>,
    /// The changes so far.
    changes: Vec<FileChange>,
    /// Their texts.
    texts: Vec<ChangeText>,
    /// The success message's paths so far.
    summary: Summary,
}

/// Reads every file `patch` touches, checks every target against `policy`, and
/// computes the new contents, without changing anything on disk.
///
/// Relative paths in the patch start from `cwd`, which must be absolute. Hunks see
/// the effect of the hunks before them, as if applied one after the other.
pub fn plan(patch: &Patch, cwd: &Path, policy: &WritePolicy) -> Result<Plan, ApplyError> {
    if patch.hunks.is_empty() {
        return Err(ApplyError::NoChanges);
    }
    if !cwd.is_absolute() {
        return Err(ApplyError::RelativeCwd {
            cwd: cwd.to_owned(),
        });
    }
    let allowed = match policy {
        WritePolicy::Anywhere => Vec::new(),
        WritePolicy::Within(roots) => roots
            .iter()
            .map(|root| normalize(&cwd.join(root)))
            .collect(),
    };
    let mut planner = Planner {
        cwd,
        policy,
        allowed,
        roots: Vec::new(),
        overlay: HashMap::new(),
        operations: Vec::new(),
        changes: Vec::new(),
        texts: Vec::new(),
        summary: Summary::default(),
    };
    for hunk in &patch.hunks {
        planner.plan_hunk(hunk)?;
    }
    Ok(Plan {
        roots: planner.roots,
        operations: planner.operations,
        changes: planner.changes,
        texts: planner.texts,
        summary: planner.summary,
    })
}

impl Planner<'_> {
    /// Plans one hunk.
    fn plan_hunk(&mut self, hunk: &Hunk) -> Result<(), ApplyError> {
        match hunk {
            Hunk::Add { path, contents } => {
                let location = self.locate(path)?;
                let old = self.existing_for_write(&location)?;
                let old_label = match old {
                    Some(_) => path.display().to_string(),
                    None => "/dev/null".to_owned(),
                };
                self.texts.push(ChangeText {
                    old_label,
                    new_label: path.display().to_string(),
                    old: lossy(old.as_deref()),
                    new: contents.clone(),
                });
                self.changes.push(FileChange {
                    path: location.target.clone(),
                    kind: ChangeKind::Add,
                    move_to: None,
                });
                self.summary.added.push(path.clone());
                self.write(location, contents.as_bytes().to_vec());
            }
            Hunk::Delete { path } => {
                let location = self.locate(path)?;
                let old = self.existing_for_delete(&location)?;
                self.texts.push(ChangeText {
                    old_label: path.display().to_string(),
                    new_label: "/dev/null".to_owned(),
                    old: lossy(old.as_deref()),
                    new: String::new(),
                });
                self.changes.push(FileChange {
                    path: location.target.clone(),
                    kind: ChangeKind::Delete,
                    move_to: None,
                });
                self.summary.deleted.push(path.clone());
                self.remove(location);
            }
            Hunk::Update {
                path,
                move_to,
                chunks,
            } => {
                let location = self.locate(path)?;
                let bytes = self.existing_for_update(&location)?;
                let old = String::from_utf8(bytes)
                    .map_err(|_| ApplyError::NotUtf8 { path: path.clone() })?;
                let new = updated_text(&old, chunks).map_err(|error| match error {
                    MatchError::Context { context } => ApplyError::ContextNotFound {
                        path: path.clone(),
                        context,
                    },
                    MatchError::Lines { lines } => ApplyError::LinesNotFound {
                        path: path.clone(),
                        lines,
                    },
                })?;
                let destination = match move_to {
                    Some(to) => {
                        let destination = self.locate(to)?;
                        if destination.target != location.target {
                            self.existing_for_write(&destination)?;
                        }
                        Some(destination)
                    }
                    None => None,
                };
                let shown_new = move_to.as_ref().unwrap_or(path);
                self.texts.push(ChangeText {
                    old_label: path.display().to_string(),
                    new_label: shown_new.display().to_string(),
                    old,
                    new: new.clone(),
                });
                self.changes.push(FileChange {
                    path: location.target.clone(),
                    kind: ChangeKind::Update,
                    move_to: destination.as_ref().map(|d| d.target.clone()),
                });
                self.summary.modified.push(shown_new.clone());
                match destination {
                    Some(destination) if destination.target != location.target => {
                        self.write(destination, new.into_bytes());
                        self.remove(location);
                    }
                    Some(destination) => self.write(destination, new.into_bytes()),
                    None => self.write(location, new.into_bytes()),
                }
            }
        }
        Ok(())
    }

    /// Records a write of `bytes` to `location`.
    fn write(&mut self, location: Location, bytes: Vec<u8>) {
        self.overlay
            .insert(location.target.clone(), Some(bytes.clone()));
        self.operations.push(Operation::Write { location, bytes });
    }

    /// Records the removal of `location`.
    fn remove(&mut self, location: Location) {
        self.overlay.insert(location.target.clone(), None);
        self.operations.push(Operation::Remove { location });
    }

    /// Resolves a path of the patch to its root, checking the write policy.
    fn locate(&mut self, shown: &Path) -> Result<Location, ApplyError> {
        let target = normalize(&self.cwd.join(shown));
        let (root_path, confined) = match self.policy {
            WritePolicy::Anywhere => (PathBuf::from("/"), false),
            WritePolicy::Within(_) => {
                let best = self
                    .allowed
                    .iter()
                    .filter(|root| target.starts_with(root))
                    .max_by_key(|root| root.components().count());
                match best {
                    Some(root) => (root.clone(), true),
                    None => {
                        return Err(ApplyError::OutsideWritableRoots {
                            path: shown.to_owned(),
                            target,
                            roots: self.allowed.clone(),
                        });
                    }
                }
            }
        };
        let root = match self.roots.iter().position(|root| root.path == root_path) {
            Some(index) => index,
            None => {
                let opened =
                    Root::open(&root_path, confined).map_err(|source| ApplyError::OpenRoot {
                        root: root_path.clone(),
                        source,
                    })?;
                self.roots.push(opened);
                self.roots.len() - 1
            }
        };
        let rel = target
            .strip_prefix(&root_path)
            .map(Path::to_path_buf)
            .unwrap_or_default();
        Ok(Location {
            root,
            rel,
            target,
            shown: shown.to_owned(),
        })
    }

    /// Returns the root of `location`.
    fn root(&self, location: &Location) -> Result<&Root, ApplyError> {
        root_of(&self.roots, location)
    }

    /// Returns the current content of a file to update.
    fn existing_for_update(&self, location: &Location) -> Result<Vec<u8>, ApplyError> {
        match self.overlay.get(&location.target) {
            Some(Some(bytes)) => return Ok(bytes.clone()),
            Some(None) => return Err(not_found(Action::Read, &location.shown)),
            None => {}
        }
        let read = self.root(location)?.read_file(&location.rel);
        read.map(|(bytes, _)| bytes)
            .map_err(|error| fs_error(error, Action::Read, &location.shown))
    }

    /// Checks that a file to delete exists and returns its content (`None` for a
    /// symbolic link, which is removed itself).
    fn existing_for_delete(&self, location: &Location) -> Result<Option<Vec<u8>>, ApplyError> {
        match self.overlay.get(&location.target) {
            Some(Some(bytes)) => return Ok(Some(bytes.clone())),
            Some(None) => return Err(not_found(Action::Delete, &location.shown)),
            None => {}
        }
        let error = |error| fs_error(error, Action::Delete, &location.shown);
        let root = self.root(location)?;
        let (parent, name) = location.split()?;
        let dir = root.open_dir(parent).map_err(error)?;
        match confined::kind_at(&dir, name).map_err(error)? {
            None => Err(not_found(Action::Delete, &location.shown)),
            Some(FileType::RegularFile) => {
                let (bytes, _) = root.read_file(&location.rel).map_err(error)?;
                Ok(Some(bytes))
            }
            Some(FileType::Symlink) => Ok(None),
            Some(other) => Err(error(FsError::NotRegular(FileKind::of(other)))),
        }
    }

    /// Checks that a file can be written at `location` and returns its current
    /// content, if it has one.
    fn existing_for_write(&self, location: &Location) -> Result<Option<Vec<u8>>, ApplyError> {
        if let Some(state) = self.overlay.get(&location.target) {
            return Ok(state.clone());
        }
        let error = |error| fs_error(error, Action::Write, &location.shown);
        let root = self.root(location)?;
        let (parent, name) = location.split()?;
        let probed = root.probe_dir(parent);
        let dir = probed.map_err(|e| fs_error(e, Action::CreateParent, &location.shown))?;
        let Some(dir) = dir else {
            return Ok(None);
        };
        match confined::kind_at(&dir, name).map_err(error)? {
            None => Ok(None),
            Some(FileType::RegularFile | FileType::Symlink) => {
                let (bytes, _) = root.read_file(&location.rel).map_err(error)?;
                Ok(Some(bytes))
            }
            Some(other) => Err(error(FsError::NotRegular(FileKind::of(other)))),
        }
    }
}

/// Decodes optional bytes for a diff, replacing invalid UTF-8.
fn lossy(bytes: Option<&[u8]>) -> String {
    bytes.map_or_else(String::new, |bytes| {
        String::from_utf8_lossy(bytes).into_owned()
    })
}

/// Returns the root of `location` among `roots`.
fn root_of<'r>(roots: &'r [Root], location: &Location) -> Result<&'r Root, ApplyError> {
    roots
        .get(location.root)
        .ok_or_else(|| not_found(Action::Write, &location.shown))
}

/// How to undo one write that was made.
#[derive(Debug)]
enum Undo<'p> {
    /// Remove a file that did not exist before.
    RemoveFile(&'p Location),
    /// Put back a regular file with these bytes, permissions and owner.
    RestoreFile {
        /// Where.
        location: &'p Location,
        /// The old content.
        bytes: Vec<u8>,
        /// The old permissions and owner.
        meta: FileMeta,
    },
    /// Write these bytes back through the symbolic link at `location`.
    RestoreThroughLink {
        /// Where.
        location: &'p Location,
        /// The old content.
        bytes: Vec<u8>,
    },
    /// Re-create a symbolic link that was removed.
    RestoreLink {
        /// Where.
        location: &'p Location,
        /// The link's target.
        target: OsString,
    },
    /// Remove a directory that was created.
    RemoveDir {
        /// The index of the root.
        root: usize,
        /// The directory, relative to the root.
        rel: PathBuf,
        /// The path of the patch that caused it, for messages.
        shown: &'p Path,
    },
}

/// Performs the writes of `plan` in order. If one fails, undoes those already made
/// and returns [`ApplyError::RolledBack`] (or [`ApplyError::RollbackIncomplete`]
/// when undoing fails too), naming the path that failed.
pub fn apply(plan: &Plan) -> Result<Applied, ApplyError> {
    let mut journal = Vec::new();
    for operation in &plan.operations {
        if let Err(error) = perform(&plan.roots, operation, &mut journal) {
            let failures = undo(&plan.roots, journal);
            let source = Box::new(error);
            return Err(if failures.is_empty() {
                ApplyError::RolledBack { source }
            } else {
                ApplyError::RollbackIncomplete { source, failures }
            });
        }
    }
    Ok(Applied {
        changes: plan.changes.clone(),
        summary: plan.summary.clone(),
    })
}

/// Performs one write, recording in `journal` how to undo what it changed.
fn perform<'p>(
    roots: &[Root],
    operation: &'p Operation,
    journal: &mut Vec<Undo<'p>>,
) -> Result<(), ApplyError> {
    match operation {
        Operation::Write { location, bytes } => {
            let root = root_of(roots, location)?;
            let (parent, name) = location.split()?;
            let error = |error| fs_error(error, Action::Write, &location.shown);
            let mut created = Vec::new();
            let dir = root.ensure_dir(parent, &mut created);
            journal.extend(created.into_iter().map(|rel| Undo::RemoveDir {
                root: location.root,
                rel,
                shown: &location.shown,
            }));
            let dir = dir.map_err(|e| fs_error(e, Action::CreateParent, &location.shown))?;
            match confined::kind_at(&dir, name).map_err(error)? {
                None => {
                    root.replace_file(&dir, name, bytes, None).map_err(error)?;
                    journal.push(Undo::RemoveFile(location));
                }
                Some(FileType::RegularFile) => {
                    let (old, meta) = root.read_file(&location.rel).map_err(error)?;
                    root.replace_file(&dir, name, bytes, Some(meta))
                        .map_err(error)?;
                    journal.push(Undo::RestoreFile {
                        location,
                        bytes: old,
                        meta,
                    });
                }
                Some(FileType::Symlink) => {
                    let (old, _) = root.read_file(&location.rel).map_err(error)?;
                    journal.push(Undo::RestoreThroughLink {
                        location,
                        bytes: old,
                    });
                    root.write_through(&location.rel, bytes).map_err(error)?;
                }
                Some(other) => return Err(error(FsError::NotRegular(FileKind::of(other)))),
            }
        }
        Operation::Remove { location } => {
            let root = root_of(roots, location)?;
            let (parent, name) = location.split()?;
            let error = |error| fs_error(error, Action::Delete, &location.shown);
            let dir = root.open_dir(parent).map_err(error)?;
            match confined::kind_at(&dir, name).map_err(error)? {
                None => return Err(not_found(Action::Delete, &location.shown)),
                Some(FileType::RegularFile) => {
                    let (old, meta) = root.read_file(&location.rel).map_err(error)?;
                    confined::remove_file(&dir, name).map_err(error)?;
                    journal.push(Undo::RestoreFile {
                        location,
                        bytes: old,
                        meta,
                    });
                }
                Some(FileType::Symlink) => {
                    let target = confined::read_link(&dir, name).map_err(error)?;
                    confined::remove_file(&dir, name).map_err(error)?;
                    journal.push(Undo::RestoreLink { location, target });
                }
                Some(other) => return Err(error(FsError::NotRegular(FileKind::of(other)))),
            }
        }
    }
    Ok(())
}

/// Undoes the journal's steps, latest first, and returns the steps that failed.
fn undo(roots: &[Root], journal: Vec<Undo<'_>>) -> Vec<ApplyError> {
    journal
        .into_iter()
        .rev()
        .filter_map(|step| undo_step(roots, step).err())
        .collect()
}

/// Undoes one step.
fn undo_step(roots: &[Root], step: Undo<'_>) -> Result<(), ApplyError> {
    let ignore_missing = |result: Result<(), FsError>| match result {
        Err(error) if error.is_not_found() => Ok(()),
        other => other,
    };
    match step {
        Undo::RemoveFile(location) => {
            let error = |error| fs_error(error, Action::Delete, &location.shown);
            let root = root_of(roots, location)?;
            let (parent, name) = location.split()?;
            let dir = root.open_dir(parent).map_err(error)?;
            ignore_missing(confined::remove_file(&dir, name)).map_err(error)
        }
        Undo::RestoreFile {
            location,
            bytes,
            meta,
        } => {
            let error = |error| fs_error(error, Action::Write, &location.shown);
            let root = root_of(roots, location)?;
            let (parent, name) = location.split()?;
            let dir = root.open_dir(parent).map_err(error)?;
            root.replace_file(&dir, name, &bytes, Some(meta))
                .map_err(error)
        }
        Undo::RestoreThroughLink { location, bytes } => {
            let root = root_of(roots, location)?;
            root.write_through(&location.rel, &bytes)
                .map_err(|error| fs_error(error, Action::Write, &location.shown))
        }
        Undo::RestoreLink { location, target } => {
            let error = |error| fs_error(error, Action::Write, &location.shown);
            let root = root_of(roots, location)?;
            let (parent, name) = location.split()?;
            let dir = root.open_dir(parent).map_err(error)?;
            ignore_missing(confined::remove_file(&dir, name)).map_err(error)?;
            confined::make_link(&dir, name, &target).map_err(error)
        }
        Undo::RemoveDir { root, rel, shown } => {
            let error = |error| fs_error(error, Action::CreateParent, shown);
            let root = roots
                .get(root)
                .ok_or_else(|| not_found(Action::Write, shown))?;
            let (Some(parent), Some(name)) = (rel.parent(), rel.file_name()) else {
                return Ok(());
            };
            let dir = root.open_dir(parent).map_err(error)?;
            ignore_missing(confined::remove_dir(&dir, name)).map_err(error)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::fs;
    use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};

    use expect_test::{Expect, expect};
    use proptest::prelude::*;
    use rustix::fs::Mode;

    use super::super::parse::parse_patch;
    use super::super::{PatchError, apply_patch};
    use super::*;

    /// One entry of a directory tree, as compared before and after a patch.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Node {
        /// A regular file with its bytes and permission bits.
        File(Vec<u8>, u32),
        /// A directory with its permission bits.
        Dir(u32),
        /// A symbolic link with its target.
        Link(PathBuf),
        /// Anything else.
        Other,
    }

    /// Records every entry under `dir`, by path relative to it.
    fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Node> {
        let mut nodes = BTreeMap::new();
        let mut pending = vec![dir.to_path_buf()];
        while let Some(current) = pending.pop() {
            for entry in fs::read_dir(&current).unwrap() {
                let path = entry.unwrap().path();
                let meta = fs::symlink_metadata(&path).unwrap();
                let mode = meta.permissions().mode() & 0o7777;
                let node = if meta.file_type().is_symlink() {
                    Node::Link(fs::read_link(&path).unwrap())
                } else if meta.is_dir() {
                    pending.push(path.clone());
                    Node::Dir(mode)
                } else if meta.is_file() {
                    Node::File(fs::read(&path).unwrap(), mode)
                } else {
                    Node::Other
                };
                nodes.insert(path.strip_prefix(dir).unwrap().to_path_buf(), node);
            }
        }
        nodes
    }

    /// Renders a snapshot as text: one `== path` header per entry, then file content.
    fn listing(dir: &Path) -> String {
        let mut out = String::new();
        for (path, node) in snapshot(dir) {
            let _ = match node {
                Node::File(bytes, _) => write!(
                    out,
                    "== {}\n{}",
                    path.display(),
                    String::from_utf8_lossy(&bytes)
                ),
                Node::Dir(_) => writeln!(out, "== {}/", path.display()),
                Node::Link(target) => {
                    writeln!(out, "== {} -> {}", path.display(), target.display())
                }
                Node::Other => writeln!(out, "== {} (special)", path.display()),
            };
        }
        out
    }

    /// A temporary directory holding a workspace `ws` and a sibling `outside`.
    struct Sandbox {
        /// Keeps the directory alive.
        dir: tempfile::TempDir,
    }

    impl Sandbox {
        /// Creates the sandbox with `files` (path, content) in the workspace.
        fn new(files: &[(&str, &str)]) -> Sandbox {
            let dir = tempfile::tempdir().unwrap();
            fs::create_dir(dir.path().join("ws")).unwrap();
            fs::create_dir(dir.path().join("outside")).unwrap();
            let sandbox = Sandbox { dir };
            for (path, content) in files {
                let path = sandbox.ws().join(path);
                fs::create_dir_all(path.parent().unwrap()).unwrap();
                fs::write(path, content).unwrap();
            }
            sandbox
        }

        /// The workspace, the only writable root.
        fn ws(&self) -> PathBuf {
            self.dir.path().join("ws")
        }

        /// The directory beside the workspace, which must never change.
        fn outside(&self) -> PathBuf {
            self.dir.path().join("outside")
        }

        /// The policy that allows writing in the workspace only.
        fn policy(&self) -> WritePolicy {
            WritePolicy::Within(vec![self.ws()])
        }

        /// Applies `patch` in the workspace and returns the message, with the
        /// temporary directory's path replaced by `$TMP`.
        fn run(&self, patch: &str, policy: &WritePolicy) -> String {
            let message = match apply_patch(patch, &self.ws(), policy) {
                Ok(applied) => applied.summary(),
                Err(error) => format!("error: {error}\n"),
            };
            message.replace(&self.dir.path().display().to_string(), "$TMP")
        }
    }

    /// Applies `patch` to a workspace holding `files` and compares the message and
    /// the resulting workspace with `expected`.
    fn check(files: &[(&str, &str)], patch: &str, expected: Expect) {
        let sandbox = Sandbox::new(files);
        let message = sandbox.run(patch, &sandbox.policy());
        expected.assert_eq(&format!("{message}{}", listing(&sandbox.ws())));
    }

    /// Applies `patch` to a workspace holding `files`, checks that nothing changed,
    /// and compares the message with `expected`.
    fn check_unchanged(files: &[(&str, &str)], patch: &str, expected: Expect) {
        let sandbox = Sandbox::new(files);
        let before = snapshot(sandbox.dir.path());
        let message = sandbox.run(patch, &sandbox.policy());
        assert_eq!(snapshot(sandbox.dir.path()), before, "the tree changed");
        expected.assert_eq(&message);
    }

    #[test]
    fn adds_files_in_new_directories() {
        check(
            &[("keep.txt", "k\n")],
            "*** Begin Patch\n*** Add File: a/b/c.txt\n+hello\n+world\n*** Add File: keep.txt\n+replaced\n*** End Patch",
            expect![[r#"
                Success. Updated the following files:
                A a/b/c.txt
                A keep.txt
                == a/
                == a/b/
                == a/b/c.txt
                hello
                world
                == keep.txt
                replaced
            "#]],
        );
    }

    #[test]
    fn updates_with_context_and_end_of_file() {
        check(
            &[(
                "src/lib.rs",
                "fn a() {\n    1\n}\n\nfn b() {\n    1\n}\n// end\n",
            )],
            "*** Begin Patch
*** Update File: src/lib.rs
@@ fn b() {
-    1
+    2
@@
-// end
+// the end
*** End of File
*** End Patch",
            expect![[r#"
                Success. Updated the following files:
                M src/lib.rs
                == src/
                == src/lib.rs
                fn a() {
                    1
                }

                fn b() {
                    2
                }
                // the end
            "#]],
        );
    }

    #[test]
    fn deletes_and_moves_in_one_patch() {
        check(
            &[("old.txt", "gone\n"), ("a.txt", "x\ny\n"), ("b.txt", "1\n")],
            "*** Begin Patch
*** Delete File: old.txt
*** Update File: a.txt
*** Move to: moved/a2.txt
@@
 x
-y
+z
*** Update File: b.txt
@@
-1
+2
*** End Patch",
            expect![[r#"
                Success. Updated the following files:
                M moved/a2.txt
                M b.txt
                D old.txt
                == b.txt
                2
                == moved/
                == moved/a2.txt
                x
                z
            "#]],
        );
    }

    #[test]
    fn later_hunks_see_earlier_ones() {
        check(
            &[("a.txt", "1\n")],
            "*** Begin Patch
*** Update File: a.txt
@@
-1
+2
*** Update File: a.txt
*** Move to: b.txt
@@
-2
+3
*** Delete File: b.txt
*** Add File: b.txt
+4
*** End Patch",
            expect![[r#"
                Success. Updated the following files:
                A b.txt
                M a.txt
                M b.txt
                D b.txt
                == b.txt
                4
            "#]],
        );
    }

    #[test]
    fn accepts_lenient_patches() {
        check(
            &[("a.txt", "one  \ntwo\nthree\n")],
            "apply_patch <<'EOF'
*** Begin Patch
*** Update File: a.txt
 one
-two
+2
*** End Patch
EOF
",
            expect![[r#"
                Success. Updated the following files:
                M a.txt
                == a.txt
                one  
                2
                three
            "#]],
        );
    }

    #[test]
    fn a_mismatch_in_the_last_hunk_changes_nothing() {
        check_unchanged(
            &[("a.txt", "a\n"), ("b.txt", "b\n")],
            "*** Begin Patch
*** Add File: new/file.txt
+n
*** Delete File: a.txt
*** Update File: b.txt
@@
-b
+B
*** Update File: b.txt
@@
-not there
+x
*** End Patch",
            expect![[r#"
                error: Failed to find expected lines in b.txt:
                not there
            "#]],
        );
        check_unchanged(
            &[("b.txt", "b\n")],
            "*** Begin Patch\n*** Update File: b.txt\n@@ fn nowhere\n-b\n*** End Patch",
            expect![[r#"
                error: Failed to find context 'fn nowhere' in b.txt
            "#]],
        );
        check_unchanged(
            &[],
            "*** Begin Patch\n*** Update File: missing.txt\n@@\n-b\n*** Delete File: gone.txt\n*** End Patch",
            expect![[r#"
                error: Failed to read file to update missing.txt: No such file or directory (os error 2)
            "#]],
        );
        check_unchanged(
            &[],
            "*** Begin Patch\n*** Delete File: gone.txt\n*** End Patch",
            expect![[r#"
                error: Failed to delete file gone.txt: No such file or directory (os error 2)
            "#]],
        );
        check_unchanged(
            &[],
            "*** Begin Patch\n*** End Patch",
            expect![[r#"
            error: No files were modified.
        "#]],
        );
    }

    #[test]
    fn refuses_writes_outside_the_roots() {
        let sandbox = Sandbox::new(&[("a.txt", "a\n")]);
        let before = snapshot(sandbox.dir.path());
        let add = "*** Begin Patch\n*** Add File: a2.txt\n+x\n*** End Patch";
        expect![[r#"
            error: The patch tries to write $TMP/ws/a2.txt, but the sandbox is read-only: there are no writable roots
        "#]].assert_eq(&sandbox.run(add, &WritePolicy::Within(Vec::new())));
        let escape = "*** Begin Patch\n*** Add File: sub/../../outside/x.txt\n+x\n*** End Patch";
        expect![[r#"
            error: The patch tries to write $TMP/outside/x.txt, which is outside the writable roots: $TMP/ws
        "#]].assert_eq(&sandbox.run(escape, &sandbox.policy()));
        let lookalike = format!(
            "*** Begin Patch\n*** Add File: {}2/x.txt\n+x\n*** End Patch",
            sandbox.ws().display()
        );
        expect![[r#"
            error: The patch tries to write $TMP/ws2/x.txt, which is outside the writable roots: $TMP/ws
        "#]].assert_eq(&sandbox.run(&lookalike, &sandbox.policy()));
        assert_eq!(snapshot(sandbox.dir.path()), before);
    }

    #[test]
    fn symlinks_cannot_lead_writes_out() {
        let sandbox = Sandbox::new(&[]);
        fs::write(sandbox.outside().join("secret.txt"), "secret\n").unwrap();
        symlink("../outside", sandbox.ws().join("rel")).unwrap();
        symlink(sandbox.outside(), sandbox.ws().join("abs")).unwrap();
        symlink("../outside/secret.txt", sandbox.ws().join("secret.txt")).unwrap();
        let before = snapshot(sandbox.dir.path());
        let patches = [
            "*** Add File: rel/x.txt\n+x",
            "*** Add File: abs/new/dir/x.txt\n+x",
            "*** Update File: secret.txt\n@@\n-secret\n+stolen",
            "*** Add File: secret.txt\n+stolen",
            "*** Delete File: abs/secret.txt",
            "*** Add File: ok.txt\n+x\n*** Update File: ok.txt\n*** Move to: rel/moved.txt\n@@\n+y",
        ];
        let mut messages = String::new();
        for body in patches {
            let patch = format!("*** Begin Patch\n{body}\n*** End Patch");
            messages.push_str(&sandbox.run(&patch, &sandbox.policy()));
        }
        assert_eq!(snapshot(sandbox.dir.path()), before);
        expect![[r#"
            error: The patch tries to write rel/x.txt, which resolves outside the writable roots through a symbolic link
            error: The patch tries to write abs/new/dir/x.txt, which resolves outside the writable roots through a symbolic link
            error: The patch tries to write secret.txt, which resolves outside the writable roots through a symbolic link
            error: The patch tries to write secret.txt, which resolves outside the writable roots through a symbolic link
            error: The patch tries to write abs/secret.txt, which resolves outside the writable roots through a symbolic link
            error: The patch tries to write rel/moved.txt, which resolves outside the writable roots through a symbolic link
        "#]].assert_eq(&messages);

        // Deleting the link itself is a write inside the workspace, so it is allowed.
        let delete = "*** Begin Patch\n*** Delete File: secret.txt\n*** End Patch";
        expect![[r#"
            Success. Updated the following files:
            D secret.txt
        "#]]
        .assert_eq(&sandbox.run(delete, &sandbox.policy()));
        assert_eq!(
            fs::read_to_string(sandbox.outside().join("secret.txt")).unwrap(),
            "secret\n"
        );
    }

    #[test]
    fn symlinks_within_the_root_work() {
        let sandbox = Sandbox::new(&[("real/t.txt", "old\n")]);
        symlink("real", sandbox.ws().join("alias")).unwrap();
        symlink("real/t.txt", sandbox.ws().join("l.txt")).unwrap();
        let patch = "*** Begin Patch
*** Add File: alias/sub/n.txt
+new
*** Update File: l.txt
@@
-old
+new
*** End Patch";
        let message = sandbox.run(patch, &sandbox.policy());
        expect![[r#"
            Success. Updated the following files:
            A alias/sub/n.txt
            M l.txt
            == alias -> real
            == l.txt -> real/t.txt
            == real/
            == real/sub/
            == real/sub/n.txt
            new
            == real/t.txt
            new
        "#]]
        .assert_eq(&format!("{message}{}", listing(&sandbox.ws())));
    }

    #[test]
    fn refuses_special_files_without_blocking() {
        let sandbox = Sandbox::new(&[("dir/x", "x\n")]);
        let fifo = sandbox.ws().join("pipe");
        rustix::fs::mkfifoat(rustix::fs::CWD, &fifo, Mode::from_raw_mode(0o644)).unwrap();
        let before = snapshot(sandbox.dir.path());
        let mut messages = String::new();
        for body in [
            "*** Update File: pipe\n@@\n-a\n+b",
            "*** Add File: pipe\n+b",
            "*** Delete File: pipe",
            "*** Update File: dir\n@@\n-a\n+b",
            "*** Delete File: dir",
            "*** Add File: .\n+b",
        ] {
            let patch = format!("*** Begin Patch\n{body}\n*** End Patch");
            messages.push_str(&sandbox.run(&patch, &sandbox.policy()));
        }
        assert_eq!(snapshot(sandbox.dir.path()), before);
        expect![[r#"
            error: pipe is a named pipe (FIFO), not a regular file; apply_patch only reads and writes regular files
            error: pipe is a named pipe (FIFO), not a regular file; apply_patch only reads and writes regular files
            error: pipe is a named pipe (FIFO), not a regular file; apply_patch only reads and writes regular files
            error: dir is a directory, not a regular file; apply_patch only reads and writes regular files
            error: dir is a directory, not a regular file; apply_patch only reads and writes regular files
            error: . is a directory, not a regular file; apply_patch only reads and writes regular files
        "#]].assert_eq(&messages);
    }

    #[test]
    fn a_failed_write_is_rolled_back() {
        let sandbox = Sandbox::new(&[("a.txt", "a\n"), ("b.txt", "b\n"), ("c.txt", "c\n")]);
        let ws = sandbox.ws();
        fs::set_permissions(ws.join("a.txt"), fs::Permissions::from_mode(0o751)).unwrap();
        symlink("c.txt", ws.join("link")).unwrap();
        symlink("c.txt", ws.join("link2")).unwrap();
        let patch = parse_patch(
            "*** Begin Patch
*** Update File: a.txt
@@
-a
+A
*** Delete File: b.txt
*** Update File: link
@@
-c
+C
*** Delete File: link2
*** Update File: link
*** Move to: deep/er/c2.txt
@@
+more
*** Add File: new/x.txt
+x
*** End Patch",
        )
        .unwrap();
        let plan = plan(&patch, &ws, &sandbox.policy()).unwrap();
        // Something appears where the last file goes, after planning.
        fs::create_dir_all(ws.join("new/x.txt")).unwrap();
        let before = snapshot(&ws);
        let error = apply(&plan).map(|_| ()).unwrap_err();
        assert_eq!(snapshot(&ws), before);
        expect![[r#"
            new/x.txt is a directory, not a regular file; apply_patch only reads and writes regular files
            No file was changed: the writes already made were undone."#]].assert_eq(&error.to_string());
    }

    #[test]
    fn reports_changes_and_diffs() {
        let sandbox = Sandbox::new(&[("a.txt", "1\n2\n3\n"), ("b.txt", "gone\n")]);
        let patch = parse_patch(
            "*** Begin Patch
*** Update File: a.txt
*** Move to: c.txt
@@
 1
-2
+two
*** Delete File: b.txt
*** Add File: d.txt
+new
*** End Patch",
        )
        .unwrap();
        let ws = sandbox.ws();
        let plan = plan(&patch, &ws, &WritePolicy::Anywhere).unwrap();
        let mut out = String::new();
        for (change, diff) in plan.diffs() {
            let _ = writeln!(
                out,
                "{:?} {} -> {:?}\n{diff}",
                change.kind,
                change.path.strip_prefix(&ws).unwrap().display(),
                change
                    .move_to
                    .as_ref()
                    .map(|to| to.strip_prefix(&ws).unwrap()),
            );
        }
        expect![[r#"
            Update a.txt -> Some("c.txt")
            --- a.txt
            +++ c.txt
            @@ -1,3 +1,3 @@
             1
            -2
            +two
             3

            Delete b.txt -> None
            --- b.txt
            +++ /dev/null
            @@ -1,1 +0,0 @@
            -gone

            Add d.txt -> None
            --- /dev/null
            +++ d.txt
            @@ -0,0 +1,1 @@
            +new

        "#]]
        .assert_eq(&out);
        let applied = apply(&plan).unwrap();
        assert_eq!(applied.changes(), plan.changes());
        expect![[r#"
            == c.txt
            1
            two
            3
            == d.txt
            new
        "#]]
        .assert_eq(&listing(&ws));
    }

    #[test]
    fn anywhere_accepts_absolute_paths_and_keeps_modes() {
        let sandbox = Sandbox::new(&[("run.sh", "echo hi\n")]);
        let script = sandbox.ws().join("run.sh");
        fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
        let patch = format!(
            "*** Begin Patch\n*** Update File: {}\n@@\n-echo hi\n+echo bye\n*** Add File: {}/made.txt\n+m\n*** End Patch",
            script.display(),
            sandbox.outside().display()
        );
        let applied = apply_patch(&patch, Path::new("/"), &WritePolicy::Anywhere).unwrap();
        assert_eq!(applied.changes().len(), 2);
        assert_eq!(fs::read_to_string(&script).unwrap(), "echo bye\n");
        let mode = fs::metadata(&script).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o755);
        let made = fs::read_to_string(sandbox.outside().join("made.txt")).unwrap();
        assert_eq!(made, "m\n");
    }

    #[test]
    fn keeps_the_owner_when_privileged() {
        let sandbox = Sandbox::new(&[("owned.txt", "a\n")]);
        let path = sandbox.ws().join("owned.txt");
        if std::os::unix::fs::chown(&path, Some(4321), Some(4322)).is_err() {
            // Only a privileged process can give files away; nothing to check here.
            return;
        }
        let patch = "*** Begin Patch\n*** Update File: owned.txt\n@@\n-a\n+b\n*** End Patch";
        apply_patch(patch, &sandbox.ws(), &sandbox.policy()).unwrap();
        let meta = fs::metadata(&path).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (4321, 4322));
        assert_eq!(fs::read_to_string(&path).unwrap(), "b\n");
    }

    #[test]
    fn rejects_a_relative_working_directory() {
        let patch = parse_patch("*** Begin Patch\n*** Delete File: x\n*** End Patch").unwrap();
        let error = plan(&patch, Path::new("rel"), &WritePolicy::Anywhere).unwrap_err();
        expect![
            "Cannot apply a patch relative to 'rel': the working directory must be an absolute path"
        ]
        .assert_eq(&error.to_string());
    }

    /// Builds the files of the generated workspace: their names and contents.
    fn named_files(files: &[Vec<String>]) -> Vec<(String, String)> {
        let content = |lines: &Vec<String>| lines.iter().map(|l| format!("{l}\n")).collect();
        files
            .iter()
            .enumerate()
            .map(|(i, lines)| (format!("d{}/f{i}.txt", i % 2), content(lines)))
            .collect()
    }

    /// Writes one hunk per action, each on a distinct file of `files` (or an added
    /// file once a file was used), so that every hunk applies.
    fn valid_hunks(files: &[Vec<String>], actions: &[(usize, usize)]) -> String {
        let named = named_files(files);
        let mut used = vec![false; files.len()];
        let mut body = String::new();
        for (n, &(file, pick)) in actions.iter().enumerate() {
            let (Some((name, _)), Some(lines)) = (named.get(file), files.get(file)) else {
                continue;
            };
            if used.get(file).copied().unwrap_or(true) {
                let _ = writeln!(body, "*** Add File: new{n}/deep/g.txt\n+g{n}");
                continue;
            }
            if let Some(flag) = used.get_mut(file) {
                *flag = true;
            }
            let _ = match pick % 3 {
                0 => writeln!(body, "*** Delete File: {name}"),
                1 => {
                    let line = lines.get(pick % lines.len()).cloned().unwrap_or_default();
                    writeln!(body, "*** Update File: {name}\n@@\n-{line}\n+changed {n}")
                }
                _ => writeln!(
                    body,
                    "*** Update File: {name}\n*** Move to: moved/{n}.txt\n@@\n+tail"
                ),
            };
        }
        body
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn a_failed_patch_leaves_the_tree_unchanged(
            files in proptest::collection::vec(
                proptest::collection::vec("[a-c ]{0,3}", 1..6),
                4,
            ),
            actions in proptest::collection::vec((0usize..4, 0usize..8), 0..5),
            fail_in_apply in any::<bool>(),
        ) {
            let named = named_files(&files);
            let borrowed: Vec<(&str, &str)> =
                named.iter().map(|(n, c)| (n.as_str(), c.as_str())).collect();
            let sandbox = Sandbox::new(&borrowed);
            let ws = sandbox.ws();
            let mut body = valid_hunks(&files, &actions);
            if fail_in_apply {
                body.push_str("*** Add File: last/x.txt\n+x\n");
            } else {
                body.push_str("*** Update File: d0/f0.txt\n@@\n-no such line\n+x\n");
            }
            let text = format!("*** Begin Patch\n{body}*** End Patch");
            let patch = parse_patch(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let planned = plan(&patch, &ws, &sandbox.policy());
            let before = snapshot(sandbox.dir.path());
            let result: Result<Applied, PatchError> = match planned {
                Err(error) => {
                    prop_assert!(!fail_in_apply, "planning failed: {}", error);
                    Err(error.into())
                }
                Ok(planned) => {
                    prop_assert!(fail_in_apply, "the mismatch was not caught while planning");
                    // A directory appears where the last file goes, after planning.
                    fs::create_dir_all(ws.join("last/x.txt")).unwrap();
                    let before = snapshot(sandbox.dir.path());
                    let result = apply(&planned);
                    prop_assert_eq!(snapshot(sandbox.dir.path()), before);
                    result.map_err(PatchError::from)
                }
            };
            prop_assert!(result.is_err());
            if !fail_in_apply {
                prop_assert_eq!(snapshot(sandbox.dir.path()), before);
            }
        }
    }
}
