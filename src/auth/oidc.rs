//! The `oidc` auth-provider of a kubeconfig, refreshed as client-go's plugin does
//! (`plugin/pkg/client/auth/oidc/oidc.go`): the `id-token` is used while its `exp` is ahead;
//! then `token_endpoint` is read from `<idp-issuer-url>/.well-known/openid-configuration` and a
//! `refresh_token` grant returns a new id-token (and perhaps a new refresh token). The identity
//! provider is verified with `idp-certificate-authority(-data)` when the kubeconfig names one,
//! else with the system's roots; `client-secret` is optional, as for client-go.
//!
//! kube-rs's own `oidc` feature ignores `idp-certificate-authority`, requires a client secret
//! and cannot use a private CA, so it is replaced by this (refreshed tokens stay in memory;
//! client-go writes them back into the kubeconfig, this does not touch the file).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tokio::sync::Mutex;

use super::exec::{Cred, PluginError};

/// How long talking to the identity provider may take.
const IDP_TIMEOUT: Duration = Duration::from_secs(30);

pub struct OidcProvider {
    config: HashMap<String, String>,
    /// The refresh token, replaced when the provider rotates it.
    refresh_token: Mutex<Option<String>>,
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
    pub fn new(config: HashMap<String, String>) -> Self {
        let refresh = config.get("refresh-token").cloned();
        OidcProvider {
            config,
            refresh_token: Mutex::new(refresh),
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

    /// The id-token from the kubeconfig while it is good, else a refreshed one.
    pub async fn fetch(&self, first: bool) -> Result<Cred, PluginError> {
        if first
            && let Some(token) = self.config.get("id-token")
            && let Some(cred) = cred_of(token)
            && cred
                .expires
                .is_some_and(|e| e > SystemTime::now() + Duration::from_secs(10))
        {
            return Ok(cred);
        }
        tokio::time::timeout(IDP_TIMEOUT, self.refresh())
            .await
            .map_err(|_| self.error("the identity provider did not answer"))?
    }

    async fn refresh(&self) -> Result<Cred, PluginError> {
        let mut refresh_token = self.refresh_token.lock().await;
        let refresh = refresh_token
            .clone()
            .filter(|r| !r.is_empty())
            .ok_or_else(|| self.error("the id-token expired and there is no refresh-token"))?;
        let client_id = self.config.get("client-id").cloned().unwrap_or_default();
        let tls = self.tls_config()?;
        let discovery_url = format!("{}/.well-known/openid-configuration", self.issuer());
        let (status, body) = request(&tls, "GET", &discovery_url, None, &[])
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
        let (status, body) = request(&tls, "POST", endpoint, Some(form), &headers)
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
        if let Some(rotated) = answer["refresh_token"].as_str() {
            *refresh_token = Some(rotated.to_string());
        }
        cred_of(id_token).ok_or_else(|| self.error("the id_token is not a JWT"))
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
                for cert in rustls_pemfile::certs(&mut pem.as_slice()).flatten() {
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

/// One HTTPS request; the status and the whole body.
async fn request(
    tls: &Arc<rustls::ClientConfig>,
    method: &str,
    url: &str,
    body: Option<String>,
    headers: &[(&str, String)],
) -> Result<(u16, Bytes), String> {
    let uri: http::Uri = url.parse().map_err(|e| format!("{url}: {e}"))?;
    if uri.scheme_str() != Some("https") {
        return Err(format!("{url}: the identity provider must be https"));
    }
    let host = uri
        .host()
        .ok_or_else(|| format!("{url}: no host"))?
        .to_string();
    let port = uri.port_u16().unwrap_or(443);
    let tcp = tokio::net::TcpStream::connect((host.trim_matches(['[', ']']), port))
        .await
        .map_err(|e| e.to_string())?;
    let name = rustls::pki_types::ServerName::try_from(host.trim_matches(['[', ']']).to_string())
        .map_err(|e| e.to_string())?;
    let stream = tokio_rustls::TlsConnector::from(tls.clone())
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    let mut builder = http::Request::builder()
        .method(method)
        .uri(uri.path_and_query().map_or("/", |p| p.as_str()))
        .header(
            "host",
            uri.authority().map_or(host.clone(), |a| a.to_string()),
        )
        .header("accept", "application/json");
    for (name, value) in headers {
        builder = builder.header(*name, value);
    }
    let request = builder
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, body))
}
