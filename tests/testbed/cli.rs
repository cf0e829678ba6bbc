//! The commands on the testbed, each beside kubectl: list, restart and scale under Roles,
//! logs, exec, describe.

use std::path::Path;
use std::process::Command;

use crate::common;
use crate::common::testbed::testbed;
use crate::common::without_age;
use crate::{BIN, hasura_tui, namespace_with_web, running_pods};

#[test]
fn list_gives_the_seed_layout_as_on_the_demo() {
    let tb = testbed();
    let (code, out, err) = hasura_tui(&tb.admin, &["list"]);
    assert_eq!(code, 0, "{err}");
    let got: Vec<&str> = out.lines().collect();
    let want: Vec<&str> = common::SEED_LIST.lines().collect();
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "line {}\n{out}", i + 1);
    }
    assert_eq!(got.len(), want.len(), "{out}");

    let (code, json, err) = hasura_tui(&tb.admin, &["list", "-o", "json"]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    assert_eq!(rows.len(), 11, "{json}");
    // Every row is what kubectl sees: the seed's Deployments, each Available.
    let deployments = tb.kubectl(&[
        "get",
        "deployments",
        "-n",
        "hasura",
        "-o",
        "jsonpath={range .items[*]}{.metadata.name} {.status.readyReplicas}/{.spec.replicas}{\"\\n\"}{end}",
    ]);
    for line in deployments.lines() {
        let (name, replicas) = line.split_once(' ').unwrap();
        let row = rows
            .iter()
            .find(|r| r["name"] == name && r["namespace"] == "hasura")
            .unwrap_or_else(|| panic!("{name} missing from {json}"));
        assert_eq!(row["replicas"], replicas, "{name}");
        assert_eq!(row["status"], "Running", "{name}");
    }
    let data = rows.iter().find(|r| r["name"] == "data").unwrap();
    assert_eq!(data["external_url"], "http://data.gram29.hasura-app.io");
    assert_eq!(data["internal_url"], "data.hasura");
}

/// A Role that allows exactly what kubectl's `rollout restart` and `scale` need (patch
/// `apps/deployments` and `apps/deployments/scale`) lets hasura-tui's restart and scale through,
/// as `kubectl auth can-i` says; one verb less is refused in one line, before any attempt
/// (the API server's audit log has no PATCH from that user).
#[test]
fn restart_and_scale_follow_a_role_on_apps_deployments() {
    let tb = testbed();
    let ns = "t-changes";
    namespace_with_web(tb, ns);
    let read = "  - apiGroups: [\"\"]
    resources: [pods, services]
    verbs: [get, list, watch]
  - apiGroups: [apps]
    resources: [deployments]
    verbs: [get, list, watch]
";
    tb.apply(&format!(
        "apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: changer, namespace: {ns}}}
rules:
{read}  - apiGroups: [apps]
    resources: [deployments, deployments/scale]
    verbs: [patch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: restarter, namespace: {ns}}}
rules:
{read}  - apiGroups: [apps]
    resources: [deployments]
    verbs: [patch]
---
{}---
{}",
        common::role_binding("changer", "changer", ns),
        common::role_binding("restarter", "restarter", ns),
    ));
    let changer = tb.user("changer");
    let restarter = tb.user("restarter");
    // `kubectl auth can-i` prints its answer on stdout and exits 1 for "no".
    let can_i = |who: &Path, what: &[&str]| {
        let mut args = vec!["--kubeconfig", who.to_str().unwrap(), "auth", "can-i"];
        args.extend_from_slice(&["-n", ns]);
        args.extend_from_slice(what);
        let out = Command::new(&tb.kubectl).args(&args).output().unwrap();
        let answer = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            answer == "yes" || answer == "no",
            "kubectl auth can-i {what:?}: {err}"
        );
        answer
    };
    assert_eq!(can_i(&changer, &["patch", "deployments.apps/web"]), "yes");
    assert_eq!(
        can_i(
            &changer,
            &["patch", "deployments.apps/web", "--subresource=scale"]
        ),
        "yes"
    );
    assert_eq!(
        can_i(
            &restarter,
            &["patch", "deployments.apps/web", "--subresource=scale"]
        ),
        "no"
    );

    let (code, out, err) = hasura_tui(&changer, &["restart", "web", "-n", ns]);
    assert_eq!(
        (code, out.trim()),
        (0, "deployment.apps/web restarted"),
        "{err}"
    );
    tb.kubectl(&[
        "-n",
        ns,
        "rollout",
        "status",
        "deployment/web",
        "--timeout=60s",
    ]);
    let annotations = tb.kubectl(&[
        "-n",
        ns,
        "get",
        "deployment",
        "web",
        "-o",
        "jsonpath={.spec.template.metadata.annotations}",
    ]);
    assert!(
        annotations.contains("kubectl.kubernetes.io/restartedAt"),
        "{annotations}"
    );

    let (code, _, err) = hasura_tui(&changer, &["scale", "web", "-n", ns, "--replicas", "2"]);
    assert_eq!(code, 0, "{err}");
    let replicas = tb.kubectl(&[
        "-n",
        ns,
        "get",
        "deployment",
        "web",
        "-o",
        "jsonpath={.spec.replicas}",
    ]);
    assert_eq!(replicas, "2");

    let (code, out, err) = hasura_tui(&restarter, &["scale", "web", "-n", ns, "--replicas", "3"]);
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(
        err.trim(),
        format!(
            "hasura-tui: not allowed: you may not patch deployments/scale in namespace {ns} (asked the API server)"
        )
    );
    let restarter_requests = tb.audit("restarter");
    let reviews = restarter_requests
        .iter()
        .filter(|e| e["objectRef"]["resource"] == "selfsubjectaccessreviews")
        .count();
    assert!(
        reviews > 0,
        "the audit log has the restarter's access review"
    );
    let patches = restarter_requests
        .iter()
        .filter(|e| e["verb"] == "patch")
        .count();
    assert_eq!(patches, 0, "asked first, never tried");
    // The same user's restart, which its Role allows, goes through.
    let (code, _, err) = hasura_tui(&restarter, &["restart", "web", "-n", ns]);
    assert_eq!(code, 0, "{err}");
    let replicas = tb.kubectl(&[
        "-n",
        ns,
        "get",
        "deployment",
        "web",
        "-o",
        "jsonpath={.spec.replicas}",
    ]);
    assert_eq!(replicas, "2", "the refused scale changed nothing");
}

/// `logs` picks the container kubectl picks (the `kubectl.kubernetes.io/default-container`
/// annotation: data, not its mesh sidecar), `--container` the other, `--all-containers` both,
/// read through the API server from kwok's kubelet endpoint; kubectl reads the same lines.
#[test]
fn logs_pick_the_container_kubectl_picks() {
    let tb = testbed();
    let pod = running_pods(tb, "hasura", "data").remove(0);
    let (code, out, err) = hasura_tui(&tb.admin, &["logs", "data", "-n", "hasura"]);
    assert_eq!(code, 0, "{err}");
    let kubectl = tb.kubectl(&["logs", "-n", "hasura", &pod]);
    let prefixed: Vec<String> = kubectl.lines().map(|l| format!("[{pod}] {l}")).collect();
    assert_eq!(out.lines().collect::<Vec<_>>(), prefixed, "{out}");
    assert!(
        out.contains(&format!("INFO starting data (pod {pod})")),
        "{out}"
    );

    let (_, sidecar, _) = hasura_tui(
        &tb.admin,
        &["logs", "data", "-n", "hasura", "--container", "istio-proxy"],
    );
    assert!(
        sidecar.contains("info sidecar istio-proxy starting for data"),
        "{sidecar}"
    );
    let (_, all, _) = hasura_tui(
        &tb.admin,
        &["logs", "data", "-n", "hasura", "--all-containers"],
    );
    // Each line: the container's prefix, the app's own time stamp, its text.
    for (prefix, text) in [
        (
            format!("[{pod}/data] "),
            format!("INFO starting data (pod {pod})"),
        ),
        (
            format!("[{pod}/istio-proxy] "),
            format!("info sidecar istio-proxy starting for data (pod {pod})"),
        ),
    ] {
        let found = all
            .lines()
            .any(|l| l.starts_with(&prefix) && l.ends_with(&text));
        assert!(found, "{prefix}… {text} in {all}");
    }
}

/// `exec` through the API server and kwok's kubelet endpoint: output, stdin with `-i`, and a
/// failing command, each beside kubectl's. kwok wraps a command's exit error before the
/// kubelet streaming code sees it (`pkg/utils/exec`: `cmd wait: …: %w`), so neither client can
/// learn the exit code there: both exit 1 naming the error (a kwok difference; the demo and a
/// real kubelet pass the code on, which tests/cli/exec_cli.rs checks).
#[test]
fn exec_runs_in_the_pod_as_kubectl_does() {
    let tb = testbed();
    let (code, out, err) = hasura_tui(
        &tb.admin,
        &["exec", "data", "-n", "hasura", "--", "echo", "hi"],
    );
    assert_eq!((code, out.as_str()), (0, "hi\n"), "{err}");

    let script = "read line; echo got $line";
    let with_input = |program: &Path, args: &[&str]| {
        use std::io::Write;
        let mut child = Command::new(program)
            .arg("--kubeconfig")
            .arg(&tb.admin)
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(b"abc\n").unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let ours = with_input(
        Path::new(BIN),
        &[
            "exec", "-i", "data", "-n", "hasura", "--", "sh", "-c", script,
        ],
    );
    let pod = running_pods(tb, "hasura", "data").remove(0);
    let theirs = with_input(
        &tb.kubectl,
        &[
            "exec", "-i", "-n", "hasura", &pod, "-c", "data", "--", "sh", "-c", script,
        ],
    );
    assert_eq!(ours, (Some(0), "got abc\n".to_string()));
    assert_eq!(ours, theirs);

    let (code, _, err) = hasura_tui(
        &tb.admin,
        &["exec", "data", "-n", "hasura", "--", "sh", "-c", "exit 3"],
    );
    let kubectl = tb
        .kubectl_as(
            &tb.admin,
            &["exec", "-n", "hasura", &pod, "--", "sh", "-c", "exit 3"],
        )
        .unwrap_err();
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("exit status 3") && kubectl.contains("exit status 3"),
        "{err}\n{kubectl}"
    );
}

/// `describe` shows the Events the real controllers and scheduler wrote, as kubectl lists them.
#[test]
fn describe_shows_the_real_controllers_events() {
    let tb = testbed();
    let (code, json, err) = hasura_tui(
        &tb.admin,
        &["describe", "data", "-n", "hasura", "-o", "json"],
    );
    assert_eq!(code, 0, "{err}");
    let view: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(view["events"]["state"], "ready", "{json}");
    let reasons: Vec<&str> = view["events"]["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no events in {json}"))
        .iter()
        .filter_map(|e| e["reason"].as_str())
        .collect();
    for (reason, from) in [
        ("ScalingReplicaSet", "deployment-controller"),
        ("Scheduled", "default-scheduler"),
    ] {
        assert!(reasons.contains(&reason), "{reason} in {reasons:?}");
        let kubectl = tb.kubectl(&[
            "get",
            "events",
            "-n",
            "hasura",
            "--field-selector",
            &format!("reason={reason}"),
            "-o",
            // The scheduler writes events.k8s.io/v1 Events: `reportingComponent` in the core
            // view, and no `source`.
            "jsonpath={range .items[*]}{.source.component} {.reportingComponent}{\"\\n\"}{end}",
        ]);
        assert!(kubectl.contains(from), "{reason} from {from}: {kubectl}");
    }
    let (code, text, _) = hasura_tui(&tb.admin, &["describe", "data", "-n", "hasura"]);
    assert_eq!(code, 0);
    assert!(
        text.contains("Normal  ScalingReplicaSet") && text.contains("deployment-controller"),
        "{text}"
    );
}

/// The README's two Roles, applied as written to users of the testbed: the read Role lists
/// exactly what the admin lists, with no note; the forward Role forwards.
#[test]
fn the_readme_roles_work_as_documented() {
    let tb = testbed();
    let readme = include_str!("../../README.md");
    let block = |marker: &str| {
        let start = readme
            .find(marker)
            .unwrap_or_else(|| panic!("no {marker:?} block"));
        let block = &readme[start..];
        block[..block.find("```").unwrap()].to_string()
    };
    let read = block("# hasura-tui: read");
    for namespace in ["hasura", "default"] {
        tb.apply(&read.replace("namespace: hasura", &format!("namespace: {namespace}")));
        tb.apply(&common::role_binding(
            "reader",
            "hasura-tui-read",
            namespace,
        ));
    }
    tb.apply(&block("# hasura-tui: forward"));
    tb.apply(&common::role_binding(
        "forwarder",
        "hasura-tui-forward",
        "default",
    ));
    let (reader, forwarder) = (tb.user("reader"), tb.user("forwarder"));

    let (code, as_reader, err) = hasura_tui(&reader, &["list", "-o", "wide"]);
    assert_eq!((code, err.as_str()), (0, ""), "no notes for the read Role");
    let (code, as_admin, err) = hasura_tui(&tb.admin, &["list", "-o", "wide"]);
    assert_eq!(code, 0, "{err}");
    assert!(as_admin.contains("my-app"), "{as_admin}");
    assert_eq!(without_age(&as_reader), without_age(&as_admin));

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let mut forward = Command::new(BIN)
        .arg("--kubeconfig")
        .arg(&forwarder)
        .args(["port-forward", "my-app", "--local-port", &port.to_string()])
        .env("XDG_STATE_HOME", std::env::temp_dir())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let announced = common::forwarding_port(forward.stdout.take().unwrap());
    let reply = common::http_get(std::net::SocketAddr::from(([127, 0, 0, 1], port)), "/");
    let _ = forward.kill();
    let _ = forward.wait();
    assert_eq!(announced, Ok(port));
    assert!(reply.unwrap().contains("\"microservice\":\"my-app\""));
}

/// What the cluster says is printed, not obeyed: an Event whose message clears the screen and
/// retitles the terminal, and an external-URL annotation with the same, come out of `describe`
/// and `list` with ESC as `^[` (as kubectl's describe shows it) and no control character left.
#[test]
fn escape_sequences_from_the_cluster_are_shown_not_obeyed() {
    let tb = testbed();
    let ns = "escapes";
    namespace_with_web(tb, ns);
    tb.kubectl(&[
        "annotate",
        "-n",
        ns,
        "service/web",
        "hasura.io/external-url=https://web.example\x1b]0;owned\x07/",
    ]);
    // kubectl describe finds a Deployment's Events by its uid too.
    let uid = tb.kubectl(&[
        "get",
        "-n",
        ns,
        "deployment/web",
        "-o",
        "jsonpath={.metadata.uid}",
    ]);
    tb.apply(&format!(
        r#"apiVersion: v1
kind: Event
metadata: {{name: web.escape, namespace: {ns}}}
involvedObject: {{apiVersion: apps/v1, kind: Deployment, name: web, namespace: {ns}, uid: {uid}}}
reason: Injected
type: Warning
message: "\e[2J\e]0;owned\a cleared\r"
firstTimestamp: "2026-01-01T00:00:00Z"
lastTimestamp: "2026-01-01T00:00:00Z"
count: 1
source: {{component: test}}
"#
    ));
    let clean = |what: &str, text: &str| {
        assert!(
            !text
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t'),
            "{what} printed a control character: {text:?}"
        );
    };
    let (code, described, err) = hasura_tui(&tb.admin, &["describe", "web", "-n", ns]);
    assert_eq!(code, 0, "{err}");
    clean("describe", &described);
    assert!(
        described.contains("^[[2J^[]0;owned^G cleared"),
        "{described}"
    );
    let kubectl = tb.kubectl(&["describe", "deployment", "web", "-n", ns]);
    assert!(
        kubectl.contains("^[[2J^[]0;owned"),
        "kubectl shows ESC the same way: {kubectl}"
    );
    for args in [&["list", "-n", ns][..], &["list", "-n", ns, "-o", "wide"]] {
        let (code, listed, err) = hasura_tui(&tb.admin, args);
        assert_eq!(code, 0, "{err}");
        clean("list", &listed);
        assert!(
            listed.contains("https://web.example^[]0;owned^G/"),
            "{listed}"
        );
    }
}

/// A Deployment stuck at 0 pods by a ResourceQuota: the ReplicaSet controller's `FailedCreate`
/// is on the ReplicaSet, where `kubectl describe rs` shows it, and no pod exists to carry it.
/// `describe` and the dashboard's live detail view both show it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_stuck_by_a_quota_shows_the_replica_sets_failed_create() {
    use hasura_tui::detail::live::{Seed, spawn};
    let tb = tokio::task::block_in_place(testbed);
    let ns = "quota-stuck";
    tokio::task::block_in_place(|| {
        tb.apply(&format!(
            "apiVersion: v1
kind: Namespace
metadata: {{name: {ns}}}
---
apiVersion: v1
kind: ResourceQuota
metadata: {{name: no-pods, namespace: {ns}}}
spec: {{hard: {{pods: '0'}}}}
"
        ));
        // The quota admits nothing until its controller has counted it.
        crate::eventually("the quota counted", || {
            let used = tb.kubectl(&[
                "get",
                "-n",
                ns,
                "quota/no-pods",
                "-o",
                "jsonpath={.status.used.pods}",
            ]);
            (used == "0").then_some(())
        });
        tb.apply(&format!(
            "apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {ns}, labels: {{app: web}}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers: [{{name: web, image: hasura/hello-world:v1}}]
"
        ));
    });
    let kubectl = tokio::task::block_in_place(|| {
        crate::eventually("kubectl describe rs shows FailedCreate", || {
            let text = tb.kubectl(&["describe", "rs", "-n", ns, "-l", "app=web"]);
            text.contains("FailedCreate").then_some(text)
        })
    });
    assert!(kubectl.contains("exceeded quota"), "{kubectl}");

    let (code, text, err) =
        tokio::task::block_in_place(|| hasura_tui(&tb.admin, &["describe", "web", "-n", ns]));
    assert_eq!(code, 0, "{err}");
    let line = text
        .lines()
        .find(|l| l.contains("FailedCreate"))
        .unwrap_or_else(|| panic!("no FailedCreate in:\n{text}"));
    assert!(
        line.contains("replicaset-controller")
            && line.contains("ReplicaSet/web-")
            && line.contains("exceeded quota"),
        "{line}"
    );

    let yaml = std::fs::read_to_string(&tb.admin).unwrap();
    let client = common::client_from_yaml(&yaml).await;
    let (tx, mut rx) = tokio::sync::watch::channel(hasura_tui::detail::Detail::loading(ns, "web"));
    let stop = tokio_util::sync::CancellationToken::new();
    spawn(
        client,
        Seed {
            namespace: ns.into(),
            name: "web".into(),
            kind: Some(hasura_tui::model::WorkloadKind::Deployment),
            selector: Some("app=web".into()),
            ports: Vec::new(),
        },
        tx,
        stop.clone(),
    );
    let shown = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        rx.wait_for(|d| {
            d.events
                .ready()
                .is_some_and(|e| e.iter().any(|e| e.reason == "FailedCreate"))
        }),
    )
    .await
    .expect("the live view shows FailedCreate within 30 s")
    .unwrap()
    .clone();
    stop.cancel();
    let failed = shown
        .events
        .ready()
        .unwrap()
        .iter()
        .find(|e| e.reason == "FailedCreate")
        .unwrap();
    assert!(
        failed.warning && failed.object.starts_with("ReplicaSet/web-"),
        "{failed:?}"
    );
}
