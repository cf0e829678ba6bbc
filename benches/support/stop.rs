//! Key to frame while forwards stop: ten forwards, each with a connection stuck waiting on a
//! stalled API server (the worst case for stopping: nothing closes by itself), then `f` on each
//! row. The event loop must draw the `stopping` row at once, whatever the forwards still do.

use std::time::{Duration, SystemTime};

use super::dashboard::Dashboard;
use super::demo::DemoProcess;

/// Rows of the seed's Hasura table, top to bottom.
const HASURA_ROWS: usize = 10;

/// Each `f`'s delay from the key to the next frame drawn, sorted.
pub async fn key_to_frame(demo: &DemoProcess) -> Vec<Duration> {
    let (dashboard, _) = Dashboard::start(&demo.kubeconfig, 1);
    let tmux = &dashboard.tmux;
    tmux.send(&["Tab"]);
    for i in 0..HASURA_ROWS {
        tmux.send(&["f"]);
        if i + 1 < HASURA_ROWS {
            tmux.send(&["j"]);
        }
    }
    let forwards = wait_for(&dashboard, "ten forwards", |s| {
        s.contains(&format!("{HASURA_ROWS} forwards"))
            && s.lines().filter(|l| l.contains(" ▲0 ▼0")).count() >= HASURA_ROWS
    });
    let addresses: Vec<std::net::SocketAddr> = forwards
        .lines()
        .filter_map(|l| {
            let word = l.split_whitespace().find(|w| w.starts_with(':'))?;
            let port: u16 = word[1..].parse().ok()?;
            Some(([127, 0, 0, 1], port).into())
        })
        .collect();
    assert_eq!(addresses.len(), HASURA_ROWS, "{forwards}");
    demo.admin("stall", r#"{"on":true}"#).await;
    // A connection to each forward: each waits for a port-forward stream that never comes.
    let mut stuck = Vec::new();
    for addr in &addresses {
        stuck.push(
            tokio::net::TcpStream::connect(addr)
                .await
                .expect("the forward accepts"),
        );
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    tmux.send(&["g"]);
    let mut delays = Vec::new();
    for i in 0..HASURA_ROWS {
        let drawn = dashboard.frames().len();
        let pressed = SystemTime::now();
        tmux.send(&["f"]);
        let frames = wait_frames(&dashboard, drawn + 1);
        let first = frames
            .iter()
            .skip(drawn)
            .map(|(t, _)| *t)
            .find(|t| *t >= pressed)
            .unwrap_or(frames[drawn].0);
        delays.push(first.duration_since(pressed).unwrap_or_default());
        if i + 1 < HASURA_ROWS {
            let drawn = dashboard.frames().len();
            tmux.send(&["j"]);
            wait_frames(&dashboard, drawn + 1);
        }
    }
    wait_for(&dashboard, "every forward stopped", |s| {
        s.contains("0 forwards")
    });
    demo.admin("stall", r#"{"on":false}"#).await;
    drop(stuck);
    dashboard.quit();
    delays.sort();
    delays
}

fn wait_frames(dashboard: &Dashboard, at_least: usize) -> Vec<(SystemTime, u64)> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let frames = dashboard.frames();
        if frames.len() >= at_least {
            return frames;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no frame after the key"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn wait_for(dashboard: &Dashboard, what: &str, check: impl Fn(&str) -> bool) -> String {
    dashboard
        .tmux
        .wait_for(what, Duration::from_secs(20), check)
}
