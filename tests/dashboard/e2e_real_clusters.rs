//! The dashboard on clusters as real ones are (docs/clusters.md), end to end under tmux: a
//! developer's Role, a 410 after compaction, a pod with a sidecar, Services of every shape.
use crate::common;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use common::tmux::{Tmux, forward_address};
use hasura_tui::demo::{DemoCluster, DemoOptions, KubeconfigAuth};

const BIN: &str = env!("CARGO_BIN_EXE_hasura-tui");
const WAIT: Duration = Duration::from_secs(20);

struct Setup {
    runtime: tokio::runtime::Runtime,
    demo: Option<DemoCluster>,
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let demo = runtime.block_on(common::start_demo_with(DemoOptions {
            pod_start_delay: Duration::from_millis(150),
            pod_termination_delay: Duration::from_millis(100),
            ..DemoOptions::default()
        }));
        Setup {
            runtime,
            demo: Some(demo),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn demo(&self) -> &DemoCluster {
        self.demo.as_ref().unwrap()
    }

    fn kubeconfig(&self, auth: &KubeconfigAuth) -> PathBuf {
        let path = self.dir.path().join("kubeconfig");
        self.demo().write_kubeconfig_with(&path, auth).unwrap();
        path
    }

    /// The dashboard, 200 columns wide so the FORWARD column and notes show whole.
    fn dashboard(&self, auth: &KubeconfigAuth) -> Tmux {
        let kubeconfig = self.kubeconfig(auth);
        let tmux = Tmux::start(
            &format!(
                "env XDG_CONFIG_HOME={} {BIN} --kubeconfig {}",
                self.dir.path().join("config").display(),
                kubeconfig.display()
            ),
            200,
            40,
        );
        tmux.wait_for("the dashboard synced", WAIT, |s| {
            s.contains("my-app") && s.contains("synced")
        });
        tmux
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        if let Some(demo) = self.demo.take() {
            self.runtime.block_on(demo.shutdown());
        }
    }
}

/// Selects the row `name` by filtering for it (Tab first for the Hasura table).
fn select(tmux: &Tmux, name: &str) {
    tmux.send(&["/"]);
    tmux.type_text(name);
    tmux.send(&["Enter"]);
    tmux.wait_for(&format!("{name} selected"), WAIT, |s| {
        s.lines().any(|l| l.starts_with(&format!("{name} "))) && !s.contains(&format!("/{name}▏"))
    });
}

/// Esc clears a kept filter; the next key waits for the screen it leads to (a key right after
/// a lone Esc would read as Alt+key).
fn clear_filter(tmux: &Tmux) {
    tmux.escape();
    tmux.wait_for("the filter cleared", WAIT, |s| {
        s.lines()
            .filter(|l| l.contains("microservices ("))
            .all(|l| !l.contains('/'))
    });
}

/// `GET /` with `Connection: close` through a forward: the echo's JSON.
fn http_get(addr: SocketAddr) -> serde_json::Value {
    let mut stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("{addr}: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    serde_json::from_str(body.trim()).unwrap_or_else(|e| panic!("{e}: {response}"))
}

fn row<'a>(screen: &'a str, name: &str) -> &'a str {
    screen
        .lines()
        .find(|l| l.starts_with(&format!("{name} ")))
        .unwrap_or_else(|| panic!("no row {name}:\n{screen}"))
}

#[test]
fn as_a_developer_the_tables_say_what_is_missing_and_forwards_follow_the_role() {
    let setup = Setup::new();
    let tmux = setup.dashboard(&KubeconfigAuth::UserToken {
        user: "developer".into(),
    });
    let screen = tmux.wait_for("the notes under the titles", WAIT, |s| {
        s.contains("configmap hasura-conf: forbidden (no gateway routes)")
    });
    for note in [
        "statefulsets: forbidden (legacy-api: status unknown)",
        "statefulsets: forbidden (postgres: status unknown)",
        "ingresses: forbidden (external URLs from routes only)",
    ] {
        assert!(screen.contains(note), "{note}:\n{screen}");
    }
    // Never an empty namespace because of one kind: the allowed rows are all there.
    assert!(screen.contains("Custom microservices (6)"), "{screen}");
    assert!(screen.contains("Hasura microservices (10)"), "{screen}");
    assert!(row(&screen, "postgres").contains("Unknown"), "{screen}");
    assert!(row(&screen, "data").contains("Running"), "{screen}");

    // hasura: read but not port-forward. The row says so at once, nothing is bound.
    tmux.send(&["Tab"]);
    select(&tmux, "data");
    tmux.send(&["f"]);
    let screen = tmux.wait_for("the refusal in data's row", WAIT, |s| {
        s.contains("forbidden: may not port-forward in hasura")
    });
    assert_eq!(forward_address(&screen, "data"), None, "{screen}");
    assert_eq!(setup.demo().faults().request_counts().portforward, 0);
    clear_filter(&tmux);

    // default: the Role allows it, and bytes flow.
    tmux.send(&["Tab"]);
    select(&tmux, "my-app");
    tmux.send(&["f"]);
    let screen = tmux.wait_for("my-app forwarded", WAIT, |s| {
        forward_address(s, "my-app").is_some()
    });
    let echo = http_get(forward_address(&screen, "my-app").unwrap());
    assert_eq!(echo["microservice"], "my-app", "{echo}");
    tmux.send(&["q"]);
    assert_eq!(tmux.wait_exit(WAIT), 0);
}

#[test]
fn a_410_after_compaction_relists_without_reconnecting_or_stale_rows() {
    let setup = Setup::new();
    let _runtime = setup.runtime.enter();
    let tmux = setup.dashboard(&KubeconfigAuth::Token);
    let faults = setup.demo().faults();
    // A change moves the cluster's version past what the quiet watches (services, ingresses,
    // the ConfigMap) last listed; compaction then forgets everything before it, so when the
    // watches are dropped and resume from their versions, they are answered 410 Gone.
    faults.scale("default", "my-app", 2).unwrap();
    tmux.wait_for("my-app at 2/2", WAIT, |s| row(s, "my-app").contains("2/2"));
    let lists_before = faults.request_counts().list;
    faults.compact();
    faults.drop_watches();
    let quiet = |s: &str| !s.contains("reconnecting") && !s.contains("stale");
    tmux.assert_never(
        "reconnecting or stale rows during the relist",
        Duration::from_secs(3),
        |s| !quiet(s),
    );
    let relisted = faults.request_counts().list - lists_before;
    assert!(relisted >= 3, "the watches listed again ({relisted} lists)");
    // The relisted watches carry on: a change shows.
    faults.scale("default", "my-app", 1).unwrap();
    tmux.wait_for("my-app at 1/1", WAIT, |s| row(s, "my-app").contains("1/1"));
    assert!(quiet(&tmux.screen()));
    tmux.send(&["q"]);
    assert_eq!(tmux.wait_exit(WAIT), 0);
}

#[test]
fn the_logs_of_a_pod_with_a_sidecar_start_at_its_default_container_and_c_cycles() {
    let setup = Setup::new();
    let tmux = setup.dashboard(&KubeconfigAuth::Token);
    let pod = setup.demo().faults().live_pods("hasura", "data").unwrap()[0].clone();
    tmux.send(&["Tab"]);
    select(&tmux, "data");
    tmux.send(&["l"]);
    let screen = tmux.wait_for("data's own lines", WAIT, |s| {
        s.contains("container data (default)") && s.contains("INFO starting data")
    });
    assert!(!screen.contains("istio-proxy starting"), "{screen}");
    assert!(screen.contains("c container"), "{screen}");

    tmux.send(&["c"]);
    let screen = tmux.wait_for("the sidecar's lines", WAIT, |s| {
        s.contains("container istio-proxy ") && s.contains("sidecar istio-proxy starting")
    });
    assert!(!screen.contains("INFO starting data"), "{screen}");
    assert!(screen.contains(&format!("[{pod}] ")), "{screen}");

    tmux.send(&["c"]);
    let screen = tmux.wait_for("every container, prefixed", WAIT, |s| {
        s.contains("all containers")
            && s.contains(&format!("[{pod}/data] "))
            && s.contains(&format!("[{pod}/istio-proxy] "))
    });
    assert!(screen.contains("1 pod"), "{screen}");
    tmux.send(&["c"]);
    tmux.wait_for("back to data", WAIT, |s| {
        s.contains("container data (default)")
    });
    tmux.send(&["q"]);
    tmux.send(&["q"]);
    assert_eq!(tmux.wait_exit(WAIT), 0);
}

#[test]
fn every_service_shape_shows_and_forwards_where_it_can() {
    let setup = Setup::new();
    let tmux = setup.dashboard(&KubeconfigAuth::Token);
    let screen = tmux.screen();
    assert!(
        row(&screen, "docs").contains("external: docs.hasura.io"),
        "{screen}"
    );
    assert!(
        row(&screen, "legacy-api").contains("legacy-api.default"),
        "{screen}"
    );

    // ExternalName: `f` says why not.
    select(&tmux, "docs");
    tmux.send(&["f"]);
    tmux.wait_for("the explanation", WAIT, |s| {
        s.contains("docs.default is an ExternalName Service for docs.hasura.io: a name outside the cluster, nothing to forward to")
    });
    clear_filter(&tmux);

    // Selector-less: to the pod its hand-made EndpointSlice names.
    select(&tmux, "legacy-api");
    tmux.send(&["f"]);
    let screen = tmux.wait_for("legacy-api forwarded", WAIT, |s| {
        forward_address(s, "legacy-api").is_some() && row(s, "legacy-api").contains("▲")
    });
    let echo = http_get(forward_address(&screen, "legacy-api").unwrap());
    assert_eq!(echo["pod"], "legacy-backend-0", "{echo}");
    clear_filter(&tmux);

    // Headless: to a ready pod, bytes echoed.
    select(&tmux, "cache");
    tmux.send(&["f"]);
    let screen = tmux.wait_for("cache forwarded", WAIT, |s| {
        forward_address(s, "cache").is_some() && row(s, "cache").contains("▲")
    });
    let mut stream =
        std::net::TcpStream::connect(forward_address(&screen, "cache").unwrap()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(b"PING\r\n").unwrap();
    let mut back = [0u8; 6];
    stream.read_exact(&mut back).unwrap();
    assert_eq!(&back, b"PING\r\n");
    drop(stream);
    clear_filter(&tmux);

    // Two ports: the F dialog lists them; `web` is 8080 on shop's pod and 8081 on the
    // canary's, and connections reach both.
    select(&tmux, "shop");
    tmux.send(&["F"]);
    let screen = tmux.wait_for("the dialog", WAIT, |s| s.contains("forward shop.default"));
    assert!(screen.contains("ports: 80->web, 9100->metrics"), "{screen}");
    tmux.send(&["Enter"]);
    let screen = tmux.wait_for("shop forwarded", WAIT, |s| {
        forward_address(s, "shop").is_some() && row(s, "shop").contains("▲")
    });
    let addr = forward_address(&screen, "shop").unwrap();
    // Demo pods listen only on the ports they declare, so the canary answers only if its
    // own `web` (8081) was used.
    let canary = setup
        .demo()
        .faults()
        .live_pods("default", "shop-canary")
        .unwrap()[0]
        .clone();
    let stable = setup.demo().faults().live_pods("default", "shop").unwrap()[0].clone();
    let mut answered = std::collections::BTreeSet::new();
    for _ in 0..20 {
        let echo = http_get(addr);
        answered.insert(echo["pod"].as_str().unwrap().to_string());
        if answered.len() == 2 {
            break;
        }
    }
    assert_eq!(
        answered,
        [canary, stable].into_iter().collect(),
        "both pods behind the Service answer on their own port"
    );
    tmux.send(&["q"]);
    assert_eq!(tmux.wait_exit(WAIT), 0);
}
