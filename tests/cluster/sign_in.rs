//! Sign-in through exec plugins, as EKS, GKE and AKS ask for it, against the demo cluster: a
//! token that expires is renewed across a session (one run per renewal, not one per request),
//! kubectl agrees that an expired token is refused, and every way a plugin fails is one line
//! and exit 2 before anything else happens.
use crate::common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hasura_tui::demo::{DemoCluster, DemoExecPlugin, KubeconfigAuth};

const BIN: &str = env!("CARGO_BIN_EXE_hasura-tui");

fn plugin(ttl: Duration, runs: &Path) -> DemoExecPlugin {
    DemoExecPlugin {
        command: BIN.into(),
        user: "admin".into(),
        ttl,
        delay: Duration::ZERO,
        interactive: false,
        runs_file: Some(runs.to_path_buf()),
    }
}

fn runs(file: &Path) -> usize {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("start "))
        .count()
}

fn write_kubeconfig(demo: &DemoCluster, dir: &Path, name: &str, auth: &KubeconfigAuth) -> String {
    let path = dir.join(name);
    demo.write_kubeconfig_with(&path, auth).unwrap();
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expiring_token_is_renewed_through_a_session_once_per_renewal() {
    let demo = common::start_demo().await;
    let dir = tempfile::tempdir().unwrap();
    let runs_file = dir.path().join("runs");

    // An independent check first: kubectl with a token that is already expired is refused.
    let expired_runs = dir.path().join("expired-runs");
    let expired = write_kubeconfig(
        &demo,
        dir.path(),
        "expired.yaml",
        &KubeconfigAuth::Exec(plugin(Duration::ZERO, &expired_runs)),
    );
    let out = tokio::task::block_in_place(|| {
        Command::new(common::kubectl())
            .args(["--kubeconfig", &expired, "get", "pods", "-n", "hasura"])
            .output()
            .unwrap()
    });
    assert!(!out.status.success(), "an expired token must be refused");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Unauthorized") || stderr.contains("logged in"),
        "{stderr}"
    );

    // A headless forward through a 10 s session with 4 s tokens: every connection works.
    let ttl = Duration::from_secs(4);
    let kubeconfig = write_kubeconfig(
        &demo,
        dir.path(),
        "exec.yaml",
        &KubeconfigAuth::Exec(plugin(ttl, &runs_file)),
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = Instant::now();
    let mut forward = Command::new(BIN)
        .args([
            "--kubeconfig",
            &kubeconfig,
            "port-forward",
            "data",
            "-n",
            "hasura",
        ])
        .args(["--local-port", &port.to_string()])
        .env("XDG_STATE_HOME", dir.path())
        // One API request per connection, so the session keeps needing fresh tokens: the
        // multiplexed transports sign in once per tunnel and would not exercise renewal.
        .env("HASURA_TUI_FORWARD_TRANSPORT", "v4")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    common::eventually(
        "the forward to listen",
        Duration::from_secs(10),
        || async move { tokio::net::TcpStream::connect(addr).await.ok().map(|_| ()) },
    )
    .await;
    let session = Instant::now();
    let mut requests = 0;
    while session.elapsed() < Duration::from_secs(10) {
        let echo = tokio::task::block_in_place(|| get(addr, &format!("/session/{requests}")));
        assert!(
            echo.contains("\"microservice\":\"data\""),
            "request {requests} at {:?} failed: {echo}",
            session.elapsed()
        );
        requests += 1;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let _ = Command::new("kill")
        .args(["-TERM", &forward.id().to_string()])
        .status();
    let _ = forward.wait();
    let runs = runs(&runs_file);
    // One at sign-in, then one per lifetime (renewed when within a tenth of it) at most, over
    // the time from sign-in to the end. A lifetime is at least `ttl - 1 s`: the plugin writes
    // its expiry in whole seconds, as Go writes metav1.Time (CI once saw 9 runs against a bound
    // that took 2 s tokens to live 2 s).
    let shortest = ttl.as_secs_f64() - 1.0;
    let most = 1 + (started.elapsed().as_secs_f64() / (shortest * 0.9)).ceil() as usize;
    assert!(
        (2..=most).contains(&runs),
        "{runs} plugin runs for {requests} requests over 10 s with {ttl:?} tokens (expected 2..={most})"
    );
}

fn get(addr: std::net::SocketAddr, path: &str) -> String {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(addr) else {
        return "connect failed".into();
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = write!(
        stream,
        "GET {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n"
    );
    let mut text = String::new();
    let _ = stream.read_to_string(&mut text);
    text
}

/// A kubeconfig whose user runs `script` (a shell script written here) as its exec plugin.
fn plugin_kubeconfig(
    demo: &DemoCluster,
    dir: &Path,
    name: &str,
    command: &str,
    hint: &str,
) -> String {
    use base64::Engine;
    let ca = base64::engine::general_purpose::STANDARD.encode(demo.ca_pem());
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: '{}', certificate-authority-data: {ca}}}}}]
users:
  - name: u
    user:
      exec:
        apiVersion: client.authentication.k8s.io/v1
        command: {command}
        interactiveMode: Never
        installHint: |
          {hint}
          (second line of the hint)
contexts: [{{name: c, context: {{cluster: c, user: u}}}}]
current-context: c
",
            demo.url()
        ),
    )
    .unwrap();
    path.display().to_string()
}

fn script(dir: &Path, name: &str, body: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_plugin_failure_is_one_line_and_exit_2() {
    let demo = common::start_demo().await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let failing = script(
        d,
        "failing.sh",
        "echo 'opening the browser…' >&2\necho 'error: token service down' >&2\nexit 3",
    );
    let chatty = script(d, "chatty.sh", "echo 'hello, not a credential'");
    let cases = [
        (
            plugin_kubeconfig(
                &demo,
                d,
                "missing.yaml",
                "aws-nonexistent-plugin",
                "Install the AWS CLI: https://aws.amazon.com/cli/",
            ),
            vec![
                "exec plugin \"aws-nonexistent-plugin\" not found",
                "Install the AWS CLI: https://aws.amazon.com/cli/",
            ],
        ),
        (
            plugin_kubeconfig(&demo, d, "failing.yaml", &failing, "-"),
            vec!["failed with exit code 3", "error: token service down"],
        ),
        (
            plugin_kubeconfig(&demo, d, "chatty.yaml", &chatty, "-"),
            vec!["did not print an ExecCredential", "decoding stdout"],
        ),
    ];
    for (kubeconfig, says) in cases {
        for args in [vec!["list"], vec!["logs", "data", "-n", "hasura"]] {
            let out = tokio::task::block_in_place(|| {
                Command::new(BIN)
                    .args(["--kubeconfig", &kubeconfig])
                    .args(&args)
                    .env("XDG_STATE_HOME", d)
                    .output()
                    .unwrap()
            });
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                out.status.code(),
                Some(2),
                "{kubeconfig} {args:?}: {stderr}"
            );
            assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
            assert!(
                stderr.starts_with("hasura-tui: cannot sign in to c: "),
                "{stderr}"
            );
            for part in &says {
                assert!(stderr.contains(part), "{part:?} missing: {stderr}");
            }
            assert!(!stderr.contains("second line"), "{stderr}");
        }
    }
}

/// `provideClusterInfo: true`: the plugin is told the cluster in `KUBERNETES_EXEC_INFO`'s
/// `spec.cluster` (server, CA, the cluster's `client.authentication.k8s.io/exec` extension), as
/// kubectl tells it: the same plugin run by both records what each passed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_that_asks_for_cluster_info_gets_what_kubectl_gives() {
    use base64::Engine;
    let demo = common::start_demo().await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let plugin = script(
        d,
        "recording.sh",
        &format!(
            "printf '%s' \"$KUBERNETES_EXEC_INFO\" > \"$INFO_OUT\"\n\
             echo '{{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"{}\"}}}}'",
            demo.token()
        ),
    );
    let ca = base64::engine::general_purpose::STANDARD.encode(demo.ca_pem());
    let kubeconfig = d.join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1
kind: Config
clusters:
  - name: c
    cluster:
      server: '{}'
      certificate-authority-data: {ca}
      extensions:
        - name: client.authentication.k8s.io/exec
          extension: {{audience: hasura-tui-test, region: eu-1}}
users:
  - name: u
    user:
      exec:
        apiVersion: client.authentication.k8s.io/v1
        command: {plugin}
        interactiveMode: Never
        provideClusterInfo: true
contexts: [{{name: c, context: {{cluster: c, user: u}}}}]
current-context: c
",
            demo.url()
        ),
    )
    .unwrap();
    let run = |program: &str, args: &[&str], out: &str| {
        let status = Command::new(program)
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args(args)
            .env("INFO_OUT", d.join(out))
            .env("XDG_STATE_HOME", d)
            .output()
            .unwrap();
        assert!(status.status.success(), "{program}: {status:?}");
        let info: serde_json::Value =
            serde_json::from_slice(&std::fs::read(d.join(out)).unwrap()).unwrap();
        info
    };
    let ours = tokio::task::block_in_place(|| run(BIN, &["list"], "ours.json"));
    let kubectls = tokio::task::block_in_place(|| {
        run(
            "kubectl",
            &["get", "namespaces", "-o", "name"],
            "kubectl.json",
        )
    });
    let cluster = &ours["spec"]["cluster"];
    assert_eq!(cluster["server"], demo.url(), "{ours}");
    assert_eq!(cluster["certificate-authority-data"], ca.as_str());
    assert_eq!(
        cluster["config"],
        serde_json::json!({"audience": "hasura-tui-test", "region": "eu-1"})
    );
    assert_eq!(ours["spec"], kubectls["spec"], "as kubectl passes it");
}
