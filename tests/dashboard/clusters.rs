//! Several clusters: two demo clusters (the demo project's `dev`, gram29, and `staging`, stg41)
//! whose kubeconfig files are merged by `$KUBECONFIG`, as kubectl merges them; the project's
//! `clusters.yaml` (assets/demo-project, plus an alias whose context is gone) names them. The CLI
//! takes `-c ALIAS`; the dashboard moves between them with the picker, forwards of both carry
//! traffic throughout, the cluster left is not watched while away, and the `p` view lists and
//! stops forwards of either.
use crate::common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::tmux::{Tmux, forward_address, forward_counters};
use hasura_tui::demo::{DemoCluster, DemoOptions};

const BIN: &str = env!("CARGO_BIN_EXE_hasura-tui");
const WAIT: Duration = Duration::from_secs(20);

struct Two {
    runtime: tokio::runtime::Runtime,
    dev: Option<DemoCluster>,
    staging: Option<DemoCluster>,
    dir: tempfile::TempDir,
    /// `dev.yaml:staging.yaml`.
    kubeconfig: String,
    /// A project folder: the demo project's clusters.yaml and an alias whose context is gone.
    project: PathBuf,
}

impl Two {
    fn start() -> Two {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let (dev, staging) = runtime.block_on(async {
            tokio::join!(
                common::start_demo_with(common::quick_demo()),
                common::start_demo_with(DemoOptions {
                    name: "stg41".into(),
                    shapes: false,
                    ..common::quick_demo()
                })
            )
        });
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("dev.yaml"), dir.path().join("staging.yaml"));
        dev.write_kubeconfig(&a).unwrap();
        staging.write_kubeconfig(&b).unwrap();
        // A third context whose server is down (nothing listens on port 1).
        let c = dir.path().join("down.yaml");
        std::fs::write(
            &c,
            "apiVersion: v1\nkind: Config\n\
             clusters: [{name: down, cluster: {server: 'https://127.0.0.1:1'}}]\n\
             users: [{name: down-admin, user: {token: x}}]\n\
             contexts: [{name: down, context: {cluster: down, user: down-admin}}]\n",
        )
        .unwrap();
        let project = dir.path().join("project");
        std::fs::create_dir_all(project.join("microservices/app")).unwrap();
        let clusters = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo-project/clusters.yaml"),
        )
        .unwrap();
        std::fs::write(
            project.join("clusters.yaml"),
            clusters + "- {name: gone41, alias: old, kubeContext: removed}\n",
        )
        .unwrap();
        Two {
            runtime,
            dev: Some(dev),
            staging: Some(staging),
            kubeconfig: format!("{}:{}:{}", a.display(), b.display(), c.display()),
            dir,
            project,
        }
    }

    fn dev(&self) -> &DemoCluster {
        self.dev.as_ref().unwrap()
    }

    fn staging(&self) -> &DemoCluster {
        self.staging.as_ref().unwrap()
    }

    /// The binary with the merged kubeconfig, run from a folder inside the project (it finds
    /// clusters.yaml upwards, as the Hasura CLI does).
    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let output = std::process::Command::new(BIN)
            .args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("XDG_STATE_HOME", self.dir.path())
            .current_dir(self.project.join("microservices/app"))
            .output()
            .unwrap();
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    /// kubectl on the same merged kubeconfig.
    fn kubectl(&self, args: &[&str]) -> String {
        let output = std::process::Command::new(common::kubectl())
            .args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .output()
            .unwrap();
        assert!(output.status.success(), "kubectl {args:?}: {output:?}");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// The pods of `data` in a context, by kubectl.
    fn data_pods(&self, context: &str) -> Vec<String> {
        self.kubectl(&[
            "--context",
            context,
            "get",
            "pods",
            "-n",
            "hasura",
            "-o",
            "name",
        ])
        .lines()
        .filter_map(|l| l.strip_prefix("pod/"))
        .filter(|p| p.starts_with("data-"))
        .map(str::to_string)
        .collect()
    }

    fn dashboard(&self, config: &Path) -> Tmux {
        let tmux = Tmux::start(
            &format!(
                "cd {} && env KUBECONFIG={} XDG_CONFIG_HOME={} {BIN}",
                self.project.display(),
                self.kubeconfig,
                config.display()
            ),
            150,
            40,
        );
        tmux.wait_for("the dashboard on dev", WAIT, |s| {
            s.contains("dev (context gram29)") && s.contains(" synced ")
        });
        tmux
    }
}

impl Drop for Two {
    fn drop(&mut self) {
        let (dev, staging) = (self.dev.take(), self.staging.take());
        self.runtime.block_on(async {
            for demo in [dev, staging].into_iter().flatten() {
                demo.shutdown().await;
            }
        });
    }
}

/// The pod that answered a GET through a forward.
fn pod_behind(addr: SocketAddr) -> String {
    let body = common::http_get(addr, "/who").unwrap_or_else(|e| panic!("{addr}: {e}"));
    let json = &body[body.find('{').expect("a JSON echo")..];
    let echo: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    echo["pod"].as_str().unwrap().to_string()
}

#[test]
fn the_cli_takes_a_cluster_alias_and_refuses_what_it_cannot_resolve() {
    let two = Two::start();
    // kubectl reads the same merged files: two contexts, each its own cluster.
    let contexts = two.kubectl(&["config", "get-contexts", "-o", "name"]);
    assert_eq!(
        contexts.lines().collect::<Vec<_>>(),
        ["down", "gram29", "stg41"]
    );
    let name = two.kubectl(&[
        "--context",
        "stg41",
        "get",
        "configmap",
        "hasura-conf",
        "-n",
        "hasura",
        "-o",
        "jsonpath={.data.cluster-name}",
    ]);
    assert_eq!(name, "stg41", "the second demo cluster says its own name");

    let (code, out, err) = two.run(&["list", "-c", "staging"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("http://data.stg41.hasura-app.io"), "{out}");
    assert!(!out.contains("cache"), "staging has the seed only: {out}");
    let (code, out, err) = two.run(&["list", "-c", "dev"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("http://data.gram29.hasura-app.io"), "{out}");
    assert!(out.contains("cache"), "{out}");
    // --project names the project from anywhere.
    let output = std::process::Command::new(BIN)
        .args(["--project"])
        .arg(&two.project)
        .args(["list", "-c", "staging"])
        .env("KUBECONFIG", &two.kubeconfig)
        .current_dir(two.dir.path())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&output.stdout).contains("data.stg41"));

    // port-forward -c dev reaches dev's pods, not staging's.
    let mut child = std::process::Command::new(BIN)
        .args([
            "port-forward",
            "data",
            "-n",
            "hasura",
            "-c",
            "dev",
            "--local-port",
        ])
        .arg(common::free_port().to_string())
        .env("KUBECONFIG", &two.kubeconfig)
        .env("XDG_STATE_HOME", two.dir.path())
        .current_dir(&two.project)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let port = common::forwarding_port(child.stdout.take().unwrap()).expect("it forwards");
    let pod = pod_behind(SocketAddr::from(([127, 0, 0, 1], port)));
    assert!(two.data_pods("gram29").contains(&pod), "{pod}");
    assert!(!two.data_pods("stg41").contains(&pod), "{pod}");
    child.kill().unwrap();
    let _ = child.wait();

    let (code, _, err) = two.run(&["list", "-c", "nope"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("no cluster alias \"nope\"") && err.contains("(aliases: dev, staging, old)"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    let (code, _, err) = two.run(&["list", "-c", "dev", "--context", "gram29"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("--cluster") && err.contains("--context"),
        "{err}"
    );
    let (code, _, err) = two.run(&["list", "-c", "old"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("cluster alias old: context \"removed\" is not in"),
        "{err}"
    );
    // A malformed clusters.yaml: one line naming the file and the line.
    std::fs::write(
        two.project.join("clusters.yaml"),
        "- name: a\n  alias: [dev\n",
    )
    .unwrap();
    let (code, _, err) = two.run(&["list", "-c", "dev"]);
    assert_eq!(code, 2);
    assert!(err.contains("clusters.yaml: line "), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn switching_clusters_keeps_both_forwards_and_stops_the_watches_of_the_one_left() {
    let two = Two::start();
    // Asked before, so that kubectl's own requests do not count as the dashboard's.
    let (dev_pods, staging_pods) = (two.data_pods("gram29"), two.data_pods("stg41"));
    let config = two.dir.path().join("config");
    let tmux = two.dashboard(&config);
    let watching_dev = two.dev().faults().request_counts().watches_open;
    assert!(
        watching_dev >= 5,
        "the tables watch several kinds: {watching_dev}"
    );

    tmux.send(&["Tab", "j", "f"]);
    let screen = tmux.wait_for("dev's data forward", WAIT, |s| {
        forward_address(s, "data").is_some()
    });
    let dev_data = forward_address(&screen, "data").unwrap();
    assert!(dev_pods.contains(&pod_behind(dev_data)));
    // Each cluster keeps its own view: dev's filter is not staging's, and is there on return.
    tmux.send(&["/"]);
    tmux.type_text("dat");
    tmux.send(&["Enter"]);
    tmux.wait_for("dev filtered", WAIT, |s| {
        s.contains("filter: dat") && !s.contains("my-app")
    });

    // An alias whose context is gone is refused, and the picker stays for another choice.
    tmux.send(&["C"]);
    tmux.wait_for("the picker", WAIT, |s| {
        s.contains("clusters (type to filter")
    });
    tmux.type_text("old");
    tmux.send(&["Enter"]);
    let refused = tmux.wait_for("the refusal", WAIT, |s| {
        s.contains("old: context \"removed\" is not in the kubeconfig; pick another")
    });
    assert!(
        refused.contains("clusters (type to filter: old"),
        "{refused}"
    );
    for _ in 0..3 {
        tmux.send(&["BSpace"]);
    }
    tmux.type_text("stag");
    tmux.send(&["Enter"]);
    let staging = tmux.wait_for("staging on screen", WAIT, |s| {
        s.contains("staging (context stg41)") && s.contains(" synced ")
    });
    assert!(
        !staging.contains("filter: dat") && staging.contains("my-app"),
        "{staging}"
    );

    // dev's watches close; only its forward's EndpointSlice follower stays.
    let dev_counts = common::eventually_blocking("dev's table watches closed", WAIT, || {
        let now = two.dev().faults().request_counts();
        (now.watches_open <= 2).then_some(now)
    });
    tmux.send(&["Tab", "j", "f"]);
    let screen = tmux.wait_for("staging's data forward", WAIT, |s| {
        forward_address(s, "data").is_some() && s.contains("2 forwards (1 on dev)")
    });
    let staging_data = forward_address(&screen, "data").unwrap();
    assert_ne!(staging_data, dev_data, "the port rule picks another port");
    assert!(staging_pods.contains(&pod_behind(staging_data)));
    // dev's forward carries traffic while its cluster is away.
    for _ in 0..3 {
        assert!(dev_pods.contains(&pod_behind(dev_data)));
    }
    let away = two.dev().faults().request_counts();
    assert_eq!(
        (away.list, away.watch, away.get),
        (dev_counts.list, dev_counts.watch, dev_counts.get),
        "nothing is listed, watched or read on dev while away"
    );

    tmux.send(&["C"]);
    tmux.type_text("dev");
    tmux.send(&["Enter"]);
    let back = tmux.wait_for("dev again, its forward with traffic", WAIT, |s| {
        s.contains("dev (context gram29)")
            && s.contains(" synced ")
            && s.contains("2 forwards (1 on staging)")
            && forward_counters(s, "data").is_some_and(|(up, _)| up != "0")
    });
    assert_eq!(forward_address(&back, "data"), Some(dev_data), "{back}");
    assert!(
        back.contains("filter: dat") && !back.contains("my-app"),
        "dev's filter kept: {back}"
    );
    common::eventually_blocking("staging's table watches closed", WAIT, || {
        (two.staging().faults().request_counts().watches_open <= 2).then_some(())
    });
    assert!(
        two.staging().faults().request_counts().watches_open >= 1,
        "its forward follows its pods"
    );
    assert!(staging_pods.contains(&pod_behind(staging_data)));

    // An unreachable cluster says so in its own header; the picker still takes us back, and
    // dev's forward never noticed.
    tmux.send(&["C"]);
    tmux.type_text("down");
    tmux.send(&["Enter"]);
    tmux.wait_for("the unreachable cluster", WAIT, |s| {
        s.contains("context down") && s.contains("reconnecting")
    });
    assert!(dev_pods.contains(&pod_behind(dev_data)));
    tmux.send(&["C"]);
    tmux.type_text("dev");
    tmux.send(&["Enter"]);
    tmux.wait_for("dev again", WAIT, |s| {
        s.contains("dev (context gram29)") && s.contains(" synced ")
    });

    // p: every forward with its cluster; x stops staging's from here.
    tmux.send(&["p"]);
    let view = tmux.wait_for("the forwards view", WAIT, |s| {
        s.contains("forwards: 2 on 2 clusters")
    });
    let line = |cluster: &str| {
        view.lines()
            .find(|l| l.contains(&format!("│{cluster} ")))
            .map(str::to_string)
    };
    let dev_line = line("dev").unwrap_or_else(|| panic!("{view}"));
    assert!(
        dev_line.contains("data.hasura") && dev_line.contains(&dev_data.to_string()),
        "{view}"
    );
    let staging_line = line("staging").unwrap_or_else(|| panic!("{view}"));
    assert!(staging_line.contains(&staging_data.to_string()), "{view}");
    tmux.send(&["j", "x"]);
    tmux.wait_for("staging's forward gone", WAIT, |s| {
        s.contains("forwards: 1 on 1 clusters")
    });
    common::eventually_blocking("staging's port closed", WAIT, || {
        std::net::TcpStream::connect_timeout(&staging_data, Duration::from_millis(200))
            .is_err()
            .then_some(())
    });
    tmux.escape();
    tmux.wait_for("the footer", WAIT, |s| {
        s.contains("1 forward ") && !s.contains(" on staging")
    });

    tmux.send(&["q"]);
    assert_eq!(tmux.wait_exit(WAIT), 0);
    for addr in [dev_data, staging_data] {
        assert!(
            std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err(),
            "quit closes {addr}"
        );
    }
}

#[test]
fn forwards_saved_on_one_default_context_are_not_restored_on_another() {
    let two = Two::start();
    // Two files that both call their context `default`, for two different servers.
    let rename = |demo: &DemoCluster, from: &str, file: &str| {
        let path = two.dir.path().join(file);
        std::fs::write(&path, demo.kubeconfig_yaml().replace(from, "default")).unwrap();
        path
    };
    let one = rename(two.dev(), "gram29", "one.yaml");
    let other = rename(two.staging(), "stg41", "other.yaml");
    let config = two.dir.path().join("config");
    let dashboard = |kubeconfig: &Path| {
        let tmux = Tmux::start(
            &format!(
                "env XDG_CONFIG_HOME={} {BIN} --kubeconfig {}",
                config.display(),
                kubeconfig.display()
            ),
            150,
            40,
        );
        tmux.wait_for("the dashboard", WAIT, |s| {
            s.contains("context default") && s.contains(" synced ")
        });
        tmux
    };
    let tmux = dashboard(&one);
    // A port of its own (the F dialog), so the test next door's 8080 is never in the way.
    let asked = common::free_port();
    tmux.send(&["Tab", "j", "F"]);
    tmux.wait_for("the forward dialog", WAIT, |s| {
        s.contains("forward data.hasura")
    });
    tmux.type_text(&asked.to_string());
    tmux.send(&["Enter"]);
    let screen = tmux.wait_for("data forwarded", WAIT, |s| {
        forward_address(s, "data").is_some()
    });
    let port = forward_address(&screen, "data").unwrap();
    assert_eq!(port.port(), asked);
    tmux.send(&["q"]);
    assert_eq!(tmux.wait_exit(WAIT), 0);

    let saved = std::fs::read_to_string(config.join("hasura-tui/forwards.json")).unwrap();
    assert!(
        saved.contains(&format!("\"local_port\": {asked}")),
        "{saved}"
    );
    let tmux = dashboard(&other);
    tmux.assert_never(
        "a forward restored from the other server",
        Duration::from_secs(2),
        |s| forward_address(s, "data").is_some() || !s.contains("0 forwards"),
    );
    tmux.send(&["q"]);
    assert_eq!(tmux.wait_exit(WAIT), 0);

    let tmux = dashboard(&one);
    tmux.wait_for("its own forward restored", WAIT, |s| {
        forward_address(s, "data") == Some(port)
    });
    tmux.send(&["q"]);
    assert_eq!(tmux.wait_exit(WAIT), 0);
}

#[test]
fn the_dashboard_on_an_alias_whose_context_is_gone_says_so_and_offers_the_picker() {
    let two = Two::start();
    let tmux = Tmux::start(
        &format!(
            "cd {} && env KUBECONFIG={} {BIN} -c old",
            two.project.display(),
            two.kubeconfig,
        ),
        150,
        40,
    );
    let screen = tmux.wait_for("the picker on the current context", WAIT, |s| {
        s.contains("clusters (type to filter") && s.contains("* dev → context gram29")
    });
    assert!(
        screen.contains("cluster alias old: context \"removed\" is not in"),
        "{screen}"
    );
    tmux.type_text("stag");
    tmux.send(&["Enter"]);
    tmux.wait_for("staging", WAIT, |s| {
        s.contains("staging (context stg41)") && s.contains(" synced ")
    });
    tmux.send(&["q"]);
    assert_eq!(tmux.wait_exit(WAIT), 0);
}

#[test]
fn the_demo_keeps_its_forwards_from_run_to_run_although_its_servers_are_new() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    let demo = || {
        let tmux = Tmux::start(
            &format!("env XDG_CONFIG_HOME={} {BIN} --demo", config.display()),
            150,
            40,
        );
        tmux.wait_for("the demo's dev", WAIT, |s| {
            s.contains("dev (context gram29)") && s.contains(" synced ")
        });
        tmux
    };
    let tmux = demo();
    let asked = common::free_port();
    tmux.send(&["Tab", "j", "F"]);
    tmux.wait_for("the forward dialog", WAIT, |s| {
        s.contains("forward data.hasura")
    });
    tmux.type_text(&asked.to_string());
    tmux.send(&["Enter"]);
    tmux.wait_for("data forwarded", WAIT, |s| {
        forward_address(s, "data").is_some_and(|a| a.port() == asked)
    });
    tmux.send(&["q"]);
    assert_eq!(tmux.wait_exit(WAIT), 0);
    let saved = std::fs::read_to_string(config.join("hasura-tui/forwards.json")).unwrap();
    assert!(saved.contains("\"gram29@demo\""), "{saved}");

    let tmux = demo();
    tmux.wait_for("data restored on its port", WAIT, |s| {
        forward_address(s, "data").is_some_and(|a| a.port() == asked)
    });
    tmux.send(&["q"]);
    assert_eq!(tmux.wait_exit(WAIT), 0);
}
