//! Sign-in costs, with the demo cluster's exec plugin (this binary's `demo-credential`): the
//! time from start to the first frame with a plugin that answers at once and one that takes two
//! seconds (the frame must not wait for it), the time to the terminal line for an interactive
//! one, and how many times the plugin runs in a minute of traffic with short-lived tokens.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use hasura_tui::demo::{DemoCluster, DemoExecPlugin, DemoOptions, KubeconfigAuth};

use super::demo::BIN;
use super::tmux::Tmux;

pub struct SignInFigures {
    /// Start to first frame: instant plugin, 2 s plugin (`interactiveMode: Never`).
    pub first_frame: (Duration, Duration),
    /// Start to `signing in to …` on the terminal, for a 2 s interactive plugin.
    pub interactive_line: Duration,
    /// Plugin runs, requests served, over the session.
    pub runs: usize,
    pub requests: u64,
    pub session: Duration,
}

fn write_kubeconfig(demo: &DemoCluster, dir: &Path, name: &str, plugin: DemoExecPlugin) -> PathBuf {
    let path = dir.join(name);
    demo.write_kubeconfig_with(&path, &KubeconfigAuth::Exec(plugin))
        .expect("kubeconfig");
    path
}

fn plugin(ttl: Duration, delay: Duration, interactive: bool, runs: &Path) -> DemoExecPlugin {
    DemoExecPlugin {
        command: BIN.into(),
        user: "admin".into(),
        ttl,
        delay,
        interactive,
        runs_file: Some(runs.to_path_buf()),
    }
}

/// From asking tmux to start the dashboard to its first frame (the log's timestamp).
fn first_frame(kubeconfig: &Path) -> Duration {
    let started = SystemTime::now();
    let tmux = Tmux::start(
        &format!(
            "env HASURA_TUI_LOG=info,hasura_tui::frames=debug {BIN} --kubeconfig {}",
            kubeconfig.display()
        ),
        160,
        45,
    );
    let log = tmux.home().join("state/hasura-tui/hasura-tui.log");
    let deadline = Instant::now() + Duration::from_secs(20);
    let frame = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if let Some(line) = text.lines().find(|l| l.contains("frame drawn")) {
            break super::dashboard::parse_rfc3339(line.split_whitespace().next().unwrap_or(""))
                .expect("a timestamp");
        }
        assert!(Instant::now() < deadline, "no frame in 20 s");
        std::thread::sleep(Duration::from_millis(2));
    };
    tmux.send(&["q"]);
    tmux.wait_exit(Duration::from_secs(20));
    frame.duration_since(started).unwrap_or_default()
}

pub async fn measure(session: Duration) -> SignInFigures {
    let demo = DemoCluster::start(DemoOptions::default())
        .await
        .expect("demo cluster");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let long = Duration::from_secs(600);
    let instant = write_kubeconfig(
        &demo,
        d,
        "instant.yaml",
        plugin(long, Duration::ZERO, false, &d.join("r1")),
    );
    let slow = write_kubeconfig(
        &demo,
        d,
        "slow.yaml",
        plugin(long, Duration::from_secs(2), false, &d.join("r2")),
    );
    let (fast_frame, slow_frame) =
        tokio::task::block_in_place(|| (first_frame(&instant), first_frame(&slow)));

    // An interactive plugin: the line on the terminal before the plugin's prompt.
    let interactive = write_kubeconfig(
        &demo,
        d,
        "interactive.yaml",
        plugin(long, Duration::from_secs(2), true, &d.join("r3")),
    );
    let interactive_line = tokio::task::block_in_place(|| {
        let started = Instant::now();
        let tmux = Tmux::start(
            &format!("{BIN} --kubeconfig {}", interactive.display()),
            160,
            45,
        );
        let deadline = started + Duration::from_secs(20);
        while !tmux.screen().contains("signing in to gram29") {
            assert!(Instant::now() < deadline, "no sign-in line");
            std::thread::sleep(Duration::from_millis(1));
        }
        started.elapsed()
    });

    // A session of traffic: a forward in the dashboard, a new connection every 100 ms (each a
    // port-forward request to the API server), 15 s tokens.
    let runs_file = d.join("runs");
    let ttl = Duration::from_secs(15);
    let busy = write_kubeconfig(
        &demo,
        d,
        "busy.yaml",
        plugin(ttl, Duration::ZERO, false, &runs_file),
    );
    let requests_before = demo.faults().request_counts();
    let tmux = tokio::task::block_in_place(|| {
        let tmux = Tmux::start(&format!("{BIN} --kubeconfig {}", busy.display()), 160, 45);
        tmux.wait_for("synced", Duration::from_secs(20), |s| {
            s.contains(" synced ")
        });
        tmux.send(&["Tab", "j", "f"]);
        tmux
    });
    let screen = tokio::task::block_in_place(|| {
        tmux.wait_for("the forward", Duration::from_secs(20), |s| {
            super::tmux::forward_address(s, "data").is_some()
        })
    });
    let addr = super::tmux::forward_address(&screen, "data").expect("forwarded");
    let started = Instant::now();
    while started.elapsed() < session {
        if let Ok(mut stream) = tokio::net::TcpStream::connect(addr).await {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let _ = stream
                .write_all(b"GET /session HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n")
                .await;
            let mut sink = Vec::new();
            let _ = stream.read_to_end(&mut sink).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let elapsed = started.elapsed();
    let after = demo.faults().request_counts();
    tokio::task::block_in_place(|| {
        tmux.send(&["q"]);
        tmux.wait_exit(Duration::from_secs(20));
    });
    let runs = std::fs::read_to_string(&runs_file)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("start "))
        .count();
    demo.shutdown().await;
    SignInFigures {
        first_frame: (fast_frame, slow_frame),
        interactive_line,
        runs,
        requests: (after.portforward + after.list + after.watch + after.get + after.other)
            - (requests_before.portforward
                + requests_before.list
                + requests_before.watch
                + requests_before.get
                + requests_before.other),
        session: elapsed,
    }
}
