//! Names for children and their incarnations.

use std::fmt;
use std::sync::Arc;

/// The id of a child inside its supervisor, unique among its siblings.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChildId(Arc<str>);

impl ChildId {
    /// Makes an id from any string.
    pub fn new(id: impl AsRef<str>) -> Self {
        ChildId(Arc::from(id.as_ref()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ChildId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for ChildId {
    fn from(s: &str) -> Self {
        ChildId::new(s)
    }
}

impl From<String> for ChildId {
    fn from(s: String) -> Self {
        ChildId::new(s)
    }
}

/// The generation of a child: it grows by one every time the child is
/// (re)started, so a late exit from an old incarnation can be told apart
/// from the current one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Incarnation(pub u64);

impl Incarnation {
    /// The one after this.
    pub fn next(self) -> Incarnation {
        Incarnation(self.0 + 1)
    }
}

impl fmt::Display for Incarnation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
