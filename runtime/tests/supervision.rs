//! End-to-end supervision laws on a real actix System with paused tokio
//! time. Every test asserts on the lifecycle event transcript, never on
//! sleeps: it waits for a named event with a generous (virtual) timeout.

use std::time::Duration;

use actix::prelude::*;
use codex_runtime::{
    ActorError, Backoff, CallError, ChildContext, ChildHandle, ChildSpec, Event, EventBus, Exit,
    Restart, RootSupervisor, SendError, Strategy, Supervisor, SupervisorConfig, SupervisorError,
};
use expect_test::{Expect, expect};
use tokio::sync::broadcast;

// ---- the one shared test actor ------------------------------------------

/// A counter whose state must be fresh after every restart.
struct Worker {
    cx: ChildContext,
    count: u32,
    signal_ready: bool,
}

impl Actor for Worker {
    type Context = Context<Self>;

    fn started(&mut self, _: &mut Context<Self>) {
        if self.signal_ready {
            self.cx.ready();
        }
    }
}

#[derive(Message)]
#[rtype(result = "u32")]
enum Msg {
    Bump,
    Get,
}

#[derive(Message)]
#[rtype(result = "()")]
enum Die {
    /// Panic inside the handler.
    Panic,
    /// Report an error and stop.
    Fail,
    /// Stop without an error.
    Quit,
}

#[derive(Debug, thiserror::Error)]
#[error("worker gave up")]
struct GaveUp;

impl Handler<Msg> for Worker {
    type Result = u32;
    fn handle(&mut self, msg: Msg, _: &mut Context<Self>) -> u32 {
        match msg {
            Msg::Bump => self.count += 1,
            Msg::Get => {}
        }
        self.count
    }
}

impl Handler<Die> for Worker {
    type Result = ();
    fn handle(&mut self, msg: Die, ctx: &mut Context<Self>) {
        match msg {
            Die::Panic => panic!("boom"),
            Die::Fail => {
                self.cx.fail(ActorError::custom(GaveUp));
                ctx.stop();
            }
            Die::Quit => ctx.stop(),
        }
    }
}

fn worker(id: &str) -> (ChildSpec, ChildHandle<Worker>) {
    ChildSpec::actor(id, |cx| {
        Ok(Worker {
            cx: cx.clone(),
            count: 0,
            signal_ready: true,
        })
    })
}

/// A worker that never signals ready.
fn sluggard(id: &str, timeout: Duration) -> ChildSpec {
    let (spec, _) = ChildSpec::actor(id, |cx| {
        Ok(Worker {
            cx: cx.clone(),
            count: 0,
            signal_ready: false,
        })
    });
    spec.await_ready(timeout)
}

// ---- harness ------------------------------------------------------------

/// Runs `f` in an actix System on a current-thread runtime with paused
/// time: timers fire as soon as everything else is idle.
fn run<F: Future<Output = ()>>(f: impl FnOnce() -> F) {
    let system = System::with_tokio_rt(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap()
    });
    system.block_on(async move { f().await });
}

/// Lifecycle events rendered one per line.
struct Log(broadcast::Receiver<Event>);

impl Log {
    fn new(bus: &EventBus) -> Self {
        Log(bus.subscribe())
    }

    /// Collects events up to and including the first one rendered as
    /// `last`, and returns them as text.
    async fn until(&mut self, last: &str) -> String {
        let mut out = String::new();
        let wait = async {
            loop {
                let event = self.0.recv().await.expect("bus open").to_string();
                out.push_str(&event);
                out.push('\n');
                if event == last {
                    return;
                }
            }
        };
        if tokio::time::timeout(Duration::from_secs(600), wait)
            .await
            .is_err()
        {
            panic!("no `{last}` event; got:\n{out}");
        }
        out
    }
}

fn config(strategy: Strategy) -> SupervisorConfig {
    SupervisorConfig::default()
        .strategy(strategy)
        .intensity(10, Duration::from_secs(5))
        .backoff(Backoff::NONE)
}

struct Tree {
    root: RootSupervisor,
    log: Log,
    handles: Vec<ChildHandle<Worker>>,
}

async fn boot(config: SupervisorConfig, ids: &[&str]) -> Tree {
    let bus = EventBus::default();
    let mut log = Log::new(&bus);
    let (specs, handles): (Vec<_>, Vec<_>) = ids.iter().map(|id| worker(id)).unzip();
    let root = Supervisor::start("root", config, &bus, specs);
    root.ready().await.expect("boot");
    log.until(&format!("root/{}#1 ready", ids[ids.len() - 1]))
        .await;
    Tree { root, log, handles }
}

async fn counts(handles: &[ChildHandle<Worker>]) -> String {
    let mut out = Vec::new();
    for h in handles {
        let n = h.send(Msg::Get).await.expect("reachable");
        out.push(format!("{}={n}", h.id()));
    }
    out.join(" ")
}

// ---- strategies ---------------------------------------------------------

/// One crash script under every strategy: bump all, crash `b`, then read
/// the counters (a restarted child starts again from 0).
#[track_caller]
fn check_strategy(strategy: Strategy, last: &'static str, expect: Expect) {
    run(|| async move {
        let mut t = boot(config(strategy), &["a", "b", "c"]).await;
        for h in &t.handles {
            h.send(Msg::Bump).await.unwrap();
        }
        t.handles[1].try_send(Die::Panic).unwrap();
        let mut out = t.log.until(last).await;
        out.push_str(&counts(&t.handles).await);
        expect.assert_eq(&out);
    });
}

#[test]
fn one_for_one_restarts_only_the_failed_child() {
    check_strategy(
        Strategy::OneForOne,
        "root/b#2 ready",
        expect![[r#"
            root/b#1 exited: failed: panicked: boom
            root/b#2 restarting after 0ns
            root/b#2 started
            root/b#2 ready
            a=1 b=0 c=1"#]],
    );
}

#[test]
fn one_for_all_restarts_everyone_in_order_after_reverse_stop() {
    check_strategy(
        Strategy::OneForAll,
        "root/c#2 ready",
        expect![[r#"
            root/b#1 exited: failed: panicked: boom
            root/c#1 exited: shutdown
            root/a#1 exited: shutdown
            root/a#2 restarting after 0ns
            root/b#2 restarting after 0ns
            root/c#2 restarting after 0ns
            root/a#2 started
            root/a#2 ready
            root/b#2 started
            root/b#2 ready
            root/c#2 started
            root/c#2 ready
            a=0 b=0 c=0"#]],
    );
}

#[test]
fn rest_for_one_restarts_the_failed_child_and_later_ones() {
    check_strategy(
        Strategy::RestForOne,
        "root/c#2 ready",
        expect![[r#"
            root/b#1 exited: failed: panicked: boom
            root/c#1 exited: shutdown
            root/b#2 restarting after 0ns
            root/c#2 restarting after 0ns
            root/b#2 started
            root/b#2 ready
            root/c#2 started
            root/c#2 ready
            a=1 b=0 c=0"#]],
    );
}

// ---- restart types ------------------------------------------------------

#[track_caller]
fn check_restart(restart: Restart, die: fn() -> Die, last: &'static str, expect: Expect) {
    run(|| async move {
        let bus = EventBus::default();
        let mut log = Log::new(&bus);
        let (spec, x) = worker("x");
        let root = Supervisor::start(
            "root",
            config(Strategy::OneForOne),
            &bus,
            vec![spec.restart(restart)],
        );
        root.ready().await.unwrap();
        log.until("root/x#1 ready").await;
        x.try_send(die()).unwrap();
        let out = log.until(last).await;
        expect.assert_eq(&out);
        root.shutdown().await;
    });
}

#[test]
fn transient_is_not_restarted_after_a_normal_exit() {
    check_restart(
        Restart::Transient,
        || Die::Quit,
        "root/x#1 stopped",
        expect![[r#"
            root/x#1 exited: normal
            root/x#1 stopped
        "#]],
    );
}

#[test]
fn transient_is_restarted_after_a_failure() {
    check_restart(
        Restart::Transient,
        || Die::Fail,
        "root/x#2 ready",
        expect![[r#"
            root/x#1 exited: failed: worker gave up
            root/x#2 restarting after 0ns
            root/x#2 started
            root/x#2 ready
        "#]],
    );
}

#[test]
fn permanent_is_restarted_after_a_normal_exit() {
    check_restart(
        Restart::Permanent,
        || Die::Quit,
        "root/x#2 ready",
        expect![[r#"
            root/x#1 exited: normal
            root/x#2 restarting after 0ns
            root/x#2 started
            root/x#2 ready
        "#]],
    );
}

#[test]
fn temporary_is_never_restarted_even_after_a_panic() {
    check_restart(
        Restart::Temporary,
        || Die::Panic,
        "root/x#1 stopped",
        expect![[r#"
            root/x#1 exited: failed: panicked: boom
            root/x#1 stopped
        "#]],
    );
}

// ---- intensity, shutdown, escalation ------------------------------------

#[test]
fn intensity_escalates_and_shuts_down_in_reverse_order() {
    run(|| async {
        // OTP defaults: 1 restart in 5 s.
        let cfg = SupervisorConfig::default().backoff(Backoff::NONE);
        let mut t = boot(cfg, &["a", "b", "c"]).await;
        t.handles[1].try_send(Die::Panic).unwrap();
        t.log.until("root/b#2 ready").await;
        t.handles[1].try_send(Die::Panic).unwrap();
        let out = t
            .log
            .until("root#1 exited: failed: supervisor `root` escalated: more than 1 restarts in 5s")
            .await;
        expect![[r#"
            root/b#2 exited: failed: panicked: boom
            root#1 escalated after 2 restarts
            root/c#1 exited: shutdown
            root/c#1 stopped
            root/b#2 stopped
            root/a#1 exited: shutdown
            root/a#1 stopped
            root#1 exited: failed: supervisor `root` escalated: more than 1 restarts in 5s
        "#]]
        .assert_eq(&out);
        assert!(matches!(
            t.root.wait().await,
            Exit::Failed(ActorError::Escalated { .. })
        ));
        let err = t.handles[0].send(Msg::Get).await.unwrap_err();
        assert!(
            matches!(err, CallError::NotSent(SendError::Closed(Msg::Get))),
            "{err:?}"
        );
    });
}

#[test]
fn restarts_outside_the_period_do_not_escalate() {
    run(|| async {
        let cfg = SupervisorConfig::default().backoff(Backoff::NONE);
        let mut t = boot(cfg, &["a"]).await;
        for n in 1..=3 {
            t.handles[0].try_send(Die::Panic).unwrap();
            t.log.until(&format!("root/a#{} ready", n + 1)).await;
            tokio::time::sleep(Duration::from_secs(6)).await;
        }
        assert_eq!(t.handles[0].send(Msg::Get).await.unwrap(), 0);
        t.root.shutdown().await;
    });
}

#[test]
fn shutdown_stops_children_in_reverse_order() {
    run(|| async {
        let mut t = boot(config(Strategy::OneForOne), &["a", "b", "c"]).await;
        let exit = t.root.shutdown().await;
        assert!(matches!(exit, Exit::Shutdown), "{exit}");
        expect![[r#"
            root/c#1 exited: shutdown
            root/c#1 stopped
            root/b#1 exited: shutdown
            root/b#1 stopped
            root/a#1 exited: shutdown
            root/a#1 stopped
            root#1 exited: shutdown
        "#]]
        .assert_eq(&t.log.until("root#1 exited: shutdown").await);
    });
}

// ---- readiness ----------------------------------------------------------

#[test]
fn a_start_that_never_signals_ready_times_out() {
    run(|| async {
        let mut t = boot(config(Strategy::OneForOne), &["a"]).await;
        let err = t
            .root
            .handle()
            .start_child(sluggard("slow", Duration::from_secs(2)))
            .await
            .unwrap_err();
        assert!(
            matches!(
                &err,
                SupervisorError::StartFailed {
                    source: ActorError::ReadyTimeout { .. },
                    ..
                }
            ),
            "{err}"
        );
        expect![[r#"
            root/slow#1 started
            root/slow#1 exited: killed
            root/slow#1 stopped
        "#]]
        .assert_eq(&t.log.until("root/slow#1 stopped").await);
        assert_eq!(t.handles[0].send(Msg::Get).await.unwrap(), 0);
    });
}

#[test]
fn a_child_that_fails_at_boot_fails_the_supervisor() {
    run(|| async {
        let bus = EventBus::default();
        let mut log = Log::new(&bus);
        let (a, _) = worker("a");
        let bad = ChildSpec::new("bad", |_| Err(ActorError::custom(GaveUp)));
        let (c, _) = worker("c");
        let root = Supervisor::start("root", config(Strategy::OneForOne), &bus, vec![a, bad, c]);
        let err = root.ready().await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "supervisor exited: failed: supervisor `root` could not start child `bad`: worker gave up"
        );
        expect![[r#"
            root#1 started
            root/a#1 started
            root/a#1 ready
            root/bad#1 stopped
            root/a#1 exited: shutdown
            root/a#1 stopped
            root#1 exited: failed: supervisor `root` could not start child `bad`: worker gave up
        "#]]
        .assert_eq(&log.until("root#1 exited: failed: supervisor `root` could not start child `bad`: worker gave up").await);
    });
}

// ---- dynamic children ---------------------------------------------------

#[test]
fn manual_terminate_and_restart_do_not_count_toward_intensity() {
    run(|| async {
        // Intensity 1 in 5 s: three manual cycles would escalate if they
        // counted.
        let cfg = SupervisorConfig::default().backoff(Backoff::NONE);
        let mut t = boot(cfg, &["a"]).await;
        let sup = t.root.handle().clone();
        let (spec, x) = worker("x");
        sup.start_child(spec).await.unwrap();
        for _ in 0..3 {
            sup.terminate_child("x").await.unwrap();
            assert!(matches!(
                x.send(Msg::Get).await,
                Err(CallError::NotSent(SendError::Closed(_)))
            ));
            sup.restart_child("x").await.unwrap();
        }
        assert_eq!(x.send(Msg::Bump).await.unwrap(), 1);
        let dup = sup.start_child(worker("x").0).await.unwrap_err();
        assert_eq!(dup.to_string(), "child `x` already exists");
        let running = sup.delete_child("x").await.unwrap_err();
        assert_eq!(running.to_string(), "child `x` is running");
        sup.terminate_child("x").await.unwrap();
        sup.delete_child("x").await.unwrap();
        let gone = sup.restart_child("x").await.unwrap_err();
        assert_eq!(gone.to_string(), "no child `x`");
        let children: Vec<String> = sup
            .which_children()
            .await
            .unwrap()
            .into_iter()
            .map(|(id, inc)| format!("{id}:{inc:?}"))
            .collect();
        assert_eq!(children, ["a:Some(Incarnation(1))"]);
        expect![[r#"
            root/x#1 started
            root/x#1 ready
            root/x#1 exited: shutdown
            root/x#1 stopped
            root/x#2 started
            root/x#2 ready
            root/x#2 exited: shutdown
            root/x#2 stopped
            root/x#3 started
            root/x#3 ready
            root/x#3 exited: shutdown
            root/x#3 stopped
            root/x#4 started
            root/x#4 ready
            root/x#4 exited: shutdown
            root/x#4 stopped
        "#]]
        .assert_eq(&t.log.until("root/x#4 stopped").await);
        // A real failure is still allowed by the intensity budget.
        t.handles[0].try_send(Die::Panic).unwrap();
        t.log.until("root/a#2 ready").await;
    });
}

// ---- backoff and handles ------------------------------------------------

#[test]
fn backoff_grows_then_resets_after_stable_uptime_and_handles_report_restarting() {
    run(|| async {
        let backoff = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(1),
            multiplier: 2.0,
            jitter: 0.0,
            reset_after: Duration::from_secs(10),
        };
        let cfg = SupervisorConfig::default()
            .intensity(100, Duration::from_secs(1))
            .backoff(backoff);
        let mut t = boot(cfg, &["a"]).await;
        let a = t.handles[0].clone();
        let mut out = String::new();
        for n in 1..=3 {
            a.try_send(Die::Panic).unwrap();
            out.push_str(
                &t.log
                    .until(&format!("root/a#{n} exited: failed: panicked: boom"))
                    .await,
            );
            let restarting = t
                .log
                .until_prefix(&format!("root/a#{} restarting", n + 1))
                .await;
            out.push_str(&restarting);
            // During the backoff the handle hands the message back.
            match a.send(Msg::Get).await {
                Err(CallError::NotSent(SendError::Restarting(Msg::Get))) => {}
                other => panic!("expected Restarting, got {other:?}"),
            }
            t.log.until(&format!("root/a#{} ready", n + 1)).await;
        }
        tokio::time::sleep(Duration::from_secs(11)).await;
        a.try_send(Die::Panic).unwrap();
        t.log.until("root/a#4 exited: failed: panicked: boom").await;
        out.push_str(&t.log.until_prefix("root/a#5 restarting").await);
        expect![[r#"
            root/a#1 exited: failed: panicked: boom
            root/a#2 restarting after 100ms
            root/a#2 exited: failed: panicked: boom
            root/a#3 restarting after 200ms
            root/a#3 exited: failed: panicked: boom
            root/a#4 restarting after 400ms
            root/a#5 restarting after 100ms
        "#]]
        .assert_eq(&out);
    });
}

impl Log {
    /// Like `until`, but matches the first event starting with `prefix`
    /// and returns only that event.
    async fn until_prefix(&mut self, prefix: &str) -> String {
        let wait = async {
            loop {
                let event = self.0.recv().await.expect("bus open").to_string();
                if event.starts_with(prefix) {
                    return event + "\n";
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(600), wait)
            .await
            .unwrap_or_else(|_| panic!("no event starting with `{prefix}`"))
    }
}

// ---- nesting ------------------------------------------------------------

#[test]
fn an_escalating_sub_supervisor_is_restarted_by_its_parent() {
    run(|| async {
        let bus = EventBus::default();
        let mut log = Log::new(&bus);
        let inner_cfg = config(Strategy::OneForOne).intensity(0, Duration::from_secs(5));
        let (x_handle_tx, x_handle_rx) = std::sync::mpsc::channel();
        let (inner, _inner_handle) = ChildSpec::supervisor("inner", inner_cfg, move || {
            let (spec, x) = worker("x");
            let _ = x_handle_tx.send(x);
            vec![spec]
        });
        let root = Supervisor::start("root", config(Strategy::OneForOne), &bus, vec![inner]);
        root.ready().await.unwrap();
        log.until("root/inner#1 ready").await;
        let x1 = x_handle_rx.try_recv().unwrap();
        x1.try_send(Die::Panic).unwrap();
        expect![[r#"
            root/inner/x#1 exited: failed: panicked: boom
            root/inner#1 escalated after 1 restarts
            root/inner/x#1 stopped
            root/inner#1 exited: failed: supervisor `root/inner` escalated: more than 0 restarts in 5s
            root/inner#2 restarting after 0ns
            root/inner#2 started
            root/inner/x#1 started
            root/inner/x#1 ready
            root/inner#2 ready
        "#]]
        .assert_eq(&log.until("root/inner#2 ready").await);
        let x2 = x_handle_rx.try_recv().unwrap();
        assert_eq!(x2.send(Msg::Bump).await.unwrap(), 1);
        root.shutdown().await;
    });
}

#[test]
fn send_enqueues_at_once_and_a_request_behind_a_stop_is_lost() {
    run(|| async {
        let cfg = SupervisorConfig::default().backoff(Backoff::NONE);
        let mut t = boot(cfg, &["a"]).await;
        let handle = t.handles[0].clone();
        // Like `Addr::send`: the call itself enqueues, polled or not, and a
        // request dropped before it is handled is withdrawn.
        let pending = handle.send(Msg::Bump);
        drop(handle.send(Msg::Bump));
        assert_eq!(handle.send(Msg::Get).await.expect("live"), 1);
        assert_eq!(pending.await.expect("live"), 1);
        // A request queued behind a stop is dropped unanswered.
        handle.try_send(Die::Quit).expect("live");
        let err = handle.send(Msg::Get).await.unwrap_err();
        assert!(
            matches!(err, CallError::Lost { incarnation } if incarnation.0 == 1),
            "{err:?}"
        );
        t.log.until("root/a#2 ready").await;
        assert_eq!(handle.send(Msg::Get).await.expect("restarted"), 0);
    });
}
