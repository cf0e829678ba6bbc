//! `hasura-tui port-forward NAME`: the dashboard's forward engine, headless, until Ctrl-C or
//! SIGTERM. Prints `Forwarding from 127.0.0.1:6432 -> 5432 (postgres.hasura)`.

use anyhow::bail;

use super::UsageError;
use crate::cli::{GlobalArgs, PortForwardArgs};
use crate::config::ClusterTarget;
use crate::forward::{ForwardManager, ForwardSpec, ForwardState, GatewayIdentity};

pub async fn run(
    target: ClusterTarget,
    global: &GlobalArgs,
    args: &PortForwardArgs,
) -> anyhow::Result<()> {
    let gateway = match &args.as_role {
        Some(role) => {
            let mut identity =
                GatewayIdentity::parse(role, args.user_id.as_deref().unwrap_or_default())
                    .map_err(UsageError)?;
            identity.keep_client_headers = args.keep_client_headers;
            Some(identity)
        }
        None => None,
    };
    let (namespace, name) = super::microservice::resolve(&target, global, &args.target).await?;
    let mut spec = ForwardSpec::new(&namespace, name);
    spec.address = args.address;
    spec.local_port = args.port.map(|(l, _)| l).or(args.local_port);
    spec.remote_port = args.port.map(|(_, r)| r).or(args.remote_port);
    spec.pod = args.pod.clone();
    spec.gateway = gateway;
    let mut manager = ForwardManager::new(target.client.clone());
    let key = spec.key();
    manager.start(spec.clone());
    let status = manager.wait_started(&key).await;
    let Some(status) = status else {
        bail!("the forward to {} stopped unexpectedly", spec.label())
    };
    if let ForwardState::Error(e) = &status.state {
        manager.stop_all().await;
        if status.http == Some(false) && spec.gateway.is_some() {
            // The flag does not fit this microservice: a usage error, like a bad port.
            return Err(UsageError(format!("--as-role: {e}")).into());
        }
        bail!("cannot forward {}: {e}", spec.label());
    }
    let local = status.local.map(|a| a.to_string()).unwrap_or_default();
    let remote = status
        .remote_port
        .map(|p| p.to_string())
        .unwrap_or_else(|| "?".into());
    let identity = spec
        .gateway
        .as_ref()
        .map(|id| format!(" as {} (user id {})", id.label(), id.user_id))
        .unwrap_or_default();
    println!(
        "Forwarding from {local} -> {remote} ({}){identity}",
        spec.label()
    );
    if status.exposed {
        eprintln!(
            "warning: listening on {local}, which is reachable from other machines, not just this one"
        );
        if spec.gateway.is_some() {
            eprintln!(
                "warning: gateway headers are added only to requests from this machine; other machines' requests go out without them"
            );
        }
    }
    if status.state == ForwardState::NoReadyPods {
        eprintln!(
            "note: {} has no ready pods yet; connections wait for one",
            spec.label()
        );
    }
    crate::signals::shutdown().await;
    manager.stop_all().await;
    Ok(())
}
