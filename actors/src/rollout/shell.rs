//! The rollout writer's actix shell: reads recorded items from its channel
//! and appends them to its open file (`O_APPEND`), the items waiting
//! together in one `write`. Whatever was sent before a stop is written on
//! the way out.
//!
//! The only file of this actor kind that knows actix.

use std::fs::File;
use std::io::Write as _;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use actix::prelude::*;
use tokio::sync::mpsc;

use super::format::RolloutItem;
use super::machine::{Effect, Input, Machine};

/// Appends one thread's lines.
pub(crate) struct RolloutWriter {
    machine: Machine,
    file: File,
    inbox: Arc<Mutex<mpsc::UnboundedReceiver<RolloutItem>>>,
    problems: Arc<Mutex<Option<String>>>,
}

impl std::fmt::Debug for RolloutWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RolloutWriter").finish_non_exhaustive()
    }
}

impl RolloutWriter {
    pub(crate) fn new(
        file: File,
        inbox: mpsc::UnboundedReceiver<RolloutItem>,
        problems: Arc<Mutex<Option<String>>>,
    ) -> Self {
        RolloutWriter {
            machine: Machine::new(),
            file,
            inbox: Arc::new(Mutex::new(inbox)),
            problems,
        }
    }

    fn deliver(&mut self, input: Input) {
        let mut queue = vec![input];
        while let Some(input) = queue.pop() {
            for effect in self.machine.step(input, SystemTime::now()) {
                match effect {
                    Effect::Append { text, lines } => {
                        if let Err(err) = self.file.write_all(text.as_bytes()) {
                            queue.push(Input::WriteFailed {
                                lines,
                                error: err.to_string(),
                            });
                        }
                    }
                    Effect::Warn(error) => {
                        tracing::warn!("the session file cannot be written: {error}");
                    }
                }
            }
        }
        if self.machine.dropped() > 0 {
            *lock(&self.problems) = Some(format!(
                "{} line(s) of the session could not be written",
                self.machine.dropped()
            ));
        }
    }
}

impl Actor for RolloutWriter {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let inbox = Arc::clone(&self.inbox);
        ctx.add_stream(futures::stream::poll_fn(move |cx| {
            lock(&inbox).poll_recv(cx).map(|item| item.map(Recorded))
        }));
    }

    /// Asked to stop: what was recorded before is written first.
    fn stopping(&mut self, _: &mut Context<Self>) -> Running {
        let pending = self.waiting(Vec::new());
        if !pending.is_empty() {
            self.deliver(Input::Record(pending));
        }
        Running::Stop
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One recorded item.
#[derive(Debug)]
struct Recorded(RolloutItem);

impl RolloutWriter {
    /// `first`, then every item already waiting: written together.
    fn waiting(&self, mut items: Vec<RolloutItem>) -> Vec<RolloutItem> {
        let mut inbox = lock(&self.inbox);
        items.extend(std::iter::from_fn(|| inbox.try_recv().ok()));
        items
    }
}

impl StreamHandler<Recorded> for RolloutWriter {
    fn handle(&mut self, Recorded(item): Recorded, _: &mut Context<Self>) {
        let batch = self.waiting(vec![item]);
        self.deliver(Input::Record(batch));
    }

    /// Every recorder is gone: nothing more will come.
    fn finished(&mut self, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}
