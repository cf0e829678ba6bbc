//! The kubeconfig the demo cluster writes: context and cluster `gram29` with the CA data and the
//! server address, and a user that signs in one of the ways real clusters ask for: a bearer
//! token, a client certificate, an exec plugin (this binary's hidden `demo-credential`, as
//! EKS's `aws eks get-token` or GKE's `gke-gcloud-auth-plugin` would be), or an OIDC
//! auth-provider whose id-token the demo's own issuer refreshes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;

use super::DemoError;

/// The demo cluster's name (its kubeconfig context and cluster) unless told otherwise.
pub const CONTEXT: &str = "gram29";
/// The exec plugin's environment variable with the key it signs tokens with.
pub const KEY_ENV: &str = "HASURA_TUI_DEMO_KEY";
/// The OIDC client the demo's issuer knows.
pub const OIDC_CLIENT_ID: &str = "hasura-tui";
pub const OIDC_CLIENT_SECRET: &str = "demo-client-secret";

/// How the kubeconfig's user signs in.
#[derive(Clone, Debug)]
pub enum KubeconfigAuth {
    /// The cluster's admin bearer token.
    Token,
    /// A long-lived bearer token the cluster issued for `user` (subject to its Roles).
    UserToken { user: String },
    /// A client certificate the demo's CA signed, for `user` (its CN) in `groups` (O).
    Cert { user: String, groups: Vec<String> },
    /// An exec plugin: `command` is the hasura-tui binary (`demo-credential`).
    Exec(ExecPlugin),
    /// An OIDC auth-provider for `user`, its id-token already expired (so it is refreshed first).
    Oidc { user: String },
}

#[derive(Clone, Debug)]
pub struct ExecPlugin {
    pub command: PathBuf,
    pub user: String,
    pub ttl: Duration,
    pub delay: Duration,
    /// Asks on the terminal first (`interactiveMode: IfAvailable`); else `Never`.
    pub interactive: bool,
    /// Where each run appends a line (tests count runs).
    pub runs_file: Option<PathBuf>,
}

/// The user part of the file: a name (within the cluster) and its `user:` mapping, as YAML lines.
pub struct User {
    pub name: String,
    pub yaml: String,
}

/// The file for cluster (and context) `cluster`; the user is named `<cluster>-<user>`, so that
/// two demo clusters' files merged by `$KUBECONFIG` keep their users apart (the first file to
/// name a user wins it whole).
pub fn render(cluster: &str, server: &str, ca_pem: &str, user: &User) -> String {
    let ca = b64(ca_pem);
    format!(
        "apiVersion: v1
kind: Config
clusters:
  - name: {cluster}
    cluster:
      server: {server}
      certificate-authority-data: {ca}
users:
  - name: {name}
    user:
{yaml}
contexts:
  - name: {cluster}
    context:
      cluster: {cluster}
      user: {name}
      namespace: default
current-context: {cluster}
preferences: {{}}
",
        name = format!("{cluster}-{}", user.name),
        yaml = indent(&user.yaml, 6)
    )
}

pub fn token_user(token: &str) -> User {
    User {
        name: "admin".to_string(),
        yaml: format!("token: {token}"),
    }
}

pub fn named_token_user(user: &str, token: &str) -> User {
    User {
        name: user.to_string(),
        yaml: format!("token: {token}"),
    }
}

pub fn cert_user(user: &str, cert_pem: &str, key_pem: &str) -> User {
    User {
        name: user.to_string(),
        yaml: format!(
            "client-certificate-data: {}\nclient-key-data: {}",
            b64(cert_pem),
            b64(key_pem)
        ),
    }
}

pub fn exec_user(plugin: &ExecPlugin, key_hex: &str) -> User {
    let mut args = vec![
        "demo-credential".to_string(),
        "--user".to_string(),
        plugin.user.clone(),
        "--ttl".to_string(),
        plugin.ttl.as_secs().to_string(),
        "--delay-ms".to_string(),
        plugin.delay.as_millis().to_string(),
    ];
    if plugin.interactive {
        args.push("--interactive".into());
    }
    if let Some(runs) = &plugin.runs_file {
        args.push("--runs-file".into());
        args.push(runs.display().to_string());
    }
    let args: Vec<String> = args.iter().map(|a| format!("- {}", quote(a))).collect();
    User {
        name: plugin.user.clone(),
        yaml: format!(
            "exec:
  apiVersion: client.authentication.k8s.io/v1
  command: {command}
  args:
{args}
  env:
    - name: {KEY_ENV}
      value: {key_hex}
  interactiveMode: {mode}
  installHint: the demo cluster's plugin is hasura-tui itself (hasura-tui demo-credential)
  provideClusterInfo: false",
            command = quote(&plugin.command.display().to_string()),
            args = indent(&args.join("\n"), 4),
            mode = if plugin.interactive {
                "IfAvailable"
            } else {
                "Never"
            },
        ),
    }
}

pub fn oidc_user(user: &str, issuer: &str, ca_pem: &str, id_token: &str, refresh: &str) -> User {
    User {
        name: user.to_string(),
        yaml: format!(
            "auth-provider:
  name: oidc
  config:
    client-id: {OIDC_CLIENT_ID}
    client-secret: {OIDC_CLIENT_SECRET}
    id-token: {id_token}
    refresh-token: {refresh}
    idp-issuer-url: {issuer}
    idp-certificate-authority-data: {}",
            b64(ca_pem)
        ),
    }
}

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

fn indent(text: &str, by: usize) -> String {
    let pad = " ".repeat(by);
    text.lines()
        .map(|l| format!("{pad}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Writes the file readable by its owner only: it holds a credential.
pub fn write(path: &Path, yaml: &str) -> Result<(), DemoError> {
    let err = |source| DemoError::Kubeconfig {
        path: path.display().to_string(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(err)?;
    file.write_all(yaml.as_bytes()).map_err(err)
}
