//! Approvals as elicitations: when the policy asks before a call runs, the
//! question goes to the client as `elicitation/create`, and the answer
//! becomes the turn's [`ApprovalDecision`].
//!
//! The request is a standard form elicitation (a `message`, and a
//! `requestedSchema` with one `decision` field) that also carries Codex's
//! fields beside them: `codex_elicitation` (`exec-approval` for a
//! command, `patch-approval` for a patch, `mcp-tool-approval` for an MCP
//! tool), `codex_call_id`, what would run (`codex_command` and
//! `codex_cwd`; `codex_changes` and `codex_patch`; or `codex_server`,
//! `codex_tool` and `codex_arguments`), `codex_reason`,
//! `codex_mcp_tool_call_id` (the `tools/call` request id) and `threadId`.
//!
//! Only an explicit yes runs the call: `accept` with `decision` `approve`
//! (or `approve_for_session`, remembered for the thread). A decline, a
//! cancel, any other answer, an error, a client that did not declare the
//! elicitation capability, or no answer within the timeout
//! (`mcp_server_approval_timeout_sec`) is a denial, which the model reads.

use std::time::Duration;

use codex_actors::turn::{ApprovalDecision, ApprovalRequest, ApprovalSubject};
use futures::future::BoxFuture;
use rmcp::model::{ClientResult, CustomRequest, ServerRequest};
use rmcp::service::PeerRequestOptions;
use serde_json::{Value, json};

use super::handler::Client;

/// How long the client has to answer when config does not say.
pub(super) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// The approver of one call's turn: asks `client`, for `thread_id`, and
/// waits at most `timeout`.
pub(super) fn approver(
    client: Client,
    thread_id: String,
    timeout: Duration,
) -> impl Fn(ApprovalRequest) -> BoxFuture<'static, ApprovalDecision> + Send + Sync {
    move |request| {
        let client = client.clone();
        let thread_id = thread_id.clone();
        Box::pin(async move { ask(&client, &thread_id, &request, timeout).await })
    }
}

async fn ask(
    client: &Client,
    thread_id: &str,
    request: &ApprovalRequest,
    timeout: Duration,
) -> ApprovalDecision {
    let can_elicit = client
        .peer
        .peer_info()
        .is_some_and(|info| info.capabilities.elicitation.is_some());
    if !can_elicit {
        return ApprovalDecision::Deny;
    }
    let params = elicitation(client, thread_id, request);
    let sent = client
        .peer
        .send_request_with_option(
            ServerRequest::CustomRequest(CustomRequest::new("elicitation/create", Some(params))),
            PeerRequestOptions::with_timeout(timeout),
        )
        .await;
    let answer = match sent {
        Ok(handle) => handle.await_response().await,
        Err(err) => Err(err),
    };
    match answer {
        Ok(ClientResult::ElicitResult(result)) => {
            decide(&serde_json::to_value(&result).unwrap_or(Value::Null))
        }
        Ok(ClientResult::CustomResult(result)) => decide(&result.0),
        // An empty or unrelated result, or none: denied. (`ClientResult`
        // is not exhaustive, hence the wildcard.)
        Ok(_) | Err(_) => ApprovalDecision::Deny,
    }
}

/// The `elicitation/create` params for `request`.
fn elicitation(client: &Client, thread_id: &str, request: &ApprovalRequest) -> Value {
    let reason = request.reason.to_string();
    let request_id = serde_json::to_value(&client.request_id).unwrap_or(Value::Null);
    let mut params = json!({
        "mode": "form",
        "requestedSchema": {
            "type": "object",
            "properties": {
                "decision": {
                    "type": "string",
                    "title": "Decision",
                    "description": "approve runs it once; approve_for_session also runs the \
                                    same call later in this thread; deny does not run it.",
                    "enum": ["approve", "approve_for_session", "deny"]
                }
            },
            "required": ["decision"]
        },
        "codex_call_id": request.call_id,
        "codex_reason": reason,
        "codex_mcp_tool_call_id": request_id,
        "threadId": thread_id,
    });
    match &request.subject {
        ApprovalSubject::Command { command, cwd } => {
            params["message"] = json!(format!(
                "Allow Codex to run `{command}` in {}? ({reason})",
                cwd.display()
            ));
            params["codex_elicitation"] = json!("exec-approval");
            params["codex_command"] = json!(command);
            params["codex_cwd"] = json!(cwd);
        }
        ApprovalSubject::Patch { changes, patch } => {
            let files: Vec<String> = changes
                .iter()
                .map(|change| format!("{} {}", change.kind, change.path.display()))
                .collect();
            params["message"] = json!(format!(
                "Allow Codex to apply a patch ({})? ({reason})",
                files.join(", ")
            ));
            params["codex_elicitation"] = json!("patch-approval");
            params["codex_changes"] = changes
                .iter()
                .map(|change| json!({"path": change.path, "kind": change.kind}))
                .collect();
            params["codex_patch"] = json!(patch);
        }
        ApprovalSubject::Tool {
            server,
            tool,
            arguments,
        } => {
            params["message"] = json!(format!(
                "Allow Codex to call the tool `{tool}` of MCP server `{server}`? ({reason})"
            ));
            params["codex_elicitation"] = json!("mcp-tool-approval");
            params["codex_server"] = json!(server);
            params["codex_tool"] = json!(tool);
            params["codex_arguments"] = arguments.clone();
        }
    }
    params
}

/// The decision an answer means: only an explicit yes approves.
fn decide(answer: &Value) -> ApprovalDecision {
    if answer["action"] != "accept" {
        return ApprovalDecision::Deny;
    }
    let decision = &answer["content"]["decision"];
    match decision.as_str().map(str::to_ascii_lowercase).as_deref() {
        Some("approve" | "approved" | "yes") => ApprovalDecision::Approve,
        Some("approve_for_session" | "approved_for_session") => ApprovalDecision::ApproveForSession,
        _ if *decision == Value::Bool(true) => ApprovalDecision::Approve,
        _ => ApprovalDecision::Deny,
    }
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    #[test]
    fn only_an_explicit_yes_approves() {
        let cases = [
            (
                json!({"action": "accept", "content": {"decision": "approve"}}),
                ApprovalDecision::Approve,
            ),
            (
                json!({"action": "accept", "content": {"decision": "Approve"}}),
                ApprovalDecision::Approve,
            ),
            (
                json!({"action": "accept", "content": {"decision": "yes"}}),
                ApprovalDecision::Approve,
            ),
            (
                json!({"action": "accept", "content": {"decision": true}}),
                ApprovalDecision::Approve,
            ),
            (
                json!({"action": "accept", "content": {"decision": "approve_for_session"}}),
                ApprovalDecision::ApproveForSession,
            ),
            (
                json!({"action": "accept", "content": {"decision": "deny"}}),
                ApprovalDecision::Deny,
            ),
            (
                json!({"action": "accept", "content": {"decision": false}}),
                ApprovalDecision::Deny,
            ),
            (
                json!({"action": "accept", "content": {}}),
                ApprovalDecision::Deny,
            ),
            (json!({"action": "accept"}), ApprovalDecision::Deny),
            (json!({"action": "decline"}), ApprovalDecision::Deny),
            (
                json!({"action": "cancel", "content": {"decision": "approve"}}),
                ApprovalDecision::Deny,
            ),
            (json!({"decision": "approved"}), ApprovalDecision::Deny),
            (json!("approve"), ApprovalDecision::Deny),
            (Value::Null, ApprovalDecision::Deny),
        ];
        for (answer, expected) in cases {
            assert_eq!(decide(&answer), expected, "{answer}");
        }
    }
}
