//! Labels and selectors as the slim objects keep them: a sorted slice of pairs.
//!
//! A `BTreeMap<String, String>` allocates a whole node (about 540 bytes) for even one pair, and
//! every pod, workload and Service holds one: at 20,000 microservices that was 40 MiB of mostly
//! empty nodes. Objects carry a handful of labels, so a sorted slice is as fast to search and
//! costs only its pairs.

use std::collections::BTreeMap;
use std::fmt;

#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Labels(Box<[(Box<str>, Box<str>)]>);

impl Labels {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .binary_search_by(|(k, _)| (**k).cmp(key))
            .ok()
            .map(|i| &*self.0[i].1)
    }

    /// The pairs, sorted by key.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + Clone {
        self.0.iter().map(|(k, v)| (&**k, &**v))
    }

    pub fn keys(&self) -> impl ExactSizeIterator<Item = &str> + Clone {
        self.0.iter().map(|(k, _)| &**k)
    }

    pub fn values(&self) -> impl ExactSizeIterator<Item = &str> + Clone {
        self.0.iter().map(|(_, v)| &**v)
    }

    /// The selector as the API takes it, `app=data,tier=web`; None when there is nothing to
    /// select by.
    pub fn selector_string(&self) -> Option<String> {
        (!self.is_empty()).then(|| {
            self.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",")
        })
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Sets `key` to `value`. Objects come whole from the watch; only tests build them by hand.
    #[cfg(test)]
    pub fn insert(&mut self, key: impl Into<Box<str>>, value: impl Into<Box<str>>) {
        let pairs = std::mem::take(&mut self.0).into_vec().into_iter();
        *self = pairs.chain([(key.into(), value.into())]).collect();
    }

    #[cfg(test)]
    pub fn remove(&mut self, key: &str) {
        let pairs = std::mem::take(&mut self.0).into_vec().into_iter();
        *self = pairs.filter(|(k, _)| &**k != key).collect();
    }

    #[cfg(test)]
    pub fn clear(&mut self) {
        self.0 = Box::default();
    }

    /// Whether these labels carry every pair of `selector`.
    pub fn contains_all(&self, selector: &Labels) -> bool {
        selector.iter().all(|(k, v)| self.get(k) == Some(v))
    }
}

impl<K: Into<Box<str>>, V: Into<Box<str>>> FromIterator<(K, V)> for Labels {
    /// Sorted by key; of pairs with the same key, the last wins, as when building a map.
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> Self {
        let mut pairs: Vec<(Box<str>, Box<str>)> = pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        // Stable, so that among equal keys the order given is kept and the last can win.
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        let mut unique: Vec<(Box<str>, Box<str>)> = Vec::with_capacity(pairs.len());
        for pair in pairs {
            match unique.last_mut() {
                Some(last) if last.0 == pair.0 => *last = pair,
                _ => unique.push(pair),
            }
        }
        Labels(unique.into_boxed_slice())
    }
}

impl From<BTreeMap<String, String>> for Labels {
    fn from(map: BTreeMap<String, String>) -> Self {
        map.into_iter().collect()
    }
}

impl fmt::Debug for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_sorted_unique_and_found_by_key() {
        let labels: Labels = [("tier", "web"), ("app", "data"), ("tier", "api")]
            .into_iter()
            .collect();
        assert_eq!(labels.len(), 2);
        assert_eq!(labels.keys().collect::<Vec<_>>(), ["app", "tier"]);
        assert_eq!(labels.get("tier"), Some("api"));
        assert_eq!(labels.get("app"), Some("data"));
        assert_eq!(labels.get("nope"), None);
        assert_eq!(format!("{labels:?}"), r#"{"app": "data", "tier": "api"}"#);
    }

    #[test]
    fn a_selector_is_contained_when_every_pair_matches() {
        let pod: Labels = [("app", "data"), ("pod-template-hash", "h1")]
            .into_iter()
            .collect();
        let app: Labels = [("app", "data")].into_iter().collect();
        let other: Labels = [("app", "auth")].into_iter().collect();
        assert!(pod.contains_all(&app));
        assert!(!pod.contains_all(&other));
        assert!(pod.contains_all(&Labels::default()));
        assert_eq!(
            Labels::from(BTreeMap::from([("a".into(), "b".into())])).get("a"),
            Some("b")
        );
    }
}
