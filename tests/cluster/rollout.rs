//! Writes to workloads as kubectl makes them, against the demo cluster: `kubectl rollout
//! restart` (a strategic merge patch of the template's annotation) replaces every pod under a
//! new pod-template-hash, one step at a time, and `kubectl rollout status` follows it to the
//! end; `kubectl patch` by merge and JSON patch changes only what it names.
use crate::common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::ListParams;

const TIMEOUT: Duration = Duration::from_secs(60);

/// A demo whose new pods take 2 s to start, so each rollout lasts seconds and `kubectl rollout
/// status`, started after `rollout restart` returns, finds it under way.
fn slow_starting() -> hasura_tui::demo::DemoOptions {
    hasura_tui::demo::DemoOptions {
        pod_start_delay: Duration::from_secs(2),
        ..common::quick_demo()
    }
}

async fn kubectl(kubeconfig: &Path, args: &[&str]) -> (i32, String, String) {
    common::run_with_kubeconfig(&common::kubectl(), kubeconfig, args, &[]).await
}

/// What `kubectl rollout status TARGET -n NAMESPACE` prints, once it has exited 0.
async fn rollout_status(kubeconfig: &Path, target: &str, namespace: &str) -> String {
    let args = [
        "rollout",
        "status",
        target,
        "-n",
        namespace,
        "--timeout=60s",
    ];
    let (code, out, err) = kubectl(kubeconfig, &args).await;
    assert_eq!(code, 0, "{out}{err}");
    out
}

/// The live (not terminating) pods of `app`: name and pod-template-hash.
async fn live_pods(pods: &Api<Pod>, app: &str) -> BTreeSet<(String, String)> {
    pods.list(&ListParams::default().labels(&format!("app={app}")))
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .map(|p| {
            let hash = p.metadata.labels.unwrap_or_default()["pod-template-hash"].clone();
            (p.metadata.name.unwrap_or_default(), hash)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_rollout_restart_replaces_every_pod_and_rollout_status_sees_it_through() {
    let (demo, kubeconfig, _dir) = common::demo_with_kubeconfig(slow_starting()).await;
    let client = common::client_for(&demo).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let deployments: Api<Deployment> = Api::namespaced(client, "default");
    let before = live_pods(&pods, "cache").await;
    assert_eq!(before.len(), 2, "{before:?}");

    let (code, out, err) = kubectl(
        &kubeconfig,
        &["rollout", "restart", "deploy/cache", "-n", "default"],
    )
    .await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("deployment.apps/cache restarted"), "{out}");
    let out = rollout_status(&kubeconfig, "deploy/cache", "default").await;
    assert!(
        out.contains("Waiting for deployment \"cache\" rollout to finish"),
        "it saw the rollout under way:\n{out}"
    );
    assert!(
        out.contains("deployment \"cache\" successfully rolled out"),
        "{out}"
    );

    let after = common::eventually("only new pods left", TIMEOUT, || async {
        let after = live_pods(&pods, "cache").await;
        (after.len() == 2).then_some(after)
    })
    .await;
    let old_hash = &before.iter().next().unwrap().1;
    for (name, hash) in &after {
        assert_ne!(hash, old_hash, "{name} is of the old template");
        assert!(name.starts_with(&format!("cache-{hash}-")), "{name}");
        assert!(
            !before.iter().any(|(old, _)| old == name),
            "{name} was not replaced"
        );
    }
    let cache = deployments.get("cache").await.unwrap();
    let template = cache
        .spec
        .as_ref()
        .unwrap()
        .template
        .metadata
        .as_ref()
        .unwrap();
    assert!(
        template
            .annotations
            .as_ref()
            .unwrap()
            .contains_key("kubectl.kubernetes.io/restartedAt"),
        "{template:?}"
    );
    assert_eq!(
        cache.spec.unwrap().replicas,
        Some(2),
        "the patch was not read as a whole object"
    );
    let status = cache.status.unwrap();
    assert_eq!(
        (status.updated_replicas, status.ready_replicas),
        (Some(2), Some(2))
    );
    demo.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statefulset_restart_replaces_its_pods_by_revision_and_rollout_status_follows() {
    let (demo, kubeconfig, _dir) = common::demo_with_kubeconfig(slow_starting()).await;
    let pods: Api<Pod> = Api::namespaced(common::client_for(&demo).await, "hasura");
    let before = pods.get("postgres-0").await.unwrap();
    let old_revision = before.metadata.labels.unwrap()["controller-revision-hash"].clone();
    assert!(old_revision.starts_with("postgres-"), "{old_revision}");

    let (code, out, err) = kubectl(
        &kubeconfig,
        &["rollout", "restart", "sts/postgres", "-n", "hasura"],
    )
    .await;
    assert_eq!(code, 0, "{out}{err}");
    let out = rollout_status(&kubeconfig, "sts/postgres", "hasura").await;
    // What kubectl prints against a real cluster too: the API server defaults
    // `updateStrategy.rollingUpdate.partition` to 0, and kubectl's StatefulSetStatusViewer then
    // reports a partitioned roll out.
    assert!(
        out.contains("Waiting for 1 pods to be ready..."),
        "it saw the pod replaced:\n{out}"
    );
    assert!(
        out.contains("partitioned roll out complete: 1 new pods have been updated..."),
        "{out}"
    );
    let after = pods.get("postgres-0").await.unwrap();
    assert_ne!(
        after.metadata.uid, before.metadata.uid,
        "the pod was replaced"
    );
    assert_ne!(
        after.metadata.labels.unwrap()["controller-revision-hash"],
        old_revision
    );
    demo.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_patch_by_merge_and_json_patch_changes_only_what_it_names() {
    let (demo, kubeconfig, _dir) = common::demo_with_kubeconfig(common::quick_demo()).await;
    let client = common::client_for(&demo).await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "hasura");
    let pods: Api<Pod> = Api::namespaced(client, "hasura");

    let (code, out, err) = kubectl(
        &kubeconfig,
        &[
            "patch",
            "deploy/auth",
            "-n",
            "hasura",
            "--type=merge",
            "-p",
            r#"{"metadata":{"labels":{"team":"platform"}},"spec":{"replicas":3}}"#,
        ],
    )
    .await;
    assert_eq!(code, 0, "{out}{err}");
    common::eventually("auth at 3 pods", TIMEOUT, || async {
        (live_pods(&pods, "auth").await.len() == 3).then_some(())
    })
    .await;
    let auth = deployments.get("auth").await.unwrap();
    assert_eq!(auth.metadata.labels.unwrap()["team"], "platform");
    assert_eq!(
        auth.spec
            .as_ref()
            .unwrap()
            .template
            .spec
            .as_ref()
            .unwrap()
            .containers
            .len(),
        1
    );

    let (code, out, err) = kubectl(
        &kubeconfig,
        &[
            "patch",
            "deploy/auth",
            "-n",
            "hasura",
            "--type=json",
            "-p",
            r#"[{"op":"replace","path":"/spec/replicas","value":1}]"#,
        ],
    )
    .await;
    assert_eq!(code, 0, "{out}{err}");
    common::eventually("auth back at 1 pod", TIMEOUT, || async {
        (live_pods(&pods, "auth").await.len() == 1).then_some(())
    })
    .await;

    // A replica count that is not one is refused, as the API server's validation does.
    let (code, _, err) = kubectl(
        &kubeconfig,
        &[
            "patch",
            "deploy/auth",
            "-n",
            "hasura",
            "--type=merge",
            "-p",
            r#"{"spec":{"replicas":-1}}"#,
        ],
    )
    .await;
    assert_eq!(code, 1);
    assert!(err.contains("spec.replicas"), "{err}");
    demo.shutdown().await;
}
