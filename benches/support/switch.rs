//! Moving between clusters in the dashboard: two demo-cluster processes (N microservices each,
//! the demo project's `dev` and `staging`) in one `$KUBECONFIG`, the release dashboard under
//! tmux. Measures the time from `Enter` in the picker to the other cluster's full, synced table,
//! beside that cluster's cold start (a dashboard started on it), and what the cluster left costs
//! while away (API requests, watches open).

use std::time::{Duration, Instant};

use super::dashboard::Dashboard;
use super::demo::{BIN, DemoProcess};
use super::measure::{self, percentile};
use super::tmux::Tmux;

pub struct Switch {
    pub scale: usize,
    /// Dashboard started on staging alone: start to a full table, median.
    pub cold: Duration,
    /// `Enter` in the picker to staging's full table, median of the switches.
    pub to_staging: Duration,
    /// The same back to dev.
    pub to_dev: Duration,
    /// Requests to dev while the dashboard showed staging for `idle`.
    pub away_requests: u64,
    pub idle: Duration,
    /// Watches open on dev before leaving it, and while away (its forward's follower only).
    pub watches_before: u64,
    pub watches_away: u64,
    pub peak_rss_kib: u64,
}

const PROJECT: &str = "\
- {name: gram29, alias: dev, kubeContext: gram29}
- {name: stg41, alias: staging, kubeContext: stg41}
";

/// Waits for a screen that shows `want` and a synced header; the time it took from `since`.
fn until_shown(tmux: &Tmux, since: Instant, want: &[&str]) -> Duration {
    let deadline = since + Duration::from_secs(120);
    loop {
        let screen = tmux.screen();
        if want.iter().all(|w| screen.contains(w)) && screen.contains(" synced ") {
            return since.elapsed();
        }
        assert!(
            Instant::now() < deadline,
            "not shown after 120 s:\n{screen}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn switch_to(tmux: &Tmux, filter: &str, want: &[&str]) -> Duration {
    tmux.send(&["C"]);
    until_on_screen(tmux, "clusters (type to filter");
    tmux.type_text(filter);
    // The filter drawn: the Enter that follows is the one measured.
    until_on_screen(tmux, &format!("clusters (type to filter: {filter}"));
    let pressed = Instant::now();
    tmux.send(&["Enter"]);
    until_shown(tmux, pressed, want)
}

fn until_on_screen(tmux: &Tmux, text: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !tmux.screen().contains(text) {
        assert!(Instant::now() < deadline, "{text:?} not on screen");
        std::thread::sleep(Duration::from_millis(5));
    }
}

pub async fn measure(scale: usize, idle: Duration, rounds: usize) -> Switch {
    let (dev, staging) = tokio::join!(
        DemoProcess::start(scale),
        DemoProcess::start_named(scale, "stg41")
    );
    let rows = format!("Custom microservices ({})", scale + 1);
    let mut colds = Vec::new();
    for _ in 0..3 {
        let (dashboard, took) = Dashboard::start(&staging.kubeconfig, scale + 1);
        colds.push(took);
        dashboard.quit();
    }
    colds.sort();

    let project = tempfile::tempdir().unwrap();
    std::fs::write(project.path().join("clusters.yaml"), PROJECT).unwrap();
    let kubeconfig = format!(
        "{}:{}",
        dev.kubeconfig.display(),
        staging.kubeconfig.display()
    );
    let tmux = Tmux::start(
        &format!(
            "cd {} && env KUBECONFIG={kubeconfig} {BIN}",
            project.path().display()
        ),
        160,
        45,
    );
    until_shown(&tmux, Instant::now(), &["dev (context gram29)", &rows]);
    // A forward on dev, which keeps following its pods while dev is away.
    tmux.send(&["Tab", "j", "f"]);
    tmux.wait_for("dev's data forward", Duration::from_secs(20), |s| {
        super::tmux::forward_address(s, "data").is_some()
    });
    let watches_before = dev.watches_open().await;
    let (mut to_staging, mut to_dev) = (Vec::new(), Vec::new());
    let (mut away_requests, mut watches_away) = (0, 0);
    for round in 0..rounds {
        to_staging.push(switch_to(
            &tmux,
            "staging",
            &["staging (context stg41)", &rows],
        ));
        if round == 0 {
            // Once dev's table watches are closed (only the forward's follower stays), count
            // what dev is asked while away.
            let deadline = Instant::now() + Duration::from_secs(10);
            while dev.watches_open().await > 1 && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let before = dev.requests().await;
            std::thread::sleep(idle);
            // The count itself is one request to dev (the admin path is not counted).
            away_requests = dev.requests().await - before;
            watches_away = dev.watches_open().await;
        }
        to_dev.push(switch_to(&tmux, "dev", &["dev (context gram29)", &rows]));
    }
    let shell: u32 = tmux.display("#{pane_pid}").parse().expect("pane pid");
    let pid = measure::first_child(shell).expect("the dashboard");
    let peak_rss_kib = measure::peak_rss_kib(pid);
    tmux.send(&["q"]);
    tmux.wait_exit(Duration::from_secs(20));
    to_staging.sort();
    to_dev.sort();
    Switch {
        scale,
        cold: percentile(&colds, 0.5),
        to_staging: percentile(&to_staging, 0.5),
        to_dev: percentile(&to_dev, 0.5),
        away_requests,
        idle,
        watches_before,
        watches_away,
        peak_rss_kib,
    }
}
