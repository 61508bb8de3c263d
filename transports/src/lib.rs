//! MCP transport plugins and the identities the policy matches.
