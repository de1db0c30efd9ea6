//! TLS with rustls (ring provider): the server configuration, and the client address every
//! request carries. Handshakes run in the accept loop's connection tasks (`crate::serve`),
//! under the same caps and time limit as plain connections.

use anyhow::Context as _;
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

/// The client's address (the TCP peer), as the request extensions carry it
/// (`ConnectInfo<ClientAddr>`), over plain TCP and TLS alike.
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub SocketAddr);

/// Loads a PEM certificate chain and private key into a rustls server configuration.
///
/// # Errors
/// Unreadable or invalid files.
pub fn load_config(cert_file: &Path, key_file: &Path) -> anyhow::Result<Arc<ServerConfig>> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_file)
        .with_context(|| format!("tls.cert_file {}", cert_file.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("tls.cert_file {}: bad PEM", cert_file.display()))?;
    if certs.is_empty() {
        anyhow::bail!(
            "tls.cert_file {}: no certificate found",
            cert_file.display()
        );
    }
    let key = PrivateKeyDer::from_pem_file(key_file)
        .with_context(|| format!("tls.key_file {}: no usable private key", key_file.display()))?;
    let mut config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .context("tls: the key does not match the certificate")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
