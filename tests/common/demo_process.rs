//! The demo cluster as a separate process (`hasura-tui demo-cluster`), as a newcomer starts it,
//! for tests that drive it with kubectl or with hasura-tui's own commands.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::kubectl;

/// `hasura-tui demo-cluster` as a child process, killed when dropped.
pub struct DemoProcess {
    pub child: Child,
    pub kubeconfig: PathBuf,
    /// Its kubeconfig and kubectl's cache; other files of a test may go here too.
    pub dir: tempfile::TempDir,
}

impl DemoProcess {
    pub fn start() -> DemoProcess {
        DemoProcess::start_with(&[])
    }

    pub fn start_with(args: &[&str]) -> DemoProcess {
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("gram29.yaml");
        let mut child = Command::new(env!("CARGO_BIN_EXE_hasura-tui"))
            .args(["demo-cluster", "--write-kubeconfig"])
            .arg(&kubeconfig)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("hasura-tui starts");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).unwrap();
        // Keep reading so the child never writes into a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        assert!(
            first.contains("listening on https://127.0.0.1:"),
            "first line: {first}"
        );
        DemoProcess {
            child,
            kubeconfig,
            dir,
        }
    }

    /// kubectl's exit code, stdout and stderr, whatever they are.
    pub fn kubectl_output(&self, args: &[&str]) -> (i32, String, String) {
        let output = Command::new(kubectl())
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            // Discovery cached per demo: kubectl keys its cache by host and port, and a port
            // reused from an earlier demo (with Endpoints) would answer for this one.
            .arg("--cache-dir")
            .arg(self.dir.path().join("kube-cache"))
            .args(args)
            .output()
            .unwrap();
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8(output.stdout).unwrap(),
            String::from_utf8(output.stderr).unwrap(),
        )
    }

    pub fn kubectl(&self, args: &[&str]) -> String {
        let output = Command::new(kubectl())
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            // Discovery cached per demo: kubectl keys its cache by host and port, and a port
            // reused from an earlier demo (with Endpoints) would answer for this one.
            .arg("--cache-dir")
            .arg(self.dir.path().join("kube-cache"))
            .args(args)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "kubectl {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// hasura-tui with `kubeconfig` (this demo's, or one made from it): its exit code, stdout
    /// and stderr.
    pub fn run(&self, kubeconfig: &Path, args: &[&str]) -> (i32, String, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_hasura-tui"))
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(args)
            .env("XDG_STATE_HOME", self.dir.path())
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "demo-cluster did not exit on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for DemoProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
