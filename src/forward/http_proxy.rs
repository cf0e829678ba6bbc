//! Gateway mode for one local connection. The local side speaks HTTP/1.1 (a hyper server); each
//! request gets the gateway headers it lacks and goes to the pod over this connection's own
//! port-forward stream (a hyper client), so keep-alive maps one to one. Bodies stream through
//! frame by frame and are never held whole. An upgrade (WebSocket) becomes a raw byte pipe once
//! the pod answers 101, with the headers already added to the handshake.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::{Mutex, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::connection::{self, ConnectionContext, NoUpstream, Upstream};
use super::exchange::SharedTee;
use super::gateway::{self, GatewayIdentity};
use super::gateway_access;
use super::recorded::{Capture, Pending, TeeBody, Unanswered, logged};
use super::request_log::RequestLog;
use super::stats::Counted;

pub(super) type ProxyBody = BoxBody<Bytes, hyper::Error>;

/// What a gateway-mode connection needs beyond a raw one.
#[derive(Clone)]
pub struct GatewayContext {
    /// Read per request, so a change of identity applies at once, keep-alive or not.
    pub identity: watch::Receiver<Option<GatewayIdentity>>,
    pub log: RequestLog,
}

/// The state the per-request service shares within one connection.
struct Shared {
    sender: Mutex<SendRequest<ProxyBody>>,
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
    let at = SystemTime::now();
    let identity = shared.gateway.identity.borrow().clone();
    let (note, injected) = match &identity {
        Some(identity) => match gateway_access::decide(shared.peer, req.headers()) {
            gateway_access::Verdict::Apply => {
                let had: Vec<bool> = gateway::IDENTITY_HEADERS
                    .iter()
                    .map(|n| req.headers().contains_key(n))
                    .collect();
                let note = identity.apply(req.headers_mut()).note();
                let injected = gateway::IDENTITY_HEADERS
                    .iter()
                    .zip(had)
                    .filter(|(_, had)| !identity.keep_client_headers || !had)
                    .map(|(n, _)| n.as_str().to_string())
                    .collect();
                (note, injected)
            }
            refused => {
                // Only this machine's programs have an identity; nobody else may claim one.
                let dropped = gateway::drop_client_headers(req.headers_mut());
                let note = refused.note_dropping(&dropped);
                tracing::info!(
                    "{} {} {}",
                    note.as_deref().unwrap_or_default(),
                    req.method(),
                    req.uri().path()
                );
                (note, Vec::new())
            }
        },
        None => (None, Vec::new()),
    };
    // Headers and body heads are kept only while gateway mode is on (the log shows its requests).
    let (capture, mut req) = if identity.is_some() {
        let tee = SharedTee::default();
        let capture = Capture::of(&req, injected, tee.clone());
        (
            Some(capture),
            req.map(|body| TeeBody::new(body, tee).boxed()),
        )
    } else {
        (None, req.map(BodyExt::boxed))
    };
    let pending = Unanswered::new(
        Pending::new(&req, note, started, at, capture, None),
        shared.gateway.log.clone(),
    );
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
            let entry = pending.answered().failed(&e.to_string());
            shared.gateway.log.record(entry);
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
    Ok(logged(response, pending.answered(), shared.gateway.log.clone()).map(BodyExt::boxed))
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
