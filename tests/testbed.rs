//! The product on upstream Kubernetes: kube-apiserver, kube-controller-manager and
//! kube-scheduler at the release testbed/go.mod pins, over etcd, with kwok's nodes and kubelet
//! endpoints (`scripts/testbed`). One testbed for this binary, shared by its tests; each test
//! that changes the cluster works in a namespace of its own, so the seed stays as applied.
//! kubectl at the same release does the same operation in the same test where it can.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::testbed::{Testbed, testbed};

const BIN: &str = env!("CARGO_BIN_EXE_hasura-tui");

/// `hasura-tui --kubeconfig KUBECONFIG ARGS…`: exit code, stdout, stderr.
fn hasura_tui(kubeconfig: &Path, args: &[&str]) -> (i32, String, String) {
    let state = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .env("XDG_STATE_HOME", state.path())
        .output()
        .expect("hasura-tui runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A namespace of the test's own with a copy of my-app (`web`, an HTTP echo behind a Service)
/// and a TCP echo (`db`, as postgres).
fn namespace_with_web(tb: &Testbed, namespace: &str) {
    tb.apply(&format!(
        "apiVersion: v1
kind: Namespace
metadata: {{name: {namespace}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {namespace}, labels: {{app: web}}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata:
      labels: {{app: web}}
      annotations: {{demo.hasura-tui.dev/backend: http-echo}}
    spec:
      containers:
        - name: web
          image: hasura/hello-world:v1
          ports: [{{name: http, containerPort: 8080}}]
---
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: {namespace}}}
spec:
  selector: {{app: web}}
  ports: [{{name: http, port: 80, targetPort: http}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: db, namespace: {namespace}, labels: {{app: db}}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: db}}}}
  template:
    metadata:
      labels: {{app: db}}
      annotations: {{demo.hasura-tui.dev/backend: tcp-echo}}
    spec:
      containers:
        - name: db
          image: postgres:16
          ports: [{{name: postgres, containerPort: 5432}}]
---
apiVersion: v1
kind: Service
metadata: {{name: db, namespace: {namespace}}}
spec:
  selector: {{app: db}}
  ports: [{{name: postgres, port: 5432, targetPort: postgres}}]
"
    ));
    for deployment in ["deployment/web", "deployment/db"] {
        tb.kubectl(&[
            "-n",
            namespace,
            "rollout",
            "status",
            deployment,
            "--timeout=60s",
        ]);
    }
}

/// The names of the Running pods of `app` in `namespace`, as kubectl lists them.
fn running_pods(tb: &Testbed, namespace: &str, app: &str) -> Vec<String> {
    let out = tb.kubectl(&[
        "-n",
        namespace,
        "get",
        "pods",
        "-l",
        &format!("app={app}"),
        "--field-selector=status.phase=Running",
        "-o",
        "jsonpath={range .items[?(@.metadata.deletionTimestamp)]}-{.metadata.name} {end}{range .items[*]}{.metadata.name} {end}",
    ]);
    let terminating: Vec<&str> = out
        .split_whitespace()
        .filter_map(|n| n.strip_prefix('-'))
        .collect();
    out.split_whitespace()
        .filter(|n| !n.starts_with('-') && !terminating.contains(n))
        .map(str::to_string)
        .collect()
}

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
    let patches = tb
        .audit("restarter")
        .into_iter()
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

/// Waits with a deadline for `check` to give a value.
fn eventually<T>(what: &str, check: impl FnMut() -> Option<T>) -> T {
    common::eventually_blocking(what, Duration::from_secs(60), check)
}

mod forwards {
    use std::net::SocketAddr;

    use hasura_tui::forward::{ForwardManager, ForwardSpec, ForwardState, Transport};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    use super::*;

    async fn forward(manager: &mut ForwardManager, namespace: &str, service: &str) -> SocketAddr {
        let mut spec = ForwardSpec::new(namespace, service);
        spec.local_port = Some(0);
        let key = spec.key();
        manager.start(spec);
        let status = manager.wait_started(&key).await.expect("a state");
        assert_eq!(status.state, ForwardState::Active, "{status:?}");
        status.local.expect("a local address")
    }

    fn pattern(len: usize, seed: u32) -> Vec<u8> {
        (0..len as u32)
            .map(|i| (i.wrapping_add(seed).wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect()
    }

    /// Writes `payload` and reads as much back, concurrently, on one connection.
    async fn echo(addr: SocketAddr, payload: Vec<u8>) -> std::io::Result<Vec<u8>> {
        let (mut reader, mut writer) = TcpStream::connect(addr).await?.into_split();
        let len = payload.len();
        let writing = tokio::spawn(async move { writer.write_all(&payload).await.map(|_| writer) });
        let mut back = vec![0u8; len];
        reader.read_exact(&mut back).await?;
        writing.await.map_err(std::io::Error::other)??;
        Ok(back)
    }

    /// The pod that answered a GET through `addr` (the echo's `pod` field).
    async fn answering_pod(addr: SocketAddr) -> Option<String> {
        let reply = tokio::task::spawn_blocking(move || common::http_get(addr, "/who"))
            .await
            .unwrap()
            .ok()?;
        let body = &reply[reply.find("\r\n\r\n")? + 4..];
        let echo: serde_json::Value = serde_json::from_str(body).ok()?;
        echo["pod"].as_str().map(str::to_string)
    }

    /// On `transport`, through the real API server and kwok's kubelet endpoints: an echo, 64
    /// concurrent 1 MiB transfers byte-identical, and the forward following the Service when
    /// its pod is deleted (`kubectl delete pod`); kubectl port-forward gives the same echo.
    async fn drill(transport: Transport, namespace: &str) {
        let tb = testbed();
        tokio::task::block_in_place(|| namespace_with_web(tb, namespace));
        let yaml = std::fs::read_to_string(&tb.admin).unwrap();
        let client = common::client_from_yaml(&yaml).await;
        let mut manager = ForwardManager::new(client).with_transport(transport);
        let db = forward(&mut manager, namespace, "db").await;
        let web = forward(&mut manager, namespace, "web").await;
        let status = manager.status(&(namespace.into(), "web".into())).unwrap();
        assert_eq!(
            status.borrow().transport,
            Some(transport),
            "forced, never fallen back"
        );

        assert_eq!(echo(db, b"hello".to_vec()).await.unwrap(), b"hello");
        let transfers = (0..64u32).map(|i| async move {
            let payload = pattern(1 << 20, i);
            let back = echo(db, payload.clone()).await.unwrap();
            assert!(back == payload, "{transport}: connection {i} differs");
        });
        futures::future::join_all(transfers).await;

        let before = running_pods(tb, namespace, "web");
        assert_eq!(before.len(), 1, "{before:?}");
        assert_eq!(answering_pod(web).await.as_ref(), Some(&before[0]));
        tb.kubectl(&["-n", namespace, "delete", "pod", &before[0], "--wait=false"]);
        let replacement = tokio::task::block_in_place(|| {
            eventually("a replacement pod Running", || {
                let now = running_pods(tb, namespace, "web");
                (now.len() == 1 && now[0] != before[0]).then(|| now[0].clone())
            })
        });
        let answered = common::eventually(
            "the forward reaching the replacement",
            Duration::from_secs(30),
            || async { answering_pod(web).await.filter(|p| *p == replacement) },
        )
        .await;
        assert_eq!(answered, replacement);

        // kubectl, through the same API server: the same echo from the same pod.
        let mut kubectl = std::process::Command::new(&tb.kubectl)
            .arg("--kubeconfig")
            .arg(&tb.admin)
            .args(["-n", namespace, "port-forward", "svc/web", ":80"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let port = common::forwarding_port(kubectl.stdout.take().unwrap()).unwrap();
        let via_kubectl = answering_pod(SocketAddr::from(([127, 0, 0, 1], port))).await;
        let _ = kubectl.kill();
        let _ = kubectl.wait();
        assert_eq!(via_kubectl, Some(replacement));
        manager.stop_all().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn spdy_over_websocket() {
        drill(Transport::SpdyOverWebSocket, "t-fwd-spdyws").await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn legacy_spdy_upgrade() {
        drill(Transport::Spdy, "t-fwd-spdy").await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn websocket_v4_channel() {
        drill(Transport::WebSocketV4, "t-fwd-v4").await;
    }
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
        out.contains(&format!("starting data in pod {pod}")),
        "{out}"
    );

    let (_, sidecar, _) = hasura_tui(
        &tb.admin,
        &["logs", "data", "-n", "hasura", "--container", "istio-proxy"],
    );
    assert!(sidecar.contains("starting istio-proxy"), "{sidecar}");
    let (_, all, _) = hasura_tui(
        &tb.admin,
        &["logs", "data", "-n", "hasura", "--all-containers"],
    );
    for container in ["data", "istio-proxy"] {
        let line = format!("[{pod}/{container}] starting {container} in pod {pod}");
        assert!(all.contains(&line), "{line} in {all}");
    }
}

/// `exec` through the API server and kwok's kubelet endpoint: output, stdin with `-i`, and a
/// failing command, each beside kubectl's. kwok wraps a command's exit error before the
/// kubelet streaming code sees it (`pkg/utils/exec`: `cmd wait: …: %w`), so neither client can
/// learn the exit code there: both exit 1 naming the error (a kwok difference; the demo and a
/// real kubelet pass the code on, which tests/exec_cli.rs checks).
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

/// The dashboard on the testbed under tmux: it syncs, `kubectl scale` shows in the row, `f`
/// forwards, and after `kubectl delete pod` the forward reaches the replacement.
#[test]
fn the_dashboard_follows_kubectl_on_the_testbed() {
    let tb = testbed();
    let ns = "t-dashboard";
    namespace_with_web(tb, ns);
    let tmux = common::tmux::Tmux::start(
        &format!(
            "{BIN} --kubeconfig {} --user-namespace {ns}",
            tb.admin.display()
        ),
        140,
        30,
    );
    let wait = Duration::from_secs(30);
    tmux.wait_for("synced, with web Running", wait, |s| {
        s.contains("synced")
            && s.lines()
                .any(|l| l.starts_with("web ") && l.contains("Running"))
    });
    tb.kubectl(&["-n", ns, "scale", "deployment/web", "--replicas=3"]);
    tmux.wait_for("web at 3/3", wait, |s| {
        s.lines()
            .any(|l| l.starts_with("web ") && l.contains("3/3"))
    });
    tb.kubectl(&["-n", ns, "scale", "deployment/web", "--replicas=1"]);
    tmux.wait_for("web back at 1/1", wait, |s| {
        s.lines()
            .any(|l| l.starts_with("web ") && l.contains("1/1"))
    });
    let before = eventually("one web pod", || {
        let pods = running_pods(tb, ns, "web");
        (pods.len() == 1).then(|| pods[0].clone())
    });
    // The Custom table is first and web its last row but one (db, web): select it and forward.
    tmux.send(&["G"]);
    tmux.send(&["f"]);
    let screen = tmux.wait_for("web forwarded", wait, |s| {
        common::tmux::forward_address(s, "web").is_some()
    });
    let addr = common::tmux::forward_address(&screen, "web").unwrap();
    let pod_behind = |addr| {
        let reply = common::http_get(addr, "/").ok()?;
        let body = &reply[reply.find("\r\n\r\n")? + 4..];
        let echo: serde_json::Value = serde_json::from_str(body).ok()?;
        echo["pod"].as_str().map(str::to_string)
    };
    assert_eq!(pod_behind(addr), Some(before.clone()));
    tb.kubectl(&["-n", ns, "delete", "pod", &before, "--wait=false"]);
    eventually("the forward reaching the replacement", || {
        pod_behind(addr).filter(|p| *p != before)
    });
    tmux.send(&["q"]);
    assert_eq!(tmux.wait_exit(Duration::from_secs(10)), 0);
}
