//! The runtime bootstrap: a System on a multi-threaded tokio runtime,
//! from plain code and from inside an existing tokio runtime.

use codex_runtime::{block_on, spawn_system};

fn worker_thread_name() -> Option<String> {
    block_on(|| async {
        // A `Send` future spawned from the actor thread runs on the pool.
        tokio::spawn(async { std::thread::current().name().map(str::to_owned) })
            .await
            .expect("join")
    })
    .expect("runtime")
}

#[test]
fn block_on_runs_a_system_with_a_worker_pool() {
    assert_eq!(worker_thread_name().as_deref(), Some("codex-worker"));
}

#[tokio::test]
async fn block_on_and_spawn_system_work_inside_tokio_main() {
    // Creating a System here directly would panic ("Cannot start a
    // runtime from within a runtime"); both helpers use a dedicated
    // thread instead.
    assert_eq!(
        tokio::task::spawn_blocking(worker_thread_name)
            .await
            .expect("join")
            .as_deref(),
        Some("codex-worker")
    );
    let n = spawn_system(|| async { actix::System::current().id() }).await;
    assert!(n.is_ok());
    let sync = block_on(|| async { 41 + 1 }).expect("runtime");
    assert_eq!(sync, 42);
}

#[test]
fn a_panicking_future_is_an_error_not_a_crash() {
    let err = block_on(|| async {
        if std::hint::black_box(true) {
            panic!("bootstrap boom");
        }
        1
    })
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the system thread panicked: bootstrap boom"
    );
}
