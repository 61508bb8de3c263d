//! The key tree of `config.toml`: generated from
//! `docs/schemas/config.schema.json` by the test
//! `the_key_tree_is_generated_from_the_checked_in_schema`
//! (`UPDATE_EXPECT=1` writes it again). Do not edit.

use super::{KeyNode, OtherKeys};

/// Every node; the first is the root.
pub(super) static NODES: [KeyNode; 17] = [
    // 0
    KeyNode {
        any_of: &[],
        keys: &[
            ("approval_policy", None),
            ("mcp_oauth_callback_port", None),
            ("mcp_server_approval_timeout_sec", None),
            ("mcp_servers", Some(6)),
            ("mcp_startup", None),
            ("mcp_tools_lock_new", None),
            ("model", None),
            ("model_provider", None),
            ("model_providers", Some(8)),
            ("model_reasoning_effort", None),
            ("notify", None),
            ("openai_base_url", None),
            ("profile", None),
            ("profiles", Some(14)),
            ("projects", Some(16)),
            ("sandbox_mode", None),
            ("sandbox_workspace_write", Some(11)),
            ("shell_environment_policy", Some(13)),
            ("watch_debounce_ms", None),
        ],
        other: OtherKeys::Denied,
    },
    // 1
    KeyNode {
        any_of: &[],
        keys: &[
            ("args", None),
            ("auth", None),
            ("bearer_token_env_var", None),
            ("command", None),
            ("cwd", None),
            ("default_tools_approval_mode", None),
            ("description", None),
            ("disabled_tools", None),
            ("enabled", None),
            ("enabled_tools", None),
            ("env", None),
            ("env_http_headers", None),
            ("env_vars", None),
            ("environment_id", None),
            ("http_headers", None),
            ("max_restarts", None),
            ("name", None),
            ("oauth", Some(3)),
            ("oauth_client_id", None),
            ("oauth_client_metadata_url", None),
            ("oauth_client_secret_env_var", None),
            ("oauth_resource", None),
            ("required", None),
            ("restart", None),
            ("restart_backoff_max_ms", None),
            ("restart_backoff_ms", None),
            ("restart_window_sec", None),
            ("sandbox", None),
            ("scopes", None),
            ("startup", None),
            ("startup_timeout_ms", None),
            ("startup_timeout_sec", None),
            ("supports_parallel_tool_calls", None),
            ("tool_timeout_sec", None),
            ("tools", Some(5)),
            ("transport", None),
            ("url", None),
        ],
        other: OtherKeys::Denied,
    },
    // 2
    KeyNode {
        any_of: &[],
        keys: &[
            ("client_id", None),
            ("client_metadata_url", None),
            ("client_secret_env_var", None),
        ],
        other: OtherKeys::Denied,
    },
    // 3
    KeyNode {
        any_of: &[2],
        keys: &[],
        other: OtherKeys::Any,
    },
    // 4
    KeyNode {
        any_of: &[],
        keys: &[
            ("approval_mode", None),
        ],
        other: OtherKeys::Denied,
    },
    // 5
    KeyNode {
        any_of: &[],
        keys: &[],
        other: OtherKeys::Follow(4),
    },
    // 6
    KeyNode {
        any_of: &[],
        keys: &[],
        other: OtherKeys::Follow(1),
    },
    // 7
    KeyNode {
        any_of: &[],
        keys: &[
            ("base_url", None),
            ("env_http_headers", None),
            ("env_key", None),
            ("env_key_instructions", None),
            ("experimental_bearer_token", None),
            ("http_headers", None),
            ("name", None),
            ("query_params", None),
            ("request_max_retries", None),
            ("requires_openai_auth", None),
            ("stream_idle_timeout_ms", None),
            ("stream_max_retries", None),
            ("wire_api", None),
        ],
        other: OtherKeys::Denied,
    },
    // 8
    KeyNode {
        any_of: &[],
        keys: &[],
        other: OtherKeys::Follow(7),
    },
    // 9
    KeyNode {
        any_of: &[],
        keys: &[
            ("approval_policy", None),
            ("mcp_servers", Some(6)),
            ("mcp_startup", None),
            ("model", None),
            ("model_provider", None),
            ("model_providers", Some(8)),
            ("model_reasoning_effort", None),
            ("notify", None),
            ("openai_base_url", None),
            ("sandbox_mode", None),
            ("sandbox_workspace_write", Some(11)),
            ("shell_environment_policy", Some(13)),
        ],
        other: OtherKeys::Denied,
    },
    // 10
    KeyNode {
        any_of: &[],
        keys: &[
            ("exclude_slash_tmp", None),
            ("exclude_tmpdir_env_var", None),
            ("network_access", None),
            ("writable_roots", None),
        ],
        other: OtherKeys::Denied,
    },
    // 11
    KeyNode {
        any_of: &[10],
        keys: &[],
        other: OtherKeys::Any,
    },
    // 12
    KeyNode {
        any_of: &[],
        keys: &[
            ("exclude", None),
            ("ignore_default_excludes", None),
            ("include_only", None),
            ("inherit", None),
            ("set", None),
        ],
        other: OtherKeys::Denied,
    },
    // 13
    KeyNode {
        any_of: &[12],
        keys: &[],
        other: OtherKeys::Any,
    },
    // 14
    KeyNode {
        any_of: &[],
        keys: &[],
        other: OtherKeys::Follow(9),
    },
    // 15
    KeyNode {
        any_of: &[],
        keys: &[
            ("trust_level", None),
        ],
        other: OtherKeys::Denied,
    },
    // 16
    KeyNode {
        any_of: &[],
        keys: &[],
        other: OtherKeys::Follow(15),
    },
];
