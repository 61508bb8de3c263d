//! The sandbox-process actor: one per command the session runs. It is a
//! temporary child of the session's supervisor (a command is never
//! restarted), streams its output as session events, enforces the command's
//! timeout through `codex-sandbox`, and is killed with its process group
//! when the session shuts down.

mod machine;
mod shell;

pub use machine::{CommandExit, Effect, Input, Machine, Stream};
pub(crate) use shell::SandboxProcessActor;
