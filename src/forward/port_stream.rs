//! One local connection's stream to a pod's port, whichever transport carries it.
//!
//! Over SPDY it is a stream pair, as client-go's `handleConnection` opens it: an `error` stream
//! (half-closed at once: the client never writes on it) and a `data` stream, both with `port`
//! and a `requestid` the kubelet pairs them by. Unlike kubectl, the data stream's SYN_STREAM
//! and the first bytes follow the error stream's without waiting for SYN_REPLYs, so a new
//! connection costs no round trip before its first byte. Whatever the kubelet writes on the
//! error stream (`error forwarding port …`) turns the data stream's end into an error, so a cut
//! transfer never looks like a clean end. Over `v4.channel` it is `pod_stream::V4Stream`.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};

use super::pod_stream::V4Stream;
use crate::spdy::{Session, Stream};

/// How long a data stream's end waits for the error stream to say whether it was a failure.
const ERROR_STREAM_WAIT: Duration = Duration::from_secs(5);

pub enum PortStream {
    Spdy(Box<SpdyPair>),
    V4(Box<V4Stream>),
}

impl PortStream {
    /// Whether the client's half-close can be passed on (v4 has no way to say it).
    pub fn half_closes(&self) -> bool {
        matches!(self, PortStream::Spdy(_))
    }
}

type ErrorText = Pin<Box<dyn Future<Output = Option<String>> + Send>>;

pub struct SpdyPair {
    data: Stream,
    /// The error stream's text, read to its end.
    error: ErrorText,
    /// Once known: `Some(text)` for a failure, `None` for none.
    error_seen: Option<Option<String>>,
    /// Set when the data stream has ended and the error stream has not yet.
    error_wait: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl SpdyPair {
    /// Opens the pair for `port` on `session`, numbered `request`.
    pub async fn open(session: &Session, port: u16, request: u64) -> io::Result<SpdyPair> {
        let headers = |kind: &str| {
            vec![
                ("streamtype".to_string(), kind.to_string()),
                ("port".to_string(), port.to_string()),
                ("requestid".to_string(), request.to_string()),
            ]
        };
        // SYN_STREAM with FIN: the client never writes on its error stream.
        let mut error = session.open(headers("error"), true).await?;
        let data = session.open(headers("data"), false).await?;
        let error: ErrorText = Box::pin(async move {
            let mut text = Vec::new();
            let _ = error.read_to_end(&mut text).await;
            let text = String::from_utf8_lossy(&text).trim().to_string();
            (!text.is_empty()).then_some(text)
        });
        Ok(SpdyPair {
            data,
            error,
            error_seen: None,
            error_wait: None,
        })
    }

    /// The error stream's text, waiting for it at most `ERROR_STREAM_WAIT`.
    fn poll_error(&mut self, cx: &mut Context<'_>) -> Poll<Option<String>> {
        if let Some(seen) = &self.error_seen {
            return Poll::Ready(seen.clone());
        }
        let text = ready!(self.error.as_mut().poll(cx));
        self.error_seen = Some(text.clone());
        Poll::Ready(text)
    }
}

fn failure(text: String) -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionReset, text)
}

impl AsyncRead for SpdyPair {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        // A message that came while data still flows ends the transfer as a failure.
        if this.error_seen.is_none()
            && let Poll::Ready(Some(text)) = this.poll_error(cx)
        {
            return Poll::Ready(Err(failure(text)));
        }
        let before = buf.filled().len();
        let result = ready!(Pin::new(&mut this.data).poll_read(cx, buf));
        let ended = match &result {
            Ok(()) => buf.filled().len() == before,
            Err(_) => true,
        };
        if !ended {
            return Poll::Ready(result);
        }
        // The data stream ended, or failed: what does the error stream say? (kubectl waits
        // for it the same way before closing the local connection.)
        let waited = match this.error_seen.clone() {
            Some(seen) => seen,
            None => match this.poll_error(cx) {
                Poll::Ready(text) => text,
                Poll::Pending => {
                    let wait = this
                        .error_wait
                        .get_or_insert_with(|| Box::pin(tokio::time::sleep(ERROR_STREAM_WAIT)));
                    ready!(wait.as_mut().poll(cx));
                    this.error_seen = Some(None);
                    None
                }
            },
        };
        match waited {
            Some(text) => Poll::Ready(Err(failure(text))),
            None => Poll::Ready(result),
        }
    }
}

impl AsyncWrite for SpdyPair {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.data).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.data).poll_flush(cx)
    }

    /// FIN on the data stream: the client has finished sending; the reply still comes.
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.data).poll_shutdown(cx)
    }
}

impl AsyncRead for PortStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            PortStream::Spdy(s) => Pin::new(s).poll_read(cx, buf),
            PortStream::V4(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for PortStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            PortStream::Spdy(s) => Pin::new(s).poll_write(cx, buf),
            PortStream::V4(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            PortStream::Spdy(s) => Pin::new(s).poll_flush(cx),
            PortStream::V4(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            PortStream::Spdy(s) => Pin::new(s).poll_shutdown(cx),
            PortStream::V4(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}
