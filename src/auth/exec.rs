//! Running an exec credential plugin (`users[].user.exec` in the kubeconfig) as client-go does:
//! `KUBERNETES_EXEC_INFO` set, stdin given only when the plugin may talk to the person, the
//! ExecCredential read from stdout, and errors worded after client-go's, each on one line.
//! A plugin that may not need the person gets no terminal: its stderr goes to the log (its last
//! line to the error), never onto a drawn screen.
//!
//! Source: client-go `plugin/pkg/client/auth/exec/exec.go` (`refreshCredsLocked`,
//! `wrapCmdRunErrorLocked`, `isInteractive`) and `pkg/apis/clientauthentication/v1`.

use std::io::IsTerminal;
use std::time::{Duration, SystemTime};

use k8s_openapi::jiff::Timestamp;
use kube::config::{ExecConfig, ExecInteractiveMode};

use super::terminal::Terminal;

/// How long a plugin that cannot need the person may take.
const PLUGIN_TIMEOUT: Duration = Duration::from_secs(120);
const V1: &str = "client.authentication.k8s.io/v1";
const V1BETA1: &str = "client.authentication.k8s.io/v1beta1";

/// A credential a plugin (or a token file) gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cred {
    pub token: String,
    /// `None`: good until the server says otherwise (a 401).
    pub expires: Option<SystemTime>,
    pub obtained: SystemTime,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PluginError {
    #[error("exec plugin for user {user:?}: {reason}")]
    Config { user: String, reason: String },
    #[error(
        "exec plugin {command:?} not found (a client-go credential plugin that is not installed){}",
        hint.as_ref().map(|h| format!("; {h}")).unwrap_or_default()
    )]
    NotFound {
        command: String,
        hint: Option<String>,
    },
    #[error(
        "exec plugin {command:?} failed with exit code {code}{}",
        last_line(stderr)
    )]
    Failed {
        command: String,
        code: i32,
        stderr: Option<String>,
    },
    #[error("exec plugin {command:?} did not print an ExecCredential: {reason}")]
    Output { command: String, reason: String },
    #[error(
        "exec plugin {command:?} needs a terminal (interactiveMode: Always), and standard input is not one"
    )]
    NotATerminal { command: String },
    #[error("exec plugin {command:?}: {reason}")]
    Run { command: String, reason: String },
}

fn last_line(stderr: &Option<String>) -> String {
    stderr
        .as_deref()
        .map(|s| format!(": {s}"))
        .unwrap_or_default()
}

/// One user's exec plugin.
#[derive(Clone, Debug)]
pub struct ExecPlugin {
    /// The kubeconfig user (for messages) and context (for the banner).
    pub user: String,
    pub context: String,
    pub exec: ExecConfig,
}

impl ExecPlugin {
    /// The command as the person knows it (`aws`, `gke-gcloud-auth-plugin`).
    pub fn command(&self) -> String {
        self.exec.command.clone().unwrap_or_default()
    }

    fn api_version(&self) -> String {
        self.exec.api_version.clone().unwrap_or_default()
    }

    /// Whether the plugin is given the terminal: `Never` no; `IfAvailable` when stdin is a
    /// terminal; `Always` must have one. Unset defaults to `IfAvailable` for v1beta1 and is an
    /// error for v1 (client-go's defaulting and validation).
    pub fn interactive(&self) -> Result<bool, PluginError> {
        let config = |reason: String| PluginError::Config {
            user: self.user.clone(),
            reason,
        };
        if self.exec.command.as_deref().is_none_or(str::is_empty) {
            return Err(config("command must be specified".into()));
        }
        let api = self.api_version();
        if api != V1 && api != V1BETA1 {
            return Err(config(format!("invalid apiVersion {api:?}")));
        }
        let tty = std::io::stdin().is_terminal();
        match (&self.exec.interactive_mode, api.as_str()) {
            (Some(ExecInteractiveMode::Never), _) => Ok(false),
            (Some(ExecInteractiveMode::IfAvailable), _) | (None, V1BETA1) => Ok(tty),
            (Some(ExecInteractiveMode::Always), _) if tty => Ok(true),
            (Some(ExecInteractiveMode::Always), _) => Err(PluginError::NotATerminal {
                command: self.command(),
            }),
            (None, _) => Err(config(
                "interactiveMode must be specified to use exec authentication plugin".into(),
            )),
        }
    }

    /// `KUBERNETES_EXEC_INFO`'s spec: whether the plugin may talk to the person, and with
    /// `provideClusterInfo` the cluster (server, CA, TLS name, proxy, and the cluster's
    /// `client.authentication.k8s.io/exec` extension as `config`): client-go `rest/exec.go`
    /// `ConfigToExecCluster`. kube's loader fills `cluster` in from the kubeconfig.
    fn spec(&self, interactive: bool) -> Result<serde_json::Value, PluginError> {
        let mut spec = serde_json::json!({"interactive": interactive});
        if self.exec.provide_cluster_info {
            let cluster = self
                .exec
                .cluster
                .as_ref()
                .ok_or_else(|| PluginError::Config {
                    user: self.user.clone(),
                    reason: "provideClusterInfo is set and the context has no cluster".into(),
                })?;
            spec["cluster"] = serde_json::to_value(cluster).map_err(|e| PluginError::Config {
                user: self.user.clone(),
                reason: format!("cluster info: {e}"),
            })?;
        }
        Ok(spec)
    }

    /// Runs the plugin once and reads its credential.
    pub async fn run(&self, terminal: &Terminal) -> Result<Cred, PluginError> {
        let interactive = self.interactive()?;
        let command = self.command();
        let info = serde_json::json!({
            "kind": "ExecCredential",
            "apiVersion": self.api_version(),
            "spec": self.spec(interactive)?,
        });
        let mut cmd = tokio::process::Command::new(&command);
        cmd.args(self.exec.args.iter().flatten())
            .envs(
                self.exec
                    .env
                    .iter()
                    .flatten()
                    .filter_map(|pair| Some((pair.get("name")?, pair.get("value")?))),
            )
            .env("KUBERNETES_EXEC_INFO", info.to_string())
            .kill_on_drop(true);
        let started = std::time::Instant::now();
        let output = if interactive {
            let banner = format!("signing in to {} (exec: {command})…", self.context);
            terminal.run(cmd, banner).await
        } else {
            cmd.stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            match tokio::time::timeout(PLUGIN_TIMEOUT, cmd.output()).await {
                Ok(output) => output,
                Err(_) => Err(std::io::Error::other(format!(
                    "no answer within {}s",
                    PLUGIN_TIMEOUT.as_secs()
                ))),
            }
        };
        let output = output.map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => PluginError::NotFound {
                command: command.clone(),
                hint: self
                    .exec
                    .install_hint
                    .as_deref()
                    .map(one_line)
                    .filter(|h| !h.is_empty()),
            },
            _ => PluginError::Run {
                command: command.clone(),
                reason: e.to_string(),
            },
        })?;
        // What a non-interactive plugin said goes to the log, never to the screen.
        let stderr = String::from_utf8_lossy(&output.stderr);
        for line in stderr.lines().filter(|l| !l.trim().is_empty()) {
            tracing::info!(plugin = %command, "{line}");
        }
        let last = stderr
            .lines()
            .rev()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .map(str::to_string);
        if !output.status.success() {
            return Err(PluginError::Failed {
                command,
                code: output.status.code().unwrap_or(-1),
                stderr: last,
            });
        }
        let cred = self.parse(&output.stdout)?;
        tracing::info!(
            plugin = %command,
            took_ms = started.elapsed().as_millis() as u64,
            expires = ?cred.expires.map(Timestamp::try_from),
            "exec plugin signed in"
        );
        Ok(cred)
    }

    /// Reads an ExecCredential (JSON, as every plugin prints it).
    fn parse(&self, stdout: &[u8]) -> Result<Cred, PluginError> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Status {
            token: Option<String>,
            expiration_timestamp: Option<String>,
            client_certificate_data: Option<String>,
            client_key_data: Option<String>,
        }
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Credential {
            api_version: Option<String>,
            kind: Option<String>,
            status: Option<Status>,
        }
        let bad = |reason: String| PluginError::Output {
            command: self.command(),
            reason,
        };
        let credential: Credential = serde_json::from_slice(stdout)
            .map_err(|e| bad(format!("decoding stdout: {}", one_line(&e.to_string()))))?;
        if credential.kind.as_deref() != Some("ExecCredential") {
            return Err(bad(format!(
                "kind is {:?}, not ExecCredential",
                credential.kind.unwrap_or_default()
            )));
        }
        let api = self.api_version();
        if credential.api_version.as_deref() != Some(api.as_str()) {
            return Err(bad(format!(
                "the plugin is configured to use API version {api}, it returned version {}",
                credential.api_version.unwrap_or_default()
            )));
        }
        let status = credential
            .status
            .ok_or_else(|| bad("no status field".into()))?;
        if status.client_certificate_data.is_some() || status.client_key_data.is_some() {
            return Err(bad(
                "it returned a client certificate; only tokens from exec plugins are supported"
                    .into(),
            ));
        }
        let token = status
            .token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| bad("no token".into()))?;
        let expires = status
            .expiration_timestamp
            .map(|t| {
                t.parse::<Timestamp>()
                    .map(SystemTime::from)
                    .map_err(|e| bad(format!("expirationTimestamp {t:?}: {e}")))
            })
            .transpose()?;
        Ok(Cred {
            token,
            expires,
            obtained: SystemTime::now(),
        })
    }
}

/// The first non-empty line (plugin hints and decoder errors span several).
fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or_default()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plugin(api: &str, mode: Option<ExecInteractiveMode>) -> ExecPlugin {
        ExecPlugin {
            user: "dev".into(),
            context: "gram29".into(),
            exec: ExecConfig {
                api_version: Some(api.into()),
                command: Some("plugin".into()),
                args: None,
                env: None,
                drop_env: None,
                install_hint: None,
                interactive_mode: mode,
                provide_cluster_info: false,
                cluster: None,
                other: Default::default(),
            },
        }
    }

    #[test]
    fn interactive_mode_follows_client_go() {
        // Tests run without a terminal on stdin.
        let never = plugin(V1, Some(ExecInteractiveMode::Never));
        assert_eq!(never.interactive(), Ok(false));
        let if_available = plugin(V1, Some(ExecInteractiveMode::IfAvailable));
        assert_eq!(
            if_available.interactive(),
            Ok(std::io::stdin().is_terminal())
        );
        let unset_beta = plugin(V1BETA1, None);
        assert_eq!(unset_beta.interactive(), if_available.interactive());
        let unset_v1 = plugin(V1, None).interactive().unwrap_err().to_string();
        assert!(
            unset_v1.contains("interactiveMode must be specified"),
            "{unset_v1}"
        );
        let bad = plugin("client.authentication.k8s.io/v1alpha1", None);
        assert!(
            bad.interactive()
                .unwrap_err()
                .to_string()
                .contains("invalid apiVersion")
        );
    }

    #[test]
    fn credentials_are_read_as_client_go_reads_them() {
        let p = plugin(V1, Some(ExecInteractiveMode::Never));
        let ok = p
            .parse(br#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"t0k","expirationTimestamp":"2030-01-02T15:04:05Z"}}"#)
            .unwrap();
        assert_eq!(ok.token, "t0k");
        assert_eq!(
            ok.expires
                .map(Timestamp::try_from)
                .unwrap()
                .unwrap()
                .to_string(),
            "2030-01-02T15:04:05Z"
        );
        let no_expiry = p
            .parse(br#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"t"}}"#)
            .unwrap();
        assert_eq!(no_expiry.expires, None);
        for (bad, says) in [
            (&b"not json"[..], "decoding stdout"),
            (br#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"Pod","status":{"token":"t"}}"#, "not ExecCredential"),
            (br#"{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"t"}}"#, "returned version"),
            (br#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential"}"#, "no status"),
            (br#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{}}"#, "no token"),
        ] {
            let e = p.parse(bad).unwrap_err().to_string();
            assert!(e.contains(says) && e.starts_with("exec plugin \"plugin\" did not print an ExecCredential"), "{e}");
            assert_eq!(e.lines().count(), 1, "{e}");
        }
    }

    #[test]
    fn errors_are_one_line_and_name_the_command() {
        let not_found = PluginError::NotFound {
            command: "aws".into(),
            hint: Some(one_line(
                "\n  Install the AWS CLI: https://aws.amazon.com/cli/\n  then retry",
            )),
        };
        assert_eq!(
            not_found.to_string(),
            "exec plugin \"aws\" not found (a client-go credential plugin that is not installed); Install the AWS CLI: https://aws.amazon.com/cli/"
        );
        let failed = PluginError::Failed {
            command: "kubelogin".into(),
            code: 3,
            stderr: Some("error: device code expired".into()),
        };
        assert_eq!(
            failed.to_string(),
            "exec plugin \"kubelogin\" failed with exit code 3: error: device code expired"
        );
    }
}
