//! `--demo`: the dashboard on two embedded demo clusters, started here (with the `demo`
//! feature, on by default).

use kube::config::Kubeconfig;

use super::dashboard::{Start, run_with};
use crate::cli::GlobalArgs;
use crate::config::Loaded;
use crate::config::contexts::Contexts;
use crate::config::project::{self, Project};
use crate::demo::{DemoCluster, DemoOptions};

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
