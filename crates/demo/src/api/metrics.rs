//! `metrics.k8s.io/v1beta1`, as metrics-server serves it (`kubectl top`), unless the cluster
//! runs without it (`DemoOptions::serve_metrics`, then 404 as an API server answers for a group
//! it does not have, and kubectl says `Metrics API not available`).
//!
//! PodMetrics follow the real work the pod's processes do (`backends::Work`): each container
//! uses 1m CPU and 24Mi at rest; the app container adds 50m per MB/s it moved since the
//! previous scrape, 0.5m and 64Ki per open connection. `window` is the time since that
//! scrape, as metrics-server reports the span its rate covers. Pods that are not running have
//! no metrics, as the kubelet reports none.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::super::kinds::Kind;
use super::super::pod_state::{self, is_deleting};
use super::super::selector::Selector;
use super::super::store::{Narrow, now_rfc3339};
use super::{ApiError, ApiState, Verb, json_response};

pub const GROUP: &str = "metrics.k8s.io";
const VERSION: &str = "v1beta1";

/// A pod's last scrape: when, the bytes its processes had moved by then, the rate it gave.
type Scrape = (Instant, u64, u64);

/// The last scrape of each pod, by namespace and name.
#[derive(Default)]
pub struct Scrapes(Mutex<HashMap<(String, String), Scrape>>);

fn group_version() -> Value {
    json!({"groupVersion": format!("{GROUP}/{VERSION}"), "version": VERSION})
}

/// The group as `/apis` lists it.
pub fn group() -> Value {
    json!({"name": GROUP, "versions": [group_version()], "preferredVersion": group_version()})
}

pub async fn handle(
    State(state): State<ApiState>,
    path: Option<Path<String>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if !state.options.serve_metrics {
        return ApiError::not_found("path", "requested").into_response();
    }
    let path = path.map(|Path(p)| p).unwrap_or_default();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        [] => {
            state.faults.count(Verb::Discovery);
            let mut value = group();
            value["kind"] = json!("APIGroup");
            value["apiVersion"] = json!("v1");
            json_response(&value)
        }
        [VERSION] => {
            state.faults.count(Verb::Discovery);
            json_response(&json!({
                "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": format!("{GROUP}/{VERSION}"),
                "resources": [
                    {"name": "nodes", "singularName": "", "namespaced": false, "kind": "NodeMetrics", "verbs": ["get", "list"]},
                    {"name": "pods", "singularName": "", "namespaced": true, "kind": "PodMetrics", "verbs": ["get", "list"]},
                ]
            }))
        }
        [VERSION, "pods"] => list(&state, None, &query),
        [VERSION, "namespaces", namespace, "pods"] => list(&state, Some(namespace), &query),
        [VERSION, "namespaces", namespace, "pods", name] => {
            state.faults.count(Verb::Get);
            let pod = state.store.get(Kind::Pod, namespace, name);
            match pod.and_then(|p| pod_metrics(&state, &p)) {
                Some(metrics) => json_response(&metrics),
                // metrics-server names the object `namespace/name`.
                None => {
                    ApiError::not_found("podmetrics.metrics.k8s.io", &format!("{namespace}/{name}"))
                        .into_response()
                }
            }
        }
        [VERSION, "nodes"] => {
            state.faults.count(Verb::List);
            json_response(&json!({
                "kind": "NodeMetricsList", "apiVersion": format!("{GROUP}/{VERSION}"), "metadata": {},
                "items": [node_metrics(&state)]
            }))
        }
        _ => ApiError::not_found("path", &path).into_response(),
    }
}

fn list(state: &ApiState, namespace: Option<&str>, query: &HashMap<String, String>) -> Response {
    state.faults.count(Verb::List);
    let labels = match Selector::parse(query.get("labelSelector").map_or("", String::as_str)) {
        Ok(labels) => labels,
        Err(e) => return ApiError::bad_request(e).into_response(),
    };
    // The pods the metrics are of, narrowed as a pod list with this selector is.
    let narrow = labels.required("app").map_or(Narrow::Any, Narrow::App);
    let page = state
        .store
        .list(Kind::Pod, namespace, narrow, None, usize::MAX, |p| {
            labels.matches_labels(p)
        });
    let items: Vec<Value> = page
        .items
        .iter()
        .filter_map(|p| pod_metrics(state, p))
        .collect();
    json_response(&json!({
        "kind": "PodMetricsList", "apiVersion": format!("{GROUP}/{VERSION}"), "metadata": {}, "items": items
    }))
}

fn pod_metrics(state: &ApiState, pod: &Value) -> Option<Value> {
    if is_deleting(pod) || pod["status"]["phase"] != "Running" {
        return None;
    }
    let namespace = pod["metadata"]["namespace"].as_str().unwrap_or_default();
    let name = pod["metadata"]["name"].as_str().unwrap_or_default();
    let (bytes, open) = state.backends.work(namespace, name).unwrap_or((0, 0));
    let now = Instant::now();
    let key = (namespace.to_string(), name.to_string());
    let (window, rate) = {
        let mut scrapes = state.metrics.0.lock().unwrap_or_else(|p| p.into_inner());
        let (at, before, last_rate) = scrapes.get(&key).copied().unwrap_or((now, bytes, 0));
        let elapsed = now.duration_since(at).as_secs_f64();
        // Scrapes less than a second apart reuse the rate: too short a span says nothing.
        if elapsed >= 1.0 || !scrapes.contains_key(&key) {
            let rate = if elapsed >= 1.0 {
                (bytes.saturating_sub(before) as f64 / elapsed) as u64
            } else {
                last_rate
            };
            scrapes.insert(key, (now, bytes, rate));
            (elapsed.max(1.0), rate)
        } else {
            (elapsed.max(1.0), last_rate)
        }
    };
    let main = pod_state::main_container(pod);
    let containers: Vec<Value> = pod["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str())
        .map(|container| {
            let mut cpu_nanos: u64 = 1_000_000;
            let mut memory_kib: u64 = 24 * 1024;
            if main.as_deref() == Some(container) {
                cpu_nanos += rate * 50 + open * 500_000;
                memory_kib += open * 64;
            }
            json!({"name": container, "usage": {"cpu": format!("{cpu_nanos}n"), "memory": format!("{memory_kib}Ki")}})
        })
        .collect();
    Some(json!({
        "kind": "PodMetrics",
        "apiVersion": format!("{GROUP}/{VERSION}"),
        "metadata": {
            "name": name, "namespace": namespace, "creationTimestamp": now_rfc3339(),
            "labels": pod["metadata"]["labels"],
        },
        "timestamp": now_rfc3339(),
        "window": format!("{window:.3}s"),
        "containers": containers,
    }))
}

fn node_metrics(state: &ApiState) -> Value {
    let pods = state
        .store
        .list(Kind::Pod, None, Narrow::Any, None, usize::MAX, |_| true)
        .items
        .len() as u64;
    json!({
        "metadata": {"name": super::super::pod_state::NODE_NAME, "creationTimestamp": now_rfc3339()},
        "timestamp": now_rfc3339(),
        "window": "20.000s",
        "usage": {"cpu": format!("{}m", 100 + pods), "memory": format!("{}Mi", 1024 + pods * 24)},
    })
}
