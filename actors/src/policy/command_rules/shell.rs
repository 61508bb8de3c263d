//! Static reading of the commands that the agent asks to run, for the admin's command rules.
//!
//! The agent usually runs `["/bin/bash", "-lc", SCRIPT]`, sometimes a plain argv. This module
//! turns either into the list of simple commands that would be started: it splits a script
//! written in the POSIX sh / bash subset at its operators, descends into compound commands,
//! command and process substitutions, nested `sh -c` scripts and `eval`, and unwraps wrapper
//! commands such as `sudo`, `env` or `timeout` (both the wrapper and the command it starts are
//! listed). A here-document's body is data, except its substitutions and when a shell reads it
//! as its script (`sh <<EOF`); a shell reading an unknown input (`curl ... | sh`) runs an
//! unknown script. It is a hand-written lexer and recursive-descent parser; it never runs
//! anything.
//!
//! Words whose value is only known at run time are kept as [`Word::Dynamic`] (one argument) or
//! [`Word::Fields`] (any number of arguments), so that the rules can treat them pessimistically.
//! A script that cannot be read with confidence gives [`Parsed::Unparsed`], together with the
//! commands that were read before the problem.

use std::fmt;

mod parse;

use parse::parse_into;

/// How deeply substitutions, nested shell scripts, `eval` and wrapper commands may nest; deeper
/// scripts are reported as [`Parsed::Unparsed`] with [`UnparsedReason::TooDeep`].
pub const MAX_DEPTH: usize = 8;

/// How deeply the grammar may nest (compound commands, parameter expansions), which bounds the
/// recursion of the parser so that no input can exhaust the stack.
const MAX_NESTING: usize = 64;

/// Program names (compared by file name) that run a script given after `-c`.
pub(crate) const SHELLS: &[&str] = &["bash", "sh", "zsh", "dash", "ksh", "ash", "mksh"];

/// Words that are reserved when they stand unquoted where a command may start.
const RESERVED: &[&str] = &[
    "if", "then", "elif", "else", "fi", "do", "done", "case", "esac", "while", "until", "for",
    "select", "in", "function", "{", "}", "!", "[[", "]]", "time", "coproc",
];

/// Text shown in place of the arguments that `xargs` reads from its standard input.
const XARGS_INPUT: &str = "<stdin>";

/// Text shown in place of a script that a shell reads from an unknown standard input.
const STDIN_SCRIPT: &str = "<script from stdin>";

/// Text shown in place of what the expansions in an unquoted here-document fed to a shell
/// may add to its script.
const HEREDOC_EXPANSIONS: &str = "<here-document expansions>";

/// One argument of a simple command, as far as it can be known without running anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Word {
    /// A word whose value is known: quotes, escapes and line continuations removed.
    Literal(String),
    /// A word that stays exactly one argument but whose value is only known at run time, such
    /// as `"$HOME"`, `~/bin` or `<(ls)`; holds the word as written.
    Dynamic(String),
    /// A word that the shell may turn into any number of arguments, none included: an unquoted
    /// expansion (`$X`, `$(cmd)`), a glob (`*.rs`), a brace expansion (`{a,b}`) or `"$@"`;
    /// holds the word as written.
    Fields(String),
}

impl Word {
    /// The value of a [`Word::Literal`], `None` for words only known at run time.
    pub fn literal(&self) -> Option<&str> {
        match self {
            Word::Literal(value) => Some(value),
            Word::Dynamic(_) | Word::Fields(_) => None,
        }
    }

    /// The word as a shell would read it back: literals quoted when needed, the other kinds as
    /// they were written.
    pub fn as_written(&self) -> String {
        match self {
            Word::Literal(value) => quote_word(value),
            Word::Dynamic(raw) | Word::Fields(raw) => raw.clone(),
        }
    }
}

/// One command that would be started: its arguments, the program first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimpleCommand {
    /// The arguments, with leading assignments and redirections removed; never empty.
    pub argv: Vec<Word>,
    /// Whether this command starts other commands that are listed after it (a wrapper such
    /// as `sudo git push`, a shell given a script, `eval`); the rules apply to both.
    pub is_wrapper: bool,
}

impl fmt::Display for SimpleCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, word) in self.argv.iter().enumerate() {
            if index > 0 {
                f.write_str(" ")?;
            }
            f.write_str(&word.as_written())?;
        }
        Ok(())
    }
}

/// The result of reading a script or an argv.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// Every simple command that the script may start, in source order, nested ones included.
    Commands(Vec<SimpleCommand>),
    /// The script could not be read with confidence.
    Unparsed {
        /// What went wrong.
        reason: UnparsedReason,
        /// The commands that were read before the problem; a shell may run them before it
        /// meets the problem, so the rules still apply to them.
        partial: Vec<SimpleCommand>,
    },
}

impl Parsed {
    /// The commands that were read: all of them, or those read before the problem.
    pub fn commands(&self) -> &[SimpleCommand] {
        match self {
            Parsed::Commands(commands) => commands,
            Parsed::Unparsed { partial, .. } => partial,
        }
    }
}

/// Why a script could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnparsedReason {
    /// A `'` without its closing quote.
    UnterminatedSingleQuote,
    /// A `"` without its closing quote.
    UnterminatedDoubleQuote,
    /// A backquote without its closing backquote.
    UnterminatedBackquote,
    /// A `$(`, `${` or `$((` without its end.
    UnterminatedSubstitution,
    /// A here-document whose delimiter line never comes.
    UnterminatedHeredoc {
        /// The delimiter that was expected.
        delimiter: String,
    },
    /// A `<<` that is not followed by a delimiter.
    MissingHeredocDelimiter,
    /// A token that does not fit where it stands.
    UnexpectedToken {
        /// The token as written.
        token: String,
    },
    /// The script ends inside a construct.
    UnexpectedEnd,
    /// Substitutions, nested shells, `eval` or wrappers nest more than [`MAX_DEPTH`] deep, or
    /// the grammar nests deeper than the parser follows.
    TooDeep,
}

impl fmt::Display for UnparsedReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnparsedReason::UnterminatedSingleQuote => f.write_str("unterminated single quote"),
            UnparsedReason::UnterminatedDoubleQuote => f.write_str("unterminated double quote"),
            UnparsedReason::UnterminatedBackquote => f.write_str("unterminated backquote"),
            UnparsedReason::UnterminatedSubstitution => {
                f.write_str("unterminated `$(`, `${` or `$((`")
            }
            UnparsedReason::UnterminatedHeredoc { delimiter } => {
                write!(f, "here-document not terminated by `{delimiter}`")
            }
            UnparsedReason::MissingHeredocDelimiter => {
                f.write_str("here-document without a delimiter")
            }
            UnparsedReason::UnexpectedToken { token } => write!(f, "unexpected `{token}`"),
            UnparsedReason::UnexpectedEnd => f.write_str("unexpected end of script"),
            UnparsedReason::TooDeep => f.write_str("nested too deeply"),
        }
    }
}

/// Reads a shell script into the simple commands it may start.
pub fn parse_script(script: &str) -> Parsed {
    let mut ctx = Ctx::default();
    let result = parse_into(&mut ctx, script, 0);
    finish(ctx, result)
}

/// Reads an argv as the agent would run it.
///
/// `[shell, ..., -c, SCRIPT, ...]` (with `shell` one of `bash`, `sh`, `zsh`, `dash`, `ksh`,
/// `ash`, `mksh`, with or without a path) is only the way the agent runs a script: the result
/// is the commands of `SCRIPT`. Any other argv is one command, which is still unwrapped (for
/// `sudo git push`, both `sudo git push` and `git push` are listed).
pub fn commands_of(argv: &[String]) -> Parsed {
    if let Some(script) = transport_script(argv) {
        return parse_script(script);
    }
    let words: Vec<Word> = argv.iter().map(|arg| Word::Literal(arg.clone())).collect();
    let mut ctx = Ctx::default();
    let result = if words.is_empty() {
        Ok(())
    } else {
        expand(&mut ctx, words, 0, &Stdin::Inherited)
    };
    finish(ctx, result)
}

/// The script of an argv of the form `[shell, ..., -c, SCRIPT, ...]`, if it is one.
pub(crate) fn transport_script(argv: &[String]) -> Option<&str> {
    let first = argv.first()?;
    if !SHELLS.contains(&basename(first)) {
        return None;
    }
    let rest = argv.get(1..)?;
    let words: Vec<Word> = rest.iter().map(|arg| Word::Literal(arg.clone())).collect();
    let ShellScript::Script(index) = shell_script(&words) else {
        return None;
    };
    rest.get(index).map(String::as_str)
}

/// The file name of a path: what follows its last `/`.
pub(crate) fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Quotes a word for display when a shell would not read it back unchanged.
pub(crate) fn quote_word(value: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c);
    if !value.is_empty() && value.chars().all(safe) {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

fn finish(ctx: Ctx, result: Result<(), UnparsedReason>) -> Parsed {
    match result {
        Ok(()) => Parsed::Commands(ctx.out),
        Err(reason) => Parsed::Unparsed {
            reason,
            partial: ctx.out,
        },
    }
}

type Res<T> = Result<T, UnparsedReason>;

/// State shared by all the parsers working on one script and its nested scripts.
#[derive(Default)]
struct Ctx {
    out: Vec<SimpleCommand>,
    nesting: usize,
    /// Identifies the next here-document.
    next_heredoc: usize,
    /// Here-documents read so far: identifier, body, and whether expansions in it may add to
    /// the text.
    heredocs: Vec<(usize, String, bool)>,
    /// Shells waiting for a here-document not read yet: identifier and depth of the script.
    feeds: Vec<(usize, usize)>,
}

/// Where a command's standard input comes from, for shells that read their script there.
#[derive(Debug, Clone)]
enum Stdin {
    /// A pipe, a file or the caller's input: unknown text.
    Inherited,
    /// A here-string (`<<< word`).
    Text(Word),
    /// A here-document, by identifier.
    Heredoc(usize),
}

/// Parses a script that a shell reads from a here-document.
fn parse_fed_script(ctx: &mut Ctx, body: &str, expands: bool, depth: usize) -> Res<()> {
    parse_into(ctx, body, depth)?;
    if expands {
        let unknown = vec![Word::Fields(HEREDOC_EXPANSIONS.to_string())];
        expand(ctx, unknown, depth, &Stdin::Inherited)?;
    }
    Ok(())
}

/// Adds a command and, recursively, what it starts when it is a wrapper, a shell or `eval`.
fn expand(ctx: &mut Ctx, argv: Vec<Word>, depth: usize, stdin: &Stdin) -> Res<()> {
    if depth > MAX_DEPTH {
        return Err(UnparsedReason::TooDeep);
    }
    let inner = unwrap_command(&argv, stdin);
    ctx.out.push(SimpleCommand {
        argv,
        is_wrapper: !inner.is_empty(),
    });
    let depth = depth + 1;
    for started in inner {
        match started {
            Inner::Argv(argv, keeps_stdin) => {
                let stdin = if keeps_stdin {
                    stdin
                } else {
                    &Stdin::Inherited
                };
                expand(ctx, argv, depth, stdin)?;
            }
            Inner::Script(script) => parse_into(ctx, &script, depth)?,
            Inner::UnknownScript(raw) => {
                expand(ctx, vec![Word::Fields(raw)], depth, &Stdin::Inherited)?;
            }
            Inner::Heredoc(id) => {
                let read = ctx.heredocs.iter().find(|(read, ..)| *read == id).cloned();
                match read {
                    Some((_, body, expands)) => parse_fed_script(ctx, &body, expands, depth)?,
                    None => ctx.feeds.push((id, depth)),
                }
            }
        }
    }
    Ok(())
}

/// What a wrapper, a shell or `eval` starts.
#[derive(Debug)]
enum Inner {
    /// A command given as arguments, and whether it reads the wrapper's standard input.
    Argv(Vec<Word>, bool),
    /// A script given as text.
    Script(String),
    /// A script only known at run time, as written: it may run anything.
    UnknownScript(String),
    /// A script read from a here-document, by identifier.
    Heredoc(usize),
}

fn unwrap_command(argv: &[Word], stdin: &Stdin) -> Vec<Inner> {
    let Some(Word::Literal(first)) = argv.first() else {
        return Vec::new();
    };
    let rest = argv.get(1..).unwrap_or_default();
    let name = basename(first);
    if SHELLS.contains(&name) {
        return match shell_script(rest) {
            ShellScript::Script(index) => match rest.get(index) {
                Some(Word::Literal(script)) => vec![Inner::Script(script.clone())],
                Some(word) => vec![Inner::UnknownScript(word.as_written())],
                None => Vec::new(),
            },
            ShellScript::Unknown(raw) => vec![Inner::UnknownScript(raw)],
            ShellScript::Stdin => vec![match stdin {
                Stdin::Inherited => Inner::UnknownScript(STDIN_SCRIPT.to_string()),
                Stdin::Text(Word::Literal(script)) => Inner::Script(script.clone()),
                Stdin::Text(word) => Inner::UnknownScript(word.as_written()),
                Stdin::Heredoc(id) => Inner::Heredoc(*id),
            }],
            ShellScript::File => Vec::new(),
        };
    }
    match name {
        "eval" => {
            let args = match rest.first() {
                Some(Word::Literal(dashes)) if dashes == "--" => rest.get(1..).unwrap_or_default(),
                _ => rest,
            };
            joined_script(args, None).into_iter().collect()
        }
        "find" => find_exec(rest),
        "trap" => trap_action(rest),
        "alias" => alias_values(rest),
        "su" | "runuser" => su_command(rest),
        _ => match wrapper_spec(name) {
            Some(spec) => scan_wrapper(&spec, rest),
            None => Vec::new(),
        },
    }
}

/// A script made of words joined with spaces, as `eval` and `env -S` do.
fn joined_script(words: &[Word], head: Option<&Word>) -> Option<Inner> {
    let all: Vec<&Word> = head.into_iter().chain(words.iter()).collect();
    if all.is_empty() {
        return None;
    }
    let literal: Option<Vec<&str>> = all.iter().map(|word| word.literal()).collect();
    Some(match literal {
        Some(parts) => Inner::Script(parts.join(" ")),
        None => {
            let written: Vec<String> = all.iter().map(|word| word.as_written()).collect();
            Inner::UnknownScript(written.join(" "))
        }
    })
}

enum ShellScript {
    /// No `-c` and no operand, or `-s`: the shell reads its script from its standard input.
    Stdin,
    /// No `-c` but an operand: the shell runs a script file (or `-c` without a script).
    File,
    /// The script is the argument at this index.
    Script(usize),
    /// A word only known at run time stands among the options: anything may run.
    Unknown(String),
}

/// Reads a shell's options (the arguments after its name) to find the `-c` script.
fn shell_script(rest: &[Word]) -> ShellScript {
    let mut has_c = false;
    let mut has_s = false;
    let mut index = 0;
    while let Some(word) = rest.get(index) {
        let Word::Literal(arg) = word else {
            return ShellScript::Unknown(word.as_written());
        };
        if arg == "--" || arg == "-" {
            index += 1;
            break;
        }
        if let Some(long) = arg.strip_prefix("--") {
            index += if long == "rcfile" || long == "init-file" {
                2
            } else {
                1
            };
            continue;
        }
        if (arg.starts_with('-') || arg.starts_with('+')) && arg.len() > 1 {
            let mut takes = 0;
            for flag in arg.chars().skip(1) {
                match flag {
                    'c' => has_c = true,
                    's' => has_s = true,
                    'o' | 'O' => takes += 1,
                    _ => {}
                }
            }
            index += 1 + takes;
            continue;
        }
        break;
    }
    let operand = index < rest.len();
    match (has_c, operand) {
        (true, true) => ShellScript::Script(index),
        (true, false) => ShellScript::File,
        (false, _) if has_s || !operand => ShellScript::Stdin,
        (false, _) => ShellScript::File,
    }
}

/// `find ... -exec CMD ... ;` (and `-execdir`, `-ok`, `-okdir`): the commands it starts.
fn find_exec(rest: &[Word]) -> Vec<Inner> {
    let mut out = Vec::new();
    let mut index = 0;
    while let Some(word) = rest.get(index) {
        index += 1;
        let starts = matches!(
            word.literal(),
            Some("-exec" | "-execdir" | "-ok" | "-okdir")
        );
        if !starts {
            continue;
        }
        let mut argv = Vec::new();
        while let Some(word) = rest.get(index) {
            index += 1;
            match word.literal() {
                Some(";" | "+") => break,
                Some(value) if value.contains("{}") => argv.push(Word::Fields(word.as_written())),
                _ => argv.push(word.clone()),
            }
        }
        if !argv.is_empty() {
            out.push(Inner::Argv(argv, false));
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum WrapperKind {
    Plain,
    Env,
    Xargs,
    /// `sudo`: with `-s` or `-i`, the command is also run through a shell.
    Sudo,
    /// `watch`: the command is run through `sh -c` unless `-x` is given.
    Joined,
}

/// How a wrapper command's options look, enough to find the command it starts.
struct WrapperSpec {
    /// Short options that take an argument (attached or as the next word).
    short_args: &'static str,
    /// Long options (without `--`) that take the next word as argument when not given `=`.
    long_args: &'static [&'static str],
    /// Whether `NAME=value` words may stand before the command.
    assignments: bool,
    /// How many words (such as `timeout`'s duration) follow the options before the command.
    positionals: usize,
    kind: WrapperKind,
}

fn wrapper_spec(name: &str) -> Option<WrapperSpec> {
    let spec = |short_args, long_args, assignments, positionals, kind| WrapperSpec {
        short_args,
        long_args,
        assignments,
        positionals,
        kind,
    };
    let plain = WrapperKind::Plain;
    Some(match name {
        "env" => spec(
            "uCS",
            &["unset", "chdir", "split-string"],
            true,
            0,
            WrapperKind::Env,
        ),
        "command" | "builtin" | "nohup" | "setsid" | "busybox" => spec("", &[], false, 0, plain),
        "exec" => spec("a", &[], false, 0, plain),
        "time" => spec("fo", &["format", "output"], false, 0, plain),
        "nice" => spec("n", &["adjustment"], false, 0, plain),
        "timeout" => spec("sk", &["signal", "kill-after"], false, 1, plain),
        "sudo" => spec(
            "CDghpRrTtUuc",
            &[
                "user",
                "group",
                "close-from",
                "chdir",
                "host",
                "prompt",
                "chroot",
                "role",
                "type",
                "command-timeout",
                "other-user",
                "login-class",
            ],
            true,
            0,
            WrapperKind::Sudo,
        ),
        "doas" => spec("uCa", &[], false, 0, plain),
        "ionice" => spec("cnp", &["class", "classdata"], false, 0, plain),
        "chroot" => spec("", &["userspec", "groups"], false, 1, plain),
        "taskset" => spec("", &[], false, 1, plain),
        "watch" => spec(
            "nq",
            &["interval", "equexit"],
            false,
            0,
            WrapperKind::Joined,
        ),
        "stdbuf" => spec("ioe", &["input", "output", "error"], false, 0, plain),
        "xargs" => spec(
            "adEILnPs",
            &[
                "arg-file",
                "delimiter",
                "max-args",
                "max-procs",
                "max-chars",
                "process-slot-var",
            ],
            false,
            0,
            WrapperKind::Xargs,
        ),
        _ => return None,
    })
}

/// Skips a wrapper's options and returns the command (or commands, when a word only known at
/// run time makes the options ambiguous) that it starts.
fn scan_wrapper(spec: &WrapperSpec, rest: &[Word]) -> Vec<Inner> {
    let mut out = Vec::new();
    let mut starts = Vec::new();
    // The string that `xargs -I` replaces with its input; empty when unknown, so that every
    // word holds it.
    let mut replace: Option<String> = None;
    let mut joined = spec.kind == WrapperKind::Joined;
    let mut index = 0;
    while let Some(word) = rest.get(index) {
        let Word::Literal(arg) = word else {
            // It may be an option or the command itself: check both.
            starts.push(index);
            index += 1;
            continue;
        };
        if arg == "--" {
            index += 1;
            break;
        }
        if arg == "-" && spec.kind == WrapperKind::Env {
            index += 1;
            continue;
        }
        if let Some(long) = arg.strip_prefix("--") {
            let (name, attached) = match long.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (long, None),
            };
            if spec.kind == WrapperKind::Xargs && name == "replace" {
                replace = Some(attached.unwrap_or("{}").to_string());
            }
            if spec.kind == WrapperKind::Sudo && matches!(name, "shell" | "login") {
                joined = true;
            }
            let takes = attached.is_none() && spec.long_args.contains(&name);
            if spec.kind == WrapperKind::Env && name == "split-string" {
                return split_string(attached, rest, index + 1);
            }
            index += if takes { 2 } else { 1 };
            continue;
        }
        if arg.starts_with('-') && arg.len() > 1 {
            let flags: Vec<char> = arg.chars().skip(1).collect();
            let mut takes = false;
            for (position, flag) in flags.iter().enumerate() {
                if spec.kind == WrapperKind::Xargs && *flag == 'i' {
                    let attached: String = flags.iter().skip(position + 1).collect();
                    replace = Some(if attached.is_empty() {
                        "{}".to_string()
                    } else {
                        attached
                    });
                }
                if spec.kind == WrapperKind::Sudo && matches!(flag, 's' | 'i') {
                    joined = true;
                }
                if spec.kind == WrapperKind::Xargs && matches!(flag, 'i' | 'e' | 'l') {
                    break;
                }
                if spec.short_args.contains(*flag) {
                    let attached: String = flags.iter().skip(position + 1).collect();
                    if spec.kind == WrapperKind::Env && *flag == 'S' {
                        let attached = (!attached.is_empty()).then_some(attached.as_str());
                        return split_string(attached, rest, index + 1);
                    }
                    takes = attached.is_empty();
                    if spec.kind == WrapperKind::Xargs && *flag == 'I' {
                        let value = if takes {
                            rest.get(index + 1)
                                .and_then(Word::literal)
                                .unwrap_or_default()
                        } else {
                            attached.as_str()
                        };
                        replace = Some(value.to_string());
                    }
                    break;
                }
            }
            index += if takes { 2 } else { 1 };
            continue;
        }
        if spec.assignments && is_assignment(arg) {
            index += 1;
            continue;
        }
        break;
    }
    let command_start = index + spec.positionals;
    if command_start < rest.len() {
        starts.push(command_start);
    }
    for start in starts {
        let mut argv: Vec<Word> = rest.get(start..).unwrap_or_default().to_vec();
        if spec.kind == WrapperKind::Xargs {
            if let Some(replace) = &replace {
                for word in &mut argv {
                    if word
                        .literal()
                        .is_some_and(|value| value.contains(replace.as_str()))
                    {
                        *word = Word::Fields(word.as_written());
                    }
                }
            }
            argv.push(Word::Fields(XARGS_INPUT.to_string()));
        }
        if joined {
            out.extend(joined_script(rest.get(start..).unwrap_or_default(), None));
        }
        out.push(Inner::Argv(argv, spec.kind != WrapperKind::Xargs));
    }
    out
}

/// `trap ACTION SIGNAL...`: the action is a script run later.
fn trap_action(rest: &[Word]) -> Vec<Inner> {
    let args = match rest.first() {
        Some(Word::Literal(dashes)) if dashes == "--" => rest.get(1..).unwrap_or_default(),
        _ => rest,
    };
    match args.first() {
        Some(Word::Literal(action)) if action.starts_with('-') => Vec::new(),
        Some(action) if args.len() >= 2 => joined_script(&[], Some(action)).into_iter().collect(),
        _ => Vec::new(),
    }
}

/// `alias NAME=VALUE...`: each value is command text that later commands may run.
fn alias_values(rest: &[Word]) -> Vec<Inner> {
    rest.iter()
        .filter_map(|word| match word {
            Word::Literal(definition) => definition
                .split_once('=')
                .map(|(_, value)| Inner::Script(value.to_string())),
            other => Some(Inner::UnknownScript(other.as_written())),
        })
        .collect()
}

/// `su [options] [-c COMMAND] [user]` (and `runuser`): the command is a script.
fn su_command(rest: &[Word]) -> Vec<Inner> {
    let mut out = Vec::new();
    let mut index = 0;
    while let Some(word) = rest.get(index) {
        index += 1;
        let Word::Literal(arg) = word else {
            if matches!(word, Word::Fields(_)) {
                out.push(Inner::UnknownScript(word.as_written()));
            }
            continue;
        };
        let script = if let Some(value) = arg.strip_prefix("--command=") {
            Some(Word::Literal(value.to_string()))
        } else if arg == "--command"
            || arg == "--session-command"
            || (arg.starts_with('-') && !arg.starts_with("--") && arg.ends_with('c'))
        {
            let script = rest.get(index).cloned();
            index += 1;
            script
        } else {
            None
        };
        out.extend(script.and_then(|script| joined_script(&[], Some(&script))));
    }
    out
}

/// `env -S STRING ARGS...`: the string is split into words like a small script.
fn split_string(attached: Option<&str>, rest: &[Word], next: usize) -> Vec<Inner> {
    let attached_word = attached.map(|value| Word::Literal(value.to_string()));
    let (head, after) = match attached_word {
        Some(word) => (Some(word), next),
        None => (rest.get(next).cloned(), next + 1),
    };
    let tail = rest.get(after..).unwrap_or_default();
    joined_script(tail, head.as_ref()).into_iter().collect()
}

/// Whether a word as written is an assignment: `NAME=`, `NAME+=` or `NAME[...]=` first.
fn is_assignment(raw: &str) -> bool {
    let mut chars = raw.chars().peekable();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    while chars
        .peek()
        .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_')
    {
        chars.next();
    }
    if chars.peek() == Some(&'[') {
        loop {
            match chars.next() {
                Some(']') => break,
                Some(_) => {}
                None => return false,
            }
        }
    }
    if chars.peek() == Some(&'+') {
        chars.next();
    }
    chars.next() == Some('=')
}

#[cfg(test)]
#[path = "shell_tests.rs"]
mod tests;
