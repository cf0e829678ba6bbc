//! Where the cluster is: kubeconfig, context and namespace resolution, with errors that name the
//! file or context and suggest `--demo`, before any screen opens.

use std::path::PathBuf;

use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::cli::GlobalArgs;
use crate::cluster::{Namespaces, PendingRequests};

/// The two namespaces the dashboard shows, from the flags.
pub fn namespaces(args: &GlobalArgs) -> Namespaces {
    Namespaces {
        hasura: args.hasura_namespace.clone(),
        user: args.user_namespace.clone(),
    }
}

/// A connected cluster: the client and what the header shows about it.
#[derive(Clone)]
pub struct ClusterTarget {
    pub client: kube::Client,
    pub context: String,
    pub server: String,
    /// The kubeconfig cluster's name: the last fallback for `{{ cluster.name }}`.
    pub kube_cluster_name: String,
    /// The client's requests still waiting for an answer (a stalled server shows here).
    pub pending: PendingRequests,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "no kubeconfig at {path} ({reason}); point --kubeconfig or $KUBECONFIG at one, or try --demo"
    )]
    Missing { path: String, reason: String },
    #[error("kubeconfig {path} is not valid: {reason}; try --demo to run without a cluster")]
    Invalid { path: String, reason: String },
    #[error("context {context:?} is not in {path} (it has: {known}); try --context or --demo")]
    UnknownContext {
        context: String,
        path: String,
        known: String,
    },
    #[error("kubeconfig {path} has no current-context; pass --context NAME or try --demo")]
    NoContext { path: String },
    #[error(
        "kubeconfig {path}, context {context:?}: {reason}; try --demo to run without a cluster"
    )]
    Unusable {
        path: String,
        context: String,
        reason: String,
    },
}

/// The kubeconfig path: `--kubeconfig`, else the first of `$KUBECONFIG`, else `~/.kube/config`.
pub fn kubeconfig_path(args: &GlobalArgs) -> PathBuf {
    if let Some(path) = &args.kubeconfig {
        return path.clone();
    }
    if let Some(env) = std::env::var_os("KUBECONFIG")
        && let Some(first) = std::env::split_paths(&env).find(|p| !p.as_os_str().is_empty())
    {
        return first;
    }
    dirs::home_dir()
        .unwrap_or_default()
        .join(".kube")
        .join("config")
}

/// Reads and checks the kubeconfig and builds a client for the chosen context. Nothing is sent
/// to the cluster yet: an unreachable server is the dashboard's to report, not a start-up error.
pub async fn connect(args: &GlobalArgs) -> Result<ClusterTarget, ConfigError> {
    let path = kubeconfig_path(args);
    let shown = path.display().to_string();
    let text = std::fs::read(&path).map_err(|e| ConfigError::Missing {
        path: shown.clone(),
        reason: e.kind().to_string(),
    })?;
    let text = String::from_utf8(text).map_err(|_| ConfigError::Invalid {
        path: shown.clone(),
        reason: "not UTF-8 text".to_string(),
    })?;
    connect_yaml(&text, &shown, args.context.as_deref()).await
}

/// As `connect`, from kubeconfig text (the demo cluster's is never written to disk).
pub async fn connect_yaml(
    yaml: &str,
    path: &str,
    context: Option<&str>,
) -> Result<ClusterTarget, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid {
        path: path.to_string(),
        reason,
    };
    let kubeconfig =
        Kubeconfig::from_yaml(yaml).map_err(|e| invalid(first_line(&e.to_string())))?;
    let context_name = match context {
        Some(name) => name.to_string(),
        None => kubeconfig
            .current_context
            .clone()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| ConfigError::NoContext {
                path: path.to_string(),
            })?,
    };
    let Some(named) = kubeconfig.contexts.iter().find(|c| c.name == context_name) else {
        let known: Vec<&str> = kubeconfig
            .contexts
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        return Err(ConfigError::UnknownContext {
            context: context_name,
            path: path.to_string(),
            known: if known.is_empty() {
                "no contexts".to_string()
            } else {
                known.join(", ")
            },
        });
    };
    let unusable = |reason: String| ConfigError::Unusable {
        path: path.to_string(),
        context: context_name.clone(),
        reason,
    };
    let ctx = named
        .context
        .clone()
        .ok_or_else(|| unusable("the context is empty".to_string()))?;
    if let Some(user) = &ctx.user
        && !kubeconfig.auth_infos.iter().any(|a| &a.name == user)
    {
        return Err(unusable(format!("its user {user:?} is not defined")));
    }
    if !kubeconfig.clusters.iter().any(|c| c.name == ctx.cluster) {
        return Err(unusable(format!(
            "its cluster {:?} is not defined",
            ctx.cluster
        )));
    }
    let options = KubeConfigOptions {
        context: Some(context_name.clone()),
        ..KubeConfigOptions::default()
    };
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|e| unusable(first_line(&e.to_string())))?;
    let server = config
        .cluster_url
        .to_string()
        .trim_end_matches('/')
        .to_string();
    let pending = PendingRequests::default();
    let client = kube::client::ClientBuilder::try_from(config)
        .map_err(|e| unusable(first_line(&e.to_string())))?
        .with_layer(&pending.layer())
        .build();
    Ok(ClusterTarget {
        client,
        context: context_name,
        server,
        kube_cluster_name: ctx.cluster,
        pending,
    })
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "apiVersion: v1
kind: Config
clusters: [{name: c1, cluster: {server: 'https://127.0.0.1:1'}}]
users: [{name: u1, user: {token: abc}}]
contexts:
  - {name: ctx1, context: {cluster: c1, user: u1}}
  - {name: ctx2, context: {cluster: c1, user: ghost}}
current-context: ctx1
";

    #[tokio::test]
    async fn a_good_kubeconfig_connects_to_its_current_context() {
        let target = connect_yaml(GOOD, "k.yaml", None).await.unwrap();
        assert_eq!(target.context, "ctx1");
        assert_eq!(target.server, "https://127.0.0.1:1");
        assert_eq!(target.kube_cluster_name, "c1");
    }

    #[tokio::test]
    async fn bad_input_names_what_failed() {
        let err = |r: Result<ClusterTarget, ConfigError>| r.err().expect("an error").to_string();
        let unknown = err(connect_yaml(GOOD, "k.yaml", Some("nope")).await);
        assert!(
            unknown.contains("\"nope\"")
                && unknown.contains("ctx1, ctx2")
                && unknown.contains("--demo"),
            "{unknown}"
        );
        let ghost = err(connect_yaml(GOOD, "k.yaml", Some("ctx2")).await);
        assert!(ghost.contains("\"ghost\" is not defined"), "{ghost}");
        let bad = err(connect_yaml("{{{ not yaml", "k.yaml", None).await);
        assert!(bad.contains("k.yaml is not valid"), "{bad}");
        assert_eq!(bad.lines().count(), 1);
    }
}
