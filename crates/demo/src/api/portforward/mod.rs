//! `pods/{name}/portforward`, in every protocol a Kubernetes 1.33 API server serves:
//! - a WebSocket offering `SPDY/3.1+portforward.k8s.io`: SPDY tunnelled in binary messages
//!   (KEP-4006; `apiserver/pkg/util/proxy/streamtunnel.go` answers it with that subprotocol and
//!   relays the kubelet's SPDY bytes), what kubectl 1.31+ tries first;
//! - the legacy upgrade, `POST` with `Upgrade: SPDY/3.1` and `X-Stream-Protocol-Version:
//!   portforward.k8s.io`, answered `101` with the version echoed (kubelet
//!   `portforward/httpstream.go` `handleHTTPStreams`, apimachinery `httpstream.Handshake`),
//!   kubectl's fallback and what kubectl before 1.30 speaks;
//! - a WebSocket in `v4.channel.k8s.io` with the ports in the query (kubelet
//!   `portforward/websocket.go`), what kube-rs speaks.
//!
//! The pod must be Running. Everything else is the pod's side (`kubelet`).

mod kubelet;
mod spdy;
mod v4;

use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;

use super::super::kinds::Kind;
use super::{ApiError, ApiState, Verb};
use crate::faults::ServerRun;
use kube_spdy::ws_io::WsIo;
use kubelet::PodSandbox;

/// The port-forward protocol over SPDY; there is only this version (kubelet
/// `portforward/constants.go` `ProtocolV1Name`).
const SPDY_PROTOCOL: &str = "portforward.k8s.io";
/// The prefix a WebSocket subprotocol carries when it tunnels SPDY (`wsstream`).
const TUNNEL_PREFIX: &str = "SPDY/3.1+";
const STREAM_PROTOCOL_HEADER: &str = "x-stream-protocol-version";

pub async fn handle(
    State(state): State<ApiState>,
    Path((namespace, name)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    mut request: Request,
) -> Response {
    state.faults.count(Verb::PortForward);
    let Some(pod) = state.store.get(Kind::Pod, &namespace, &name) else {
        return ApiError::not_found("pods", &name).into_response();
    };
    // A terminating pod still forwards: the apiserver only needs the pod to have a node
    // (`PortForwardLocation`, pkg/registry/core/pod/strategy.go) and the kubelet serves it
    // while the pod sandbox exists (`getPortForward`, pkg/kubelet/server/server.go), which is
    // through the grace period. Its phase stays Running meanwhile.
    if pod["status"]["phase"] != "Running" {
        return ApiError::bad_request(format!(
            "unable to upgrade connection: pod {name} is not running"
        ))
        .into_response();
    }
    let Some(on_upgrade) = request.extensions_mut().remove::<OnUpgrade>() else {
        return ApiError::bad_request("Upgrade request required").into_response();
    };
    let headers = request.headers();
    let upgrade = header_text(headers, header::UPGRADE).to_ascii_lowercase();
    let sandbox = PodSandbox::new(state.clone(), pod);
    let run = state.faults.current_run();
    if upgrade.contains("websocket") {
        return websocket(headers, query.as_deref(), on_upgrade, sandbox, &run);
    }
    if upgrade.contains("spdy/3.1") {
        return spdy_upgrade(headers, on_upgrade, sandbox, &run);
    }
    ApiError::bad_request("Upgrade request required").into_response()
}

/// A WebSocket upgrade: SPDY tunnelled in it (`SPDY/3.1+portforward.k8s.io`), else the
/// `v4.channel.k8s.io` protocol, as the kubelet's `portforward` handler chooses.
fn websocket(
    headers: &HeaderMap,
    query: Option<&str>,
    on_upgrade: OnUpgrade,
    sandbox: PodSandbox,
    run: &ServerRun,
) -> Response {
    let Some(key) = headers.get(header::SEC_WEBSOCKET_KEY) else {
        return ApiError::bad_request("missing Sec-WebSocket-Key").into_response();
    };
    let accept = derive_accept_key(key.as_bytes());
    let offered: Vec<String> = header_text(headers, header::SEC_WEBSOCKET_PROTOCOL)
        .split(',')
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect();
    let tunnels: Vec<&str> = offered
        .iter()
        .filter_map(|p| p.strip_prefix(TUNNEL_PREFIX))
        .filter(|p| p.ends_with(".k8s.io"))
        .collect();
    if !tunnels.is_empty() {
        if !tunnels.contains(&SPDY_PROTOCOL) {
            return refuse_protocols(&tunnels);
        }
        let protocol = format!("{TUNNEL_PREFIX}{SPDY_PROTOCOL}");
        run.spawn(async move {
            let Some(io) = upgraded(on_upgrade).await else {
                return;
            };
            let ws = WebSocketStream::from_raw_socket(io, Role::Server, None).await;
            spdy::serve(WsIo::new(ws), sandbox).await;
        });
        return switching(&[
            (header::UPGRADE.as_str(), "websocket"),
            (header::CONNECTION.as_str(), "Upgrade"),
            (header::SEC_WEBSOCKET_ACCEPT.as_str(), &accept),
            (header::SEC_WEBSOCKET_PROTOCOL.as_str(), &protocol),
        ]);
    }
    // v4: the first protocol the client offers that the kubelet serves (none offered is
    // the plain binary protocol). `v4.base64.channel.k8s.io` is not served by the demo.
    let protocol = match offered.iter().find(|p| *p == v4::PROTOCOL) {
        Some(p) => Some(p.clone()),
        None if offered.is_empty() => None,
        None => {
            return ApiError::bad_request(format!(
                "unable to upgrade: none of the offered subprotocols {offered:?} is supported"
            ))
            .into_response();
        }
    };
    let ports = match parse_ports(query.unwrap_or_default()) {
        Ok(ports) => ports,
        Err(e) => return e.into_response(),
    };
    run.spawn(async move {
        let Some(io) = upgraded(on_upgrade).await else {
            return;
        };
        let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
            .max_frame_size(Some(16 << 20));
        let ws = WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await;
        v4::serve(ws, sandbox, ports).await;
    });
    let mut answer = vec![
        (header::UPGRADE.as_str(), "websocket"),
        (header::CONNECTION.as_str(), "Upgrade"),
        (header::SEC_WEBSOCKET_ACCEPT.as_str(), accept.as_str()),
    ];
    if let Some(protocol) = &protocol {
        answer.push((header::SEC_WEBSOCKET_PROTOCOL.as_str(), protocol));
    }
    switching(&answer)
}

/// The legacy SPDY/3.1 upgrade, with the `X-Stream-Protocol-Version` negotiation of
/// apimachinery's `httpstream.Handshake`.
fn spdy_upgrade(
    headers: &HeaderMap,
    on_upgrade: OnUpgrade,
    sandbox: PodSandbox,
    run: &ServerRun,
) -> Response {
    if !header_text(headers, header::CONNECTION)
        .to_ascii_lowercase()
        .contains("upgrade")
    {
        return plain(
            StatusCode::BAD_REQUEST,
            "unable to upgrade: missing upgrade headers in request",
        );
    }
    let versions: Vec<String> = headers
        .get_all(STREAM_PROTOCOL_HEADER)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|v| v.trim().to_string())
        .collect();
    if versions.is_empty() {
        return plain(
            StatusCode::BAD_REQUEST,
            &format!(
                "unable to upgrade: header {} does not exist in request with {} headers",
                "X-Stream-Protocol-Version",
                headers.len()
            ),
        );
    }
    if !versions.iter().any(|v| v == SPDY_PROTOCOL) {
        let mut response = plain(
            StatusCode::FORBIDDEN,
            &format!(
                "unable to upgrade: unable to negotiate protocol: client supports {versions:?}, server accepts [\"{SPDY_PROTOCOL}\"]"
            ),
        );
        response.headers_mut().insert(
            "x-accepted-stream-protocol-versions",
            HeaderValue::from_static(SPDY_PROTOCOL),
        );
        return response;
    }
    run.spawn(async move {
        let Some(io) = upgraded(on_upgrade).await else {
            return;
        };
        spdy::serve(io, sandbox).await;
    });
    switching(&[
        (header::CONNECTION.as_str(), "Upgrade"),
        (header::UPGRADE.as_str(), "SPDY/3.1"),
        ("X-Stream-Protocol-Version", SPDY_PROTOCOL),
    ])
}

async fn upgraded(on_upgrade: OnUpgrade) -> Option<TokioIo<hyper::upgrade::Upgraded>> {
    match on_upgrade.await {
        Ok(upgraded) => Some(TokioIo::new(upgraded)),
        Err(e) => {
            tracing::debug!("port-forward upgrade failed: {e}");
            None
        }
    }
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> String {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",")
}

fn switching(headers: &[(&str, &str)]) -> Response {
    let mut response = StatusCode::SWITCHING_PROTOCOLS.into_response();
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            header::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// A plain-text refusal, as `http.Error` writes the kubelet's handshake errors.
fn plain(status: StatusCode, text: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{text}\n"),
    )
        .into_response()
}

fn refuse_protocols(offered: &[&str]) -> Response {
    plain(
        StatusCode::FORBIDDEN,
        &format!(
            "unable to upgrade: unable to negotiate protocol: client supports {offered:?}, server accepts [\"{SPDY_PROTOCOL}\"]"
        ),
    )
}

/// `ports=80,8080` (kube-rs) or `ports=80&ports=8080` (and the kubelet's own `port`).
fn parse_ports(query: &str) -> Result<Vec<u16>, ApiError> {
    let mut ports = Vec::new();
    let pairs = serde_urlencoded::from_str::<Vec<(String, String)>>(query).unwrap_or_default();
    for (key, value) in pairs {
        if key != "ports" && key != "port" {
            continue;
        }
        for port in value.split(',').filter(|p| !p.is_empty()) {
            match port.trim().parse::<u16>() {
                Ok(p) if p > 0 => ports.push(p),
                _ => return Err(ApiError::bad_request(format!("invalid port {port:?}"))),
            }
        }
    }
    if ports.is_empty() {
        return Err(ApiError::bad_request(
            "query parameter \"port\" is required",
        ));
    }
    Ok(ports)
}
