//! The tool surface a Codex-trained model expects, through the real binary:
//! `apply_patch` in both call forms and under each sandbox, process
//! sessions with `write_stdin`, namespaced MCP calls, and output items this
//! runtime does not know.

use codex_integration_tests::outside_writable_roots;
use codex_test_mcp_server::mock_model::{Reply, ev};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use crate::exec::{Exec, events};

fn answer(id: &str) -> Reply {
    Reply::sse(vec![ev::message(id, "done"), ev::completed(id)])
}

fn patch_call(id: &str, patch: &str) -> Reply {
    Reply::sse(vec![
        ev::custom_tool_call(id, "apply_patch", patch),
        ev::completed(id),
    ])
}

/// The `file_change` item's final state.
fn file_change(events: &[Value]) -> Value {
    events
        .iter()
        .find(|e| e["type"] == "item.completed" && e["item"]["type"] == "file_change")
        .map(|e| e["item"].clone())
        .expect("a file_change item")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_patch_adds_updates_deletes_and_moves() {
    let patch = "*** Begin Patch\n\
                 *** Add File: new.txt\n+hello\n\
                 *** Update File: a.txt\n@@ one\n-two\n+TWO\n three\n\
                 *** Delete File: b.txt\n\
                 *** Update File: c.txt\n*** Move to: moved/c2.txt\n@@\n-move me\n+moved\n\
                 *** End Patch";
    let exec = Exec::with_config(vec![patch_call("p1", patch), answer("r2")], "").await;
    exec.env.write_file("work/a.txt", "one\ntwo\nthree\n");
    exec.env.write_file("work/b.txt", "bye\n");
    exec.env.write_file("work/c.txt", "move me\n");
    let run = exec
        .run(&["--sandbox", "workspace-write", "--json", "edit"], None)
        .await;
    assert_eq!(run.code, 0, "{}", run.transcript());
    let work = exec.env.work_dir();
    let read = |name: &str| std::fs::read_to_string(work.join(name)).ok();
    assert_eq!(read("new.txt").as_deref(), Some("hello\n"));
    assert_eq!(read("a.txt").as_deref(), Some("one\nTWO\nthree\n"));
    assert_eq!(read("b.txt"), None);
    assert_eq!(read("c.txt"), None);
    assert_eq!(read("moved/c2.txt").as_deref(), Some("moved\n"));
    let output = exec.model.requests()[1]
        .custom_tool_call_output("p1")
        .expect("the patch's output");
    assert_eq!(
        output,
        "Success. Updated the following files:\nA new.txt\nM a.txt\nM moved/c2.txt\nD b.txt\n"
    );
    let item = file_change(&events(&run));
    assert_eq!(item["status"], "completed");
    let changes: Vec<(String, String)> = item["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| {
            (
                c["path"].as_str().unwrap_or("").replace("[TMP]/work/", ""),
                c["kind"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            ("new.txt".to_owned(), "add".to_owned()),
            ("a.txt".to_owned(), "update".to_owned()),
            ("b.txt".to_owned(), "delete".to_owned()),
            ("c.txt".to_owned(), "update".to_owned()),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patch_that_does_not_fit_changes_nothing() {
    // The add would work; the update's context is not in the file.
    let patch = "*** Begin Patch\n*** Add File: fresh.txt\n+x\n\
                 *** Update File: a.txt\n@@\n-not there\n+y\n*** End Patch";
    let exec = Exec::with_config(vec![patch_call("p1", patch), answer("r2")], "").await;
    exec.env.write_file("work/a.txt", "one\n");
    let run = exec
        .run(&["--sandbox", "workspace-write", "--json", "edit"], None)
        .await;
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(!exec.env.work_dir().join("fresh.txt").exists());
    assert_eq!(
        std::fs::read_to_string(exec.env.work_dir().join("a.txt")).expect("a.txt"),
        "one\n"
    );
    let output = exec.model.requests()[1]
        .custom_tool_call_output("p1")
        .expect("output");
    assert!(
        output.starts_with("Failed to find expected lines in"),
        "{output}"
    );
    assert_eq!(file_change(&events(&run))["status"], "failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_refuses_a_patch_and_a_symlink_cannot_lead_out() {
    let add = |path: &str| format!("*** Begin Patch\n*** Add File: {path}\n+x\n*** End Patch");
    // Read-only (exec's default): nothing may be written.
    let exec = Exec::with_config(vec![patch_call("p1", &add("new.txt")), answer("r2")], "").await;
    let run = exec.run(&["--json", "edit"], None).await;
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(!exec.env.work_dir().join("new.txt").exists());
    let output = exec.model.requests()[1]
        .custom_tool_call_output("p1")
        .expect("output");
    assert!(output.contains("the sandbox is read-only"), "{output}");

    // Workspace-write: a link inside the workspace to a directory outside
    // every writable root does not make it writable.
    let outside = outside_writable_roots("patch-escape");
    let exec = Exec::with_config(
        vec![patch_call("p1", &add("link/evil.txt")), answer("r2")],
        "",
    )
    .await;
    std::os::unix::fs::symlink(&outside, exec.env.work_dir().join("link")).expect("symlink");
    let run = exec
        .run(&["--sandbox", "workspace-write", "--json", "edit"], None)
        .await;
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        !outside.join("evil.txt").exists(),
        "nothing written outside"
    );
    let output = exec.model.requests()[1]
        .custom_tool_call_output("p1")
        .expect("output");
    assert!(output.contains("outside the writable roots"), "{output}");
    let _ = std::fs::remove_dir_all(&outside);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_patch_as_a_function_with_one_input_string() {
    let patch = "*** Begin Patch\n*** Add File: f.txt\n+via function\n*** End Patch";
    let exec = Exec::with_config(
        vec![
            Reply::sse(vec![
                ev::function_call("f1", "apply_patch", &json!({ "input": patch })),
                ev::completed("r1"),
            ]),
            answer("r2"),
        ],
        // Not a GPT-5 model: the function form is what is offered.
        "",
    )
    .await;
    let run = exec
        .run(
            &["-m", "o3", "--sandbox", "workspace-write", "--json", "edit"],
            None,
        )
        .await;
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(
        std::fs::read_to_string(exec.env.work_dir().join("f.txt")).expect("f.txt"),
        "via function\n"
    );
    let requests = exec.model.requests();
    let tool = requests[0].body["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .find(|t| t["name"] == "apply_patch")
        .cloned()
        .expect("apply_patch offered");
    assert_eq!(tool["type"], "function");
    assert_eq!(tool["parameters"]["required"], json!(["input"]));
    assert!(
        requests[1]
            .function_call_output("f1")
            .is_some_and(|o| o.starts_with("Success."))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_command_keeps_its_session_for_write_stdin() {
    let exec = Exec::with_config(
        vec![
            Reply::sse(vec![
                ev::function_call(
                    "c1",
                    "exec_command",
                    &json!({"cmd": "read line; echo got $line", "yield_time_ms": 300}),
                ),
                ev::completed("r1"),
            ]),
            // The session id is the one the first answer named.
            Reply::sse(vec![
                ev::function_call(
                    "c2",
                    "write_stdin",
                    &json!({"session_id": 1, "chars": "hello\n", "yield_time_ms": 5000}),
                ),
                ev::completed("r2"),
            ]),
            answer("r3"),
        ],
        "",
    )
    .await;
    let run = exec.run(&["--json", "talk to it"], None).await;
    assert_eq!(run.code, 0, "{}", run.transcript());
    let requests = exec.model.requests();
    let first = requests[1].function_call_output("c1").expect("c1");
    assert!(
        first.contains("Process running with session ID 1"),
        "{first}"
    );
    let second = requests[2].function_call_output("c2").expect("c2");
    assert!(second.contains("Process exited with code 0"), "{second}");
    assert!(second.contains("got hello"), "{second}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespaced_mcp_call_reaches_its_server() {
    let exec = Exec::with_config(
        vec![
            Reply::sse(vec![
                json!({
                    "type": "response.output_item.done",
                    "item": {"type": "function_call", "id": "fc_n1", "call_id": "n1",
                             "namespace": "mcp__mini", "name": "echo",
                             "arguments": "{\"text\":\"namespaced\"}", "status": "completed"}
                }),
                ev::completed("r1"),
            ]),
            answer("r2"),
        ],
        &format!(
            "[mcp_servers.mini]\ncommand = {:?}\ndefault_tools_approval_mode = \"approve\"\n",
            codex_integration_tests::test_server_bin()
                .display()
                .to_string()
        ),
    )
    .await;
    let run = exec.run(&["--json", "call it"], None).await;
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(
        exec.model.requests()[1]
            .function_call_output("n1")
            .as_deref(),
        Some("namespaced")
    );
    let call = events(&run)
        .into_iter()
        .find(|e| e["type"] == "item.completed" && e["item"]["type"] == "mcp_tool_call")
        .expect("an mcp_tool_call item");
    assert_eq!(call["item"]["server"], "mini");
    assert_eq!(call["item"]["tool"], "echo");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_call_item_fails_the_turn_loudly() {
    let exec = Exec::with_config(
        vec![Reply::sse(vec![
            json!({
                "type": "response.output_item.done",
                "item": {"type": "tool_search_call", "id": "ts_1", "call_id": "s1",
                         "status": "completed", "arguments": {"query": "files"}}
            }),
            ev::completed("r1"),
        ])],
        "",
    )
    .await;
    let run = exec.run(&["--json", "search"], None).await;
    assert_eq!(run.code, 1, "{}", run.transcript());
    let last = events(&run).pop().expect("events");
    assert_eq!(last["type"], "turn.failed");
    let message = last["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("tool_search_call"), "{message}");
}
