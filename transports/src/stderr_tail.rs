//! [`StderrTail`]: the last bytes a child wrote to stderr, kept for quoting.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::watch;

/// The end of a child's stderr: a bounded ring buffer that a reader task
/// fills, and any number of clones read.
///
/// Only the last `capacity` bytes are kept. When older bytes were dropped,
/// [`text`](StderrTail::text) starts at the next full line.
#[derive(Debug, Clone)]
pub struct StderrTail {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    ring: Mutex<Ring>,
    closed: watch::Sender<bool>,
}

#[derive(Debug)]
struct Ring {
    bytes: VecDeque<u8>,
    capacity: usize,
    dropped: bool,
}

impl StderrTail {
    /// An empty tail that keeps at most `capacity` bytes.
    pub fn new(capacity: usize) -> Self {
        StderrTail {
            shared: Arc::new(Shared {
                ring: Mutex::new(Ring {
                    bytes: VecDeque::new(),
                    capacity,
                    dropped: false,
                }),
                closed: watch::Sender::new(false),
            }),
        }
    }

    /// The kept text, decoded lossily.
    pub fn text(&self) -> String {
        let ring = self.ring();
        let (front, back) = ring.bytes.as_slices();
        let mut bytes = Vec::with_capacity(ring.bytes.len());
        bytes.extend_from_slice(front);
        bytes.extend_from_slice(back);
        let start = if ring.dropped {
            bytes
                .iter()
                .position(|&b| b == b'\n')
                .map_or(bytes.len(), |i| i + 1)
        } else {
            0
        };
        String::from_utf8_lossy(&bytes[start..]).into_owned()
    }

    /// The last `n` lines of [`text`](StderrTail::text).
    pub fn last_lines(&self, n: usize) -> Vec<String> {
        let text = self.text();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..]
            .iter()
            .map(|line| (*line).to_owned())
            .collect()
    }

    /// Whether the stream reached EOF (every holder of the pipe exited or
    /// closed it) or failed.
    pub fn is_closed(&self) -> bool {
        *self.shared.closed.borrow()
    }

    /// Resolves once the stream is closed; see
    /// [`is_closed`](StderrTail::is_closed).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn closed(&self) {
        let mut rx = self.shared.closed.subscribe();
        // The sender lives in `self`, so this cannot fail.
        let _ = rx.wait_for(|closed| *closed).await;
    }

    /// Appends bytes, dropping the oldest beyond capacity.
    pub(crate) fn push(&self, chunk: &[u8]) {
        let mut ring = self.ring();
        let capacity = ring.capacity;
        let chunk = if chunk.len() > capacity {
            ring.dropped = true;
            &chunk[chunk.len() - capacity..]
        } else {
            chunk
        };
        let overflow = (ring.bytes.len() + chunk.len()).saturating_sub(capacity);
        if overflow > 0 {
            ring.dropped = true;
            ring.bytes.drain(..overflow);
        }
        ring.bytes.extend(chunk);
    }

    /// Marks the stream closed and wakes [`closed`](StderrTail::closed).
    pub(crate) fn close(&self) {
        self.shared.closed.send_replace(true);
    }

    /// Reads `stream` to its end into this tail, logging each chunk.
    pub(crate) async fn fill_from<R: AsyncRead + Unpin>(self, mut stream: R, server: String) {
        let mut buf = vec![0_u8; 8 * 1024];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let chunk = &buf[..n];
                    tracing::debug!(
                        server = %server,
                        "MCP server stderr: {}",
                        String::from_utf8_lossy(chunk).trim_end()
                    );
                    self.push(chunk);
                }
            }
        }
        self.close();
    }

    fn ring(&self) -> MutexGuard<'_, Ring> {
        // A panic while holding the lock leaves the ring consistent.
        self.shared
            .ring
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[track_caller]
    fn check(capacity: usize, chunks: &[&str], expected: &str) {
        let tail = StderrTail::new(capacity);
        for chunk in chunks {
            tail.push(chunk.as_bytes());
        }
        assert_eq!(tail.text(), expected);
    }

    #[test]
    fn keeps_the_last_bytes_from_a_line_start() {
        check(64, &["a\n", "b\n"], "a\nb\n");
        check(6, &["first\n", "second\n"], "");
        check(10, &["first\n", "2nd\n", "3rd\n"], "2nd\n3rd\n");
        check(4, &["0123456789"], "");
        check(8, &["ab\ncdefghij\nk"], "k");
        check(0, &["x"], "");
    }

    #[test]
    fn last_lines() {
        let tail = StderrTail::new(100);
        tail.push(b"one\ntwo\nthree\n");
        assert_eq!(
            tail.last_lines(2),
            vec!["two".to_owned(), "three".to_owned()]
        );
        assert_eq!(tail.last_lines(10).len(), 3);
    }

    #[tokio::test]
    async fn closed_wakes_waiters() {
        let tail = StderrTail::new(16);
        let waiter = tokio::spawn({
            let tail = tail.clone();
            async move { tail.closed().await }
        });
        tail.fill_from(&b"bye\n"[..], "t".to_owned()).await;
        waiter.await.expect("waiter finished");
    }
}
