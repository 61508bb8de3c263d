//! The shell grammar: a hand-written lexer and recursive-descent parser
//! over the POSIX sh / bash subset, feeding every simple command it reads
//! to its parent module, which unwraps and records it.

use super::*;

/// Parses `text` as a complete script at substitution depth `depth`, adding its commands.
pub(super) fn parse_into(ctx: &mut Ctx, text: &str, depth: usize) -> Res<()> {
    if depth > MAX_DEPTH {
        return Err(UnparsedReason::TooDeep);
    }
    let mut parser = Parser::new(text, ctx, depth);
    parser.parse_list(&[Stop::Eof])?;
    parser.check_no_pending()
}

/// A token of the shell grammar.
#[derive(Debug)]
enum Tok {
    Word(WordTok),
    Newline,
    Semi,
    Amp,
    AndIf,
    OrIf,
    Pipe,
    PipeAmp,
    /// `;;`, `;&` or `;;&`.
    CaseEnd,
    LParen,
    RParen,
    /// `((` where a command starts: an arithmetic command.
    DLParen,
    /// A redirection operator other than a here-document or here-string; a word follows.
    Redirect {
        /// Whether it redirects input (`<`, `<&`, `<>`).
        input: bool,
    },
    /// `<<<`; a word follows.
    HereString,
    /// `<<` or `<<-`; a delimiter follows.
    HereDoc {
        strip_tabs: bool,
    },
    Eof,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Word(word) => word.raw.clone(),
            Tok::Newline => "newline".to_string(),
            Tok::Semi => ";".to_string(),
            Tok::Amp => "&".to_string(),
            Tok::AndIf => "&&".to_string(),
            Tok::OrIf => "||".to_string(),
            Tok::Pipe => "|".to_string(),
            Tok::PipeAmp => "|&".to_string(),
            Tok::CaseEnd => ";;".to_string(),
            Tok::LParen => "(".to_string(),
            Tok::RParen => ")".to_string(),
            Tok::DLParen => "((".to_string(),
            Tok::Redirect { .. } => "redirection".to_string(),
            Tok::HereString => "<<<".to_string(),
            Tok::HereDoc { .. } => "<<".to_string(),
            Tok::Eof => "end of script".to_string(),
        }
    }

    fn unexpected(&self) -> UnparsedReason {
        match self {
            Tok::Eof => UnparsedReason::UnexpectedEnd,
            other => UnparsedReason::UnexpectedToken {
                token: other.describe(),
            },
        }
    }
}

/// A lexed word.
#[derive(Debug)]
struct WordTok {
    word: Word,
    /// The value when the word has no quoting, escape, expansion or glob at all (needed to
    /// recognise reserved words).
    plain: Option<String>,
    /// The word as written.
    raw: String,
}

impl WordTok {
    fn keyword(&self) -> Option<&'static str> {
        let plain = self.plain.as_deref()?;
        RESERVED.iter().copied().find(|reserved| *reserved == plain)
    }
}

/// What ends a list of commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Eof,
    RParen,
    CaseEnd,
    Keyword(&'static str),
}

/// What a command starts with, enough to choose how to parse it.
#[derive(Clone, Copy)]
enum Head {
    Paren,
    DoubleParen,
    Word(Option<&'static str>),
    Other,
}

struct Heredoc {
    id: usize,
    delimiter: String,
    strip_tabs: bool,
    quoted: bool,
}

/// A word being lexed.
#[derive(Default)]
struct WordBuf {
    value: String,
    /// Any quoting, escape, expansion or glob.
    special: bool,
    dynamic: bool,
    fields: bool,
    bracket_open: bool,
    brace_open: usize,
    brace_separator: bool,
}

impl WordBuf {
    /// Records an expansion; `multi` for `$@`-like ones that give several words even quoted.
    fn expansion(&mut self, in_quotes: bool, multi: bool) {
        self.special = true;
        if !in_quotes || multi {
            self.fields = true;
        } else {
            self.dynamic = true;
        }
    }
}

struct Parser<'c> {
    src: Vec<char>,
    pos: usize,
    depth: usize,
    ahead: Option<Tok>,
    pending: Vec<Heredoc>,
    ctx: &'c mut Ctx,
}

impl<'c> Parser<'c> {
    fn new(text: &str, ctx: &'c mut Ctx, depth: usize) -> Self {
        Parser {
            src: text.chars().collect(),
            pos: 0,
            depth,
            ahead: None,
            pending: Vec::new(),
            ctx,
        }
    }

    // ----- grammar -----

    fn enter(&mut self) -> Res<()> {
        if self.ctx.nesting >= MAX_NESTING {
            return Err(UnparsedReason::TooDeep);
        }
        self.ctx.nesting += 1;
        Ok(())
    }

    fn leave(&mut self) {
        self.ctx.nesting = self.ctx.nesting.saturating_sub(1);
    }

    fn peek(&mut self) -> Res<&Tok> {
        if self.ahead.is_none() {
            let token = self.lex()?;
            self.ahead = Some(token);
        }
        self.ahead.as_ref().ok_or(UnparsedReason::UnexpectedEnd)
    }

    fn next(&mut self) -> Res<Tok> {
        match self.ahead.take() {
            Some(token) => Ok(token),
            None => self.lex(),
        }
    }

    fn head(&mut self) -> Res<Head> {
        Ok(match self.peek()? {
            Tok::LParen => Head::Paren,
            Tok::DLParen => Head::DoubleParen,
            Tok::Word(word) => Head::Word(word.keyword()),
            _ => Head::Other,
        })
    }

    fn peek_keyword(&mut self) -> Res<Option<&'static str>> {
        Ok(match self.head()? {
            Head::Word(keyword) => keyword,
            _ => None,
        })
    }

    fn unexpected(&mut self) -> UnparsedReason {
        match self.peek() {
            Ok(token) => token.unexpected(),
            Err(reason) => reason,
        }
    }

    fn expect_keyword(&mut self, keyword: &str) -> Res<()> {
        if self.peek_keyword()? == Some(keyword) {
            self.next()?;
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn expect_word(&mut self) -> Res<()> {
        match self.next()? {
            Tok::Word(_) => Ok(()),
            other => Err(other.unexpected()),
        }
    }

    fn skip_newlines(&mut self) -> Res<()> {
        while matches!(self.peek()?, Tok::Newline) {
            self.next()?;
        }
        Ok(())
    }

    fn at_stop(&mut self, stops: &[Stop]) -> Res<Option<Stop>> {
        let stop = match self.peek()? {
            Tok::Eof => Some(Stop::Eof),
            Tok::RParen => Some(Stop::RParen),
            Tok::CaseEnd => Some(Stop::CaseEnd),
            Tok::Word(word) => word.keyword().map(Stop::Keyword),
            _ => None,
        };
        Ok(stop.filter(|stop| stops.contains(stop)))
    }

    fn starts_compound(&mut self) -> Res<bool> {
        Ok(match self.head()? {
            Head::Paren | Head::DoubleParen => true,
            Head::Word(keyword) => matches!(
                keyword,
                Some(
                    "{" | "if" | "while" | "until" | "for" | "select" | "case" | "[[" | "function"
                )
            ),
            Head::Other => false,
        })
    }

    /// Parses commands until one of `stops`, which is consumed and returned.
    fn parse_list(&mut self, stops: &[Stop]) -> Res<Stop> {
        self.enter()?;
        let result = self.list_body(stops);
        self.leave();
        result
    }

    fn list_body(&mut self, stops: &[Stop]) -> Res<Stop> {
        loop {
            self.skip_newlines()?;
            if let Some(stop) = self.at_stop(stops)? {
                self.next()?;
                return Ok(stop);
            }
            self.parse_and_or()?;
            if matches!(self.peek()?, Tok::Semi | Tok::Amp | Tok::Newline) {
                self.next()?;
            } else if let Some(stop) = self.at_stop(stops)? {
                self.next()?;
                return Ok(stop);
            } else {
                return Err(self.unexpected());
            }
        }
    }

    fn parse_and_or(&mut self) -> Res<()> {
        self.parse_pipeline()?;
        while matches!(self.peek()?, Tok::AndIf | Tok::OrIf) {
            self.next()?;
            self.skip_newlines()?;
            self.parse_pipeline()?;
        }
        Ok(())
    }

    fn parse_pipeline(&mut self) -> Res<()> {
        self.parse_element()?;
        while matches!(self.peek()?, Tok::Pipe | Tok::PipeAmp) {
            self.next()?;
            self.skip_newlines()?;
            self.parse_element()?;
        }
        Ok(())
    }

    /// One command of a pipeline, with its `!`, `time` or `coproc` prefixes.
    fn parse_element(&mut self) -> Res<()> {
        loop {
            match self.peek_keyword()? {
                Some("!" | "coproc") => {
                    self.next()?;
                }
                Some("time") => {
                    let Tok::Word(time) = self.next()? else {
                        return Err(UnparsedReason::UnexpectedEnd);
                    };
                    if self.starts_compound()? || self.peek_keyword()? == Some("!") {
                        continue;
                    }
                    // `time cmd`: a wrapper command like any other.
                    return self.parse_simple(Some(time));
                }
                _ => return self.parse_command(),
            }
        }
    }

    fn parse_command(&mut self) -> Res<()> {
        self.enter()?;
        let result = self.command_body();
        self.leave();
        result
    }

    fn command_body(&mut self) -> Res<()> {
        match self.head()? {
            Head::Paren => {
                self.next()?;
                self.parse_list(&[Stop::RParen])?;
            }
            Head::DoubleParen => {
                self.next()?;
                self.arithmetic_command()?;
            }
            Head::Word(Some("{")) => {
                self.next()?;
                self.parse_list(&[Stop::Keyword("}")])?;
            }
            Head::Word(Some("if")) => self.parse_if()?,
            Head::Word(Some("while" | "until")) => {
                self.next()?;
                self.parse_list(&[Stop::Keyword("do")])?;
                self.parse_list(&[Stop::Keyword("done")])?;
            }
            Head::Word(Some("for" | "select")) => self.parse_for()?,
            Head::Word(Some("case")) => self.parse_case()?,
            Head::Word(Some("[[")) => self.parse_conditional()?,
            Head::Word(Some("function")) => self.parse_function()?,
            Head::Word(Some("then" | "elif" | "else" | "fi" | "do" | "done" | "esac" | "}")) => {
                return Err(self.unexpected());
            }
            Head::Word(_) | Head::Other => return self.parse_simple(None),
        }
        self.parse_redirects()
    }

    fn parse_if(&mut self) -> Res<()> {
        self.next()?;
        self.parse_list(&[Stop::Keyword("then")])?;
        loop {
            let stops = [
                Stop::Keyword("elif"),
                Stop::Keyword("else"),
                Stop::Keyword("fi"),
            ];
            match self.parse_list(&stops)? {
                Stop::Keyword("elif") => {
                    self.parse_list(&[Stop::Keyword("then")])?;
                }
                Stop::Keyword("else") => {
                    self.parse_list(&[Stop::Keyword("fi")])?;
                    return Ok(());
                }
                _ => return Ok(()),
            }
        }
    }

    fn parse_for(&mut self) -> Res<()> {
        self.next()?;
        if matches!(self.peek()?, Tok::DLParen) {
            self.next()?;
            if !self.scan_arithmetic()? {
                return Err(UnparsedReason::UnexpectedToken {
                    token: ")".to_string(),
                });
            }
        } else {
            self.expect_word()?;
        }
        self.skip_newlines()?;
        if matches!(self.peek()?, Tok::Semi) {
            self.next()?;
        } else if self.peek_keyword()? == Some("in") {
            self.next()?;
            loop {
                match self.next()? {
                    Tok::Word(_) => {}
                    Tok::Semi | Tok::Newline => break,
                    other => return Err(other.unexpected()),
                }
            }
        }
        self.skip_newlines()?;
        self.expect_keyword("do")?;
        self.parse_list(&[Stop::Keyword("done")])?;
        Ok(())
    }

    fn parse_case(&mut self) -> Res<()> {
        self.next()?;
        self.expect_word()?;
        self.skip_newlines()?;
        self.expect_keyword("in")?;
        loop {
            self.skip_newlines()?;
            if self.peek_keyword()? == Some("esac") {
                self.next()?;
                return Ok(());
            }
            if matches!(self.peek()?, Tok::LParen) {
                self.next()?;
            }
            loop {
                self.expect_word()?;
                match self.next()? {
                    Tok::Pipe => {}
                    Tok::RParen => break,
                    other => return Err(other.unexpected()),
                }
            }
            let stop = self.parse_list(&[Stop::CaseEnd, Stop::Keyword("esac")])?;
            if stop == Stop::Keyword("esac") {
                return Ok(());
            }
        }
    }

    /// `[[ ... ]]`: only the substitutions in its words run commands, and lexing the words
    /// already records those.
    fn parse_conditional(&mut self) -> Res<()> {
        self.next()?;
        loop {
            match self.next()? {
                Tok::Word(word) if word.keyword() == Some("]]") => return Ok(()),
                Tok::Eof => return Err(UnparsedReason::UnexpectedEnd),
                token @ Tok::HereDoc { .. } => return Err(token.unexpected()),
                _ => {}
            }
        }
    }

    fn parse_function(&mut self) -> Res<()> {
        self.next()?;
        self.expect_word()?;
        if matches!(self.peek()?, Tok::LParen) {
            self.next()?;
            match self.next()? {
                Tok::RParen => {}
                other => return Err(other.unexpected()),
            }
        }
        self.function_body()
    }

    fn function_body(&mut self) -> Res<()> {
        self.skip_newlines()?;
        if !self.starts_compound()? {
            return Err(self.unexpected());
        }
        self.parse_command()
    }

    fn arithmetic_command(&mut self) -> Res<()> {
        let after = self.pos;
        if self.scan_arithmetic()? {
            return Ok(());
        }
        // Not arithmetic after all: `((cmd) )` is a subshell in a subshell.
        self.pos = after.saturating_sub(1);
        self.parse_list(&[Stop::RParen])?;
        Ok(())
    }

    fn parse_simple(&mut self, first: Option<WordTok>) -> Res<()> {
        let mut argv: Vec<Word> = Vec::new();
        let mut anything = false;
        let mut stdin = Stdin::Inherited;
        if let Some(word) = first {
            argv.push(word.word);
            anything = true;
        }
        loop {
            match self.peek()? {
                Tok::Word(_) => {
                    let Tok::Word(word) = self.next()? else {
                        break;
                    };
                    anything = true;
                    if argv.is_empty() && is_assignment(&word.raw) {
                        continue;
                    }
                    if argv.is_empty()
                        && word.plain.is_some()
                        && matches!(self.peek()?, Tok::LParen)
                    {
                        // `name() body`: a function definition; its body is parsed as commands.
                        self.next()?;
                        match self.next()? {
                            Tok::RParen => {}
                            other => return Err(other.unexpected()),
                        }
                        return self.function_body();
                    }
                    argv.push(word.word);
                }
                Tok::Redirect { .. } | Tok::HereString | Tok::HereDoc { .. } => {
                    anything = true;
                    if let Some(input) = self.parse_redirect()? {
                        stdin = input;
                    }
                }
                _ => break,
            }
        }
        if !anything {
            return Err(self.unexpected());
        }
        if argv.is_empty() {
            return Ok(());
        }
        expand(self.ctx, argv, self.depth, &stdin)
    }

    fn parse_redirects(&mut self) -> Res<()> {
        while matches!(
            self.peek()?,
            Tok::Redirect { .. } | Tok::HereString | Tok::HereDoc { .. }
        ) {
            self.parse_redirect()?;
        }
        Ok(())
    }

    /// Parses one redirection; tells the new standard input when it redirects input.
    fn parse_redirect(&mut self) -> Res<Option<Stdin>> {
        match self.next()? {
            Tok::HereDoc { strip_tabs } => {
                let id = self.read_heredoc_delimiter(strip_tabs)?;
                Ok(Some(Stdin::Heredoc(id)))
            }
            Tok::HereString => match self.next()? {
                Tok::Word(word) => Ok(Some(Stdin::Text(word.word))),
                other => Err(other.unexpected()),
            },
            Tok::Redirect { input } => {
                self.expect_word()?;
                Ok(input.then_some(Stdin::Inherited))
            }
            other => Err(other.unexpected()),
        }
    }

    fn check_no_pending(&self) -> Res<()> {
        match self.pending.first() {
            Some(heredoc) => Err(UnparsedReason::UnterminatedHeredoc {
                delimiter: heredoc.delimiter.clone(),
            }),
            None => Ok(()),
        }
    }

    // ----- lexer -----

    fn ch(&self) -> Option<char> {
        self.src.get(self.pos).copied()
    }

    fn ch_at(&self, offset: usize) -> Option<char> {
        self.src.get(self.pos + offset).copied()
    }

    fn text(&self, start: usize, end: usize) -> String {
        self.src
            .get(start..end)
            .map(|chars| chars.iter().collect())
            .unwrap_or_default()
    }

    fn lex(&mut self) -> Res<Tok> {
        loop {
            match self.ch() {
                Some(' ' | '\t') => self.pos += 1,
                Some('\\') if self.ch_at(1) == Some('\n') => self.pos += 2,
                Some('#') => {
                    while self.ch().is_some_and(|c| c != '\n') {
                        self.pos += 1;
                    }
                }
                _ => break,
            }
        }
        let Some(c) = self.ch() else {
            return Ok(Tok::Eof);
        };
        let next = self.ch_at(1);
        let (token, len) = match c {
            '\n' => {
                self.pos += 1;
                self.read_heredocs()?;
                return Ok(Tok::Newline);
            }
            ';' => match (next, self.ch_at(2)) {
                (Some(';'), Some('&')) => (Tok::CaseEnd, 3),
                (Some(';' | '&'), _) => (Tok::CaseEnd, 2),
                _ => (Tok::Semi, 1),
            },
            '&' => match (next, self.ch_at(2)) {
                (Some('&'), _) => (Tok::AndIf, 2),
                (Some('>'), Some('>')) => (Tok::Redirect { input: false }, 3),
                (Some('>'), _) => (Tok::Redirect { input: false }, 2),
                _ => (Tok::Amp, 1),
            },
            '|' => match next {
                Some('|') => (Tok::OrIf, 2),
                Some('&') => (Tok::PipeAmp, 2),
                _ => (Tok::Pipe, 1),
            },
            '(' if next == Some('(') => (Tok::DLParen, 2),
            '(' => (Tok::LParen, 1),
            ')' => (Tok::RParen, 1),
            '<' | '>' => return self.lex_redirect(),
            '0'..='9' => {
                let mut end = self.pos;
                while self.src.get(end).is_some_and(char::is_ascii_digit) {
                    end += 1;
                }
                if matches!(self.src.get(end), Some('<' | '>')) {
                    self.pos = end;
                    return self.lex_redirect();
                }
                return self.lex_word().map(Tok::Word);
            }
            '{' => {
                // `{fd}>file`: a file descriptor held in a variable.
                let mut end = self.pos + 1;
                while self
                    .src
                    .get(end)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_')
                {
                    end += 1;
                }
                if end > self.pos + 1
                    && self.src.get(end) == Some(&'}')
                    && matches!(self.src.get(end + 1), Some('<' | '>'))
                {
                    self.pos = end + 1;
                    return self.lex_redirect();
                }
                return self.lex_word().map(Tok::Word);
            }
            _ => return self.lex_word().map(Tok::Word),
        };
        self.pos += len;
        Ok(token)
    }

    fn lex_redirect(&mut self) -> Res<Tok> {
        let (token, len) = match (self.ch(), self.ch_at(1), self.ch_at(2)) {
            (Some('<' | '>'), Some('('), _) => return self.lex_process_substitution(),
            (Some('<'), Some('<'), Some('<')) => (Tok::HereString, 3),
            (Some('<'), Some('<'), Some('-')) => (Tok::HereDoc { strip_tabs: true }, 3),
            (Some('<'), Some('<'), _) => (Tok::HereDoc { strip_tabs: false }, 2),
            (Some('<'), Some('&' | '>'), _) => (Tok::Redirect { input: true }, 2),
            (Some('>'), Some('>' | '&' | '|'), _) => (Tok::Redirect { input: false }, 2),
            (Some('<'), _, _) => (Tok::Redirect { input: true }, 1),
            _ => (Tok::Redirect { input: false }, 1),
        };
        self.pos += len;
        Ok(token)
    }

    fn lex_process_substitution(&mut self) -> Res<Tok> {
        let start = self.pos;
        self.pos += 2;
        self.parse_in_place()?;
        let raw = self.text(start, self.pos);
        Ok(Tok::Word(WordTok {
            word: Word::Dynamic(raw.clone()),
            plain: None,
            raw,
        }))
    }

    /// Parses the commands of a `$(...)` or `<(...)` whose `(` was just consumed, up to and
    /// including its `)`.
    fn parse_in_place(&mut self) -> Res<()> {
        if self.depth >= MAX_DEPTH {
            return Err(UnparsedReason::TooDeep);
        }
        let outer_pending = std::mem::take(&mut self.pending);
        let outer_ahead = self.ahead.take();
        self.depth += 1;
        let result = self.parse_list(&[Stop::RParen]);
        self.depth -= 1;
        let inner_pending = std::mem::replace(&mut self.pending, outer_pending);
        self.ahead = outer_ahead;
        match result {
            Err(UnparsedReason::UnexpectedEnd) => Err(UnparsedReason::UnterminatedSubstitution),
            Err(reason) => Err(reason),
            Ok(_) => match inner_pending.first() {
                Some(heredoc) => Err(UnparsedReason::UnterminatedHeredoc {
                    delimiter: heredoc.delimiter.clone(),
                }),
                None => Ok(()),
            },
        }
    }

    fn lex_word(&mut self) -> Res<WordTok> {
        let start = self.pos;
        let mut buf = WordBuf::default();
        while let Some(c) = self.ch() {
            match c {
                ' ' | '\t' | '\n' | ';' | '&' | '|' | '<' | '>' | ')' => break,
                '(' => {
                    let so_far = self.text(start, self.pos);
                    if buf.special || !so_far.ends_with('=') || !is_assignment(&so_far) {
                        break;
                    }
                    // `name=(a b c)`: an array assignment.
                    self.lex_array()?;
                    buf.special = true;
                    buf.dynamic = true;
                }
                '\\' => {
                    match self.ch_at(1) {
                        Some('\n') => {}
                        Some(escaped) => {
                            buf.value.push(escaped);
                            buf.special = true;
                        }
                        None => buf.value.push('\\'),
                    }
                    self.pos = (self.pos + 2).min(self.src.len());
                }
                '\'' => {
                    self.pos += 1;
                    buf.special = true;
                    loop {
                        match self.ch() {
                            None => return Err(UnparsedReason::UnterminatedSingleQuote),
                            Some('\'') => break,
                            Some(quoted) => buf.value.push(quoted),
                        }
                        self.pos += 1;
                    }
                    self.pos += 1;
                }
                '"' => self.lex_double_quoted(&mut buf)?,
                '$' => self.lex_dollar(&mut buf, false)?,
                '`' => {
                    self.lex_backquoted(false)?;
                    buf.expansion(false, false);
                }
                _ => {
                    match c {
                        '*' | '?' => buf.fields = true,
                        '[' => buf.bracket_open = true,
                        ']' if buf.bracket_open => buf.fields = true,
                        '{' => buf.brace_open += 1,
                        ',' if buf.brace_open > 0 => buf.brace_separator = true,
                        '.' if buf.brace_open > 0 && self.ch_at(1) == Some('.') => {
                            buf.brace_separator = true;
                        }
                        '}' if buf.brace_open > 0 => {
                            buf.brace_open -= 1;
                            if buf.brace_separator {
                                buf.fields = true;
                            }
                        }
                        '~' if self.pos == start => {
                            buf.dynamic = true;
                            buf.special = true;
                        }
                        _ => {}
                    }
                    if buf.fields {
                        buf.special = true;
                    }
                    buf.value.push(c);
                    self.pos += 1;
                }
            }
        }
        let raw = self.text(start, self.pos);
        let word = if buf.fields {
            Word::Fields(raw.clone())
        } else if buf.dynamic {
            Word::Dynamic(raw.clone())
        } else {
            Word::Literal(buf.value.clone())
        };
        Ok(WordTok {
            word,
            plain: (!buf.special).then_some(buf.value),
            raw,
        })
    }

    fn lex_array(&mut self) -> Res<()> {
        self.enter()?;
        self.pos += 1;
        let result = loop {
            match self.lex() {
                Ok(Tok::Word(_) | Tok::Newline) => {}
                Ok(Tok::RParen) => break Ok(()),
                Ok(other) => break Err(other.unexpected()),
                Err(reason) => break Err(reason),
            }
        };
        self.leave();
        result
    }

    fn lex_double_quoted(&mut self, buf: &mut WordBuf) -> Res<()> {
        self.pos += 1;
        buf.special = true;
        loop {
            match self.ch() {
                None => return Err(UnparsedReason::UnterminatedDoubleQuote),
                Some('"') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some('\\') => {
                    match self.ch_at(1) {
                        Some(escaped @ ('$' | '`' | '"' | '\\')) => buf.value.push(escaped),
                        Some('\n') => {}
                        _ => {
                            buf.value.push('\\');
                            self.pos += 1;
                            continue;
                        }
                    }
                    self.pos += 2;
                }
                Some('$') => self.lex_dollar(buf, true)?,
                Some('`') => {
                    self.lex_backquoted(true)?;
                    buf.expansion(true, false);
                }
                Some(c) => {
                    buf.value.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    fn lex_dollar(&mut self, buf: &mut WordBuf, in_quotes: bool) -> Res<()> {
        self.enter()?;
        let result = self.dollar_body(buf, in_quotes);
        self.leave();
        result
    }

    /// At a `$`: an expansion, a quoting form, or a plain `$`.
    fn dollar_body(&mut self, buf: &mut WordBuf, in_quotes: bool) -> Res<()> {
        match self.ch_at(1) {
            Some('(') if self.ch_at(2) == Some('(') => {
                if self.depth >= MAX_DEPTH {
                    return Err(UnparsedReason::TooDeep);
                }
                let start = self.pos;
                self.pos += 3;
                self.depth += 1;
                let arithmetic = self.scan_arithmetic();
                self.depth -= 1;
                if !arithmetic? {
                    // `$((cmd) )`: a command substitution holding a subshell.
                    self.pos = start + 2;
                    self.parse_in_place()?;
                }
                buf.expansion(in_quotes, false);
            }
            Some('(') => {
                self.pos += 2;
                self.parse_in_place()?;
                buf.expansion(in_quotes, false);
            }
            Some('{') => {
                self.pos += 2;
                let multi = self.scan_braced_parameter(in_quotes)?;
                buf.expansion(in_quotes, multi);
            }
            Some('\'') if !in_quotes => {
                self.pos += 2;
                self.lex_ansi_c(buf)?;
            }
            Some('"') if !in_quotes => {
                self.pos += 1;
                self.lex_double_quoted(buf)?;
            }
            Some(c) if c.is_ascii_alphabetic() || c == '_' => {
                self.pos += 1;
                while self
                    .ch()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
                {
                    self.pos += 1;
                }
                buf.expansion(in_quotes, false);
            }
            Some(c) if c.is_ascii_digit() || "#?$!-*".contains(c) => {
                self.pos += 2;
                buf.expansion(in_quotes, false);
            }
            Some('@') => {
                self.pos += 2;
                buf.expansion(in_quotes, true);
            }
            _ => {
                buf.value.push('$');
                self.pos += 1;
            }
        }
        Ok(())
    }

    /// After `${`: skips to the matching `}`; tells whether the expansion may give several
    /// words even when quoted (`${@}`, `${array[@]}`).
    fn scan_braced_parameter(&mut self, in_quotes: bool) -> Res<bool> {
        let mut multi = false;
        let mut scratch = WordBuf::default();
        loop {
            match self.ch() {
                None => return Err(UnparsedReason::UnterminatedSubstitution),
                Some('}') => {
                    self.pos += 1;
                    return Ok(multi);
                }
                Some('\\') => self.pos = (self.pos + 2).min(self.src.len()),
                Some('\'') if !in_quotes => self.skip_single_quoted()?,
                Some('"') => self.lex_double_quoted(&mut scratch)?,
                Some('$') => self.lex_dollar(&mut scratch, true)?,
                Some('`') => self.lex_backquoted(in_quotes)?,
                Some(c) => {
                    multi |= c == '@';
                    self.pos += 1;
                }
            }
        }
    }

    fn skip_single_quoted(&mut self) -> Res<()> {
        self.pos += 1;
        while let Some(c) = self.ch() {
            self.pos += 1;
            if c == '\'' {
                return Ok(());
            }
        }
        Err(UnparsedReason::UnterminatedSingleQuote)
    }

    /// After `((` or `$((`: skips to the matching `))`; `false` when the parentheses show that
    /// this is not arithmetic after all (`((cmd) )`).
    fn scan_arithmetic(&mut self) -> Res<bool> {
        let mut open = 0usize;
        let mut scratch = WordBuf::default();
        loop {
            match self.ch() {
                None => return Err(UnparsedReason::UnterminatedSubstitution),
                Some('(') => {
                    open += 1;
                    self.pos += 1;
                }
                Some(')') if open == 0 => {
                    if self.ch_at(1) == Some(')') {
                        self.pos += 2;
                        return Ok(true);
                    }
                    return Ok(false);
                }
                Some(')') => {
                    open -= 1;
                    self.pos += 1;
                }
                Some('\\') => self.pos = (self.pos + 2).min(self.src.len()),
                Some('\'') => self.skip_single_quoted()?,
                Some('"') => self.lex_double_quoted(&mut scratch)?,
                Some('$') => self.lex_dollar(&mut scratch, true)?,
                Some('`') => self.lex_backquoted(false)?,
                Some(_) => self.pos += 1,
            }
        }
    }

    /// After `$'`: ANSI-C quoting. Escapes that are hard to know exactly (control characters,
    /// NUL) make the word [`Word::Dynamic`].
    fn lex_ansi_c(&mut self, buf: &mut WordBuf) -> Res<()> {
        buf.special = true;
        loop {
            let Some(c) = self.ch() else {
                return Err(UnparsedReason::UnterminatedSingleQuote);
            };
            self.pos += 1;
            match c {
                '\'' => return Ok(()),
                '\\' => {
                    let Some(escape) = self.ch() else {
                        return Err(UnparsedReason::UnterminatedSingleQuote);
                    };
                    self.pos += 1;
                    let simple = match escape {
                        'n' => Some('\n'),
                        't' => Some('\t'),
                        'r' => Some('\r'),
                        'a' => Some('\u{7}'),
                        'b' => Some('\u{8}'),
                        'e' | 'E' => Some('\u{1b}'),
                        'f' => Some('\u{c}'),
                        'v' => Some('\u{b}'),
                        '\\' | '\'' | '"' | '?' => Some(escape),
                        _ => None,
                    };
                    if let Some(decoded) = simple {
                        buf.value.push(decoded);
                        continue;
                    }
                    let (radix, max) = match escape {
                        'x' => (16, 2),
                        'u' => (16, 4),
                        'U' => (16, 8),
                        '0'..='7' => {
                            self.pos -= 1;
                            (8, 3)
                        }
                        'c' => {
                            self.pos = (self.pos + 1).min(self.src.len());
                            buf.dynamic = true;
                            continue;
                        }
                        other => {
                            buf.value.push('\\');
                            buf.value.push(other);
                            continue;
                        }
                    };
                    let mut digits = String::new();
                    while digits.len() < max && self.ch().is_some_and(|d| d.is_digit(radix)) {
                        digits.extend(self.ch());
                        self.pos += 1;
                    }
                    match u32::from_str_radix(&digits, radix)
                        .ok()
                        .filter(|code| *code != 0)
                        .and_then(char::from_u32)
                    {
                        Some(decoded) => buf.value.push(decoded),
                        None => buf.dynamic = true,
                    }
                }
                other => buf.value.push(other),
            }
        }
    }

    /// At a backquote: reads the old-style command substitution and parses its commands.
    fn lex_backquoted(&mut self, in_quotes: bool) -> Res<()> {
        self.pos += 1;
        let mut script = String::new();
        loop {
            match self.ch() {
                None => return Err(UnparsedReason::UnterminatedBackquote),
                Some('`') => {
                    self.pos += 1;
                    break;
                }
                Some('\\') => {
                    match self.ch_at(1) {
                        Some(escaped @ ('$' | '`' | '\\')) => script.push(escaped),
                        Some('"') if in_quotes => script.push('"'),
                        Some(other) => {
                            script.push('\\');
                            script.push(other);
                        }
                        None => script.push('\\'),
                    }
                    self.pos = (self.pos + 2).min(self.src.len());
                }
                Some(c) => {
                    script.push(c);
                    self.pos += 1;
                }
            }
        }
        parse_into(self.ctx, &script, self.depth + 1)
    }

    /// Reads the delimiter after `<<` and returns the here-document's identifier.
    fn read_heredoc_delimiter(&mut self, strip_tabs: bool) -> Res<usize> {
        while matches!(self.ch(), Some(' ' | '\t')) {
            self.pos += 1;
        }
        let mut delimiter = String::new();
        let mut quoted = false;
        let mut any = false;
        loop {
            match self.ch() {
                None | Some(' ' | '\t' | '\n' | ';' | '&' | '|' | '<' | '>' | '(' | ')') => break,
                Some('\'') => {
                    quoted = true;
                    self.pos += 1;
                    loop {
                        match self.ch() {
                            None => return Err(UnparsedReason::UnterminatedSingleQuote),
                            Some('\'') => break,
                            Some(c) => delimiter.push(c),
                        }
                        self.pos += 1;
                    }
                    self.pos += 1;
                }
                Some('"') => {
                    quoted = true;
                    self.pos += 1;
                    loop {
                        match self.ch() {
                            None => return Err(UnparsedReason::UnterminatedDoubleQuote),
                            Some('"') => break,
                            Some('\\') if matches!(self.ch_at(1), Some('$' | '`' | '"' | '\\')) => {
                                self.pos += 1;
                                delimiter.extend(self.ch());
                            }
                            Some(c) => delimiter.push(c),
                        }
                        self.pos += 1;
                    }
                    self.pos += 1;
                }
                Some('\\') => {
                    quoted = true;
                    self.pos += 1;
                    if let Some(c) = self.ch() {
                        delimiter.push(c);
                        self.pos += 1;
                    }
                }
                Some(c) => {
                    delimiter.push(c);
                    self.pos += 1;
                }
            }
            any = true;
        }
        if !any {
            return Err(UnparsedReason::MissingHeredocDelimiter);
        }
        let id = self.ctx.next_heredoc;
        self.ctx.next_heredoc += 1;
        self.pending.push(Heredoc {
            id,
            delimiter,
            strip_tabs,
            quoted,
        });
        Ok(id)
    }

    /// After a newline: reads the bodies of the here-documents started on the line. Their text
    /// is data, but substitutions in an unquoted one still run.
    fn read_heredocs(&mut self) -> Res<()> {
        for heredoc in std::mem::take(&mut self.pending) {
            let mut body = String::new();
            loop {
                if self.pos >= self.src.len() {
                    return Err(UnparsedReason::UnterminatedHeredoc {
                        delimiter: heredoc.delimiter,
                    });
                }
                let mut line = String::new();
                while let Some(c) = self.ch() {
                    self.pos += 1;
                    if c == '\n' {
                        break;
                    }
                    line.push(c);
                }
                let line = if heredoc.strip_tabs {
                    line.trim_start_matches('\t')
                } else {
                    line.as_str()
                };
                if line == heredoc.delimiter {
                    break;
                }
                body.push_str(line);
                body.push('\n');
            }
            if !heredoc.quoted {
                let mut parser = Parser::new(&body, self.ctx, self.depth);
                parser.scan_expansions()?;
            }
            let expands = !heredoc.quoted && body.contains(['$', '`']);
            let feeds: Vec<usize> = self
                .ctx
                .feeds
                .iter()
                .filter(|(id, _)| *id == heredoc.id)
                .map(|(_, depth)| *depth)
                .collect();
            for depth in feeds {
                parse_fed_script(self.ctx, &body, expands, depth)?;
            }
            self.ctx.heredocs.push((heredoc.id, body, expands));
        }
        Ok(())
    }

    /// Scans text where only expansions are special (an unquoted here-document's body).
    fn scan_expansions(&mut self) -> Res<()> {
        let mut scratch = WordBuf::default();
        while let Some(c) = self.ch() {
            match c {
                '\\' => self.pos = (self.pos + 2).min(self.src.len()),
                '$' => self.lex_dollar(&mut scratch, true)?,
                '`' => self.lex_backquoted(false)?,
                _ => self.pos += 1,
            }
        }
        Ok(())
    }
}
