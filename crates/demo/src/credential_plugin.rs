//! The demo cluster's exec credential plugin, run as `hasura-tui demo-credential` from the
//! kubeconfig `demo-cluster --auth exec` writes: it behaves as `aws eks get-token` or
//! `kubelogin` do. It reads `KUBERNETES_EXEC_INFO`, may take a while, may first ask the person
//! something on the terminal (a device-login prompt on stderr, one line of answer on stdin), and
//! prints an ExecCredential (client.authentication.k8s.io/v1) with a short-lived token.

use std::io::{BufRead, Write};
use std::path::Path;
use std::time::{Duration, SystemTime};

use k8s_openapi::jiff::Timestamp;
use serde_json::json;

use super::DemoError;
use super::identity::{API_AUDIENCE, TokenKey};
use super::kubeconfig::KEY_ENV;

pub struct PluginRun<'a> {
    pub user: &'a str,
    pub ttl: Duration,
    pub delay: Duration,
    pub interactive: bool,
    pub runs_file: Option<&'a Path>,
}

/// Runs once: the ExecCredential on stdout, or an error (exit code 1, a line on stderr).
pub fn run(run: &PluginRun) -> Result<(), DemoError> {
    let fail = |message: String| DemoError::Content(message);
    note(run.runs_file, "start")?;
    let key = std::env::var(KEY_ENV)
        .ok()
        .and_then(|hex| TokenKey::from_hex(&hex))
        .ok_or_else(|| fail(format!("{KEY_ENV} is not set to the demo cluster's key")))?;
    // client-go says whether the plugin may talk to the person.
    let info: serde_json::Value = std::env::var("KUBERNETES_EXEC_INFO")
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default();
    if run.interactive {
        if info["spec"]["interactive"] == json!(false) {
            return Err(fail(
                "this sign-in needs a terminal, and the client gave none".into(),
            ));
        }
        let mut stderr = std::io::stderr();
        let _ = write!(
            stderr,
            "To sign in, open https://login.demo.invalid/device and enter the code HTUI-2029.\nThen type anything here and press Enter: "
        );
        let _ = stderr.flush();
        let mut answer = String::new();
        let read = std::io::stdin()
            .lock()
            .read_line(&mut answer)
            .map_err(|e| fail(format!("reading the answer: {e}")))?;
        if read == 0 {
            return Err(fail("no answer: sign-in cancelled".into()));
        }
        let _ = writeln!(stderr, "signed in as {}", run.user);
    }
    std::thread::sleep(run.delay);
    let token = key.mint(run.user, API_AUDIENCE, run.ttl);
    let expires =
        Timestamp::try_from(SystemTime::now() + run.ttl).map_err(|e| fail(e.to_string()))?;
    // Whole seconds, as Go writes metav1.Time.
    let expires = Timestamp::from_second(expires.as_second()).unwrap_or(expires);
    let credential = json!({
        "apiVersion": "client.authentication.k8s.io/v1",
        "kind": "ExecCredential",
        "status": {"token": token, "expirationTimestamp": expires.to_string()},
    });
    note(run.runs_file, "answered")?;
    println!("{credential}");
    Ok(())
}

/// Appends `what` and the time to the runs file, if there is one.
fn note(runs_file: Option<&Path>, what: &str) -> Result<(), DemoError> {
    let Some(path) = runs_file else {
        return Ok(());
    };
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| DemoError::Content(format!("{}: {e}", path.display())))?;
    let _ = writeln!(file, "{what} {}", Timestamp::now());
    Ok(())
}
