//! The detail view (`d`) opened on a custom microservice of the scaled demo: time from the key
//! to a complete view (pods and events listed, not `loading…`), the API requests that took, and
//! the cost of leaving it open (CPU, frames, requests) while nothing changes.

use std::time::{Duration, Instant};

use super::dashboard::Dashboard;
use super::demo::DemoProcess;

pub struct DetailFigures {
    pub to_complete: Duration,
    pub requests_to_open: u64,
    pub idle_cpu: Duration,
    pub idle_frames: usize,
    pub idle_requests: u64,
    pub idle_secs: u64,
}

/// Whether the screen shows the detail with its pods and events read.
fn complete(screen: &str) -> bool {
    let lines: Vec<&str> = screen.lines().collect();
    let after = |heading: &str| {
        lines
            .iter()
            .position(|l| l.starts_with(heading))
            .and_then(|i| lines.get(i + 1))
            .is_some_and(|next| !next.contains("loading"))
    };
    screen.contains("Deployment default/") && after("Pods (") && after("Events (newest first)")
}

pub async fn measure(demo: &DemoProcess, dashboard: &Dashboard, idle_secs: u64) -> DetailFigures {
    let tmux = &dashboard.tmux;
    // The custom table has focus and its first row selected (my-app, a Deployment with one
    // pod, like the scaled ones), so no key is needed before `d`.
    let requests0 = demo.requests().await;
    let started = Instant::now();
    tmux.send(&["d"]);
    let deadline = started + Duration::from_secs(30);
    loop {
        if complete(&tmux.screen()) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no complete detail view:\n{}",
            tmux.screen()
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    let to_complete = started.elapsed();
    // The view is complete when every list is read; each watch follows its list at once.
    // Count until the requests stop: two readings 100 ms apart alike (the admin path's own
    // requests are not counted).
    let quiet_deadline = Instant::now() + Duration::from_secs(10);
    let mut last = demo.requests().await;
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = demo.requests().await;
        let quiet = now == last;
        last = now;
        if quiet || Instant::now() > quiet_deadline {
            break;
        }
    }
    let requests_to_open = last - requests0;

    let (cpu0, frames0, requests0) = (
        dashboard.cpu_time(),
        dashboard.frames().len(),
        demo.requests().await,
    );
    tokio::time::sleep(Duration::from_secs(idle_secs)).await;
    let figures = DetailFigures {
        to_complete,
        requests_to_open,
        idle_cpu: dashboard.cpu_time() - cpu0,
        idle_frames: dashboard.frames().len() - frames0,
        idle_requests: demo.requests().await - requests0,
        idle_secs,
    };
    tmux.send(&["Escape"]);
    figures
}
