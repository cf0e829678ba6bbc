//! The forward manager: owns every forward (a task, its cancellation token, its status and
//! counters), starts, stops and stops all. It lives in the task that uses it (the dashboard's
//! event loop, or the headless command); forwards report back through watch channels and a
//! shared `Notify`, never by touching the caller's state.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::gateway::GatewayIdentity;
use super::http_proxy::GatewayContext;
use super::request_log::{RequestEntry, RequestLog};
use super::stats::Stats;
use super::task::{self, TaskContext};
use super::{ForwardError, ForwardKey, ForwardSpec, ForwardState, ForwardStatus, ForwardView};

/// How long stopping waits for a forward's listener and connections to close.
const STOP_TIMEOUT: Duration = Duration::from_millis(500);

struct Forward {
    spec: ForwardSpec,
    status: watch::Receiver<ForwardStatus>,
    stats: Arc<Stats>,
    /// Gateway mode's identity; connections read it per request.
    gateway: watch::Sender<Option<GatewayIdentity>>,
    requests: RequestLog,
    cancel: CancellationToken,
    task: JoinHandle<()>,
}

impl Forward {
    fn view(&self) -> ForwardView {
        ForwardView {
            status: self.status.borrow().clone(),
            stats: self.stats.view(),
            gateway: self.gateway.borrow().clone(),
            requests: self.requests.total(),
        }
    }
}

pub struct ForwardManager {
    client: kube::Client,
    forwards: BTreeMap<ForwardKey, Forward>,
    changed: Arc<Notify>,
}

impl ForwardManager {
    pub fn new(client: kube::Client) -> Self {
        ForwardManager {
            client,
            forwards: BTreeMap::new(),
            changed: Arc::new(Notify::new()),
        }
    }

    /// Woken whenever a forward's state changes (not for every byte: read counters on a tick).
    pub fn changed(&self) -> Arc<Notify> {
        self.changed.clone()
    }

    /// Starts a forward; a running forward of the same microservice is replaced.
    pub async fn start(&mut self, spec: ForwardSpec) {
        let key = spec.key();
        self.stop(&key).await;
        let (status_tx, status_rx) = watch::channel(ForwardStatus {
            state: ForwardState::Starting,
            local: None,
            remote_port: None,
            exposed: !spec.address.is_loopback(),
            http: None,
        });
        let stats = Arc::new(Stats::default());
        let cancel = CancellationToken::new();
        let (gateway, identity) = watch::channel(spec.gateway.clone());
        let requests = RequestLog::new(self.changed.clone());
        let task = tokio::spawn(task::run(TaskContext {
            client: self.client.clone(),
            spec: spec.clone(),
            stats: stats.clone(),
            status: status_tx,
            changed: self.changed.clone(),
            cancel: cancel.clone(),
            gateway: GatewayContext {
                identity,
                log: requests.clone(),
            },
        }));
        self.forwards.insert(
            key,
            Forward {
                spec,
                status: status_rx,
                stats,
                gateway,
                requests,
                cancel,
                task,
            },
        );
        self.changed.notify_one();
    }

    /// Stops a forward: its port refuses connections and open connections close when this
    /// returns. Returns whether there was one.
    pub async fn stop(&mut self, key: &ForwardKey) -> bool {
        let Some(forward) = self.forwards.remove(key) else {
            return false;
        };
        forward.cancel.cancel();
        if tokio::time::timeout(STOP_TIMEOUT, forward.task)
            .await
            .is_err()
        {
            tracing::warn!(forward = %forward.spec.label(), "forward did not stop in time");
        }
        self.changed.notify_one();
        true
    }

    /// Starts the forward if there is none for this microservice, else stops it.
    pub async fn toggle(&mut self, spec: ForwardSpec) {
        if !self.stop(&spec.key()).await {
            self.start(spec).await;
        }
    }

    pub async fn stop_all(&mut self) {
        let keys: Vec<ForwardKey> = self.forwards.keys().cloned().collect();
        for forward in self.forwards.values() {
            forward.cancel.cancel();
        }
        for key in keys {
            self.stop(&key).await;
        }
    }

    /// Turns gateway mode on (with this identity) or off, without restarting the forward: the
    /// port and open connections stay, and the next request goes out as the new identity.
    pub fn set_gateway(
        &mut self,
        key: &ForwardKey,
        identity: Option<GatewayIdentity>,
    ) -> Result<(), ForwardError> {
        let Some(forward) = self.forwards.get_mut(key) else {
            return Err(ForwardError::NotFound(format!("{}.{}", key.1, key.0)));
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

    pub fn view(&self, key: &ForwardKey) -> Option<ForwardView> {
        self.forwards.get(key).map(Forward::view)
    }

    pub fn views(&self) -> impl Iterator<Item = (&ForwardKey, ForwardView)> + '_ {
        self.forwards.iter().map(|(k, f)| (k, f.view()))
    }

    pub fn specs(&self) -> impl Iterator<Item = &ForwardSpec> + '_ {
        self.forwards.values().map(|f| &f.spec)
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
