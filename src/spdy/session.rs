//! One SPDY/3.1 connection: a reader task and a writer task over any byte stream (TLS after a
//! `101`, or the binary messages of a WebSocket), and streams that are `AsyncRead` +
//! `AsyncWrite` with their own half-close. Behaviour follows spdystream, the peer of every
//! kubectl and kubelet (`connection.go`, `stream.go`):
//! - stream ids: the client's odd from 1, the server's even; an incoming SYN_STREAM whose id
//!   does not grow is answered RST_STREAM(PROTOCOL_ERROR) (`checkStreamFrame`);
//! - frames for unknown streams are dropped without a word (`handleDataFrame`);
//! - PINGs of the other parity are the peer's and are echoed as they came (`handlePingFrame`);
//! - GOAWAY ends reading at once (`Serve`);
//! - no flow control: WINDOW_UPDATE and SETTINGS are ignored and nothing waits for a window.
//!   What the peer sends is buffered per stream, so one slow local reader does not hold up the
//!   others; only when a connection's buffers together pass `MAX_BUFFERED` does its reader
//!   pause (spdystream itself stalls a whole partition of streams on the first slow reader);
//! - a stream dropped before it sent FIN is reset with RST_STREAM(CANCEL) (`resetStream`).

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::{Notify, mpsc, oneshot};
use tokio_util::sync::{CancellationToken, PollSender};

use super::frame::{CANCEL, Frame, PROTOCOL_ERROR};
use super::headers::{Compressor, Decompressor, Headers};

/// The largest DATA frame written: 32 KiB, what spdystream's peers write (one frame per Go
/// `io.Copy` buffer). 128 KiB frames with a 256 KiB batch were measured slower (85 against
/// 150 MiB/s through one connection): the data in flight no longer fitted in cache.
pub const MAX_DATA_FRAME: usize = 32 * 1024;
/// Bytes received but not yet read, over all of a connection's streams, before its reader
/// pauses.
const MAX_BUFFERED: usize = 32 * 1024 * 1024;
/// Stream frames waiting for the writer: the back-pressure a fast local writer feels.
const OUTGOING_FRAMES: usize = 16;
/// The writer hands the transport up to this much at once.
const WRITE_BATCH: usize = 64 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Client,
    Server,
}

/// What a stream's reader is handed.
enum Inbound {
    Data(Bytes),
    Fin,
    Reset(u32),
}

struct Entry {
    inbound: mpsc::UnboundedSender<Inbound>,
    replied: Option<oneshot::Sender<()>>,
}

/// Bytes buffered for readers, and a wake-up for the connection's reader when there is room.
#[derive(Default)]
struct Budget {
    buffered: AtomicUsize,
    room: Notify,
}

impl Budget {
    async fn reserve(&self, n: usize) {
        while self.buffered.load(Ordering::Acquire) >= MAX_BUFFERED {
            self.room.notified().await;
        }
        self.buffered.fetch_add(n, Ordering::AcqRel);
    }

    fn full(&self) -> bool {
        self.buffered.load(Ordering::Acquire) >= MAX_BUFFERED
    }

    fn release(&self, n: usize) {
        let before = self.buffered.fetch_sub(n, Ordering::AcqRel);
        if before >= MAX_BUFFERED && before - n < MAX_BUFFERED {
            self.room.notify_one();
        }
    }
}

/// What the writer is asked to do besides stream frames.
enum Control {
    Frame(Frame),
    /// GOAWAY was queued: write what is pending, then end the transport.
    Shutdown,
}

struct Shared {
    role: Role,
    streams: Mutex<HashMap<u32, Entry>>,
    next_stream: AtomicU32,
    /// Whether the peer's PINGs are echoed (always, but for the demo's lost-PING drill).
    answer_pings: std::sync::atomic::AtomicBool,
    /// Held from taking a stream id to queueing its SYN_STREAM.
    open_order: Mutex<()>,
    next_ping: AtomicU32,
    pings: Mutex<HashMap<u32, oneshot::Sender<()>>>,
    frames: mpsc::Sender<Frame>,
    control: mpsc::UnboundedSender<Control>,
    budget: Budget,
    closed: CancellationToken,
    why_closed: Mutex<Option<String>>,
    started: Instant,
    /// Milliseconds from `started` to the last bytes read: what keepalive measures.
    last_read: AtomicU64,
    /// The reader waits for this side's streams to read what it has (not for the peer).
    paused: std::sync::atomic::AtomicBool,
}

impl Shared {
    fn touch(&self) {
        let millis = self.started.elapsed().as_millis() as u64;
        self.last_read.store(millis, Ordering::Relaxed);
    }

    fn lock_streams(&self) -> std::sync::MutexGuard<'_, HashMap<u32, Entry>> {
        self.streams.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn close(&self, why: String) {
        let mut slot = self.why_closed.lock().unwrap_or_else(|p| p.into_inner());
        slot.get_or_insert(why);
        drop(slot);
        self.closed.cancel();
        // Readers see the end through their channels closing.
        self.lock_streams().clear();
        self.pings.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

/// A handle to one SPDY connection (cheap to clone); the connection lives while its tasks run.
#[derive(Clone)]
pub struct Session {
    shared: Arc<Shared>,
}

/// A stream the peer opened (server side): its headers, and a choice to accept or reject it.
pub struct Incoming {
    pub headers: Headers,
    stream: Stream,
}

impl Incoming {
    /// The stream's id (odd: the client opened it).
    pub fn id(&self) -> u32 {
        self.stream.id
    }

    /// Replies SYN_REPLY (an empty header block, as the kubelet sends) and hands the stream over.
    pub async fn accept(self) -> io::Result<Stream> {
        let frame = Frame::SynReply {
            id: self.stream.id,
            fin: false,
            headers: Headers::new(),
        };
        self.stream
            .shared
            .frames
            .send(frame)
            .await
            .map_err(|_| closed_error())?;
        Ok(self.stream)
    }

    /// RST_STREAM(CANCEL) without a reply: how the kubelet refuses a stream whose headers are
    /// wrong (apimachinery `spdy/connection.go` `newSpdyStream`).
    pub fn reject(mut self) {
        self.stream.reset();
    }
}

impl Session {
    /// Starts a connection over `io`. The server side also gets the streams the client opens.
    pub fn start<T>(io: T, role: Role) -> (Session, mpsc::Receiver<Incoming>)
    where
        T: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (frames_tx, frames_rx) = mpsc::channel(OUTGOING_FRAMES);
        let (control_tx, control_rx) = mpsc::unbounded_channel();
        let (incoming_tx, incoming_rx) = mpsc::channel(64);
        let shared = Arc::new(Shared {
            role,
            streams: Mutex::new(HashMap::new()),
            next_stream: AtomicU32::new(if role == Role::Client { 1 } else { 2 }),
            open_order: Mutex::new(()),
            answer_pings: std::sync::atomic::AtomicBool::new(true),
            next_ping: AtomicU32::new(if role == Role::Client { 1 } else { 2 }),
            pings: Mutex::new(HashMap::new()),
            frames: frames_tx,
            control: control_tx,
            budget: Budget::default(),
            closed: CancellationToken::new(),
            why_closed: Mutex::new(None),
            started: Instant::now(),
            last_read: AtomicU64::new(0),
            paused: std::sync::atomic::AtomicBool::new(false),
        });
        let (read, write) = tokio::io::split(io);
        tokio::spawn(write_loop(write, frames_rx, control_rx, shared.clone()));
        tokio::spawn(read_loop(read, shared.clone(), incoming_tx));
        (Session { shared }, incoming_rx)
    }

    pub fn client<T>(io: T) -> Session
    where
        T: AsyncRead + AsyncWrite + Send + 'static,
    {
        Session::start(io, Role::Client).0
    }

    /// Opens a stream with these headers (SYN_STREAM, FIN with it when `fin`). Returns at once:
    /// data written to the stream follows the SYN_STREAM on the wire, so nothing waits a round
    /// trip for the SYN_REPLY (`Stream::replied` does, for callers that want to).
    pub async fn open(&self, headers: Headers, fin: bool) -> io::Result<Stream> {
        if self.shared.closed.is_cancelled() {
            return Err(closed_error());
        }
        // Ids must reach the wire in increasing order, or the peer refuses the late one
        // (spdystream's `CreateStream` holds `nextIdLock` "all the way to writing the frame"):
        // the room in the queue is taken first, then the id and the frame go in at once.
        let permit = self
            .shared
            .frames
            .reserve()
            .await
            .map_err(|_| closed_error())?;
        let (reply_tx, reply_rx) = oneshot::channel();
        let _order = self
            .shared
            .open_order
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let id = self.shared.next_stream.fetch_add(2, Ordering::Relaxed);
        // Known before its SYN_STREAM leaves, so the reply cannot arrive first.
        let mut stream = self.register(id, Some(reply_tx));
        stream.replied = Some(reply_rx);
        stream.fin_sent = fin;
        permit.send(Frame::SynStream { id, fin, headers });
        Ok(stream)
    }

    fn register(&self, id: u32, replied: Option<oneshot::Sender<()>>) -> Stream {
        let (tx, rx) = mpsc::unbounded_channel();
        self.shared.lock_streams().insert(
            id,
            Entry {
                inbound: tx,
                replied,
            },
        );
        Stream {
            id,
            shared: self.shared.clone(),
            inbound: rx,
            pending: Bytes::new(),
            read_done: false,
            out: PollSender::new(self.shared.frames.clone()),
            fin_sent: false,
            replied: None,
        }
    }

    /// Whether the peer's PINGs are echoed: a connection lost on the way, for drills.
    pub fn answer_pings(&self, answer: bool) {
        self.shared.answer_pings.store(answer, Ordering::Relaxed);
    }

    /// Sends a PING and waits for its echo; the round trip.
    pub async fn ping(&self) -> io::Result<Duration> {
        let id = self.shared.next_ping.fetch_add(2, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.shared
            .pings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, tx);
        let sent = Instant::now();
        self.shared
            .control
            .send(Control::Frame(Frame::Ping { id }))
            .map_err(|_| closed_error())?;
        tokio::select! {
            answered = rx => answered.map_err(|_| closed_error())?,
            _ = self.shared.closed.cancelled() => return Err(closed_error()),
        }
        Ok(sent.elapsed())
    }

    /// GOAWAY, then the transport is closed once what is queued is written.
    pub fn close(&self) {
        let _ = self.shared.control.send(Control::Frame(Frame::GoAway {
            last_good: 0,
            status: 0,
        }));
        let _ = self.shared.control.send(Control::Shutdown);
    }

    /// Ends the connection at once, as a dead connection is ended (no GOAWAY).
    pub fn abort(&self, why: &str) {
        self.shared.close(why.to_string());
    }

    /// Whether two handles are the same connection.
    pub fn same(&self, other: &Session) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    pub fn is_closed(&self) -> bool {
        self.shared.closed.is_cancelled()
    }

    pub async fn closed(&self) {
        self.shared.closed.cancelled().await
    }

    /// Why the connection ended, once it has.
    pub fn why_closed(&self) -> Option<String> {
        self.shared
            .why_closed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// When bytes last came from the peer.
    pub fn last_read(&self) -> Instant {
        self.shared.started + Duration::from_millis(self.shared.last_read.load(Ordering::Relaxed))
    }

    /// Whether reading is paused because this side's streams are behind: the peer may be
    /// perfectly alive meanwhile.
    pub fn reading_paused(&self) -> bool {
        self.shared.paused.load(Ordering::Relaxed)
    }

    /// Streams open on this connection.
    pub fn streams(&self) -> usize {
        self.shared.lock_streams().len()
    }
}

fn closed_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "the SPDY connection is closed",
    )
}

async fn write_loop<W: AsyncWrite>(
    write: W,
    mut frames: mpsc::Receiver<Frame>,
    mut control: mpsc::UnboundedReceiver<Control>,
    shared: Arc<Shared>,
) {
    tokio::pin!(write);
    let mut compressor = Compressor::default();
    let mut buf = BytesMut::with_capacity(WRITE_BATCH + MAX_DATA_FRAME + 64);
    let mut shutdown = false;
    'outer: loop {
        // Control first (pings answered promptly), then stream frames, in order.
        let next = tokio::select! {
            biased;
            _ = shared.closed.cancelled() => break,
            c = control.recv() => c.map(Err),
            f = frames.recv() => f.map(Ok),
        };
        let Some(first) = next else { break };
        let mut item = Some(first);
        while let Some(next) = item.take() {
            match next {
                Ok(frame) | Err(Control::Frame(frame)) => frame.encode(&mut compressor, &mut buf),
                Err(Control::Shutdown) => {
                    shutdown = true;
                    break;
                }
            }
            if buf.len() >= WRITE_BATCH {
                break;
            }
            item = match control.try_recv() {
                Ok(c) => Some(Err(c)),
                Err(_) => frames.try_recv().ok().map(Ok),
            };
        }
        if let Err(e) = write.write_all(&buf).await {
            shared.close(format!("writing: {e}"));
            break 'outer;
        }
        buf.clear();
        if let Err(e) = write.flush().await {
            shared.close(format!("writing: {e}"));
            break;
        }
        if shutdown {
            let _ = write.shutdown().await;
            shared.close("closed".to_string());
            break;
        }
    }
}

async fn read_loop<R: AsyncRead>(read: R, shared: Arc<Shared>, incoming: mpsc::Sender<Incoming>) {
    tokio::pin!(read);
    let mut decompressor = Decompressor::default();
    let mut buf = BytesMut::with_capacity(256 * 1024);
    let mut last_syn = 0u32;
    let why = 'read: loop {
        loop {
            let frame = match Frame::decode(&mut buf, &mut decompressor) {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(e) => break 'read format!("{e}"),
            };
            if let Some(why) = handle(frame, &shared, &incoming, &mut last_syn).await {
                break 'read why;
            }
        }
        if buf.capacity() - buf.len() < 16 * 1024 {
            buf.reserve(64 * 1024);
        }
        let n = tokio::select! {
            _ = shared.closed.cancelled() => break "closed".to_string(),
            n = read.read_buf(&mut buf) => n,
        };
        match n {
            Ok(0) => break "the peer closed the connection".to_string(),
            Ok(_) => shared.touch(),
            Err(e) => break format!("reading: {e}"),
        }
    };
    shared.close(why);
}

/// Acts on one frame; `Some(why)` ends the connection.
async fn handle(
    frame: Frame,
    shared: &Arc<Shared>,
    incoming: &mpsc::Sender<Incoming>,
    last_syn: &mut u32,
) -> Option<String> {
    let deliver = |id: u32, item: Inbound| {
        if let Some(entry) = shared.lock_streams().get(&id) {
            let _ = entry.inbound.send(item);
        }
    };
    match frame {
        Frame::Data { id, fin, data } => {
            let known = shared.lock_streams().contains_key(&id);
            if !known {
                return None;
            }
            if !data.is_empty() {
                if shared.budget.full() {
                    // Our readers are behind, not the peer: keepalive must not count this wait.
                    shared.paused.store(true, Ordering::Relaxed);
                    shared.budget.reserve(data.len()).await;
                    shared.paused.store(false, Ordering::Relaxed);
                    shared.touch();
                } else {
                    shared.budget.reserve(data.len()).await;
                }
                let sent = shared
                    .lock_streams()
                    .get(&id)
                    .map(|e| e.inbound.send(Inbound::Data(data.clone())).is_ok());
                if sent != Some(true) {
                    shared.budget.release(data.len());
                }
            }
            if fin {
                deliver(id, Inbound::Fin);
            }
        }
        Frame::SynStream { id, fin, headers } => {
            if shared.role == Role::Client {
                // The API server never opens streams toward a port-forward client.
                let _ = shared
                    .control
                    .send(Control::Frame(Frame::RstStream { id, status: CANCEL }));
                return None;
            }
            if id <= *last_syn {
                let _ = shared.control.send(Control::Frame(Frame::RstStream {
                    id,
                    status: PROTOCOL_ERROR,
                }));
                return None;
            }
            *last_syn = id;
            let session = Session {
                shared: shared.clone(),
            };
            let stream = session.register(id, None);
            if fin {
                deliver(id, Inbound::Fin);
            }
            if incoming.send(Incoming { headers, stream }).await.is_err() {
                return Some("nobody accepts streams".to_string());
            }
        }
        Frame::SynReply { id, fin, .. } => {
            if let Some(entry) = shared.lock_streams().get_mut(&id)
                && let Some(replied) = entry.replied.take()
            {
                let _ = replied.send(());
            }
            if fin {
                deliver(id, Inbound::Fin);
            }
        }
        Frame::Headers { id, fin, .. } => {
            if fin {
                deliver(id, Inbound::Fin);
            }
        }
        Frame::RstStream { id, status } => {
            if let Some(entry) = shared.lock_streams().remove(&id) {
                let _ = entry.inbound.send(Inbound::Reset(status));
            }
        }
        Frame::Ping { id } => {
            let ours = (id % 2 == 1) == (shared.role == Role::Client);
            if ours {
                if let Some(waiter) = shared
                    .pings
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&id)
                {
                    let _ = waiter.send(());
                }
            } else if shared.answer_pings.load(Ordering::Relaxed) {
                let _ = shared.control.send(Control::Frame(Frame::Ping { id }));
            }
        }
        Frame::GoAway { .. } => return Some("the peer sent GOAWAY".to_string()),
        Frame::Settings | Frame::WindowUpdate { .. } => {}
    }
    None
}

/// One SPDY stream: reads end at the peer's FIN (or fail at its RST or the connection's end);
/// `shutdown` sends FIN; dropping it unfinished resets it.
pub struct Stream {
    id: u32,
    shared: Arc<Shared>,
    inbound: mpsc::UnboundedReceiver<Inbound>,
    pending: Bytes,
    read_done: bool,
    out: PollSender<Frame>,
    fin_sent: bool,
    replied: Option<oneshot::Receiver<()>>,
}

impl Stream {
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
    fn reset(&mut self) {
        if !self.fin_sent {
            self.fin_sent = true;
            let rst = Frame::RstStream {
                id: self.id,
                status: CANCEL,
            };
            if let Err(e) = self.shared.frames.try_send(rst) {
                let _ = self.shared.control.send(Control::Frame(e.into_inner()));
            }
        }
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        if !self.read_done || !self.fin_sent {
            self.reset();
        }
        self.shared.lock_streams().remove(&self.id);
        // What was buffered for this stream and never taken frees its room (`pending` was
        // counted out when it was taken off the queue).
        let mut unread = 0;
        while let Ok(item) = self.inbound.try_recv() {
            if let Inbound::Data(data) = item {
                unread += data.len();
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
                    this.shared.budget.release(data.len());
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

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn pair() -> (Session, Session, mpsc::Receiver<Incoming>) {
        let (a, b) = tokio::io::duplex(64 * 1024);
        let client = Session::client(a);
        let (server, incoming) = Session::start(b, Role::Server);
        (client, server, incoming)
    }

    fn headers(kind: &str, id: u32) -> Headers {
        vec![
            ("streamtype".into(), kind.into()),
            ("port".into(), "80".into()),
            ("requestid".into(), id.to_string()),
        ]
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn streams_opened_at_once_from_many_tasks_reach_the_peer_in_id_order() {
        let (client, _server, mut incoming) = pair();
        let opening = (0..400).map(|i| {
            let client = client.clone();
            tokio::spawn(async move { client.open(headers("data", i), true).await.unwrap() })
        });
        let streams = futures::future::join_all(opening).await;
        let (mut last, mut accepted) = (0, Vec::new());
        for _ in 0..400 {
            let offered = incoming.recv().await.unwrap();
            assert!(offered.id() > last, "{} after {last}", offered.id());
            last = offered.id();
            accepted.push(offered.accept().await.unwrap());
        }
        for stream in streams {
            stream.unwrap().replied().await.unwrap();
        }
    }

    #[tokio::test]
    async fn streams_carry_bytes_both_ways_and_half_close_each_way() {
        let (client, _server, mut incoming) = pair();
        let mut stream = client.open(headers("data", 0), false).await.unwrap();
        let offered = incoming.recv().await.unwrap();
        assert_eq!(
            super::super::headers::get(&offered.headers, "StreamType"),
            Some("data")
        );
        let mut served = offered.accept().await.unwrap();
        stream.replied().await.unwrap();

        let big = vec![7u8; 1_000_000];
        stream.write_all(&big).await.unwrap();
        stream.shutdown().await.unwrap();
        let mut got = Vec::new();
        served.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, big, "the server read up to the client's FIN");
        // The other way still works after the client's half-close.
        served.write_all(b"late reply").await.unwrap();
        served.shutdown().await.unwrap();
        let mut reply = Vec::new();
        stream.read_to_end(&mut reply).await.unwrap();
        assert_eq!(reply, b"late reply");
    }

    #[tokio::test]
    async fn a_reset_is_an_error_and_a_dropped_stream_resets() {
        let (client, _server, mut incoming) = pair();
        let mut stream = client.open(headers("data", 0), false).await.unwrap();
        incoming.recv().await.unwrap().reject();
        let mut buf = [0u8; 1];
        let err = stream.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
        assert!(stream.replied().await.is_err());

        let stream = client.open(headers("data", 1), false).await.unwrap();
        let mut served = incoming.recv().await.unwrap().accept().await.unwrap();
        drop(stream);
        let err = served.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
    }

    #[tokio::test]
    async fn pings_are_echoed_and_goaway_ends_the_streams() {
        let (client, server, mut incoming) = pair();
        client.ping().await.unwrap();
        server.ping().await.unwrap();
        let mut stream = client.open(headers("data", 0), false).await.unwrap();
        let _served = incoming.recv().await.unwrap().accept().await.unwrap();
        server.close();
        client.closed().await;
        let mut buf = [0u8; 1];
        assert_eq!(
            stream.read(&mut buf).await.unwrap_err().kind(),
            io::ErrorKind::ConnectionAborted
        );
        assert!(client.why_closed().unwrap().contains("GOAWAY"));
    }

    #[tokio::test]
    async fn a_slow_reader_does_not_hold_up_another_stream() {
        let (client, _server, mut incoming) = pair();
        let _slow = client.open(headers("data", 0), false).await.unwrap();
        let mut slow_served = incoming.recv().await.unwrap().accept().await.unwrap();
        let mut fast = client.open(headers("data", 1), false).await.unwrap();
        let mut fast_served = incoming.recv().await.unwrap().accept().await.unwrap();
        // 8 MiB toward a reader that never reads, then a small message on the other stream.
        slow_served.write_all(&vec![1u8; 8 << 20]).await.unwrap();
        fast_served.write_all(b"through").await.unwrap();
        let mut buf = [0u8; 7];
        tokio::time::timeout(Duration::from_secs(5), fast.read_exact(&mut buf))
            .await
            .expect("the fast stream is not held up")
            .unwrap();
        assert_eq!(&buf, b"through");
    }

    #[tokio::test]
    async fn syn_streams_must_grow() {
        // A raw client that opens stream 3, then 1: the second is refused with PROTOCOL_ERROR.
        let (mut raw, b) = tokio::io::duplex(64 * 1024);
        let (_server, mut incoming) = Session::start(b, Role::Server);
        let mut c = Compressor::default();
        let mut out = BytesMut::new();
        for id in [3, 1] {
            Frame::SynStream {
                id,
                fin: false,
                headers: headers("data", id),
            }
            .encode(&mut c, &mut out);
        }
        raw.write_all(&out).await.unwrap();
        assert!(incoming.recv().await.is_some());
        let mut d = Decompressor::default();
        let mut buf = BytesMut::new();
        let frame = loop {
            if let Some(f) = Frame::decode(&mut buf, &mut d).unwrap() {
                break f;
            }
            raw.read_buf(&mut buf).await.unwrap();
        };
        assert_eq!(
            frame,
            Frame::RstStream {
                id: 1,
                status: PROTOCOL_ERROR
            }
        );
    }
}
