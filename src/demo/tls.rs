//! The demo cluster's certificates: a CA generated at every start and a server certificate for
//! loopback signed by it. The CA travels in the kubeconfig the demo writes, so clients verify the
//! server exactly as they would a real API server (no insecure-skip-tls-verify).

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use super::DemoError;

/// The generated CA (PEM, for kubeconfigs) and the server's TLS configuration.
pub struct DemoTls {
    pub ca_pem: String,
    pub server_config: Arc<rustls::ServerConfig>,
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
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| DemoError::Tls(e.to_string()))?
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .map_err(|e| DemoError::Tls(e.to_string()))?;
    // HTTP/1.1 only: WebSocket upgrades (port-forward) need it, and kubectl and kube-rs both
    // speak it. A real API server also offers h2; nothing here depends on that.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(DemoTls {
        ca_pem: ca_cert.pem(),
        server_config: Arc::new(config),
    })
}
