//! Sessions on disk and `codex exec resume`: the real binary records each
//! run in `$CODEX_HOME/sessions/...` in Codex's rollout format, and a
//! resumed run continues the recorded conversation under the same thread
//! id, in the same file, under today's requirements.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use codex_test_mcp_server::mock_model::{Reply, ev};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use crate::exec::{Exec, events};

/// Every rollout file under `CODEX_HOME/sessions`.
fn rollouts(codex_home: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|ext| ext == "jsonl") {
                found.push(path);
            }
        }
    }
    let mut found = Vec::new();
    walk(&codex_home.join("sessions"), &mut found);
    found.sort();
    found
}

/// The lines of a rollout, parsed (a torn line fails the test).
fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .expect("read rollout")
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("{err}: {line}")))
        .collect()
}

fn thread_id(run: &codex_integration_tests::Run) -> String {
    let first: Value =
        serde_json::from_str(run.stdout.lines().next().expect("a first line")).expect("JSON");
    first["thread_id"].as_str().expect("thread id").to_owned()
}

fn answer(id: &str, text: &str) -> Reply {
    Reply::sse(vec![ev::message(id, text), ev::completed(id)])
}

/// The text of every message in a request's input, in order.
fn texts(request: &codex_test_mcp_server::mock_model::RecordedRequest) -> Vec<String> {
    request.body["input"]
        .as_array()
        .expect("input")
        .iter()
        .filter(|item| item["type"] == "message")
        .map(|item| item["content"][0]["text"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_is_recorded_and_resumed_by_id_in_the_same_file() {
    let exec = Exec::with_config(
        vec![answer("r1", "first answer"), answer("r2", "second answer")],
        "",
    )
    .await;
    let run = exec.run(&["--json", "first question"], None).await;
    assert_eq!(run.code, 0, "{}", run.transcript());
    let id = thread_id(&run);
    let files = rollouts(&exec.env.codex_home());
    assert_eq!(files.len(), 1, "{files:?}");
    let file = &files[0];
    let name = file.file_name().and_then(|n| n.to_str()).expect("name");
    assert!(
        name.starts_with("rollout-") && name.ends_with(&format!("-{id}.jsonl")),
        "{name}"
    );
    let first = lines(file);
    assert_eq!(first[0]["type"], "session_meta");
    assert_eq!(first[0]["payload"]["id"], id.as_str());
    assert_eq!(first[0]["payload"]["source"], "exec");
    assert_eq!(first[0]["payload"]["model_provider"], "openai");
    let kinds: Vec<&str> = first.iter().filter_map(|l| l["type"].as_str()).collect();
    assert!(
        kinds.contains(&"turn_context") && kinds.contains(&"event_msg"),
        "{kinds:?}"
    );
    let text = std::fs::read_to_string(file).expect("read");
    assert!(!text.contains("sk-test"), "no key in the session file");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(file).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let last = exec.env.root().join("last.txt");
    let last_arg = last.display().to_string();
    let run = exec
        .run(
            &["resume", &id, "--json", "-o", &last_arg, "second question"],
            None,
        )
        .await;
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(thread_id(&run), id, "the same thread");
    assert_eq!(
        std::fs::read_to_string(&last).expect("-o after resume"),
        "second answer"
    );
    assert_eq!(rollouts(&exec.env.codex_home()), files, "the same file");
    let requests = exec.model.requests();
    assert_eq!(requests.len(), 2);
    let seen = texts(&requests[1]);
    let asked: Vec<&str> = seen
        .iter()
        .map(String::as_str)
        .filter(|t| !t.starts_with("You are") && !t.starts_with("<"))
        .collect();
    assert_eq!(
        asked,
        ["first question", "first answer", "second question"],
        "{seen:?}"
    );
    let instructions = seen.iter().filter(|t| t.starts_with("You are")).count();
    assert_eq!(instructions, 1, "the recorded instructions, once: {seen:?}");
    let after = lines(file);
    assert!(after.len() > first.len());
    assert_eq!(after[..first.len()], first[..], "lines are only appended");
    let metas = after.iter().filter(|l| l["type"] == "session_meta").count();
    assert_eq!(metas, 1, "no second session_meta");
    let completes = after
        .iter()
        .filter(|l| l["type"] == "event_msg" && l["payload"]["type"] == "task_complete")
        .count();
    assert_eq!(completes, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_last_follows_the_directory_and_all_drops_it() {
    let exec = Exec::with_config(
        vec![
            answer("a", "answer in a"),
            answer("b", "answer in b"),
            answer("c", "continued a"),
            answer("d", "continued newest"),
        ],
        "",
    )
    .await;
    let dir_a = exec.env.root().join("project-a");
    let dir_b = exec.env.root().join("project-b");
    std::fs::create_dir_all(&dir_a).expect("mkdir");
    std::fs::create_dir_all(&dir_b).expect("mkdir");
    let (a, b) = (dir_a.to_str().expect("utf8"), dir_b.to_str().expect("utf8"));
    let run_a = exec.run(&["-C", a, "--json", "question in a"], None).await;
    assert_eq!(run_a.code, 0, "{}", run_a.transcript());
    let run_b = exec.run(&["-C", b, "--json", "question in b"], None).await;
    assert_eq!(run_b.code, 0, "{}", run_b.transcript());

    // From a, --last is a's session, though b's is newer; flags go after
    // `resume` as well as before it.
    let run = exec
        .run(&["-C", a, "resume", "--last", "--json", "more in a"], None)
        .await;
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(thread_id(&run), thread_id(&run_a));
    let seen = texts(&exec.model.requests()[2]);
    assert!(seen.iter().any(|t| t == "question in a"), "{seen:?}");
    assert!(!seen.iter().any(|t| t == "question in b"), "{seen:?}");

    // --all: the most recently updated session anywhere (a's, just now).
    let run = exec
        .run(
            &["--json", "-C", b, "resume", "--last", "--all", "newest"],
            None,
        )
        .await;
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(thread_id(&run), thread_id(&run_a));

    // Nothing recorded for this directory: a clear error, exit 1.
    let elsewhere = exec.env.root().join("empty");
    std::fs::create_dir_all(&elsewhere).expect("mkdir");
    let run = exec
        .run(
            &[
                "-C",
                elsewhere.to_str().expect("utf8"),
                "resume",
                "--last",
                "x",
            ],
            None,
        )
        .await;
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr.contains("no recorded session for"),
        "{}",
        run.stderr
    );
    // A malformed id is refused before anything is read.
    let run = exec.run(&["resume", "../../etc/passwd", "x"], None).await;
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(run.stderr.contains("invalid thread id"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ephemeral_writes_nothing() {
    let exec = Exec::with_config(vec![answer("r1", "ok")], "").await;
    let run = exec.run(&["--ephemeral", "--json", "hi"], None).await;
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(rollouts(&exec.env.codex_home()).is_empty());
    assert!(!exec.env.codex_home().join("sessions").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_mid_command_resumes_with_the_call_aborted() {
    let exec = Exec::with_config(
        vec![
            Reply::sse(vec![
                ev::function_call("call_1", "exec_command", &json!({"cmd": "sleep 60"})),
                ev::completed("r1"),
            ]),
            answer("r2", "resumed fine"),
        ],
        "",
    )
    .await;
    let mut command = tokio::process::Command::from(exec.env.command(&[
        "exec",
        "--skip-git-repo-check",
        "--json",
        "start a long job",
    ]));
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn().expect("spawn");
    // Wait until the call is on disk (the command then sleeps for a
    // minute), then kill -9.
    let home = exec.env.codex_home();
    let recorded = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            if let Some(file) = rollouts(&home).first()
                && std::fs::read_to_string(file).is_ok_and(|t| t.contains("\"call_1\""))
            {
                return file.clone();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the function call is recorded");
    child.start_kill().expect("kill -9");
    let _ = child.wait().await;
    // A write cut short by the kill leaves a torn last line.
    {
        use std::io::Write as _;
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&recorded)
            .expect("open");
        file.write_all(b"{\"timestamp\":\"2026-")
            .expect("torn line");
    }

    let run = exec
        .run(&["resume", "--last", "--json", "go on"], None)
        .await;
    assert_eq!(run.code, 0, "{}", run.transcript());
    let requests = exec.model.requests();
    assert_eq!(requests.len(), 2);
    let output = requests[1]
        .function_call_output("call_1")
        .expect("the dangling call has an output");
    assert!(output.contains("aborted"), "{output}");
    let events = events(&run);
    let notes: Vec<&str> = events
        .iter()
        .filter(|e| e["item"]["type"] == "error")
        .filter_map(|e| e["item"]["message"].as_str())
        .collect();
    assert!(notes.iter().any(|n| n.contains("cut short")), "{notes:?}");
    assert!(
        notes.iter().any(|n| n.contains("never finished")),
        "{notes:?}"
    );
    // The torn fragment stays a line of its own; everything after it is
    // whole.
    let text = std::fs::read_to_string(&recorded).expect("read");
    let after_torn = text
        .split("{\"timestamp\":\"2026-\n")
        .nth(1)
        .expect("torn line kept");
    for line in after_torn.lines() {
        serde_json::from_str::<Value>(line).unwrap_or_else(|err| panic!("{err}: {line}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_recorded_without_a_sandbox_resumes_under_todays_requirements() {
    let exec_command = |id: &str, cmd: &str| {
        Reply::sse(vec![
            ev::function_call(id, "exec_command", &json!({"cmd": cmd})),
            ev::completed(id),
        ])
    };
    let mut exec = Exec::with_config(
        vec![
            exec_command("c1", "touch first-file"),
            answer("r1", "made it"),
            exec_command("c2", "touch second-file"),
            answer("r2", "tried"),
        ],
        "",
    )
    .await;
    let run = exec
        .run(
            &["--sandbox", "danger-full-access", "--json", "make a file"],
            None,
        )
        .await;
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(exec.env.work_dir().join("first-file").exists());
    let file = rollouts(&exec.env.codex_home()).remove(0);
    let context = lines(&file)
        .into_iter()
        .find(|l| l["type"] == "turn_context")
        .expect("turn_context");
    assert_eq!(
        context["payload"]["sandbox_policy"]["mode"],
        "danger-full-access"
    );

    exec.env
        .requirements_base64("allowed_sandbox_modes = [\"read-only\"]\n");
    let run = exec
        .run(&["resume", "--last", "--json", "again"], None)
        .await;
    assert_eq!(run.code, 0, "{}", run.transcript());
    let events = events(&run);
    let warnings: Vec<&str> = events
        .iter()
        .filter(|e| e["item"]["type"] == "error")
        .filter_map(|e| e["item"]["message"].as_str())
        .collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("sandbox_mode") && w.contains("read-only")),
        "{warnings:?}"
    );
    assert!(
        !exec.env.work_dir().join("second-file").exists(),
        "the resumed turn ran read-only"
    );
    let contexts: Vec<Value> = lines(&file)
        .into_iter()
        .filter(|l| l["type"] == "turn_context")
        .collect();
    assert_eq!(contexts.len(), 2);
    assert_eq!(
        contexts[1]["payload"]["sandbox_policy"]["mode"],
        "read-only"
    );
    // The model is told it now runs under other rules.
    let seen = texts(&exec.model.requests()[2]);
    assert!(
        seen.iter().any(|t| t.contains("resumes under other rules")
            && t.contains("<sandbox_mode>read-only</sandbox_mode>")),
        "{seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_is_a_subcommand_and_e_is_exec() {
    let exec = Exec::with_config(vec![answer("r1", "hello")], "").await;
    // `codex e` is `codex exec`.
    let run = exec
        .env
        .codex(&["e", "--skip-git-repo-check", "--ephemeral", "--json", "hi"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    // `resume` is never sent to the model as a prompt.
    let run = exec.run(&["resume"], None).await;
    assert_eq!(run.code, 2, "{}", run.transcript());
    assert!(run.stderr.contains("--last"), "{}", run.stderr);
    // Codex commands this build lacks are not sent as one-word prompts;
    // `--` sends the word.
    let run = exec.run(&["review"], None).await;
    assert_eq!(run.code, 2, "{}", run.transcript());
    assert!(
        run.stderr.contains("codex exec -- review"),
        "{}",
        run.stderr
    );
    let run = exec.env.codex(&["login"]);
    assert_eq!(run.code, 2, "{}", run.transcript());
    assert!(run.stderr.contains("codex -- login"), "{}", run.stderr);
    // A prompt before `resume` is refused, not dropped.
    let run = exec.run(&["hello", "resume", "--last"], None).await;
    assert_eq!(run.code, 2, "{}", run.transcript());
    assert!(
        run.stderr.contains("a prompt goes after `resume`"),
        "{}",
        run.stderr
    );
    assert_eq!(exec.model.requests().len(), 1);
}

/// `exec fork ID`: a new thread, in a new file, starts from the recorded
/// history; the recorded file is left as it was, and the fork resumes
/// whole on its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_fork_starts_a_new_thread_from_a_recorded_one() {
    let exec = Exec::with_config(
        vec![
            answer("r1", "first answer"),
            answer("r2", "forked answer"),
            answer("r3", "fork resumed"),
        ],
        "",
    )
    .await;
    let run = exec.run(&["--json", "first question"], None).await;
    assert_eq!(run.code, 0, "{}", run.transcript());
    let original = thread_id(&run);
    let files = rollouts(&exec.env.codex_home());
    assert_eq!(files.len(), 1, "{files:?}");
    let recorded = std::fs::read(&files[0]).expect("read");

    let run = exec
        .run(&["fork", &original, "--json", "a different turn"], None)
        .await;
    assert_eq!(run.code, 0, "{}", run.transcript());
    let forked = thread_id(&run);
    assert_ne!(forked, original, "a new thread");
    assert_eq!(
        std::fs::read(&files[0]).expect("read"),
        recorded,
        "the recorded file is untouched"
    );
    let now = rollouts(&exec.env.codex_home());
    assert_eq!(now.len(), 2, "{now:?}");
    let fork_file = now
        .iter()
        .find(|path| {
            path.to_string_lossy()
                .ends_with(&format!("-{forked}.jsonl"))
        })
        .expect("the fork's file");
    let fork_lines = lines(fork_file);
    assert_eq!(fork_lines[0]["payload"]["id"], forked.as_str());
    let metas = fork_lines
        .iter()
        .filter(|l| l["type"] == "session_meta")
        .count();
    assert_eq!(metas, 1, "one session_meta, the fork's");
    let asked = |request: &codex_test_mcp_server::mock_model::RecordedRequest| {
        texts(request)
            .into_iter()
            .filter(|t| !t.starts_with("You are") && !t.starts_with('<'))
            .collect::<Vec<_>>()
    };
    let requests = exec.model.requests();
    assert_eq!(
        asked(&requests[1]),
        ["first question", "first answer", "a different turn"]
    );

    // The fork resumes on its own: its file holds the copied history.
    let run = exec
        .run(&["resume", &forked, "--json", "and then"], None)
        .await;
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(thread_id(&run), forked);
    let requests = exec.model.requests();
    assert_eq!(
        asked(&requests[2]),
        [
            "first question",
            "first answer",
            "a different turn",
            "forked answer",
            "and then"
        ]
    );

    // A malformed id is refused before anything runs; a prompt before
    // `fork` is a usage error.
    let run = exec.run(&["fork", "not-a-uuid", "x"], None).await;
    assert_ne!(run.code, 0, "{}", run.transcript());
    assert!(run.stderr.contains("not-a-uuid"), "{}", run.stderr);
    let run = exec.run(&["hello", "fork", &original], None).await;
    assert_eq!(run.code, 2, "{}", run.transcript());
    assert!(
        run.stderr.contains("a prompt goes after `fork`"),
        "{}",
        run.stderr
    );
    assert_eq!(exec.model.requests().len(), 3);
}
