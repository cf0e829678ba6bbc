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
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::{CancellationToken, PollSender};

use super::frame::{CANCEL, Frame, MAX_STREAM_ID, PROTOCOL_ERROR, REFUSED_STREAM};
use super::headers::{Compressor, Decompressor, Headers};

mod budget;
mod stream;
#[cfg(test)]
mod tests;
mod wire;

use budget::{Budget, COPY_BELOW, cost};
pub use stream::Stream;
use wire::{read_loop, write_loop};

/// The largest DATA frame written: 32 KiB, what spdystream's peers write (one frame per Go
/// `io.Copy` buffer). 128 KiB frames with a 256 KiB batch were measured slower (85 against
/// 150 MiB/s through one connection): the data in flight no longer fitted in cache.
pub const MAX_DATA_FRAME: usize = 32 * 1024;
/// Stream frames waiting for the writer: the back-pressure a fast local writer feels.
const OUTGOING_FRAMES: usize = 16;
/// The writer hands the transport up to this much at once.
const WRITE_BATCH: usize = 64 * 1024;
/// How long a closing connection may take to write what is queued: a peer that stopped
/// reading would otherwise hold the writer and the socket for ever.
const CLOSE_LINGER: Duration = Duration::from_secs(5);

/// Which end of the connection this is: it decides the parity of the stream ids it opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Opens odd ids (kubectl, the forward).
    Client,
    /// Opens even ids (the API server, the kubelet).
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
    /// The peer's FIN came: later DATA is dropped, never queued for a reader that has ended.
    fin_received: bool,
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
    /// Ends with GOAWAY once no stream is open: every `Session` handle has gone, or `drain`.
    draining: std::sync::atomic::AtomicBool,
    /// Cancelled when GOAWAY is queued: the writer then has `CLOSE_LINGER` to write what is
    /// queued before the transport is dropped anyway.
    goaway_sent: CancellationToken,
    /// The peer sent GOAWAY: no new streams; the ones it named finish.
    gone_away: std::sync::atomic::AtomicBool,
    /// The last stream the peer opened that this side took: GOAWAY names it (spdystream
    /// `shutdown` sends `receivedStreamId`), so the peer's streams up to it may finish.
    last_received: AtomicU32,
}

impl Shared {
    fn touch(&self) {
        let millis = self.started.elapsed().as_millis() as u64;
        self.last_read.store(millis, Ordering::Relaxed);
    }

    fn lock_streams(&self) -> std::sync::MutexGuard<'_, HashMap<u32, Entry>> {
        self.streams.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// GOAWAY, then the transport is closed once what is queued is written (once).
    fn goaway(&self) {
        if self.goaway_sent.is_cancelled() {
            return;
        }
        self.goaway_sent.cancel();
        let _ = self.control.send(Control::Frame(Frame::GoAway {
            last_good: self.last_received.load(Ordering::Acquire),
            status: 0,
        }));
        let _ = self.control.send(Control::Shutdown);
    }

    /// Closes the connection now if nothing is open on it, else when the last stream goes.
    fn drain(&self) {
        self.draining.store(true, Ordering::Release);
        if self.lock_streams().is_empty() {
            self.goaway();
        }
    }

    /// Whether new streams may be opened on this connection.
    fn accepts_streams(&self) -> bool {
        !self.closed.is_cancelled()
            && !self.goaway_sent.is_cancelled()
            && !self.draining.load(Ordering::Acquire)
            && !self.gone_away.load(Ordering::Acquire)
    }

    /// The peer's GOAWAY: the streams this side opened after `last_good` were never seen by
    /// the peer and end now (refused); the rest finish, then the connection ends (spdystream
    /// `handleGoAwayFrame` lets them finish too).
    fn peer_went_away(&self, last_good: u32) {
        // Under the opening lock: a stream is either in the scan below or refused by `open`.
        let _order = self.open_order.lock().unwrap_or_else(|p| p.into_inner());
        self.gone_away.store(true, Ordering::Release);
        self.why_closed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_or_insert_with(|| "the peer sent GOAWAY".to_string());
        let ours = |id: u32| (id % 2 == 1) == (self.role == Role::Client);
        let unseen: Vec<u32> = self
            .lock_streams()
            .keys()
            .copied()
            .filter(|&id| ours(id) && id > last_good)
            .collect();
        for id in unseen {
            if let Some(entry) = self.remove_stream(id) {
                let _ = entry.inbound.send(Inbound::Reset(REFUSED_STREAM));
            }
        }
        self.drain();
    }

    /// Forgets a stream; the last one on a draining connection ends it.
    fn remove_stream(&self, id: u32) -> Option<Entry> {
        let mut streams = self.lock_streams();
        let entry = streams.remove(&id);
        let last = streams.is_empty();
        drop(streams);
        if last && self.draining.load(Ordering::Acquire) {
            self.goaway();
        }
        entry
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

/// A handle to one SPDY connection (cheap to clone). When the last handle goes, the connection
/// ends as soon as its open streams have (a pool that forgets a connection does not leave it
/// open, pinged, on both ends); `close` and `abort` end it at once.
#[derive(Clone)]
pub struct Session {
    shared: Arc<Shared>,
    _handles: Arc<LastHandle>,
}

/// Dropped with the last `Session` handle: drains the connection.
struct LastHandle(Arc<Shared>);

impl Drop for LastHandle {
    fn drop(&mut self) {
        self.0.drain();
    }
}

/// A stream the peer opened (server side): its headers, and a choice to accept or reject it.
pub struct Incoming {
    /// The headers of its SYN_STREAM.
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
            draining: std::sync::atomic::AtomicBool::new(false),
            goaway_sent: CancellationToken::new(),
            gone_away: std::sync::atomic::AtomicBool::new(false),
            last_received: AtomicU32::new(0),
        });
        let (read, write) = tokio::io::split(io);
        tokio::spawn(write_loop(write, frames_rx, control_rx, shared.clone()));
        tokio::spawn(read_loop(read, shared.clone(), incoming_tx));
        let session = Session {
            _handles: Arc::new(LastHandle(shared.clone())),
            shared,
        };
        (session, incoming_rx)
    }

    /// The client end of a connection over `io` (an upgraded HTTP connection or a `WsIo`).
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
        if !self.shared.accepts_streams() {
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
        // Closing, draining or gone away while this waited for room in the queue.
        if !self.shared.accepts_streams() {
            return Err(closed_error());
        }
        let id = self.shared.next_stream.fetch_add(2, Ordering::Relaxed);
        if id > MAX_STREAM_ID {
            // Ids are never reused: a new connection it is (the pool dials one).
            self.shared
                .next_stream
                .store(MAX_STREAM_ID + 1, Ordering::Relaxed);
            drop(_order);
            self.shared.drain();
            return Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "the SPDY connection has used every stream id",
            ));
        }
        // Known before its SYN_STREAM leaves, so the reply cannot arrive first.
        let mut stream = register(&self.shared, id, Some(reply_tx));
        stream.replied = Some(reply_rx);
        stream.fin_sent = fin;
        permit.send(Frame::SynStream { id, fin, headers });
        Ok(stream)
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
        self.shared.goaway();
    }

    /// No new streams from this side: the connection ends (GOAWAY) once the open ones have.
    /// For a connection to a pod that left the Service, whose streams still finish.
    pub fn drain(&self) {
        self.shared.drain();
    }

    /// Ends the connection at once, as a dead connection is ended (no GOAWAY).
    pub fn abort(&self, why: &str) {
        self.shared.close(why.to_string());
    }

    /// Whether two handles are the same connection.
    pub fn same(&self, other: &Session) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// Whether the connection has ended (closed, aborted, or gone at the peer).
    pub fn is_closed(&self) -> bool {
        self.shared.closed.is_cancelled()
    }

    /// Whether a stream can be opened on it: not closed, closing, draining or gone away.
    pub fn accepts_streams(&self) -> bool {
        self.shared.accepts_streams()
    }

    /// Waits until the connection has ended.
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

/// A stream known to the connection before its first frame can arrive.
fn register(shared: &Arc<Shared>, id: u32, replied: Option<oneshot::Sender<()>>) -> Stream {
    let (tx, rx) = mpsc::unbounded_channel();
    shared.lock_streams().insert(
        id,
        Entry {
            inbound: tx,
            replied,
            fin_received: false,
        },
    );
    Stream {
        id,
        shared: shared.clone(),
        inbound: rx,
        pending: Bytes::new(),
        read_done: false,
        out: PollSender::new(shared.frames.clone()),
        fin_sent: false,
        replied: None,
        removal_deferred: false,
    }
}

fn closed_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "the SPDY connection is closed",
    )
}
