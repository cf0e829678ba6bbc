//! One local connection through a forward: pick a Ready pod (fresh for every connection), open a
//! stream to its port (`tunnels`), and copy both ways. The client's half-close is passed on
//! where the transport can say it (SPDY's FIN), and the reply keeps coming until the pod's side
//! ends. A pod that dies mid-stream resets the local connection, so a client can never mistake
//! a cut transfer for a complete one.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::port_stream::PortStream;
use super::stats::{Counted, Stats};
use super::target::Backends;
use super::tunnels::Tunnels;

/// How long a connection waits for a Ready pod before it is closed.
pub const NO_PODS_WAIT: Duration = Duration::from_secs(3);
/// How long opening the stream may take before the client is told (a reset): a stalled API
/// server must not leave connections hanging.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Copy buffer per direction: large enough that a fast stream is not syscall-bound, small
/// enough to stay in cache (256 KiB buffers made every copy a cache miss: 85 vs 150 MiB/s).
const COPY_BUFFER: usize = 64 * 1024;
/// On the v4 fallback only, which cannot pass a half-close on: after the client has finished
/// sending, how long the pod may stay silent before the connection is closed. A client that
/// closed for good looks the same as one that half-closed until we write to it, and the pod's
/// WebSocket stays open until then.
const V4_HALF_CLOSED_IDLE: Duration = Duration::from_secs(10);

pub struct ConnectionContext {
    pub tunnels: Arc<Tunnels>,
    pub backends: watch::Receiver<Backends>,
    pub stats: Arc<Stats>,
    pub next: Arc<AtomicUsize>,
    pub cancel: CancellationToken,
    pub label: String,
}

/// A port-forward stream to one Ready pod, for one local connection.
pub struct Upstream {
    pub pod: String,
    pub stream: PortStream,
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
    let connect = ctx.tunnels.open(&pod, port);
    match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
        Ok(Ok(stream)) => Ok(Upstream { pod, stream }),
        Ok(Err(e)) => {
            tracing::warn!(forward = %ctx.label, pod, "port-forward failed: {e}");
            Err(NoUpstream::Failed)
        }
        Err(_) => {
            tracing::warn!(forward = %ctx.label, pod, "port-forward: no answer from the API server");
            Err(NoUpstream::Failed)
        }
    }
}

/// Serves one local connection as raw bytes, both ways, until either side ends, the forward
/// stops, or `switched` fires (gateway mode came on: the client must reconnect to get it).
pub async fn serve(local: TcpStream, mut ctx: ConnectionContext, switched: CancellationToken) {
    let _open = ctx.stats.connection();
    let _ = local.set_nodelay(true);
    let Upstream { pod, stream } = match open_upstream(&mut ctx).await {
        Ok(upstream) => upstream,
        Err(NoUpstream::NoPods) => return,
        Err(NoUpstream::Failed) => return reset(local),
    };
    let (local_read, local_write) = local.into_split();
    let to_pod = BufReader::with_capacity(COPY_BUFFER, Counted::new(local_read, ctx.stats.clone()));
    let mut to_client = Counted::new(local_write, ctx.stats.clone());
    let half_closes = stream.half_closes();
    let (pod_read, mut pod_write) = tokio::io::split(stream);
    let mut from_pod = BufReader::with_capacity(COPY_BUFFER, pod_read);

    let last_from_pod = LastData::new();
    let outcome = {
        let pod_write = &mut pod_write;
        // Owns `to_pod`, so its buffer is freed as soon as the client has finished sending.
        // The client's end of input goes on as FIN where the transport has one; the pod's
        // side stays open for the reply either way.
        let upload = async move {
            let mut to_pod = to_pod;
            let copied = tokio::io::copy_buf(&mut to_pod, pod_write).await;
            if copied.is_ok() && half_closes {
                let _ = pod_write.shutdown().await;
            }
        };
        let download = copy_noting_activity(&mut from_pod, &mut to_client, &last_from_pod);
        tokio::pin!(upload, download);
        let mut upload_done = false;
        // The connection ends when the pod's side does: the pod will read nothing more after that.
        loop {
            let idle_until = last_from_pod.get() + V4_HALF_CLOSED_IDLE;
            tokio::select! {
                _ = ctx.cancel.cancelled() => break Outcome::Stopped,
                _ = switched.cancelled() => break Outcome::Cut("gateway mode switched on".into()),
                () = &mut upload, if !upload_done => {
                    upload_done = true;
                    // The pod's silence counts from the client's end of input.
                    last_from_pod.touch();
                }
                // v4 only: the pod cannot be told the client finished, so its silence ends it.
                () = tokio::time::sleep_until(idle_until.into()), if upload_done && !half_closes => {
                    if last_from_pod.get().elapsed() >= V4_HALF_CLOSED_IDLE {
                        break Outcome::Finished;
                    }
                }
                copied = &mut download => break match copied {
                    Ok(_) => Outcome::Finished,
                    Err(e) => Outcome::Cut(e.to_string()),
                },
            }
        }
    };
    match outcome {
        Outcome::Finished => {
            let _ = to_client.shutdown().await;
        }
        Outcome::Stopped => {}
        Outcome::Cut(error) => {
            tracing::info!(forward = %ctx.label, pod, "connection reset: {error}");
            let (write_half, _) = to_client.into_parts();
            let _ = write_half.as_ref().set_zero_linger();
            // Dropping without a FIN: the read half closes the socket, which then resets.
            write_half.forget();
        }
    }
}

/// Copies pod to client until the pod's EOF, noting when data last came.
async fn copy_noting_activity<R, W>(from: &mut R, to: &mut W, last: &LastData) -> io::Result<()>
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    loop {
        let chunk = from.fill_buf().await?;
        if chunk.is_empty() {
            return to.flush().await;
        }
        last.touch();
        let n = chunk.len();
        to.write_all(chunk).await?;
        from.consume(n);
    }
}

/// When data last passed, shared by the copy and the loop that watches it (one task, but the
/// future must be `Send`, so an atomic rather than a `Cell`).
struct LastData {
    start: Instant,
    millis: AtomicU64,
}

impl LastData {
    fn new() -> Self {
        LastData {
            start: Instant::now(),
            millis: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let millis = self.start.elapsed().as_millis() as u64;
        self.millis.fetch_max(millis, Ordering::Relaxed);
    }

    fn get(&self) -> Instant {
        self.start + Duration::from_millis(self.millis.load(Ordering::Relaxed))
    }
}

enum Outcome {
    Finished,
    Stopped,
    /// The pod's side failed (the pod died, the API server went away) or the client's did.
    Cut(String),
}

/// The next Ready pod (round-robin) and the container port, waiting a little when there is none.
async fn pick_backend(ctx: &mut ConnectionContext) -> Option<(String, u16)> {
    let ready = |b: &Backends| !b.pods.is_empty();
    let backends = tokio::select! {
        _ = ctx.cancel.cancelled() => return None,
        waited = tokio::time::timeout(NO_PODS_WAIT, ctx.backends.wait_for(ready)) => match waited {
            Ok(Ok(backends)) => backends.clone(),
            _ => return None,
        },
    };
    let i = ctx.next.fetch_add(1, Ordering::Relaxed) % backends.pods.len();
    Some(backends.pods[i].clone())
}

/// Refuses a connection we could not connect onwards: a reset, not an empty success.
pub fn reset(local: TcpStream) {
    let _ = local.set_zero_linger();
    drop(local);
}
