//! The task behind one forward: ask whether port-forwarding is allowed, resolve the Service and
//! its port, follow its EndpointSlices (a watch, so every new connection sees the current ready
//! pods without asking the API), bind the local listener and serve connections until
//! cancelled. Cancelling closes the listener and every connection at once.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use futures::FutureExt;
use k8s_openapi::api::core::v1::{Pod, Service};
use kube::Api;
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::connection::{self, ConnectionContext};
use super::endpoints;
use super::gateway;
use super::http_proxy::{self, GatewayContext};
use super::stats::Stats;
use super::target::{self, Backends};
use super::{ForwardError, ForwardSpec, ForwardState, ForwardStatus};
use crate::access::AccessCache;

/// How long to wait after a failed accept before the next.
const ACCEPT_RETRY: std::time::Duration = std::time::Duration::from_millis(100);

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
        ctx.publish(|s| s.state = ForwardState::Error(error.to_string()));
        // Stay until stopped, so the error stays visible in the row.
        ctx.cancel.cancelled().await;
    }
}

async fn serve(ctx: &TaskContext) -> Result<(), ForwardError> {
    let spec = &ctx.spec;
    let services: Api<Service> = Api::namespaced(ctx.client.clone(), &spec.namespace);
    // Both at once: on a far cluster each is a round trip.
    let (allowed, service) = tokio::join!(
        ctx.access.allowed(
            &ctx.client,
            &spec.namespace,
            "create",
            "pods",
            "portforward"
        ),
        services.get_opt(&spec.service)
    );
    if !allowed {
        return Err(ForwardError::Forbidden(spec.namespace.clone()));
    }
    let service = match service {
        Ok(Some(service)) => service,
        Ok(None) => return Err(ForwardError::NotFound(spec.label())),
        Err(e) => return Err(ForwardError::Api(api_message(&e))),
    };
    let choice = target::choose_port(&service, spec.remote_port)?;
    let http = gateway::is_http(&choice);
    ctx.publish(|s| s.http = Some(http));
    if spec.gateway.is_some() && !http {
        let port = match &choice.name {
            Some(name) => format!("{} ({name})", choice.service_port),
            None => choice.service_port.to_string(),
        };
        return Err(ForwardError::NotHttp(spec.label(), port));
    }

    let (backends_rx, backends_task) = match &spec.pod {
        Some(pod) => {
            let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), &spec.namespace);
            let pinned = pods
                .get_opt(pod)
                .await
                .map_err(|e| ForwardError::Api(api_message(&e)))?;
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
            .map_err(ForwardError::Api)?;
            (follower.backends, Some(follower.task))
        }
    };

    let remote = match choice.target {
        target::Target::Number(n) => n,
        target::Target::Name(_) => backends_rx.borrow().port().unwrap_or(choice.service_port),
    };
    let listener = super::port::bind(spec.address, spec.local_port, remote)?;
    let local = listener
        .local_addr()
        .map_err(|e| ForwardError::Bind(SocketAddr::new(spec.address, 0), e.to_string()))?;
    tracing::info!(forward = %spec.label(), %local, remote, "forward listening");
    let state_of = |b: &Backends| {
        if b.pods.is_empty() {
            ForwardState::NoReadyPods
        } else {
            ForwardState::Active
        }
    };
    ctx.publish(|s| {
        s.local = Some(local);
        s.remote_port = backends_rx.borrow().port().or(Some(remote));
        s.state = state_of(&backends_rx.borrow());
    });

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
                ctx.publish(|s| {
                    s.state = state_of(&backends);
                    s.remote_port = backends.port().or(s.remote_port);
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
                let connection = ConnectionContext {
                    client: ctx.client.clone(),
                    namespace: spec.namespace.clone(),
                    backends: backends_rx.clone(),
                    stats: ctx.stats.clone(),
                    next: next.clone(),
                    cancel: ctx.cancel.child_token(),
                    label: spec.label(),
                };
                if http_aware {
                    connections.spawn(http_proxy::serve(stream, connection, ctx.gateway.clone()));
                } else {
                    let switched = raw_connections.clone();
                    connections.spawn(connection::serve(stream, connection, switched));
                }
            }
        }
    }
    drop(listener);
    connections.close();
    connections.wait().await;
    if let Some(task) = backends_task {
        task.abort();
    }
    Ok(())
}

fn api_message(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(status) => format!("{} ({})", status.message, status.code),
        other => other.to_string(),
    }
}
