//! The config-source actor's actix shell: a `notify` watcher on the file's
//! folder (editors replace files by rename, which a watch on the file itself
//! would miss), debounced by the [`Machine`], publishing to a channel.
//!
//! The only file of this actor kind that knows actix.

use std::path::PathBuf;
use std::time::Duration;

use actix::prelude::*;
use notify::{RecursiveMode, Watcher as _};
use tokio::sync::mpsc;

use super::machine::{Effect, Input, Machine};

/// Watches one config or requirements file.
pub struct ConfigSourceActor {
    path: PathBuf,
    machine: Machine,
    changed: mpsc::UnboundedSender<PathBuf>,
    watcher: Option<notify::RecommendedWatcher>,
}

impl std::fmt::Debug for ConfigSourceActor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigSourceActor")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl ConfigSourceActor {
    /// A source for `path` that reports changes on `changed` after
    /// `debounce` of quiet.
    pub fn new(path: PathBuf, debounce: Duration, changed: mpsc::UnboundedSender<PathBuf>) -> Self {
        ConfigSourceActor {
            path,
            machine: Machine::new(debounce),
            changed,
            watcher: None,
        }
    }

    fn deliver(&mut self, input: Input, ctx: &mut Context<Self>) {
        for effect in self.machine.step(input) {
            match effect {
                Effect::ArmTimer { after, generation } => {
                    ctx.run_later(after, move |act, ctx| {
                        act.deliver(Input::TimerFired { generation }, ctx);
                    });
                }
                Effect::Publish => {
                    let _ = self.changed.send(self.path.clone());
                }
            }
        }
    }
}

#[derive(Message)]
#[rtype(result = "()")]
struct Touched;

impl Handler<Touched> for ConfigSourceActor {
    type Result = ();

    fn handle(&mut self, _: Touched, ctx: &mut Context<Self>) {
        self.deliver(Input::Touched, ctx);
    }
}

impl Actor for ConfigSourceActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let addr = ctx.address();
        let target = self.path.clone();
        let file_name = target.file_name().map(ToOwned::to_owned);
        let handler = move |result: notify::Result<notify::Event>| {
            let Ok(event) = result else {
                return;
            };
            let ours = event
                .paths
                .iter()
                .any(|p| p.file_name().map(ToOwned::to_owned) == file_name);
            if ours {
                addr.do_send(Touched);
            }
        };
        let Some(dir) = self.path.parent().map(ToOwned::to_owned) else {
            return;
        };
        match notify::recommended_watcher(handler) {
            Ok(mut watcher) => {
                // A folder that does not exist yet cannot be watched; the
                // source then only changes on an explicit reload.
                if let Err(err) = watcher.watch(&dir, RecursiveMode::NonRecursive) {
                    tracing::debug!(path = %self.path.display(), "not watched: {err}");
                }
                self.watcher = Some(watcher);
            }
            Err(err) => tracing::warn!(path = %self.path.display(), "cannot watch: {err}"),
        }
    }
}
