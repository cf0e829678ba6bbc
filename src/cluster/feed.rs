//! The feed task: spawns one resilient watch per kind and namespace (plus the gateway
//! ConfigMap), applies their updates to slim per-namespace stores, and publishes a new snapshot
//! at most once per coalescing window, only when something changed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, Service};
use k8s_openapi::api::networking::v1::Ingress;
use kube::Api;
use kube::runtime::watcher;
use tokio::sync::{mpsc, watch as tokio_watch};
use tokio_util::sync::CancellationToken;

use super::gateway_conf::{self, CONFIGMAP_NAME, GatewayFiles};
use super::namespaces::Namespaces;
use super::pending::PendingRequests;
use super::section::{KindState, SectionState};
use super::store::{ObjectKind, Slim};
use super::usage_reader::{self, UsageUpdate};
use super::watch::{self, Failure, Update};
use super::{Metrics, RouteSources, Snapshot};
use crate::model::pod_wire::PodWire;
use crate::model::{IngressInfo, PerSection, Routes, Section, WorkloadInfo};

/// Events closer together than this make one snapshot.
const COALESCE: Duration = Duration::from_millis(10);
/// Snapshots are at least this far apart: 20 a second at most. Under churn each snapshot costs a
/// redraw of the screen and a refilter of the changed table; 20 a second is a smooth update,
/// keeps the delay from a change to the screen well under 100 ms, and costs a third less CPU
/// than 30.
const MIN_INTERVAL: Duration = Duration::from_millis(50);
/// ...and at least this many times the last rebuild took, so a big cluster under heavy churn
/// spends a bounded share of a core on rebuilding (about 1/4) rather than all of it.
const BUILD_COST_FACTOR: u32 = 4;
const PAGE_SIZE: u32 = 500;
/// A request unanswered this long means the API server is stalled, not slow: a healthy one
/// answers a list, or a watch's headers, well within it.
const STALL_AFTER: Duration = Duration::from_secs(5);
/// How often the unanswered requests are looked at (in memory; nothing is sent).
const STALL_CHECK: Duration = Duration::from_secs(1);

#[derive(Clone, Debug)]
pub struct FeedConfig {
    pub namespaces: Namespaces,
    /// `--cluster-name`.
    pub cluster_name: Option<String>,
    /// The project's `data` for this cluster (the templates' `cluster.data`).
    pub cluster_data: Option<serde_json::Value>,
    /// The kubeconfig cluster's name, the last fallback for templates.
    pub kube_cluster_name: String,
    /// `--project`'s gateway files, read once; `None` watches the `hasura-conf` ConfigMap.
    pub project: Option<Result<GatewayFiles, String>>,
    /// The client's unanswered requests (`ClusterTarget::pending`), to notice a stalled server.
    pub pending: PendingRequests,
    /// Read the metrics API for the CPU and MEM columns (the dashboard; `list -o wide`).
    pub metrics: bool,
    /// Whether the tables are on screen (None: always); their figures are read only then.
    pub tables_shown: Option<tokio_watch::Receiver<bool>>,
}

enum Message {
    Objects {
        section: Section,
        kind: ObjectKind,
        update: Update<Slim>,
        rv: Option<u64>,
    },
    Gateway {
        update: Update<GatewayFiles>,
        rv: Option<u64>,
    },
    Usage {
        section: Section,
        update: UsageUpdate,
    },
}

/// Starts the feed. The snapshots stop when `stop` is cancelled or every receiver is gone.
pub fn spawn_feed(
    client: kube::Client,
    config: FeedConfig,
    stop: CancellationToken,
) -> tokio_watch::Receiver<Arc<Snapshot>> {
    let (tx, rx) = mpsc::channel::<Message>(1024);
    let mut feed = Feed::new(config);
    let mut tasks = Vec::new();
    for section in Section::ALL {
        let state = &mut feed.sections[section];
        let namespace = state.namespace.clone();
        tasks.extend(spawn_section_watches(&client, section, &namespace, &tx));
        if feed.config.metrics {
            state.metrics = Metrics::Reading;
            tasks.push(tokio::spawn(usage_reader::run(
                client.clone(),
                namespace.clone(),
                state.listed.subscribe(),
                feed.config.tables_shown.clone(),
                move |update| Message::Usage { section, update },
                tx.clone(),
            )));
        }
    }
    if feed.config.project.is_none() {
        let api: Api<ConfigMap> = Api::namespaced(client.clone(), &feed.config.namespaces.hasura);
        let wc = watcher::Config::default().fields(&format!("metadata.name={CONFIGMAP_NAME}"));
        tasks.push(tokio::spawn(watch::run(
            api,
            wc,
            |m| GatewayFiles::from(m),
            |update, rv| Message::Gateway { update, rv },
            tx.clone(),
        )));
    }
    drop(tx);
    feed.reparse_routes();
    let (out, out_rx) = tokio_watch::channel(Arc::new(feed.snapshot()));
    tokio::spawn(async move {
        feed.run(rx, out, stop).await;
        for task in tasks {
            task.abort();
        }
    });
    out_rx
}

/// For tests: how long each table watch may stay open, in seconds, instead of kube-rs's 290
/// (the API server ends it then and the watch resumes from where it was), so a test sees a
/// resumed watch meet a compacted history (410) within seconds.
pub const WATCH_TIMEOUT_ENV: &str = "HASURA_TUI_WATCH_TIMEOUT";

fn watch_timeout() -> Option<u32> {
    std::env::var(WATCH_TIMEOUT_ENV).ok()?.parse().ok()
}

fn spawn_section_watches(
    client: &kube::Client,
    section: Section,
    namespace: &str,
    tx: &mpsc::Sender<Message>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let wc = || {
        let config = watcher::Config::default().page_size(PAGE_SIZE);
        match watch_timeout() {
            Some(seconds) => config.timeout(seconds),
            None => config,
        }
    };
    let wrap = move |kind: ObjectKind| {
        move |update: Update<Slim>, rv| Message::Objects {
            section,
            kind,
            update,
            rv,
        }
    };
    vec![
        tokio::spawn(watch::run(
            Api::<Deployment>::namespaced(client.clone(), namespace),
            wc(),
            |d| Slim::Workload(WorkloadInfo::from(d)),
            wrap(ObjectKind::Deployment),
            tx.clone(),
        )),
        tokio::spawn(watch::run(
            Api::<StatefulSet>::namespaced(client.clone(), namespace),
            wc(),
            |s| Slim::Workload(WorkloadInfo::from(s)),
            wrap(ObjectKind::StatefulSet),
            tx.clone(),
        )),
        tokio::spawn(watch::run(
            Api::<Service>::namespaced(client.clone(), namespace),
            wc(),
            |s| Slim::Service(s.into()),
            wrap(ObjectKind::Service),
            tx.clone(),
        )),
        tokio::spawn(watch::run(
            // Only the fields the rows use are parsed (model::pod_wire).
            Api::<PodWire>::namespaced(client.clone(), namespace),
            wc(),
            |p| Slim::Pod(p.into()),
            wrap(ObjectKind::Pod),
            tx.clone(),
        )),
        tokio::spawn(watch::run(
            Api::<Ingress>::namespaced(client.clone(), namespace),
            wc(),
            |i| Slim::Ingress(i.into()),
            wrap(ObjectKind::Ingress),
            tx.clone(),
        )),
    ]
}

struct Feed {
    sections: PerSection<SectionState>,
    config: FeedConfig,
    gateway: Option<GatewayFiles>,
    /// Reading `--project`'s files failed.
    gateway_error: Option<String>,
    routes: Option<Arc<Routes>>,
    routes_error: Option<String>,
    /// The Ingresses of both namespaces as the last snapshot carried them.
    ingresses: Arc<Vec<IngressInfo>>,
    /// The gateway's ConfigMap has been listed (or failed): external URLs from routes are known.
    gateway_listed: bool,
    /// When the oldest request still unanswered after `STALL_AFTER` was sent.
    stalled_since: Option<Instant>,
    /// The gateway's ConfigMap may not be read.
    gateway_forbidden: bool,
    resource_version: u64,
    generation: u64,
}

impl Feed {
    /// The feed's state before anything is listed; `spawn_feed` starts what fills it.
    fn new(config: FeedConfig) -> Feed {
        let sections = PerSection::from_fn(|section| {
            let namespace = match section {
                Section::Custom => &config.namespaces.user,
                Section::Hasura => &config.namespaces.hasura,
            };
            SectionState::new(section, namespace.clone())
        });
        Feed {
            sections,
            gateway: config.project.clone().map(|p| p.ok()).unwrap_or(None),
            gateway_error: config
                .project
                .as_ref()
                .and_then(|p| p.as_ref().err().cloned()),
            routes: None,
            ingresses: Arc::default(),
            routes_error: None,
            // `--project` files are read up front; the ConfigMap has yet to be listed.
            gateway_listed: config.project.is_some(),
            stalled_since: None,
            gateway_forbidden: false,
            config,
            resource_version: 0,
            generation: 0,
        }
    }

    async fn run(
        &mut self,
        mut rx: mpsc::Receiver<Message>,
        out: tokio_watch::Sender<Arc<Snapshot>>,
        stop: CancellationToken,
    ) {
        let mut deadline: Option<tokio::time::Instant> = None;
        // When the next snapshot may go out at the earliest.
        let mut next_allowed = tokio::time::Instant::now();
        let mut stall_check = tokio::time::interval(STALL_CHECK);
        stall_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = out.closed() => return,
                _ = stall_check.tick() => {
                    if self.check_stall() && deadline.is_none() {
                        deadline = Some(tokio::time::Instant::now() + COALESCE);
                    }
                }
                message = rx.recv() => {
                    let Some(message) = message else { return };
                    self.apply(message);
                    if self.sections.iter().any(|s| s.dirty) && deadline.is_none() {
                        let soon = tokio::time::Instant::now() + COALESCE;
                        deadline = Some(soon.max(next_allowed));
                    }
                }
                _ = async { tokio::time::sleep_until(deadline.unwrap_or_else(tokio::time::Instant::now)).await }, if deadline.is_some() => {
                    deadline = None;
                    let started = tokio::time::Instant::now();
                    out.send_replace(Arc::new(self.snapshot()));
                    let took = started.elapsed();
                    tracing::debug!(target: "hasura_tui::feed", took_us = took.as_micros() as u64, "snapshot built");
                    let spacing = MIN_INTERVAL.max(took * BUILD_COST_FACTOR);
                    next_allowed = started + spacing;
                }
            }
        }
    }

    /// Notices a stall starting or ending. Returns whether a new snapshot is due.
    fn check_stall(&mut self) -> bool {
        let stalled = self
            .config
            .pending
            .oldest()
            .filter(|sent| sent.elapsed() >= STALL_AFTER);
        if stalled == self.stalled_since {
            return false;
        }
        match (self.stalled_since, stalled) {
            (None, Some(_)) => tracing::warn!("a request has had no answer for {STALL_AFTER:?}"),
            (Some(_), None) => tracing::info!("the API server answers again"),
            _ => {}
        }
        self.stalled_since = stalled;
        self.sections.iter_mut().for_each(|s| s.dirty = true);
        true
    }

    fn apply(&mut self, message: Message) {
        match message {
            Message::Objects {
                section,
                kind,
                update,
                rv,
            } => {
                if let Some(rv) = rv {
                    self.resource_version = self.resource_version.max(rv);
                }
                let state = &mut self.sections[section];
                match update {
                    Update::Listed(objects) => {
                        state.store.replace_kind(kind, objects);
                        state.set_kind(kind, KindState::Synced);
                        let hidden = state
                            .forbidden_kinds()
                            .iter()
                            .any(|k| matches!(k, ObjectKind::Deployment | ObjectKind::StatefulSet));
                        state.store.set_workloads_forbidden(hidden);
                        state.dirty = true;
                    }
                    Update::Applied(object) => {
                        state.dirty |= state.store.upsert(object);
                    }
                    Update::Deleted(name) => {
                        state.dirty |= state.store.remove(kind, &name);
                    }
                    Update::Failed(failure) => {
                        match failure {
                            // What these credentials may not see must not linger on screen:
                            // that kind only; the others still make rows.
                            Failure::Forbidden(_) => {
                                state.store.replace_kind(kind, Vec::new());
                                state.dirty = true;
                            }
                            Failure::Unauthorized(_) => {
                                state.store.clear();
                                state.ever_synced = false;
                                state.dirty = true;
                            }
                            Failure::Unreachable(_) => {}
                        }
                        state.set_kind(kind, KindState::Failed(failure));
                        let hidden = state
                            .forbidden_kinds()
                            .iter()
                            .any(|k| matches!(k, ObjectKind::Deployment | ObjectKind::StatefulSet));
                        state.store.set_workloads_forbidden(hidden);
                    }
                }
            }
            Message::Usage { section, update } => {
                let state = &mut self.sections[section];
                match update {
                    UsageUpdate::Read(pods) => {
                        state.dirty |= state.store.set_usage(Some(pods));
                        state.dirty |= state.metrics != Metrics::Served;
                        state.metrics = Metrics::Served;
                    }
                    UsageUpdate::Unavailable => {
                        state.store.set_usage(None);
                        state.metrics = Metrics::Off;
                        state.dirty = true;
                    }
                }
            }
            Message::Gateway { update, rv } => {
                if let Some(rv) = rv {
                    self.resource_version = self.resource_version.max(rv);
                }
                if !self.gateway_listed {
                    self.gateway_listed = true;
                    // Publish even when the routes did not change (no ConfigMap at all).
                    self.sections.hasura.dirty = true;
                }
                let forbidden = matches!(update, Update::Failed(Failure::Forbidden(_)));
                if forbidden != self.gateway_forbidden {
                    self.gateway_forbidden = forbidden;
                    self.sections.hasura.dirty = true;
                }
                let files = match update {
                    Update::Listed(mut maps) => maps.pop(),
                    Update::Applied(files) => Some(files),
                    Update::Deleted(_) => None,
                    // May not be read: no routes (and a note says why).
                    Update::Failed(Failure::Forbidden(_)) => None,
                    // The tables say what is wrong with the namespace; keep the last routes.
                    Update::Failed(_) => return,
                };
                if files != self.gateway {
                    self.gateway = files;
                    self.reparse_routes();
                }
            }
        }
    }

    fn cluster_name(&self) -> String {
        gateway_conf::cluster_name(
            self.config.cluster_name.as_deref(),
            self.gateway.as_ref(),
            &self.config.kube_cluster_name,
        )
    }

    fn reparse_routes(&mut self) {
        let (routes, error) = match gateway_conf::routes_of(
            self.gateway.as_ref(),
            &self.cluster_name(),
            &self.config.namespaces,
            self.config.cluster_data.as_ref(),
        ) {
            Ok(routes) => (routes, self.gateway_error.clone()),
            // A bad file is reported and skipped: rows keep every other source of URLs.
            Err(e) => (None, Some(e)),
        };
        self.routes = routes.map(Arc::new);
        self.routes_error = error;
        for state in self.sections.iter_mut() {
            state.store.mark_all();
            state.dirty = true;
        }
    }

    fn snapshot(&mut self) -> Snapshot {
        for state in self.sections.iter_mut() {
            let listed = state.kinds.values().all(|k| *k != KindState::Syncing);
            if listed && !*state.listed.borrow() {
                state.listed.send_replace(true);
            }
            if state.dirty && listed {
                state.rebuild_rows(self.routes.as_deref());
                if state.kinds.values().all(|k| *k == KindState::Synced) {
                    state.ever_synced = true;
                }
            }
            state.dirty = false;
        }
        self.generation += 1;
        let ingresses = || (self.sections.iter()).flat_map(|s| s.store.objects().ingresses.iter());
        // Compared before copied: under churn the Ingresses rarely change.
        if !self.ingresses.iter().eq(ingresses()) {
            self.ingresses = Arc::new(ingresses().cloned().collect());
        }
        let mut sections = PerSection::from_fn(|s| self.sections[s].view(self.stalled_since));
        if self.gateway_forbidden {
            sections.hasura.notes.push(format!(
                "configmap {CONFIGMAP_NAME}: forbidden (no gateway routes)"
            ));
        }
        Snapshot {
            sections,
            routes_error: self.routes_error.clone(),
            routes_listed: self.gateway_listed,
            route_sources: RouteSources {
                gateway: self.routes.clone(),
                ingresses: self.ingresses.clone(),
            },
            cluster_name: self.cluster_name(),
            resource_version: self.resource_version,
            generation: self.generation,
        }
    }
}

#[cfg(test)]
#[path = "feed_tests.rs"]
mod tests;
