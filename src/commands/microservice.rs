//! Which microservice a command (`port-forward`, `logs`) acts on: `-n` resolved to a namespace,
//! checked to exist, and NAME checked to be a microservice there, so a typo gets a clear usage
//! error or the list of names that do exist, before anything starts.

use anyhow::bail;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Namespace, Service};
use kube::api::ListParams;
use kube::{Api, ResourceExt};

use super::UsageError;
use crate::cli::{GlobalArgs, MicroserviceArg};
use crate::config::ClusterTarget;
use crate::model::objects::is_api_server_service;

/// The namespace and name of the microservice `arg` names, once both are known to exist.
pub async fn resolve<'a>(
    target: &ClusterTarget,
    global: &GlobalArgs,
    arg: &'a MicroserviceArg,
) -> anyhow::Result<(String, &'a str)> {
    let namespace = target.namespaces(global).resolve(&arg.namespace);
    // `hasura` and `user` name the configured namespaces; anything else must exist.
    if !matches!(arg.namespace.as_str(), "hasura" | "user") {
        check_namespace(&target.client, &namespace).await?;
    }
    check_microservice(&target.client, &namespace, &arg.name).await?;
    Ok((namespace, &arg.name))
}

async fn check_namespace(client: &kube::Client, namespace: &str) -> anyhow::Result<()> {
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
async fn check_microservice(
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
    // A workload without a Service is a microservice too (docs/status.md).
    let deployment = Api::<Deployment>::namespaced(client.clone(), namespace)
        .get_opt(name)
        .await;
    let statefulset = Api::<StatefulSet>::namespaced(client.clone(), namespace)
        .get_opt(name)
        .await;
    if matches!(deployment, Ok(Some(_))) || matches!(statefulset, Ok(Some(_))) {
        return Ok(());
    }
    let mut names: Vec<String> = services
        .list(&ListParams::default())
        .await
        .map(|l| {
            l.iter()
                .filter(|s| !is_api_server_service(&s.metadata))
                .map(|s| s.name_any())
                .collect()
        })
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
