//! The cluster feed against the demo cluster over HTTPS: the seed's rows, live changes after
//! faults, and resync without duplicates after dropped watches and compaction.
use crate::common;

use std::sync::Arc;
use std::time::Duration;

use hasura_tui::cluster::{FeedConfig, Metrics, Snapshot, WatchState, spawn_feed};
use hasura_tui::config::connect_yaml;
use hasura_tui::demo::{DemoCluster, PodFault};
use hasura_tui::model::Status;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

async fn feed_for(demo: &DemoCluster) -> (watch::Receiver<Arc<Snapshot>>, CancellationToken) {
    feed_with(demo, false, None).await
}

/// A feed that reads the metrics API (`metrics`), with the tables shown while `shown` says so.
async fn feed_with(
    demo: &DemoCluster,
    metrics: bool,
    shown: Option<watch::Receiver<bool>>,
) -> (watch::Receiver<Arc<Snapshot>>, CancellationToken) {
    let target = connect_yaml(&demo.kubeconfig_yaml(), "demo", None)
        .await
        .unwrap();
    let stop = CancellationToken::new();
    let config = FeedConfig {
        metrics,
        tables_shown: shown,
        ..common::seed_feed_config(&target)
    };
    (spawn_feed(target.client, config, stop.clone()), stop)
}

/// Waits for a snapshot that satisfies `check`, or fails after 10 s showing the last one.
fn row<'a>(
    s: &'a Snapshot,
    ns_hasura: bool,
    name: &str,
) -> Option<&'a hasura_tui::model::Microservice> {
    let section = if ns_hasura {
        &s.sections.hasura
    } else {
        &s.sections.custom
    };
    section.rows.iter().find(|m| m.name == name).map(|m| &**m)
}

#[tokio::test]
async fn the_first_snapshot_holds_the_seed_with_sections_and_urls() {
    let demo = common::start_seed_demo().await;
    let (mut rx, _stop) = feed_for(&demo).await;
    let s = common::wait_for_snapshot(&mut rx, "both namespaces synced", |s| {
        s.sections.custom.state == WatchState::Synced
            && s.sections.hasura.state == WatchState::Synced
    })
    .await;
    let names = |rows: &[std::sync::Arc<hasura_tui::model::Microservice>]| {
        rows.iter().map(|m| m.name.clone()).collect::<Vec<_>>()
    };
    assert_eq!(names(&s.sections.custom.rows), ["my-app"]);
    assert_eq!(
        names(&s.sections.hasura.rows),
        [
            "auth",
            "data",
            "filestore",
            "gateway",
            "le-agent",
            "notify",
            "platform-sync",
            "postgres",
            "session-redis",
            "sshd"
        ]
    );
    assert_eq!(s.cluster_name, "gram29");
    assert_eq!(s.routes_error, None);
    for m in s
        .sections
        .custom
        .rows
        .iter()
        .chain(s.sections.hasura.rows.iter())
    {
        assert_eq!(m.status, Status::Running, "{}", m.name);
        assert_eq!(
            m.internal_url.as_deref(),
            Some(format!("{}.{}", m.name, m.namespace).as_str())
        );
        let expected = ["auth", "data", "filestore", "notify", "my-app"]
            .contains(&m.name.as_str())
            .then(|| format!("http://{}.gram29.hasura-app.io", m.name));
        assert_eq!(m.external_url, expected, "{}", m.name);
    }
}

/// A crashing sidecar is an error of the microservice (docs/status.md per container), for a
/// mesh sidecar (data's istio-proxy) and a native one (filestore's cloud-sql-proxy); kubectl
/// reads the same pods as 1/2 ready and crash-looping.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashing_sidecar_is_an_error_of_its_microservice() {
    let demo = common::start_demo().await;
    let faults = demo.faults();
    let (mut rx, _stop) = feed_for(&demo).await;
    common::wait_for_snapshot(&mut rx, "sync", |s| s.settled()).await;
    for name in ["data", "filestore"] {
        faults
            .set_pod_fault("hasura", name, Some(PodFault::SidecarCrashLoopBackOff))
            .unwrap();
    }
    let s = common::wait_for_snapshot(&mut rx, "both in CrashLoopBackOff", |s| {
        ["data", "filestore"].iter().all(|n| {
            row(s, true, n).is_some_and(|m| m.status == Status::Error("CrashLoopBackOff".into()))
        })
    })
    .await;
    assert_eq!(row(&s, true, "data").unwrap().replicas(), "0/1");

    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    demo.write_kubeconfig(&kubeconfig).unwrap();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(common::kubectl())
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args(["get", "pods", "-n", "hasura", "--no-headers"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let pods = String::from_utf8(out.stdout).unwrap();
    // printPod names a native sidecar's crash as an init container's (it is one).
    for (name, status) in [
        ("data-", "CrashLoopBackOff"),
        ("filestore-", "Init:CrashLoopBackOff"),
    ] {
        let line = pods.lines().find(|l| l.starts_with(name)).unwrap();
        let columns: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(&columns[1..4], ["1/2", status, "1"], "{pods}");
    }

    for name in ["data", "filestore"] {
        faults.set_pod_fault("hasura", name, None).unwrap();
    }
    common::wait_for_snapshot(&mut rx, "both healthy again", |s| {
        ["data", "filestore"]
            .iter()
            .all(|n| row(s, true, n).is_some_and(|m| m.status == Status::Running))
    })
    .await;
}

#[tokio::test]
async fn faults_show_in_the_next_snapshots() {
    let demo = common::start_demo().await;
    let faults = demo.faults();
    let (mut rx, _stop) = feed_for(&demo).await;
    common::wait_for_snapshot(&mut rx, "sync", |s| s.settled()).await;

    faults
        .set_pod_fault("hasura", "data", Some(PodFault::CrashLoopBackOff))
        .unwrap();
    common::wait_for_snapshot(&mut rx, "data in CrashLoopBackOff", |s| {
        row(s, true, "data").is_some_and(|m| m.status == Status::Error("CrashLoopBackOff".into()))
    })
    .await;
    faults.set_pod_fault("hasura", "data", None).unwrap();
    common::wait_for_snapshot(&mut rx, "data healthy again", |s| {
        row(s, true, "data").is_some_and(|m| m.status == Status::Running)
    })
    .await;

    faults.scale("hasura", "notify", 0).unwrap();
    let s = common::wait_for_snapshot(&mut rx, "notify stopped", |s| {
        row(s, true, "notify").is_some_and(|m| m.status == Status::Stopped)
    })
    .await;
    assert_eq!(row(&s, true, "notify").unwrap().replicas(), "0/0");

    faults
        .apply_manifests(
            "apiVersion: apps/v1
kind: Deployment
metadata: {name: billing, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: billing}}
  template:
    metadata: {labels: {app: billing}}
    spec: {containers: [{name: billing, image: billing:1, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: billing, namespace: default}
spec:
  selector: {app: billing}
  ports: [{name: http, port: 80, targetPort: http}]
",
        )
        .unwrap();
    let s = common::wait_for_snapshot(&mut rx, "billing running", |s| {
        row(s, false, "billing").is_some_and(|m| m.status == Status::Running)
    })
    .await;
    assert_eq!(row(&s, false, "billing").unwrap().replicas(), "2/2");
    assert_eq!(
        row(&s, false, "billing").unwrap().internal_url.as_deref(),
        Some("billing.default")
    );
    assert_eq!(row(&s, false, "billing").unwrap().external_url, None);

    // A route added to hasura-conf gives billing an external URL.
    let conf = include_str!("../../assets/demo-cluster/hasura-conf.yaml").replace(
        "    my-app:\n",
        "    billing:\n      /:\n        upstreamService:\n          name: billing\n          namespace: '{{ cluster.metadata.namespaces.user }}'\n        upstreamServicePath: /\n        upstreamServicePort: 80\n    my-app:\n",
    );
    faults.apply_manifests(&conf).unwrap();
    common::wait_for_snapshot(&mut rx, "billing's route", |s| {
        row(s, false, "billing").and_then(|m| m.external_url.as_deref())
            == Some("http://billing.gram29.hasura-app.io")
    })
    .await;

    // A broken routes file is reported in the header and skipped; the rows stay.
    let broken = include_str!("../../assets/demo-cluster/hasura-conf.yaml")
        .replace("upstreamServicePort: 80", "upstreamServicePort: [oops");
    faults.apply_manifests(&broken).unwrap();
    let s =
        common::wait_for_snapshot(&mut rx, "a routes error", |s| s.routes_error.is_some()).await;
    assert!(
        s.routes_error.as_deref().unwrap().contains("routes.yaml"),
        "{:?}",
        s.routes_error
    );
    assert_eq!(s.sections.hasura.rows.len(), 10);
    assert_eq!(row(&s, true, "auth").unwrap().external_url, None);
}

#[tokio::test]
async fn dropped_watches_and_compaction_resync_without_duplicates() {
    let demo = common::start_seed_demo().await;
    let faults = demo.faults();
    let (mut rx, _stop) = feed_for(&demo).await;
    common::wait_for_snapshot(&mut rx, "sync", |s| s.settled()).await;

    // Changes the feed must not miss while its watches are down.
    faults.drop_watches();
    faults.scale("default", "my-app", 3).unwrap();
    faults.kill_one_pod("hasura", "auth").unwrap();
    faults.compact();
    faults.drop_watches();
    let s = common::wait_for_snapshot(&mut rx, "my-app at 3/3 after the resync", |s| {
        row(s, false, "my-app").is_some_and(|m| m.replicas() == "3/3")
            && row(s, true, "auth").is_some_and(|m| m.status == Status::Running)
    })
    .await;
    let mut names: Vec<&str> = s
        .sections
        .hasura
        .rows
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    let before = names.len();
    names.dedup();
    assert_eq!(names.len(), before, "no duplicate rows");
    assert_eq!(before, 10);
    assert_eq!(s.sections.custom.rows.len(), 1);
}

#[tokio::test]
async fn a_forbidden_namespace_leaves_the_other_table_working() {
    let demo = common::start_seed_demo().await;
    let faults = demo.faults();
    faults.forbid_namespace("hasura", true);
    let (mut rx, _stop) = feed_for(&demo).await;
    let s = common::wait_for_snapshot(&mut rx, "hasura forbidden and default synced", |s| {
        matches!(s.sections.hasura.state, WatchState::Forbidden(_))
            && s.sections.custom.state == WatchState::Synced
    })
    .await;
    assert!(s.sections.hasura.rows.is_empty());
    assert_eq!(s.sections.custom.rows.len(), 1);
    let WatchState::Forbidden(message) = &s.sections.hasura.state else {
        unreachable!()
    };
    assert!(message.starts_with("forbidden: "), "{message}");

    faults.forbid_namespace("hasura", false);
    common::wait_for_snapshot(&mut rx, "hasura back after the ban is lifted", |s| {
        s.sections.hasura.state == WatchState::Synced && s.sections.hasura.rows.len() == 10
    })
    .await;
}

#[tokio::test]
async fn an_api_server_restart_shows_reconnecting_with_stale_rows_then_resyncs() {
    let demo = common::start_demo().await;
    let faults = demo.faults();
    let (mut rx, _stop) = feed_for(&demo).await;
    common::wait_for_snapshot(&mut rx, "sync", |s| {
        s.settled() && s.sections.hasura.rows.len() == 10
    })
    .await;

    faults.stop_server().await;
    let s = common::wait_for_snapshot(&mut rx, "reconnecting", |s| {
        matches!(s.sections.hasura.state, WatchState::Reconnecting { .. })
    })
    .await;
    assert!(s.sections.hasura.stale, "rows kept and marked stale");
    assert_eq!(s.sections.hasura.rows.len(), 10);

    // A change made while the server is down is seen after the restart.
    faults.scale("default", "my-app", 2).unwrap();
    faults.restart_server().await.unwrap();
    let s = common::wait_for_snapshot(&mut rx, "resynced", |s| {
        s.sections.hasura.state == WatchState::Synced
            && s.sections.custom.state == WatchState::Synced
            && row(s, false, "my-app").is_some_and(|m| m.replicas() == "2/2")
    })
    .await;
    assert!(!s.sections.hasura.stale);
    assert_eq!(
        s.sections.hasura.rows.len(),
        10,
        "no duplicates after the resync"
    );
}

#[tokio::test]
async fn a_stalled_api_server_is_reported_then_resyncs_when_it_answers_again() {
    let demo = common::start_demo().await;
    let faults = demo.faults();
    let (mut rx, _stop) = feed_for(&demo).await;
    common::wait_for_snapshot(&mut rx, "sync", |s| {
        s.settled() && s.sections.hasura.rows.len() == 10
    })
    .await;

    // Requests are accepted and never answered; the open watches are dropped, so the feed's
    // relists hang. It must say so rather than look synced.
    faults.stall(true);
    faults.drop_watches();
    let s = tokio::time::timeout(
        Duration::from_secs(15),
        rx.wait_for(|s| {
            matches!(&s.sections.hasura.state, WatchState::Reconnecting { reason, .. } if reason.contains("no answer"))
        }),
    )
    .await
    .expect("the stall reported within 15 s")
    .unwrap()
    .clone();
    assert!(
        s.sections.hasura.stale && s.sections.custom.stale,
        "rows kept, marked stale"
    );
    assert_eq!(s.sections.hasura.rows.len(), 10);

    faults.scale("default", "my-app", 2).unwrap();
    faults.stall(false);
    let s = common::wait_for_snapshot(&mut rx, "synced after the stall", |s| {
        s.sections.hasura.state == WatchState::Synced
            && s.sections.custom.state == WatchState::Synced
            && row(s, false, "my-app").is_some_and(|m| m.replicas() == "2/2")
    })
    .await;
    assert!(!s.sections.hasura.stale);
    assert_eq!(s.sections.hasura.rows.len(), 10);
}

/// CPU and MEM are read only while the tables are on screen: hidden (the detail or logs pane
/// covers them), the feed syncs but asks the metrics API nothing; shown, the rows get their
/// pods' figures, summed.
#[tokio::test]
async fn metrics_are_read_only_while_the_tables_show() {
    let demo = common::start_demo().await;
    let (shown_tx, shown) = watch::channel(false);
    let (mut rx, stop) = feed_with(&demo, true, Some(shown)).await;
    common::wait_for_snapshot(&mut rx, "both tables synced", |s| {
        s.sections.custom.state == WatchState::Synced
            && s.sections.hasura.state == WatchState::Synced
    })
    .await;
    let lists = demo.faults().request_counts().list;
    // Half a second in which a read would have happened at once (the first tick is due).
    let until = tokio::time::Instant::now() + Duration::from_millis(500);
    while tokio::time::Instant::now() < until {
        let s = rx.borrow().clone();
        assert_eq!(
            s.sections.hasura.metrics,
            Metrics::Reading,
            "read while hidden"
        );
        assert_eq!(
            demo.faults().request_counts().list,
            lists,
            "a list while hidden"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    shown_tx.send_replace(true);
    let s = common::wait_for_snapshot(&mut rx, "figures in both tables", |s| {
        s.sections.custom.metrics == Metrics::Served && s.sections.hasura.metrics == Metrics::Served
    })
    .await;
    let data = row(&s, true, "data").expect("data's row");
    let usage = data.usage.expect("data's figures");
    // Two containers of 1m and 24Mi each at rest (the demo's metrics).
    assert_eq!(
        (usage.cpu_millis, usage.memory_bytes),
        (2, 48 * 1024 * 1024)
    );
    stop.cancel();
    demo.shutdown().await;
}
