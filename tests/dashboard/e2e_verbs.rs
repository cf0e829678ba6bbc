//! The dashboard's other verbs end to end, in a real terminal under tmux against the demo
//! cluster (in-process, so the test can kill pods): `l` the logs pane following live and picking
//! up a replacement pod, `o` calling the browser double with the model's external URL, `y`
//! copying through OSC 52 (read back from tmux's paste buffer), and forwards restored after a
//! restart on the same ports, carrying traffic, with a taken port shown as the row's error.
use crate::common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::tmux::{Tmux, forward_address};
use hasura_tui::demo::{DemoCluster, DemoOptions};

const BIN: &str = env!("CARGO_BIN_EXE_hasura-tui");
const WAIT: Duration = Duration::from_secs(20);

struct Setup {
    runtime: tokio::runtime::Runtime,
    demo: Option<DemoCluster>,
    kubeconfig: PathBuf,
    dir: tempfile::TempDir,
}

impl Setup {
    fn new(churn: bool) -> Setup {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let demo = runtime.block_on(common::start_demo_with(DemoOptions {
            churn,
            pod_start_delay: Duration::from_millis(150),
            pod_termination_delay: Duration::from_millis(100),
            // The seed only: these tests drive the first row, my-app.
            shapes: false,
            ..DemoOptions::default()
        }));
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        demo.write_kubeconfig(&kubeconfig).unwrap();
        Setup {
            runtime,
            demo: Some(demo),
            kubeconfig,
            dir,
        }
    }

    fn demo(&self) -> &DemoCluster {
        self.demo.as_ref().unwrap()
    }

    /// The dashboard on the demo, with its config directory in this test's folder (so runs
    /// share saved forwards) and `env` before it.
    fn dashboard(&self, env: &str, flags: &str) -> Tmux {
        let config = self.dir.path().join("config");
        let tmux = Tmux::start(
            &format!(
                "env XDG_CONFIG_HOME={} {env} {BIN} --kubeconfig {} {flags}",
                config.display(),
                self.kubeconfig.display()
            ),
            150,
            30,
        );
        tmux.wait_for("the dashboard", WAIT, |s| {
            s.contains("my-app") && s.contains("synced")
        });
        tmux
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        if let Some(demo) = self.demo.take() {
            self.runtime.block_on(demo.shutdown());
        }
    }
}

#[test]
fn logs_pane_follows_live_and_picks_up_a_replacement_pod() {
    let setup = Setup::new(true);
    let _runtime = setup.runtime.enter();
    let faults = setup.demo().faults();
    faults.scale("default", "my-app", 2).unwrap();
    let before = wait_until("my-app's second pod", || {
        let pods = faults.live_pods("default", "my-app").unwrap();
        (pods.len() == 2).then_some(pods)
    });
    let tmux = setup.dashboard("", "");
    tmux.send(&["l"]);
    // Both pods, interleaved, each line with its pod.
    let screen = tmux.wait_for("both pods' lines", WAIT, |s| {
        s.contains("Logs of my-app.default")
            && before.iter().all(|p| s.contains(&format!("[{p}] ")))
    });
    assert!(screen.contains("following"), "{screen}");
    // New lines arrive while following: a request number not on screen before shows up.
    let newest = |s: &str| {
        s.lines()
            .filter_map(|l| l.split("handled request #").nth(1))
            .filter_map(|n| n.trim().parse::<u64>().ok())
            .max()
    };
    let seen = newest(&tmux.wait_for("a churn line", WAIT, |s| newest(s).is_some())).unwrap();
    tmux.wait_for("a newer churn line", WAIT, |s| newest(s) > Some(seen));

    let killed = faults.kill_one_pod("default", "my-app").unwrap();
    let screen = tmux.wait_for("the replacement pod's lines", WAIT, |s| {
        s.lines().any(|l| {
            l.contains("INFO starting my-app (pod ") && !before.iter().any(|p| l.contains(p))
        })
    });
    assert!(screen.contains(&format!("pod {killed} gone")), "{screen}");

    // Once there is more than a screenful, scrolling up stops following; G follows again;
    // Esc goes back to the tables.
    let lines = |s: &str| -> usize {
        s.lines()
            .find_map(|l| {
                l.split("  ")
                    .find_map(|w| w.strip_suffix(" lines")?.parse().ok())
            })
            .unwrap_or(0)
    };
    tmux.wait_for("more than a screenful", Duration::from_secs(40), |s| {
        lines(s) > 30
    });
    tmux.send(&["k"]);
    tmux.wait_for("scrolled", WAIT, |s| s.contains("scrolled ("));
    tmux.send(&["G"]);
    tmux.wait_for("following again", WAIT, |s| s.contains("following"));
    tmux.escape();
    tmux.wait_for("the tables again", WAIT, |s| {
        s.contains("Custom microservices") && !s.contains("Logs of")
    });
    tmux.send(&["q"]);
    assert_eq!(tmux.wait_exit(WAIT), 0);
}

/// Polls `check` until it gives a value, failing after `WAIT`.
fn wait_until<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out after {WAIT:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A saved identity is checked as a typed one is: one that is not a valid header value is
/// refused with a line in the header, and that forward is not started as if it had it.
#[test]
fn a_saved_identity_that_is_not_a_header_value_is_refused_with_a_header_line() {
    let setup = Setup::new(false);
    let saved = setup.dir.path().join("config/hasura-tui/forwards.json");
    std::fs::create_dir_all(saved.parent().unwrap()).unwrap();
    let spec = |service: &str, role: &str| {
        format!(
            r#"{{"namespace": "hasura", "service": "{service}", "address": "127.0.0.1",
                "local_port": 0, "remote_port": null, "pod": null,
                "gateway": {{"role": "{role}", "user_id": "0"}}}}"#
        )
    };
    std::fs::write(
        &saved,
        format!(
            r#"{{"contexts": {{"gram29": [{}, {}]}}}}"#,
            spec("data", "admin"),
            spec("auth", "ad min\\r\\nX-Evil: 1")
        ),
    )
    .unwrap();
    let tmux = setup.dashboard("", "");
    let screen = tmux.wait_for("the refusal in the header", WAIT, |s| {
        s.lines()
            .next()
            .is_some_and(|h| h.contains("auth.hasura not restored"))
    });
    let header = screen.lines().next().unwrap();
    assert!(header.contains("identity refused"), "{header}");
    let screen = tmux.wait_for("data restored", WAIT, |s| {
        forward_address(s, "data").is_some()
    });
    assert!(
        forward_address(&screen, "auth").is_none(),
        "the refused forward is not started:\n{screen}"
    );
    assert!(
        screen
            .lines()
            .any(|l| l.starts_with("data ") && l.contains(" admin ")),
        "{screen}"
    );
    tmux.send(&["q"]);
    assert_eq!(tmux.wait_exit(WAIT), 0);
}

fn wait_file(path: &Path, expected: &str) {
    wait_until(&format!("{} to hold {expected:?}", path.display()), || {
        (std::fs::read_to_string(path).unwrap_or_default() == expected).then_some(())
    });
}

#[test]
fn o_opens_the_external_url_and_y_copies_the_internal_url_by_osc52() {
    let setup = Setup::new(false);
    let (script, opened) = common::browser_double(setup.dir.path());
    let tmux = setup.dashboard(&format!("HASURA_TUI_BROWSER={}", script.display()), "");
    // tmux turns an application's OSC 52 into a paste buffer when set-clipboard is on.
    let out = tmux.run(&["set-option", "-s", "set-clipboard", "on"]);
    assert!(out.status.success());

    tmux.send(&["o"]);
    wait_file(&opened, "http://my-app.gram29.hasura-app.io\n");
    tmux.wait_for("the footer's note", WAIT, |s| {
        s.contains("opened http://my-app.gram29.hasura-app.io")
    });

    tmux.send(&["y"]);
    tmux.wait_for("copied", WAIT, |s| s.contains("copied my-app.default"));
    let buffer = tmux.run(&["show-buffer"]);
    assert_eq!(String::from_utf8_lossy(&buffer.stdout), "my-app.default");

    // The Hasura table: auth, data, ... postgres has no external URL.
    tmux.send(&["Tab"]);
    tmux.send(&["j"]);
    tmux.send(&["o"]);
    wait_file(
        &opened,
        "http://my-app.gram29.hasura-app.io\nhttp://data.gram29.hasura-app.io\n",
    );
    tmux.send(&["y"]);
    tmux.wait_for("copied data", WAIT, |s| s.contains("copied data.hasura"));
    let buffer = tmux.run(&["show-buffer"]);
    assert_eq!(String::from_utf8_lossy(&buffer.stdout), "data.hasura");

    tmux.send(&["/"]);
    tmux.type_text("postgres");
    tmux.send(&["Enter"]);
    tmux.send(&["o"]);
    let screen = tmux.wait_for("no external URL", WAIT, |s| s.contains("no external URL"));
    assert!(screen.contains("postgres has no external URL"), "{screen}");
    tmux.send(&["q"]);
    assert_eq!(tmux.wait_exit(WAIT), 0);
}

fn http_get(addr: SocketAddr) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        .unwrap_or_else(|e| panic!("{addr}: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(b"GET /restored HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn forwards_are_restored_on_the_same_ports_and_a_taken_port_shows_its_error() {
    let setup = Setup::new(false);
    // First run: forward my-app on a port asked for in the F dialog (one the OS says is free,
    // so tests elsewhere on the machine do not collide) and data with `f`, then quit.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let asked = free.local_addr().unwrap().port();
    drop(free);
    let tmux = setup.dashboard("", "");
    tmux.send(&["F"]);
    tmux.wait_for("the forward dialog", WAIT, |s| {
        s.contains("forward my-app.default")
    });
    tmux.type_text(&asked.to_string());
    tmux.send(&["Enter"]);
    tmux.send(&["Tab"]);
    tmux.send(&["j"]);
    tmux.send(&["f"]);
    let screen = tmux.wait_for("two forwards", WAIT, |s| {
        forward_address(s, "my-app").is_some() && forward_address(s, "data").is_some()
    });
    let my_app = forward_address(&screen, "my-app").unwrap();
    let data = forward_address(&screen, "data").unwrap();
    assert_eq!(my_app.port(), asked, "{screen}");
    tmux.send(&["q"]);
    assert_eq!(tmux.wait_exit(WAIT), 0);
    drop(tmux);
    let saved = setup.dir.path().join("config/hasura-tui/forwards.json");
    let text = std::fs::read_to_string(&saved).unwrap();
    let key = format!("\"gram29@{}\"", setup.demo().url());
    assert!(text.contains(&key), "keyed by context and server:\n{text}");
    // data was started without a port: the one it bound is what is saved.
    assert!(
        text.contains(&format!("\"local_port\": {}", data.port())),
        "{text}"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&saved).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    // Second run: the same forwards on the same ports, carrying traffic.
    let tmux = setup.dashboard("", "");
    let screen = tmux.wait_for("the restored forwards", WAIT, |s| {
        forward_address(s, "my-app").is_some() && forward_address(s, "data").is_some()
    });
    assert_eq!(forward_address(&screen, "my-app"), Some(my_app), "{screen}");
    assert_eq!(forward_address(&screen, "data"), Some(data), "{screen}");
    assert!(screen.contains("2 forwards"), "{screen}");
    assert!(http_get(my_app).contains("\"microservice\":\"my-app\""));
    assert!(http_get(data).contains("\"microservice\":\"data\""));
    tmux.send(&["q"]);
    assert_eq!(tmux.wait_exit(WAIT), 0);
    drop(tmux);

    // Third run with my-app's port taken: its row says so, no other port is picked.
    let taken = std::net::TcpListener::bind(my_app).unwrap();
    let tmux = setup.dashboard("", "");
    let screen = tmux.wait_for("the port error", WAIT, |s| {
        s.contains(&format!("port {} in use", my_app.port()))
            && forward_address(s, "data").is_some()
    });
    assert!(
        screen
            .lines()
            .any(|l| l.starts_with("my-app ") && l.contains("in use")),
        "{screen}"
    );
    tmux.send(&["q"]);
    assert_eq!(tmux.wait_exit(WAIT), 0);
    drop(tmux);
    drop(taken);

    // --no-restore starts with none, and leaves the saved set alone.
    let tmux = setup.dashboard("", "--no-restore");
    let screen = tmux.screen();
    assert!(screen.contains("0 forwards"), "{screen}");
    assert!(forward_address(&screen, "my-app").is_none(), "{screen}");
    tmux.send(&["q"]);
    assert_eq!(tmux.wait_exit(WAIT), 0);
    assert_eq!(std::fs::read_to_string(&saved).unwrap(), text);
}
