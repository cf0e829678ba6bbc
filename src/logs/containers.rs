//! Which containers of a pod to read, as kubectl chooses them (k8s.io/kubectl
//! `pkg/polymorphichelpers/logsforobject.go`): the one asked for; else the one the
//! `kubectl.kubernetes.io/default-container` annotation names, when the pod has it; else the
//! first container. All containers means init containers (native sidecars among them), then
//! containers, then ephemeral ones, in that order.

use k8s_openapi::api::core::v1::Pod;

/// The annotation that names a pod's most interesting container.
pub const DEFAULT_CONTAINER_ANNOTATION: &str = "kubectl.kubernetes.io/default-container";

/// Which containers' lines to show.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ContainerChoice {
    /// Each pod's default container.
    #[default]
    Default,
    Named(String),
    /// Every container, each line prefixed `[pod/container]`.
    All,
}

impl ContainerChoice {
    /// From `-c NAME` and `--all-containers`.
    pub fn from_args(container: Option<&str>, all: bool) -> ContainerChoice {
        match (container, all) {
            (_, true) => ContainerChoice::All,
            (Some(name), false) => ContainerChoice::Named(name.to_string()),
            (None, false) => ContainerChoice::Default,
        }
    }
}

/// The containers of `pod` to read for `choice`, or kubectl's error for a name it lacks.
pub fn chosen(pod: &Pod, choice: &ContainerChoice) -> Result<Vec<String>, String> {
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    match choice {
        ContainerChoice::Default => Ok(default_container(pod).into_iter().collect()),
        ContainerChoice::Named(wanted) => {
            if all_containers(pod).iter().any(|c| c == wanted) {
                Ok(vec![wanted.clone()])
            } else {
                Err(format!(
                    "container {wanted} is not valid for pod {name} out of: {}",
                    described(pod)
                ))
            }
        }
        ContainerChoice::All => Ok(all_containers(pod)),
    }
}

/// The annotation's container when the pod has one of that name, else the first container.
pub fn default_container(pod: &Pod) -> Option<String> {
    let annotated = pod
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(DEFAULT_CONTAINER_ANNOTATION));
    if let Some(annotated) = annotated
        && all_containers(pod).contains(annotated)
    {
        return Some(annotated.clone());
    }
    pod.spec
        .as_ref()?
        .containers
        .first()
        .map(|c| c.name.clone())
}

/// Init containers, containers, ephemeral containers: `kubectl logs --all-containers` order.
pub fn all_containers(pod: &Pod) -> Vec<String> {
    let Some(spec) = &pod.spec else {
        return Vec::new();
    };
    let init = spec.init_containers.iter().flatten().map(|c| &c.name);
    let ephemeral = spec.ephemeral_containers.iter().flatten().map(|c| &c.name);
    init.chain(spec.containers.iter().map(|c| &c.name))
        .chain(ephemeral)
        .cloned()
        .collect()
}

/// `data, istio-proxy, cloud-sql-proxy (init)`: kubectl's `AllContainerNames`.
pub fn described(pod: &Pod) -> String {
    let Some(spec) = &pod.spec else {
        return String::new();
    };
    let containers = spec.containers.iter().map(|c| c.name.clone());
    let ephemeral = spec
        .ephemeral_containers
        .iter()
        .flatten()
        .map(|c| format!("{} (ephem)", c.name));
    let init = spec
        .init_containers
        .iter()
        .flatten()
        .map(|c| format!("{} (init)", c.name));
    containers
        .chain(ephemeral)
        .chain(init)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(annotation: Option<&str>) -> Pod {
        let annotations = annotation.map(|a| json!({ DEFAULT_CONTAINER_ANNOTATION: a }));
        serde_json::from_value(json!({
            "metadata": {"name": "data-1", "annotations": annotations},
            "spec": {
                "initContainers": [{"name": "cloud-sql-proxy", "restartPolicy": "Always"}],
                "containers": [{"name": "istio-proxy"}, {"name": "data"}],
            }
        }))
        .unwrap()
    }

    #[test]
    fn the_annotation_names_the_default_else_the_first_container() {
        assert_eq!(
            default_container(&pod(Some("data"))).as_deref(),
            Some("data")
        );
        assert_eq!(
            default_container(&pod(None)).as_deref(),
            Some("istio-proxy")
        );
        // An annotation naming no container is ignored, as kubectl does (with a warning).
        assert_eq!(
            default_container(&pod(Some("gone"))).as_deref(),
            Some("istio-proxy")
        );
    }

    #[test]
    fn all_is_init_then_containers_and_a_wrong_name_says_what_there_is() {
        let p = pod(None);
        assert_eq!(
            chosen(&p, &ContainerChoice::All).unwrap(),
            ["cloud-sql-proxy", "istio-proxy", "data"]
        );
        assert_eq!(
            chosen(&p, &ContainerChoice::Named("nope".into())).unwrap_err(),
            "container nope is not valid for pod data-1 out of: istio-proxy, data, cloud-sql-proxy (init)"
        );
        assert_eq!(
            chosen(&p, &ContainerChoice::Named("cloud-sql-proxy".into())).unwrap(),
            ["cloud-sql-proxy"]
        );
    }
}
