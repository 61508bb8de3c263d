//! The pure core of fault injection: given a plan and what is happening
//! (a call to some server, a command, a model request, the passing of
//! time), which faults fire now, and with what parameters.
//!
//! Deterministic: a probability or a delay range is decided by hashing the
//! seed, the fault's index and the call's number, so the same plan and
//! seed fire the same faults at the same calls whatever the concurrency.

use std::time::Duration;

use codex_transports::TransportKind;
use codex_transports::fault::Fault;
use serde_json::{Value, json};

use super::plan::{Action, FaultPlan, PlannedFault, Target, Trigger};

/// A fault that fired.
#[derive(Debug, Clone, PartialEq)]
pub struct Fired {
    /// Its index in the plan.
    pub fault: usize,
    /// The server it hits (`model` or `sandbox` for those targets).
    pub target: String,
    /// What to do, with parameters drawn.
    pub action: Applied,
    /// The call number it fired at (1-based; for `at_ms` faults, the
    /// number of calls issued so far).
    pub at_call: u64,
}

impl Fired {
    /// The report's entry.
    pub fn to_json(&self) -> Value {
        let mut entry = json!({
            "fault": self.fault,
            "target": self.target,
            "action": self.action.name(),
            "at_call": self.at_call,
        });
        if let Applied::Message(Fault::Delay(delay)) = &self.action {
            entry["delay_ms"] = json!(delay.as_millis());
        }
        entry
    }
}

/// An action with its parameters decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// Done to the process now.
    Process(codex_transports::fault::ProcessFault),
    /// The server's next start waits.
    SlowStart(Duration),
    /// Armed for the next message or request.
    Message(Fault),
    /// The command is replaced by one that hangs.
    SandboxHang,
}

impl Applied {
    fn name(&self) -> &'static str {
        match self {
            Applied::Process(process) => Action::Process(process.clone()).name(),
            Applied::SlowStart(_) => "slow_start",
            Applied::Message(Fault::Delay(_)) => "delay",
            Applied::Message(fault) => Action::Message(fault.clone()).name(),
            Applied::SandboxHang => "hang",
        }
    }
}

/// What is happening that a fault may hit.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// Call number `n` to `server` (of transport `kind`).
    Call {
        /// The server.
        server: &'a str,
        /// Its transport.
        kind: TransportKind,
    },
    /// A sandboxed command.
    Command,
    /// A request to the model.
    ModelRequest,
}

/// The state of one plan's triggers.
#[derive(Debug)]
pub struct Engine {
    seed: u64,
    faults: Vec<PlannedFault>,
    /// Calls seen per fault.
    counts: Vec<u64>,
    /// Whether a once-only trigger has fired.
    done: Vec<bool>,
}

impl Engine {
    /// An engine for `plan`, nothing fired yet.
    pub fn new(plan: &FaultPlan) -> Engine {
        Engine {
            seed: plan.seed,
            faults: plan.faults.clone(),
            counts: vec![0; plan.faults.len()],
            done: vec![false; plan.faults.len()],
        }
    }

    /// The faults that fire at event number `n` (1-based, counted over
    /// every event the caller sees).
    pub fn on(&mut self, n: u64, event: Event<'_>) -> Vec<Fired> {
        let mut fired = Vec::new();
        for index in 0..self.faults.len() {
            let fault = &self.faults[index];
            let (hits, target) = match (&fault.target, event) {
                (Target::Server(name), Event::Call { server, .. }) => {
                    (name == server, server.to_owned())
                }
                (Target::Kind(wanted), Event::Call { server, kind }) => {
                    (*wanted == kind, server.to_owned())
                }
                (Target::Sandbox, Event::Command) => (true, "sandbox".to_owned()),
                (Target::Model, Event::ModelRequest) => (true, "model".to_owned()),
                _ => (false, String::new()),
            };
            if !hits {
                continue;
            }
            self.counts[index] += 1;
            let count = self.counts[index];
            let fires = match fault.when {
                Trigger::EveryCalls(every) => count.is_multiple_of(every),
                Trigger::AfterCalls(after) => !self.done[index] && count > after,
                Trigger::AtMs(_) => false,
                Trigger::Probability(p) => unit(self.seed, index, n) < p,
            };
            if fires {
                self.done[index] = true;
                fired.push(Fired {
                    fault: index,
                    target,
                    action: self.draw(index, n),
                    at_call: n,
                });
            }
        }
        fired
    }

    /// The `at_ms` faults due by `elapsed`, once each. `servers` are the
    /// session's servers (name and transport), for targets that name a
    /// transport; `calls` is how many calls were issued so far.
    pub fn due(
        &mut self,
        elapsed: Duration,
        calls: u64,
        servers: &[(String, TransportKind)],
    ) -> Vec<Fired> {
        let mut fired = Vec::new();
        for index in 0..self.faults.len() {
            let Trigger::AtMs(at) = self.faults[index].when else {
                continue;
            };
            if self.done[index] || elapsed < Duration::from_millis(at) {
                continue;
            }
            self.done[index] = true;
            let targets: Vec<String> = match &self.faults[index].target {
                Target::Server(name) => vec![name.clone()],
                Target::Kind(kind) => servers
                    .iter()
                    .filter(|(_, k)| k == kind)
                    .map(|(name, _)| name.clone())
                    .collect(),
                Target::Model => vec!["model".to_owned()],
                Target::Sandbox => vec!["sandbox".to_owned()],
            };
            for target in targets {
                fired.push(Fired {
                    fault: index,
                    target,
                    action: self.draw(index, calls),
                    at_call: calls,
                });
            }
        }
        fired
    }

    /// The action of fault `index` with its parameters drawn for call `n`.
    fn draw(&self, index: usize, n: u64) -> Applied {
        match &self.faults[index].action {
            Action::Process(process) => Applied::Process(process.clone()),
            Action::SlowStart(delay) => Applied::SlowStart(*delay),
            Action::Delay { min, max } => {
                let span = max.saturating_sub(*min).as_millis() as u64;
                let pick = mix(self.seed ^ 0xD1B5_4A32_D192_ED03, index, n) % (span + 1);
                Applied::Message(Fault::Delay(*min + Duration::from_millis(pick)))
            }
            Action::Message(fault) => Applied::Message(fault.clone()),
            Action::SandboxHang => Applied::SandboxHang,
        }
    }
}

/// A number in `[0, 1)` decided by the seed, the fault and the call.
fn unit(seed: u64, index: usize, n: u64) -> f64 {
    (mix(seed, index, n) >> 11) as f64 / (1_u64 << 53) as f64
}

/// SplitMix64 over the three inputs: well spread, and the same on every
/// machine.
fn mix(seed: u64, index: usize, n: u64) -> u64 {
    let mut z = seed
        .wrapping_add((index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_add(n.wrapping_mul(0xBF58_476D_1CE4_E5B9));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(faults: &str) -> FaultPlan {
        FaultPlan::parse("p", &format!("seed = 7\n{faults}")).expect("plan")
    }

    fn run(engine: &mut Engine, calls: u64, server: &str) -> Vec<(usize, u64)> {
        (1..=calls)
            .flat_map(|n| {
                engine.on(
                    n,
                    Event::Call {
                        server,
                        kind: TransportKind::Stdio,
                    },
                )
            })
            .map(|f| (f.fault, f.at_call))
            .collect()
    }

    #[test]
    fn call_triggers_count_their_target_only() {
        let plan = plan(
            "[[fault]]\ntarget = \"a\"\nwhen = { every_calls = 3 }\naction = \"drop\"\n\
             [[fault]]\ntarget = \"stdio\"\nwhen = { after_calls = 4 }\naction = \"drop\"\n",
        );
        let mut engine = Engine::new(&plan);
        let mut fired = Vec::new();
        for n in 1..=10 {
            let server = if n % 2 == 0 { "a" } else { "b" };
            for f in engine.on(
                n,
                Event::Call {
                    server,
                    kind: TransportKind::Stdio,
                },
            ) {
                fired.push((f.fault, f.target, f.at_call));
            }
        }
        // "a" gets calls 2, 4, 6, 8, 10: its third is call 6. Every stdio
        // call counts for the second fault: its fifth is call 5.
        assert_eq!(fired, vec![(1, "b".to_owned(), 5), (0, "a".to_owned(), 6)]);
    }

    #[test]
    fn the_same_seed_fires_at_the_same_calls() {
        let text = "[[fault]]\ntarget = \"a\"\nwhen = { probability = 0.1 }\naction = \"delay\"\ndelay_ms = [5, 50]\n";
        let first = run(&mut Engine::new(&plan(text)), 1000, "a");
        let second = run(&mut Engine::new(&plan(text)), 1000, "a");
        assert_eq!(first, second);
        // About a tenth fire.
        assert!((60..=140).contains(&first.len()), "{}", first.len());
        let other = FaultPlan::parse("p", &format!("seed = 8\n{text}")).expect("plan");
        assert_ne!(run(&mut Engine::new(&other), 1000, "a"), first);
        // Delays stay in their range.
        let mut engine = Engine::new(&plan(text));
        for n in 1..=1000 {
            for f in engine.on(
                n,
                Event::Call {
                    server: "a",
                    kind: TransportKind::Stdio,
                },
            ) {
                let Applied::Message(Fault::Delay(delay)) = f.action else {
                    panic!("{f:?}")
                };
                assert!((5..=50).contains(&delay.as_millis()), "{delay:?}");
            }
        }
    }

    #[test]
    fn timed_faults_fire_once_on_every_server_of_their_transport() {
        let plan =
            plan("[[fault]]\ntarget = \"stdio\"\nwhen = { at_ms = 100 }\naction = \"hang\"\n");
        let mut engine = Engine::new(&plan);
        let servers = vec![
            ("a".to_owned(), TransportKind::Stdio),
            ("w".to_owned(), TransportKind::StreamableHttp),
            ("b".to_owned(), TransportKind::Stdio),
        ];
        assert!(
            engine
                .due(Duration::from_millis(99), 3, &servers)
                .is_empty()
        );
        let fired: Vec<String> = engine
            .due(Duration::from_millis(100), 4, &servers)
            .into_iter()
            .map(|f| format!("{}@{}", f.target, f.at_call))
            .collect();
        assert_eq!(fired, vec!["a@4", "b@4"]);
        assert!(engine.due(Duration::from_secs(9), 9, &servers).is_empty());
    }
}
