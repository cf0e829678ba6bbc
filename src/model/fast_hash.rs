//! A fast hash for the indexes the join and the watch stores keep.
//!
//! FNV-1a. std's SipHash resists hash flooding, which matters for servers taking keys from
//! strangers; here the keys are names from the user's own cluster, and SipHash cost more than
//! the rest of the join.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hash, Hasher};

pub struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<Fnv>>;
pub type FastSet<K> = HashSet<K, BuildHasherDefault<Fnv>>;

/// Hashes a sequence of strings; `str`'s `Hash` adds a terminator, so `["ab"]` and
/// `["a", "b"]` differ.
pub fn hash_strs<'s>(items: impl Iterator<Item = &'s str>) -> u64 {
    let mut h = Fnv::default();
    for s in items {
        s.hash(&mut h);
    }
    h.finish()
}
