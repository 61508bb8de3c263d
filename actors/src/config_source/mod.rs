//! The config-source actor: one per watched file (user config, project
//! layer, each requirements file). It watches its file and, debounced,
//! reports that it changed; the session then reloads every source, keeping
//! the last good snapshot if the new text does not parse.

mod machine;
mod shell;

pub use machine::{Effect, Input, Machine};
pub use shell::ConfigSourceActor;
