//! A request on its way to the request log: what is kept of it before its response (`Capture`,
//! the request body's head through `TeeBody`), and the response body that records the request
//! when it ends (`LoggedBody`). Shared by the proxy's requests and the replays.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::{Request, Response};

use super::exchange::{self, Exchange, SharedTee, Tee};
use super::gateway;
use super::request_log::{RequestEntry, RequestLog};

/// The pod's response, its body recorded in `log` as it passes.
pub fn logged(
    response: Response<Incoming>,
    pending: Pending,
    log: RequestLog,
) -> Response<LoggedBody> {
    let status = response.status().as_u16();
    let headers = pending
        .capture
        .is_some()
        .then(|| exchange::header_list(response.headers()));
    let tee = pending.capture.is_some().then(Tee::default);
    response.map(|body| LoggedBody {
        inner: body,
        bytes: 0,
        tee,
        pending: Some(Answered {
            pending,
            status,
            headers,
            log,
        }),
    })
}

/// The path and query as the log keeps it: long ones are cut, so the ring's memory is bounded.
fn logged_path(uri: &hyper::Uri) -> String {
    const MAX: usize = 256;
    let full = uri.path_and_query().map_or("/", |p| p.as_str());
    match full.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &full[..cut]),
        None => full.to_string(),
    }
}

/// What is kept of a request before its response: the exchange's request half.
pub struct Capture {
    target: String,
    headers: Vec<(String, String)>,
    injected: Vec<String>,
    body: SharedTee,
}

impl Capture {
    pub fn of<B>(req: &Request<B>, injected: Vec<String>, body: SharedTee) -> Capture {
        Capture {
            target: req
                .uri()
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_string(),
            headers: exchange::header_list(req.headers()),
            injected,
            body,
        }
    }
}

/// A request on its way, until its response body ends.
pub struct Pending {
    method: String,
    path: String,
    role: Option<String>,
    user_id: Option<String>,
    note: Option<String>,
    started: Instant,
    at: SystemTime,
    capture: Option<Capture>,
    replay_of: Option<u64>,
}

impl Pending {
    pub fn new<B>(
        req: &Request<B>,
        note: Option<String>,
        started: Instant,
        at: SystemTime,
        capture: Option<Capture>,
        replay_of: Option<u64>,
    ) -> Pending {
        let header = |name| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        Pending {
            method: req.method().to_string(),
            path: logged_path(req.uri()),
            role: header(gateway::ROLE),
            user_id: header(gateway::USER_ID),
            note,
            started,
            at,
            capture,
            replay_of,
        }
    }

    /// The pod never answered: the client got a 502 from us.
    pub fn failed(self, why: &str) -> RequestEntry {
        let mut entry = self.finish(None, 0, false, None);
        if entry.replay_of.is_some() {
            entry.note = Some(format!("{}: {why}", entry.note.unwrap_or_default()));
        }
        entry
    }

    fn finish(
        self,
        status: Option<u16>,
        bytes: u64,
        complete: bool,
        response: Option<(Vec<(String, String)>, exchange::BodyPreview)>,
    ) -> RequestEntry {
        let exchange = self.capture.map(|c| {
            let (response_headers, response_body) = response.unwrap_or_default();
            Arc::new(Exchange {
                target: c.target,
                request_headers: c.headers,
                injected: c.injected,
                request_body: exchange::preview_of(&c.body),
                response_headers,
                response_body,
                bodies_dropped: false,
            })
        });
        RequestEntry {
            seq: 0,
            method: self.method,
            path: self.path,
            status,
            duration: self.started.elapsed(),
            bytes,
            role: self.role,
            note: self.note,
            complete,
            at: self.at,
            user_id: self.user_id,
            replay_of: self.replay_of,
            exchange,
        }
    }
}

/// A request until the pod's response begins: dropped before that (the client went away, or
/// the forward stopped, while the pod had the request), it is logged all the same, with what
/// is known. The pod may have acted on it, as whoever the identity said.
pub struct Unanswered {
    pending: Option<Pending>,
    log: RequestLog,
}

impl Unanswered {
    pub fn new(pending: Pending, log: RequestLog) -> Self {
        Unanswered {
            pending: Some(pending),
            log,
        }
    }

    /// The request, now that it will be logged another way.
    pub fn answered(mut self) -> Pending {
        self.pending.take().expect("taken once")
    }
}

impl Drop for Unanswered {
    fn drop(&mut self) {
        let Some(pending) = self.pending.take() else {
            return;
        };
        let mut entry = pending.finish(None, 0, false, None);
        let why = "no response: the client went away before the pod answered";
        entry.note = Some(match entry.note.take() {
            Some(note) => format!("{note}; {why}"),
            None => why.to_string(),
        });
        self.log.record(entry);
    }
}

/// A request body passed through frame by frame, its head kept in the tee.
pub struct TeeBody<B> {
    inner: B,
    tee: SharedTee,
}

impl<B> TeeBody<B> {
    pub fn new(inner: B, tee: SharedTee) -> Self {
        TeeBody { inner, tee }
    }
}

impl<B: Body<Data = Bytes> + Unpin> Body for TeeBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(data) = frame.data_ref()
        {
            self.tee
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(data);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The pod's response body, passed through frame by frame; records the request in the log when
/// it ends (or, cut short, when it is dropped).
pub struct LoggedBody {
    inner: Incoming,
    bytes: u64,
    /// The body's head, when the exchange is kept.
    tee: Option<Tee>,
    pending: Option<Answered>,
}

/// A request whose response has begun: what its log line needs once the body ends.
struct Answered {
    pending: Pending,
    status: u16,
    /// The response's headers, when the exchange is kept.
    headers: Option<Vec<(String, String)>>,
    log: RequestLog,
}

impl LoggedBody {
    fn record(&mut self, complete: bool) {
        if let Some(answered) = self.pending.take() {
            let tee = self.tee.take().unwrap_or_default();
            let response = answered.headers.map(|h| (h, tee.preview()));
            let entry =
                answered
                    .pending
                    .finish(Some(answered.status), self.bytes, complete, response);
            answered.log.record(entry);
        }
    }
}

impl Body for LoggedBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    self.bytes += data.len() as u64;
                    if let Some(tee) = &mut self.tee {
                        tee.push(data);
                    }
                }
            }
            Poll::Ready(None) => self.record(true),
            Poll::Ready(Some(Err(_))) => self.record(false),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for LoggedBody {
    fn drop(&mut self) {
        // An empty body may be dropped without ever being polled to its end.
        let complete = self.inner.is_end_stream();
        self.record(complete);
    }
}
