//! The detail view's live feed: watches of the microservice's workload (by name), its pods (by
//! selector) and the Events of both, each change rebuilding the `Detail` the view shows.
//! No polling: a part the credentials may not watch says `forbidden` and is not asked again.
//!
//! The table already knows the workload's kind, the pods' selector and the Service's ports
//! (`Seed`), so every watch starts at once instead of after a read of the workload: opening
//! the view costs one round trip for the lists, then one more for the Events of the pods
//! listed.

use std::collections::{BTreeMap, BTreeSet};

use futures::{Stream, StreamExt};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, watcher};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::event_watches::EventWatches;
use super::fetch::{as_slice, deployment_line, statefulset_line};
use super::replica_sets;
use super::watched::{Named, Set, Watched, wrap};
use super::{Detail, Objects, Part, WorkloadLine, build};
use crate::metrics::{self, Usage};
use crate::model::{Microservice, ServicePortInfo, WorkloadKind};

/// What the table knows of a microservice, enough to start every watch of the view at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seed {
    pub namespace: String,
    pub name: String,
    pub kind: Option<WorkloadKind>,
    /// The pods' label selector (`app=data`); None when nothing selects pods.
    pub selector: Option<String>,
    pub ports: Vec<ServicePortInfo>,
}

impl Seed {
    pub fn of(row: &Microservice) -> Seed {
        Seed {
            namespace: row.namespace.clone(),
            name: row.name.clone(),
            kind: row.workload_kind,
            selector: row.selector.selector_string(),
            ports: row.ports.clone(),
        }
    }
}

/// Follows the seeded microservice until `cancel`, sending each new `Detail` on `tx`.
pub fn spawn(
    client: kube::Client,
    seed: Seed,
    tx: watch::Sender<Detail>,
    cancel: CancellationToken,
) {
    tokio::spawn(async move {
        tokio::select! {
            _ = cancel.cancelled() => {}
            _ = follow(client, &seed, &tx, cancel.clone()) => {}
        }
    });
}

async fn follow(
    client: kube::Client,
    seed: &Seed,
    tx: &watch::Sender<Detail>,
    cancel: CancellationToken,
) {
    let (namespace, name) = (seed.namespace.as_str(), seed.name.as_str());
    let by_name = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let mut workload_stream: Option<Watched<WorkloadObject>> = match seed.kind {
        Some(WorkloadKind::Deployment) => Some(
            watcher(
                Api::<Deployment>::namespaced(client.clone(), namespace),
                by_name,
            )
            .default_backoff()
            .map(|e| e.map(|e| wrap(e, WorkloadObject::Deployment)))
            .boxed(),
        ),
        Some(WorkloadKind::StatefulSet) => Some(
            watcher(
                Api::<StatefulSet>::namespaced(client.clone(), namespace),
                by_name,
            )
            .default_backoff()
            .map(|e| e.map(|e| wrap(e, WorkloadObject::StatefulSet)))
            .boxed(),
        ),
        None => None,
    };
    let mut pods_stream: Option<Watched<Pod>> = seed.selector.as_ref().map(|selector| {
        watcher(
            Api::<Pod>::namespaced(client.clone(), namespace),
            watcher::Config::default().labels(selector),
        )
        .default_backoff()
        .boxed()
    });
    // A Deployment's ReplicaSets carry the Events of pods that could not be made.
    let mut sets_stream: Option<Watched<ReplicaSet>> = match (&seed.kind, &seed.selector) {
        (Some(WorkloadKind::Deployment), Some(selector)) => Some(
            watcher(
                Api::<ReplicaSet>::namespaced(client.clone(), namespace),
                watcher::Config::default().labels(selector),
            )
            .default_backoff()
            .boxed(),
        ),
        _ => None,
    };
    let mut sets: Set<ReplicaSet> = Set::new();
    if sets_stream.is_none() {
        sets.part = Part::Ready(());
    }
    let mut events = EventWatches::new(client.clone(), namespace);
    events.follow(
        BTreeSet::from([name.to_string()]),
        pods_stream.is_none() && sets_stream.is_none(),
    );
    let mut workloads: Set<WorkloadObject> = Set::new();
    if workload_stream.is_none() {
        workloads.part = Part::Ready(());
    }
    let mut pods: Set<Pod> = Set::new();
    if pods_stream.is_none() {
        pods.part = Part::Ready(());
    }
    // The metrics API is read by a task of its own, so a slow read never holds up the watches.
    let (usage_tx, mut usage_rx) = mpsc::channel(1);
    if let Some(selector) = &seed.selector {
        tokio::spawn(read_metrics(
            client.clone(),
            namespace.to_string(),
            selector.clone(),
            usage_tx,
            cancel,
        ));
    }
    let mut workload_line: Option<WorkloadLine> = None;
    let mut usage: Option<BTreeMap<String, Usage>> = None;
    let started = std::time::Instant::now();
    let mut complete = false;
    loop {
        let changed = tokio::select! {
            Some(pods) = usage_rx.recv() => {
                let changed = usage.as_ref() != Some(&pods);
                usage = Some(pods);
                changed
            }
            Some(event) = next(&mut workload_stream) => {
                let changed = workloads.apply(event);
                workload_line = workloads.items.values().next().map(WorkloadObject::line);
                if workloads.forbidden() { workload_stream = None; }
                changed
            }
            Some(event) = next(&mut pods_stream) => {
                let changed = pods.apply(event);
                if pods.forbidden() { pods_stream = None; }
                let (names, known) = followed(name, &pods, &sets);
                events.follow(names, known);
                changed
            }
            Some(event) = next(&mut sets_stream) => {
                // Not served, or not ours to read: the view shows no ReplicaSet Events, and
                // says nothing about it (the sets themselves are not shown).
                let absent = event.as_ref().is_err_and(replica_sets::not_served);
                if !absent {
                    sets.apply(event);
                }
                if absent || sets.forbidden() {
                    sets_stream = None;
                    sets = Set::new();
                    sets.part = Part::Ready(());
                }
                let (names, known) = followed(name, &pods, &sets);
                events.follow(names, known);
                false
            }
            changed = events.next() => changed,
            else => return,
        };
        if !changed {
            continue;
        }
        let (pod_list, event_list) = (pods.part(), events.part());
        let loading = [&workloads.part, &pods.part]
            .iter()
            .any(|p| matches!(p, Part::Loading))
            || matches!(event_list, Part::Loading);
        if !complete && !loading {
            complete = true;
            tracing::debug!(
                target: "hasura_tui::detail",
                took_ms = started.elapsed().as_millis() as u64,
                "{namespace}/{name}: every part read"
            );
        }
        let detail = build(Objects {
            namespace,
            name,
            workload: workloads.part.map(|()| workload_line.clone()),
            ports: &seed.ports,
            pods: as_slice(&pod_list),
            events: as_slice(&event_list),
            usage: usage.as_ref(),
        });
        if tx.send(detail).is_err() {
            return;
        }
    }
}

/// The objects whose Events the view follows (the microservice's own name, its pods, its
/// ReplicaSets meant to have pods), and whether that list is complete.
fn followed(name: &str, pods: &Set<Pod>, sets: &Set<ReplicaSet>) -> (BTreeSet<String>, bool) {
    let mut names: BTreeSet<String> = pods.items.keys().cloned().collect();
    names.extend(replica_sets::followed(sets.items.values(), name));
    names.insert(name.to_string());
    let known = !matches!(pods.part, Part::Loading) && !matches!(sets.part, Part::Loading);
    (names, known)
}

/// Reads the pods' metrics every `metrics::INTERVAL` and sends what changed, until the view
/// closes or the cluster turns out to have no metrics API.
async fn read_metrics(
    client: kube::Client,
    namespace: String,
    selector: String,
    tx: mpsc::Sender<BTreeMap<String, Usage>>,
    cancel: CancellationToken,
) {
    let mut tick = tokio::time::interval(metrics::INTERVAL);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        match metrics::read(&client, &namespace, &selector).await {
            metrics::Answer::Pods(pods) => {
                if tx.send(pods).await.is_err() {
                    return;
                }
            }
            metrics::Answer::NotServed | metrics::Answer::Forbidden(_) => return,
            metrics::Answer::Failed(why) => tracing::debug!("metrics: {why}"),
        }
    }
}

/// The next item of a stream that may be gone; pending while it is.
async fn next<T>(
    stream: &mut Option<std::pin::Pin<Box<dyn Stream<Item = T> + Send>>>,
) -> Option<T> {
    match stream {
        Some(s) => s.next().await,
        None => std::future::pending().await,
    }
}

#[derive(Clone)]
enum WorkloadObject {
    Deployment(Deployment),
    StatefulSet(StatefulSet),
}

impl WorkloadObject {
    fn line(&self) -> WorkloadLine {
        match self {
            WorkloadObject::Deployment(d) => deployment_line(d),
            WorkloadObject::StatefulSet(s) => statefulset_line(s),
        }
    }
}

impl Named for WorkloadObject {
    fn name(&self) -> String {
        let meta = match self {
            WorkloadObject::Deployment(d) => &d.metadata,
            WorkloadObject::StatefulSet(s) => &s.metadata,
        };
        meta.name.clone().unwrap_or_default()
    }
}
