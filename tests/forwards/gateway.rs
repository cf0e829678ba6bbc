//! Gateway mode against the demo cluster's `data` echo: the Hasura headers a forward adds (and
//! keeps when the client set its own), keep-alive, large bodies streamed through a separate
//! `port-forward --as-role` process with bounded memory, WebSocket upgrades, the request log, and
//! the refusal on non-HTTP services.
use crate::common;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use hasura_tui::demo::DemoCluster;
use hasura_tui::forward::{ForwardKey, ForwardManager, ForwardSpec, ForwardState, GatewayIdentity};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, StreamBody};
use hyper::body::Frame;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use ring::digest::{Context, SHA256};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

const BIN: &str = env!("CARGO_BIN_EXE_hasura-tui");

type Body = BoxBody<Bytes, std::io::Error>;

async fn forward(
    demo: &DemoCluster,
    service: &str,
    gateway: Option<GatewayIdentity>,
) -> (ForwardManager, SocketAddr) {
    let mut manager = ForwardManager::new(common::client_for(demo).await);
    let mut spec = ForwardSpec::new("hasura", service);
    spec.local_port = Some(0);
    spec.gateway = gateway;
    let key = spec.key();
    manager.start(spec);
    let status = manager.wait_started(&key).await.expect("a state");
    assert_eq!(status.state, ForwardState::Active, "{status:?}");
    (manager, status.local.expect("bound"))
}

/// One keep-alive HTTP/1.1 connection.
async fn connect(addr: SocketAddr) -> SendRequest<Body> {
    let stream = TcpStream::connect(addr).await.expect("connects");
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("HTTP handshake");
    tokio::spawn(conn);
    sender
}

fn empty() -> Body {
    Empty::new().map_err(|never| match never {}).boxed()
}

/// GET `path` on the connection, with extra headers; the echo's JSON.
async fn get(sender: &mut SendRequest<Body>, path: &str, headers: &[(&str, &str)]) -> Value {
    let mut request = hyper::Request::get(path).header("host", "localhost");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    sender.ready().await.expect("connection ready");
    let response = sender
        .send_request(request.body(empty()).unwrap())
        .await
        .expect("a response");
    assert_eq!(response.status(), 200);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&body).expect("the echo is JSON")
}

/// The three Hasura headers as the pod received them.
fn hasura_headers(echo: &Value) -> (Option<&str>, Option<&str>, Option<&str>) {
    let h = &echo["headers"];
    (
        h["x-hasura-role"].as_str(),
        h["x-hasura-user-id"].as_str(),
        h["x-hasura-allowed-roles"].as_str(),
    )
}

#[tokio::test]
async fn headers_follow_the_identity_and_replace_the_clients_own_unless_told_to_keep_them() {
    let demo = common::start_demo().await;
    let (mut manager, addr) = forward(&demo, "data", None).await;
    let key = ForwardKey::new("hasura", "data");

    let echo = get(&mut connect(addr).await, "/plain", &[]).await;
    assert_eq!(echo["microservice"], "data");
    assert_eq!(
        hasura_headers(&echo),
        (None, None, None),
        "mode off: {echo}"
    );

    manager
        .set_gateway(&key, Some(GatewayIdentity::anonymous()))
        .unwrap();
    let mut conn = connect(addr).await;
    let echo = get(&mut conn, "/as/anonymous", &[]).await;
    assert_eq!(
        hasura_headers(&echo),
        (Some("anonymous"), Some("0"), Some("anonymous"))
    );
    // A stale header in a script does not turn "as anonymous" into admin: the gateway's rule.
    let echo = get(&mut conn, "/own", &[("X-Hasura-Role", "admin")]).await;
    assert_eq!(
        hasura_headers(&echo),
        (Some("anonymous"), Some("0"), Some("anonymous")),
        "the client's own role is replaced: {echo}"
    );
    // Told to keep them, the client's own win and the allowed roles agree with its role.
    let mut kept = GatewayIdentity::anonymous();
    kept.keep_client_headers = true;
    manager.set_gateway(&key, Some(kept)).unwrap();
    let echo = get(&mut conn, "/own/kept", &[("X-Hasura-Role", "user")]).await;
    assert_eq!(
        hasura_headers(&echo),
        (Some("user"), Some("0"), Some("user")),
        "a role the client sent is kept, and the allowed roles agree"
    );

    // The same keep-alive connection follows a change of identity at its next request.
    manager
        .set_gateway(&key, Some(GatewayIdentity::admin()))
        .unwrap();
    let echo = get(&mut conn, "/as/admin", &[]).await;
    assert_eq!(
        hasura_headers(&echo),
        (Some("admin"), Some("0"), Some("admin"))
    );
    manager.set_gateway(&key, None).unwrap();
    let echo = get(&mut conn, "/off/again", &[]).await;
    assert_eq!(hasura_headers(&echo), (None, None, None));

    let view = manager.view(&key).unwrap();
    assert_eq!(view.gateway, None);
    assert_eq!(view.requests, 5, "requests through the HTTP-aware path");
    let log = manager.requests(&key);
    let paths: Vec<&str> = log.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/as/anonymous",
            "/own",
            "/own/kept",
            "/as/admin",
            "/off/again"
        ]
    );
    let roles: Vec<Option<&str>> = log.iter().map(|e| e.role.as_deref()).collect();
    assert_eq!(
        roles,
        [
            Some("anonymous"),
            Some("anonymous"),
            Some("user"),
            Some("admin"),
            None
        ]
    );
    let notes: Vec<Option<&str>> = log.iter().map(|e| e.note.as_deref()).collect();
    assert_eq!(
        notes,
        [
            None,
            Some("client's X-Hasura-Role: admin replaced"),
            None,
            None,
            None
        ],
        "the log says which requests had their own headers replaced"
    );
    assert!(log.iter().all(|e| e.status == Some(200) && e.complete));
    assert!(log.iter().all(|e| e.method == "GET" && e.bytes > 0));
}

#[tokio::test]
async fn two_hundred_keep_alive_requests_on_one_connection_all_carry_the_headers() {
    let demo = common::start_demo().await;
    let (manager, addr) = forward(&demo, "data", Some(GatewayIdentity::anonymous())).await;
    let mut conn = connect(addr).await;
    let mut pods = std::collections::BTreeSet::new();
    for i in 0..200 {
        let echo = get(&mut conn, &format!("/n/{i}"), &[]).await;
        assert_eq!(echo["path"], format!("/n/{i}"));
        assert_eq!(
            hasura_headers(&echo),
            (Some("anonymous"), Some("0"), Some("anonymous")),
            "request {i}"
        );
        pods.insert(echo["pod"].as_str().unwrap().to_string());
    }
    assert_eq!(pods.len(), 1, "one connection, one pod: {pods:?}");
    let key = ForwardKey::new("hasura", "data");
    let view = manager.view(&key).unwrap();
    assert_eq!(view.stats.total, 1, "all on one local connection");
    assert_eq!(view.requests, 200);
    assert_eq!(manager.requests(&key).len(), 200);
}

#[tokio::test]
async fn a_websocket_handshake_carries_the_headers_and_frames_echo() {
    let demo = common::start_demo().await;
    let (_manager, addr) = forward(&demo, "data", Some(GatewayIdentity::admin())).await;
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut ws, response) =
        tokio_tungstenite::client_async(format!("ws://{addr}/v1/subscribe"), stream)
            .await
            .expect("the upgrade goes through");
    assert_eq!(response.status(), 101);
    let Some(Ok(Message::Text(first))) = ws.next().await else {
        panic!("the echo describes the handshake first");
    };
    let handshake: Value = serde_json::from_str(&first).unwrap();
    assert_eq!(handshake["path"], "/v1/subscribe");
    assert_eq!(
        hasura_headers(&handshake),
        (Some("admin"), Some("0"), Some("admin"))
    );
    ws.send(Message::text("hello")).await.unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Message::text("hello"),
        "text frames echo"
    );
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    ws.send(Message::binary(big.clone())).await.unwrap();
    assert_eq!(ws.next().await.unwrap().unwrap(), Message::binary(big));
    ws.close(None).await.unwrap();
}

#[tokio::test]
async fn non_http_services_refuse_gateway_mode_and_stay_raw() {
    let demo = common::start_demo().await;
    let mut manager = ForwardManager::new(common::client_for(&demo).await);
    let mut spec = ForwardSpec::new("hasura", "postgres");
    spec.local_port = Some(0);
    spec.gateway = Some(GatewayIdentity::anonymous());
    manager.start(spec.clone());
    let status = manager.wait_started(&spec.key()).await.unwrap();
    let ForwardState::Error(error) = status.state else {
        panic!("refused: {status:?}");
    };
    assert_eq!(
        error,
        "postgres.hasura port 5432 (pg) is not HTTP, so gateway headers cannot be added; \
         forward it without them"
    );

    // A raw forward to postgres cannot be switched on either, and keeps echoing raw bytes.
    spec.gateway = None;
    manager.start(spec.clone());
    let status = manager.wait_started(&spec.key()).await.unwrap();
    assert_eq!(status.http, Some(false));
    let refused = manager.set_gateway(&spec.key(), Some(GatewayIdentity::admin()));
    assert!(refused.unwrap_err().to_string().contains("is not HTTP"));
    let addr = status.local.unwrap();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream.write_all(b"\x00\x01raw").await.unwrap();
    let mut back = [0u8; 5];
    stream.read_exact(&mut back).await.unwrap();
    assert_eq!(&back, b"\x00\x01raw");
}

/// The headless command with `--as-role` on postgres: a usage error, exit 2, one clear line.
#[tokio::test]
async fn the_cli_refuses_as_role_on_a_non_http_service() {
    let demo = common::start_demo().await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    demo.write_kubeconfig(&kubeconfig).unwrap();
    let output = tokio::process::Command::new(BIN)
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args([
            "port-forward",
            "postgres",
            "-n",
            "hasura",
            "--as-role",
            "admin",
        ])
        .env("XDG_STATE_HOME", dir.path())
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--as-role: postgres.hasura port 5432 (pg) is not HTTP"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}

const BIG: u64 = 64 * 1024 * 1024;

/// 64 MiB up and 64 MiB down through `port-forward --as-role` as its own process, compared by
/// SHA-256, with the process's peak memory read from the OS afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_bodies_stream_through_byte_identical_with_bounded_memory() {
    let demo = common::start_demo().await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    demo.write_kubeconfig(&kubeconfig).unwrap();
    let mut child = tokio::process::Command::new(BIN)
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args(["port-forward", "data", "-n", "hasura", "--local-port"])
        .arg(common::free_port().to_string())
        .args(["--as-role", "anonymous"])
        .env("XDG_STATE_HOME", dir.path())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let (line, addr) = forwarding_from(&mut child).await;
    assert!(
        line.ends_with("(data.hasura) as anonymous (user id 0)\n"),
        "{line}"
    );

    // Upload: a body generated chunk by chunk, echoed back by the pod while it is still sent.
    let mut conn = connect(addr).await;
    // Chunk i is a fixed pattern stamped with i, so a lost or reordered chunk changes the hash.
    let base: Vec<u8> = (0..65536u32).map(|j| (j * 7 % 256) as u8).collect();
    let chunk = move |i: u64| {
        let mut chunk = base.clone();
        chunk[..8].copy_from_slice(&i.to_le_bytes());
        Bytes::from(chunk)
    };
    let mut sent = Context::new(&SHA256);
    for i in 0..BIG / 65536 {
        sent.update(&chunk(i));
    }
    let chunks = futures::stream::iter(
        (0..BIG / 65536).map(move |i| Ok::<_, std::io::Error>(Frame::data(chunk(i)))),
    );
    let request = hyper::Request::post("/_demo/echo-body")
        .header("host", "localhost")
        .header("content-length", BIG)
        .body(BodyExt::boxed(StreamBody::new(chunks)))
        .unwrap();
    let response = conn.send_request(request).await.expect("a response");
    assert_eq!(response.status(), 200);
    let (received, len) = hash_body(response.into_body()).await;
    assert_eq!(len, BIG, "every byte came back");
    assert_eq!(
        received,
        sent.finish().as_ref().to_vec(),
        "byte-identical upload"
    );

    // Download: a 64 MiB pattern on the same keep-alive connection.
    conn.ready().await.unwrap();
    let request = hyper::Request::get(format!("/_demo/bytes/{BIG}"))
        .header("host", "localhost")
        .body(empty())
        .unwrap();
    let response = conn.send_request(request).await.expect("a response");
    assert_eq!(response.status(), 200);
    let (received, len) = hash_body(response.into_body()).await;
    assert_eq!(len, BIG);
    let mut expected = Context::new(&SHA256);
    let period: Vec<u8> = (0..251u64).map(|i| i as u8).collect();
    let mut left = BIG;
    while left > 0 {
        let n = left.min(251);
        expected.update(&period[..n as usize]);
        left -= n;
    }
    assert_eq!(
        received,
        expected.finish().as_ref().to_vec(),
        "byte-identical download"
    );

    let peak = peak_rss_kib(child.id().unwrap());
    eprintln!("port-forward --as-role peak RSS after 128 MiB through: {peak} KiB");
    // Holding either body whole would need 64 MiB on top of the process's own ~20 MiB.
    assert!(
        peak < 64 * 1024,
        "peak RSS {peak} KiB: bodies must stream, not be held"
    );
    child.kill().await.unwrap();
}

/// The first line a `port-forward` process prints (`Forwarding from 127.0.0.1:PORT -> …`, once
/// it listens) and the address in it.
async fn forwarding_from(child: &mut tokio::process::Child) -> (String, SocketAddr) {
    use tokio::io::AsyncBufReadExt;
    let mut stdout = tokio::io::BufReader::new(child.stdout.take().expect("stdout piped"));
    let mut line = String::new();
    stdout.read_line(&mut line).await.unwrap();
    let addr = line
        .split_whitespace()
        .nth(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("an address in {line:?}"));
    (line, addr)
}

async fn hash_body(mut body: hyper::body::Incoming) -> (Vec<u8>, u64) {
    let mut hash = Context::new(&SHA256);
    let mut len = 0u64;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.expect("the body streams to its end").into_data() {
            len += data.len() as u64;
            hash.update(&data);
        }
    }
    (hash.finish().as_ref().to_vec(), len)
}

/// VmHWM of a process: its peak resident memory, from the kernel.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/<pid>/status")
}

#[tokio::test]
async fn a_pod_killed_between_requests_closes_the_idle_keep_alive_connection() {
    let demo = common::start_demo().await;
    let (_manager, addr) = forward(&demo, "data", Some(GatewayIdentity::anonymous())).await;
    let mut conn = connect(addr).await;
    let first = get(&mut conn, "/before", &[]).await;
    let pod = first["pod"].as_str().unwrap().to_string();
    assert!(demo.faults().kill_pod("hasura", &pod));
    // The idle connection is closed for the client, which reconnects and reaches the new pod.
    common::eventually("the idle connection closed", Duration::from_secs(5), || {
        let closed = conn.is_closed();
        async move { closed.then_some(()) }
    })
    .await;
    let echo = common::eventually(
        "the replacement pod answers",
        Duration::from_secs(10),
        || {
            let pod = pod.clone();
            async move {
                let mut conn = connect(addr).await;
                let mut request = hyper::Request::get("/after").header("host", "localhost");
                request = request.header("accept", "*/*");
                let response = conn
                    .send_request(request.body(empty()).unwrap())
                    .await
                    .ok()?;
                let body = response.into_body().collect().await.ok()?.to_bytes();
                let echo: Value = serde_json::from_slice(&body).ok()?;
                (echo["pod"].as_str()? != pod).then_some(echo)
            }
        },
    )
    .await;
    assert_eq!(hasura_headers(&echo).0, Some("anonymous"));
}

/// A keep-alive connection opened while the mode was off is closed when it comes on, so the
/// client reconnects and its next request carries the headers (a browser's, say).
#[tokio::test]
async fn switching_the_mode_on_closes_raw_keep_alive_connections() {
    let demo = common::start_demo().await;
    let (mut manager, addr) = forward(&demo, "data", None).await;
    let key = ForwardKey::new("hasura", "data");
    let mut before = connect(addr).await;
    assert_eq!(hasura_headers(&get(&mut before, "/raw", &[]).await).0, None);
    manager
        .set_gateway(&key, Some(GatewayIdentity::admin()))
        .unwrap();
    common::eventually("the raw connection closed", Duration::from_secs(5), || {
        let closed = before.is_closed();
        async move { closed.then_some(()) }
    })
    .await;
    let echo = get(&mut connect(addr).await, "/after", &[]).await;
    assert_eq!(hasura_headers(&echo).0, Some("admin"));
}

/// Requests a web page could make (cross-site, or a foreign Host after DNS rebinding) pass
/// without the identity, so no open page can act as admin through the forward.
#[tokio::test]
async fn requests_from_web_pages_get_no_identity() {
    let demo = common::start_demo().await;
    let (manager, addr) = forward(&demo, "data", Some(GatewayIdentity::admin())).await;
    let mut conn = connect(addr).await;
    let cross_site = [("sec-fetch-site", "cross-site")];
    let echo = get(&mut conn, "/img", &cross_site).await;
    assert_eq!(hasura_headers(&echo), (None, None, None), "{echo}");
    // A page that claims an identity of its own: dropped, as the gateway drops it.
    let claiming = [("sec-fetch-site", "cross-site"), ("x-hasura-role", "admin")];
    let echo = get(&mut conn, "/claim", &claiming).await;
    assert_eq!(hasura_headers(&echo), (None, None, None), "{echo}");
    let echo = get(&mut conn, "/cors", &[("origin", "https://evil.example")]).await;
    assert_eq!(hasura_headers(&echo), (None, None, None), "{echo}");
    let mut request = hyper::Request::get("/rebound").header("host", "evil.example:8080");
    request = request.header("accept", "*/*");
    conn.ready().await.unwrap();
    let response = conn
        .send_request(request.body(empty()).unwrap())
        .await
        .unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let echo: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(hasura_headers(&echo), (None, None, None), "{echo}");
    // The same connection, from a local page: the identity applies.
    let local_page = [("origin", "http://localhost:3000")];
    let echo = get(&mut conn, "/local", &local_page).await;
    assert_eq!(hasura_headers(&echo).0, Some("admin"));
    let roles: Vec<Option<String>> = manager
        .requests(&ForwardKey::new("hasura", "data"))
        .into_iter()
        .map(|e| e.role)
        .collect();
    assert_eq!(roles, [None, None, None, None, Some("admin".to_string())]);
    let claim = manager
        .requests(&ForwardKey::new("hasura", "data"))
        .into_iter()
        .find(|e| e.path == "/claim")
        .expect("the claiming request is in the log");
    assert_eq!(
        claim.note.as_deref(),
        Some(
            "no gateway headers: a web page (cross-site or foreign Host); \
             client's X-Hasura-Role: admin dropped"
        )
    );
}

/// POST `body` as JSON on the connection; the echo's JSON.
async fn post_json(sender: &mut SendRequest<Body>, path: &str, body: &str) -> Value {
    let request = hyper::Request::post(path)
        .header("host", "localhost")
        .header("content-type", "application/json")
        .body(
            http_body_util::Full::new(Bytes::from(body.to_string()))
                .map_err(|never| match never {})
                .boxed(),
        )
        .unwrap();
    sender.ready().await.expect("connection ready");
    let response = sender.send_request(request).await.expect("a response");
    assert_eq!(response.status(), 200);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&body).expect("the echo is JSON")
}

/// The echo of a request without who answered it (replays may reach the other pod).
fn without_pod(mut echo: Value) -> Value {
    echo.as_object_mut().unwrap().remove("pod");
    echo
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_is_kept_replayed_as_another_identity_and_copied_as_a_curl_command() {
    let demo = common::start_demo().await;
    let (manager, addr) = forward(&demo, "data", Some(GatewayIdentity::admin())).await;
    let key = ForwardKey::new("hasura", "data");
    let query = r#"{"type":"select","args":{"table":"article","columns":["id"]}}"#;
    let original = post_json(&mut connect(addr).await, "/v1/query?x=1", query).await;
    assert_eq!(hasura_headers(&original).0, Some("admin"));

    // What the log kept: the headers as the pod got them, the added ones named, both bodies.
    let entry = manager.requests(&key).pop().expect("the request is logged");
    let exchange = entry
        .exchange
        .clone()
        .expect("gateway mode keeps the exchange");
    assert_eq!(exchange.target, "/v1/query?x=1");
    assert_eq!(exchange.request_body.head.as_ref(), query.as_bytes());
    assert_eq!(
        exchange.injected,
        [
            "x-hasura-role",
            "x-hasura-user-id",
            "x-hasura-allowed-roles"
        ]
    );
    assert_eq!(exchange.request_header("x-hasura-role"), Some("admin"));
    assert_eq!(
        exchange.response_header("content-type"),
        Some("application/json")
    );
    let kept: Value = serde_json::from_slice(&exchange.response_body.head).unwrap();
    assert_eq!(
        kept, original,
        "the response body kept is the one the client got"
    );

    // Replayed as user 42: the pod sees that identity, and the replay is logged beside it.
    let said = manager
        .replay(&key, entry.seq, Some(GatewayIdentity::new("user", "42")))
        .expect("replayable");
    assert_eq!(said, format!("replaying #{} as user 42", entry.seq));
    let replay = until("the replay in the log", || {
        let replay = manager
            .requests(&key)
            .into_iter()
            .find(|e| e.replay_of == Some(entry.seq))?;
        replay.exchange.as_ref()?;
        Some(replay)
    })
    .await;
    assert_eq!(replay.status, Some(200));
    assert_eq!(replay.role.as_deref(), Some("user"));
    let echo: Value =
        serde_json::from_slice(&replay.exchange.as_ref().unwrap().response_body.head).unwrap();
    assert_eq!(
        hasura_headers(&echo),
        (Some("user"), Some("42"), Some("user")),
        "{echo}"
    );
    assert_eq!(echo["body_bytes"], query.len(), "the body went again");
    assert_eq!(echo["path"], "/v1/query?x=1");

    // As it was: the same identity as the original.
    manager.replay(&key, entry.seq, None).expect("replayable");
    let again = until("the plain replay", || {
        manager
            .requests(&key)
            .into_iter()
            .find(|e| e.replay_of == Some(entry.seq) && e.role.as_deref() == Some("admin"))
    })
    .await;
    let echo: Value =
        serde_json::from_slice(&again.exchange.as_ref().unwrap().response_body.head).unwrap();
    assert_eq!(without_pod(echo), without_pod(original.clone()));

    // The curl command, run by a shell, gets the same echo as the original request.
    let command = hasura_tui::copy_as::curl(&entry, addr).expect("copyable");
    let output = tokio::process::Command::new("sh")
        .args(["-c", &command])
        .output()
        .await
        .expect("sh runs");
    assert!(output.status.success(), "{command}: {output:?}");
    let echo: Value = serde_json::from_slice(&output.stdout).expect("the echo");
    assert_eq!(without_pod(echo), without_pod(original), "{command}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_requests_writes_one_json_line_per_request() {
    let demo = common::start_demo().await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    demo.write_kubeconfig(&kubeconfig).unwrap();
    let (plain, with_bodies) = (
        dir.path().join("plain.jsonl"),
        dir.path().join("bodies.jsonl"),
    );
    let start = |file: &std::path::Path, bodies: bool| {
        let mut command = tokio::process::Command::new(BIN);
        command
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args(["port-forward", "data", "-n", "hasura", "--local-port"])
            .arg(common::free_port().to_string())
            .args(["--as-role", "user", "--user-id", "7", "--log-requests"])
            .arg(file)
            .env("XDG_STATE_HOME", dir.path())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true);
        if bodies {
            command.arg("--log-bodies");
        }
        command.spawn().unwrap()
    };
    let mut logged = Vec::new();
    for (file, bodies) in [(&plain, false), (&with_bodies, true)] {
        let mut child = start(file, bodies);
        let (_, addr) = forwarding_from(&mut child).await;
        let mut conn = connect(addr).await;
        get(&mut conn, "/v1/version", &[]).await;
        post_json(&mut conn, "/v1/query", r#"{"type":"count"}"#).await;
        let lines = until("two lines", || {
            let text = std::fs::read_to_string(file).ok()?;
            let lines: Vec<Value> = text
                .lines()
                .map(|l| serde_json::from_str(l).expect("each line is JSON"))
                .collect();
            (lines.len() == 2).then_some(lines)
        })
        .await;
        child.kill().await.unwrap();
        logged.push(lines);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&with_bodies)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "it may hold credentials");
    }
    let (plain, bodies) = (&logged[0], &logged[1]);
    assert_eq!(plain[0]["seq"], 1);
    assert_eq!(plain[0]["method"], "GET");
    assert_eq!(plain[0]["path"], "/v1/version");
    assert_eq!(plain[0]["status"], 200);
    assert_eq!(plain[0]["role"], "user");
    assert_eq!(plain[0]["user_id"], "7");
    assert_eq!(plain[0]["request_bytes"], 0);
    assert!(plain[0]["response_bytes"].as_u64().unwrap() > 0);
    assert!(plain[0]["time"].as_str().unwrap().ends_with('Z'));
    assert_eq!(plain[1]["method"], "POST");
    assert_eq!(plain[1]["request_bytes"], 16);
    assert!(plain[1].get("request").is_none(), "no bodies unless asked");
    let request = &bodies[1]["request"];
    assert_eq!(request["body"], r#"{"type":"count"}"#);
    assert_eq!(request["body_cut"], false);
    assert!(
        request["added_headers"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("x-hasura-role"))
    );
    let echo: Value =
        serde_json::from_str(bodies[1]["response"]["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        hasura_headers(&echo),
        (Some("user"), Some("7"), Some("user"))
    );
}

/// Polls `check` until it gives a value, for 10 s at most.
async fn until<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no {what} within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A request the client gave up on before the pod answered (the pod takes 5 s, the client
/// closes the connection at once) is in the request log all the same: the pod had it, as admin.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_dropped_before_its_response_is_still_logged() {
    use tokio::io::AsyncWriteExt;
    let demo = common::start_demo().await;
    let (manager, addr) = forward(&demo, "data", Some(GatewayIdentity::admin())).await;
    let key = ForwardKey::new("hasura", "data");
    let mut client = TcpStream::connect(addr).await.unwrap();
    client
        .write_all(b"GET /_demo/delay/5000 HTTP/1.1\r\nhost: localhost\r\n\r\n")
        .await
        .unwrap();
    // The forward has read the request ...
    common::eventually("the request read", Duration::from_secs(5), || async {
        (manager.view(&key).unwrap().stats.sent > 0).then_some(())
    })
    .await;
    // ... and the client goes away long before the pod answers.
    drop(client);
    let entry = common::eventually("the request in the log", Duration::from_secs(3), || {
        let log = manager.requests(&key);
        async move { log.into_iter().find(|e| e.path == "/_demo/delay/5000") }
    })
    .await;
    assert_eq!(entry.method, "GET");
    assert_eq!(entry.status, None);
    assert_eq!(entry.role.as_deref(), Some("admin"));
    assert!(!entry.complete);
    assert_eq!(
        entry.note.as_deref(),
        Some("no response: the client went away before the pod answered")
    );
}
