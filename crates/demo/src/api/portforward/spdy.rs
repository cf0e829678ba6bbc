//! Port-forward over SPDY, as the kubelet serves it (`portforward/httpstream.go`, which the API
//! server reaches by the legacy SPDY upgrade or, for a WebSocket that tunnels SPDY, by
//! `apiserver/pkg/util/proxy/streamtunnel.go` relaying the same bytes):
//! - each stream is checked before its SYN_REPLY (`httpStreamReceived`): `port` a number in
//!   1-65535 and `streamtype` `error` or `data`, else it is reset without a reply;
//! - streams pair up by `requestid` (without one: the error stream's id, or the data stream's
//!   id minus two, `requestID`); a pair not complete after 30 s gets `(conn=…, request=N) timed
//!   out waiting for streams` on its error stream (`monitorStreamPair`); a second stream of a
//!   kind gets `error processing stream for request N: error stream already assigned`;
//! - a complete pair is forwarded: on failure the message goes on the error stream and both
//!   streams are reset (since 1.32), else both end with FIN.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use super::kubelet::{PodSandbox, copy_as_containerd};
use kube_spdy::headers::get;
use kube_spdy::{Incoming, Role, Session, Stream};

/// `remotecommand.DefaultStreamCreationTimeout`.
const STREAM_PAIR_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Default)]
struct Pair {
    error: Option<Stream>,
    data: Option<Stream>,
    port: u16,
}

/// Ends the connection at once when `serve` is dropped (the API server stopped): its forwarded
/// pairs run as tasks of their own and would otherwise keep it, and the pod, reachable.
struct EndOnDrop(Session);

impl Drop for EndOnDrop {
    fn drop(&mut self) {
        self.0.abort("the API server stopped");
    }
}

/// Serves one SPDY connection until the client ends it.
pub async fn serve<T>(io: T, sandbox: PodSandbox)
where
    T: AsyncRead + AsyncWrite + Send + 'static,
{
    let sandbox = Arc::new(sandbox);
    let (session, mut incoming) = Session::start(io, Role::Server);
    let _end = EndOnDrop(session.clone());
    let (expired_tx, mut expired) = mpsc::unbounded_channel::<String>();
    let mut pairs: HashMap<String, Pair> = HashMap::new();
    // Pairs that timed out: kept (neither closed nor reset) until the connection ends.
    let mut forgotten = Vec::new();
    let connection = format!("{:p}", Arc::as_ptr(&sandbox));
    let mut pings_lost = sandbox.pings_lost();
    session.answer_pings(!*pings_lost.borrow_and_update());
    loop {
        tokio::select! {
            Ok(()) = pings_lost.changed() => {
                session.answer_pings(!*pings_lost.borrow_and_update());
            }
            offered = incoming.recv() => {
                let Some(offered) = offered else { break };
                let Some((request, kind, port)) = check(&offered) else {
                    offered.reject();
                    continue;
                };
                let Ok(stream) = offered.accept().await else { break };
                let pair = pairs.entry(request.clone()).or_insert_with(|| {
                    let (expired_tx, request) = (expired_tx.clone(), request.clone());
                    tokio::spawn(async move {
                        tokio::time::sleep(STREAM_PAIR_TIMEOUT).await;
                        let _ = expired_tx.send(request);
                    });
                    Pair { port, ..Pair::default() }
                });
                let slot = if kind == "error" { &mut pair.error } else { &mut pair.data };
                if slot.is_some() {
                    if let Some(error) = pair.error.as_mut() {
                        let text = format!(
                            "error processing stream for request {request}: {kind} stream already assigned"
                        );
                        let _ = error.write_all(text.as_bytes()).await;
                    }
                    continue;
                }
                *slot = Some(stream);
                if pair.error.is_some() && pair.data.is_some() {
                    let pair = pairs.remove(&request).unwrap_or_default();
                    let (Some(error), Some(data)) = (pair.error, pair.data) else { continue };
                    tokio::spawn(forward(sandbox.clone(), pair.port, error, data));
                }
            }
            Some(request) = expired.recv() => {
                if let Some(mut pair) = pairs.remove(&request)
                    && let Some(error) = pair.error.as_mut()
                {
                    let text = format!(
                        "(conn={connection}, request={request}) timed out waiting for streams"
                    );
                    let _ = error.write_all(text.as_bytes()).await;
                    forgotten.push(pair);
                }
            }
            _ = session.closed() => break,
        }
    }
    session.close();
}

/// The pair key, stream type and port of a new stream, or `None` to reject it.
fn check(offered: &Incoming) -> Option<(String, String, u16)> {
    let headers = &offered.headers;
    let port = get(headers, "port")?
        .parse::<u16>()
        .ok()
        .filter(|p| *p > 0)?;
    let kind = get(headers, "streamtype")?;
    if kind != "error" && kind != "data" {
        return None;
    }
    let id = offered.id();
    let request = match get(headers, "requestid") {
        Some(request) => request.to_string(),
        // Clients before requestid: the error stream's id names the pair.
        None if kind == "error" => id.to_string(),
        None => id.saturating_sub(2).to_string(),
    };
    Some((request, kind.to_string(), port))
}

/// One forwarded connection: the kubelet's `portForward` over containerd's copy.
async fn forward(sandbox: Arc<PodSandbox>, port: u16, mut error: Stream, mut data: Stream) {
    let outcome = match sandbox.connect(port).await {
        Err(cause) => Err(cause),
        Ok(container) => {
            match copy_as_containerd(&mut data, container, || sandbox.is_running()).await {
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                    Err(sandbox.reset_cause(port))
                }
                Err(e) => Err(format!("{e}")),
                Ok(()) => Ok(()),
            }
        }
    };
    match outcome {
        Ok(()) => {
            let _ = error.shutdown().await;
            let _ = data.shutdown().await;
        }
        Err(cause) => {
            let text = sandbox.error_message(port, &cause);
            let _ = error.write_all(text.as_bytes()).await;
            // Dropping both unfinished resets them, after the message.
        }
    }
}
