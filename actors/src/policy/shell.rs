//! The policy actor: holds the constrained server map, re-evaluates it on
//! every new snapshot, answers with a [`Plan`], and publishes one audit event
//! per decision. The only file of this actor kind that knows actix.

use std::collections::BTreeMap;

use actix::prelude::*;
use tokio::sync::broadcast;

use super::machine::{Plan, audit, plan};
use super::{Constrained, McpServers, Requirements, constrain_servers};
use crate::config::McpServerConfig;
use crate::mcp_server::AdmissionGate;
use crate::session::SessionEvent;

/// Holds the admitted view of the configuration.
pub(crate) struct PolicyActor {
    servers: Constrained<McpServers>,
    gate: AdmissionGate,
    events: broadcast::Sender<SessionEvent>,
}

impl PolicyActor {
    pub(crate) fn new(gate: AdmissionGate, events: broadcast::Sender<SessionEvent>) -> Self {
        PolicyActor {
            servers: Constrained::allow_any(McpServers::new()),
            gate,
            events,
        }
    }
}

impl Actor for PolicyActor {
    type Context = Context<Self>;
}

/// A new configuration and requirements snapshot to evaluate against what
/// runs now.
#[derive(Debug, Message)]
#[rtype(result = "(Plan, McpServers)")]
pub(crate) struct Evaluate {
    pub(crate) servers: BTreeMap<String, McpServerConfig>,
    pub(crate) requirements: Requirements,
    pub(crate) running: BTreeMap<String, McpServerConfig>,
}

impl Handler<Evaluate> for PolicyActor {
    type Result = MessageResult<Evaluate>;

    fn handle(&mut self, msg: Evaluate, _: &mut Context<Self>) -> Self::Result {
        // New requirements first, so restarts in flight see them too.
        self.gate.replace(msg.requirements.clone());
        self.servers = constrain_servers(&msg.servers, &msg.requirements);
        let admitted = self.servers.get().clone();
        for event in audit(&admitted) {
            tracing::info!(
                server = %event.server,
                identity = %event.identity,
                allowed = event.allowed,
                detail = %event.detail,
                "admission"
            );
            let _ = self.events.send(SessionEvent::Admission(event));
        }
        MessageResult((plan(&msg.running, &admitted), admitted))
    }
}
