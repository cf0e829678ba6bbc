//! Port-forward in the `v4.channel.k8s.io` WebSocket protocol that kube-rs speaks (kubelet
//! `portforward/websocket.go`): for the i-th requested port, channel 2i carries data and 2i+1
//! errors; the first message on each channel is the port (u16, little-endian); every message
//! starts with its channel. Each port is connected at once. There is no half-close: the client
//! can only end by closing the WebSocket, and the connection closes when every port has ended.

use std::collections::HashMap;

use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

use super::kubelet::PodSandbox;

pub const PROTOCOL: &str = "v4.channel.k8s.io";
/// Bytes read from the container per message.
const FRAME_SIZE: usize = 64 * 1024;

enum Outgoing {
    Frame(Vec<u8>),
    PortClosed,
}

/// Serves one WebSocket: `ports` connected to the pod until every one has ended or the client
/// closes.
pub async fn serve<S>(ws: WebSocketStream<S>, sandbox: PodSandbox, ports: Vec<u16>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sink, mut stream) = ws.split();
    for (i, port) in ports.iter().enumerate() {
        for channel in [2 * i as u8, 2 * i as u8 + 1] {
            let mut frame = vec![channel];
            frame.extend_from_slice(&port.to_le_bytes());
            if sink.send(Message::Binary(frame.into())).await.is_err() {
                return;
            }
        }
    }
    let sandbox = std::sync::Arc::new(sandbox);
    let (out_tx, mut out_rx) = mpsc::channel::<Outgoing>(16);
    let mut writers: HashMap<u8, OwnedWriteHalf> = HashMap::new();
    for (i, port) in ports.iter().copied().enumerate() {
        let channel = 2 * i as u8;
        match sandbox.connect(port).await {
            Ok(stream) => {
                let (reader, writer) = stream.into_split();
                writers.insert(channel, writer);
                tokio::spawn(pump_from_container(
                    reader,
                    channel,
                    port,
                    out_tx.clone(),
                    sandbox.clone(),
                ));
            }
            Err(cause) => {
                let mut frame = vec![channel + 1];
                frame.extend_from_slice(sandbox.error_message(port, &cause).as_bytes());
                let _ = out_tx.send(Outgoing::Frame(frame)).await;
                let _ = out_tx.send(Outgoing::PortClosed).await;
            }
        }
    }
    drop(out_tx);
    let open_ports = ports.len();
    // When the client closes the WebSocket the whole forward ends: nothing more is sent.
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
        // Dropping the connections to the container closes them; the close reply still goes.
        drop(writers);
        std::future::pending::<()>().await;
    };
    tokio::select! {
        _ = to_client => {}
        _ = from_client => {}
    }
}

async fn pump_from_container(
    mut reader: tokio::net::tcp::OwnedReadHalf,
    channel: u8,
    port: u16,
    out: mpsc::Sender<Outgoing>,
    sandbox: std::sync::Arc<PodSandbox>,
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
    // The container closed its side (a reply with `Connection: close`): a clean end, also from
    // a terminating pod, which still serves. Its processes killed under the copy: an error.
    if !sandbox.is_running() {
        let message = sandbox.error_message(port, &sandbox.reset_cause(port));
        let mut frame = vec![channel + 1];
        frame.extend_from_slice(message.as_bytes());
        let _ = out.send(Outgoing::Frame(frame)).await;
    }
    let _ = out.send(Outgoing::PortClosed).await;
}
