//! Forwards through the real API server and kwok's kubelet endpoints, on each transport.

use std::net::SocketAddr;

use std::time::Duration;

use hasura_tui::forward::{ForwardManager, Transport};

use crate::common;
use crate::common::forwarding::{echo, forward, pattern};
use crate::common::testbed::testbed;
use crate::{eventually, namespace_with_web, running_pods};

/// The pod that answered a GET through `addr` (the echo's `pod` field).
async fn answering_pod(addr: SocketAddr) -> Option<String> {
    let reply = tokio::task::spawn_blocking(move || common::http_get(addr, "/who"))
        .await
        .unwrap()
        .ok()?;
    let body = &reply[reply.find("\r\n\r\n")? + 4..];
    let echo: serde_json::Value = serde_json::from_str(body).ok()?;
    echo["pod"].as_str().map(str::to_string)
}

/// On `transport` (`name` for the headless command's switch), through the real API server and kwok's kubelet endpoints: an echo, 64
/// concurrent 1 MiB transfers byte-identical, and the forward following the Service when
/// its pod is deleted (`kubectl delete pod`); kubectl port-forward gives the same echo.
async fn drill(transport: Transport, name: &str, namespace: &str) {
    let tb = tokio::task::block_in_place(testbed);
    tokio::task::block_in_place(|| namespace_with_web(tb, namespace));
    let yaml = std::fs::read_to_string(&tb.admin).unwrap();
    let client = common::client_from_yaml(&yaml).await;
    let mut manager = ForwardManager::new(client).with_transport(transport);
    let db = forward(&mut manager, namespace, "db").await;
    let web = forward(&mut manager, namespace, "web").await;
    let status = manager
        .status(&hasura_tui::forward::ForwardKey::new(namespace, "web"))
        .unwrap();
    assert_eq!(
        status.borrow().transport,
        Some(transport),
        "forced, never fallen back"
    );

    assert_eq!(echo(db, b"hello".to_vec()).await.unwrap(), b"hello");
    let transfers = (0..64u32).map(|i| async move {
        let payload = pattern(1 << 20, i);
        let back = echo(db, payload.clone()).await.unwrap();
        assert!(back == payload, "{transport}: connection {i} differs");
    });
    // A stalled forward fails the test instead of hanging the binary.
    tokio::time::timeout(
        Duration::from_secs(120),
        futures::future::join_all(transfers),
    )
    .await
    .expect("64 transfers of 1 MiB within 120 s");

    let before = running_pods(tb, namespace, "web");
    assert_eq!(before.len(), 1, "{before:?}");
    assert_eq!(answering_pod(web).await.as_ref(), Some(&before[0]));
    tb.kubectl(&["-n", namespace, "delete", "pod", &before[0], "--wait=false"]);
    let replacement = tokio::task::block_in_place(|| {
        eventually("a replacement pod Running", || {
            let now = running_pods(tb, namespace, "web");
            (now.len() == 1 && now[0] != before[0]).then(|| now[0].clone())
        })
    });
    let answered = common::eventually(
        "the forward reaching the replacement",
        Duration::from_secs(30),
        || async { answering_pod(web).await.filter(|p| *p == replacement) },
    )
    .await;
    assert_eq!(answered, replacement);
    // The API server ends a long-running request's audit entry when it closes: the
    // connection to the deleted pod must end, not stay open and pinged until the forward stops.
    let old_pod = before[0].clone();
    common::eventually(
        "the connection to the deleted pod closed at the API server",
        Duration::from_secs(30),
        || async {
            tb.audit("kubernetes-admin")
                .iter()
                .any(|e| {
                    e["stage"] == "ResponseComplete"
                        && e["objectRef"]["subresource"] == "portforward"
                        && e["objectRef"]["name"] == old_pod.as_str()
                })
                .then_some(())
        },
    )
    .await;

    // kubectl, through the same API server: the same echo from the same pod.
    let mut kubectl = std::process::Command::new(&tb.kubectl)
        .arg("--kubeconfig")
        .arg(&tb.admin)
        .args(["-n", namespace, "port-forward", "svc/web", ":80"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let port = common::forwarding_port(kubectl.stdout.take().unwrap());
    let via_kubectl = match port {
        Ok(port) => answering_pod(SocketAddr::from(([127, 0, 0, 1], port))).await,
        Err(_) => None,
    };
    let _ = kubectl.kill();
    let _ = kubectl.wait();
    port.expect("kubectl port-forward announces its port");
    assert_eq!(via_kubectl, Some(replacement.clone()));

    // The headless command, the same engine forced onto the same transport.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let mut headless = std::process::Command::new(crate::BIN)
        .arg("--kubeconfig")
        .arg(&tb.admin)
        .args([
            "port-forward",
            "web",
            "-n",
            namespace,
            "--local-port",
            &port.to_string(),
        ])
        .env("HASURA_TUI_FORWARD_TRANSPORT", name)
        .env("XDG_STATE_HOME", std::env::temp_dir())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let announced = common::forwarding_port(headless.stdout.take().unwrap());
    let via_headless = answering_pod(SocketAddr::from(([127, 0, 0, 1], port))).await;
    let _ = headless.kill();
    let _ = headless.wait();
    assert_eq!(announced, Ok(port));
    assert_eq!(via_headless, Some(replacement));
    manager.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spdy_over_websocket() {
    drill(Transport::SpdyOverWebSocket, "spdy-ws", "t-fwd-spdyws").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_spdy_upgrade() {
    drill(Transport::Spdy, "spdy", "t-fwd-spdy").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_v4_channel() {
    drill(Transport::WebSocketV4, "v4", "t-fwd-v4").await;
}
