//! One port-forward stream to a pod over the `v4.channel.k8s.io` fallback (one WebSocket per
//! local connection, no half-close), as a byte stream (`AsyncRead` + `AsyncWrite`).
//!
//! kube-rs's `Api::portforward` does the same through a 1 MiB in-memory pipe and a task, and cuts
//! what the client sends into 4 KiB frames; through TLS and WebSocket framing on both sides that
//! capped a forward at 0.3 of the backend's own speed. Here each write is one frame (up to the
//! caller's buffer), each frame read is handed over without another copy, and the pod's error
//! channel turns into a read error, so a cut transfer can never look like a clean end.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes};
use futures::{Sink, Stream};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use k8s_openapi::api::core::v1::Pod;
use kube::Resource;
use kube_spdy::ws_io::io_error;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::{self, Message};

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

pub struct V4Stream {
    ws: WebSocketStream<TokioIo<Upgraded>>,
    /// What is left of the last data frame.
    pending: Bytes,
    channels: V4Channels,
    /// The read side ended (cleanly or not): later reads return EOF.
    read_done: bool,
    closing: bool,
}

impl V4Stream {
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
        Ok(V4Stream {
            ws,
            pending: Bytes::new(),
            channels: V4Channels::default(),
            read_done: false,
            closing: false,
        })
    }
}

impl AsyncRead for V4Stream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if !this.pending.is_empty() {
                let n = this.pending.len().min(buf.remaining());
                buf.put_slice(&this.pending[..n]);
                this.pending.advance(n);
                return Poll::Ready(Ok(()));
            }
            if this.read_done {
                return Poll::Ready(Ok(()));
            }
            let message = match ready!(Pin::new(&mut this.ws).poll_next(cx)) {
                Some(Ok(message)) => message,
                Some(Err(e)) => {
                    this.read_done = true;
                    return Poll::Ready(Err(io_error(e)));
                }
                // The API server closed the connection: the pod's side has ended.
                None => {
                    this.read_done = true;
                    return Poll::Ready(Ok(()));
                }
            };
            match message {
                Message::Binary(frame) => match this.channels.read(frame) {
                    V4Message::Data(data) => this.pending = data,
                    V4Message::Error(text) => {
                        this.read_done = true;
                        return Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::ConnectionReset,
                            text,
                        )));
                    }
                    V4Message::Nothing => {}
                },
                Message::Close(_) => {
                    this.read_done = true;
                    return Poll::Ready(Ok(()));
                }
                _ => {}
            }
        }
    }
}

impl AsyncWrite for V4Stream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let mut ws = Pin::new(&mut self.ws);
        ready!(ws.as_mut().poll_ready(cx)).map_err(io_error)?;
        let mut frame = Vec::with_capacity(buf.len() + 1);
        frame.push(DATA);
        frame.extend_from_slice(buf);
        ws.start_send(Message::binary(frame)).map_err(io_error)?;
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.ws).poll_flush(cx).map_err(io_error)
    }

    /// Closes the WebSocket. v4 has no half-close: closing ends the whole stream, and the API
    /// server drops whatever the pod was still sending, so this is the final close only;
    /// `connection` never calls it for a client's half-close (see `connection::serve`).
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !self.closing {
            ready!(self.as_mut().poll_flush(cx))?;
            self.closing = true;
        }
        match ready!(Pin::new(&mut self.ws).poll_close(cx)) {
            Ok(()) | Err(tungstenite::Error::ConnectionClosed) => Poll::Ready(Ok(())),
            Err(e) => Poll::Ready(Err(io_error(e))),
        }
    }
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
