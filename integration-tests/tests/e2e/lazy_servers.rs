//! Lazy MCP servers: under `mcp_startup = "lazy"` a server whose tools a
//! lock in force pins is not started for the turn; the model is offered
//! its pinned tools, and its first call starts it through admission and
//! supervision, its real listing judged against the lock.

use std::path::{Path, PathBuf};

use codex_integration_tests::test_server_bin;
use std::time::Duration;

use codex_test_mcp_server::mock_model::{Release, Reply, ev};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use crate::exec::{Exec, events};

/// A stdio server that leaves `marker` behind when it starts, then runs
/// the test server with `args`.
fn server(name: &str, marker: &Path, args: &[&str], extra: &str) -> String {
    let mut argv = vec![
        "-c".to_owned(),
        format!(
            "echo started >> {}; exec {} \"$@\"",
            marker.display(),
            test_server_bin().display()
        ),
        "sh".to_owned(),
    ];
    argv.extend(args.iter().map(|a| (*a).to_owned()));
    format!(
        "[mcp_servers.{name}]\ncommand = \"/bin/sh\"\nargs = {}\n{extra}\n",
        serde_json::to_string(&argv).expect("args")
    )
}

fn starts(marker: &Path) -> usize {
    std::fs::read_to_string(marker).map_or(0, |text| text.lines().count())
}

fn call(id: &str, tool: &str, arguments: Value) -> Reply {
    Reply::sse(vec![
        ev::function_call(id, tool, &arguments),
        ev::completed(id),
    ])
}

fn answer(id: &str) -> Reply {
    Reply::sse(vec![ev::message(id, "done"), ev::completed(id)])
}

/// The environment: `count` lazy servers `s0..`, locked with `codex mcp
/// lock` (which starts them once), the marker files reset afterwards.
async fn locked(count: usize, replies: Vec<Reply>, args: &[&str]) -> (Exec, Vec<PathBuf>) {
    let exec = Exec::with_config(replies, "").await;
    let markers: Vec<PathBuf> = (0..count)
        .map(|i| exec.env.root().join(format!("started-{i}")))
        .collect();
    let mut config = String::from("model = \"gpt-5-codex\"\nmcp_startup = \"lazy\"\n");
    for (i, marker) in markers.iter().enumerate() {
        config.push_str(&server(
            &format!("s{i}"),
            marker,
            args,
            "default_tools_approval_mode = \"approve\"",
        ));
    }
    exec.env.write_config(&config);
    let run = exec.env.codex(&["mcp", "lock"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    for marker in &markers {
        let _ = std::fs::remove_file(marker);
    }
    (exec, markers)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lazy_server_is_offered_from_the_lock_and_started_by_its_first_call() {
    let (exec, markers) = locked(
        2,
        vec![
            call("c1", "mcp__s0__echo", json!({"text": "woke"})),
            answer("r2"),
        ],
        &[],
    )
    .await;
    let run = exec.run(&["--json", "use s0"], None).await;
    assert_eq!(run.code, 0, "{}", run.transcript());
    let requests = exec.model.requests();
    let tools = requests[0].tool_names();
    for name in ["mcp__s0__echo", "mcp__s1__echo", "mcp__s1__add"] {
        assert!(tools.contains(&name.to_owned()), "{name} in {tools:?}");
    }
    assert_eq!(
        requests[1].function_call_output("c1").as_deref(),
        Some("woke")
    );
    assert_eq!(starts(&markers[0]), 1, "s0 started for its call");
    assert_eq!(starts(&markers[1]), 0, "s1 was never needed");
    // Nothing about lazy servers is a warning.
    assert!(
        !events(&run).iter().any(|e| e["item"]["type"] == "error"),
        "{}",
        run.transcript()
    );

    // `mcp tools` shows them lazy, with their pinned tools.
    let run = exec.env.codex(&["mcp", "tools", "--json"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let listed: Value = serde_json::from_str(&run.stdout).expect("JSON");
    let statuses: Vec<(&str, &str)> = listed
        .as_array()
        .expect("array")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap_or(""),
                s["status"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(statuses, [("s0", "lazy"), ("s1", "lazy")]);
    assert!(
        listed[0]["tools"]
            .as_array()
            .is_some_and(|tools| tools.iter().any(|t| t["name"] == "echo"))
    );
    assert_eq!(starts(&markers[0]), 1, "`mcp tools` started nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_tool_of_a_lazy_server_is_refused_on_its_first_call() {
    let (exec, markers) = locked(
        1,
        vec![
            call("c1", "mcp__s0__echo", json!({"text": "x"})),
            answer("r2"),
        ],
        &[],
    )
    .await;
    // The server now describes `echo` differently than the lock pins it.
    let mut config = String::from("model = \"gpt-5-codex\"\nmcp_startup = \"lazy\"\n");
    config.push_str(&server(
        "s0",
        &markers[0],
        &["--echo-description", "now does something else"],
        "default_tools_approval_mode = \"approve\"",
    ));
    exec.env.write_config(&config);
    let run = exec.run(&["--json", "use s0"], None).await;
    assert_eq!(run.code, 0, "{}", run.transcript());
    let requests = exec.model.requests();
    // Offered as pinned, before the server ran.
    assert!(
        requests[0]
            .tool_names()
            .contains(&"mcp__s0__echo".to_owned())
    );
    let output = requests[1].function_call_output("c1").expect("c1 output");
    assert!(
        output.contains("its definition changed since")
            && output.contains("mcp-tools.lock was written")
            && output.contains("now does something else"),
        "{output}"
    );
    assert_eq!(starts(&markers[0]), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lazy_server_that_crashes_is_restarted_like_any_other() {
    let release = Release::new();
    let (exec, markers) = locked(
        1,
        vec![
            call("c1", "mcp__s0__crash", json!({})),
            call("c2", "mcp__s0__echo", json!({"text": "back"})).held(&release),
            answer("r3"),
        ],
        &[],
    )
    .await;
    let marker = markers[0].clone();
    let opener = tokio::spawn(async move {
        // The second call goes out once the supervisor has started the
        // server again.
        tokio::time::timeout(Duration::from_secs(60), async {
            while starts(&marker) < 2 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("the crashed server is restarted");
        release.open();
    });
    let run = exec.run(&["--json", "crash it, then use it"], None).await;
    opener.await.expect("opener");
    assert_eq!(run.code, 0, "{}", run.transcript());
    let requests = exec.model.requests();
    let crashed = requests[1].function_call_output("c1").expect("c1 output");
    assert!(!crashed.is_empty());
    assert_eq!(
        requests[2].function_call_output("c2").as_deref(),
        Some("back"),
        "the supervisor restarted it"
    );
    assert_eq!(starts(&markers[0]), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unpinned_and_required_servers_start_eagerly() {
    let exec = Exec::with_config(vec![answer("r1")], "").await;
    let unpinned = exec.env.root().join("unpinned");
    let required = exec.env.root().join("required");
    let mut config = String::from("model = \"gpt-5-codex\"\nmcp_startup = \"lazy\"\n");
    config.push_str(&server("free", &unpinned, &[], ""));
    config.push_str(&server("needed", &required, &[], "required = true"));
    exec.env.write_config(&config);
    let run = exec.run(&["--json", "hi"], None).await;
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(starts(&unpinned), 1);
    assert_eq!(starts(&required), 1);
    assert!(
        run.stderr
            .contains("note: MCP server 'free' started with the session"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("'needed' started"), "{}", run.stderr);
}
