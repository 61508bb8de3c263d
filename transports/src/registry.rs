//! [`TransportRegistry`]: the plugins by kind.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::config::{TransportConfig, TransportKind};
use crate::error::ConnectError;
use crate::identity::Identity;
use crate::plugin::{ConnectContext, Connection, McpClient, TransportPlugin, TransportPluginExt};
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
