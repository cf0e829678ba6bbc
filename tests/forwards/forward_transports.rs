//! The forward on each transport it can speak, forced one at a time: SPDY tunnelled in a
//! WebSocket (the default), the legacy SPDY upgrade, and `v4.channel.k8s.io`. Each carries an
//! echo, 64 concurrent 1 MiB transfers byte-identical, a half-closed request's reply, and turns
//! a pod killed mid-transfer into an error for the client. A half-closed request answered after
//! 5 s is compared with what kubectl gives through the same demo cluster. A connection whose
//! PINGs go unanswered is re-dialled, and the row says `reconnecting` until one is up.
use crate::common;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::forwarding::{echo, pattern};
use hasura_tui::demo::DemoCluster;
use hasura_tui::forward::{ForwardKey, ForwardManager, ForwardState, KeepAlive, Transport};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn forward(manager: &mut ForwardManager, service: &str) -> SocketAddr {
    common::forwarding::forward(manager, "hasura", service).await
}

/// An HTTP request for a reply `delay_ms` late, sent as `nc -N` does (the request, then the
/// end of input), and whatever comes back until the end.
async fn half_closed_request(port: u16, delay_ms: u64) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let request =
        format!("GET /_demo/delay/{delay_ms} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.shutdown().await.unwrap();
    let mut reply = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut reply))
        .await
        .expect("the connection ends within 20 s");
    String::from_utf8_lossy(&reply).into_owned()
}

fn whole(reply: &str, delay_ms: u64) -> bool {
    reply.starts_with("HTTP/1.1 200")
        && reply.contains(&format!("\"path\":\"/_demo/delay/{delay_ms}\""))
}

/// Reads a large download through `addr`, kills the pod serving it on the way, and says how
/// the client saw the end: `error`, `eof` or `complete`.
async fn download_while_the_pod_dies(demo: &DemoCluster, addr: SocketAddr) -> &'static str {
    const TOTAL: u64 = 1 << 30;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!("GET /_demo/bytes/{TOTAL} HTTP/1.1\r\nHost: x\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    let (mut received, mut killed) = (0u64, false);
    loop {
        match tokio::time::timeout(Duration::from_secs(15), stream.read(&mut buf))
            .await
            .expect("a cut transfer never hangs")
        {
            Ok(0) => return "eof",
            Ok(n) => received += n as u64,
            Err(_) => return "error",
        }
        if !killed && received > 4 << 20 {
            let pod = demo.faults().live_pods("hasura", "data").unwrap()[0].clone();
            assert!(demo.faults().kill_pod("hasura", &pod));
            killed = true;
        }
        if received >= TOTAL {
            return "complete";
        }
    }
}

async fn drill(transport: Transport) {
    let demo = common::start_demo().await;
    let mut manager =
        ForwardManager::new(common::client_for(&demo).await).with_transport(transport);
    let postgres = forward(&mut manager, "postgres").await;
    let data = forward(&mut manager, "data").await;
    let status = manager.status(&ForwardKey::new("hasura", "data")).unwrap();
    assert_eq!(
        status.borrow().transport,
        Some(transport),
        "forced, never fallen back"
    );

    assert_eq!(echo(postgres, b"hello".to_vec()).await.unwrap(), b"hello");

    let transfers = (0..64u32).map(|i| async move {
        let payload = pattern(1 << 20, i);
        let back = echo(postgres, payload.clone()).await.unwrap();
        assert!(back == payload, "{transport}: connection {i} differs");
    });
    futures::future::join_all(transfers).await;

    // A reply that comes while the runtime still copies (containerd waits 1 s for it).
    let reply = half_closed_request(data.port(), 500).await;
    assert!(whole(&reply, 500), "{transport}: {reply:?}");

    // A reply 5 s after the client's end of input. SPDY passes the end on; containerd then
    // closes the pod's connection within 1 s (`sandbox_portforward_linux.go`), and the client
    // gets a clean, empty end, as kubectl's clients do (`kubectl_loses_a_slow_half_closed_reply`).
    // v4 cannot pass the end on: the pod never learns of it, answers, and the forward waits for
    // that answer up to its documented 10 s.
    let reply = half_closed_request(data.port(), 5000).await;
    match transport {
        Transport::WebSocketV4 => assert!(whole(&reply, 5000), "v4: {reply:?}"),
        _ => assert_eq!(
            reply, "",
            "{transport}: as kubectl, the runtime cut the reply"
        ),
    }

    let end = download_while_the_pod_dies(&demo, data).await;
    assert_eq!(
        end, "error",
        "{transport}: a cut transfer must not look like a clean end"
    );
    manager.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spdy_over_websocket() {
    drill(Transport::SpdyOverWebSocket).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_spdy_upgrade() {
    drill(Transport::Spdy).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_v4_channel() {
    drill(Transport::WebSocketV4).await;
}

/// What kubectl port-forward gives for the same half-closed requests through the same demo:
/// the quick reply whole, the 5 s one cut by the runtime, with either of its transports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_loses_a_slow_half_closed_reply() {
    let demo = common::start_demo().await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    demo.write_kubeconfig(&kubeconfig).unwrap();
    let pod = demo.faults().live_pods("hasura", "data").unwrap()[0].clone();
    for websockets in ["true", "false"] {
        let (mut child, port) = kubectl_port_forward(&kubeconfig, &pod, websockets);
        let quick = half_closed_request(port, 500).await;
        let slow = half_closed_request(port, 5000).await;
        let _ = child.kill();
        let _ = child.wait();
        assert!(
            whole(&quick, 500),
            "kubectl websockets={websockets}: {quick:?}"
        );
        assert_eq!(slow, "", "kubectl websockets={websockets}");
    }
}

fn kubectl_port_forward(kubeconfig: &std::path::Path, pod: &str, websockets: &str) -> (Child, u16) {
    let mut child = Command::new(common::kubectl())
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args([
            "port-forward",
            "-n",
            "hasura",
            &format!("pod/{pod}"),
            ":8080",
        ])
        .env("KUBECTL_PORT_FORWARD_WEBSOCKETS", websockets)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let port = common::forwarding_port(child.stdout.take().unwrap())
        .unwrap_or_else(|first| panic!("no port in {first:?}"));
    (child, port)
}

/// A connection that stops answering PINGs (a path that died without either end seeing it) is
/// given up and dialled again; while no new one can be had the row says `reconnecting`, never
/// `active`, and it is `active` again by itself once the path is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_misses_pings_is_redialled_and_the_row_says_so() {
    let demo = common::start_demo().await;
    let faults = demo.faults();
    let keepalive = KeepAlive {
        idle: Duration::from_millis(300),
        timeout: Duration::from_millis(500),
    };
    let mut manager =
        ForwardManager::new(common::client_for(&demo).await).with_keepalive(keepalive);
    let postgres = forward(&mut manager, "postgres").await;
    assert_eq!(echo(postgres, b"before".to_vec()).await.unwrap(), b"before");
    let mut status = manager
        .status(&ForwardKey::new("hasura", "postgres"))
        .unwrap();

    // The path dies: PINGs unanswered, and a new connection's upgrade never answered.
    faults.lose_pings(true);
    faults.stall(true);
    let reconnecting = tokio::time::timeout(
        Duration::from_secs(10),
        status.wait_for(|s| matches!(s.state, ForwardState::Reconnecting(_))),
    )
    .await
    .expect("reconnecting within 10 s")
    .unwrap()
    .state
    .clone();
    println!("{reconnecting:?}");
    let ForwardState::Reconnecting(why) = reconnecting else {
        unreachable!()
    };
    assert!(why.contains("PING"), "{why}");
    // Through several keepalive periods it never pretends: no `active` while the path is dead.
    let pretended = tokio::time::timeout(
        Duration::from_secs(2),
        status.wait_for(|s| s.state == ForwardState::Active),
    )
    .await
    .is_ok();
    assert!(!pretended, "active while no connection could be had");

    faults.lose_pings(false);
    faults.stall(false);
    tokio::time::timeout(
        Duration::from_secs(20),
        status.wait_for(|s| s.state == ForwardState::Active),
    )
    .await
    .expect("active again within 20 s")
    .unwrap();
    assert_eq!(echo(postgres, b"after".to_vec()).await.unwrap(), b"after");
    manager.stop_all().await;
}
