//! The task behind one forward: ask whether port-forwarding is allowed, resolve the Service and
//! its port, follow its EndpointSlices (a watch, so every new connection sees the current ready
//! pods without asking the API), bind the local listener and serve connections until
//! cancelled. Cancelling closes the listener and every connection at once.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use futures::FutureExt;
use k8s_openapi::api::core::v1::{Pod, Service};
use kube::Api;
use tokio::sync::{Notify, mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::connection::{self, ConnectionContext};
use super::endpoints;
use super::gateway;
use super::http_proxy::{self, GatewayContext};
use super::replay::{self, Replay};
use super::stats::Stats;
use super::target::{self, Backends, PortChoice};
use super::transport::Transport;
use super::tunnels::{Health, KeepAlive, Tunnels};
use super::{ForwardError, ForwardSpec, ForwardState, ForwardStatus};
use crate::access::{AccessCache, Question};
use crate::backoff::Backoff;

/// How long to wait after a failed accept before the next.
const ACCEPT_RETRY: std::time::Duration = std::time::Duration::from_millis(100);
/// Waits between setup attempts that may pass: 1 s doubling to 30 s.
const SETUP_BACKOFF: Backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));

pub struct TaskContext {
    pub client: kube::Client,
    /// The answers about port-forward permission, shared by the manager's forwards.
    pub access: AccessCache,
    pub spec: ForwardSpec,
    pub stats: Arc<Stats>,
    pub status: watch::Sender<ForwardStatus>,
    pub changed: Arc<Notify>,
    pub cancel: CancellationToken,
    pub gateway: GatewayContext,
    /// The transport to use, never falling back (tests, benchmarks); negotiated when `None`.
    pub transport: Option<Transport>,
    pub keepalive: KeepAlive,
    /// Requests to send again (`p`, `P` in the request log).
    pub replays: tokio::sync::Mutex<mpsc::Receiver<Replay>>,
}

impl TaskContext {
    fn publish(&self, change: impl FnOnce(&mut ForwardStatus)) {
        let mut changed = false;
        self.status.send_if_modified(|status| {
            let before = status.clone();
            change(status);
            changed = *status != before;
            changed
        });
        if changed {
            self.changed.notify_one();
        }
    }
}

/// What a forward's row says when its task panicked (the panic and its backtrace are in the log).
pub const INTERNAL_ERROR: &str = "internal error (see the log)";

/// Runs a forward once `previous` (the forward it replaces, stopping) has let go of the port,
/// waiting at most `wait` for it. A panic inside is contained: the row says `internal error`
/// and the rest of the dashboard carries on. `changed` is woken when the task ends, so the
/// manager can drop a stopped forward as soon as its port is closed.
pub async fn run_after(
    previous: Option<tokio::task::JoinHandle<()>>,
    wait: std::time::Duration,
    ctx: TaskContext,
) {
    if let Some(mut previous) = previous
        && tokio::time::timeout(wait, &mut previous).await.is_err()
    {
        previous.abort();
        let _ = previous.await;
    }
    let (status, changed, cancel) = (ctx.status.clone(), ctx.changed.clone(), ctx.cancel.clone());
    let label = ctx.spec.label();
    if std::panic::AssertUnwindSafe(run(ctx))
        .catch_unwind()
        .await
        .is_err()
    {
        tracing::error!(forward = %label, "the forward's task panicked; it is stopped");
        status.send_modify(|s| s.state = ForwardState::Error(INTERNAL_ERROR.to_string()));
        changed.notify_one();
        cancel.cancelled().await;
    }
    changed.notify_one();
}

async fn run(ctx: TaskContext) {
    crate::crash::test_panic("forward");
    if let Err(error) = serve(&ctx).await {
        tracing::warn!(forward = %ctx.spec.label(), "forward failed: {error}");
        // The listener is closed by now: the row must not offer its address.
        ctx.publish(|s| {
            s.state = ForwardState::Error(error.to_string());
            s.local = None;
        });
        // Stay until stopped, so the error stays visible in the row.
        ctx.cancel.cancelled().await;
    }
}

/// What the setup found: the port, the pods to send to, and the connections to them.
struct Ready {
    choice: PortChoice,
    http: bool,
    backends: watch::Receiver<Backends>,
    follower: Option<tokio::task::JoinHandle<()>>,
    tunnels: Arc<Tunnels>,
}

/// Why the setup did not finish.
enum SetupError {
    /// Trying again will not help: shown as the forward's error.
    Final(ForwardError),
    /// It may pass (the API server unreachable, a 5xx): wait and try again.
    Transient(String),
}

impl From<ForwardError> for SetupError {
    fn from(e: ForwardError) -> Self {
        SetupError::Final(e)
    }
}

/// An API error that says something about the request (final) or about the server (may pass).
fn classify(e: &kube::Error) -> SetupError {
    match e {
        kube::Error::Api(status) if status.code >= 500 || status.code == 429 => {
            SetupError::Transient(api_message(e))
        }
        kube::Error::Api(_) => SetupError::Final(ForwardError::Api(api_message(e))),
        other => SetupError::Transient(super::transport::innermost(other)),
    }
}

async fn serve(ctx: &TaskContext) -> Result<(), ForwardError> {
    let spec = &ctx.spec;
    // An exact local port is taken at once and kept while the setup waits.
    let early = match spec.local_port {
        Some(_) => Some(super::port::bind(spec.address, spec.local_port, 0)?),
        None => None,
    };
    if let Some(listener) = &early {
        let local = listener.local_addr().ok();
        ctx.publish(|s| s.local = local);
    }
    let Some(ready) = set_up(ctx).await? else {
        return Ok(());
    };
    let Ready {
        choice,
        http,
        backends,
        follower,
        tunnels,
    } = ready;
    let remote = match choice.target {
        target::Target::Number(n) => n,
        target::Target::Name(_) => backends.borrow().port().unwrap_or(choice.service_port),
    };
    let listener = match early {
        Some(listener) => listener,
        None => super::port::bind(spec.address, spec.local_port, remote)?,
    };
    let local = listener
        .local_addr()
        .map_err(|e| ForwardError::Bind(SocketAddr::new(spec.address, 0), e.to_string()))?;
    tracing::info!(forward = %spec.label(), %local, remote, transport = %tunnels.transport(), "forward listening");
    // Subscribed before the state is first published, so no change of health is missed.
    let health = tunnels.health();
    ctx.publish(|s| {
        s.local = Some(local);
        s.remote_port = backends.borrow().port().or(Some(remote));
        s.transport = Some(tunnels.transport());
        s.state = state_of(&backends.borrow(), &health.borrow());
    });
    serve_connections(ctx, listener, &tunnels, (backends, health), http).await;
    tunnels.close_all();
    if let Some(task) = follower {
        task.abort();
    }
    Ok(())
}

/// Sets the forward up, waiting between failures that may pass (`SETUP_BACKOFF`); `None` when
/// it is stopped meanwhile.
async fn set_up(ctx: &TaskContext) -> Result<Option<Ready>, ForwardError> {
    let mut backoff = SETUP_BACKOFF;
    loop {
        match setup(ctx).await {
            Ok(ready) => return Ok(Some(ready)),
            Err(SetupError::Final(e)) => return Err(e),
            Err(SetupError::Transient(cause)) => {
                let retry_in = backoff.next_wait();
                tracing::warn!(forward = %ctx.spec.label(), "setup failed: {cause}; again in {retry_in:?}");
                ctx.publish(|s| s.state = ForwardState::Waiting { cause, retry_in });
                tokio::select! {
                    _ = ctx.cancel.cancelled() => return Ok(None),
                    _ = tokio::time::sleep(retry_in) => {}
                }
            }
        }
    }
}

/// What the row says while the forward listens: its pods, then its tunnels' health.
fn state_of(backends: &Backends, health: &Health) -> ForwardState {
    match (backends.pods.is_empty(), health) {
        (true, _) => ForwardState::NoReadyPods,
        (false, Health::Reconnecting(why)) => ForwardState::Reconnecting(why.clone()),
        (false, Health::Up) => ForwardState::Active,
    }
}

/// Accepts and serves connections until the forward is stopped, following its pods, the
/// tunnels' health and the gateway mode; returns once every connection has ended.
async fn serve_connections(
    ctx: &TaskContext,
    listener: tokio::net::TcpListener,
    tunnels: &Arc<Tunnels>,
    (backends_rx, mut health): (watch::Receiver<Backends>, watch::Receiver<Health>),
    http: bool,
) {
    let spec = &ctx.spec;
    let connections = TaskTracker::new();
    let next = Arc::new(AtomicUsize::new(0));
    let mut watching = backends_rx.clone();
    // Once gateway mode has been on, connections are served as HTTP even while it is off
    // (requests then pass unchanged), so a change of identity applies to every open connection.
    // Before that, connections are raw bytes, exactly as a plain forward; switching the mode on
    // resets those, so a client's keep-alive connection cannot go on without the headers.
    let mut http_aware = http && ctx.gateway.identity.borrow().is_some();
    let mut identity = ctx.gateway.identity.clone();
    let mut raw_connections = ctx.cancel.child_token();
    let mut backends_open = true;
    let mut replays = ctx.replays.lock().await;
    let connection = || ConnectionContext {
        tunnels: tunnels.clone(),
        backends: backends_rx.clone(),
        stats: ctx.stats.clone(),
        next: next.clone(),
        cancel: ctx.cancel.child_token(),
        label: spec.label(),
    };
    loop {
        tokio::select! {
            _ = ctx.cancel.cancelled() => break,
            changed = watching.changed(), if backends_open => {
                if changed.is_err() {
                    // The Endpoints follower ended: the last known pods stay in use.
                    backends_open = false;
                    continue;
                }
                let backends = watching.borrow_and_update().clone();
                // New pods get their connection before their first client.
                tunnels.prewarm(&backends);
                ctx.publish(|s| {
                    s.state = state_of(&backends, &health.borrow());
                    s.remote_port = backends.port().or(s.remote_port);
                });
            }
            changed = health.changed() => {
                if changed.is_err() {
                    continue;
                }
                let now = health.borrow_and_update().clone();
                ctx.publish(|s| {
                    s.state = state_of(&watching.borrow(), &now);
                    s.transport = Some(tunnels.transport());
                });
            }
            changed = identity.changed(), if http && !http_aware => {
                if changed.is_ok() && identity.borrow_and_update().is_some() {
                    http_aware = true;
                    raw_connections.cancel();
                    raw_connections = ctx.cancel.child_token();
                }
            }
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        // Out of file descriptors, say: wait rather than spin.
                        tracing::warn!(forward = %spec.label(), "accept failed: {e}");
                        tokio::time::sleep(ACCEPT_RETRY).await;
                        continue;
                    }
                };
                if http_aware {
                    connections.spawn(http_proxy::serve(stream, connection(), ctx.gateway.clone()));
                } else {
                    let switched = raw_connections.clone();
                    connections.spawn(connection::serve(stream, connection(), switched));
                }
            }
            Some(replay) = replays.recv() => {
                connections.spawn(replay::send(connection(), ctx.gateway.log.clone(), replay));
            }
        }
    }
    drop(listener);
    connections.close();
    connections.wait().await;
}

/// Permission, the Service and its port, the pods behind it, and a first connection to one of
/// them. All or nothing: a failure undoes what was started.
async fn setup(ctx: &TaskContext) -> Result<Ready, SetupError> {
    let spec = &ctx.spec;
    let services: Api<Service> = Api::namespaced(ctx.client.clone(), &spec.namespace);
    // Nameless: each connection goes to whichever pod is Ready behind the Service.
    let question = Question::new(&spec.namespace, "create", "", "pods").subresource("portforward");
    // Both at once: on a far cluster each is a round trip.
    let (allowed, service) = tokio::join!(
        ctx.access.allowed(&ctx.client, &question),
        services.get_opt(&spec.service)
    );
    if !allowed {
        return Err(ForwardError::Forbidden(spec.namespace.clone()).into());
    }
    let service = match service {
        Ok(Some(service)) => service,
        Ok(None) => return Err(ForwardError::NotFound(spec.label()).into()),
        Err(e) => return Err(classify(&e)),
    };
    let choice = target::choose_port(&service, spec.remote_port)?;
    let http = gateway::is_http(&choice);
    ctx.publish(|s| s.http = Some(http));
    if spec.gateway.is_some() && !http {
        let port = match &choice.name {
            Some(name) => format!("{} ({name})", choice.service_port),
            None => choice.service_port.to_string(),
        };
        return Err(ForwardError::NotHttp(spec.label(), port).into());
    }

    let (backends, follower) = match &spec.pod {
        Some(pod) => {
            let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), &spec.namespace);
            let pinned = pods.get_opt(pod).await.map_err(|e| classify(&e))?;
            let pinned = pinned.ok_or_else(|| ForwardError::PodNotFound(pod.clone()))?;
            let port = target::container_port(&pinned, &choice.target)
                .ok_or_else(|| ForwardError::UnresolvedPort(pod.clone()))?;
            let (_, rx) = watch::channel(Backends {
                pods: vec![(pod.clone(), port)],
            });
            (rx, None)
        }
        None => {
            let follower = endpoints::follow(
                ctx.client.clone(),
                &service,
                choice.clone(),
                ctx.cancel.clone(),
            )
            .await
            .map_err(|e| match e {
                endpoints::FollowError::Refused(m) => SetupError::Final(ForwardError::Api(m)),
                endpoints::FollowError::Failed(m) => SetupError::Transient(m),
            })?;
            (follower.backends, Some(follower.task))
        }
    };
    let tunnels = Tunnels::new(
        ctx.client.clone(),
        &spec.namespace,
        &spec.label(),
        ctx.transport,
        ctx.keepalive,
        backends.clone(),
        ctx.cancel.child_token(),
    );
    // The first connection before the forward says `active`.
    let first = backends.borrow().pods.first().map(|(pod, _)| pod.clone());
    if let Some(pod) = first
        && let Err(cause) = tunnels.warm(&pod).await
    {
        tunnels.close_all();
        if let Some(task) = follower {
            task.abort();
        }
        return Err(SetupError::Transient(cause));
    }
    Ok(Ready {
        choice,
        http,
        backends,
        follower,
        tunnels,
    })
}

fn api_message(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(status) => format!("{} ({})", status.message, status.code),
        other => other.to_string(),
    }
}
