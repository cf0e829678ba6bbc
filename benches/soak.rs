//! Soak: the real dashboard, in a real terminal (tmux), on a churning demo cluster for a long
//! time, with five forwards carrying traffic. Samples the dashboard's resident memory and checks
//! that at the end it is within 10% of what it was after the first minute (a leak grows with
//! time; a working set does not). Not run by CI, and not by a plain `cargo bench` (whose report
//! must take minutes, not half an hour): it runs only when `SOAK_MINUTES` is set.
//!
//! Run: `SOAK_MINUTES=30 cargo bench --bench soak` (release), or a short proof:
//! `SOAK_MINUTES=3 cargo bench --bench soak`. `SOAK_SAMPLE_SECS` sets the sampling interval
//! (default 30). Prints a markdown table and exits 1 if the memory check fails.

#[path = "../tests/common/tmux.rs"]
mod tmux;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hasura_tui::demo::{DemoCluster, DemoOptions, PodFault};
use tmux::Tmux;

const BIN: &str = env!("CARGO_BIN_EXE_hasura-tui");
/// The five forwarded microservices: three HTTP echo, two TCP echo.
const FORWARDED: [(&str, bool); 5] = [
    ("auth", true),
    ("data", true),
    ("filestore", true),
    ("postgres", false),
    ("session-redis", false),
];
/// Allowed growth of resident memory between the first minute and the end.
const MAX_GROWTH: f64 = 0.10;
const BASELINE_AFTER: Duration = Duration::from_secs(60);
/// Pause between churn steps.
const CHURN_STEP: Duration = Duration::from_millis(1500);
/// Pause between exchanges on each forward: steady traffic (about 50 connections a second in
/// all) without starving a shared machine.
const EXCHANGE_PAUSE: Duration = Duration::from_millis(100);

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Resident memory of a process, in KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// The pid of the program tmux runs under `sh -c`.
fn program_pid(tmux: &Tmux) -> u32 {
    let shell = tmux.display("#{pane_pid}");
    let out = std::process::Command::new("ps")
        .args(["-o", "pid=", "--ppid", &shell])
        .output()
        .expect("ps");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .find_map(|p| p.parse().ok())
        .expect("the dashboard's pid")
}

fn forward_address(screen: &str, name: &str) -> Option<SocketAddr> {
    let row = screen
        .lines()
        .find(|l| l.starts_with(&format!("{name} ")))?;
    row.split_whitespace().find_map(|word| word.parse().ok())
}

/// One exchange through a forward: an HTTP request, or 64 KiB through a TCP echo.
fn exchange(addr: SocketAddr, http: bool, buf: &mut [u8]) -> std::io::Result<()> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    if http {
        stream.write_all(b"GET /soak HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response)?;
        if !response.starts_with(b"HTTP/1.1 200") {
            return Err(std::io::Error::other("not a 200"));
        }
    } else {
        stream.write_all(buf)?;
        let mut back = vec![0u8; buf.len()];
        stream.read_exact(&mut back)?;
        if back != buf {
            return Err(std::io::Error::other("echo differs"));
        }
    }
    Ok(())
}

#[derive(Default)]
struct Traffic {
    ok: AtomicU64,
    failed: AtomicU64,
}

/// A manifest toggled on and off by the churn, so objects come and go but stay bounded.
fn churn_deployment(replicas: u32) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata: {{name: churn, namespace: default}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: churn}}}}
  template:
    metadata: {{labels: {{app: churn}}}}
    spec: {{containers: [{{name: churn, image: churn:1, ports: [{{name: http, containerPort: 8080}}]}}]}}
---
apiVersion: v1
kind: Service
metadata: {{name: churn, namespace: default}}
spec:
  selector: {{app: churn}}
  ports: [{{name: http, port: 80, targetPort: http}}]
"
    )
}

/// One step of cluster churn; `step` cycles through pod kills (forwarded ones too), faults,
/// scaling, dropped watches and compaction.
fn churn(demo: &DemoCluster, step: u64) {
    let faults = demo.faults();
    let _ = match step % 10 {
        0 => faults.kill_one_pod("hasura", "data").map(drop),
        1 => faults
            .set_pod_fault("hasura", "notify", Some(PodFault::CrashLoopBackOff))
            .map(drop),
        2 => faults.scale("default", "my-app", 3).map(drop),
        3 => faults.apply_manifests(&churn_deployment(2)).map(drop),
        4 => {
            faults.drop_watches();
            Ok(())
        }
        5 => faults.set_pod_fault("hasura", "notify", None).map(drop),
        6 => faults.kill_one_pod("hasura", "postgres").map(drop),
        7 => faults.scale("default", "my-app", 1).map(drop),
        8 => faults.apply_manifests(&churn_deployment(0)).map(drop),
        _ => {
            faults.compact();
            faults.drop_watches();
            faults.kill_one_pod("hasura", "auth").map(drop)
        }
    };
}

fn main() {
    if std::env::var_os("SOAK_MINUTES").is_none() {
        println!("soak: skipped; set SOAK_MINUTES (30 for the full run) to run it");
        return;
    }
    let minutes = env_or("SOAK_MINUTES", 30);
    let sample = Duration::from_secs(env_or("SOAK_SAMPLE_SECS", 30));
    let duration = Duration::from_secs(minutes * 60);
    assert!(
        duration > BASELINE_AFTER,
        "SOAK_MINUTES must be at least 2 (the baseline is taken after the first minute)"
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // The churn calls the demo's fault controls from this thread; they may spawn tasks.
    let _entered = runtime.enter();
    let demo = runtime
        .block_on(DemoCluster::start(DemoOptions {
            churn: true,
            ..DemoOptions::default()
        }))
        .expect("demo cluster");
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = dir.path().join("kubeconfig");
    demo.write_kubeconfig(&kubeconfig).expect("kubeconfig");

    let tmux = Tmux::start(
        &format!("{BIN} --kubeconfig {}", kubeconfig.display()),
        160,
        40,
    );
    tmux.wait_for("the dashboard", Duration::from_secs(30), |s| {
        s.contains("sshd") && s.contains(" synced ")
    });
    // Tab to the Hasura table; f on auth, data, filestore; down to postgres, f, then
    // session-redis, f.
    tmux.send(&[
        "Tab", "f", "j", "f", "j", "f", "j", "j", "j", "j", "j", "f", "j", "f",
    ]);
    let screen = tmux.wait_for("five forwards", Duration::from_secs(20), |s| {
        FORWARDED
            .iter()
            .all(|(name, _)| forward_address(s, name).is_some())
    });
    let pid = program_pid(&tmux);

    let stop = Arc::new(AtomicBool::new(false));
    let traffic: Vec<Arc<Traffic>> = FORWARDED.iter().map(|_| Arc::default()).collect();
    let workers: Vec<_> = FORWARDED
        .iter()
        .zip(&traffic)
        .map(|(&(name, http), traffic)| {
            let addr = forward_address(&screen, name).expect("address");
            let (stop, traffic) = (stop.clone(), traffic.clone());
            std::thread::spawn(move || {
                let mut buf = vec![0x5au8; 64 * 1024];
                let mut n = 0u8;
                while !stop.load(Ordering::Relaxed) {
                    n = n.wrapping_add(1);
                    buf[0] = n;
                    match exchange(addr, http, &mut buf) {
                        Ok(()) => traffic.ok.fetch_add(1, Ordering::Relaxed),
                        Err(_) => traffic.failed.fetch_add(1, Ordering::Relaxed),
                    };
                    std::thread::sleep(EXCHANGE_PAUSE);
                }
            })
        })
        .collect();

    let started = Instant::now();
    let mut samples: Vec<(Duration, u64)> = Vec::new();
    let mut next_sample = Duration::ZERO;
    let mut baseline: Option<u64> = None;
    let mut step = 0;
    while started.elapsed() < duration {
        churn(&demo, step);
        step += 1;
        std::thread::sleep(CHURN_STEP);
        let elapsed = started.elapsed();
        if baseline.is_none() && elapsed >= BASELINE_AFTER {
            baseline = rss_kib(pid);
            samples.push((elapsed, baseline.expect("the dashboard is alive")));
        }
        if elapsed >= next_sample {
            samples.push((elapsed, rss_kib(pid).expect("the dashboard is alive")));
            next_sample += sample;
        }
    }
    // Let the last churn settle, then the final figure.
    for s in 10..20 {
        churn(&demo, s);
    }
    std::thread::sleep(Duration::from_secs(5));
    let end = rss_kib(pid).expect("the dashboard is alive at the end");
    samples.push((started.elapsed(), end));
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        let _ = worker.join();
    }
    let screen = tmux.screen();
    let synced = screen
        .lines()
        .next()
        .unwrap_or_default()
        .contains(" synced ");
    tmux.send(&["q"]);
    let exit = tmux.wait_exit(Duration::from_secs(10));

    samples.sort_by_key(|(t, _)| *t);
    samples.dedup_by_key(|(t, _)| t.as_secs());
    println!("| elapsed | dashboard RSS |");
    println!("|---|---|");
    for (t, kib) in &samples {
        println!(
            "| {}m{:02}s | {:.1} MiB |",
            t.as_secs() / 60,
            t.as_secs() % 60,
            *kib as f64 / 1024.0
        );
    }
    let baseline = baseline.expect("a baseline after the first minute");
    let growth = end as f64 / baseline as f64 - 1.0;
    println!();
    println!("| forward | exchanges | failed |");
    println!("|---|---|---|");
    for ((name, _), traffic) in FORWARDED.iter().zip(&traffic) {
        println!(
            "| {name} | {} | {} |",
            traffic.ok.load(Ordering::Relaxed),
            traffic.failed.load(Ordering::Relaxed)
        );
    }
    let exchanged: u64 = traffic.iter().map(|t| t.ok.load(Ordering::Relaxed)).sum();
    println!();
    println!("{minutes} min, {step} churn steps, {exchanged} exchanges through 5 forwards");
    println!(
        "RSS after 1 min {:.1} MiB, at the end {:.1} MiB: {:+.1}% (limit +{:.0}%); header synced at the end: {synced}; exit status {exit}",
        baseline as f64 / 1024.0,
        end as f64 / 1024.0,
        growth * 100.0,
        MAX_GROWTH * 100.0
    );
    // Every forward must have carried traffic, not just survived.
    let carried = traffic.iter().all(|t| t.ok.load(Ordering::Relaxed) > 0);
    let ok = growth <= MAX_GROWTH && synced && exit == 0 && carried;
    println!("{}", if ok { "PASS" } else { "FAIL" });
    runtime.block_on(demo.shutdown());
    if !ok {
        std::process::exit(1);
    }
}
