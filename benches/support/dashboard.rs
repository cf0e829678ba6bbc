//! The release dashboard against a demo-cluster process, in a real terminal under tmux: time to a
//! full table, CPU and memory from /proc, and the frames it draws (logged at debug level with the
//! resourceVersion they show, so a cluster change can be matched to the frame that shows it).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::demo::BIN;
use super::measure;
use super::tmux::Tmux;

pub struct Dashboard {
    pub tmux: Tmux,
    pub pid: u32,
    log: PathBuf,
}

impl Dashboard {
    /// Starts the dashboard and waits until both tables are full and synced; returns it and the
    /// time that took, from the moment tmux was asked to start it.
    pub fn start(kubeconfig: &Path, custom_rows: usize) -> (Dashboard, Duration) {
        let started = Instant::now();
        let tmux = Tmux::start(
            &format!(
                "env HASURA_TUI_LOG=info,hasura_tui::frames=debug,hasura_tui::feed=debug {BIN} --kubeconfig {}",
                kubeconfig.display()
            ),
            160,
            45,
        );
        let want = format!("Custom microservices ({custom_rows})");
        let deadline = started + Duration::from_secs(120);
        loop {
            let screen = tmux.screen();
            if screen.contains(&want)
                && screen.contains("Hasura microservices (10)")
                && screen.contains("synced")
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "no full table after 120 s:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        let elapsed = started.elapsed();
        let shell: u32 = tmux.display("#{pane_pid}").parse().expect("pane pid");
        let pid = measure::first_child(shell).expect("the dashboard under the pane's shell");
        let log = tmux.home().join("state/hasura-tui/hasura-tui.log");
        (Dashboard { tmux, pid, log }, elapsed)
    }

    pub fn cpu_time(&self) -> Duration {
        measure::cpu_time(self.pid)
    }

    pub fn peak_rss_kib(&self) -> u64 {
        measure::peak_rss_kib(self.pid)
    }

    /// Every frame drawn so far: when, and the newest resourceVersion it showed.
    pub fn frames(&self) -> Vec<(SystemTime, u64)> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines()
            .filter(|l| l.contains("frame drawn"))
            .filter_map(|l| {
                let time = parse_rfc3339(l.split_whitespace().next()?)?;
                let rv = l
                    .split("rv=")
                    .nth(1)?
                    .split_whitespace()
                    .next()?
                    .parse()
                    .ok()?;
                Some((time, rv))
            })
            .collect()
    }

    /// How long the feed took to build each snapshot, sorted.
    pub fn build_times(&self) -> Vec<Duration> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let mut times: Vec<Duration> = text
            .lines()
            .filter(|l| l.contains("snapshot built"))
            .filter_map(|l| {
                l.split("took_us=")
                    .nth(1)?
                    .split_whitespace()
                    .next()?
                    .parse()
                    .ok()
            })
            .map(Duration::from_micros)
            .collect();
        times.sort();
        times
    }

    pub fn quit(self) {
        self.tmux.send(&["q"]);
        self.tmux.wait_exit(Duration::from_secs(20));
    }
}

/// `2026-11-28T22:39:51.123456Z` (tracing's timestamps) as a SystemTime.
pub fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    let (date, time) = text.trim_end_matches('Z').split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>());
    let (y, m, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut t = hms.split(':').map(|p| p.parse::<i64>());
    let (h, min, s) = (t.next()?.ok()?, t.next()?.ok()?, t.next()?.ok()?);
    let nanos: u32 = format!("{frac:0<9}")[..9].parse().ok()?;
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + min * 60 + s;
    Some(UNIX_EPOCH + Duration::new(u64::try_from(secs).ok()?, nanos))
}
