//! `hasura-tui port-forward NAME`: the dashboard's forward engine, headless, until Ctrl-C or
//! SIGTERM. Prints `Forwarding from 127.0.0.1:6432 -> 5432 (postgres.hasura)`.

use anyhow::bail;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Namespace, Service};
use kube::api::ListParams;
use kube::{Api, ResourceExt};

use super::UsageError;
use super::demo_cluster::wait_for_shutdown_signal;
use crate::cli::{GlobalArgs, PortForwardArgs};
use crate::config::{ClusterTarget, Namespaces};
use crate::forward::{ForwardManager, ForwardSpec, ForwardState, GatewayIdentity};

pub async fn run(
    target: ClusterTarget,
    global: &GlobalArgs,
    args: &PortForwardArgs,
) -> anyhow::Result<()> {
    let gateway = match &args.as_role {
        Some(role) => Some(
            GatewayIdentity::parse(role, args.user_id.as_deref().unwrap_or_default())
                .map_err(UsageError)?,
        ),
        None => None,
    };
    let namespaces = Namespaces::from_args(global);
    let namespace = namespaces.resolve(&args.namespace);
    if !matches!(args.namespace.as_str(), "hasura" | "user") {
        check_namespace(&target.client, &namespace).await?;
    }
    check_microservice(&target.client, &namespace, &args.name).await?;

    let mut spec = ForwardSpec::new(&namespace, &args.name);
    spec.address = args.address;
    spec.local_port = args.port.map(|(l, _)| l).or(args.local_port);
    spec.remote_port = args.port.map(|(_, r)| r).or(args.remote_port);
    spec.pod = args.pod.clone();
    spec.gateway = gateway;
    let mut manager = ForwardManager::new(target.client.clone());
    let key = spec.key();
    manager.start(spec.clone()).await;
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
        .map(|id| format!(" as {} (user id {})", id.role, id.user_id))
        .unwrap_or_default();
    println!(
        "Forwarding from {local} -> {remote} ({}){identity}",
        spec.label()
    );
    if status.exposed {
        eprintln!(
            "warning: listening on {local}, which is reachable from other machines, not just this one"
        );
    }
    if status.state == ForwardState::NoReadyPods {
        eprintln!(
            "note: {} has no ready pods yet; connections wait for one",
            spec.label()
        );
    }
    wait_for_shutdown_signal().await;
    manager.stop_all().await;
    Ok(())
}

pub(super) async fn check_namespace(client: &kube::Client, namespace: &str) -> anyhow::Result<()> {
    match Api::<Namespace>::all(client.clone())
        .get_opt(namespace)
        .await
    {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(UsageError(format!(
            "namespace {namespace:?} does not exist; -n takes hasura, user or an existing namespace"
        ))
        .into()),
        // Not allowed to read namespaces: let the forward itself say what is wrong.
        Err(_) => Ok(()),
    }
}

/// Exits 1 with the names that do exist when NAME is not a microservice here.
pub(super) async fn check_microservice(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> anyhow::Result<()> {
    let services: Api<Service> = Api::namespaced(client.clone(), namespace);
    match services.get_opt(name).await {
        Ok(Some(_)) => return Ok(()),
        Ok(None) => {}
        Err(kube::Error::Api(status)) => bail!(
            "cannot read microservice {name} in {namespace}: {}",
            status.message
        ),
        Err(e) => bail!("cluster unreachable: {e}"),
    }
    let mut names: Vec<String> = services
        .list(&ListParams::default())
        .await
        .map(|l| l.iter().map(|s| s.name_any()).collect())
        .unwrap_or_default();
    for workload in Api::<Deployment>::namespaced(client.clone(), namespace)
        .list(&ListParams::default())
        .await
        .map(|l| l.items)
        .unwrap_or_default()
    {
        names.push(workload.name_any());
    }
    for workload in Api::<StatefulSet>::namespaced(client.clone(), namespace)
        .list(&ListParams::default())
        .await
        .map(|l| l.items)
        .unwrap_or_default()
    {
        names.push(workload.name_any());
    }
    names.sort();
    names.dedup();
    if names.is_empty() {
        bail!("microservice {name:?} not found: namespace {namespace} has no microservices");
    }
    bail!(
        "microservice {name:?} not found in namespace {namespace}; it has: {}",
        names.join(", ")
    )
}
