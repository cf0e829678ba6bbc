//! The pods' real processes: each pod port is served by a listener on loopback, started on first
//! use (a port-forward, or the admin path asking for its address) so that 40,000 scaled pods cost
//! nothing until touched. HTTP pods answer every request with a JSON echo of it; database-like
//! pods (postgres, session-redis, sshd) echo raw TCP. Stopping a pod closes its listeners and
//! every open connection, as a container's death does.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Mutex;

use bytes::Bytes;
use futures::StreamExt;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Map, Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use super::content::BACKEND_ANNOTATION;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendKind {
    HttpEcho,
    TcpEcho,
}

impl BackendKind {
    pub fn of_pod(pod: &Value) -> BackendKind {
        match pod["metadata"]["annotations"][BACKEND_ANNOTATION].as_str() {
            Some("tcp-echo") => BackendKind::TcpEcho,
            _ => BackendKind::HttpEcho,
        }
    }
}

struct PodBackend {
    stop: CancellationToken,
    listeners: HashMap<u16, SocketAddr>,
}

#[derive(Default)]
pub struct Backends {
    pods: Mutex<HashMap<(String, String), PodBackend>>,
}

/// What a backend says about itself in its echo.
#[derive(Clone)]
struct Identity {
    microservice: String,
    pod: String,
}

impl Backends {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), PodBackend>> {
        // Every critical section is a single map operation; a poisoned map is still consistent.
        self.pods.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The loopback address serving `port` of this pod, starting its listener if needed.
    pub async fn address(&self, pod: &Value, port: u16) -> std::io::Result<SocketAddr> {
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
        let identity = Identity {
            microservice: pod["metadata"]["labels"]["app"]
                .as_str()
                .unwrap_or(&name)
                .to_string(),
            pod: name,
        };
        let kind = BackendKind::of_pod(pod);
        let stop = {
            let mut pods = self.lock();
            let backend = pods.entry(key).or_insert_with(|| PodBackend {
                stop: CancellationToken::new(),
                listeners: HashMap::new(),
            });
            if let Some(existing) = backend.listeners.get(&port) {
                // Another connection started it while we were binding; use that one.
                return Ok(*existing);
            }
            backend.listeners.insert(port, addr);
            backend.stop.clone()
        };
        tokio::spawn(serve(listener, kind, identity, stop));
        Ok(addr)
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
    identity: Identity,
    stop: CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, _)) = accepted else { continue };
        let _ = stream.set_nodelay(true);
        let (identity, stop) = (identity.clone(), stop.clone());
        tokio::spawn(async move {
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = handle(stream, kind, identity) => {}
            }
        });
    }
}

async fn handle(stream: TcpStream, kind: BackendKind, identity: Identity) {
    match kind {
        BackendKind::TcpEcho => {
            let (mut reader, mut writer) = stream.into_split();
            let _ = tokio::io::copy(&mut reader, &mut writer).await;
        }
        BackendKind::HttpEcho => {
            let service = hyper::service::service_fn(move |req| echo(req, identity.clone()));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades()
                .await;
        }
    }
}

/// The JSON echo: who answered, and the request as it arrived.
async fn echo(
    req: Request<Incoming>,
    identity: Identity,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut headers = Map::new();
    for (name, value) in req.headers() {
        headers.insert(
            name.as_str().to_string(),
            json!(String::from_utf8_lossy(value.as_bytes())),
        );
    }
    let method = req.method().to_string();
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".to_string());
    // Count the body as it streams rather than buffering it: uploads may be large.
    let mut body_bytes: u64 = 0;
    let mut frames = req.into_body().into_data_stream();
    while let Some(Ok(chunk)) = frames.next().await {
        body_bytes += chunk.len() as u64;
    }
    let body = json!({
        "microservice": identity.microservice,
        "pod": identity.pod,
        "method": method,
        "path": path,
        "headers": headers,
        "body_bytes": body_bytes,
    });
    let mut response = Response::new(Full::new(Bytes::from(body.to_string() + "\n")));
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    Ok(response)
}
