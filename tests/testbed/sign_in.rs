//! A sign-in that expires mid-session, on the real API server. An exec plugin (as EKS's and
//! GKE's are) hands out ServiceAccount tokens bound to a Secret it creates for each; deleting
//! that Secret makes the API server refuse the token at once (bound tokens are checked against
//! their object, `pkg/serviceaccount/claims.go`). hasura-tui must take the 401, run the plugin
//! once, and carry on without a visible break.

use std::path::Path;
use std::time::Duration;

use crate::common;
use crate::common::testbed::{Testbed, testbed};
use crate::{BIN, eventually};

const NAMESPACE: &str = "t-sign-in";

/// The plugin: a Secret and a token bound to it per run, counted in `dir/count`, each token
/// kept in `dir/token-N` for the test to check.
fn write_plugin(tb: &Testbed, dir: &Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let plugin = dir.join("plugin.sh");
    let kubectl = format!(
        "{} --kubeconfig {} -n {NAMESPACE}",
        tb.kubectl.display(),
        tb.admin.display()
    );
    let dir = dir.display();
    std::fs::write(
        &plugin,
        format!(
            "#!/bin/sh
set -e
n=$(( $(cat {dir}/count 2>/dev/null || echo 0) + 1 ))
echo $n > {dir}/count
{kubectl} create secret generic token-$n >/dev/null
token=$({kubectl} create token viewer --duration=10m --bound-object-kind=Secret --bound-object-name=token-$n)
echo \"$token\" > {dir}/token-$n
printf '{{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"%s\"}}}}' \"$token\"
"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&plugin, std::fs::Permissions::from_mode(0o755)).unwrap();
    plugin
}

/// Whether the API server still takes `token` (kubectl with that token alone).
fn accepted(tb: &Testbed, token: &str) -> bool {
    let server = std::fs::read_to_string(tb.state.join("server")).unwrap();
    let out = std::process::Command::new(&tb.kubectl)
        .args(["--kubeconfig", "/dev/null", "--server", server.trim()])
        .arg("--certificate-authority")
        .arg(tb.state.join("pki/ca.crt"))
        .args(["--token", token, "-n", "default", "get", "services"])
        .output()
        .unwrap();
    out.status.success()
}

#[test]
fn an_expired_sign_in_is_renewed_without_a_visible_break() {
    let tb = testbed();
    tb.apply(&format!(
        "apiVersion: v1
kind: Namespace
metadata: {{name: {NAMESPACE}}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {{name: viewer, namespace: {NAMESPACE}}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {{name: t-sign-in-viewer}}
subjects: [{{kind: ServiceAccount, name: viewer, namespace: {NAMESPACE}}}]
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: viewer-forward, namespace: default}}
subjects: [{{kind: ServiceAccount, name: viewer, namespace: {NAMESPACE}}}]
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: admin}}
"
    ));
    let dir = tempfile::tempdir().unwrap();
    let plugin = write_plugin(tb, dir.path());
    let server = std::fs::read_to_string(tb.state.join("server")).unwrap();
    let kubeconfig = dir.path().join("viewer.kubeconfig");
    let ca = std::fs::read(tb.state.join("pki/ca.crt")).unwrap();
    use base64::Engine;
    let ca = base64::engine::general_purpose::STANDARD.encode(ca);
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1
kind: Config
clusters: [{{name: testbed, cluster: {{server: {}, certificate-authority-data: {ca}}}}}]
users:
- name: viewer
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: {}
      interactiveMode: Never
contexts: [{{name: viewer, context: {{cluster: testbed, user: viewer, namespace: default}}}}]
current-context: viewer
",
            server.trim(),
            plugin.display()
        ),
    )
    .unwrap();

    let tmux = common::tmux::Tmux::start(
        &format!("{BIN} --kubeconfig {}", kubeconfig.display()),
        140,
        30,
    );
    let wait = Duration::from_secs(30);
    tmux.wait_for("synced with my-app", wait, |s| {
        s.contains("synced")
            && s.lines()
                .any(|l| l.starts_with("my-app ") && l.contains("Running"))
    });
    let count = || std::fs::read_to_string(dir.path().join("count")).unwrap_or_default();
    assert_eq!(count().trim(), "1", "one sign-in for the whole start");

    // The sign-in ends: the Secret its token is bound to goes.
    let first = std::fs::read_to_string(dir.path().join("token-1")).unwrap();
    tb.kubectl(&["-n", NAMESPACE, "delete", "secret", "token-1"]);
    eventually("the API server refusing the first token", || {
        (!accepted(tb, first.trim())).then_some(())
    });

    // A new request (a forward of my-app, the Custom table's only row) meets the 401.
    tmux.send(&["f"]);
    let screen = tmux.wait_for("my-app forwarded", wait, |s| {
        common::tmux::forward_address(s, "my-app").is_some()
    });
    let addr = common::tmux::forward_address(&screen, "my-app").unwrap();
    let reply = common::http_get(addr, "/").unwrap();
    assert!(reply.contains("\"microservice\":\"my-app\""), "{reply}");
    assert_eq!(count().trim(), "2", "renewed once");
    tmux.assert_never("a sign-in error on screen", Duration::from_secs(2), |s| {
        s.contains("unauthorized") || s.contains("error:")
    });
    // The API server saw both credentials (its audit names each token's id).
    let ids: std::collections::BTreeSet<String> = tb
        .audit(&format!("system:serviceaccount:{NAMESPACE}:viewer"))
        .iter()
        .filter_map(|e| {
            e["user"]["extra"]["authentication.kubernetes.io/credential-id"][0]
                .as_str()
                .map(str::to_string)
        })
        .collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    tmux.send(&["q"]);
    assert_eq!(tmux.wait_exit(Duration::from_secs(10)), 0);
}
