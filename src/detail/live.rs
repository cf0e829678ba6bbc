//! The detail view's live feed: watches of the microservice's workload (by name), its pods (by
//! selector) and the namespace's Events, each change rebuilding the `Detail` the view shows.
//! No polling: a part the credentials may not watch says `forbidden` and is not asked again.

use std::collections::{BTreeMap, BTreeSet};

use futures::{Stream, StreamExt};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, watcher};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::event_watches::EventWatches;
use super::fetch::{Found, Workload, as_slice, deployment_line, find, statefulset_line};
use super::metrics::{self, Usage};
use super::watched::{Named, Set, Watched, wrap};
use super::{Detail, Objects, Part, WorkloadLine, build};

/// Follows microservice `name` until `cancel`, sending each new `Detail` on `tx`.
pub fn spawn(
    client: kube::Client,
    namespace: String,
    name: String,
    tx: watch::Sender<Detail>,
    cancel: CancellationToken,
) {
    tokio::spawn(async move {
        tokio::select! {
            _ = cancel.cancelled() => {}
            _ = follow(client, &namespace, &name, &tx) => {}
        }
    });
}

async fn follow(client: kube::Client, namespace: &str, name: &str, tx: &watch::Sender<Detail>) {
    let found = match find(&client, namespace, name).await {
        Ok(found) => found,
        Err(e) => {
            let mut detail = Detail::loading(namespace, name);
            detail.pods = Part::Failed(e.to_string());
            detail.events = Part::Failed(e.to_string());
            let _ = tx.send(detail);
            return;
        }
    };
    let Found { workload, service } = &found;
    let by_name = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let mut workload_stream: Option<Watched<WorkloadObject>> = match workload {
        Some(Workload::Deployment(_)) => Some(
            watcher(
                Api::<Deployment>::namespaced(client.clone(), namespace),
                by_name,
            )
            .default_backoff()
            .map(|e| e.map(|e| wrap(e, WorkloadObject::Deployment)))
            .boxed(),
        ),
        Some(Workload::StatefulSet(_)) => Some(
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
    let mut pods_stream: Option<Watched<Pod>> = found.selector().map(|selector| {
        watcher(
            Api::<Pod>::namespaced(client.clone(), namespace),
            watcher::Config::default().labels(&selector),
        )
        .default_backoff()
        .boxed()
    });
    let mut events = EventWatches::new(client.clone(), namespace);
    events.follow(BTreeSet::from([name.to_string()]));
    let mut workloads: Set<WorkloadObject> = Set::new();
    let mut pods: Set<Pod> = Set::new();
    if pods_stream.is_none() {
        pods.part = Part::Ready(());
    }
    let mut workload_line = found.workload_line();
    let selector = found.selector();
    let mut usage: Option<BTreeMap<String, Usage>> = None;
    // No selector, or a cluster without the metrics API: nothing to read.
    let mut metrics_served = selector.is_some();
    let mut metrics_tick = tokio::time::interval(metrics::INTERVAL);
    loop {
        let changed = tokio::select! {
            _ = metrics_tick.tick(), if metrics_served => {
                match metrics::read(&client, namespace, selector.as_deref().unwrap_or_default()).await {
                    metrics::Answer::Pods(pods) => {
                        let changed = usage.as_ref() != Some(&pods);
                        usage = Some(pods);
                        changed
                    }
                    metrics::Answer::NotServed => {
                        metrics_served = false;
                        false
                    }
                    metrics::Answer::Failed(why) => {
                        tracing::debug!("metrics: {why}");
                        false
                    }
                }
            }
            Some(event) = next(&mut workload_stream) => {
                let changed = workloads.apply(event);
                if let Some(object) = workloads.items.values().next() {
                    workload_line = Some(object.line());
                }
                if workloads.forbidden() { workload_stream = None; }
                changed
            }
            Some(event) = next(&mut pods_stream) => {
                let changed = pods.apply(event);
                if pods.forbidden() { pods_stream = None; }
                // The Events followed are the microservice's own and its pods'.
                let mut names: BTreeSet<String> = pods.items.keys().cloned().collect();
                names.insert(name.to_string());
                events.follow(names);
                changed
            }
            changed = events.next() => changed,
            else => return,
        };
        if !changed {
            continue;
        }
        let (pod_list, event_list) = (pods.part(), events.part());
        let detail = build(Objects {
            namespace,
            name,
            workload: workload_line.clone(),
            service: service.as_ref(),
            pods: as_slice(&pod_list),
            events: as_slice(&event_list),
            usage: usage.as_ref(),
        });
        if tx.send(detail).is_err() {
            return;
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
