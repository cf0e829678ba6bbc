//! The demo cluster as a developer sees it (the Role in assets/demo-cluster/rbac.yaml: read and
//! port-forward in `default`, read but not forward in `hasura`, no statefulsets, ingresses or
//! configmaps): kubectl's answers first, so the demo is shown to refuse as a real API server
//! does, then hasura-tui's `list`, feed, forwards and logs against the same Role.
use crate::common;

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use hasura_tui::access::AccessCache;
use hasura_tui::cluster::{Snapshot, WatchState, spawn_feed};
use hasura_tui::config::connect_yaml;
use hasura_tui::demo::{DemoCluster, KubeconfigAuth};
use hasura_tui::forward::{ForwardManager, ForwardSpec, ForwardState, Transport};
use hasura_tui::logs::{self, LogEvent, LogOptions};
use hasura_tui::model::Status;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

const BIN: &str = env!("CARGO_BIN_EXE_hasura-tui");

struct Developer {
    demo: DemoCluster,
    kubeconfig: PathBuf,
    yaml: String,
    _dir: tempfile::TempDir,
}

async fn developer() -> Developer {
    developer_on(common::start_demo().await)
}

fn developer_on(demo: DemoCluster) -> Developer {
    developer_on_user(demo, "developer")
}

/// A kubeconfig for `user` (a token the demo issued), subject to the Roles bound to it.
fn developer_on_user(demo: DemoCluster, user: &str) -> Developer {
    let auth = KubeconfigAuth::UserToken { user: user.into() };
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("developer.yaml");
    demo.write_kubeconfig_with(&kubeconfig, &auth).unwrap();
    let yaml = demo.kubeconfig_with(&auth).unwrap();
    Developer {
        demo,
        kubeconfig,
        yaml,
        _dir: dir,
    }
}

/// Runs a process off the async runtime (the demo serves on it meanwhile).
async fn run(
    program: &std::path::Path,
    kubeconfig: &std::path::Path,
    args: &[&str],
) -> (i32, String, String) {
    let mut cmd = Command::new(program);
    cmd.arg("--kubeconfig").arg(kubeconfig).args(args);
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_answers_for_the_developer_as_a_real_cluster_would() {
    let dev = developer().await;
    let program = common::kubectl();
    let kubectl = |args: &'static [&'static str]| run(&program, &dev.kubeconfig, args);

    let (code, out, _) = kubectl(&[
        "auth",
        "whoami",
        "-o",
        "jsonpath={.status.userInfo.username}",
    ])
    .await;
    assert_eq!((code, out.as_str()), (0, "developer"));

    // `pods/portforward` is a subresource: kubectl asks for it with --subresource (written
    // `pods/portforward`, kubectl would read `portforward` as a pod's name).
    let (code, out, _) = kubectl(&[
        "auth",
        "can-i",
        "create",
        "pods",
        "--subresource=portforward",
        "-n",
        "hasura",
    ])
    .await;
    assert_eq!((code, out.trim()), (1, "no"));
    let (code, out, _) = kubectl(&[
        "auth",
        "can-i",
        "create",
        "pods",
        "--subresource=portforward",
        "-n",
        "default",
    ])
    .await;
    assert_eq!((code, out.trim()), (0, "yes"));
    let (code, out, _) = kubectl(&[
        "auth",
        "can-i",
        "get",
        "pods",
        "--subresource=log",
        "-n",
        "hasura",
    ])
    .await;
    assert_eq!((code, out.trim()), (0, "yes"));
    let (code, out, _) = kubectl(&[
        "auth",
        "can-i",
        "list",
        "statefulsets.apps",
        "-n",
        "default",
    ])
    .await;
    assert_eq!((code, out.trim()), (1, "no"));

    let (code, list, stderr) = kubectl(&["auth", "can-i", "--list", "-n", "default"]).await;
    assert_eq!(code, 0, "{stderr}");
    let rule = |resource: &str| -> Option<String> {
        list.lines()
            .find(|l| l.split_whitespace().next() == Some(resource))
            .map(|l| l.split_whitespace().last().unwrap().to_string())
    };
    assert_eq!(
        rule("pods/portforward").as_deref(),
        Some("create]"),
        "{list}"
    );
    assert!(list.contains("[get create]"), "{list}");
    assert!(rule("deployments.apps").is_some(), "{list}");
    assert!(rule("endpointslices.discovery.k8s.io").is_some(), "{list}");
    assert!(
        rule("selfsubjectaccessreviews.authorization.k8s.io").is_some(),
        "{list}"
    );
    assert!(!list.contains("statefulsets"), "{list}");
    let (_, hasura_list, _) = kubectl(&["auth", "can-i", "--list", "-n", "hasura"]).await;
    assert!(!hasura_list.contains("pods/portforward"), "{hasura_list}");

    let (code, _, stderr) = kubectl(&["get", "statefulsets", "-n", "hasura"]).await;
    assert_eq!(code, 1);
    assert_eq!(
        stderr.trim(),
        "Error from server (Forbidden): statefulsets.apps is forbidden: User \"developer\" cannot list resource \"statefulsets\" in API group \"apps\" in the namespace \"hasura\""
    );
    let (code, _, stderr) = kubectl(&["get", "configmap", "hasura-conf", "-n", "hasura"]).await;
    assert_eq!(code, 1);
    assert!(
        stderr.contains("configmaps \"hasura-conf\" is forbidden: User \"developer\" cannot get resource \"configmaps\" in API group \"\" in the namespace \"hasura\""),
        "{stderr}"
    );

    let (code, slices, stderr) = kubectl(&["get", "endpointslices", "-n", "hasura"]).await;
    assert_eq!(code, 0, "{stderr}");
    let data = slices
        .lines()
        .find(|l| l.starts_with("data-"))
        .unwrap_or_else(|| panic!("no slice of data:\n{slices}"));
    let columns: Vec<&str> = data.split_whitespace().collect();
    assert_eq!(&columns[1..3], ["IPv4", "8080"], "{slices}");

    let (code, pods, stderr) = kubectl(&["get", "pods", "-n", "hasura"]).await;
    assert_eq!(code, 0, "{stderr}");
    for (name, ready) in [("data-", "2/2"), ("filestore-", "2/2"), ("auth-", "1/1")] {
        let line = pods.lines().find(|l| l.starts_with(name)).unwrap();
        assert_eq!(line.split_whitespace().nth(1), Some(ready), "{pods}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_as_the_developer_shows_what_the_role_allows_and_says_what_it_cannot() {
    let dev = developer().await;
    let bin = PathBuf::from(BIN);
    let (code, stdout, stderr) = run(&bin, &dev.kubeconfig, &["list"]).await;
    assert_eq!(code, 0, "{stderr}");
    // No StatefulSets: postgres is there by its Service, its status unknown, legacy-backend
    // (a StatefulSet without a Service) cannot be seen; no ConfigMap: no gateway routes.
    let want = "\
Custom microservices:
NAME          STATUS                     INTERNAL-URL         EXTERNAL-URL
cache         Running                    cache.default
docs          external: docs.hasura.io   docs.default
legacy-api    Unknown                    legacy-api.default
my-app        Running                    my-app.default
shop          Running                    shop.default
shop-canary   Running

Hasura microservices:
NAME            STATUS    INTERNAL-URL           EXTERNAL-URL
auth            Running   auth.hasura
data            Running   data.hasura
filestore       Running   filestore.hasura
gateway         Running   gateway.hasura
le-agent        Running   le-agent.hasura
notify          Running   notify.hasura
platform-sync   Running   platform-sync.hasura
postgres        Unknown   postgres.hasura
session-redis   Running   session-redis.hasura
sshd            Running   sshd.hasura
";
    assert_eq!(stdout, want);
    assert_eq!(
        stderr.lines().collect::<Vec<_>>(),
        [
            "warning: custom microservices (default): statefulsets: forbidden (legacy-api: status unknown)",
            "warning: custom microservices (default): ingresses: forbidden (external URLs from routes only)",
            "warning: hasura microservices (hasura): statefulsets: forbidden (postgres: status unknown)",
            "warning: hasura microservices (hasura): ingresses: forbidden (external URLs from routes only)",
            "warning: hasura microservices (hasura): configmap hasura-conf: forbidden (no gateway routes)",
        ]
    );
    // The admin sees postgres running and the routes.
    let admin = dev._dir.path().join("admin.yaml");
    dev.demo.write_kubeconfig(&admin).unwrap();
    let (code, stdout, stderr) = run(&bin, &admin, &["list", "-n", "hasura"]).await;
    assert_eq!((code, stderr.as_str()), (0, ""));
    assert!(stdout.contains("postgres        Running"), "{stdout}");
    assert!(
        stdout.contains("http://data.gram29.hasura-app.io"),
        "{stdout}"
    );
}

async fn feed(yaml: &str) -> (watch::Receiver<Arc<Snapshot>>, CancellationToken) {
    let target = connect_yaml(yaml, "developer", None).await.unwrap();
    let stop = CancellationToken::new();
    let config = common::seed_feed_config(&target);
    (spawn_feed(target.client, config, stop.clone()), stop)
}

#[tokio::test]
async fn the_feed_keeps_every_allowed_kind_and_a_lasting_403_is_asked_once_per_backoff_step() {
    let dev = developer().await;
    let started = std::time::Instant::now();
    let (mut rx, _stop) = feed(&dev.yaml).await;
    let s = tokio::time::timeout(
        Duration::from_secs(10),
        rx.wait_for(|s| {
            s.sections.custom.state == WatchState::Synced
                && s.sections.hasura.state == WatchState::Synced
        }),
    )
    .await
    .expect("both tables synced despite the forbidden kinds")
    .unwrap()
    .clone();
    let status = |rows: &hasura_tui::cluster::Rows, name: &str| {
        rows.iter()
            .find(|m| m.name == name)
            .map(|m| m.status.clone())
    };
    assert_eq!(
        status(&s.sections.hasura.rows, "data"),
        Some(Status::Running)
    );
    assert_eq!(
        status(&s.sections.hasura.rows, "postgres"),
        Some(Status::Unknown)
    );
    assert_eq!(s.sections.hasura.rows.len(), 10);
    assert!(!s.sections.custom.stale && !s.sections.hasura.stale);
    assert_eq!(
        s.sections.hasura.notes,
        [
            "statefulsets: forbidden (postgres: status unknown)",
            "ingresses: forbidden (external URLs from routes only)",
            "configmap hasura-conf: forbidden (no gateway routes)",
        ]
    );
    assert_eq!(
        s.sections.custom.notes.len(),
        2,
        "{:?}",
        s.sections.custom.notes
    );

    // Watch the refusals for a while: each forbidden watch is asked again only after its
    // backoff, which starts at 800 ms, doubles, and is drawn between half and all of it.
    let window = Duration::from_secs(7);
    tokio::time::sleep(window.saturating_sub(started.elapsed())).await;
    let refusals = dev.demo.faults().refusals();
    let mut by_request: std::collections::BTreeMap<String, Vec<std::time::Instant>> =
        Default::default();
    for r in refusals.iter().filter(|r| r.user == "developer") {
        by_request.entry(r.what.clone()).or_default().push(r.at);
    }
    let kinds: Vec<&String> = by_request.keys().collect();
    assert_eq!(
        kinds,
        [
            "list configmaps in hasura",
            "list ingresses.networking.k8s.io in default",
            "list ingresses.networking.k8s.io in hasura",
            "list statefulsets.apps in default",
            "list statefulsets.apps in hasura",
        ],
        "only the kinds the Role leaves out are refused"
    );
    for (what, times) in &by_request {
        let gaps: Vec<String> = times
            .windows(2)
            .map(|p| format!("{:.2}s", (p[1] - p[0]).as_secs_f64()))
            .collect();
        println!("{what}: {} requests, gaps {}", times.len(), gaps.join(" "));
        assert!(times.len() >= 3, "{what} retried: {times:?}");
        for (step, pair) in times.windows(2).enumerate() {
            let least = Duration::from_millis(400) * (1 << step);
            let gap = pair[1] - pair[0];
            assert!(
                gap >= least.mul_f64(0.95),
                "{what}: retry {} came {gap:?} after the one before, under the {least:?} backoff floor",
                step + 1
            );
        }
    }
}

#[tokio::test]
async fn forwards_are_refused_at_once_where_the_role_forbids_and_work_where_it_allows() {
    let dev = developer().await;
    let client = connect_yaml(&dev.yaml, "developer", None)
        .await
        .unwrap()
        .client;
    let mut manager = ForwardManager::new(client);
    let mut spec = ForwardSpec::new("hasura", "data");
    spec.local_port = Some(0);
    let key = spec.key();
    manager.start(spec);
    let status = manager.wait_started(&key).await.unwrap();
    assert_eq!(
        status.state,
        ForwardState::Error("forbidden: may not port-forward in hasura".into())
    );
    assert_eq!(status.local, None, "nothing was bound");
    assert_eq!(dev.demo.faults().request_counts().portforward, 0);

    let mut spec = ForwardSpec::new("default", "my-app");
    spec.local_port = Some(0);
    let key = spec.key();
    manager.start(spec);
    let status = manager.wait_started(&key).await.unwrap();
    assert_eq!(status.state, ForwardState::Active, "{status:?}");
    let mut stream = tokio::net::TcpStream::connect(status.local.unwrap())
        .await
        .unwrap();
    stream
        .write_all(b"GET /as-developer HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("/as-developer"), "{response}");
}

/// A user bound to a Role without `pods/log`: the logs follower says so before streaming.
#[tokio::test]
async fn logs_are_refused_at_once_without_pods_log() {
    let demo = common::start_demo().await;
    demo.faults()
        .apply_manifests(
            "\
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: pods-only, namespace: default}
rules:
  - {apiGroups: [\"\"], resources: [pods, services], verbs: [get, list, watch]}
  - {apiGroups: [apps], resources: [deployments], verbs: [get, list, watch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: auditor, namespace: default}
subjects: [{kind: User, apiGroup: rbac.authorization.k8s.io, name: auditor}]
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: pods-only}
",
        )
        .unwrap();
    let yaml = demo
        .kubeconfig_with(&KubeconfigAuth::UserToken {
            user: "auditor".into(),
        })
        .unwrap();
    let client = connect_yaml(&yaml, "auditor", None).await.unwrap().client;
    let (tx, mut rx) = mpsc::channel(16);
    let cancel = CancellationToken::new();
    logs::spawn_follow_microservice(
        client,
        AccessCache::default(),
        "default",
        "my-app",
        LogOptions::default(),
        tx,
        cancel.clone(),
    );
    let first = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .unwrap();
    assert_eq!(
        first,
        Some(LogEvent::Notice(
            "forbidden: may not read logs in default".into()
        ))
    );
    assert_eq!(demo.faults().request_counts().log, 0);
    cancel.cancel();
}

/// A Role that may not read pods: the status comes from the workloads (said in a note), and a
/// forward still works, from the EndpointSlices.
#[tokio::test]
async fn without_pods_the_status_comes_from_the_workloads_and_forwards_still_work() {
    let demo = common::start_demo().await;
    demo.faults()
        .apply_manifests(
            "\
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: no-pods, namespace: hasura}
rules:
  - {apiGroups: [\"\"], resources: [services, configmaps], verbs: [get, list, watch]}
  - {apiGroups: [apps], resources: [deployments, statefulsets], verbs: [get, list, watch]}
  - {apiGroups: [networking.k8s.io], resources: [ingresses], verbs: [get, list, watch]}
  - {apiGroups: [discovery.k8s.io], resources: [endpointslices], verbs: [get, list, watch]}
  - {apiGroups: [\"\"], resources: [pods/portforward], verbs: [get, create]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: operator, namespace: hasura}
subjects: [{kind: User, apiGroup: rbac.authorization.k8s.io, name: operator}]
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: no-pods}
",
        )
        .unwrap();
    let yaml = demo
        .kubeconfig_with(&KubeconfigAuth::UserToken {
            user: "operator".into(),
        })
        .unwrap();
    let (mut rx, _stop) = feed(&yaml).await;
    let s = tokio::time::timeout(
        Duration::from_secs(10),
        rx.wait_for(|s| {
            s.sections.hasura.state == WatchState::Synced && !s.sections.hasura.rows.is_empty()
        }),
    )
    .await
    .expect("the hasura table synced")
    .unwrap()
    .clone();
    assert_eq!(
        s.sections.hasura.notes,
        ["pods: forbidden (status from the workloads)"]
    );
    let data = s
        .sections
        .hasura
        .rows
        .iter()
        .find(|m| m.name == "data")
        .unwrap();
    assert_eq!(
        (data.status.clone(), data.replicas()),
        (Status::Running, "1/1".into())
    );
    assert_eq!(s.sections.hasura.rows.len(), 10);

    // The workload's own count follows a crash.
    demo.faults()
        .set_pod_fault(
            "hasura",
            "data",
            Some(hasura_tui::demo::PodFault::CrashLoopBackOff),
        )
        .unwrap();
    tokio::time::timeout(
        Duration::from_secs(10),
        rx.wait_for(|s| {
            s.sections
                .hasura
                .rows
                .iter()
                .any(|m| m.name == "data" && m.replicas() == "0/1" && m.status != Status::Running)
        }),
    )
    .await
    .expect("data no longer ready, from its Deployment's status")
    .unwrap();
    demo.faults().set_pod_fault("hasura", "data", None).unwrap();

    let client = connect_yaml(&yaml, "operator", None).await.unwrap().client;
    let mut manager = ForwardManager::new(client);
    let mut spec = ForwardSpec::new("hasura", "postgres");
    spec.local_port = Some(0);
    let key = spec.key();
    manager.start(spec);
    let status = manager.wait_started(&key).await.unwrap();
    assert_eq!(status.state, ForwardState::Active, "{status:?}");
    let mut stream = tokio::net::TcpStream::connect(status.local.unwrap())
        .await
        .unwrap();
    stream.write_all(b"no pods needed").await.unwrap();
    let mut back = [0u8; 14];
    stream.read_exact(&mut back).await.unwrap();
    assert_eq!(&back, b"no pods needed");
}

/// The YAML block of the README that starts with `marker`.
fn readme_yaml(marker: &str) -> String {
    let readme = include_str!("../../README.md");
    let start = readme
        .find(marker)
        .unwrap_or_else(|| panic!("the README has no {marker:?} block"));
    let block = &readme[start..];
    block[..block.find("```").unwrap()].to_string()
}

/// The two Roles the README gives, applied as written: the read Role shows exactly what the
/// admin sees, with no note; the forward Role forwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_roles_show_everything_and_forward() {
    let demo = common::start_demo().await;
    let read = readme_yaml("# hasura-tui: read");
    let forward = readme_yaml("# hasura-tui: forward");
    for namespace in ["hasura", "default"] {
        let role = read.replace("namespace: hasura", &format!("namespace: {namespace}"));
        demo.faults().apply_manifests(&role).unwrap();
        demo.faults()
            .apply_manifests(&common::role_binding(
                "reader",
                "hasura-tui-read",
                namespace,
            ))
            .unwrap();
    }
    demo.faults().apply_manifests(&forward).unwrap();
    demo.faults()
        .apply_manifests(&common::role_binding(
            "forwarder",
            "hasura-tui-forward",
            "default",
        ))
        .unwrap();

    let reader = developer_on_user(demo, "reader");
    let bin = PathBuf::from(BIN);
    let (code, as_reader, stderr) = run(&bin, &reader.kubeconfig, &["list", "-o", "wide"]).await;
    assert_eq!(
        (code, stderr.as_str()),
        (0, ""),
        "no notes for the read Role"
    );
    let admin = reader._dir.path().join("admin.yaml");
    reader.demo.write_kubeconfig(&admin).unwrap();
    let (_, as_admin, _) = run(&bin, &admin, &["list", "-o", "wide"]).await;
    // The AGE column (`0s`, `1s`) depends on when each list ran.
    assert_eq!(
        common::without_age(&as_reader),
        common::without_age(&as_admin)
    );
    let (code, lines, stderr) =
        run(&bin, &reader.kubeconfig, &["logs", "data", "-n", "hasura"]).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(lines.contains("INFO starting data"), "{lines}");

    let yaml = reader
        .demo
        .kubeconfig_with(&KubeconfigAuth::UserToken {
            user: "forwarder".into(),
        })
        .unwrap();
    let client = connect_yaml(&yaml, "forwarder", None).await.unwrap().client;
    let mut manager = ForwardManager::new(client);
    let mut spec = ForwardSpec::new("default", "my-app");
    spec.local_port = Some(0);
    let key = spec.key();
    manager.start(spec);
    let status = manager.wait_started(&key).await.unwrap();
    assert_eq!(status.state, ForwardState::Active, "{status:?}");
    let mut stream = tokio::net::TcpStream::connect(status.local.unwrap())
        .await
        .unwrap();
    stream
        .write_all(b"GET /forwarder HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.contains("/forwarder"), "{response}");
}

/// A Role that grants `create pods/portforward` but not `get` (the classic grant, what kubectl
/// before 1.30 needed): the WebSocket upgrade (a GET) is refused with 403, and both kubectl
/// and hasura-tui fall back to the legacy SPDY upgrade (a POST, `create`) and forward.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_with_only_create_forwards_through_the_legacy_spdy_upgrade() {
    let demo = common::start_demo().await;
    demo.faults()
        .apply_manifests(
            "apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: create-only, namespace: default}
rules:
  - {apiGroups: [\"\"], resources: [services, pods], verbs: [get, list, watch]}
  - {apiGroups: [discovery.k8s.io], resources: [endpointslices], verbs: [list, watch]}
  - {apiGroups: [\"\"], resources: [pods/portforward], verbs: [create]}
",
        )
        .unwrap();
    demo.faults()
        .apply_manifests(&common::role_binding("classic", "create-only", "default"))
        .unwrap();
    let classic = developer_on_user(demo, "classic");

    // kubectl, WebSockets on (its default since 1.31): falls back and forwards.
    let pod = classic
        .demo
        .faults()
        .live_pods("default", "my-app")
        .unwrap()[0]
        .clone();
    let kubectl = common::kubectl();
    let mut child = Command::new(&kubectl)
        .arg("--kubeconfig")
        .arg(&classic.kubeconfig)
        .args([
            "port-forward",
            "-n",
            "default",
            &format!("pod/{pod}"),
            ":8080",
            "-v=6",
        ])
        .env("KUBECTL_PORT_FORWARD_WEBSOCKETS", "true")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let port = tokio::task::spawn_blocking(move || common::forwarding_port(stdout))
        .await
        .unwrap()
        .unwrap_or_else(|first| panic!("kubectl said {first:?}"));
    let reply = get(([127, 0, 0, 1], port).into(), "/via-kubectl").await;
    let _ = child.kill();
    let output = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(reply.contains("/via-kubectl"), "{reply}\n{log}");
    assert!(
        log.contains("fallback to secondary dialer")
            && log.contains("cannot get resource \"pods/portforward\""),
        "the WebSocket upgrade was refused, then the legacy upgrade used: {log}"
    );

    // hasura-tui: the same fallback, and the row knows which transport it uses.
    let client = connect_yaml(&classic.yaml, "classic", None)
        .await
        .unwrap()
        .client;
    let mut manager = ForwardManager::new(client);
    let mut spec = ForwardSpec::new("default", "my-app");
    spec.local_port = Some(0);
    let key = spec.key();
    manager.start(spec);
    let status = manager.wait_started(&key).await.unwrap();
    assert_eq!(status.state, ForwardState::Active, "{status:?}");
    let reply = get(status.local.unwrap(), "/via-hasura-tui").await;
    assert!(reply.contains("/via-hasura-tui"), "{reply}");
    let status = manager.status(&key).unwrap().borrow().clone();
    assert_eq!(status.transport, Some(Transport::Spdy), "{status:?}");
    manager.stop_all().await;
}

async fn get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    let _ = tokio::time::timeout(
        Duration::from_secs(10),
        stream.read_to_string(&mut response),
    )
    .await;
    response
}
