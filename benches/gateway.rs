//! What gateway mode costs per request: 1,000 keep-alive GETs on one connection to the demo
//! cluster's `data` echo, straight to the backend's listener, through a plain forward, and
//! through a forward in gateway mode (`anonymous`). Prints a markdown table; asserts nothing.
//!
//! Run: `cargo bench --bench gateway` (count: GATEWAY_BENCH_REQUESTS).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hasura_tui::demo::{DemoCluster, DemoOptions};
use hasura_tui::forward::{ForwardManager, ForwardSpec, GatewayIdentity};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Per-request times of `count` sequential GETs on one keep-alive connection (after a warm-up).
async fn request_times(addr: SocketAddr, count: usize) -> Vec<Duration> {
    let stream = TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).ok();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    let mut times = Vec::with_capacity(count);
    for i in 0..count + 50 {
        let request = hyper::Request::get("/v1/version")
            .header("host", "localhost")
            .body(Empty::<Bytes>::new())
            .unwrap();
        let started = Instant::now();
        sender.ready().await.expect("ready");
        let response = sender.send_request(request).await.expect("response");
        response.into_body().collect().await.expect("body");
        if i >= 50 {
            times.push(started.elapsed());
        }
    }
    times.sort();
    times
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn us(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

async fn start(forwards: &mut ForwardManager, gateway: Option<GatewayIdentity>) -> SocketAddr {
    let mut spec = ForwardSpec::new("hasura", "data");
    spec.local_port = Some(0);
    spec.gateway = gateway;
    let key = spec.key();
    forwards.start(spec);
    forwards
        .wait_started(&key)
        .await
        .and_then(|s| s.local)
        .expect("forward listening")
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let count = std::env::var("GATEWAY_BENCH_REQUESTS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1000);
        let demo = DemoCluster::start(DemoOptions::default())
            .await
            .expect("demo cluster");
        let kubeconfig =
            kube::config::Kubeconfig::from_yaml(&demo.kubeconfig_yaml()).expect("kubeconfig");
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
            .await
            .expect("config");
        let client = kube::Client::try_from(config).expect("client");
        // Two managers: one forward each, both to `data`.
        let mut plain = ForwardManager::new(client.clone());
        let mut gateway = ForwardManager::new(client);
        let plain_addr = start(&mut plain, None).await;
        let gateway_addr = start(&mut gateway, Some(GatewayIdentity::anonymous())).await;
        let pod = demo.faults().live_pods("hasura", "data").expect("pods")[0].clone();
        let direct = demo
            .faults()
            .backend_address("hasura", &pod, 8080)
            .await
            .expect("backend");

        let direct_times = request_times(direct, count).await;
        let plain_times = request_times(plain_addr, count).await;
        let gateway_times = request_times(gateway_addr, count).await;
        let p50 = |t: &[Duration]| percentile(t, 0.5);
        println!("| {count} keep-alive GETs to data | p50 | p99 |");
        println!("|---|---|---|");
        for (name, times) in [
            ("straight to the backend", &direct_times),
            ("plain forward", &plain_times),
            ("gateway mode (anonymous)", &gateway_times),
        ] {
            println!(
                "| {name} | {} | {} |",
                us(p50(times)),
                us(percentile(times, 0.99))
            );
        }
        let extra = p50(&gateway_times).as_secs_f64() - p50(&plain_times).as_secs_f64();
        println!(
            "\ngateway mode adds {:.0} µs per request at the median over a plain forward",
            extra * 1e6
        );
        plain.stop_all().await;
        gateway.stop_all().await;
    });
}
