//! Who a request comes from, as the API server's authenticators decide it: a client
//! certificate signed by the cluster's CA names its user by the certificate's CN and its groups
//! by O; a bearer token is the admin token the kubeconfig carries, or a token the demo issued
//! (to its exec plugin, or as an OIDC id-token), signed and with an expiry. An expired token,
//! a certificate from another CA, or no credentials at all get 401.
//!
//! As kube-apiserver does, the TLS handshake only asks for a client certificate
//! (`tls.RequestClientCert`, apiserver `pkg/server/secure_serving.go`); the certificate is
//! verified afterwards, by the x509 authenticator (`pkg/authentication/request/x509`), so a
//! certificate from another CA is a 401, not a failed handshake. The union of authenticators
//! takes the first that succeeds (`pkg/authentication/request/union`).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::hmac;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::ClientCertVerifier;
use serde_json::json;

/// The audience of the tokens the exec plugin mints for the API.
pub const API_AUDIENCE: &str = "kubernetes";

/// An authenticated user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub user: String,
    pub groups: Vec<String>,
}

impl Identity {
    /// The kubeconfig's admin token: may do everything (RBAC's `system:masters`).
    pub fn admin() -> Identity {
        Identity {
            user: "admin".to_string(),
            groups: vec![
                "system:masters".to_string(),
                "system:authenticated".to_string(),
            ],
        }
    }

    fn named(user: &str, mut groups: Vec<String>) -> Identity {
        groups.push("system:authenticated".to_string());
        Identity {
            user: user.to_string(),
            groups,
        }
    }
}

/// What the TLS connection said about its client certificate, put on each of its requests.
#[derive(Clone, Debug, Default)]
pub enum PeerCertificate {
    #[default]
    None,
    /// Signed by the cluster's CA.
    Valid(Identity),
    /// Presented, but not one the cluster's CA signed (or not readable).
    Invalid,
}

/// Signs and checks the tokens the demo issues: JWTs (HS256), the same form for its exec plugin
/// and for OIDC id-tokens, so one check serves both.
#[derive(Clone)]
pub struct TokenKey {
    key: hmac::Key,
    /// The key as text, for the exec plugin's environment.
    pub hex: String,
}

impl TokenKey {
    pub fn random() -> TokenKey {
        use rand::RngExt;
        let bytes: [u8; 32] = rand::rng().random();
        TokenKey::from_bytes(&bytes)
    }

    pub fn from_hex(hex: &str) -> Option<TokenKey> {
        let bytes: Option<Vec<u8>> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
            .collect();
        bytes
            .filter(|b| b.len() == 32)
            .map(|b| TokenKey::from_bytes(&b))
    }

    fn from_bytes(bytes: &[u8]) -> TokenKey {
        TokenKey {
            key: hmac::Key::new(hmac::HMAC_SHA256, bytes),
            hex: bytes.iter().map(|b| format!("{b:02x}")).collect(),
        }
    }

    /// A token for `user` that expires after `ttl`. It carries the user's groups in a `groups`
    /// claim, as an OIDC provider does for kube-apiserver's `--oidc-groups-claim`.
    pub fn mint(&self, user: &str, audience: &str, ttl: Duration) -> String {
        use rand::RngExt;
        let now = unix(SystemTime::now());
        // Each token its own, even two for one user in one second (a refresh token is spent
        // by value).
        let id: u64 = rand::rng().random();
        let header = URL_SAFE_NO_PAD.encode(json!({"alg": "HS256", "typ": "JWT"}).to_string());
        let claims = URL_SAFE_NO_PAD.encode(
            json!({
                "iss": "hasura-tui-demo",
                "sub": user,
                "groups": directory_groups(user),
                "aud": audience,
                "iat": now,
                "exp": now + ttl.as_secs(),
                "jti": format!("{id:016x}"),
            })
            .to_string(),
        );
        let signed = format!("{header}.{claims}");
        let signature = URL_SAFE_NO_PAD.encode(hmac::sign(&self.key, signed.as_bytes()));
        format!("{signed}.{signature}")
    }

    /// The user of a token this key signed for `audience`, if it has not expired.
    pub fn verify(&self, token: &str, audience: &str) -> Option<Identity> {
        let (signed, signature) = token.rsplit_once('.')?;
        let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
        hmac::verify(&self.key, signed.as_bytes(), &signature).ok()?;
        let claims = URL_SAFE_NO_PAD.decode(signed.split_once('.')?.1).ok()?;
        let claims: serde_json::Value = serde_json::from_slice(&claims).ok()?;
        if claims["aud"].as_str() != Some(audience) {
            return None;
        }
        let expires = claims["exp"].as_u64()?;
        if unix(SystemTime::now()) >= expires {
            return None;
        }
        let groups = claims["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|g| Some(g.as_str()?.to_string()))
            .collect();
        Some(Identity::named(claims["sub"].as_str()?, groups))
    }
}

/// The demo's user directory: `admin` is a cluster administrator (in `system:masters`, as
/// kubeadm's admin certificate is), whichever way it signs in; every other user has only the
/// Roles bound to its name.
fn directory_groups(user: &str) -> Vec<&'static str> {
    if user == Identity::admin().user {
        vec!["system:masters"]
    } else {
        Vec::new()
    }
}

fn unix(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Asks for a client certificate and takes any, checking only that the client holds its key
/// (the handshake signature); whether the cluster's CA signed it is decided after the
/// handshake (`check_peer`), as the apiserver's x509 authenticator does.
#[derive(Debug)]
pub struct RequestClientCert {
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl RequestClientCert {
    pub fn new(provider: Arc<rustls::crypto::CryptoProvider>) -> Self {
        RequestClientCert { provider }
    }
}

impl ClientCertVerifier for RequestClientCert {
    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[rustls::DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<rustls::server::danger::ClientCertVerified, rustls::Error> {
        Ok(rustls::server::danger::ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Checks a connection's client certificate against the cluster's CA.
#[derive(Clone)]
pub struct CertificateCheck {
    verifier: Arc<dyn ClientCertVerifier>,
}

impl CertificateCheck {
    pub fn new(
        ca: CertificateDer<'static>,
        provider: Arc<rustls::crypto::CryptoProvider>,
    ) -> Result<Self, String> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca).map_err(|e| e.to_string())?;
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| e.to_string())?;
        Ok(CertificateCheck { verifier })
    }

    /// What the certificates a client presented make of it.
    pub fn check_peer(&self, chain: Option<&[CertificateDer<'static>]>) -> PeerCertificate {
        let Some((end_entity, intermediates)) = chain.and_then(<[_]>::split_first) else {
            return PeerCertificate::None;
        };
        if self
            .verifier
            .verify_client_cert(end_entity, intermediates, UnixTime::now())
            .is_err()
        {
            return PeerCertificate::Invalid;
        }
        match subject(end_entity) {
            Some((Some(user), groups)) => PeerCertificate::Valid(Identity::named(&user, groups)),
            _ => PeerCertificate::Invalid,
        }
    }
}

/// The certificate subject's CN (the user) and O values (the groups).
fn subject(der: &CertificateDer<'_>) -> Option<(Option<String>, Vec<String>)> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let subject = cert.subject();
    let text =
        |attr: &x509_parser::x509::AttributeTypeAndValue| attr.as_str().ok().map(str::to_string);
    let user = subject.iter_common_name().next().and_then(text);
    let groups = subject.iter_organization().filter_map(text).collect();
    Some((user, groups))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_name_their_user_until_they_expire() {
        let key = TokenKey::random();
        let token = key.mint("developer", API_AUDIENCE, Duration::from_secs(60));
        assert_eq!(
            key.verify(&token, API_AUDIENCE).map(|i| i.user),
            Some("developer".into())
        );
        assert_eq!(key.verify(&token, "refresh"), None, "another audience");
        let expired = key.mint("developer", API_AUDIENCE, Duration::ZERO);
        assert_eq!(key.verify(&expired, API_AUDIENCE), None);
        let other = TokenKey::random();
        assert_eq!(
            other.verify(&token, API_AUDIENCE),
            None,
            "another key's token"
        );
        let tampered = token.replacen('.', ".x", 1);
        assert_eq!(key.verify(&tampered, API_AUDIENCE), None);
        let same = TokenKey::from_hex(&key.hex).unwrap();
        assert!(
            same.verify(&token, API_AUDIENCE).is_some(),
            "the plugin's copy of the key"
        );
    }
}
