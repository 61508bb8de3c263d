//! Which of the model's calls may run, which need the user's approval, and
//! which are refused, under the approval policy and the admin's command
//! rules in force ([`TurnPolicy`]).
//!
//! For a command, in order:
//! 1. the admin's `[rules] prefix_rules`: `forbidden` refuses, whatever
//!    anyone approves; `prompt` asks (refused under `never`); `allow`
//!    runs;
//! 2. a request to run outside the sandbox (`sandbox_permissions =
//!    "require_escalated"`) asks under `on-request` (and its alias
//!    `on-failure`) and is refused under any other policy, or when the
//!    admin's requirements do not allow running unsandboxed at all;
//! 3. under `untrusted`, a command not known to only read asks.
//!
//! For an MCP tool: a tool whose approval mode asks (by default, any tool
//! not annotated `readOnlyHint: true`) asks, and is refused under `never`
//! with Codex's message.
//!
//! An answer "for the session" is remembered by the turn's owner and
//! covers the same command, or the same tool, from then on.

use std::collections::BTreeSet;

use serde_json::Value;

use super::exec_tool::CommandCall;
use crate::config::{ApprovalPolicy, SandboxMode};
use crate::policy::command_rules::{self, Decision, Parsed, PrefixRule, Word};

/// The policy a turn's calls are judged by. The session recomputes it
/// when the admin's requirements change, so it applies to the next call.
#[derive(Debug, Clone, PartialEq)]
pub struct TurnPolicy {
    /// The approval policy in force.
    pub approval: ApprovalPolicy,
    /// The sandbox commands run in.
    pub sandbox_mode: SandboxMode,
    /// `[rules] prefix_rules` of every requirements layer.
    pub command_rules: Vec<PrefixRule>,
    /// Whether the requirements allow a command to run outside the
    /// sandbox (`danger-full-access` is allowed), after an approval.
    pub escalation_allowed: bool,
    /// Where `workspace-write` lets commands and patches write besides the
    /// working directory.
    pub writable_roots: Vec<std::path::PathBuf>,
}

/// A call that waits for the user's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ApprovalRequest {
    /// The call it is about.
    pub call_id: String,
    /// What would run.
    pub subject: ApprovalSubject,
    /// Why it needs an answer.
    pub reason: ApprovalReason,
}

/// What an approval would let run.
#[derive(Debug, Clone, PartialEq)]
pub enum ApprovalSubject {
    /// A command.
    Command {
        /// As shown (`/bin/bash -lc '...'`).
        command: String,
        /// Where it would run.
        cwd: std::path::PathBuf,
    },
    /// A patch (`apply_patch`).
    Patch {
        /// Each file it changes and how.
        changes: Vec<crate::turn::FileChangeEntry>,
        /// The patch as the model wrote it.
        patch: String,
    },
    /// An MCP tool call.
    Tool {
        /// The server.
        server: String,
        /// The tool.
        tool: String,
        /// The arguments.
        arguments: Value,
    },
}

/// Why a call needs an answer.
#[derive(Debug, Clone, PartialEq)]
pub enum ApprovalReason {
    /// The model asks to run the command outside the sandbox.
    Escalation {
        /// The model's one-line reason, if it gave one.
        justification: Option<String>,
    },
    /// An admin command rule says `prompt`.
    CommandRule {
        /// The rule's verdict, quoting its justification.
        message: String,
    },
    /// Under `untrusted`, the command is not known to only read.
    Untrusted,
    /// The tool's approval mode asks (it is not annotated read-only).
    Tool,
    /// The patch writes where the sandbox does not let it.
    Patch {
        /// The files outside the writable roots.
        outside: Vec<std::path::PathBuf>,
    },
}

impl std::fmt::Display for ApprovalReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApprovalReason::Escalation {
                justification: Some(why),
            } => write!(f, "the model asks to run it outside the sandbox: {why}"),
            ApprovalReason::Escalation {
                justification: None,
            } => f.write_str("the model asks to run it outside the sandbox"),
            ApprovalReason::CommandRule { message } => f.write_str(message),
            ApprovalReason::Untrusted => {
                f.write_str("the approval policy is untrusted, and this command may write")
            }
            ApprovalReason::Tool => f.write_str("the tool is not known to be read-only"),
            ApprovalReason::Patch { outside } => {
                let files: Vec<String> = outside
                    .iter()
                    .map(|path| path.display().to_string())
                    .collect();
                write!(
                    f,
                    "the patch writes outside the writable roots: {}",
                    files.join(", ")
                )
            }
        }
    }
}

/// The user's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalDecision {
    /// Run it, once.
    Approve,
    /// Run it, and the same call from now on in this session.
    ApproveForSession,
    /// Do not run it; tell the model.
    Deny,
    /// Do not run it, and stop the turn.
    Abort,
    /// Nobody can answer (a headless run): not run, and the model is told
    /// why.
    NoOneToAsk,
}

/// What the gate decided.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Gate {
    /// Run it (outside the sandbox when `escalated`).
    Run {
        /// Approved to leave the sandbox.
        escalated: bool,
    },
    /// Ask first.
    Ask(ApprovalReason),
    /// Never run it; the model reads why.
    Refuse(String),
}

/// The key an answer "for the session" is remembered by.
pub(crate) fn command_key(command: &CommandCall) -> String {
    format!("command:{}", command.display)
}

/// The key of a tool's session approval.
pub(crate) fn tool_key(server: &str, tool: &str) -> String {
    format!("tool:{server}/{tool}")
}

/// The gate for a command.
pub(crate) fn command_gate(
    policy: &TurnPolicy,
    command: &CommandCall,
    approved: &BTreeSet<String>,
) -> Gate {
    let verdict = command_rules::evaluate(&policy.command_rules, &command.argv);
    if let Some(verdict) = &verdict
        && verdict.decision == Decision::Forbidden
    {
        return Gate::Refuse(verdict.to_string());
    }
    let session_approved = approved.contains(&command_key(command));
    if command.escalation {
        if !policy.escalation_allowed {
            return Gate::Refuse(
                "this command asks to run outside the sandbox, which the administrator's \
                 requirements do not allow; run it inside the sandbox instead"
                    .to_owned(),
            );
        }
        if !matches!(
            policy.approval,
            ApprovalPolicy::OnRequest | ApprovalPolicy::OnFailure
        ) {
            return Gate::Refuse(format!(
                "approval policy is {}: this session does not let the model ask to run a \
                 command outside the sandbox, so the call was rejected. Run it inside the \
                 sandbox instead.",
                policy.approval
            ));
        }
        if session_approved {
            return Gate::Run { escalated: true };
        }
        return Gate::Ask(ApprovalReason::Escalation {
            justification: command.justification.clone(),
        });
    }
    match verdict.as_ref().map(|verdict| verdict.decision) {
        Some(Decision::Prompt) => {
            let message = verdict.map(|v| v.to_string()).unwrap_or_default();
            if session_approved {
                Gate::Run { escalated: false }
            } else if policy.approval == ApprovalPolicy::Never {
                Gate::Refuse(format!(
                    "{message}; the approval policy is never, so it was not run"
                ))
            } else {
                Gate::Ask(ApprovalReason::CommandRule { message })
            }
        }
        Some(Decision::Allow) => Gate::Run { escalated: false },
        Some(Decision::Forbidden) | None => {
            if policy.approval == ApprovalPolicy::Untrusted
                && !session_approved
                && !known_safe(&command.argv)
            {
                Gate::Ask(ApprovalReason::Untrusted)
            } else {
                Gate::Run { escalated: false }
            }
        }
    }
}

/// The key of a patch's session approval: the files it writes.
pub(crate) fn patch_key(paths: &[std::path::PathBuf]) -> String {
    let mut names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    names.sort();
    format!("patch:{}", names.join("\n"))
}

/// The gate for a patch writing `paths` (absolute, normalized): it runs
/// in the sandbox when the sandbox lets it write every file (under a
/// writable root, not in its `.git`, `.codex` or `.agents`); otherwise the
/// user is asked whether it may write outside, when the approval policy
/// and the admin's requirements allow asking. When they do not, it runs in
/// the sandbox, which refuses the write and says so.
pub(crate) fn patch_gate(
    policy: &TurnPolicy,
    cwd: &std::path::Path,
    paths: &[std::path::PathBuf],
    approved: &BTreeSet<String>,
) -> Gate {
    let writable = |path: &std::path::PathBuf| match policy.sandbox_mode {
        SandboxMode::DangerFullAccess | SandboxMode::ExternalSandbox => true,
        SandboxMode::ReadOnly => false,
        // A root's `.git`, `.codex` and `.agents` stay read-only in the
        // sandbox, so writing there is leaving it: the user is asked.
        SandboxMode::WorkspaceWrite => std::iter::once(cwd)
            .chain(
                policy
                    .writable_roots
                    .iter()
                    .map(std::path::PathBuf::as_path),
            )
            .any(|root| {
                path.strip_prefix(root).is_ok_and(|inside| {
                    inside.components().next().is_none_or(|first| {
                        !codex_sandbox::PROTECTED_NAMES
                            .iter()
                            .any(|name| first.as_os_str() == *name)
                    })
                })
            }),
    };
    let outside: Vec<std::path::PathBuf> = paths
        .iter()
        .filter(|path| !writable(path))
        .cloned()
        .collect();
    if outside.is_empty() {
        return Gate::Run { escalated: false };
    }
    // Requirements first: a session's earlier "yes" cannot outlive an
    // admin who now forbids leaving the sandbox, nor `never`.
    if policy.approval == ApprovalPolicy::Never || !policy.escalation_allowed {
        return Gate::Run { escalated: false };
    }
    if approved.contains(&patch_key(paths)) {
        return Gate::Run { escalated: true };
    }
    Gate::Ask(ApprovalReason::Patch { outside })
}

/// The gate for a model's call of an MCP tool; `needs_approval` comes
/// from the tool's annotations and its approval mode.
pub(crate) fn tool_gate(
    policy: &TurnPolicy,
    server: &str,
    tool: &str,
    needs_approval: bool,
    approved: &BTreeSet<String>,
) -> Gate {
    if !needs_approval || approved.contains(&tool_key(server, tool)) {
        return Gate::Run { escalated: false };
    }
    match policy.approval {
        ApprovalPolicy::Never => Gate::Refuse(NEVER_TOOL.to_owned()),
        ApprovalPolicy::Untrusted | ApprovalPolicy::OnFailure | ApprovalPolicy::OnRequest => {
            Gate::Ask(ApprovalReason::Tool)
        }
    }
}

/// Codex's message for a tool that needs approval under `never`.
pub(crate) const NEVER_TOOL: &str = "MCP tool call requires approval, but approval policy is never";

/// Programs that only read, for `untrusted`. Each command of the script
/// must be one of them, with nothing whose value is known only at run time.
const READ_ONLY: &[&str] = &[
    "cat", "cd", "cut", "date", "df", "diff", "du", "echo", "file", "grep", "head", "id", "ls",
    "nl", "pwd", "rg", "sort", "stat", "tail", "tr", "tree", "true", "uname", "uniq", "wc",
    "which", "whoami",
];

/// Read-only subcommands of `git`.
const READ_ONLY_GIT: &[&str] = &[
    "blame",
    "branch",
    "diff",
    "log",
    "rev-parse",
    "show",
    "status",
];

/// Whether every command of `argv` only reads.
fn known_safe(argv: &[String]) -> bool {
    let Parsed::Commands(commands) = command_rules::commands_of(argv) else {
        return false;
    };
    !commands.is_empty()
        && commands.iter().all(|command| {
            let words: Option<Vec<&str>> = command.argv.iter().map(Word::literal).collect();
            let Some(words) = words else {
                return false;
            };
            let Some(program) = words.first().map(|p| p.rsplit('/').next().unwrap_or(p)) else {
                return false;
            };
            match program {
                "git" => words.get(1).is_some_and(|sub| READ_ONLY_GIT.contains(sub)),
                "find" => !words.iter().any(|w| {
                    matches!(
                        *w,
                        "-exec" | "-execdir" | "-ok" | "-okdir" | "-delete" | "-fprint" | "-fls"
                    )
                }),
                "sed" => words.get(1) == Some(&"-n"),
                other => READ_ONLY.contains(&other),
            }
        })
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};
    use std::time::Duration;

    use expect_test::{Expect, expect};

    use super::*;
    use crate::policy::command_rules::PatternToken;
    use crate::turn::exec_tool::OutputFormat;

    fn policy(approval: ApprovalPolicy) -> TurnPolicy {
        TurnPolicy {
            approval,
            sandbox_mode: SandboxMode::WorkspaceWrite,
            writable_roots: Vec::new(),
            command_rules: vec![
                PrefixRule {
                    pattern: vec![
                        PatternToken::Token("git".to_owned()),
                        PatternToken::Token("push".to_owned()),
                    ],
                    decision: Decision::Forbidden,
                    justification: Some("CI pushes.".to_owned()),
                    source: "/etc/codex/requirements.toml".to_owned(),
                },
                PrefixRule {
                    pattern: vec![PatternToken::Token("rm".to_owned())],
                    decision: Decision::Prompt,
                    justification: None,
                    source: "/etc/codex/requirements.toml".to_owned(),
                },
                PrefixRule {
                    pattern: vec![PatternToken::Token("make".to_owned())],
                    decision: Decision::Allow,
                    justification: None,
                    source: "/etc/codex/requirements.toml".to_owned(),
                },
            ],
            escalation_allowed: true,
        }
    }

    fn call(script: &str, escalation: bool) -> CommandCall {
        CommandCall {
            argv: vec!["/bin/bash".into(), "-lc".into(), script.into()],
            cwd: PathBuf::from("/w"),
            timeout: Duration::from_secs(10),
            yield_time: None,
            display: format!("/bin/bash -lc '{script}'"),
            output_budget: 1000,
            format: OutputFormat::ExecCommand,
            escalation,
            justification: None,
        }
    }

    #[track_caller]
    fn check(approval: ApprovalPolicy, rows: &[(&str, bool)], expect: Expect) {
        let policy = policy(approval);
        let out: String = rows
            .iter()
            .map(|(script, escalation)| {
                let gate = command_gate(&policy, &call(script, *escalation), &BTreeSet::new());
                let shown = match gate {
                    Gate::Run { escalated } => format!("run (escalated: {escalated})"),
                    Gate::Ask(reason) => format!("ask: {reason}"),
                    Gate::Refuse(text) => format!("refuse: {text}"),
                };
                format!(
                    "{script}{} -> {shown}\n",
                    if *escalation { " [esc]" } else { "" }
                )
            })
            .collect();
        expect.assert_eq(&out);
    }

    const ROWS: &[(&str, bool)] = &[
        ("git push origin", false),
        ("cd x && git push", true),
        ("rm -rf build", false),
        ("make test", false),
        ("cargo build", false),
        ("ls -la | wc -l", false),
        ("cargo build", true),
    ];

    #[test]
    fn a_patch_into_a_roots_git_codex_or_agents_asks() {
        let mut policy = policy(ApprovalPolicy::OnRequest);
        policy.writable_roots = vec![PathBuf::from("/data")];
        let gate = |path: &str| {
            patch_gate(
                &policy,
                Path::new("/w"),
                &[PathBuf::from(path)],
                &BTreeSet::new(),
            )
        };
        for inside in [
            "/w/src/main.rs",
            "/w/.github/workflows/ci.yml",
            "/w/vendor/lib/.git/config",
            "/data/out.txt",
        ] {
            assert_eq!(gate(inside), Gate::Run { escalated: false }, "{inside}");
        }
        for protected in [
            "/w/.git/hooks/pre-commit",
            "/w/.codex/config.toml",
            "/w/.agents",
            "/data/.git/config",
            "/elsewhere/x",
        ] {
            assert_eq!(
                gate(protected),
                Gate::Ask(ApprovalReason::Patch {
                    outside: vec![PathBuf::from(protected)]
                }),
                "{protected}"
            );
        }
    }

    #[test]
    fn never_refuses_what_would_need_an_answer() {
        check(
            ApprovalPolicy::Never,
            ROWS,
            expect![[r#"
                git push origin -> refuse: `git push origin` rejected: CI pushes.
                cd x && git push [esc] -> refuse: `git push` rejected: CI pushes.
                rm -rf build -> refuse: `rm -rf build` needs approval under the admin's command rules (/etc/codex/requirements.toml); the approval policy is never, so it was not run
                make test -> run (escalated: false)
                cargo build -> run (escalated: false)
                ls -la | wc -l -> run (escalated: false)
                cargo build [esc] -> refuse: approval policy is never: this session does not let the model ask to run a command outside the sandbox, so the call was rejected. Run it inside the sandbox instead.
            "#]],
        );
    }

    #[test]
    fn on_request_asks_and_forbidden_stays_forbidden() {
        check(
            ApprovalPolicy::OnRequest,
            ROWS,
            expect![[r#"
                git push origin -> refuse: `git push origin` rejected: CI pushes.
                cd x && git push [esc] -> refuse: `git push` rejected: CI pushes.
                rm -rf build -> ask: `rm -rf build` needs approval under the admin's command rules (/etc/codex/requirements.toml)
                make test -> run (escalated: false)
                cargo build -> run (escalated: false)
                ls -la | wc -l -> run (escalated: false)
                cargo build [esc] -> ask: the model asks to run it outside the sandbox
            "#]],
        );
    }

    #[test]
    fn untrusted_asks_for_anything_that_may_write() {
        check(
            ApprovalPolicy::Untrusted,
            ROWS,
            expect![[r#"
                git push origin -> refuse: `git push origin` rejected: CI pushes.
                cd x && git push [esc] -> refuse: `git push` rejected: CI pushes.
                rm -rf build -> ask: `rm -rf build` needs approval under the admin's command rules (/etc/codex/requirements.toml)
                make test -> run (escalated: false)
                cargo build -> ask: the approval policy is untrusted, and this command may write
                ls -la | wc -l -> run (escalated: false)
                cargo build [esc] -> refuse: approval policy is untrusted: this session does not let the model ask to run a command outside the sandbox, so the call was rejected. Run it inside the sandbox instead.
            "#]],
        );
    }

    #[test]
    fn requirements_bound_every_answer() {
        let mut strict = policy(ApprovalPolicy::OnRequest);
        strict.escalation_allowed = false;
        let approved = BTreeSet::from([command_key(&call("cargo build", true))]);
        assert!(matches!(
            command_gate(&strict, &call("cargo build", true), &approved),
            Gate::Refuse(_)
        ));
        let approved = BTreeSet::from([command_key(&call("git push", false))]);
        assert!(matches!(
            command_gate(&strict, &call("git push", false), &approved),
            Gate::Refuse(_)
        ));
    }

    #[test]
    fn tools_ask_unless_read_only_or_approved() {
        let never = policy(ApprovalPolicy::Never);
        let none = BTreeSet::new();
        assert_eq!(
            tool_gate(&never, "s", "write", true, &none),
            Gate::Refuse(NEVER_TOOL.to_owned())
        );
        assert_eq!(
            tool_gate(&never, "s", "read", false, &none),
            Gate::Run { escalated: false }
        );
        let asks = policy(ApprovalPolicy::OnRequest);
        assert_eq!(
            tool_gate(&asks, "s", "write", true, &none),
            Gate::Ask(ApprovalReason::Tool)
        );
        let approved = BTreeSet::from([tool_key("s", "write")]);
        assert_eq!(
            tool_gate(&asks, "s", "write", true, &approved),
            Gate::Run { escalated: false }
        );
    }
}
