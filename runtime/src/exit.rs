//! Typed exit reasons: why an actor incarnation ended.
//!
//! Restart decisions `match` on [`Exit`]; a panic caught by the runtime
//! becomes [`Exit::Failed`] carrying [`ActorError::Panicked`] with the
//! panic message, never a bare string.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Why one incarnation of an actor ended.
///
/// `Normal` and `Shutdown` are the "clean" reasons: a transient child is
/// not restarted after them. `Killed` and `Failed` are abnormal.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Exit {
    /// The actor stopped by itself without reporting an error.
    Normal,
    /// The actor stopped because its supervisor asked it to.
    Shutdown,
    /// The actor was killed without a chance to clean up (brutal kill, or
    /// a shutdown timeout ran out).
    Killed,
    /// The actor failed: it reported an error, panicked, or never became
    /// ready.
    Failed(ActorError),
}

impl Exit {
    /// True for `Killed` and `Failed`: the reasons after which a transient
    /// child is restarted.
    pub fn is_abnormal(&self) -> bool {
        match self {
            Exit::Normal | Exit::Shutdown => false,
            Exit::Killed | Exit::Failed(_) => true,
        }
    }
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exit::Normal => f.write_str("normal"),
            Exit::Shutdown => f.write_str("shutdown"),
            Exit::Killed => f.write_str("killed"),
            Exit::Failed(err) => write!(f, "failed: {err}"),
        }
    }
}

/// What went wrong inside an actor or while starting it.
///
/// Cloneable so that it can travel on the lifecycle bus; a child's own
/// error type is kept behind an `Arc` in [`ActorError::Custom`].
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ActorError {
    /// A handler, `started` or `stopping` panicked.
    #[error("panicked: {message}")]
    Panicked {
        /// The panic payload when it was a string, else a placeholder.
        message: String,
    },
    /// The child did not signal ready within its spec's ready timeout.
    #[error("not ready within {after:?}")]
    ReadyTimeout {
        /// The ready timeout from the child spec.
        after: Duration,
    },
    /// The child stopped before it signalled ready.
    #[error("exited before ready ({exit})")]
    ExitedBeforeReady {
        /// How it stopped.
        exit: Box<Exit>,
    },
    /// A supervisor went past its restart intensity and gave up.
    #[error("supervisor `{supervisor}` escalated: more than {intensity} restarts in {period:?}")]
    Escalated {
        /// Path of the supervisor that gave up.
        supervisor: String,
        /// The configured intensity.
        intensity: u32,
        /// The configured period.
        period: Duration,
    },
    /// A supervisor could not start one of its children at start-up.
    #[error("supervisor `{supervisor}` could not start child `{child}`: {source}")]
    ChildStartFailed {
        /// Path of the supervisor.
        supervisor: String,
        /// Id of the child that failed.
        child: String,
        /// Why it failed.
        source: Box<ActorError>,
    },
    /// An error reported by the actor itself.
    #[error(transparent)]
    Custom(Arc<dyn StdError + Send + Sync>),
}

impl ActorError {
    /// Wraps an actor's own error.
    pub fn custom<E: StdError + Send + Sync + 'static>(err: E) -> Self {
        ActorError::Custom(Arc::new(err))
    }

    /// Builds [`ActorError::Panicked`] from a panic payload, keeping the
    /// message when the payload is a `&str` or a `String`.
    pub fn from_panic(payload: &(dyn std::any::Any + Send)) -> Self {
        let message = if let Some(s) = payload.downcast_ref::<&'static str>() {
            (*s).to_owned()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            "<non-string panic payload>".to_owned()
        };
        ActorError::Panicked { message }
    }
}

/// Runs `f`, turning a panic into [`ActorError::Panicked`].
///
/// Use it around risky synchronous work inside a handler when the actor
/// should survive the panic; a panic that escapes a handler is caught by
/// the supervisor anyway and ends the incarnation as `Failed`.
pub fn catch_panic<T>(f: impl FnOnce() -> T) -> Result<T, ActorError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .map_err(|payload| ActorError::from_panic(payload.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abnormal_reasons() {
        let rows = [
            (Exit::Normal, false),
            (Exit::Shutdown, false),
            (Exit::Killed, true),
            (
                Exit::Failed(ActorError::Panicked {
                    message: "x".into(),
                }),
                true,
            ),
        ];
        for (exit, abnormal) in rows {
            assert_eq!(exit.is_abnormal(), abnormal, "{exit}");
        }
    }

    #[test]
    fn catch_panic_keeps_the_message() {
        let err = catch_panic(|| -> u8 { panic!("boom {}", 7) }).unwrap_err();
        assert_eq!(err.to_string(), "panicked: boom 7");
        assert_eq!(catch_panic(|| 3).unwrap(), 3);
    }
}
