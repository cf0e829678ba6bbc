//! Which objects of a list carry a label pair, by position in the list: how a workload finds
//! its pods, and a pod its workloads, without a pass over the namespace.
//!
//! Keyed by a hash of the pair, not the pair itself, to keep one small entry per pair. A hash
//! only narrows the search: callers check the labels of every candidate, so a collision costs a
//! comparison, never a wrong answer.

use std::hash::{Hash, Hasher};

use crate::model::fast_hash::{self, FastMap};

#[derive(Debug, Default)]
pub struct LabelIndex {
    by_pair: FastMap<u64, Vec<u32>>,
}

/// The key of one `key=value` pair.
pub fn pair_hash(key: &str, value: &str) -> u64 {
    let mut h = fast_hash::hasher();
    key.hash(&mut h);
    value.hash(&mut h);
    h.finish()
}

impl LabelIndex {
    /// Records that the object at `at` carries `pairs`.
    pub fn insert<'a>(&mut self, pairs: impl Iterator<Item = (&'a str, &'a str)>, at: usize) {
        for (k, v) in pairs {
            self.by_pair
                .entry(pair_hash(k, v))
                .or_default()
                .push(position(at));
        }
    }

    /// Forgets that the object at `at` carries `pairs` (the same pairs it was inserted with).
    pub fn remove<'a>(&mut self, pairs: impl Iterator<Item = (&'a str, &'a str)>, at: usize) {
        for (k, v) in pairs {
            self.replace(pair_hash(k, v), position(at), None);
        }
    }

    /// The object carrying `pairs` moved from `from` to `to` (a `swap_remove` filled a gap).
    pub fn moved<'a>(
        &mut self,
        pairs: impl Iterator<Item = (&'a str, &'a str)>,
        from: usize,
        to: usize,
    ) {
        for (k, v) in pairs {
            self.replace(pair_hash(k, v), position(from), Some(position(to)));
        }
    }

    /// Positions of the objects that may carry `key=value` (check their labels).
    pub fn candidates(&self, key: &str, value: &str) -> &[u32] {
        self.by_pair
            .get(&pair_hash(key, value))
            .map_or(&[], Vec::as_slice)
    }

    fn replace(&mut self, hash: u64, old: u32, new: Option<u32>) {
        let Some(list) = self.by_pair.get_mut(&hash) else {
            return;
        };
        // Lists are short except for labels every pod shares; a scan of those is a few µs.
        if let Some(i) = list.iter().position(|&p| p == old) {
            match new {
                Some(new) => list[i] = new,
                None => {
                    list.swap_remove(i);
                }
            }
        }
        if list.is_empty() {
            // Pairs come and go with every rollout (pod-template-hash): keep no empty entries.
            self.by_pair.remove(&hash);
        }
    }
}

fn position(at: usize) -> u32 {
    // A namespace with over four billion objects would not fit in memory anyway.
    u32::try_from(at).expect("fewer than 2^32 objects in a namespace")
}
