//! The kubeconfig the demo cluster writes: context, cluster and user `gram29`, with the CA data,
//! server address and bearer token, so kubectl and kube-rs connect with full TLS verification.

use std::io::Write;
use std::path::Path;

use base64::Engine;

use super::DemoError;

pub const CONTEXT: &str = "gram29";

pub fn render(server: &str, ca_pem: &str, token: &str) -> String {
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    format!(
        "apiVersion: v1
kind: Config
clusters:
  - name: {CONTEXT}
    cluster:
      server: {server}
      certificate-authority-data: {ca}
users:
  - name: {CONTEXT}-admin
    user:
      token: {token}
contexts:
  - name: {CONTEXT}
    context:
      cluster: {CONTEXT}
      user: {CONTEXT}-admin
      namespace: default
current-context: {CONTEXT}
preferences: {{}}
"
    )
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
