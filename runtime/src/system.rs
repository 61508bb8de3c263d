//! Runtime bootstrap: an actix `System` on a multi-threaded tokio runtime.
//!
//! Actors run on the System's arbiter thread; `tokio::spawn` from an actor
//! lands on the worker pool, so `Send` futures from tokio libraries run in
//! parallel with the actors. [`block_on`] hides the classic pitfall: a
//! `System` cannot be created on a thread that is already inside a tokio
//! runtime (`#[tokio::main]`), so there it runs on a dedicated thread.

use std::future::Future;

use actix::System;

use crate::exit::ActorError;

/// Why the runtime could not run the closure to completion.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuntimeError {
    /// Building the tokio runtime or the System thread failed.
    #[error("could not start the runtime: {0}")]
    Io(#[from] std::io::Error),
    /// The future (or the System thread) panicked.
    #[error("the system thread {0}")]
    Panicked(ActorError),
}

/// Builds a System on a fresh multi-threaded tokio runtime, runs the
/// future made by `make` on it to completion, then stops the System.
///
/// `make` is called on the System's thread, so the future may be `!Send`
/// and may start actors. When called from inside a tokio runtime, the
/// System runs on a dedicated thread and this call blocks until it is
/// done; from async code prefer [`spawn_system`].
pub fn block_on<F, Fut, T>(make: F) -> Result<T, RuntimeError>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = T>,
    T: Send + 'static,
{
    if tokio::runtime::Handle::try_current().is_ok() {
        let thread = std::thread::Builder::new()
            .name("actix-system".into())
            .spawn(move || run_here(make))?;
        thread
            .join()
            .map_err(|payload| RuntimeError::Panicked(ActorError::from_panic(&*payload)))?
    } else {
        run_here(make)
    }
}

/// Like [`block_on`], for async callers: the System always runs on a
/// dedicated thread and the result is awaited without blocking.
pub async fn spawn_system<F, Fut, T>(make: F) -> Result<T, RuntimeError>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = T>,
    T: Send + 'static,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("actix-system".into())
        .spawn(move || {
            let _ = tx.send(run_here(make));
        })?;
    match rx.await {
        Ok(result) => result,
        Err(_) => Err(RuntimeError::Panicked(ActorError::Panicked {
            message: "the system thread ended without a result".into(),
        })),
    }
}

fn run_here<F, Fut, T>(make: F) -> Result<T, RuntimeError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = T>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("codex-worker")
        .build()?;
    let mut runtime = Some(runtime);
    let system = System::with_tokio_rt(move || {
        // `with_tokio_rt` calls this exactly once.
        runtime
            .take()
            .unwrap_or_else(|| unreachable!("runtime factory called twice"))
    });
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        system.block_on(async move { make().await })
    }))
    .map_err(|payload| RuntimeError::Panicked(ActorError::from_panic(&*payload)))?;
    System::current().stop();
    Ok(out)
}
