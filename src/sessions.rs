//! The clusters the dashboard has been on. The one on screen has everything: its feed (the
//! watches), its forwards, its jobs (logs, detail, shells). A cluster left behind keeps only its
//! forwards, still running and saved; its watches are stopped, so a cluster nobody looks at
//! costs no request, and coming back starts them again from a fresh list.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::app::{Action, Connection};
use crate::auth::{Credentials, SignIn};
use crate::cli::GlobalArgs;
use crate::cluster::{FeedConfig, Snapshot, read_project, spawn_feed};
use crate::config::contexts::Contexts;
use crate::config::{ClusterTarget, project};
use crate::forward::persist::{ForwardStore, running_specs};
use crate::forward::saver::ForwardSaver;
use crate::forward::{ForwardManager, GatewayIdentity};
use crate::jobs::Jobs;

/// What the feed is told for a cluster: its namespaces, names and project files.
pub fn feed_config(target: &ClusterTarget, global: &GlobalArgs) -> FeedConfig {
    FeedConfig {
        namespaces: target.namespaces(global),
        cluster_name: global.cluster_name.clone(),
        cluster_data: global.cluster_data.clone(),
        kube_cluster_name: target.kube_cluster_name.clone(),
        // A folder with only a clusters.yaml names clusters; its routes come from the cluster.
        project: global
            .project
            .as_deref()
            .filter(|d| !d.join(project::FILE).is_file() || d.join("conf").is_dir())
            .map(read_project),
        pending: target.pending.clone(),
        // The tables' CPU and MEM, when the cluster serves the metrics API.
        metrics: true,
        tables_shown: None,
    }
}

/// A cluster on screen, as `open` starts it.
pub struct Opened {
    pub context: String,
    /// The alias, else the context: how the footer and the forwards view name it.
    pub label: String,
    pub forwards: ForwardManager,
    pub jobs: Jobs,
    pub snapshots: watch::Receiver<Arc<Snapshot>>,
    pub credentials: Option<Arc<Credentials>>,
    pub connection: Connection,
    /// What the screen should say first: a sign-in under way, forwards not restored.
    pub notices: Vec<Action>,
    feed_stop: CancellationToken,
}

/// A cluster left behind: its forwards and what saves them.
pub struct Away {
    pub label: String,
    pub forwards: ForwardManager,
    saver: Option<ForwardSaver>,
}

/// How the dashboard was started, for opening other clusters the same way.
pub struct Options {
    pub read_only: bool,
    pub restore: bool,
    /// The embedded demo clusters: new servers (random ports) every run, so their forwards are
    /// saved under the context and `demo`, not under a server that will never be seen again.
    pub demo: bool,
}

/// Starts the watches of `target` and takes its forwards: those left running when it was left
/// (`away`), else the saved ones.
pub async fn open(
    target: ClusterTarget,
    global: &GlobalArgs,
    alias: Option<String>,
    options: &Options,
    away: Option<Away>,
) -> Opened {
    let stop = CancellationToken::new();
    let (tables_shown, shown) = watch::channel(true);
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
        alias: alias.clone(),
        server: target.server.clone(),
        user_namespace: (namespaces.user_source != "default")
            .then(|| format!("{} ({})", namespaces.user, namespaces.user_source)),
    };
    let mut notices = Vec::new();
    if let Some(credentials) = &target.credentials {
        // Nothing fetched yet: the first requests will run the plugin; say so from frame one.
        let now = credentials.sign_in().borrow().clone();
        notices.push(Action::SignIn(match (now, credentials.plugin()) {
            (SignIn::NotYet, Some(plugin)) => {
                SignIn::SigningIn(format!("exec: {}", plugin.command()))
            }
            (now, _) => now,
        }));
    }
    let (forwards, saver) = match away {
        Some(away) => (away.forwards, away.saver),
        None => {
            let mut forwards = ForwardManager::new(target.client.clone());
            let server = if options.demo {
                "demo"
            } else {
                target.server.as_str()
            };
            let store = restore_forwards(
                &target,
                server,
                options.restore,
                &mut forwards,
                &mut notices,
            );
            (forwards, store.map(ForwardSaver::start))
        }
    };
    let jobs = Jobs::new(target.client.clone(), saver)
        .with_actor(&target.context, options.read_only)
        .with_tables_shown(tables_shown);
    Opened {
        context: target.context.clone(),
        label: alias.unwrap_or_else(|| target.context.clone()),
        forwards,
        jobs,
        snapshots,
        credentials: target.credentials.clone(),
        connection,
        notices,
        feed_stop: stop,
    }
}

impl Opened {
    /// Leaves this cluster: its watches and jobs stop, its forwards are saved and go on.
    pub fn leave(self) -> Away {
        self.feed_stop.cancel();
        let mut jobs = self.jobs;
        jobs.save_forwards(&self.forwards);
        Away {
            label: self.label,
            forwards: self.forwards,
            saver: jobs.take_saver(),
        }
    }

    /// Stops the watches (the dashboard is quitting).
    pub fn stop_feed(&self) {
        self.feed_stop.cancel();
    }
}

/// The clusters left behind, by context, and how to open another.
pub struct Sessions {
    pub away: BTreeMap<String, Away>,
    /// The kubeconfig's contexts and the project; `None` when the dashboard cannot switch.
    pub contexts: Option<Contexts>,
    pub options: Options,
}

impl Sessions {
    /// The forwards of the clusters left behind, as they are now.
    pub fn away_forwards(&mut self) -> Vec<crate::app::forwards_view::AwayForward> {
        // Forwards stopped from the `p` view are let go once their ports are closed.
        self.away.values_mut().for_each(|a| {
            a.forwards.reap();
        });
        self.away
            .iter()
            .flat_map(|(context, away)| {
                away.forwards.views().map(move |(key, view)| {
                    crate::app::forwards_view::AwayForward {
                        context: context.clone(),
                        label: away.label.clone(),
                        key: key.clone(),
                        view,
                    }
                })
            })
            .collect()
    }

    /// Stops a forward of a cluster left behind, and saves that cluster's set.
    pub fn stop_away(&mut self, context: &str, key: &crate::forward::ForwardKey) {
        if let Some(away) = self.away.get_mut(context) {
            away.forwards.stop(key);
            if let Some(saver) = &mut away.saver {
                // A failure is logged by the saver (its notices went to the dashboard left).
                saver.offer(running_specs(&away.forwards));
            }
        }
    }

    /// Stops every forward of every cluster left behind.
    pub async fn stop_all(&mut self) {
        for away in self.away.values_mut() {
            away.forwards.stop_all().await;
        }
    }
}

/// Starts the forwards saved for this cluster (unless `--no-restore`), each on the port it had;
/// returns the store that keeps saving them. Problems become notices, never stop the start.
fn restore_forwards(
    target: &ClusterTarget,
    server: &str,
    restore: bool,
    forwards: &mut ForwardManager,
    notices: &mut Vec<Action>,
) -> Option<ForwardStore> {
    let context = target.context.as_str();
    let mut store = match ForwardStore::for_cluster(context, server) {
        Ok(store) => store,
        Err(e) => {
            notices.push(Action::Notify(format!("forwards will not be saved: {e}")));
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
                    notices.push(Action::Warn(format!(
                        "forward {} not restored: saved gateway identity refused: {e}",
                        spec.label()
                    )));
                    continue;
                }
                forwards.start(spec);
            }
        }
        Err(e) => notices.push(Action::Notify(format!("forwards not restored: {e}"))),
    }
    Some(store)
}
