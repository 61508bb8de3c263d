//! The policy actor's actix shell: reads the sources off the actor thread,
//! feeds the [`Machine`], and carries out its effects: publishing the
//! snapshot, ordering the session, recording verdicts, warning, and
//! keeping one config-source actor per watched file in its own subtree.
//!
//! The only file of this actor kind that knows actix.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use actix::fut::wrap_future;
use actix::prelude::*;
use codex_runtime::{ChildId, ChildSpec, Restart, SupervisorHandle};
use futures::future::BoxFuture;
use tokio::sync::{mpsc, oneshot, watch};

use super::machine::{Effect, Evaluation, Input, Machine};
use super::{Apply, PolicyError, PolicySnapshot, PolicySources, RestartVerdict};
use crate::audit_log::{AuditEntry, AuditSink};
use crate::config::{LoadOptions, config_files, load_config};
use crate::config_source::ConfigSourceActor;
use crate::policy::{
    AuditEvent, McpServers, Purpose, Requirements, constrain_servers, load_requirements, tool_locks,
};
use crate::sink::EventSink;

/// Config and requirements the caller already loaded and admitted, so a
/// session started right after (as `codex mcp tools` does) neither reads
/// the files nor admits the servers a second time.
#[derive(Debug, Clone)]
pub struct Preloaded {
    /// Every configured server with its admission.
    pub servers: McpServers,
    /// The requirements they were admitted under.
    pub requirements: Requirements,
    /// `mcp_tools_lock_new = "allow"` in the user's config.
    pub tools_lock_allows_new: bool,
}

/// How the session applies orders: resolves once they are carried out
/// (`false` when the session is gone).
pub(crate) type Orders = Arc<dyn Fn(Apply) -> BoxFuture<'static, bool> + Send + Sync>;

/// What every incarnation of the policy actor shares: its sources, the
/// channel it publishes on, and where its effects go.
pub(crate) struct PolicyInit {
    pub(crate) sources: PolicySources,
    pub(crate) publish: watch::Sender<Arc<PolicySnapshot>>,
    pub(crate) orders: Orders,
    /// The audit log: its files follow the requirements in force, and
    /// every changed verdict is a line.
    pub(crate) audit: AuditSink,
    /// Every changed verdict, for the session's subscribers.
    pub(crate) decisions: EventSink<AuditEvent>,
    pub(crate) warnings: EventSink<String>,
    /// The policy's own subtree, where its config sources run.
    pub(crate) subtree: Arc<OnceLock<SupervisorHandle>>,
    /// The caller's first load, used once.
    pub(crate) preloaded: Mutex<Option<Preloaded>>,
    /// Told how the first evaluation went; `Session::start` waits on it.
    pub(crate) first: Mutex<Option<oneshot::Sender<Result<(), PolicyError>>>>,
    pub(crate) next_source: AtomicU64,
}

impl std::fmt::Debug for PolicyInit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyInit")
            .field("sources", &self.sources)
            .finish_non_exhaustive()
    }
}

type Reply = oneshot::Sender<Result<(), PolicyError>>;

/// Owns the policy in force.
pub(crate) struct PolicyActor {
    init: Arc<PolicyInit>,
    machine: Machine,
    /// An evaluation is in flight.
    busy: bool,
    /// A source changed while one was in flight.
    dirty: bool,
    /// Explicit reloads waiting for their own evaluation.
    queue: VecDeque<Reply>,
    /// Each watched file's source actor.
    watches: BTreeMap<PathBuf, ChildId>,
    changes: Option<mpsc::UnboundedSender<PathBuf>>,
}

impl std::fmt::Debug for PolicyActor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyActor")
            .field("watches", &self.watches)
            .finish_non_exhaustive()
    }
}

impl PolicyActor {
    /// An incarnation that resumes from the snapshot in force (0 for a new
    /// session), so versions only grow and verdicts are compared with what
    /// was last decided.
    pub(crate) fn new(init: Arc<PolicyInit>) -> Self {
        let current = Arc::clone(&init.publish.borrow());
        PolicyActor {
            machine: Machine::resume(current),
            init,
            busy: false,
            dirty: true,
            queue: VecDeque::new(),
            watches: BTreeMap::new(),
            changes: None,
        }
    }

    /// Starts the next evaluation, if one is wanted and none is running.
    fn evaluate_next(&mut self, ctx: &mut Context<Self>) {
        if self.busy {
            return;
        }
        let reply = self.queue.pop_front();
        if reply.is_none() && !self.dirty {
            return;
        }
        self.busy = true;
        self.dirty = false;
        let init = Arc::clone(&self.init);
        let preloaded = lock(&init.preloaded).take();
        let task = tokio::task::spawn_blocking(move || match preloaded {
            Some(preloaded) => from_preloaded(&init.sources, preloaded),
            None => load(&init.sources),
        });
        ctx.spawn(wrap_future::<_, Self>(task).then(move |joined, act, ctx| {
            let result = match joined {
                Ok(result) => result,
                Err(err) => Err(PolicyError::Task(err.to_string())),
            };
            let first = lock(&act.init.first).take();
            let (apply, outcome) = match result {
                Ok(evaluation) => {
                    let effects = act.machine.step(Input::Evaluated(Box::new(evaluation)));
                    (act.perform(effects, ctx), Ok(()))
                }
                // The first load's error is the session's own; later
                // ones keep the last good policy and warn.
                Err(err) if first.is_some() => (None, Err(err)),
                Err(err) => {
                    let message = err.to_string();
                    let effects = act.machine.step(Input::LoadFailed { message });
                    (act.perform(effects, ctx), Err(err))
                }
            };
            wrap_future::<_, Self>(async move {
                if let Some(apply) = apply {
                    apply.await;
                }
            })
            .map(move |(), act, ctx| {
                match (first, reply) {
                    (Some(first), _) => {
                        let _ = first.send(outcome);
                    }
                    (None, Some(reply)) => {
                        let _ = reply.send(outcome);
                    }
                    (None, None) => {}
                }
                act.busy = false;
                act.evaluate_next(ctx);
            })
        }));
    }

    /// Carries out effects; returns the session's application of the
    /// orders, to wait on.
    fn perform(
        &mut self,
        effects: Vec<Effect>,
        ctx: &mut Context<Self>,
    ) -> Option<BoxFuture<'static, bool>> {
        let mut apply = None;
        for effect in effects {
            match effect {
                Effect::Publish(snapshot) => {
                    tracing::debug!(version = snapshot.version, "policy snapshot");
                    // The audit files first: the decisions below go there.
                    let files = snapshot
                        .requirements
                        .iter()
                        .flat_map(|requirements| requirements.layers.iter())
                        .filter_map(|layer| layer.audit_log.clone())
                        .collect();
                    self.init.audit.configure(files);
                    self.init.publish.send_replace(snapshot);
                }
                Effect::Apply(orders) => apply = Some((self.init.orders)(orders)),
                Effect::Audit(event) => {
                    tracing::info!(
                        server = %event.server,
                        identity = %event.identity,
                        allowed = event.allowed,
                        detail = %event.detail,
                        "admission"
                    );
                    self.init.audit.record(AuditEntry::Admission(event.clone()));
                    self.init.decisions.report(event);
                }
                Effect::Warn(message) => {
                    tracing::warn!("{message}; the last good policy stays in force");
                    self.init.warnings.report(message);
                }
                Effect::Watch(paths) => self.watch(paths, ctx),
            }
        }
        apply
    }

    /// Keeps one config-source actor per path in `paths`.
    fn watch(&mut self, paths: BTreeSet<PathBuf>, ctx: &mut Context<Self>) {
        let Some(subtree) = self.init.subtree.get().cloned() else {
            return;
        };
        let changes = match &self.changes {
            Some(changes) => changes.clone(),
            None => return,
        };
        let gone: Vec<ChildId> = self
            .watches
            .iter()
            .filter(|(path, _)| !paths.contains(*path))
            .map(|(_, id)| id.clone())
            .collect();
        self.watches.retain(|path, _| paths.contains(path));
        let mut specs = Vec::new();
        for path in paths {
            if self.watches.contains_key(&path) {
                continue;
            }
            let n = self.init.next_source.fetch_add(1, Ordering::Relaxed);
            let id = ChildId::new(format!("source:{n}"));
            self.watches.insert(path.clone(), id.clone());
            let debounce = self.init.sources.debounce;
            let changes = changes.clone();
            let (spec, _) = ChildSpec::actor(id, move |_| {
                Ok(ConfigSourceActor::new(
                    path.clone(),
                    debounce,
                    changes.clone(),
                ))
            });
            // Temporary: when the policy actor restarts, its subtree drops
            // the old sources and the new incarnation starts its own.
            specs.push(spec.restart(Restart::Temporary));
        }
        ctx.spawn(wrap_future(async move {
            for id in gone {
                let _ = subtree.terminate_child(id).await;
            }
            for spec in specs {
                if let Err(err) = subtree.start_child(spec).await {
                    tracing::warn!("cannot start a config source: {err}");
                }
            }
        }));
    }
}

impl Actor for PolicyActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let (tx, mut rx) = mpsc::unbounded_channel::<PathBuf>();
        self.changes = Some(tx);
        ctx.add_stream(futures::stream::poll_fn(move |cx| {
            rx.poll_recv(cx).map(|path| path.map(SourceChanged))
        }));
        self.evaluate_next(ctx);
    }
}

/// A watched file changed (debounced by its source).
#[derive(Debug)]
struct SourceChanged(PathBuf);

impl StreamHandler<SourceChanged> for PolicyActor {
    fn handle(&mut self, SourceChanged(path): SourceChanged, ctx: &mut Context<Self>) {
        tracing::info!(path = %path.display(), "policy source changed");
        self.dirty = true;
        self.evaluate_next(ctx);
    }

    /// The sources' channel never closes while the actor holds a sender.
    fn finished(&mut self, _ctx: &mut Context<Self>) {}
}

/// Reads every source now (not waiting for a watch) and applies the
/// result; answers once the session carried out the orders, or with why
/// the sources could not be read (the last good policy then stays).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(crate) struct Reload(pub(crate) Reply);

impl Handler<Reload> for PolicyActor {
    type Result = ();

    fn handle(&mut self, Reload(reply): Reload, ctx: &mut Context<Self>) {
        self.queue.push_back(reply);
        self.evaluate_next(ctx);
    }
}

/// A restart's own verdict.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(crate) struct Restarted(pub(crate) RestartVerdict);

impl Handler<Restarted> for PolicyActor {
    type Result = ();

    fn handle(&mut self, Restarted(verdict): Restarted, ctx: &mut Context<Self>) {
        let effects = self.machine.step(Input::Restarted(Box::new(verdict)));
        // A restart verdict orders nothing; the session learns of a refused
        // restart from the server itself.
        let _ = self.perform(effects, ctx);
    }
}

/// Reads config, requirements and locks, and admits every server.
fn load(sources: &PolicySources) -> Result<Evaluation, PolicyError> {
    let requirements = load_requirements(&sources.requirements)?.requirements;
    let config = load_config(&load_options(sources))?;
    if sources.strict_config {
        config.refuse_unknown_keys()?;
    }
    let servers = only(sources, config.mcp_servers);
    let admitted =
        constrain_servers(servers, &requirements, &sources.context, Purpose::Launch).into_inner();
    finish(
        sources,
        requirements,
        admitted,
        config.tools_lock_allows_new,
    )
}

/// The first evaluation, from what the caller loaded and admitted.
fn from_preloaded(
    sources: &PolicySources,
    preloaded: Preloaded,
) -> Result<Evaluation, PolicyError> {
    let servers = only(sources, preloaded.servers);
    finish(
        sources,
        preloaded.requirements,
        servers,
        preloaded.tools_lock_allows_new,
    )
}

/// Adds the locks in force and the files to watch.
fn finish(
    sources: &PolicySources,
    requirements: Requirements,
    servers: McpServers,
    allows_new: bool,
) -> Result<Evaluation, PolicyError> {
    let locks = if sources.tool_locks {
        tool_locks(&requirements, &sources.codex_home, allows_new)?
    } else {
        Vec::new()
    };
    let mut watch: BTreeSet<PathBuf> = config_files(&load_options(sources)).into_iter().collect();
    watch.insert(sources.requirements.system_file.clone());
    watch.extend(sources.requirements.env_file.clone());
    watch.extend(locks.iter().map(|lock| lock.origin().path().to_owned()));
    if sources.tool_locks {
        watch.insert(sources.codex_home.join(crate::policy::LOCK_FILE));
    }
    Ok(Evaluation {
        requirements,
        locks,
        servers,
        watch,
    })
}

fn load_options(sources: &PolicySources) -> LoadOptions {
    LoadOptions {
        codex_home: sources.codex_home.clone(),
        cwd: sources.cwd.clone(),
        overrides: sources.overrides.clone(),
        user_config: sources.user_config,
    }
}

/// Keeps only the servers `sources.only` names (all when empty).
fn only<T>(sources: &PolicySources, mut servers: BTreeMap<String, T>) -> BTreeMap<String, T> {
    if !sources.only.is_empty() {
        servers.retain(|name, _| sources.only.contains(name));
    }
    servers
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
