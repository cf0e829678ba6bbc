//! One watch's objects kept by name, with whether their list is complete or refused (a 403
//! makes the part `forbidden`), shared by the detail view's watches.

use std::collections::BTreeMap;

use futures::Stream;
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::runtime::watcher;

use super::Part;

pub type Watched<K> =
    std::pin::Pin<Box<dyn Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send>>;

/// Objects of one watch, kept by name, and whether the list is complete.
pub struct Set<K> {
    pub items: BTreeMap<String, K>,
    pending: Option<BTreeMap<String, K>>,
    pub part: Part<()>,
}

impl<K: Named + Clone> Set<K> {
    pub fn new() -> Self {
        Set {
            items: BTreeMap::new(),
            pending: None,
            part: Part::Loading,
        }
    }

    /// Takes one watch event; true when what is shown changed.
    pub fn apply(&mut self, event: Result<watcher::Event<K>, watcher::Error>) -> bool {
        let name = |k: &K| k.name();
        match event {
            Ok(watcher::Event::Init) => {
                self.pending = Some(BTreeMap::new());
                false
            }
            Ok(watcher::Event::InitApply(k)) => {
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

    pub fn forbidden(&self) -> bool {
        matches!(self.part, Part::Forbidden(_))
    }

    pub fn values(&self) -> Vec<K> {
        self.items.values().cloned().collect()
    }

    pub fn part(&self) -> Part<Vec<K>> {
        match &self.part {
            Part::Ready(()) => Part::Ready(self.values()),
            Part::Loading => Part::Loading,
            Part::Forbidden(m) => Part::Forbidden(m.clone()),
            Part::Failed(m) => Part::Failed(m.clone()),
        }
    }
}

/// The name an object is kept by.
pub trait Named {
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

/// A watch event of one kind as one of another.
pub fn wrap<K, W>(event: watcher::Event<K>, f: impl Fn(K) -> W) -> watcher::Event<W> {
    match event {
        watcher::Event::Apply(k) => watcher::Event::Apply(f(k)),
        watcher::Event::Delete(k) => watcher::Event::Delete(f(k)),
        watcher::Event::Init => watcher::Event::Init,
        watcher::Event::InitApply(k) => watcher::Event::InitApply(f(k)),
        watcher::Event::InitDone => watcher::Event::InitDone,
    }
}
