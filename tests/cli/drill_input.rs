//! Bad input drills: gateway files given with `--project` that are malformed, mistyped, use
//! unknown template variables, are huge or not UTF-8; `port-forward` arguments that are out of
//! range or name nothing; a wrong CA; object names at Kubernetes' length limits and unicode in
//! annotations and routes, through the demo cluster to `list` and to the screen at 20x5 and
//! 400x100.
use crate::common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hasura_tui::cluster::{FeedConfig, Snapshot, read_project, spawn_feed};
use hasura_tui::config::connect_yaml;
use hasura_tui::demo::DemoCluster;
use hasura_tui::model::Status;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

const BIN: &str = env!("CARGO_BIN_EXE_hasura-tui");

async fn feed(
    demo: &DemoCluster,
    project: Option<&Path>,
) -> (watch::Receiver<Arc<Snapshot>>, CancellationToken) {
    let target = connect_yaml(&demo.kubeconfig_yaml(), "demo", None)
        .await
        .unwrap();
    let stop = CancellationToken::new();
    let config = FeedConfig {
        project: project.map(read_project),
        ..common::seed_feed_config(&target)
    };
    (spawn_feed(target.client, config, stop.clone()), stop)
}

/// A project folder with these gateway files.
fn project(routes: &[u8], domains: Option<&[u8]>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("conf")).unwrap();
    std::fs::write(dir.path().join("conf/routes.yaml"), routes).unwrap();
    if let Some(domains) = domains {
        std::fs::write(dir.path().join("conf/domains.yaml"), domains).unwrap();
    }
    dir
}

const GOOD_ROUTE: &str = "data:\n  /:\n    upstreamService: {name: data, namespace: hasura}\n    upstreamServicePort: 80\n";

/// A case: its name, routes.yaml, domains.yaml, and what the error must say.
type BadFiles = (&'static str, Vec<u8>, Option<Vec<u8>>, &'static str);

fn bad_gateway_files() -> Vec<BadFiles> {
    let billion_laughs = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n";
    let mut not_utf8 = GOOD_ROUTE.as_bytes().to_vec();
    not_utf8.extend_from_slice(b"# caf\xe9\n");
    vec![
        (
            "malformed YAML",
            b"data:\n  /:\n    upstreamService: [\n".to_vec(),
            None,
            "routes.yaml: line ",
        ),
        ("wrong types", b"data: 5\n".to_vec(), None, "invalid type"),
        (
            "unknown template variable",
            b"data:\n  /:\n    upstreamService: {name: data, namespace: '{{ cluster.zone }}'}\n"
                .to_vec(),
            None,
            "unknown template variable `cluster.zone`",
        ),
        (
            "huge routes.yaml",
            format!("{GOOD_ROUTE}{}", "# padding\n".repeat(300_000)).into_bytes(),
            None,
            "too large",
        ),
        ("non-UTF-8 routes.yaml", not_utf8, None, "not UTF-8"),
        (
            "an alias bomb",
            billion_laughs.as_bytes().to_vec(),
            None,
            "routes.yaml",
        ),
        (
            "domains.yaml of the wrong type",
            GOOD_ROUTE.as_bytes().to_vec(),
            Some(b"- [1, 2]\n".to_vec()),
            "domains.yaml",
        ),
        (
            "non-UTF-8 domains.yaml",
            GOOD_ROUTE.as_bytes().to_vec(),
            Some(b"- \xff\xfe.io\n".to_vec()),
            "not UTF-8",
        ),
    ]
}

#[tokio::test]
async fn bad_gateway_files_are_named_in_the_header_and_the_tables_still_show() {
    let demo = common::start_seed_demo().await;
    for (case, routes, domains, expected) in bad_gateway_files() {
        let dir = project(&routes, domains.as_deref());
        let started = Instant::now();
        let (mut rx, stop) = feed(&demo, Some(dir.path())).await;
        let s = common::wait_for_snapshot(&mut rx, case, |s| {
            s.settled() && s.sections.hasura.rows.len() == 10
        })
        .await;
        let error = s
            .routes_error
            .clone()
            .unwrap_or_else(|| panic!("{case}: no error reported"));
        println!("{case}: {error} ({:?})", started.elapsed());
        assert!(error.contains(expected), "{case}: {error}");
        assert_eq!(error.lines().count(), 1, "{case}: one header line");
        assert!(error.len() < 300, "{case}: short enough to read: {error}");
        assert_eq!(s.sections.custom.rows.len(), 1, "{case}");
        assert!(
            s.sections
                .hasura
                .rows
                .iter()
                .all(|m| m.status == Status::Running),
            "{case}"
        );
        stop.cancel();
    }

    // The same files, good, give URLs: the errors above came from the files, not the set-up.
    let dir = project(GOOD_ROUTE.as_bytes(), Some(b"- example.org\n"));
    let (mut rx, _stop) = feed(&demo, Some(dir.path())).await;
    let s = common::wait_for_snapshot(&mut rx, "good routes", |s| s.settled()).await;
    assert_eq!(s.routes_error, None);
    let data = s
        .sections
        .hasura
        .rows
        .iter()
        .find(|m| m.name == "data")
        .unwrap();
    assert_eq!(
        data.external_url.as_deref(),
        Some("http://data.example.org")
    );
}

#[test]
fn list_with_a_bad_project_warns_and_still_prints_the_tables() {
    let demo = common::demo_process::DemoProcess::start();
    let dir = project(b"data: [\n", None);
    let project = dir.path().to_str().unwrap();
    let (code, stdout, stderr) = demo.run(&demo.kubeconfig, &["--project", project, "list"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.starts_with("warning: gateway routes skipped: routes.yaml: line "),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stdout.contains("Hasura microservices:") && stdout.contains("sshd"),
        "{stdout}"
    );
}

#[test]
fn port_forward_arguments_out_of_range_or_naming_nothing() {
    let demo = common::demo_process::DemoProcess::start();
    let run = |args: &[&str]| {
        let mut all = vec!["port-forward"];
        all.extend_from_slice(args);
        demo.run(&demo.kubeconfig, &all)
    };
    // Usage errors, refused by the parser before anything is contacted.
    for bad in [
        &["data", "-n", "hasura", "--port", "0:80"][..],
        &["data", "-n", "hasura", "--port", "8080:65536"],
        &["data", "-n", "hasura", "--port", "8080"],
        &["data", "-n", "hasura", "--port", "a:b"],
        &["data", "-n", "hasura", "--local-port", "0"],
        &["data", "-n", "hasura", "--local-port", "65536"],
        &["data", "-n", "hasura", "--remote-port", "-1"],
        &["data", "-n", "hasura", "--address", "localhost:80"],
    ] {
        let (code, stdout, stderr) = run(bad);
        assert_eq!(code, 2, "{bad:?}: {stderr}");
        assert!(stdout.is_empty(), "{bad:?}");
        assert!(stderr.contains("error:"), "{bad:?}: {stderr}");
    }

    let (code, _, stderr) = run(&["nope", "-n", "hasura"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("\"nope\" not found in namespace hasura")
            && stderr.contains("auth, data, filestore"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    let (code, _, stderr) = run(&["data", "-n", "kube-system"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("\"kube-system\" does not exist") && stderr.contains("hasura, user"),
        "{stderr}"
    );

    // `-n` with a literal namespace that exists works like its word.
    let (code, _, stderr) = run(&["nope", "-n", "default"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr
            .contains("it has: cache, docs, legacy-api, legacy-backend, my-app, shop, shop-canary"),
        "{stderr}"
    );
}

/// The kubeconfig with its CA replaced by `ca_pem`, and optionally insecure-skip-tls-verify.
fn with_ca(kubeconfig: &str, ca_pem: &str, insecure: bool) -> String {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    kubeconfig
        .lines()
        .flat_map(
            |line| match line.split_once("certificate-authority-data:") {
                Some((indent, _)) if insecure => {
                    vec![format!("{indent}insecure-skip-tls-verify: true")]
                }
                Some((indent, _)) => vec![format!("{indent}certificate-authority-data: {encoded}")],
                None => vec![line.to_string()],
            },
        )
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn tls_is_verified_unless_the_kubeconfig_says_insecure() {
    let demo = common::demo_process::DemoProcess::start();
    let other = common::start_demo().await;
    let yaml = std::fs::read_to_string(&demo.kubeconfig).unwrap();

    let wrong = demo.dir.path().join("wrong-ca");
    std::fs::write(&wrong, with_ca(&yaml, other.ca_pem(), false)).unwrap();
    let (code, stdout, stderr) = demo.run(&wrong, &["list"]);
    println!("wrong CA: {stderr}");
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.is_empty(), "nothing listed: {stdout}");
    assert!(
        stderr.contains("TLS: the API server's certificate was rejected")
            && stderr.contains("certificate-authority"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    // No CA at all: the system roots do not know the demo's CA either.
    let no_ca: String = yaml
        .lines()
        .filter(|l| !l.contains("certificate-authority-data:"))
        .collect::<Vec<_>>()
        .join("\n");
    let path = demo.dir.path().join("no-ca");
    std::fs::write(&path, no_ca).unwrap();
    let (code, _, stderr) = demo.run(&path, &["list"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("TLS: "), "{stderr}");

    // The kubeconfig itself says insecure: then, and only then, it connects.
    let insecure = demo.dir.path().join("insecure");
    std::fs::write(&insecure, with_ca(&yaml, "", true)).unwrap();
    let (code, stdout, stderr) = demo.run(&insecure, &["list"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("sshd"), "{stdout}");
}

/// Names at Kubernetes' limits: a 63-character Service (a DNS label) with its Deployment, a
/// 253-character Deployment (a DNS subdomain) with no Service, label values of 63 characters, and
/// unicode in an annotation and in a route.
fn limits_manifests() -> (String, String, String) {
    let name63 = format!("long-{}", "x".repeat(58));
    let name253 = format!(
        "{}.{}.{}.{}",
        "a".repeat(63),
        "b".repeat(63),
        "c".repeat(63),
        "d".repeat(61)
    );
    assert_eq!((name63.len(), name253.len()), (63, 253));
    let label = "v".repeat(63);
    let manifests = format!(
        "apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name63}, namespace: default, labels: {{app: {name63}, tier: {label}}}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: {name63}}}}}
  template:
    metadata: {{labels: {{app: {name63}, tier: {label}}}}}
    spec: {{containers: [{{name: web, image: web:1, ports: [{{name: http, containerPort: 8080}}]}}]}}
---
apiVersion: v1
kind: Service
metadata: {{name: {name63}, namespace: default}}
spec:
  selector: {{app: {name63}}}
  ports: [{{name: http, port: 80, targetPort: http}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name253}, namespace: default}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: subdomain}}}}
  template:
    metadata: {{labels: {{app: subdomain}}}}
    spec: {{containers: [{{name: web, image: web:1}}]}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: cafe, namespace: default}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: cafe}}}}
  template:
    metadata: {{labels: {{app: cafe}}}}
    spec: {{containers: [{{name: web, image: web:1, ports: [{{name: http, containerPort: 8080}}]}}]}}
---
apiVersion: v1
kind: Service
metadata:
  name: cafe
  namespace: default
  annotations: {{hasura.io/external-url: 'https://café.例え.jp/メニュー'}}
spec:
  selector: {{app: cafe}}
  ports: [{{name: http, port: 80, targetPort: http}}]
"
    );
    (manifests, name63, name253)
}

/// hasura-conf with a unicode path routed to the 63-character service.
fn unicode_route(name63: &str) -> String {
    include_str!("../../assets/demo-cluster/hasura-conf.yaml").replace(
        "    my-app:\n",
        &format!(
            "    long:\n      /ünïcødé:\n        upstreamService:\n          name: {name63}\n          namespace: default\n        upstreamServicePort: 80\n    my-app:\n"
        ),
    )
}

fn draw(snapshot: Arc<Snapshot>, width: u16, height: u16) -> String {
    common::screen::draw(&common::screen::app(
        snapshot,
        width,
        height,
        Instant::now(),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_at_the_length_limits_and_unicode_show_in_list_and_on_screen() {
    let demo = common::start_seed_demo().await;
    let (manifests, name63, name253) = limits_manifests();
    demo.faults().apply_manifests(&manifests).unwrap();
    demo.faults()
        .apply_manifests(&unicode_route(&name63))
        .unwrap();
    let long_url = "http://long.gram29.hasura-app.io/ünïcødé";
    let cafe_url = "https://café.例え.jp/メニュー";

    let (mut rx, _stop) = feed(&demo, None).await;
    let s = common::wait_for_snapshot(&mut rx, "the new rows running", |s| {
        s.sections.custom.rows.len() == 4
            && s.sections
                .custom
                .rows
                .iter()
                .all(|m| m.status == Status::Running)
    })
    .await;
    let row = |name: &str| {
        s.sections
            .custom
            .rows
            .iter()
            .find(|m| m.name == name)
            .unwrap()
    };
    assert_eq!(row(&name63).external_url.as_deref(), Some(long_url));
    assert_eq!(row(&name63).internal_url, Some(format!("{name63}.default")));
    assert_eq!(row(&name253).internal_url, None, "no Service of that name");
    assert_eq!(row("cafe").external_url.as_deref(), Some(cafe_url));
    assert_eq!(s.routes_error, None);

    // 400x100: every name and URL whole, each row on one line.
    let wide = draw(s.clone(), 400, 100);
    for text in [name63.as_str(), &name253, long_url, cafe_url] {
        assert!(
            wide.lines().any(|l| l.contains(text)),
            "{text} whole on one line:\n{wide}"
        );
    }
    insta::assert_snapshot!("limits_at_400x100", wide);
    // 20x5: the notice, nothing drawn over it.
    insta::assert_snapshot!("limits_at_20x5", draw(s.clone(), 20, 5));

    // `list`, as a process: full names and URLs, columns aligned by display width.
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    demo.write_kubeconfig(&kubeconfig).unwrap();
    let out = tokio::process::Command::new(BIN)
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args(["list", "-n", "user"])
        .env("XDG_STATE_HOME", dir.path())
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    let column = |line: &str, text: &str| {
        line.find(text)
            .map(|at| unicode_width::UnicodeWidthStr::width(&line[..at]))
    };
    let header = lines[1];
    let status_at = column(header, "STATUS").unwrap();
    for name in [name63.as_str(), &name253, "cafe"] {
        let line = lines
            .iter()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} listed:\n{stdout}"));
        assert_eq!(column(line, "Running"), Some(status_at), "{line}");
    }
    assert!(
        stdout.contains(long_url) && stdout.contains(cafe_url),
        "{stdout}"
    );
}

#[test]
fn port_forward_binds_loopback_unless_told_and_warns_when_exposed() {
    use std::io::BufRead;
    let demo = common::demo_process::DemoProcess::start();
    let free = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };
    for (address, exposed) in [(None, false), (Some("0.0.0.0"), true)] {
        let port = free().to_string();
        let mut args = vec![
            "port-forward",
            "data",
            "-n",
            "hasura",
            "--local-port",
            &port,
        ];
        if let Some(address) = address {
            args.extend(["--address", address]);
        }
        let mut child = Command::new(BIN)
            .arg("--kubeconfig")
            .arg(&demo.kubeconfig)
            .args(&args)
            .env("XDG_STATE_HOME", demo.dir.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let bound = address.unwrap_or("127.0.0.1");
        assert_eq!(
            line.trim(),
            format!("Forwarding from {bound}:{port} -> 8080 (data.hasura)")
        );
        // stderr is read as it comes: the warning follows the stdout line, and the program
        // runs until killed.
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let warning =
            format!("warning: listening on {bound}:{port}, which is reachable from other machines");
        if exposed {
            let line = rx
                .recv_timeout(Duration::from_secs(10))
                .expect("a warning on stderr");
            assert!(line.starts_with(&warning), "{line}");
        }
        let _ = child.kill();
        let _ = child.wait();
        let rest: Vec<String> = rx.iter().collect();
        assert!(
            !rest.iter().any(|l| l.contains("warning")),
            "{address:?}: {rest:?}"
        );
    }
}
