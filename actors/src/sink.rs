//! [`EventSink`]: where an actor reports what happens to it.
//!
//! An actor kind defines its own event type and reports through a sink its
//! owner hands it; the owner (the session) decides what a report becomes.
//! So no actor kind imports the session's types, and the folders of
//! `actors` depend only on folders below them.

use std::fmt;
use std::sync::Arc;

/// A cheap, cloneable callback that receives an actor's events.
pub struct EventSink<T>(Arc<dyn Fn(T) + Send + Sync>);

impl<T> EventSink<T> {
    /// A sink that calls `report` with every event.
    pub fn new(report: impl Fn(T) + Send + Sync + 'static) -> Self {
        EventSink(Arc::new(report))
    }

    /// A sink that drops every event.
    pub fn discard() -> Self {
        EventSink(Arc::new(|_| {}))
    }

    /// Reports `event`. Never blocks.
    pub fn report(&self, event: T) {
        (self.0)(event);
    }
}

impl<T> Clone for EventSink<T> {
    fn clone(&self) -> Self {
        EventSink(Arc::clone(&self.0))
    }
}

impl<T> fmt::Debug for EventSink<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EventSink")
    }
}
