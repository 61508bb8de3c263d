//! Transcript tests for the pure supervisor machine: each test feeds a
//! script of inputs and compares the rendered effects as a whole.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use expect_test::{Expect, expect};

use super::{Effect, Input, Machine};
use crate::exit::{ActorError, Exit};
use crate::ids::{ChildId, Incarnation};
use crate::supervisor::config::{AutoShutdown, Backoff, Restart, Strategy, SupervisorConfig};

/// Runs `script` (one input per line, optionally prefixed by `@<ms>` for
/// the time since the start) and renders every input with its effects.
#[track_caller]
fn check(config: SupervisorConfig, script: &str, expect: Expect) {
    let t0 = Instant::now();
    let mut machine = Machine::new(config, 7);
    let mut now = t0;
    let mut out = String::new();
    for line in script.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let mut words: Vec<&str> = line.split_whitespace().collect();
        if let Some(ms) = words[0].strip_prefix('@') {
            now = t0 + Duration::from_millis(ms.parse().unwrap());
            words.remove(0);
        }
        let input = parse(&words);
        writeln!(out, "> {}", words.join(" ")).unwrap();
        for effect in machine.step(input, now) {
            writeln!(out, "  {effect}").unwrap();
        }
    }
    expect.assert_eq(&out);
}

fn parse(words: &[&str]) -> Input {
    let child = |w: &str| -> (ChildId, Incarnation) {
        let (id, n) = w.split_once('#').unwrap();
        (ChildId::new(id), Incarnation(n.parse().unwrap()))
    };
    match words {
        ["add", id, rest @ ..] => Input::Add {
            id: ChildId::new(id),
            restart: match rest.first().copied() {
                Some("transient") => Restart::Transient,
                Some("temporary") => Restart::Temporary,
                _ => Restart::Permanent,
            },
            significant: rest.contains(&"significant"),
        },
        ["ready", c] => {
            let (id, incarnation) = child(c);
            Input::Ready { id, incarnation }
        }
        ["exit", c, reason] => {
            let (id, incarnation) = child(c);
            let exit = match *reason {
                "normal" => Exit::Normal,
                "shutdown" => Exit::Shutdown,
                "killed" => Exit::Killed,
                _ => Exit::Failed(ActorError::Panicked {
                    message: "boom".into(),
                }),
            };
            Input::Exited {
                id,
                incarnation,
                exit,
            }
        }
        ["startfail", c] => {
            let (id, incarnation) = child(c);
            Input::StartFailed {
                id,
                incarnation,
                error: ActorError::ReadyTimeout {
                    after: Duration::from_secs(1),
                },
            }
        }
        ["due", c] => {
            let (id, incarnation) = child(c);
            Input::RestartDue { id, incarnation }
        }
        ["terminate", id] => Input::Terminate {
            id: ChildId::new(id),
        },
        ["restart", id] => Input::Restart {
            id: ChildId::new(id),
        },
        ["delete", id] => Input::Delete {
            id: ChildId::new(id),
        },
        ["shutdown"] => Input::Shutdown,
        other => panic!("bad script line {other:?}"),
    }
}

fn flags(strategy: Strategy) -> SupervisorConfig {
    SupervisorConfig::default()
        .strategy(strategy)
        .intensity(10, Duration::from_secs(5))
        .backoff(Backoff::NONE)
}

const BOOT_ABC: &str = "
    add a
    ready a#1
    add b
    ready b#1
    add c
    ready c#1
";

// Restart type x exit reason: one row per cell of the table in the
// module doc.
#[test]
fn restart_table() {
    let mut out = String::new();
    for restart in [Restart::Permanent, Restart::Transient, Restart::Temporary] {
        for exit in [
            Exit::Normal,
            Exit::Shutdown,
            Exit::Killed,
            Exit::Failed(ActorError::Panicked {
                message: "boom".into(),
            }),
        ] {
            let now = Instant::now();
            let mut m = Machine::new(flags(Strategy::OneForOne), 1);
            let id = ChildId::new("x");
            m.step(
                Input::Add {
                    id: id.clone(),
                    restart,
                    significant: false,
                },
                now,
            );
            m.step(
                Input::Ready {
                    id: id.clone(),
                    incarnation: Incarnation(1),
                },
                now,
            );
            let effects = m.step(
                Input::Exited {
                    id,
                    incarnation: Incarnation(1),
                    exit: exit.clone(),
                },
                now,
            );
            let rendered: Vec<String> = effects.iter().map(Effect::to_string).collect();
            writeln!(out, "{restart:?} / {exit}: {}", rendered.join("; ")).unwrap();
        }
    }
    expect![[r#"
        Permanent / normal: restart after 0ns: x#2
        Permanent / shutdown: restart after 0ns: x#2
        Permanent / killed: restart after 0ns: x#2
        Permanent / failed: panicked: boom: restart after 0ns: x#2
        Transient / normal: stopped x
        Transient / shutdown: stopped x
        Transient / killed: restart after 0ns: x#2
        Transient / failed: panicked: boom: restart after 0ns: x#2
        Temporary / normal: stopped x; removed x
        Temporary / shutdown: stopped x; removed x
        Temporary / killed: stopped x; removed x
        Temporary / failed: panicked: boom: stopped x; removed x
    "#]]
    .assert_eq(&out);
}

#[test]
fn one_for_one_restarts_only_the_failed_child() {
    check(
        flags(Strategy::OneForOne),
        &format!("{BOOT_ABC} exit b#1 failed \n due b#2 \n ready b#2"),
        expect![[r#"
            > add a
              start a#1
            > ready a#1
            > add b
              start b#1
            > ready b#1
            > add c
              start c#1
            > ready c#1
            > exit b#1 failed
              restart after 0ns: b#2
            > due b#2
              start b#2
            > ready b#2
        "#]],
    );
}

#[test]
fn one_for_all_stops_siblings_in_reverse_and_restarts_all_in_order() {
    check(
        flags(Strategy::OneForAll),
        &format!("{BOOT_ABC} exit b#1 failed \n due a#2 \n ready a#2 \n due b#2 \n due c#2"),
        expect![[r#"
            > add a
              start a#1
            > ready a#1
            > add b
              start b#1
            > ready b#1
            > add c
              start c#1
            > ready c#1
            > exit b#1 failed
              stop c#1
              stop a#1
              restart after 0ns: a#2 b#2 c#2
            > due a#2
              start a#2
            > ready a#2
            > due b#2
              start b#2
            > due c#2
              start c#2
        "#]],
    );
}

#[test]
fn rest_for_one_restarts_the_failed_child_and_later_ones() {
    check(
        flags(Strategy::RestForOne),
        &format!("{BOOT_ABC} exit b#1 killed"),
        expect![[r#"
            > add a
              start a#1
            > ready a#1
            > add b
              start b#1
            > ready b#1
            > add c
              start c#1
            > ready c#1
            > exit b#1 killed
              stop c#1
              restart after 0ns: b#2 c#2
        "#]],
    );
}

#[test]
fn temporary_siblings_are_stopped_but_never_restarted() {
    check(
        flags(Strategy::OneForAll),
        "add a \n ready a#1 \n add t temporary \n ready t#1 \n exit a#1 failed",
        expect![[r#"
            > add a
              start a#1
            > ready a#1
            > add t temporary
              start t#1
            > ready t#1
            > exit a#1 failed
              stop t#1
              stopped t
              removed t
              restart after 0ns: a#2
        "#]],
    );
}

#[test]
fn stale_incarnations_are_ignored() {
    check(
        flags(Strategy::OneForAll),
        "add a \n ready a#1 \n add b \n ready b#1 \n exit a#1 failed \n exit b#1 shutdown \n due a#2 \n ready a#2 \n exit a#1 failed \n due b#1",
        expect![[r#"
            > add a
              start a#1
            > ready a#1
            > add b
              start b#1
            > ready b#1
            > exit a#1 failed
              stop b#1
              restart after 0ns: a#2 b#2
            > exit b#1 shutdown
              ignore stale b#1
            > due a#2
              start a#2
            > ready a#2
            > exit a#1 failed
              ignore stale a#1
            > due b#1
              ignore stale b#1
        "#]],
    );
}

#[test]
fn intensity_escalates_with_reverse_order_shutdown() {
    // OTP defaults: 1 restart in 5 s. The second failure within 5 s
    // escalates; one after the window does not.
    let config = SupervisorConfig::default().backoff(Backoff::NONE);
    check(
        config.clone(),
        "add a \n ready a#1 \n add b \n ready b#1 \n add c \n ready c#1
         @1000 exit b#1 failed \n due b#2 \n ready b#2
         @7000 exit b#2 failed \n due b#3 \n ready b#3
         @8000 exit b#3 failed
         @8001 exit a#1 failed",
        expect![[r#"
            > add a
              start a#1
            > ready a#1
            > add b
              start b#1
            > ready b#1
            > add c
              start c#1
            > ready c#1
            > exit b#1 failed
              restart after 0ns: b#2
            > due b#2
              start b#2
            > ready b#2
            > exit b#2 failed
              restart after 0ns: b#3
            > due b#3
              start b#3
            > ready b#3
            > exit b#3 failed
              escalate after 2 restarts
              stop c#1
              stopped c
              stopped b
              stop a#1
              stopped a
            > exit a#1 failed
              ignore stale a#1
        "#]],
    );
}

#[test]
fn manual_terminate_counts_neither_as_restart_nor_toward_intensity() {
    let config = SupervisorConfig::default().backoff(Backoff::NONE);
    check(
        config,
        "add a \n ready a#1
         terminate a \n exit a#1 shutdown \n restart a \n ready a#2
         terminate a \n restart a \n ready a#3
         exit a#3 failed \n delete a \n terminate a \n delete a \n delete a",
        expect![[r#"
            > add a
              start a#1
            > ready a#1
            > terminate a
              stop a#1
              stopped a
            > exit a#1 shutdown
              ignore stale a#1
            > restart a
              start a#2
            > ready a#2
            > terminate a
              stop a#2
              stopped a
            > restart a
              start a#3
            > ready a#3
            > exit a#3 failed
              restart after 0ns: a#4
            > delete a
              refused: child `a` is running
            > terminate a
              stopped a
            > delete a
              removed a
            > delete a
              refused: no child `a`
        "#]],
    );
}

#[test]
fn backoff_grows_and_resets_after_stable_uptime() {
    let backoff = Backoff {
        initial: Duration::from_millis(100),
        max: Duration::from_secs(1),
        multiplier: 2.0,
        jitter: 0.0,
        reset_after: Duration::from_secs(10),
    };
    let config = SupervisorConfig::default()
        .intensity(100, Duration::from_secs(1))
        .backoff(backoff);
    check(
        config,
        "add a \n ready a#1
         @0 exit a#1 failed \n due a#2 \n ready a#2
         @1 exit a#2 failed \n due a#3 \n ready a#3
         @2 exit a#3 failed \n due a#4 \n ready a#4
         @3 exit a#4 failed \n due a#5 \n ready a#5
         @4 exit a#5 failed \n due a#6 \n ready a#6
         @20000 exit a#6 failed",
        expect![[r#"
            > add a
              start a#1
            > ready a#1
            > exit a#1 failed
              restart after 100ms: a#2
            > due a#2
              start a#2
            > ready a#2
            > exit a#2 failed
              restart after 200ms: a#3
            > due a#3
              start a#3
            > ready a#3
            > exit a#3 failed
              restart after 400ms: a#4
            > due a#4
              start a#4
            > ready a#4
            > exit a#4 failed
              restart after 800ms: a#5
            > due a#5
              start a#5
            > ready a#5
            > exit a#5 failed
              restart after 1s: a#6
            > due a#6
              start a#6
            > ready a#6
            > exit a#6 failed
              restart after 100ms: a#7
        "#]],
    );
}

#[test]
fn jitter_stays_within_its_band() {
    let backoff = Backoff {
        initial: Duration::from_millis(1000),
        max: Duration::from_secs(10),
        multiplier: 2.0,
        jitter: 0.25,
        reset_after: Duration::from_secs(10),
    };
    for unit in [0.0, 0.25, 0.5, 0.999] {
        let d = backoff.delay(0, unit);
        assert!(
            d >= Duration::from_millis(750) && d <= Duration::from_millis(1250),
            "{d:?}"
        );
    }
    assert_eq!(backoff.delay(0, 0.5), Duration::from_millis(1000));
    assert_eq!(backoff.delay(40, 0.999), Duration::from_secs(10));
}

#[test]
fn a_child_that_never_came_up_is_forgotten_but_a_restart_that_fails_counts() {
    check(
        flags(Strategy::OneForOne),
        "add a \n startfail a#1 \n add b \n ready b#1 \n exit b#1 failed \n due b#2 \n startfail b#2",
        expect![[r#"
            > add a
              start a#1
            > startfail a#1
              stopped a
              removed a
            > add b
              start b#1
            > ready b#1
            > exit b#1 failed
              restart after 0ns: b#2
            > due b#2
              start b#2
            > startfail b#2
              restart after 0ns: b#3
        "#]],
    );
}

#[test]
fn auto_shutdown_on_a_significant_child() {
    check(
        flags(Strategy::OneForOne).auto_shutdown(AutoShutdown::AnySignificant),
        "add a \n ready a#1 \n add s transient significant \n ready s#1 \n exit s#1 normal \n add z",
        expect![[r#"
            > add a
              start a#1
            > ready a#1
            > add s transient significant
              start s#1
            > ready s#1
            > exit s#1 normal
              stopped s
              auto-shutdown
              stop a#1
              stopped a
            > add z
              refused: supervisor is shutting down
        "#]],
    );
}

#[test]
fn shutdown_stops_everything_in_reverse_order() {
    check(
        flags(Strategy::OneForOne),
        &format!("{BOOT_ABC} shutdown \n exit c#1 shutdown"),
        expect![[r#"
            > add a
              start a#1
            > ready a#1
            > add b
              start b#1
            > ready b#1
            > add c
              start c#1
            > ready c#1
            > shutdown
              stop c#1
              stopped c
              stop b#1
              stopped b
              stop a#1
              stopped a
            > exit c#1 shutdown
              ignore stale c#1
        "#]],
    );
}
