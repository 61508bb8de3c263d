//! Actors of one agent session, and the config and policy logic they share.
//!
//! Today this crate holds the pure layers every actor builds on:
//! - [`config`]: the user's `config.toml`, trusted project layers and `-c`
//!   overrides, merged into a [`config::ConfigSnapshot`];
//! - [`policy`]: admin requirements ([`policy::Requirements`]), the single
//!   admission function [`policy::admit`], and [`policy::Constrained`] values.
//!
//! ```
//! use codex_actors::config::{Origin, SandboxMode};
//! use codex_actors::policy::{parse_requirements, RequirementSource};
//!
//! let (layer, warnings) = parse_requirements(
//!     RequirementSource::EnvBase64,
//!     Origin::EnvVar("example"),
//!     "allowed_sandbox_modes = [\"read-only\"]\n",
//! )
//! .unwrap();
//! assert_eq!(layer.allowed_sandbox_modes, Some(vec![SandboxMode::ReadOnly]));
//! assert!(warnings.is_empty());
//! ```

pub mod apply_patch;
pub mod audit_log;
pub mod chaos;
pub mod config;
pub mod config_source;
#[cfg(test)]
mod edges;
pub mod mcp_server;
pub mod model_stream;
pub mod policy;
pub mod policy_actor;
#[cfg(test)]
mod regressions;
pub mod rollout;
pub mod sandbox_process;
pub mod session;
mod sink;
pub mod turn;

pub use sink::EventSink;
