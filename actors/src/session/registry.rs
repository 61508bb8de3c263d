//! Qualified tool names: `mcp__<server>__<tool>`, sanitized to
//! `[A-Za-z0-9_-]`, at most 64 characters, and collision-free.
//!
//! Pure and deterministic: the same servers and tools always give the same
//! names, whatever order servers became ready in.

use std::collections::{BTreeMap, HashSet};

/// The longest name the model API accepts.
pub const MAX_TOOL_NAME: usize = 64;
const HASH_LEN: usize = 12;

/// One exposed tool and where calls to it go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QualifiedTool {
    /// The name the model sees.
    pub qualified: String,
    /// The server it belongs to.
    pub server: String,
    /// The raw MCP tool name.
    pub tool: String,
}

/// Names every `(server, tool)` pair. `servers` maps server names to their
/// tool names; iteration is sorted, which makes the result deterministic.
pub fn qualify(servers: &BTreeMap<String, Vec<String>>) -> Vec<QualifiedTool> {
    let mut taken = HashSet::new();
    let mut out = Vec::new();
    for (server, tools) in servers {
        let mut tools: Vec<&String> = tools.iter().collect();
        tools.sort();
        tools.dedup();
        for tool in tools {
            let raw = format!("mcp__{server}__{tool}");
            let mut name = sanitize(&raw);
            if name.len() > MAX_TOOL_NAME || taken.contains(&name) {
                name = with_hash(&name, &raw);
            }
            let mut counter = 1;
            while taken.contains(&name) {
                name = with_hash(&name, &format!("{raw}#{counter}"));
                counter += 1;
            }
            taken.insert(name.clone());
            out.push(QualifiedTool {
                qualified: name,
                server: server.clone(),
                tool: tool.clone(),
            });
        }
    }
    out
}

fn sanitize(raw: &str) -> String {
    let cleaned: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if cleaned.is_empty() {
        "_".to_owned()
    } else {
        cleaned
    }
}

/// `name` cut so that `_` plus 12 hex digits of SHA-1(`raw`) fit in 64.
fn with_hash(name: &str, raw: &str) -> String {
    let digest = sha1_smol::Sha1::from(raw).digest().to_string();
    let keep = MAX_TOOL_NAME - HASH_LEN - 1;
    let prefix: String = name.chars().take(keep).collect();
    format!("{prefix}_{}", &digest[..HASH_LEN])
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};

    #[track_caller]
    fn check(servers: &[(&str, &[&str])], expect: Expect) {
        let map = servers
            .iter()
            .map(|(s, tools)| {
                (
                    (*s).to_owned(),
                    tools.iter().map(|t| (*t).to_owned()).collect(),
                )
            })
            .collect();
        let rendered: Vec<String> = qualify(&map)
            .into_iter()
            .map(|q| format!("{} -> {}/{}", q.qualified, q.server, q.tool))
            .collect();
        expect.assert_eq(&rendered.join("\n"));
    }

    #[test]
    fn plain_names() {
        check(
            &[("docs", &["search", "fetch"]), ("time", &["now"])],
            expect![[r#"
                mcp__docs__fetch -> docs/fetch
                mcp__docs__search -> docs/search
                mcp__time__now -> time/now"#]],
        );
    }

    #[test]
    fn sanitized_and_collision_free() {
        check(
            &[
                ("a.b", &["x"]),
                ("a_b", &["x"]),
                ("srv", &["do it", "do/it", "ok-1"]),
            ],
            expect![[r#"
                mcp__a_b__x -> a.b/x
                mcp__a_b__x_e8d12c72dedf -> a_b/x
                mcp__srv__do_it -> srv/do it
                mcp__srv__do_it_7169707720cb -> srv/do/it
                mcp__srv__ok-1 -> srv/ok-1"#]],
        );
    }

    #[test]
    fn long_names_are_capped_with_a_hash() {
        let long = "t".repeat(80);
        let map = BTreeMap::from([("server".to_owned(), vec![long.clone(), format!("{long}2")])]);
        let named = qualify(&map);
        assert_eq!(named.len(), 2);
        for q in &named {
            assert_eq!(q.qualified.len(), MAX_TOOL_NAME, "{}", q.qualified);
        }
        assert_ne!(named[0].qualified, named[1].qualified);
    }
}
