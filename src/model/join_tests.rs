//! Tests of `join`: the seed cluster's rows, EXTERNAL-URL sources and precedence, pod matching.

use std::time::Instant;

use k8s_openapi::api::core::v1::Service;

use super::*;
use crate::model::objects::{
    ContainerInfo, IngressRuleInfo, ServicePortInfo, TargetPort, WorkloadKind,
};
use crate::model::routes::tests::{SEED_DOMAINS, SEED_ROUTES, seed_vars};
use crate::model::routes::{RouteEntry, parse_gateway_config};

fn labels(app: &str) -> Labels {
    [("app", app)].into_iter().collect()
}

fn workload(kind: WorkloadKind, name: &str, ns: &str) -> WorkloadInfo {
    WorkloadInfo {
        kind,
        name: name.into(),
        namespace: ns.into(),
        desired: 1,
        ready: 1,
        updated: 1,
        selector: labels(name),
        created: None,
        failure: None,
    }
}

fn deploy(name: &str, ns: &str) -> WorkloadInfo {
    workload(WorkloadKind::Deployment, name, ns)
}

fn service(name: &str, ns: &str, port: i32) -> ServiceInfo {
    ServiceInfo {
        name: name.into(),
        namespace: ns.into(),
        selector: labels(name),
        ports: vec![ServicePortInfo {
            name: Some("http".into()),
            port,
            target: TargetPort::Number(port),
            protocol: "TCP".into(),
        }],
        external_url_annotation: None,
        load_balancer: None,
        external_name: None,
        created: None,
        control_plane: false,
    }
}

fn pod(name: &str, ns: &str, app: &str) -> PodInfo {
    PodInfo {
        name: name.into(),
        namespace: ns.into(),
        labels: labels(app),
        phase: "Running".into(),
        scheduled: true,
        ready: true,
        deleting: false,
        containers: vec![],
        container_ports: vec![],
        created: None,
    }
}

fn seed_routes() -> Routes {
    parse_gateway_config(SEED_ROUTES, Some(SEED_DOMAINS), &seed_vars()).unwrap()
}

/// `(name, internal, external)` of each row, for compact comparisons.
fn summary(rows: &[Microservice]) -> Vec<(String, Option<String>, Option<String>)> {
    rows.iter()
        .map(|m| {
            (
                m.name.clone(),
                m.internal_url.clone(),
                m.external_url.clone(),
            )
        })
        .collect()
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

#[test]
fn seed_cluster_rows() {
    let routes = seed_routes();
    let user = NamespaceObjects {
        workloads: vec![deploy("my-app", "default")],
        services: vec![service("my-app", "default", 80)],
        pods: vec![pod("my-app-7d9f-abcde", "default", "my-app")],
        ingresses: vec![],
        workloads_forbidden: false,
        usage: None,
    };
    let custom = build_microservices(Section::Custom, &user, Some(&routes));
    assert_eq!(
        summary(&custom),
        vec![(
            "my-app".into(),
            s("my-app.default"),
            s("http://my-app.gram29.hasura-app.io")
        )]
    );
    assert_eq!(custom[0].status, Status::Running);
    assert_eq!(custom[0].section, Section::Custom);

    let with_service = [
        ("auth", 80),
        ("data", 80),
        ("filestore", 80),
        ("gateway", 80),
        ("notify", 80),
        ("postgres", 5432),
        ("session-redis", 6379),
        ("sshd", 22),
    ];
    // Listed out of order on purpose: the rows must come out sorted.
    let names = [
        "sshd",
        "auth",
        "postgres",
        "data",
        "le-agent",
        "filestore",
        "gateway",
        "notify",
        "platform-sync",
        "session-redis",
    ];
    let hasura = NamespaceObjects {
        workloads: names
            .iter()
            .map(|n| match *n {
                "postgres" | "session-redis" => workload(WorkloadKind::StatefulSet, n, "hasura"),
                _ => deploy(n, "hasura"),
            })
            .collect(),
        services: with_service
            .iter()
            .map(|(n, p)| service(n, "hasura", *p))
            .collect(),
        pods: names
            .iter()
            .map(|n| pod(&format!("{n}-0"), "hasura", n))
            .collect(),
        ingresses: vec![],
        workloads_forbidden: false,
        usage: None,
    };
    let rows = build_microservices(Section::Hasura, &hasura, Some(&routes));
    let ext = |n: &str| s(&format!("http://{n}.gram29.hasura-app.io"));
    let int = |n: &str| s(&format!("{n}.hasura"));
    assert_eq!(
        summary(&rows),
        vec![
            ("auth".into(), int("auth"), ext("auth")),
            ("data".into(), int("data"), ext("data")),
            ("filestore".into(), int("filestore"), ext("filestore")),
            ("gateway".into(), int("gateway"), None),
            ("le-agent".into(), None, None),
            ("notify".into(), int("notify"), ext("notify")),
            ("platform-sync".into(), None, None),
            ("postgres".into(), int("postgres"), None),
            ("session-redis".into(), int("session-redis"), None),
            ("sshd".into(), int("sshd"), None),
        ]
    );
    assert!(rows.iter().all(|r| r.status == Status::Running));
    assert!(rows.iter().all(|r| r.replicas() == "1/1"));
    let pg = rows.iter().find(|r| r.name == "postgres").unwrap();
    assert_eq!(pg.workload_kind, Some(WorkloadKind::StatefulSet));
    assert_eq!(
        pg.internal_url_wide().as_deref(),
        Some("postgres.hasura:5432")
    );
}

#[test]
fn service_without_workload_is_listed() {
    let objs = NamespaceObjects {
        services: vec![service("orphan", "default", 8080)],
        workloads: vec![deploy("alone", "default")],
        ..Default::default()
    };
    let rows = build_microservices(Section::Custom, &objs, None);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].name, "alone");
    assert_eq!(rows[0].internal_url, None);
    assert!(rows[0].ports.is_empty());
    assert_eq!(rows[1].name, "orphan");
    assert_eq!(rows[1].status, Status::NoWorkload);
    assert_eq!(rows[1].status.to_string(), "No workload");
    assert_eq!(rows[1].workload_kind, None);
    assert_eq!(rows[1].internal_url.as_deref(), Some("orphan.default"));
}

/// `default/kubernetes`, the API server's own Service, is on every real cluster (the testbed
/// showed it; the seed's `hasura microservice list` never lists it): not a microservice.
#[test]
fn the_api_servers_own_service_is_not_a_microservice() {
    let mut api = Service::default();
    api.metadata.name = Some("kubernetes".into());
    api.metadata.namespace = Some("default".into());
    api.metadata.labels = Some(
        [("component", "apiserver"), ("provider", "kubernetes")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    );
    let kubernetes = ServiceInfo::from(&api);
    assert!(kubernetes.control_plane);
    let objs = NamespaceObjects {
        services: vec![kubernetes, service("orphan", "default", 8080)],
        ..Default::default()
    };
    let rows = build_microservices(Section::Custom, &objs, None);
    let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["orphan"]);
}

fn ingress(name: &str, host: &str, path: &str, svc: &str, tls: &[&str]) -> IngressInfo {
    IngressInfo {
        name: name.into(),
        namespace: "default".into(),
        rules: vec![IngressRuleInfo {
            host: host.into(),
            path: path.into(),
            service: svc.into(),
            port: None,
        }],
        tls_hosts: tls.iter().map(|t| t.to_string()).collect(),
    }
}

/// One microservice `web` with every URL source switched on or off.
fn web_url(annotation: bool, route: bool, ing: Option<IngressInfo>, lb: bool) -> Option<String> {
    let mut svc = service("web", "default", 80);
    if annotation {
        svc.external_url_annotation = s("https://web.example.com");
    }
    if lb {
        svc.load_balancer = s("203.0.113.7");
    }
    let routes = Routes {
        entries: vec![RouteEntry {
            subdomain: "www".into(),
            path_prefix: "/".into(),
            service: "web".into(),
            namespace: "default".into(),
            port: Some(80),
            upstream_path: None,
        }],
        domain: "gram29.hasura-app.io".into(),
    };
    let objs = NamespaceObjects {
        workloads: vec![deploy("web", "default")],
        services: vec![svc],
        ingresses: ing.into_iter().collect(),
        pods: vec![],
        workloads_forbidden: false,
        usage: None,
    };
    let rows = build_microservices(Section::Custom, &objs, route.then_some(&routes));
    rows[0].external_url.clone()
}

#[test]
fn external_url_sources_in_order() {
    let ing = || Some(ingress("web", "web.example.org", "/", "web", &[]));
    assert_eq!(
        web_url(true, true, ing(), true),
        s("https://web.example.com")
    );
    assert_eq!(
        web_url(false, true, ing(), true),
        s("http://www.gram29.hasura-app.io")
    );
    assert_eq!(
        web_url(false, false, ing(), true),
        s("http://web.example.org")
    );
    assert_eq!(web_url(false, false, None, true), s("http://203.0.113.7"));
    assert_eq!(web_url(false, false, None, false), None);
}

#[test]
fn ingress_urls_use_tls_and_paths() {
    let tls = ingress("a", "web.example.org", "/app", "web", &["web.example.org"]);
    assert_eq!(
        web_url(false, false, Some(tls), false),
        s("https://web.example.org/app")
    );
    let wildcard = ingress("a", "web.example.org", "/", "web", &["*.example.org"]);
    assert_eq!(
        web_url(false, false, Some(wildcard), false),
        s("https://web.example.org")
    );
    let other_service = ingress("a", "api.example.org", "/", "api", &[]);
    assert_eq!(web_url(false, false, Some(other_service), false), None);
    let no_host = ingress("a", "", "/", "web", &[]);
    assert_eq!(web_url(false, false, Some(no_host), false), None);
}

#[test]
fn pods_join_by_selector_within_namespace() {
    let mut crashing = pod("api-1", "default", "api");
    crashing.containers = vec![ContainerInfo {
        name: "api".into(),
        waiting_reason: s("CrashLoopBackOff"),
        terminated: None,
    }];
    crashing.labels.insert("tier", "backend");
    let mut w = deploy("api", "default");
    w.ready = 0;
    w.selector.insert("tier", "backend");
    let mut objs = NamespaceObjects {
        workloads: vec![w.clone()],
        pods: vec![
            crashing.clone(),
            // Same labels, other namespace: not ours.
            PodInfo {
                namespace: "other".into(),
                name: "api-x".into(),
                ..crashing.clone()
            },
        ],
        ..Default::default()
    };
    let rows = build_microservices(Section::Custom, &objs, None);
    assert_eq!(rows[0].status.to_string(), "Error(CrashLoopBackOff)");

    // A pod missing one selector label does not belong to the workload.
    objs.pods[0].labels.remove("tier");
    let rows = build_microservices(Section::Custom, &objs, None);
    assert_eq!(rows[0].status, Status::Starting);

    // An empty selector matches no pods at all.
    w.selector.clear();
    objs.workloads = vec![w];
    objs.pods = vec![crashing];
    let rows = build_microservices(Section::Custom, &objs, None);
    assert_eq!(rows[0].status, Status::Starting);
}

#[test]
fn same_name_deployment_and_statefulset_both_listed() {
    let objs = NamespaceObjects {
        workloads: vec![
            workload(WorkloadKind::StatefulSet, "db", "default"),
            deploy("db", "default"),
        ],
        services: vec![service("db", "default", 5432)],
        ..Default::default()
    };
    let rows = build_microservices(Section::Custom, &objs, None);
    let kinds: Vec<_> = rows.iter().map(|r| r.workload_kind).collect();
    assert_eq!(
        kinds,
        [
            Some(WorkloadKind::Deployment),
            Some(WorkloadKind::StatefulSet)
        ]
    );
    assert!(
        rows.iter()
            .all(|r| r.internal_url.as_deref() == Some("db.default"))
    );
}

/// The benchmark's shape: 20,000 microservices, 40,000 pods sharing a common label. Checked for
/// correctness here; the time printed is a debug build's (release is several times faster).
#[test]
fn twenty_thousand_rows() {
    let n = 20_000;
    let mut objs = NamespaceObjects::default();
    for i in 0..n {
        let name = format!("svc-{i:05}");
        objs.workloads.push(deploy(&name, "default"));
        objs.services.push(service(&name, "default", 8080));
        for r in 0..2 {
            let mut p = pod(&format!("{name}-{r}"), "default", &name);
            p.labels.insert("tier", "bench");
            objs.pods.push(p);
        }
    }
    objs.workloads.reverse();
    let start = Instant::now();
    let rows = build_microservices(Section::Custom, &objs, None);
    let took = start.elapsed();
    println!("build_microservices: {n} rows in {took:?}");
    assert_eq!(rows.len(), n);
    assert_eq!(rows[0].name, "svc-00000");
    assert!(rows.iter().all(|r| r.status == Status::Running));
}

#[test]
fn services_join_by_name_and_namespace() {
    let objs = NamespaceObjects {
        workloads: vec![deploy("b", "ns1"), deploy("a", "ns1")],
        services: vec![
            service("c", "ns1", 80),
            service("b", "ns1", 80),
            service("a", "ns2", 80),
        ],
        ..Default::default()
    };
    let rows = build_microservices(Section::Custom, &objs, None);
    let got: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                r.name.as_str(),
                r.namespace.as_str(),
                r.status.clone(),
                r.internal_url.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("a", "ns1", Status::Running, None),
            ("a", "ns2", Status::NoWorkload, Some("a.ns2")),
            ("b", "ns1", Status::Running, Some("b.ns1")),
            ("c", "ns1", Status::NoWorkload, Some("c.ns1")),
        ]
    );
}
