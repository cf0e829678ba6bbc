//! The demo cluster's certificates: a CA generated at every start, a server certificate for
//! loopback signed by it, and client certificates it signs on request (`--auth cert`). The CA
//! travels in the kubeconfig the demo writes, so clients verify the server exactly as they would
//! a real API server (no insecure-skip-tls-verify), and the server asks clients for a
//! certificate as kube-apiserver does (`identity`).

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use super::DemoError;
use super::identity::{CertificateCheck, RequestClientCert};

/// The generated CA (PEM, for kubeconfigs), the server's TLS configuration, and what checks and
/// issues client certificates.
pub struct DemoTls {
    pub ca_pem: String,
    pub server_config: Arc<rustls::ServerConfig>,
    pub check: CertificateCheck,
    pub issuer: ClientIssuer,
}

/// Signs client certificates with the demo's CA.
pub struct ClientIssuer(Issuer<'static, KeyPair>);

impl ClientIssuer {
    /// A client certificate for `user` (its CN) in `groups` (its O values), PEM, with its key.
    pub fn issue(&self, user: &str, groups: &[&str]) -> Result<(String, String), DemoError> {
        let tls_err = |e: rcgen::Error| DemoError::Tls(e.to_string());
        let key = KeyPair::generate().map_err(tls_err)?;
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(tls_err)?;
        params.distinguished_name.push(DnType::CommonName, user);
        for group in groups {
            params
                .distinguished_name
                .push(DnType::OrganizationName, *group);
        }
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        let cert = params.signed_by(&key, &self.0).map_err(tls_err)?;
        Ok((cert.pem(), key.serialize_pem()))
    }
}

pub fn generate() -> Result<DemoTls, DemoError> {
    let tls_err = |e: rcgen::Error| DemoError::Tls(e.to_string());

    let ca_key = KeyPair::generate().map_err(tls_err)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(tls_err)?;
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "hasura-tui demo cluster CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca_params.self_signed(&ca_key).map_err(tls_err)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let server_key = KeyPair::generate().map_err(tls_err)?;
    let mut server_params = CertificateParams::new(vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
        "kubernetes.default.svc".to_string(),
    ])
    .map_err(tls_err)?;
    server_params
        .distinguished_name
        .push(DnType::CommonName, "kube-apiserver");
    let server_cert = server_params
        .signed_by(&server_key, &issuer)
        .map_err(tls_err)?;

    let chain: Vec<CertificateDer<'static>> =
        vec![server_cert.der().clone(), ca_cert.der().clone()];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let check =
        CertificateCheck::new(ca_cert.der().clone(), provider.clone()).map_err(DemoError::Tls)?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| DemoError::Tls(e.to_string()))?
        .with_client_cert_verifier(Arc::new(RequestClientCert::new(provider)))
        .with_single_cert(chain, key)
        .map_err(|e| DemoError::Tls(e.to_string()))?;
    // HTTP/1.1 only: WebSocket upgrades (port-forward) need it, and kubectl and kube-rs both
    // speak it. A real API server also offers h2; nothing here depends on that.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(DemoTls {
        ca_pem: ca_cert.pem(),
        server_config: Arc::new(config),
        check,
        issuer: ClientIssuer(issuer),
    })
}
