//! Transcript tests of the turn machine: inputs in, effects out, one per
//! line.

use std::path::PathBuf;
use std::time::Duration;

use expect_test::{Expect, expect};
use serde_json::json;

use super::*;
use crate::model_stream::{ModelError, Reasoning, SummaryText};
use crate::turn::McpTool;

fn config() -> TurnConfig {
    TurnConfig {
        model: "m".to_owned(),
        reasoning_effort: None,
        thread_id: "t".to_owned(),
        turn_id: "turn-1".to_owned(),
        instructions: "be useful".to_owned(),
        cwd: PathBuf::from("/w"),
        mcp_tools: vec![McpTool {
            qualified: "mcp__mini__echo".to_owned(),
            server: "mini".to_owned(),
            tool: "echo".to_owned(),
            spec: ToolSpec {
                name: "mcp__mini__echo".to_owned(),
                description: "echo".to_owned(),
                parameters: json!({"type": "object"}),
                freeform: None,
            },
            needs_approval: false,
        }],
        mcp_servers: vec!["mini".to_owned(), "mini__x".to_owned()],
        output_schema: None,
        command_timeout: Duration::from_secs(10),
        seed: 7,
        policy: TurnPolicy {
            approval: crate::config::ApprovalPolicy::Never,
            sandbox_mode: crate::config::SandboxMode::WorkspaceWrite,
            command_rules: Vec::new(),
            escalation_allowed: true,
            writable_roots: Vec::new(),
        },
        session_approvals: Default::default(),
        history: Vec::new(),
    }
}

fn call(id: &str, name: &str, arguments: &str) -> ResponseItem {
    ResponseItem::FunctionCall(crate::model_stream::FunctionCall {
        namespace: None,
        call_id: id.to_owned(),
        name: name.to_owned(),
        arguments: arguments.to_owned(),
    })
}

fn response(items: Vec<ResponseItem>, tokens: u64) -> Input {
    Input::Stream(StreamEvent::Completed(ModelResponse {
        id: "r".to_owned(),
        items,
        usage: TokenUsage {
            input_tokens: tokens,
            output_tokens: 1,
            ..TokenUsage::default()
        },
    }))
}

fn render(effect: &Effect) -> String {
    match effect {
        Effect::Emit(TurnEvent::ItemStarted(item)) => {
            format!("started {} {:?}", item.id, item.details)
        }
        Effect::Emit(TurnEvent::ItemCompleted(item)) => {
            format!("completed {} {:?}", item.id, item.details)
        }
        Effect::Emit(other) => format!("{other:?}"),
        Effect::Sample(request) => {
            let kinds: Vec<String> = request
                .input
                .iter()
                .map(|item| match item {
                    ResponseItem::Message(m) => format!("msg:{}", m.role),
                    ResponseItem::Reasoning(_) => "reasoning".to_owned(),
                    ResponseItem::FunctionCall(c) => format!("call:{}", c.call_id),
                    ResponseItem::FunctionCallOutput(o) => format!("output:{}", o.call_id),
                    ResponseItem::CustomToolCall(c) => format!("custom:{}", c.call_id),
                    ResponseItem::CustomToolCallOutput(o) => format!("custom-output:{}", o.call_id),
                    ResponseItem::Other(_) => "other".to_owned(),
                })
                .collect();
            format!(
                "sample [{}] with {} tools",
                kinds.join(", "),
                request.tools.len()
            )
        }
        other => format!("{other:?}"),
    }
}

#[track_caller]
fn check(inputs: Vec<Input>, expect: Expect) {
    check_with(config(), inputs, expect);
}

#[track_caller]
fn check_with(config: TurnConfig, inputs: Vec<Input>, expect: Expect) {
    let mut machine = Machine::new(config);
    let mut out = String::new();
    for input in inputs {
        for effect in machine.step(input) {
            out.push_str(&render(&effect));
            out.push('\n');
        }
    }
    expect.assert_eq(&out);
}

fn start() -> Input {
    Input::Start {
        prompt: "hi".to_owned(),
        images: Vec::new(),
    }
}

fn exit(code: i32, stdout: &str) -> Result<CommandExit, String> {
    Ok(CommandExit {
        interleaved: String::new(),
        exit_code: code,
        timed_out: false,
        stdout: stdout.to_owned(),
        stderr: String::new(),
    })
}

#[test]
fn a_plain_answer() {
    check(
        vec![
            Input::Warning("server `x` is disabled".to_owned()),
            start(),
            response(
                vec![
                    ResponseItem::Reasoning(Reasoning {
                        summary: vec![SummaryText {
                            kind: "summary_text".to_owned(),
                            text: "thinking".to_owned(),
                        }],
                        content: None,
                        encrypted_content: Some("enc".to_owned()),
                    }),
                    ResponseItem::assistant_text("hello"),
                ],
                5,
            ),
        ],
        expect![[r#"
            completed item_0 Error { message: "server `x` is disabled" }
            TurnStarted
            sample [msg:developer, msg:user] with 7 tools
            completed item_1 Reasoning { text: "thinking" }
            completed item_2 AgentMessage { text: "hello" }
            TurnCompleted { usage: TokenUsage { input_tokens: 5, cached_input_tokens: 0, cache_write_input_tokens: 0, output_tokens: 1, reasoning_output_tokens: 0 } }
            Finish(Completed { last_message: Some("hello"), usage: TokenUsage { input_tokens: 5, cached_input_tokens: 0, cache_write_input_tokens: 0, output_tokens: 1, reasoning_output_tokens: 0 } })
        "#]],
    );
}

#[test]
fn parallel_calls_then_an_answer() {
    check(
        vec![
            start(),
            response(
                vec![
                    call("c1", "exec_command", r#"{"cmd":"echo hi"}"#),
                    call("c2", "mcp__mini__echo", r#"{"text":"x"}"#),
                    call("c3", "nope", "{}"),
                    call("c4", "exec_command", "not json"),
                ],
                3,
            ),
            Input::McpDone {
                call_id: "c2".to_owned(),
                result: Ok(McpOutcome {
                    content: vec![json!({"type": "text", "text": "x"})],
                    structured_content: None,
                    is_error: false,
                }),
            },
            Input::CommandDone {
                call_id: "c1".to_owned(),
                result: exit(0, "hi\n"),
                wall: Duration::from_millis(5),
            },
            response(vec![ResponseItem::assistant_text("done")], 4),
        ],
        expect![[r#"
            TurnStarted
            sample [msg:developer, msg:user] with 7 tools
            started item_0 CommandExecution { command: "/bin/bash -lc 'echo hi'", cwd: "/w", aggregated_output: "", exit_code: None, duration: None, status: InProgress }
            StartProcess { call_id: "c1", argv: ["/bin/bash", "-lc", "echo hi"], cwd: "/w", timeout: 3600s, wait: 10s, escalated: false }
            started item_1 McpToolCall { server: "mini", tool: "echo", arguments: Object {"text": String("x")}, result: None, error: None, status: InProgress }
            CallTool { call_id: "c2", server: "mini", tool: "echo", arguments: Some({"text": String("x")}), approved: true }
            completed item_1 McpToolCall { server: "mini", tool: "echo", arguments: Object {"text": String("x")}, result: Some(McpOutcome { content: [Object {"type": String("text"), "text": String("x")}], structured_content: None, is_error: false }), error: None, status: Completed }
            completed item_0 CommandExecution { command: "/bin/bash -lc 'echo hi'", cwd: "/w", aggregated_output: "hi\n", exit_code: Some(0), duration: Some(5ms), status: Completed }
            sample [msg:developer, msg:user, call:c1, call:c2, call:c3, call:c4, output:c1, output:c2, output:c3, output:c4] with 7 tools
            completed item_2 AgentMessage { text: "done" }
            TurnCompleted { usage: TokenUsage { input_tokens: 7, cached_input_tokens: 0, cache_write_input_tokens: 0, output_tokens: 2, reasoning_output_tokens: 0 } }
            Finish(Completed { last_message: Some("done"), usage: TokenUsage { input_tokens: 7, cached_input_tokens: 0, cache_write_input_tokens: 0, output_tokens: 2, reasoning_output_tokens: 0 } })
        "#]],
    );
}

#[test]
fn outputs_the_model_reads() {
    let mut machine = Machine::new(config());
    machine.step(start());
    machine.step(response(
        vec![
            call("c1", "exec_command", r#"{"cmd":"false"}"#),
            call("c2", "mcp__mini__echo", "[1]"),
            call("c3", "nope", "{}"),
            call(
                "c4",
                "exec_command",
                r#"{"cmd":"x","sandbox_permissions":"require_escalated"}"#,
            ),
        ],
        1,
    ));
    machine.step(Input::CommandDone {
        call_id: "c1".to_owned(),
        result: Err("the sandbox refused".to_owned()),
        wall: Duration::ZERO,
    });
    let outputs: Vec<String> = machine
        .history()
        .iter()
        .filter_map(|item| match item {
            ResponseItem::FunctionCallOutput(o) => Some(format!("{}: {}", o.call_id, o.output)),
            _ => None,
        })
        .collect();
    expect![[r#"
        c1: execution error: the sandbox refused
        c2: failed to parse function arguments: expected a JSON object, found [1]
        c3: unsupported call: nope
        c4: approval policy is never: this session does not let the model ask to run a command outside the sandbox, so the call was rejected. Run it inside the sandbox instead."#]]
    .assert_eq(&outputs.join("\n"));
}

#[test]
fn retries_show_and_failures_reconcile_open_items() {
    check(
        vec![
            start(),
            Input::Stream(StreamEvent::Retrying {
                attempt: 1,
                max: 5,
                after: Duration::from_millis(200),
                error: ModelError::Incomplete,
            }),
            response(vec![call("c1", "exec_command", r#"{"cmd":"sleep 9"}"#)], 1),
            Input::Interrupt,
            Input::CommandDone {
                call_id: "c1".to_owned(),
                result: exit(0, ""),
                wall: Duration::ZERO,
            },
        ],
        expect![[r#"
            TurnStarted
            sample [msg:developer, msg:user] with 7 tools
            Error { message: "Reconnecting... 1/5 (stream closed before response.completed)" }
            started item_0 CommandExecution { command: "/bin/bash -lc 'sleep 9'", cwd: "/w", aggregated_output: "", exit_code: None, duration: None, status: InProgress }
            StartProcess { call_id: "c1", argv: ["/bin/bash", "-lc", "sleep 9"], cwd: "/w", timeout: 3600s, wait: 10s, escalated: false }
            completed item_0 CommandExecution { command: "/bin/bash -lc 'sleep 9'", cwd: "/w", aggregated_output: "", exit_code: None, duration: None, status: Failed }
            Finish(Interrupted)
        "#]],
    );
    check(
        vec![
            start(),
            Input::Stream(StreamEvent::Failed(ModelError::Status {
                status: 400,
                message: "bad".to_owned(),
                retry_after: None,
            })),
        ],
        expect![[r#"
            TurnStarted
            sample [msg:developer, msg:user] with 7 tools
            TurnFailed { message: "unexpected status 400: bad" }
            Finish(Failed { message: "unexpected status 400: bad" })
        "#]],
    );
}

#[test]
fn calls_to_tools_not_on_offer_go_to_their_server() {
    let servers = config().mcp_servers;
    let route = |name: &str| unoffered_route(&servers, name);
    assert_eq!(
        route("mcp__mini__delete_repository"),
        Some(("mini".to_owned(), "delete_repository".to_owned()))
    );
    assert_eq!(
        route("mcp__mini__x__y"),
        Some(("mini__x".to_owned(), "y".to_owned())),
        "the longest server name wins"
    );
    assert_eq!(route("mcp__other__t"), None, "not a server of the session");
    assert_eq!(route("mcp__mini__"), None);
    assert_eq!(route("mini__echo"), None);

    let mut machine = Machine::new(config());
    machine.step(start());
    let effects = machine.step(response(
        vec![call("c1", "mcp__mini__delete_repository", "{}")],
        1,
    ));
    assert!(
        effects.iter().any(|effect| matches!(
            effect,
            Effect::CallTool { server, tool, .. } if server == "mini" && tool == "delete_repository"
        )),
        "{effects:?}"
    );
}

fn with_approvals(approval: crate::config::ApprovalPolicy) -> TurnConfig {
    let mut config = config();
    config.policy.approval = approval;
    config.mcp_tools[0].needs_approval = true;
    config
}

#[test]
fn an_approved_escalation_runs_outside_the_sandbox_and_a_denied_one_tells_the_model() {
    let escalate = r#"{"cmd":"make install","sandbox_permissions":"require_escalated","justification":"needs /usr/local"}"#;
    check_with(
        with_approvals(crate::config::ApprovalPolicy::OnRequest),
        vec![
            start(),
            response(
                vec![
                    call("c1", "exec_command", escalate),
                    call("c2", "mcp__mini__echo", "{}"),
                ],
                1,
            ),
            Input::Approval {
                call_id: "c2".to_owned(),
                decision: ApprovalDecision::Deny,
            },
            Input::Approval {
                call_id: "c1".to_owned(),
                decision: ApprovalDecision::ApproveForSession,
            },
            Input::CommandDone {
                call_id: "c1".to_owned(),
                result: exit(0, "ok\n"),
                wall: Duration::from_millis(5),
            },
        ],
        expect![[r#"
            TurnStarted
            sample [msg:developer, msg:user] with 7 tools
            AskApproval(ApprovalRequest { call_id: "c1", subject: Command { command: "/bin/bash -lc 'make install'", cwd: "/w" }, reason: Escalation { justification: Some("needs /usr/local") } })
            AskApproval(ApprovalRequest { call_id: "c2", subject: Tool { server: "mini", tool: "echo", arguments: Object {} }, reason: Tool })
            completed item_0 McpToolCall { server: "mini", tool: "echo", arguments: Object {}, result: None, error: Some("the user declined this call; it was not run. Do something else, or ask the user what to do differently."), status: Declined }
            started item_1 CommandExecution { command: "/bin/bash -lc 'make install'", cwd: "/w", aggregated_output: "", exit_code: None, duration: None, status: InProgress }
            StartProcess { call_id: "c1", argv: ["/bin/bash", "-lc", "make install"], cwd: "/w", timeout: 3600s, wait: 10s, escalated: true }
            completed item_1 CommandExecution { command: "/bin/bash -lc 'make install'", cwd: "/w", aggregated_output: "ok\n", exit_code: Some(0), duration: Some(5ms), status: Completed }
            sample [msg:developer, msg:user, call:c1, call:c2, output:c1, output:c2] with 7 tools
        "#]],
    );
}

#[test]
fn a_patch_outside_the_writable_roots_asks_and_runs_outside_the_sandbox_once_approved() {
    let inside = "*** Begin Patch\n*** Add File: a.txt\n+hi\n*** End Patch";
    let outside = "*** Begin Patch\n*** Add File: ../etc/b.txt\n+hi\n*** End Patch";
    let denied = "*** Begin Patch\n*** Delete File: /opt/c.txt\n*** End Patch";
    let patch = |id: &str, text: &str| call(id, "apply_patch", &json!({"input": text}).to_string());
    check_with(
        with_approvals(crate::config::ApprovalPolicy::OnRequest),
        vec![
            start(),
            response(
                vec![
                    patch("p1", inside),
                    patch("p2", outside),
                    patch("p3", denied),
                ],
                1,
            ),
            Input::Approval {
                call_id: "p2".to_owned(),
                decision: ApprovalDecision::Approve,
            },
            Input::Approval {
                call_id: "p3".to_owned(),
                decision: ApprovalDecision::Deny,
            },
        ],
        expect![[r#"
            TurnStarted
            sample [msg:developer, msg:user] with 7 tools
            started item_0 FileChange { changes: [FileChangeEntry { path: "/w/a.txt", kind: "add" }], status: InProgress }
            ApplyPatch { call_id: "p1", input: "*** Begin Patch\n*** Add File: a.txt\n+hi\n*** End Patch", cwd: "/w", escalated: false }
            AskApproval(ApprovalRequest { call_id: "p2", subject: Patch { changes: [FileChangeEntry { path: "/w/../etc/b.txt", kind: "add" }], patch: "*** Begin Patch\n*** Add File: ../etc/b.txt\n+hi\n*** End Patch" }, reason: Patch { outside: ["/etc/b.txt"] } })
            AskApproval(ApprovalRequest { call_id: "p3", subject: Patch { changes: [FileChangeEntry { path: "/opt/c.txt", kind: "delete" }], patch: "*** Begin Patch\n*** Delete File: /opt/c.txt\n*** End Patch" }, reason: Patch { outside: ["/opt/c.txt"] } })
            started item_1 FileChange { changes: [FileChangeEntry { path: "/w/../etc/b.txt", kind: "add" }], status: InProgress }
            ApplyPatch { call_id: "p2", input: "*** Begin Patch\n*** Add File: ../etc/b.txt\n+hi\n*** End Patch", cwd: "/w", escalated: true }
            completed item_2 FileChange { changes: [FileChangeEntry { path: "/opt/c.txt", kind: "delete" }], status: Declined }
        "#]],
    );
}

#[test]
fn two_calls_with_one_id_fail_the_turn_before_either_runs() {
    check(
        vec![
            start(),
            response(
                vec![
                    call("dup", "exec_command", r#"{"cmd":"echo a"}"#),
                    call("dup", "exec_command", r#"{"cmd":"rm -rf x"}"#),
                ],
                1,
            ),
        ],
        expect![[r#"
            TurnStarted
            sample [msg:developer, msg:user] with 7 tools
            TurnFailed { message: "the model gave two calls the same id (dup); the turn cannot go on" }
            Finish(Failed { message: "the model gave two calls the same id (dup); the turn cannot go on" })
        "#]],
    );
}

#[test]
fn a_headless_run_refuses_what_needs_approval() {
    check_with(
        with_approvals(crate::config::ApprovalPolicy::Never),
        vec![
            start(),
            response(vec![call("c1", "mcp__mini__echo", "{}")], 1),
        ],
        expect![[r#"
            TurnStarted
            sample [msg:developer, msg:user] with 7 tools
            completed item_0 McpToolCall { server: "mini", tool: "echo", arguments: Object {}, result: None, error: Some("MCP tool call requires approval, but approval policy is never"), status: Failed }
            sample [msg:developer, msg:user, call:c1, output:c1] with 7 tools
        "#]],
    );
}

#[test]
fn a_new_policy_applies_to_the_next_call_and_the_model_is_told() {
    let mut machine = Machine::new(config());
    machine.step(start());
    let mut tightened = config().policy;
    tightened.sandbox_mode = crate::config::SandboxMode::ReadOnly;
    tightened.command_rules = vec![crate::policy::command_rules::PrefixRule {
        pattern: vec![crate::policy::command_rules::PatternToken::Token(
            "rm".to_owned(),
        )],
        decision: crate::policy::command_rules::Decision::Forbidden,
        justification: Some("no deleting".to_owned()),
        source: "req".to_owned(),
    }];
    machine.step(Input::Policy(tightened));
    machine.step(Input::McpTools(Vec::new()));
    let effects = machine.step(response(
        vec![call("c1", "exec_command", r#"{"cmd":"rm -rf x"}"#)],
        1,
    ));
    let rendered: Vec<String> = effects.iter().map(render).collect();
    expect![[r#"
        [
            "completed item_0 CommandExecution { command: \"/bin/bash -lc 'rm -rf x'\", cwd: \"/w\", aggregated_output: \"\", exit_code: None, duration: None, status: Declined }",
            "sample [msg:developer, msg:user, msg:developer, call:c1, output:c1] with 6 tools",
        ]
    "#]]
    .assert_debug_eq(&rendered);
    assert!(
        machine
            .history()
            .iter()
            .any(|item| format!("{item:?}").contains("`read-only` sandbox")),
        "the model reads that the sandbox changed"
    );
}

fn chunk(output: &str, exit: Option<i32>) -> Result<crate::sandbox_process::ProcessChunk, String> {
    Ok(crate::sandbox_process::ProcessChunk {
        output: output.to_owned(),
        exit: exit.map(|code| {
            Ok(CommandExit {
                exit_code: code,
                timed_out: false,
                stdout: String::new(),
                stderr: String::new(),
                interleaved: String::new(),
            })
        }),
    })
}

#[test]
fn a_command_that_outlives_its_yield_is_polled_with_write_stdin() {
    check(
        vec![
            start(),
            response(
                vec![call(
                    "c1",
                    "exec_command",
                    r#"{"cmd":"cat","yield_time_ms":100}"#,
                )],
                1,
            ),
            Input::ProcessOutput {
                call_id: "c1".to_owned(),
                session_id: Some(4),
                result: chunk("ready\n", None),
                wall: Duration::from_millis(100),
            },
            response(
                vec![call(
                    "c2",
                    "write_stdin",
                    r#"{"session_id":4,"chars":"bye\n"}"#,
                )],
                1,
            ),
            Input::ProcessOutput {
                call_id: "c2".to_owned(),
                session_id: Some(4),
                result: chunk("bye\n", Some(0)),
                wall: Duration::from_millis(3),
            },
        ],
        expect![[r#"
            TurnStarted
            sample [msg:developer, msg:user] with 7 tools
            started item_0 CommandExecution { command: "/bin/bash -lc cat", cwd: "/w", aggregated_output: "", exit_code: None, duration: None, status: InProgress }
            StartProcess { call_id: "c1", argv: ["/bin/bash", "-lc", "cat"], cwd: "/w", timeout: 3600s, wait: 100ms, escalated: false }
            sample [msg:developer, msg:user, call:c1, output:c1] with 7 tools
            WriteStdin { call_id: "c2", session_id: 4, chars: "bye\n", wait: 250ms }
            completed item_0 CommandExecution { command: "/bin/bash -lc cat", cwd: "/w", aggregated_output: "ready\nbye\n", exit_code: Some(0), duration: Some(103ms), status: Completed }
            sample [msg:developer, msg:user, call:c1, output:c1, call:c2, output:c2] with 7 tools
        "#]],
    );
}

#[test]
fn apply_patch_in_both_forms_and_a_malformed_patch() {
    let patch = "*** Begin Patch\n*** Add File: a.txt\n+hi\n*** End Patch";
    check(
        vec![
            start(),
            response(
                vec![
                    ResponseItem::CustomToolCall(crate::model_stream::CustomToolCall {
                        call_id: "p1".to_owned(),
                        name: "apply_patch".to_owned(),
                        input: patch.to_owned(),
                    }),
                    call(
                        "p2",
                        "apply_patch",
                        &json!({"input": "not a patch"}).to_string(),
                    ),
                ],
                1,
            ),
            Input::PatchDone {
                call_id: "p1".to_owned(),
                result: Ok("Success. Updated the following files:\nA a.txt\n".to_owned()),
            },
        ],
        expect![[r#"
            TurnStarted
            sample [msg:developer, msg:user] with 7 tools
            started item_0 FileChange { changes: [FileChangeEntry { path: "/w/a.txt", kind: "add" }], status: InProgress }
            ApplyPatch { call_id: "p1", input: "*** Begin Patch\n*** Add File: a.txt\n+hi\n*** End Patch", cwd: "/w", escalated: false }
            completed item_0 FileChange { changes: [FileChangeEntry { path: "/w/a.txt", kind: "add" }], status: Completed }
            sample [msg:developer, msg:user, custom:p1, call:p2, custom-output:p1, output:p2] with 7 tools
        "#]],
    );
}

#[test]
fn namespaced_calls_route_and_unknown_calls_fail_loudly() {
    let namespaced = ResponseItem::FunctionCall(crate::model_stream::FunctionCall {
        namespace: Some("mcp__mini".to_owned()),
        call_id: "n1".to_owned(),
        name: "echo".to_owned(),
        arguments: "{}".to_owned(),
    });
    check(
        vec![start(), response(vec![namespaced], 1)],
        expect![[r#"
            TurnStarted
            sample [msg:developer, msg:user] with 7 tools
            started item_0 McpToolCall { server: "mini", tool: "echo", arguments: Object {}, result: None, error: None, status: InProgress }
            CallTool { call_id: "n1", server: "mini", tool: "echo", arguments: Some({}), approved: true }
        "#]],
    );
    let unknown = ResponseItem::Other(json!({"type": "tool_search_call", "call_id": "s1"}));
    check(
        vec![start(), response(vec![unknown], 1)],
        expect![[r#"
            TurnStarted
            sample [msg:developer, msg:user] with 7 tools
            TurnFailed { message: "the model called a kind of tool this client does not run (tool_search_call); the turn cannot go on" }
            Finish(Failed { message: "the model called a kind of tool this client does not run (tool_search_call); the turn cannot go on" })
        "#]],
    );
    let quiet = ResponseItem::Other(json!({"type": "web_search_call", "status": "completed"}));
    check(
        vec![start(), response(vec![quiet], 1)],
        expect![[r#"
            TurnStarted
            sample [msg:developer, msg:user] with 7 tools
            completed item_0 Error { message: "the model's answer holds only items this client does not show (web_search_call)" }
            TurnCompleted { usage: TokenUsage { input_tokens: 1, cached_input_tokens: 0, cache_write_input_tokens: 0, output_tokens: 1, reasoning_output_tokens: 0 } }
            Finish(Completed { last_message: None, usage: TokenUsage { input_tokens: 1, cached_input_tokens: 0, cache_write_input_tokens: 0, output_tokens: 1, reasoning_output_tokens: 0 } })
        "#]],
    );
}
