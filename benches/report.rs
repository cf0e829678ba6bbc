//! The benchmark report: hasura-tui against `hasura-tui demo-cluster --scale N` run as its own
//! process, with the release binary as a separate process (`list` directly, the dashboard under
//! tmux), measured by the OS (wait4 and /proc). Beside it kubectl on the same server, and the
//! forward path beside the backend's own listener. Prints one markdown table and writes it to
//! `target/bench-report.md`; asserts nothing (our machines are shared and noisy).
//!
//! Run: `cargo bench --bench report` (after `cargo bench --bench render` for the render rows;
//! `cargo bench` runs both in that order). Knobs: BENCH_SCALES (default 1000,5000,20000),
//! BENCH_IDLE_SECS (30), BENCH_STARTS (3, dashboard starts per scale), BENCH_DEMO_ARGS (more
//! demo-cluster flags, e.g. `--no-metrics`), BENCH_CHURN_SECS (20), BENCH_CHURN_RATE (50), FORWARD_BENCH_MIB (1024),
//! FORWARD_BENCH_CONNECTIONS (1000), FORWARD_BENCH_CONCURRENT (64), BENCH_PARTS (default
//! `scales,forward,versus,stop,sign-in,wan,render,bodies,switch`; `detail` alone is the detail view's
//! figures without the scales): which groups of figures to measure), BENCH_BODY_REQUESTS (1000).

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use support::churn;
use support::dashboard::Dashboard;
use support::demo::{BIN, DemoProcess};
use support::measure::{self, percentile};
use support::report::{Report, mib, ms, secs};

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let scales: Vec<usize> = std::env::var("BENCH_SCALES")
        .unwrap_or_else(|_| "1000,5000,20000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let started = Instant::now();
    let mut report = Report::default();
    let parts = std::env::var("BENCH_PARTS")
        .unwrap_or_else(|_| "scales,forward,versus,stop,sign-in,wan,render,bodies,switch".into());
    let part = |name: &str| parts.split(',').any(|p| p.trim() == name);
    println!("{}", support::report::HEADER);
    if part("scales") {
        for &scale in &scales {
            runtime.block_on(at_scale(scale, &mut report));
        }
    }
    if part("detail") {
        runtime.block_on(detail_alone(&mut report));
    }
    if part("forward") {
        runtime.block_on(forward_figures(&mut report));
    }
    if part("versus") {
        runtime.block_on(versus_figures(&mut report));
    }
    if part("stop") {
        runtime.block_on(stop_figures(&mut report));
    }
    if part("sign-in") {
        runtime.block_on(sign_in_figures(&mut report));
    }
    if part("wan") {
        runtime.block_on(wan_figures(&mut report));
    }
    if part("render") {
        render_figures(&mut report);
    }
    if part("bodies") {
        runtime.block_on(body_figures(&mut report));
    }
    if part("switch") {
        runtime.block_on(switch_figures(&mut report));
    }

    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let path = std::path::Path::new(&target).join("bench-report.md");
    let text = format!(
        "Machine: {}. Run: `cargo bench` ({:.0} s).\n\n{}",
        support::report::machine(),
        started.elapsed().as_secs_f64(),
        report.markdown()
    );
    std::fs::write(&path, text).expect("writing the report");
    println!("\nwritten to {}", path.display());
}

async fn at_scale(scale: usize, report: &mut Report) {
    let demo = DemoProcess::start(scale).await;
    let objects = scale * 4;

    // `list -o json`, and at 5,000 kubectl reading the same objects as JSON.
    let list = measure::run(
        Command::new(BIN)
            .arg("--kubeconfig")
            .arg(&demo.kubeconfig)
            .args(["list", "-o", "json"]),
    );
    assert!(list.success, "list failed at N={scale}");
    if scale == 5000 {
        let kubectl = measure::run(
            Command::new("kubectl")
                .arg("--kubeconfig")
                .arg(&demo.kubeconfig)
                .args([
                    "get",
                    "deploy,statefulset,svc,endpoints,pods",
                    "-n",
                    "default",
                    "-o",
                    "json",
                ]),
        );
        assert!(kubectl.success, "kubectl failed");
        let ratio = list.wall.as_secs_f64() / kubectl.wall.as_secs_f64();
        report.add_compared(
            "`list -o json` wall time, N=5,000 (kubectl `get deploy,statefulset,svc,endpoints,pods -o json`)",
            secs(list.wall),
            secs(kubectl.wall),
            format!("{ratio:.2}"),
            "≤ 1.0 (aim 0.5)",
            Some(ratio <= 1.0),
        );
        report.add_compared(
            "`list -o json` CPU time / peak RSS, N=5,000",
            format!("{} / {}", secs(list.cpu), mib(list.max_rss_kib)),
            format!("{} / {}", secs(kubectl.cpu), mib(kubectl.max_rss_kib)),
            format!(
                "{:.2} / {:.2}",
                list.cpu.as_secs_f64() / kubectl.cpu.as_secs_f64(),
                list.max_rss_kib as f64 / kubectl.max_rss_kib as f64
            ),
            "",
            None,
        );
    } else {
        report.add(
            &format!("`list -o json` wall / CPU / peak RSS, N={scale}"),
            format!(
                "{} / {} / {}",
                secs(list.wall),
                secs(list.cpu),
                mib(list.max_rss_kib)
            ),
            "",
            None,
        );
    }

    // The dashboard: start to a full table (the median of a few starts: one start on a shared
    // 2-core machine varies by half a second at 20,000), then memory.
    let starts = env_or("BENCH_STARTS", 3usize).max(1);
    let mut times = Vec::with_capacity(starts);
    let mut peaks = Vec::with_capacity(starts);
    let mut last = None;
    for i in 0..starts {
        let (dashboard, to_full) = Dashboard::start(&demo.kubeconfig, scale + 1);
        times.push(to_full);
        if i + 1 < starts {
            peaks.push(dashboard.peak_rss_kib());
            dashboard.quit();
        } else {
            last = Some(dashboard);
        }
    }
    let dashboard = last.expect("at least one start");
    times.sort();
    let to_full = times[times.len() / 2];
    report.add(
        &format!(
            "dashboard start to full table, N={scale} ({objects} objects + pods), median of {starts} (min–max {}–{})",
            secs(times[0]),
            secs(times[times.len() - 1])
        ),
        secs(to_full),
        if scale == 20000 { "≤ 3 s" } else { "" },
        (scale == 20000).then_some(to_full <= Duration::from_secs(3)),
    );
    if scale == 5000 {
        idle_and_churn(&demo, &dashboard, report).await;
        detail_figures(&demo, &dashboard, report).await;
    }
    // The highest of the starts (the last one after the idle and churn runs at 5,000).
    peaks.push(dashboard.peak_rss_kib());
    let peak = peaks.into_iter().max().unwrap_or(0);
    let (target, limit) = match scale {
        5000 => ("≤ 48 MiB", Some(48 * 1024)),
        20000 => ("≤ 128 MiB", Some(128 * 1024)),
        _ => ("", None),
    };
    report.add(
        &format!("dashboard peak RSS, N={scale} (highest of the {starts} starts)"),
        mib(peak),
        target,
        limit.map(|l| peak <= l),
    );
    dashboard.quit();
}

/// Moving between two clusters of N=1,000 in the dashboard (`C`, Enter).
async fn switch_figures(report: &mut Report) {
    let s = support::switch::measure(
        1000,
        Duration::from_secs(env_or("BENCH_IDLE_SECS", 30u64)),
        3,
    )
    .await;
    report.add_compared(
        &format!(
            "`C` Enter to the other cluster's full table, N={}: to staging / back to dev (median of 3; reference: a dashboard started on staging)",
            s.scale
        ),
        format!("{} / {}", ms(s.to_staging), ms(s.to_dev)),
        ms(s.cold),
        format!("{:.2}", s.to_staging.as_secs_f64() / s.cold.as_secs_f64()),
        "≤ cold start + 50 ms",
        Some(s.to_staging <= s.cold + Duration::from_millis(50)),
    );
    report.add(
        &format!(
            "the cluster left, {} s away: API requests / watches open (before leaving → away; its forward follows its pods) / dashboard peak RSS",
            s.idle.as_secs()
        ),
        format!(
            "{} / {} → {} / {}",
            s.away_requests,
            s.watches_before,
            s.watches_away,
            mib(s.peak_rss_kib)
        ),
        "0 requests",
        Some(s.away_requests == 0),
    );
}

/// The request log's body store: N requests of 1 MiB each way through a gateway-mode forward.
async fn body_figures(report: &mut Report) {
    let b = support::bodies::measure(env_or("BENCH_BODY_REQUESTS", 1000usize)).await;
    let bound_kib = 16 * 1024 + 8 * 1024;
    report.add_compared(
        &format!(
            "{} requests of 1 MiB each way through a gateway-mode forward: dashboard RSS before → after / peak (kubectl port-forward: before → after / peak)",
            b.requests
        ),
        format!(
            "{} → {} / {}",
            mib(b.before_kib),
            mib(b.after_kib),
            mib(b.peak_kib)
        ),
        format!(
            "{} → {} / {}",
            mib(b.kubectl_before_kib),
            mib(b.kubectl_after_kib),
            mib(b.kubectl_peak_kib)
        ),
        String::new(),
        "growth ≤ 16 MiB bodies + 8 MiB",
        Some(b.after_kib.saturating_sub(b.before_kib) <= bound_kib),
    );
    report.add(
        "the same, with the request log open (a copy of the entries, bodies shared) / time for the requests",
        format!("{} / {}", mib(b.pane_open_kib), secs(b.took)),
        "growth ≤ 16 MiB bodies + 8 MiB",
        Some(b.pane_open_kib.saturating_sub(b.before_kib) <= bound_kib),
    );
}

/// The detail view's figures alone (`BENCH_PARTS=detail`): the N=5,000 demo, one dashboard start,
/// no churn before; what `scales` measures after its idle and churn runs.
async fn detail_alone(report: &mut Report) {
    let demo = DemoProcess::start(5000).await;
    let (dashboard, _) = Dashboard::start(&demo.kubeconfig, 5001);
    detail_figures(&demo, &dashboard, report).await;
    dashboard.quit();
}

async fn detail_figures(demo: &DemoProcess, dashboard: &Dashboard, report: &mut Report) {
    let idle_secs = env_or("BENCH_IDLE_SECS", 30u64);
    let d = support::detail::measure(demo, dashboard, idle_secs).await;
    report.add(
        "`d` detail view on a microservice, N=5,000: key to complete view / API requests it made",
        format!("{} / {}", ms(d.to_complete), d.requests_to_open),
        "≤ 50 ms",
        Some(d.to_complete <= Duration::from_millis(50)),
    );
    report.add(
        &format!(
            "detail view open and idle {} s, N=5,000: CPU / frames / API requests",
            d.idle_secs
        ),
        format!(
            "{} / {} / {}",
            secs(d.idle_cpu),
            d.idle_frames,
            d.idle_requests
        ),
        "as the table: ≤ 0.15 s / 0 / metrics only",
        Some(d.idle_cpu <= Duration::from_millis(150) && d.idle_frames == 0),
    );
}

async fn idle_and_churn(demo: &DemoProcess, dashboard: &Dashboard, report: &mut Report) {
    // Idle: nothing changes in the cluster, nothing on screen ages.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle_secs = env_or("BENCH_IDLE_SECS", 30u64);
    let (cpu0, frames0, requests0) = (
        dashboard.cpu_time(),
        dashboard.frames().len(),
        demo.requests().await,
    );
    tokio::time::sleep(Duration::from_secs(idle_secs)).await;
    let cpu = dashboard.cpu_time() - cpu0;
    let frames = dashboard.frames().len() - frames0;
    let requests = demo.requests().await - requests0;
    report.add(
        &format!("dashboard idle {idle_secs} s after sync, N=5,000: CPU / frames / API requests"),
        format!("{} / {frames} / {requests}", secs(cpu)),
        "≤ 0.15 s / 0 / 0",
        Some(cpu <= Duration::from_millis(150) && frames == 0 && requests == 0),
    );

    // Churn: pods deleted (and replaced) at a steady rate; delay from change to frame.
    let rate = env_or("BENCH_CHURN_RATE", 50u32);
    let churn_secs = env_or("BENCH_CHURN_SECS", 20u64);
    let cpu0 = dashboard.cpu_time();
    let started = Instant::now();
    let changes = churn::run(
        &demo.client,
        "default",
        rate,
        Duration::from_secs(churn_secs),
    )
    .await;
    let elapsed = started.elapsed();
    let cpu = dashboard.cpu_time() - cpu0;
    // Let the last changes reach the screen.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (delays, unseen) = churn::delays(&changes, &dashboard.frames());
    let (p50, p99) = (percentile(&delays, 0.5), percentile(&delays, 0.99));
    let share = cpu.as_secs_f64() / elapsed.as_secs_f64();
    report.add(
        &format!(
            "churn {rate} pod deletions/s for {churn_secs} s, N=5,000: change to frame p50 / p99 ({} changes{})",
            changes.len(),
            if unseen > 0 { format!(", {unseen} never shown") } else { String::new() }
        ),
        format!("{} / {}", ms(p50), ms(p99)),
        "p99 ≤ 100 ms",
        Some(p99 <= Duration::from_millis(100) && unseen == 0),
    );
    let builds = dashboard.build_times();
    report.add(
        &format!(
            "churn: snapshot rebuilds, median time ({} in all)",
            builds.len()
        ),
        ms(percentile(&builds, 0.5)),
        "",
        None,
    );
    report.add(
        "churn: dashboard CPU share",
        format!("{:.1}% of a core", share * 100.0),
        "≤ 10%",
        Some(share <= 0.10),
    );
}

async fn forward_figures(report: &mut Report) {
    let connections = env_or("FORWARD_BENCH_CONNECTIONS", 1000usize);
    let mib_total = env_or("FORWARD_BENCH_MIB", 1024usize);
    let concurrent = env_or("FORWARD_BENCH_CONCURRENT", 64usize);
    let f = support::forward::measure(connections, mib_total, concurrent).await;
    let ratio = f.throughput.0 / f.throughput.1;
    report.add_compared(
        &format!("forward throughput, {} MiB through one connection", f.mib),
        format!("{:.0} MiB/s", f.throughput.0),
        format!("{:.0} MiB/s direct", f.throughput.1),
        format!("{ratio:.2}"),
        "≥ 0.5 of direct",
        Some(ratio >= 0.5),
    );
    report.add_compared(
        &format!(
            "forward connection set-up p50 / p99, {} sequential",
            f.connections
        ),
        format!("{} / {}", ms(f.setup_p50.0), ms(f.setup_p99.0)),
        format!("{} / {} direct", ms(f.setup_p50.1), ms(f.setup_p99.1)),
        String::new(),
        "≤ 3 ms / ≤ 15 ms",
        Some(
            f.setup_p50.0 <= Duration::from_millis(3) && f.setup_p99.0 <= Duration::from_millis(15),
        ),
    );
    report.add(
        &format!(
            "{} concurrent forwarded connections, {} MiB each",
            f.concurrent, f.concurrent_mib
        ),
        format!(
            "{}/{} byte-identical, {:.0} MiB/s aggregate",
            f.concurrent_identical, f.concurrent, f.concurrent_throughput
        ),
        "all byte-identical",
        Some(f.concurrent_identical == f.concurrent),
    );
}

/// `hasura-tui port-forward` beside `kubectl port-forward`, both as processes, on loopback and
/// 50 ms away (the delaying proxy).
async fn versus_figures(report: &mut Report) {
    let connections = env_or("FORWARD_BENCH_CONNECTIONS", 1000usize);
    let mib_total = env_or("FORWARD_BENCH_MIB", 1024usize);
    let wan_mib = env_or("FORWARD_BENCH_WAN_MIB", 256usize);
    let v = support::versus::measure(connections, mib_total, wan_mib).await;
    let (o, k) = (&v.ours, &v.kubectl);
    let rtt = v.wan.rtt();
    let ratio = |a: f64, b: f64| format!("{:.2}", a / b);
    report.add_compared(
        &format!(
            "vs kubectl: connection set-up p50 / p99, {} sequential, loopback",
            v.connections
        ),
        format!("{} / {}", ms(o.setup_p50), ms(o.setup_p99)),
        format!(
            "{} / {} kubectl; {} / {} direct",
            ms(k.setup_p50),
            ms(k.setup_p99),
            ms(v.direct_setup_p50),
            ms(v.direct_setup_p99)
        ),
        ratio(o.setup_p50.as_secs_f64(), k.setup_p50.as_secs_f64()),
        "p50 ≤ 0.5 ms",
        Some(o.setup_p50 <= Duration::from_micros(500)),
    );
    report.add_compared(
        &format!(
            "vs kubectl: connection set-up p50 at {} ms RTT, {} sequential",
            rtt.as_millis(),
            v.wan_connections
        ),
        format!(
            "{} ({:.2} RTT)",
            ms(o.setup_wan_p50),
            o.setup_wan_p50.as_secs_f64() / rtt.as_secs_f64()
        ),
        format!(
            "{} kubectl ({:.2} RTT)",
            ms(k.setup_wan_p50),
            k.setup_wan_p50.as_secs_f64() / rtt.as_secs_f64()
        ),
        ratio(o.setup_wan_p50.as_secs_f64(), k.setup_wan_p50.as_secs_f64()),
        "≤ 1.2 RTT and ≤ kubectl",
        Some(o.setup_wan_p50 <= rtt.mul_f64(1.2) && o.setup_wan_p50 <= k.setup_wan_p50),
    );
    let of_direct = o.one_connection / v.direct_one_connection;
    report.add_compared(
        &format!("vs kubectl: {} MiB through one connection, loopback", v.mib),
        format!("{:.0} MiB/s ({:.2} of direct)", o.one_connection, of_direct),
        format!(
            "{:.0} MiB/s kubectl; {:.0} MiB/s direct",
            k.one_connection, v.direct_one_connection
        ),
        ratio(o.one_connection, k.one_connection),
        "≥ 1.5x kubectl and ≥ 0.5 of direct",
        Some(o.one_connection >= 1.5 * k.one_connection && of_direct >= 0.5),
    );
    report.add_compared(
        "vs kubectl: the forwarder's CPU per GiB each way (same transfer)",
        secs(o.cpu_per_gib),
        format!("{} kubectl", secs(k.cpu_per_gib)),
        ratio(o.cpu_per_gib.as_secs_f64(), k.cpu_per_gib.as_secs_f64()),
        "",
        None,
    );
    let link = v.wan.bits_per_sec as f64 / 8.0 / (1024.0 * 1024.0);
    report.add_compared(
        &format!(
            "vs kubectl: {} MiB through one connection at {} ms RTT, {} Mbit/s",
            v.wan_mib,
            rtt.as_millis(),
            v.wan.bits_per_sec / 1_000_000
        ),
        format!(
            "{:.1} MiB/s ({:.2} of the link)",
            o.wan_throughput,
            o.wan_throughput / link
        ),
        format!(
            "{:.1} MiB/s kubectl ({:.2})",
            k.wan_throughput,
            k.wan_throughput / link
        ),
        ratio(o.wan_throughput, k.wan_throughput),
        "≥ 0.8 of the link",
        Some(o.wan_throughput >= 0.8 * link),
    );
    report.add_compared(
        &format!(
            "vs kubectl: {} concurrent connections x {} MiB, loopback",
            v.concurrent, v.concurrent_mib
        ),
        format!(
            "{}/{} identical, {:.0} MiB/s",
            o.concurrent_identical, v.concurrent, o.concurrent_rate
        ),
        format!(
            "{}/{} identical, {:.0} MiB/s kubectl",
            k.concurrent_identical, v.concurrent, k.concurrent_rate
        ),
        ratio(o.concurrent_rate, k.concurrent_rate),
        "all identical, ≥ kubectl",
        Some(o.concurrent_identical == v.concurrent && o.concurrent_rate >= k.concurrent_rate),
    );
    report.add_compared(
        "vs kubectl: half-closed request, reply after 0.5 s / after 5 s (bytes received)",
        format!("{} B / {} B", o.half_closed_quick, o.half_closed_slow),
        format!(
            "{} B / {} B kubectl",
            k.half_closed_quick, k.half_closed_slow
        ),
        String::new(),
        "whole reply (the 5 s one is cut by containerd for every client: see the note)",
        Some(o.half_closed_quick > 0 && o.half_closed_quick == k.half_closed_quick),
    );
    report.add_compared(
        &format!(
            "vs kubectl: {} browser-style connections at once at {} ms RTT, until all replied",
            v.browsers,
            rtt.as_millis()
        ),
        format!(
            "{} ({:.2} RTT)",
            ms(o.browser_wan),
            o.browser_wan.as_secs_f64() / rtt.as_secs_f64()
        ),
        format!(
            "{} kubectl ({:.2} RTT)",
            ms(k.browser_wan),
            k.browser_wan.as_secs_f64() / rtt.as_secs_f64()
        ),
        ratio(o.browser_wan.as_secs_f64(), k.browser_wan.as_secs_f64()),
        "≤ 2 RTT + transfer",
        Some(o.browser_wan <= rtt * 2 + Duration::from_millis(10)),
    );
}

async fn stop_figures(report: &mut Report) {
    let demo = DemoProcess::start(0).await;
    let delays = support::stop::key_to_frame(&demo).await;
    let (p50, max) = (percentile(&delays, 0.5), delays[delays.len() - 1]);
    report.add(
        "key to frame while 10 forwards stop (each with a connection stuck on a stalled API server): p50 / max",
        format!("{} / {}", ms(p50), ms(max)),
        "≤ 16 ms",
        Some(max <= Duration::from_millis(16)),
    );
}

async fn sign_in_figures(report: &mut Report) {
    let session = Duration::from_secs(env_or("BENCH_SIGN_IN_SECS", 60u64));
    let f = support::sign_in::measure(session).await;
    report.add(
        "start to first frame with an exec plugin: instant / taking 2 s (interactiveMode Never)",
        format!("{} / {}", ms(f.first_frame.0), ms(f.first_frame.1)),
        "≤ 50 ms both",
        Some(f.first_frame.0.max(f.first_frame.1) <= Duration::from_millis(50)),
    );
    report.add(
        "start to the `signing in to …` line, interactive plugin taking 2 s",
        ms(f.interactive_line),
        "≤ 50 ms",
        Some(f.interactive_line <= Duration::from_millis(50)),
    );
    report.add(
        &format!(
            "exec plugin runs in a {:.0} s session, 15 s tokens, 11 watches and a forward connection every 100 ms ({} API requests)",
            f.session.as_secs_f64(),
            f.requests
        ),
        f.runs.to_string(),
        "≤ 5 (one per renewal)",
        Some(f.runs <= 5),
    );
}

async fn wan_figures(report: &mut Report) {
    use support::netem::Shape;
    let demo = DemoProcess::start(5000).await;
    let open = Shape {
        delay: Duration::ZERO,
        bits_per_sec: 0,
    };
    let gzip = support::wan::list_bytes(&demo, open, true).await;
    let plain = support::wan::list_bytes(&demo, open, false).await;
    report.add_compared(
        "`list -o json` N=5,000: bytes on the wire with gzip (against `disable-compression: true`)",
        mib(gzip / 1024),
        mib(plain / 1024),
        format!("{:.2}", gzip as f64 / plain as f64),
        "",
        None,
    );
    drop(demo);
    let link = Shape {
        delay: Duration::from_millis(25),
        bits_per_sec: 20_000_000,
    };
    for scale in [1000, 5000] {
        let demo = DemoProcess::start(scale).await;
        let w = support::wan::start(&demo, scale, link).await;
        let to_limit = w.dashboard.as_secs_f64() / w.limit.as_secs_f64();
        let to_kubectl = w.dashboard.as_secs_f64() / w.kubectl.as_secs_f64();
        report.add_compared(
            &format!(
                "start to full table over 50 ms RTT, 20 Mbit/s, N={scale} ({} down; limit {}) (kubectl get deploy,statefulset,svc,endpoints,pods -o json)",
                mib(w.bytes_down / 1024),
                secs(w.limit)
            ),
            secs(w.dashboard),
            secs(w.kubectl),
            format!("{to_kubectl:.2} of kubectl, {to_limit:.2} of the limit"),
            "≤ 1.3x the limit, ≤ 0.3x kubectl",
            Some(to_limit <= 1.3 && to_kubectl <= 0.3),
        );
    }
}

/// Criterion's medians for the render benchmark, if it ran (`cargo bench --bench render`).
fn render_figures(report: &mut Report) {
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let median = |id: &str| -> Option<Duration> {
        let path = format!("{target}/criterion/render/{id}/new/estimates.json");
        let text = std::fs::read_to_string(path).ok()?;
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        Some(Duration::from_nanos(
            v["median"]["point_estimate"].as_f64()? as u64,
        ))
    };
    match (median("100 rows"), median("20000 rows")) {
        (Some(small), Some(large)) => {
            let ratio = large.as_secs_f64() / small.as_secs_f64();
            report.add_compared(
                "render one 160x45 frame, 20,000 rows in the model (criterion median)",
                ms(large),
                format!("{} with 100 rows", ms(small)),
                format!("{ratio:.2}"),
                "≤ 1 ms, within 2x of 100 rows",
                Some(large <= Duration::from_millis(1) && ratio <= 2.0),
            );
        }
        _ => report.add(
            "render one frame",
            "not measured: run `cargo bench --bench render` first".into(),
            "≤ 1 ms",
            None,
        ),
    }
}
