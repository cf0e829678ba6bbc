//! The dashboard: on a connected cluster (or the demo cluster, started here), start the feed and
//! run the terminal UI.

use std::time::Instant;

use tokio_util::sync::CancellationToken;

use crate::app::{Action, App, Connection};
use crate::auth::SignIn;
use crate::cli::GlobalArgs;
use crate::cluster::{FeedConfig, read_project, spawn_feed};
use crate::config::{self, ClusterTarget};
use crate::demo::{DemoCluster, DemoOptions};
use crate::forward::persist::ForwardStore;
use crate::forward::{ForwardManager, GatewayIdentity};
use crate::jobs::Jobs;
use crate::tui;

/// `--demo`: the demo cluster in-process, and the dashboard on it.
pub async fn run_demo(
    global: &GlobalArgs,
    log_path: Option<std::path::PathBuf>,
    restore: bool,
) -> anyhow::Result<()> {
    let demo = DemoCluster::start(DemoOptions::default()).await?;
    let target = config::connect_yaml(
        &demo.kubeconfig_yaml(),
        "the demo cluster's kubeconfig",
        None,
    )
    .await?;
    let result = run(target, global, log_path, restore).await;
    demo.shutdown().await;
    result
}

pub async fn run(
    target: ClusterTarget,
    global: &GlobalArgs,
    log_path: Option<std::path::PathBuf>,
    restore: bool,
) -> anyhow::Result<()> {
    let stop = CancellationToken::new();
    let (tables_shown, shown) = tokio::sync::watch::channel(true);
    let snapshots = spawn_feed(
        target.client.clone(),
        FeedConfig {
            tables_shown: Some(shown),
            ..feed_config(&target, global)
        },
        stop.clone(),
    );
    let namespaces = target.namespaces(global);
    let connection = Connection {
        context: target.context.clone(),
        server: target.server.clone(),
        user_namespace: (namespaces.user_source != "default")
            .then(|| format!("{} ({})", namespaces.user, namespaces.user_source)),
    };
    let snapshot = snapshots.borrow().clone();
    let mut app = App::new(connection, snapshot, (80, 24), Instant::now());
    app.read_only = global.read_only;
    if let Some(credentials) = &target.credentials {
        // Nothing fetched yet: the first requests will run the plugin; say so from frame one.
        let now = credentials.sign_in().borrow().clone();
        app.update(Action::SignIn(match (now, credentials.plugin()) {
            (SignIn::NotYet, Some(plugin)) => {
                SignIn::SigningIn(format!("exec: {}", plugin.command()))
            }
            (now, _) => now,
        }));
    }
    let mut forwards = ForwardManager::new(target.client.clone());
    let store = restore_forwards(&target.context, restore, &mut forwards, &mut app).await;
    let mut jobs = Jobs::new(target.client.clone(), store)
        .with_actor(&target.context, global.read_only)
        .with_tables_shown(tables_shown);
    let inputs = tui::Inputs {
        snapshots,
        credentials: target.credentials.clone(),
    };
    let result = tui::run(app, inputs, &mut forwards, &mut jobs, log_path).await;
    stop.cancel();
    result.map_err(|e| anyhow::anyhow!("terminal: {e}"))
}

/// Starts the forwards saved for this context (unless `--no-restore`), each on the port it had;
/// returns the store that keeps saving them. Problems show in the footer, never stop the start.
async fn restore_forwards(
    context: &str,
    restore: bool,
    forwards: &mut ForwardManager,
    app: &mut App,
) -> Option<ForwardStore> {
    let mut store = match ForwardStore::for_context(context) {
        Ok(store) => store,
        Err(e) => {
            app.update(Action::Notify(format!("forwards will not be saved: {e}")));
            return None;
        }
    };
    if !restore {
        return Some(store);
    }
    match store.load() {
        Ok(specs) => {
            tracing::info!(count = specs.len(), context, "restoring forwards");
            for spec in specs {
                // A saved identity is checked as a typed one is: never shown as `as admin`
                // while its requests go out without it.
                if let Some(Err(e)) = spec.gateway.as_ref().map(GatewayIdentity::checked) {
                    tracing::warn!(forward = %spec.label(), "saved gateway identity refused: {e}");
                    app.update(Action::Warn(format!(
                        "forward {} not restored: saved gateway identity refused: {e}",
                        spec.label()
                    )));
                    continue;
                }
                forwards.start(spec);
            }
        }
        Err(e) => {
            app.update(Action::Notify(format!("forwards not restored: {e}")));
        }
    }
    Some(store)
}

pub fn feed_config(target: &ClusterTarget, global: &GlobalArgs) -> FeedConfig {
    FeedConfig {
        namespaces: target.namespaces(global),
        cluster_name: global.cluster_name.clone(),
        kube_cluster_name: target.kube_cluster_name.clone(),
        project: global.project.as_deref().map(read_project),
        pending: target.pending.clone(),
        // The tables' CPU and MEM, when the cluster serves the metrics API.
        metrics: true,
        tables_shown: None,
    }
}
