//! The generic actor kernel: OTP-style supervision on top of actix.
//!
//! This crate knows nothing of MCP. Its principal types:
//!
//! * [`Supervisor`], an actix actor that owns an ordered list of
//!   [`ChildSpec`]s and applies OTP semantics to them: restart types
//!   ([`Restart`]), strategies ([`Strategy`]), restart intensity, backoff
//!   ([`Backoff`]), ordered start with a ready signal and ordered
//!   shutdown ([`Shutdown`]). [`SupervisorConfig`] holds its flags. The
//!   decisions are made by the pure [`Machine`]; the module docs of
//!   `supervisor` hold the semantics tables.
//! * [`ChildSpec`] builds a fresh actor for every incarnation through its
//!   start function, which receives a [`ChildContext`] (identity, ready
//!   signal, exit reason) and returns [`Started`].
//! * [`ChildHandle`] sends messages straight to the live incarnation (the
//!   supervisor is not on the message path); failed sends return the
//!   message in [`SendError`].
//! * [`Exit`] and [`ActorError`] are the typed exit reasons; a panic
//!   becomes `Exit::Failed(ActorError::Panicked { .. })`.
//! * [`EventBus`] broadcasts lifecycle [`Event`]s to tests, the CLI and
//!   audit logs; every incarnation also runs in its own `tracing` span
//!   (`kind`, `name`, `incarnation`).
//! * [`block_on`] and [`spawn_system`] run an actix `System` on a
//!   multi-threaded tokio runtime, from sync or async code.
//!
//! ```
//! use codex_runtime::{block_on, ChildSpec, EventBus, Supervisor, SupervisorConfig};
//! use actix::prelude::*;
//!
//! #[derive(Default)]
//! struct Counter(u32);
//! impl Actor for Counter { type Context = Context<Self>; }
//!
//! #[derive(Message)]
//! #[rtype(result = "u32")]
//! struct Bump;
//! impl Handler<Bump> for Counter {
//!     type Result = u32;
//!     fn handle(&mut self, _: Bump, _: &mut Context<Self>) -> u32 { self.0 += 1; self.0 }
//! }
//!
//! let n = block_on(|| async {
//!     let bus = EventBus::default();
//!     let (spec, counter) = ChildSpec::actor("counter", |_| Ok(Counter::default()));
//!     let root = Supervisor::start("root", SupervisorConfig::default(), &bus, vec![spec]);
//!     root.ready().await.expect("children start");
//!     counter.send(Bump).await.expect("delivered");
//!     let n = counter.send(Bump).await.expect("delivered");
//!     root.shutdown().await;
//!     n
//! })
//! .expect("runtime");
//! assert_eq!(n, 2);
//! ```

mod child;
mod events;
mod exit;
mod handle;
mod ids;
mod supervisor;
mod system;

pub use child::{ChildContext, ChildKind, ChildSpec, Readiness, StartFn, Started};
pub use events::{Event, EventBus, EventKind};
pub use exit::{ActorError, Exit, catch_panic};
pub use handle::{Call, CallError, ChildHandle, SendError};
pub use ids::{ActorPath, ChildId, Incarnation};
pub use supervisor::{
    AutoShutdown, Backoff, Effect, Input, Machine, Refusal, Restart, RootSupervisor, Shutdown,
    Strategy, Supervisor, SupervisorConfig, SupervisorError, SupervisorHandle,
};
pub use system::{RuntimeError, block_on, spawn_system};
