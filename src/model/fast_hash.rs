//! A fast hash for the indexes the join and the watch stores keep: foldhash, the hash hashbrown
//! (and so kube-runtime) already uses. std's SipHash resists hash flooding, which matters for
//! servers taking keys from strangers; here the keys are names from the user's own cluster, and
//! SipHash cost more than the rest of the join. The fixed seed keeps `hash_strs` the same for the
//! same names across the indexes that compare them.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, Hash, Hasher};

use foldhash::fast::{FixedState, FoldHasher};

pub type FastMap<K, V> = HashMap<K, V, FixedState>;
pub type FastSet<K> = HashSet<K, FixedState>;

/// A hasher for a value built up piece by piece.
pub fn hasher() -> FoldHasher<'static> {
    FixedState::default().build_hasher()
}

/// Hashes a sequence of strings; `str`'s `Hash` adds a terminator, so `["ab"]` and
/// `["a", "b"]` differ.
pub fn hash_strs<'s>(items: impl Iterator<Item = &'s str>) -> u64 {
    let mut h = hasher();
    for s in items {
        s.hash(&mut h);
    }
    h.finish()
}
