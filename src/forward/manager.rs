//! The forward manager: owns every forward (a task, its cancellation token, its status and
//! counters), starts, stops and stops all. It lives in the task that uses it (the dashboard's
//! event loop, or the headless command); forwards report back through watch channels and a
//! shared `Notify`, never by touching the caller's state.
//!
//! Nothing here waits on a forward's task while the caller could be drawing: stopping cancels
//! the task and marks the forward `stopping`; the task closes its listener and connections in the
//! background and wakes `changed` when it has, and `reap` then drops it. A forward started again
//! while its predecessor is still stopping waits, in its own task, for the port to be released.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::gateway::GatewayIdentity;
use super::http_proxy::GatewayContext;
use super::replay::Replay;
use super::request_log::{RequestEntry, RequestLog, RequestSink};
use super::stats::Stats;
use super::task::{self, TaskContext};
use super::transport::Transport;
use super::tunnels::KeepAlive;
use super::{ForwardError, ForwardKey, ForwardSpec, ForwardState, ForwardStatus, ForwardView};
use crate::access::AccessCache;

/// Forces a transport for every forward (`spdy-ws`, `spdy`, `v4`): for tests and benchmarks
/// that drive the binary.
pub const TRANSPORT_ENV: &str = "HASURA_TUI_FORWARD_TRANSPORT";

/// How long a stopping forward may take to close its listener and connections before it is
/// forgotten anyway (its task is then aborted), and how long its successor waits for the port.
const STOP_TIMEOUT: Duration = Duration::from_millis(500);
/// Replays waiting for their forward's task: a few keypresses' worth.
const REPLAYS_QUEUED: usize = 8;

struct Forward {
    spec: ForwardSpec,
    status: watch::Receiver<ForwardStatus>,
    stats: Arc<Stats>,
    /// Gateway mode's identity; connections read it per request.
    gateway: watch::Sender<Option<GatewayIdentity>>,
    requests: RequestLog,
    replays: mpsc::Sender<Replay>,
    cancel: CancellationToken,
    task: JoinHandle<()>,
    /// Cancelled, and closing its port: shown as `stopping` until the task has ended.
    stopping: Option<tokio::time::Instant>,
}

impl Forward {
    fn view(&self) -> ForwardView {
        let mut status = self.status.borrow().clone();
        if self.stopping.is_some() {
            status.state = ForwardState::Stopping;
        }
        ForwardView {
            status,
            stats: self.stats.view(),
            gateway: self.gateway.borrow().clone(),
            requests: self.requests.total(),
        }
    }
}

pub struct ForwardManager {
    client: kube::Client,
    access: AccessCache,
    forwards: BTreeMap<ForwardKey, Forward>,
    changed: Arc<Notify>,
    /// A transport every forward must use (tests, benchmarks); else each negotiates.
    transport: Option<Transport>,
    keepalive: KeepAlive,
    /// Every forward's requests also go here (`port-forward --log-requests`).
    request_sink: Option<RequestSink>,
}

impl ForwardManager {
    /// The permission answers this manager's forwards share (the logs pane asks them too).
    pub fn access(&self) -> AccessCache {
        self.access.clone()
    }

    pub fn new(client: kube::Client) -> Self {
        ForwardManager {
            client,
            access: AccessCache::default(),
            forwards: BTreeMap::new(),
            changed: Arc::new(Notify::new()),
            transport: std::env::var(TRANSPORT_ENV)
                .ok()
                .and_then(|t| Transport::parse(&t)),
            keepalive: KeepAlive::default(),
            request_sink: None,
        }
    }

    /// Forwards started from now hand every request they log to `sink` too.
    pub fn with_request_sink(mut self, sink: RequestSink) -> Self {
        self.request_sink = Some(sink);
        self
    }

    /// Every forward started from now uses `transport` and never falls back (tests and
    /// benchmarks force each transport this way).
    pub fn with_transport(mut self, transport: Transport) -> Self {
        self.transport = Some(transport);
        self
    }

    /// Keepalive timings for forwards started from now (tests shorten them).
    pub fn with_keepalive(mut self, keepalive: KeepAlive) -> Self {
        self.keepalive = keepalive;
        self
    }

    /// A forward's status as it changes (tests, and the headless command while it waits).
    pub fn status(&self, key: &ForwardKey) -> Option<watch::Receiver<ForwardStatus>> {
        self.forwards.get(key).map(|f| f.status.clone())
    }

    /// Woken whenever a forward's state changes (not for every byte: read counters on a tick).
    pub fn changed(&self) -> Arc<Notify> {
        self.changed.clone()
    }

    /// Starts a forward; a running forward of the same microservice is replaced (the new one
    /// binds once the old one has let go of its port).
    pub fn start(&mut self, spec: ForwardSpec) {
        let key = spec.key();
        let previous = self.forwards.remove(&key).map(|old| {
            old.cancel.cancel();
            old.task
        });
        let (status_tx, status_rx) = watch::channel(ForwardStatus {
            state: ForwardState::Starting,
            local: None,
            remote_port: None,
            exposed: !spec.address.is_loopback(),
            http: None,
            transport: None,
        });
        let stats = Arc::new(Stats::default());
        let cancel = CancellationToken::new();
        let (gateway, identity) = watch::channel(spec.gateway.clone());
        let requests = RequestLog::new(self.changed.clone()).with_sink(self.request_sink.clone());
        let (replays, replays_rx) = mpsc::channel(REPLAYS_QUEUED);
        let context = TaskContext {
            client: self.client.clone(),
            access: self.access.clone(),
            spec: spec.clone(),
            stats: stats.clone(),
            status: status_tx,
            changed: self.changed.clone(),
            cancel: cancel.clone(),
            gateway: GatewayContext {
                identity,
                log: requests.clone(),
            },
            transport: self.transport,
            keepalive: self.keepalive,
            replays: tokio::sync::Mutex::new(replays_rx),
        };
        let task = tokio::spawn(task::run_after(previous, STOP_TIMEOUT, context));
        self.forwards.insert(
            key,
            Forward {
                spec,
                status: status_rx,
                stats,
                gateway,
                requests,
                replays,
                cancel,
                task,
                stopping: None,
            },
        );
        self.changed.notify_one();
    }

    /// Begins stopping a forward: its port stops accepting at once and its connections close in
    /// the background; the forward shows `stopping` until then. Returns whether there was a
    /// running one.
    pub fn stop(&mut self, key: &ForwardKey) -> bool {
        let Some(forward) = self.forwards.get_mut(key) else {
            return false;
        };
        if forward.stopping.is_some() {
            return false;
        }
        forward.cancel.cancel();
        forward.stopping = Some(tokio::time::Instant::now());
        self.changed.notify_one();
        true
    }

    /// Drops the forwards that have finished stopping (or overrun `STOP_TIMEOUT`, whose tasks
    /// are then aborted). Returns whether any went.
    pub fn reap(&mut self) -> bool {
        let before = self.forwards.len();
        self.forwards.retain(|key, forward| {
            let Some(since) = forward.stopping else {
                return true;
            };
            if forward.task.is_finished() {
                return false;
            }
            if since.elapsed() >= STOP_TIMEOUT {
                tracing::warn!(forward = %key, "forward did not stop in time");
                forward.task.abort();
                return false;
            }
            true
        });
        self.forwards.len() != before
    }

    /// When the next stopping forward overruns `STOP_TIMEOUT` (for the event loop's timer).
    pub fn next_stop_deadline(&self) -> Option<tokio::time::Instant> {
        self.forwards
            .values()
            .filter_map(|f| f.stopping)
            .min()
            .map(|since| since + STOP_TIMEOUT)
    }

    /// Stops a forward and waits until its port is closed (headless use and tests).
    pub async fn stop_and_wait(&mut self, key: &ForwardKey) -> bool {
        let stopped = self.stop(key);
        if let Some(forward) = self.forwards.remove(key) {
            finish(forward).await;
        }
        stopped
    }

    /// Starts the forward if there is none running for this microservice, else stops it.
    pub fn toggle(&mut self, spec: ForwardSpec) {
        if !self.stop(&spec.key()) {
            self.start(spec);
        }
    }

    /// Stops every forward and waits until every port is closed (quitting).
    pub async fn stop_all(&mut self) {
        for forward in self.forwards.values() {
            forward.cancel.cancel();
        }
        let all = std::mem::take(&mut self.forwards);
        futures::future::join_all(all.into_values().map(finish)).await;
        self.changed.notify_one();
    }

    /// Turns gateway mode on (with this identity) or off, without restarting the forward: the
    /// port and open connections stay, and the next request goes out as the new identity.
    pub fn set_gateway(
        &mut self,
        key: &ForwardKey,
        identity: Option<GatewayIdentity>,
    ) -> Result<(), ForwardError> {
        let Some(forward) = self.forwards.get_mut(key) else {
            return Err(ForwardError::NotFound(key.to_string()));
        };
        if identity.is_some() && forward.status.borrow().http == Some(false) {
            let port = forward
                .status
                .borrow()
                .remote_port
                .map_or_else(|| "?".to_string(), |p| p.to_string());
            return Err(ForwardError::NotHttp(forward.spec.label(), port));
        }
        forward.spec.gateway = identity.clone();
        forward.gateway.send_replace(identity);
        self.changed.notify_one();
        Ok(())
    }

    /// The request log of a forward (gateway mode), oldest first.
    pub fn requests(&self, key: &ForwardKey) -> Vec<RequestEntry> {
        self.forwards
            .get(key)
            .map(|f| f.requests.entries())
            .unwrap_or_default()
    }

    /// Sends request `seq` of a forward's log again through the forward, as it went out or as
    /// `identity`; the answer is recorded in the same log. Returns what the footer says.
    pub fn replay(
        &self,
        key: &ForwardKey,
        seq: u64,
        identity: Option<GatewayIdentity>,
    ) -> Result<String, String> {
        let Some(forward) = self.forwards.get(key).filter(|f| f.stopping.is_none()) else {
            return Err(format!("{key} is not forwarded any more"));
        };
        let Some(entry) = forward.requests.get(seq) else {
            return Err(format!(
                "#{seq} is no longer kept (the log keeps the last 200)"
            ));
        };
        let replay = Replay::of(&entry, identity)?;
        let said = replay.under_way();
        forward
            .replays
            .try_send(replay)
            .map_err(|_| format!("{REPLAYS_QUEUED} replays are already on their way: wait"))?;
        Ok(said)
    }

    /// Whether a forward is running (started and not stopping).
    pub fn is_running(&self, key: &ForwardKey) -> bool {
        self.forwards.get(key).is_some_and(|f| f.stopping.is_none())
    }

    pub fn view(&self, key: &ForwardKey) -> Option<ForwardView> {
        self.forwards.get(key).map(Forward::view)
    }

    pub fn views(&self) -> impl Iterator<Item = (&ForwardKey, ForwardView)> + '_ {
        self.forwards.iter().map(|(k, f)| (k, f.view()))
    }

    /// The running forwards' specs (what is saved; stopping ones are already gone for that).
    pub fn specs(&self) -> impl Iterator<Item = &ForwardSpec> + '_ {
        self.forwards
            .values()
            .filter(|f| f.stopping.is_none())
            .map(|f| &f.spec)
    }

    pub fn len(&self) -> usize {
        self.forwards.len()
    }

    pub fn is_empty(&self) -> bool {
        self.forwards.is_empty()
    }

    /// Waits until a forward leaves `Starting` (bound, or failed).
    pub async fn wait_started(&self, key: &ForwardKey) -> Option<ForwardStatus> {
        let mut rx = self.forwards.get(key)?.status.clone();
        let status = rx
            .wait_for(|s| s.state != ForwardState::Starting)
            .await
            .ok()?;
        Some(status.clone())
    }
}

/// Waits (at most `STOP_TIMEOUT`) for a cancelled forward's task to end, then aborts it.
async fn finish(forward: Forward) {
    forward.cancel.cancel();
    let mut task = forward.task;
    if tokio::time::timeout(STOP_TIMEOUT, &mut task).await.is_err() {
        tracing::warn!(forward = %forward.spec.label(), "forward did not stop in time");
        task.abort();
    }
}
