//! The demo cluster's HTTP API: routing, authentication and the faults that act on every request
//! (revoked token, stall, forbidden namespace), then one module per kind of request.

mod access_review;
mod admin;
mod age;
mod discovery;
mod exec;
mod logs;
pub(super) mod metrics;
pub(super) mod oidc;
mod patch;
mod portforward;
mod print_pod;
mod resources;
mod scale;
mod table;
mod watch;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};

use std::collections::HashMap;

use super::Cluster;
use super::authz::{self, Decision};
use super::faults::Verb;
use super::identity::{API_AUDIENCE, Identity, PeerCertificate};
use super::kubeconfig::OIDC_CLIENT_ID;
use super::status::ApiError;

pub type ApiState = Arc<Cluster>;

pub fn router(cluster: Arc<Cluster>) -> Router {
    let api = Router::new()
        .route("/version", get(discovery::version))
        .route("/api", get(resources::core_versions))
        .route("/apis", get(resources::group_list))
        .route(
            "/api/v1/namespaces/{namespace}/pods/{name}/portforward",
            any(portforward::handle),
        )
        .route(
            "/api/v1/namespaces/{namespace}/pods/{name}/exec",
            any(exec::handle),
        )
        .route(
            "/api/v1/namespaces/{namespace}/pods/{name}/log",
            get(logs::handle),
        )
        .route("/apis/metrics.k8s.io", get(metrics::handle))
        .route("/apis/metrics.k8s.io/{*path}", get(metrics::handle))
        .route("/api/{*path}", any(resources::handle_core))
        .route("/apis/{*path}", any(resources::handle_named))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(|| async { "ok" }))
        .route("/livez", get(|| async { "ok" }))
        .fallback(|| async { ApiError::not_found("path", "requested") })
        .layer(middleware::from_fn(compress))
        .layer(middleware::from_fn_with_state(cluster.clone(), guard));
    Router::new()
        .route(
            "/demo/admin/{action}",
            post(admin::handle).get(admin::handle),
        )
        .route("/.well-known/openid-configuration", get(oidc::discovery))
        .route("/demo/oidc/token", post(oidc::token))
        .merge(api)
        .with_state(cluster)
}

/// The bearer token from an `Authorization` header.
fn bearer(headers: &HeaderMap) -> &str {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .trim()
}

/// Authentication and the stall fault, in front of every API request. The user goes into the
/// request's extensions for authorization.
async fn guard(State(cluster): State<ApiState>, mut request: Request, next: Next) -> Response {
    let Some(identity) = authenticate(&cluster, &request) else {
        cluster.faults.count(Verb::Other);
        return ApiError::unauthorized().into_response();
    };
    let query: HashMap<String, String> = request
        .uri()
        .query()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    if let Some(attrs) = authz::attributes(request.method().as_str(), request.uri().path(), &query)
    {
        // The `forbid` fault denies a whole namespace, whoever asks; RBAC decides the rest.
        let faulted = !attrs.namespace.is_empty() && cluster.faults.is_forbidden(&attrs.namespace);
        if faulted
            || matches!(
                authz::authorize(&cluster.store, &identity, &attrs),
                Decision::Denied
            )
        {
            cluster.faults.refused(&identity.user, attrs.to_string());
            let status = authz::forbidden(&identity, &attrs);
            return (StatusCode::FORBIDDEN, json_response(&status)).into_response();
        }
    }
    request.extensions_mut().insert(identity);
    let run = cluster.faults.current_run();
    tokio::select! {
        _ = cluster.faults.wait_unstalled() => {}
        _ = run.cancelled() => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
    next.run(request).await
}

/// The union of the authenticators (apiserver `pkg/authentication/request/union`): the first
/// that recognises the request wins; none is a 401. A revoked token (the fault) stops every
/// bearer token, not client certificates.
fn authenticate(cluster: &Cluster, request: &Request) -> Option<Identity> {
    if let Some(PeerCertificate::Valid(identity)) = request.extensions().get::<PeerCertificate>() {
        return Some(identity.clone());
    }
    let token = bearer(request.headers());
    if token.is_empty() || cluster.faults.is_revoked() {
        return None;
    }
    if cluster.faults.admin_token_ok(token) {
        return Some(Identity::admin());
    }
    cluster
        .tokens
        .verify(token, API_AUDIENCE)
        .or_else(|| cluster.tokens.verify(token, OIDC_CLIENT_ID))
}

/// Responses larger than this are gzipped for clients that accept it.
const GZIP_THRESHOLD: usize = 128 * 1024;

/// As kube-apiserver does (`endpoints/handlers/responsewriters/writers.go`: a response whose
/// body is over 128 KiB is gzipped, level 1, when the request says `Accept-Encoding: gzip`).
/// Only whole bodies (lists, gets): streams (watches, logs, upgrades) pass as they are.
async fn compress(request: Request, next: Next) -> Response {
    let accepts = request
        .headers()
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
    let response = next.run(request).await;
    let whole = axum::body::HttpBody::size_hint(response.body()).exact();
    if !accepts || whole.is_none_or(|n| n as usize <= GZIP_THRESHOLD) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 8),
        flate2::Compression::new(1),
    );
    let compressed =
        std::io::Write::write_all(&mut encoder, &bytes).and_then(|()| encoder.finish());
    let Ok(compressed) = compressed else {
        return Response::from_parts(parts, axum::body::Body::from(bytes));
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_ENCODING,
        header::HeaderValue::from_static("gzip"),
    );
    parts.headers.append(
        header::VARY,
        header::HeaderValue::from_static("Accept-Encoding"),
    );
    Response::from_parts(parts, axum::body::Body::from(compressed))
}

/// A JSON body with its content type.
pub fn json_response(value: &serde_json::Value) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}
