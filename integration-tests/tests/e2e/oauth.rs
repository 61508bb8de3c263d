//! `codex mcp login` and `logout` against our test server behind its small
//! authorization server on 127.0.0.1 (`--oauth`): the browser leg played
//! by the test, then `mcp tools` and `mcp call` with the stored token, a
//! refresh, and logout.

use std::os::unix::fs::PermissionsExt as _;
use std::process::Stdio;
use std::time::Duration;

use codex_integration_tests::{HttpTestServer, TestEnv};
use pretty_assertions::assert_eq;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};

/// A plain HTTP GET on 127.0.0.1, redirects not followed: the status and
/// the `Location` header.
async fn get(url: &str) -> (u16, Option<String>, String) {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (authority, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_owned()), |(a, p)| (a, format!("/{p}")));
    let mut stream = tokio::net::TcpStream::connect(authority)
        .await
        .expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.expect("read");
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let location = answer.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("location")
            .then(|| value.trim().to_owned())
    });
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, location, body)
}

/// `GET /oauth/stats` of the test server.
async fn stats(server: &HttpTestServer) -> Value {
    let base = server.url.trim_end_matches("/mcp");
    let (_, _, body) = get(&format!("{base}/oauth/stats")).await;
    serde_json::from_str(body.trim()).unwrap_or(Value::Null)
}

/// Runs `codex mcp login NAME --no-browser`, playing the browser: reads
/// the printed URL, lets the authorization server answer, and follows its
/// redirect to codex's loopback listener.
async fn login(env: &TestEnv, name: &str) -> codex_integration_tests::Run {
    let mut child =
        tokio::process::Command::from(env.command(&["mcp", "login", name, "--no-browser"]))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn codex mcp login");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let mut seen = String::new();
    let url = tokio::time::timeout(Duration::from_secs(30), async {
        while let Ok(Some(line)) = lines.next_line().await {
            seen.push_str(&line);
            seen.push('\n');
            if line.starts_with("http") {
                return Some(line);
            }
        }
        None
    })
    .await
    .expect("codex prints the authorization URL in time")
    .unwrap_or_else(|| panic!("no URL printed:\n{seen}"));
    // The "browser": the authorization server approves at once...
    let (status, location, _) = get(&url).await;
    assert_eq!(status, 302, "{url}");
    let redirect = location.expect("a redirect");
    assert!(redirect.starts_with("http://127.0.0.1:"), "{redirect}");
    // ...and the redirect lands on codex's listener.
    let (status, _, page) = get(&redirect).await;
    assert_eq!(status, 200);
    assert!(page.contains("You can close this tab"), "{page}");
    let mut rest = String::new();
    while let Ok(Some(line)) = lines.next_line().await {
        rest.push_str(&line);
        rest.push('\n');
    }
    let output = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("login finishes")
        .expect("wait");
    let mut run = env.run_from_output(output);
    run.stderr = format!("{seen}{rest}");
    run
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_then_tools_and_calls_with_the_stored_token_a_refresh_and_logout() {
    // Tokens live 20 s: under the 30 s margin, so every connection
    // refreshes first.
    let server = HttpTestServer::start(&["--oauth", "--token-ttl-secs", "20"]);
    let env = TestEnv::new();
    env.write_config(&format!("[mcp_servers.web]\nurl = {:?}\n", server.url));

    // Not logged in: a status that says what to do, not a crash.
    let before = env.codex(&["mcp", "tools", "--json"]);
    assert_eq!(before.code, 1, "{}", before.transcript());
    let servers: Value = serde_json::from_str(&before.stdout).expect("json");
    assert!(
        servers[0]["reason"].as_str().is_some_and(
            |r| r.contains("The `web` MCP server is not logged in. Run `codex mcp login web`.")
        ),
        "{}",
        before.stdout
    );

    let run = login(&env, "web").await;
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(run.stdout, "Successfully logged in to MCP server 'web'.\n");
    // The discovery requests' wait is announced before they start.
    assert!(
        run.stderr
            .contains("how to sign in to 'web' (each request waits up to 30 s)..."),
        "{}",
        run.stderr
    );
    let file = env.codex_home().join(".credentials.json");
    let mode = std::fs::metadata(&file)
        .expect("credentials")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let stored: Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("read")).expect("json");
    let first_token = stored["mcp_servers"][0]["tokens"]["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    assert!(!run.stdout.contains(&first_token) && !run.stderr.contains(&first_token));
    assert_eq!(stats(&server).await["issued"], 1);

    // The stored login works, and is refreshed on the way.
    let tools = env.codex(&["mcp", "tools", "--json"]);
    assert_eq!(tools.code, 0, "{}", tools.transcript());
    let servers: Value = serde_json::from_str(&tools.stdout).expect("json");
    assert_eq!(servers[0]["status"], "ready");
    let call = env.codex(&["mcp", "call", "web", "echo", "--args", r#"{"text": "hi"}"#]);
    assert_eq!(
        (call.code, call.stdout.as_str()),
        (0, "hi\n"),
        "{}",
        call.transcript()
    );
    let stats = stats(&server).await;
    assert!(stats["refreshed"].as_u64().unwrap_or(0) >= 2, "{stats}");
    let stored: Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("read")).expect("json");
    assert_ne!(
        stored["mcp_servers"][0]["tokens"]["access_token"],
        first_token.as_str()
    );

    // `mcp list` shows the login.
    let list = env.codex(&["mcp", "list", "--json"]);
    let listed: Value = serde_json::from_str(&list.stdout).expect("json");
    assert_eq!(listed[0]["auth_status"], "o_auth");

    // Logout removes it, and the server asks again.
    let out = env.codex(&["mcp", "logout", "web"]);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "Removed OAuth credentials for 'web'.\n")
    );
    let again = env.codex(&["mcp", "logout", "web"]);
    assert_eq!(again.stdout, "No OAuth credentials stored for 'web'.\n");
    let after = env.codex(&["mcp", "tools"]);
    assert_eq!(after.code, 1);
    assert!(
        after.stdout.contains("not logged in"),
        "{}",
        after.transcript()
    );
}

#[test]
fn login_runs_only_for_admitted_http_servers() {
    let server = HttpTestServer::start(&["--oauth"]);
    let mut env = TestEnv::new();
    env.write_config(&format!(
        "[mcp_servers.web]\nurl = {:?}\n[mcp_servers.local]\ncommand = \"x\"\n",
        server.url
    ));
    env.requirements_file("[mcp_server_allowlist.other]\nurl = \"https://example.com/mcp\"\n");
    let refused = env.codex(&["mcp", "login", "web", "--no-browser"]);
    assert_eq!(refused.code, 1, "{}", refused.transcript());
    assert!(
        refused
            .stderr
            .starts_with("Error: MCP server 'web' is disabled: requirements"),
        "{}",
        refused.stderr
    );
    let stdio = env.codex(&["mcp", "login", "local"]);
    assert_eq!(
        stdio.stderr,
        "Error: OAuth login is only supported for streamable HTTP servers.\n"
    );
    let unknown = env.codex(&["mcp", "login", "nope"]);
    assert_eq!(unknown.stderr, "Error: No MCP server named 'nope' found.\n");
    assert!(!env.codex_home().join(".credentials.json").exists());
}
