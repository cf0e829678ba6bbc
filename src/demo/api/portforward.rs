//! `pods/portforward` over WebSocket, in the `v4.channel.k8s.io` channel protocol that kube-rs
//! speaks: for the i-th requested port, channel 2i carries data and 2i+1 errors; the first frame
//! on each channel is the port number (u16, little-endian); every frame starts with its channel.
//! Each port is connected to the pod's real backend on loopback.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::mpsc;

use super::super::kinds::Kind;

use super::{ApiError, ApiState, Verb};

pub const PROTOCOL: &str = "v4.channel.k8s.io";
/// Bytes read from a backend per WebSocket frame.
const FRAME_SIZE: usize = 64 * 1024;

pub async fn handle(
    State(state): State<ApiState>,
    Path((namespace, name)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    state.faults.count(Verb::PortForward);
    let ports = match parse_ports(query.as_deref().unwrap_or_default()) {
        Ok(ports) => ports,
        Err(e) => return e.into_response(),
    };
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
    let Ok(upgrade) = upgrade else {
        return ApiError::bad_request("port-forward needs a WebSocket upgrade (v4.channel.k8s.io)")
            .into_response();
    };
    let run = state.faults.current_run();
    upgrade
        .protocols([PROTOCOL])
        .max_frame_size(16 << 20)
        .on_upgrade(move |socket| async move {
            tokio::select! {
                _ = run.cancelled() => {}
                _ = forward(socket, state, pod, ports) => {}
            }
        })
}

/// `ports=80,8080` (kube-rs) or `ports=80&ports=8080`.
fn parse_ports(query: &str) -> Result<Vec<u16>, ApiError> {
    let mut ports = Vec::new();
    for (key, value) in form_pairs(query) {
        if key != "ports" {
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
        return Err(ApiError::bad_request("at least one port must be given"));
    }
    Ok(ports)
}

fn form_pairs(query: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query).unwrap_or_default()
}

enum Outgoing {
    Frame(Vec<u8>),
    PortClosed,
}

async fn forward(socket: WebSocket, state: ApiState, pod: Arc<Value>, ports: Vec<u16>) {
    let (mut sink, mut stream) = socket.split();
    let pod_name = pod["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let namespace = pod["metadata"]["namespace"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    for (i, port) in ports.iter().enumerate() {
        for channel in [2 * i as u8, 2 * i as u8 + 1] {
            let mut frame = vec![channel];
            frame.extend_from_slice(&port.to_le_bytes());
            if sink.send(Message::Binary(frame.into())).await.is_err() {
                return;
            }
        }
    }
    let (out_tx, mut out_rx) = mpsc::channel::<Outgoing>(16);
    let mut writers: HashMap<u8, OwnedWriteHalf> = HashMap::new();
    for (i, port) in ports.iter().copied().enumerate() {
        let channel = 2 * i as u8;
        let connected = match state.backends.address(&pod, port).await {
            Ok(addr) => TcpStream::connect(addr).await,
            Err(e) => Err(e),
        };
        match connected {
            Ok(stream) => {
                let _ = stream.set_nodelay(true);
                let (reader, writer) = stream.into_split();
                writers.insert(channel, writer);
                tokio::spawn(pump_from_backend(
                    reader,
                    channel,
                    port,
                    out_tx.clone(),
                    state.clone(),
                    namespace.clone(),
                    pod_name.clone(),
                ));
            }
            Err(e) => {
                let message = format!(
                    "error forwarding port {port} to pod {pod_name}: failed to connect to localhost:{port}: {e}"
                );
                let mut frame = vec![channel + 1];
                frame.extend_from_slice(message.as_bytes());
                let _ = out_tx.send(Outgoing::Frame(frame)).await;
                let _ = out_tx.send(Outgoing::PortClosed).await;
            }
        }
    }
    drop(out_tx);
    let open_ports = ports.len();
    // v4 has no half-close: when the client closes the WebSocket, the API server ends the whole
    // stream (a kubelet sends nothing more), so the demo does too rather than finish replying.
    let client_closed = tokio_util::sync::CancellationToken::new();
    let client_gone = client_closed.clone();
    let to_client = async move {
        let mut closed = 0;
        loop {
            let outgoing = tokio::select! {
                _ = client_gone.cancelled() => break,
                outgoing = out_rx.recv() => match outgoing {
                    Some(outgoing) => outgoing,
                    None => break,
                },
            };
            match outgoing {
                Outgoing::Frame(frame) => {
                    if sink.send(Message::Binary(frame.into())).await.is_err() {
                        return;
                    }
                }
                Outgoing::PortClosed => {
                    closed += 1;
                    if closed == open_ports {
                        break;
                    }
                }
            }
        }
        // Every backend connection ended (v4 has no per-stream close) or the client left.
        let _ = sink.send(Message::Close(None)).await;
        let _ = sink.close().await;
    };
    let from_client = async move {
        while let Some(Ok(message)) = stream.next().await {
            match message {
                Message::Binary(data) if data.len() > 1 => {
                    if let Some(writer) = writers.get_mut(&data[0])
                        && writer.write_all(&data[1..]).await.is_err()
                    {
                        writers.remove(&data[0]);
                    }
                }
                Message::Close(_) => break,
                _ => {}
            }
        }
        client_closed.cancel();
        // Dropping the backend connections closes them; the close reply still goes out.
        drop(writers);
        std::future::pending::<()>().await;
    };
    tokio::select! {
        _ = to_client => {}
        _ = from_client => {}
    }
}

async fn pump_from_backend(
    mut reader: tokio::net::tcp::OwnedReadHalf,
    channel: u8,
    port: u16,
    out: mpsc::Sender<Outgoing>,
    state: ApiState,
    namespace: String,
    pod_name: String,
) {
    let mut buf = vec![0u8; FRAME_SIZE + 1];
    loop {
        buf[0] = channel;
        match reader.read(&mut buf[1..]).await {
            Ok(0) => break,
            Ok(n) => {
                if out.send(Outgoing::Frame(buf[..=n].to_vec())).await.is_err() {
                    return;
                }
            }
            Err(_) => break,
        }
    }
    // A backend that went away because its pod's processes were stopped (it died, or its
    // grace period ended) is an error the client must see, as kubelet reports it; a backend
    // that closed its side (a reply with `Connection: close`) is a clean end of stream, also
    // from a terminating pod, which still serves.
    let pod_gone = !state.backends.is_serving(&namespace, &pod_name);
    if pod_gone {
        let message =
            format!("error forwarding port {port} to pod {pod_name}: lost connection to pod");
        let mut frame = vec![channel + 1];
        frame.extend_from_slice(message.as_bytes());
        let _ = out.send(Outgoing::Frame(frame)).await;
    }
    let _ = out.send(Outgoing::PortClosed).await;
}
