//! Forward speed, measured against the embedded demo cluster over real TCP and HTTPS:
//! connection set-up through a forward (1,000 sequential connections, time to the first echoed
//! byte), and 1 GiB through one forwarded connection next to the same transfer straight to the
//! backend's listener. Prints a markdown table; asserts nothing (our machines are shared).
//!
//! Run: `cargo bench --bench forward` (sizes: FORWARD_BENCH_CONNECTIONS, FORWARD_BENCH_MIB).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hasura_tui::demo::{DemoCluster, DemoOptions};
use hasura_tui::forward::{ForwardManager, ForwardSpec};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn setup_times(addr: SocketAddr, count: usize) -> Vec<Duration> {
    let mut times = Vec::with_capacity(count);
    for _ in 0..count {
        let started = Instant::now();
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).ok();
        stream.write_all(b"x").await.expect("write");
        let mut byte = [0u8; 1];
        stream.read_exact(&mut byte).await.expect("echo");
        times.push(started.elapsed());
    }
    times
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

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let connections = env_or("FORWARD_BENCH_CONNECTIONS", 1000);
        let mib = env_or("FORWARD_BENCH_MIB", 1024);
        let demo = DemoCluster::start(DemoOptions::default()).await.expect("demo cluster");
        let kubeconfig = kube::config::Kubeconfig::from_yaml(&demo.kubeconfig_yaml()).expect("kubeconfig");
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await.expect("config");
        let client = kube::Client::try_from(config).expect("client");
        let mut forwards = ForwardManager::new(client);
        let mut spec = ForwardSpec::new("hasura", "postgres");
        spec.local_port = Some(0);
        let key = spec.key();
        forwards.start(spec).await;
        let forwarded = forwards.wait_started(&key).await.and_then(|s| s.local).expect("forward listening");
        let direct = demo.faults().backend_address("hasura", "postgres-0", 5432).await.expect("backend");

        // Warm up both paths (TLS session set-up, backend listener start).
        setup_times(forwarded, 20).await;
        setup_times(direct, 20).await;
        let mut through = setup_times(forwarded, connections).await;
        let mut straight = setup_times(direct, connections).await;
        through.sort();
        straight.sort();

        let total = mib * 1024 * 1024;
        let direct_time = transfer(direct, total).await;
        let forward_time = transfer(forwarded, total).await;
        let rate = |d: Duration| total as f64 / d.as_secs_f64() / (1024.0 * 1024.0);

        println!("| figure | through the forward | straight to the backend | ratio |");
        println!("|---|---|---|---|");
        println!(
            "| connection set-up p50 ({connections} sequential) | {} | {} | {:.1}x |",
            ms(percentile(&through, 0.5)),
            ms(percentile(&straight, 0.5)),
            percentile(&through, 0.5).as_secs_f64() / percentile(&straight, 0.5).as_secs_f64()
        );
        println!(
            "| connection set-up p99 | {} | {} | {:.1}x |",
            ms(percentile(&through, 0.99)),
            ms(percentile(&straight, 0.99)),
            percentile(&through, 0.99).as_secs_f64() / percentile(&straight, 0.99).as_secs_f64()
        );
        println!(
            "| {mib} MiB echoed through one connection | {:.2} s ({:.0} MiB/s) | {:.2} s ({:.0} MiB/s) | {:.2} of direct |",
            forward_time.as_secs_f64(),
            rate(forward_time),
            direct_time.as_secs_f64(),
            rate(direct_time),
            rate(forward_time) / rate(direct_time)
        );
        forwards.stop_all().await;
    });
}
