//! Where the gateway's routes come from: the `hasura-conf` ConfigMap (watched) or a project's
//! `conf/` folder (read once), and the cluster name their templates use.

use std::io::Read;
use std::path::Path;

use k8s_openapi::api::core::v1::ConfigMap;

use super::namespaces::Namespaces;
use crate::model::{ClusterVars, MAX_CONFIG_BYTES, Routes, parse_gateway_config};

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
/// A file too large or not UTF-8 is an error naming it: reading it lossily would turn stray
/// bytes into U+FFFD inside URLs without a word.
pub fn read_project(dir: &Path) -> Result<GatewayFiles, String> {
    let read = |name: &str| -> Result<Option<String>, String> {
        let path = dir.join("conf").join(name);
        let fail = |e: String| format!("{}: {e}", path.display());
        let file = match std::fs::File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(fail(e.to_string())),
        };
        // Read one byte past the limit, never the whole of a huge (or endless) file.
        let mut bytes = Vec::new();
        file.take(MAX_CONFIG_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| fail(e.to_string()))?;
        if bytes.len() > MAX_CONFIG_BYTES {
            return Err(fail(format!(
                "too large (over {MAX_CONFIG_BYTES} bytes; gateway files are a few KiB)"
            )));
        }
        String::from_utf8(bytes).map(Some).map_err(|e| {
            fail(format!(
                "not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ))
        })
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
    data: Option<&serde_json::Value>,
) -> Result<Option<Routes>, String> {
    let Some(routes) = files.and_then(|f| f.routes.as_deref()) else {
        return Ok(None);
    };
    let vars = ClusterVars {
        name: name.to_string(),
        hasura_namespace: namespaces.hasura.clone(),
        user_namespace: namespaces.user.clone(),
        data: data.cloned(),
    };
    parse_gateway_config(routes, files.and_then(|f| f.domains.as_deref()), &vars)
        .map(Some)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What `--project DIR` gives the feed: read the files, then parse them.
    fn through_project(routes: &[u8], domains: Option<&[u8]>) -> Result<Option<Routes>, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let conf = dir.path().join("conf");
        std::fs::create_dir(&conf).map_err(|e| e.to_string())?;
        std::fs::write(conf.join("routes.yaml"), routes).map_err(|e| e.to_string())?;
        if let Some(domains) = domains {
            std::fs::write(conf.join("domains.yaml"), domains).map_err(|e| e.to_string())?;
        }
        let files = read_project(dir.path())?;
        let namespaces = Namespaces {
            hasura: "hasura".into(),
            user: "default".into(),
            user_source: "default",
        };
        routes_of(Some(&files), "gram29", &namespaces, None)
    }

    #[test]
    fn huge_and_non_utf8_files_are_refused_by_name() {
        let huge = vec![b'#'; MAX_CONFIG_BYTES + 1];
        let e = through_project(&huge, None).unwrap_err();
        assert!(
            e.ends_with(
                "conf/routes.yaml: too large (over 1048576 bytes; gateway files are a few KiB)"
            ),
            "{e}"
        );
        let e = through_project(b"a: b\n\xff", None).unwrap_err();
        assert!(
            e.ends_with("conf/routes.yaml: not UTF-8 text (invalid byte at offset 5)"),
            "{e}"
        );
        let e = through_project(b"", Some(b"\xc3")).unwrap_err();
        assert!(e.contains("conf/domains.yaml: not UTF-8"), "{e}");
        let at_limit = vec![b'#'; MAX_CONFIG_BYTES];
        assert_eq!(
            through_project(&at_limit, None),
            Ok(Some(Routes {
                entries: vec![],
                domain: "gram29.hasura-app.io".into()
            }))
        );
    }

    /// Bytes that are mostly routes.yaml-like, with stray bytes of every value mixed in.
    fn routes_bytes() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            4 => prop::sample::select(vec![
                &b"data:\n"[..], b"  /:\n", b"    upstreamService: {name: data, namespace: hasura}\n",
                b"    upstreamServicePort: ", b"80\n", b"'{{ cluster.name }}'", b"{{ cluster.x }}",
                b"{% for i in range(3) %}", b"{% endfor %}", b"- subdomain: x\n  paths: [/]\n",
                b"&a [*a]\n", b"[", b"}", b": ", b"\t", b"\xef\xbb\xbf", b"\xf0\x9f\x9a\x80",
            ]).prop_map(|p| p.to_vec()),
            1 => prop::collection::vec(any::<u8>(), 1..4),
        ];
        prop::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        /// Whatever the files hold, reading and parsing them never panics, and an error is one
        /// line the header can show as it is.
        #[test]
        fn any_project_files_never_panic_and_errors_are_one_line(
            routes in routes_bytes(),
            domains in prop::option::of(routes_bytes()),
        ) {
            if let Err(e) = through_project(&routes, domains.as_deref()) {
                prop_assert!(!e.contains('\n') && !e.contains('\r'), "multi-line error: {:?}", e);
                prop_assert!(!e.is_empty());
            }
        }
    }
}
