//! The change history a watch replays from: every change in resourceVersion order, bounded, and
//! compacted on demand, after which a watch from an older version gets `410 Gone`, as etcd
//! compaction does on a real cluster.

use std::collections::VecDeque;
use std::sync::Arc;

use serde_json::Value;

use super::kinds::Kind;

/// How many past changes a watch can replay before it must relist (like etcd's compaction window).
const HISTORY_LIMIT: usize = 250_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One change to one object, as a watch delivers it.
#[derive(Debug)]
pub struct Change {
    pub rv: u64,
    pub kind: Kind,
    pub namespace: String,
    pub event_type: EventType,
    pub object: Arc<Value>,
}

/// A watch asked for a version the history no longer holds.
#[derive(Debug, PartialEq)]
pub struct Compacted {
    pub requested: u64,
    pub oldest: u64,
}

pub struct History {
    changes: VecDeque<Arc<Change>>,
    /// The oldest version a watch may start from: every change after it is in `changes`.
    oldest_watchable: u64,
}

impl Default for History {
    fn default() -> Self {
        History {
            changes: VecDeque::new(),
            oldest_watchable: 1,
        }
    }
}

impl History {
    pub fn push(&mut self, change: Arc<Change>) {
        self.changes.push_back(change);
        while self.changes.len() > HISTORY_LIMIT {
            if let Some(dropped) = self.changes.pop_front() {
                self.oldest_watchable = dropped.rv;
            }
        }
    }

    /// The changes of `kind` after version `rv`, unless they were compacted away.
    pub fn since(&self, kind: Kind, rv: u64) -> Result<Vec<Arc<Change>>, Compacted> {
        if rv < self.oldest_watchable {
            return Err(Compacted {
                requested: rv,
                oldest: self.oldest_watchable,
            });
        }
        // In rv order: find the first change after `rv`.
        let start = self.changes.partition_point(|c| c.rv <= rv);
        Ok(self
            .changes
            .range(start..)
            .filter(|c| c.kind == kind)
            .cloned()
            .collect())
    }

    /// Forgets every change: watches from any version before `rv` get 410 Gone.
    pub fn compact(&mut self, rv: u64) {
        self.changes.clear();
        self.oldest_watchable = rv;
    }

    /// Whether a version is no longer watchable (continue tokens use it too).
    pub fn is_compacted(&self, rv: u64) -> bool {
        rv < self.oldest_watchable
    }
}
