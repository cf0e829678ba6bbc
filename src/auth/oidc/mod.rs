//! The `oidc` auth-provider of a kubeconfig, refreshed as client-go's plugin does
//! (`plugin/pkg/client/auth/oidc/oidc.go`): the `id-token` is used while its `exp` is ahead;
//! then `token_endpoint` is read from `<idp-issuer-url>/.well-known/openid-configuration` and a
//! `refresh_token` grant returns a new id-token (and perhaps a new refresh token), which are
//! written back to the kubeconfig the user came from (`kubeconfig_file`). The identity
//! provider is verified with `idp-certificate-authority(-data)` when the kubeconfig names one,
//! else with the system's roots, and reached through the environment's proxy (`idp_http`);
//! `client-secret` is optional, as for client-go.
//!
//! kube-rs's own `oidc` feature ignores `idp-certificate-authority`, requires a client secret,
//! cannot use a private CA and keeps rotated tokens in memory only, so it is replaced by this.

mod idp_http;
mod kubeconfig_file;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio::sync::Mutex;

use super::exec::{Cred, PluginError};
pub use idp_http::ProxyFor;
use idp_http::request;
pub use kubeconfig_file::UserEntry;

/// How long talking to the identity provider may take.
const IDP_TIMEOUT: Duration = Duration::from_secs(30);
/// An id-token this close to its `exp` is not handed out.
const EXPIRY_MARGIN: Duration = Duration::from_secs(10);

pub struct OidcProvider {
    config: HashMap<String, String>,
    /// Where the user's entry is, when it came from a file (not the demo's in-memory one).
    file: Option<UserEntry>,
    proxy_for: ProxyFor,
    tokens: Mutex<Tokens>,
}

/// What changes as the provider is used.
#[derive(Debug, Default)]
struct Tokens {
    /// The id-token to try before refreshing: the kubeconfig's, then the newest.
    id_token: Option<String>,
    /// The last id-token handed out: never handed out again once the caller asks anew (it
    /// expired or the cluster refused it).
    handed: Option<String>,
    /// The refresh token, replaced when the provider rotates it or the file has a newer one.
    refresh_token: Option<String>,
    /// The (id-token, refresh-token) the file held when last read or written: what differs
    /// from it was written by someone else (kubectl) and is taken; what does not is ours, or
    /// stale after a write that failed, and is not.
    in_file: FileTokens,
}

type FileTokens = (Option<String>, Option<String>);

impl Tokens {
    /// Takes what the file holds now, when someone else wrote it.
    fn take_from_file(&mut self, now: FileTokens) {
        if now == self.in_file {
            return;
        }
        if let Some(id) = &now.0 {
            self.id_token = Some(id.clone());
        }
        if let Some(refresh) = now.1.as_ref().filter(|r| !r.is_empty()) {
            self.refresh_token = Some(refresh.clone());
        }
        self.in_file = now;
    }

    /// The id-token to hand out without a refresh: one not handed out before, good for a while.
    fn usable(&mut self) -> Option<Cred> {
        let token = self.id_token.clone()?;
        if self.handed.as_ref() == Some(&token) {
            return None;
        }
        let cred = cred_of(&token)?;
        cred.expires
            .is_some_and(|e| e > SystemTime::now() + EXPIRY_MARGIN)
            .then(|| {
                self.handed = Some(token);
                cred
            })
    }
}

impl std::fmt::Debug for OidcProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The config holds secrets: name the issuer only.
        f.debug_struct("OidcProvider")
            .field("issuer", &self.issuer())
            .finish_non_exhaustive()
    }
}

impl OidcProvider {
    /// The provider of a kubeconfig user's `auth-provider.config`; `file` is where that user is
    /// written, `proxy_for` chooses the proxy for a URL.
    pub fn new(
        config: HashMap<String, String>,
        file: Option<UserEntry>,
        proxy_for: ProxyFor,
    ) -> Self {
        let (id_token, refresh_token) = (
            config.get("id-token").cloned(),
            config.get("refresh-token").cloned(),
        );
        let tokens = Tokens {
            in_file: (id_token.clone(), refresh_token.clone()),
            id_token,
            handed: None,
            refresh_token,
        };
        OidcProvider {
            config,
            file,
            proxy_for,
            tokens: Mutex::new(tokens),
        }
    }

    fn issuer(&self) -> String {
        self.config
            .get("idp-issuer-url")
            .map(|u| u.trim_end_matches('/').to_string())
            .unwrap_or_default()
    }

    fn error(&self, reason: impl Into<String>) -> PluginError {
        PluginError::Run {
            command: format!("oidc {}", self.issuer()),
            reason: reason.into(),
        }
    }

    /// An id-token not handed out before: the kubeconfig's while it is good (another program
    /// may have refreshed it meanwhile), else a refreshed one, written back to the kubeconfig.
    pub async fn fetch(&self) -> Result<Cred, PluginError> {
        let mut tokens = self.tokens.lock().await;
        if let Some(now) = self.file.as_ref().and_then(UserEntry::read) {
            tokens.take_from_file((
                now.get("id-token").cloned(),
                now.get("refresh-token").cloned(),
            ));
        }
        if let Some(cred) = tokens.usable() {
            return Ok(cred);
        }
        let (id_token, rotated) = tokio::time::timeout(IDP_TIMEOUT, self.refresh(&tokens))
            .await
            .map_err(|_| self.error("the identity provider did not answer"))??;
        let cred = cred_of(&id_token).ok_or_else(|| self.error("the id_token is not a JWT"))?;
        if let Some(rotated) = rotated.clone() {
            tokens.refresh_token = Some(rotated);
        }
        tokens.id_token = Some(id_token.clone());
        tokens.handed = Some(id_token.clone());
        if let Some(file) = &self.file {
            match file.write(&id_token, rotated.as_deref()).await {
                Ok(()) => tokens.in_file = (Some(id_token), tokens.refresh_token.clone()),
                // The new tokens work here either way (and are written again after the next
                // refresh); kubectl's copy may now be spent.
                Err(e) => tracing::warn!(
                    "could not write the refreshed oidc tokens to {}: {e}",
                    file.file.display()
                ),
            }
        }
        Ok(cred)
    }

    /// A `refresh_token` grant: the new id-token, and the new refresh token if one came.
    async fn refresh(&self, tokens: &Tokens) -> Result<(String, Option<String>), PluginError> {
        let refresh = tokens
            .refresh_token
            .clone()
            .filter(|r| !r.is_empty())
            .ok_or_else(|| self.error("the id-token expired and there is no refresh-token"))?;
        let client_id = self.config.get("client-id").cloned().unwrap_or_default();
        let tls = self.tls_config()?;
        let discovery_url = format!("{}/.well-known/openid-configuration", self.issuer());
        let (status, body) = request(&tls, &self.proxy_for, "GET", &discovery_url, None, &[])
            .await
            .map_err(|e| self.error(format!("discovery: {e}")))?;
        if status != 200 {
            return Err(self.error(format!("discovery answered {status}")));
        }
        let discovery: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| self.error(format!("discovery: {e}")))?;
        let endpoint = discovery["token_endpoint"]
            .as_str()
            .ok_or_else(|| self.error("discovery has no token_endpoint"))?;
        let form = serde_urlencoded::to_string([
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
        ])
        .map_err(|e| self.error(e.to_string()))?;
        // golang.org/x/oauth2 sends the client's credentials as HTTP Basic first.
        let secret = self
            .config
            .get("client-secret")
            .cloned()
            .unwrap_or_default();
        let escape =
            |s: &str| serde_urlencoded::to_string([("", s)]).unwrap_or_default()[1..].to_string();
        let basic = STANDARD.encode(format!("{}:{}", escape(&client_id), escape(&secret)));
        let headers = [
            (
                "content-type",
                "application/x-www-form-urlencoded".to_string(),
            ),
            ("authorization", format!("Basic {basic}")),
        ];
        let (status, body) = request(
            &tls,
            &self.proxy_for,
            "POST",
            endpoint,
            Some(form),
            &headers,
        )
        .await
        .map_err(|e| self.error(format!("token endpoint: {e}")))?;
        let answer: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        if status != 200 {
            let why = answer["error"].as_str().unwrap_or("no reason given");
            return Err(self.error(format!("refresh refused ({status}: {why})")));
        }
        let id_token = answer["id_token"]
            .as_str()
            .ok_or_else(|| self.error("the token endpoint returned no id_token"))?;
        let rotated = answer["refresh_token"]
            .as_str()
            .filter(|r| !r.is_empty())
            .map(str::to_string);
        Ok((id_token.to_string(), rotated))
    }

    /// TLS to the identity provider: its CA from the kubeconfig, else the system's roots.
    fn tls_config(&self) -> Result<Arc<rustls::ClientConfig>, PluginError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| self.error(e.to_string()))?;
        let pem = match (
            self.config.get("idp-certificate-authority-data"),
            self.config.get("idp-certificate-authority"),
        ) {
            (Some(data), _) => Some(
                STANDARD
                    .decode(data.trim())
                    .map_err(|e| self.error(format!("idp-certificate-authority-data: {e}")))?,
            ),
            (None, Some(path)) => Some(
                std::fs::read(path)
                    .map_err(|e| self.error(format!("idp-certificate-authority {path}: {e}")))?,
            ),
            (None, None) => None,
        };
        let config = match pem {
            Some(pem) => {
                let mut roots = rustls::RootCertStore::empty();
                // rustls-pki-types' own PEM reader (rustls-pemfile is unmaintained,
                // RUSTSEC-2025-0134); a block that is not a certificate is skipped, as before.
                for cert in CertificateDer::pem_slice_iter(&pem).flatten() {
                    roots.add(cert).map_err(|e| self.error(e.to_string()))?;
                }
                builder.with_root_certificates(roots).with_no_client_auth()
            }
            None => {
                use rustls_platform_verifier::BuilderVerifierExt;
                builder
                    .with_platform_verifier()
                    .map_err(|e| self.error(e.to_string()))?
                    .with_no_client_auth()
            }
        };
        Ok(Arc::new(config))
    }
}

/// A credential from a JWT's `exp`.
fn cred_of(jwt: &str) -> Option<Cred> {
    let claims = URL_SAFE_NO_PAD.decode(jwt.split('.').nth(1)?).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&claims).ok()?;
    let exp = claims["exp"].as_u64()?;
    Some(Cred {
        token: jwt.to_string(),
        expires: Some(UNIX_EPOCH + Duration::from_secs(exp)),
        obtained: SystemTime::now(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(expires_in: Duration) -> String {
        static SERIAL: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let exp = (SystemTime::now() + expires_in)
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let jti = SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let claims = URL_SAFE_NO_PAD.encode(format!("{{\"exp\":{exp},\"jti\":{jti}}}"));
        format!("e30.{claims}.sig")
    }

    fn some(s: &str) -> Option<String> {
        Some(s.to_string())
    }

    #[test]
    fn the_file_is_taken_only_when_someone_else_wrote_it() {
        let (first, rotated) = (jwt(Duration::from_secs(600)), jwt(Duration::from_secs(600)));
        let mut tokens = Tokens {
            id_token: some(&first),
            refresh_token: some("r1"),
            in_file: (some(&first), some("r1")),
            ..Tokens::default()
        };
        // Our refresh rotated r1 to r2, but the write failed: the file still says r1.
        tokens.refresh_token = some("r2");
        tokens.id_token = some(&rotated);
        tokens.handed = some(&rotated);
        tokens.take_from_file((some(&first), some("r1")));
        assert_eq!(
            tokens.refresh_token,
            some("r2"),
            "the spent token is not taken back"
        );
        assert!(
            tokens.usable().is_none(),
            "nor the old id-token it came with"
        );

        // kubectl refreshed meanwhile and wrote r3 with a new id-token: both are taken.
        let kubectls = jwt(Duration::from_secs(600));
        tokens.take_from_file((some(&kubectls), some("r3")));
        assert_eq!(tokens.refresh_token, some("r3"));
        assert_eq!(tokens.usable().map(|c| c.token), Some(kubectls.clone()));
        assert!(tokens.usable().is_none(), "handed out once");
    }

    #[test]
    fn an_id_token_about_to_expire_is_not_handed_out() {
        let mut tokens = Tokens {
            id_token: Some(jwt(Duration::from_secs(5))),
            ..Tokens::default()
        };
        assert!(tokens.usable().is_none());
        tokens.id_token = Some(jwt(Duration::from_secs(60)));
        assert!(tokens.usable().is_some());
    }
}
