//! Gateway mode for one local connection. The local side speaks HTTP/1.1 (a hyper server); each
//! request gets the gateway headers it lacks and goes to the pod over this connection's own
//! port-forward stream (a hyper client), so keep-alive maps one to one. Bodies stream through
//! frame by frame and are never held whole. An upgrade (WebSocket) becomes a raw byte pipe once
//! the pod answers 101, with the headers already added to the handshake.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::{Mutex, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::connection::{self, ConnectionContext, NoUpstream, Upstream};
use super::gateway::{self, GatewayIdentity};
use super::gateway_access;
use super::request_log::{RequestEntry, RequestLog};
use super::stats::Counted;

type ProxyBody = BoxBody<Bytes, hyper::Error>;

/// What a gateway-mode connection needs beyond a raw one.
#[derive(Clone)]
pub struct GatewayContext {
    /// Read per request, so a change of identity applies at once, keep-alive or not.
    pub identity: watch::Receiver<Option<GatewayIdentity>>,
    pub log: RequestLog,
}

/// The state the per-request service shares within one connection.
struct Shared {
    sender: Mutex<SendRequest<Incoming>>,
    gateway: GatewayContext,
    /// Upgraded pipes: the connection (and its port-forward stream) lives until they end.
    pipes: TaskTracker,
    /// An upgrade is under way: the pod's HTTP side ending is the hand-over, not a close.
    upgrading: AtomicBool,
    /// Who connected: only a loopback peer's requests get the identity.
    peer: std::net::IpAddr,
    cancel: CancellationToken,
}

pub async fn serve(local: TcpStream, mut ctx: ConnectionContext, gateway: GatewayContext) {
    let _open = ctx.stats.connection();
    let _ = local.set_nodelay(true);
    let Upstream { pod, stream } = match connection::open_upstream(&mut ctx).await {
        Ok(upstream) => upstream,
        Err(NoUpstream::NoPods) => return,
        Err(NoUpstream::Failed) => return connection::reset(local),
    };
    let (sender, upstream_conn) =
        match hyper::client::conn::http1::handshake(TokioIo::new(stream)).await {
            Ok(pair) => pair,
            Err(e) => {
                tracing::warn!(forward = %ctx.label, pod, "HTTP to the pod failed: {e}");
                return connection::reset(local);
            }
        };
    let shared = Arc::new(Shared {
        sender: Mutex::new(sender),
        gateway,
        pipes: TaskTracker::new(),
        upgrading: AtomicBool::new(false),
        // No peer address (the socket is already gone): treat it as another machine's.
        peer: local
            .peer_addr()
            .map_or(std::net::Ipv4Addr::UNSPECIFIED.into(), |a| a.ip()),
        cancel: ctx.cancel.clone(),
    });
    let service = {
        let shared = shared.clone();
        hyper::service::service_fn(move |req| proxy(req, shared.clone()))
    };
    let local = TokioIo::new(Counted::new(local, ctx.stats.clone()));
    let local_conn = hyper::server::conn::http1::Builder::new()
        .serve_connection(local, service)
        .with_upgrades();
    let upstream_conn = upstream_conn.with_upgrades();
    tokio::pin!(local_conn, upstream_conn);
    let mut upstream_done = false;
    loop {
        tokio::select! {
            _ = ctx.cancel.cancelled() => return,
            result = &mut local_conn => {
                if let Err(e) = result {
                    tracing::debug!(forward = %ctx.label, pod, "local HTTP connection: {e}");
                }
                break;
            }
            // The pod's side ended (a request in flight sees a 502 or a cut body): close the
            // local connection once idle, so a keep-alive client reconnects to a live pod.
            _ = &mut upstream_conn, if !upstream_done => {
                upstream_done = true;
                if !shared.upgrading.load(Ordering::Relaxed) {
                    local_conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
    shared.pipes.close();
    tokio::select! {
        _ = ctx.cancel.cancelled() => {}
        _ = shared.pipes.wait() => {}
    }
}

/// One request: add the identity's headers, send it on, and hand back the pod's response.
async fn proxy(
    mut req: Request<Incoming>,
    shared: Arc<Shared>,
) -> Result<Response<ProxyBody>, Infallible> {
    let started = Instant::now();
    let identity = shared.gateway.identity.borrow().clone();
    let note = match identity {
        Some(identity) => match gateway_access::decide(shared.peer, req.headers()) {
            gateway_access::Verdict::Apply => identity.apply(req.headers_mut()).note(),
            refused => {
                let note = refused.note();
                tracing::info!(
                    "{} {} {}",
                    note.as_deref().unwrap_or_default(),
                    req.method(),
                    req.uri().path()
                );
                note
            }
        },
        None => None,
    };
    let pending = Pending {
        method: req.method().to_string(),
        path: logged_path(req.uri()),
        role: req
            .headers()
            .get(gateway::ROLE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        note,
        started,
    };
    let local_upgrade = wants_upgrade(&req).then(|| hyper::upgrade::on(&mut req));
    shared
        .upgrading
        .store(local_upgrade.is_some(), Ordering::Relaxed);
    let sent = {
        let mut sender = shared.sender.lock().await;
        match sender.ready().await {
            Ok(()) => sender.send_request(req).await,
            Err(e) => Err(e),
        }
    };
    let mut response = match sent {
        Ok(response) => response,
        Err(e) => {
            shared.gateway.log.record(pending.finish(None, 0, false));
            return Ok(bad_gateway(&e));
        }
    };
    if response.status() != StatusCode::SWITCHING_PROTOCOLS {
        // Refused or ignored: the connection goes on as plain HTTP.
        shared.upgrading.store(false, Ordering::Relaxed);
    } else if let Some(local_upgrade) = local_upgrade {
        let remote_upgrade = hyper::upgrade::on(&mut response);
        let cancel = shared.cancel.clone();
        shared.pipes.spawn(async move {
            let (Ok(local), Ok(remote)) = (local_upgrade.await, remote_upgrade.await) else {
                return;
            };
            let (mut local, mut remote) = (TokioIo::new(local), TokioIo::new(remote));
            tokio::select! {
                _ = cancel.cancelled() => {}
                _ = tokio::io::copy_bidirectional(&mut local, &mut remote) => {}
            }
        });
    }
    let status = response.status().as_u16();
    let log = shared.gateway.log.clone();
    Ok(response.map(|body| {
        LoggedBody {
            inner: body,
            bytes: 0,
            pending: Some((pending, status, log)),
        }
        .boxed()
    }))
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

fn wants_upgrade<B>(req: &Request<B>) -> bool {
    req.headers()
        .get_all(hyper::header::CONNECTION)
        .iter()
        .any(|v| {
            v.to_str().is_ok_and(|v| {
                v.split(',')
                    .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
            })
        })
}

fn bad_gateway(error: &hyper::Error) -> Response<ProxyBody> {
    let text = format!("hasura-tui: the pod did not answer: {error}\n");
    let mut response = Response::new(
        Full::new(Bytes::from(text))
            .map_err(|never| match never {})
            .boxed(),
    );
    *response.status_mut() = StatusCode::BAD_GATEWAY;
    // This connection's way to the pod is gone: the client should reconnect to reach another.
    response.headers_mut().insert(
        hyper::header::CONNECTION,
        hyper::header::HeaderValue::from_static("close"),
    );
    response
}

/// A request on its way, until its response body ends.
struct Pending {
    method: String,
    path: String,
    role: Option<String>,
    note: Option<String>,
    started: Instant,
}

impl Pending {
    fn finish(self, status: Option<u16>, bytes: u64, complete: bool) -> RequestEntry {
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
        }
    }
}

/// The pod's response body, passed through frame by frame; records the request in the log when
/// it ends (or, cut short, when it is dropped).
struct LoggedBody {
    inner: Incoming,
    bytes: u64,
    pending: Option<(Pending, u16, RequestLog)>,
}

impl LoggedBody {
    fn record(&mut self, complete: bool) {
        if let Some((pending, status, log)) = self.pending.take() {
            log.record(pending.finish(Some(status), self.bytes, complete));
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
