//! One namespace's watched objects, slimmed, kept in the `NamespaceObjects` the model joins, with
//! name and label indexes so that each watch event is O(1), and a record of which rows each
//! event changed so that only those are built again.

use std::collections::HashMap;
use std::sync::Arc;

use super::label_index::LabelIndex;
use crate::model::fast_hash::{FastMap, FastSet};
use crate::model::{
    IngressInfo, Labels, NamespaceObjects, PodInfo, PodUsage, ServiceInfo, WorkloadInfo,
    WorkloadKind,
};

/// Which list of `NamespaceObjects` an object lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    Deployment,
    StatefulSet,
    Service,
    Pod,
    Ingress,
}

impl ObjectKind {
    /// The resource's plural, as the API and the notes name it.
    pub fn plural(self) -> &'static str {
        match self {
            ObjectKind::Deployment => "deployments",
            ObjectKind::StatefulSet => "statefulsets",
            ObjectKind::Service => "services",
            ObjectKind::Pod => "pods",
            ObjectKind::Ingress => "ingresses",
        }
    }

    pub const ALL: [ObjectKind; 5] = [
        ObjectKind::Deployment,
        ObjectKind::StatefulSet,
        ObjectKind::Service,
        ObjectKind::Pod,
        ObjectKind::Ingress,
    ];
}

/// A slim object of any watched kind.
#[derive(Clone, Debug, PartialEq)]
pub enum Slim {
    Workload(WorkloadInfo),
    Service(ServiceInfo),
    Pod(PodInfo),
    Ingress(IngressInfo),
}

impl Slim {
    fn key(&self) -> (ObjectKind, String) {
        match self {
            Slim::Workload(w) => (
                match w.kind {
                    WorkloadKind::Deployment => ObjectKind::Deployment,
                    WorkloadKind::StatefulSet => ObjectKind::StatefulSet,
                },
                w.name.clone(),
            ),
            Slim::Service(s) => (ObjectKind::Service, s.name.clone()),
            Slim::Pod(p) => (ObjectKind::Pod, p.name.clone()),
            Slim::Ingress(i) => (ObjectKind::Ingress, i.name.clone()),
        }
    }
}

/// What changed in a store since the last `take_changes`: the rows to build again.
#[derive(Debug, Default, PartialEq)]
pub struct Changes {
    /// Build every row (after a relist or a clear, or before the first build).
    pub all: bool,
    /// Build the rows of these microservices (workload or Service names).
    pub names: FastSet<String>,
}

pub struct NamespaceStore {
    objects: NamespaceObjects,
    /// (kind, name) to the position in its list.
    index: HashMap<(ObjectKind, String), usize>,
    /// Every label pair of every pod: a workload's pods.
    pod_labels: LabelIndex,
    /// The first selector pair of every workload: a pod's workloads.
    workload_selectors: LabelIndex,
    changes: Changes,
}

impl Default for NamespaceStore {
    fn default() -> Self {
        NamespaceStore {
            objects: NamespaceObjects::default(),
            index: HashMap::new(),
            pod_labels: LabelIndex::default(),
            workload_selectors: LabelIndex::default(),
            // Nothing has been built yet.
            changes: Changes {
                all: true,
                names: FastSet::default(),
            },
        }
    }
}

impl NamespaceStore {
    pub fn objects(&self) -> &NamespaceObjects {
        &self.objects
    }

    /// Whether a workload kind is forbidden (Services without a visible workload are then
    /// of unknown status). A change rebuilds every row.
    pub fn set_workloads_forbidden(&mut self, forbidden: bool) {
        if self.objects.workloads_forbidden != forbidden {
            self.objects.workloads_forbidden = forbidden;
            self.mark_all();
        }
    }

    /// What changed since the last call, and forgets it.
    pub fn take_changes(&mut self) -> Changes {
        std::mem::take(&mut self.changes)
    }

    /// Every row must be built again (a relist, or the routes changed).
    pub fn mark_all(&mut self) {
        self.changes.all = true;
        self.changes.names.clear();
    }

    /// Inserts or replaces an object. Returns whether anything changed.
    pub fn upsert(&mut self, object: Slim) -> bool {
        let key = object.key();
        let existing = self.index.get(&key).copied();
        if let Some(at) = existing
            && self.holds(at, &object)
        {
            return false;
        }
        // Rows that showed the old object, then rows that show the new one.
        if let Some(at) = existing {
            self.touch_rows_of(key.0, at);
            self.unindex(key.0, at);
        }
        let at = match existing {
            Some(at) => {
                match object {
                    Slim::Workload(w) => self.objects.workloads[at] = w,
                    Slim::Service(s) => self.objects.services[at] = s,
                    Slim::Pod(p) => self.objects.pods[at] = p,
                    Slim::Ingress(i) => self.objects.ingresses[at] = i,
                }
                at
            }
            None => {
                let at = match object {
                    Slim::Workload(w) => push(&mut self.objects.workloads, w),
                    Slim::Service(s) => push(&mut self.objects.services, s),
                    Slim::Pod(p) => push(&mut self.objects.pods, p),
                    Slim::Ingress(i) => push(&mut self.objects.ingresses, i),
                };
                self.index.insert(key.clone(), at);
                at
            }
        };
        self.reindex(key.0, at);
        self.touch_rows_of(key.0, at);
        true
    }

    /// Removes an object by kind and name. Returns whether it was there.
    pub fn remove(&mut self, kind: ObjectKind, name: &str) -> bool {
        let Some(at) = self.index.remove(&(kind, name.to_string())) else {
            return false;
        };
        self.touch_rows_of(kind, at);
        self.unindex(kind, at);
        // swap_remove moves the last element into `at`; re-point its entries.
        let last = self.len(kind) - 1;
        if last != at {
            self.moved(kind, last, at);
        }
        match kind {
            ObjectKind::Deployment | ObjectKind::StatefulSet => {
                self.objects.workloads.swap_remove(at);
            }
            ObjectKind::Service => {
                self.objects.services.swap_remove(at);
            }
            ObjectKind::Pod => {
                self.objects.pods.swap_remove(at);
            }
            ObjectKind::Ingress => {
                self.objects.ingresses.swap_remove(at);
            }
        }
        true
    }

    /// Replaces every object of a kind with a fresh listing (after a (re)list), so objects that
    /// vanished while the watch was down go, and none is counted twice.
    pub fn replace_kind(&mut self, kind: ObjectKind, fresh: Vec<Slim>) {
        let stale: Vec<String> = self
            .index
            .keys()
            .filter(|(k, _)| *k == kind)
            .map(|(_, name)| name.clone())
            .collect();
        // A relist can change anything; one full build is cheaper than tracking it.
        self.mark_all();
        for name in stale {
            self.remove(kind, &name);
        }
        // Room for the whole listing at once: growing by doubling would leave up to half the
        // list's size unused (and copy it on the way) on a namespace of 10,000 pods.
        match kind {
            ObjectKind::Deployment | ObjectKind::StatefulSet => {
                self.objects.workloads.reserve(fresh.len())
            }
            ObjectKind::Service => self.objects.services.reserve(fresh.len()),
            ObjectKind::Pod => self.objects.pods.reserve(fresh.len()),
            ObjectKind::Ingress => self.objects.ingresses.reserve(fresh.len()),
        }
        self.index.reserve(fresh.len());
        for object in fresh {
            self.upsert(object);
        }
    }

    /// New CPU and memory figures by pod (None: no longer read): only the rows of pods whose
    /// figures changed are built again.
    /// Returns whether a row changed.
    pub fn set_usage(&mut self, usage: Option<FastMap<String, PodUsage>>) -> bool {
        let old = self.objects.usage.take();
        let touched = match (&old, &usage) {
            (None, None) => false,
            (Some(_), None) | (None, Some(_)) => {
                self.mark_all();
                true
            }
            (Some(old), Some(new)) => {
                let changed: Vec<&String> = new
                    .iter()
                    .filter(|(name, u)| old.get(*name) != Some(u))
                    .map(|(name, _)| name)
                    .chain(old.keys().filter(|name| !new.contains_key(*name)))
                    .collect();
                for name in &changed {
                    if let Some(&at) = self.index.get(&(ObjectKind::Pod, (*name).clone())) {
                        self.touch_rows_of(ObjectKind::Pod, at);
                    }
                }
                !changed.is_empty()
            }
        };
        self.objects.usage = usage.map(Arc::new);
        touched
    }

    pub fn clear(&mut self) {
        *self = NamespaceStore::default();
    }

    /// The objects the rows of `names` are made from: their workloads and Services, the pods
    /// those workloads select, and the Ingresses that route to them. `build_microservices` on
    /// this gives exactly those rows.
    pub fn subset(&self, names: &FastSet<String>) -> NamespaceObjects {
        let mut out = NamespaceObjects {
            workloads_forbidden: self.objects.workloads_forbidden,
            usage: self.objects.usage.clone(),
            ..NamespaceObjects::default()
        };
        let mut pods: Vec<usize> = Vec::new();
        for name in names {
            for kind in [ObjectKind::Deployment, ObjectKind::StatefulSet] {
                if let Some(&at) = self.index.get(&(kind, name.clone())) {
                    let w = &self.objects.workloads[at];
                    self.pods_selected_by(&w.selector, &mut pods);
                    out.workloads.push(w.clone());
                }
            }
            if let Some(&at) = self.index.get(&(ObjectKind::Service, name.clone())) {
                out.services.push(self.objects.services[at].clone());
            }
        }
        // A Deployment and a StatefulSet of one name may select the same pods.
        pods.sort_unstable();
        pods.dedup();
        out.pods = pods.iter().map(|&i| self.objects.pods[i].clone()).collect();
        out.ingresses = self
            .objects
            .ingresses
            .iter()
            .filter(|i| i.rules.iter().any(|r| names.contains(&r.service)))
            .cloned()
            .collect();
        out
    }

    /// Appends the positions of the pods carrying every pair of `selector` (none for an empty
    /// selector, as in the join).
    fn pods_selected_by(&self, selector: &Labels, out: &mut Vec<usize>) {
        // The rarest pair's pods are the fewest to check.
        let Some(candidates) = selector
            .iter()
            .map(|(k, v)| self.pod_labels.candidates(k, v))
            .min_by_key(|c| c.len())
        else {
            return;
        };
        out.extend(
            candidates
                .iter()
                .map(|&i| i as usize)
                .filter(|&i| selects(selector, &self.objects.pods[i].labels)),
        );
    }

    /// Marks the rows that show the object at `at`: a workload's or Service's own row, the
    /// rows of the workloads selecting a pod, the rows an Ingress routes to.
    fn touch_rows_of(&mut self, kind: ObjectKind, at: usize) {
        if self.changes.all {
            // Every row is built anyway (as while the first listing arrives).
            return;
        }
        let names = &mut self.changes.names;
        match kind {
            ObjectKind::Deployment | ObjectKind::StatefulSet => {
                names.insert(self.objects.workloads[at].name.clone());
            }
            ObjectKind::Service => {
                names.insert(self.objects.services[at].name.clone());
            }
            ObjectKind::Pod => {
                let labels = &self.objects.pods[at].labels;
                for (k, v) in labels.iter() {
                    for &w in self.workload_selectors.candidates(k, v) {
                        let w = &self.objects.workloads[w as usize];
                        if selects(&w.selector, labels) && !names.contains(&w.name) {
                            names.insert(w.name.clone());
                        }
                    }
                }
            }
            ObjectKind::Ingress => {
                for rule in &self.objects.ingresses[at].rules {
                    if !names.contains(&rule.service) {
                        names.insert(rule.service.clone());
                    }
                }
            }
        }
    }

    /// Adds the object at `at` to the label indexes.
    fn reindex(&mut self, kind: ObjectKind, at: usize) {
        match kind {
            ObjectKind::Deployment | ObjectKind::StatefulSet => self
                .workload_selectors
                .insert(first_pair(&self.objects.workloads[at].selector), at),
            ObjectKind::Pod => self
                .pod_labels
                .insert(pairs(&self.objects.pods[at].labels), at),
            ObjectKind::Service | ObjectKind::Ingress => {}
        }
    }

    /// Takes the object at `at` out of the label indexes.
    fn unindex(&mut self, kind: ObjectKind, at: usize) {
        match kind {
            ObjectKind::Deployment | ObjectKind::StatefulSet => self
                .workload_selectors
                .remove(first_pair(&self.objects.workloads[at].selector), at),
            ObjectKind::Pod => self
                .pod_labels
                .remove(pairs(&self.objects.pods[at].labels), at),
            ObjectKind::Service | ObjectKind::Ingress => {}
        }
    }

    /// The object at `from` is about to move to `to`: re-points its name and label entries.
    fn moved(&mut self, kind: ObjectKind, from: usize, to: usize) {
        let name = match kind {
            ObjectKind::Deployment | ObjectKind::StatefulSet => {
                let w = &self.objects.workloads[from];
                self.workload_selectors
                    .moved(first_pair(&w.selector), from, to);
                let kind = match w.kind {
                    WorkloadKind::Deployment => ObjectKind::Deployment,
                    WorkloadKind::StatefulSet => ObjectKind::StatefulSet,
                };
                (kind, w.name.clone())
            }
            ObjectKind::Service => (kind, self.objects.services[from].name.clone()),
            ObjectKind::Pod => {
                let p = &self.objects.pods[from];
                self.pod_labels.moved(pairs(&p.labels), from, to);
                (kind, p.name.clone())
            }
            ObjectKind::Ingress => (kind, self.objects.ingresses[from].name.clone()),
        };
        self.index.insert(name, to);
    }

    fn len(&self, kind: ObjectKind) -> usize {
        match kind {
            ObjectKind::Deployment | ObjectKind::StatefulSet => self.objects.workloads.len(),
            ObjectKind::Service => self.objects.services.len(),
            ObjectKind::Pod => self.objects.pods.len(),
            ObjectKind::Ingress => self.objects.ingresses.len(),
        }
    }

    /// Whether the object at `at` of `object`'s list equals it.
    fn holds(&self, at: usize, object: &Slim) -> bool {
        match object {
            Slim::Workload(w) => self.objects.workloads[at] == *w,
            Slim::Service(s) => self.objects.services[at] == *s,
            Slim::Pod(p) => self.objects.pods[at] == *p,
            Slim::Ingress(i) => self.objects.ingresses[at] == *i,
        }
    }
}

/// Whether a selector picks a pod with these labels. An empty selector picks nothing: Kubernetes
/// rejects it on workloads, and matching every pod would be wrong in any case.
fn selects(selector: &Labels, labels: &Labels) -> bool {
    !selector.is_empty() && labels.contains_all(selector)
}

fn pairs(labels: &Labels) -> impl Iterator<Item = (&str, &str)> {
    labels.iter()
}

/// A workload is indexed by one pair of its selector: a pod matching the selector carries it.
fn first_pair(selector: &Labels) -> impl Iterator<Item = (&str, &str)> {
    pairs(selector).take(1)
}

fn push<T>(list: &mut Vec<T>, value: T) -> usize {
    list.push(value);
    list.len() - 1
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
