//! Where the gateway's routes come from: the `hasura-conf` ConfigMap (watched) or a project's
//! `conf/` folder (read once), and the cluster name their templates use.

use std::path::Path;

use k8s_openapi::api::core::v1::ConfigMap;

use crate::config::Namespaces;
use crate::model::{ClusterVars, Routes, parse_gateway_config};

pub const CONFIGMAP_NAME: &str = "hasura-conf";

/// The raw texts of the gateway files, and the ConfigMap's `cluster-name`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GatewayFiles {
    pub routes: Option<String>,
    pub domains: Option<String>,
    pub cluster_name: Option<String>,
}

impl From<&ConfigMap> for GatewayFiles {
    fn from(map: &ConfigMap) -> Self {
        let get = |key: &str| {
            map.data
                .as_ref()
                .and_then(|d| d.get(key).cloned())
                .or_else(|| {
                    // binaryData holds what is not UTF-8; read it lossily so the error names it.
                    map.binary_data
                        .as_ref()
                        .and_then(|b| b.get(key))
                        .map(|bytes| String::from_utf8_lossy(&bytes.0).into_owned())
                })
        };
        GatewayFiles {
            routes: get("routes.yaml"),
            domains: get("domains.yaml"),
            cluster_name: get("cluster-name")
                .map(|n| n.trim().to_string())
                .filter(|n| !n.is_empty()),
        }
    }
}

/// Reads `<dir>/conf/routes.yaml` and `<dir>/conf/domains.yaml` (the latter optional).
pub fn read_project(dir: &Path) -> Result<GatewayFiles, String> {
    let read = |name: &str| -> Result<Option<String>, String> {
        let path = dir.join("conf").join(name);
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    };
    let routes = read("routes.yaml")?;
    if routes.is_none() {
        return Err(format!("{}: no conf/routes.yaml", dir.display()));
    }
    Ok(GatewayFiles {
        routes,
        domains: read("domains.yaml")?,
        cluster_name: None,
    })
}

/// The cluster name for templates: `--cluster-name`, else the ConfigMap's, else the kubeconfig's.
pub fn cluster_name(
    flag: Option<&str>,
    files: Option<&GatewayFiles>,
    kube_cluster: &str,
) -> String {
    flag.map(str::to_string)
        .or_else(|| files.and_then(|f| f.cluster_name.clone()))
        .unwrap_or_else(|| kube_cluster.to_string())
}

/// Parses the routes; `Ok(None)` when there are none to parse.
pub fn routes_of(
    files: Option<&GatewayFiles>,
    name: &str,
    namespaces: &Namespaces,
) -> Result<Option<Routes>, String> {
    let Some(routes) = files.and_then(|f| f.routes.as_deref()) else {
        return Ok(None);
    };
    let vars = ClusterVars {
        name: name.to_string(),
        hasura_namespace: namespaces.hasura.clone(),
        user_namespace: namespaces.user.clone(),
    };
    parse_gateway_config(routes, files.and_then(|f| f.domains.as_deref()), &vars)
        .map(Some)
        .map_err(|e| e.to_string())
}
