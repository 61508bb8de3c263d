//! A runnable two-child supervision tree.
//!
//! A `one_for_all` supervisor starts a `clock` and an `echo` actor in
//! order. The example crashes `echo` with a panic, shows that both
//! children restart with fresh state, then shuts the tree down in reverse
//! order. Every lifecycle event is printed as it happens.
//!
//! Run it with `cargo run -p codex-runtime --example two_children`.

use std::time::Duration;

use actix::prelude::*;
use codex_runtime::{
    Backoff, ChildContext, ChildSpec, EventBus, Strategy, Supervisor, SupervisorConfig, block_on,
};

/// Counts the messages it has echoed; the count restarts at 0.
struct Echo {
    cx: ChildContext,
    echoed: u32,
}

impl Actor for Echo {
    type Context = Context<Self>;

    fn started(&mut self, _: &mut Context<Self>) {
        // A real child would finish its handshake first.
        self.cx.ready();
    }
}

#[derive(Message)]
#[rtype(result = "String")]
struct Say(String);

impl Handler<Say> for Echo {
    type Result = String;
    fn handle(&mut self, Say(text): Say, _: &mut Context<Self>) -> String {
        self.echoed += 1;
        format!("{text} (#{})", self.echoed)
    }
}

#[derive(Message)]
#[rtype(result = "()")]
struct Crash;

impl Handler<Crash> for Echo {
    type Result = ();
    fn handle(&mut self, _: Crash, _: &mut Context<Self>) {
        panic!("echo was asked to crash");
    }
}

/// Ticks in the background.
struct Clock;

impl Actor for Clock {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(Duration::from_millis(50), |_, _| {});
    }
}

fn main() -> Result<(), codex_runtime::RuntimeError> {
    block_on(|| async {
        let bus = EventBus::default();
        let mut events = bus.subscribe();
        actix::spawn(async move {
            while let Ok(event) = events.recv().await {
                println!("event: {event}");
            }
        });

        let (clock, _) = ChildSpec::actor("clock", |_| Ok(Clock));
        let (echo, echo_handle) = ChildSpec::actor("echo", |cx| {
            Ok(Echo {
                cx: cx.clone(),
                echoed: 0,
            })
        });
        let echo = echo.await_ready(Duration::from_secs(5));
        let config = SupervisorConfig::default()
            .strategy(Strategy::OneForAll)
            .backoff(Backoff {
                initial: Duration::from_millis(20),
                ..Backoff::default()
            });
        let root = Supervisor::start("root", config, &bus, vec![clock, echo]);
        if let Err(err) = root.ready().await {
            println!("tree failed to start: {err}");
            return;
        }

        for text in ["hello", "again"] {
            match echo_handle.send(Say(text.into())).await {
                Ok(reply) => println!("reply: {reply}"),
                Err(err) => println!("send failed: {err}"),
            }
        }
        let _ = echo_handle.try_send(Crash);

        // Retry until the new incarnation answers; a failed send hands
        // the message back.
        let mut msg = Say("after restart".into());
        loop {
            match echo_handle.send(msg).await {
                Ok(reply) => {
                    println!("reply: {reply}");
                    break;
                }
                Err(codex_runtime::CallError::NotSent(err)) => {
                    msg = err.into_inner();
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Err(err) => {
                    println!("lost: {err}");
                    msg = Say("after restart".into());
                }
            }
        }

        let exit = root.shutdown().await;
        println!("tree exited: {exit}");
        // Let the printer drain.
        tokio::time::sleep(Duration::from_millis(20)).await;
    })
}
