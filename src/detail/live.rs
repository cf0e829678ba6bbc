//! The detail view's live feed: watches of the microservice's workload (by name), its pods (by
//! selector) and the namespace's Events, each change rebuilding the `Detail` the view shows.
//! No polling: a part the credentials may not watch says `forbidden` and is not asked again.

use std::collections::BTreeMap;

use futures::{Stream, StreamExt};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, watcher};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::fetch::{Found, Workload, as_slice, deployment_line, find, statefulset_line};
use super::metrics::{self, Usage};
use super::{Detail, Objects, Part, WorkloadLine, build};

type Watched<K> =
    std::pin::Pin<Box<dyn Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send>>;

/// Objects of one watch, kept by name, and whether the list is complete.
struct Set<K> {
    items: BTreeMap<String, K>,
    pending: Option<BTreeMap<String, K>>,
    part: Part<()>,
    /// Objects not wanted are dropped as they arrive.
    keep: fn(&K, &str) -> bool,
    /// What `keep` is asked about (the microservice's name).
    about: String,
}

impl<K: Named + Clone> Set<K> {
    fn new() -> Self {
        Set::keeping(|_, _| true, "")
    }

    fn keeping(keep: fn(&K, &str) -> bool, about: &str) -> Self {
        Set {
            items: BTreeMap::new(),
            pending: None,
            part: Part::Loading,
            keep,
            about: about.to_string(),
        }
    }

    /// Takes one watch event; true when what is shown changed.
    fn apply(&mut self, event: Result<watcher::Event<K>, watcher::Error>) -> bool {
        let name = |k: &K| k.name();
        match event {
            Ok(watcher::Event::Init) => {
                self.pending = Some(BTreeMap::new());
                false
            }
            Ok(watcher::Event::InitApply(k)) => {
                if !(self.keep)(&k, &self.about) {
                    return false;
                }
                if let Some(pending) = &mut self.pending {
                    pending.insert(name(&k), k);
                }
                false
            }
            Ok(watcher::Event::InitDone) => {
                self.items = self.pending.take().unwrap_or_default();
                self.part = Part::Ready(());
                true
            }
            Ok(watcher::Event::Apply(k)) => {
                if !(self.keep)(&k, &self.about) {
                    return false;
                }
                self.items.insert(name(&k), k);
                true
            }
            Ok(watcher::Event::Delete(k)) => self.items.remove(&name(&k)).is_some(),
            Err(e) => {
                let forbidden = matches!(&e, watcher::Error::InitialListFailed(kube::Error::Api(s))
                    | watcher::Error::WatchStartFailed(kube::Error::Api(s)) if s.code == 403);
                if forbidden {
                    self.part = Part::Forbidden(e.to_string());
                    return true;
                }
                tracing::debug!("detail watch: {e}");
                false
            }
        }
    }

    fn forbidden(&self) -> bool {
        matches!(self.part, Part::Forbidden(_))
    }

    fn values(&self) -> Vec<K> {
        self.items.values().cloned().collect()
    }

    fn part(&self) -> Part<Vec<K>> {
        match &self.part {
            Part::Ready(()) => Part::Ready(self.values()),
            Part::Loading => Part::Loading,
            Part::Forbidden(m) => Part::Forbidden(m.clone()),
            Part::Failed(m) => Part::Failed(m.clone()),
        }
    }
}

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
    let mut events_stream: Option<Watched<Event>> = Some(
        watcher(
            Api::<Event>::namespaced(client.clone(), namespace),
            watcher::Config::default(),
        )
        .default_backoff()
        .boxed(),
    );
    let mut workloads: Set<WorkloadObject> = Set::new();
    let mut pods: Set<Pod> = Set::new();
    if pods_stream.is_none() {
        pods.part = Part::Ready(());
    }
    // Only this microservice's Events are kept: a namespace may hold thousands.
    let mut events: Set<Event> = Set::keeping(concerns, name);
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
                changed
            }
            Some(event) = next(&mut events_stream) => {
                // Only this microservice's Events are kept: a namespace may hold thousands.
                let changed = events.apply(event);
                if events.forbidden() { events_stream = None; }
                changed
            }
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

/// Whether an Event is about microservice `name`: its workload or Service (`name`), or a
/// ReplicaSet or pod of it (`name-…`). `events::lines` sorts out the rest.
fn concerns(event: &Event, name: &str) -> bool {
    event
        .involved_object
        .name
        .as_deref()
        .is_some_and(|n| n == name || n.strip_prefix(name).is_some_and(|rest| rest.starts_with('-')))
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

/// A watch event of one kind as one of another.
fn wrap<K, W>(event: watcher::Event<K>, f: impl Fn(K) -> W) -> watcher::Event<W> {
    match event {
        watcher::Event::Apply(k) => watcher::Event::Apply(f(k)),
        watcher::Event::Delete(k) => watcher::Event::Delete(f(k)),
        watcher::Event::Init => watcher::Event::Init,
        watcher::Event::InitApply(k) => watcher::Event::InitApply(f(k)),
        watcher::Event::InitDone => watcher::Event::InitDone,
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

/// The name an object is kept by.
trait Named {
    fn name(&self) -> String;
}

impl Named for Pod {
    fn name(&self) -> String {
        self.metadata.name.clone().unwrap_or_default()
    }
}

impl Named for Event {
    fn name(&self) -> String {
        self.metadata.name.clone().unwrap_or_default()
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
