//! `hasura-tui restart` and `scale` against the demo cluster, each checked by the image's
//! kubectl in the same test: the restart is a rollout `kubectl rollout status` sees through, the
//! scale is what `kubectl get` reads back; `--read-only` refuses both and changes nothing; and a
//! user the API server would refuse is told so before any attempt, as `kubectl auth can-i` says.
use crate::common;

use std::path::Path;
use std::time::Duration;

use hasura_tui::demo::KubeconfigAuth;
use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;

const BIN: &str = env!("CARGO_BIN_EXE_hasura-tui");

async fn run(
    program: &Path,
    kubeconfig: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> (i32, String, String) {
    common::run_with_kubeconfig(program, kubeconfig, args, env).await
}

/// Runs this hasura-tui with `args`.
async fn hasura_tui(kubeconfig: &Path, args: &[&str]) -> (i32, String, String) {
    run(BIN.as_ref(), kubeconfig, args, &[]).await
}

/// Waits until `kubectl get deploy NAME -n hasura` shows READY `ready` (e.g. `2/2`).
async fn kubectl_sees_ready(kubeconfig: &Path, name: &str, ready: &str) {
    let kubectl = common::kubectl();
    let args = ["get", "deploy", name, "-n", "hasura", "--no-headers"];
    let what = format!("kubectl sees {name} at {ready}");
    common::eventually(&what, Duration::from_secs(30), || async {
        let (_, out, _) = run(&kubectl, kubeconfig, &args, &[]).await;
        (out.split_whitespace().nth(1) == Some(ready)).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_and_scale_do_what_kubectl_sees_and_read_only_changes_nothing() {
    let (demo, kubeconfig, dir) = common::demo_with_kubeconfig(common::quick_demo()).await;
    let kubectl = common::kubectl();
    let deployments: Api<Deployment> = Api::namespaced(common::client_for(&demo).await, "hasura");

    let (code, out, err) = hasura_tui(&kubeconfig, &["restart", "data", "-n", "hasura"]).await;
    assert_eq!(
        (code, out.as_str()),
        (0, "deployment.apps/data restarted\n"),
        "{err}"
    );
    let (code, out, err) = run(
        &kubectl,
        &kubeconfig,
        &[
            "rollout",
            "status",
            "deploy/data",
            "-n",
            "hasura",
            "--timeout=60s",
        ],
        &[],
    )
    .await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("deployment \"data\" successfully rolled out"),
        "{out}"
    );
    let data = deployments.get("data").await.unwrap();
    let annotations = data
        .spec
        .unwrap()
        .template
        .metadata
        .unwrap()
        .annotations
        .unwrap();
    assert!(
        annotations.contains_key("kubectl.kubernetes.io/restartedAt"),
        "{annotations:?}"
    );
    // The change is in the log: who (as the API server knows them), what, on which context.
    let log = std::fs::read_to_string(dir.path().join("hasura-tui/hasura-tui.log")).unwrap();
    let audit = log
        .lines()
        .find(|l| l.contains("hasura_tui::audit"))
        .unwrap_or_else(|| panic!("{log}"));
    for part in [
        "restarted",
        "user=\"admin\"",
        "context=\"gram29\"",
        "workload=deployment.apps/data",
    ] {
        assert!(audit.contains(part), "{part} in {audit}");
    }

    let (code, out, err) = hasura_tui(
        &kubeconfig,
        &["scale", "auth", "-n", "hasura", "--replicas", "0"],
    )
    .await;
    assert_eq!(
        (code, out.as_str()),
        (0, "deployment.apps/auth scaled\n"),
        "{err}"
    );
    kubectl_sees_ready(&kubeconfig, "auth", "0/0").await;

    // Read-only: refused with one line, by the flag and by the environment, and nothing moves.
    let generation = deployments.get("auth").await.unwrap().metadata.generation;
    for (args, env) in [
        (
            &[
                "--read-only",
                "scale",
                "auth",
                "-n",
                "hasura",
                "--replicas",
                "1",
            ][..],
            &[][..],
        ),
        (
            &["restart", "auth", "-n", "hasura"][..],
            &[("HASURA_TUI_READ_ONLY", "1")][..],
        ),
    ] {
        let (code, out, err) = run(BIN.as_ref(), &kubeconfig, args, env).await;
        assert_eq!(code, 1, "{out}{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("read-only mode"), "{err}");
    }
    assert_eq!(
        deployments.get("auth").await.unwrap().metadata.generation,
        generation
    );

    let (code, out, err) = hasura_tui(
        &kubeconfig,
        &["scale", "auth", "-n", "hasura", "--replicas", "2"],
    )
    .await;
    assert_eq!(code, 0, "{out}{err}");
    kubectl_sees_ready(&kubeconfig, "auth", "2/2").await;
    demo.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_without_the_right_is_told_before_any_attempt() {
    let demo = common::start_demo().await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("developer.yaml");
    demo.write_kubeconfig_with(
        &kubeconfig,
        &KubeconfigAuth::UserToken {
            user: "developer".into(),
        },
    )
    .unwrap();
    let admin: Api<Deployment> = Api::namespaced(common::client_for(&demo).await, "hasura");
    let generation = admin.get("data").await.unwrap().metadata.generation;

    let (code, out, _) = run(
        &common::kubectl(),
        &kubeconfig,
        &["auth", "can-i", "patch", "deployments", "-n", "hasura"],
        &[],
    )
    .await;
    assert_eq!((code, out.trim()), (1, "no"));
    let (code, out, err) = hasura_tui(&kubeconfig, &["restart", "data", "-n", "hasura"]).await;
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(
        err.trim(),
        "hasura-tui: not allowed: you may not patch deployments in namespace hasura (asked the API server)"
    );
    let (code, out, _) = run(
        &common::kubectl(),
        &kubeconfig,
        &[
            "auth",
            "can-i",
            "patch",
            "deployments",
            "--subresource=scale",
            "-n",
            "hasura",
        ],
        &[],
    )
    .await;
    assert_eq!((code, out.trim()), (1, "no"));
    let (code, _, err) = hasura_tui(
        &kubeconfig,
        &["scale", "data", "-n", "hasura", "--replicas", "3"],
    )
    .await;
    assert_eq!(code, 1);
    assert!(
        err.contains("you may not patch deployments/scale in namespace hasura"),
        "{err}"
    );
    assert_eq!(
        admin.get("data").await.unwrap().metadata.generation,
        generation
    );
    demo.shutdown().await;
}

/// A Role that allows exactly what kubectl's `rollout restart` and `scale` need, in the group
/// kubectl asks about (`apps`), and one that allows one verb less: `kubectl auth can-i` and
/// hasura-tui agree on both, and what is allowed goes through. (Asked without the group, the
/// review named core-group `deployments`, which such a Role does not allow.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_on_apps_deployments_allows_restart_and_scale_and_one_verb_less_refuses() {
    let demo = common::start_demo().await;
    let rules = "kind: Role
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: NAME, namespace: hasura}
rules:
  - apiGroups: [\"\"]
    resources: [pods, services]
    verbs: [get, list, watch]
  - apiGroups: [apps]
    resources: [deployments]
    verbs: [get, list, watch]
  - apiGroups: [apps]
    resources: [RESOURCES]
    verbs: [patch]
";
    let dir = tempfile::tempdir().unwrap();
    let mut kubeconfigs = Vec::new();
    for (user, resources) in [
        ("changer", "deployments, deployments/scale"),
        ("restarter", "deployments"),
    ] {
        let role = rules.replace("NAME", user).replace("RESOURCES", resources);
        demo.faults().apply_manifests(&role).unwrap();
        demo.faults()
            .apply_manifests(&common::role_binding(user, user, "hasura"))
            .unwrap();
        let kubeconfig = dir.path().join(format!("{user}.yaml"));
        let auth = KubeconfigAuth::UserToken { user: user.into() };
        demo.write_kubeconfig_with(&kubeconfig, &auth).unwrap();
        kubeconfigs.push(kubeconfig);
    }
    let (changer, restarter) = (&kubeconfigs[0], &kubeconfigs[1]);
    let kubectl = common::kubectl();
    let scale_can_i = [
        "auth",
        "can-i",
        "patch",
        "deployments.apps/data",
        "--subresource=scale",
        "-n",
        "hasura",
    ];
    let (code, out, _) = run(&kubectl, changer, &scale_can_i, &[]).await;
    assert_eq!((code, out.trim()), (0, "yes"));
    let (code, out, _) = run(&kubectl, restarter, &scale_can_i, &[]).await;
    assert_eq!((code, out.trim()), (1, "no"));

    let (code, out, err) = hasura_tui(changer, &["restart", "data", "-n", "hasura"]).await;
    assert_eq!(
        (code, out.trim()),
        (0, "deployment.apps/data restarted"),
        "{err}"
    );
    let (code, _, err) = hasura_tui(
        changer,
        &["scale", "data", "-n", "hasura", "--replicas", "2"],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    kubectl_sees_ready(changer, "data", "2/2").await;

    let (code, _, err) = hasura_tui(restarter, &["restart", "auth", "-n", "hasura"]).await;
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = hasura_tui(
        restarter,
        &["scale", "auth", "-n", "hasura", "--replicas", "3"],
    )
    .await;
    assert_eq!(code, 1);
    assert_eq!(
        err.trim(),
        "hasura-tui: not allowed: you may not patch deployments/scale in namespace hasura (asked the API server)"
    );
    let refused = demo
        .faults()
        .refusals()
        .iter()
        .filter(|r| r.user == "restarter")
        .count();
    assert_eq!(refused, 0, "asked first, never tried");
    demo.shutdown().await;
}
