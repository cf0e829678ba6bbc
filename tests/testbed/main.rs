//! The product on upstream Kubernetes: kube-apiserver, kube-controller-manager and
//! kube-scheduler at the release testbed/go.mod pins, over etcd, with kwok's nodes and kubelet
//! endpoints (`scripts/testbed`). One testbed for this binary, shared by its tests; each test
//! that changes the cluster works in a namespace of its own, so the seed stays as applied.
//! kubectl at the same release does the same operation in the same test where it can.
// Needs the demo cluster (hasura-tui's `demo` feature, on by default).
#![cfg(feature = "demo")]

#[path = "../common/mod.rs"]
mod common;

mod cli;
mod dashboard;
mod forwards;
mod scenarios;
mod sign_in;
mod watch_gone;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::testbed::Testbed;

const BIN: &str = env!("CARGO_BIN_EXE_hasura-tui");

/// `hasura-tui --kubeconfig KUBECONFIG ARGS…`: exit code, stdout, stderr.
pub fn hasura_tui(kubeconfig: &Path, args: &[&str]) -> (i32, String, String) {
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
pub fn namespace_with_web(tb: &Testbed, namespace: &str) {
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
    for app in ["web", "db"] {
        let deployment = format!("deployment/{app}");
        tb.kubectl(&[
            "-n",
            namespace,
            "rollout",
            "status",
            &deployment,
            "--timeout=60s",
        ]);
        // The endpointslice controller follows the pods' readiness a moment later; a forward
        // started before then finds no ready pod, as on any real cluster.
        let selector = format!("kubernetes.io/service-name={app}");
        eventually(&format!("a ready endpoint of {app}"), || {
            let ready = tb.kubectl(&[
                "-n",
                namespace,
                "get",
                "endpointslices",
                "-l",
                &selector,
                "-o",
                "jsonpath={.items[*].endpoints[*].conditions.ready}",
            ]);
            ready.contains("true").then_some(())
        });
    }
}

/// The names of the Running pods of `app` in `namespace`, as kubectl lists them.
pub fn running_pods(tb: &Testbed, namespace: &str, app: &str) -> Vec<String> {
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

/// Waits with a deadline for `check` to give a value.
pub fn eventually<T>(what: &str, check: impl FnMut() -> Option<T>) -> T {
    common::eventually_blocking(what, Duration::from_secs(60), check)
}
