//! `hasura-tui demo-cluster`: runs the embedded demo cluster alone until Ctrl-C or SIGTERM.

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
    println!("demo cluster gram29 listening on {}", cluster.url());
    match &args.write_kubeconfig {
        Some(path) => println!(
            "kubeconfig written to {}; try: kubectl --kubeconfig {} get pods -n hasura",
            path.display(),
            path.display()
        ),
        None => println!("(pass --write-kubeconfig PATH to use it with kubectl)"),
    }
    wait_for_shutdown_signal().await;
    cluster.shutdown().await;
    Ok(())
}

/// Ctrl-C or SIGTERM (and SIGHUP on unix).
pub async fn wait_for_shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut hup)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        ) else {
            let _ = tokio::signal::ctrl_c().await;
            return;
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
            _ = hup.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
