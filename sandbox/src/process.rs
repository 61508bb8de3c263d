//! [`SandboxedChild`], [`run`] and [`run_streaming`]: process groups, timeouts, bounded output.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::io::unix::AsyncFd;
use tokio::net::unix::pipe;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::SandboxError;
use crate::launcher::{CommandSpec, SandboxLauncher, program_of};
use crate::output::{CapturedOutput, HeadTailBuffer, OUTPUT_MAX_BYTES};
use crate::policy::SandboxPolicy;
use crate::spawn::PreparedCommand;
use crate::tree::{ProcessTag, register_owned, release_owned};

/// Exit code reported when the timeout killed the command.
pub const TIMEOUT_EXIT_CODE: i32 = 124;
/// How long the output readers may run on after the command exited (a
/// background grandchild may still hold the pipes).
pub const IO_DRAIN_TIMEOUT: Duration = Duration::from_secs(2);
/// At most this many [`OutputChunk`]s are streamed per command; capture goes on after that.
pub const MAX_STREAMED_CHUNKS: usize = 10_000;

const READ_CHUNK: usize = 8 * 1024;

/// Which pipe a chunk came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputStream {
    /// The command's stdout.
    Stdout,
    /// The command's stderr.
    Stderr,
}

/// Raw bytes read from one of the command's pipes, as they arrive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputChunk {
    /// The pipe.
    pub stream: OutputStream,
    /// The bytes (at most 8 KiB).
    pub bytes: Vec<u8>,
}

/// How a command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutcome {
    /// The exit code: the command's own, [`TIMEOUT_EXIT_CODE`] (124) on
    /// timeout, or `128 + signal` when a signal killed it.
    pub exit_code: i32,
    /// The signal that ended the command, when one did (`SIGKILL` on timeout).
    pub signal: Option<i32>,
    /// Whether the timeout fired and the process group was killed.
    pub timed_out: bool,
    /// What was kept of stdout.
    pub stdout: CapturedOutput,
    /// What was kept of stderr.
    pub stderr: CapturedOutput,
    /// Wall time from spawn to exit.
    pub duration: Duration,
}

impl ExecOutcome {
    /// stdout followed by stderr (not interleaved), as Codex's `aggregated_output`.
    pub fn aggregated_output(&self) -> Vec<u8> {
        let mut out = self.stdout.bytes.clone();
        out.extend_from_slice(&self.stderr.bytes);
        out
    }
}

/// Runs `spec` under `policy` and waits for it, keeping at most
/// [`OUTPUT_MAX_BYTES`] of each stream.
///
/// # Cancel safety
///
/// Dropping the future kills the command's process group and reaps it (see
/// [`SandboxedChild`]'s `# Drop`).
pub async fn run(
    spec: &CommandSpec,
    policy: &SandboxPolicy,
    launcher: &SandboxLauncher,
) -> Result<ExecOutcome, SandboxError> {
    SandboxedChild::spawn(spec, policy, launcher, None)?
        .wait()
        .await
}

/// Like [`run`], and also sends the output through `chunks` as it arrives
/// (at most [`MAX_STREAMED_CHUNKS`]). A slow receiver slows the reading down
/// (back-pressure); a dropped receiver only stops the streaming.
///
/// # Cancel safety
///
/// As [`run`]: dropping the future kills and reaps the process group.
pub async fn run_streaming(
    spec: &CommandSpec,
    policy: &SandboxPolicy,
    launcher: &SandboxLauncher,
    chunks: mpsc::Sender<OutputChunk>,
) -> Result<ExecOutcome, SandboxError> {
    SandboxedChild::spawn(spec, policy, launcher, Some(chunks))?
        .wait()
        .await
}

/// A running command: the leader of its own process group, stdin on
/// `/dev/null`, stdout and stderr captured.
///
/// The child also gets `PR_SET_PDEATHSIG(SIGKILL)`: if the thread that
/// spawned it dies, so does the child. Spawn from a long-lived thread (a
/// tokio worker, not a `spawn_blocking` thread).
///
/// # Drop
///
/// Dropping the handle sends `SIGKILL` to the whole process group and, if the
/// leader was not reaped yet, waits for it (a short blocking `waitpid`, since
/// `SIGKILL` cannot be caught). Grandchildren that left the group (`setsid`)
/// are not reached. The output reader tasks are aborted.
#[derive(Debug)]
pub struct SandboxedChild {
    child: Child,
    pid: u32,
    tag: ProcessTag,
    exit_fd: Option<AsyncFd<OwnedFd>>,
    status: Option<ExitStatus>,
    timed_out: bool,
    started: Instant,
    deadline: Instant,
    drain_deadline: Option<Instant>,
    exited_after: Duration,
    readers: [Option<JoinHandle<()>>; 2],
    buffers: [Arc<Mutex<HeadTailBuffer>>; 2],
}

impl SandboxedChild {
    /// Spawns `spec` under `policy`, streaming output to `chunks` if given,
    /// on the launcher's [`SpawnRoute`](crate::SpawnRoute) (pre-exec unless
    /// the launcher says otherwise). The timeout clock starts now.
    ///
    /// # Errors
    ///
    /// [`SandboxError::NoRuntime`] outside a tokio runtime, the errors of
    /// [`SandboxLauncher::command`] (including refusals), errors preparing
    /// the sandbox (pre-exec route: Landlock or seccomp setup, a protected
    /// path that cannot be named), and [`SandboxError::Spawn`], which on the
    /// pre-exec route also covers a command that is missing or not
    /// executable. Failures to apply the sandbox after the fork (in the
    /// child or the helper) show up as exit code 125 with a
    /// `codex-sandbox:` message on stderr; on the helper route a missing or
    /// non-executable command is exit code 127 or 126.
    pub fn spawn(
        spec: &CommandSpec,
        policy: &SandboxPolicy,
        launcher: &SandboxLauncher,
        chunks: Option<mpsc::Sender<OutputChunk>>,
    ) -> Result<Self, SandboxError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| SandboxError::NoRuntime)?;
        let mut prepared = PreparedCommand::new(spec, policy, launcher, true)?;
        prepared
            .command_mut()
            .stdin(if spec.stdin_pipe {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let (mut command, tag) = prepared.into_parts();
        let started = Instant::now();
        let spawned = command.spawn();
        let program = spawned.is_err().then(|| program_of(&command));
        // Close the Landlock ruleset descriptor in this process now: the
        // closure inside `command` holds the only reference. It is
        // close-on-exec, so the command never had it after its exec either.
        drop(command);
        let mut child = spawned.map_err(|source| SandboxError::Spawn {
            program: program.unwrap_or_default(),
            source,
        })?;
        let pid = child.id();
        register_owned(pid);
        let exit_fd = pidfd_open(pid).and_then(|fd| {
            // SAFETY: the AsyncFd takes ownership of the OwnedFd, so the
            // descriptor stays open and unchanged for the AsyncFd's lifetime.
            unsafe { AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE) }.ok()
        });
        let buffers = [
            Arc::new(Mutex::new(HeadTailBuffer::new(OUTPUT_MAX_BYTES))),
            Arc::new(Mutex::new(HeadTailBuffer::new(OUTPUT_MAX_BYTES))),
        ];
        let sent = Arc::new(AtomicUsize::new(0));
        let pipes: [(Option<OwnedFd>, OutputStream); 2] = [
            (child.stdout.take().map(OwnedFd::from), OutputStream::Stdout),
            (child.stderr.take().map(OwnedFd::from), OutputStream::Stderr),
        ];
        let mut readers = [None, None];
        for (i, (fd, stream)) in pipes.into_iter().enumerate() {
            let Some(receiver) = fd.and_then(|fd| pipe::Receiver::from_owned_fd(fd).ok()) else {
                continue;
            };
            readers[i] = Some(runtime.spawn(read_stream(
                receiver,
                stream,
                Arc::clone(&buffers[i]),
                chunks.clone(),
                Arc::clone(&sent),
            )));
        }
        Ok(SandboxedChild {
            child,
            pid,
            tag,
            exit_fd,
            status: None,
            timed_out: false,
            started,
            deadline: started + spec.timeout,
            drain_deadline: None,
            exited_after: Duration::ZERO,
            readers,
            buffers,
        })
    }

    /// The process id, which is also the process group id.
    pub fn id(&self) -> u32 {
        self.pid
    }

    /// The write end of the command's standard input, when its spec asked
    /// for a pipe (once; later calls return `None`). Dropping it closes the
    /// command's input.
    pub fn take_stdin(&mut self) -> Option<pipe::Sender> {
        let stdin = self.child.stdin.take()?;
        pipe::Sender::from_owned_fd(OwnedFd::from(stdin)).ok()
    }

    /// Sends `SIGKILL` to the whole process tree (the group, and
    /// descendants that left it) without waiting. [`wait`](Self::wait)
    /// then reports exit code 137 (`128 + 9`).
    pub fn start_kill(&mut self) {
        self.tag.kill(self.pid);
    }

    /// Waits for the command to exit (or for the timeout, which kills the
    /// process group and reports exit code 124), then gives the output
    /// readers up to [`IO_DRAIN_TIMEOUT`] to reach end of file.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: all progress lives in `self`, so calling `wait` again
    /// resumes (the timeout deadline does not move, and output read so far is
    /// kept). Dropping `self` instead kills the process group (see `# Drop`).
    pub async fn wait(&mut self) -> Result<ExecOutcome, SandboxError> {
        if self.status.is_none() {
            let exited = tokio::select! {
                status = wait_exit(&mut self.child, self.exit_fd.as_ref()) => Some(status),
                () = tokio::time::sleep_until(self.deadline) => None,
            };
            let status = match exited {
                Some(status) => status,
                None => {
                    self.timed_out = true;
                    self.tag.kill(self.pid);
                    wait_exit(&mut self.child, self.exit_fd.as_ref()).await
                }
            };
            let status = status.map_err(|source| SandboxError::Wait {
                pid: self.pid,
                source,
            })?;
            self.status = Some(status);
            release_owned(self.pid);
            self.exited_after = self.started.elapsed();
        }
        let drain_deadline = *self
            .drain_deadline
            .get_or_insert_with(|| Instant::now() + IO_DRAIN_TIMEOUT);
        for slot in &mut self.readers {
            if let Some(reader) = slot {
                if tokio::time::timeout_at(drain_deadline, &mut *reader)
                    .await
                    .is_err()
                {
                    reader.abort();
                }
                *slot = None;
            }
        }
        let status = self.status.unwrap_or_else(|| ExitStatus::from_raw(0));
        let signal = status.signal();
        let exit_code = if self.timed_out {
            TIMEOUT_EXIT_CODE
        } else {
            status
                .code()
                .or_else(|| signal.map(|s| 128 + s))
                .unwrap_or(-1)
        };
        let snapshot = |i: usize| {
            self.buffers[i]
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .snapshot()
        };
        Ok(ExecOutcome {
            exit_code,
            signal,
            timed_out: self.timed_out,
            stdout: snapshot(0),
            stderr: snapshot(1),
            duration: self.exited_after,
        })
    }
}

impl Drop for SandboxedChild {
    fn drop(&mut self) {
        // The whole tree: the group, and descendants that left it.
        self.tag.kill(self.pid);
        if self.status.is_none() {
            // The leader is ours: make sure it is dead, then reap it. Both
            // errors can only mean it is already gone.
            let _ = self.child.kill();
            let _ = self.child.wait();
            release_owned(self.pid);
        }
        for reader in self.readers.iter().flatten() {
            reader.abort();
        }
    }
}

/// A pidfd for `pid`, readable once the process exits; `None` on kernels without pidfd_open.
fn pidfd_open(pid: u32) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0u32) };
    let fd = i32::try_from(fd).ok().filter(|&fd| fd >= 0)?;
    // SAFETY: the kernel just returned this fd to us, so we own it exclusively.
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}

async fn wait_exit(
    child: &mut Child,
    exit_fd: Option<&AsyncFd<OwnedFd>>,
) -> io::Result<ExitStatus> {
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        match exit_fd {
            Some(fd) => {
                let mut guard = fd.readable().await?;
                if let Some(status) = child.try_wait()? {
                    return Ok(status);
                }
                guard.clear_ready();
            }
            None => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

async fn read_stream(
    mut pipe: pipe::Receiver,
    stream: OutputStream,
    buffer: Arc<Mutex<HeadTailBuffer>>,
    mut chunks: Option<mpsc::Sender<OutputChunk>>,
    sent: Arc<AtomicUsize>,
) {
    let mut scratch = vec![0u8; READ_CHUNK];
    loop {
        let n = match pipe.read(&mut scratch).await {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        let bytes = &scratch[..n];
        buffer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(bytes);
        if let Some(tx) = &chunks
            && sent.fetch_add(1, Ordering::Relaxed) < MAX_STREAMED_CHUNKS
        {
            let chunk = OutputChunk {
                stream,
                bytes: bytes.to_vec(),
            };
            if tx.send(chunk).await.is_err() {
                chunks = None;
            }
        }
    }
}
