//! What a connection's guards saw of a server: a message past the size
//! limit (which ends the connection, and is then its reason), and
//! notifications dropped beyond the budget (counted).
//!
//! A server is third-party code: it may send a line of any length or
//! notifications as fast as it can write them. Nothing it sends is
//! buffered without bound: a message is at most [`MAX_MESSAGE_BYTES`], and
//! at most [`NOTIFICATION_BURST`] notifications (then
//! [`NOTIFICATIONS_PER_SECOND`]) reach the client; the rest are dropped
//! and counted. Cancellations and `tools/list_changed` always pass: the
//! client needs them, and handles a flood of them in constant space.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

/// The largest message a server may send: 16 MiB.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;
/// Notifications that may arrive at once.
pub const NOTIFICATION_BURST: u32 = 1_000;
/// Notifications per second beyond the burst.
pub const NOTIFICATIONS_PER_SECOND: u32 = 1_000;

/// The shared record of one connection; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct TransportHealth {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    dropped: AtomicU64,
    problem: Mutex<Option<String>>,
}

impl TransportHealth {
    /// Why the connection was ended by a guard, if it was.
    pub fn problem(&self) -> Option<String> {
        self.inner
            .problem
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Notifications dropped beyond the budget so far.
    pub fn dropped_notifications(&self) -> u64 {
        self.inner.dropped.load(Ordering::Relaxed)
    }

    pub(crate) fn oversized(&self) {
        let mut problem = self
            .inner
            .problem
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        problem.get_or_insert_with(|| {
            format!(
                "the server sent a message larger than the {} MiB limit; the connection was closed",
                MAX_MESSAGE_BYTES / 1024 / 1024
            )
        });
    }

    /// Counts one dropped notification; returns the count.
    pub(crate) fn dropped(&self) -> u64 {
        self.inner.dropped.fetch_add(1, Ordering::Relaxed) + 1
    }
}

/// A token bucket: [`NOTIFICATION_BURST`] at once, refilled at
/// [`NOTIFICATIONS_PER_SECOND`].
#[derive(Debug)]
pub(crate) struct Budget {
    tokens: f64,
    at: Instant,
}

impl Budget {
    pub(crate) fn new(now: Instant) -> Self {
        Budget {
            tokens: f64::from(NOTIFICATION_BURST),
            at: now,
        }
    }

    /// Whether one more notification may pass at `now`.
    pub(crate) fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.at = now;
        self.tokens = (self.tokens + elapsed * f64::from(NOTIFICATIONS_PER_SECOND))
            .min(f64::from(NOTIFICATION_BURST));
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_passes_then_the_rate_holds() {
        let start = Instant::now();
        let mut budget = Budget::new(start);
        let passed = (0..5_000).filter(|_| budget.take(start)).count();
        assert_eq!(passed, NOTIFICATION_BURST as usize);
        let later = start + Duration::from_millis(500);
        let passed = (0..5_000).filter(|_| budget.take(later)).count();
        assert_eq!(passed, (NOTIFICATIONS_PER_SECOND / 2) as usize);
    }

    #[test]
    fn the_first_problem_is_kept() {
        let health = TransportHealth::default();
        assert_eq!(health.problem(), None);
        health.oversized();
        assert!(health.problem().is_some_and(|p| p.contains("16 MiB")));
        assert_eq!(health.dropped(), 1);
        assert_eq!(health.dropped_notifications(), 1);
    }
}
