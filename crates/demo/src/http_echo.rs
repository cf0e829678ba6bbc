//! What an HTTP pod answers. Every request gets a JSON echo of itself (who answered, method, path,
//! headers, body size), as the product contract describes. Under `/_demo/`, two paths stream large
//! bodies for transfer tests without holding them and one answers late; a WebSocket upgrade on
//! any path is answered by a frame echo whose first message is the JSON echo of the handshake (so a client can see the
//! headers its handshake arrived with).

use std::convert::Infallible;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Map, Value, json};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_util::sync::CancellationToken;

pub type Body = BoxBody<Bytes, hyper::Error>;

/// `POST /_demo/echo-body`: the request body streamed straight back.
const ECHO_BODY_PATH: &str = "/_demo/echo-body";
/// `GET /_demo/bytes/N`: N bytes where byte `i` is `i % 251`, streamed in chunks.
const BYTES_PATH: &str = "/_demo/bytes/";
/// `GET /_demo/delay/MS`: the JSON echo, MS milliseconds late (a slow query, for half-close
/// drills).
const DELAY_PATH: &str = "/_demo/delay/";
const CHUNK: usize = 64 * 1024;

/// The pod a backend answers for. `stop` ends upgraded connections too when the pod dies.
#[derive(Clone)]
pub struct Answerer {
    pub microservice: String,
    pub pod: String,
    pub stop: CancellationToken,
}

pub async fn respond(
    req: Request<Incoming>,
    answerer: Answerer,
) -> Result<Response<Body>, Infallible> {
    if is_websocket(&req) {
        return Ok(websocket(req, answerer));
    }
    let path = req.uri().path();
    if path == ECHO_BODY_PATH && matches!(*req.method(), Method::POST | Method::PUT) {
        return Ok(Response::new(req.into_body().boxed()));
    }
    if req.method() == Method::GET
        && let Some(n) = path.strip_prefix(BYTES_PATH).and_then(|n| n.parse().ok())
    {
        return Ok(pattern_response(n));
    }
    if let Some(ms) = path.strip_prefix(DELAY_PATH).and_then(|n| n.parse().ok()) {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }
    let mut echo = describe(&req, &answerer);
    // Count the body as it streams rather than buffering it: uploads may be large.
    let mut body_bytes: u64 = 0;
    let mut frames = req.into_body().into_data_stream();
    while let Some(Ok(chunk)) = frames.next().await {
        body_bytes += chunk.len() as u64;
    }
    echo.insert("body_bytes".into(), json!(body_bytes));
    let mut response = Response::new(full(Value::Object(echo).to_string() + "\n"));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

/// Who answered, and the request as it arrived.
fn describe<B>(req: &Request<B>, answerer: &Answerer) -> Map<String, Value> {
    let mut headers = Map::new();
    for (name, value) in req.headers() {
        headers.insert(
            name.as_str().to_string(),
            json!(String::from_utf8_lossy(value.as_bytes())),
        );
    }
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".to_string());
    let mut echo = Map::new();
    echo.insert("microservice".into(), json!(answerer.microservice));
    echo.insert("pod".into(), json!(answerer.pod));
    echo.insert("method".into(), json!(req.method().as_str()));
    echo.insert("path".into(), json!(path));
    echo.insert("headers".into(), Value::Object(headers));
    echo
}

fn full(text: String) -> Body {
    Full::new(Bytes::from(text))
        .map_err(|never| match never {})
        .boxed()
}

/// The byte at offset `i` of a `/_demo/bytes/` body, for clients checking what they received.
pub fn pattern_byte(i: u64) -> u8 {
    (i % 251) as u8
}

/// One chunk of the pattern plus a period, so every chunk is a slice of it (no per-byte work).
fn pattern_table() -> Bytes {
    static TABLE: std::sync::OnceLock<Bytes> = std::sync::OnceLock::new();
    TABLE
        .get_or_init(|| (0..(CHUNK + 251) as u64).map(pattern_byte).collect())
        .clone()
}

fn pattern_response(total: u64) -> Response<Body> {
    let chunks = futures::stream::unfold(0u64, move |offset| async move {
        if offset >= total {
            return None;
        }
        let len = (total - offset).min(CHUNK as u64) as usize;
        let start = (offset % 251) as usize;
        let chunk = pattern_table().slice(start..start + len);
        Some((
            Ok::<_, hyper::Error>(Frame::data(chunk)),
            offset + len as u64,
        ))
    });
    let mut response = Response::new(BodyExt::boxed(StreamBody::new(chunks)));
    response
        .headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(total));
    response
}

fn is_websocket<B>(req: &Request<B>) -> bool {
    let has = |name: header::HeaderName, token: &str| {
        req.headers().get_all(name).iter().any(|v| {
            v.to_str()
                .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        })
    };
    has(header::CONNECTION, "upgrade") && has(header::UPGRADE, "websocket")
}

/// Accepts the upgrade, then echoes frames; the first message describes the handshake.
fn websocket(mut req: Request<Incoming>, answerer: Answerer) -> Response<Body> {
    let Some(key) = req.headers().get(header::SEC_WEBSOCKET_KEY) else {
        let mut response = Response::new(full("missing Sec-WebSocket-Key\n".into()));
        *response.status_mut() = StatusCode::BAD_REQUEST;
        return response;
    };
    let accept = derive_accept_key(key.as_bytes());
    let handshake = Value::Object(describe(&req, &answerer)).to_string();
    let upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        let Ok(upgraded) = upgrade.await else { return };
        let mut ws =
            WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
        let echo = async {
            ws.send(Message::text(handshake)).await?;
            while let Some(message) = ws.next().await {
                match message? {
                    m @ (Message::Text(_) | Message::Binary(_)) => ws.send(m).await?,
                    Message::Close(_) => break,
                    _ => {}
                }
            }
            Ok::<_, tokio_tungstenite::tungstenite::Error>(())
        };
        tokio::select! {
            _ = answerer.stop.cancelled() => {}
            _ = echo => {}
        }
    });
    let mut response = Response::new(full(String::new()));
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    if let Ok(accept) = HeaderValue::from_str(&accept) {
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    response
}
