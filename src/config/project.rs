//! A Hasura project's clusters: `clusters.yaml` at the project's top lists each cluster the
//! project is deployed to, and the Hasura CLI names them by alias (`-c dev`). Each entry has the
//! cluster's `name` (what route templates call `cluster.name`), its `alias`, the kubeconfig
//! context it is reached by (`kubeContext`), where the platform's configuration lives
//! (`config.configmap` in `config.namespace`), the project's own `data`, and `metadata` such as
//! `namespaces.{hasura,user}`. Shape from the Hasura CLI's docs ("Reference for clusters.yaml",
//! and `conf/README.md` of its project template: `hasura cluster template-context`).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::cli::GlobalArgs;

pub const FILE: &str = "clusters.yaml";
/// A clusters.yaml is a few hundred bytes; anything far larger is not one.
const MAX_BYTES: u64 = 1024 * 1024;

/// One cluster of the project.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectCluster {
    pub name: String,
    pub alias: String,
    pub kube_context: String,
    #[serde(default)]
    pub config: Option<PlatformConfig>,
    #[serde(default)]
    pub metadata: Option<Metadata>,
    /// The project's own values, the templates' `cluster.data`.
    #[serde(default)]
    pub data: Option<serde_json::Value>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct PlatformConfig {
    #[serde(default)]
    pub configmap: Option<String>,
    #[serde(default)]
    pub namespace: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Metadata {
    #[serde(default)]
    pub namespaces: Option<ProjectNamespaces>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ProjectNamespaces {
    #[serde(default)]
    pub hasura: Option<String>,
    #[serde(default)]
    pub user: Option<String>,
}

impl ProjectCluster {
    /// The platform's namespace: `metadata.namespaces.hasura`, else `config.namespace`.
    pub fn hasura_namespace(&self) -> Option<&str> {
        self.metadata
            .as_ref()
            .and_then(|m| m.namespaces.as_ref())
            .and_then(|n| n.hasura.as_deref())
            .or_else(|| self.config.as_ref().and_then(|c| c.namespace.as_deref()))
    }

    pub fn user_namespace(&self) -> Option<&str> {
        self.metadata
            .as_ref()
            .and_then(|m| m.namespaces.as_ref())
            .and_then(|n| n.user.as_deref())
    }

    /// `dev → context ambitious93, cluster h34-ambitious93-stg`
    pub fn describe(&self) -> String {
        format!(
            "{} → context {}, cluster {}",
            self.alias, self.kube_context, self.name
        )
    }
}

/// A project folder and its clusters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Project {
    pub dir: PathBuf,
    pub clusters: Vec<ProjectCluster>,
}

impl Project {
    pub fn file(&self) -> PathBuf {
        self.dir.join(FILE)
    }

    /// The cluster of `alias`, or one line naming the aliases there are.
    pub fn cluster(&self, alias: &str) -> Result<&ProjectCluster, String> {
        self.clusters
            .iter()
            .find(|c| c.alias == alias)
            .ok_or_else(|| {
                let known: Vec<&str> = self.clusters.iter().map(|c| c.alias.as_str()).collect();
                format!(
                    "no cluster alias {alias:?} in {} (aliases: {})",
                    self.file().display(),
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                )
            })
    }

    /// The alias whose cluster is reached by `context`, if any.
    pub fn alias_of(&self, context: &str) -> Option<&ProjectCluster> {
        self.clusters.iter().find(|c| c.kube_context == context)
    }
}

/// The project for this run: `--project DIR` when it has a clusters.yaml, else the nearest folder
/// up from the current one that has. `Ok(None)` when there is none.
pub fn for_run(global: &GlobalArgs) -> Result<Option<Project>, String> {
    let dir = match &global.project {
        Some(dir) if dir.join(FILE).is_file() => Some(dir.clone()),
        Some(_) => None,
        None => std::env::current_dir().ok().as_deref().and_then(find),
    };
    dir.map(|d| read(&d)).transpose()
}

/// `-c ALIAS`: the alias's kubeContext becomes the context. Errors are one line: no project,
/// a bad clusters.yaml, an unknown alias (naming the aliases there are).
pub fn resolve_alias(global: &mut GlobalArgs) -> Result<Option<ProjectCluster>, String> {
    let Some(alias) = global.cluster.clone() else {
        return Ok(None);
    };
    let Some(project) = for_run(global)? else {
        return Err(format!(
            "-c {alias}: no {FILE} in {} or its parents (a Hasura project's top folder has one; --project DIR names it); or use --context",
            global
                .project
                .clone()
                .or_else(|| std::env::current_dir().ok())
                .unwrap_or_default()
                .display()
        ));
    };
    let cluster = project.cluster(&alias)?.clone();
    global.context = Some(cluster.kube_context.clone());
    fill(global, &project, &cluster);
    Ok(Some(cluster))
}

/// What a project's cluster decides unless a flag already did: the namespaces, the name route
/// templates use, and the project folder (for `conf/`).
pub fn fill(global: &mut GlobalArgs, project: &Project, cluster: &ProjectCluster) {
    if global.hasura_namespace.is_none() {
        global.hasura_namespace = cluster.hasura_namespace().map(str::to_string);
    }
    if global.user_namespace.is_none() {
        global.user_namespace = cluster.user_namespace().map(str::to_string);
    }
    if global.cluster_name.is_none() {
        global.cluster_name = Some(cluster.name.clone());
    }
    if global.cluster_data.is_none() {
        global.cluster_data = cluster.data.clone().filter(|d| !d.is_null());
    }
    if global.project.is_none() && project.dir.join("conf").is_dir() {
        global.project = Some(project.dir.clone());
    }
}

/// The folder holding `clusters.yaml`: `start` or the nearest of its parents, as the Hasura CLI
/// finds its project from wherever it is run.
pub fn find(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| dir.join(FILE).is_file())
        .map(Path::to_path_buf)
}

/// Reads `dir/clusters.yaml`. Errors are one line naming the file (and line, when the YAML says).
pub fn read(dir: &Path) -> Result<Project, String> {
    use std::io::Read;
    let path = dir.join(FILE);
    let fail = |e: String| format!("{}: {e}", path.display());
    let mut text = String::new();
    std::fs::File::open(&path)
        .map_err(|e| fail(e.to_string()))?
        .take(MAX_BYTES)
        .read_to_string(&mut text)
        .map_err(|e| fail(e.to_string()))?;
    Ok(Project {
        dir: dir.to_path_buf(),
        clusters: parse(&text).map_err(fail)?,
    })
}

/// The clusters of a clusters.yaml text (an empty file has none).
pub fn parse(text: &str) -> Result<Vec<ProjectCluster>, String> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let clusters: Option<Vec<ProjectCluster>> =
        serde_saphyr::from_str(text).map_err(|e: serde_saphyr::Error| {
            let line = e.location().map(|l| l.line()).filter(|&l| l > 0);
            let message = e.without_snippet().to_string();
            let message = message.lines().next().unwrap_or_default().to_string();
            match line {
                Some(line) => format!("line {line}: {message}"),
                None => message,
            }
        })?;
    let clusters = clusters.unwrap_or_default();
    for (i, a) in clusters.iter().enumerate() {
        if clusters[..i].iter().any(|b| b.alias == a.alias) {
            return Err(format!("alias {:?} is given twice", a.alias));
        }
    }
    Ok(clusters)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO: &str = "\
- name: h34-ambitious93-stg
  alias: dev
  kubeContext: ambitious93
  config:
    configmap: controller-conf
    namespace: hasura
  data: null
- name: h34-staging41
  alias: staging
  kubeContext: staging41
  data:
    apiPrefix: v2
  metadata:
    namespaces:
      hasura: platform
      user: apps
";

    #[test]
    fn aliases_resolve_to_contexts_and_namespaces() {
        let project = Project {
            dir: PathBuf::from("/p"),
            clusters: parse(TWO).unwrap(),
        };
        let dev = project.cluster("dev").unwrap();
        assert_eq!(dev.kube_context, "ambitious93");
        assert_eq!(dev.hasura_namespace(), Some("hasura"));
        assert_eq!(dev.user_namespace(), None);
        assert_eq!(
            dev.describe(),
            "dev → context ambitious93, cluster h34-ambitious93-stg"
        );
        let staging = project.cluster("staging").unwrap();
        assert_eq!(staging.hasura_namespace(), Some("platform"));
        assert_eq!(staging.user_namespace(), Some("apps"));
        assert_eq!(project.alias_of("staging41").unwrap().alias, "staging");
        let mut global = GlobalArgs {
            user_namespace: Some("mine".into()),
            ..GlobalArgs::default()
        };
        fill(&mut global, &project, staging);
        assert_eq!(
            global.user_namespace.as_deref(),
            Some("mine"),
            "a flag wins"
        );
        assert_eq!(global.hasura_namespace.as_deref(), Some("platform"));
        assert_eq!(global.cluster_name.as_deref(), Some("h34-staging41"));
        assert_eq!(
            global.cluster_data,
            Some(serde_json::json!({"apiPrefix": "v2"}))
        );
        let mut plain = GlobalArgs::default();
        fill(&mut plain, &project, dev);
        assert_eq!(plain.cluster_data, None, "data: null is no data");
        assert_eq!(
            project.cluster("nope").unwrap_err(),
            "no cluster alias \"nope\" in /p/clusters.yaml (aliases: dev, staging)"
        );
    }

    #[test]
    fn bad_files_are_one_line_with_the_line_number() {
        let missing = parse("- name: a\n  alias: dev\n").unwrap_err();
        assert!(missing.contains("kubeContext"), "{missing}");
        assert_eq!(missing.lines().count(), 1);
        let broken = parse("- name: a\n  alias: [dev\n  kubeContext: x\n").unwrap_err();
        assert!(broken.starts_with("line "), "{broken}");
        assert_eq!(broken.lines().count(), 1);
        let twice = parse(
            "- {name: a, alias: dev, kubeContext: x}\n- {name: b, alias: dev, kubeContext: y}\n",
        )
        .unwrap_err();
        assert_eq!(twice, "alias \"dev\" is given twice");
        assert_eq!(parse("").unwrap(), Vec::new());
    }

    #[test]
    fn the_project_is_found_from_a_subfolder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE), TWO).unwrap();
        let deep = dir.path().join("microservices/app/src");
        std::fs::create_dir_all(&deep).unwrap();
        assert_eq!(find(&deep).as_deref(), Some(dir.path()));
        let project = read(dir.path()).unwrap();
        assert_eq!(project.clusters.len(), 2);
        std::fs::write(dir.path().join(FILE), "- name: [\n").unwrap();
        let err = read(dir.path()).unwrap_err();
        assert!(err.contains("clusters.yaml: line"), "{err}");
    }
}
