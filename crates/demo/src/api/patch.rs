//! PATCH of a workload, by the patch types a real API server accepts for built-in kinds
//! (apiserver `endpoints/handlers/patch.go`): JSON merge patch (RFC 7386), JSON patch
//! (RFC 6902) and strategic merge patch, which is what kubectl sends (`rollout restart` patches
//! the template's `kubectl.kubernetes.io/restartedAt` annotation, `set image` a container).
//! Server-side apply is not served: it is answered as a server without it would answer.
//!
//! The strategic merge here is apimachinery's `strategicpatch` for what kubectl's commands
//! send: maps merge key by key, `null` deletes, and a list of objects that all carry `name`
//! merges element by element on it (the `patchMergeKey` of containers, initContainers, env and
//! volumes in core/v1); any other list replaces the old one (atomic lists). Its `$patch`,
//! `$retainKeys`, `$setElementOrder` and `$deleteFromPrimitiveList` directives are refused with
//! a 422 rather than misapplied.
//!
//! What a patch may not change is kept: the object's identity, and its `status` (a write to
//! the main resource ignores status, as the `/status` subresource split decides).

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde_json::{Map, Value};

use super::super::kinds::Kind;
use super::super::store::StoreError;
use super::{ApiError, ApiState, json_response};

/// The patch types, as the API server lists them in its 415.
const ACCEPTED: &str = "application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json";

/// PATCH of a Deployment or StatefulSet: the patched object is stored (its generation moves
/// when the spec changed) and the controller brings the pods to it (a changed template rolls
/// them, `controller.rs`).
pub fn workload(
    state: &ApiState,
    kind: Kind,
    namespace: &str,
    name: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, ApiError> {
    let current = state
        .store
        .get(kind, namespace, name)
        .ok_or_else(|| ApiError::not_found(kind.plural(), name))?;
    let patched = apply(&current, headers, body)?;
    state
        .store
        .update(kind, namespace, name, |w| *w = patched)
        .map_err(|e| match e {
            StoreError::NotFound { .. } => ApiError::not_found(kind.plural(), name),
            other => other.into(),
        })?;
    state.reconcile(kind, namespace, name, false);
    let stored = state
        .store
        .get(kind, namespace, name)
        .ok_or_else(|| ApiError::not_found(kind.plural(), name))?;
    Ok(json_response(&stored))
}

/// `current` with the patch in `body` applied, as the request's Content-Type says.
pub fn apply(current: &Value, headers: &HeaderMap, body: &[u8]) -> Result<Value, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or_default()
        .trim();
    let parse = || -> Result<Value, ApiError> {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))
    };
    let mut patched = current.clone();
    match content_type {
        "application/merge-patch+json" => json_patch::merge(&mut patched, &parse()?),
        "application/strategic-merge-patch+json" => strategic_merge(&mut patched, &parse()?)?,
        "application/json-patch+json" => {
            let patch: json_patch::Patch = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
            json_patch::patch(&mut patched, &patch).map_err(|e| invalid(e.to_string()))?;
        }
        _ => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UnsupportedMediaType",
                format!(
                    "the body of the request was in an unknown format - accepted media types include: {ACCEPTED}"
                ),
            ));
        }
    }
    for kept in [
        "name",
        "namespace",
        "uid",
        "creationTimestamp",
        "resourceVersion",
        "generation",
    ] {
        match current["metadata"].get(kept) {
            Some(value) => patched["metadata"][kept] = value.clone(),
            None => {
                if let Some(meta) = patched["metadata"].as_object_mut() {
                    meta.remove(kept);
                }
            }
        }
    }
    patched["status"] = current["status"].clone();
    if !patched["spec"]["replicas"].is_u64() {
        return Err(invalid(
            "spec.replicas: Invalid value: must be a non-negative integer".into(),
        ));
    }
    Ok(patched)
}

fn invalid(message: String) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "Invalid", message)
}

/// A strategic merge of `patch` into `target` (see the module's comment for what is covered).
fn strategic_merge(target: &mut Value, patch: &Value) -> Result<(), ApiError> {
    let Some(fields) = patch.as_object() else {
        *target = patch.clone();
        return Ok(());
    };
    if let Some(directive) = fields.keys().find(|k| k.starts_with('$')) {
        return Err(invalid(format!(
            "the demo cluster does not apply the strategic merge directive {directive:?}"
        )));
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let object = target.as_object_mut().expect("made an object above");
    for (key, value) in fields {
        match value {
            Value::Null => {
                object.remove(key);
            }
            Value::Array(items) if keyed_by_name(items) => {
                let slot = object
                    .entry(key.clone())
                    .or_insert_with(|| Value::Array(Vec::new()));
                merge_by_name(slot, items)?;
            }
            Value::Object(_) => {
                strategic_merge(object.entry(key.clone()).or_insert(Value::Null), value)?;
            }
            other => {
                object.insert(key.clone(), other.clone());
            }
        }
    }
    Ok(())
}

fn keyed_by_name(items: &[Value]) -> bool {
    !items.is_empty() && items.iter().all(|i| i["name"].is_string())
}

fn merge_by_name(slot: &mut Value, items: &[Value]) -> Result<(), ApiError> {
    if !slot.is_array() {
        *slot = Value::Array(Vec::new());
    }
    let list = slot.as_array_mut().expect("made an array above");
    for item in items {
        match list.iter_mut().find(|old| old["name"] == item["name"]) {
            Some(old) => strategic_merge(old, item)?,
            None => list.push(item.clone()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn headers(content_type: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, content_type.parse().unwrap());
        headers
    }

    fn deployment() -> Value {
        json!({
            "metadata": {"name": "data", "namespace": "hasura", "uid": "u1", "generation": 1},
            "spec": {"replicas": 2, "template": {
                "metadata": {"labels": {"app": "data"}},
                "spec": {"containers": [
                    {"name": "data", "image": "hasura/data:1", "env": [{"name": "A", "value": "1"}]},
                    {"name": "proxy", "image": "proxy:1"}
                ]}
            }},
            "status": {"replicas": 2}
        })
    }

    #[test]
    fn kubectl_rollout_restart_sets_the_annotation_and_keeps_the_rest() {
        let patch = br#"{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":"2026-11-30T15:00:00Z"}}}}}"#;
        let patched = apply(
            &deployment(),
            &headers("application/strategic-merge-patch+json"),
            patch,
        )
        .unwrap();
        assert_eq!(
            patched["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"],
            "2026-11-30T15:00:00Z"
        );
        assert_eq!(patched["spec"]["replicas"], 2, "not read as a whole object");
        assert_eq!(
            patched["spec"]["template"]["metadata"]["labels"]["app"],
            "data"
        );
    }

    #[test]
    fn containers_merge_on_their_name_and_other_lists_are_replaced() {
        let patch = br#"{"spec":{"template":{"spec":{"containers":[{"name":"data","image":"hasura/data:2","args":["-v"]}]}}}}"#;
        let patched = apply(
            &deployment(),
            &headers("application/strategic-merge-patch+json"),
            patch,
        )
        .unwrap();
        let containers = &patched["spec"]["template"]["spec"]["containers"];
        assert_eq!(containers[0]["image"], "hasura/data:2");
        assert_eq!(
            containers[0]["env"][0]["value"], "1",
            "merged, not replaced"
        );
        assert_eq!(containers[1]["image"], "proxy:1", "the sidecar stays");
        let merge =
            br#"{"spec":{"template":{"spec":{"containers":[{"name":"data","image":"x"}]}}}}"#;
        let merged = apply(
            &deployment(),
            &headers("application/merge-patch+json"),
            merge,
        )
        .unwrap();
        assert_eq!(
            merged["spec"]["template"]["spec"]["containers"]
                .as_array()
                .unwrap()
                .len(),
            1,
            "a merge patch replaces lists (RFC 7386)"
        );
    }

    #[test]
    fn identity_and_status_are_kept_and_bad_patches_refused() {
        let patch = br#"{"metadata":{"name":"other","labels":{"x":"y"}},"status":{"replicas":9}}"#;
        let patched = apply(
            &deployment(),
            &headers("application/merge-patch+json"),
            patch,
        )
        .unwrap();
        assert_eq!(patched["metadata"]["name"], "data");
        assert_eq!(patched["metadata"]["labels"]["x"], "y");
        assert_eq!(patched["status"]["replicas"], 2);
        let json_patch = br#"[{"op":"replace","path":"/spec/replicas","value":5}]"#;
        let patched = apply(
            &deployment(),
            &headers("application/json-patch+json"),
            json_patch,
        )
        .unwrap();
        assert_eq!(patched["spec"]["replicas"], 5);
        let negative = br#"{"spec":{"replicas":-1}}"#;
        let error = apply(
            &deployment(),
            &headers("application/merge-patch+json"),
            negative,
        )
        .unwrap_err();
        assert_eq!(error.code, StatusCode::UNPROCESSABLE_ENTITY);
        let apply_yaml = apply(
            &deployment(),
            &headers("application/apply-patch+yaml"),
            b"{}",
        )
        .unwrap_err();
        assert_eq!(apply_yaml.code, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let directive = br#"{"spec":{"template":{"spec":{"$retainKeys":["containers"]}}}}"#;
        let refused = apply(
            &deployment(),
            &headers("application/strategic-merge-patch+json"),
            directive,
        )
        .unwrap_err();
        assert_eq!(refused.code, StatusCode::UNPROCESSABLE_ENTITY);
    }
}
