//! `hasura-tui list` as a process against the demo cluster (itself a process), compared with the
//! seed's layout line by line, plus `-n`, `-o wide`, `-o json` and the exit codes.
use crate::common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_hasura-tui");

struct Demo {
    child: Child,
    kubeconfig: PathBuf,
    _dir: tempfile::TempDir,
}

impl Demo {
    fn start() -> Demo {
        Demo::start_with(&[])
    }

    /// Only the seed (the demo cluster's first content), without the Services of other shapes.
    fn seed() -> Demo {
        Demo::start_with(&["--seed-only"])
    }

    fn start_with(args: &[&str]) -> Demo {
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        let mut child = Command::new(BIN)
            .args(["demo-cluster", "--write-kubeconfig"])
            .arg(&kubeconfig)
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        Demo {
            child,
            kubeconfig,
            _dir: dir,
        }
    }

    fn list(&self, args: &[&str]) -> (i32, String, String) {
        let out = Command::new(BIN)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("list")
            .args(args)
            .env("XDG_STATE_HOME", self._dir.path())
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn list_matches_the_seed_line_by_line() {
    let demo = Demo::seed();
    let (code, stdout, stderr) = demo.list(&[]);
    assert_eq!(code, 0, "{stderr}");
    let got: Vec<&str> = stdout.lines().collect();
    let want: Vec<&str> = common::SEED_LIST.lines().collect();
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "line {}", i + 1);
    }
    assert_eq!(got.len(), want.len(), "{stdout}");
}

#[test]
fn list_sections_wide_and_json() {
    let demo = Demo::seed();
    let (code, hasura, _) = demo.list(&["-n", "hasura"]);
    assert_eq!(code, 0);
    assert!(
        hasura.starts_with("Hasura microservices:\n") && !hasura.contains("my-app"),
        "{hasura}"
    );
    let (_, user, _) = demo.list(&["-n", "user"]);
    assert!(
        user.starts_with("Custom microservices:\n")
            && user.contains("my-app")
            && !user.contains("auth"),
        "{user}"
    );

    let (code, wide, _) = demo.list(&["-o", "wide", "-n", "hasura"]);
    assert_eq!(code, 0);
    let header: Vec<&str> = wide.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "NAME",
            "STATUS",
            "REPLICAS",
            // The demo cluster serves metrics.k8s.io, as a cluster with metrics-server does.
            "CPU",
            "MEM",
            "INTERNAL-URL",
            "EXTERNAL-URL",
            "PORTS",
            "AGE"
        ]
    );
    let postgres = wide.lines().find(|l| l.starts_with("postgres ")).unwrap();
    let cells: Vec<&str> = postgres.split_whitespace().collect();
    assert!(
        postgres.contains("postgres.hasura:5432")
            && cells[2] == "1/1"
            && cells[3].ends_with('m')
            && cells[4].ends_with("Mi")
            && postgres.contains("5432->pg/TCP"),
        "{postgres}"
    );

    let (code, json, _) = demo.list(&["-o", "json"]);
    assert_eq!(code, 0);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    assert_eq!(rows.len(), 11);
    let data = rows.iter().find(|r| r["name"] == "data").unwrap();
    assert_eq!(data["namespace"], "hasura");
    assert_eq!(data["section"], "hasura");
    assert_eq!(data["status"], "Running");
    assert_eq!(data["replicas"], "1/1");
    assert_eq!(data["internal_url"], "data.hasura");
    assert_eq!(data["external_url"], "http://data.gram29.hasura-app.io");
    assert_eq!(data["ports"][0]["port"], 80);
    let gateway = rows.iter().find(|r| r["name"] == "gateway").unwrap();
    assert!(gateway["external_url"].is_null());
}

#[test]
fn list_exit_codes() {
    let demo = Demo::start();
    // A literal namespace is listed as it is (docs/clusters.md), in the custom section's layout:
    // `default` while the user namespace is set elsewhere, and one with nothing in it.
    let (code, listed, stderr) = demo.list(&["--user-namespace", "apps", "-n", "default"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        listed.starts_with("Custom microservices:\n") && listed.contains("my-app.default"),
        "{listed}"
    );
    assert!(!listed.contains("Hasura microservices"), "{listed}");
    let (code, empty, stderr) = demo.list(&["-n", "kube-system"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        !empty.contains("my-app") && !empty.contains("auth"),
        "{empty}"
    );

    let out = Command::new(BIN)
        .args(["--kubeconfig", "/nonexistent", "list"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("/nonexistent") && stderr.contains("--demo"),
        "{stderr}"
    );

    let out = Command::new(BIN)
        .args(["list", "-o", "yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "usage errors exit 2");
}

#[test]
fn list_against_an_unreachable_server_fails_with_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let demo = Demo::start();
    // Same credentials, but a port where nothing listens.
    let yaml = std::fs::read_to_string(&demo.kubeconfig).unwrap();
    let server_line = yaml
        .lines()
        .find(|l| l.trim_start().starts_with("server:"))
        .unwrap();
    let dead = listener_port_that_is_closed();
    let broken = yaml.replace(
        server_line,
        &format!("      server: https://127.0.0.1:{dead}"),
    );
    let path = dir.path().join("kubeconfig");
    std::fs::write(&path, broken).unwrap();
    let out = Command::new(BIN)
        .arg("--kubeconfig")
        .arg(&path)
        .arg("list")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("unreachable") && stderr.to_lowercase().contains("refused"),
        "{stderr}"
    );
}

fn listener_port_that_is_closed() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn the_most_verbose_log_never_holds_the_token_or_certificates() {
    let demo = Demo::start();
    let state = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .arg("--kubeconfig")
        .arg(&demo.kubeconfig)
        .arg("list")
        .env("XDG_STATE_HOME", state.path())
        .env("HASURA_TUI_LOG", "trace")
        .output()
        .unwrap();
    assert!(out.status.success());
    let kubeconfig = std::fs::read_to_string(&demo.kubeconfig).unwrap();
    let token = kubeconfig
        .lines()
        .find_map(|l| l.trim().strip_prefix("token: "))
        .unwrap()
        .trim()
        .to_string();
    let ca = kubeconfig
        .lines()
        .find_map(|l| l.trim().strip_prefix("certificate-authority-data: "))
        .unwrap()
        .trim()
        .to_string();
    let log_path = state.path().join("hasura-tui/hasura-tui.log");
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        log.lines().count() > 100,
        "trace logging is on: {} lines",
        log.lines().count()
    );
    for (secret, what) in [
        (token.as_str(), "token"),
        (&ca[..40], "CA data"),
        ("BEGIN CERTIFICATE", "a certificate"),
    ] {
        assert!(!log.contains(secret), "the log holds {what}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "output holds {what}"
        );
    }
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&log_path).unwrap().permissions().mode() & 0o777,
        0o600
    );
}
