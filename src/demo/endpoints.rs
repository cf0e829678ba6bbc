//! The endpoints controller: a Service's Endpoints follow the pods its selector matches, ready
//! ones as addresses, the others (not terminating) as not-ready addresses, with each port's
//! targetPort resolved against the pods' container ports.

use std::sync::Arc;

use serde_json::{Value, json};

use super::Cluster;
use super::controller::{NODE_NAME, selector_matches};
use super::kinds::Kind;
use super::pod_state::{is_deleting, is_ready};

impl Cluster {
    /// Recomputes the Endpoints of every Service whose selector matches this pod.
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

    /// Writes the Endpoints of a Service from the pods its selector matches.
    pub(crate) fn refresh_endpoints(&self, service: &Value) {
        let namespace = service["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default();
        let name = service["metadata"]["name"].as_str().unwrap_or_default();
        let selector = &service["spec"]["selector"];
        let pods: Vec<Arc<Value>> = match selector["app"].as_str() {
            Some(app) => self.store.by_app(Kind::Pod, namespace, app),
            None => Vec::new(),
        };
        let (mut ready, mut not_ready) = (Vec::new(), Vec::new());
        for pod in pods
            .iter()
            .filter(|p| selector_matches(selector, &p["metadata"]["labels"]))
        {
            let address = json!({
                "ip": pod["status"]["podIP"],
                "nodeName": NODE_NAME,
                "targetRef": {"kind": "Pod", "namespace": namespace, "name": pod["metadata"]["name"], "uid": pod["metadata"]["uid"]},
            });
            if is_ready(pod) {
                ready.push(address);
            } else if !is_deleting(pod) {
                not_ready.push(address);
            }
        }
        let ports: Vec<Value> = service["spec"]["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|port| {
                let target = resolve_target_port(&port["targetPort"], port["port"].as_i64().unwrap_or(0), pods.first().map(|p| &**p));
                json!({"name": port["name"], "port": target, "protocol": port["protocol"].as_str().unwrap_or("TCP")})
            })
            .collect();
        let mut subset = json!({"ports": ports});
        if !ready.is_empty() {
            subset["addresses"] = json!(ready);
        }
        if !not_ready.is_empty() {
            subset["notReadyAddresses"] = json!(not_ready);
        }
        let subsets = if ready.is_empty() && not_ready.is_empty() {
            json!([])
        } else {
            json!([subset])
        };
        let updated = self.store.update(Kind::Endpoints, namespace, name, |ep| {
            ep["subsets"] = subsets.clone();
        });
        if updated.is_err() {
            let _ = self.store.create(
                Kind::Endpoints,
                json!({"metadata": {"name": name, "namespace": namespace, "labels": service["metadata"]["labels"]}, "subsets": subsets}),
            );
        }
    }
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

/// A pod's container ports as (name, number).
pub(crate) fn container_ports(pod: &Value) -> impl Iterator<Item = (Option<String>, i64)> + '_ {
    pod["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["ports"].as_array().into_iter().flatten())
        .map(|p| {
            (
                p["name"].as_str().map(str::to_string),
                p["containerPort"].as_i64().unwrap_or(0),
            )
        })
}
