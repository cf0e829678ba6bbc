//! The dashboard: on a connected cluster (or the demo clusters, started here), open it
//! (`sessions`) and run the terminal UI, which can move to the kubeconfig's other contexts.

use std::collections::BTreeMap;
use std::time::Instant;

use kube::config::Kubeconfig;

use crate::app::{Action, App};
use crate::cli::GlobalArgs;
use crate::config::contexts::Contexts;
use crate::config::project::{self, Project};
use crate::config::{ClusterTarget, Loaded};
use crate::demo::{DemoCluster, DemoOptions};
use crate::sessions::{self, Options, Sessions};
use crate::tui;

/// The demo's Hasura project (`assets/demo-project/clusters.yaml`): `dev` and `staging`.
const DEMO_PROJECT: &str = include_str!("../../assets/demo-project/clusters.yaml");
/// The second demo cluster's name: staging, with the seed only (no Services of other shapes).
pub const DEMO_STAGING: &str = "stg41";

/// `--demo`: two demo clusters in-process (the project's `dev` and `staging`, one kubeconfig
/// with a context each), and the dashboard on `dev`.
pub async fn run_demo(
    global: &GlobalArgs,
    log_path: Option<std::path::PathBuf>,
    restore: bool,
) -> anyhow::Result<()> {
    let (dev, staging) = tokio::join!(
        DemoCluster::start(DemoOptions::default()),
        DemoCluster::start(DemoOptions {
            name: DEMO_STAGING.to_string(),
            shapes: false,
            ..DemoOptions::default()
        })
    );
    let (dev, staging) = (dev?, staging?);
    let result = async {
        let read = |yaml: String| Kubeconfig::from_yaml(&yaml);
        let kubeconfig = read(dev.kubeconfig_yaml())?.merge(read(staging.kubeconfig_yaml())?)?;
        let project = Project {
            dir: "assets/demo-project".into(),
            clusters: project::parse(DEMO_PROJECT).map_err(anyhow::Error::msg)?,
        };
        let contexts = Contexts::new(
            Loaded::in_memory(kubeconfig, "the demo clusters' kubeconfig"),
            Some(project),
            global.clone(),
        );
        let (target, cluster_global) = contexts
            .connect(crate::demo::kubeconfig::CONTEXT)
            .await
            .map_err(anyhow::Error::msg)?;
        let start = Start {
            restore,
            note: None,
            demo: true,
        };
        run_with(target, &cluster_global, Some(contexts), log_path, start).await
    }
    .await;
    tokio::join!(dev.shutdown(), staging.shutdown());
    result
}

/// How the dashboard starts.
pub struct Start {
    /// Start the forwards saved for this cluster.
    pub restore: bool,
    /// Something to say first, with the context picker open (`-c ALIAS` whose context the
    /// kubeconfig lacks: the dashboard opened on the current context instead).
    pub note: Option<String>,
    /// On the embedded demo clusters (`--demo`).
    pub demo: bool,
}

/// The dashboard on `target`; `flags` are the command line's own (each cluster switched to
/// starts from them, not from this cluster's alias).
pub async fn run(
    target: ClusterTarget,
    global: &GlobalArgs,
    flags: &GlobalArgs,
    log_path: Option<std::path::PathBuf>,
    start: Start,
) -> anyhow::Result<()> {
    // Without a kubeconfig to read again (one given as text), the dashboard stays on its cluster.
    let contexts = Contexts::load(flags).ok();
    run_with(target, global, contexts, log_path, start).await
}

async fn run_with(
    target: ClusterTarget,
    global: &GlobalArgs,
    contexts: Option<Contexts>,
    log_path: Option<std::path::PathBuf>,
    start: Start,
) -> anyhow::Result<()> {
    let options = Options {
        read_only: global.read_only,
        restore: start.restore,
        demo: start.demo,
    };
    let alias = contexts.as_ref().and_then(|c| c.alias_of(&target.context));
    let mut opened = sessions::open(target, global, alias, &options, None).await;
    let snapshot = opened.snapshots.borrow().clone();
    let mut app = App::new(
        opened.connection.clone(),
        snapshot,
        (80, 24),
        Instant::now(),
    );
    app.read_only = global.read_only;
    app.contexts = contexts.as_ref().map(Contexts::choices).unwrap_or_default();
    for notice in std::mem::take(&mut opened.notices) {
        app.update(notice);
    }
    if let Some(note) = start.note {
        app.update(Action::Warn(note));
        app.update(Action::OpenContextPicker);
    }
    let sessions = Sessions {
        away: BTreeMap::new(),
        contexts,
        options,
    };
    tui::run(app, opened, sessions, log_path)
        .await
        .map_err(|e| anyhow::anyhow!("terminal: {e}"))
}
