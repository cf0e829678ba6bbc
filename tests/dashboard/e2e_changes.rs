//! `s` shell, `R` restart and `S` scale in the dashboard, in a real terminal under tmux against
//! the demo cluster: the shell on the real terminal (its hostname, env and `stty size` following
//! a resize) with a forward carrying traffic meanwhile, and the dashboard back as it was after
//! `exit`; the pod picker when several pods run; the restart prompt, `n` changing nothing, `y`
//! starting a rolling restart the row follows while a forward keeps serving a connection every
//! 50 ms, a count scaling the workload, each in the audit log; and `--read-only` and a user
//! without the right refused in one line.
use crate::common;

use std::collections::BTreeSet;
use std::time::Duration;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::tmux::{Tmux, forward_address};
use hasura_tui::demo::{DemoCluster, DemoOptions};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::ListParams;

const BIN: &str = env!("CARGO_BIN_EXE_hasura-tui");
const WAIT: Duration = Duration::from_secs(30);

struct Setup {
    runtime: tokio::runtime::Runtime,
    demo: Option<DemoCluster>,
    kubeconfig: std::path::PathBuf,
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let (demo, kubeconfig, dir) = runtime.block_on(common::demo_with_kubeconfig(DemoOptions {
            // New pods take a while, so the row's `Updating` lasts long enough to be seen.
            pod_start_delay: Duration::from_millis(1500),
            shapes: false,
            ..common::quick_demo()
        }));
        Setup {
            runtime,
            demo: Some(demo),
            kubeconfig,
            dir,
        }
    }

    fn dashboard(&self, flags: &str) -> Tmux {
        self.dashboard_with(&self.kubeconfig, flags)
    }

    fn dashboard_with(&self, kubeconfig: &std::path::Path, flags: &str) -> Tmux {
        let tmux = Tmux::start(
            &format!("{BIN} --kubeconfig {} {flags}", kubeconfig.display()),
            150,
            30,
        );
        tmux.wait_for("the dashboard", WAIT, |s| {
            s.contains("my-app") && s.contains(" synced ")
        });
        // The Hasura table, second row: data.
        tmux.send(&["Tab", "j"]);
        tmux
    }

    fn client(&self) -> kube::Client {
        self.runtime
            .block_on(common::client_for(self.demo.as_ref().unwrap()))
    }

    fn generation(&self, name: &str) -> Option<i64> {
        let api: Api<Deployment> = Api::namespaced(self.client(), "hasura");
        self.runtime
            .block_on(api.get(name))
            .unwrap()
            .metadata
            .generation
    }

    /// The names of data's live pods.
    fn data_pods(&self) -> BTreeSet<String> {
        let api: Api<Pod> = Api::namespaced(self.client(), "hasura");
        self.runtime
            .block_on(api.list(&ListParams::default().labels("app=data")))
            .unwrap()
            .items
            .into_iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .filter_map(|p| p.metadata.name)
            .collect()
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        if let Some(demo) = self.demo.take() {
            self.runtime.block_on(demo.shutdown());
        }
    }
}

/// The table line of microservice `name`.
fn row<'a>(screen: &'a str, name: &str) -> Option<&'a str> {
    screen
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
}

#[test]
fn r_restarts_with_a_rolling_replacement_and_s_scales() {
    let setup = Setup::new();
    let tmux = setup.dashboard("");
    let generation = setup.generation("data");
    let before = setup.data_pods();

    tmux.send(&["R"]);
    tmux.wait_for("the restart question", WAIT, |s| {
        s.contains("restart data? (rolling, pods replaced one by one) y/N")
    });
    tmux.send(&["n"]);
    tmux.wait_for("the question gone", WAIT, |s| !s.contains("restart data?"));
    assert_eq!(setup.generation("data"), generation, "n changes nothing");

    // A forward on data, and a new connection through it every 50 ms for the whole rollout.
    tmux.send(&["f"]);
    let screen = tmux.wait_for("data forwarded", WAIT, |s| {
        forward_address(s, "data").is_some()
    });
    let address = forward_address(&screen, "data").unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let prober = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let (mut served, mut failures) = (0u32, Vec::new());
            while !stop.load(Ordering::Relaxed) {
                match common::http_get(address, "/") {
                    Ok(r) if r.starts_with("HTTP/1.1 200") => served += 1,
                    Ok(r) => failures.push(r.lines().next().unwrap_or_default().to_string()),
                    Err(e) => failures.push(e.to_string()),
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            (served, failures)
        })
    };

    tmux.send(&["R"]);
    tmux.wait_for("the restart question", WAIT, |s| {
        s.contains("restart data?")
    });
    tmux.send(&["y"]);
    // The rollout shows in the row: docs/status.md ranks a new pod's Pending or
    // Waiting(ContainerCreating) above Updating, so whichever holds is what it says.
    tmux.wait_for("the row under rollout", WAIT, |s| {
        row(s, "data").is_some_and(|r| {
            ["Pending", "Waiting(", "Updating"]
                .iter()
                .any(|w| r.contains(w))
        })
    });
    tmux.wait_for("the row running again", WAIT, |s| {
        row(s, "data").is_some_and(|r| r.contains("Running") && r.contains("1/1"))
    });
    let after = setup.data_pods();
    assert_eq!(after.len(), 1, "{after:?}");
    assert!(after.is_disjoint(&before), "{before:?} -> {after:?}");
    stop.store(true, Ordering::Relaxed);
    let (served, failures) = prober.join().unwrap();
    let log = || std::fs::read_to_string(tmux.home().join("state/hasura-tui/hasura-tui.log"));
    assert!(
        failures.is_empty(),
        "connections failed during the rollout: {failures:?}\n{}",
        log().unwrap_or_default()
    );
    assert!(
        served >= 10,
        "only {served} connections were made during the rollout"
    );
    // The forward still serves, now from the new pod.
    tmux.send(&["f"]);
    tmux.wait_for("data's forward stopped", WAIT, |s| {
        forward_address(s, "data").is_none()
    });

    tmux.send(&["S"]);
    tmux.wait_for("the count question", WAIT, |s| {
        s.contains("scale data to (now 1): ")
    });
    tmux.type_text("0");
    tmux.send(&["Enter"]);
    tmux.wait_for("data at 0/0", WAIT, |s| {
        row(s, "data").is_some_and(|r| r.contains("0/0"))
    });
    tmux.send(&["S"]);
    tmux.wait_for("the count question", WAIT, |s| {
        s.contains("scale data to (now 0): ")
    });
    tmux.type_text("1");
    tmux.send(&["Enter"]);
    tmux.wait_for("data back at 1/1", WAIT, |s| {
        row(s, "data").is_some_and(|r| r.contains("Running") && r.contains("1/1"))
    });
    let log = std::fs::read_to_string(tmux.home().join("state/hasura-tui/hasura-tui.log")).unwrap();
    let audit: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("hasura_tui::audit"))
        .collect();
    assert_eq!(audit.len(), 3, "{log}");
    assert!(audit[0].contains("restarted") && audit[0].contains("deployment.apps/data"));
    assert!(audit[1].contains("scaled to 0") && audit[1].contains("user=\"admin\""));
    assert!(audit[2].contains("scaled to 1"));
    tmux.send(&["q"]);
    assert_eq!(tmux.wait_exit(WAIT), 0);
}

#[test]
fn read_only_refuses_s_r_and_s_in_one_line() {
    let setup = Setup::new();
    let tmux = setup.dashboard("--read-only");
    let generation = setup.generation("data");
    for (key, word) in [("s", "shell"), ("R", "restart"), ("S", "scale")] {
        tmux.send(&[key]);
        let screen = tmux.wait_for("the refusal", WAIT, |s| {
            s.contains(&format!("read-only mode: {word} is off"))
        });
        assert!(!screen.contains("y/N"), "{screen}");
    }
    assert_eq!(setup.generation("data"), generation);
    tmux.send(&["q"]);
    assert_eq!(tmux.wait_exit(WAIT), 0);
}

/// The developer Role may read `hasura` but not change it: `R` and `y` end in the one line the
/// access review gives, before any PATCH (the generation does not move).
#[test]
fn a_user_without_the_right_is_told_at_the_key() {
    let setup = Setup::new();
    let developer = setup.dir.path().join("developer.yaml");
    let auth = hasura_tui::demo::KubeconfigAuth::UserToken {
        user: "developer".into(),
    };
    setup
        .demo
        .as_ref()
        .unwrap()
        .write_kubeconfig_with(&developer, &auth)
        .unwrap();
    let tmux = setup.dashboard_with(&developer, "");
    let generation = setup.generation("data");
    tmux.send(&["R"]);
    tmux.wait_for("the restart question", WAIT, |s| {
        s.contains("restart data?")
    });
    tmux.send(&["y"]);
    tmux.wait_for("the refusal", WAIT, |s| {
        s.contains("not allowed: you may not patch deployments in namespace hasura")
    });
    assert_eq!(setup.generation("data"), generation);
    tmux.send(&["s"]);
    tmux.wait_for("the shell refusal", WAIT, |s| {
        s.contains("not allowed: you may not create pods/exec in namespace hasura")
    });
    tmux.send(&["q"]);
    assert_eq!(tmux.wait_exit(WAIT), 0);
}

#[test]
fn s_opens_a_shell_on_the_real_terminal_and_exit_comes_back_with_forwards_intact() {
    let setup = Setup::new();
    let tmux = setup.dashboard("");
    let pod = setup.data_pods().into_iter().next().unwrap();
    tmux.send(&["f"]);
    let screen = tmux.wait_for("data forwarded", WAIT, |s| {
        forward_address(s, "data").is_some()
    });
    let address = forward_address(&screen, "data").unwrap();

    tmux.send(&["s"]);
    // busybox has no /bin/bash: the fallback to /bin/sh is said, then its prompt.
    tmux.wait_for("the shell's prompt", WAIT, |s| {
        s.contains(&format!("hasura-tui: /bin/sh in {pod} (container data")) && s.contains("/ #")
    });
    tmux.type_text("hostname");
    tmux.send(&["Enter"]);
    tmux.type_text("echo $HOSTNAME-$LOG_LEVEL");
    tmux.send(&["Enter"]);
    tmux.wait_for("hostname and $HOSTNAME", WAIT, |s| {
        s.lines().any(|l| l == pod) && s.contains(&format!("{pod}-info"))
    });
    tmux.type_text("stty size");
    tmux.send(&["Enter"]);
    tmux.wait_for("the size", WAIT, |s| s.lines().any(|l| l == "30 150"));
    tmux.resize(120, 40);
    tmux.type_text("stty size");
    tmux.send(&["Enter"]);
    tmux.wait_for("the new size", WAIT, |s| s.lines().any(|l| l == "40 120"));

    // The forward serves while the shell has the terminal.
    let response = common::http_get(address, "/").unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");

    tmux.type_text("exit 7");
    tmux.send(&["Enter"]);
    let screen = tmux.wait_for("the dashboard back", WAIT, |s| {
        s.contains(&format!("/bin/sh in {pod} ended (exit 7)"))
    });
    assert_eq!(forward_address(&screen, "data"), Some(address), "{screen}");
    // The selection is where it was: `y` copies data's URL.
    tmux.send(&["y"]);
    tmux.wait_for("data still selected", WAIT, |s| {
        s.contains("copied data.hasura")
    });
    let response = common::http_get(address, "/").unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    // Keys are the dashboard's again (none stolen by the ended session): `?` opens help.
    tmux.send(&["?"]);
    tmux.wait_for("help", WAIT, |s| s.contains("keys (Esc closes)"));
    tmux.send(&["Escape"]);

    // Two pods: the picker asks which.
    let api: Api<Deployment> = Api::namespaced(setup.client(), "hasura");
    let patch = kube::api::Patch::Merge(serde_json::json!({"spec": {"replicas": 2}}));
    setup
        .runtime
        .block_on(api.patch_scale("data", &kube::api::PatchParams::default(), &patch))
        .unwrap();
    tmux.wait_for("data at 2/2", WAIT, |s| {
        row(s, "data").is_some_and(|r| r.contains("2/2"))
    });
    let pods: Vec<String> = setup.data_pods().into_iter().collect();
    tmux.send(&["s"]);
    tmux.wait_for("the pod picker", WAIT, |s| {
        s.contains("shell in which pod of data?") && pods.iter().all(|p| s.contains(p.as_str()))
    });
    tmux.send(&["j", "Enter"]);
    tmux.wait_for("the second pod's shell", WAIT, |s| {
        s.contains(&format!("/bin/sh in {}", pods[1])) && s.contains("/ #")
    });
    tmux.type_text("exit");
    tmux.send(&["Enter"]);
    tmux.wait_for("the dashboard back", WAIT, |s| {
        s.contains(&format!("/bin/sh in {} ended (exit 0)", pods[1]))
    });

    let log = std::fs::read_to_string(tmux.home().join("state/hasura-tui/hasura-tui.log")).unwrap();
    let audit: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("hasura_tui::audit") && l.contains("exec /bin/sh"))
        .collect();
    assert_eq!(audit.len(), 2, "{log}");
    assert!(
        audit[0].contains(&pod) && audit[0].contains("user=\"admin\""),
        "{}",
        audit[0]
    );
    tmux.send(&["q"]);
    assert_eq!(tmux.wait_exit(WAIT), 0);
}

/// The API server going away under an open shell ends the session with one line, and the
/// dashboard is back (before, the session waited for good: kube-rs drops its output streams
/// without closing them when the connection fails).
#[test]
fn a_shell_whose_cluster_goes_away_ends_with_one_line() {
    let mut setup = Setup::new();
    let tmux = setup.dashboard("");
    tmux.send(&["s"]);
    tmux.wait_for("the shell's prompt", WAIT, |s| {
        s.contains("hasura-tui: /bin/sh in data-") && s.contains("/ #")
    });
    let demo = setup.demo.take().unwrap();
    setup.runtime.block_on(demo.shutdown());
    tmux.wait_for("the dashboard back, saying why", WAIT, |s| {
        s.contains("the connection ended before the command's status came")
            && s.contains("Hasura microservices")
    });
    tmux.send(&["q"]);
    assert_eq!(tmux.wait_exit(WAIT), 0);
}
