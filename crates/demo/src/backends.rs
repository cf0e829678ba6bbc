//! The pods' real processes: each pod port is served by a listener on loopback, started on first
//! use (a port-forward, or the admin path asking for its address) so that 40,000 scaled pods cost
//! nothing until touched. HTTP pods answer with a JSON echo (see `http_echo`); database-like
//! pods (postgres, session-redis, sshd) echo raw TCP. Stopping a pod closes its listeners and
//! every open connection, as a container's death does.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use super::content::BACKEND_ANNOTATION;
use super::http_echo;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendKind {
    HttpEcho,
    TcpEcho,
}

impl BackendKind {
    /// What serves `port` of a pod: the annotation for that port
    /// (`demo.hasura-tui.dev/backend.5432`, for a sidecar's), else the pod's.
    pub fn of_pod(pod: &Value, port: u16) -> BackendKind {
        let annotations = &pod["metadata"]["annotations"];
        let chosen = annotations[format!("{BACKEND_ANNOTATION}.{port}")]
            .as_str()
            .or(annotations[BACKEND_ANNOTATION].as_str());
        match chosen {
            Some("tcp-echo") => BackendKind::TcpEcho,
            _ => BackendKind::HttpEcho,
        }
    }
}

struct PodBackend {
    stop: CancellationToken,
    listeners: HashMap<u16, SocketAddr>,
    work: Arc<Work>,
}

/// What a pod's processes have done: bytes read and written, connections open. The metrics API
/// turns it into CPU and memory use (`api/metrics.rs`).
#[derive(Default, Debug)]
pub struct Work {
    pub bytes: AtomicU64,
    pub open: AtomicU64,
}

#[derive(Default)]
pub struct Backends {
    pods: Mutex<HashMap<(String, String), PodBackend>>,
}

impl Backends {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), PodBackend>> {
        // Every critical section is a single map operation; a poisoned map is still consistent.
        self.pods.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The loopback address serving `port` of this pod, starting its listener if needed. A
    /// demo pod's processes listen on the ports its containers declare and nowhere else, so
    /// another port is refused, as connecting inside the pod's network namespace would be.
    pub async fn address(&self, pod: &Value, port: u16) -> std::io::Result<SocketAddr> {
        if !super::endpoints::container_ports(pod).any(|(_, p)| p == i64::from(port)) {
            return Err(std::io::ErrorKind::ConnectionRefused.into());
        }
        let namespace = pod["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let name = pod["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let key = (namespace, name.clone());
        if let Some(addr) = self
            .lock()
            .get(&key)
            .and_then(|b| b.listeners.get(&port).copied())
        {
            return Ok(addr);
        }
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let microservice = pod["metadata"]["labels"]["app"]
            .as_str()
            .unwrap_or(&name)
            .to_string();
        let kind = BackendKind::of_pod(pod, port);
        let stop = {
            let mut pods = self.lock();
            let backend = pods.entry(key).or_insert_with(|| PodBackend {
                stop: CancellationToken::new(),
                listeners: HashMap::new(),
                work: Arc::default(),
            });
            if let Some(existing) = backend.listeners.get(&port) {
                // Another connection started it while we were binding; use that one.
                return Ok(*existing);
            }
            backend.listeners.insert(port, addr);
            (backend.stop.clone(), backend.work.clone())
        };
        let (stop, work) = stop;
        let answerer = http_echo::Answerer {
            microservice,
            pod: name,
            stop,
        };
        tokio::spawn(serve(listener, kind, answerer, work));
        Ok(addr)
    }

    /// What the pod's processes have done so far (nothing for a pod never connected to).
    pub fn work(&self, namespace: &str, pod: &str) -> Option<(u64, u64)> {
        self.lock()
            .get(&(namespace.to_string(), pod.to_string()))
            .map(|b| {
                (
                    b.work.bytes.load(Ordering::Relaxed),
                    b.work.open.load(Ordering::Relaxed),
                )
            })
    }

    /// Whether the pod's processes still run (they were started and not stopped since).
    pub fn is_serving(&self, namespace: &str, pod: &str) -> bool {
        self.lock()
            .contains_key(&(namespace.to_string(), pod.to_string()))
    }

    /// Closes the pod's listeners and connections (the pod died or stopped being ready).
    pub fn stop_pod(&self, namespace: &str, pod: &str) {
        if let Some(backend) = self
            .lock()
            .remove(&(namespace.to_string(), pod.to_string()))
        {
            backend.stop.cancel();
        }
    }
}

async fn serve(
    listener: TcpListener,
    kind: BackendKind,
    answerer: http_echo::Answerer,
    work: Arc<Work>,
) {
    let stop = answerer.stop.clone();
    loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, _)) = accepted else { continue };
        let _ = stream.set_nodelay(true);
        let (answerer, stop) = (answerer.clone(), stop.clone());
        let stream = Counted {
            inner: stream,
            work: work.clone(),
        };
        work.open.fetch_add(1, Ordering::Relaxed);
        let work = work.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = handle(stream, kind, answerer) => {}
            }
            work.open.fetch_sub(1, Ordering::Relaxed);
        });
    }
}

async fn handle(stream: Counted<TcpStream>, kind: BackendKind, answerer: http_echo::Answerer) {
    match kind {
        BackendKind::TcpEcho => {
            // The socket's own halves (no lock between them, unlike `io::split`), each counted.
            let Counted { inner, work } = stream;
            let (reader, writer) = inner.into_split();
            let mut reader = Counted {
                inner: reader,
                work: work.clone(),
            };
            let mut writer = Counted {
                inner: writer,
                work,
            };
            let _ = tokio::io::copy(&mut reader, &mut writer).await;
        }
        BackendKind::HttpEcho => {
            let service =
                hyper::service::service_fn(move |req| http_echo::respond(req, answerer.clone()));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades()
                .await;
        }
    }
}

/// A connection of a pod's process (or one half of it), counting the bytes it moves into the
/// pod's `Work`.
struct Counted<S> {
    inner: S,
    work: Arc<Work>,
}

impl<S: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for Counted<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        let read = buf.filled().len() - before;
        self.work.bytes.fetch_add(read as u64, Ordering::Relaxed);
        polled
    }
}

impl<S: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for Counted<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &polled {
            self.work.bytes.fetch_add(*n as u64, Ordering::Relaxed);
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
