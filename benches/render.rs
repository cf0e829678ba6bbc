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
use hasura_tui::model::{Microservice, Section, ServicePortInfo, Status, TargetPort, WorkloadKind};
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
    }
}

fn app(custom_rows: usize) -> App {
    let view = |section, namespace: &str, rows: Vec<Microservice>| SectionView {
        section,
        namespace: namespace.into(),
        rows: Arc::new(rows),
        state: WatchState::Synced,
        stale: false,
    };
    let custom = (0..custom_rows)
        .map(|i| microservice(Section::Custom, format!("svc-{i:05}"), i % 3 == 0))
        .collect();
    let hasura = ["auth", "data", "filestore", "gateway", "notify", "postgres"]
        .into_iter()
        .map(|n| microservice(Section::Hasura, n.to_string(), true))
        .collect();
    let snapshot = Snapshot {
        custom: view(Section::Custom, "default", custom),
        hasura: view(Section::Hasura, "hasura", hasura),
        routes_error: None,
        routes_listed: true,
        cluster_name: "gram29".into(),
        resource_version: 1,
        generation: 1,
    };
    let connection = Connection {
        context: "gram29".into(),
        server: "https://127.0.0.1:6443".into(),
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

criterion_group!(benches, render);
criterion_main!(benches);
