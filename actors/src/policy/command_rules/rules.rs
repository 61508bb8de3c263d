//! The admin's prefix rules and how a command is judged against them.
//!
//! A [`PrefixRule`] matches a simple command when its pattern is a prefix of the command's
//! arguments. Words only known at run time are matched pessimistically: they match anything for
//! `prompt` and `forbidden` rules and nothing for `allow` rules. [`evaluate`] combines the
//! decisions for every command that an argv would start into one [`Verdict`].

use std::fmt;

use super::shell::{
    Parsed, SimpleCommand, UnparsedReason, Word, basename, commands_of, quote_word,
    transport_script,
};

/// What the admin decided for the commands a rule matches; ordered from the least to the most
/// restrictive, so that the maximum of several decisions is the one that applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Decision {
    /// The command may run without asking.
    Allow,
    /// The command needs the user's approval.
    Prompt,
    /// The command must never run.
    Forbidden,
}

impl Decision {
    /// Whether the decision restricts the command (`prompt` or `forbidden`).
    pub fn is_restrictive(self) -> bool {
        self != Decision::Allow
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Decision::Allow => "allow",
            Decision::Prompt => "prompt",
            Decision::Forbidden => "forbidden",
        })
    }
}

/// One element of a pattern, matched against one argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatternToken {
    /// The argument must be exactly this token (`{ token = "git" }`).
    Token(String),
    /// The argument must be one of these tokens (`{ any_of = ["-rf", "-fr"] }`).
    AnyOf(Vec<String>),
}

impl PatternToken {
    /// Whether a known argument matches; in the first position (`first`), a program given with
    /// a path also matches by its file name (`/usr/bin/git` matches `git`).
    fn accepts(&self, argument: &str, first: bool) -> bool {
        let one = |token: &str| argument == token || (first && basename(argument) == token);
        match self {
            PatternToken::Token(token) => one(token),
            PatternToken::AnyOf(tokens) => tokens.iter().any(|token| one(token)),
        }
    }
}

/// One rule of `[rules] prefix_rules`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixRule {
    /// The prefix of the arguments that the rule matches; a rule with an empty pattern matches
    /// nothing (see [`PrefixRule::validate`]).
    pub pattern: Vec<PatternToken>,
    /// What applies to the commands the rule matches.
    pub decision: Decision,
    /// Why, in the admin's words; shown to the model and the user.
    pub justification: Option<String>,
    /// Where the rule came from, for messages (such as `/etc/codex/requirements.toml`).
    pub source: String,
}

/// What is wrong with a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleError {
    /// The pattern has no element.
    EmptyPattern,
    /// An `any_of` element has no alternative.
    EmptyAlternatives {
        /// The element's index in the pattern.
        position: usize,
    },
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleError::EmptyPattern => f.write_str("the pattern is empty"),
            RuleError::EmptyAlternatives { position } => {
                write!(f, "element {position} of the pattern has no alternative")
            }
        }
    }
}

impl std::error::Error for RuleError {}

impl PrefixRule {
    /// Checks that the rule can match something: a non-empty pattern whose `any_of` elements
    /// are non-empty. Integrators should reject a rule file with invalid rules.
    pub fn validate(&self) -> Result<(), RuleError> {
        if self.pattern.is_empty() {
            return Err(RuleError::EmptyPattern);
        }
        for (position, token) in self.pattern.iter().enumerate() {
            if matches!(token, PatternToken::AnyOf(tokens) if tokens.is_empty()) {
                return Err(RuleError::EmptyAlternatives { position });
            }
        }
        Ok(())
    }

    /// Whether the rule matches a simple command.
    ///
    /// A [`Word::Dynamic`] stands for exactly one unknown argument and a [`Word::Fields`] for
    /// any number of them: both match anything for a `prompt` or `forbidden` rule and nothing
    /// for an `allow` rule.
    pub fn matches(&self, command: &SimpleCommand) -> bool {
        if self.pattern.is_empty() {
            return false;
        }
        let restrictive = self.decision.is_restrictive();
        for (index, token) in self.pattern.iter().enumerate() {
            match command.argv.get(index) {
                None => return false,
                Some(Word::Literal(argument)) => {
                    if !token.accepts(argument, index == 0) {
                        return false;
                    }
                }
                Some(Word::Dynamic(_)) => {
                    if !restrictive {
                        return false;
                    }
                }
                // It may become exactly the rest of the pattern.
                Some(Word::Fields(_)) => return restrictive,
            }
        }
        true
    }
}

/// Why a [`Verdict`] was reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerdictReason {
    /// The rule matched the command (for `prompt` and `forbidden`).
    Matched,
    /// Every command that the argv starts is allowed; the rule and command are the first ones.
    AllAllowed,
    /// The script could not be read, so it cannot be shown to obey the restrictive rules.
    Unparsed(UnparsedReason),
}

/// The admin's rules' opinion on an argv.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict<'r> {
    /// What applies.
    pub decision: Decision,
    /// The rule that decided; `None` when the script could not be read.
    pub rule: Option<&'r PrefixRule>,
    /// The simple command that the rule matched, as a shell would read it; the whole script
    /// when it could not be read.
    pub command: Option<String>,
    /// Why.
    pub reason: VerdictReason,
}

impl fmt::Display for Verdict<'_> {
    /// The text shown to the model: `` `<command>` rejected: <justification> ``, or
    /// `` `<command>` needs approval under the admin's command rules (<source>): <justification> ``.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let command = self.command.as_deref().unwrap_or_default();
        let source = self
            .rule
            .map(|rule| rule.source.as_str())
            .unwrap_or_default();
        let justification = self.rule.and_then(|rule| rule.justification.as_deref());
        match (&self.reason, self.decision) {
            (VerdictReason::Unparsed(reason), _) => write!(
                f,
                "`{command}` needs approval: the command could not be parsed to check it against \
                 the admin's rules ({reason})"
            ),
            (_, Decision::Forbidden) => match justification {
                Some(justification) => write!(f, "`{command}` rejected: {justification}"),
                None => write!(
                    f,
                    "`{command}` rejected: forbidden by the admin's command rules ({source})"
                ),
            },
            (_, Decision::Prompt) => {
                write!(
                    f,
                    "`{command}` needs approval under the admin's command rules ({source})"
                )?;
                match justification {
                    Some(justification) => write!(f, ": {justification}"),
                    None => Ok(()),
                }
            }
            (_, Decision::Allow) => write!(
                f,
                "`{command}` is allowed by the admin's command rules ({source})"
            ),
        }
    }
}

/// The most restrictive rule matching a command; the first such rule on a tie.
pub fn decide<'r>(rules: &'r [PrefixRule], command: &SimpleCommand) -> Option<&'r PrefixRule> {
    let mut best: Option<&PrefixRule> = None;
    for rule in rules.iter().filter(|rule| rule.matches(command)) {
        if best.is_none_or(|best| rule.decision > best.decision) {
            best = Some(rule);
        }
    }
    best
}

/// Judges an argv as the agent would run it (see [`commands_of`]); `None` when the rules have
/// no opinion.
///
/// * `forbidden` when a forbidden rule matches any command the argv may start, then `prompt`
///   when a prompt rule does.
/// * A script that cannot be read is `forbidden` if a command read before the problem is,
///   else `prompt` as soon as the rules have any `prompt` or `forbidden` rule, else no opinion.
/// * `allow` only when every command that the argv may start matches an allow rule, wrappers
///   included: `sudo ls` needs both `sudo ls` and `ls` to be allowed.
pub fn evaluate<'r>(rules: &'r [PrefixRule], argv: &[String]) -> Option<Verdict<'r>> {
    let parsed = commands_of(argv);
    let text = match transport_script(argv) {
        Some(script) => script.to_string(),
        None => argv
            .iter()
            .map(|arg| quote_word(arg))
            .collect::<Vec<_>>()
            .join(" "),
    };
    evaluate_parsed(rules, &parsed, &text)
}

/// Judges commands already read by [`commands_of`] or [`parse_script`](super::parse_script); `text` is the
/// command as shown when the script could not be read.
pub fn evaluate_parsed<'r>(
    rules: &'r [PrefixRule],
    parsed: &Parsed,
    text: &str,
) -> Option<Verdict<'r>> {
    let verdict = |decision, rule, command: &SimpleCommand, reason| Verdict {
        decision,
        rule: Some(rule),
        command: Some(command.to_string()),
        reason,
    };
    let mut first_prompt = None;
    let mut first_allow = None;
    let mut all_allowed = true;
    for command in parsed.commands() {
        match decide(rules, command) {
            Some(rule) if rule.decision == Decision::Forbidden => {
                return Some(verdict(
                    Decision::Forbidden,
                    rule,
                    command,
                    VerdictReason::Matched,
                ));
            }
            Some(rule) if rule.decision == Decision::Prompt => {
                first_prompt = first_prompt.or(Some((rule, command)));
            }
            Some(rule) => first_allow = first_allow.or(Some((rule, command))),
            None => all_allowed = false,
        }
    }
    if let Parsed::Unparsed { reason, .. } = parsed {
        if rules.iter().any(|rule| rule.decision.is_restrictive()) {
            return Some(Verdict {
                decision: Decision::Prompt,
                rule: None,
                command: Some(text.to_string()),
                reason: VerdictReason::Unparsed(reason.clone()),
            });
        }
        return None;
    }
    if let Some((rule, command)) = first_prompt {
        return Some(verdict(
            Decision::Prompt,
            rule,
            command,
            VerdictReason::Matched,
        ));
    }
    match first_allow {
        Some((rule, command)) if all_allowed => Some(verdict(
            Decision::Allow,
            rule,
            command,
            VerdictReason::AllAllowed,
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};
    use proptest::prelude::*;

    use super::super::shell::SHELLS;
    use super::*;

    /// A rule from its pattern: one alternative gives a token, several an `any_of`.
    fn rule(pattern: &[&[&str]], decision: Decision, justification: Option<&str>) -> PrefixRule {
        let pattern = pattern
            .iter()
            .map(|alternatives| match alternatives {
                [token] => PatternToken::Token(token.to_string()),
                tokens => PatternToken::AnyOf(tokens.iter().map(|t| t.to_string()).collect()),
            })
            .collect();
        PrefixRule {
            pattern,
            decision,
            justification: justification.map(str::to_string),
            source: "/etc/codex/requirements.toml".to_string(),
        }
    }

    fn admin_rules() -> Vec<PrefixRule> {
        vec![
            rule(
                &[&["git"], &["push"]],
                Decision::Forbidden,
                Some("Pushing is done by CI."),
            ),
            rule(&[&["rm"], &["-rf", "-fr"]], Decision::Prompt, None),
            rule(&[&["ls"]], Decision::Allow, None),
        ]
    }

    fn render(verdict: Option<Verdict<'_>>) -> String {
        match verdict {
            None => "no opinion".to_string(),
            Some(verdict) => format!("{}: {verdict}", verdict.decision),
        }
    }

    fn check_with(rules: &[PrefixRule], script: &str, expect: Expect) {
        let argv = ["bash", "-lc", script].map(str::to_string);
        expect.assert_eq(&render(evaluate(rules, &argv)));
    }

    fn check(script: &str, expect: Expect) {
        check_with(&admin_rules(), script, expect);
    }

    fn check_argv(argv: &[&str], expect: Expect) {
        let argv: Vec<String> = argv.iter().map(|arg| arg.to_string()).collect();
        expect.assert_eq(&render(evaluate(&admin_rules(), &argv)));
    }

    #[test]
    fn forbidden_everywhere_in_a_script() {
        check(
            "git push",
            expect!["forbidden: `git push` rejected: Pushing is done by CI."],
        );
        check(
            "git  push origin",
            expect!["forbidden: `git push origin` rejected: Pushing is done by CI."],
        );
        check(
            "cd x && git push",
            expect!["forbidden: `git push` rejected: Pushing is done by CI."],
        );
        check(
            "echo ok; git push",
            expect!["forbidden: `git push` rejected: Pushing is done by CI."],
        );
        check(
            "true || git push",
            expect!["forbidden: `git push` rejected: Pushing is done by CI."],
        );
        check(
            "ls | git push",
            expect!["forbidden: `git push` rejected: Pushing is done by CI."],
        );
        check(
            "(git push)",
            expect!["forbidden: `git push` rejected: Pushing is done by CI."],
        );
        check(
            "{ git push; }",
            expect!["forbidden: `git push` rejected: Pushing is done by CI."],
        );
        check(
            "if true; then git push; fi",
            expect!["forbidden: `git push` rejected: Pushing is done by CI."],
        );
        check(
            "for b in x; do git push; done",
            expect!["forbidden: `git push` rejected: Pushing is done by CI."],
        );
        check(
            "case x in *) git push;; esac",
            expect!["forbidden: `git push` rejected: Pushing is done by CI."],
        );
        check(
            "f() { git push; }",
            expect!["forbidden: `git push` rejected: Pushing is done by CI."],
        );
        check(
            "$(git push)",
            expect!["forbidden: `git push` rejected: Pushing is done by CI."],
        );
        check(
            "`git push`",
            expect!["forbidden: `git push` rejected: Pushing is done by CI."],
        );
        check(
            "echo \"$(git push)\"",
            expect!["forbidden: `git push` rejected: Pushing is done by CI."],
        );
        check(
            "diff <(git push) x",
            expect!["forbidden: `git push` rejected: Pushing is done by CI."],
        );
        check(
            "bash -c 'git push'",
            expect!["forbidden: `git push` rejected: Pushing is done by CI."],
        );
        check(
            "sh -c \"cd /tmp && git push\"",
            expect!["forbidden: `git push` rejected: Pushing is done by CI."],
        );
        check(
            "eval git push",
            expect!["forbidden: `git push` rejected: Pushing is done by CI."],
        );
        check(
            "env FOO=1 git push",
            expect!["forbidden: `git push` rejected: Pushing is done by CI."],
        );
        check(
            "sudo -u x git push",
            expect!["forbidden: `git push` rejected: Pushing is done by CI."],
        );
        check(
            "timeout 5 git push",
            expect!["forbidden: `git push` rejected: Pushing is done by CI."],
        );
        check(
            "nohup nice -n 5 git push &",
            expect!["forbidden: `git push` rejected: Pushing is done by CI."],
        );
        check(
            "/usr/bin/git push",
            expect!["forbidden: `/usr/bin/git push` rejected: Pushing is done by CI."],
        );
        check(
            "FOO=bar git push",
            expect!["forbidden: `git push` rejected: Pushing is done by CI."],
        );
        check(
            r"g\it push",
            expect!["forbidden: `git push` rejected: Pushing is done by CI."],
        );
        check(
            "'git' \"push\"",
            expect!["forbidden: `git push` rejected: Pushing is done by CI."],
        );
        check(
            "git pu\"sh\"",
            expect!["forbidden: `git push` rejected: Pushing is done by CI."],
        );
        check(
            "git push #comment",
            expect!["forbidden: `git push` rejected: Pushing is done by CI."],
        );
        check(
            "sh <<EOF\ngit push\nEOF",
            expect!["forbidden: `git push` rejected: Pushing is done by CI."],
        );
        check(
            "cat <<EOF\n$(git push)\nEOF",
            expect!["forbidden: `git push` rejected: Pushing is done by CI."],
        );
        check(
            "echo push | xargs git",
            expect!["forbidden: `git <stdin>` rejected: Pushing is done by CI."],
        );
        check(
            "find . -exec git push \\;",
            expect!["forbidden: `git push` rejected: Pushing is done by CI."],
        );
    }

    #[test]
    fn unknown_words_are_pessimistic() {
        check(
            "$G push",
            expect!["forbidden: `$G push` rejected: Pushing is done by CI."],
        );
        check(
            "git $X",
            expect!["forbidden: `git $X` rejected: Pushing is done by CI."],
        );
        check(
            "git \"$X\"",
            expect![[r#"forbidden: `git "$X"` rejected: Pushing is done by CI."#]],
        );
        check(
            "git \"$X\" origin",
            expect![[r#"forbidden: `git "$X" origin` rejected: Pushing is done by CI."#]],
        );
        check(
            "{git,push}",
            expect!["forbidden: `{git,push}` rejected: Pushing is done by CI."],
        );
        check(
            "echo 'git push' | sh",
            expect!["forbidden: `<script from stdin>` rejected: Pushing is done by CI."],
        );
        check(
            "bash -c \"$SCRIPT\"",
            expect![[r#"forbidden: `"$SCRIPT"` rejected: Pushing is done by CI."#]],
        );
        check(
            "rm *",
            expect![
                "prompt: `rm *` needs approval under the admin's command rules (/etc/codex/requirements.toml)"
            ],
        );
        check(
            "ls $DIR",
            expect![
                "allow: `ls $DIR` is allowed by the admin's command rules (/etc/codex/requirements.toml)"
            ],
        );
        check(
            "$LS",
            expect!["forbidden: `$LS` rejected: Pushing is done by CI."],
        );
    }

    #[test]
    fn no_match() {
        check("git status", expect!["no opinion"]);
        check("echo git push", expect!["no opinion"]);
        check("cat <<EOF\ngit push\nEOF", expect!["no opinion"]);
        check("cat <<'EOF'\n$(git push)\nEOF", expect!["no opinion"]);
        check(
            "echo '$(git push)' \"\\$(git push)\"",
            expect!["no opinion"],
        );
        check("git", expect!["no opinion"]);
        check("git pushy", expect!["no opinion"]);
        check("rm -r x", expect!["no opinion"]);
        check("mygit push", expect!["no opinion"]);
        check("", expect!["no opinion"]);
    }

    #[test]
    fn prompt_and_any_of() {
        check(
            "rm -rf /tmp/x",
            expect![
                "prompt: `rm -rf /tmp/x` needs approval under the admin's command rules (/etc/codex/requirements.toml)"
            ],
        );
        check(
            "rm -fr x",
            expect![
                "prompt: `rm -fr x` needs approval under the admin's command rules (/etc/codex/requirements.toml)"
            ],
        );
        check(
            "cd /tmp && sudo rm -rf x",
            expect![
                "prompt: `rm -rf x` needs approval under the admin's command rules (/etc/codex/requirements.toml)"
            ],
        );
        check(
            "rm -rf x; git push",
            expect!["forbidden: `git push` rejected: Pushing is done by CI."],
        );
    }

    #[test]
    fn allow_needs_every_command() {
        check(
            "ls",
            expect![
                "allow: `ls` is allowed by the admin's command rules (/etc/codex/requirements.toml)"
            ],
        );
        check(
            "ls -la && ls /tmp | ls",
            expect![
                "allow: `ls -la` is allowed by the admin's command rules (/etc/codex/requirements.toml)"
            ],
        );
        check("ls; cat x", expect!["no opinion"]);
        check("sudo ls", expect!["no opinion"]);
        check("ls $(cat x)", expect!["no opinion"]);
        check(
            "/bin/ls x",
            expect![
                "allow: `/bin/ls x` is allowed by the admin's command rules (/etc/codex/requirements.toml)"
            ],
        );
    }

    #[test]
    fn unparsed_scripts() {
        check(
            "git push '",
            expect![
                "prompt: `git push '` needs approval: the command could not be parsed to check it against the admin's rules (unterminated single quote)"
            ],
        );
        check(
            "ls (",
            expect![
                "prompt: `ls (` needs approval: the command could not be parsed to check it against the admin's rules (unexpected end of script)"
            ],
        );
        check(
            "git push; echo 'oops",
            expect!["forbidden: `git push` rejected: Pushing is done by CI."],
        );
        let allow_only = vec![rule(&[&["ls"]], Decision::Allow, None)];
        check_with(&allow_only, "ls '", expect!["no opinion"]);
        check_with(&[], "git push", expect!["no opinion"]);
    }

    #[test]
    fn most_restrictive_wins() {
        let rules = vec![
            rule(&[&["git"]], Decision::Allow, None),
            rule(
                &[&["git"], &["commit"]],
                Decision::Prompt,
                Some("Review commits."),
            ),
            rule(
                &[&["git"], &["commit"], &["--amend"]],
                Decision::Forbidden,
                None,
            ),
            rule(
                &[&["git"], &["commit"], &["--amend"]],
                Decision::Forbidden,
                Some("Second."),
            ),
        ];
        check_with(
            &rules,
            "git status",
            expect![
                "allow: `git status` is allowed by the admin's command rules (/etc/codex/requirements.toml)"
            ],
        );
        check_with(
            &rules,
            "git commit -m x",
            expect![
                "prompt: `git commit -m x` needs approval under the admin's command rules (/etc/codex/requirements.toml): Review commits."
            ],
        );
        check_with(
            &rules,
            "git commit --amend",
            expect![
                "forbidden: `git commit --amend` rejected: forbidden by the admin's command rules (/etc/codex/requirements.toml)"
            ],
        );
        check_with(
            &rules,
            "git status && git commit",
            expect![
                "prompt: `git commit` needs approval under the admin's command rules (/etc/codex/requirements.toml): Review commits."
            ],
        );
    }

    #[test]
    fn plain_argvs() {
        check_argv(
            &["git", "push"],
            expect!["forbidden: `git push` rejected: Pushing is done by CI."],
        );
        check_argv(
            &["/usr/bin/git", "push", "origin"],
            expect!["forbidden: `/usr/bin/git push origin` rejected: Pushing is done by CI."],
        );
        check_argv(
            &["sudo", "git", "push"],
            expect!["forbidden: `git push` rejected: Pushing is done by CI."],
        );
        check_argv(&["git", "status"], expect!["no opinion"]);
        check_argv(
            &["ls", "-la"],
            expect![
                "allow: `ls -la` is allowed by the admin's command rules (/etc/codex/requirements.toml)"
            ],
        );
        check_argv(&["echo", "$(git push)"], expect!["no opinion"]);
        check_argv(
            &["/bin/bash", "-lc", "echo ok; git push"],
            expect!["forbidden: `git push` rejected: Pushing is done by CI."],
        );
    }

    #[test]
    fn rule_validation_and_matching() {
        let empty = rule(&[], Decision::Forbidden, None);
        assert_eq!(empty.validate(), Err(RuleError::EmptyPattern));
        let no_alternative = PrefixRule {
            pattern: vec![
                PatternToken::Token("rm".into()),
                PatternToken::AnyOf(vec![]),
            ],
            ..empty.clone()
        };
        assert_eq!(
            no_alternative.validate(),
            Err(RuleError::EmptyAlternatives { position: 1 })
        );
        assert_eq!(
            admin_rules().iter().try_for_each(PrefixRule::validate),
            Ok(())
        );
        let command = SimpleCommand {
            argv: vec![Word::Literal("git".into())],
            is_wrapper: false,
        };
        assert!(!empty.matches(&command));
        // Later positions compare exactly, without taking a file name.
        let later = rule(&[&["sudo"], &["git"]], Decision::Forbidden, None);
        let with_path = SimpleCommand {
            argv: vec![
                Word::Literal("sudo".into()),
                Word::Literal("/usr/bin/git".into()),
            ],
            is_wrapper: false,
        };
        assert!(!later.matches(&with_path));
    }

    fn quote(word: &str) -> String {
        format!("'{}'", word.replace('\'', r"'\''"))
    }

    /// What must agree between a plain argv and the same argv run through `bash -lc`.
    fn summary(verdict: Option<Verdict<'_>>) -> Option<(Decision, Option<PrefixRule>, String)> {
        verdict.map(|verdict| {
            let detail = match &verdict.reason {
                VerdictReason::Unparsed(reason) => format!("unparsed: {reason}"),
                other => format!("{other:?}: {:?}", verdict.command),
            };
            (verdict.decision, verdict.rule.cloned(), detail)
        })
    }

    fn word() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(vec![
                "git",
                "push",
                "status",
                "rm",
                "-rf",
                "-fr",
                "ls",
                "sudo",
                "env",
                "eval",
                "xargs",
                "timeout",
                "5",
                "-u",
                "FOO=1",
                "--",
                "time",
                "!",
                "{",
                "if",
                "find",
                "-exec",
                ";",
                "/usr/bin/git",
                "$X",
                "*",
                "'",
                "\"",
                "",
            ])
            .prop_map(str::to_string),
            "(?s).{0,8}",
        ]
    }

    proptest! {
        #[test]
        fn quoting_a_plain_argv_changes_nothing(
            argv in prop::collection::vec(word(), 1..6)
                .prop_filter("a shell first is how scripts are run", |argv| {
                    argv.first().is_some_and(|first| !SHELLS.contains(&basename(first)))
                })
        ) {
            let rules = admin_rules();
            let script: Vec<String> = argv.iter().map(|word| quote(word)).collect();
            let wrapped = ["bash".to_string(), "-lc".to_string(), script.join(" ")];
            prop_assert_eq!(summary(evaluate(&rules, &argv)), summary(evaluate(&rules, &wrapped)));
        }
    }
}
