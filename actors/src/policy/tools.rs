//! Which tools of an admitted server may be offered and called.
//!
//! Every place that can filter tools contributes a [`ToolFilter`]: the
//! user's `enabled_tools` / `disabled_tools` in config, and the same keys on
//! the allowlist entry that admitted the server in each requirements layer.
//! The tools a session exposes are their intersection: a tool must be
//! enabled by every filter that has an `enabled_tools` list, and a tool any
//! filter disables is out (a disabled tool wins over an enabled one).

use std::fmt;

use super::source::RequirementSource;

/// `enabled_tools` and `disabled_tools` of one place.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolFilter {
    /// When set, only these tools.
    pub enabled: Option<Vec<String>>,
    /// Never these tools.
    pub disabled: Option<Vec<String>>,
}

impl ToolFilter {
    /// Whether the filter says anything.
    pub fn is_empty(&self) -> bool {
        self.enabled.is_none() && self.disabled.is_none()
    }
}

/// Where a filter was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterOrigin {
    /// The user's config (`mcp_servers.NAME`).
    User,
    /// An allowlist entry of a requirements layer.
    Rule {
        /// The layer.
        source: RequirementSource,
        /// The entry's key path.
        rule: String,
    },
}

impl fmt::Display for FilterOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FilterOrigin::User => f.write_str("config"),
            FilterOrigin::Rule { source, rule } => write!(f, "requirements ({source}): {rule}"),
        }
    }
}

/// Every filter that applies to one server, user's first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolRules {
    filters: Vec<(FilterOrigin, ToolFilter)>,
}

/// Why a tool is not offered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolRefusal {
    /// The filter that removed it.
    pub origin: FilterOrigin,
    /// `disabled_tools` lists it, or `enabled_tools` does not.
    pub disabled: bool,
}

impl ToolRefusal {
    /// Whether an admin rule removed the tool (not the user's own filter).
    pub fn by_admin(&self) -> bool {
        matches!(self.origin, FilterOrigin::Rule { .. })
    }
}

impl fmt::Display for ToolRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = if self.disabled {
            "disabled_tools lists it"
        } else {
            "enabled_tools does not list it"
        };
        write!(f, "{}: {list}", self.origin)
    }
}

impl ToolRules {
    /// Rules from these filters; empty ones are dropped.
    pub fn new(filters: impl IntoIterator<Item = (FilterOrigin, ToolFilter)>) -> Self {
        ToolRules {
            filters: filters
                .into_iter()
                .filter(|(_, filter)| !filter.is_empty())
                .collect(),
        }
    }

    /// Every filter, user's first.
    pub fn filters(&self) -> &[(FilterOrigin, ToolFilter)] {
        &self.filters
    }

    /// `None` when `tool` may be offered, else the filter that removes it.
    /// A filter that disables it wins over any that only fails to enable it.
    pub fn refusal(&self, tool: &str) -> Option<ToolRefusal> {
        let tool = tool.to_owned();
        let disabled = self.filters.iter().find(|(_, filter)| {
            filter
                .disabled
                .as_ref()
                .is_some_and(|list| list.contains(&tool))
        });
        if let Some((origin, _)) = disabled {
            return Some(ToolRefusal {
                origin: origin.clone(),
                disabled: true,
            });
        }
        self.filters
            .iter()
            .find(|(_, filter)| {
                filter
                    .enabled
                    .as_ref()
                    .is_some_and(|list| !list.contains(&tool))
            })
            .map(|(origin, _)| ToolRefusal {
                origin: origin.clone(),
                disabled: false,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rule(n: usize) -> FilterOrigin {
        FilterOrigin::Rule {
            source: RequirementSource::EnvBase64,
            rule: format!("mcp_server_allowlist.r{n}"),
        }
    }

    fn list(items: &[&str]) -> Option<Vec<String>> {
        Some(items.iter().map(|s| (*s).to_owned()).collect())
    }

    #[test]
    fn filters_intersect_and_disabled_wins() {
        let rules = ToolRules::new([
            (
                FilterOrigin::User,
                ToolFilter {
                    enabled: list(&["a", "b", "c"]),
                    disabled: None,
                },
            ),
            (
                rule(0),
                ToolFilter {
                    enabled: list(&["a", "b", "d"]),
                    disabled: list(&["b"]),
                },
            ),
        ]);
        assert_eq!(rules.refusal("a"), None);
        let b = rules.refusal("b").expect("b is disabled");
        assert!(b.disabled && b.by_admin());
        assert_eq!(
            b.to_string(),
            "requirements (CODEX_REQUIREMENTS_TOML_BASE64): mcp_server_allowlist.r0: disabled_tools lists it"
        );
        assert_eq!(rules.refusal("c").map(|r| r.by_admin()), Some(true));
        assert_eq!(rules.refusal("d").map(|r| r.by_admin()), Some(false));
        assert_eq!(ToolRules::default().refusal("anything"), None);
    }

    fn arb_filter() -> impl Strategy<Value = ToolFilter> {
        let names = prop::collection::vec(prop::sample::select(vec!["a", "b", "c", "d"]), 0..4)
            .prop_map(|v| v.into_iter().map(str::to_owned).collect::<Vec<_>>());
        (prop::option::of(names.clone()), prop::option::of(names))
            .prop_map(|(enabled, disabled)| ToolFilter { enabled, disabled })
    }

    proptest! {
        /// Tightening any layer's filter (adding a filter, removing a name
        /// from an `enabled_tools` list or adding one to `disabled_tools`)
        /// never exposes a tool.
        #[test]
        fn tightening_a_filter_never_exposes_a_tool(
            filters in prop::collection::vec(arb_filter(), 0..4),
            extra in arb_filter(),
            which in 0usize..4,
            name in prop::sample::select(vec!["a", "b", "c", "d"]),
            tool in prop::sample::select(vec!["a", "b", "c", "d"]),
        ) {
            let origins = |filters: &[ToolFilter]| -> ToolRules {
                ToolRules::new(filters.iter().cloned().enumerate().map(|(i, f)| (rule(i), f)))
            };
            let before = origins(&filters).refusal(tool).is_none();
            // A new filter.
            let mut more = filters.clone();
            more.push(extra);
            prop_assert!(before || origins(&more).refusal(tool).is_some());
            if filters.is_empty() {
                return Ok(());
            }
            let i = which % filters.len();
            // One name fewer in an enabled list.
            let mut fewer = filters.clone();
            if let Some(enabled) = &mut fewer[i].enabled {
                enabled.retain(|n| n != name);
            }
            prop_assert!(before || origins(&fewer).refusal(tool).is_some());
            // One name more in a disabled list.
            let mut disabled = filters.clone();
            disabled[i].disabled.get_or_insert_with(Vec::new).push(name.to_owned());
            prop_assert!(before || origins(&disabled).refusal(tool).is_some());
        }
    }
}
