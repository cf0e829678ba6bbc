//! `R` restart and `S` scale in the dashboard, in a real terminal under tmux against the demo
//! cluster: the prompt in the footer, `n` changing nothing, `y` starting a rolling restart the
//! row follows (the new pod's state, then `Running` on pods of the new template), a count scaling the
//! workload, the change in the audit log; and `--read-only` refusing both in one line.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::tmux::Tmux;
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

    tmux.send(&["R"]);
    tmux.wait_for("the restart question", WAIT, |s| {
        s.contains("restart data?")
    });
    tmux.send(&["y"]);
    // The rollout shows in the row: product.md 5.2 ranks a new pod's Pending or
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

    tmux.send(&["S"]);
    tmux.wait_for("the count question", WAIT, |s| {
        s.contains("scale data to (now 1): ")
    });
    tmux.type_text("0");
    tmux.send(&["Enter"]);
    tmux.wait_for("data at 0/0", WAIT, |s| {
        row(s, "data").is_some_and(|r| r.contains("0/0"))
    });
    let log = std::fs::read_to_string(tmux.home().join("state/hasura-tui/hasura-tui.log")).unwrap();
    let audit: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("hasura_tui::audit"))
        .collect();
    assert_eq!(audit.len(), 2, "{log}");
    assert!(audit[0].contains("restarted") && audit[0].contains("deployment.apps/data"));
    assert!(audit[1].contains("scaled to 0") && audit[1].contains("user=\"admin\""));
    tmux.send(&["q"]);
    assert_eq!(tmux.wait_exit(WAIT), 0);
}

#[test]
fn read_only_refuses_r_and_s_in_one_line() {
    let setup = Setup::new();
    let tmux = setup.dashboard("--read-only");
    let generation = setup.generation("data");
    for (key, word) in [("R", "restart"), ("S", "scale")] {
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
    tmux.send(&["q"]);
    assert_eq!(tmux.wait_exit(WAIT), 0);
}
