//! A program on a pseudo-terminal, its screen read through a `vt100`
//! parser: the chat's end-to-end tests and benchmarks type keys and read
//! what the real binary drew.

use std::io::{Read as _, Write as _};
use std::process::Command;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

/// The terminal's size.
pub const ROWS: u16 = 30;
/// The terminal's width.
pub const COLUMNS: u16 = 100;

/// What the reader thread saw.
struct Seen {
    parser: vt100::Parser,
    raw: Vec<u8>,
    closed: bool,
}

/// A program running on a pseudo-terminal.
pub struct Pty {
    master: Box<dyn portable_pty::MasterPty + Send>,
    writer: Box<dyn std::io::Write + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
    seen: Arc<(Mutex<Seen>, Condvar)>,
    patience: Duration,
}

impl Pty {
    /// Starts `command` (its program, arguments, environment and
    /// directory) on a [`ROWS`]×[`COLUMNS`] terminal. Every wait gives up
    /// after `patience`.
    pub fn start(command: Command, patience: Duration) -> Pty {
        let mut builder = CommandBuilder::new(command.get_program());
        builder.args(command.get_args());
        builder.env_clear();
        for (name, value) in command.get_envs() {
            if let Some(value) = value {
                builder.env(name, value);
            }
        }
        builder.env("TERM", "xterm-256color");
        if let Some(dir) = command.get_current_dir() {
            builder.cwd(dir);
        }
        let pair = native_pty_system()
            .openpty(PtySize {
                rows: ROWS,
                cols: COLUMNS,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("a pty");
        let child = pair.slave.spawn_command(builder).expect("spawn on the pty");
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().expect("reader");
        let writer = pair.master.take_writer().expect("writer");
        let rows = std::num::NonZero::new(ROWS).expect("rows");
        let columns = std::num::NonZero::new(COLUMNS).expect("columns");
        let seen = Arc::new((
            Mutex::new(Seen {
                parser: vt100::Parser::new(rows, columns, 0),
                raw: Vec::new(),
                closed: false,
            }),
            Condvar::new(),
        ));
        let feed = Arc::clone(&seen);
        std::thread::spawn(move || {
            let mut buf = [0; 8192];
            loop {
                let n = reader.read(&mut buf).unwrap_or(0);
                let (lock, changed) = &*feed;
                let mut seen = lock.lock().expect("lock");
                if n == 0 {
                    seen.closed = true;
                    changed.notify_all();
                    return;
                }
                seen.raw.extend_from_slice(&buf[..n]);
                seen.parser.process(&buf[..n]);
                changed.notify_all();
            }
        });
        Pty {
            master: pair.master,
            writer,
            child,
            seen,
            patience,
        }
    }

    /// The screen's text now.
    pub fn screen(&self) -> String {
        self.seen.0.lock().expect("lock").parser.screen().contents()
    }

    /// Waits until `shows` holds for the screen; the screen then. Fails
    /// with the screen after the patience.
    pub fn wait_until(&self, what: &str, shows: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + self.patience;
        let (lock, changed) = &*self.seen;
        let mut seen = lock.lock().expect("lock");
        loop {
            let screen = seen.parser.screen().contents();
            if shows(&screen) {
                return screen;
            }
            let now = Instant::now();
            assert!(
                now < deadline && !seen.closed,
                "waited for {what}; the screen shows:\n{screen}"
            );
            seen = changed.wait_timeout(seen, deadline - now).expect("lock").0;
        }
    }

    /// Waits until the screen shows `needle`.
    pub fn wait_for(&self, needle: &str) -> String {
        self.wait_until(&format!("{needle:?}"), |screen| screen.contains(needle))
    }

    /// Sends bytes, as keys.
    pub fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("write to the pty");
        self.writer.flush().expect("flush");
    }

    /// Types `text`.
    pub fn typed(&mut self, text: &str) {
        self.send(text.as_bytes());
    }

    /// The program's pid.
    pub fn pid(&self) -> Option<u32> {
        self.child.process_id()
    }

    /// Waits for the program to exit (the terminal's other side closes
    /// when it does); its exit code.
    pub fn exit_code(&mut self) -> u32 {
        let deadline = Instant::now() + self.patience;
        {
            let (lock, changed) = &*self.seen;
            let mut seen = lock.lock().expect("lock");
            while !seen.closed {
                let now = Instant::now();
                assert!(
                    now < deadline,
                    "the program did not exit; the screen shows:\n{}",
                    seen.parser.screen().contents()
                );
                seen = changed.wait_timeout(seen, deadline - now).expect("lock").0;
            }
        }
        self.child.wait().expect("wait").exit_code()
    }

    /// Everything the program wrote, as text.
    pub fn raw(&self) -> String {
        String::from_utf8_lossy(&self.seen.0.lock().expect("lock").raw).into_owned()
    }

    /// Whether the terminal is in cooked mode (line editing and echo on).
    pub fn cooked(&self) -> bool {
        let termios = self.master.get_termios().expect("the pty's termios");
        let flags = format!("{:?}", termios.local_flags);
        let set: Vec<&str> = flags
            .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
            .collect();
        set.contains(&"ICANON") && set.contains(&"ECHO")
    }
}

impl std::fmt::Debug for Pty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pty")
            .field("pid", &self.pid())
            .finish_non_exhaustive()
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}
