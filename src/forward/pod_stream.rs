//! One port-forward stream to a pod over the `v4.channel.k8s.io` fallback (one WebSocket per
//! local connection, no half-close), as a byte stream (`AsyncRead` + `AsyncWrite`).
//!
//! kube-rs's `Api::portforward` does the same through a 1 MiB in-memory pipe and a task, and cuts
//! what the client sends into 4 KiB frames; through TLS and WebSocket framing on both sides that
//! capped a forward at 0.3 of the backend's own speed. Here each write is one frame (up to the
//! caller's buffer), each frame read is handed over without another copy, and the pod's error
//! channel turns into a read error, so a cut transfer can never look like a clean end. The byte
//! stream is kube-spdy's `MessageIo` (tokio-util's `StreamReader` and `SinkWriter`); this module
//! says what v4's messages mean (`V4Channels`).

use std::io;

use bytes::Bytes;
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use k8s_openapi::api::core::v1::Pod;
use kube::Resource;
use kube_spdy::ws_io::{Framing, Inbound, MessageIo};
use tokio_tungstenite::tungstenite::Message;

/// The data channel of the (only) port; its error channel is the next one.
const DATA: u8 = 0;
const ERROR: u8 = 1;

/// What one binary message from the pod's side says.
#[derive(Debug, PartialEq, Eq)]
pub enum V4Message {
    Data(Bytes),
    /// The kubelet's error channel: the transfer failed.
    Error(String),
    Nothing,
}

/// The channels of one port, read message by message: the first message on each channel is
/// the port number (2 bytes, little-endian), not data (kubelet `portforward/websocket.go`).
#[derive(Debug, Default)]
pub struct V4Channels {
    data_started: bool,
    error_started: bool,
}

impl V4Channels {
    /// What `message` (channel byte, then payload) says.
    pub fn read(&mut self, mut message: Bytes) -> V4Message {
        if message.is_empty() {
            return V4Message::Nothing;
        }
        let channel = message.split_to(1)[0];
        match channel {
            DATA if !self.data_started => {
                // The port number; anything after it is data.
                self.data_started = true;
                V4Message::Data(message.slice(message.len().min(2)..))
            }
            DATA => V4Message::Data(message),
            ERROR if !self.error_started => {
                self.error_started = true;
                V4Message::Nothing
            }
            ERROR if message.is_empty() => V4Message::Nothing,
            ERROR => V4Message::Error(String::from_utf8_lossy(&message).into_owned()),
            _ => V4Message::Nothing,
        }
    }
}

impl Framing for V4Channels {
    fn inbound(&mut self, message: Message) -> Inbound {
        let Message::Binary(frame) = message else {
            return Inbound::Skip;
        };
        match self.read(frame) {
            V4Message::Data(data) => Inbound::Data(data),
            V4Message::Error(text) => {
                Inbound::Fail(io::Error::new(io::ErrorKind::ConnectionReset, text))
            }
            V4Message::Nothing => Inbound::Skip,
        }
    }

    /// The data channel's byte, then the data.
    fn outbound(&self, data: &[u8]) -> Message {
        let mut frame = Vec::with_capacity(data.len() + 1);
        frame.push(DATA);
        frame.extend_from_slice(data);
        Message::binary(frame)
    }
}

/// One port-forward stream over `v4.channel.k8s.io`. It has no half-close: shutting it down
/// ends the whole stream, and the API server drops whatever the pod was still sending, so
/// `connection` shuts it down only at the final close, never for a client's half-close.
pub type V4Stream = MessageIo<TokioIo<Upgraded>, V4Channels>;

/// Opens a port-forward to `port` of the pod.
pub async fn connect(
    client: &kube::Client,
    namespace: &str,
    pod: &str,
    port: u16,
) -> Result<V4Stream, kube::Error> {
    let request = kube::core::Request::new(Pod::url_path(&(), Some(namespace)))
        .portforward(pod, &[port])
        .map_err(kube::Error::BuildRequest)?;
    let ws = client.connect(request).await?.into_stream();
    Ok(MessageIo::with_framing(ws, V4Channels::default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_port_numbers_are_not_data_and_the_error_channel_ends_the_transfer() {
        let mut channels = V4Channels::default();
        let read = |c: &mut V4Channels, bytes: &'static [u8]| c.read(Bytes::from_static(bytes));
        assert_eq!(read(&mut channels, b""), V4Message::Nothing);
        assert_eq!(
            read(&mut channels, b"\x00\x50\x1fhi"),
            V4Message::Data(Bytes::from_static(b"hi"))
        );
        assert_eq!(read(&mut channels, b"\x01\x50\x1f"), V4Message::Nothing);
        assert_eq!(
            read(&mut channels, b"\x00\x50\x1f"),
            V4Message::Data(Bytes::from_static(b"\x50\x1f"))
        );
        assert_eq!(read(&mut channels, b"\x01"), V4Message::Nothing);
        assert_eq!(read(&mut channels, b"\x02junk"), V4Message::Nothing);
        assert_eq!(
            read(&mut channels, b"\x01error forwarding port"),
            V4Message::Error("error forwarding port".into())
        );
    }
}
