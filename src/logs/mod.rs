//! A microservice's pod logs, as `hasura microservice logs` and `kubectl logs --prefix` show
//! them: which pods belong to it (its workload's label selector), one-shot reads, and a follower
//! that watches those pods and streams each one's lines, picking up replacements as they start.
//! Used by the dashboard's logs pane and by `hasura-tui logs` alike.

pub mod containers;
mod follow;

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Pod, Service};
use kube::Api;
use kube::api::{ListParams, LogParams};

pub use containers::ContainerChoice;
pub use follow::{LogEvent, spawn_follow, spawn_follow_microservice, stream_pod};

/// Label selector of a microservice's pods (`matchLabels`; Hasura manifests use nothing else).
pub type Selector = BTreeMap<String, String>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogsError {
    #[error("microservice {0} not found")]
    NotFound(String),
    #[error(
        "microservice {0} has no pod selector (neither its workload nor its Service names one)"
    )]
    NoSelector(String),
    #[error("pod {0} not found")]
    PodNotFound(String),
    #[error("{0}")]
    Api(String),
}

impl From<kube::Error> for LogsError {
    fn from(e: kube::Error) -> Self {
        match e {
            kube::Error::Api(status) => LogsError::Api(status.message),
            other => LogsError::Api(format!("cluster unreachable: {other}")),
        }
    }
}

/// Which lines to read, as `kubectl logs` takes them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogOptions {
    /// The last N lines of each container (all when `None`).
    pub tail: Option<i64>,
    pub containers: ContainerChoice,
}

impl LogOptions {
    /// The request for one container: always named, since a real API server answers 400
    /// (`a container name must be specified`) for a pod with several and no name.
    fn params(&self, container: &str, follow: bool) -> LogParams {
        LogParams {
            follow,
            tail_lines: self.tail,
            container: Some(container.to_string()),
            ..LogParams::default()
        }
    }

    /// How a line from `pod`'s `container` is labelled: `pod`, or `pod/container` when every
    /// container is shown.
    pub fn source(&self, pod: &str, container: &str) -> String {
        match self.containers {
            ContainerChoice::All => format!("{pod}/{container}"),
            _ => pod.to_string(),
        }
    }
}

/// The pod selector of microservice `name`: its Deployment's or StatefulSet's, else its
/// Service's (a Service without a workload still selects pods).
pub async fn selector(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> Result<Selector, LogsError> {
    let labels = |s: Option<Selector>| s.filter(|s| !s.is_empty());
    let deployment = Api::<Deployment>::namespaced(client.clone(), namespace)
        .get_opt(name)
        .await?;
    if let Some(d) = deployment {
        return labels(d.spec.and_then(|s| s.selector.match_labels))
            .ok_or_else(|| LogsError::NoSelector(name.to_string()));
    }
    let statefulset = Api::<StatefulSet>::namespaced(client.clone(), namespace)
        .get_opt(name)
        .await?;
    if let Some(s) = statefulset {
        return labels(s.spec.and_then(|s| s.selector.match_labels))
            .ok_or_else(|| LogsError::NoSelector(name.to_string()));
    }
    match Api::<Service>::namespaced(client.clone(), namespace)
        .get_opt(name)
        .await?
    {
        Some(s) => labels(s.spec.and_then(|s| s.selector))
            .ok_or_else(|| LogsError::NoSelector(name.to_string())),
        None => Err(LogsError::NotFound(name.to_string())),
    }
}

/// `app=data,tier=backend`, for the API's `labelSelector`.
pub fn selector_string(selector: &Selector) -> String {
    selector
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The pods a selector matches, sorted by name.
pub async fn pods(
    client: &kube::Client,
    namespace: &str,
    selector: &Selector,
) -> Result<Vec<Pod>, LogsError> {
    let list = Api::<Pod>::namespaced(client.clone(), namespace)
        .list(&ListParams::default().labels(&selector_string(selector)))
        .await?;
    let mut pods = list.items;
    pods.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    Ok(pods)
}

/// One container's lines so far (the last `tail` of them when asked).
pub async fn read(
    client: &kube::Client,
    namespace: &str,
    pod: &str,
    container: &str,
    options: &LogOptions,
) -> Result<String, LogsError> {
    Api::<Pod>::namespaced(client.clone(), namespace)
        .logs(pod, &options.params(container, false))
        .await
        .map_err(|e| not_found_as_pod(e, pod))
}

/// A 404 on `pods/NAME/log` means the pod is gone (or never was).
fn not_found_as_pod(e: kube::Error, pod: &str) -> LogsError {
    match e {
        kube::Error::Api(status) if status.code == 404 => LogsError::PodNotFound(pod.to_string()),
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_read_as_kubectl_writes_them() {
        let selector: Selector = [("tier", "backend"), ("app", "data")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(selector_string(&selector), "app=data,tier=backend");
    }

    #[test]
    fn options_become_log_params_that_always_name_the_container() {
        let options = LogOptions {
            tail: Some(10),
            containers: ContainerChoice::Default,
        };
        let p = options.params("main", true);
        assert!(p.follow);
        assert_eq!(p.tail_lines, Some(10));
        assert_eq!(p.container.as_deref(), Some("main"));
        assert_eq!(options.source("data-1", "main"), "data-1");
        let all = LogOptions {
            containers: ContainerChoice::All,
            ..options
        };
        assert_eq!(all.source("data-1", "main"), "data-1/main");
    }
}
