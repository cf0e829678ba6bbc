//! Resource requests: list (selectors, pagination), get, watch (handed to `watch`), delete pod,
//! and writes to workloads (handed to `scale`), for every kind under `/api/v1` and
//! `/apis/<group>/v1`.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, Method, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::json;

use super::super::events_v1;
use super::super::identity::Identity;
use super::super::kinds::{GroupVersion, Kind};
use super::super::selector::Selector;
use super::super::store::Narrow;
use super::{
    ApiError, ApiState, Verb, access_review, discovery, json_response, patch, scale, table, watch,
};

/// Largest page a list returns when the client sets no limit.
const MAX_PAGE: usize = usize::MAX;

pub async fn core_versions(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    state.faults.count(Verb::Discovery);
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    json_response(&discovery::core_versions(host))
}

pub async fn group_list(State(state): State<ApiState>) -> Response {
    state.faults.count(Verb::Discovery);
    json_response(&discovery::group_list(state.options.serve_metrics))
}

/// A parsed resource path below the group/version.
struct Target {
    kind: Kind,
    namespace: Option<String>,
    name: Option<String>,
    subresource: Option<String>,
}

fn parse_target(gv: GroupVersion, segments: &[&str]) -> Result<Option<Target>, ApiError> {
    let unknown = |plural: &str| ApiError::not_found("resource", plural);
    let kind_of = |plural: &str| Kind::from_path(gv, plural).ok_or_else(|| unknown(plural));
    let target = match segments {
        [] => return Ok(None),
        ["namespaces", ns, plural, rest @ ..] if gv == GroupVersion::CORE || !ns.is_empty() => {
            let kind = kind_of(plural)?;
            Target {
                kind,
                namespace: Some(ns.to_string()),
                name: rest.first().map(|s| s.to_string()),
                subresource: rest.get(1).map(|s| s.to_string()),
            }
        }
        [plural, rest @ ..] => {
            let kind = kind_of(plural)?;
            Target {
                kind,
                namespace: None,
                name: rest.first().map(|s| s.to_string()),
                subresource: rest.get(1).map(|s| s.to_string()),
            }
        }
    };
    Ok(Some(target))
}

pub async fn handle_core(
    state: State<ApiState>,
    Extension(user): Extension<Identity>,
    Path(path): Path<String>,
    method: Method,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        ["v1", rest @ ..] => {
            handle(
                state,
                &user,
                GroupVersion::CORE,
                rest,
                method,
                &headers,
                &query,
                body,
            )
            .await
        }
        _ => ApiError::not_found("path", &path).into_response(),
    }
}

pub async fn handle_named(
    state: State<ApiState>,
    Extension(user): Extension<Identity>,
    Path(path): Path<String>,
    method: Method,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let Some(group) = segments.first() else {
        return ApiError::not_found("path", &path).into_response();
    };
    let Some(gv) = GroupVersion::NAMED_GROUPS
        .into_iter()
        .find(|gv| gv.group == *group)
    else {
        return ApiError::not_found("group", group).into_response();
    };
    match &segments[1..] {
        [] => {
            state.faults.count(Verb::Discovery);
            json_response(&discovery::api_group(gv))
        }
        [version, rest @ ..] if *version == gv.version => {
            handle(state, &user, gv, rest, method, &headers, &query, body).await
        }
        _ => ApiError::not_found("path", &path).into_response(),
    }
}

#[allow(clippy::too_many_arguments)]
async fn handle(
    State(state): State<ApiState>,
    user: &Identity,
    gv: GroupVersion,
    segments: &[&str],
    method: Method,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
    body: Bytes,
) -> Response {
    let target = match parse_target(gv, segments) {
        Ok(Some(target)) => target,
        Ok(None) => {
            state.faults.count(Verb::Discovery);
            return json_response(&discovery::resource_list(gv, state.options.serve_endpoints));
        }
        Err(e) => return e.into_response(),
    };
    if target.kind == Kind::Endpoints && !state.options.serve_endpoints {
        return ApiError::not_found("path", &segments.join("/")).into_response();
    }
    // Namespaces are cluster-scoped: `/api/v1/namespaces/<name>` is a get of one.
    let (namespace, name) = match (target.kind, &target.namespace, &target.name) {
        (Kind::Namespace, None, name) => (None, name.clone()),
        (_, ns, name) => (ns.clone(), name.clone()),
    };
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let as_table = table::wants_table(accept);
    let result = match (method, name, target.subresource.as_deref()) {
        (Method::POST, None, None) if target.kind.is_review() => {
            state.faults.count(Verb::Other);
            access_review::handle(&state, target.kind, user, headers, &body)
        }
        (Method::GET, None, None)
            if query.get("watch").is_some_and(|w| w == "true" || w == "1") =>
        {
            state.faults.count(Verb::Watch);
            watch::respond(&state, target.kind, namespace, query, as_table)
        }
        (Method::GET, None, None) => {
            state.faults.count(Verb::List);
            list(&state, target.kind, namespace.as_deref(), query, as_table)
        }
        (Method::GET, Some(name), None) => {
            state.faults.count(Verb::Get);
            get_one(
                &state,
                target.kind,
                namespace.as_deref().unwrap_or_default(),
                &name,
                as_table,
            )
        }
        (Method::DELETE, Some(name), None) if target.kind == Kind::Pod => {
            state.faults.count(Verb::Other);
            delete_pod(&state, namespace.as_deref().unwrap_or_default(), &name)
        }
        (method, Some(name), Some("scale"))
            if matches!(target.kind, Kind::Deployment | Kind::StatefulSet) =>
        {
            state.faults.count(if method == Method::GET {
                Verb::Get
            } else {
                Verb::Other
            });
            scale::scale(
                &state,
                target.kind,
                namespace.as_deref().unwrap_or_default(),
                &name,
                &method,
                &body,
            )
        }
        (Method::PATCH, Some(name), None)
            if matches!(target.kind, Kind::Deployment | Kind::StatefulSet) =>
        {
            state.faults.count(Verb::Other);
            patch::workload(
                &state,
                target.kind,
                namespace.as_deref().unwrap_or_default(),
                &name,
                headers,
                &body,
            )
        }
        _ => {
            state.faults.count(Verb::Other);
            Err(ApiError::method_not_allowed())
        }
    };
    let mut response = result.unwrap_or_else(IntoResponse::into_response);
    if target.kind == Kind::Endpoints {
        // What a v1.33 API server says on every Endpoints request (KEP-4974).
        response.headers_mut().insert(
            "warning",
            header::HeaderValue::from_static(
                "299 - \"v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice\"",
            ),
        );
    }
    response
}

/// `continue` tokens carry the list's version and the last key returned.
fn encode_continue(rv: u64, namespace: &str, name: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(json!([rv, namespace, name]).to_string())
}

fn decode_continue(token: &str) -> Option<(u64, String, String)> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn list(
    state: &ApiState,
    kind: Kind,
    namespace: Option<&str>,
    query: &HashMap<String, String>,
    as_table: bool,
) -> Result<Response, ApiError> {
    let (labels, fields) = Selector::from_query(query, kind).map_err(ApiError::bad_request)?;
    let limit = match query.get("limit").map(|l| l.parse::<usize>()) {
        Some(Ok(0)) | None => MAX_PAGE,
        Some(Ok(n)) => n,
        Some(Err(_)) => return Err(ApiError::bad_request("limit must be a number")),
    };
    let resume = match query.get("continue").filter(|c| !c.is_empty()) {
        Some(token) => {
            let (rv, ns, name) = decode_continue(token)
                .ok_or_else(|| ApiError::bad_request("invalid continue token"))?;
            if state.store.is_compacted(rv) {
                return Err(ApiError::gone(
                    "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
                ));
            }
            Some((rv, ns, name))
        }
        None => None,
    };
    let after = resume
        .as_ref()
        .map(|(_, ns, name)| (ns.as_str(), name.as_str()));
    let narrow = match (fields.required("metadata.name"), labels.required("app")) {
        (Some(name), _) => Narrow::Name(name),
        (None, Some(app)) => Narrow::App(app),
        (None, None) => Narrow::Any,
    };
    let page = state
        .store
        .list(kind.stored_as(), namespace, narrow, after, limit, |o| {
            labels.matches_labels(o) && fields.matches_fields(o)
        });
    // A continued list reports the version its first page was read at.
    let rv = resume.as_ref().map_or(page.rv, |(rv, _, _)| *rv);
    let (items, more) = (page.items, page.more);
    let continue_token = match (more, items.last()) {
        (true, Some(last)) => Some(encode_continue(
            rv,
            last["metadata"]["namespace"].as_str().unwrap_or_default(),
            last["metadata"]["name"].as_str().unwrap_or_default(),
        )),
        _ => None,
    };
    if as_table {
        let value = table::table(
            kind.stored_as(),
            items.iter().map(|o| &**o),
            rv,
            continue_token.as_deref(),
            true,
        );
        return Ok(json_response(&value));
    }
    // Written by hand so the items are serialised straight into the body, once.
    let mut body = Vec::with_capacity(items.len() * 1024 + 256);
    let mut metadata = json!({"resourceVersion": rv.to_string()});
    if let Some(token) = &continue_token {
        metadata["continue"] = json!(token);
    }
    body.extend_from_slice(
        format!(
            "{{\"kind\":\"{}List\",\"apiVersion\":\"{}\",\"metadata\":{},\"items\":[",
            kind.name(),
            kind.group_version().api_version(),
            metadata
        )
        .as_bytes(),
    );
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        // Writing a Value into a Vec cannot fail.
        let _ = match kind {
            Kind::EventV1 => serde_json::to_writer(&mut body, &events_v1::from_core(item)),
            _ => serde_json::to_writer(&mut body, &**item),
        };
    }
    body.extend_from_slice(b"]}");
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

fn get_one(
    state: &ApiState,
    kind: Kind,
    namespace: &str,
    name: &str,
    as_table: bool,
) -> Result<Response, ApiError> {
    let object = state
        .store
        .get(kind.stored_as(), namespace, name)
        .ok_or_else(|| ApiError::not_found(kind.plural(), name))?;
    if kind == Kind::EventV1 && !as_table {
        return Ok(json_response(&events_v1::from_core(&object)));
    }
    if as_table {
        return Ok(json_response(&table::table(
            kind.stored_as(),
            [&*object],
            state.store.current_rv(),
            None,
            true,
        )));
    }
    Ok(json_response(&object))
}

fn delete_pod(state: &ApiState, namespace: &str, name: &str) -> Result<Response, ApiError> {
    if !state.terminate_pod(namespace, name) {
        return Err(ApiError::not_found("pods", name));
    }
    let pod = state
        .store
        .get(Kind::Pod, namespace, name)
        .ok_or_else(|| ApiError::not_found("pods", name))?;
    Ok(json_response(&pod))
}
