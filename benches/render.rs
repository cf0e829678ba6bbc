//! Rendering one dashboard frame (160x45, ratatui's TestBackend) with 100 and with 20,000 rows in
//! the model: the cost should not grow with rows off screen. Criterion writes its estimates under
//! `target/criterion/render/`, where the report harness (`benches/report.rs`) reads the medians.
//!
//! Run: `cargo bench --bench render`.

use std::sync::Arc;
use std::time::Instant;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use hasura_tui::app::{App, Connection};
use hasura_tui::cluster::{SectionView, Snapshot, WatchState};
use hasura_tui::model::{
    Microservice, PerSection, Section, ServicePortInfo, Status, TargetPort, WorkloadKind,
};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn microservice(section: Section, name: String, external: bool) -> Microservice {
    let namespace = match section {
        Section::Custom => "default",
        Section::Hasura => "hasura",
    };
    Microservice {
        internal_url: Some(format!("{name}.{namespace}")),
        external_url: external.then(|| format!("http://{name}.gram29.hasura-app.io")),
        external_source: None,
        usage: None,
        name,
        namespace: namespace.to_string(),
        section,
        workload_kind: Some(WorkloadKind::Deployment),
        ready: 2,
        desired: 2,
        status: Status::Running,
        ports: vec![ServicePortInfo {
            name: Some("http".into()),
            port: 80,
            target: TargetPort::Name("http".into()),
            protocol: "TCP".into(),
        }],
        created: None,
        selector: Default::default(),
    }
}

fn app(custom_rows: usize) -> App {
    let view = |section, namespace: &str, rows: Vec<Microservice>| SectionView {
        section,
        namespace: namespace.into(),
        rows: hasura_tui::cluster::rows(rows),
        state: WatchState::Synced,
        stale: false,
        notes: Vec::new(),
        metrics: Default::default(),
    };
    let custom = (0..custom_rows)
        .map(|i| microservice(Section::Custom, format!("svc-{i:05}"), i % 3 == 0))
        .collect();
    let hasura = ["auth", "data", "filestore", "gateway", "notify", "postgres"]
        .into_iter()
        .map(|n| microservice(Section::Hasura, n.to_string(), true))
        .collect();
    let snapshot = Snapshot {
        sections: PerSection {
            custom: view(Section::Custom, "default", custom),
            hasura: view(Section::Hasura, "hasura", hasura),
        },
        routes_error: None,
        routes_listed: true,
        route_sources: Default::default(),
        cluster_name: "gram29".into(),
        resource_version: 1,
        generation: 1,
    };
    let connection = Connection {
        alias: None,
        context: "gram29".into(),
        server: "https://127.0.0.1:6443".into(),
        user_namespace: None,
    };
    App::new(connection, Arc::new(snapshot), (160, 45), Instant::now())
}

fn render(c: &mut Criterion) {
    let mut group = c.benchmark_group("render");
    for rows in [100, 20_000] {
        let app = app(rows);
        let mut terminal = Terminal::new(TestBackend::new(160, 45)).unwrap();
        group.bench_with_input(
            BenchmarkId::new(format!("{rows} rows"), ""),
            &app,
            |b, app| {
                b.iter(|| {
                    terminal
                        .draw(|frame| hasura_tui::ui::draw(frame, app))
                        .unwrap();
                })
            },
        );
    }
    group.finish();
}

/// The join that turns a namespace's objects into rows, at the report's churn scale (5,000
/// microservices, 10,000 pods): the feed runs it for every snapshot of a changed namespace.
fn join(c: &mut Criterion) {
    use hasura_tui::model::{NamespaceObjects, PodInfo, ServiceInfo, WorkloadInfo};
    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::core::v1::Service;
    use serde_json::json;
    let mut objects = NamespaceObjects::default();
    for i in 0..5000 {
        let name = format!("svc-{i:05}");
        let deployment: Deployment = serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "default", "labels": {"app": name}},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}}},
            "status": {"replicas": 2, "readyReplicas": 2, "updatedReplicas": 2}
        }))
        .unwrap();
        let service: Service = serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}
        }))
        .unwrap();
        objects.workloads.push(WorkloadInfo::from(&deployment));
        objects.services.push(ServiceInfo::from(&service));
        for p in 0..2 {
            let pod: hasura_tui::model::pod_wire::PodWire = serde_json::from_value(json!({
                "metadata": {"name": format!("{name}-abc-{p}"), "namespace": "default",
                             "labels": {"app": name, "pod-template-hash": "abc"}},
                "spec": {"containers": [{"name": "app", "ports": [{"name": "http", "containerPort": 8080}]}]},
                "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
                           "containerStatuses": [{"name": "app", "ready": true, "restartCount": 0,
                               "image": "x", "imageID": "x", "state": {"running": {}}}]}
            }))
            .unwrap();
            objects.pods.push(PodInfo::from(&pod));
        }
    }
    c.bench_function("join/5000 microservices", |b| {
        b.iter(|| hasura_tui::model::build_microservices(Section::Custom, &objects, None))
    });
}

criterion_group!(benches, render, join);
criterion_main!(benches);
