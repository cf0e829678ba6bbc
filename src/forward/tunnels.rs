//! The upgraded connections a forward sends its local connections through: a small pool of
//! SPDY connections per pod (the port-forward URL names the pod), each carrying many stream
//! pairs, so a new local connection costs a stream pair on a connection that is already up
//! instead of a TCP, TLS and upgrade handshake.
//!
//! - The transport is negotiated on the first dial, in kubectl's order (`transport`), and kept
//!   for the forward; where neither SPDY upgrade is served, connections go one WebSocket each.
//! - A connection is picked by the fewest open streams, one whose reading is paused last; when
//!   all have `BUSY_STREAMS` or are paused and the pool is not full, another is dialled in the
//!   background.
//! - Keepalive: a connection idle for `KeepAlive::idle` is sent a PING (client-go pings every 5
//!   or 10 s; nothing answers for the kubelet); one that does not answer within
//!   `KeepAlive::timeout` is closed and, while its pod is still a backend, dialled again.
//!   Meanwhile the forward's health is `Reconnecting`, and it is `Up` again once a connection
//!   is.

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::pod_stream;
use super::port_stream::{PortStream, SpdyPair};
use super::target::Backends;
use super::transport::{self, DialError, Transport};
use crate::spdy::Session;

/// Connections per pod at most.
pub const MAX_POOL: usize = 2;
/// Pods dialled ahead of their first client.
const PREWARM_PODS: usize = 4;
/// Open streams on every connection before the pool grows.
const BUSY_STREAMS: usize = 16;
/// Waits between attempts to replace a lost connection.
const REDIAL_BACKOFF: [Duration; 5] = [
    Duration::from_millis(200),
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(5),
    Duration::from_secs(10),
];

/// When to PING an idle connection, and how long to wait for the answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeepAlive {
    pub idle: Duration,
    pub timeout: Duration,
}

impl Default for KeepAlive {
    fn default() -> Self {
        KeepAlive {
            idle: Duration::from_secs(15),
            timeout: Duration::from_secs(10),
        }
    }
}

/// Whether the forward's connections are up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Health {
    Up,
    /// A connection was lost and none is up again yet.
    Reconnecting(String),
}

type Dial = Shared<BoxFuture<'static, Result<Route, String>>>;

/// Where a pod's connections go, once the transport is known.
#[derive(Clone)]
enum Route {
    Spdy(Session),
    /// Neither SPDY upgrade is served: one v4 WebSocket per connection.
    V4,
}

#[derive(Default)]
struct PodTunnels {
    sessions: Vec<Session>,
    dialing: Option<Dial>,
}

pub struct Tunnels {
    client: kube::Client,
    namespace: String,
    label: String,
    transport: Mutex<Transport>,
    /// A transport chosen by the caller (tests, benchmarks): never falls back.
    forced: bool,
    keepalive: KeepAlive,
    pods: Mutex<HashMap<String, PodTunnels>>,
    next_request: AtomicU64,
    backends: watch::Receiver<Backends>,
    health: watch::Sender<Health>,
    cancel: CancellationToken,
}

impl Tunnels {
    pub fn new(
        client: kube::Client,
        namespace: &str,
        label: &str,
        forced: Option<Transport>,
        keepalive: KeepAlive,
        backends: watch::Receiver<Backends>,
        cancel: CancellationToken,
    ) -> Arc<Tunnels> {
        Arc::new(Tunnels {
            client,
            namespace: namespace.to_string(),
            label: label.to_string(),
            transport: Mutex::new(forced.unwrap_or(Transport::SpdyOverWebSocket)),
            forced: forced.is_some(),
            keepalive,
            pods: Mutex::new(HashMap::new()),
            next_request: AtomicU64::new(0),
            backends,
            health: watch::channel(Health::Up).0,
            cancel,
        })
    }

    pub fn transport(&self) -> Transport {
        *self.transport.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn health(&self) -> watch::Receiver<Health> {
        self.health.subscribe()
    }

    /// Makes sure `pod` has a connection up (negotiating the transport on the first): a forward
    /// is only `active` once this has worked.
    pub async fn warm(self: &Arc<Self>, pod: &str) -> Result<(), String> {
        self.route(pod).await.map(|_| ())
    }

    /// Dials, in the background, the first pods that have no connection yet (a few at most), so
    /// a replacement pod's first client does not wait for the handshake.
    pub fn prewarm(self: &Arc<Self>, backends: &Backends) {
        if !self.transport().multiplexed() {
            return;
        }
        let mut pods = self.pods.lock().unwrap_or_else(|p| p.into_inner());
        for (pod, _) in backends.pods.iter().take(PREWARM_PODS) {
            let entry = pods.entry(pod.clone()).or_default();
            if entry.dialing.is_none() && entry.sessions.iter().all(|s| !s.accepts_streams()) {
                let dial = self.dial(pod);
                entry.dialing = Some(dial.clone());
                tokio::spawn(dial);
            }
        }
    }

    /// A stream to `port` of `pod`, for one local connection.
    pub async fn open(self: &Arc<Self>, pod: &str, port: u16) -> io::Result<PortStream> {
        for _ in 0..2 {
            let session = match self.route(pod).await.map_err(io::Error::other)? {
                Route::V4 => {
                    return pod_stream::connect(&self.client, &self.namespace, pod, port)
                        .await
                        .map(|s| PortStream::V4(Box::new(s)))
                        .map_err(io::Error::other);
                }
                Route::Spdy(session) => session,
            };
            let request = self.next_request.fetch_add(1, Ordering::Relaxed);
            match SpdyPair::open(&session, port, request).await {
                Ok(pair) => return Ok(PortStream::Spdy(Box::new(pair))),
                // It ended between the pick and the open: forget it and pick again.
                Err(_) => self.forget(pod, &session),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::ConnectionAborted,
            "the connection to the API server ended",
        ))
    }

    /// Closes every connection (the forward stopped).
    pub fn close_all(&self) {
        let pods = std::mem::take(&mut *self.pods.lock().unwrap_or_else(|p| p.into_inner()));
        for session in pods.into_values().flat_map(|p| p.sessions) {
            session.close();
        }
    }

    /// Lets the connections to a pod that left the Service end once their streams have: no new
    /// connection goes to it, and connections already open finish (its grace period).
    fn retire(&self, pod: &str) {
        let gone = self
            .pods
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(pod);
        for session in gone.into_iter().flat_map(|p| p.sessions) {
            session.drain();
        }
    }

    fn forget(&self, pod: &str, session: &Session) {
        let mut pods = self.pods.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = pods.get_mut(pod) {
            entry.sessions.retain(|s| !s.same(session));
        }
    }

    /// A connection to `pod`: the least busy one, a new one while there is none, and another
    /// dialled in the background when all are busy.
    async fn route(self: &Arc<Self>, pod: &str) -> Result<Route, String> {
        if self.transport() == Transport::WebSocketV4 {
            return Ok(Route::V4);
        }
        let dial = {
            let mut pods = self.pods.lock().unwrap_or_else(|p| p.into_inner());
            let entry = pods.entry(pod.to_string()).or_default();
            // A connection closing, draining or told GOAWAY takes no new streams.
            entry.sessions.retain(|s| s.accepts_streams());
            // One whose reading is paused (a slow local reader filled its buffers) is taken
            // only when nothing else is up; meanwhile another is dialled.
            let best = entry
                .sessions
                .iter()
                .min_by_key(|s| (s.reading_paused(), s.streams()))
                .cloned();
            match best {
                Some(session) => {
                    let grow = (session.streams() >= BUSY_STREAMS || session.reading_paused())
                        && entry.sessions.len() < MAX_POOL
                        && entry.dialing.is_none();
                    if grow {
                        let dial = self.dial(pod);
                        entry.dialing = Some(dial.clone());
                        tokio::spawn(dial);
                    }
                    return Ok(Route::Spdy(session));
                }
                None => match &entry.dialing {
                    Some(dial) => dial.clone(),
                    None => {
                        let dial = self.dial(pod);
                        entry.dialing = Some(dial.clone());
                        dial
                    }
                },
            }
        };
        dial.await
    }

    /// One dial of `pod`, shared by everyone who waits for it; the connection joins the pool.
    fn dial(self: &Arc<Self>, pod: &str) -> Dial {
        let tunnels = self.clone();
        let pod = pod.to_string();
        async move {
            let dialled = tunnels.negotiate(&pod).await;
            let mut pods = tunnels.pods.lock().unwrap_or_else(|p| p.into_inner());
            let entry = pods.entry(pod.clone()).or_default();
            entry.dialing = None;
            if let Ok(Route::Spdy(session)) = &dialled {
                entry.sessions.push(session.clone());
                tokio::spawn(keepalive(Arc::downgrade(&tunnels), pod, session.clone()));
            }
            drop(pods);
            if dialled.is_ok() {
                tunnels.health.send_if_modified(|h| {
                    let was = *h != Health::Up;
                    *h = Health::Up;
                    was
                });
            }
            dialled
        }
        .boxed()
        .shared()
    }

    /// Dials with the current transport, falling back to the next while the server refuses.
    async fn negotiate(&self, pod: &str) -> Result<Route, String> {
        loop {
            let transport = self.transport();
            if transport == Transport::WebSocketV4 {
                return Ok(Route::V4);
            }
            let dialled = tokio::select! {
                _ = self.cancel.cancelled() => return Err("the forward stopped".into()),
                d = transport::dial(&self.client, &self.namespace, pod, transport) => d,
            };
            match dialled {
                Ok(session) => {
                    tracing::info!(forward = %self.label, pod, "connected by {transport}");
                    return Ok(Route::Spdy(session));
                }
                Err(DialError::Refused(why)) if !self.forced => {
                    let next = transport.fallback().unwrap_or(Transport::WebSocketV4);
                    tracing::info!(forward = %self.label, "{transport} refused ({why}); trying {next}");
                    *self.transport.lock().unwrap_or_else(|p| p.into_inner()) = next;
                }
                Err(e) => return Err(e.to_string()),
            }
        }
    }

    fn is_backend(&self, pod: &str) -> bool {
        self.backends.borrow().pods.iter().any(|(p, _)| p == pod)
    }

    /// Whether some connection is up (or none is needed).
    fn any_up(&self) -> bool {
        self.transport() == Transport::WebSocketV4
            || self
                .pods
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .values()
                .any(|p| p.sessions.iter().any(|s| s.accepts_streams()))
    }
}

impl Drop for Tunnels {
    /// A forward task aborted (it did not stop in time) still ends its connections.
    fn drop(&mut self) {
        self.close_all();
    }
}

/// Pings `session` when idle; when it dies, replaces it while its pod is still a backend; when
/// the pod leaves the Service, lets the connection end once its streams have.
async fn keepalive(tunnels: Weak<Tunnels>, pod: String, session: Session) {
    let Some(t) = tunnels.upgrade() else { return };
    let (keepalive, cancel) = (t.keepalive, t.cancel.clone());
    let mut backends = t.backends.clone();
    // Once the pod has left the Service, its connection drains: still pinged (a path that dies
    // silently must not leave its last clients hanging), never replaced. A dial that finished
    // after the pod left is retired at once.
    let mut retired = !t.is_backend(&pod);
    if retired {
        t.retire(&pod);
        session.drain();
    }
    drop(t);
    let why = loop {
        let idle_at = session.last_read() + keepalive.idle;
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = session.closed() => break session.why_closed().unwrap_or_else(|| "closed".into()),
            changed = backends.changed(), if !retired => {
                let gone = changed.is_err() || !backends.borrow_and_update().pods.iter().any(|(p, _)| *p == pod);
                if gone {
                    if let Some(t) = tunnels.upgrade() {
                        t.retire(&pod);
                    }
                    session.drain();
                    retired = true;
                }
                continue;
            }
            _ = tokio::time::sleep_until(idle_at.into()) => {}
        }
        if session.reading_paused() {
            // Our own readers are behind; the peer is not silent, it is waiting for us.
            tokio::time::sleep(keepalive.idle.min(Duration::from_secs(1))).await;
            continue;
        }
        if session.last_read().elapsed() < keepalive.idle {
            continue;
        }
        match tokio::time::timeout(keepalive.timeout, session.ping()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => break e.to_string(),
            Err(_) if session.reading_paused() => {}
            Err(_) => {
                session.abort("no answer to a keepalive PING");
                break format!(
                    "no answer to a keepalive PING within {:?}",
                    keepalive.timeout
                );
            }
        }
    };
    if retired {
        return;
    }
    let Some(t) = tunnels.upgrade() else { return };
    t.forget(&pod, &session);
    if cancel.is_cancelled() || !t.is_backend(&pod) {
        return;
    }
    tracing::warn!(forward = %t.label, pod, "connection lost: {why}; dialling again");
    if !t.any_up() {
        t.health.send_replace(Health::Reconnecting(why));
    }
    for attempt in 0.. {
        if cancel.is_cancelled() || !t.is_backend(&pod) {
            return;
        }
        match t.route(&pod).await {
            Ok(_) => {
                t.health.send_replace(Health::Up);
                return;
            }
            Err(e) => {
                let wait = REDIAL_BACKOFF[attempt.min(REDIAL_BACKOFF.len() - 1)];
                tracing::warn!(forward = %t.label, pod, attempt, "dialling again failed: {e}");
                t.health.send_replace(Health::Reconnecting(e));
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep(wait) => {}
                }
            }
        }
    }
}
