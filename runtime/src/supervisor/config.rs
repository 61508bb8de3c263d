//! Supervisor flags and the per-child policy values (pure data).

use std::time::Duration;

/// When a child is restarted after it exits (OTP's `restart`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Restart {
    /// Always restarted.
    #[default]
    Permanent,
    /// Restarted only after an abnormal exit (`Killed` or `Failed`).
    Transient,
    /// Never restarted, not even when a sibling's failure takes it down.
    Temporary,
}

impl Restart {
    /// The restart table: whether a child of this type is restarted after
    /// exiting with `abnormal` (see [`Exit::is_abnormal`](crate::Exit::is_abnormal)).
    pub fn restarts_after(self, abnormal: bool) -> bool {
        match self {
            Restart::Permanent => true,
            Restart::Transient => abnormal,
            Restart::Temporary => false,
        }
    }
}

/// How a child is stopped (OTP's `shutdown`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    /// Killed at once without being asked.
    BrutalKill,
    /// Asked to stop, then killed if it has not stopped within the timeout.
    Timeout(Duration),
    /// Asked to stop and waited for without limit: for sub-supervisors,
    /// which need the time to stop their own children.
    Infinity,
}

/// Which siblings are restarted with a failed child.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// Only the child that exited.
    #[default]
    OneForOne,
    /// Every child: the others are stopped in reverse order, then all are
    /// started again in order.
    OneForAll,
    /// The child that exited and every child started after it.
    RestForOne,
}

/// Whether the exit of a significant child shuts the supervisor down
/// (OTP's `auto_shutdown`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AutoShutdown {
    /// Significant children change nothing.
    #[default]
    Never,
    /// Shut down when any significant child ends by itself for good.
    AnySignificant,
    /// Shut down when every significant child has ended for good.
    AllSignificant,
}

/// Exponential backoff between restarts of one child.
///
/// The n-th consecutive restart (counting from 0) waits
/// `min(max, initial * multiplier^n)`, spread by `±jitter` (a fraction).
/// The count goes back to 0 once the child has stayed up for
/// `reset_after`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// Delay before the first restart.
    pub initial: Duration,
    /// Upper bound on the delay.
    pub max: Duration,
    /// Growth factor per consecutive restart.
    pub multiplier: f64,
    /// Random spread as a fraction of the delay, in `0.0..=1.0`.
    pub jitter: f64,
    /// Uptime after which the child counts as stable again.
    pub reset_after: Duration,
}

impl Backoff {
    /// No delay at all: restart at once, like OTP.
    pub const NONE: Backoff = Backoff {
        initial: Duration::ZERO,
        max: Duration::ZERO,
        multiplier: 1.0,
        jitter: 0.0,
        reset_after: Duration::ZERO,
    };

    /// The delay before restart number `attempt`, with `unit` a uniform
    /// random sample in `[0, 1)`.
    pub fn delay(&self, attempt: u32, unit: f64) -> Duration {
        let exp = i32::try_from(attempt).unwrap_or(i32::MAX);
        let base = self.initial.as_secs_f64() * self.multiplier.max(1.0).powi(exp);
        let capped = base.min(self.max.as_secs_f64());
        let jitter = self.jitter.clamp(0.0, 1.0);
        let spread = 1.0 + jitter * (2.0 * unit.clamp(0.0, 1.0) - 1.0);
        let secs = (capped * spread).clamp(0.0, self.max.as_secs_f64());
        Duration::try_from_secs_f64(secs).unwrap_or(self.max)
    }
}

impl Default for Backoff {
    /// 100 ms, doubling up to 30 s, ±10 %, reset after 30 s of uptime.
    fn default() -> Self {
        Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(30),
            multiplier: 2.0,
            jitter: 0.1,
            reset_after: Duration::from_secs(30),
        }
    }
}

/// The flags of one supervisor.
///
/// Defaults follow OTP: one_for_one, at most 1 restart in 5 s.
#[derive(Debug, Clone, PartialEq)]
pub struct SupervisorConfig {
    /// Which siblings restart with a failed child.
    pub strategy: Strategy,
    /// How many restarts are allowed within `period`; one more escalates.
    pub intensity: u32,
    /// The sliding window for `intensity`.
    pub period: Duration,
    /// Delay between restarts.
    pub backoff: Backoff,
    /// What significant children do to the supervisor.
    pub auto_shutdown: AutoShutdown,
}

impl Default for SupervisorConfig {
    fn default() -> Self {
        SupervisorConfig {
            strategy: Strategy::OneForOne,
            intensity: 1,
            period: Duration::from_secs(5),
            backoff: Backoff::default(),
            auto_shutdown: AutoShutdown::Never,
        }
    }
}

impl SupervisorConfig {
    /// Sets the strategy.
    pub fn strategy(mut self, strategy: Strategy) -> Self {
        self.strategy = strategy;
        self
    }

    /// Sets the restart intensity: at most `intensity` restarts in `period`.
    pub fn intensity(mut self, intensity: u32, period: Duration) -> Self {
        self.intensity = intensity;
        self.period = period;
        self
    }

    /// Sets the backoff.
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Sets auto-shutdown.
    pub fn auto_shutdown(mut self, auto_shutdown: AutoShutdown) -> Self {
        self.auto_shutdown = auto_shutdown;
        self
    }
}
