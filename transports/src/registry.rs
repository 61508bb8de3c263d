//! [`TransportRegistry`]: the plugins by kind.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::config::{TransportConfig, TransportKind};
use crate::error::ConnectError;
use crate::handshake::{McpClient, TransportPluginExt};
use crate::identity::Identity;
use crate::plugin::{ConnectContext, Connection, TransportPlugin};
use crate::sse::SsePlugin;
use crate::stdio::StdioPlugin;
use crate::streamable::StreamableHttpPlugin;

/// The transport plugins, one per [`TransportKind`].
///
/// [`TransportRegistry::default`] registers stdio, streamable HTTP and
/// legacy SSE.
#[derive(Debug)]
pub struct TransportRegistry {
    plugins: BTreeMap<TransportKind, Box<dyn TransportPlugin>>,
}

impl Default for TransportRegistry {
    fn default() -> Self {
        let mut registry = TransportRegistry::empty();
        registry.register(Box::new(StdioPlugin));
        registry.register(Box::new(StreamableHttpPlugin));
        registry.register(Box::new(SsePlugin));
        registry
    }
}

impl TransportRegistry {
    /// A registry with no plugins.
    pub fn empty() -> Self {
        TransportRegistry {
            plugins: BTreeMap::new(),
        }
    }

    /// Registers `plugin` for its kind, returning the plugin it replaces.
    pub fn register(
        &mut self,
        plugin: Box<dyn TransportPlugin>,
    ) -> Option<Box<dyn TransportPlugin>> {
        self.plugins.insert(plugin.kind(), plugin)
    }

    /// The plugin for `kind`.
    pub fn get(&self, kind: TransportKind) -> Result<&dyn TransportPlugin, ConnectError> {
        self.plugins
            .get(&kind)
            .map(|plugin| &**plugin)
            .ok_or(ConnectError::UnknownKind { kind })
    }

    /// The identity the policy matches for `config`, from its plugin.
    pub fn identity(&self, config: &TransportConfig) -> Result<Identity, ConnectError> {
        self.get(config.kind())?.identity(config)
    }

    /// Opens `config`'s transport with its plugin; see
    /// [`TransportPlugin::connect`], including its admission rule.
    pub async fn connect(
        &self,
        config: &TransportConfig,
        ctx: &ConnectContext,
    ) -> Result<Connection, ConnectError> {
        self.get(config.kind())?.connect(config, ctx).await
    }

    /// Connects and initialises within `timeout`; see
    /// [`TransportPluginExt::connect_and_initialize`]. Callers must only
    /// pass configs that the policy's admission function allowed.
    pub async fn connect_and_initialize(
        &self,
        config: &TransportConfig,
        ctx: &ConnectContext,
        timeout: Duration,
    ) -> Result<McpClient, ConnectError> {
        self.get(config.kind())?
            .connect_and_initialize(config, ctx, timeout)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::StdioConfig;

    #[test]
    fn a_plugin_reports_the_identity_of_its_own_kind_only() {
        let stdio = TransportConfig::Stdio(StdioConfig {
            command: "srv".to_owned(),
            args: vec!["--x".to_owned()],
            env: BTreeMap::new(),
            env_vars: Vec::new(),
            cwd: None,
        });
        let registry = TransportRegistry::default();
        for kind in TransportKind::ALL {
            let plugin = registry.get(kind).expect("every kind is registered");
            let got = plugin.identity(&stdio);
            if kind == TransportKind::Stdio {
                assert_eq!(got.ok(), Some(stdio.identity()));
            } else {
                assert!(
                    matches!(
                        got,
                        Err(ConnectError::KindMismatch {
                            plugin,
                            config: TransportKind::Stdio,
                        }) if plugin == kind
                    ),
                    "{kind}: {got:?}"
                );
            }
        }
    }
}
