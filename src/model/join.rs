//! Joining one namespace's workloads, Services, pods and Ingresses into microservice rows
//! (docs/status.md and docs/urls.md).
//!
//! Built for big namespaces: every lookup goes through an index made once per call, so the cost
//! grows with the number of objects, not with workloads times pods.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use super::fast_hash::{self, FastMap, FastSet, hash_strs};

use super::labels::Labels;
use super::microservice::{Microservice, Section, UrlSource};
use super::objects::{IngressInfo, IngressRuleInfo, PodInfo, PodUsage, ServiceInfo, WorkloadInfo};
use super::routes::Routes;
use super::status::{Status, derive_status};

/// Everything watched in one namespace. Order does not matter: the output is sorted.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NamespaceObjects {
    pub workloads: Vec<WorkloadInfo>,
    pub services: Vec<ServiceInfo>,
    pub pods: Vec<PodInfo>,
    pub ingresses: Vec<IngressInfo>,
    /// CPU and memory by pod name, when the metrics API has been read.
    pub usage: Option<Arc<FastMap<String, PodUsage>>>,
    /// A workload kind may not be listed: a Service without a visible workload may still have
    /// one, so its status is unknown rather than "No workload".
    pub workloads_forbidden: bool,
}

/// The pods that carry every key of one selector shape (e.g. `{app}`), as
/// `(hash of their values for those keys, pod index)`, sorted for binary search.
struct Group<'a> {
    keys: Vec<&'a str>,
    entries: Vec<(u64, usize)>,
}

/// Pods grouped by the selector shapes the workloads use. Clusters use one or two shapes
/// (`app`, `app`+`tier`...), so this is a few passes over the pods plus a sort, and each
/// workload then finds its pods by binary search instead of scanning them all. (A namespace
/// where every workload used different selector keys would cost one pass per shape.)
struct PodIndex<'a> {
    pods: &'a [PodInfo],
    groups: Vec<Group<'a>>,
    /// Hash of a shape's keys to the groups with that hash (checked against `keys`).
    by_shape: FastMap<u64, Vec<usize>>,
}

impl<'a> PodIndex<'a> {
    fn new(pods: &'a [PodInfo], workloads: &'a [WorkloadInfo]) -> Self {
        let mut index = PodIndex {
            pods,
            groups: Vec::new(),
            by_shape: FastMap::default(),
        };
        for w in workloads {
            // An empty selector matches nothing: Kubernetes rejects it on workloads, and
            // matching every pod would be wrong in any case.
            if w.selector.is_empty() || index.group(&w.selector).is_some() {
                continue;
            }
            let keys: Vec<&str> = w.selector.keys().collect();
            let mut entries: Vec<(u64, usize)> = pods
                .iter()
                .enumerate()
                // Pods being deleted never count (see `derive_status`), so leave them out early.
                .filter(|(_, p)| !p.deleting)
                .filter_map(|(i, p)| {
                    // Same hash as `hash_strs` over the values, without collecting them.
                    let mut h = fast_hash::hasher();
                    for k in &keys {
                        p.labels.get(k)?.hash(&mut h);
                    }
                    Some((h.finish(), i))
                })
                .collect();
            entries.sort_unstable();
            let shape = hash_strs(keys.iter().copied());
            index
                .by_shape
                .entry(shape)
                .or_default()
                .push(index.groups.len());
            index.groups.push(Group { keys, entries });
        }
        index
    }

    fn group(&self, selector: &Labels) -> Option<&Group<'a>> {
        let shape = hash_strs(selector.keys());
        self.by_shape
            .get(&shape)?
            .iter()
            .map(|&g| &self.groups[g])
            .find(|g| g.keys.iter().copied().eq(selector.keys()))
    }

    /// Fills `out` with the pods of `namespace` matching every label of `selector`, sorted by
    /// name. A buffer instead of a returned Vec: the join calls this once per workload.
    fn select_into(&self, namespace: &str, selector: &Labels, out: &mut Vec<&'a PodInfo>) {
        out.clear();
        let Some(group) = self.group(selector) else {
            return;
        };
        let wanted = hash_strs(selector.values());
        let start = group.entries.partition_point(|(h, _)| *h < wanted);
        let pods = self.pods;
        out.extend(
            group.entries[start..]
                .iter()
                .take_while(|(h, _)| *h == wanted)
                .map(|&(_, i)| &pods[i])
                // The hash only narrows the search; the labels decide.
                .filter(|p| p.namespace == namespace)
                .filter(|p| p.labels.contains_all(selector)),
        );
        out.sort_unstable_by(|a, b| a.name.cmp(&b.name));
    }
}

/// Whether a TLS host (possibly `*.example.com`) covers `host`.
fn tls_covers(tls_host: &str, host: &str) -> bool {
    match tls_host.strip_prefix("*.") {
        Some(suffix) => host
            .split_once('.')
            .is_some_and(|(first, rest)| !first.is_empty() && rest == suffix),
        None => tls_host == host,
    }
}

/// The first Ingress URL for each `(namespace, service)`, ingresses taken in name order so the
/// choice is stable. Rules without a host are skipped: they have no address of their own.
fn ingress_urls(ingresses: &[IngressInfo]) -> HashMap<(&str, &str), String> {
    let mut sorted: Vec<&IngressInfo> = ingresses.iter().collect();
    sorted.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    let mut out = HashMap::new();
    for ing in sorted {
        for rule in &ing.rules {
            if let Some(url) = ingress_rule_url(ing, rule) {
                out.entry((ing.namespace.as_str(), rule.service.as_str()))
                    .or_insert(url);
            }
        }
    }
    out
}

/// The address an Ingress rule serves: `http(s)://<host><path>`, https when the host is among
/// the Ingress's TLS hosts; None for a rule without a host (it has no address of its own).
pub fn ingress_rule_url(ing: &IngressInfo, rule: &IngressRuleInfo) -> Option<String> {
    if rule.host.is_empty() {
        return None;
    }
    let https = ing.tls_hosts.iter().any(|t| tls_covers(t, &rule.host));
    let scheme = if https { "https" } else { "http" };
    let path = if rule.path == "/" { "" } else { &rule.path };
    Some(format!("{scheme}://{}{path}", rule.host))
}

/// The indexes every row consults, built once per call.
struct UrlSources<'a> {
    routes: HashMap<(&'a str, &'a str), String>,
    ingresses: HashMap<(&'a str, &'a str), String>,
}

impl UrlSources<'_> {
    /// EXTERNAL-URL: the first of annotation, gateway route, Ingress, LoadBalancer, and which
    /// of them gave it.
    fn external_url(
        &self,
        name: &str,
        namespace: &str,
        service: Option<&ServiceInfo>,
    ) -> Option<(String, UrlSource)> {
        let key = (namespace, name);
        let from = |source: UrlSource| move |url: String| (url, source);
        service
            .and_then(|s| s.external_url_annotation.clone())
            .map(from(UrlSource::Annotation))
            .or_else(|| self.routes.get(&key).cloned().map(from(UrlSource::Gateway)))
            .or_else(|| {
                self.ingresses
                    .get(&key)
                    .cloned()
                    .map(from(UrlSource::Ingress))
            })
            .or_else(|| {
                service
                    .and_then(|s| s.load_balancer.as_ref())
                    .map(|lb| (format!("http://{lb}"), UrlSource::LoadBalancer))
            })
    }
}

/// The pods' CPU and memory added up; None when none of them has figures (not running, or
/// not scraped yet), which the tables show as `-`, as `kubectl top` leaves such pods out.
fn summed(usage: &FastMap<String, PodUsage>, pods: &[&PodInfo]) -> Option<PodUsage> {
    pods.iter()
        .filter_map(|p| usage.get(&p.name))
        .fold(None, |sum: Option<PodUsage>, u| {
            let sum = sum.unwrap_or_default();
            Some(PodUsage {
                cpu_millis: sum.cpu_millis + u.cpu_millis,
                memory_bytes: sum.memory_bytes + u.memory_bytes,
            })
        })
}

/// What a row is made from: a workload (with its Service, if any) or a lone Service.
enum Source<'a> {
    Workload(&'a WorkloadInfo, Option<&'a ServiceInfo>),
    Orphan(&'a ServiceInfo),
}

/// Pairs each workload with the Service of its name and namespace, and adds the Services left
/// over, in display order: by name, then namespace, then kind (a Deployment and a StatefulSet
/// may share a name), so the order never depends on the input order.
///
/// A merge of two sorted lists of references: cheaper than hashing every name, and the rows
/// are then built once, in place, rather than sorted afterwards (they are a few hundred bytes).
fn join_sources<'a>(workloads: &'a [WorkloadInfo], services: &'a [ServiceInfo]) -> Vec<Source<'a>> {
    let mut ws: Vec<&WorkloadInfo> = workloads.iter().collect();
    ws.sort_unstable_by(|a, b| {
        (&a.name, &a.namespace, a.kind).cmp(&(&b.name, &b.namespace, b.kind))
    });
    let mut ss: Vec<&ServiceInfo> = services.iter().collect();
    ss.sort_unstable_by(|a, b| (&a.name, &a.namespace).cmp(&(&b.name, &b.namespace)));

    let mut out = Vec::with_capacity(ws.len() + ss.len());
    let (mut wi, mut si) = (ws.into_iter().peekable(), ss.into_iter().peekable());
    // Whether the Service at the head of `si` already went to a workload.
    let mut head_matched = false;
    loop {
        let order = match (wi.peek(), si.peek()) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(w), Some(s)) => (&w.name, &w.namespace).cmp(&(&s.name, &s.namespace)),
        };
        match order {
            Ordering::Less => out.extend(wi.next().map(|w| Source::Workload(w, None))),
            Ordering::Equal => {
                // Keep the Service at the head: the next workload may share its name.
                let service = si.peek().copied();
                out.extend(wi.next().map(|w| Source::Workload(w, service)));
                head_matched = true;
            }
            Ordering::Greater => {
                if let Some(s) = si.next()
                    && !head_matched
                    && !s.control_plane
                {
                    out.push(Source::Orphan(s));
                }
                head_matched = false;
            }
        }
    }
    out
}

/// One row per workload, joined with the Service of its name, plus one row per Service without
/// a workload; sorted by name.
pub fn build_microservices(
    section: Section,
    objs: &NamespaceObjects,
    routes: Option<&Routes>,
) -> Vec<Microservice> {
    let pods = PodIndex::new(&objs.pods, &objs.workloads);
    let urls = UrlSources {
        routes: routes.map(Routes::url_index).unwrap_or_default(),
        ingresses: ingress_urls(&objs.ingresses),
    };
    let sources = join_sources(&objs.workloads, &objs.services);

    let mut matched = Vec::new();
    sources
        .into_iter()
        .map(|src| match src {
            Source::Workload(w, service) => {
                let external = urls.external_url(&w.name, &w.namespace, service);
                Microservice {
                    name: w.name.clone(),
                    namespace: w.namespace.clone(),
                    section,
                    workload_kind: Some(w.kind),
                    status: {
                        pods.select_into(&w.namespace, &w.selector, &mut matched);
                        derive_status(w, &matched)
                    },
                    usage: objs.usage.as_deref().and_then(|u| summed(u, &matched)),
                    ready: w.ready,
                    desired: w.desired,
                    internal_url: service.map(internal_url),
                    external_source: external.as_ref().map(|(_, source)| *source),
                    external_url: external.map(|(url, _)| url),
                    ports: service.map(|s| s.ports.clone()).unwrap_or_default(),
                    created: w.created,
                    selector: w.selector.clone(),
                }
            }
            Source::Orphan(s) => {
                let external = urls.external_url(&s.name, &s.namespace, Some(s));
                Microservice {
                    name: s.name.clone(),
                    namespace: s.namespace.clone(),
                    section,
                    workload_kind: None,
                    status: match &s.external_name {
                        Some(name) => Status::ExternalName(name.clone()),
                        None if objs.workloads_forbidden => Status::Unknown,
                        None => Status::NoWorkload,
                    },
                    ready: 0,
                    desired: 0,
                    internal_url: Some(internal_url(s)),
                    external_source: external.as_ref().map(|(_, source)| *source),
                    external_url: external.map(|(url, _)| url),
                    usage: None,
                    ports: s.ports.clone(),
                    created: s.created,
                    selector: s.selector.clone(),
                }
            }
        })
        .collect()
}

/// The rows of `previous` whose microservice is not named in `replaced`, merged with `fresh`,
/// the rows `build_microservices` made for exactly those names: the same rows, in the same
/// order, as building the whole namespace again.
///
/// Both lists are sorted by name, so each replaced name is found by binary search and the rows
/// between are shared, not copied: a few comparisons per replaced name and a reference count
/// per row, instead of hashing every name of the namespace.
pub fn merge_rows(
    previous: &[Arc<Microservice>],
    replaced: &FastSet<String>,
    fresh: Vec<Microservice>,
) -> Vec<Arc<Microservice>> {
    let mut names: Vec<&String> = replaced.iter().collect();
    names.sort_unstable();
    let mut out = Vec::with_capacity(previous.len() + fresh.len());
    let mut fresh = fresh.into_iter().peekable();
    let mut start = 0;
    for name in names {
        // Rows are sorted by (name, namespace), and one section is one namespace, so a name's
        // rows (a Deployment and a StatefulSet may share it) are next to each other.
        let at = start + previous[start..].partition_point(|m| m.name < *name);
        out.extend_from_slice(&previous[start..at]);
        while let Some(row) = fresh.next_if(|m| m.name == *name) {
            out.push(Arc::new(row));
        }
        start = at + previous[at..].partition_point(|m| m.name == *name);
    }
    out.extend_from_slice(&previous[start..]);
    // Every fresh row is named in `replaced`; one left over would mean the caller broke that.
    debug_assert!(
        fresh.next().is_none(),
        "a fresh row not named in `replaced`"
    );
    out
}

/// `<service>.<namespace>`, the address other microservices use (docs/urls.md).
fn internal_url(s: &ServiceInfo) -> String {
    let mut url = String::with_capacity(s.name.len() + 1 + s.namespace.len());
    url.push_str(&s.name);
    url.push('.');
    url.push_str(&s.namespace);
    url
}

#[cfg(test)]
#[path = "join_tests.rs"]
mod tests;
