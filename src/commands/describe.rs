//! `hasura-tui describe NAME [-n ..] [-o text|json]`: the dashboard's detail view printed once,
//! for scripts and chat, with the routes the tables show.

use k8s_openapi::jiff::Timestamp;

use crate::cli::{DescribeArgs, DescribeFormat, GlobalArgs};
use crate::config::ClusterTarget;
use crate::detail::{self, Urls};
use crate::terminal_text::escape;

pub async fn run(
    target: ClusterTarget,
    global: &GlobalArgs,
    args: &DescribeArgs,
) -> anyhow::Result<()> {
    let (namespace, name) = super::microservice::resolve(&target, global, &args.target).await?;
    let mut detail = detail::fetch::fetch(&target.client, &namespace, name).await?;
    detail.urls = urls(&target, global, &namespace, name).await;
    match args.output {
        DescribeFormat::Json => println!("{}", serde_json::to_string_pretty(&detail)?),
        DescribeFormat::Text => {
            for line in detail::text::lines(&detail, Timestamp::now()) {
                println!("{}", escape(&line.text));
            }
        }
    }
    Ok(())
}

/// The microservice's URLs as `list` finds them, and every route to it (gateway routes,
/// Ingress rules, annotation); none when the tables cannot be read.
async fn urls(target: &ClusterTarget, global: &GlobalArgs, namespace: &str, name: &str) -> Urls {
    let mut namespaces = target.namespaces(global);
    if namespace != namespaces.hasura {
        namespaces.user = namespace.to_string();
    }
    let Ok(snapshot) = super::list::settled_snapshot(target, global, namespaces, false).await
    else {
        return Urls::default();
    };
    (snapshot.sections.iter())
        .flat_map(|s| s.rows.iter())
        .find(|m| m.namespace == namespace && m.name == name)
        .map(|m| detail::routes::urls(m, &snapshot.route_sources))
        .unwrap_or_default()
}
