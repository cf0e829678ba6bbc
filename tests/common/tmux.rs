//! Driving the real binary in a real terminal: tmux with send-keys and capture-pane, on a private
//! server socket so tests never touch (or are touched by) anyone else's tmux.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

pub struct Tmux {
    socket: String,
    pub session: String,
    _home: tempfile::TempDir,
}

impl Tmux {
    /// Starts `command` (run by sh) in a detached session of `width`x`height`, with HOME and the
    /// state directory in a temporary folder, and the pane kept after the program exits.
    pub fn start(command: &str, width: u16, height: u16) -> Tmux {
        let home = tempfile::tempdir().unwrap();
        let socket = format!("hasura-tui-test-{}-{}", std::process::id(), rand_suffix());
        let tmux = Tmux {
            socket,
            session: "e2e".into(),
            _home: home,
        };
        let env = format!(
            "env HOME={home} XDG_STATE_HOME={home}/state XDG_CONFIG_HOME={home}/config TERM=xterm-256color ",
            home = tmux._home.path().display()
        );
        // A shell stays after the program, printing its exit status, so the terminal state the
        // program left behind (alternate screen, cursor) can be inspected on a live pane.
        let wrapped = format!("{env}sh -c '{command}; echo \"[exited $?]\"; sleep 600'");
        let (w, h, cmd) = (width.to_string(), height.to_string(), wrapped);
        let out = tmux.run(&[
            "-f",
            "/dev/null",
            "start-server",
            ";",
            "set-option",
            "-g",
            "remain-on-exit",
            "on",
            ";",
            "new-session",
            "-d",
            "-s",
            &tmux.session,
            "-x",
            &w,
            "-y",
            &h,
            &cmd,
        ]);
        assert!(
            out.status.success(),
            "tmux new-session failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        tmux
    }

    pub fn home(&self) -> &Path {
        self._home.path()
    }

    /// Any tmux command on this private server (e.g. `set-option`, `show-buffer`).
    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(tmux_binary())
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux runs")
    }

    pub fn send(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", &self.session];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    /// Resizes the window, as a user dragging the terminal's corner would.
    pub fn resize(&self, width: u16, height: u16) {
        let (w, h) = (width.to_string(), height.to_string());
        let out = self.run(&["resize-window", "-t", &self.session, "-x", &w, "-y", &h]);
        assert!(
            out.status.success(),
            "tmux resize-window failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Escape, sent on its own. A terminal program tells a lone Esc from the start of an escape
    /// sequence by what arrives with it, so the caller waits for the screen Esc leads to before
    /// sending the next key (the keys before it were read once their screen showed).
    pub fn escape(&self) {
        self.send(&["Escape"]);
    }

    /// Types text literally (no key-name lookup).
    pub fn type_text(&self, text: &str) {
        self.run(&["send-keys", "-t", &self.session, "-l", text]);
    }

    pub fn screen(&self) -> String {
        String::from_utf8_lossy(
            &self
                .run(&["capture-pane", "-p", "-t", &self.session])
                .stdout,
        )
        .into_owned()
    }

    pub fn display(&self, format: &str) -> String {
        String::from_utf8_lossy(
            &self
                .run(&["display-message", "-p", "-t", &self.session, format])
                .stdout,
        )
        .trim()
        .to_string()
    }

    /// Waits until the screen satisfies `check`; fails showing the screen after `timeout`.
    pub fn wait_for(&self, what: &str, timeout: Duration, check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let screen = self.screen();
            if check(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Watches the screen for `window` and fails the moment `bad` holds (a property over time,
    /// such as "nothing is ever listed", looked at throughout, not only at the end).
    pub fn assert_never(&self, what: &str, window: Duration, bad: impl Fn(&str) -> bool) {
        let until = Instant::now() + window;
        loop {
            let screen = self.screen();
            assert!(!bad(&screen), "{what}; screen:\n{screen}");
            if Instant::now() >= until {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for the program in the pane to exit; returns its exit status.
    pub fn wait_exit(&self, timeout: Duration) -> i32 {
        let screen = self.wait_for("the program to exit", timeout, |s| s.contains("[exited "));
        let status = screen
            .split("[exited ")
            .nth(1)
            .and_then(|rest| rest.split(']').next())
            .unwrap_or("");
        status
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("no exit status on screen:\n{screen}"))
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

fn rand_suffix() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
        ^ u64::from(std::process::id()).rotate_left(17)
}

/// The local address a row's FORWARD column shows: `:8080` (loopback, the short form) or
/// `⚠ 0.0.0.0:8080` (any other address, flagged).
pub fn forward_address(screen: &str, name: &str) -> Option<std::net::SocketAddr> {
    let row = screen
        .lines()
        .find(|l| l.starts_with(&format!("{name} ")))?;
    row.split_whitespace().find_map(|word| {
        let word = word.trim_start_matches('⚠');
        match word.strip_prefix(':') {
            Some(port) => port
                .parse::<u16>()
                .ok()
                .map(|p| std::net::SocketAddr::from(([127, 0, 0, 1], p))),
            None => word.parse().ok(),
        }
    })
}

/// The traffic counters a row's FORWARD column shows (`▲12K ▼3.0M`), as text.
pub fn forward_counters(screen: &str, name: &str) -> Option<(String, String)> {
    let row = screen
        .lines()
        .find(|l| l.starts_with(&format!("{name} ")))?;
    let counter = |mark: char| {
        row.split_whitespace()
            .find_map(|w| w.strip_prefix(mark))
            .map(str::to_string)
    };
    Some((counter('▲')?, counter('▼')?))
}

/// tmux, or a failure saying it is missing (never a silent pass).
pub fn tmux_binary() -> std::path::PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("tmux"))
            .find(|p| p.is_file())
    });
    found.expect("tmux is not on PATH: the end-to-end tests drive the dashboard in a real terminal under tmux")
}
