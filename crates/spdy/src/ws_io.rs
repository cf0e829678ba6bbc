//! A byte stream carried in WebSocket messages (`AsyncRead` + `AsyncWrite`), for the two ways
//! Kubernetes does it: SPDY tunnelled through a WebSocket as KEP-4006 does (client-go
//! `tools/portforward/tunneling_connection.go`: binary messages only, no channel byte, the stream
//! being the concatenation of their payloads; message boundaries mean nothing, as kubectl sends
//! a SYN_STREAM as eight messages, and empty ones; a text message is fatal; a close ends the
//! stream), and the `v4.channel.k8s.io` protocol, whose messages carry a channel byte (the
//! product's `Framing` for it lives with its port-forward stream). Each write is one message.
//!
//! The buffering is tokio-util's: `StreamReader` reads the payloads as bytes, `SinkWriter`
//! writes bytes as messages; a `Framing` says what each message means and how data is sent.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use futures::{Sink, Stream};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_util::io::{SinkWriter, StreamReader};

/// What one message read from the peer means for the byte stream.
pub enum Inbound {
    /// Bytes of the stream.
    Data(Bytes),
    /// Nothing for the stream (a ping, a channel's header).
    Skip,
    /// The stream failed: the read gives this error, and every later read the end.
    Fail(io::Error),
}

/// How a protocol's messages carry the byte stream.
pub trait Framing {
    /// What a message other than a close means (a close always ends the stream).
    fn inbound(&mut self, message: Message) -> Inbound;
    /// The message that carries `data` to the peer.
    fn outbound(&self, data: &[u8]) -> Message;
}

/// KEP-4006's tunnel: the stream is the binary messages' payloads; a text message is fatal.
#[derive(Debug, Default)]
pub struct Tunnel;

impl Framing for Tunnel {
    fn inbound(&mut self, message: Message) -> Inbound {
        match message {
            Message::Binary(data) => Inbound::Data(data),
            Message::Text(_) => Inbound::Fail(io::Error::new(
                io::ErrorKind::InvalidData,
                "invalid message type received (text) in a SPDY tunnel",
            )),
            // Pings are answered by tungstenite itself.
            _ => Inbound::Skip,
        }
    }

    fn outbound(&self, data: &[u8]) -> Message {
        Message::binary(Bytes::copy_from_slice(data))
    }
}

/// A WebSocket's messages as one byte stream, framed by `F`.
pub struct MessageIo<S, F> {
    inner: SinkWriter<StreamReader<Messages<S, F>, Bytes>>,
}

/// The byte stream that KEP-4006 tunnels SPDY through.
pub type WsIo<S> = MessageIo<S, Tunnel>;

impl<S: AsyncRead + AsyncWrite + Unpin> MessageIo<S, Tunnel> {
    /// The byte stream of `ws`, tunnelled as KEP-4006 does.
    pub fn new(ws: WebSocketStream<S>) -> Self {
        MessageIo::with_framing(ws, Tunnel)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin, F: Framing + Unpin> MessageIo<S, F> {
    /// The byte stream of `ws`, its messages framed by `framing`.
    pub fn with_framing(ws: WebSocketStream<S>, framing: F) -> Self {
        MessageIo {
            inner: SinkWriter::new(StreamReader::new(Messages {
                ws,
                framing,
                read_done: false,
                closing: false,
            })),
        }
    }
}

/// A WebSocket error as the `io::Error` a byte stream gives: the socket's own error as it is, a
/// connection already closed as `BrokenPipe` (what a write to a closed socket gives), anything
/// else (a protocol error) as `ConnectionReset`.
pub fn io_error(e: tungstenite::Error) -> io::Error {
    match e {
        tungstenite::Error::Io(e) => e,
        tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed => {
            io::ErrorKind::BrokenPipe.into()
        }
        other => io::Error::new(io::ErrorKind::ConnectionReset, other),
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin, F: Framing + Unpin> AsyncRead for MessageIo<S, F> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin, F: Framing + Unpin> AsyncWrite for MessageIo<S, F> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    /// Flushes what was written, then a close message (1000, normal), as client-go's tunnel
    /// ends. In `v4.channel.k8s.io`, which has no half-close, this ends the whole stream.
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The WebSocket as a stream of payloads (what `StreamReader` reads) and a sink of data (what
/// `SinkWriter` writes).
struct Messages<S, F> {
    ws: WebSocketStream<S>,
    framing: F,
    /// The read side ended (cleanly or not): later reads give the end.
    read_done: bool,
    /// The close has begun (after a flush of what was written).
    closing: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin, F: Framing + Unpin> Stream for Messages<S, F> {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        while !this.read_done {
            let message = match ready!(Pin::new(&mut this.ws).poll_next(cx)) {
                Some(Ok(Message::Close(_))) | None => break,
                Some(Ok(message)) => message,
                Some(Err(e)) => {
                    this.read_done = true;
                    return Poll::Ready(Some(Err(io_error(e))));
                }
            };
            match this.framing.inbound(message) {
                Inbound::Data(data) => return Poll::Ready(Some(Ok(data))),
                Inbound::Skip => {}
                Inbound::Fail(e) => {
                    this.read_done = true;
                    return Poll::Ready(Some(Err(e)));
                }
            }
        }
        this.read_done = true;
        Poll::Ready(None)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin, F: Framing + Unpin> Sink<&[u8]> for Messages<S, F> {
    type Error = io::Error;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.ws).poll_ready(cx).map_err(io_error)
    }

    fn start_send(mut self: Pin<&mut Self>, data: &[u8]) -> io::Result<()> {
        let message = self.framing.outbound(data);
        Pin::new(&mut self.ws).start_send(message).map_err(io_error)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.ws).poll_flush(cx).map_err(io_error)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
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
