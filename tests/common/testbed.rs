//! The upstream testbed for a test binary: `scripts/testbed up` once, on first use, shared by
//! the binary's tests, and `scripts/testbed down` when the binary exits. Its state lives in the
//! target folder, one per binary, so a testbed left by a killed run is stopped by the next `up`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub struct Testbed {
    /// The admin's kubeconfig (`system:masters`, client certificate).
    pub admin: PathBuf,
    /// The `developer` user of assets/demo-cluster/rbac.yaml (client certificate).
    pub developer: PathBuf,
    /// The kubectl built at the testbed's release.
    pub kubectl: PathBuf,
    /// The testbed's state: logs, the audit log, certificates.
    pub state: PathBuf,
}

/// The testbed, or why it could not start (told to every test, not only the first).
static TESTBED: OnceLock<Result<Testbed, String>> = OnceLock::new();
static STATE: OnceLock<PathBuf> = OnceLock::new();

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The binary's testbed, started on first use (building it first when the cache is cold).
pub fn testbed() -> &'static Testbed {
    match TESTBED.get_or_init(start) {
        Ok(testbed) => testbed,
        Err(why) => panic!("{why}"),
    }
}

fn start() -> Result<Testbed, String> {
    let binary = std::env::current_exe().expect("the test binary's path");
    let name = binary
        .file_stem()
        .and_then(|s| s.to_str())
        .and_then(|s| s.split('-').next())
        .unwrap_or("tests")
        .to_string();
    let state = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("testbed-{name}"));
    let _ = STATE.set(state.clone());
    // SAFETY: `stop` is a plain function that lives as long as the process.
    unsafe { libc::atexit(stop) };
    let output = Command::new(repo().join("scripts/testbed"))
        .arg("up")
        .env("HASURA_TUI_TESTBED_DIR", &state)
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("scripts/testbed does not run: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!("scripts/testbed up failed: {stdout}"));
    }
    let admin = stdout
        .lines()
        .last()
        .and_then(|l| l.strip_prefix("KUBECONFIG="))
        .map(PathBuf::from)
        .ok_or_else(|| format!("no KUBECONFIG= line from scripts/testbed up: {stdout}"))?;
    let developer = admin.with_file_name("developer.kubeconfig");
    let bin = Command::new(repo().join("scripts/testbed"))
        .arg("bin")
        .output()
        .map_err(|e| format!("scripts/testbed bin: {e}"))?;
    let bin = PathBuf::from(String::from_utf8_lossy(&bin.stdout).trim());
    Ok(Testbed {
        admin,
        developer,
        kubectl: bin.join("kubectl"),
        state,
    })
}

extern "C" fn stop() {
    if let Some(state) = STATE.get() {
        let _ = Command::new(repo().join("scripts/testbed"))
            .arg("down")
            .env("HASURA_TUI_TESTBED_DIR", state)
            .output();
    }
}

impl Testbed {
    /// kubectl at the testbed's release, as the admin; panics with its stderr on failure.
    pub fn kubectl(&self, args: &[&str]) -> String {
        self.kubectl_as(&self.admin, args)
            .unwrap_or_else(|e| panic!("kubectl {args:?}: {e}"))
    }

    /// kubectl with `kubeconfig`; stdout, or stderr as the error.
    pub fn kubectl_as(&self, kubeconfig: &Path, args: &[&str]) -> Result<String, String> {
        let output = Command::new(&self.kubectl)
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(args)
            .output()
            .expect("kubectl runs");
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&output.stderr).into_owned())
        }
    }

    /// `kubectl apply -f -` of `yaml`, as the admin.
    pub fn apply(&self, yaml: &str) {
        use std::io::Write;
        let mut child = Command::new(&self.kubectl)
            .arg("--kubeconfig")
            .arg(&self.admin)
            .args(["apply", "-f", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("kubectl runs");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(yaml.as_bytes())
            .unwrap();
        assert!(
            child.wait().unwrap().success(),
            "kubectl apply failed:\n{yaml}"
        );
    }

    /// A kubeconfig for a new user `name` (a client certificate the testbed's CA signs),
    /// written into the state folder.
    pub fn user(&self, name: &str) -> PathBuf {
        self.user_with(name, &[])
    }

    /// The same for a user in `group` (`system:masters` for another admin).
    pub fn user_in(&self, name: &str, group: &str) -> PathBuf {
        self.user_with(name, &[group])
    }

    fn user_with(&self, name: &str, group: &[&str]) -> PathBuf {
        let output = Command::new(repo().join("scripts/testbed"))
            .args(["user", name])
            .args(group)
            .env("HASURA_TUI_TESTBED_DIR", &self.state)
            .output()
            .expect("scripts/testbed user runs");
        assert!(
            output.status.success(),
            "scripts/testbed user {name}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        PathBuf::from(String::from_utf8_lossy(&output.stdout).trim())
    }

    /// The audit log's lines of `user` (the API server writes one per request; see
    /// testbed/audit-policy.yaml), parsed.
    pub fn audit(&self, user: &str) -> Vec<serde_json::Value> {
        let text = std::fs::read_to_string(self.state.join("logs/audit.log")).unwrap_or_default();
        text.lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|e| e["user"]["username"] == user)
            .collect()
    }
}
