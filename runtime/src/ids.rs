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

/// Where an actor sits in its tree: the ids from the root supervisor down
/// to the actor itself. Events and spans carry it; consumers match on its
/// [`segments`](ActorPath::segments), never on its text.
///
/// ```
/// use codex_runtime::{ActorPath, ChildId};
///
/// let root = ActorPath::root(ChildId::new("session"));
/// let server = root.child(ChildId::new("mcp:docs")).child(ChildId::new("server"));
/// assert_eq!(server.to_string(), "session/mcp:docs/server");
/// assert_eq!(server.segments().len(), 3);
/// assert_eq!(server.last().as_str(), "server");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ActorPath(Arc<[ChildId]>);

impl ActorPath {
    /// The path of a root supervisor.
    pub fn root(id: ChildId) -> Self {
        ActorPath(Arc::from(vec![id]))
    }

    /// The path of a child of this actor.
    pub fn child(&self, id: ChildId) -> Self {
        let mut segments = self.0.to_vec();
        segments.push(id);
        ActorPath(Arc::from(segments))
    }

    /// Every id from the root down, never empty.
    pub fn segments(&self) -> &[ChildId] {
        &self.0
    }

    /// The actor's own id.
    pub fn last(&self) -> &ChildId {
        // `root` and `child` never build an empty path.
        &self.0[self.0.len() - 1]
    }
}

impl fmt::Display for ActorPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, id) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("/")?;
            }
            f.write_str(id.as_str())?;
        }
        Ok(())
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
