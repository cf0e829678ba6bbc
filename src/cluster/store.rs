//! One namespace's watched objects, slimmed, kept in the `NamespaceObjects` the model joins, with
//! name indexes so that each watch event is O(1) and a rebuild copies nothing.

use std::collections::HashMap;

use crate::model::{
    IngressInfo, NamespaceObjects, PodInfo, ServiceInfo, WorkloadInfo, WorkloadKind,
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

#[derive(Default)]
pub struct NamespaceStore {
    objects: NamespaceObjects,
    /// (kind, name) to the position in its list.
    index: HashMap<(ObjectKind, String), usize>,
}

impl NamespaceStore {
    pub fn objects(&self) -> &NamespaceObjects {
        &self.objects
    }

    /// Inserts or replaces an object. Returns whether anything changed.
    pub fn upsert(&mut self, object: Slim) -> bool {
        let key = object.key();
        match self.index.get(&key).copied() {
            Some(at) => match object {
                Slim::Workload(w) => replace(&mut self.objects.workloads[at], w),
                Slim::Service(s) => replace(&mut self.objects.services[at], s),
                Slim::Pod(p) => replace(&mut self.objects.pods[at], p),
                Slim::Ingress(i) => replace(&mut self.objects.ingresses[at], i),
            },
            None => {
                let at = match object {
                    Slim::Workload(w) => push(&mut self.objects.workloads, w),
                    Slim::Service(s) => push(&mut self.objects.services, s),
                    Slim::Pod(p) => push(&mut self.objects.pods, p),
                    Slim::Ingress(i) => push(&mut self.objects.ingresses, i),
                };
                self.index.insert(key, at);
                true
            }
        }
    }

    /// Removes an object by kind and name. Returns whether it was there.
    pub fn remove(&mut self, kind: ObjectKind, name: &str) -> bool {
        let Some(at) = self.index.remove(&(kind, name.to_string())) else {
            return false;
        };
        // swap_remove moves the last element into `at`; re-point its index entry.
        let moved = match kind {
            ObjectKind::Deployment | ObjectKind::StatefulSet => {
                self.objects.workloads.swap_remove(at);
                self.objects
                    .workloads
                    .get(at)
                    .map(|w| Slim::Workload(w.clone()).key())
            }
            ObjectKind::Service => {
                self.objects.services.swap_remove(at);
                self.objects
                    .services
                    .get(at)
                    .map(|s| (ObjectKind::Service, s.name.clone()))
            }
            ObjectKind::Pod => {
                self.objects.pods.swap_remove(at);
                self.objects
                    .pods
                    .get(at)
                    .map(|p| (ObjectKind::Pod, p.name.clone()))
            }
            ObjectKind::Ingress => {
                self.objects.ingresses.swap_remove(at);
                self.objects
                    .ingresses
                    .get(at)
                    .map(|i| (ObjectKind::Ingress, i.name.clone()))
            }
        };
        if let Some(key) = moved {
            self.index.insert(key, at);
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
        for name in stale {
            self.remove(kind, &name);
        }
        for object in fresh {
            self.upsert(object);
        }
    }

    pub fn clear(&mut self) {
        *self = NamespaceStore::default();
    }
}

fn replace<T: PartialEq>(slot: &mut T, value: T) -> bool {
    if *slot == value {
        return false;
    }
    *slot = value;
    true
}

fn push<T>(list: &mut Vec<T>, value: T) -> usize {
    list.push(value);
    list.len() - 1
}
