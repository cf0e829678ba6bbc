//! Writes to a workload's replica count: the `scale` subresource (GET, PUT, PATCH of an
//! autoscaling/v1 Scale). A PATCH of the workload itself is `patch`'s.

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::super::kinds::Kind;
use super::super::store::StoreError;
use super::json_response;
use super::{ApiError, ApiState};

fn scale_object(workload: &Value) -> Value {
    let meta = &workload["metadata"];
    let selector = workload["spec"]["selector"]["matchLabels"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": meta["name"], "namespace": meta["namespace"], "uid": meta["uid"],
            "resourceVersion": meta["resourceVersion"], "creationTimestamp": meta["creationTimestamp"],
        },
        "spec": {"replicas": workload["spec"]["replicas"].as_u64().unwrap_or(1)},
        "status": {"replicas": workload["status"]["replicas"].as_u64().unwrap_or(0), "selector": selector},
    })
}

fn replicas_from(body: &[u8]) -> Result<u64, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("invalid body: {e}")))?;
    value["spec"]["replicas"]
        .as_u64()
        .ok_or_else(|| ApiError::bad_request("spec.replicas must be a non-negative integer"))
}

pub fn scale(
    state: &ApiState,
    kind: Kind,
    namespace: &str,
    name: &str,
    method: &Method,
    body: &[u8],
) -> Result<Response, ApiError> {
    if *method == Method::GET {
        let workload = state
            .store
            .get(kind, namespace, name)
            .ok_or_else(|| ApiError::not_found(kind.plural(), name))?;
        return Ok(json_response(&scale_object(&workload)));
    }
    if !matches!(*method, Method::PUT | Method::PATCH) {
        return Err(ApiError::method_not_allowed());
    }
    let replicas = replicas_from(body)?;
    let workload = set_replicas(state, kind, namespace, name, replicas)?;
    Ok(json_response(&scale_object(&workload)))
}

fn set_replicas(
    state: &ApiState,
    kind: Kind,
    namespace: &str,
    name: &str,
    replicas: u64,
) -> Result<std::sync::Arc<Value>, ApiError> {
    state
        .store
        .update(kind, namespace, name, |w| {
            w["spec"]["replicas"] = json!(replicas)
        })
        .map_err(|e| match e {
            StoreError::NotFound { .. } => ApiError::not_found(kind.plural(), name),
            other => other.into(),
        })?;
    state.reconcile(kind, namespace, name, false);
    state
        .store
        .get(kind, namespace, name)
        .ok_or_else(|| ApiError::new(StatusCode::CONFLICT, "Conflict", "deleted while scaling"))
}
