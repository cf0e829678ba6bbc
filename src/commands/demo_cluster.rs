//! `hasura-tui demo-cluster`: runs the embedded demo cluster alone until Ctrl-C or SIGTERM.

use std::io::Write;

use anyhow::Context;

use crate::cli::{DemoAuth, DemoClusterArgs};
use crate::demo::{DemoCluster, DemoExecPlugin, DemoOptions, KubeconfigAuth};

pub async fn run(args: DemoClusterArgs) -> anyhow::Result<()> {
    let options = DemoOptions {
        name: args.name.clone(),
        listen: args.listen,
        scale: args.scale,
        churn: args.churn,
        shapes: !args.seed_only,
        serve_endpoints: !args.no_endpoints,
        serve_metrics: !args.no_metrics,
        ..DemoOptions::default()
    };
    let cluster = DemoCluster::start(options)
        .await
        .context("starting the demo cluster")?;
    if let Some(path) = &args.write_kubeconfig {
        cluster.write_kubeconfig_with(path, &kubeconfig_auth(&args)?)?;
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

/// How the written kubeconfig signs in, from `--auth`, `--user` and the plugin's settings.
fn kubeconfig_auth(args: &DemoClusterArgs) -> anyhow::Result<KubeconfigAuth> {
    let plugin = |interactive| -> anyhow::Result<KubeconfigAuth> {
        Ok(KubeconfigAuth::Exec(DemoExecPlugin {
            command: std::env::current_exe().context("finding this program for the exec plugin")?,
            user: args.user.clone(),
            ttl: std::time::Duration::from_secs(args.token_ttl),
            delay: std::time::Duration::from_millis(args.plugin_delay_ms),
            interactive,
            runs_file: None,
        }))
    };
    Ok(match args.auth {
        DemoAuth::Token if args.user == "admin" => KubeconfigAuth::Token,
        DemoAuth::Token => KubeconfigAuth::UserToken {
            user: args.user.clone(),
        },
        DemoAuth::Cert => KubeconfigAuth::Cert {
            user: args.user.clone(),
            groups: Vec::new(),
        },
        DemoAuth::Exec => plugin(false)?,
        DemoAuth::ExecInteractive => plugin(true)?,
        DemoAuth::Oidc => KubeconfigAuth::Oidc {
            user: args.user.clone(),
        },
    })
}
