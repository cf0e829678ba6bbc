//! The dashboard: on a connected cluster (or the demo clusters, started here), open it
//! (`sessions`) and run the terminal UI, which can move to the kubeconfig's other contexts.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::app::{Action, App};
use crate::cli::GlobalArgs;
use crate::config::ClusterTarget;
use crate::config::contexts::Contexts;
use crate::sessions::{self, Options, Sessions};
use crate::tui;

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

pub(super) async fn run_with(
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
