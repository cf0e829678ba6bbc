//! Forward drills against the demo cluster: a forward rides out an API server restart without
//! user action, a client that half-closes gets the whole reply, and 1 GiB over 32 concurrent
//! connections arrives intact (SHA-256 per stream).
use crate::common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hasura_tui::forward::{ForwardKey, ForwardManager, ForwardSpec, ForwardState};
use rand::{Rng, SeedableRng};
use ring::digest::{Context, SHA256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use common::eventually;
use common::forwarding::forward;

/// One echo round trip of a few bytes on a fresh connection.
async fn echo_once(addr: SocketAddr, message: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.write_all(message).await?;
    let mut back = vec![0u8; message.len()];
    tokio::time::timeout(Duration::from_secs(3), stream.read_exact(&mut back))
        .await
        .map_err(|_| std::io::Error::other("no echo within 3 s"))??;
    Ok(back)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forward_serves_new_connections_after_an_api_server_restart() {
    let demo = common::start_demo().await;
    let faults = demo.faults();
    let mut manager = ForwardManager::new(common::client_for(&demo).await);
    let addr = forward(&mut manager, "hasura", "postgres").await;
    assert_eq!(echo_once(addr, b"before").await.unwrap(), b"before");
    let mut open = TcpStream::connect(addr).await.unwrap();
    open.write_all(b"open").await.unwrap();
    let mut back = [0u8; 4];
    open.read_exact(&mut back).await.unwrap();

    faults.stop_server().await;
    // A connection open through it ends with the API server (its stream did).
    let mut rest = Vec::new();
    let ended = tokio::time::timeout(Duration::from_secs(10), open.read_to_end(&mut rest)).await;
    assert!(ended.is_ok(), "the open connection ends with the server");
    // While the API is down a new connection cannot be set up; it must fail, not hang.
    let down = tokio::time::timeout(Duration::from_secs(10), echo_once(addr, b"down")).await;
    assert!(
        !matches!(down, Ok(Ok(_))),
        "no echo while the API is down: {down:?}"
    );
    faults.restart_server().await.unwrap();
    let restarted = Instant::now();
    // Same local port, no user action: the next connections reach the pod again.
    eventually(
        "an echo through the same port after the restart",
        Duration::from_secs(10),
        || async {
            echo_once(addr, b"after")
                .await
                .ok()
                .filter(|b| b == b"after")
        },
    )
    .await;
    println!(
        "forward serving again {:?} after the restart",
        restarted.elapsed()
    );
    let view = manager
        .view(&ForwardKey::new("hasura", "postgres"))
        .unwrap();
    assert_eq!(view.status.local, Some(addr), "the same listener");
    assert_eq!(view.status.state, ForwardState::Active);
    manager.stop_all().await;
}

#[tokio::test]
async fn a_client_that_half_closes_still_gets_the_whole_reply() {
    let demo = common::start_demo().await;
    let mut manager = ForwardManager::new(common::client_for(&demo).await);
    let data = forward(&mut manager, "hasura", "data").await;
    let postgres = forward(&mut manager, "hasura", "postgres").await;

    // HTTP, as `nc -N` sends it: the request, then the end of input, then read the reply.
    let mut stream = TcpStream::connect(data).await.unwrap();
    stream
        .write_all(b"GET /half/closed HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    stream.shutdown().await.unwrap();
    let mut reply = String::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut reply))
        .await
        .expect("the reply within 5 s")
        .unwrap();
    assert!(
        reply.starts_with("HTTP/1.1 200") && reply.contains("\"path\":\"/half/closed\""),
        "{reply:?}"
    );

    // Raw TCP: 4 MiB, then the end of input; every byte comes back.
    let payload: Vec<u8> = (0..4 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let stream = TcpStream::connect(postgres).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let sent = payload.clone();
    let writing = tokio::spawn(async move {
        writer.write_all(&sent).await.unwrap();
        writer.shutdown().await.unwrap();
        writer
    });
    let mut back = vec![0u8; payload.len()];
    tokio::time::timeout(Duration::from_secs(20), reader.read_exact(&mut back))
        .await
        .expect("the echo within 20 s")
        .unwrap();
    assert!(back == payload, "the echo after a half-close differs");
    drop(writing.await.unwrap());
    drop(reader);
    // The echo never closes its side; once the client has gone, the connection must not
    // linger (it holds a stream to the pod) beyond the forward's short idle wait.
    let closed = Instant::now();
    eventually(
        "the closed connection let go",
        Duration::from_secs(6),
        || async {
            let view = manager.view(&ForwardKey::new("hasura", "postgres"))?;
            (view.stats.open == 0).then_some(())
        },
    )
    .await;
    println!(
        "half-closed echo connection released {:?} after the client closed",
        closed.elapsed()
    );
    manager.stop_all().await;
}

/// Bytes per connection: 32 of them make the drill's 1 GiB (12 s in a debug build).
/// `DRILL_TOTAL_MIB` sets another total, for a quick run or a longer one.
fn per_connection() -> usize {
    let mib = std::env::var("DRILL_TOTAL_MIB")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1024);
    mib * 1024 * 1024 / CONNECTIONS
}

const CONNECTIONS: usize = 32;
const CHUNK: usize = 256 * 1024;

/// Streams `total` seeded random bytes through an echo and back; returns the SHA-256 of what was
/// sent and of what came back.
async fn stream_and_hash(addr: SocketAddr, seed: u64, total: usize) -> ([u8; 32], [u8; 32]) {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut reader, mut writer) = stream.into_split();
    let writing = tokio::spawn(async move {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut hash = Context::new(&SHA256);
        let mut chunk = vec![0u8; CHUNK];
        let mut sent = 0;
        while sent < total {
            let n = CHUNK.min(total - sent);
            rng.fill_bytes(&mut chunk[..n]);
            hash.update(&chunk[..n]);
            writer.write_all(&chunk[..n]).await.expect("write");
            sent += n;
        }
        // The write side stays open until every byte is back: a runtime gives the pod's reply
        // at most 1 s after the client's end of input (containerd's linger, see
        // `forward_transports.rs`), and 32 echoes at once can lag more than that.
        (
            <[u8; 32]>::try_from(hash.finish().as_ref()).unwrap(),
            writer,
        )
    });
    let mut hash = Context::new(&SHA256);
    let mut buf = vec![0u8; CHUNK];
    let mut received = 0;
    while received < total {
        let n = reader.read(&mut buf).await.expect("read");
        assert!(
            n > 0,
            "stream {seed} ended after {received} of {total} bytes"
        );
        hash.update(&buf[..n]);
        received += n;
    }
    let (sent, mut writer) = writing.await.unwrap();
    writer.shutdown().await.expect("half-close");
    let end = tokio::time::timeout(Duration::from_secs(10), reader.read(&mut buf)).await;
    assert!(
        matches!(end, Ok(Ok(0))),
        "stream {seed}: a clean end after the echo: {end:?}"
    );
    (sent, <[u8; 32]>::try_from(hash.finish().as_ref()).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gibibyte_over_32_connections_arrives_intact() {
    let demo = common::start_demo().await;
    let mut manager = ForwardManager::new(common::client_for(&demo).await);
    let addr = forward(&mut manager, "hasura", "postgres").await;
    let total = per_connection();
    let started = Instant::now();
    let streams =
        (0..CONNECTIONS as u64).map(|seed| tokio::spawn(stream_and_hash(addr, seed, total)));
    let results = futures::future::join_all(streams).await;
    let elapsed = started.elapsed();
    for (seed, result) in results.into_iter().enumerate() {
        let (sent, back) = result.unwrap();
        assert_eq!(sent, back, "stream {seed}: SHA-256 of the echo differs");
    }
    let stats = manager
        .view(&ForwardKey::new("hasura", "postgres"))
        .unwrap()
        .stats;
    let bytes = (total * CONNECTIONS) as u64;
    assert_eq!(stats.sent, bytes);
    assert_eq!(stats.received, bytes);
    assert_eq!(stats.total, CONNECTIONS as u64);
    println!(
        "{} MiB each way over {CONNECTIONS} connections in {elapsed:?} ({:.0} MiB/s each way)",
        bytes / (1024 * 1024),
        bytes as f64 / (1024.0 * 1024.0) / elapsed.as_secs_f64()
    );
    manager.stop_all().await;
}

/// `GET /` on a fresh connection through the forward: which pod answered. The body is read by
/// its Content-Length, as HTTP clients do: a container that closes first leaves the stream's
/// end to the runtime's one-second linger (containerd), which a client need not wait for.
async fn answering_pod(addr: SocketAddr) -> Result<String, String> {
    let exchange = async {
        let stream = TcpStream::connect(addr).await?;
        let mut stream = tokio::io::BufReader::new(stream);
        stream
            .get_mut()
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await?;
        let mut length = None;
        loop {
            let mut line = String::new();
            if tokio::io::AsyncBufReadExt::read_line(&mut stream, &mut line).await? == 0 {
                return Err(std::io::Error::other("the reply ended in its headers"));
            }
            if line == "\r\n" {
                break;
            }
            if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = value.trim().parse::<usize>().ok();
            }
        }
        let mut body = vec![0u8; length.ok_or_else(|| std::io::Error::other("no length"))?];
        stream.read_exact(&mut body).await?;
        Ok::<_, std::io::Error>(body)
    };
    let body = tokio::time::timeout(Duration::from_secs(5), exchange)
        .await
        .map_err(|_| "no answer within 5 s".to_string())?
        .map_err(|e| e.to_string())?;
    let echo: serde_json::Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
    echo["pod"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("no pod in {echo}"))
}

/// Each endpoint of my-app's slices as kubectl reads them: `pod ready serving terminating`.
async fn slice_conditions(kubeconfig: std::path::PathBuf) -> String {
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(common::kubectl())
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args([
                "get",
                "endpointslices",
                "-n",
                "default",
                "-l",
                "kubernetes.io/service-name=my-app",
                "-o",
                "jsonpath={range .items[*].endpoints[*]}{.targetRef.name} {.conditions.ready} {.conditions.serving} {.conditions.terminating}{\"\\n\"}{end}",
            ])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Pods replaced one at a time, each deleted pod terminating for 5 s (its endpoint
/// `ready: false, terminating: true`, as kubectl sees it) while a client connects every 50 ms:
/// every connection is answered, and none that starts after the forward has seen the change
/// goes to a terminating pod.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_replacement_with_a_grace_period_fails_no_connection() {
    let demo = common::start_demo_with(hasura_tui::demo::DemoOptions {
        pod_start_delay: Duration::from_millis(150),
        pod_termination_delay: Duration::from_secs(5),
        ..Default::default()
    })
    .await;
    let faults = demo.faults();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    demo.write_kubeconfig(&kubeconfig).unwrap();
    faults.scale("default", "my-app", 2).unwrap();
    let serving = || {
        let live = faults.live_pods("default", "my-app").unwrap();
        let ready = faults.ready_pods("default", "my-app").unwrap();
        live.into_iter()
            .filter(|p| ready.contains(p))
            .collect::<Vec<_>>()
    };
    let originals = eventually("two ready pods", Duration::from_secs(10), || async {
        let pods = serving();
        (pods.len() == 2).then_some(pods)
    })
    .await;
    let mut manager = ForwardManager::new(common::client_for(&demo).await);
    let addr = forward(&mut manager, "default", "my-app").await;

    // The client: a new connection every 50 ms, each noted with when it started.
    let stop = tokio_util::sync::CancellationToken::new();
    let client = tokio::spawn({
        let stop = stop.clone();
        async move {
            let mut answers = Vec::new();
            let mut tick = tokio::time::interval(Duration::from_millis(50));
            while !stop.is_cancelled() {
                tick.tick().await;
                let started = Instant::now();
                answers.push((started, answering_pod(addr).await));
            }
            answers
        }
    });

    // Settling time: a change reaches the forward through its EndpointSlice watch.
    const SEEN_WITHIN: Duration = Duration::from_millis(500);
    let mut deleted_at = Vec::new();
    for pod in &originals {
        assert!(faults.kill_pod("default", pod));
        deleted_at.push((pod.clone(), Instant::now()));
        let conditions = slice_conditions(kubeconfig.clone()).await;
        assert!(
            conditions
                .lines()
                .any(|l| l == format!("{pod} false true true")),
            "the deleted pod's endpoint is terminating, not ready:\n{conditions}"
        );
        eventually("a replacement ready", Duration::from_secs(10), || async {
            (serving().len() == 2).then_some(())
        })
        .await;
    }
    // Through the rest of the last pod's grace period.
    let last = deleted_at.last().unwrap().1;
    tokio::time::sleep(Duration::from_secs(5).saturating_sub(last.elapsed())).await;
    stop.cancel();
    let answers = client.await.unwrap();

    let failures: Vec<String> = answers
        .iter()
        .filter_map(|(started, a)| {
            let after: Vec<String> = deleted_at
                .iter()
                .map(|(pod, at)| {
                    let since = started.saturating_duration_since(*at);
                    format!("{since:?} after deleting {pod}")
                })
                .collect();
            a.as_ref()
                .err()
                .map(|e| format!("{e} ({})", after.join(", ")))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} failed: {failures:#?}",
        failures.len(),
        answers.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} failed: {failures:?}",
        failures.len(),
        answers.len()
    );
    assert!(answers.len() >= 80, "only {} connections", answers.len());
    for (pod, deleted) in &deleted_at {
        let late: Vec<_> = answers
            .iter()
            .filter(|(started, a)| *started > *deleted + SEEN_WITHIN && a.as_deref() == Ok(pod))
            .collect();
        assert!(
            late.is_empty(),
            "{} connections went to terminating {pod}",
            late.len()
        );
    }
    let replacements: std::collections::BTreeSet<&str> = answers
        .iter()
        .filter_map(|(_, a)| a.as_deref().ok())
        .filter(|p| !originals.iter().any(|o| o == p))
        .collect();
    assert_eq!(
        replacements.len(),
        2,
        "both replacements answered: {replacements:?}"
    );
}

/// A forward started while the API server is down keeps its port, says it is waiting and why,
/// and turns active by itself once the server is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forward_started_while_the_api_is_down_waits_then_serves() {
    let demo = common::start_demo().await;
    let faults = demo.faults();
    let mut manager = ForwardManager::new(common::client_for(&demo).await);
    faults.stop_server().await;

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut spec = ForwardSpec::new("hasura", "postgres");
    spec.local_port = Some(port);
    let key = spec.key();
    manager.start(spec);
    let mut status = manager.status(&key).unwrap();
    let waiting = tokio::time::timeout(
        Duration::from_secs(20),
        status.wait_for(|s| matches!(s.state, ForwardState::Waiting { .. })),
    )
    .await
    .expect("waiting within 20 s")
    .unwrap()
    .clone();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    assert_eq!(waiting.local, Some(addr), "the exact port is shown");
    assert!(
        std::net::TcpListener::bind(addr).is_err(),
        "port {port} is held while the forward waits"
    );
    let ForwardState::Waiting { cause, .. } = &waiting.state else {
        unreachable!()
    };
    assert!(!cause.is_empty());
    println!(
        "while down: {}",
        hasura_tui::forward::waiting_text(cause, Duration::from_secs(1))
    );

    faults.restart_server().await.unwrap();
    let restarted = Instant::now();
    tokio::time::timeout(
        Duration::from_secs(40),
        status.wait_for(|s| s.state == ForwardState::Active),
    )
    .await
    .expect("active within the longest backoff after the restart")
    .unwrap();
    println!("active {:?} after the restart", restarted.elapsed());
    assert_eq!(echo_once(addr, b"back").await.unwrap(), b"back");
    manager.stop_all().await;
}

/// Every rolling replacement used to leave the old pod's connection open, pinged, on both ends
/// until the forward stopped. Across 20 replacements under an active forward, the API server's
/// open upgraded connections and the forward's live tasks come back to where they were. The
/// demo runs on a runtime of its own, so the forward's runtime counts only the forward's tasks.
#[test]
fn twenty_rolling_replacements_leave_no_connection_or_task_behind() {
    let runtime = |threads| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
            .unwrap()
    };
    let (cluster_side, forward_side) = (runtime(1), runtime(2));
    let demo = cluster_side.block_on(common::start_demo_with(hasura_tui::demo::DemoOptions {
        pod_start_delay: Duration::from_millis(100),
        pod_termination_delay: Duration::from_millis(100),
        ..Default::default()
    }));
    let faults = demo.faults();
    let tasks = forward_side.metrics();
    forward_side.block_on(async {
        let mut manager = ForwardManager::new(common::client_for(&demo).await);
        let addr = forward(&mut manager, "default", "my-app").await;
        let mut pod = answering_pod(addr).await.expect("an answer");
        let now = || (faults.long_running_open(), tasks.num_alive_tasks());
        let before = now();
        println!("before: {} connections, {} tasks", before.0, before.1);
        for round in 1..=20 {
            assert!(faults.kill_pod("default", &pod), "round {round}: {pod}");
            pod = eventually(
                "the replacement answers",
                Duration::from_secs(10),
                || async { answering_pod(addr).await.ok().filter(|p| *p != pod) },
            )
            .await;
        }
        let after = eventually(
            "connections and tasks back where they were",
            Duration::from_secs(10),
            || async {
                let after = now();
                (after.0 <= before.0 && after.1 <= before.1).then_some(after)
            },
        )
        .await;
        println!(
            "after 20 replacements: {} connections, {} tasks",
            after.0, after.1
        );
        let key = ForwardKey::new("default", "my-app");
        assert_eq!(
            manager.view(&key).unwrap().status.state,
            ForwardState::Active
        );
        manager.stop_all().await;
        eventually(
            "no connection once the forward stopped",
            Duration::from_secs(10),
            || async { (faults.long_running_open() == 0).then_some(()) },
        )
        .await;
    });
}
