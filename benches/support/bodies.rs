//! The request log's body store under load: the release dashboard (under tmux) with `data`
//! forwarded in gateway mode takes N requests of 1 MiB up and 1 MiB back (`/_demo/echo-body`),
//! and its resident memory is read before, after and at its peak; beside it, `kubectl
//! port-forward` carrying the same traffic, which keeps nothing.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::dashboard::Dashboard;
use super::demo::DemoProcess;
use super::measure;
use super::tmux::forward_address;
use super::versus::{Forwarder, Tool, pods_of};

pub struct Bodies {
    pub requests: usize,
    pub took: Duration,
    pub before_kib: u64,
    pub after_kib: u64,
    pub peak_kib: u64,
    /// With the request log pane open (it holds a copy of the entries, sharing their bodies).
    pub pane_open_kib: u64,
    pub kubectl_before_kib: u64,
    pub kubectl_after_kib: u64,
    pub kubectl_peak_kib: u64,
}

/// `requests` POSTs of 1 MiB on one keep-alive connection, each answered with the same 1 MiB.
async fn traffic(addr: SocketAddr, requests: usize) -> Duration {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    let body = Bytes::from(vec![b'x'; 1 << 20]);
    let started = Instant::now();
    for _ in 0..requests {
        let request = hyper::Request::post("/_demo/echo-body")
            .header("host", "localhost")
            .header("content-type", "text/plain")
            .body(Full::new(body.clone()))
            .unwrap();
        sender.ready().await.expect("ready");
        let response = sender.send_request(request).await.expect("a response");
        let got = response.into_body().collect().await.expect("the body");
        assert_eq!(got.to_bytes().len(), 1 << 20, "the echo of 1 MiB");
    }
    started.elapsed()
}

pub async fn measure(requests: usize) -> Bodies {
    let demo = DemoProcess::start(0).await;
    let (dashboard, _) = Dashboard::start(&demo.kubeconfig, 1);
    let tmux = &dashboard.tmux;
    tmux.send(&["Tab", "j", "f"]);
    let screen = tmux.wait_for("data's forward", Duration::from_secs(20), |s| {
        forward_address(s, "data").is_some()
    });
    let addr = forward_address(&screen, "data").expect("an address");
    tmux.send(&["a", "a"]);
    tmux.wait_for("as admin", Duration::from_secs(10), |s| {
        s.lines()
            .any(|l| l.starts_with("data ") && l.contains(" admin "))
    });
    // A few requests first, so what the first ones allocate once is in the baseline.
    traffic(addr, 5).await;
    let before_kib = measure::rss_kib(dashboard.pid);
    let took = traffic(addr, requests).await;
    let after_kib = measure::rss_kib(dashboard.pid);
    let peak_kib = dashboard.peak_rss_kib();
    tmux.send(&["r"]);
    tmux.wait_for("the request log", Duration::from_secs(10), |s| {
        s.contains("requests: data.hasura") && s.contains("/_demo/echo-body")
    });
    let pane_open_kib = measure::rss_kib(dashboard.pid);
    tmux.send(&["Escape"]);
    dashboard.quit();

    let pod = pods_of(&demo, "data").await.remove(0);
    let kubectl = Forwarder::start(Tool::Kubectl, &demo.kubeconfig, "data", &pod, 8080);
    traffic(kubectl.addr, 5).await;
    let kubectl_before_kib = kubectl.rss_kib();
    traffic(kubectl.addr, requests).await;
    let kubectl_after_kib = kubectl.rss_kib();
    let kubectl_peak_kib = kubectl.peak_rss_kib();
    Bodies {
        requests,
        took,
        before_kib,
        after_kib,
        peak_kib,
        pane_open_kib,
        kubectl_before_kib,
        kubectl_after_kib,
        kubectl_peak_kib,
    }
}
