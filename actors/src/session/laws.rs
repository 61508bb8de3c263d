//! The policy's law, as a property of the pure cores wired together the
//! way the actors wire them: for any sequence of requirements, once the
//! policy machine's orders were applied by the session machine and every
//! server machine followed the snapshots, the servers that run and the
//! tools they offer are exactly what `admit` and the tool rules give for
//! the last snapshot.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::machine::{Effect, Input, Machine};
use super::{ServerState, SessionEvent};
use crate::config::{McpServerConfig, Origin, resolve_server};
use crate::mcp_server::machine::{self as server, Judge, MachineConfig};
use crate::mcp_server::{ServerEvent, ToolInfo, judge_of};
use crate::policy::{
    LaunchContext, Purpose, RequirementSource, Requirements, constrain_servers, parse_requirements,
};
use crate::policy_actor::machine_for_laws::{Evaluation, Input as PolicyInput, Machine as Policy};
use crate::policy_actor::{Apply, PolicySnapshot};

const SERVERS: [&str; 3] = ["a", "b", "c"];
const TOOLS: [&str; 3] = ["echo", "add", "rm"];

/// One requirements document: per server, whether the allowlist names
/// it, and the tools its entry disables.
#[derive(Debug, Clone)]
struct Spec {
    allowlist: bool,
    allowed: [bool; 3],
    disabled: [Vec<usize>; 3],
    user_disabled: [bool; 3],
}

fn spec() -> impl Strategy<Value = Spec> {
    let tools = || proptest::collection::vec(0..TOOLS.len(), 0..3);
    (
        any::<bool>(),
        any::<[bool; 3]>(),
        [tools(), tools(), tools()],
        any::<[bool; 3]>(),
    )
        .prop_map(|(allowlist, allowed, disabled, user_disabled)| Spec {
            allowlist,
            allowed,
            disabled,
            user_disabled,
        })
}

fn configs(spec: &Spec) -> BTreeMap<String, McpServerConfig> {
    SERVERS
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let text = format!(
                "command = \"/bin/sh\"\nargs = [\"{name}\"]\nenabled = {}\n",
                !spec.user_disabled[i]
            );
            let value: toml::Value = toml::from_str(&text).expect("toml");
            (
                (*name).to_owned(),
                resolve_server(name, &value).expect("server").0,
            )
        })
        .collect()
}

fn requirements(spec: &Spec) -> Requirements {
    let mut text = String::new();
    for (i, name) in SERVERS.iter().enumerate() {
        if spec.allowlist && !spec.allowed[i] {
            continue;
        }
        let disabled: Vec<String> = spec.disabled[i]
            .iter()
            .map(|t| format!("{:?}", TOOLS[*t]))
            .collect();
        text.push_str(&format!(
            "[mcp_server_allowlist.{name}]\ncommand = \"/bin/sh\"\ndisabled_tools = [{}]\n",
            disabled.join(", ")
        ));
    }
    if spec.allowlist && text.is_empty() {
        text.push_str("mcp_server_allowlist = {}\n");
    }
    let mut reqs = Requirements::none();
    if spec.allowlist || !text.is_empty() {
        let (layer, _) =
            parse_requirements(RequirementSource::EnvBase64, Origin::EnvVar("test"), &text)
                .expect("requirements");
        reqs.push(layer);
    }
    reqs
}

fn listed() -> Vec<ToolInfo> {
    TOOLS
        .iter()
        .map(|name| ToolInfo {
            name: (*name).to_owned(),
            description: None,
            input_schema: serde_json::json!({"type": "object"}),
            definition: serde_json::json!({"name": name}),
        })
        .collect()
}

/// The actors' wiring, without actors.
struct World {
    policy: Policy,
    session: Machine,
    snapshot: Arc<PolicySnapshot>,
    /// The server machine of each live subtree, by child id.
    servers: BTreeMap<String, (String, server::Machine)>,
    now: Instant,
}

impl World {
    fn new() -> World {
        let snapshot = Arc::new(PolicySnapshot::closed());
        World {
            policy: Policy::resume(Arc::clone(&snapshot)),
            session: Machine::new(),
            snapshot,
            servers: BTreeMap::new(),
            now: Instant::now(),
        }
    }

    fn evaluate(&mut self, spec: &Spec) {
        let requirements = requirements(spec);
        let ctx = LaunchContext {
            cwd: "/".into(),
            env: Default::default(),
        };
        let servers =
            constrain_servers(configs(spec), &requirements, &ctx, Purpose::Launch).into_inner();
        let effects = self
            .policy
            .step(PolicyInput::Evaluated(Box::new(Evaluation {
                requirements,
                locks: Vec::new(),
                servers,
                watch: BTreeSet::new(),
            })));
        for effect in effects {
            match effect {
                crate::policy_actor::machine_for_laws::Effect::Publish(snapshot) => {
                    self.snapshot = snapshot;
                    self.follow_policy();
                }
                crate::policy_actor::machine_for_laws::Effect::Apply(apply) => self.apply(apply),
                _ => {}
            }
        }
    }

    /// Every live server machine takes the new snapshot.
    fn follow_policy(&mut self) {
        let mut reports = Vec::new();
        for (name, machine) in self.servers.values_mut() {
            let judge: Judge = judge_of(&self.snapshot, name);
            for effect in machine.step(server::Input::Policy(judge), self.now) {
                if let server::Effect::ToolsChanged { tools, withheld } = effect {
                    reports.push(ServerEvent::ToolsChanged {
                        server: name.clone(),
                        incarnation: 1,
                        tools,
                        withheld,
                    });
                }
            }
        }
        for report in reports {
            self.session(Input::Server(report));
        }
    }

    fn apply(&mut self, apply: Apply) {
        self.session(Input::Apply(apply));
    }

    fn session(&mut self, input: Input) {
        let mut queue = vec![input];
        while let Some(input) = queue.pop() {
            for effect in self.session.step(input) {
                match effect {
                    Effect::Start { server, child, .. } => {
                        // A fresh incarnation judges by the snapshot in force
                        // and connects.
                        let judge = judge_of(&self.snapshot, &server);
                        let mut machine = server::Machine::new(
                            MachineConfig {
                                server: server.clone(),
                                ping_timeout: Duration::from_secs(5),
                            },
                            judge,
                            self.now,
                        );
                        for effect in
                            machine.step(server::Input::Connected { tools: listed() }, self.now)
                        {
                            if let server::Effect::Ready {
                                tools, withheld, ..
                            } = effect
                            {
                                queue.push(Input::Server(ServerEvent::Ready {
                                    server: server.clone(),
                                    incarnation: 1,
                                    tools,
                                    withheld,
                                    elapsed: Duration::ZERO,
                                    pid: None,
                                    protocol_version: None,
                                }));
                            }
                        }
                        self.servers
                            .insert(child.as_str().to_owned(), (server, machine));
                    }
                    Effect::Stop { child } => {
                        self.servers.remove(child.as_str());
                    }
                    Effect::Publish(SessionEvent::Server(_))
                    | Effect::Publish(_)
                    | Effect::Audit(_)
                    | Effect::Wake(_) => {}
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn the_session_settles_on_what_admit_and_the_rules_give_for_the_last_snapshot(
        specs in proptest::collection::vec(spec(), 1..6)
    ) {
        let mut world = World::new();
        for spec in &specs {
            world.evaluate(spec);
        }
        let last = specs.last().expect("one spec at least");
        let requirements = requirements(last);
        let ctx = LaunchContext { cwd: "/".into(), env: Default::default() };
        let expected = constrain_servers(configs(last), &requirements, &ctx, Purpose::Launch).into_inner();
        let statuses = world.session.statuses();
        for status in statuses {
            let verdict = &expected[&status.name];
            let ready = matches!(status.state, ServerState::Ready { .. });
            prop_assert_eq!(
                ready,
                verdict.admission.is_allowed(),
                "{} is {:?} under {:?}",
                &status.name,
                &status.state,
                last
            );
            if ready {
                let judge = judge_of(&world.snapshot, &status.name);
                let (offered, _) = server::judge_tools(&status.name, &judge, &listed());
                let want: Vec<&str> = offered.iter().map(|t| t.name.as_str()).collect();
                let got: Vec<&str> = status.tools.iter().map(|t| t.name.as_str()).collect();
                prop_assert_eq!(got, want.clone());
                let disabled: BTreeSet<&str> =
                    last.disabled[SERVERS.iter().position(|s| *s == status.name).unwrap_or(0)]
                        .iter()
                        .map(|t| TOOLS[*t])
                        .collect();
                for tool in &want {
                    prop_assert!(!disabled.contains(tool), "{} offers {}", &status.name, tool);
                }
            }
        }
        // Exactly the admitted servers have a live subtree.
        let live: BTreeSet<String> = world.servers.values().map(|(name, _)| name.clone()).collect();
        let admitted: BTreeSet<String> = expected
            .iter()
            .filter(|(_, server)| server.admission.is_allowed())
            .map(|(name, _)| name.clone())
            .collect();
        prop_assert_eq!(live, admitted);
    }
}
