//! How a forward reaches a pod's port through the API server, in kubectl's order of preference
//! (kubectl `createDialer`, client-go `tools/portforward/fallback_dialer.go`):
//! 1. SPDY tunnelled in a WebSocket (`Sec-WebSocket-Protocol: SPDY/3.1+portforward.k8s.io`,
//!    KEP-4006, served since 1.31): one upgraded connection carries many streams;
//! 2. the legacy SPDY upgrade (`POST`, `Upgrade: SPDY/3.1`, `X-Stream-Protocol-Version`), what
//!    every kubelet and older API servers speak;
//! 3. `v4.channel.k8s.io` WebSockets, one per local connection (no half-close).
//!
//! A server that answers the upgrade with anything but a proper `101` is refused and the next
//! transport is tried, as kubectl does (`IsUpgradeFailure`); a failure to reach the server at
//! all is not a refusal and falls back to nothing.

use std::fmt;

use http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::client::generate_key;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

use crate::spdy::Session;
use crate::spdy::ws_io::WsIo;

const SPDY_PROTOCOL: &str = "portforward.k8s.io";
const TUNNEL_PROTOCOL: &str = "SPDY/3.1+portforward.k8s.io";
const STREAM_PROTOCOL_HEADER: &str = "x-stream-protocol-version";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    SpdyOverWebSocket,
    Spdy,
    WebSocketV4,
}

impl Transport {
    /// The next one to try when this one is refused.
    pub fn fallback(self) -> Option<Transport> {
        match self {
            Transport::SpdyOverWebSocket => Some(Transport::Spdy),
            Transport::Spdy => Some(Transport::WebSocketV4),
            Transport::WebSocketV4 => None,
        }
    }

    /// Whether the transport multiplexes streams over long-lived connections (else one
    /// WebSocket per local connection).
    pub fn multiplexed(self) -> bool {
        self != Transport::WebSocketV4
    }

    /// For tests and benchmarks: `spdy-ws`, `spdy`, `v4`.
    pub fn parse(text: &str) -> Option<Transport> {
        match text {
            "spdy-ws" => Some(Transport::SpdyOverWebSocket),
            "spdy" => Some(Transport::Spdy),
            "v4" => Some(Transport::WebSocketV4),
            _ => None,
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Transport::SpdyOverWebSocket => "SPDY over WebSocket",
            Transport::Spdy => "SPDY",
            Transport::WebSocketV4 => "WebSocket v4.channel",
        })
    }
}

/// Why a dial failed.
#[derive(Debug)]
pub enum DialError {
    /// The server answered, but not with the upgrade: try the next transport.
    Refused(String),
    /// The server could not be reached or the request failed: no fallback helps.
    Unreachable(String),
}

impl fmt::Display for DialError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DialError::Refused(m) | DialError::Unreachable(m) => f.write_str(m),
        }
    }
}

/// Opens a SPDY connection to the pod by `transport` (one of the two SPDY ones).
pub async fn dial(
    client: &kube::Client,
    namespace: &str,
    pod: &str,
    transport: Transport,
) -> Result<Session, DialError> {
    let path = format!("/api/v1/namespaces/{namespace}/pods/{pod}/portforward");
    let key = generate_key();
    let request = match transport {
        Transport::SpdyOverWebSocket => Request::get(&path)
            .header(header::CONNECTION, "Upgrade")
            .header(header::UPGRADE, "websocket")
            .header(header::SEC_WEBSOCKET_VERSION, "13")
            .header(header::SEC_WEBSOCKET_KEY, &key)
            .header(header::SEC_WEBSOCKET_PROTOCOL, TUNNEL_PROTOCOL),
        Transport::Spdy => Request::post(&path)
            .header(header::CONNECTION, "Upgrade")
            .header(header::UPGRADE, "SPDY/3.1")
            .header(STREAM_PROTOCOL_HEADER, SPDY_PROTOCOL)
            .header(header::CONTENT_LENGTH, "0"),
        Transport::WebSocketV4 => unreachable!("v4 is dialled per connection (pod_stream)"),
    };
    let request = request
        .body(kube::client::Body::from(Vec::new()))
        .map_err(|e| DialError::Unreachable(e.to_string()))?;
    let response = client
        .send(request)
        .await
        .map_err(|e| DialError::Unreachable(innermost(&e)))?;
    if response.status() != StatusCode::SWITCHING_PROTOCOLS {
        return Err(DialError::Refused(refusal(response).await));
    }
    let headers = response.headers();
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    match transport {
        Transport::SpdyOverWebSocket => {
            if text(header::SEC_WEBSOCKET_ACCEPT.as_str()) != derive_accept_key(key.as_bytes()) {
                return Err(DialError::Refused("bad Sec-WebSocket-Accept".into()));
            }
            let protocol = text(header::SEC_WEBSOCKET_PROTOCOL.as_str());
            if protocol != TUNNEL_PROTOCOL {
                return Err(DialError::Refused(format!(
                    "invalid protocol {protocol:?}, expected {TUNNEL_PROTOCOL}"
                )));
            }
        }
        _ => {
            let protocol = text(STREAM_PROTOCOL_HEADER);
            if protocol != SPDY_PROTOCOL {
                return Err(DialError::Refused(format!(
                    "unable to negotiate protocol: client supports \"{SPDY_PROTOCOL}\", server returned {protocol:?}"
                )));
            }
        }
    }
    let upgraded = hyper::upgrade::on(response)
        .await
        .map_err(|e| DialError::Unreachable(format!("upgrade: {e}")))?;
    let io = TokioIo::new(upgraded);
    Ok(match transport {
        Transport::SpdyOverWebSocket => {
            let config = WebSocketConfig::default().max_frame_size(Some(16 << 20));
            let ws = WebSocketStream::from_raw_socket(io, Role::Client, Some(config)).await;
            Session::client(WsIo::new(ws))
        }
        _ => Session::client(io),
    })
}

/// The deepest cause of an error (`connection refused`, not `client error (Connect)`).
pub fn innermost(error: &(dyn std::error::Error + 'static)) -> String {
    let mut deepest = error;
    while let Some(source) = deepest.source() {
        deepest = source;
    }
    let text = deepest.to_string();
    // io errors say `Connection refused (os error 111)`: the words are enough.
    match text.find(" (os error") {
        Some(i) => text[..i].to_lowercase(),
        None => text,
    }
}

/// What a refused upgrade said: a `Status`'s message, else the body's text, else the status.
async fn refusal(response: http::Response<kube::client::Body>) -> String {
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let message = serde_json::from_slice::<kube::core::Status>(&body)
        .ok()
        .map(|s| s.message)
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| String::from_utf8_lossy(&body).trim().to_string());
    if message.is_empty() {
        format!("unable to upgrade connection ({status})")
    } else {
        format!(
            "unable to upgrade connection: {message} ({})",
            status.as_u16()
        )
    }
}
