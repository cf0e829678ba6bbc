//! The dashboard on the testbed, under tmux.

use std::time::Duration;

use crate::common;
use crate::common::testbed::testbed;
use crate::{BIN, eventually, namespace_with_web, running_pods};

/// The dashboard on the testbed under tmux, its forwards on `transport` (the test switch, as
/// the headless drills use it): it syncs, `kubectl scale` shows in the row, `f` forwards, and
/// after `kubectl delete pod` the forward reaches the replacement.
fn dashboard_follows_kubectl(transport: &str, ns: &str) {
    let tb = testbed();
    namespace_with_web(tb, ns);
    let tmux = common::tmux::Tmux::start(
        &format!(
            "env HASURA_TUI_FORWARD_TRANSPORT={transport} {BIN} --kubeconfig {} --user-namespace {ns}",
            tb.admin.display()
        ),
        140,
        30,
    );
    let wait = Duration::from_secs(30);
    tmux.wait_for("synced, with web Running", wait, |s| {
        s.contains("synced")
            && s.lines()
                .any(|l| l.starts_with("web ") && l.contains("Running"))
    });
    tb.kubectl(&["-n", ns, "scale", "deployment/web", "--replicas=3"]);
    tmux.wait_for("web at 3/3", wait, |s| {
        s.lines()
            .any(|l| l.starts_with("web ") && l.contains("3/3"))
    });
    tb.kubectl(&["-n", ns, "scale", "deployment/web", "--replicas=1"]);
    tmux.wait_for("web back at 1/1", wait, |s| {
        s.lines()
            .any(|l| l.starts_with("web ") && l.contains("1/1"))
    });
    let before = eventually("one web pod", || {
        let pods = running_pods(tb, ns, "web");
        (pods.len() == 1).then(|| pods[0].clone())
    });
    // The Custom table is first and web its last row but one (db, web): select it and forward.
    tmux.send(&["G"]);
    tmux.send(&["f"]);
    let screen = tmux.wait_for("web forwarded", wait, |s| {
        common::tmux::forward_address(s, "web").is_some()
    });
    let addr = common::tmux::forward_address(&screen, "web").unwrap();
    let pod_behind = |addr| {
        let reply = common::http_get(addr, "/").ok()?;
        let body = &reply[reply.find("\r\n\r\n")? + 4..];
        let echo: serde_json::Value = serde_json::from_str(body).ok()?;
        echo["pod"].as_str().map(str::to_string)
    };
    assert_eq!(pod_behind(addr), Some(before.clone()));
    tb.kubectl(&["-n", ns, "delete", "pod", &before, "--wait=false"]);
    eventually("the forward reaching the replacement", || {
        pod_behind(addr).filter(|p| *p != before)
    });
    tmux.send(&["q"]);
    assert_eq!(tmux.wait_exit(Duration::from_secs(10)), 0);
}

#[test]
fn the_dashboard_follows_kubectl_forwarding_over_spdy_in_websocket() {
    dashboard_follows_kubectl("spdy-ws", "t-dash-spdyws");
}

#[test]
fn the_dashboard_follows_kubectl_forwarding_over_legacy_spdy() {
    dashboard_follows_kubectl("spdy", "t-dash-spdy");
}

#[test]
fn the_dashboard_follows_kubectl_forwarding_over_websocket_v4() {
    dashboard_follows_kubectl("v4", "t-dash-v4");
}
