//! Replaying a logged request through its forward (`p` as it was, `P` as another identity): a
//! port-forward stream of its own to a Ready pod, the request built again from its `Exchange`,
//! and the answer recorded in the same log, marked as a replay of the original.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::header::{HeaderName, HeaderValue};
use hyper_util::rt::TokioIo;

use super::connection::{self, ConnectionContext};
use super::exchange::{CONNECTION_HEADERS, Exchange, SharedTee};
use super::gateway::{self, GatewayIdentity};
use super::http_proxy::ProxyBody;
use super::recorded::{self, Capture, Pending, TeeBody};
use super::request_log::{BODY_BUDGET, RequestEntry, RequestLog};

/// A request to send again, checked by `Replay::of`.
#[derive(Clone, Debug)]
pub struct Replay {
    /// The original's number in the log.
    pub of: u64,
    pub method: String,
    pub exchange: Arc<Exchange>,
    /// Another identity (`P`); `None` sends the headers exactly as the original went out.
    pub identity: Option<GatewayIdentity>,
}

impl Replay {
    /// A replay of `entry`, or why it cannot be sent again (said as the footer says it).
    pub fn of(entry: &RequestEntry, identity: Option<GatewayIdentity>) -> Result<Replay, String> {
        let seq = entry.seq;
        let Some(exchange) = &entry.exchange else {
            return Err(format!(
                "#{seq} was not kept: requests are kept only while gateway mode is on"
            ));
        };
        if exchange.request_header("upgrade").is_some() {
            return Err(format!(
                "#{seq} is a connection upgrade (WebSocket): not replayable"
            ));
        }
        let body = &exchange.request_body;
        if exchange.bodies_dropped && body.total > 0 {
            return Err(format!(
                "#{seq}'s body was let go to keep the log within {} MiB",
                BODY_BUDGET >> 20
            ));
        }
        if !body.is_whole() {
            return Err(format!(
                "#{seq}'s body ({}) is larger than the 64 KiB kept: not replayable",
                super::human_bytes(body.total)
            ));
        }
        Ok(Replay {
            of: seq,
            method: entry.method.clone(),
            exchange: exchange.clone(),
            identity,
        })
    }

    /// `replay of #3 as user 42`
    pub fn note(&self) -> String {
        match &self.identity {
            Some(id) => format!("replay of #{} as {} {}", self.of, id.role, id.user_id),
            None => format!("replay of #{}", self.of),
        }
    }

    /// `replaying #3 as user 42`, for the footer.
    pub fn under_way(&self) -> String {
        match &self.identity {
            Some(id) => format!("replaying #{} as {} {}", self.of, id.role, id.user_id),
            None => format!("replaying #{} as it went out", self.of),
        }
    }

    /// The request as it goes out again, and the names of the headers the identity put on.
    fn request(&self) -> Result<(Request<Full<Bytes>>, Vec<String>), String> {
        let mut request = Request::builder()
            .method(self.method.as_str())
            .uri(self.exchange.target.as_str())
            .body(Full::new(self.exchange.request_body.head.clone()))
            .map_err(|e| format!("#{} cannot be built again: {e}", self.of))?;
        let headers = request.headers_mut();
        for (name, value) in &self.exchange.request_headers {
            if CONNECTION_HEADERS.contains(&name.as_str()) {
                continue;
            }
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                headers.append(name, value);
            }
        }
        let injected = match &self.identity {
            Some(identity) => {
                let mut identity = identity.clone();
                // The original's identity headers give way to the new one, as the gateway would.
                identity.keep_client_headers = false;
                identity.apply(headers);
                gateway::IDENTITY_HEADERS
                    .iter()
                    .map(|n| n.as_str().to_string())
                    .collect()
            }
            None => self.exchange.injected.clone(),
        };
        Ok((request, injected))
    }
}

/// Sends the replay on a connection of its own and records it, answered or not.
pub async fn send(mut ctx: ConnectionContext, log: RequestLog, replay: Replay) {
    let started = Instant::now();
    let at = SystemTime::now();
    let (request, injected) = match replay.request() {
        Ok(built) => built,
        Err(e) => {
            tracing::warn!(forward = %ctx.label, "{e}");
            return;
        }
    };
    let tee = SharedTee::default();
    let capture = Capture::of(&request, injected, tee.clone());
    let request =
        request.map(|body| TeeBody::new(body.map_err(|never| match never {}), tee).boxed());
    let pending = Pending::new(
        &request,
        Some(replay.note()),
        started,
        at,
        Some(capture),
        Some(replay.of),
    );
    let _open = ctx.stats.connection();
    let upstream = match connection::open_upstream(&mut ctx).await {
        Ok(upstream) => upstream,
        Err(_) => return log.record(pending.failed("no Ready pod answered")),
    };
    let (mut sender, conn) =
        match hyper::client::conn::http1::handshake::<_, ProxyBody>(TokioIo::new(upstream.stream))
            .await
        {
            Ok(pair) => pair,
            Err(e) => return log.record(pending.failed(&e.to_string())),
        };
    let conn = tokio::spawn(conn);
    let sent = tokio::select! {
        _ = ctx.cancel.cancelled() => None,
        sent = sender.send_request(request) => Some(sent),
    };
    match sent {
        None => {}
        Some(Err(e)) => log.record(pending.failed(&e.to_string())),
        Some(Ok(response)) => {
            // Read to its end: the log records it when the body ends (or is dropped, cut).
            let mut body = recorded::logged(response, pending, log).into_body();
            loop {
                tokio::select! {
                    _ = ctx.cancel.cancelled() => break,
                    frame = body.frame() => match frame {
                        Some(Ok(_)) => {}
                        Some(Err(_)) | None => break,
                    },
                }
            }
        }
    }
    conn.abort();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forward::exchange::BodyPreview;

    fn entry(exchange: Exchange) -> RequestEntry {
        RequestEntry {
            seq: 3,
            method: "POST".into(),
            path: exchange.target.clone(),
            status: Some(200),
            duration: std::time::Duration::ZERO,
            bytes: 0,
            role: Some("admin".into()),
            complete: true,
            note: None,
            at: SystemTime::UNIX_EPOCH,
            user_id: Some("0".into()),
            replay_of: None,
            exchange: Some(Arc::new(exchange)),
        }
    }

    fn posted() -> Exchange {
        Exchange {
            target: "/v1/query?x=1".into(),
            request_headers: vec![
                ("host".into(), "localhost:8080".into()),
                ("content-type".into(), "application/json".into()),
                ("content-length".into(), "7".into()),
                ("connection".into(), "keep-alive".into()),
                ("x-hasura-role".into(), "admin".into()),
                ("x-hasura-user-id".into(), "0".into()),
                ("x-hasura-allowed-roles".into(), "admin".into()),
                ("x-hasura-admin-secret".into(), "s3cret".into()),
            ],
            injected: vec!["x-hasura-role".into()],
            request_body: BodyPreview {
                head: Bytes::from_static(b"{\"a\":1}"),
                total: 7,
            },
            ..Exchange::default()
        }
    }

    #[test]
    fn a_replay_as_another_identity_replaces_every_hasura_header() {
        let replay =
            Replay::of(&entry(posted()), Some(GatewayIdentity::new("user", "42"))).unwrap();
        assert_eq!(replay.note(), "replay of #3 as user 42");
        let (request, injected) = replay.request().unwrap();
        let h = request.headers();
        assert_eq!(h["x-hasura-role"], "user");
        assert_eq!(h["x-hasura-user-id"], "42");
        assert_eq!(h["x-hasura-allowed-roles"], "user");
        assert!(!h.contains_key("x-hasura-admin-secret"));
        assert!(!h.contains_key("connection") && !h.contains_key("content-length"));
        assert_eq!(h["content-type"], "application/json");
        assert_eq!(request.uri(), "/v1/query?x=1");
        assert_eq!(injected.len(), 3);
        let (as_it_was, injected) = Replay::of(&entry(posted()), None)
            .unwrap()
            .request()
            .unwrap();
        assert_eq!(as_it_was.headers()["x-hasura-role"], "admin");
        assert_eq!(as_it_was.headers()["x-hasura-admin-secret"], "s3cret");
        assert_eq!(injected, vec!["x-hasura-role".to_string()]);
    }

    #[test]
    fn what_was_not_kept_whole_is_not_replayed() {
        let mut large = posted();
        large.request_body.total = 1 << 20;
        let why = Replay::of(&entry(large), None).unwrap_err();
        assert_eq!(
            why,
            "#3's body (1.0M) is larger than the 64 KiB kept: not replayable"
        );
        let dropped = posted().without_bodies();
        assert!(
            Replay::of(&entry(dropped), None)
                .unwrap_err()
                .contains("16 MiB")
        );
        let mut bare = entry(posted());
        bare.exchange = None;
        assert!(
            Replay::of(&bare, None)
                .unwrap_err()
                .contains("gateway mode")
        );
    }
}
