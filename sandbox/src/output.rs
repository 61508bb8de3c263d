//! Bounded capture of one output stream: [`CapturedOutput`] and the head+tail buffer behind it.

use std::collections::VecDeque;

/// At most this many bytes of each stream are kept (Codex's `EXEC_OUTPUT_MAX_BYTES`).
pub const OUTPUT_MAX_BYTES: usize = 1024 * 1024;

/// What was kept of one stream.
///
/// When the stream was longer than the cap, `bytes` holds the first half of
/// the cap, a marker line `\n[... N bytes elided ...]\n`, and the last half
/// of the cap. The marker is not counted in the cap.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CapturedOutput {
    /// The kept bytes, with the marker in the middle when something was elided.
    pub bytes: Vec<u8>,
    /// How many bytes the stream produced in total.
    pub total_bytes: u64,
    /// How many bytes were dropped from the middle.
    pub elided_bytes: u64,
}

impl CapturedOutput {
    /// The kept bytes as text, with invalid UTF-8 replaced.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// Keeps the first `cap / 2` and the last `cap - cap / 2` bytes of a stream.
#[derive(Debug)]
pub(crate) struct HeadTailBuffer {
    head_cap: usize,
    tail_cap: usize,
    head: Vec<u8>,
    tail: VecDeque<u8>,
    total: u64,
}

impl HeadTailBuffer {
    pub(crate) fn new(cap: usize) -> Self {
        let head_cap = cap / 2;
        HeadTailBuffer {
            head_cap,
            tail_cap: cap - head_cap,
            head: Vec::new(),
            tail: VecDeque::new(),
            total: 0,
        }
    }

    pub(crate) fn push(&mut self, mut chunk: &[u8]) {
        self.total += chunk.len() as u64;
        let room = self.head_cap - self.head.len();
        if room > 0 {
            let take = room.min(chunk.len());
            self.head.extend_from_slice(&chunk[..take]);
            chunk = &chunk[take..];
        }
        if chunk.len() >= self.tail_cap {
            self.tail.clear();
            self.tail.extend(&chunk[chunk.len() - self.tail_cap..]);
            return;
        }
        let overflow = (self.tail.len() + chunk.len()).saturating_sub(self.tail_cap);
        self.tail.drain(..overflow);
        self.tail.extend(chunk);
    }

    pub(crate) fn snapshot(&self) -> CapturedOutput {
        let kept = (self.head.len() + self.tail.len()) as u64;
        let elided = self.total - kept;
        let mut bytes = Vec::with_capacity(self.head.len() + self.tail.len() + 40);
        bytes.extend_from_slice(&self.head);
        if elided > 0 {
            bytes.extend_from_slice(format!("\n[... {elided} bytes elided ...]\n").as_bytes());
        }
        bytes.extend(self.tail.iter());
        CapturedOutput {
            bytes,
            total_bytes: self.total,
            elided_bytes: elided,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use proptest::prelude::*;

    #[track_caller]
    fn check(cap: usize, chunks: &[&str], expected: &str, elided: u64) {
        let mut buf = HeadTailBuffer::new(cap);
        for chunk in chunks {
            buf.push(chunk.as_bytes());
        }
        let out = buf.snapshot();
        assert_eq!(out.text(), expected);
        assert_eq!(out.elided_bytes, elided);
        assert_eq!(
            out.total_bytes,
            chunks.iter().map(|c| c.len() as u64).sum::<u64>()
        );
    }

    #[test]
    fn rows() {
        check(10, &[], "", 0);
        check(10, &["hello"], "hello", 0);
        check(10, &["0123456789"], "0123456789", 0);
        check(
            10,
            &["0123456789x"],
            "01234\n[... 1 bytes elided ...]\n6789x",
            1,
        );
        check(
            10,
            &["abc", "defgh", "ijklmnop", "qr"],
            "abcde\n[... 8 bytes elided ...]\nnopqr",
            8,
        );
        check(
            4,
            &["ab", "", "cdefghijklmnopqrstuvwxyz"],
            "ab\n[... 22 bytes elided ...]\nyz",
            22,
        );
    }

    proptest! {
        #[test]
        fn keeps_exact_head_and_tail(
            chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..50), 0..20),
            cap in 1usize..64,
        ) {
            let mut buf = HeadTailBuffer::new(cap);
            let mut all = Vec::new();
            for chunk in &chunks {
                buf.push(chunk);
                all.extend_from_slice(chunk);
            }
            let out = buf.snapshot();
            if all.len() <= cap {
                prop_assert_eq!(out.bytes, all);
                prop_assert_eq!(out.elided_bytes, 0);
            } else {
                let head = cap / 2;
                let tail = cap - head;
                let mut expected = all[..head].to_vec();
                expected.extend_from_slice(
                    format!("\n[... {} bytes elided ...]\n", all.len() - cap).as_bytes(),
                );
                expected.extend_from_slice(&all[all.len() - tail..]);
                prop_assert_eq!(out.bytes, expected);
            }
        }
    }
}
