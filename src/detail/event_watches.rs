//! The detail view's Events: one watch per object they can be about, each narrowed by a field
//! selector (`involvedObject.name=…`, what `kubectl describe` asks for each object), the
//! microservice's own name (its workload and Service) and each of its pods, started and stopped
//! as pods come and go. A namespace-wide watch would list every Event of the namespace, which
//! after a rollout of thousands of pods is thousands of objects for a view that shows a few.

use std::collections::{BTreeMap, BTreeSet};

use futures::StreamExt;
use futures::stream::{BoxStream, SelectAll};
use k8s_openapi::api::core::v1::Event;
use kube::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, watcher};
use tokio_util::sync::CancellationToken;

use super::Part;
use super::watched::Set;

type Tagged = (String, Result<watcher::Event<Event>, watcher::Error>);

pub struct EventWatches {
    api: Api<Event>,
    streams: SelectAll<BoxStream<'static, Tagged>>,
    sets: BTreeMap<String, (Set<Event>, CancellationToken)>,
    forbidden: Option<String>,
    /// Every object followed so far has had its Events listed once: the part is complete from
    /// then on (a pod that comes later adds its Events when they arrive, without a flicker).
    settled: bool,
    /// The caller knows every object to follow (the pods have been listed).
    objects_known: bool,
}

impl EventWatches {
    pub fn new(client: kube::Client, namespace: &str) -> Self {
        EventWatches {
            api: Api::namespaced(client, namespace),
            streams: SelectAll::new(),
            sets: BTreeMap::new(),
            forbidden: None,
            settled: false,
            objects_known: false,
        }
    }

    /// Watches the Events of exactly these objects (by name) from now on; `all_known` says the
    /// list is complete (not waiting for the pods' list), so the part may settle.
    pub fn follow(&mut self, names: BTreeSet<String>, all_known: bool) {
        self.objects_known |= all_known;
        if self.forbidden.is_some() {
            return;
        }
        self.sets.retain(|name, (_, stop)| {
            let keep = names.contains(name);
            if !keep {
                stop.cancel();
            }
            keep
        });
        for name in names {
            if self.sets.contains_key(&name) {
                continue;
            }
            let stop = CancellationToken::new();
            let config = watcher::Config::default().fields(&format!("involvedObject.name={name}"));
            let tag = name.clone();
            let stream = watcher(self.api.clone(), config)
                .default_backoff()
                .map(move |event| (tag.clone(), event))
                .take_until(stop.clone().cancelled_owned())
                .boxed();
            self.streams.push(stream);
            self.sets.insert(name, (Set::new(), stop));
        }
        self.settle();
    }

    /// The next change; false when nothing shown changed. Pending while nothing is watched.
    pub async fn next(&mut self) -> bool {
        let Some((name, event)) = self.streams.next().await else {
            return std::future::pending().await;
        };
        let Some((set, _)) = self.sets.get_mut(&name) else {
            return false;
        };
        let changed = set.apply(event);
        if let Part::Forbidden(why) = &set.part {
            // One refusal answers for all: the credentials may not watch Events here.
            self.forbidden = Some(why.clone());
            for (_, stop) in self.sets.values() {
                stop.cancel();
            }
            self.sets.clear();
            return true;
        }
        self.settle() || changed
    }

    /// Marks the part complete once every object is known and each has had its Events listed;
    /// true when that happened now.
    fn settle(&mut self) -> bool {
        if self.settled || !self.objects_known {
            return false;
        }
        self.settled = self
            .sets
            .values()
            .all(|(set, _)| !matches!(set.part, Part::Loading));
        self.settled
    }

    /// Every watched object's Events; loading until each object followed at first (the
    /// microservice and the pods listed with it) has had its Events listed.
    pub fn part(&self) -> Part<Vec<Event>> {
        if let Some(why) = &self.forbidden {
            return Part::Forbidden(why.clone());
        }
        if !self.settled {
            return Part::Loading;
        }
        Part::Ready(
            self.sets
                .values()
                .flat_map(|(set, _)| set.items.values().cloned())
                .collect(),
        )
    }
}

impl Drop for EventWatches {
    fn drop(&mut self) {
        for (_, stop) in self.sets.values() {
            stop.cancel();
        }
    }
}
