//! The chat's state as a pure model: [`App::update`] takes an [`Event`]
//! (a key, a turn's event, an answer from the session) and the time, and
//! returns the [`Effect`]s the shell must carry out. Nothing here touches
//! the terminal, the session or the clock, so every behaviour is tested
//! without either.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use codex_actors::config::ApprovalPolicy;
use codex_actors::model_stream::TokenUsage;
use codex_actors::session::ServerStatus;
use codex_actors::turn::{ApprovalDecision, ApprovalRequest, TurnEvent, TurnOutcome};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::cells::Cell;

/// A second Ctrl-C within this long of the first quits.
pub(crate) const QUIT_WINDOW: Duration = Duration::from_secs(1);
/// How long a question shows before it takes an answer, so that keys typed
/// ahead into the composer cannot answer it.
pub(crate) const ANSWER_DELAY: Duration = Duration::from_millis(300);

/// The slash commands, with what they do.
pub(crate) const COMMANDS: &[(&str, &str)] = &[
    ("/mcp", "MCP servers, their tools, and why any is disabled"),
    (
        "/status",
        "model, sandbox, approvals, requirements, tokens, session",
    ),
    ("/new", "start a new session"),
    ("/resume", "continue a recorded session of this directory"),
    ("/model", "show or set the model: /model NAME"),
    (
        "/approvals",
        "show or set the approval policy: /approvals POLICY",
    ),
    ("/diff", "git diff, untracked files included"),
    ("/quit", "exit"),
];

/// Something that happened.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Event {
    /// A key press.
    Key(KeyEvent),
    /// Pasted text.
    Paste(String),
    /// An event of the running turn.
    Turn(TurnEvent),
    /// The running turn ended.
    TurnDone(TurnOutcome),
    /// The turn asks the user.
    Ask(ApprovalRequest),
    /// The servers, as the session reports them now.
    Servers(Vec<ServerStatus>),
    /// Recorded sessions to pick from (`/resume`, `codex resume`), or to
    /// fork (`codex fork`).
    Sessions {
        /// The choices, newest first.
        entries: Vec<SessionEntry>,
        /// The one picked is forked, not continued.
        fork: bool,
    },
    /// A note for the history (a slash command's answer).
    Note(String),
    /// A problem to show.
    Problem(String),
    /// The conversation was replaced (`/new`, `/resume`): its header and
    /// the history to show.
    Opened {
        /// The status line's facts.
        status: Status,
        /// What the resumed session holds, as cells.
        history: Vec<Cell>,
    },
    /// Time passed (only while a turn runs: elapsed time, spinner).
    Tick,
}

/// A recorded session, for the picker.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SessionEntry {
    /// Its thread id.
    pub(crate) id: String,
    /// Its file.
    pub(crate) path: PathBuf,
    /// When it was last written, as shown.
    pub(crate) when: String,
    /// Its first message, shortened.
    pub(crate) preview: String,
    /// Its working directory, shown when the picker covers every
    /// directory (`--all`).
    pub(crate) cwd: Option<String>,
}

/// What the shell must do.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Effect {
    /// Start a turn with this message.
    Submit(String),
    /// Interrupt the running turn.
    Interrupt,
    /// Answer an approval request.
    Answer {
        /// The call it is about.
        call_id: String,
        /// The answer.
        decision: ApprovalDecision,
    },
    /// Fetch the servers' statuses (the answer is [`Event::Servers`]).
    RefreshServers,
    /// Run `git diff` (the answer is a note).
    Diff,
    /// Start a new conversation.
    New,
    /// List recorded sessions (the answer is [`Event::Sessions`]).
    ListSessions,
    /// Continue this recorded session.
    Resume(String),
    /// Start a new thread from this recorded session's history.
    Fork(String),
    /// Use this model from the next turn.
    SetModel(String),
    /// Use this approval policy from the next turn (requirements may
    /// refuse it; the answer is a note).
    SetApproval(ApprovalPolicy),
    /// Exit.
    Quit,
}

/// The facts the status line and `/status` show.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Status {
    pub(crate) model: String,
    pub(crate) provider: String,
    pub(crate) sandbox: String,
    pub(crate) approval: String,
    pub(crate) requirement_sources: Vec<String>,
    pub(crate) session_id: String,
    pub(crate) rollout: Option<PathBuf>,
    pub(crate) cwd: PathBuf,
}

/// What covers the history.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Overlay {
    /// `/mcp`: the servers, live.
    Servers,
    /// `/status`.
    Status,
    /// `/resume`: pick a session.
    Sessions {
        /// The choices.
        entries: Vec<SessionEntry>,
        /// The highlighted one.
        selected: usize,
        /// The one picked is forked (`codex fork`), not continued.
        fork: bool,
    },
}

/// The message being typed.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Composer {
    /// The text.
    pub(crate) text: String,
    /// The cursor, a byte offset on a character boundary.
    pub(crate) cursor: usize,
}

impl Composer {
    fn insert(&mut self, text: &str) {
        self.text.insert_str(self.cursor, text);
        self.cursor += text.len();
    }

    fn backspace(&mut self) {
        if let Some(c) = self.text[..self.cursor].chars().next_back() {
            self.cursor -= c.len_utf8();
            self.text.remove(self.cursor);
        }
    }

    fn delete(&mut self) {
        if self.cursor < self.text.len() {
            self.text.remove(self.cursor);
        }
    }

    fn left(&mut self) {
        if let Some(c) = self.text[..self.cursor].chars().next_back() {
            self.cursor -= c.len_utf8();
        }
    }

    fn right(&mut self) {
        if let Some(c) = self.text[self.cursor..].chars().next() {
            self.cursor += c.len_utf8();
        }
    }

    fn home(&mut self) {
        self.cursor = self.text[..self.cursor].rfind('\n').map_or(0, |at| at + 1);
    }

    fn end(&mut self) {
        self.cursor = self.text[self.cursor..]
            .find('\n')
            .map_or(self.text.len(), |at| self.cursor + at);
    }

    fn delete_word(&mut self) {
        let before = &self.text[..self.cursor];
        let kept = before.trim_end();
        let start = kept.rfind(char::is_whitespace).map_or(0, |at| {
            at + kept[at..].chars().next().map_or(1, char::len_utf8)
        });
        self.text.replace_range(start..self.cursor, "");
        self.cursor = start;
    }

    fn take(&mut self) -> String {
        self.cursor = 0;
        std::mem::take(&mut self.text)
    }
}

/// The chat's state.
#[derive(Debug)]
pub(crate) struct App {
    /// The history, oldest first.
    pub(crate) cells: Vec<Cell>,
    /// Answer text streaming in.
    pub(crate) live: String,
    /// The message being typed.
    pub(crate) composer: Composer,
    /// Approval requests, the first one shown.
    pub(crate) approvals: VecDeque<ApprovalRequest>,
    /// When the first request was shown.
    pub(crate) asked_at: Option<Instant>,
    /// What covers the history.
    pub(crate) overlay: Option<Overlay>,
    /// When the running turn started.
    pub(crate) running: Option<Instant>,
    /// The running turn is being interrupted.
    pub(crate) interrupting: bool,
    /// Messages sent while a turn ran, sent when it ends.
    pub(crate) queued: VecDeque<String>,
    /// The status line's facts.
    pub(crate) status: Status,
    /// The servers as last reported.
    pub(crate) servers: Vec<ServerStatus>,
    /// Tokens used by this conversation's turns.
    pub(crate) usage: TokenUsage,
    /// When Ctrl-C was pressed on an empty composer.
    pub(crate) quit_armed: Option<Instant>,
    /// Lines scrolled back from the bottom.
    pub(crate) scroll: usize,
    /// The app has quit.
    pub(crate) quit: bool,
    /// The last tick, for the spinner and elapsed time.
    pub(crate) now: Option<Instant>,
}

impl App {
    /// A new chat showing `history` (a resumed session's).
    pub(crate) fn new(status: Status, history: Vec<Cell>) -> Self {
        App {
            cells: history,
            live: String::new(),
            composer: Composer::default(),
            approvals: VecDeque::new(),
            asked_at: None,
            overlay: None,
            running: None,
            interrupting: false,
            queued: VecDeque::new(),
            status,
            servers: Vec::new(),
            usage: TokenUsage::default(),
            quit_armed: None,
            scroll: 0,
            quit: false,
            now: None,
        }
    }

    /// Applies `event` at `now`.
    pub(crate) fn update(&mut self, event: Event, now: Instant) -> Vec<Effect> {
        self.now = Some(now);
        match event {
            Event::Key(key) if key.kind != KeyEventKind::Release => self.key(key, now),
            Event::Key(_) => Vec::new(),
            Event::Tick => {
                if !self.quit_hint() {
                    self.quit_armed = None;
                }
                Vec::new()
            }
            Event::Paste(text) => {
                if self.approvals.is_empty() && self.overlay.is_none() {
                    self.composer
                        .insert(&text.replace("\r\n", "\n").replace('\r', "\n"));
                }
                Vec::new()
            }
            Event::Turn(event) => {
                self.turn_event(event);
                Vec::new()
            }
            Event::TurnDone(outcome) => self.turn_done(outcome),
            Event::Ask(request) => {
                if self.approvals.is_empty() {
                    self.asked_at = Some(now);
                }
                self.approvals.push_back(request);
                Vec::new()
            }
            Event::Servers(servers) => {
                self.servers = servers;
                Vec::new()
            }
            Event::Sessions { entries, fork } => {
                if entries.is_empty() {
                    let what = if fork { "fork" } else { "continue" };
                    self.cells
                        .push(Cell::Info(format!("no recorded session to {what}")));
                } else {
                    self.overlay = Some(Overlay::Sessions {
                        entries,
                        selected: 0,
                        fork,
                    });
                }
                Vec::new()
            }
            Event::Note(text) => {
                self.cells.push(Cell::Info(text));
                Vec::new()
            }
            Event::Problem(text) => {
                self.cells.push(Cell::Error(text));
                Vec::new()
            }
            Event::Opened { status, history } => {
                self.status = status;
                self.cells = history;
                self.live.clear();
                self.usage = TokenUsage::default();
                self.scroll = 0;
                Vec::new()
            }
        }
    }

    /// Whether a turn runs.
    pub(crate) fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// Whether the question shown takes an answer now.
    pub(crate) fn answers_open(&self) -> bool {
        match (self.asked_at, self.now) {
            (Some(asked), Some(now)) => now.duration_since(asked) >= ANSWER_DELAY,
            _ => false,
        }
    }

    /// When the app next needs a redraw without an event: the question's
    /// answers opening, or the quit hint expiring.
    pub(crate) fn next_wake(&self) -> Option<Instant> {
        let answers = self
            .asked_at
            .filter(|_| !self.approvals.is_empty() && !self.answers_open())
            .map(|asked| asked + ANSWER_DELAY);
        let quit = self.quit_armed.map(|armed| armed + QUIT_WINDOW);
        answers.into_iter().chain(quit).min()
    }

    /// Whether a second Ctrl-C would quit now.
    pub(crate) fn quit_hint(&self) -> bool {
        match (self.quit_armed, self.now) {
            (Some(armed), Some(now)) => now.duration_since(armed) < QUIT_WINDOW,
            _ => false,
        }
    }

    fn key(&mut self, key: KeyEvent, now: Instant) -> Vec<Effect> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && key.code == KeyCode::Char('c') {
            return self.ctrl_c(now);
        }
        if !matches!(key.code, KeyCode::Char('c')) {
            self.quit_armed = None;
        }
        if let Some(request) = self.approvals.front() {
            // Only a plain key answers, and only once the question has
            // been on screen for a moment: Ctrl-A or a word typed ahead
            // must not approve anything. Saying no is always open.
            let plain = !key
                .modifiers
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SUPER);
            let decision = match key.code {
                KeyCode::Char('y') if plain && self.answers_open() => ApprovalDecision::Approve,
                KeyCode::Char('a') if plain && self.answers_open() => {
                    ApprovalDecision::ApproveForSession
                }
                KeyCode::Char('n') if plain && self.answers_open() => ApprovalDecision::Deny,
                KeyCode::Esc => ApprovalDecision::Deny,
                _ => return Vec::new(),
            };
            let call_id = request.call_id.clone();
            self.approvals.pop_front();
            self.asked_at = (!self.approvals.is_empty()).then_some(now);
            return vec![Effect::Answer { call_id, decision }];
        }
        if let Some(overlay) = &mut self.overlay {
            match (overlay, key.code) {
                (
                    Overlay::Sessions {
                        entries, selected, ..
                    },
                    KeyCode::Up,
                ) => {
                    *selected = selected.saturating_sub(1);
                    let _ = entries;
                }
                (
                    Overlay::Sessions {
                        entries, selected, ..
                    },
                    KeyCode::Down,
                ) => {
                    *selected = (*selected + 1).min(entries.len().saturating_sub(1));
                }
                (
                    Overlay::Sessions {
                        entries,
                        selected,
                        fork,
                    },
                    KeyCode::Enter,
                ) => {
                    let open = if *fork { Effect::Fork } else { Effect::Resume };
                    let id = entries.get(*selected).map(|entry| entry.id.clone());
                    self.overlay = None;
                    return id.map(open).into_iter().collect();
                }
                (_, KeyCode::Esc | KeyCode::Char('q') | KeyCode::Enter) => self.overlay = None,
                _ => {}
            }
            return Vec::new();
        }
        match key.code {
            KeyCode::Char('d') if ctrl => {
                if self.composer.text.is_empty() && !self.is_running() {
                    self.quit = true;
                    return vec![Effect::Quit];
                }
                self.composer.delete();
            }
            KeyCode::Esc if self.is_running() && !self.interrupting => {
                self.interrupting = true;
                return vec![Effect::Interrupt];
            }
            KeyCode::Enter
                if key
                    .modifiers
                    .intersects(KeyModifiers::SHIFT | KeyModifiers::ALT) =>
            {
                self.composer.insert("\n");
            }
            KeyCode::Char('j') if ctrl => self.composer.insert("\n"),
            KeyCode::Enter => return self.submit(),
            KeyCode::Backspace => self.composer.backspace(),
            KeyCode::Delete => self.composer.delete(),
            KeyCode::Left => self.composer.left(),
            KeyCode::Right => self.composer.right(),
            KeyCode::Home => self.composer.home(),
            KeyCode::End => self.composer.end(),
            KeyCode::Char('a') if ctrl => self.composer.home(),
            KeyCode::Char('e') if ctrl => self.composer.end(),
            KeyCode::Char('u') if ctrl => {
                self.composer.take();
            }
            KeyCode::Char('w') if ctrl => self.composer.delete_word(),
            KeyCode::PageUp => self.scroll = self.scroll.saturating_add(10),
            KeyCode::PageDown => self.scroll = self.scroll.saturating_sub(10),
            KeyCode::Tab => {
                // Completes a slash command when one matches.
                if let Some((name, _)) = self.completions().first()
                    && self.completions().len() == 1
                {
                    self.composer.text = format!("{name} ");
                    self.composer.cursor = self.composer.text.len();
                }
            }
            KeyCode::Char(c) if !ctrl => {
                let mut buf = [0; 4];
                self.composer.insert(c.encode_utf8(&mut buf));
            }
            _ => {}
        }
        Vec::new()
    }

    /// Ctrl-C: interrupts a turn, else clears the composer, else (twice
    /// within [`QUIT_WINDOW`]) quits.
    fn ctrl_c(&mut self, now: Instant) -> Vec<Effect> {
        if let Some(request) = self.approvals.pop_front() {
            self.asked_at = (!self.approvals.is_empty()).then_some(now);
            return vec![Effect::Answer {
                call_id: request.call_id,
                decision: ApprovalDecision::Deny,
            }];
        }
        if self.overlay.take().is_some() {
            return Vec::new();
        }
        if self.is_running() {
            if !self.interrupting {
                self.interrupting = true;
                return vec![Effect::Interrupt];
            }
            return Vec::new();
        }
        if !self.composer.text.is_empty() {
            self.composer.take();
            return Vec::new();
        }
        if self.quit_hint() {
            self.quit = true;
            return vec![Effect::Quit];
        }
        self.quit_armed = Some(now);
        Vec::new()
    }

    /// The slash commands the composer's text could become.
    pub(crate) fn completions(&self) -> Vec<(&'static str, &'static str)> {
        let text = &self.composer.text;
        if !text.starts_with('/') || text.contains(char::is_whitespace) {
            return Vec::new();
        }
        COMMANDS
            .iter()
            .filter(|(name, _)| name.starts_with(text.as_str()))
            .copied()
            .collect()
    }

    fn submit(&mut self) -> Vec<Effect> {
        if self.composer.text.trim().is_empty() {
            return Vec::new();
        }
        if self.composer.text.starts_with('/') {
            let text = self.composer.take();
            return self.command(text.trim());
        }
        let text = self.composer.take();
        self.scroll = 0;
        if self.is_running() {
            self.cells
                .push(Cell::Info(format!("queued: {}", first_line(&text))));
            self.queued.push_back(text);
            return Vec::new();
        }
        self.start(text)
    }

    fn start(&mut self, text: String) -> Vec<Effect> {
        self.cells.push(Cell::User(text.clone()));
        self.running = self.now;
        self.interrupting = false;
        vec![Effect::Submit(text)]
    }

    fn command(&mut self, line: &str) -> Vec<Effect> {
        let (name, arg) = match line.split_once(char::is_whitespace) {
            Some((name, arg)) => (name, arg.trim()),
            None => (line, ""),
        };
        let busy = |app: &mut App, name: &str| {
            app.cells.push(Cell::Info(format!(
                "{name} is not available while a turn runs (Esc interrupts it)"
            )));
            Vec::new()
        };
        match name {
            "/mcp" => {
                self.overlay = Some(Overlay::Servers);
                vec![Effect::RefreshServers]
            }
            "/status" => {
                self.overlay = Some(Overlay::Status);
                Vec::new()
            }
            "/quit" | "/exit" => {
                self.quit = true;
                vec![Effect::Quit]
            }
            "/diff" => vec![Effect::Diff],
            "/new" | "/resume" | "/model" | "/approvals" if self.is_running() => busy(self, name),
            "/new" => vec![Effect::New],
            "/resume" => vec![Effect::ListSessions],
            "/model" if arg.is_empty() => {
                self.cells.push(Cell::Info(format!(
                    "model: {} (provider {}); /model NAME uses another from the next turn",
                    self.status.model, self.status.provider
                )));
                Vec::new()
            }
            "/model" => vec![Effect::SetModel(arg.to_owned())],
            "/approvals" => match arg.parse::<ApprovalPolicy>() {
                Ok(policy) => vec![Effect::SetApproval(policy)],
                Err(_) => {
                    self.cells.push(Cell::Info(format!(
                        "approval policy: {}; /approvals untrusted|on-failure|on-request|never \
                         changes it",
                        self.status.approval
                    )));
                    Vec::new()
                }
            },
            _ => {
                let known: Vec<&str> = COMMANDS.iter().map(|(name, _)| *name).collect();
                self.cells.push(Cell::Info(format!(
                    "unknown command {name}; the commands are {}",
                    known.join(" ")
                )));
                Vec::new()
            }
        }
    }

    fn turn_event(&mut self, event: TurnEvent) {
        match event {
            TurnEvent::TurnStarted => {}
            TurnEvent::TextDelta { text } => self.live.push_str(&text),
            TurnEvent::ItemStarted(item) => {
                if let Some(cell) = Cell::from_item(&item) {
                    self.cells.push(cell);
                }
            }
            TurnEvent::ItemCompleted(item) => {
                let Some(cell) = Cell::from_item(&item) else {
                    return;
                };
                if matches!(cell, Cell::Agent(_)) {
                    self.live.clear();
                }
                let existing = cell
                    .id()
                    .and_then(|id| self.cells.iter().rposition(|known| known.id() == Some(id)));
                match existing {
                    Some(at) => self.cells[at] = cell,
                    None => self.cells.push(cell),
                }
            }
            TurnEvent::Error { message } => {
                // A retry streams the answer again from its start.
                self.live.clear();
                self.cells.push(Cell::Warning(message));
            }
            TurnEvent::TurnCompleted { usage } => self.usage += usage,
            TurnEvent::TurnFailed { message } => self.cells.push(Cell::Error(message)),
        }
    }

    fn turn_done(&mut self, outcome: TurnOutcome) -> Vec<Effect> {
        self.running = None;
        self.interrupting = false;
        // Requests of the ended turn can no longer be answered.
        self.approvals.clear();
        self.asked_at = None;
        if let TurnOutcome::Failed { message } = &outcome {
            // Shown once: a `TurnFailed` event may have said it already.
            let shown = matches!(self.cells.last(), Some(Cell::Error(text)) if text == message);
            if !shown {
                self.cells.push(Cell::Error(message.clone()));
            }
        }
        if outcome == TurnOutcome::Interrupted {
            if !self.live.is_empty() {
                self.cells.push(Cell::Agent(std::mem::take(&mut self.live)));
            }
            self.cells.push(Cell::Error(
                "Interrupted: the turn was stopped, and every command it started.".to_owned(),
            ));
        }
        self.live.clear();
        match self.queued.pop_front() {
            Some(next) => self.start(next),
            None => Vec::new(),
        }
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use codex_actors::turn::{ApprovalReason, ApprovalSubject, ItemDetails, ThreadItem};

    fn key(code: KeyCode) -> Event {
        Event::Key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    fn ctrl(c: char) -> Event {
        Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
    }

    fn typed(app: &mut App, text: &str, now: Instant) {
        for c in text.chars() {
            app.update(key(KeyCode::Char(c)), now);
        }
    }

    fn app() -> App {
        App::new(Status::default(), Vec::new())
    }

    #[test]
    fn enter_sends_and_shift_enter_or_ctrl_j_insert_a_newline() {
        let now = Instant::now();
        let mut app = app();
        typed(&mut app, "one", now);
        app.update(
            Event::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::SHIFT)),
            now,
        );
        typed(&mut app, "two", now);
        app.update(ctrl('j'), now);
        typed(&mut app, "three", now);
        assert_eq!(app.composer.text, "one\ntwo\nthree");
        let effects = app.update(key(KeyCode::Enter), now);
        assert_eq!(effects, vec![Effect::Submit("one\ntwo\nthree".to_owned())]);
        assert!(app.is_running() && app.composer.text.is_empty());
        assert_eq!(app.cells, vec![Cell::User("one\ntwo\nthree".to_owned())]);
    }

    #[test]
    fn esc_interrupts_a_running_turn_once() {
        let now = Instant::now();
        let mut app = app();
        typed(&mut app, "go", now);
        app.update(key(KeyCode::Enter), now);
        app.update(
            Event::Turn(TurnEvent::TextDelta {
                text: "partial".to_owned(),
            }),
            now,
        );
        assert_eq!(app.update(key(KeyCode::Esc), now), vec![Effect::Interrupt]);
        assert_eq!(app.update(key(KeyCode::Esc), now), vec![]);
        app.update(Event::TurnDone(TurnOutcome::Interrupted), now);
        assert!(!app.is_running());
        assert_eq!(app.cells[1], Cell::Agent("partial".to_owned()));
        assert!(matches!(app.cells[2], Cell::Error(_)));
    }

    #[test]
    fn ctrl_c_twice_quits_only_on_an_empty_idle_composer_within_the_window() {
        let start = Instant::now();
        let mut app = app();
        typed(&mut app, "draft", start);
        assert_eq!(app.update(ctrl('c'), start), vec![]);
        assert!(app.composer.text.is_empty(), "the first Ctrl-C clears");
        assert_eq!(app.update(ctrl('c'), start), vec![]);
        // Too late: arms again instead of quitting.
        let late = start + QUIT_WINDOW + Duration::from_millis(1);
        assert_eq!(app.update(ctrl('c'), late), vec![]);
        assert!(app.quit_hint());
        // A tick after the window disarms it (and nothing wakes for it).
        app.update(Event::Tick, late + QUIT_WINDOW);
        assert_eq!((app.quit_armed, app.next_wake()), (None, None));
        assert_eq!(app.update(ctrl('c'), late), vec![]);
        let soon = late + Duration::from_millis(300);
        assert_eq!(app.update(ctrl('c'), soon), vec![Effect::Quit]);
        assert!(app.quit);
    }

    /// The picker continues the session picked, or, opened by `codex
    /// fork`, forks it; Esc picks nothing.
    #[test]
    fn the_picker_resumes_or_forks_the_session_picked() {
        let now = Instant::now();
        let entries = vec![
            SessionEntry {
                id: "newest".to_owned(),
                when: String::new(),
                preview: String::new(),
                cwd: None,
                path: PathBuf::new(),
            },
            SessionEntry {
                id: "older".to_owned(),
                when: String::new(),
                preview: String::new(),
                cwd: None,
                path: PathBuf::new(),
            },
        ];
        for (fork, expected) in [
            (false, Effect::Resume("older".to_owned())),
            (true, Effect::Fork("older".to_owned())),
        ] {
            let mut app = app();
            let entries = entries.clone();
            app.update(Event::Sessions { entries, fork }, now);
            app.update(key(KeyCode::Down), now);
            assert_eq!(app.update(key(KeyCode::Enter), now), vec![expected]);
            assert!(app.overlay.is_none());
        }
        let mut app = app();
        let entries = entries.clone();
        app.update(
            Event::Sessions {
                entries,
                fork: true,
            },
            now,
        );
        assert_eq!(app.update(key(KeyCode::Esc), now), vec![]);
        assert!(app.overlay.is_none());
        app.update(
            Event::Sessions {
                entries: Vec::new(),
                fork: true,
            },
            now,
        );
        assert!(
            app.cells
                .contains(&Cell::Info("no recorded session to fork".to_owned()))
        );
    }

    #[test]
    fn ctrl_d_quits_on_an_empty_composer() {
        let now = Instant::now();
        let mut app = app();
        typed(&mut app, "x", now);
        assert_eq!(app.update(ctrl('d'), now), vec![]);
        app.update(key(KeyCode::Backspace), now);
        assert_eq!(app.update(ctrl('d'), now), vec![Effect::Quit]);
    }

    #[test]
    fn approvals_are_answered_in_order_and_esc_denies() {
        let now = Instant::now();
        let mut app = app();
        let request = |id: &str| ApprovalRequest {
            call_id: id.to_owned(),
            subject: ApprovalSubject::Command {
                command: "rm -rf build".to_owned(),
                cwd: "/w".into(),
            },
            reason: ApprovalReason::Untrusted,
        };
        app.update(Event::Ask(request("c1")), now);
        app.update(Event::Ask(request("c2")), now);
        app.update(Event::Ask(request("c3")), now);
        // Typed ahead: neither a plain key nor Ctrl-A answers yet.
        assert_eq!(app.update(key(KeyCode::Char('y')), now), vec![]);
        let later = now + ANSWER_DELAY;
        assert_eq!(app.update(ctrl('a'), later), vec![]);
        assert_eq!(app.update(key(KeyCode::Char('x')), later), vec![]);
        let now = later;
        let answer = |call_id: &str, decision| Effect::Answer {
            call_id: call_id.to_owned(),
            decision,
        };
        assert_eq!(
            app.update(key(KeyCode::Char('y')), now),
            vec![answer("c1", ApprovalDecision::Approve)]
        );
        // The next question waits its moment too.
        assert_eq!(app.update(key(KeyCode::Char('a')), now), vec![]);
        let now = now + ANSWER_DELAY;
        assert_eq!(
            app.update(key(KeyCode::Char('a')), now),
            vec![answer("c2", ApprovalDecision::ApproveForSession)]
        );
        assert_eq!(
            app.update(key(KeyCode::Esc), now),
            vec![answer("c3", ApprovalDecision::Deny)]
        );
        assert!(app.approvals.is_empty());
    }

    #[test]
    fn a_completed_call_replaces_its_running_cell() {
        let now = Instant::now();
        let mut app = app();
        let item = |status, exit_code| ThreadItem {
            id: "item_0".to_owned(),
            details: ItemDetails::CommandExecution {
                command: "/bin/bash -lc 'ls'".to_owned(),
                cwd: "/w".into(),
                aggregated_output: String::new(),
                exit_code,
                duration: None,
                status,
            },
        };
        app.update(
            Event::Turn(TurnEvent::ItemStarted(item(
                codex_actors::turn::ItemStatus::InProgress,
                None,
            ))),
            now,
        );
        app.update(
            Event::Turn(TurnEvent::ItemCompleted(item(
                codex_actors::turn::ItemStatus::Completed,
                Some(0),
            ))),
            now,
        );
        assert_eq!(app.cells.len(), 1);
        assert!(matches!(
            &app.cells[0],
            Cell::Command { command, status: codex_actors::turn::ItemStatus::Completed, .. }
                if command == "ls"
        ));
    }

    #[test]
    fn commands_that_change_the_session_wait_for_the_turn() {
        let now = Instant::now();
        let mut app = app();
        typed(&mut app, "go", now);
        app.update(key(KeyCode::Enter), now);
        typed(&mut app, "/new", now);
        assert_eq!(app.update(key(KeyCode::Enter), now), vec![]);
        assert!(matches!(app.cells.last(), Some(Cell::Info(text)) if text.contains("/new")));
        typed(&mut app, "next", now);
        assert_eq!(app.update(key(KeyCode::Enter), now), vec![]);
        assert_eq!(
            app.update(
                Event::TurnDone(TurnOutcome::Completed {
                    last_message: None,
                    usage: TokenUsage::default()
                }),
                now
            ),
            vec![Effect::Submit("next".to_owned())]
        );
    }

    #[test]
    fn slash_commands() {
        let now = Instant::now();
        let mut app = app();
        typed(&mut app, "/mc", now);
        assert_eq!(app.completions().len(), 1);
        app.update(key(KeyCode::Tab), now);
        assert_eq!(app.composer.text, "/mcp ");
        assert_eq!(
            app.update(key(KeyCode::Enter), now),
            vec![Effect::RefreshServers]
        );
        assert_eq!(app.overlay, Some(Overlay::Servers));
        app.update(key(KeyCode::Esc), now);
        assert_eq!(app.overlay, None);
        typed(&mut app, "/approvals never", now);
        assert_eq!(
            app.update(key(KeyCode::Enter), now),
            vec![Effect::SetApproval(ApprovalPolicy::Never)]
        );
        typed(&mut app, "/bogus", now);
        app.update(key(KeyCode::Enter), now);
        assert!(matches!(app.cells.last(), Some(Cell::Info(text)) if text.contains("unknown")));
    }
}
