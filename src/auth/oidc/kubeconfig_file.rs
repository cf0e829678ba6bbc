//! The kubeconfig entry an `oidc` user came from, read again before a refresh and written after
//! one, as kubectl's oidc plugin persists its tokens (`oidc.go` `idToken`: the new `id-token`,
//! and the `refresh-token` when the provider sent one, through clientcmd's `ModifyConfig`).
//!
//! An identity provider that rotates refresh tokens (Keycloak's "Revoke Refresh Token",
//! Okta's and Auth0's rotation) accepts each one once: a token kept only in memory would leave
//! kubectl's copy spent, and kubectl signed out. Reading the file first lets a token kubectl
//! refreshed meanwhile serve here too, instead of spending the old one a second time.
//!
//! Writing follows clientcmd (`tools/clientcmd/config.go` `ModifyConfig`, `loader.go`
//! `lockFile`, `WriteToFile`): `<file>.lock` created exclusively for the write and removed after,
//! the file rewritten in place (a symlinked kubeconfig stays a symlink; its mode is kept), keys
//! in sorted order as sigs.k8s.io/yaml writes them; comments do not survive, as with kubectl.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

/// How long a write waits for another program's lock (kubectl holds it for milliseconds).
const LOCK_WAIT: Duration = Duration::from_secs(2);
const LOCK_STEP: Duration = Duration::from_millis(20);

/// A user entry of one kubeconfig file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserEntry {
    pub file: PathBuf,
    pub user: String,
}

impl UserEntry {
    /// The user's `auth-provider.config` as the file holds it now; `None` when the file cannot
    /// be read or no longer names the user with one.
    pub fn read(&self) -> Option<HashMap<String, String>> {
        let text = std::fs::read_to_string(&self.file).ok()?;
        let document: Value = serde_saphyr::from_str(&text).ok()?;
        let config = provider_config(&document, &self.user)?.as_object()?;
        Some(
            config
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect(),
        )
    }

    /// Writes `id-token` (and `refresh-token` when given) into the user's auth-provider config.
    pub async fn write(&self, id_token: &str, refresh_token: Option<&str>) -> Result<(), String> {
        let lock = Lock::take(&self.file).await?;
        let result = self.rewrite(id_token, refresh_token);
        drop(lock);
        result
    }

    fn rewrite(&self, id_token: &str, refresh_token: Option<&str>) -> Result<(), String> {
        let text = std::fs::read_to_string(&self.file).map_err(|e| e.to_string())?;
        // The first line only: the parser's message goes on with a snippet of the file, which
        // holds tokens and keys.
        let mut document: Value = serde_saphyr::from_str(&text).map_err(|e| first_line(&e))?;
        let config = provider_config_mut(&mut document, &self.user)
            .ok_or_else(|| format!("it no longer has an oidc user {:?}", self.user))?;
        config.insert("id-token".into(), id_token.into());
        if let Some(refresh) = refresh_token {
            config.insert("refresh-token".into(), refresh.into());
        }
        let yaml = serde_saphyr::to_string(&document).map_err(|e| first_line(&e))?;
        std::fs::write(&self.file, yaml).map_err(|e| e.to_string())
    }
}

fn first_line(error: &impl std::fmt::Display) -> String {
    error
        .to_string()
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

fn user_of<'a>(document: &'a Value, user: &str) -> Option<&'a Value> {
    document["users"]
        .as_array()?
        .iter()
        .find(|u| u["name"].as_str() == Some(user))
}

fn provider_config<'a>(document: &'a Value, user: &str) -> Option<&'a Value> {
    let provider = &user_of(document, user)?["user"]["auth-provider"];
    (provider["name"].as_str() == Some("oidc")).then(|| &provider["config"])
}

fn provider_config_mut<'a>(
    document: &'a mut Value,
    user: &str,
) -> Option<&'a mut serde_json::Map<String, Value>> {
    let entry = document["users"]
        .as_array_mut()?
        .iter_mut()
        .find(|u| u["name"].as_str() == Some(user))?;
    let provider = entry.get_mut("user")?.get_mut("auth-provider")?;
    if provider["name"].as_str() != Some("oidc") {
        return None;
    }
    let provider = provider.as_object_mut()?;
    provider
        .entry("config")
        .or_insert_with(|| Value::Object(Default::default()))
        .as_object_mut()
}

/// `<file>.lock`, held while it lives (clientcmd's `lockFile`/`unlockFile`).
struct Lock(PathBuf);

impl Lock {
    async fn take(file: &Path) -> Result<Lock, String> {
        let mut name = file.as_os_str().to_owned();
        name.push(".lock");
        let path = PathBuf::from(name);
        let deadline = tokio::time::Instant::now() + LOCK_WAIT;
        loop {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(_) => return Ok(Lock(path)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    if tokio::time::Instant::now() >= deadline {
                        return Err(format!(
                            "{} is held by another program (remove it if none runs)",
                            path.display()
                        ));
                    }
                    tokio::time::sleep(LOCK_STEP).await;
                }
                Err(e) => return Err(format!("{}: {e}", path.display())),
            }
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: 'https://example.test:6443', certificate-authority-data: Q0E=}
users:
- name: other
  user: {token: '0123'}
- name: me
  user:
    auth-provider:
      name: oidc
      config:
        idp-issuer-url: https://idp.example
        client-id: kubernetes
        id-token: old-id
        refresh-token: old-refresh
contexts:
- name: ctx
  context: {cluster: c, user: me}
current-context: ctx
";

    fn entry(dir: &Path) -> UserEntry {
        let file = dir.join("config");
        std::fs::write(&file, FILE).unwrap();
        UserEntry {
            file,
            user: "me".into(),
        }
    }

    #[tokio::test]
    async fn new_tokens_replace_the_old_and_nothing_else_changes() {
        let dir = tempfile::tempdir().unwrap();
        let entry = entry(dir.path());
        let before: Value = serde_saphyr::from_str(FILE).unwrap();
        entry.write("new-id", Some("new-refresh")).await.unwrap();
        let config = entry.read().unwrap();
        assert_eq!(config["id-token"], "new-id");
        assert_eq!(config["refresh-token"], "new-refresh");
        assert_eq!(config["idp-issuer-url"], "https://idp.example");
        let mut after: Value =
            serde_saphyr::from_str(&std::fs::read_to_string(&entry.file).unwrap()).unwrap();
        let written = provider_config_mut(&mut after, "me").unwrap();
        written.insert("id-token".into(), "old-id".into());
        written.insert("refresh-token".into(), "old-refresh".into());
        assert_eq!(
            after, before,
            "the rest of the file, and the quoted '0123', as they were"
        );
        assert!(
            !dir.path().join("config.lock").exists(),
            "the lock is let go"
        );

        // No refresh token in the answer: the one in the file stays.
        entry.write("newer-id", None).await.unwrap();
        assert_eq!(entry.read().unwrap()["refresh-token"], "new-refresh");
    }

    #[tokio::test(start_paused = true)]
    async fn a_lock_held_by_another_program_is_waited_for_then_refused() {
        let dir = tempfile::tempdir().unwrap();
        let entry = entry(dir.path());
        let lock = dir.path().join("config.lock");
        std::fs::write(&lock, "").unwrap();
        let refused = entry.write("new-id", None).await.unwrap_err();
        assert!(refused.contains("config.lock is held"), "{refused}");
        assert_eq!(entry.read().unwrap()["id-token"], "old-id", "untouched");
        assert!(
            lock.exists(),
            "another program's lock is not ours to remove"
        );

        let held = tokio::spawn(async move {
            tokio::time::sleep(LOCK_WAIT / 2).await;
            std::fs::remove_file(lock).unwrap();
        });
        entry.write("new-id", None).await.unwrap();
        held.await.unwrap();
        assert_eq!(entry.read().unwrap()["id-token"], "new-id");
    }

    #[tokio::test]
    async fn a_user_gone_from_the_file_is_not_written() {
        let dir = tempfile::tempdir().unwrap();
        let mut entry = entry(dir.path());
        entry.user = "someone-else".into();
        assert_eq!(entry.read(), None);
        let refused = entry.write("x", None).await.unwrap_err();
        assert!(refused.contains("no longer has"), "{refused}");
        assert_eq!(std::fs::read_to_string(&entry.file).unwrap(), FILE);
    }
}
