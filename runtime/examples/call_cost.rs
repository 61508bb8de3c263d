//! A fixed number of round trips, bare or through a `ChildHandle`, for
//! counting instructions with callgrind (repeatable on a noisy machine):
//!
//! ```sh
//! cargo build --release -p codex-runtime --example call_cost
//! for n in 1000 11000; do
//!   valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/examples/call_cost handle $n
//! done
//! ```
//!
//! The difference of the two totals over 10,000 is the cost per call;
//! do the same with `bare`.

use actix::prelude::*;
use codex_runtime::{ChildSpec, EventBus, Supervisor, SupervisorConfig};

#[path = "../benches/shared/pong.rs"]
mod pong;
use pong::{Ping, Pong};

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: call_cost bare|handle N";
    let handle_mode = match args.next().as_deref() {
        Some("bare") => false,
        Some("handle") => true,
        _ => return Err(usage.to_owned()),
    };
    let n: u64 = args
        .next()
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| usage.to_owned())?;
    let system = System::new();
    let bare = system.block_on(async { Pong.start() });
    let bus = EventBus::default();
    let (spec, handle) = ChildSpec::actor("pong", |_| Ok(Pong));
    let root = system.block_on(async {
        let root = Supervisor::start("bench", SupervisorConfig::default(), &bus, vec![spec]);
        root.ready().await.map(|()| root)
    });
    let root = root.map_err(|e| e.to_string())?;
    system.block_on(async {
        for i in 0..n {
            let answer = if handle_mode {
                handle.send(Ping(i)).await.map_err(|e| e.to_string())?
            } else {
                bare.send(Ping(i)).await.map_err(|e| e.to_string())?
            };
            std::hint::black_box(answer);
        }
        root.shutdown().await;
        Ok(())
    })
}
