//! The cluster over a laptop-to-cloud link (the delaying proxy of `netem`): bytes on the wire
//! for `list -o json` with gzip and without, and the dashboard's start to a full table next to
//! kubectl reading the same objects through the same link, against the physical limit (the
//! compressed bytes over the bandwidth, plus the round trips no client can avoid: TCP, TLS and
//! the first request).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::dashboard::Dashboard;
use super::demo::{BIN, DemoProcess};
use super::measure;
use super::netem::{DelayProxy, Shape};

/// The kubeconfig with its server moved to `addr`, and `extra` added to the cluster entry.
pub fn kubeconfig_via(
    original: &Path,
    addr: std::net::SocketAddr,
    extra: &str,
    name: &str,
) -> PathBuf {
    let text = std::fs::read_to_string(original).expect("kubeconfig");
    let mut out = String::new();
    for line in text.lines() {
        if let Some(indent) = line.strip_suffix(line.trim_start())
            && line.trim_start().starts_with("server: ")
        {
            out.push_str(&format!("{indent}server: https://{addr}\n"));
            if !extra.is_empty() {
                out.push_str(&format!("{indent}{extra}\n"));
            }
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    let path = original.with_file_name(name);
    std::fs::write(&path, out).expect("write kubeconfig");
    path
}

/// Where the demo listens, from its kubeconfig.
pub fn server_addr(kubeconfig: &Path) -> std::net::SocketAddr {
    let text = std::fs::read_to_string(kubeconfig).expect("kubeconfig");
    text.lines()
        .find_map(|l| l.trim().strip_prefix("server: https://"))
        .and_then(|a| a.parse().ok())
        .expect("a server address")
}

/// `list -o json` through a link of `shape`; the bytes that came down.
pub async fn list_bytes(demo: &DemoProcess, shape: Shape, compressed: bool) -> u64 {
    let proxy = DelayProxy::start(server_addr(&demo.kubeconfig), shape).await;
    let extra = if compressed {
        ""
    } else {
        "disable-compression: true"
    };
    let kubeconfig = kubeconfig_via(&demo.kubeconfig, proxy.addr, extra, "via-proxy.yaml");
    let usage = tokio::task::block_in_place(|| {
        measure::run(
            Command::new(BIN)
                .arg("--kubeconfig")
                .arg(&kubeconfig)
                .args(["list", "-o", "json"]),
        )
    });
    assert!(usage.success, "list through the proxy failed");
    proxy.bytes().1
}

pub struct WanStart {
    pub dashboard: Duration,
    pub kubectl: Duration,
    /// Compressed bytes over the bandwidth, plus the unavoidable round trips.
    pub limit: Duration,
    pub bytes_down: u64,
}

/// Start to a full table at `scale` over `shape`, beside kubectl's read of the same objects.
pub async fn start(demo: &DemoProcess, scale: usize, shape: Shape) -> WanStart {
    let proxy = DelayProxy::start(server_addr(&demo.kubeconfig), shape).await;
    let kubeconfig = kubeconfig_via(&demo.kubeconfig, proxy.addr, "", "wan.yaml");
    let (dashboard, to_full) =
        tokio::task::block_in_place(|| Dashboard::start(&kubeconfig, scale + 1));
    let bytes_down = proxy.bytes().1;
    tokio::task::block_in_place(|| dashboard.quit());
    drop(proxy);
    let proxy = DelayProxy::start(server_addr(&demo.kubeconfig), shape).await;
    let kubeconfig = kubeconfig_via(&demo.kubeconfig, proxy.addr, "", "wan-kubectl.yaml");
    let kubectl = tokio::task::block_in_place(|| {
        measure::run(
            Command::new("kubectl")
                .arg("--kubeconfig")
                .arg(&kubeconfig)
                .args([
                    "get",
                    "deploy,statefulset,svc,endpoints,pods",
                    "-n",
                    "default",
                    "-o",
                    "json",
                ]),
        )
    });
    assert!(kubectl.success, "kubectl through the proxy failed");
    let on_wire = Duration::from_secs_f64(bytes_down as f64 * 8.0 / shape.bits_per_sec as f64);
    // TCP handshake, TLS 1.3 handshake, then the lists (sent together) answered.
    let limit = on_wire + shape.rtt() * 3;
    WanStart {
        dashboard: to_full,
        kubectl: kubectl.wall,
        limit,
        bytes_down,
    }
}
