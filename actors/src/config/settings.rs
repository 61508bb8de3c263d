//! Enumerated settings shared by config and requirements: sandbox mode and
//! approval policy, with Codex's spellings.

use std::fmt;
use std::str::FromStr;

/// A value that is not one of a setting's spellings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {setting} {value:?} (expected one of {expected})")]
pub struct UnknownValue {
    /// The setting, e.g. `sandbox_mode`.
    pub setting: &'static str,
    /// What was written.
    pub value: String,
    /// The accepted spellings, comma-separated.
    pub expected: &'static str,
}

macro_rules! spelled_enum {
    (
        $(#[$meta:meta])* $name:ident, $setting:literal,
        { $( $(#[$vmeta:meta])* $variant:ident => $text:literal ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value, in documentation order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The config spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownValue {
                        setting: $setting,
                        value: s.to_owned(),
                        expected: concat!($($text, ", "),+).trim_end_matches(", "),
                    }),
                }
            }
        }
    };
}

spelled_enum!(
    /// How commands the agent runs are isolated.
    SandboxMode, "sandbox_mode", {
        /// Read anything, write nothing, no network.
        ReadOnly => "read-only",
        /// Write under the workspace roots; network off unless enabled.
        WorkspaceWrite => "workspace-write",
        /// No isolation at all.
        DangerFullAccess => "danger-full-access",
        /// Isolation is provided outside this program.
        ExternalSandbox => "external-sandbox",
    }
);

spelled_enum!(
    /// When the agent asks before running a command.
    ApprovalPolicy, "approval_policy", {
        /// Ask for anything not known to be safe.
        Untrusted => "untrusted",
        /// Ask only when a sandboxed command fails.
        OnFailure => "on-failure",
        /// The model decides when to ask.
        OnRequest => "on-request",
        /// Never ask.
        Never => "never",
    }
);

spelled_enum!(
    /// Which HTTP API a model provider speaks.
    WireApi, "wire_api", {
        /// The OpenAI Responses API (`POST {base_url}/responses`).
        Responses => "responses",
        /// Chat Completions (`POST {base_url}/chat/completions`), as Ollama,
        /// vLLM and LM Studio serve it.
        Chat => "chat",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_round_trip() {
        for mode in SandboxMode::ALL {
            assert_eq!(mode.as_str().parse::<SandboxMode>(), Ok(*mode));
        }
        for policy in ApprovalPolicy::ALL {
            assert_eq!(policy.as_str().parse::<ApprovalPolicy>(), Ok(*policy));
        }
        let err = "full".parse::<SandboxMode>().expect_err("unknown");
        assert_eq!(
            err.to_string(),
            "unknown sandbox_mode \"full\" (expected one of read-only, workspace-write, \
             danger-full-access, external-sandbox)"
        );
    }
}
