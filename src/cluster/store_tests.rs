//! Tests of `NamespaceStore`: rows built from its recorded changes equal a full join, whatever
//! the sequence of watch events.

use std::sync::Arc;

use super::*;
use crate::model::{
    IngressRuleInfo, Labels, Microservice, Section, ServicePortInfo, TargetPort,
    build_microservices, merge_rows,
};

/// xorshift64*: a fixed, dependency-free sequence, so a failure replays exactly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const NAMES: [&str; 8] = ["api", "auth", "data", "db", "ui", "web", "zeta", "a-b"];
const TIERS: [&str; 2] = ["front", "back"];

fn map(pairs: &[(&str, &str)]) -> Labels {
    pairs.iter().copied().collect()
}

/// Selectors of the shapes clusters use, plus the awkward ones: a shared pair first in
/// order (`a-tier` sorts before `app`), and none at all.
fn selector(rng: &mut Rng, name: &str) -> Labels {
    let tier = rng.pick(&TIERS);
    match rng.below(5) {
        0 | 1 => map(&[("app", name)]),
        2 => map(&[("app", name), ("tier", tier)]),
        3 => map(&[("a-tier", tier)]),
        _ => Labels::default(),
    }
}

fn workload(rng: &mut Rng) -> Slim {
    let name = rng.pick(&NAMES);
    Slim::Workload(WorkloadInfo {
        kind: if rng.chance(20) {
            WorkloadKind::StatefulSet
        } else {
            WorkloadKind::Deployment
        },
        name: name.into(),
        namespace: "ns".into(),
        desired: rng.below(3) as i32,
        ready: rng.below(3) as i32,
        updated: rng.below(3) as i32,
        selector: selector(rng, name),
        created: None,
        failure: None,
    })
}

fn service(rng: &mut Rng) -> Slim {
    let name = rng.pick(&NAMES);
    Slim::Service(ServiceInfo {
        name: name.into(),
        namespace: "ns".into(),
        selector: map(&[("app", name)]),
        ports: vec![ServicePortInfo {
            name: Some("http".into()),
            port: 80 + rng.below(2) as i32,
            target: TargetPort::Number(8080),
            protocol: "TCP".into(),
        }],
        external_url_annotation: rng.chance(10).then(|| format!("https://{name}.example")),
        load_balancer: None,
        external_name: None,
        created: None,
        control_plane: false,
    })
}

fn pod(rng: &mut Rng) -> Slim {
    let app = rng.pick(&NAMES);
    let mut labels = map(&[("app", app), ("pod-template-hash", rng.pick(&["h1", "h2"]))]);
    if rng.chance(50) {
        labels.insert("tier", rng.pick(&TIERS));
    }
    if rng.chance(50) {
        labels.insert("a-tier", rng.pick(&TIERS));
    }
    Slim::Pod(PodInfo {
        name: format!("{app}-{}", rng.below(4)),
        namespace: "ns".into(),
        labels,
        phase: rng.pick(&["Running", "Pending", "Failed"]).into(),
        scheduled: rng.chance(90),
        ready: rng.chance(70),
        deleting: rng.chance(15),
        containers: vec![],
        container_ports: vec![],
        created: None,
    })
}

fn ingress(rng: &mut Rng) -> Slim {
    let rules = (0..rng.below(3))
        .map(|_| IngressRuleInfo {
            host: rng.pick(&["", "a.example", "b.example"]).into(),
            path: rng.pick(&["/", "/v1"]).into(),
            service: rng.pick(&NAMES).into(),
            port: None,
        })
        .collect();
    Slim::Ingress(IngressInfo {
        name: format!("ing-{}", rng.below(3)),
        namespace: "ns".into(),
        rules,
        tls_hosts: vec![],
    })
}

fn random_object(rng: &mut Rng, kind: ObjectKind) -> Slim {
    match kind {
        ObjectKind::Deployment | ObjectKind::StatefulSet => workload(rng),
        ObjectKind::Service => service(rng),
        ObjectKind::Pod => pod(rng),
        ObjectKind::Ingress => ingress(rng),
    }
}

/// The name a `remove` of this kind would name.
fn random_name(rng: &mut Rng, kind: ObjectKind) -> String {
    match kind {
        ObjectKind::Pod => format!("{}-{}", rng.pick(&NAMES), rng.below(4)),
        ObjectKind::Ingress => format!("ing-{}", rng.below(3)),
        _ => rng.pick(&NAMES).into(),
    }
}

/// What the feed does with the changes: all rows, or the touched ones merged in.
fn rebuild(store: &mut NamespaceStore, previous: &[Arc<Microservice>]) -> Vec<Arc<Microservice>> {
    let changes = store.take_changes();
    if changes.all {
        let all = build_microservices(Section::Custom, store.objects(), None);
        all.into_iter().map(Arc::new).collect()
    } else {
        let fresh = build_microservices(Section::Custom, &store.subset(&changes.names), None);
        merge_rows(previous, &changes.names, fresh)
    }
}

#[test]
fn rows_from_changes_equal_a_full_join_after_any_events() {
    let mut compared = 0;
    for seed in 1..=40u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let mut store = NamespaceStore::default();
        let mut rows = rebuild(&mut store, &[]);
        for step in 0..400 {
            for _ in 0..1 + rng.below(4) {
                let kind = ObjectKind::ALL[rng.below(ObjectKind::ALL.len())];
                match rng.below(10) {
                    0..=5 => {
                        store.upsert(random_object(&mut rng, kind));
                    }
                    6..=8 => {
                        // StatefulSets are removed by their own kind, like the watch does.
                        let kind = if kind == ObjectKind::Deployment && rng.chance(30) {
                            ObjectKind::StatefulSet
                        } else {
                            kind
                        };
                        store.remove(kind, &random_name(&mut rng, kind));
                    }
                    _ => {
                        let fresh = (0..rng.below(5))
                            .map(|_| random_object(&mut rng, kind))
                            .filter(|o| o.key().0 == kind)
                            .collect();
                        store.replace_kind(kind, fresh);
                    }
                }
            }
            rows = rebuild(&mut store, &rows);
            let full = build_microservices(Section::Custom, store.objects(), None);
            let incremental: Vec<&Microservice> = rows.iter().map(|r| &**r).collect();
            assert_eq!(
                incremental,
                full.iter().collect::<Vec<_>>(),
                "seed {seed}, step {step}"
            );
            compared += 1;
        }
    }
    assert_eq!(compared, 40 * 400);
}

#[test]
fn a_pod_event_touches_only_the_rows_of_the_workloads_selecting_it() {
    let mut store = NamespaceStore::default();
    let mut rng = Rng(7);
    for name in NAMES {
        store.upsert(Slim::Workload(WorkloadInfo {
            kind: WorkloadKind::Deployment,
            name: name.into(),
            namespace: "ns".into(),
            desired: 1,
            ready: 1,
            updated: 1,
            selector: map(&[("app", name)]),
            created: None,
            failure: None,
        }));
        if let Slim::Service(mut s) = service(&mut rng) {
            s.name = name.into();
            store.upsert(Slim::Service(s));
        }
    }
    store.take_changes();
    let data_pod = |ready| {
        Slim::Pod(PodInfo {
            name: "data-0".into(),
            namespace: "ns".into(),
            labels: map(&[("app", "data"), ("pod-template-hash", "h1")]),
            phase: "Running".into(),
            scheduled: true,
            ready,
            deleting: false,
            containers: vec![],
            container_ports: vec![],
            created: None,
        })
    };
    assert!(store.upsert(data_pod(false)));
    let changes = store.take_changes();
    assert!(!changes.all);
    assert_eq!(changes.names, FastSet::from_iter(["data".to_string()]));

    // The same object again changes nothing.
    assert!(!store.upsert(data_pod(false)));
    assert_eq!(store.take_changes(), Changes::default());

    assert!(store.remove(ObjectKind::Pod, "data-0"));
    assert_eq!(
        store.take_changes().names,
        FastSet::from_iter(["data".to_string()])
    );
    // The subset for a name holds its workload, Service and pods, nothing else.
    store.upsert(data_pod(true));
    let subset = store.subset(&FastSet::from_iter(["data".to_string()]));
    assert_eq!(subset.workloads.len(), 1);
    assert_eq!(subset.services.len(), 1);
    assert_eq!(subset.pods.len(), 1);
}
