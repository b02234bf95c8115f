//! TLS for the adapters: rustls with the `ring` provider (aws-lc-rs, rustls' default,
//! needs CMake and a C toolchain to build), trusting the host's root certificates plus
//! a channel's own `ca_file`.
//!
//! The roots are the operating system's store (`rustls-native-certs`: the files behind
//! `/etc/ssl/certs`, or `SSL_CERT_FILE` / `SSL_CERT_DIR`), not a list compiled in
//! (`webpki-roots`): a city's operators keep that store, add their own CAs to it and get
//! its updates from the distribution, without a new build of minhu. A city's internal
//! CA that is not in the store is named per channel (`ca_file`), so trusting it for
//! one gateway does not trust it for every connection of the host.
//!
//! HTTP and SMTP take the same roots: reqwest receives a ready rustls configuration
//! (the provider named here, not a process-wide one), lettre its root certificates
//! with its own store switched off.

use lettre::transport::smtp::client::{Certificate, CertificateStore, TlsParameters};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::{ClientConfig, RootCertStore};
use std::path::Path;
use std::sync::{Arc, OnceLock};

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Makes `ring` the process's rustls provider, for HTTP clients built without a
/// configuration from here (the binary's benchmarks and tests talk to minhu itself
/// over plain HTTP, yet reqwest asks for a provider when any client is built). Does
/// nothing when one is installed already.
pub fn install_default_provider() {
    // Err only says a provider is there already, which is all that is needed.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The root certificates in the host's store that rustls can use, read once.
fn platform_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let found = rustls_native_certs::load_native_certs();
        for error in &found.errors {
            tracing::warn!(%error, "a root certificate of this host could not be read");
        }
        // Keep only those rustls takes as trust anchors, so that lettre, which adds
        // them one by one and fails on the first it cannot parse, takes them all.
        let mut usable = RootCertStore::empty();
        found
            .certs
            .into_iter()
            .filter(|cert| usable.add(cert.clone()).is_ok())
            .collect()
    })
}

/// The certificates of a channel's `ca_file` (PEM, one or more): read when the
/// configuration is checked and again when the channel is built.
pub fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let name = path.display();
    let pem = std::fs::read(path).map_err(|e| format!("{name:?} cannot be read: {e}"))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{name:?} is not a PEM certificate file: {e}"))?;
    if certs.is_empty() {
        return Err(format!("{name:?} holds no PEM certificate"));
    }
    let mut store = RootCertStore::empty();
    for cert in &certs {
        store
            .add(cert.clone())
            .map_err(|e| format!("{name:?}: a certificate cannot be used as a root: {e}"))?;
    }
    Ok(certs)
}

/// The host's roots and the channel's CA file; an error when there is nothing to
/// trust, so that the server says so at start rather than at every delivery.
fn roots(ca_file: Option<&Path>) -> Result<Vec<CertificateDer<'static>>, String> {
    let mut roots = platform_roots().to_vec();
    if let Some(path) = ca_file {
        roots.extend(read_ca_file(path)?);
    }
    if roots.is_empty() {
        return Err(
            "this host has no root certificates (install the distribution's \
                    ca-certificates package, or name the server's CA in ca_file)"
                .into(),
        );
    }
    Ok(roots)
}

/// A client config trusting `roots`, with `ring`.
fn client_config(roots: Vec<CertificateDer<'static>>) -> Result<ClientConfig, String> {
    let mut store = RootCertStore::empty();
    for cert in roots {
        store
            .add(cert)
            .map_err(|e| format!("root certificate: {e}"))?;
    }
    Ok(ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(store)
        .with_no_client_auth())
}

/// A TLS client configuration trusting the host's roots and `ca_file`, for a channel
/// that speaks TLS over its own connection (the e-mail channel's IMAP mailbox).
pub fn client_config_with(ca_file: Option<&Path>) -> Result<ClientConfig, String> {
    client_config(roots(ca_file)?)
}

/// An HTTP client for `url`. Plain `http://` needs no roots, but reqwest still wants
/// a TLS configuration (else it looks for a process-wide provider), so it gets one
/// that trusts nothing.
pub(crate) fn http_client(
    url: &str,
    ca_file: Option<&Path>,
    timeout: std::time::Duration,
) -> Result<reqwest::Client, String> {
    let roots = if url.starts_with("https://") {
        roots(ca_file)?
    } else {
        Vec::new()
    };
    reqwest::Client::builder()
        .timeout(timeout)
        .tls_backend_preconfigured(client_config(roots)?)
        .build()
        .map_err(|e| format!("HTTP client: {e}"))
}

/// What lettre needs to speak TLS to `host` (a name or an IP address, as the server's
/// certificate names it).
pub(crate) fn smtp_parameters(host: &str, ca_file: Option<&Path>) -> Result<TlsParameters, String> {
    let mut builder =
        TlsParameters::builder(host.to_owned()).certificate_store(CertificateStore::None);
    for cert in roots(ca_file)? {
        let cert = Certificate::from_der(cert.to_vec()).map_err(|e| format!("root: {e}"))?;
        builder = builder.add_root_certificate(cert);
    }
    builder.build_rustls().map_err(|e| format!("TLS: {e}"))
}
