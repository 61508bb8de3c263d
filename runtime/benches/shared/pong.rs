//! The actor both the round-trip bench and the `call_cost` example measure:
//! it answers `Ping(n)` with `n + 1` and stops on `Crash`.

use actix::prelude::*;

pub(crate) struct Pong;

impl Actor for Pong {
    type Context = Context<Self>;
}

#[derive(Message)]
#[rtype(result = "u64")]
pub(crate) struct Ping(pub(crate) u64);

impl Handler<Ping> for Pong {
    type Result = u64;
    fn handle(&mut self, Ping(n): Ping, _: &mut Context<Self>) -> u64 {
        n + 1
    }
}

#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Crash;

impl Handler<Crash> for Pong {
    type Result = ();
    fn handle(&mut self, _: Crash, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}
