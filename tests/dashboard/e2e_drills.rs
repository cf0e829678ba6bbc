//! Fault drills on the real dashboard in a real terminal (tmux): a stalled API server, a
//! forbidden namespace and a revoked token mid-session, a wrong CA, a panic, SIGTERM and SIGHUP.
//! The demo cluster runs in the test process so its faults can be switched on and off; the
//! dashboard is the real binary, pointed at the demo's kubeconfig.
use crate::common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::tmux::{Tmux, forward_address};
use hasura_tui::demo::DemoCluster;

const BIN: &str = env!("CARGO_BIN_EXE_hasura-tui");

struct Drill {
    demo: DemoCluster,
    kubeconfig: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drill {
    async fn start() -> Drill {
        let demo = common::start_demo().await;
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        demo.write_kubeconfig(&kubeconfig).unwrap();
        Drill {
            demo,
            kubeconfig,
            _dir: dir,
        }
    }

    /// The dashboard on this demo cluster, `env` (e.g. `FOO=1 `) before the binary.
    fn dashboard(&self, env: &str, width: u16, height: u16) -> Tmux {
        let tmux = Tmux::start(
            &format!("env {env}{BIN} --kubeconfig {}", self.kubeconfig.display()),
            width,
            height,
        );
        tmux.wait_for("the dashboard synced", Duration::from_secs(20), |s| {
            s.contains("sshd") && s.contains("my-app") && s.contains(" synced ")
        });
        tmux
    }
}

/// The header (first line of the screen).
fn header(screen: &str) -> &str {
    screen.lines().next().unwrap_or_default()
}

/// The pid of the program tmux runs under `sh -c` (the pane's shell's only child).
fn program_pid(tmux: &Tmux) -> u32 {
    let shell = tmux.display("#{pane_pid}");
    let out = std::process::Command::new("ps")
        .args(["-o", "pid=", "--ppid", &shell])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let pids: Vec<u32> = text
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect();
    assert_eq!(
        pids.len(),
        1,
        "one program under the pane's shell: {text:?}"
    );
    pids[0]
}

fn is_closed(addr: SocketAddr) -> bool {
    std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_api_server_is_named_in_the_header_and_keys_still_work() {
    let drill = Drill::start().await;
    let tmux = drill.dashboard("", 160, 30);
    // A forward open during the stall must not hold up quitting.
    tmux.send(&["Tab", "j", "f"]);
    tmux.wait_for("data's forward", Duration::from_secs(10), |s| {
        forward_address(s, "data").is_some()
    });

    let faults = drill.demo.faults();
    faults.stall(true);
    // Open watches stay quiet; the relists after a drop are accepted and never answered.
    faults.drop_watches();
    let screen = tmux.wait_for("the stall in the header", Duration::from_secs(15), |s| {
        header(s).contains("no answer from the API server")
    });
    let line = header(&screen).to_string();
    assert!(line.contains("reconnecting ("), "{line}");
    assert!(
        screen.contains("stale"),
        "rows kept, marked stale:\n{screen}"
    );
    assert!(screen.contains("sshd"), "{screen}");

    let asked = Instant::now();
    tmux.send(&["?"]);
    tmux.wait_for("help open", Duration::from_secs(2), |s| {
        s.contains("keys (Esc closes)")
    });
    let help_opened = asked.elapsed();
    tmux.escape();
    tmux.wait_for("help closed", Duration::from_secs(2), |s| {
        !s.contains("keys (Esc closes)")
    });

    let asked = Instant::now();
    tmux.send(&["q"]);
    let status = tmux.wait_exit(Duration::from_secs(2));
    let quit = asked.elapsed();
    println!(
        "stall drill: header {line:?}; help opened in {help_opened:?}, q quit in {quit:?} (screen polled every 50 ms)"
    );
    assert_eq!(status, 0);
    assert_eq!(tmux.display("#{alternate_on}"), "0");
    faults.stall(false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forbidden_then_revoked_mid_session_the_tables_say_so_and_recover() {
    let drill = Drill::start().await;
    let faults = drill.demo.faults();
    let tmux = drill.dashboard("", 160, 30);

    faults.forbid_namespace("hasura", true);
    let screen = tmux.wait_for("the Hasura table forbidden", Duration::from_secs(10), |s| {
        s.contains("forbidden: ")
    });
    assert!(
        !screen.contains("sshd"),
        "what is forbidden is not shown:\n{screen}"
    );
    // The other table keeps working: a change in it still shows.
    faults.scale("default", "my-app", 2).unwrap();
    let screen = tmux.wait_for("my-app at 2/2", Duration::from_secs(10), |s| {
        s.lines()
            .any(|l| l.starts_with("my-app ") && l.contains("2/2"))
    });
    let forbidden = screen.lines().find(|l| l.contains("forbidden: ")).unwrap();
    println!("forbidden namespace: {}", forbidden.trim());
    assert!(
        !header(&screen).contains("error"),
        "the connection itself is fine: {}",
        header(&screen)
    );
    faults.forbid_namespace("hasura", false);
    tmux.wait_for("the Hasura table back", Duration::from_secs(10), |s| {
        s.contains("Hasura microservices (10)") && s.contains("sshd") && !s.contains("forbidden")
    });

    faults.revoke_token(true);
    let screen = tmux.wait_for("unauthorized in the header", Duration::from_secs(10), |s| {
        header(s).contains("error: unauthorized")
    });
    println!("revoked token: {}", header(&screen));
    faults.revoke_token(false);
    tmux.wait_for("synced again", Duration::from_secs(10), |s| {
        header(s).contains(" synced ") && s.contains("sshd")
    });

    tmux.send(&["q"]);
    assert_eq!(
        tmux.wait_exit(Duration::from_secs(10)),
        0,
        "nothing panicked"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_restores_the_terminal_and_prints_the_log_path() {
    let drill = Drill::start().await;
    let tmux = Tmux::start(
        &format!(
            "env RUST_BACKTRACE=0 HASURA_TUI_TEST_PANIC=1 {BIN} --kubeconfig {}",
            drill.kubeconfig.display()
        ),
        160,
        30,
    );
    let status = tmux.wait_exit(Duration::from_secs(20));
    assert_ne!(status, 0);
    let screen = tmux.screen();
    let log = tmux.home().join("state/hasura-tui/hasura-tui.log");
    assert!(
        screen.contains("hasura-tui crashed; the terminal was restored. Log: ")
            && screen.contains(&log.display().to_string()),
        "{screen}"
    );
    assert!(screen.contains("deliberate panic"), "{screen}");
    assert_eq!(tmux.display("#{alternate_on}"), "0", "alternate screen off");
    assert_eq!(tmux.display("#{cursor_flag}"), "1", "cursor shown");
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("panic: "), "the panic is logged too");
}

/// A panic in a background task (here a forward's) must not restore the terminal under the
/// running dashboard: the row says `internal error`, the log has the panic and its backtrace,
/// and the dashboard keeps answering keys until the user quits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_in_a_forward_is_contained_to_its_row() {
    let drill = Drill::start().await;
    let tmux = drill.dashboard("HASURA_TUI_TEST_PANIC=forward ", 160, 30);
    tmux.send(&["Tab", "j", "f"]);
    let screen = tmux.wait_for(
        "the forward's row to say so",
        Duration::from_secs(10),
        |s| {
            s.lines()
                .any(|l| l.starts_with("data ") && l.contains("internal error"))
        },
    );
    assert_eq!(
        tmux.display("#{alternate_on}"),
        "1",
        "still on the dashboard:\n{screen}"
    );
    assert!(!screen.contains("crashed"), "{screen}");
    // Keys still answer: the help opens and closes.
    tmux.send(&["?"]);
    tmux.wait_for("help open", Duration::from_secs(5), |s| {
        s.contains("keys (Esc closes)")
    });
    tmux.escape();
    tmux.wait_for("help closed", Duration::from_secs(5), |s| {
        !s.contains("keys (Esc closes)")
    });
    tmux.send(&["q"]);
    assert_eq!(tmux.wait_exit(Duration::from_secs(10)), 0);
    let log = std::fs::read_to_string(tmux.home().join("state/hasura-tui/hasura-tui.log")).unwrap();
    assert!(
        log.contains("panic in a background task") && log.contains("deliberate panic"),
        "the panic is in the log"
    );
    assert!(
        log.contains("stack backtrace") || log.contains("forward::task"),
        "with its backtrace"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_and_sighup_quit_cleanly_and_close_every_forward() {
    let drill = Drill::start().await;
    for signal in ["TERM", "HUP"] {
        let tmux = drill.dashboard("", 160, 30);
        tmux.send(&["Tab", "j", "f", "j", "f"]);
        let screen = tmux.wait_for("two forwards", Duration::from_secs(10), |s| {
            forward_address(s, "data").is_some() && forward_address(s, "filestore").is_some()
        });
        let ports = [
            forward_address(&screen, "data").unwrap(),
            forward_address(&screen, "filestore").unwrap(),
        ];
        for addr in ports {
            assert!(!is_closed(addr), "{addr} open before SIG{signal}");
        }
        let pid = program_pid(&tmux);
        let killed = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &pid.to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        assert_eq!(
            tmux.wait_exit(Duration::from_secs(10)),
            0,
            "SIG{signal} quits cleanly"
        );
        for addr in ports {
            assert!(is_closed(addr), "{addr} still open after SIG{signal}");
        }
        assert_eq!(tmux.display("#{alternate_on}"), "0", "SIG{signal}");
        assert_eq!(tmux.display("#{cursor_flag}"), "1", "SIG{signal}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_ca_shows_a_tls_error_and_never_falls_back_to_insecure() {
    let drill = Drill::start().await;
    let other = common::start_demo().await;
    let wrong = with_ca(
        &std::fs::read_to_string(&drill.kubeconfig).unwrap(),
        other.ca_pem(),
    );
    let path = drill._dir.path().join("wrong-ca");
    std::fs::write(&path, wrong).unwrap();
    let tmux = Tmux::start(&format!("{BIN} --kubeconfig {}", path.display()), 200, 20);
    let screen = tmux.wait_for("a TLS error in the header", Duration::from_secs(15), |s| {
        header(s).contains("TLS")
    });
    println!("wrong CA: {}", header(&screen));
    assert!(
        header(&screen).contains("certificate"),
        "{}",
        header(&screen)
    );
    // Retries keep failing: nothing is ever listed over an unverified connection.
    tmux.assert_never(
        "something was listed over an unverified connection",
        Duration::from_secs(2),
        |s| s.contains("sshd") || !header(s).contains("TLS"),
    );
    tmux.send(&["q"]);
    assert_eq!(tmux.wait_exit(Duration::from_secs(10)), 0);
}

/// The kubeconfig with its CA replaced by `ca_pem`.
pub fn with_ca(kubeconfig: &str, ca_pem: &str) -> String {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    kubeconfig
        .lines()
        .map(
            |line| match line.split_once("certificate-authority-data:") {
                Some((indent, _)) => format!("{indent}certificate-authority-data: {encoded}"),
                None => line.to_string(),
            },
        )
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_20x5_to_400x100_and_an_exposed_forward_is_flagged() {
    let drill = Drill::start().await;
    let tmux = Tmux::start(
        &format!("{BIN} --kubeconfig {}", drill.kubeconfig.display()),
        20,
        5,
    );
    let screen = tmux.wait_for("the too-small notice", Duration::from_secs(20), |s| {
        s.contains("terminal too small")
    });
    assert!(screen.contains("20x5"), "{screen}");

    tmux.resize(400, 100);
    let screen = tmux.wait_for("the full dashboard", Duration::from_secs(10), |s| {
        s.contains("http://filestore.gram29.hasura-app.io") && s.contains(" synced ")
    });
    assert_eq!(screen.lines().count(), 100, "{screen}");
    assert!(
        screen.lines().all(|l| l.chars().count() <= 400),
        "nothing wider than the terminal"
    );
    assert!(screen.contains("Hasura microservices (10)"), "{screen}");

    // F on data, a free local port, the address changed to 0.0.0.0: the row warns.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    tmux.send(&["Tab", "j", "F"]);
    tmux.wait_for("the forward dialog", Duration::from_secs(5), |s| {
        s.contains("forward data.hasura")
    });
    tmux.type_text(&port.to_string());
    tmux.send(&["Tab", "Tab"]);
    for _ in 0..9 {
        tmux.send(&["BSpace"]);
    }
    tmux.type_text("0.0.0.0");
    tmux.send(&["Enter"]);
    let screen = tmux.wait_for("data forwarded on 0.0.0.0", Duration::from_secs(10), |s| {
        s.lines()
            .any(|l| l.starts_with("data ") && l.contains(&format!("0.0.0.0:{port}")))
    });
    let row = screen.lines().find(|l| l.starts_with("data ")).unwrap();
    assert!(row.contains(&format!("⚠ 0.0.0.0:{port}")), "{row}");
    assert!(!is_closed(([127, 0, 0, 1], port).into()), "it serves");

    tmux.send(&["q"]);
    assert_eq!(tmux.wait_exit(Duration::from_secs(10)), 0);
    assert!(
        is_closed(([127, 0, 0, 1], port).into()),
        "closed after quit"
    );
}
