//! The detail view (`d`) and `hasura-tui describe` against the demo cluster, checked by the
//! image's kubectl reading the same cluster: under tmux, `data` put into CrashLoopBackOff
//! through the admin path shows its restarts growing and its BackOff count rising with no key
//! pressed, and `Esc` returns to the table where it was; `describe` in text and JSON says what
//! `kubectl describe pod` and `kubectl get events` say.
use crate::common;

use std::path::Path;
use std::time::Duration;

use common::tmux::Tmux;
use hasura_tui::demo::{DemoOptions, PodFault};

const BIN: &str = env!("CARGO_BIN_EXE_hasura-tui");
const WAIT: Duration = Duration::from_secs(30);

fn crash_looping() -> DemoOptions {
    DemoOptions {
        // A restart every 700 ms, so the counts move within the test.
        restart_backoff: Duration::from_millis(700),
        shapes: false,
        ..common::quick_demo()
    }
}

async fn hasura_tui(kubeconfig: &Path, args: &[&str]) -> (i32, String, String) {
    common::run_with_kubeconfig(BIN.as_ref(), kubeconfig, args, &[]).await
}

async fn kubectl(kubeconfig: &Path, args: &[&str]) -> (i32, String, String) {
    common::run_with_kubeconfig(&common::kubectl(), kubeconfig, args, &[]).await
}

/// The number after `label` in `text` (`RESTARTS` cells, `(x12 over …)` counts).
fn number_after(text: &str, label: &str) -> Option<u32> {
    let rest = &text[text.find(label)? + label.len()..];
    let digits: String = rest
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[test]
fn the_detail_view_follows_a_crash_loop_without_a_key_and_esc_goes_back() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (demo, kubeconfig, _dir) = runtime.block_on(common::demo_with_kubeconfig(crash_looping()));
    let tmux = Tmux::start(
        &format!("{BIN} --kubeconfig {}", kubeconfig.display()),
        160,
        45,
    );
    tmux.wait_for("the dashboard", WAIT, |s| {
        s.contains("data") && s.contains(" synced ")
    });
    tmux.send(&["Tab", "j", "d"]);
    tmux.wait_for("data's detail", WAIT, |s| {
        s.contains("Deployment hasura/data") && s.contains("Pods (1)")
    });

    demo.faults()
        .set_pod_fault("hasura", "data", Some(PodFault::CrashLoopBackOff))
        .unwrap();
    let first = tmux.wait_for("the crash loop", WAIT, |s| {
        s.contains("CrashLoopBackOff")
            && s.contains("last termination of data: Error, exit code 1")
            && s.contains("BackOff")
    });
    let restarts = |s: &str| number_after(s, "CrashLoopBackOff");
    let backoffs = |s: &str| {
        s.lines()
            .filter(|l| l.contains("BackOff") && l.contains("failed container data"))
            .find_map(|l| number_after(l, "(x"))
            .unwrap_or(1)
    };
    let (restarts_before, backoffs_before) = (restarts(&first).unwrap_or(0), backoffs(&first));
    tmux.wait_for("restarts and BackOff count growing", WAIT, |s| {
        restarts(s).is_some_and(|r| r >= restarts_before + 2) && backoffs(s) >= backoffs_before + 2
    });

    tmux.send(&["Escape"]);
    tmux.wait_for("the table again", WAIT, |s| {
        s.contains("Hasura microservices")
    });
    // The selection is where it was: `y` copies data's URL.
    tmux.send(&["y"]);
    tmux.wait_for("data still selected", WAIT, |s| {
        s.contains("copied data.hasura")
    });
    tmux.send(&["q"]);
    assert_eq!(tmux.wait_exit(WAIT), 0);
    runtime.block_on(demo.shutdown());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_says_what_kubectl_describe_and_get_events_say() {
    let (demo, kubeconfig, _dir) = common::demo_with_kubeconfig(crash_looping()).await;
    demo.faults()
        .set_pod_fault("hasura", "data", Some(PodFault::CrashLoopBackOff))
        .unwrap();
    let (code, _, err) = kubectl(
        &kubeconfig,
        &["rollout", "restart", "deploy/auth", "-n", "hasura"],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    // Each container restarts each back-off, and kubectl sums them: 6 is three rounds.
    let pod = common::eventually("data restarted three times", WAIT, || async {
        let (_, out, _) = kubectl(
            &kubeconfig,
            &[
                "get",
                "pods",
                "-n",
                "hasura",
                "-l",
                "app=data",
                "--no-headers",
            ],
        )
        .await;
        let fields: Vec<&str> = out.split_whitespace().collect();
        (fields.get(2) == Some(&"CrashLoopBackOff")
            && fields
                .get(3)
                .and_then(|r| r.parse::<u32>().ok())
                .is_some_and(|r| r >= 6))
        .then(|| fields[0].to_string())
    })
    .await;

    // kubectl reads the demo's Events and last state as a real cluster's.
    let (code, described, err) =
        kubectl(&kubeconfig, &["describe", "pod", &pod, "-n", "hasura"]).await;
    assert_eq!(code, 0, "{err}");
    let has = |words: &[&str]| {
        described
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == words)
    };
    assert!(has(&["Reason:", "CrashLoopBackOff"]), "{described}");
    assert!(has(&["Last", "State:", "Terminated"]), "{described}");
    assert!(
        described.contains("fatal: cannot reach postgres.hasura:5432"),
        "{described}"
    );
    assert!(
        described
            .lines()
            .any(|l| l.contains("Warning  BackOff") && l.contains("(x")),
        "{described}"
    );
    let (code, events, err) = kubectl(&kubeconfig, &["get", "events", "-n", "hasura"]).await;
    assert_eq!(code, 0, "{err}");
    for reason in [
        "ScalingReplicaSet",
        "Scheduled",
        "Started",
        "Killing",
        "BackOff",
    ] {
        assert!(events.contains(reason), "{reason}:\n{events}");
    }

    // describe says the same: the pod crash-looping with its last termination, the BackOff
    // counted, the rollout of auth not in data's account.
    let (code, text, err) = hasura_tui(&kubeconfig, &["describe", "data", "-n", "hasura"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(text.contains("Deployment hasura/data"), "{text}");
    assert!(
        text.contains(&pod) && text.contains("CrashLoopBackOff"),
        "{text}"
    );
    assert!(
        text.contains("last termination of data: Error, exit code 1"),
        "{text}"
    );
    assert!(
        text.contains("fatal: cannot reach postgres.hasura:5432"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.contains("Warning") && l.contains("BackOff") && l.contains("(x")),
        "{text}"
    );
    assert!(!text.contains("Deployment/auth"), "{text}");
    assert!(
        text.contains("external http://data.gram29.hasura-app.io"),
        "{text}"
    );
    assert!(
        text.contains("not ready: ") && text.contains(&pod),
        "{text}"
    );

    let (code, json, err) = hasura_tui(
        &kubeconfig,
        &["describe", "data", "-n", "hasura", "-o", "json"],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["pods"]["state"], "ready");
    let crashing = &json["pods"]["items"][0];
    assert_eq!(crashing["name"], pod.as_str());
    assert_eq!(crashing["status"], "CrashLoopBackOff");
    assert_eq!(crashing["last_termination"]["exit_code"], 1);
    assert!(crashing["restarts"].as_u64().unwrap() >= 2);
    let backoff = json["events"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["reason"] == "BackOff" && e["object"] == format!("Pod/{pod}"))
        .expect("the BackOff event");
    assert!(backoff["count"].as_i64().unwrap() >= 2, "{backoff}");
    demo.shutdown().await;
}

/// A user who may read pods but not events sees the rest, with events said to be forbidden.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_with_events_forbidden_shows_the_rest() {
    let (demo, _kubeconfig, dir) = common::demo_with_kubeconfig(crash_looping()).await;
    let developer = dir.path().join("developer.yaml");
    demo.write_kubeconfig_with(
        &developer,
        &hasura_tui::demo::KubeconfigAuth::UserToken {
            user: "developer".into(),
        },
    )
    .unwrap();
    let (code, out, _) = kubectl(
        &developer,
        &["auth", "can-i", "list", "events", "-n", "hasura"],
    )
    .await;
    assert_eq!((code, out.trim()), (1, "no"));
    let (code, text, err) = hasura_tui(&developer, &["describe", "data", "-n", "hasura"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(
        text.contains("forbidden: these credentials may not read events"),
        "{text}"
    );
    assert!(
        text.contains("Pods (1)") && text.contains("Running"),
        "{text}"
    );
    demo.shutdown().await;
}

/// `kubectl top` reads the demo's metrics API, `list -o wide` shows data's CPU and MEM as
/// kubectl sums them, and while traffic goes through a hasura-tui forward to data both
/// kubectl's figure and the dashboard's CPU column rise; `describe` shows the figures too.
/// Without the API kubectl says so, and neither `describe` nor `list -o wide` has a CPU column.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_top_reads_cpu_that_follows_forwarded_traffic() {
    let (demo, kubeconfig, _dir) = common::demo_with_kubeconfig(crash_looping()).await;
    // kubectl top's figures for data's pods, summed as the tables sum them: (CPU m, MEM Mi).
    let top_of_data = || async {
        let (code, out, err) = kubectl(
            &kubeconfig,
            &["top", "pods", "-n", "hasura", "--no-headers"],
        )
        .await;
        assert_eq!(code, 0, "{err}");
        let lines: Vec<&str> = out.lines().filter(|l| l.starts_with("data-")).collect();
        assert!(!lines.is_empty(), "{out}");
        lines.iter().fold((0u64, 0u64), |(cpu, mem), line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let number = |f: &str, unit: &str| f.trim_end_matches(unit).parse::<u64>().unwrap();
            (cpu + number(fields[1], "m"), mem + number(fields[2], "Mi"))
        })
    };
    let (idle, idle_mem) = top_of_data().await;
    // `list -o wide` reads the same API: CPU and MEM beside REPLICAS, data's as kubectl's.
    let (code, wide, err) = hasura_tui(&kubeconfig, &["list", "-n", "hasura", "-o", "wide"]).await;
    assert_eq!(code, 0, "{err}");
    let header: Vec<&str> = wide.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(
        &header[..5],
        ["NAME", "STATUS", "REPLICAS", "CPU", "MEM"],
        "{wide}"
    );
    let data: Vec<&str> = wide
        .lines()
        .find(|l| l.starts_with("data "))
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(
        (data[3], data[4]),
        (
            format!("{idle}m").as_str(),
            format!("{idle_mem}Mi").as_str()
        ),
        "{wide}"
    );

    // The dashboard shows the same column; it must rise while traffic flows.
    let tmux = Tmux::start(
        &format!("{BIN} --kubeconfig {}", kubeconfig.display()),
        160,
        45,
    );
    let dashboard_cpu = |s: &str| -> Option<u64> {
        let header = s
            .lines()
            .find(|l| l.contains("NAME") && l.contains("CPU"))?;
        let column = header.find("CPU")?;
        let row = s.lines().find(|l| l.starts_with("data "))?;
        let cell = row.get(column..)?.split_whitespace().next()?;
        cell.trim_end_matches('m').parse().ok()
    };
    tmux.wait_for("data's CPU in the table", WAIT, |s| {
        dashboard_cpu(s).is_some()
    });

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut forward = tokio::process::Command::new(BIN)
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args([
            "port-forward",
            "data",
            "-n",
            "hasura",
            "--local-port",
            &port.to_string(),
        ])
        .env("XDG_STATE_HOME", kubeconfig.parent().unwrap())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    common::eventually("the forward serving", WAIT, || async {
        tokio::task::spawn_blocking(move || common::http_get(address, "/").ok())
            .await
            .unwrap()
    })
    .await;
    // Bytes through the forward until the figures have moved: kubectl's next scrape, and the
    // dashboard's next read (one per 15 s, metrics-server's resolution).
    let flowing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let traffic = {
        let flowing = flowing.clone();
        std::thread::spawn(move || {
            while flowing.load(std::sync::atomic::Ordering::Relaxed) {
                common::http_get(address, "/_demo/bytes/1000000").unwrap();
            }
        })
    };
    // kubectl top's figure rises once a scrape covers a second or more of the traffic.
    common::eventually(
        "kubectl top: data's CPU rising with traffic",
        WAIT,
        || async {
            let (busy, _) = top_of_data().await;
            (busy > idle + 10).then_some(())
        },
    )
    .await;
    let screen = tokio::task::spawn_blocking(move || {
        let screen = tmux.wait_for(
            "data's CPU rising in the table",
            Duration::from_secs(40),
            |s| dashboard_cpu(s).is_some_and(|cpu| cpu > idle + 10),
        );
        tmux.send(&["q"]);
        assert_eq!(tmux.wait_exit(WAIT), 0);
        screen
    })
    .await
    .unwrap();
    flowing.store(false, std::sync::atomic::Ordering::Relaxed);
    traffic.join().unwrap();
    assert!(screen.contains("MEM"), "{screen}");

    let (code, text, err) = hasura_tui(&kubeconfig, &["describe", "data", "-n", "hasura"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(
        text.lines().any(|l| l.contains("CPU") && l.contains("MEM")),
        "{text}"
    );
    let _ = forward.kill().await;
    demo.shutdown().await;

    // Without the metrics API: kubectl says so, and neither describe nor the tables have the
    // figures.
    let (demo, kubeconfig, _dir) = common::demo_with_kubeconfig(DemoOptions {
        serve_metrics: false,
        ..crash_looping()
    })
    .await;
    let (code, _, err) = kubectl(&kubeconfig, &["top", "pods", "-n", "hasura"]).await;
    assert_eq!(code, 1);
    assert!(err.contains("Metrics API not available"), "{err}");
    let (code, text, err) = hasura_tui(&kubeconfig, &["describe", "data", "-n", "hasura"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(!text.contains("CPU"), "{text}");
    let (code, wide, err) = hasura_tui(&kubeconfig, &["list", "-n", "hasura", "-o", "wide"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(
        wide.lines().nth(1).unwrap().starts_with("NAME") && !wide.contains("CPU"),
        "{wide}"
    );
    demo.shutdown().await;
}

/// The routes section explains EXTERNAL-URL: every gateway route to the microservice (with the
/// upstream port and path routes.yaml gives) and every Ingress rule, the one the tables show
/// marked. kubectl reads the same ConfigMap and Ingress from the demo cluster first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_explains_every_route_to_the_microservice() {
    let (demo, kubeconfig, _dir) = common::demo_with_kubeconfig(common::quick_demo()).await;
    let (code, routes, err) = kubectl(
        &kubeconfig,
        &[
            "get",
            "configmap",
            "hasura-conf",
            "-n",
            "hasura",
            "-o",
            r"jsonpath={.data.routes\.yaml}",
        ],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(routes.contains("upstreamServicePath"), "{routes}");
    // A second route to data (a path on another subdomain, to another upstream path), and an
    // Ingress with TLS, put in as an operator would.
    let more = "api:\n  /data:\n    upstreamService:\n      name: data\n      namespace: hasura\n    upstreamServicePath: /v1\n    upstreamServicePort: 80\n";
    let configmap = serde_json::json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "hasura-conf", "namespace": "hasura"},
        "data": {"routes.yaml": format!("{routes}\n{more}")},
    });
    demo.faults()
        .apply_manifests(&configmap.to_string())
        .unwrap();
    demo.faults()
        .apply_manifests(
            "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: data-web, namespace: hasura}\nspec:\n  tls: [{hosts: [data.example.com]}]\n  rules:\n    - host: data.example.com\n      http:\n        paths:\n          - path: /\n            pathType: Prefix\n            backend: {service: {name: data, port: {name: http}}}\n",
        )
        .unwrap();
    let (code, ingress, err) = kubectl(&kubeconfig, &["get", "ingress", "-n", "hasura"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(
        ingress.contains("data-web") && ingress.contains("data.example.com"),
        "{ingress}"
    );

    let (code, text, err) = hasura_tui(&kubeconfig, &["describe", "data", "-n", "hasura"]).await;
    assert_eq!(code, 0, "{err}");
    for route in [
        "gateway  http://data.gram29.hasura-app.io → data.hasura:80/  (EXTERNAL-URL)",
        "gateway  http://api.gram29.hasura-app.io/data → data.hasura:80/v1",
        "ingress data-web  https://data.example.com → data.hasura:http",
    ] {
        assert!(text.lines().any(|l| l.trim() == route), "{route}:\n{text}");
    }
    let (code, json, err) = hasura_tui(
        &kubeconfig,
        &["describe", "data", "-n", "hasura", "-o", "json"],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    let routes = json["urls"]["routes"].as_array().expect("routes");
    assert_eq!(routes.len(), 3, "{routes:?}");
    assert_eq!(routes[1]["source"], "gateway");
    assert_eq!(routes[1]["subdomain"], "api");
    assert_eq!(routes[1]["path"], "/data");
    assert_eq!(routes[1]["upstream_port"], "80");
    assert_eq!(routes[1]["upstream_path"], "/v1");
    assert_eq!(routes[1]["shown"], false);
    assert_eq!(routes[2]["source"], "ingress");
    assert_eq!(routes[2]["ingress"], "data-web");
    demo.shutdown().await;
}

/// events.k8s.io/v1 serves the same Events as core/v1, in that group's shape: kubectl lists
/// them, selects by `regarding.name` (and refuses the core spelling there, as the API server
/// does), and watches them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_k8s_io_serves_the_same_events_in_its_shape() {
    let (demo, kubeconfig, _dir) = common::demo_with_kubeconfig(crash_looping()).await;
    demo.faults()
        .set_pod_fault("hasura", "data", Some(PodFault::CrashLoopBackOff))
        .unwrap();
    let pod = common::eventually("data's BackOff event", WAIT, || async {
        let (_, out, _) = kubectl(
            &kubeconfig,
            &[
                "get",
                "events",
                "-n",
                "hasura",
                "--field-selector",
                "reason=BackOff",
                "--no-headers",
            ],
        )
        .await;
        out.split_whitespace()
            .find_map(|w| w.strip_prefix("pod/"))
            .map(str::to_string)
    })
    .await;

    let (code, table, err) = kubectl(
        &kubeconfig,
        &["get", "events.v1.events.k8s.io", "-n", "hasura"],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(
        table.contains("BackOff") && table.contains(&format!("pod/{pod}")),
        "{table}"
    );

    let selector = format!("regarding.name={pod}");
    let (code, json, err) = kubectl(
        &kubeconfig,
        &[
            "get",
            "events.events.k8s.io",
            "-n",
            "hasura",
            "--field-selector",
            &selector,
            "-o",
            "json",
        ],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    let list: serde_json::Value = serde_json::from_str(&json).unwrap();
    let items = list["items"].as_array().unwrap();
    assert!(!items.is_empty(), "{json}");
    for event in items {
        assert_eq!(event["apiVersion"], "events.k8s.io/v1", "{event}");
        assert_eq!(event["regarding"]["name"], pod.as_str(), "{event}");
        assert!(event.get("involvedObject").is_none(), "{event}");
    }
    let backoff = items
        .iter()
        .find(|e| e["reason"] == "BackOff")
        .expect("a BackOff event");
    assert!(
        backoff["note"]
            .as_str()
            .unwrap()
            .contains("Back-off restarting failed container"),
        "{backoff}"
    );
    assert_eq!(
        backoff["deprecatedSource"]["component"], "kubelet",
        "{backoff}"
    );
    // The same objects as core/v1's, by name.
    let core_selector = format!("involvedObject.name={pod}");
    let (_, core_names, _) = kubectl(
        &kubeconfig,
        &[
            "get",
            "events",
            "-n",
            "hasura",
            "--field-selector",
            &core_selector,
            "-o",
            "name",
        ],
    )
    .await;
    let core_names: Vec<&str> = core_names
        .lines()
        .filter_map(|l| l.rsplit('/').next())
        .collect();
    for event in items {
        let name = event["metadata"]["name"].as_str().unwrap();
        assert!(core_names.contains(&name), "{name} not in {core_names:?}");
    }

    let (code, _, err) = kubectl(
        &kubeconfig,
        &[
            "get",
            "events.events.k8s.io",
            "-n",
            "hasura",
            "--field-selector",
            &core_selector,
        ],
    )
    .await;
    assert_ne!(code, 0);
    assert!(
        err.contains("field label not supported: involvedObject.name"),
        "{err}"
    );

    // A watch sees the BackOff count move, in the events.k8s.io shape.
    let mut watch = tokio::process::Command::new(common::kubectl())
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args([
            "get",
            "events.events.k8s.io",
            "-n",
            "hasura",
            "--watch-only",
            "--field-selector",
            &selector,
            "-o",
            "jsonpath={.apiVersion} {.regarding.name} {.reason}{\"\\n\"}",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines =
        tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(watch.stdout.take().unwrap()));
    let line = tokio::time::timeout(WAIT, lines.next_line())
        .await
        .expect("a watch event in time")
        .unwrap()
        .expect("a line");
    assert_eq!(line, format!("events.k8s.io/v1 {pod} BackOff"));
    let _ = watch.kill().await;
    demo.shutdown().await;
}
