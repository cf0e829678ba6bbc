//! `hasura-tui open NAME [-p PATH]`: opens the microservice's external URL (from the same model
//! as `list` and the dashboard) in the browser, like `hasura microservice open`.

use anyhow::bail;

use super::UsageError;
use crate::app::verbs::no_external_url;
use crate::cli::{GlobalArgs, OpenArgs};
use crate::config::ClusterTarget;
use crate::opener;

pub async fn run(
    target: ClusterTarget,
    global: &GlobalArgs,
    args: &OpenArgs,
) -> anyhow::Result<()> {
    let namespace = target.namespaces(global).resolve(&args.target.namespace);
    let snapshot =
        super::list::settled_snapshot(&target, global, target.namespaces(global), false).await?;
    let Some(section) = (snapshot.sections.iter()).find(|s| s.namespace == namespace) else {
        return Err(UsageError(format!(
            "namespace {namespace:?} is neither the user namespace ({}) nor the Hasura namespace ({}); use -n user or -n hasura",
            snapshot.sections.custom.namespace, snapshot.sections.hasura.namespace
        ))
        .into());
    };
    if let crate::cluster::WatchState::Forbidden(m) | crate::cluster::WatchState::Error(m) =
        &section.state
    {
        bail!("cannot read microservices in {namespace}: {m}");
    }
    let Some(m) = section.rows.iter().find(|m| m.name == args.target.name) else {
        let names: Vec<&str> = section.rows.iter().map(|m| m.name.as_str()).collect();
        if names.is_empty() {
            bail!(
                "microservice {:?} not found: namespace {namespace} has no microservices",
                args.target.name
            );
        }
        bail!(
            "microservice {:?} not found in namespace {namespace}; it has: {}",
            args.target.name,
            names.join(", ")
        );
    };
    let Some(url) = &m.external_url else {
        bail!("{}", no_external_url(m));
    };
    let url = opener::with_path(url, args.path.as_deref());
    opener::open(&url)?;
    println!("Opening {url}");
    Ok(())
}
