//! Fault injection as a product feature: fault plans, the pure engine that
//! decides which fault fires when, and the driver that runs a workload
//! through a session under a plan (`codex debug chaos`).
//!
//! The faults themselves are applied below the session, by
//! `codex_transports::fault` (a wrapper around every transport plugin, and
//! an HTTP proxy for remote servers and the model endpoint), and by the
//! driver for sandboxed commands. Nothing in the session special-cases a
//! test: a chaos session is an ordinary session whose transport registry
//! is the injector's.

mod driver;
mod engine;
mod plan;

pub use driver::{ChaosError, ChaosOptions, ChaosReport, CommandSetup, Progress, run_chaos};
pub use engine::{Applied, Engine, Event, Fired};
pub use plan::{Action, FaultPlan, PlanError, PlannedFault, Target, Trigger, WorkItem};
