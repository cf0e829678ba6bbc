//! Where the cluster is and who we are on it: the kubeconfig as kubectl loads it
//! (`kubeconfig`), the context, its namespace, the proxy (`proxy`), and the credential, with
//! errors that name the file or context and suggest `--demo`, before any screen opens. Nothing
//! is sent to the cluster here, and no sign-in plugin runs: the caller decides when (before the
//! screen for a plugin that needs the person, in the background for one that does not).

pub mod contexts;
mod http_stack;
pub mod kubeconfig;
pub mod project;
mod proxy;

use std::sync::Arc;

use kube::config::{KubeConfigOptions, Kubeconfig};
pub use kubeconfig::Loaded;

use crate::auth::{self, AuthLayer, Credentials, ExecPlugin};
use crate::cli::GlobalArgs;
use crate::cluster::{Namespaces, PendingRequests};
use kubeconfig::first_line;

/// Where the Hasura platform runs unless a flag or the project's alias says otherwise.
pub const DEFAULT_HASURA_NAMESPACE: &str = "hasura";

/// A connected cluster: the client and what the header shows about it.
#[derive(Clone)]
pub struct ClusterTarget {
    pub client: kube::Client,
    pub context: String,
    pub server: String,
    /// The kubeconfig cluster's name: the last fallback for `{{ cluster.name }}`.
    pub kube_cluster_name: String,
    /// The context's namespace, if it names one: the user namespace unless the flag says.
    pub context_namespace: Option<String>,
    /// The client's requests still waiting for an answer (a stalled server shows here).
    pub pending: PendingRequests,
    /// A credential that is fetched (exec plugin, token file), when the user has one.
    pub credentials: Option<Arc<Credentials>>,
}

impl ClusterTarget {
    /// The two namespaces to show: the Hasura one from its flag; the user's from its flag, else
    /// the context's namespace (as kubectl does), else `default`.
    pub fn namespaces(&self, args: &GlobalArgs) -> Namespaces {
        let (user, user_source) = match (&args.user_namespace, &self.context_namespace) {
            (Some(flag), _) => (flag.clone(), "--user-namespace"),
            (None, Some(context)) => (context.clone(), "the context's"),
            (None, None) => ("default".to_string(), "default"),
        };
        Namespaces {
            hasura: args
                .hasura_namespace
                .clone()
                .unwrap_or_else(|| DEFAULT_HASURA_NAMESPACE.to_string()),
            user,
            user_source,
        }
    }

    /// Fetches the credential now, if there is one to fetch (headless commands, and the
    /// dashboard before its screen opens when the plugin may need the person).
    pub async fn sign_in(&self) -> Result<(), auth::PluginError> {
        match &self.credentials {
            Some(credentials) => credentials.current().await.map(|_| ()),
            None => Ok(()),
        }
    }
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

/// Reads the kubeconfig as kubectl would and builds a client for the chosen context.
pub async fn connect(args: &GlobalArgs) -> Result<ClusterTarget, ConfigError> {
    let loaded = kubeconfig::load(args.kubeconfig.as_deref())?;
    connect_kubeconfig(&loaded, args.context.as_deref()).await
}

/// As `connect`, from kubeconfig text (the demo cluster's is never written to disk).
pub async fn connect_yaml(
    yaml: &str,
    path: &str,
    context: Option<&str>,
) -> Result<ClusterTarget, ConfigError> {
    let kubeconfig = Kubeconfig::from_yaml(yaml).map_err(|e| ConfigError::Invalid {
        path: path.to_string(),
        reason: first_line(&e.to_string()),
    })?;
    connect_kubeconfig(&Loaded::in_memory(kubeconfig, path), context).await
}

/// Builds the client for `context` (else the current one) of a merged kubeconfig.
pub async fn connect_kubeconfig(
    loaded: &Loaded,
    context: Option<&str>,
) -> Result<ClusterTarget, ConfigError> {
    let (kubeconfig, path) = (&loaded.kubeconfig, loaded.shown.as_str());
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
    if !kubeconfig.clusters.iter().any(|c| c.name == ctx.cluster) {
        return Err(unusable(format!(
            "its cluster {:?} is not defined",
            ctx.cluster
        )));
    }
    // A user the context names but no file defines is no error for kubectl either: requests go
    // without credentials, and the cluster says what it thinks of that.
    if let Some(user) = &ctx.user
        && !kubeconfig.auth_infos.iter().any(|a| &a.name == user)
    {
        tracing::warn!(context = %context_name, "user {user:?} is not defined in {path}");
    }
    let cluster_proxy = kubeconfig
        .clusters
        .iter()
        .find(|c| c.name == ctx.cluster)
        .and_then(|c| c.cluster.as_ref())
        .and_then(|c| c.proxy_url.clone());
    let options = KubeConfigOptions {
        context: Some(context_name.clone()),
        ..KubeConfigOptions::default()
    };
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig.clone(), &options)
        .await
        .map_err(|e| unusable(first_line(&e.to_string())))?;
    config.proxy_url = proxy::for_server(&config.cluster_url, cluster_proxy.as_deref(), |name| {
        std::env::var(name).ok()
    })
    .map_err(&unusable)?;
    let user_file = ctx
        .user
        .as_ref()
        .and_then(|user| loaded.user_files.get(user))
        .map(|file| auth::UserEntry {
            file: file.clone(),
            user: ctx.user.clone().unwrap_or_default(),
        });
    let credentials = take_credentials(&mut config, ctx.user.as_deref(), &context_name, user_file)
        .map(|source| Arc::new(Credentials::new(source, Arc::default())));
    let server = config
        .cluster_url
        .to_string()
        .trim_end_matches('/')
        .to_string();
    let pending = PendingRequests::default();
    let builder = http_stack::builder(config)
        .map_err(|e| unusable(first_line(&e.to_string())))?
        .with_layer(&pending.layer());
    let client = match &credentials {
        Some(credentials) => builder.with_layer(&AuthLayer(credentials.clone())).build(),
        None => builder.build(),
    };
    Ok(ClusterTarget {
        client,
        context: context_name,
        server,
        kube_cluster_name: ctx.cluster,
        context_namespace: ctx.namespace.filter(|n| !n.is_empty()),
        pending,
        credentials,
    })
}

/// Takes the credentials this program fetches itself out of the config, so kube-rs never runs
/// the plugin (it would, three times, while building the client), sends an untrimmed token
/// file, or refreshes an OIDC token without the kubeconfig's CA for the identity provider. As
/// client-go, a token or a client certificate means the exec plugin is not used.
fn take_credentials(
    config: &mut kube::Config,
    user: Option<&str>,
    context: &str,
    user_file: Option<auth::UserEntry>,
) -> Option<auth::Source> {
    let info = &mut config.auth_info;
    if info
        .auth_provider
        .as_ref()
        .is_some_and(|p| p.name == "oidc")
        && let Some(provider) = info.auth_provider.take()
    {
        return Some(auth::Source::Oidc(Arc::new(auth::OidcProvider::new(
            provider.config.into_iter().collect(),
            user_file,
            Arc::new(|url: &http::Uri| {
                proxy::for_server(url, None, |name| std::env::var(name).ok())
            }),
        ))));
    }
    let has_other = info.token.is_some()
        || info.username.is_some()
        || info.client_certificate.is_some()
        || info.client_certificate_data.is_some();
    if info.token.is_none()
        && let Some(path) = info.token_file.take()
    {
        return Some(auth::Source::TokenFile(path.into()));
    }
    let exec = info.exec.take()?;
    if has_other {
        return None;
    }
    Some(auth::Source::Exec(Box::new(ExecPlugin {
        user: user.unwrap_or_default().to_string(),
        context: context.to_string(),
        exec,
    })))
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
        // kubectl goes on without credentials when the user is not defined; so do we.
        assert!(connect_yaml(GOOD, "k.yaml", Some("ctx2")).await.is_ok());
        let bad = err(connect_yaml("{{{ not yaml", "k.yaml", None).await);
        assert!(bad.contains("k.yaml is not valid"), "{bad}");
        assert_eq!(bad.lines().count(), 1);
    }
}
