//! The dashboard: connect (or start the demo cluster), start the feed, run the terminal UI.

use std::time::Instant;

use tokio_util::sync::CancellationToken;

use crate::app::{App, Connection};
use crate::cli::GlobalArgs;
use crate::cluster::{FeedConfig, read_project, spawn_feed};
use crate::config::{ClusterTarget, Namespaces};
use crate::forward::ForwardManager;
use crate::tui;

pub async fn run(
    target: ClusterTarget,
    global: &GlobalArgs,
    log_path: Option<std::path::PathBuf>,
) -> anyhow::Result<()> {
    let stop = CancellationToken::new();
    let snapshots = spawn_feed(
        target.client.clone(),
        feed_config(&target, global),
        stop.clone(),
    );
    let connection = Connection {
        context: target.context.clone(),
        server: target.server.clone(),
    };
    let snapshot = snapshots.borrow().clone();
    let app = App::new(connection, snapshot, (80, 24), Instant::now());
    tui::install_panic_message(log_path);
    let mut forwards = ForwardManager::new(target.client.clone());
    let result = tui::run(app, snapshots, &mut forwards).await;
    stop.cancel();
    result.map_err(|e| anyhow::anyhow!("terminal: {e}"))
}

pub fn feed_config(target: &ClusterTarget, global: &GlobalArgs) -> FeedConfig {
    FeedConfig {
        namespaces: Namespaces::from_args(global),
        cluster_name: global.cluster_name.clone(),
        kube_cluster_name: target.kube_cluster_name.clone(),
        project: global.project.as_deref().map(read_project),
    }
}
