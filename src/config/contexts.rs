//! The clusters a dashboard can move between: every context of the merged kubeconfig, with the
//! Hasura project's aliases for them (`dev → context ambitious93, cluster h34-ambitious93-stg`)
//! listed first, as k9s's `:ctx` lists contexts and the Hasura CLI names clusters.

use super::project::{self, Project};
use super::{ClusterTarget, Loaded, connect_kubeconfig};
use crate::cli::GlobalArgs;

/// One entry of the context picker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContextChoice {
    pub context: String,
    /// The project's alias for it, when it has one.
    pub alias: Option<String>,
    /// The project's name for the cluster (route templates' `cluster.name`).
    pub cluster_name: Option<String>,
    pub server: String,
    pub user: String,
    /// Named by an alias, but the kubeconfig has no such context.
    pub missing: bool,
}

impl ContextChoice {
    /// What typing filters on: alias, context, cluster name and server.
    pub fn matches(&self, filter: &str) -> bool {
        let filter = filter.to_lowercase();
        [
            self.alias.as_deref(),
            Some(self.context.as_str()),
            self.cluster_name.as_deref(),
            Some(self.server.as_str()),
        ]
        .into_iter()
        .flatten()
        .any(|s| s.to_lowercase().contains(&filter))
    }
}

/// The merged kubeconfig, the project, and the flags the dashboard started with.
#[derive(Clone)]
pub struct Contexts {
    loaded: Loaded,
    project: Option<Project>,
    /// The command line's flags: each cluster's settings start from them.
    global: GlobalArgs,
}

impl Contexts {
    pub fn new(loaded: Loaded, project: Option<Project>, global: GlobalArgs) -> Self {
        Contexts {
            loaded,
            project,
            global,
        }
    }

    /// The kubeconfig as kubectl loads it and the project the flags (or the folder) name.
    pub fn load(global: &GlobalArgs) -> Result<Self, String> {
        let loaded =
            super::kubeconfig::load(global.kubeconfig.as_deref()).map_err(|e| e.to_string())?;
        // A broken clusters.yaml leaves the picker with contexts only; `-c` reports it.
        let project = project::for_run(global).ok().flatten();
        Ok(Contexts::new(loaded, project, global.clone()))
    }

    pub fn project(&self) -> Option<&Project> {
        self.project.as_ref()
    }

    /// The project's alias for `context`.
    pub fn alias_of(&self, context: &str) -> Option<String> {
        self.project
            .as_ref()
            .and_then(|p| p.alias_of(context))
            .map(|c| c.alias.clone())
    }

    /// Aliases first, in the project's order; then the other contexts by name.
    pub fn choices(&self) -> Vec<ContextChoice> {
        let choice = |context: &str| {
            let named = self
                .loaded
                .kubeconfig
                .contexts
                .iter()
                .find(|c| c.name == context);
            let inner = named.and_then(|c| c.context.as_ref());
            let server = inner
                .and_then(|c| {
                    self.loaded
                        .kubeconfig
                        .clusters
                        .iter()
                        .find(|k| k.name == c.cluster)
                })
                .and_then(|k| k.cluster.as_ref())
                .and_then(|k| k.server.clone())
                .unwrap_or_default();
            ContextChoice {
                context: context.to_string(),
                alias: None,
                cluster_name: None,
                server,
                user: inner.and_then(|c| c.user.clone()).unwrap_or_default(),
                missing: named.is_none(),
            }
        };
        let mut choices: Vec<ContextChoice> = self
            .project
            .iter()
            .flat_map(|p| &p.clusters)
            .map(|cluster| ContextChoice {
                alias: Some(cluster.alias.clone()),
                cluster_name: Some(cluster.name.clone()),
                ..choice(&cluster.kube_context)
            })
            .collect();
        let mut others: Vec<&str> = self
            .loaded
            .kubeconfig
            .contexts
            .iter()
            .map(|c| c.name.as_str())
            .filter(|name| !choices.iter().any(|c| c.context == *name))
            .collect();
        others.sort_unstable();
        choices.extend(others.into_iter().map(choice));
        choices
    }

    /// A client for `context`, and the flags with its alias's settings filled in.
    pub async fn connect(&self, context: &str) -> Result<(ClusterTarget, GlobalArgs), String> {
        let mut global = self.global.clone();
        global.context = Some(context.to_string());
        global.cluster = None;
        if let Some(project) = &self.project
            && let Some(cluster) = project.alias_of(context)
        {
            project::fill(&mut global, project, cluster);
        }
        let target = connect_kubeconfig(&self.loaded, Some(context))
            .await
            .map_err(|e| e.to_string())?;
        Ok((target, global))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KUBECONFIG: &str = "apiVersion: v1
kind: Config
clusters:
  - {name: c1, cluster: {server: 'https://10.0.0.1:6443'}}
  - {name: c2, cluster: {server: 'https://10.0.0.2:6443'}}
users: [{name: u1, user: {token: abc}}]
contexts:
  - {name: zeta, context: {cluster: c1, user: u1}}
  - {name: ambitious93, context: {cluster: c1, user: u1}}
  - {name: staging41, context: {cluster: c2, user: u1}}
current-context: zeta
";

    fn contexts() -> Contexts {
        let project = Project {
            dir: "/p".into(),
            clusters: project::parse(
                "- {name: h34-ambitious93-stg, alias: dev, kubeContext: ambitious93}\n\
                 - {name: h34-staging41, alias: staging, kubeContext: staging41, metadata: {namespaces: {user: apps}}}\n\
                 - {name: gone, alias: old, kubeContext: removed}\n",
            )
            .unwrap(),
        };
        Contexts::new(
            Loaded::in_memory(
                kube::config::Kubeconfig::from_yaml(KUBECONFIG).unwrap(),
                "k.yaml",
            ),
            Some(project),
            GlobalArgs::default(),
        )
    }

    #[test]
    fn aliases_come_first_then_the_other_contexts() {
        let choices = contexts().choices();
        let names: Vec<(Option<&str>, &str)> = choices
            .iter()
            .map(|c| (c.alias.as_deref(), c.context.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                (Some("dev"), "ambitious93"),
                (Some("staging"), "staging41"),
                (Some("old"), "removed"),
                (None, "zeta")
            ]
        );
        assert_eq!(choices[1].server, "https://10.0.0.2:6443");
        assert_eq!(choices[1].user, "u1");
        assert!(
            choices[2].missing,
            "an alias whose context the kubeconfig lacks"
        );
        assert!(choices[0].matches("DEV") && choices[0].matches("h34-amb"));
        assert!(!choices[3].matches("dev"));
    }

    #[tokio::test]
    async fn connecting_takes_the_aliases_settings_unless_a_flag_gave_them() {
        let (target, global) = contexts().connect("staging41").await.unwrap();
        assert_eq!(target.context, "staging41");
        assert_eq!(target.server, "https://10.0.0.2:6443");
        assert_eq!(global.user_namespace.as_deref(), Some("apps"));
        assert_eq!(global.cluster_name.as_deref(), Some("h34-staging41"));
        let (_, plain) = contexts().connect("zeta").await.unwrap();
        assert_eq!(plain.user_namespace, None);
        let Err(missing) = contexts().connect("removed").await else {
            panic!("an alias whose context is not in the kubeconfig connects nowhere");
        };
        assert!(
            missing.contains("\"removed\" is not in k.yaml"),
            "{missing}"
        );
    }
}
