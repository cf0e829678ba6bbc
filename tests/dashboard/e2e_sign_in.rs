//! Sign-in that needs the person, on the real terminal under tmux: an interactive exec plugin's
//! prompt shows on the terminal before the dashboard opens and the typed answer signs in; when
//! the credential expires mid-session the dashboard steps aside for the prompt and comes back;
//! a shell in a pod (`s`) steps aside the same way, and one whose opening needs a renewal
//! opens after the prompt; and a plugin that takes two seconds is announced in the header
//! before it has answered.
use crate::common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::tmux::Tmux;
use hasura_tui::demo::{DemoCluster, DemoExecPlugin, KubeconfigAuth};

const BIN: &str = env!("CARGO_BIN_EXE_hasura-tui");
const WAIT: Duration = Duration::from_secs(20);

struct Setup {
    runtime: tokio::runtime::Runtime,
    demo: Option<DemoCluster>,
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let demo = runtime.block_on(common::start_demo());
        Setup {
            runtime,
            demo: Some(demo),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn runs_file(&self) -> PathBuf {
        self.dir.path().join("runs")
    }

    /// The dashboard with an exec plugin that lives `ttl`, waits `delay`, may ask the person.
    fn dashboard(&self, ttl: Duration, delay: Duration, interactive: bool) -> Tmux {
        let kubeconfig = self.dir.path().join("kubeconfig");
        let plugin = DemoExecPlugin {
            command: BIN.into(),
            user: "admin".into(),
            ttl,
            delay,
            interactive,
            runs_file: Some(self.runs_file()),
        };
        self.demo
            .as_ref()
            .unwrap()
            .write_kubeconfig_with(&kubeconfig, &KubeconfigAuth::Exec(plugin))
            .unwrap();
        Tmux::start(
            &format!("{BIN} --kubeconfig {}", kubeconfig.display()),
            140,
            30,
        )
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        if let Some(demo) = self.demo.take() {
            self.runtime.block_on(demo.shutdown());
        }
    }
}

fn lines(file: &Path, what: &str) -> usize {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with(what))
        .count()
}

fn synced(screen: &str) -> bool {
    screen.contains(" synced ") && screen.contains("sshd") && screen.contains("my-app")
}

#[test]
fn an_interactive_plugin_asks_on_the_real_terminal_then_again_mid_session() {
    let setup = Setup::new();
    let ttl = Duration::from_secs(4);
    let tmux = setup.dashboard(ttl, Duration::ZERO, true);
    // Before any screen: our line, then the plugin's own prompt, on the terminal as it is.
    let screen = tmux.wait_for("the plugin's prompt", WAIT, |s| s.contains("HTUI-2029"));
    let banner = screen
        .find("signing in to gram29 (exec: ")
        .unwrap_or_else(|| panic!("our line comes first:\n{screen}"));
    assert!(banner < screen.find("HTUI-2029").unwrap(), "{screen}");
    assert_eq!(
        tmux.display("#{alternate_on}"),
        "0",
        "no screen drawn over the prompt"
    );
    tmux.type_text("yes");
    tmux.send(&["Enter"]);
    tmux.wait_for("the dashboard, signed in", WAIT, synced);
    assert_eq!(tmux.display("#{alternate_on}"), "1");
    assert_eq!(lines(&setup.runs_file(), "answered"), 1);

    // The credential expires; the next request (a forward) needs the person again: the screen
    // steps aside for the prompt, the answer goes to the plugin, and the dashboard comes back.
    let expired = std::time::Instant::now() + ttl;
    while std::time::Instant::now() < expired {
        tmux.assert_never(
            "no prompt while the credential is good",
            Duration::from_millis(200),
            |s| s.contains("HTUI-2029"),
        );
    }
    tmux.send(&["Tab", "j", "f"]);
    tmux.wait_for("the prompt, mid-session", WAIT, |s| s.contains("HTUI-2029"));
    assert_eq!(
        tmux.display("#{alternate_on}"),
        "0",
        "the dashboard stepped aside"
    );
    tmux.type_text("again");
    tmux.send(&["Enter"]);
    let screen = tmux.wait_for("the dashboard back, with the forward", WAIT, |s| {
        synced(s) && common::tmux::forward_address(s, "data").is_some()
    });
    assert_eq!(tmux.display("#{alternate_on}"), "1");
    assert!(!screen.contains("HTUI-2029"), "redrawn whole:\n{screen}");
    assert_eq!(lines(&setup.runs_file(), "answered"), 2);
    tmux.send(&["q"]);
    assert_eq!(tmux.wait_exit(WAIT), 0);
}

#[test]
fn a_shell_that_needs_a_renewal_opens_after_it_and_steps_aside_for_the_next() {
    let setup = Setup::new();
    let ttl = Duration::from_secs(4);
    let tmux = setup.dashboard(ttl, Duration::ZERO, true);
    tmux.wait_for("the plugin's prompt", WAIT, |s| s.contains("HTUI-2029"));
    tmux.type_text("yes");
    tmux.send(&["Enter"]);
    tmux.wait_for("the dashboard, signed in", WAIT, synced);
    let runs = setup.runs_file();
    assert_eq!(lines(&runs, "answered"), 1);

    // The credential lapses (the dashboard's next request, its metrics, comes 15 s after the
    // first): `s` needs the person first (its access check, or the opening itself), and the
    // prompt comes before the shell.
    let expired = std::time::Instant::now() + ttl;
    while std::time::Instant::now() < expired {
        tmux.assert_never(
            "no prompt while the credential is good",
            Duration::from_millis(200),
            |s| s.contains("HTUI-2029"),
        );
    }
    tmux.send(&["Tab", "j", "s"]);
    tmux.wait_for("the prompt, before the shell", WAIT, |s| {
        s.contains("HTUI-2029")
    });
    assert_eq!(
        tmux.display("#{alternate_on}"),
        "0",
        "no screen over the prompt"
    );
    tmux.type_text("yes");
    tmux.send(&["Enter"]);
    tmux.wait_for("the shell, after signing in", WAIT, |s| {
        s.contains("hasura-tui: /bin/sh in data-") && s.contains("/ #")
    });
    assert_eq!(lines(&runs, "answered"), 2);
    tmux.type_text("echo one-42");
    tmux.send(&["Enter"]);
    tmux.wait_for("the shell answers", WAIT, |s| {
        s.lines().any(|l| l == "one-42")
    });

    // The credential lapses while the shell runs; the metrics request needs the person and
    // the shell steps aside for the prompt (before, the request waited for the shell's end,
    // and every other request behind it).
    let renewal = Duration::from_secs(15) + WAIT;
    tmux.wait_for("the prompt, over the shell", renewal, |s| {
        s.split("\none-42\n")
            .nth(1)
            .is_some_and(|after| after.contains("HTUI-2029"))
    });
    tmux.type_text("again");
    tmux.send(&["Enter"]);
    tmux.wait_for("back in the shell", WAIT, |s| {
        s.contains("hasura-tui: back to the session")
    });
    assert_eq!(lines(&runs, "answered"), 3, "the plugin got the answer");
    tmux.type_text("echo two-43");
    tmux.send(&["Enter"]);
    let screen = tmux.wait_for("the shell answers again", WAIT, |s| {
        s.lines().any(|l| l == "two-43")
    });
    assert!(
        !screen.contains("again: not found"),
        "the answer went to the plugin, not the shell:\n{screen}"
    );
    tmux.type_text("exit");
    tmux.send(&["Enter"]);
    tmux.wait_for("the dashboard back", WAIT, |s| {
        synced(s) && s.contains("ended (exit 0)")
    });
    assert_eq!(tmux.display("#{alternate_on}"), "1");
    tmux.send(&["q"]);
    assert_eq!(tmux.wait_exit(WAIT), 0);
}

#[test]
fn a_slow_plugin_is_announced_before_it_answers() {
    let setup = Setup::new();
    let tmux = setup.dashboard(Duration::from_secs(600), Duration::from_secs(2), false);
    let runs = setup.runs_file();
    // The header says so while the plugin has not answered yet.
    tmux.wait_for("signing in, before the plugin answered", WAIT, |s| {
        let signing = s
            .lines()
            .next()
            .is_some_and(|h| h.contains("signing in (exec: "));
        if signing {
            assert_eq!(
                lines(&runs, "answered"),
                0,
                "the header said signing in only after the plugin answered:\n{s}"
            );
        }
        signing
    });
    tmux.wait_for("the dashboard, signed in", WAIT, synced);
    assert_eq!(lines(&runs, "answered"), 1);
    tmux.send(&["q"]);
    assert_eq!(tmux.wait_exit(WAIT), 0);
}
