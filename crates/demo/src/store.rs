//! The demo cluster's object store: every object as JSON, one cluster-wide resourceVersion that
//! every change bumps, the history of changes (`history`) for watches to replay, and a
//! broadcast of new changes in order.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};
use tokio::sync::broadcast;

pub use super::history::{Change, EventType};
use super::history::{Compacted, History};
use super::kinds::Kind;

/// How many changes a slow watcher may fall behind before its watch is ended.
const BROADCAST_CAPACITY: usize = 16_384;

pub type ObjectKey = (Kind, String, String);

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum StoreError {
    #[error("{kind} \"{name}\" already exists")]
    AlreadyExists { kind: &'static str, name: String },
    #[error("{kind} \"{name}\" not found")]
    NotFound { kind: &'static str, name: String },
    #[error("too old resource version: {requested} ({oldest})")]
    Gone { requested: u64, oldest: u64 },
}

impl From<Compacted> for StoreError {
    fn from(c: Compacted) -> Self {
        StoreError::Gone {
            requested: c.requested,
            oldest: c.oldest,
        }
    }
}

/// One page of a list.
/// Which objects of a namespace a list can match at all, from its selectors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Narrow<'a> {
    /// Any: every object of the kind is looked at.
    Any,
    /// `fieldSelector=metadata.name=X`: the one object of that name. The API server does the
    /// same: `ListPredicate` turns a selector that `MatchesSingle` a name into a get of that
    /// key (apiserver `pkg/registry/generic/registry/store.go`).
    Name(&'a str),
    /// `labelSelector` with `app=X`: the objects the app index holds for X. A real API server
    /// scans the namespace in its watch cache (Go maps, about a millisecond for 10,000 pods);
    /// a scan of the demo's JSON objects took 20-45 ms, so the index gives a real server's
    /// speed, not its algorithm. Not for Services, whose index is by their selector.
    App(&'a str),
}

pub struct ListPage {
    /// The version the page was read at.
    pub rv: u64,
    pub items: Vec<Arc<Value>>,
    /// More objects match after the last item.
    pub more: bool,
}

/// Where a watch starts: its backlog of changes, and the receiver of the changes after it.
pub struct WatchStart {
    pub backlog: Vec<Arc<Change>>,
    pub receiver: broadcast::Receiver<Arc<Change>>,
    /// The version the watch starts at: its backlog is the state at, or the changes up to, it.
    pub rv: u64,
}

struct Inner {
    rv: u64,
    objects: BTreeMap<ObjectKey, Arc<Value>>,
    history: History,
    next_uid: u64,
    /// Objects by their `app` (pods and workloads: the label; services: the selector's). The
    /// controllers look pods and services up by app on every pod change; at 40,000 pods a scan
    /// per change would be the demo's main cost.
    by_app: HashMap<(Kind, String, String), BTreeSet<String>>,
}

pub struct Store {
    inner: Mutex<Inner>,
    tx: broadcast::Sender<Arc<Change>>,
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

impl Store {
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(BROADCAST_CAPACITY);
        Store {
            inner: Mutex::new(Inner {
                rv: 1,
                objects: BTreeMap::new(),
                history: History::default(),
                next_uid: 1,
                by_app: HashMap::new(),
            }),
            tx,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves the map consistent (every write is a single
        // insert/remove), so a poisoned lock is safe to keep using.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn current_rv(&self) -> u64 {
        self.lock().rv
    }

    /// Stores a new object, filling in the server-set metadata.
    pub fn create(&self, kind: Kind, mut object: Value) -> Result<Arc<Value>, StoreError> {
        let mut inner = self.lock();
        let (namespace, name) = names_of(&object);
        let key = (kind, namespace.clone(), name.clone());
        if inner.objects.contains_key(&key) {
            return Err(StoreError::AlreadyExists {
                kind: kind.plural(),
                name,
            });
        }
        inner.rv += 1;
        let rv = inner.rv;
        let uid = inner.next_uid;
        inner.next_uid += 1;
        let gv = kind.group_version();
        object["apiVersion"] = json!(gv.api_version());
        object["kind"] = json!(kind.name());
        let meta = &mut object["metadata"];
        meta["resourceVersion"] = json!(rv.to_string());
        meta["uid"] = json!(format!("00000000-0000-4000-8000-{uid:012x}"));
        if meta.get("creationTimestamp").is_none_or(Value::is_null) {
            meta["creationTimestamp"] = json!(now_rfc3339());
        }
        meta["generation"] = json!(1);
        let object = Arc::new(object);
        if let Some(app) = app_of(kind, &object) {
            let index_key = (kind, namespace.clone(), app);
            inner
                .by_app
                .entry(index_key)
                .or_default()
                .insert(name.clone());
        }
        inner.objects.insert(key, object.clone());
        self.record(
            &mut inner,
            kind,
            namespace,
            EventType::Added,
            object.clone(),
        );
        Ok(object)
    }

    /// Changes an object in place. No event is sent when `change` leaves it as it was.
    pub fn update(
        &self,
        kind: Kind,
        namespace: &str,
        name: &str,
        change: impl FnOnce(&mut Value),
    ) -> Result<Arc<Value>, StoreError> {
        let mut inner = self.lock();
        let key = (kind, namespace.to_string(), name.to_string());
        let Some(current) = inner.objects.get(&key).cloned() else {
            return Err(StoreError::NotFound {
                kind: kind.plural(),
                name: name.to_string(),
            });
        };
        let mut object = (*current).clone();
        change(&mut object);
        if object == *current {
            return Ok(current);
        }
        if object.get("spec") != current.get("spec") {
            let generation = current["metadata"]["generation"].as_i64().unwrap_or(1);
            object["metadata"]["generation"] = json!(generation + 1);
        }
        inner.rv += 1;
        let rv = inner.rv;
        object["metadata"]["resourceVersion"] = json!(rv.to_string());
        let (old_app, new_app) = (app_of(kind, &current), app_of(kind, &object));
        if old_app != new_app {
            if let Some(app) = old_app {
                let index_key = (kind, namespace.to_string(), app);
                if let Some(names) = inner.by_app.get_mut(&index_key) {
                    names.remove(name);
                }
            }
            if let Some(app) = new_app {
                let index_key = (kind, namespace.to_string(), app);
                inner
                    .by_app
                    .entry(index_key)
                    .or_default()
                    .insert(name.to_string());
            }
        }
        let object = Arc::new(object);
        inner.objects.insert(key, object.clone());
        self.record(
            &mut inner,
            kind,
            namespace.to_string(),
            EventType::Modified,
            object.clone(),
        );
        Ok(object)
    }

    pub fn delete(
        &self,
        kind: Kind,
        namespace: &str,
        name: &str,
    ) -> Result<Arc<Value>, StoreError> {
        let mut inner = self.lock();
        let key = (kind, namespace.to_string(), name.to_string());
        let Some(old) = inner.objects.remove(&key) else {
            return Err(StoreError::NotFound {
                kind: kind.plural(),
                name: name.to_string(),
            });
        };
        if let Some(app) = app_of(kind, &old) {
            let index_key = (kind, namespace.to_string(), app);
            if let Some(names) = inner.by_app.get_mut(&index_key) {
                names.remove(name);
                if names.is_empty() {
                    inner.by_app.remove(&index_key);
                }
            }
        }
        inner.rv += 1;
        let mut object = (*old).clone();
        object["metadata"]["resourceVersion"] = json!(inner.rv.to_string());
        let object = Arc::new(object);
        self.record(
            &mut inner,
            kind,
            namespace.to_string(),
            EventType::Deleted,
            object.clone(),
        );
        Ok(object)
    }

    fn record(
        &self,
        inner: &mut Inner,
        kind: Kind,
        namespace: String,
        event_type: EventType,
        object: Arc<Value>,
    ) {
        let change = Arc::new(Change {
            rv: inner.rv,
            kind,
            namespace,
            event_type,
            object,
        });
        inner.history.push(change.clone());
        // No receivers is normal (nobody watching); the change is in the history anyway.
        let _ = self.tx.send(change);
    }

    pub fn get(&self, kind: Kind, namespace: &str, name: &str) -> Option<Arc<Value>> {
        self.lock()
            .objects
            .get(&(kind, namespace.to_string(), name.to_string()))
            .cloned()
    }

    /// The objects of a kind (in one namespace, or all), in (namespace, name) order, starting
    /// after `after` if given, with the version they were read at: at most `limit` of those
    /// `keep` accepts, and whether more follow. Stops there, so a page costs its own size, not
    /// the rest of the list (a paged list of 40,000 pods copied 20,000 entries a page).
    /// `narrow` says which objects can match at all, so they are the only ones looked at.
    pub fn list(
        &self,
        kind: Kind,
        namespace: Option<&str>,
        narrow: Narrow<'_>,
        after: Option<(&str, &str)>,
        limit: usize,
        keep: impl Fn(&Value) -> bool,
    ) -> ListPage {
        let inner = self.lock();
        let after_name = |name: &str| after.is_none_or(|(_, last)| name > last);
        let candidates: Box<dyn Iterator<Item = &Arc<Value>>> = match (narrow, namespace) {
            (Narrow::Name(name), Some(ns)) => Box::new(
                inner
                    .objects
                    .get(&(kind, ns.to_string(), name.to_string()))
                    .filter(|_| after_name(name))
                    .into_iter(),
            ),
            (Narrow::App(app), Some(ns)) if kind != Kind::Service => {
                let names = inner.by_app.get(&(kind, ns.to_string(), app.to_string()));
                Box::new(
                    names
                        .into_iter()
                        .flatten()
                        .filter(move |name| after_name(name))
                        .filter_map(|name| {
                            inner.objects.get(&(kind, ns.to_string(), name.clone()))
                        }),
                )
            }
            _ => {
                let start = match after {
                    Some((ns, name)) => (kind, ns.to_string(), name.to_string()),
                    None => (kind, namespace.unwrap_or("").to_string(), String::new()),
                };
                let skip = start.clone();
                Box::new(
                    inner
                        .objects
                        .range(start..)
                        .skip_while(move |(k, _)| after.is_some() && **k == skip)
                        .take_while(move |((k, ns, _), _)| {
                            *k == kind && namespace.is_none_or(|want| want == ns)
                        })
                        .map(|(_, v)| v),
                )
            }
        };
        let mut matched = candidates.filter(|v| keep(v));
        let items = matched.by_ref().take(limit).cloned().collect();
        let more = matched.next().is_some();
        ListPage {
            rv: inner.rv,
            items,
            more,
        }
    }

    /// The objects of a kind in a namespace whose `app` (see `Inner::by_app`) is `app`.
    pub fn by_app(&self, kind: Kind, namespace: &str, app: &str) -> Vec<Arc<Value>> {
        let inner = self.lock();
        let index_key = (kind, namespace.to_string(), app.to_string());
        let Some(names) = inner.by_app.get(&index_key) else {
            return Vec::new();
        };
        names
            .iter()
            .filter_map(|name| {
                inner
                    .objects
                    .get(&(kind, namespace.to_string(), name.clone()))
                    .cloned()
            })
            .collect()
    }

    /// Starts a watch of changes after `since`. `None` starts at the current version with a
    /// synthetic ADDED for every existing object of the kind, as `resourceVersion=0` does.
    pub fn watch(&self, kind: Kind, since: Option<u64>) -> Result<WatchStart, StoreError> {
        let inner = self.lock();
        let receiver = self.tx.subscribe();
        let backlog = match since {
            Some(rv) => inner.history.since(kind, rv)?,
            None => inner
                .objects
                .range((kind, String::new(), String::new())..)
                .take_while(|((k, _, _), _)| *k == kind)
                .map(|((k, ns, _), object)| {
                    Arc::new(Change {
                        rv: inner.rv,
                        kind: *k,
                        namespace: ns.clone(),
                        event_type: EventType::Added,
                        object: object.clone(),
                    })
                })
                .collect(),
        };
        Ok(WatchStart {
            backlog,
            receiver,
            rv: inner.rv,
        })
    }

    /// Forgets all history: watches from any version before now get 410 Gone.
    pub fn compact(&self) {
        let mut inner = self.lock();
        let rv = inner.rv;
        inner.history.compact(rv);
    }

    /// Whether a version is still watchable (continue tokens use it too).
    pub fn is_compacted(&self, rv: u64) -> bool {
        self.lock().history.is_compacted(rv)
    }
}

/// The `app` an object is indexed under.
fn app_of(kind: Kind, object: &Value) -> Option<String> {
    let app = match kind {
        Kind::Service => &object["spec"]["selector"]["app"],
        _ => &object["metadata"]["labels"]["app"],
    };
    app.as_str().map(str::to_string)
}

fn names_of(object: &Value) -> (String, String) {
    let meta = &object["metadata"];
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    (text(&meta["namespace"]), text(&meta["name"]))
}

pub fn now_rfc3339() -> String {
    // Whole seconds, like the API server's metav1.Time.
    let now = Timestamp::now();
    Timestamp::from_second(now.as_second())
        .unwrap_or(now)
        .to_string()
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
