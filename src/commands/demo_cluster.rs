//! `hasura-tui demo-cluster`: runs the embedded demo cluster alone until Ctrl-C or SIGTERM.

use std::io::Write;

use anyhow::Context;

use crate::cli::DemoClusterArgs;
use crate::demo::{DemoCluster, DemoOptions};

pub async fn run(args: DemoClusterArgs) -> anyhow::Result<()> {
    let options = DemoOptions {
        listen: args.listen,
        scale: args.scale,
        churn: args.churn,
        ..DemoOptions::default()
    };
    let cluster = DemoCluster::start(options)
        .await
        .context("starting the demo cluster")?;
    if let Some(path) = &args.write_kubeconfig {
        cluster.write_kubeconfig(path)?;
    }
    // Whoever started us may have closed stdout after reading the address; that is no reason
    // to stop serving, so write errors are ignored.
    let mut out = std::io::stdout();
    let _ = writeln!(out, "demo cluster gram29 listening on {}", cluster.url());
    let _ = match &args.write_kubeconfig {
        Some(path) => writeln!(
            out,
            "kubeconfig written to {}; try: kubectl --kubeconfig {} get pods -n hasura",
            path.display(),
            path.display()
        ),
        None => writeln!(out, "(pass --write-kubeconfig PATH to use it with kubectl)"),
    };
    let _ = out.flush();
    crate::signals::shutdown().await;
    cluster.shutdown().await;
    Ok(())
}
