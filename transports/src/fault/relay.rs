//! The stdio line relay: the server's stdout reaches rmcp one line at a
//! time, each line first offered to the armed [`Fault`]; rmcp's writes
//! reach the server's stdin until [`ProcessFault::Exit`] cuts them.
//!
//! [`ProcessFault::Exit`]: super::ProcessFault::Exit

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader, DuplexStream};
use tokio::process::{ChildStdin, ChildStdout};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::{Fault, FaultInjector, MESSAGE_LIMIT};

/// The line a [`Fault::GarbageLine`] sends.
const GARBAGE: &[u8] = b"injected fault: this line is not JSON-RPC\n";

/// Buffer of each in-memory pipe between the relay and rmcp.
const PIPE: usize = 64 * 1024;

/// The relay's tasks; dropping this stops them.
pub(crate) struct RelayTasks(Vec<JoinHandle<()>>);

impl Drop for RelayTasks {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// Faults claimed by `tools/call` requests, by request id.
type Claims = Arc<Mutex<HashMap<String, Fault>>>;

/// Starts the relay. Returns what rmcp reads from, what it writes to, and
/// the tasks.
///
/// A fault armed for the server is claimed by the next `tools/call`
/// request that goes through, and applied to the answer with that
/// request's id: handshakes, pings and notifications are never damaged,
/// and a fault whose call never reached the server dies with it.
pub(crate) fn start(
    stdout: ChildStdout,
    stdin: ChildStdin,
    server: String,
    injector: FaultInjector,
    close_stdin: Arc<Notify>,
) -> (DuplexStream, DuplexStream, RelayTasks) {
    let (client_read, relay_out) = tokio::io::duplex(PIPE);
    let (client_write, relay_in) = tokio::io::duplex(PIPE);
    let claims: Claims = Arc::default();
    let down = tokio::spawn(server_to_client(
        stdout,
        relay_out,
        server.clone(),
        Arc::clone(&claims),
    ));
    let up = tokio::spawn(client_to_server(
        relay_in,
        stdin,
        close_stdin,
        server,
        injector,
        claims,
    ));
    (client_read, client_write, RelayTasks(vec![down, up]))
}

/// One line from the server, bounded: a line longer than the limit is
/// passed on in pieces, never held whole.
enum Piece {
    Line(Vec<u8>),
    Part(Vec<u8>),
    Eof,
}

async fn next_piece<R>(reader: &mut BufReader<R>) -> std::io::Result<Piece>
where
    R: tokio::io::AsyncRead + Unpin,
{
    let mut buf = Vec::new();
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(if buf.is_empty() {
                Piece::Eof
            } else {
                Piece::Part(buf)
            });
        }
        match available.iter().position(|&b| b == b'\n') {
            Some(i) => {
                buf.extend_from_slice(&available[..=i]);
                reader.consume(i + 1);
                return Ok(Piece::Line(buf));
            }
            None => {
                let n = available.len();
                buf.extend_from_slice(available);
                reader.consume(n);
                if buf.len() > MESSAGE_LIMIT {
                    return Ok(Piece::Part(buf));
                }
            }
        }
    }
}

/// The JSON-RPC id of `line` as text, and its method, if it parses.
fn id_and_method(line: &[u8]) -> Option<(String, Option<String>)> {
    let value: serde_json::Value = serde_json::from_slice(line).ok()?;
    let id = value.get("id")?.to_string();
    let method = value
        .get("method")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned);
    Some((id, method))
}

async fn server_to_client(
    stdout: ChildStdout,
    mut out: DuplexStream,
    server: String,
    claims: Claims,
) {
    let mut reader = BufReader::new(stdout);
    loop {
        let line = match next_piece(&mut reader).await {
            Ok(Piece::Line(line)) => line,
            Ok(Piece::Part(part)) => {
                if out.write_all(&part).await.is_err() {
                    return;
                }
                continue;
            }
            Ok(Piece::Eof) | Err(_) => return,
        };
        let claimed = {
            let mut claims = claims.lock().unwrap_or_else(PoisonError::into_inner);
            if claims.is_empty() {
                None
            } else {
                id_and_method(&line)
                    .filter(|(_, method)| method.is_none())
                    .and_then(|(id, _)| claims.remove(&id))
            }
        };
        let Some(fault) = claimed else {
            if out.write_all(&line).await.is_err() {
                return;
            }
            continue;
        };
        tracing::info!(server = %server, ?fault, "injecting a fault into a stdio answer");
        let written = match fault {
            Fault::Delay(delay) => {
                tokio::time::sleep(delay).await;
                out.write_all(&line).await
            }
            Fault::Drop => Ok(()),
            Fault::Corrupt => out.write_all(&corrupt(line)).await,
            Fault::GarbageLine => match out.write_all(GARBAGE).await {
                Ok(()) => out.write_all(&line).await,
                Err(err) => Err(err),
            },
            // rmcp reads EOF; the server is left to supervision.
            Fault::Close => return,
            Fault::Oversize => write_oversize(&mut out).await,
            // Plans reject these for stdio; deliver the line untouched.
            Fault::HttpStatus { .. } | Fault::Reset | Fault::Truncate | Fault::Stall => {
                out.write_all(&line).await
            }
        };
        if written.is_err() {
            return;
        }
    }
}

async fn client_to_server(
    from: DuplexStream,
    mut stdin: ChildStdin,
    close: Arc<Notify>,
    server: String,
    injector: FaultInjector,
    claims: Claims,
) {
    let mut reader = BufReader::new(from);
    loop {
        let piece = tokio::select! {
            biased;
            () = close.notified() => return,
            piece = next_piece(&mut reader) => piece,
        };
        let bytes = match piece {
            Ok(Piece::Line(line)) => {
                if let Some((id, Some(method))) = id_and_method(&line)
                    && method == "tools/call"
                    && let Some(fault) = injector.take(&server)
                {
                    claims
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .insert(id, fault);
                }
                line
            }
            Ok(Piece::Part(part)) => part,
            Ok(Piece::Eof) | Err(_) => return,
        };
        if stdin.write_all(&bytes).await.is_err() || stdin.flush().await.is_err() {
            return;
        }
    }
}

/// The line with its first byte and one in the middle replaced by bytes
/// that are not valid JSON (nor UTF-8).
fn corrupt(mut line: Vec<u8>) -> Vec<u8> {
    let body = line.len().saturating_sub(1);
    if body > 0 {
        line[0] = 0xFF;
        line[body / 2] = 0xFE;
    }
    line
}

/// A JSON string one byte longer than [`MESSAGE_LIMIT`], then a newline.
async fn write_oversize(out: &mut DuplexStream) -> std::io::Result<()> {
    let chunk = [b'x'; 64 * 1024];
    out.write_all(b"\"").await?;
    let mut left = MESSAGE_LIMIT;
    while left > 0 {
        let n = left.min(chunk.len());
        out.write_all(&chunk[..n]).await?;
        left -= n;
    }
    out.write_all(b"\"\n").await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_corrupt_line_no_longer_parses_and_keeps_its_newline() {
        let line = br#"{"jsonrpc":"2.0","id":1,"result":{}}"#.to_vec();
        let mut with_newline = line.clone();
        with_newline.push(b'\n');
        let damaged = corrupt(with_newline);
        assert_eq!(damaged.last(), Some(&b'\n'));
        assert!(serde_json::from_slice::<serde_json::Value>(&damaged).is_err());
        assert_eq!(damaged.len(), line.len() + 1);
    }
}
