//! Server-side printing: the `Table` (meta.k8s.io/v1) form kubectl asks for, with the columns
//! `kubectl get` shows for each kind (wide-only columns at priority 1).

use serde_json::{Value, json};

use super::super::kinds::Kind;
use super::age::age;
use super::print_pod;

/// Whether the client asked for a Table (kubectl does; kube-rs does not).
pub fn wants_table(accept: &str) -> bool {
    accept.contains("as=Table")
}

fn column(name: &str, kind: &str, priority: u8) -> Value {
    let format = if name == "Name" { "name" } else { "" };
    json!({"name": name, "type": kind, "format": format, "description": "", "priority": priority})
}

pub fn columns(kind: Kind) -> Vec<Value> {
    let s = |n| column(n, "string", 0);
    let wide = |n| column(n, "string", 1);
    match kind {
        Kind::Pod => vec![
            s("Name"),
            s("Ready"),
            s("Status"),
            column("Restarts", "string", 0),
            s("Age"),
            wide("IP"),
            wide("Node"),
            wide("Nominated Node"),
            wide("Readiness Gates"),
        ],
        Kind::Service => vec![
            s("Name"),
            s("Type"),
            s("Cluster-IP"),
            s("External-IP"),
            s("Port(s)"),
            s("Age"),
            wide("Selector"),
        ],
        Kind::Deployment => vec![
            s("Name"),
            s("Ready"),
            column("Up-to-date", "integer", 0),
            column("Available", "integer", 0),
            s("Age"),
            wide("Containers"),
            wide("Images"),
            wide("Selector"),
        ],
        Kind::StatefulSet => vec![
            s("Name"),
            s("Ready"),
            s("Age"),
            wide("Containers"),
            wide("Images"),
        ],
        // kubernetes `pkg/printers/internalversion/printers.go` (`replicaSetColumnDefinitions`).
        Kind::ReplicaSet => vec![
            s("Name"),
            column("Desired", "integer", 0),
            column("Current", "integer", 0),
            column("Ready", "integer", 0),
            s("Age"),
            wide("Containers"),
            wide("Images"),
            wide("Selector"),
        ],
        Kind::Endpoints => vec![s("Name"), s("Endpoints"), s("Age")],
        Kind::ConfigMap => vec![s("Name"), column("Data", "integer", 0), s("Age")],
        Kind::Namespace => vec![s("Name"), s("Status"), s("Age")],
        Kind::Ingress => vec![
            s("Name"),
            s("Class"),
            s("Hosts"),
            s("Address"),
            s("Ports"),
            s("Age"),
        ],
        Kind::EndpointSlice => vec![
            s("Name"),
            s("AddressType"),
            s("Ports"),
            s("Endpoints"),
            s("Age"),
        ],
        // printers.go `AddHandlers`, eventColumnDefinitions.
        Kind::Event | Kind::EventV1 => vec![
            s("Last Seen"),
            s("Type"),
            s("Reason"),
            s("Object"),
            wide("Subobject"),
            wide("Source"),
            s("Message"),
            wide("First Seen"),
            column("Count", "integer", 1),
            wide("Name"),
        ],
        // Roles have no printer of their own: the API server's default table (`rest/table.go`).
        Kind::Role | Kind::ClusterRole => vec![s("Name"), column("Created At", "date", 0)],
        Kind::RoleBinding | Kind::ClusterRoleBinding => vec![
            s("Name"),
            s("Role"),
            s("Age"),
            wide("Users"),
            wide("Groups"),
            wide("ServiceAccounts"),
        ],
        Kind::SelfSubjectAccessReview | Kind::SelfSubjectRulesReview | Kind::SelfSubjectReview => {
            vec![s("Name")]
        }
    }
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

fn none_if_empty(s: String) -> String {
    if s.is_empty() {
        "<none>".to_string()
    } else {
        s
    }
}

fn cells(kind: Kind, o: &Value) -> Vec<Value> {
    let name = json!(text(&o["metadata"]["name"]));
    let age = json!(age(&o["metadata"]["creationTimestamp"]));
    let spec = &o["spec"];
    let status = &o["status"];
    match kind {
        Kind::Pod => {
            let (ready, shown, restarts) = print_pod::cells(o);
            vec![
                name,
                json!(ready),
                json!(shown),
                json!(restarts),
                age,
                json!(none_if_empty(text(&status["podIP"]))),
                json!(none_if_empty(text(&spec["nodeName"]))),
                json!("<none>"),
                json!("<none>"),
            ]
        }
        Kind::Service => service_cells(o, name, age),
        Kind::Deployment => vec![
            name,
            json!(format!(
                "{}/{}",
                status["readyReplicas"].as_u64().unwrap_or(0),
                spec["replicas"].as_u64().unwrap_or(1)
            )),
            json!(status["updatedReplicas"].as_u64().unwrap_or(0)),
            json!(status["availableReplicas"].as_u64().unwrap_or(0)),
            age,
            json!(containers_joined(spec, "name")),
            json!(containers_joined(spec, "image")),
            json!(selector_text(&spec["selector"]["matchLabels"])),
        ],
        Kind::ReplicaSet => vec![
            name,
            json!(spec["replicas"].as_u64().unwrap_or(1)),
            json!(status["replicas"].as_u64().unwrap_or(0)),
            json!(status["readyReplicas"].as_u64().unwrap_or(0)),
            age,
            json!(containers_joined(spec, "name")),
            json!(containers_joined(spec, "image")),
            json!(selector_text(&spec["selector"]["matchLabels"])),
        ],
        Kind::StatefulSet => vec![
            name,
            json!(format!(
                "{}/{}",
                status["readyReplicas"].as_u64().unwrap_or(0),
                spec["replicas"].as_u64().unwrap_or(1)
            )),
            age,
            json!(containers_joined(spec, "name")),
            json!(containers_joined(spec, "image")),
        ],
        Kind::Endpoints => endpoints_cells(o, name, age),
        Kind::ConfigMap => vec![
            name,
            json!(o["data"].as_object().map_or(0, |d| d.len())),
            age,
        ],
        Kind::Namespace => vec![name, json!(text(&status["phase"])), age],
        Kind::Ingress => ingress_cells(o, name, age),
        Kind::EndpointSlice => endpoint_slice_cells(o, name, age),
        Kind::Event | Kind::EventV1 => event_cells(o, name),
        Kind::Role | Kind::ClusterRole => {
            vec![name, o["metadata"]["creationTimestamp"].clone()]
        }
        Kind::RoleBinding | Kind::ClusterRoleBinding => binding_cells(o, name, age),
        Kind::SelfSubjectAccessReview | Kind::SelfSubjectRulesReview | Kind::SelfSubjectReview => {
            vec![name]
        }
    }
}

/// One field of each container of a workload's pod template, comma-joined.
fn containers_joined(spec: &Value, field: &str) -> String {
    spec["template"]["spec"]["containers"]
        .as_array()
        .map(|cs| cs.iter().map(|c| text(&c[field])).collect::<Vec<_>>())
        .unwrap_or_default()
        .join(",")
}

/// A label selector as kubectl prints it: `app=data,tier=api`, or `<none>`.
fn selector_text(selector: &Value) -> String {
    none_if_empty(
        selector
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| format!("{k}={}", text(v)))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default(),
    )
}

/// A Service: type, cluster IP, external IP, ports, selector.
fn service_cells(o: &Value, name: Value, age: Value) -> Vec<Value> {
    let (spec, status) = (&o["spec"], &o["status"]);
    let ports = spec["ports"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|p| format!("{}/{}", p["port"], p["protocol"].as_str().unwrap_or("TCP")))
        .collect::<Vec<_>>()
        .join(",");
    let external = status["loadBalancer"]["ingress"][0]["ip"]
        .as_str()
        .or(status["loadBalancer"]["ingress"][0]["hostname"].as_str())
        .unwrap_or("<none>");
    vec![
        name,
        json!(text(&spec["type"])),
        json!(none_if_empty(text(&spec["clusterIP"]))),
        json!(external),
        json!(none_if_empty(ports)),
        age,
        json!(selector_text(&spec["selector"])),
    ]
}

/// Endpoints: every ready address with each port.
fn endpoints_cells(o: &Value, name: Value, age: Value) -> Vec<Value> {
    let mut endpoints = Vec::new();
    for subset in o["subsets"].as_array().cloned().unwrap_or_default() {
        for address in subset["addresses"].as_array().cloned().unwrap_or_default() {
            for port in subset["ports"].as_array().cloned().unwrap_or_default() {
                endpoints.push(format!("{}:{}", text(&address["ip"]), port["port"]));
            }
        }
    }
    vec![name, json!(none_if_empty(endpoints.join(","))), age]
}

/// An Ingress: class, hosts, address, ports.
fn ingress_cells(o: &Value, name: Value, age: Value) -> Vec<Value> {
    let spec = &o["spec"];
    let hosts = spec["rules"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|r| text(&r["host"]))
        .collect::<Vec<_>>()
        .join(",");
    let ports = if spec["tls"].is_array() {
        "80, 443"
    } else {
        "80"
    };
    vec![
        name,
        json!(none_if_empty(text(&spec["ingressClassName"]))),
        json!(none_if_empty(hosts)),
        json!(""),
        json!(ports),
        age,
    ]
}

/// An EndpointSlice: address type, ports, endpoints.
fn endpoint_slice_cells(o: &Value, name: Value, age: Value) -> Vec<Value> {
    // printers.go formatDiscoveryPorts / formatDiscoveryEndpoints: the first three, then
    // how many more; not-ready endpoints count too.
    let first_three = |items: Vec<String>| {
        let more = items.len().saturating_sub(3);
        let shown = items.into_iter().take(3).collect::<Vec<_>>().join(",");
        match (shown.is_empty(), more) {
            (true, _) => "<unset>".to_string(),
            (false, 0) => shown,
            (false, n) => format!("{shown} + {n} more..."),
        }
    };
    let ports = o["ports"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|p| {
            p["port"]
                .as_i64()
                .map_or("*".to_string(), |n| n.to_string())
        })
        .collect();
    let addresses = o["endpoints"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .flat_map(|e| e["addresses"].as_array().cloned().unwrap_or_default())
        .map(|a| text(&a))
        .collect();
    vec![
        name,
        json!(text(&o["addressType"])),
        json!(first_three(ports)),
        json!(first_three(addresses)),
        age,
    ]
}

/// An Event (core/v1 or events.k8s.io/v1) as `kubectl get events` prints it.
fn event_cells(o: &Value, name: Value) -> Vec<Value> {
    // printers.go `printEvent`: Last Seen from lastTimestamp (else First Seen), First
    // Seen from firstTimestamp (else eventTime), Count 0 shown as 1, Object as
    // `kind/name` in lower case.
    let first = match &o["firstTimestamp"] {
        Value::Null => &o["eventTime"],
        t => t,
    };
    let last = match &o["lastTimestamp"] {
        Value::Null => first,
        t => t,
    };
    let involved = &o["involvedObject"];
    let source = &o["source"];
    let source = match (text(&source["component"]), text(&source["host"])) {
        (c, h) if h.is_empty() => c,
        (c, h) => format!("{c}, {h}"),
    };
    vec![
        json!(super::age::age(last)),
        json!(text(&o["type"])),
        json!(text(&o["reason"])),
        json!(format!(
            "{}/{}",
            text(&involved["kind"]).to_lowercase(),
            text(&involved["name"])
        )),
        json!(text(&involved["fieldPath"])),
        json!(source),
        json!(text(&o["message"]).trim()),
        json!(super::age::age(first)),
        json!(o["count"].as_i64().unwrap_or(0).max(1)),
        name,
    ]
}

/// A RoleBinding or ClusterRoleBinding: the role, then its subjects by kind.
fn binding_cells(o: &Value, name: Value, age: Value) -> Vec<Value> {
    let subjects = |kind: &str| {
        o["subjects"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter(|s| s["kind"] == kind)
            .map(|s| match s["namespace"].as_str() {
                Some(ns) if kind == "ServiceAccount" => {
                    format!("{ns}/{}", text(&s["name"]))
                }
                _ => text(&s["name"]),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    vec![
        name,
        json!(format!(
            "{}/{}",
            text(&o["roleRef"]["kind"]),
            text(&o["roleRef"]["name"])
        )),
        age,
        json!(subjects("User")),
        json!(subjects("Group")),
        json!(subjects("ServiceAccount")),
    ]
}

/// One row, carrying the object's metadata as kubectl expects (`includeObject=Metadata`).
fn row(kind: Kind, object: &Value) -> Value {
    json!({
        "cells": cells(kind, object),
        "object": {
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": object["metadata"],
        }
    })
}

pub fn table<'a>(
    kind: Kind,
    objects: impl IntoIterator<Item = &'a Value>,
    resource_version: u64,
    continue_token: Option<&str>,
    with_columns: bool,
) -> Value {
    let mut metadata = json!({"resourceVersion": resource_version.to_string()});
    if let Some(token) = continue_token {
        metadata["continue"] = json!(token);
    }
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": if with_columns { json!(columns(kind)) } else { Value::Null },
        "rows": objects.into_iter().map(|o| row(kind, o)).collect::<Vec<_>>(),
    })
}
