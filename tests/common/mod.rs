//! Shared set-up for integration tests: a demo cluster in-process and clients for it.

#![allow(dead_code)]

pub mod connect_proxy;
pub mod demo_process;
pub mod forwarding;
pub mod screen;
pub mod testbed;
pub mod tmux;

use std::time::Duration;

use hasura_tui::demo::{DemoCluster, DemoOptions};
use kube::config::{KubeConfigOptions, Kubeconfig};

/// Starts a demo cluster on a free loopback port with quick pod transitions.
pub async fn start_demo() -> DemoCluster {
    start_demo_with(quick_demo()).await
}

/// The same with only the seed (the demo cluster's first content) (no Services of other shapes), for tests that
/// compare against the seed itself.
pub async fn start_seed_demo() -> DemoCluster {
    start_demo_with(DemoOptions {
        pod_start_delay: Duration::from_millis(150),
        pod_termination_delay: Duration::from_millis(100),
        shapes: false,
        ..DemoOptions::default()
    })
    .await
}

pub async fn start_demo_with(options: DemoOptions) -> DemoCluster {
    DemoCluster::start(options)
        .await
        .expect("demo cluster starts")
}

/// A kube-rs client configured exactly as from the demo's kubeconfig (CA, token, server).
pub async fn client_for(demo: &DemoCluster) -> kube::Client {
    client_from_yaml(&demo.kubeconfig_yaml()).await
}

pub async fn client_from_yaml(yaml: &str) -> kube::Client {
    let kubeconfig = Kubeconfig::from_yaml(yaml).expect("kubeconfig parses");
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("kubeconfig loads");
    kube::Client::try_from(config).expect("client builds")
}

/// Polls `check` until it returns Some, or panics after `timeout` naming `what`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The kubectl binary, or a failure that says it is missing (never a silent pass).
/// Polls `check` from a plain thread until it gives a value, failing after `timeout`.
pub fn eventually_blocking<T>(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> Option<T>,
) -> T {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: not within {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn kubectl() -> std::path::PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("kubectl"))
            .find(|candidate| candidate.is_file())
    });
    found.expect(
        "kubectl is not on PATH: these tests need the kubectl that ships with the machine image",
    )
}

/// A stand-in for the browser: a script that appends the URL it is given to a file. Returns the
/// script (for `HASURA_TUI_BROWSER`) and the file.
pub fn browser_double(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join("browser.sh");
    let opened = dir.join("opened.txt");
    std::fs::write(
        &script,
        format!("#!/bin/sh\nprintf '%s\\n' \"$1\" >> {}\n", opened.display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    (script, opened)
}

/// The local port a `kubectl port-forward` announces on its first stdout line
/// (`Forwarding from 127.0.0.1:PORT -> …`), or that line when it names none. The rest of stdout
/// is drained in the background: kubectl writes `Handling connection for …` there, and Go ends
/// a process that writes into a closed pipe.
pub fn forwarding_port(stdout: std::process::ChildStdout) -> Result<u16, String> {
    use std::io::BufRead;
    let mut stdout = std::io::BufReader::new(stdout);
    let mut first = String::new();
    stdout.read_line(&mut first).map_err(|e| e.to_string())?;
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    first
        .split("127.0.0.1:")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|p| p.parse().ok())
        .ok_or(first)
}

/// Runs `program --kubeconfig KUBECONFIG ARGS…` (kubectl or hasura-tui) with `env` added, its log
/// kept beside the kubeconfig; returns its exit code, stdout and stderr, whatever they are.
pub async fn run_with_kubeconfig(
    program: &std::path::Path,
    kubeconfig: &std::path::Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> (i32, String, String) {
    let output = tokio::process::Command::new(program)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .envs(env.iter().copied())
        .env("XDG_STATE_HOME", kubeconfig.parent().unwrap())
        .output()
        .await
        .expect("the program runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// As `run_with_kubeconfig`, with `input` on the program's stdin (then closed).
pub async fn run_with_input(
    program: &std::path::Path,
    kubeconfig: &std::path::Path,
    args: &[&str],
    input: &[u8],
) -> (i32, String, String) {
    use tokio::io::AsyncWriteExt;
    let mut child = tokio::process::Command::new(program)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .env("XDG_STATE_HOME", kubeconfig.parent().unwrap())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the program runs");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input).await.unwrap();
    drop(stdin);
    let output = child.wait_with_output().await.unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// One HTTP/1.1 GET on a fresh connection; the whole response, headers included. Done when
/// `Content-Length` bytes of body are in, as curl is: through a port-forward the connection's
/// end comes up to a second after the reply (containerd's linger), so waiting for it would
/// time the linger, not the forward.
pub fn http_get(addr: std::net::SocketAddr, path: &str) -> std::io::Result<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
    )?;
    let mut response = Vec::new();
    let mut buffer = [0u8; 16 * 1024];
    loop {
        let n = stream.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        response.extend_from_slice(&buffer[..n]);
        let text = String::from_utf8_lossy(&response);
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end].lines().find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse::<usize>().ok())
                    .flatten()
            });
            if length.is_some_and(|length| response.len() >= end + 4 + length) {
                break;
            }
        }
    }
    Ok(String::from_utf8_lossy(&response).into_owned())
}

/// A demo cluster and an admin kubeconfig for it in a temporary folder.
pub async fn demo_with_kubeconfig(
    options: DemoOptions,
) -> (DemoCluster, std::path::PathBuf, tempfile::TempDir) {
    let demo = start_demo_with(options).await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    demo.write_kubeconfig(&kubeconfig).unwrap();
    (demo, kubeconfig, dir)
}

/// The options `start_demo` uses: quick pod transitions.
pub fn quick_demo() -> DemoOptions {
    DemoOptions {
        pod_start_delay: Duration::from_millis(150),
        pod_termination_delay: Duration::from_millis(100),
        ..DemoOptions::default()
    }
}

/// The seed's `hasura microservice list` output (shared/seed), without the CLI's "•" progress
/// lines. One difference: the seed pads the custom table's INTERNAL-URL column by 4 where its
/// Hasura table (and Go's tabwriter, minwidth 10, padding 3, which both tables otherwise follow)
/// pads by 3; we follow the rule, so those two lines have one space less.
pub const SEED_LIST: &str = "\
Custom microservices:
NAME      STATUS    INTERNAL-URL     EXTERNAL-URL
my-app    Running   my-app.default   http://my-app.gram29.hasura-app.io

Hasura microservices:
NAME            STATUS    INTERNAL-URL           EXTERNAL-URL
auth            Running   auth.hasura            http://auth.gram29.hasura-app.io
data            Running   data.hasura            http://data.gram29.hasura-app.io
filestore       Running   filestore.hasura       http://filestore.gram29.hasura-app.io
gateway         Running   gateway.hasura
le-agent        Running   le-agent.hasura
notify          Running   notify.hasura          http://notify.gram29.hasura-app.io
platform-sync   Running   platform-sync.hasura
postgres        Running   postgres.hasura
session-redis   Running   session-redis.hasura
sshd            Running   sshd.hasura
";

/// A RoleBinding of `role` to the user `user` in `namespace`.
pub fn role_binding(user: &str, role: &str, namespace: &str) -> String {
    format!(
        "apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: {user}-{role}, namespace: {namespace}}}
subjects: [{{kind: User, apiGroup: rbac.authorization.k8s.io, name: {user}}}]
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: {role}}}
"
    )
}

/// A table's lines without a last column that is an age (`12s`, `2m2s`, `1h5m`) or `AGE`.
pub fn without_age(text: &str) -> String {
    let is_age = |cell: &str| {
        cell == "AGE"
            || (cell.starts_with(|c: char| c.is_ascii_digit())
                && cell.ends_with(['s', 'm', 'h', 'd', 'y'])
                && cell
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b"smhdy".contains(&b)))
    };
    text.lines()
        .map(|l| {
            let mut cells: Vec<&str> = l.split_whitespace().collect();
            if cells.last().is_some_and(|c| is_age(c)) {
                cells.pop();
            }
            cells.join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A loopback port free at this moment (for a process that must be told its port up front).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// The first snapshot that passes `check`, within 10 s; panics with the last one otherwise.
pub async fn wait_for_snapshot(
    rx: &mut tokio::sync::watch::Receiver<std::sync::Arc<hasura_tui::cluster::Snapshot>>,
    what: &str,
    check: impl Fn(&hasura_tui::cluster::Snapshot) -> bool,
) -> std::sync::Arc<hasura_tui::cluster::Snapshot> {
    let found = match tokio::time::timeout(Duration::from_secs(10), rx.wait_for(|s| check(s))).await
    {
        Ok(Ok(s)) => Some(s.clone()),
        _ => None,
    };
    found.unwrap_or_else(|| {
        panic!(
            "timed out waiting for {what}; last snapshot: {:#?}",
            rx.borrow()
        )
    })
}

/// The dashboard's feed settings for `target` with the seed's namespaces (`hasura` and
/// `default`): no project files, no metrics API, tables always shown. Tests change what they
/// need with `..seed_feed_config(&target)`.
pub fn seed_feed_config(
    target: &hasura_tui::config::ClusterTarget,
) -> hasura_tui::cluster::FeedConfig {
    hasura_tui::cluster::FeedConfig {
        namespaces: hasura_tui::cluster::Namespaces {
            hasura: "hasura".into(),
            user: "default".into(),
            user_source: "default",
        },
        cluster_name: None,
        cluster_data: None,
        kube_cluster_name: target.kube_cluster_name.clone(),
        project: None,
        pending: target.pending.clone(),
        metrics: false,
        tables_shown: None,
    }
}
