//! The pure restart logic of a supervisor: no actor framework, no async
//! runtime, no clock. Time arrives as the `now` argument of
//! [`Machine::step`] and randomness comes from a seeded generator.
//!
//! The shell feeds one [`Input`] at a time and performs the returned
//! [`Effect`]s in order. Effects that take time (`Start`, `Stop`) are
//! performed one after the other; their outcome comes back as the next
//! input (`Ready`, `StartFailed`, `RestartDue`).

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use crate::exit::{ActorError, Exit};
use crate::ids::{ChildId, Incarnation};
use crate::supervisor::config::{AutoShutdown, Restart, Strategy, SupervisorConfig};

/// Everything that can happen to a supervisor.
#[derive(Debug, Clone)]
pub enum Input {
    /// A new child spec (at start-up or through `start_child`).
    Add {
        /// Its id.
        id: ChildId,
        /// Its restart type.
        restart: Restart,
        /// Whether it counts for auto-shutdown.
        significant: bool,
    },
    /// A started child signalled ready.
    Ready {
        /// The child.
        id: ChildId,
        /// The incarnation that became ready.
        incarnation: Incarnation,
    },
    /// Starting a child failed (start function error, ready timeout, or
    /// exit before ready).
    StartFailed {
        /// The child.
        id: ChildId,
        /// The incarnation that failed to start.
        incarnation: Incarnation,
        /// Why.
        error: ActorError,
    },
    /// An incarnation ended.
    Exited {
        /// The child.
        id: ChildId,
        /// Which incarnation ended.
        incarnation: Incarnation,
        /// Why.
        exit: Exit,
    },
    /// A scheduled restart's backoff elapsed.
    RestartDue {
        /// The child.
        id: ChildId,
        /// The incarnation that was scheduled.
        incarnation: Incarnation,
    },
    /// Manual stop (`terminate_child`): no restart, no intensity.
    Terminate {
        /// The child.
        id: ChildId,
    },
    /// Manual start of a terminated child (`restart_child`).
    Restart {
        /// The child.
        id: ChildId,
    },
    /// Forget a terminated child's spec (`delete_child`).
    Delete {
        /// The child.
        id: ChildId,
    },
    /// Stop every child in reverse order; the supervisor is going away.
    Shutdown,
}

/// What the shell must do, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Start this incarnation now and wait for it to be ready.
    Start {
        /// The child.
        id: ChildId,
        /// The new incarnation.
        incarnation: Incarnation,
    },
    /// Stop this incarnation (ask, wait, kill as its spec says).
    Stop {
        /// The child.
        id: ChildId,
        /// The incarnation to stop.
        incarnation: Incarnation,
    },
    /// Feed `RestartDue` for each child, in order, after `after`.
    ScheduleRestart {
        /// The backoff delay.
        after: Duration,
        /// The children to restart, in start order.
        children: Vec<(ChildId, Incarnation)>,
    },
    /// The child will not run again unless restarted by hand.
    Stopped {
        /// The child.
        id: ChildId,
    },
    /// The child's spec is gone.
    Removed {
        /// The child.
        id: ChildId,
    },
    /// The restart intensity was exceeded: the `Stop` effects that follow
    /// stop every child in reverse order, after which the supervisor must
    /// exit with a failure.
    Escalate {
        /// Restarts counted in the window.
        restarts: u32,
    },
    /// Auto-shutdown fired: the `Stop` effects that follow stop every
    /// child, after which the supervisor must exit with `Shutdown`.
    AutoShutdown,
    /// An input about an incarnation that is no longer current.
    Ignored {
        /// The child.
        id: ChildId,
        /// The stale incarnation.
        incarnation: Incarnation,
    },
    /// A command was refused.
    Refused(Refusal),
}

/// Why a dynamic-children command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// No child has this id.
    #[error("no child `{0}`")]
    Unknown(ChildId),
    /// A child with this id already exists.
    #[error("child `{0}` already exists")]
    AlreadyPresent(ChildId),
    /// The child is running (or about to be).
    #[error("child `{0}` is running")]
    Running(ChildId),
    /// The supervisor is shutting down or has escalated.
    #[error("supervisor is shutting down")]
    ShuttingDown,
}

/// The supervisor's restart state: children in start order, the
/// intensity window and the backoff counters.
#[derive(Debug)]
pub struct Machine {
    config: SupervisorConfig,
    children: Vec<Child>,
    restarts: VecDeque<Instant>,
    rng: SplitMix64,
    closing: bool,
}

#[derive(Debug)]
struct Child {
    id: ChildId,
    restart: Restart,
    significant: bool,
    last: Incarnation,
    state: State,
    attempt: u32,
    ever_ready: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Starting(Incarnation),
    Running {
        incarnation: Incarnation,
        since: Instant,
    },
    Pending(Incarnation),
    Stopped,
}

impl State {
    fn live(self) -> Option<Incarnation> {
        match self {
            State::Starting(incarnation) | State::Running { incarnation, .. } => Some(incarnation),
            State::Pending(_) | State::Stopped => None,
        }
    }

    fn current(self) -> Option<Incarnation> {
        match self {
            State::Starting(i) | State::Running { incarnation: i, .. } | State::Pending(i) => {
                Some(i)
            }
            State::Stopped => None,
        }
    }
}

impl Machine {
    /// A machine with no children. `seed` drives the backoff jitter.
    pub fn new(config: SupervisorConfig, seed: u64) -> Self {
        Machine {
            config,
            children: Vec::new(),
            restarts: VecDeque::new(),
            rng: SplitMix64(seed),
            closing: false,
        }
    }

    /// The flags this machine runs with.
    pub fn config(&self) -> &SupervisorConfig {
        &self.config
    }

    /// Child ids in start order, each with its live incarnation if any.
    pub fn children(&self) -> Vec<(ChildId, Option<Incarnation>)> {
        self.children
            .iter()
            .map(|c| (c.id.clone(), c.state.live()))
            .collect()
    }

    /// The live incarnation of `id`, if it is starting or running.
    pub fn live(&self, id: &ChildId) -> Option<Incarnation> {
        self.find(id).and_then(|i| self.children[i].state.live())
    }

    /// Whether the machine is shutting down or has escalated.
    pub fn is_closing(&self) -> bool {
        self.closing
    }

    /// Feeds one input and returns the effects to perform, in order.
    pub fn step(&mut self, input: Input, now: Instant) -> Vec<Effect> {
        let mut out = Vec::new();
        match input {
            Input::Add {
                id,
                restart,
                significant,
            } => self.add(id, restart, significant, &mut out),
            Input::Ready { id, incarnation } => match self.current(&id, incarnation) {
                Some(i) => {
                    let child = &mut self.children[i];
                    if child.state == State::Starting(incarnation) {
                        child.state = State::Running {
                            incarnation,
                            since: now,
                        };
                        child.ever_ready = true;
                    }
                }
                None => out.push(Effect::Ignored { id, incarnation }),
            },
            Input::StartFailed {
                id,
                incarnation,
                error,
            } => match self.current(&id, incarnation) {
                Some(i) if !self.children[i].ever_ready => {
                    // A child that never came up is not kept (OTP's
                    // start_child returns the error and forgets the spec).
                    self.children.remove(i);
                    out.push(Effect::Stopped { id: id.clone() });
                    out.push(Effect::Removed { id });
                }
                Some(i) => self.exited(i, &Exit::Failed(error), now, &mut out),
                None => out.push(Effect::Ignored { id, incarnation }),
            },
            Input::Exited {
                id,
                incarnation,
                exit,
            } => match self.current(&id, incarnation) {
                Some(i) => self.exited(i, &exit, now, &mut out),
                None => out.push(Effect::Ignored { id, incarnation }),
            },
            Input::RestartDue { id, incarnation } => match self.find(&id) {
                Some(i)
                    if !self.closing && self.children[i].state == State::Pending(incarnation) =>
                {
                    self.children[i].state = State::Starting(incarnation);
                    out.push(Effect::Start { id, incarnation });
                }
                Some(_) | None => out.push(Effect::Ignored { id, incarnation }),
            },
            Input::Terminate { id } => match self.find(&id) {
                Some(i) => {
                    let child = &mut self.children[i];
                    if let Some(incarnation) = child.state.live() {
                        out.push(Effect::Stop {
                            id: id.clone(),
                            incarnation,
                        });
                    }
                    if child.state != State::Stopped {
                        child.state = State::Stopped;
                        out.push(Effect::Stopped { id: id.clone() });
                    }
                    if child.restart == Restart::Temporary {
                        self.children.remove(i);
                        out.push(Effect::Removed { id });
                    }
                }
                None => out.push(Effect::Refused(Refusal::Unknown(id))),
            },
            Input::Restart { id } => match self.find(&id) {
                _ if self.closing => out.push(Effect::Refused(Refusal::ShuttingDown)),
                Some(i) if self.children[i].state == State::Stopped => {
                    let child = &mut self.children[i];
                    child.last = child.last.next();
                    child.state = State::Starting(child.last);
                    child.attempt = 0;
                    out.push(Effect::Start {
                        id,
                        incarnation: child.last,
                    });
                }
                Some(_) => out.push(Effect::Refused(Refusal::Running(id))),
                None => out.push(Effect::Refused(Refusal::Unknown(id))),
            },
            Input::Delete { id } => match self.find(&id) {
                Some(i) if self.children[i].state == State::Stopped => {
                    self.children.remove(i);
                    out.push(Effect::Removed { id });
                }
                Some(_) => out.push(Effect::Refused(Refusal::Running(id))),
                None => out.push(Effect::Refused(Refusal::Unknown(id))),
            },
            Input::Shutdown => {
                self.closing = true;
                self.stop_all(&mut out);
            }
        }
        out
    }

    fn add(&mut self, id: ChildId, restart: Restart, significant: bool, out: &mut Vec<Effect>) {
        if self.closing {
            out.push(Effect::Refused(Refusal::ShuttingDown));
            return;
        }
        if self.find(&id).is_some() {
            out.push(Effect::Refused(Refusal::AlreadyPresent(id)));
            return;
        }
        let incarnation = Incarnation(1);
        self.children.push(Child {
            id: id.clone(),
            restart,
            significant,
            last: incarnation,
            state: State::Starting(incarnation),
            attempt: 0,
            ever_ready: false,
        });
        out.push(Effect::Start { id, incarnation });
    }

    fn find(&self, id: &ChildId) -> Option<usize> {
        self.children.iter().position(|c| &c.id == id)
    }

    /// The index of `id` if `incarnation` is its current one.
    fn current(&self, id: &ChildId, incarnation: Incarnation) -> Option<usize> {
        if self.closing {
            return None;
        }
        self.find(id)
            .filter(|&i| self.children[i].state.current() == Some(incarnation))
    }

    fn exited(&mut self, i: usize, exit: &Exit, now: Instant, out: &mut Vec<Effect>) {
        let child = &mut self.children[i];
        let id = child.id.clone();
        let uptime = match child.state {
            State::Running { since, .. } => now.checked_duration_since(since),
            State::Starting(_) | State::Pending(_) | State::Stopped => None,
        };
        if !child.restart.restarts_after(exit.is_abnormal()) {
            child.state = State::Stopped;
            let significant = child.significant;
            out.push(Effect::Stopped { id: id.clone() });
            if child.restart == Restart::Temporary {
                self.children.remove(i);
                out.push(Effect::Removed { id });
            }
            if significant {
                self.check_auto_shutdown(out);
            }
            return;
        }
        if !self.admit_restart(now) {
            self.children[i].state = State::Pending(self.children[i].last);
            self.closing = true;
            out.push(Effect::Escalate {
                restarts: u32::try_from(self.restarts.len()).unwrap_or(u32::MAX),
            });
            self.stop_all(out);
            return;
        }
        let backoff = self.config.backoff;
        let child = &mut self.children[i];
        if uptime.is_some_and(|up| up >= backoff.reset_after) {
            child.attempt = 0;
        }
        let after = backoff.delay(child.attempt, self.rng.unit());
        let child = &mut self.children[i];
        child.attempt = child.attempt.saturating_add(1);
        child.state = State::Pending(child.last);

        let affected: Vec<usize> = match self.config.strategy {
            Strategy::OneForOne => vec![i],
            Strategy::OneForAll => (0..self.children.len()).collect(),
            Strategy::RestForOne => (i..self.children.len()).collect(),
        };
        // Siblings stop in reverse start order.
        let mut removed = Vec::new();
        for &j in affected.iter().rev() {
            if j == i {
                continue;
            }
            let sibling = &mut self.children[j];
            if let Some(incarnation) = sibling.state.live() {
                out.push(Effect::Stop {
                    id: sibling.id.clone(),
                    incarnation,
                });
            }
            match (sibling.state, sibling.restart) {
                // A manual stop stays a manual stop.
                (State::Stopped, _) => {}
                (_, Restart::Temporary) => {
                    sibling.state = State::Stopped;
                    out.push(Effect::Stopped {
                        id: sibling.id.clone(),
                    });
                    removed.push(j);
                }
                (State::Starting(_) | State::Running { .. } | State::Pending(_), _) => {
                    sibling.state = State::Pending(sibling.last);
                }
            }
        }
        let mut children = Vec::new();
        for &j in &affected {
            let c = &mut self.children[j];
            if let State::Pending(_) = c.state {
                c.last = c.last.next();
                c.state = State::Pending(c.last);
                children.push((c.id.clone(), c.last));
            }
        }
        for &j in removed.iter() {
            out.push(Effect::Removed {
                id: self.children[j].id.clone(),
            });
        }
        // `removed` is in descending index order, so removal is safe.
        for j in removed {
            self.children.remove(j);
        }
        out.push(Effect::ScheduleRestart { after, children });
    }

    /// Records a restart at `now`; false when that makes more than
    /// `intensity` restarts within `period`.
    fn admit_restart(&mut self, now: Instant) -> bool {
        self.restarts.push_back(now);
        while let Some(&first) = self.restarts.front() {
            if now.saturating_duration_since(first) > self.config.period {
                self.restarts.pop_front();
            } else {
                break;
            }
        }
        self.restarts.len() <= self.config.intensity as usize
    }

    fn check_auto_shutdown(&mut self, out: &mut Vec<Effect>) {
        let fire = match self.config.auto_shutdown {
            AutoShutdown::Never => false,
            AutoShutdown::AnySignificant => true,
            AutoShutdown::AllSignificant => !self
                .children
                .iter()
                .any(|c| c.significant && c.state != State::Stopped),
        };
        if fire {
            self.closing = true;
            out.push(Effect::AutoShutdown);
            self.stop_all(out);
        }
    }

    fn stop_all(&mut self, out: &mut Vec<Effect>) {
        for child in self.children.iter_mut().rev() {
            if let Some(incarnation) = child.state.live() {
                out.push(Effect::Stop {
                    id: child.id.clone(),
                    incarnation,
                });
            }
            if child.state != State::Stopped {
                child.state = State::Stopped;
                out.push(Effect::Stopped {
                    id: child.id.clone(),
                });
            }
        }
    }
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Effect::Start { id, incarnation } => write!(f, "start {id}#{incarnation}"),
            Effect::Stop { id, incarnation } => write!(f, "stop {id}#{incarnation}"),
            Effect::ScheduleRestart { after, children } => {
                write!(f, "restart after {after:?}:")?;
                for (id, incarnation) in children {
                    write!(f, " {id}#{incarnation}")?;
                }
                Ok(())
            }
            Effect::Stopped { id } => write!(f, "stopped {id}"),
            Effect::Removed { id } => write!(f, "removed {id}"),
            Effect::Escalate { restarts } => write!(f, "escalate after {restarts} restarts"),
            Effect::AutoShutdown => f.write_str("auto-shutdown"),
            Effect::Ignored { id, incarnation } => write!(f, "ignore stale {id}#{incarnation}"),
            Effect::Refused(refusal) => write!(f, "refused: {refusal}"),
        }
    }
}

/// A tiny deterministic generator for backoff jitter (SplitMix64).
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform sample in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
#[path = "machine_tests.rs"]
mod tests;
