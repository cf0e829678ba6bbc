//! `hasura-tui restart NAME` and `hasura-tui scale NAME --replicas N`: the Hasura CLI's
//! `microservice restart` / `scale`, through the same checks as the dashboard (`change`), and
//! printing what kubectl prints (`deployment.apps/data restarted`).

use anyhow::bail;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use kube::Api;

use crate::access::AccessCache;
use crate::change::{self, Actor, Change, Workload};
use crate::cli::{GlobalArgs, MicroserviceArg};
use crate::config::ClusterTarget;
use crate::model::objects::WorkloadKind;

pub async fn run(
    target: ClusterTarget,
    global: &GlobalArgs,
    arg: &MicroserviceArg,
    change: Change,
) -> anyhow::Result<()> {
    let (namespace, name) = super::microservice::resolve(&target, global, arg).await?;
    let workload = workload_of(&target.client, &namespace, name).await?;
    let actor = Actor {
        context: &target.context,
        read_only: global.read_only,
    };
    let done = change::apply(
        &target.client,
        &AccessCache::default(),
        &actor,
        &workload,
        change,
    )
    .await?;
    println!("{done}");
    Ok(())
}

/// The Deployment or StatefulSet of the microservice (a row is named after its workload).
async fn workload_of(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> anyhow::Result<Workload> {
    let workload = |kind| Workload {
        kind,
        namespace: namespace.to_string(),
        name: name.to_string(),
    };
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    if deployments.get_opt(name).await?.is_some() {
        return Ok(workload(WorkloadKind::Deployment));
    }
    let statefulsets: Api<StatefulSet> = Api::namespaced(client.clone(), namespace);
    if statefulsets.get_opt(name).await?.is_some() {
        return Ok(workload(WorkloadKind::StatefulSet));
    }
    bail!("{name} has no Deployment or StatefulSet to change (a Service without a workload)")
}
