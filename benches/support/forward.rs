//! Forward speed against an in-process demo cluster, over real TCP and HTTPS: connection set-up
//! (sequential connections, time to the first echoed byte), 1 GiB through one connection next to
//! the same transfer straight to the backend's listener, and many connections at once, checked
//! byte for byte.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hasura_tui::demo::{DemoCluster, DemoOptions};
use hasura_tui::forward::{ForwardManager, ForwardSpec};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::measure::percentile;
use super::versus::setup_times;

pub struct ForwardFigures {
    pub setup_p50: (Duration, Duration),
    pub setup_p99: (Duration, Duration),
    pub connections: usize,
    /// MiB/s through the forward and straight to the backend.
    pub throughput: (f64, f64),
    pub mib: usize,
    pub concurrent: usize,
    pub concurrent_mib: usize,
    pub concurrent_identical: usize,
    /// Aggregate MiB/s of the concurrent transfer (both directions counted once).
    pub concurrent_throughput: f64,
}

pub async fn measure(connections: usize, mib: usize, concurrent: usize) -> ForwardFigures {
    let demo = DemoCluster::start(DemoOptions::default())
        .await
        .expect("demo cluster");
    // The client as the product builds it (its HTTP stack sets TCP_NODELAY).
    let client = hasura_tui::config::connect_yaml(&demo.kubeconfig_yaml(), "demo.yaml", None)
        .await
        .expect("the demo's kubeconfig")
        .client;
    let mut forwards = ForwardManager::new(client);
    let mut spec = ForwardSpec::new("hasura", "postgres");
    spec.local_port = Some(0);
    let key = spec.key();
    forwards.start(spec);
    let forwarded = forwards
        .wait_started(&key)
        .await
        .and_then(|s| s.local)
        .expect("forward listening");
    let direct = demo
        .faults()
        .backend_address("hasura", "postgres-0", 5432)
        .await
        .expect("backend");

    // Warm up both paths (TLS session set-up, backend listener start).
    setup_times(forwarded, 20).await;
    setup_times(direct, 20).await;
    let through = setup_times(forwarded, connections).await;
    let straight = setup_times(direct, connections).await;

    let total = mib * 1024 * 1024;
    let direct_time = transfer(direct, total).await;
    let forward_time = transfer(forwarded, total).await;
    let rate = |d: Duration, bytes: usize| bytes as f64 / d.as_secs_f64() / (1024.0 * 1024.0);

    let each = 16 * 1024 * 1024;
    let started = Instant::now();
    let streams: Vec<_> = (0..concurrent)
        .map(|i| tokio::spawn(echo_checked(forwarded, each, i as u8)))
        .collect();
    let mut identical = 0;
    for stream in streams {
        if stream.await.unwrap_or(false) {
            identical += 1;
        }
    }
    let concurrent_time = started.elapsed();
    forwards.stop_all().await;
    ForwardFigures {
        setup_p50: (percentile(&through, 0.5), percentile(&straight, 0.5)),
        setup_p99: (percentile(&through, 0.99), percentile(&straight, 0.99)),
        connections,
        throughput: (rate(forward_time, total), rate(direct_time, total)),
        mib,
        concurrent,
        concurrent_mib: each / (1024 * 1024),
        concurrent_identical: identical,
        concurrent_throughput: rate(concurrent_time, each * concurrent),
    }
}

/// Pushes `total` bytes through an echo and reads them back; returns the elapsed time.
async fn transfer(addr: SocketAddr, total: usize) -> Duration {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut reader, mut writer) = stream.into_split();
    let started = Instant::now();
    let writing = tokio::spawn(async move {
        let chunk = vec![0x5au8; 256 * 1024];
        let mut sent = 0;
        while sent < total {
            let n = chunk.len().min(total - sent);
            writer.write_all(&chunk[..n]).await.expect("write");
            sent += n;
        }
        writer
    });
    let mut buf = vec![0u8; 256 * 1024];
    let mut received = 0;
    while received < total {
        let n = reader.read(&mut buf).await.expect("read");
        assert!(n > 0, "stream ended after {received} bytes");
        received += n;
    }
    let elapsed = started.elapsed();
    drop(writing.await);
    elapsed
}

/// Sends `total` bytes of a pattern seeded by `seed` and checks every byte that comes back.
async fn echo_checked(addr: SocketAddr, total: usize, seed: u8) -> bool {
    let byte = move |i: usize| (i as u8).wrapping_mul(31).wrapping_add(seed);
    let Ok(stream) = TcpStream::connect(addr).await else {
        return false;
    };
    let (mut reader, mut writer) = stream.into_split();
    let writing = tokio::spawn(async move {
        let mut chunk = vec![0u8; 64 * 1024];
        let mut sent = 0;
        while sent < total {
            let n = chunk.len().min(total - sent);
            for (j, b) in chunk[..n].iter_mut().enumerate() {
                *b = byte(sent + j);
            }
            if writer.write_all(&chunk[..n]).await.is_err() {
                return;
            }
            sent += n;
        }
        // Keep the write side open: kube-rs's v4 stream closes on a half-close.
        std::future::pending::<()>().await;
    });
    let mut buf = vec![0u8; 64 * 1024];
    let mut received = 0;
    let mut identical = true;
    while received < total {
        match reader.read(&mut buf).await {
            Ok(0) | Err(_) => {
                identical = false;
                break;
            }
            Ok(n) => {
                identical &= buf[..n]
                    .iter()
                    .enumerate()
                    .all(|(j, b)| *b == byte(received + j));
                received += n;
            }
        }
    }
    writing.abort();
    identical
}
