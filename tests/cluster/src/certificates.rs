//! The cluster's keys: a CA, the API server's serving certificate (for 127.0.0.1 and localhost)
//! and the service-account signing key pair, generated afresh for each cluster.

use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};

use crate::Error;

/// What the kubeconfigs need of the certificates.
pub struct Written {
    /// The CA certificate, PEM.
    pub ca_pem: String,
}

/// Writes `ca.crt`, `apiserver.crt`, `apiserver.key`, `service-account.key` and
/// `service-account.pub` into `dir`.
pub fn write(dir: &Path) -> Result<Written, Error> {
    let fail = |what: &'static str| {
        move |e: rcgen::Error| Error::Certificate {
            what,
            message: e.to_string(),
        }
    };
    let ca_key = KeyPair::generate().map_err(fail("the CA key"))?;
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(fail("the CA"))?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "prow-operator e2e CA");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca.self_signed(&ca_key).map_err(fail("the CA certificate"))?;
    let issuer = Issuer::new(ca, ca_key);

    let server_key = KeyPair::generate().map_err(fail("the serving key"))?;
    let mut server = CertificateParams::new(vec![
        "127.0.0.1".to_string(),
        "localhost".to_string(),
        "kubernetes.default.svc".to_string(),
    ])
    .map_err(fail("the serving certificate"))?;
    server.distinguished_name.push(DnType::CommonName, "kube-apiserver");
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    server.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    let server_cert = server
        .signed_by(&server_key, &issuer)
        .map_err(fail("the serving certificate"))?;

    let service_account = KeyPair::generate().map_err(fail("the service-account key"))?;

    let files = [
        ("ca.crt", ca_cert.pem()),
        ("apiserver.crt", server_cert.pem()),
        ("apiserver.key", server_key.serialize_pem()),
        ("service-account.key", service_account.serialize_pem()),
        ("service-account.pub", service_account.public_key_pem()),
    ];
    for (name, text) in &files {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|source| Error::Io {
            what: format!("writing {}", path.display()),
            source,
        })?;
    }
    Ok(Written { ca_pem: ca_cert.pem() })
}
