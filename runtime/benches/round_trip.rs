//! Message round trip to a supervised actor (through its `ChildHandle`)
//! against a bare actix actor, and the time to restart a crashed child
//! with zero backoff.
//!
//! Run with `cargo bench -p codex-runtime -- --measurement-time 3`.

use std::time::{Duration, Instant};

use actix::prelude::*;
use codex_runtime::{Backoff, ChildSpec, EventBus, EventKind, Supervisor, SupervisorConfig};
use criterion::{Criterion, criterion_group, criterion_main};

struct Pong;

impl Actor for Pong {
    type Context = Context<Self>;
}

#[derive(Message)]
#[rtype(result = "u64")]
struct Ping(u64);

impl Handler<Ping> for Pong {
    type Result = u64;
    fn handle(&mut self, Ping(n): Ping, _: &mut Context<Self>) -> u64 {
        n + 1
    }
}

#[derive(Message)]
#[rtype(result = "()")]
struct Crash;

impl Handler<Crash> for Pong {
    type Result = ();
    fn handle(&mut self, _: Crash, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

fn round_trip(c: &mut Criterion) {
    let system = System::new();
    let bare = system.block_on(async { Pong.start() });
    let bus = EventBus::default();
    let (root, handle) = system.block_on(async {
        let (spec, handle) = ChildSpec::actor("pong", |_| Ok(Pong));
        let root = Supervisor::start("bench", SupervisorConfig::default(), &bus, vec![spec]);
        root.ready().await.expect("ready");
        (root, handle)
    });

    let mut group = c.benchmark_group("round_trip");
    group.bench_function("bare_addr", |b| {
        b.iter_custom(|iters| {
            system.block_on(async {
                let start = Instant::now();
                for i in 0..iters {
                    std::hint::black_box(bare.send(Ping(i)).await.expect("bare"));
                }
                start.elapsed()
            })
        });
    });
    group.bench_function("supervised_handle", |b| {
        b.iter_custom(|iters| {
            system.block_on(async {
                let start = Instant::now();
                for i in 0..iters {
                    std::hint::black_box(handle.send(Ping(i)).await.expect("supervised"));
                }
                start.elapsed()
            })
        });
    });
    let direct = handle.addr().expect("live");
    group.bench_function("supervised_addr", |b| {
        b.iter_custom(|iters| {
            system.block_on(async {
                let start = Instant::now();
                for i in 0..iters {
                    std::hint::black_box(direct.send(Ping(i)).await.expect("direct"));
                }
                start.elapsed()
            })
        });
    });
    group.finish();

    // Restart latency: stop the child, wait for the new incarnation's
    // Ready event. Intensity is raised so the loop never escalates.
    let bus = EventBus::default();
    let (root2, crashy) = system.block_on(async {
        let (spec, handle) = ChildSpec::actor("crashy", |_| Ok(Pong));
        let config = SupervisorConfig::default()
            .intensity(u32::MAX, Duration::from_secs(1))
            .backoff(Backoff::NONE);
        let root = Supervisor::start("restart", config, &bus, vec![spec]);
        root.ready().await.expect("ready");
        (root, handle)
    });
    let mut events = bus.subscribe();
    c.bench_function("restart_crashed_child", |b| {
        b.iter_custom(|iters| {
            system.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let start = Instant::now();
                    crashy.try_send(Crash).expect("live");
                    loop {
                        let event = events.recv().await.expect("bus");
                        if matches!(event.kind, EventKind::Ready) {
                            break;
                        }
                    }
                    total += start.elapsed();
                }
                total
            })
        });
    });

    system.block_on(async {
        root.shutdown().await;
        root2.shutdown().await;
    });
}

criterion_group!(benches, round_trip);
criterion_main!(benches);
