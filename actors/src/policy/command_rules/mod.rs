//! The admin's command policy: `[rules] prefix_rules` from `requirements.toml`, as pure functions.
//!
//! An admin lists rules such as "`git push` is forbidden" or "`rm -rf` needs approval". Each
//! [`PrefixRule`] has a pattern that must be a prefix of a command's arguments, one element per
//! argument: an exact token or a list of alternatives. When several rules match, the most
//! restrictive decision wins (`forbidden` over `prompt` over `allow`); no match means no
//! opinion. Reading the TOML is the integrator's job: this module takes the rules as values.
//!
//! The rules apply to every command that an argv would start. [`commands_of`] reads the argv
//! (for `bash -lc SCRIPT`, the script), including the commands in substitutions, nested
//! `sh -c` scripts, `eval`, here-documents fed to a shell, and behind wrappers such as `sudo`,
//! `env`, `timeout` or `xargs`; [`evaluate`] then combines the decisions:
//!
//! * `forbidden` if any command matches a forbidden rule, else `prompt` if any matches a prompt
//!   rule;
//! * `allow` only if every command it may start matches an allow rule, wrappers included
//!   (`sudo ls` needs both `sudo ls` and `ls` allowed);
//! * otherwise no opinion (`None`), and the runtime's usual approval policy applies.
//!
//! This is a security boundary, so whatever cannot be known statically is judged
//! pessimistically: a word holding an expansion or a glob ([`Word::Dynamic`], or
//! [`Word::Fields`] when it may become several arguments) matches any token of a `prompt` or
//! `forbidden` rule and no token of an `allow` rule, so `$CMD push` matches every restrictive
//! rule whose remaining tokens match, and a shell reading a script that cannot be known
//! (`curl ... | sh`, `bash -c "$X"`) matches every restrictive rule.
//!
//! A script that cannot be read ([`Parsed::Unparsed`]: unbalanced quotes or parentheses, an
//! unterminated here-document, nesting deeper than [`MAX_DEPTH`], a construct the parser does
//! not follow) evaluates to `forbidden` if a command read before the problem is forbidden,
//! else to `prompt` — "the command could not be parsed to check it against the admin's rules" —
//! as soon as the rules contain a `prompt` or `forbidden` rule; with only `allow` rules (or none)
//! it gets no opinion.
//!
//! Known limits, all on the side of letting a restrictive rule see less than bash would run:
//! scripts run from files (`bash build.sh`, `source x`), other interpreters (`python -c`),
//! aliases defined outside the script, wrappers not in the list (`flock`, `ssh`, `parallel`)
//! and options that a prefix does not expect (`git -C dir push` is not `git push`). Leading
//! assignments and redirections are dropped, so `LD_PRELOAD=x ls > f` is still `ls` for an
//! allow rule.

mod rules;
mod shell;

pub use rules::{
    Decision, PatternToken, PrefixRule, RuleError, Verdict, VerdictReason, decide, evaluate,
    evaluate_parsed,
};
pub use shell::{
    MAX_DEPTH, Parsed, SimpleCommand, UnparsedReason, Word, commands_of, parse_script,
};
