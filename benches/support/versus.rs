//! `hasura-tui port-forward` beside `kubectl port-forward`, both run as processes against the
//! same demo cluster process, on loopback and through the delaying proxy of `netem` (a laptop
//! 50 ms from its cluster). Each figure is measured the same way for both tools, and straight to
//! the backend's listener where that means something.

use std::io::BufRead;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::demo::{BIN, DemoProcess};
use super::measure::{self, percentile};
use super::netem::{DelayProxy, Shape};
use super::wan::{kubeconfig_via, server_addr};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tool {
    HasuraTui,
    Kubectl,
}

impl Tool {
    pub fn name(self) -> &'static str {
        match self {
            Tool::HasuraTui => "hasura-tui",
            Tool::Kubectl => "kubectl port-forward",
        }
    }
}

/// A forwarding process and where it listens.
pub struct Forwarder {
    child: Child,
    pub addr: SocketAddr,
}

impl Forwarder {
    /// `target` is a microservice of `hasura` (`postgres`, `data`); kubectl is given its pod.
    pub fn start(tool: Tool, kubeconfig: &Path, target: &str, pod: &str, port: u16) -> Self {
        let mut command = match tool {
            Tool::HasuraTui => {
                let free = std::net::TcpListener::bind("127.0.0.1:0")
                    .and_then(|l| l.local_addr())
                    .expect("a free port")
                    .port();
                let mut c = Command::new(BIN);
                c.arg("--kubeconfig")
                    .arg(kubeconfig)
                    .args(["port-forward", target, "-n", "hasura"])
                    .args(["--local-port", &free.to_string()])
                    .env("XDG_STATE_HOME", kubeconfig.parent().unwrap());
                c
            }
            Tool::Kubectl => {
                let mut c = Command::new("kubectl");
                c.arg("--kubeconfig")
                    .arg(kubeconfig)
                    .args(["port-forward", "-n", "hasura", &format!("pod/{pod}")])
                    .arg(format!(":{port}"));
                c
            }
        };
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the forwarder starts");
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        // Both print `Forwarding from 127.0.0.1:PORT -> …`.
        let addr = line
            .split_whitespace()
            .nth(2)
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("{} said {line:?}", tool.name()));
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        Forwarder { child, addr }
    }

    /// The forwarding program: the process, or the child a dispatcher (kubectl's) started.
    fn program(&self) -> u32 {
        let pid = self.child.id();
        measure::first_child(pid).unwrap_or(pid)
    }

    pub fn rss_kib(&self) -> u64 {
        measure::rss_kib(self.program())
    }

    pub fn peak_rss_kib(&self) -> u64 {
        measure::peak_rss_kib(self.program())
    }

    /// CPU time the process (and a child it may have started) has used so far.
    pub fn cpu(&self) -> Duration {
        let pid = self.child.id();
        measure::cpu_time(pid) + measure::first_child(pid).map_or(Duration::ZERO, measure::cpu_time)
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sequential connections, each until its first echoed byte; sorted.
pub async fn setup_times(addr: SocketAddr, count: usize) -> Vec<Duration> {
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
    times.sort();
    times
}

/// `total` bytes through an echo and back on one connection, checked; the time it took, or
/// `None` when the bytes differ.
pub async fn transfer(addr: SocketAddr, total: usize, seed: u8) -> Option<Duration> {
    let byte = move |i: usize| (i as u8).wrapping_mul(31).wrapping_add(seed);
    let stream = TcpStream::connect(addr).await.ok()?;
    stream.set_nodelay(true).ok();
    let (mut reader, mut writer) = stream.into_split();
    let started = Instant::now();
    let writing = tokio::spawn(async move {
        let mut chunk = vec![0u8; 256 * 1024];
        let mut sent = 0;
        while sent < total {
            let n = chunk.len().min(total - sent);
            for (j, b) in chunk[..n].iter_mut().enumerate() {
                *b = byte(sent + j);
            }
            if writer.write_all(&chunk[..n]).await.is_err() {
                return None;
            }
            sent += n;
        }
        Some(writer)
    });
    let mut buf = vec![0u8; 256 * 1024];
    let (mut received, mut identical) = (0, true);
    while received < total {
        match reader.read(&mut buf).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => {
                identical &= buf[..n]
                    .iter()
                    .enumerate()
                    .all(|(j, b)| *b == byte(received + j));
                received += n;
            }
        }
    }
    let elapsed = started.elapsed();
    drop(writing.await);
    identical.then_some(elapsed)
}

/// `count` connections at once, `each` bytes through each: (byte-identical, aggregate MiB/s).
pub async fn concurrent(addr: SocketAddr, count: usize, each: usize) -> (usize, f64) {
    let started = Instant::now();
    let tasks: Vec<_> = (0..count)
        .map(|i| tokio::spawn(transfer(addr, each, i as u8)))
        .collect();
    let mut identical = 0;
    for task in tasks {
        if matches!(task.await, Ok(Some(_))) {
            identical += 1;
        }
    }
    let rate = (count * each) as f64 / started.elapsed().as_secs_f64() / (1024.0 * 1024.0);
    (identical, rate)
}

/// An HTTP request sent and half-closed, the reply due `delay_ms` later: the bytes that came.
pub async fn half_closed(addr: SocketAddr, delay_ms: u64) -> usize {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let request =
        format!("GET /_demo/delay/{delay_ms} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.shutdown().await.unwrap();
    let mut reply = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut reply)).await;
    reply.len()
}

/// `count` HTTP GETs opened at once, as a browser loading a console does: time until every
/// one has its whole response.
pub async fn browser(addr: SocketAddr, count: usize) -> Duration {
    let started = Instant::now();
    let tasks: Vec<_> = (0..count)
        .map(|i| {
            tokio::spawn(async move {
                let mut stream = TcpStream::connect(addr).await.expect("connect");
                let request = format!(
                    "GET /console/asset/{i} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                );
                stream.write_all(request.as_bytes()).await.unwrap();
                let reply = read_response(&mut stream).await;
                assert!(reply.starts_with(b"HTTP/1.1 200"), "reply {i}");
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("a reply");
    }
    started.elapsed()
}

/// One HTTP response, complete by its Content-Length as a browser reads it (the end of the
/// connection can come later: containerd waits up to 1 s for the client's side to end too).
async fn read_response(stream: &mut TcpStream) -> Vec<u8> {
    let mut reply = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = stream.read(&mut buf).await.expect("read");
        assert!(n > 0, "the connection ended before the response did");
        reply.extend_from_slice(&buf[..n]);
        let Some(head_end) = reply.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&reply[..head_end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .expect("a Content-Length");
        if reply.len() >= head_end + 4 + length {
            return reply;
        }
    }
}

/// The kubeconfig of `demo` through a link of `shape`, and the proxy (kept alive by the caller).
pub async fn via(demo: &DemoProcess, shape: Shape, name: &str) -> (DelayProxy, PathBuf) {
    let proxy = DelayProxy::start(server_addr(&demo.kubeconfig), shape).await;
    let kubeconfig = kubeconfig_via(&demo.kubeconfig, proxy.addr, "", name);
    (proxy, kubeconfig)
}

/// Figures for one tool, all against the same demo cluster.
#[derive(Default, Clone)]
pub struct ToolFigures {
    pub setup_p50: Duration,
    pub setup_p99: Duration,
    pub setup_wan_p50: Duration,
    /// MiB/s through one connection, loopback, and the forwarder's CPU per GiB each way.
    pub one_connection: f64,
    pub cpu_per_gib: Duration,
    pub wan_throughput: f64,
    pub concurrent_identical: usize,
    pub concurrent_rate: f64,
    pub half_closed_slow: usize,
    pub half_closed_quick: usize,
    pub browser_wan: Duration,
}

pub struct Versus {
    pub connections: usize,
    pub mib: usize,
    pub wan_mib: usize,
    pub concurrent: usize,
    pub concurrent_mib: usize,
    pub browsers: usize,
    pub wan: Shape,
    pub wan_connections: usize,
    pub ours: ToolFigures,
    pub kubectl: ToolFigures,
    pub direct_setup_p50: Duration,
    pub direct_setup_p99: Duration,
    pub direct_one_connection: f64,
}

pub async fn measure(connections: usize, mib: usize, wan_mib: usize) -> Versus {
    let demo = DemoProcess::start(0).await;
    let direct = {
        let request = http::Request::post("/demo/admin/backend")
            .body(br#"{"namespace":"hasura","pod":"postgres-0","port":5432}"#.to_vec())
            .unwrap();
        let text = demo.client.request_text(request).await.expect("backend");
        let v: serde_json::Value = serde_json::from_str(&text).expect("json");
        v["address"]
            .as_str()
            .expect("address")
            .parse::<SocketAddr>()
            .unwrap()
    };
    let wan = Shape {
        delay: Duration::from_millis(25),
        bits_per_sec: 200_000_000,
    };
    let mut v = Versus {
        connections,
        mib,
        wan_mib,
        concurrent: 64,
        concurrent_mib: 16,
        browsers: 30,
        wan,
        wan_connections: 50,
        ours: ToolFigures::default(),
        kubectl: ToolFigures::default(),
        direct_setup_p50: Duration::ZERO,
        direct_setup_p99: Duration::ZERO,
        direct_one_connection: 0.0,
    };
    setup_times(direct, 20).await;
    let straight = setup_times(direct, connections).await;
    v.direct_setup_p50 = percentile(&straight, 0.5);
    v.direct_setup_p99 = percentile(&straight, 0.99);
    let total = mib << 20;
    let rate = |d: Duration, bytes: usize| bytes as f64 / d.as_secs_f64() / (1024.0 * 1024.0);
    v.direct_one_connection = rate(transfer(direct, total, 7).await.expect("direct"), total);

    let data_pods = pods_of(&demo, "data").await;
    for tool in [Tool::HasuraTui, Tool::Kubectl] {
        let mut f = ToolFigures::default();
        // Loopback.
        let postgres = Forwarder::start(tool, &demo.kubeconfig, "postgres", "postgres-0", 5432);
        setup_times(postgres.addr, 20).await;
        let times = setup_times(postgres.addr, connections).await;
        f.setup_p50 = percentile(&times, 0.5);
        f.setup_p99 = percentile(&times, 0.99);
        let cpu = postgres.cpu();
        let took = transfer(postgres.addr, total, 3).await.expect("identical");
        f.one_connection = rate(took, total);
        f.cpu_per_gib = (postgres.cpu() - cpu).mul_f64(1024.0 / mib as f64);
        (f.concurrent_identical, f.concurrent_rate) =
            concurrent(postgres.addr, v.concurrent, v.concurrent_mib << 20).await;
        drop(postgres);
        let data = Forwarder::start(tool, &demo.kubeconfig, "data", &data_pods[0], 8080);
        f.half_closed_quick = half_closed(data.addr, 500).await;
        f.half_closed_slow = half_closed(data.addr, 5000).await;
        drop(data);

        // 50 ms away.
        let (_proxy, kubeconfig) = via(&demo, wan, &format!("wan-{}.yaml", tool as u8)).await;
        let postgres = Forwarder::start(tool, &kubeconfig, "postgres", "postgres-0", 5432);
        setup_times(postgres.addr, 3).await;
        let times = setup_times(postgres.addr, v.wan_connections).await;
        f.setup_wan_p50 = percentile(&times, 0.5);
        let wan_total = wan_mib << 20;
        let took = transfer(postgres.addr, wan_total, 5)
            .await
            .expect("identical");
        f.wan_throughput = rate(took, wan_total);
        drop(postgres);
        let data = Forwarder::start(tool, &kubeconfig, "data", &data_pods[0], 8080);
        browser(data.addr, 3).await;
        f.browser_wan = browser(data.addr, v.browsers).await;
        drop(data);
        match tool {
            Tool::HasuraTui => v.ours = f,
            Tool::Kubectl => v.kubectl = f,
        }
    }
    v
}

pub async fn pods_of(demo: &DemoProcess, microservice: &str) -> Vec<String> {
    let pods: kube::Api<k8s_openapi::api::core::v1::Pod> =
        kube::Api::namespaced(demo.client.clone(), "hasura");
    let list = pods.list(&Default::default()).await.expect("pods");
    let prefix = format!("{microservice}-");
    let names: Vec<String> = list
        .items
        .into_iter()
        .filter_map(|p| p.metadata.name)
        .filter(|n| n.starts_with(&prefix))
        .collect();
    assert!(!names.is_empty(), "no pods for {microservice}");
    names
}
