//! The bounded load scenario of `codex debug chaos`, shared by its test and
//! its benchmark: 10,000 tool calls over 20 stdio servers with about 1 % of
//! the calls hit by a fault.

/// How many servers.
pub const SERVERS: usize = 20;
/// How many calls.
pub const CALLS: u64 = 10_000;
/// Calls in flight.
pub const CONCURRENCY: usize = 20;

/// `config.toml`: [`SERVERS`] copies of the test server at `bin`, each
/// restarted without limit and with a one-second tool timeout.
pub fn config(bin: &std::path::Path) -> String {
    (0..SERVERS)
        .map(|i| {
            format!(
                "[mcp_servers.s{i:02}]\ncommand = {:?}\nrestart_backoff_ms = 10\nmax_restarts = 10000\ntool_timeout_sec = 1\n",
                bin.display().to_string()
            )
        })
        .collect()
}

/// The plan: `echo` on every server, round-robin, and four faults at
/// 0.25 % of the calls each (kill, drop, corrupt, delay).
pub fn plan() -> String {
    let mut plan = String::from("seed = 2026\n");
    for i in 0..SERVERS {
        plan.push_str(&format!(
            "[[workload]]\nserver = \"s{i:02}\"\ntool = \"echo\"\nargs = {{ text = \"load\" }}\n"
        ));
    }
    for action in [
        "action = \"kill\"",
        "action = \"drop\"",
        "action = \"corrupt\"",
        "action = \"delay\"\ndelay_ms = [1, 20]",
    ] {
        plan.push_str(&format!(
            "[[fault]]\ntarget = \"stdio\"\nwhen = {{ probability = 0.0025 }}\n{action}\n"
        ));
    }
    plan
}
