//! One local connection through a forward: pick a Ready pod (fresh for every connection), open a
//! kube-rs port-forward stream to it, and copy both ways. A pod that dies mid-stream resets the
//! local connection, so a client can never mistake a cut transfer for a complete one.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::FutureExt;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::Portforwarder;
use tokio::io::{AsyncWrite, AsyncWriteExt, BufReader, DuplexStream};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::stats::{Counted, Stats};
use super::target::Backends;

/// How long a connection waits for a Ready pod before it is closed.
pub const NO_PODS_WAIT: Duration = Duration::from_secs(3);
/// Why a connection was reset when kube-rs gives no message.
const LOST: &str = "lost the connection to the pod";
/// Copy buffer per direction: large enough that a fast stream is not syscall-bound.
const COPY_BUFFER: usize = 256 * 1024;

pub struct ConnectionContext {
    pub pods: Api<Pod>,
    pub backends: watch::Receiver<Backends>,
    pub stats: Arc<Stats>,
    pub next: Arc<AtomicUsize>,
    pub cancel: CancellationToken,
    pub label: String,
}

/// A port-forward stream to one Ready pod, for one local connection.
pub struct Upstream {
    pub pod: String,
    /// Owns kube-rs's task for the stream: dropping it ends the stream.
    pub forwarder: Portforwarder,
    pub stream: DuplexStream,
    /// Resolves to the pod-side error, if one comes; `None` when the stream ended without one.
    pub errors: Pin<Box<dyn Future<Output = Option<String>> + Send>>,
}

/// Why a local connection got no upstream.
pub enum NoUpstream {
    /// No Ready pod within `NO_PODS_WAIT` (or the forward stopped): close politely.
    NoPods,
    /// The API refused the port-forward: reset, so the client sees a failure.
    Failed,
}

/// Picks a Ready pod (fresh for every connection) and opens a port-forward stream to it.
pub async fn open_upstream(ctx: &mut ConnectionContext) -> Result<Upstream, NoUpstream> {
    let Some((pod, port)) = pick_backend(ctx).await else {
        tracing::info!(forward = %ctx.label, "connection closed: no ready pods");
        return Err(NoUpstream::NoPods);
    };
    let mut forwarder = match ctx.pods.portforward(&pod, &[port]).await {
        Ok(forwarder) => forwarder,
        Err(e) => {
            tracing::warn!(forward = %ctx.label, pod, "port-forward failed: {e}");
            return Err(NoUpstream::Failed);
        }
    };
    let (Some(stream), Some(errors)) = (forwarder.take_stream(port), forwarder.take_error(port))
    else {
        return Err(NoUpstream::Failed);
    };
    Ok(Upstream {
        pod,
        forwarder,
        stream,
        errors: Box::pin(errors),
    })
}

/// Serves one local connection as raw bytes, both ways.
pub async fn serve(local: TcpStream, mut ctx: ConnectionContext) {
    let _open = ctx.stats.connection();
    let _ = local.set_nodelay(true);
    let Upstream {
        pod,
        forwarder,
        stream: upstream,
        mut errors,
    } = match open_upstream(&mut ctx).await {
        Ok(upstream) => upstream,
        Err(NoUpstream::NoPods) => return,
        Err(NoUpstream::Failed) => return reset(local),
    };
    let (local_read, local_write) = local.into_split();
    let mut to_pod =
        BufReader::with_capacity(COPY_BUFFER, Counted::new(local_read, ctx.stats.clone()));
    let mut to_client = Counted::new(local_write, ctx.stats.clone());
    let (pod_read, mut pod_write) = tokio::io::split(upstream);
    let mut from_pod = BufReader::with_capacity(COPY_BUFFER, pod_read);
    let mut errors_done = false;

    let outcome = {
        let upload = async {
            let _ = tokio::io::copy_buf(&mut to_pod, &mut pod_write).await;
            let _ = pod_write.shutdown().await;
        };
        let download = copy_until_eof(&mut from_pod, &mut to_client);
        tokio::pin!(upload, download);
        let mut upload_done = false;
        // The connection ends when the pod's side does: the pod will read nothing more after that.
        loop {
            tokio::select! {
                _ = ctx.cancel.cancelled() => break Outcome::Stopped,
                error = &mut errors, if !errors_done => {
                    errors_done = true;
                    // Before the pod's side has ended, the error channel resolving at all (even
                    // empty) means kube-rs's stream task died: the transfer is cut.
                    break Outcome::PodError(error.filter(|e| !e.is_empty()).unwrap_or_else(|| LOST.to_string()));
                }
                () = &mut upload, if !upload_done => upload_done = true,
                ok = &mut download => break if ok { Outcome::Finished } else { Outcome::Broken },
            }
        }
    };
    // The pod's side ended. A clean end leaves kube-rs's stream task alive until we close our
    // side; if it already died (a pod that went away, a broken socket), the error channel has
    // resolved by now, in the same step that ended our stream.
    let outcome = match outcome {
        Outcome::Finished if !errors_done => match errors.as_mut().now_or_never() {
            Some(error) => Outcome::PodError(
                error
                    .filter(|e| !e.is_empty())
                    .unwrap_or_else(|| LOST.to_string()),
            ),
            None => outcome,
        },
        other => other,
    };
    match outcome {
        Outcome::Finished => {
            let _ = to_client.shutdown().await;
        }
        Outcome::Stopped => {}
        Outcome::Broken | Outcome::PodError(_) => {
            if let Outcome::PodError(error) = &outcome {
                tracing::info!(forward = %ctx.label, pod, "connection reset: {error}");
            }
            let (write_half, _) = to_client.into_parts();
            let _ = write_half.as_ref().set_zero_linger();
            // Dropping without a FIN: the read half closes the socket, which then resets.
            write_half.forget();
        }
    }
    drop(forwarder);
}

enum Outcome {
    Finished,
    Stopped,
    Broken,
    PodError(String),
}

/// Copies pod to client until the pod's EOF; false if the copy failed on either side.
async fn copy_until_eof<R, W>(from: &mut R, to: &mut W) -> bool
where
    R: tokio::io::AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    tokio::io::copy_buf(from, to).await.is_ok()
}

/// The next Ready pod (round-robin) and the container port, waiting a little when there is none.
async fn pick_backend(ctx: &mut ConnectionContext) -> Option<(String, u16)> {
    let ready = |b: &Backends| !b.pods.is_empty() && b.port.is_some();
    let backends = tokio::select! {
        _ = ctx.cancel.cancelled() => return None,
        waited = tokio::time::timeout(NO_PODS_WAIT, ctx.backends.wait_for(ready)) => match waited {
            Ok(Ok(backends)) => backends.clone(),
            _ => return None,
        },
    };
    let i = ctx.next.fetch_add(1, Ordering::Relaxed) % backends.pods.len();
    Some((backends.pods[i].clone(), backends.port?))
}

/// Refuses a connection we could not connect onwards: a reset, not an empty success.
pub fn reset(local: TcpStream) {
    let _ = local.set_zero_linger();
    drop(local);
}
