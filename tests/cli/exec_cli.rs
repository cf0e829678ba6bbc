//! `hasura-tui exec` against the demo cluster, each answer checked against the image's
//! `kubectl exec` doing the same in the same test (the independent check of the demo's exec):
//! the pod's hostname, a remote exit code that becomes ours, stdin piped with `-i`, a missing
//! `/bin/bash` refused as containerd refuses it; and the refusals: `--read-only`, and a user
//! the API server would refuse, told before any attempt, as `kubectl auth can-i` says.
use crate::common;

use std::path::Path;

use hasura_tui::demo::KubeconfigAuth;

const BIN: &str = env!("CARGO_BIN_EXE_hasura-tui");

async fn hasura_tui(kubeconfig: &Path, args: &[&str]) -> (i32, String, String) {
    common::run_with_kubeconfig(BIN.as_ref(), kubeconfig, args, &[]).await
}

async fn kubectl(kubeconfig: &Path, args: &[&str]) -> (i32, String, String) {
    common::run_with_kubeconfig(&common::kubectl(), kubeconfig, args, &[]).await
}

/// The one pod of `data` in `hasura`, as kubectl lists it.
async fn data_pod(kubeconfig: &Path) -> String {
    let (code, out, err) = kubectl(
        kubeconfig,
        &[
            "get", "pods", "-n", "hasura", "-l", "app=data", "-o", "name",
        ],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    let pods: Vec<&str> = out.lines().collect();
    assert_eq!(pods.len(), 1, "{out}");
    pods[0].trim_start_matches("pod/").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_answers_as_kubectl_exec_does_against_the_same_pod() {
    let (demo, kubeconfig, _dir) = common::demo_with_kubeconfig(common::quick_demo()).await;
    let pod = data_pod(&kubeconfig).await;
    let ours = |args: &'static [&'static str]| {
        let mut all = vec!["exec", "data", "-n", "hasura", "--"];
        all.extend_from_slice(args);
        all
    };
    let theirs = |args: &'static [&'static str]| {
        let mut all = vec!["exec", "-n", "hasura", pod.as_str(), "--"];
        all.extend_from_slice(args);
        all
    };

    // The pod's name, from its default container (`data`, by the annotation: the pod has an
    // istio-proxy beside it, so the container must be named in the request).
    let (code, out, err) = hasura_tui(&kubeconfig, &ours(&["hostname"])).await;
    assert_eq!(
        (code, out.as_str()),
        (0, format!("{pod}\n").as_str()),
        "{err}"
    );
    let (code, out, err) = kubectl(&kubeconfig, &theirs(&["hostname"])).await;
    assert_eq!(
        (code, out.as_str()),
        (0, format!("{pod}\n").as_str()),
        "{err}"
    );

    // The container's env from its manifest.
    let (_, out, _) = hasura_tui(
        &kubeconfig,
        &ours(&["sh", "-c", "echo $LOG_LEVEL $HOSTNAME"]),
    )
    .await;
    assert_eq!(out, format!("info {pod}\n"));

    // A remote exit code becomes ours, said as kubectl says it.
    let (code, _, err) = hasura_tui(&kubeconfig, &ours(&["sh", "-c", "exit 3"])).await;
    assert_eq!(
        (code, err.trim()),
        (3, "command terminated with exit code 3")
    );
    let (code, _, err) = kubectl(&kubeconfig, &theirs(&["sh", "-c", "exit 3"])).await;
    assert_eq!(
        (code, err.trim()),
        (3, "command terminated with exit code 3")
    );

    // Stdin arrives with -i, and its end ends `cat` (v5's stdin close).
    let input = b"first line\nsecond line\n";
    let mut args = vec!["exec", "data", "-n", "hasura", "-i", "--", "cat"];
    let (code, out, err) = common::run_with_input(BIN.as_ref(), &kubeconfig, &args, input).await;
    assert_eq!((code, out.as_bytes()), (0, &input[..]), "{err}");
    args = vec!["exec", "-i", "-n", "hasura", pod.as_str(), "--", "cat"];
    let (code, out, err) =
        common::run_with_input(&common::kubectl(), &kubeconfig, &args, input).await;
    assert_eq!((code, out.as_bytes()), (0, &input[..]), "{err}");

    // No /bin/bash in the image: the runtime's start failure, not an exit code.
    let missing = "exec: \"/bin/bash\": stat /bin/bash: no such file or directory: unknown";
    let (code, _, err) = hasura_tui(&kubeconfig, &ours(&["/bin/bash"])).await;
    assert_eq!(code, 1);
    assert!(err.contains(missing), "{err}");
    let (code, _, err) = kubectl(&kubeconfig, &theirs(&["/bin/bash"])).await;
    assert_eq!(code, 1);
    assert!(err.contains(missing), "{err}");

    // An unknown command in sh: busybox's words and 127.
    let (code, _, err) = hasura_tui(&kubeconfig, &ours(&["sh", "-c", "nope"])).await;
    assert_eq!(code, 127);
    assert!(err.starts_with("sh: nope: not found\n"), "{err}");

    // A container the pod lacks.
    let args = [
        "exec",
        "data",
        "-n",
        "hasura",
        "--container",
        "nope",
        "--",
        "true",
    ];
    let (code, _, err) = hasura_tui(&kubeconfig, &args).await;
    assert_eq!(code, 1);
    assert!(
        err.contains("has no container nope (it has data, istio-proxy)"),
        "{err}"
    );
    demo.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_and_a_user_without_the_right_are_refused_before_any_attempt() {
    let (demo, kubeconfig, dir) = common::demo_with_kubeconfig(common::quick_demo()).await;
    let (code, _, err) = hasura_tui(
        &kubeconfig,
        &["--read-only", "exec", "data", "-n", "hasura", "--", "true"],
    )
    .await;
    assert_eq!(code, 1);
    assert_eq!(
        err.trim(),
        "hasura-tui: read-only mode: exec is off (started with --read-only or HASURA_TUI_READ_ONLY=1)"
    );

    let developer = dir.path().join("developer.yaml");
    demo.write_kubeconfig_with(
        &developer,
        &KubeconfigAuth::UserToken {
            user: "developer".into(),
        },
    )
    .unwrap();
    let (code, out, _) = kubectl(
        &developer,
        &[
            "auth",
            "can-i",
            "create",
            "pods",
            "--subresource=exec",
            "-n",
            "hasura",
        ],
    )
    .await;
    assert_eq!((code, out.trim()), (1, "no"));
    let exec_refusals = || {
        demo.faults()
            .refusals()
            .iter()
            .filter(|r| r.user == "developer" && r.what.contains("pods/exec"))
            .count()
    };
    let (code, out, err) =
        hasura_tui(&developer, &["exec", "data", "-n", "hasura", "--", "true"]).await;
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(
        err.trim(),
        "hasura-tui: not allowed: you may not create pods/exec in namespace hasura (asked the API server)"
    );
    assert_eq!(exec_refusals(), 0, "we asked first and did not try");
    // kubectl, which does not ask first, is refused by the API server itself.
    let pod = data_pod(&kubeconfig).await;
    let (code, _, err) = kubectl(&developer, &["exec", "-n", "hasura", &pod, "--", "true"]).await;
    assert_eq!(code, 1);
    assert!(
        err.contains("cannot create resource \"pods/exec\""),
        "{err}"
    );
    assert!(
        exec_refusals() >= 1,
        "kubectl's attempt was refused by the server"
    );
    demo.shutdown().await;
}
