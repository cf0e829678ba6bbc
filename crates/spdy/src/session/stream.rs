//! A stream as the session's user holds it.

use super::*;

/// One SPDY stream: reads end at the peer's FIN (or fail at its RST or the connection's end);
/// `shutdown` sends FIN; dropping it unfinished resets it.
pub struct Stream {
    pub(super) id: u32,
    pub(super) shared: Arc<Shared>,
    pub(super) inbound: mpsc::UnboundedReceiver<Inbound>,
    pub(super) pending: Bytes,
    pub(super) read_done: bool,
    pub(super) out: PollSender<Frame>,
    pub(super) fin_sent: bool,
    pub(super) replied: Option<oneshot::Receiver<()>>,
    /// The RST waits for room in the queue: the stream is forgotten once it is queued, so a
    /// draining connection does not end before it.
    pub(super) removal_deferred: bool,
}

impl Stream {
    /// The stream's id on its connection.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Waits for the peer's SYN_REPLY to a stream this side opened.
    pub async fn replied(&mut self) -> io::Result<()> {
        match self.replied.take() {
            Some(rx) => rx.await.map_err(|_| {
                io::Error::new(io::ErrorKind::ConnectionReset, "the stream was refused")
            }),
            None => Ok(()),
        }
    }

    /// RST_STREAM(CANCEL), unless FIN was sent already (spdystream `resetStream`). It follows
    /// the stream's queued DATA when there is room, so what was written (an error message)
    /// goes out before the reset.
    pub(super) fn reset(&mut self) {
        if !self.fin_sent {
            self.fin_sent = true;
            let rst = Frame::RstStream {
                id: self.id,
                status: CANCEL,
            };
            match self.shared.frames.try_send(rst) {
                Ok(()) => {}
                // Behind this stream's SYN_STREAM and DATA, never ahead of them: the control
                // queue is written first, so the RST would overtake what it resets.
                Err(mpsc::error::TrySendError::Full(rst)) => {
                    let (shared, id) = (self.shared.clone(), self.id);
                    match tokio::runtime::Handle::try_current() {
                        Ok(runtime) => {
                            self.removal_deferred = true;
                            runtime.spawn(async move {
                                let _ = shared.frames.send(rst).await;
                                shared.remove_stream(id);
                            });
                        }
                        Err(_) => {
                            let _ = self.shared.control.send(Control::Frame(rst));
                        }
                    }
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {}
            }
        }
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        // A stream the peer reset (or of a connection that ended) is forgotten already: an RST
        // in reply to an RST is what spdystream never sends.
        let open = self.shared.lock_streams().contains_key(&self.id);
        if open && (!self.read_done || !self.fin_sent) {
            self.reset();
        }
        if !self.removal_deferred {
            self.shared.remove_stream(self.id);
        }
        // What was buffered for this stream and never taken frees its room (`pending` was
        // counted out when it was taken off the queue).
        let mut unread = 0;
        while let Ok(item) = self.inbound.try_recv() {
            if let Inbound::Data(data) = item {
                unread += cost(data.len());
            }
        }
        if unread > 0 {
            self.shared.budget.release(unread);
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if !this.pending.is_empty() {
                let n = this.pending.len().min(buf.remaining());
                buf.put_slice(&this.pending.split_to(n));
                return Poll::Ready(Ok(()));
            }
            if this.read_done {
                return Poll::Ready(Ok(()));
            }
            match ready!(this.inbound.poll_recv(cx)) {
                Some(Inbound::Data(data)) => {
                    this.shared.budget.release(cost(data.len()));
                    this.pending = data;
                }
                Some(Inbound::Fin) => {
                    this.read_done = true;
                    return Poll::Ready(Ok(()));
                }
                Some(Inbound::Reset(status)) => {
                    this.read_done = true;
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::ConnectionReset,
                        format!("the stream was reset (status {status})"),
                    )));
                }
                None => {
                    this.read_done = true;
                    let why = this
                        .shared
                        .why_closed
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .clone()
                        .unwrap_or_else(|| "closed".into());
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::ConnectionAborted,
                        format!("the SPDY connection ended: {why}"),
                    )));
                }
            }
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.fin_sent {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        ready!(self.out.poll_reserve(cx)).map_err(|_| closed_error())?;
        let n = buf.len().min(MAX_DATA_FRAME);
        let frame = Frame::Data {
            id: self.id,
            fin: false,
            data: Bytes::copy_from_slice(&buf[..n]),
        };
        self.out.send_item(frame).map_err(|_| closed_error())?;
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // The writer task writes and flushes as soon as frames are queued.
        Poll::Ready(Ok(()))
    }

    /// FIN: this side has finished sending; the peer's side stays open.
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.fin_sent {
            return Poll::Ready(Ok(()));
        }
        ready!(self.out.poll_reserve(cx)).map_err(|_| closed_error())?;
        let frame = Frame::Data {
            id: self.id,
            fin: true,
            data: Bytes::new(),
        };
        self.out.send_item(frame).map_err(|_| closed_error())?;
        self.fin_sent = true;
        Poll::Ready(Ok(()))
    }
}
