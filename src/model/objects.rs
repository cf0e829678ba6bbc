//! Slim view structs built from Kubernetes objects.
//!
//! The watchers store these instead of the full k8s-openapi objects: the view needs a handful of
//! fields, and dropping managed fields, pod specs and most annotations keeps memory low on big
//! clusters and makes the rules in `status` and `join` testable with small hand-built values.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
pub use k8s_openapi::jiff::Timestamp;

use super::labels::Labels;
use super::pod_wire::{ContainerStatusWire, PodWire};

/// The Service annotation that names a microservice's public URL outright (docs/urls.md).
pub const EXTERNAL_URL_ANNOTATION: &str = "hasura.io/external-url";

/// Which controller runs a microservice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WorkloadKind {
    Deployment,
    StatefulSet,
}

/// A Deployment or StatefulSet, reduced to what STATUS and REPLICAS need.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkloadInfo {
    pub kind: WorkloadKind,
    pub name: String,
    pub namespace: String,
    /// `spec.replicas`; Kubernetes defaults an absent value to 1.
    pub desired: i32,
    pub ready: i32,
    pub updated: i32,
    /// `spec.selector.matchLabels`; matchExpressions are not used by Hasura manifests.
    pub selector: Labels,
    pub created: Option<Timestamp>,
    /// What the workload's own conditions say is wrong (`ProgressDeadlineExceeded`, a
    /// `ReplicaFailure` reason): the status when its pods cannot be seen.
    pub failure: Option<String>,
}

/// A Service, reduced to its ports and the sources of an external URL.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceInfo {
    pub name: String,
    pub namespace: String,
    pub selector: Labels,
    pub ports: Vec<ServicePortInfo>,
    /// The `hasura.io/external-url` annotation, the only annotation kept.
    pub external_url_annotation: Option<String>,
    /// For `type: LoadBalancer`: the first ingress IP, else its hostname.
    pub load_balancer: Option<String>,
    /// For `type: ExternalName`: the DNS name it stands for (nothing to forward to).
    pub external_name: Option<String>,
    pub created: Option<Timestamp>,
    /// The API server's own Service (`default/kubernetes`, labelled `provider: kubernetes` and
    /// `component: apiserver` by its `kubernetesservice` controller): on every cluster, never a
    /// microservice.
    pub control_plane: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServicePortInfo {
    pub name: Option<String>,
    pub port: i32,
    pub target: TargetPort,
    pub protocol: String,
}

/// A Service port's `targetPort`: a number, or the name of a container port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetPort {
    Number(i32),
    Name(String),
}

/// A pod, reduced to what STATUS and port-forwarding need.
#[derive(Clone, Debug, PartialEq)]
pub struct PodInfo {
    pub name: String,
    pub namespace: String,
    pub labels: Labels,
    pub phase: String,
    /// False only when the PodScheduled condition is explicitly False.
    pub scheduled: bool,
    /// The Ready condition is True.
    pub ready: bool,
    /// A deletionTimestamp is set: the pod is going away and no longer counts.
    pub deleting: bool,
    /// Init containers first, then the app containers.
    pub containers: Vec<ContainerInfo>,
    /// Declared ports of the app containers, for resolving named target ports.
    pub container_ports: Vec<(Option<String>, i32)>,
    pub created: Option<Timestamp>,
}

/// CPU and memory from the metrics API: one pod's, or a row's summed over its pods.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PodUsage {
    pub cpu_millis: u64,
    pub memory_bytes: u64,
}

/// A container's current state, when it is not simply running.
#[derive(Clone, Debug, PartialEq)]
pub struct ContainerInfo {
    pub name: String,
    pub waiting_reason: Option<String>,
    /// `(reason, exit code)` of the current state, when terminated.
    pub terminated: Option<(Option<String>, i32)>,
}

/// A networking.k8s.io/v1 Ingress, reduced to host/path/service triples.
#[derive(Clone, Debug, PartialEq)]
pub struct IngressInfo {
    pub name: String,
    pub namespace: String,
    pub rules: Vec<IngressRuleInfo>,
    pub tls_hosts: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct IngressRuleInfo {
    /// Empty when the rule matches any host.
    pub host: String,
    pub path: String,
    pub service: String,
    /// The backend's Service port, a number or a port name.
    pub port: Option<String>,
}

/// A map of labels (or a selector) as the slim objects keep it.
fn labels(map: Option<&BTreeMap<String, String>>) -> Labels {
    map.into_iter()
        .flatten()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

fn name_of(meta: &ObjectMeta) -> String {
    meta.name.clone().unwrap_or_default()
}

fn namespace_of(meta: &ObjectMeta) -> String {
    meta.namespace.clone().unwrap_or_default()
}

fn created_of(meta: &ObjectMeta) -> Option<Timestamp> {
    meta.creation_timestamp.as_ref().map(|Time(t)| *t)
}

impl From<&Deployment> for WorkloadInfo {
    fn from(d: &Deployment) -> Self {
        let spec = d.spec.as_ref();
        let status = d.status.as_ref();
        WorkloadInfo {
            kind: WorkloadKind::Deployment,
            name: name_of(&d.metadata),
            namespace: namespace_of(&d.metadata),
            desired: spec.and_then(|s| s.replicas).unwrap_or(1),
            ready: status.and_then(|s| s.ready_replicas).unwrap_or(0),
            updated: status.and_then(|s| s.updated_replicas).unwrap_or(0),
            selector: labels(spec.and_then(|s| s.selector.match_labels.as_ref())),
            created: created_of(&d.metadata),
            failure: status
                .and_then(|s| s.conditions.as_ref())
                .and_then(|conditions| {
                    conditions
                        .iter()
                        .find_map(|c| match (c.type_.as_str(), c.status.as_str()) {
                            ("ReplicaFailure", "True") => {
                                Some(c.reason.clone().unwrap_or_else(|| "ReplicaFailure".into()))
                            }
                            ("Progressing", "False") => {
                                Some(c.reason.clone().unwrap_or_else(|| "not progressing".into()))
                            }
                            _ => None,
                        })
                }),
        }
    }
}

impl From<&StatefulSet> for WorkloadInfo {
    fn from(s: &StatefulSet) -> Self {
        let spec = s.spec.as_ref();
        let status = s.status.as_ref();
        WorkloadInfo {
            kind: WorkloadKind::StatefulSet,
            name: name_of(&s.metadata),
            namespace: namespace_of(&s.metadata),
            desired: spec.and_then(|s| s.replicas).unwrap_or(1),
            ready: status.and_then(|s| s.ready_replicas).unwrap_or(0),
            updated: status.and_then(|s| s.updated_replicas).unwrap_or(0),
            selector: labels(spec.and_then(|s| s.selector.match_labels.as_ref())),
            created: created_of(&s.metadata),
            failure: None,
        }
    }
}

/// Whether a Service is the API server's own: `default/kubernetes`, which its
/// `kubernetesservice` controller labels `provider: kubernetes` and `component: apiserver`
/// (name and labels both, so a Service of the user's that copies the labels still shows).
pub fn is_api_server_service(meta: &ObjectMeta) -> bool {
    let label = |key: &str| {
        meta.labels
            .as_ref()
            .and_then(|l| l.get(key))
            .map(String::as_str)
    };
    meta.name.as_deref() == Some("kubernetes")
        && meta.namespace.as_deref() == Some("default")
        && label("provider") == Some("kubernetes")
        && label("component") == Some("apiserver")
}

impl From<&Service> for ServiceInfo {
    fn from(s: &Service) -> Self {
        let spec = s.spec.as_ref();
        let ports = spec
            .and_then(|s| s.ports.as_ref())
            .map(|ports| {
                ports
                    .iter()
                    .map(|p| ServicePortInfo {
                        name: p.name.clone(),
                        port: p.port,
                        // An absent targetPort means "the same number as the port".
                        target: match &p.target_port {
                            Some(IntOrString::Int(n)) => TargetPort::Number(*n),
                            Some(IntOrString::String(name)) => TargetPort::Name(name.clone()),
                            None => TargetPort::Number(p.port),
                        },
                        protocol: p.protocol.clone().unwrap_or_else(|| "TCP".to_string()),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let is_lb = spec.and_then(|s| s.type_.as_deref()) == Some("LoadBalancer");
        let load_balancer = if is_lb {
            s.status
                .as_ref()
                .and_then(|st| st.load_balancer.as_ref())
                .and_then(|lb| lb.ingress.as_ref())
                .and_then(|ing| ing.first())
                .and_then(|i| i.ip.clone().or_else(|| i.hostname.clone()))
                .filter(|a| !a.is_empty())
        } else {
            None
        };
        ServiceInfo {
            control_plane: is_api_server_service(&s.metadata),
            name: name_of(&s.metadata),
            namespace: namespace_of(&s.metadata),
            selector: labels(spec.and_then(|s| s.selector.as_ref())),
            ports,
            external_url_annotation: s
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(EXTERNAL_URL_ANNOTATION))
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty()),
            load_balancer,
            external_name: spec
                .filter(|s| s.type_.as_deref() == Some("ExternalName"))
                .and_then(|s| s.external_name.clone()),
            created: created_of(&s.metadata),
        }
    }
}

fn container_info(cs: &ContainerStatusWire) -> ContainerInfo {
    let state = cs.state.as_ref();
    ContainerInfo {
        name: cs.name.clone(),
        // A waiting state without a reason still means "not running yet".
        waiting_reason: state
            .and_then(|s| s.waiting.as_ref())
            .map(|w| w.reason.clone().unwrap_or_else(|| "Unknown".to_string())),
        terminated: state
            .and_then(|s| s.terminated.as_ref())
            .map(|t| (t.reason.clone(), t.exit_code)),
    }
}

/// A full pod's Ready condition is True (what the endpoints controller sends traffic by); the
/// slim `PodInfo` keeps the same answer in `ready`.
pub fn pod_is_ready(pod: &k8s_openapi::api::core::v1::Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .any(|c| c.type_ == "Ready" && c.status == "True")
}

impl From<&PodWire> for PodInfo {
    fn from(p: &PodWire) -> Self {
        let status = p.status.as_ref();
        let condition = |kind: &str| {
            status
                .and_then(|s| s.conditions.iter().flatten().find(|c| c.type_ == kind))
                .map(|c| c.status.as_str())
        };
        let containers = status
            .into_iter()
            .flat_map(|s| {
                let init = s.init_container_statuses.iter().flatten();
                init.chain(s.container_statuses.iter().flatten())
            })
            .map(container_info)
            .collect();
        let container_ports = p
            .spec
            .iter()
            .flat_map(|s| s.containers.iter().flatten())
            .flat_map(|c| c.ports.iter().flatten())
            .map(|cp| (cp.name.clone(), cp.container_port))
            .collect();
        PodInfo {
            name: name_of(&p.metadata),
            namespace: namespace_of(&p.metadata),
            labels: labels(p.metadata.labels.as_ref()),
            // A pod the kubelet has not reported on yet is, for all purposes, pending.
            phase: status
                .and_then(|s| s.phase.clone())
                .unwrap_or_else(|| "Pending".to_string()),
            scheduled: condition("PodScheduled") != Some("False"),
            ready: condition("Ready") == Some("True"),
            deleting: p.metadata.deletion_timestamp.is_some(),
            containers,
            container_ports,
            created: created_of(&p.metadata),
        }
    }
}

impl From<&Ingress> for IngressInfo {
    fn from(ing: &Ingress) -> Self {
        let spec = ing.spec.as_ref();
        let rules = spec
            .and_then(|s| s.rules.as_ref())
            .into_iter()
            .flatten()
            .flat_map(|rule| {
                let host = rule.host.clone().unwrap_or_default();
                rule.http
                    .iter()
                    .flat_map(|h| h.paths.iter())
                    .filter_map(move |p| {
                        let backend = p.backend.service.as_ref()?;
                        let service = backend.name.clone();
                        let port = backend.port.as_ref().and_then(|port| {
                            port.number
                                .map(|n| n.to_string())
                                .or_else(|| port.name.clone())
                        });
                        Some(IngressRuleInfo {
                            host: host.clone(),
                            path: p
                                .path
                                .clone()
                                .filter(|p| !p.is_empty())
                                .unwrap_or_else(|| "/".to_string()),
                            service,
                            port,
                        })
                    })
            })
            .collect();
        let tls_hosts = spec
            .and_then(|s| s.tls.as_ref())
            .into_iter()
            .flatten()
            .flat_map(|t| t.hosts.iter().flatten().cloned())
            .collect();
        IngressInfo {
            name: name_of(&ing.metadata),
            namespace: namespace_of(&ing.metadata),
            rules,
            tls_hosts,
        }
    }
}

#[cfg(test)]
#[path = "objects_tests.rs"]
mod tests;
