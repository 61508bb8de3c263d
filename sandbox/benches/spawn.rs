//! Spawn cost of `true`: plain (`danger-full-access`) versus `workspace-write`
//! on each [`SpawnRoute`], each a full spawn + wait + output capture.
//!
//! Run with `cargo bench -p codex-sandbox --bench spawn`.
//!
//! Expect roughly 2x for `helper`: it pays one extra `execve` (the helper)
//! and its dynamic loading, about 1 ms on our Firecracker VMs. `pre_exec`
//! has no extra exec; what it adds over `plain` is Landlock, seccomp and the
//! policy resolution (ruleset creation in the parent, a few syscalls in the
//! child), tens of microseconds.

use std::path::PathBuf;

use codex_sandbox::{
    CommandSpec, SandboxLauncher, SandboxMode, SandboxPolicy, ShellEnvironmentPolicy, SpawnRoute,
    run,
};
use criterion::{Criterion, criterion_group, criterion_main};

fn spawn_true(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let launcher = SandboxLauncher::new(
        env!("CARGO_BIN_EXE_codex-sandbox-helper"),
        Vec::<String>::new(),
    );
    let cwd = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    let env = ShellEnvironmentPolicy::default().apply(std::env::vars_os());
    let spec = CommandSpec::new(vec!["true".into()], PathBuf::from(cwd.path()), env);

    let mut group = c.benchmark_group("spawn_true");
    for (name, mode, route) in [
        ("plain", SandboxMode::DangerFullAccess, SpawnRoute::PreExec),
        (
            "workspace_write_helper",
            SandboxMode::WorkspaceWrite,
            SpawnRoute::Helper,
        ),
        (
            "workspace_write_pre_exec",
            SandboxMode::WorkspaceWrite,
            SpawnRoute::PreExec,
        ),
    ] {
        let policy = SandboxPolicy::new(mode);
        let launcher = launcher.clone().with_route(route);
        group.bench_function(name, |b| {
            b.iter(|| {
                let outcome = runtime
                    .block_on(run(&spec, &policy, &launcher))
                    .expect("run true");
                assert_eq!(outcome.exit_code, 0);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, spawn_true);
criterion_main!(benches);
