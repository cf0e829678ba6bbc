//! `pods/{name}/exec`, as a Kubernetes 1.33 API server and kubelet serve it, running the demo
//! pod's own interpreter (`pod_shell`), never a host process.
//!
//! - Before any upgrade, the request is checked as the apiserver and kubelet check it: the pod
//!   (404), the container (`validateContainer`, 400, as for logs), a command, at least one
//!   stream (cri-streaming `remotecommand/httpstream.go` `NewOptions`, which also drops stderr
//!   with a TTY), and a running container, else 500 `container not found ("c")` in plain text
//!   (kubelet `GetExec`, written by `streaming.WriteError`).
//! - WebSocket: `v5.channel.k8s.io` when offered (the apiserver's stream translator,
//!   `apiserver/pkg/util/proxy/websocket.go`), else `v4.channel.k8s.io` (the kubelet's,
//!   cri-streaming `remotecommand/websocket.go`). Binary frames whose first byte is the channel:
//!   0 stdin, 1 stdout, 2 stderr, 3 the status, 4 resize (`{"Width":…,"Height":…}` lines), and
//!   in v5 `[255, 0]`, the client closing stdin. The first frame is an empty one on stdout
//!   (else stderr, else the status channel) to say the streams are ready; the last is the
//!   status, then a normal close.
//! - SPDY (`POST` with `Upgrade: SPDY/3.1`, what kubectl 1.27-1.29 speak and 1.30+ fall back
//!   to) is not served: a 400 Status says so, which kubectl prints as `Error from server
//!   (BadRequest): …`.

use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;

use super::super::kinds::Kind;
use super::super::pod_shell::PodView;
use super::logs::choose_container;
use super::{ApiError, ApiState, Verb};

const V5: &str = "v5.channel.k8s.io";
const V4: &str = "v4.channel.k8s.io";

mod session;

/// `PodExecOptions` from the query, as the kubelet reads them.
#[derive(Debug, Default)]
struct Options {
    command: Vec<String>,
    container: Option<String>,
    stdin: bool,
    stdout: bool,
    stderr: bool,
    tty: bool,
}

impl Options {
    fn parse(query: &str) -> Options {
        let pairs = serde_urlencoded::from_str::<Vec<(String, String)>>(query).unwrap_or_default();
        let mut options = Options::default();
        let flag = |v: &str| v == "true" || v == "1";
        for (key, value) in pairs {
            match key.as_str() {
                "command" => options.command.push(value),
                "container" => options.container = Some(value),
                "stdin" => options.stdin = flag(&value),
                "stdout" => options.stdout = flag(&value),
                "stderr" => options.stderr = flag(&value),
                "tty" => options.tty = flag(&value),
                _ => {}
            }
        }
        // "Access to exec with tty and stderr is not supported, bypassing stderr".
        if options.tty {
            options.stderr = false;
        }
        options
    }
}

pub async fn handle(
    State(state): State<ApiState>,
    Path((namespace, name)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    mut request: Request,
) -> Response {
    state.faults.count(Verb::Other);
    let Some(pod) = state.store.get(Kind::Pod, &namespace, &name) else {
        return ApiError::not_found("pods", &name).into_response();
    };
    let options = Options::parse(query.as_deref().unwrap_or_default());
    let container = match choose_container(&pod, options.container.as_deref()) {
        Ok(container) => container,
        Err(e) => return e.into_response(),
    };
    if options.command.is_empty() {
        // kubectl checks this itself (`exec.go` Validate) with these words.
        return ApiError::bad_request("you must specify at least one command for the container")
            .into_response();
    }
    if !(options.stdin || options.stdout || options.stderr) {
        return ApiError::bad_request("you must specify at least 1 of stdin, stdout, stderr")
            .into_response();
    }
    if !container_running(&pod, &container) {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("container not found (\"{container}\")"),
        )
            .into_response();
    }
    let Some(on_upgrade) = request.extensions_mut().remove::<OnUpgrade>() else {
        return ApiError::bad_request("Upgrade request required").into_response();
    };
    let headers = request.headers();
    let upgrade = text(headers.get(header::UPGRADE)).to_ascii_lowercase();
    if !upgrade.contains("websocket") {
        return ApiError::bad_request(
            "the demo cluster serves exec over WebSocket only (v5.channel.k8s.io, v4.channel.k8s.io), \
             as kubectl 1.30 and newer speak it; SPDY is not served",
        )
        .into_response();
    }
    let Some(key) = headers.get(header::SEC_WEBSOCKET_KEY) else {
        return ApiError::bad_request("missing Sec-WebSocket-Key").into_response();
    };
    let offered: Vec<String> = headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .flat_map(|v| v.to_str().unwrap_or_default().split(','))
        .map(|p| p.trim().to_string())
        .collect();
    let Some(protocol) = [V5, V4]
        .into_iter()
        .find(|p| offered.iter().any(|o| o == p))
    else {
        return ApiError::bad_request(format!(
            "unable to upgrade: none of the offered subprotocols {offered:?} is supported (v5.channel.k8s.io, v4.channel.k8s.io)"
        ))
        .into_response();
    };
    let accept = derive_accept_key(key.as_bytes());
    let view = pod_view(&pod, &container);
    state.faults.current_run().spawn(async move {
        let io = match on_upgrade.await {
            Ok(upgraded) => TokioIo::new(upgraded),
            Err(e) => {
                tracing::debug!("exec upgrade failed: {e}");
                return;
            }
        };
        let ws = WebSocketStream::from_raw_socket(io, Role::Server, None).await;
        session::serve(ws, protocol == V5, options, view).await;
    });
    let mut response = StatusCode::SWITCHING_PROTOCOLS.into_response();
    let answer = response.headers_mut();
    answer.insert(
        header::UPGRADE,
        header::HeaderValue::from_static("websocket"),
    );
    answer.insert(
        header::CONNECTION,
        header::HeaderValue::from_static("Upgrade"),
    );
    if let Ok(accept) = header::HeaderValue::from_str(&accept) {
        answer.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    answer.insert(
        header::SEC_WEBSOCKET_PROTOCOL,
        header::HeaderValue::from_static(protocol),
    );
    response
}

fn text(value: Option<&header::HeaderValue>) -> String {
    value
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// Whether `container` of the pod has a running process to join (the kubelet finds only
/// running containers).
fn container_running(pod: &Value, container: &str) -> bool {
    ["containerStatuses", "initContainerStatuses"]
        .iter()
        .flat_map(|field| pod["status"][field].as_array().into_iter().flatten())
        .any(|s| s["name"] == container && s["state"]["running"].is_object())
}

fn pod_view(pod: &Value, container: &str) -> PodView {
    let spec = ["containers", "initContainers"]
        .iter()
        .flat_map(|field| pod["spec"][field].as_array().into_iter().flatten())
        .find(|c| c["name"] == container);
    let env = spec
        .and_then(|c| c["env"].as_array())
        .into_iter()
        .flatten()
        .filter_map(|e| {
            Some((
                e["name"].as_str()?.to_string(),
                e["value"].as_str()?.to_string(),
            ))
        })
        .collect();
    PodView {
        name: pod["metadata"]["name"].as_str().unwrap_or_default().into(),
        namespace: pod["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .into(),
        ip: pod["status"]["podIP"].as_str().unwrap_or_default().into(),
        env,
    }
}
