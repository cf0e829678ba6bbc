//! The endpoints controllers: for every Service with a selector, its EndpointSlices
//! (discovery.k8s.io/v1, the source of endpoints since Kubernetes 1.21) and its Endpoints (v1,
//! deprecated in 1.33 but still served) follow the pods the selector matches, each port's
//! targetPort resolved against the pods' container ports (pods that resolve a named port
//! differently get slices and subsets of their own). Services without a selector are left to
//! whoever manages their slices by hand, as the real controllers leave them.
//!
//! What each writes, from the Kubernetes sources (`staging/src/k8s.io/endpointslice/utils.go`
//! `podToEndpoint`, `pkg/controller/endpoint/endpoints_controller.go`):
//! - a slice endpoint per pod that has an IP, terminating pods included, with
//!   `serving` = the pod's Ready condition, `terminating` = it is being deleted, and
//!   `ready` = serving and not terminating;
//! - Endpoints: ready pods as addresses, the others as notReadyAddresses, terminating pods
//!   dropped.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};

use super::Cluster;
use super::controller::{NODE_NAME, random_suffix, selector_matches};
use super::kinds::Kind;
use super::pod_state::{is_deleting, is_ready};
use super::store::Narrow;

/// The label that ties a slice to its Service, and the one that says who manages it.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";
const MANAGED_BY_LABEL: &str = "endpointslice.kubernetes.io/managed-by";
const MANAGED_BY: &str = "endpointslice-controller.k8s.io";

impl Cluster {
    /// Recomputes the endpoints of every Service whose selector matches this pod.
    pub(crate) fn refresh_endpoints_for_pod(&self, pod: &Value) {
        let namespace = pod["metadata"]["namespace"].as_str().unwrap_or_default();
        let Some(app) = pod["metadata"]["labels"]["app"].as_str() else {
            return;
        };
        for service in self.store.by_app(Kind::Service, namespace, app) {
            if selector_matches(&service["spec"]["selector"], &pod["metadata"]["labels"]) {
                self.refresh_endpoints(&service);
            }
        }
    }

    /// Writes a Service's EndpointSlices and Endpoints from the pods its selector matches.
    ///
    /// One refresh at a time: pods change on several threads (a pod starting while another
    /// terminates), and two refreshes that read the pods and then write would let the one that
    /// read first write last, leaving a Ready pod `ready: false` until the next change (the
    /// forward drill saw it: a replacement that never got traffic). The controllers get the
    /// same from their work queue, which never hands one Service to two workers at once
    /// (client-go `util/workqueue`), each reading the informer's latest state.
    pub(crate) fn refresh_endpoints(&self, service: &Value) {
        let selector = &service["spec"]["selector"];
        if selector.as_object().is_none_or(|s| s.is_empty()) {
            return;
        }
        let _one_at_a_time = self
            .endpoint_writes
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let namespace = service["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default();
        let name = service["metadata"]["name"].as_str().unwrap_or_default();
        let pods: Vec<Arc<Value>> = match selector["app"].as_str() {
            Some(app) => self.store.by_app(Kind::Pod, namespace, app),
            None => Vec::new(),
        }
        .into_iter()
        .filter(|p| selector_matches(selector, &p["metadata"]["labels"]))
        .filter(|p| !p["status"]["podIP"].as_str().unwrap_or_default().is_empty())
        .collect();
        let service_ports = service["spec"]["ports"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        // Pods grouped by how they resolve the Service's ports.
        let mut groups: BTreeMap<Vec<i64>, Vec<&Arc<Value>>> = BTreeMap::new();
        for pod in &pods {
            let resolved = service_ports
                .iter()
                .map(|p| {
                    resolve_target_port(
                        &p["targetPort"],
                        p["port"].as_i64().unwrap_or(0),
                        Some(pod),
                    )
                })
                .collect();
            groups.entry(resolved).or_default().push(pod);
        }
        self.write_slices(service, &service_ports, &groups);
        self.write_endpoints(service, &service_ports, &groups, namespace, name);
    }

    fn write_slices(
        &self,
        service: &Value,
        service_ports: &[Value],
        groups: &BTreeMap<Vec<i64>, Vec<&Arc<Value>>>,
    ) {
        let namespace = service["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default();
        let name = service["metadata"]["name"].as_str().unwrap_or_default();
        let existing: Vec<Arc<Value>> = self
            .store
            .list(
                Kind::EndpointSlice,
                Some(namespace),
                Narrow::Any,
                None,
                usize::MAX,
                |s| {
                    s["metadata"]["labels"][SERVICE_NAME_LABEL] == name
                        && s["metadata"]["labels"][MANAGED_BY_LABEL] == MANAGED_BY
                },
            )
            .items;
        // A Service with no pods still has one (empty) slice, as the controller keeps it.
        let empty = [service_ports
            .iter()
            .map(|p| resolve_target_port(&p["targetPort"], p["port"].as_i64().unwrap_or(0), None))
            .collect::<Vec<i64>>()];
        let wanted: Vec<&Vec<i64>> = if groups.is_empty() {
            empty.iter().collect()
        } else {
            groups.keys().collect()
        };
        let mut kept = Vec::new();
        for ports in wanted {
            let endpoints =
                slice_endpoints(groups.get(ports).into_iter().flatten().copied(), namespace);
            let slice_ports = slice_ports(service_ports, ports);
            // Reuse the slice that already carries these ports, else make one.
            let reuse = existing.iter().find(|s| {
                s["ports"].as_array().is_some_and(|sp| {
                    sp.iter()
                        .map(|p| p["port"].as_i64().unwrap_or(0))
                        .collect::<Vec<_>>()
                        == *ports
                })
            });
            let slice_name = match reuse {
                Some(s) => s["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                None => format!("{name}-{}", random_suffix(5)),
            };
            kept.push(slice_name.clone());
            let updated = self
                .store
                .update(Kind::EndpointSlice, namespace, &slice_name, |s| {
                    s["endpoints"] = json!(endpoints);
                    s["ports"] = json!(slice_ports);
                });
            if updated.is_err() {
                let slice = new_slice(service, &slice_name, endpoints, slice_ports);
                let _ = self.store.create(Kind::EndpointSlice, slice);
            }
        }
        for stale in existing {
            let stale_name = stale["metadata"]["name"].as_str().unwrap_or_default();
            if !kept.iter().any(|k| k == stale_name) {
                let _ = self
                    .store
                    .delete(Kind::EndpointSlice, namespace, stale_name);
            }
        }
    }

    fn write_endpoints(
        &self,
        service: &Value,
        service_ports: &[Value],
        groups: &BTreeMap<Vec<i64>, Vec<&Arc<Value>>>,
        namespace: &str,
        name: &str,
    ) {
        let mut subsets = Vec::new();
        for (ports, pods) in groups {
            let (mut ready, mut not_ready) = (Vec::new(), Vec::new());
            for pod in pods.iter().filter(|p| !is_deleting(p)) {
                let address = json!({
                    "ip": pod["status"]["podIP"],
                    "nodeName": NODE_NAME,
                    "targetRef": {"kind": "Pod", "namespace": namespace, "name": pod["metadata"]["name"], "uid": pod["metadata"]["uid"]},
                });
                if is_ready(pod) {
                    ready.push(address);
                } else {
                    not_ready.push(address);
                }
            }
            if ready.is_empty() && not_ready.is_empty() {
                continue;
            }
            let ports: Vec<Value> = service_ports
                .iter()
                .zip(ports)
                .map(|(p, port)| json!({"name": p["name"], "port": port, "protocol": p["protocol"].as_str().unwrap_or("TCP")}))
                .collect();
            let mut subset = json!({"ports": ports});
            if !ready.is_empty() {
                subset["addresses"] = json!(ready);
            }
            if !not_ready.is_empty() {
                subset["notReadyAddresses"] = json!(not_ready);
            }
            subsets.push(subset);
        }
        let updated = self.store.update(Kind::Endpoints, namespace, name, |ep| {
            ep["subsets"] = json!(subsets);
        });
        if updated.is_err() {
            let _ = self.store.create(
                Kind::Endpoints,
                json!({"metadata": {"name": name, "namespace": namespace, "labels": service["metadata"]["labels"]}, "subsets": subsets}),
            );
        }
    }
}

/// The pod's Ready condition, whether or not it is being deleted (a terminating pod may still
/// pass its readiness probe: it is then `serving` but not `ready`).
fn ready_condition(pod: &Value) -> bool {
    pod["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

/// Resolves a Service's targetPort (number or container port name) against a pod's spec.
pub(crate) fn resolve_target_port(target: &Value, service_port: i64, pod: Option<&Value>) -> i64 {
    match target {
        Value::Number(n) => n.as_i64().unwrap_or(service_port),
        Value::String(name) => pod
            .and_then(|pod| container_ports(pod).find(|(n, _)| n.as_deref() == Some(name.as_str())))
            .map(|(_, port)| port)
            .unwrap_or(service_port),
        _ => service_port,
    }
}

/// A pod's container ports (native sidecars' included) as (name, number).
pub(crate) fn container_ports(pod: &Value) -> impl Iterator<Item = (Option<String>, i64)> + '_ {
    ["containers", "initContainers"]
        .into_iter()
        .flat_map(|field| pod["spec"][field].as_array().into_iter().flatten())
        .flat_map(|c| c["ports"].as_array().into_iter().flatten())
        .map(|p| {
            (
                p["name"].as_str().map(str::to_string),
                p["containerPort"].as_i64().unwrap_or(0),
            )
        })
}

/// A slice's endpoints: each pod's address with the conditions the EndpointSlice controller
/// gives it (a terminating pod stays `serving` while its readiness holds).
fn slice_endpoints<'a>(pods: impl Iterator<Item = &'a Arc<Value>>, namespace: &str) -> Vec<Value> {
    pods.map(|pod| {
        let serving = is_ready(pod) || (is_deleting(pod) && ready_condition(pod));
        let terminating = is_deleting(pod);
        json!({
            "addresses": [pod["status"]["podIP"]],
            "conditions": {"ready": serving && !terminating, "serving": serving, "terminating": terminating},
            "nodeName": NODE_NAME,
            "targetRef": {"kind": "Pod", "namespace": namespace, "name": pod["metadata"]["name"], "uid": pod["metadata"]["uid"]},
        })
    })
    .collect()
}

/// A slice's ports: the Service's ports with the target ports its pods resolved.
fn slice_ports(service_ports: &[Value], ports: &[i64]) -> Vec<Value> {
    service_ports
        .iter()
        .zip(ports)
        .map(|(p, port)| {
            // Always a `name`, even "": kubectl 1.33's describe dereferences it.
            let mut out = json!({"name": p["name"].as_str().unwrap_or(""), "port": port, "protocol": p["protocol"].as_str().unwrap_or("TCP")});
            if let Some(app) = p["appProtocol"].as_str() {
                out["appProtocol"] = json!(app);
            }
            out
        })
        .collect()
}

/// A new slice of `service`, labelled and owned as the EndpointSlice controller makes them.
fn new_slice(service: &Value, slice_name: &str, endpoints: Vec<Value>, ports: Vec<Value>) -> Value {
    let namespace = service["metadata"]["namespace"]
        .as_str()
        .unwrap_or_default();
    let name = service["metadata"]["name"].as_str().unwrap_or_default();
    let mut labels = service["metadata"]["labels"].clone();
    if !labels.is_object() {
        labels = json!({});
    }
    labels[SERVICE_NAME_LABEL] = json!(name);
    labels[MANAGED_BY_LABEL] = json!(MANAGED_BY);
    if service["spec"]["clusterIP"] == "None" {
        labels["service.kubernetes.io/headless"] = json!("");
    }
    json!({
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": slice_name, "generateName": format!("{name}-"), "namespace": namespace,
            "labels": labels,
            "ownerReferences": [{"apiVersion": "v1", "kind": "Service", "name": name,
                "uid": service["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true}],
        },
        "addressType": "IPv4",
        "endpoints": endpoints,
        "ports": ports,
    })
}
