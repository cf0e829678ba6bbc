//! Kubeconfigs shaped the way people's really are, against the demo cluster: for each shape the
//! image's kubectl must succeed with the same files (so the fixture is real), and then
//! `hasura-tui list` must succeed with them and print the seed's layout.
use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use base64::Engine;
use common::connect_proxy::ConnectProxy;
use hasura_tui::demo::{DemoCluster, DemoExecPlugin, KubeconfigAuth};

const BIN: &str = env!("CARGO_BIN_EXE_hasura-tui");

/// One shape: files written into a folder, and how the two programs are started with them.
struct Shape {
    name: &'static str,
    /// `$KUBECONFIG`, or `--kubeconfig` when `flag` is set (relative to `dir`).
    kubeconfig: String,
    flag: bool,
    /// Where the programs run (relative paths must not depend on it).
    cwd: PathBuf,
    env: Vec<(String, String)>,
    /// What `list -n user` must show (the context's namespace, when it names one).
    user_namespace: &'static str,
    /// A copy of the files for kubectl, when it writes into them (client-go saves refreshed
    /// OIDC tokens), so that hasura-tui starts from the same files kubectl did.
    kubectl_copy: Option<String>,
}

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// The demo's kubeconfig split into the pieces people keep apart.
struct Pieces {
    server: String,
    ca_pem: String,
    token: String,
}

impl Pieces {
    fn of(demo: &DemoCluster) -> Pieces {
        Pieces {
            server: demo.url(),
            ca_pem: demo.ca_pem().to_string(),
            token: demo.token().to_string(),
        }
    }

    fn clusters_file(&self, namespace: Option<&str>) -> String {
        let ns = namespace
            .map(|n| format!(", namespace: {n}"))
            .unwrap_or_default();
        format!(
            "apiVersion: v1
kind: Config
clusters:
  - name: gram29
    cluster: {{server: '{}', certificate-authority-data: {}}}
contexts:
  - name: gram29
    context: {{cluster: gram29, user: gram29-admin{ns}}}
current-context: gram29
",
            self.server,
            b64(&self.ca_pem)
        )
    }

    fn users_file(&self, user: &str) -> String {
        format!(
            "apiVersion: v1
kind: Config
users:
  - name: gram29-admin
    user:
{user}
current-context: ''
"
        )
    }
}

fn run(mut command: Command, shape: &Shape) -> Output {
    command.current_dir(&shape.cwd).env_remove("KUBECONFIG");
    if !shape.flag {
        command.env("KUBECONFIG", &shape.kubeconfig);
    }
    for (k, v) in &shape.env {
        command.env(k, v);
    }
    command.output().expect("the program runs")
}

fn kubectl(shape: &Shape) -> Output {
    let mut command = Command::new(common::kubectl());
    if shape.flag {
        command.args([
            "--kubeconfig",
            shape.kubectl_copy.as_deref().unwrap_or(&shape.kubeconfig),
        ]);
    }
    command.args(["get", "pods", "-n", "hasura", "-o", "name"]);
    run(command, shape)
}

fn list(shape: &Shape) -> Output {
    let mut command = Command::new(BIN);
    if shape.flag {
        command.args(["--kubeconfig", &shape.kubeconfig]);
    }
    command.args(["list"]);
    command.env("XDG_STATE_HOME", shape.cwd.join("state"));
    run(command, shape)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kubeconfig_shape_kubectl_accepts_lists_the_seed() {
    let demo = common::start_demo().await;
    let pieces = Pieces::of(&demo);
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let elsewhere = root.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let token_user = format!("      token: {}", pieces.token);
    let mut shapes = Vec::new();

    // Contexts in one file, users in another, merged in both orders; a missing file skipped.
    write(
        &root.join("split/clusters.yaml"),
        &pieces.clusters_file(None),
    );
    write(
        &root.join("split/users.yaml"),
        &pieces.users_file(&token_user),
    );
    for (name, list) in [
        (
            "merged: clusters then users",
            "split/clusters.yaml:split/users.yaml",
        ),
        (
            "merged: users then clusters",
            "split/users.yaml:split/clusters.yaml",
        ),
        (
            "merged: a missing file is skipped",
            "split/missing.yaml:split/users.yaml:split/clusters.yaml",
        ),
    ] {
        let joined: Vec<String> = list
            .split(':')
            .map(|p| root.join(p).display().to_string())
            .collect();
        shapes.push(Shape {
            name,
            kubeconfig: joined.join(":"),
            flag: false,
            cwd: elsewhere.clone(),
            env: vec![],
            user_namespace: "default",
            kubectl_copy: None,
        });
    }

    // Relative paths (CA, token file with its newline), read from another folder.
    let rel = root.join("rel/conf");
    write(&rel.join("ca.pem"), &pieces.ca_pem);
    write(&rel.join("token.txt"), &format!("{}\n", pieces.token));
    write(
        &rel.join("kubeconfig.yaml"),
        &format!(
            "apiVersion: v1
kind: Config
clusters: [{{name: gram29, cluster: {{server: '{}', certificate-authority: ca.pem}}}}]
users: [{{name: me, user: {{tokenFile: token.txt}}}}]
contexts: [{{name: gram29, context: {{cluster: gram29, user: me}}}}]
current-context: gram29
",
            pieces.server
        ),
    );
    shapes.push(Shape {
        name: "relative CA and token file, from another folder",
        kubeconfig: "../rel/conf/kubeconfig.yaml".into(),
        flag: true,
        cwd: elsewhere.clone(),
        env: vec![],
        user_namespace: "default",
        kubectl_copy: None,
    });

    // A client certificate and key by relative path (EC P-256 from rcgen, PKCS#8).
    let (cert, key) = demo
        .issue_client_cert("admin", &["system:masters"])
        .unwrap();
    let certs = root.join("certs");
    write(&certs.join("client.crt"), &cert);
    write(&certs.join("client.key"), &key);
    write(&certs.join("ca.crt"), &pieces.ca_pem);
    write(
        &certs.join("kubeconfig"),
        &format!(
            "apiVersion: v1
kind: Config
clusters: [{{name: gram29, cluster: {{server: '{}', certificate-authority: ca.crt}}}}]
users: [{{name: me, user: {{client-certificate: client.crt, client-key: client.key}}}}]
contexts: [{{name: gram29, context: {{cluster: gram29, user: me}}}}]
current-context: gram29
",
            pieces.server
        ),
    );
    shapes.push(Shape {
        name: "client certificate by relative path",
        kubeconfig: certs.join("kubeconfig").display().to_string(),
        flag: false,
        cwd: elsewhere.clone(),
        env: vec![],
        user_namespace: "default",
        kubectl_copy: None,
    });

    // An exec plugin that never needs the person.
    let exec = root.join("exec.yaml");
    let plugin = DemoExecPlugin {
        command: BIN.into(),
        user: "admin".into(),
        ttl: Duration::from_secs(600),
        delay: Duration::ZERO,
        interactive: false,
        runs_file: None,
    };
    write(
        &exec,
        &demo.kubeconfig_with(&KubeconfigAuth::Exec(plugin)).unwrap(),
    );
    shapes.push(Shape {
        name: "exec plugin",
        kubeconfig: exec.display().to_string(),
        flag: true,
        cwd: elsewhere.clone(),
        env: vec![],
        user_namespace: "default",
        kubectl_copy: None,
    });

    // The context's namespace is the user namespace.
    write(
        &root.join("ns/clusters.yaml"),
        &pieces.clusters_file(Some("hasura")),
    );
    write(&root.join("ns/users.yaml"), &pieces.users_file(&token_user));
    shapes.push(Shape {
        name: "the context's namespace",
        kubeconfig: format!(
            "{}:{}",
            root.join("ns/clusters.yaml").display(),
            root.join("ns/users.yaml").display()
        ),
        flag: false,
        cwd: elsewhere.clone(),
        env: vec![],
        user_namespace: "hasura",
        kubectl_copy: None,
    });

    // proxy-url: every connection through a CONNECT proxy.
    let proxy = ConnectProxy::start().await;
    let proxied = root.join("proxied.yaml");
    write(
        &proxied,
        &format!(
            "apiVersion: v1
kind: Config
clusters:
  - name: gram29
    cluster: {{server: '{}', certificate-authority-data: {}, proxy-url: 'http://{}'}}
users: [{{name: me, user: {{token: {}}}}}]
contexts: [{{name: gram29, context: {{cluster: gram29, user: me}}}}]
current-context: gram29
",
            pieces.server,
            b64(&pieces.ca_pem),
            proxy.addr,
            pieces.token
        ),
    );
    shapes.push(Shape {
        name: "proxy-url through a CONNECT proxy",
        kubeconfig: proxied.display().to_string(),
        flag: true,
        cwd: elsewhere.clone(),
        env: vec![],
        user_namespace: "default",
        kubectl_copy: None,
    });

    // An OIDC auth-provider whose id-token has expired: refreshed at the demo's issuer, which
    // is verified with the kubeconfig's idp-certificate-authority-data (not the system's roots).
    // The issuer's refresh tokens are good once: each copy gets its own.
    let oidc = || {
        demo.kubeconfig_with(&KubeconfigAuth::Oidc {
            user: "admin".into(),
        })
        .unwrap()
    };
    write(&root.join("oidc.yaml"), &oidc());
    write(&root.join("oidc-kubectl.yaml"), &oidc());
    shapes.push(Shape {
        name: "OIDC auth-provider, expired id-token refreshed",
        kubeconfig: root.join("oidc.yaml").display().to_string(),
        flag: true,
        cwd: elsewhere.clone(),
        env: vec![],
        user_namespace: "default",
        kubectl_copy: Some(root.join("oidc-kubectl.yaml").display().to_string()),
    });

    for shape in &shapes {
        let (kubectl_out, list_out) = tokio::task::block_in_place(|| (kubectl(shape), list(shape)));
        assert!(
            kubectl_out.status.success() && text(&kubectl_out.stdout).contains("pod/data-"),
            "{}: kubectl failed, so the fixture is wrong: {}",
            shape.name,
            text(&kubectl_out.stderr)
        );
        let stdout = text(&list_out.stdout);
        assert!(
            list_out.status.success(),
            "{}: hasura-tui list failed where kubectl worked: {}",
            shape.name,
            text(&list_out.stderr)
        );
        assert!(
            stdout.starts_with("Custom microservices:\nNAME ")
                && stdout.contains("\nHasura microservices:\nNAME ")
                && stdout.contains("data.hasura"),
            "{}: not the seed's layout:\n{stdout}",
            shape.name
        );
        let custom = stdout
            .split("Hasura microservices:")
            .next()
            .unwrap_or_default();
        assert!(
            custom.contains(&format!(".{} ", shape.user_namespace))
                || custom.contains(&format!(".{}\n", shape.user_namespace)),
            "{}: the user namespace should be {}:\n{stdout}",
            shape.name,
            shape.user_namespace
        );
    }
    assert!(
        proxy.tunnels() >= 2,
        "both kubectl and hasura-tui went through the proxy ({} tunnels)",
        proxy.tunnels()
    );
}
