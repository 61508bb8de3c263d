//! Message round trip to a supervised actor (through its `ChildHandle`)
//! against a bare actix actor, and the time to restart a crashed child
//! with zero backoff.
//!
//! Run with `cargo bench -p codex-runtime -- --measurement-time 3`.

use std::time::{Duration, Instant};

use actix::prelude::*;
use codex_runtime::{Backoff, ChildSpec, EventBus, EventKind, Supervisor, SupervisorConfig};
use criterion::{Criterion, criterion_group, criterion_main};

#[path = "shared/pong.rs"]
mod pong;
use pong::{Crash, Ping, Pong};

/// Criterion runs one function after another, and on this VM whatever runs
/// later pays for it (tens of ns here). This alternates blocks of bare and
/// supervised round trips, swapping which goes first each round, and prints
/// the medians and their ratio from the same minute of machine time.
fn paired_overhead(
    system: &actix::SystemRunner,
    bare: &Addr<Pong>,
    handle: &codex_runtime::ChildHandle<Pong>,
) {
    const BLOCK: u64 = 2_000;
    const ROUNDS: usize = 200;
    let (mut bare_ns, mut supervised_ns) = (Vec::new(), Vec::new());
    system.block_on(async {
        for round in 0..ROUNDS {
            for first_bare in [round % 2 == 0, round % 2 == 1] {
                let start = Instant::now();
                for i in 0..BLOCK {
                    if first_bare {
                        std::hint::black_box(bare.send(Ping(i)).await.expect("bare"));
                    } else {
                        std::hint::black_box(handle.send(Ping(i)).await.expect("supervised"));
                    }
                }
                let per_call = start.elapsed().as_nanos() as f64 / BLOCK as f64;
                if first_bare {
                    bare_ns.push(per_call);
                } else {
                    supervised_ns.push(per_call);
                }
            }
        }
    });
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (b, s) = (median(&mut bare_ns), median(&mut supervised_ns));
    println!(
        "paired round trip ({ROUNDS} alternating blocks of {BLOCK}): bare {b:.1} ns, \
         supervised {s:.1} ns, overhead {:+.1} %",
        (s / b - 1.0) * 100.0
    );
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

    paired_overhead(&system, &bare, &handle);

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
