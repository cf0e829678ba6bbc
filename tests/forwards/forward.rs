//! The forward engine against the demo cluster: real TCP through real forwards, surviving pod
//! restarts and scale to zero, failing one forward without hurting the others, and stopping.
use crate::common;

use std::net::SocketAddr;
use std::time::Duration;

use hasura_tui::demo::DemoCluster;
use hasura_tui::forward::{ForwardKey, ForwardManager, ForwardSpec, ForwardState, ForwardStatus};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use common::eventually;
use common::forwarding::{echo, pattern};

async fn manager(demo: &DemoCluster) -> ForwardManager {
    ForwardManager::new(common::client_for(demo).await)
}

/// Starts a forward on a free local port and returns where it listens.
async fn forward(manager: &mut ForwardManager, namespace: &str, service: &str) -> SocketAddr {
    let mut spec = ForwardSpec::new(namespace, service);
    spec.local_port = Some(0);
    start(manager, spec).await.local.expect("a local address")
}

async fn start(manager: &mut ForwardManager, spec: ForwardSpec) -> ForwardStatus {
    let key = spec.key();
    manager.start(spec);
    manager
        .wait_started(&key)
        .await
        .expect("the forward reports a state")
}

/// One HTTP/1.1 request with `Connection: close`; returns the response body parsed as JSON.
async fn http_get(addr: SocketAddr, path: &str) -> std::io::Result<serde_json::Value> {
    let mut stream = TcpStream::connect(addr).await?;
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let text = String::from_utf8_lossy(&response);
    let body = text
        .split("\r\n\r\n")
        .nth(1)
        .ok_or_else(|| std::io::Error::other(format!("no body in {text:?}")))?;
    serde_json::from_str(body.trim()).map_err(std::io::Error::other)
}

#[tokio::test]
async fn http_through_a_forward_to_data_returns_the_echo() {
    let demo = common::start_demo().await;
    let mut manager = manager(&demo).await;
    let addr = forward(&mut manager, "hasura", "data").await;
    assert!(addr.ip().is_loopback());
    let echo = http_get(addr, "/v1/query?x=1").await.unwrap();
    assert_eq!(echo["microservice"], "data");
    assert_eq!(echo["path"], "/v1/query?x=1");
    let view = manager.view(&ForwardKey::new("hasura", "data")).unwrap();
    assert_eq!(view.status.state, ForwardState::Active);
    assert_eq!(
        view.status.remote_port,
        Some(8080),
        "named targetPort http resolved to the container port"
    );
    assert!(view.stats.sent > 0 && view.stats.received > 0 && view.stats.total == 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_connections_move_a_mebibyte_each_through_postgres() {
    let demo = common::start_demo().await;
    let mut manager = manager(&demo).await;
    let addr = forward(&mut manager, "hasura", "postgres").await;
    let tasks = (0..64u32).map(|i| {
        tokio::spawn(async move {
            let payload = pattern(1024 * 1024, i);
            let back = echo(addr, payload.clone()).await.unwrap();
            assert!(back == payload, "connection {i}: the echo differs");
        })
    });
    for task in futures::future::join_all(tasks).await {
        task.unwrap();
    }
    let stats = manager
        .view(&ForwardKey::new("hasura", "postgres"))
        .unwrap()
        .stats;
    assert_eq!(stats.total, 64);
    assert_eq!(stats.sent, 64 * 1024 * 1024);
    assert_eq!(stats.received, 64 * 1024 * 1024);
}

#[tokio::test]
async fn two_forwards_at_once_and_a_taken_port_fails_only_its_own() {
    let demo = common::start_demo().await;
    let mut manager = manager(&demo).await;
    let data = forward(&mut manager, "hasura", "data").await;
    let redis = forward(&mut manager, "hasura", "session-redis").await;

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut spec = ForwardSpec::new("default", "my-app");
    spec.local_port = Some(taken.local_addr().unwrap().port());
    let status = start(&mut manager, spec).await;
    assert_eq!(
        status.state,
        ForwardState::Error(format!(
            "port {} in use",
            taken.local_addr().unwrap().port()
        ))
    );

    assert_eq!(http_get(data, "/").await.unwrap()["microservice"], "data");
    assert_eq!(
        echo(redis, b"PING\r\n".to_vec()).await.unwrap(),
        b"PING\r\n"
    );
    assert_eq!(manager.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forward_outlives_its_pod_and_scale_to_zero() {
    let demo = common::start_demo().await;
    let faults = demo.faults();
    let mut manager = manager(&demo).await;
    let addr = forward(&mut manager, "hasura", "data").await;
    let first_pod = http_get(addr, "/").await.unwrap()["pod"]
        .as_str()
        .unwrap()
        .to_string();

    // An open connection to the pod that is about to die.
    let mut open = TcpStream::connect(addr).await.unwrap();
    open.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = open.read(&mut buf).await.unwrap();
    assert!(n > 0);

    faults.kill_pod("hasura", &first_pod);
    // The open connection is closed (reset or EOF), never left hanging.
    let closed = tokio::time::timeout(Duration::from_secs(5), open.read(&mut buf))
        .await
        .expect("the open connection closes");
    assert!(matches!(closed, Ok(0) | Err(_)), "{closed:?}");

    // Once the replacement is Ready, a new connection reaches it with no action from the user.
    let new_pod = eventually(
        "a connection to the replacement pod",
        Duration::from_secs(10),
        || async {
            let echo = http_get(addr, "/").await.ok()?;
            let pod = echo["pod"].as_str()?.to_string();
            (pod != first_pod).then_some(pod)
        },
    )
    .await;
    assert!(new_pod.starts_with("data-"));

    faults.scale("hasura", "data", 0).unwrap();
    let key = ForwardKey::new("hasura", "data");
    eventually("no ready pods", Duration::from_secs(10), || async {
        (manager.view(&key)?.status.state == ForwardState::NoReadyPods).then_some(())
    })
    .await;
    assert!(
        http_get(addr, "/").await.is_err(),
        "without pods a connection waits, then closes"
    );

    faults.scale("hasura", "data", 1).unwrap();
    eventually("active again", Duration::from_secs(10), || async {
        (manager.view(&key)?.status.state == ForwardState::Active).then_some(())
    })
    .await;
    assert_eq!(http_get(addr, "/").await.unwrap()["microservice"], "data");
}

#[tokio::test]
async fn stopping_closes_the_port_and_open_connections() {
    let demo = common::start_demo().await;
    let mut manager = manager(&demo).await;
    let addr = forward(&mut manager, "hasura", "postgres").await;
    let mut open = TcpStream::connect(addr).await.unwrap();
    open.write_all(b"hi").await.unwrap();
    let mut buf = [0u8; 2];
    open.read_exact(&mut buf).await.unwrap();

    assert!(
        manager
            .stop_and_wait(&ForwardKey::new("hasura", "postgres"))
            .await
    );
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "the port refuses connections"
    );
    let closed = tokio::time::timeout(Duration::from_millis(500), open.read(&mut buf))
        .await
        .expect("the open connection is closed");
    assert!(matches!(closed, Ok(0) | Err(_)), "{closed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_killed_mid_transfer_resets_the_client_connection() {
    let demo = common::start_demo().await;
    let faults = demo.faults();
    let mut manager = manager(&demo).await;
    let addr = forward(&mut manager, "hasura", "postgres").await;
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let total = 100 * 1024 * 1024;
    // Reports whether writing failed: after a reset, whichever of the client's calls comes
    // first gets the error (the kernel reports it once), so both sides are checked.
    let writing = tokio::spawn(async move {
        let chunk = vec![7u8; 64 * 1024];
        let mut sent = 0;
        while sent < total {
            if writer.write_all(&chunk).await.is_err() {
                return true;
            }
            sent += chunk.len();
        }
        false
    });
    let mut received = 0usize;
    let mut buf = vec![0u8; 64 * 1024];
    let mut killed = false;
    let outcome = loop {
        match tokio::time::timeout(Duration::from_secs(10), reader.read(&mut buf))
            .await
            .expect("never hangs")
        {
            Ok(0) => break "eof",
            Ok(n) => received += n,
            Err(_) => break "error",
        }
        if !killed && received > 4 * 1024 * 1024 {
            faults.kill_pod("hasura", "postgres-0");
            killed = true;
        }
        if received >= total {
            break "complete";
        }
    };
    assert!(killed);
    assert_ne!(outcome, "complete");
    let write_failed = tokio::time::timeout(Duration::from_secs(10), writing)
        .await
        .expect("the writer never hangs")
        .unwrap();
    assert!(
        outcome == "error" || write_failed,
        "a cut transfer must not look like a clean end (read {outcome} after {received} bytes, write failed: {write_failed})"
    );
}

#[tokio::test]
async fn the_local_port_follows_the_product_rule() {
    let demo = common::start_demo().await;
    let mut manager = manager(&demo).await;
    // postgres's container port is 5432: the forward takes 5432, or 6432 when 5432 is taken.
    let status = start(&mut manager, ForwardSpec::new("hasura", "postgres")).await;
    let port = status.local.unwrap().port();
    assert!(
        port == 5432 || port == 6432 || status.local.is_some(),
        "{port}"
    );
    if std::net::TcpListener::bind("127.0.0.1:5432").is_err() && port != 5432 {
        assert_eq!(port, 6432);
    }
    // An address that is not loopback is marked as exposed.
    let mut spec = ForwardSpec::new("hasura", "auth");
    spec.address = "0.0.0.0".parse().unwrap();
    spec.local_port = Some(0);
    assert!(start(&mut manager, spec).await.exposed);
}

#[test]
fn headless_port_forward_serves_until_sigterm_then_closes_its_port() {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::process::{Command, Stdio};
    const BIN: &str = env!("CARGO_BIN_EXE_hasura-tui");
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let mut demo = Command::new(BIN)
        .args(["demo-cluster", "--write-kubeconfig"])
        .arg(&kubeconfig)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut demo_out = BufReader::new(demo.stdout.take().unwrap());
    demo_out.read_line(&mut String::new()).unwrap();
    std::thread::spawn(move || std::io::copy(&mut demo_out, &mut std::io::sink()));

    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut forward = Command::new(BIN)
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args([
            "port-forward",
            "data",
            "-n",
            "hasura",
            "--local-port",
            &free.to_string(),
        ])
        .env("XDG_STATE_HOME", dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(forward.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(
        line.trim(),
        format!("Forwarding from 127.0.0.1:{free} -> 8080 (data.hasura)")
    );

    let mut stream = std::net::TcpStream::connect(("127.0.0.1", free)).unwrap();
    stream
        .write_all(b"GET /through/cli HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(
        response.contains("\"path\":\"/through/cli\"")
            && response.contains("\"microservice\":\"data\""),
        "{response}"
    );

    Command::new("kill")
        .args(["-TERM", &forward.id().to_string()])
        .status()
        .unwrap();
    let status = forward.wait().unwrap();
    assert!(status.success(), "{status}");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", free)).is_err(),
        "the port is closed after SIGTERM"
    );
    let _ = demo.kill();
    let _ = demo.wait();
}

/// Stopping never waits on the caller's side: ten forwards with open connections are all
/// `stopping` the moment they are told, and each one's port is closed before it leaves the list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_ten_forwards_returns_at_once_and_frees_each_port_before_the_row_goes() {
    let demo = common::start_demo().await;
    let mut manager = manager(&demo).await;
    let services = [
        ("hasura", "auth"),
        ("hasura", "data"),
        ("hasura", "filestore"),
        ("hasura", "gateway"),
        ("hasura", "le-agent"),
        ("hasura", "notify"),
        ("hasura", "postgres"),
        ("hasura", "session-redis"),
        ("hasura", "sshd"),
        ("default", "my-app"),
    ];
    let mut ports = Vec::new();
    let mut open = Vec::new();
    for (namespace, name) in services {
        let addr = forward(&mut manager, namespace, name).await;
        open.push(TcpStream::connect(addr).await.unwrap());
        ports.push((ForwardKey::new(namespace, name), addr));
    }
    for (key, _) in &ports {
        assert!(manager.stop(key), "{key:?} was running");
    }
    for (key, _) in &ports {
        let view = manager.view(key).expect("still listed while stopping");
        assert_eq!(view.status.state, ForwardState::Stopping, "{key:?}");
        assert!(!manager.is_running(key));
    }
    let changed = manager.changed();
    common::eventually(
        "every forward to finish stopping",
        Duration::from_secs(5),
        || {
            manager.reap();
            for (key, addr) in &ports {
                if manager.view(key).is_none() {
                    assert!(
                        std::net::TcpStream::connect(addr).is_err(),
                        "{key:?} left the list while its port {addr} still accepted"
                    );
                }
            }
            let done = manager.is_empty();
            let changed = changed.clone();
            async move {
                if !done {
                    // Woken by a task ending, or look again shortly.
                    let _ =
                        tokio::time::timeout(Duration::from_millis(50), changed.notified()).await;
                }
                done.then_some(())
            }
        },
    )
    .await;
}
