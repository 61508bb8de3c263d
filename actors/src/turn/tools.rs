//! The tools a turn offers besides `exec_command` and the MCP servers'
//! own: `apply_patch` (a freeform tool with Codex's patch grammar, or a
//! function with one `input` string where freeform tools are not
//! supported), and the MCP resource tools.

use serde::Deserialize;
use serde_json::{Value, json};

use super::exec_tool::CallRefused;
use crate::apply_patch::{LARK_GRAMMAR, TOOL_DESCRIPTION};
use crate::model_stream::ToolSpec;

/// The patch tool.
pub const APPLY_PATCH: &str = "apply_patch";
/// Lists the resources of one server, or of all.
pub const LIST_RESOURCES: &str = "list_mcp_resources";
/// Lists the resource templates of one server, or of all.
pub const LIST_RESOURCE_TEMPLATES: &str = "list_mcp_resource_templates";
/// Reads one resource.
pub const READ_RESOURCE: &str = "read_mcp_resource";

/// `apply_patch` as the model sees it.
pub fn apply_patch_spec() -> ToolSpec {
    ToolSpec {
        name: APPLY_PATCH.to_owned(),
        description: TOOL_DESCRIPTION.to_owned(),
        parameters: Value::Null,
        freeform: Some(LARK_GRAMMAR.to_owned()),
    }
}

/// The MCP resource tools, offered when the session has servers.
pub fn resource_specs() -> Vec<ToolSpec> {
    let server = json!({
        "type": "string",
        "description": "The MCP server's name; every server when left out."
    });
    let cursor = json!({
        "type": "string",
        "description": "The cursor a previous page returned."
    });
    vec![
        ToolSpec {
            name: LIST_RESOURCES.to_owned(),
            description: "Lists the resources MCP servers provide (files, documents, data), \
                          with their URIs."
                .to_owned(),
            parameters: json!({
                "type": "object",
                "properties": { "server": server, "cursor": cursor },
                "additionalProperties": false
            }),
            freeform: None,
        },
        ToolSpec {
            name: LIST_RESOURCE_TEMPLATES.to_owned(),
            description: "Lists the resource templates MCP servers provide (URI patterns to \
                          fill in)."
                .to_owned(),
            parameters: json!({
                "type": "object",
                "properties": { "server": server, "cursor": cursor },
                "additionalProperties": false
            }),
            freeform: None,
        },
        ToolSpec {
            name: READ_RESOURCE.to_owned(),
            description: "Reads one resource of an MCP server by its URI.".to_owned(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "server": { "type": "string", "description": "The MCP server's name." },
                    "uri": { "type": "string", "description": "The resource's URI." }
                },
                "required": ["server", "uri"],
                "additionalProperties": false
            }),
            freeform: None,
        },
    ]
}

/// A resource request the model made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceRequest {
    /// `list_mcp_resources`.
    List {
        /// One server, or all.
        server: Option<String>,
        /// The page.
        cursor: Option<String>,
    },
    /// `list_mcp_resource_templates`.
    Templates {
        /// One server, or all.
        server: Option<String>,
        /// The page.
        cursor: Option<String>,
    },
    /// `read_mcp_resource`.
    Read {
        /// The server.
        server: String,
        /// The resource.
        uri: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListArgs {
    server: Option<String>,
    cursor: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReadArgs {
    server: String,
    uri: String,
}

/// Parses a resource tool call; `None` when `name` is not one.
pub(crate) fn resource_call(
    name: &str,
    arguments: &str,
) -> Option<Result<ResourceRequest, CallRefused>> {
    let arguments = if arguments.trim().is_empty() {
        "{}"
    } else {
        arguments
    };
    let bad = |err: serde_json::Error| CallRefused::BadArguments(err.to_string());
    Some(match name {
        LIST_RESOURCES => serde_json::from_str::<ListArgs>(arguments)
            .map(|args| ResourceRequest::List {
                server: args.server,
                cursor: args.cursor,
            })
            .map_err(bad),
        LIST_RESOURCE_TEMPLATES => serde_json::from_str::<ListArgs>(arguments)
            .map(|args| ResourceRequest::Templates {
                server: args.server,
                cursor: args.cursor,
            })
            .map_err(bad),
        READ_RESOURCE => serde_json::from_str::<ReadArgs>(arguments)
            .map(|args| ResourceRequest::Read {
                server: args.server,
                uri: args.uri,
            })
            .map_err(bad),
        _ => return None,
    })
}

/// The patch text of an `apply_patch` function call (`{"input": "..."}`).
pub(crate) fn patch_input(arguments: &str) -> Result<String, CallRefused> {
    #[derive(Deserialize)]
    struct Args {
        input: String,
    }
    serde_json::from_str::<Args>(arguments)
        .map(|args| args.input)
        .map_err(|err| CallRefused::BadArguments(err.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_calls_parse_and_refuse_bad_arguments() {
        assert_eq!(
            resource_call(LIST_RESOURCES, ""),
            Some(Ok(ResourceRequest::List {
                server: None,
                cursor: None
            }))
        );
        assert_eq!(
            resource_call(READ_RESOURCE, r#"{"server":"docs","uri":"file:///a"}"#),
            Some(Ok(ResourceRequest::Read {
                server: "docs".to_owned(),
                uri: "file:///a".to_owned()
            }))
        );
        assert!(matches!(
            resource_call(READ_RESOURCE, r#"{"server":"docs"}"#),
            Some(Err(CallRefused::BadArguments(_)))
        ));
        assert_eq!(resource_call("exec_command", "{}"), None);
        assert_eq!(patch_input(r#"{"input":"x"}"#), Ok("x".to_owned()));
    }
}
