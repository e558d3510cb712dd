//! Signing identities: an Ed25519 key, its X.509 chain, and the watermark secret kept beside them.
//!
//! An identity is a directory:
//!
//! | file | content | mode |
//! |---|---|---|
//! | `identity.json` | organisation, common name, creation time, whether it is a public test identity | 0644 |
//! | `signing.key` | Ed25519 private key of the claim-signing leaf, PKCS#8 PEM | 0600 |
//! | `chain.pem` | leaf certificate, then the certificates that issued it | 0644 |
//! | `root.pem` | the root certificate: the trust anchor verifiers pass with `--trust` | 0644 |
//! | `ca.key` | ECDSA P-256 private key of the identity's own root CA, PKCS#8 PEM (absent in identities made before it was kept, and after `import` of a leaf from another CA it is no longer the issuer) | 0600 |
//! | `watermark.key` | 256-bit watermark secret, hex | 0600 |
//!
//! The shape follows the C2PA certificate policy: the root is an ECDSA P-256 CA (CA:true,
//! keyCertSign; C2PA allows only RSA and ECDSA for CA certificates), the leaf an Ed25519 end-entity
//! certificate (digitalSignature, the C2PA claim-signing and emailProtection EKUs, not a CA, with
//! subject and authority key identifiers). Identities made before (an Ed25519 root, such as
//! `keys/dev`) load and sign as before.
//!
//! A newsroom that wants its leaf from a real CA asks for it with [`Identity::csr_pem`] and installs
//! the answer with [`Identity::import_certificate`], which checks that the certificate is for this
//! identity's key.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::SigningKey;
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};

use crate::error::{ManifestError, Result};
use crate::signer::Ed25519Signer;

/// C2PA's own extended key usage for claim signing certificates.
const C2PA_SIGNING_EKU: [u64; 9] = [1, 3, 6, 1, 4, 1, 62558, 2, 1];

const INFO_FILE: &str = "identity.json";
const KEY_FILE: &str = "signing.key";
const CHAIN_FILE: &str = "chain.pem";
const ROOT_FILE: &str = "root.pem";
const WATERMARK_FILE: &str = "watermark.key";
const CA_KEY_FILE: &str = "ca.key";

/// The public description of an identity, stored as `identity.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct IdentityInfo {
    /// Organisation in the certificate subject (O=).
    pub organization: String,
    /// Common name in the leaf certificate subject (CN=).
    pub common_name: String,
    /// RFC 3339 creation time.
    pub created: String,
    /// True for identities whose private key is published (such as `keys/dev`): anyone can sign as them.
    #[serde(default)]
    pub public_test_identity: bool,
}

/// Options for [`Identity::create`].
#[derive(Debug, Clone)]
pub struct NewIdentity {
    pub organization: String,
    pub common_name: String,
    /// Mark the identity as a public test identity (its key is meant to be committed and shared).
    pub public_test_identity: bool,
    /// Replace an identity already in the directory.
    pub force: bool,
}

/// A loaded identity, ready to sign.
pub struct Identity {
    dir: PathBuf,
    info: IdentityInfo,
    key: SigningKey,
    chain: Vec<Vec<u8>>,
    watermark_secret: [u8; 32],
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("dir", &self.dir)
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl Identity {
    /// Creates a new identity in `dir`: a fresh Ed25519 key, a root CA, a leaf certificate issued by
    /// it for C2PA signing, and a watermark secret. Private files are written with mode 0600.
    pub fn create(dir: &Path, options: &NewIdentity) -> Result<Identity> {
        if dir.join(KEY_FILE).exists() && !options.force {
            return Err(ManifestError::IdentityExists(dir.to_path_buf()));
        }
        fs::create_dir_all(dir).map_err(|e| ManifestError::io("creating", dir, e))?;

        let key = SigningKey::generate(&mut OsRng);
        let issued = issue_chain(&key, &options.organization, &options.common_name)?;
        let (leaf_der, root_der) = (issued.leaf, issued.root);
        let mut watermark_secret = [0u8; 32];
        OsRng.fill_bytes(&mut watermark_secret);

        let key_pem = key
            .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
            .map_err(|_| ManifestError::Certificate("could not encode the private key".into()))?;
        write_private(&dir.join(KEY_FILE), key_pem.as_bytes())?;
        write_private(&dir.join(CA_KEY_FILE), issued.ca_key_pem.as_bytes())?;
        write_private(
            &dir.join(WATERMARK_FILE),
            format!("{}\n", hex::encode(watermark_secret)).as_bytes(),
        )?;
        let chain_pem = format!("{}{}", cert_pem(&leaf_der), cert_pem(&root_der));
        write_public(&dir.join(CHAIN_FILE), chain_pem.as_bytes())?;
        write_public(&dir.join(ROOT_FILE), cert_pem(&root_der).as_bytes())?;

        let info = IdentityInfo {
            organization: options.organization.clone(),
            common_name: options.common_name.clone(),
            created: now_rfc3339(),
            public_test_identity: options.public_test_identity,
        };
        let json = serde_json::to_vec_pretty(&info)
            .map_err(|e| ManifestError::Certificate(e.to_string()))?;
        write_public(&dir.join(INFO_FILE), &json)?;

        Ok(Identity {
            dir: dir.to_path_buf(),
            info,
            key,
            chain: vec![leaf_der, root_der],
            watermark_secret,
        })
    }

    /// Loads an identity. Private key files must not be readable by group or others, except in a
    /// public test identity (whose key is published anyway, and whose mode git does not keep).
    pub fn load(dir: &Path) -> Result<Identity> {
        let bad = |reason: String| ManifestError::Identity {
            dir: dir.to_path_buf(),
            reason,
        };
        if !dir.is_dir() {
            return Err(bad(
                "no such directory (create one with `candor keys init --dir DIR`)".into(),
            ));
        }
        let info_bytes = read(&dir.join(INFO_FILE))?;
        let info: IdentityInfo = serde_json::from_slice(&info_bytes)
            .map_err(|e| bad(format!("{INFO_FILE} is not valid: {e}")))?;

        let key_path = dir.join(KEY_FILE);
        if !info.public_test_identity {
            check_private_mode(&key_path)?;
            check_private_mode(&dir.join(WATERMARK_FILE))?;
            let ca_key = dir.join(CA_KEY_FILE);
            if ca_key.exists() {
                check_private_mode(&ca_key)?;
            }
        }
        let key_pem = String::from_utf8(read(&key_path)?)
            .map_err(|_| bad(format!("{KEY_FILE} is not a PEM file")))?;
        // The parse error is not shown: it could echo key bytes.
        let key = SigningKey::from_pkcs8_pem(&key_pem)
            .map_err(|_| bad(format!("{KEY_FILE} is not an Ed25519 PKCS#8 private key")))?;

        let chain = parse_pem_certificates(&read(&dir.join(CHAIN_FILE))?)
            .map_err(|reason| bad(format!("{CHAIN_FILE}: {reason}")))?;
        let leaf = chain
            .first()
            .ok_or_else(|| bad(format!("{CHAIN_FILE} holds no certificate")))?;
        // A leaf for another key would sign claims nobody can verify.
        if !certificate_is_for_key(leaf, &key) {
            return Err(bad(format!(
                "{KEY_FILE} does not match the leaf certificate in {CHAIN_FILE}"
            )));
        }

        let secret_text = String::from_utf8(read(&dir.join(WATERMARK_FILE))?)
            .map_err(|_| bad(format!("{WATERMARK_FILE} is not hex text")))?;
        let watermark_secret = parse_secret(secret_text.trim())
            .ok_or_else(|| bad(format!("{WATERMARK_FILE} must hold 64 hex digits")))?;

        Ok(Identity {
            dir: dir.to_path_buf(),
            info,
            key,
            chain,
            watermark_secret,
        })
    }

    /// The directory the identity lives in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Public description.
    pub fn info(&self) -> &IdentityInfo {
        &self.info
    }

    /// True when anyone can sign as this identity (its private key is published).
    pub fn is_public_test_identity(&self) -> bool {
        self.info.public_test_identity
    }

    /// Path of the root certificate verifiers should trust for this identity.
    pub fn root_path(&self) -> PathBuf {
        self.dir.join(ROOT_FILE)
    }

    /// The 256-bit watermark secret stored with this identity.
    pub fn watermark_secret(&self) -> &[u8; 32] {
        &self.watermark_secret
    }

    /// A C2PA signer for this identity.
    pub fn signer(&self) -> Ed25519Signer {
        Ed25519Signer::new(self.key.clone(), self.chain.clone())
    }

    /// A PKCS#10 certificate signing request for this identity's Ed25519 signing key, PEM: subject
    /// O= and CN= from the identity, asking for what a C2PA claim signer needs (digitalSignature,
    /// the C2PA claim-signing and emailProtection EKUs, not a CA). Signed by the key itself.
    pub fn csr_pem(&self) -> Result<String> {
        let mut params = leaf_params(&self.info.organization, &self.info.common_name)?;
        // What only the issuing CA can write (it knows its own key identifier) stays out of the
        // request; "not a CA" is the request's default.
        params.is_ca = rcgen::IsCa::NoCa;
        params.use_authority_key_identifier_extension = false;
        let remote = DalekRemoteKey {
            key: self.key.clone(),
            public: self.key.verifying_key().to_bytes(),
        };
        let cert_err = |e: rcgen::Error| ManifestError::Certificate(e.to_string());
        let key_pair = rcgen::KeyPair::from_remote(Box::new(remote)).map_err(cert_err)?;
        let csr = params.serialize_request(&key_pair).map_err(cert_err)?;
        csr.pem().map_err(cert_err)
    }

    /// Installs a certificate a CA issued for this identity's key: `cert` (PEM: the leaf, possibly
    /// followed by its issuers) and optionally `chain` (PEM: the issuers). The leaf must be for this
    /// identity's Ed25519 key and fit the C2PA claim-signer profile; otherwise nothing changes.
    /// `chain.pem` becomes leaf + issuers; `root.pem` becomes the chain's self-signed root when it
    /// has one, and is removed otherwise (the old root did not issue this leaf).
    pub fn import_certificate(dir: &Path, cert: &Path, chain: Option<&Path>) -> Result<Identity> {
        let identity = Identity::load(dir)?;
        let trust = |path: &Path, reason: String| ManifestError::CertificateFile {
            path: path.to_path_buf(),
            reason,
        };
        let bad_cert = |reason: String| trust(cert, reason);
        let mut certs =
            parse_pem_certificates(&read(cert)?).map_err(|reason| trust(cert, reason))?;
        if let Some(chain) = chain {
            certs.extend(
                parse_pem_certificates(&read(chain)?).map_err(|reason| trust(chain, reason))?,
            );
        }
        let leaf = certs
            .first()
            .ok_or_else(|| bad_cert("no certificate".into()))?;
        if !certificate_is_for_key(leaf, &identity.key) {
            return Err(ManifestError::CertificateForAnotherKey {
                cert: cert.to_path_buf(),
                dir: dir.to_path_buf(),
            });
        }
        if let Some(problem) = leaf_policy_problem(leaf) {
            return Err(bad_cert(format!(
                "not usable for C2PA claim signing: {problem}"
            )));
        }
        let bundle: String = certs.iter().map(|c| cert_pem(c)).collect();
        let root = certs
            .last()
            .filter(|c| certs.len() > 1 && is_self_issued(c));
        write_replacing(&dir.join(CHAIN_FILE), bundle.as_bytes())?;
        match root {
            Some(root) => write_replacing(&dir.join(ROOT_FILE), cert_pem(root).as_bytes())?,
            None => match fs::remove_file(dir.join(ROOT_FILE)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(ManifestError::io("removing", &dir.join(ROOT_FILE), e)),
            },
        }
        Identity::load(dir)
    }

    /// True when `root.pem` exists (an identity whose imported chain stops below its root has none).
    pub fn has_root(&self) -> bool {
        self.root_path().is_file()
    }

    /// The warning every tool prints when it signs with a public test identity.
    pub fn public_test_warning(&self) -> Option<String> {
        self.info.public_test_identity.then(|| {
            format!(
                "WARNING: signing with the PUBLIC TEST identity in {}. Its private key is published: \
                 anyone can sign as \"{}\". Verifiers must not trust it. Create your own with `candor keys init`.",
                self.dir.display(),
                self.info.organization
            )
        })
    }
}

/// What [`issue_chain`] made.
struct IssuedChain {
    leaf: Vec<u8>,
    root: Vec<u8>,
    /// The root CA's private key, PKCS#8 PEM.
    ca_key_pem: String,
}

/// Issues a self-signed ECDSA P-256 root CA and an Ed25519 claim-signing leaf for `key`.
fn issue_chain(key: &SigningKey, organization: &str, common_name: &str) -> Result<IssuedChain> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose,
        PKCS_ECDSA_P256_SHA256,
    };
    let cert_err = |e: rcgen::Error| ManifestError::Certificate(e.to_string());
    let now = time::OffsetDateTime::now_utc();
    let not_before = now - time::Duration::days(1);

    let root_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(cert_err)?;
    let mut root = CertificateParams::new(Vec::<String>::new()).map_err(cert_err)?;
    root.distinguished_name
        .push(DnType::OrganizationName, organization);
    root.distinguished_name
        .push(DnType::CommonName, format!("{organization} Root CA"));
    root.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    root.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    root.not_before = not_before;
    root.not_after = now + time::Duration::days(3650);
    root.serial_number = Some(random_serial());
    let root_cert = root.self_signed(&root_key).map_err(cert_err)?;

    let mut leaf = leaf_params(organization, common_name)?;
    leaf.not_before = not_before;
    leaf.not_after = now + time::Duration::days(1825);
    leaf.serial_number = Some(random_serial());
    let leaf_cert = leaf
        .signed_by(
            &LeafPublicKey(key.verifying_key().to_bytes()),
            &root_cert,
            &root_key,
        )
        .map_err(cert_err)?;
    Ok(IssuedChain {
        leaf: leaf_cert.der().to_vec(),
        root: root_cert.der().to_vec(),
        ca_key_pem: root_key.serialize_pem(),
    })
}

/// The subject and extensions of a claim-signing leaf (also what a CSR asks for).
fn leaf_params(organization: &str, common_name: &str) -> Result<rcgen::CertificateParams> {
    use rcgen::{CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyUsagePurpose};
    let mut leaf = CertificateParams::new(Vec::<String>::new())
        .map_err(|e| ManifestError::Certificate(e.to_string()))?;
    leaf.distinguished_name
        .push(DnType::OrganizationName, organization);
    leaf.distinguished_name
        .push(DnType::CommonName, common_name);
    leaf.is_ca = IsCa::ExplicitNoCa;
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::Other(C2PA_SIGNING_EKU.to_vec()),
        ExtendedKeyUsagePurpose::EmailProtection,
    ];
    leaf.use_authority_key_identifier_extension = true;
    Ok(leaf)
}

/// A positive 16-byte serial number (RFC 5280 allows up to 20 octets).
fn random_serial() -> rcgen::SerialNumber {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    bytes[0] &= 0x7f;
    bytes[0] |= 0x01;
    rcgen::SerialNumber::from_slice(&bytes)
}

/// The leaf's public key as rcgen wants it, so the private key never leaves ed25519-dalek.
struct LeafPublicKey([u8; 32]);

impl rcgen::PublicKeyData for LeafPublicKey {
    fn der_bytes(&self) -> &[u8] {
        &self.0
    }
    fn algorithm(&self) -> &rcgen::SignatureAlgorithm {
        &rcgen::PKCS_ED25519
    }
}

/// The identity's key as an rcgen "remote" key pair, so a CSR is signed by ed25519-dalek and rcgen
/// never holds the private key bytes.
struct DalekRemoteKey {
    key: SigningKey,
    public: [u8; 32],
}

impl rcgen::RemoteKeyPair for DalekRemoteKey {
    fn public_key(&self) -> &[u8] {
        &self.public
    }
    fn sign(&self, msg: &[u8]) -> std::result::Result<Vec<u8>, rcgen::Error> {
        use ed25519_dalek::Signer as _;
        Ok(self.key.sign(msg).to_bytes().to_vec())
    }
    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_ED25519
    }
}

/// True when `der` is an X.509 certificate whose subject public key is `key`'s Ed25519 key.
fn certificate_is_for_key(der: &[u8], key: &SigningKey) -> bool {
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else {
        return false;
    };
    let spki = cert.public_key();
    spki.algorithm.algorithm == x509_parser::oid_registry::OID_SIG_ED25519
        && spki.subject_public_key.data.as_ref() == key.verifying_key().as_bytes()
}

/// Why `der` cannot be a C2PA claim-signing leaf, if it cannot: a CA, no digitalSignature key
/// usage, no extended key usage C2PA validators accept, or outside its validity period.
fn leaf_policy_problem(der: &[u8]) -> Option<String> {
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else {
        return Some("it is not a DER X.509 certificate".into());
    };
    if cert.is_ca() {
        return Some(
            "it is a CA certificate, not an end-entity (claim signing) certificate".into(),
        );
    }
    match cert.key_usage() {
        Ok(Some(ku)) if ku.value.digital_signature() => {}
        _ => return Some("its key usage lacks digitalSignature".into()),
    }
    let c2pa_eku = |oid: &x509_parser::der_parser::oid::Oid| {
        let text = oid.to_id_string();
        [
            "1.3.6.1.4.1.62558.2.1",     // C2PA claim signing
            "1.3.6.1.5.5.7.3.36",        // document signing
            "1.3.6.1.4.1.311.76.59.1.9", // Microsoft C2PA signing
        ]
        .contains(&text.as_str())
    };
    match cert.extended_key_usage() {
        Ok(Some(eku)) if eku.value.email_protection || eku.value.other.iter().any(c2pa_eku) => {}
        _ => {
            return Some(
                "its extended key usage has none that C2PA accepts for claim signing \
                 (C2PA claim signing 1.3.6.1.4.1.62558.2.1, documentSigning or emailProtection)"
                    .into(),
            )
        }
    }
    if !cert.validity().is_valid() {
        return Some("it is outside its validity period".into());
    }
    None
}

/// True when the certificate's issuer is its subject (a root).
fn is_self_issued(der: &[u8]) -> bool {
    x509_parser::parse_x509_certificate(der)
        .map(|(_, c)| c.subject().as_raw() == c.issuer().as_raw())
        .unwrap_or(false)
}

/// Parses a PEM bundle into DER certificates; errors are plain words.
pub(crate) fn parse_pem_certificates(bytes: &[u8]) -> std::result::Result<Vec<Vec<u8>>, String> {
    let blocks = pem::parse_many(bytes).map_err(|e| format!("not a PEM file ({e})"))?;
    let certs: Vec<Vec<u8>> = blocks
        .into_iter()
        .filter(|b| b.tag() == "CERTIFICATE")
        .map(|b| b.into_contents())
        .collect();
    if certs.is_empty() {
        return Err("no CERTIFICATE block found".into());
    }
    Ok(certs)
}

fn cert_pem(der: &[u8]) -> String {
    pem::encode(&pem::Pem::new("CERTIFICATE", der.to_vec()))
}

fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(|e| ManifestError::io("reading", path, e))
}

fn write_public(path: &Path, bytes: &[u8]) -> Result<()> {
    fs::write(path, bytes).map_err(|e| ManifestError::io("writing", path, e))
}

/// Writes a public file beside its final name, then renames it into place (never half-written).
fn write_replacing(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let staging = path.with_file_name(format!(".{name}.{}.partial", std::process::id()));
    write_public(&staging, bytes)?;
    fs::rename(&staging, path).map_err(|e| {
        let _ = fs::remove_file(&staging);
        ManifestError::io("writing", path, e)
    })
}

/// Writes a private file with mode 0600 from the moment it exists (no window where it is readable).
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let _ = fs::remove_file(path);
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|e| ManifestError::io("writing", path, e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| ManifestError::io("writing", path, e))
}

#[cfg(unix)]
fn check_private_mode(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta = fs::metadata(path).map_err(|e| ManifestError::io("reading", path, e))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(ManifestError::KeyPermissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private_mode(_path: &Path) -> Result<()> {
    Ok(())
}

fn parse_secret(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;

    fn options() -> NewIdentity {
        NewIdentity {
            organization: "Test Org".into(),
            common_name: "Test Signer".into(),
            public_test_identity: false,
            force: false,
        }
    }

    #[test]
    fn create_then_load_round_trips() -> Result<()> {
        let dir =
            tempfile::tempdir().map_err(|e| ManifestError::io("tempdir", Path::new("."), e))?;
        let made = Identity::create(dir.path(), &options())?;
        let loaded = Identity::load(dir.path())?;
        assert_eq!(made.watermark_secret(), loaded.watermark_secret());
        assert_eq!(loaded.info().organization, "Test Org");
        assert_eq!(loaded.chain.len(), 2);
        Ok(())
    }

    #[cfg(unix)]
    #[test]
    fn private_files_are_0600_and_loose_modes_are_refused() -> Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let dir =
            tempfile::tempdir().map_err(|e| ManifestError::io("tempdir", Path::new("."), e))?;
        Identity::create(dir.path(), &options())?;
        for f in [KEY_FILE, WATERMARK_FILE, CA_KEY_FILE] {
            let mode = fs::metadata(dir.path().join(f))
                .map_err(|e| ManifestError::io("stat", dir.path(), e))?
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{f}");
        }
        let key = dir.path().join(KEY_FILE);
        fs::set_permissions(&key, fs::Permissions::from_mode(0o644))
            .map_err(|e| ManifestError::io("chmod", &key, e))?;
        assert!(matches!(
            Identity::load(dir.path()),
            Err(ManifestError::KeyPermissions { .. })
        ));
        Ok(())
    }

    #[test]
    fn refuses_to_overwrite_without_force() -> Result<()> {
        let dir =
            tempfile::tempdir().map_err(|e| ManifestError::io("tempdir", Path::new("."), e))?;
        let first = Identity::create(dir.path(), &options())?;
        assert!(matches!(
            Identity::create(dir.path(), &options()),
            Err(ManifestError::IdentityExists(_))
        ));
        let forced = Identity::create(
            dir.path(),
            &NewIdentity {
                force: true,
                ..options()
            },
        )?;
        assert_ne!(first.watermark_secret(), forced.watermark_secret());
        Ok(())
    }

    #[test]
    fn mismatched_key_and_certificate_are_refused() -> Result<()> {
        let a = tempfile::tempdir().map_err(|e| ManifestError::io("tempdir", Path::new("."), e))?;
        let b = tempfile::tempdir().map_err(|e| ManifestError::io("tempdir", Path::new("."), e))?;
        Identity::create(a.path(), &options())?;
        Identity::create(b.path(), &options())?;
        fs::copy(b.path().join(CHAIN_FILE), a.path().join(CHAIN_FILE))
            .map_err(|e| ManifestError::io("copy", a.path(), e))?;
        let err = Identity::load(a.path())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("does not match"), "{err}");
        Ok(())
    }

    #[test]
    fn errors_never_contain_key_material() -> Result<()> {
        let dir =
            tempfile::tempdir().map_err(|e| ManifestError::io("tempdir", Path::new("."), e))?;
        Identity::create(dir.path(), &options())?;
        let key_path = dir.path().join(KEY_FILE);
        let pem =
            fs::read_to_string(&key_path).map_err(|e| ManifestError::io("read", &key_path, e))?;
        // Corrupt the base64 body but keep most of it: the error must not echo it.
        let corrupted = pem.replacen('A', "*", 1).replacen("MC", "M!", 1);
        write_private(&key_path, corrupted.as_bytes())?;
        let err = Identity::load(dir.path())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(!err.is_empty());
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        assert!(!err.contains(&body[..16.min(body.len())]), "{err}");
        Ok(())
    }

    fn parse(der: &[u8]) -> x509_parser::certificate::X509Certificate<'_> {
        match x509_parser::parse_x509_certificate(der) {
            Ok((_, c)) => c,
            Err(e) => panic!("not a certificate: {e}"),
        }
    }

    #[test]
    fn the_root_is_an_ecdsa_p256_ca_and_the_leaf_an_ed25519_claim_signer() -> Result<()> {
        use x509_parser::oid_registry::{OID_KEY_TYPE_EC_PUBLIC_KEY, OID_SIG_ED25519};
        let dir =
            tempfile::tempdir().map_err(|e| ManifestError::io("tempdir", Path::new("."), e))?;
        let identity = Identity::create(dir.path(), &options())?;
        let (leaf, root) = (parse(&identity.chain[0]), parse(&identity.chain[1]));

        assert_eq!(
            root.public_key().algorithm.algorithm,
            OID_KEY_TYPE_EC_PUBLIC_KEY
        );
        assert!(root.is_ca());
        let ku = root
            .key_usage()
            .ok()
            .flatten()
            .map(|k| k.value.key_cert_sign());
        assert_eq!(ku, Some(true));
        assert!(root
            .extensions()
            .iter()
            .any(|e| e.oid.to_id_string() == "2.5.29.14"));

        assert_eq!(leaf.public_key().algorithm.algorithm, OID_SIG_ED25519);
        assert!(!leaf.is_ca());
        assert_eq!(leaf_policy_problem(&identity.chain[0]), None);
        let ids: Vec<String> = leaf
            .extensions()
            .iter()
            .map(|e| e.oid.to_id_string())
            .collect();
        assert!(ids.contains(&"2.5.29.14".to_string()), "SKI: {ids:?}");
        assert!(ids.contains(&"2.5.29.35".to_string()), "AKI: {ids:?}");
        assert_eq!(leaf.issuer().as_raw(), root.subject().as_raw());
        assert!(certificate_is_for_key(&identity.chain[0], &identity.key));
        assert!(dir.path().join(CA_KEY_FILE).is_file());
        Ok(())
    }

    #[test]
    fn a_csr_carries_the_identity_subject_and_signing_key() -> Result<()> {
        let dir =
            tempfile::tempdir().map_err(|e| ManifestError::io("tempdir", Path::new("."), e))?;
        let identity = Identity::create(dir.path(), &options())?;
        let pem = identity.csr_pem()?;
        assert!(
            pem.starts_with("-----BEGIN CERTIFICATE REQUEST-----"),
            "{pem}"
        );
        let der = pem::parse(&pem)
            .map(|p| p.into_contents())
            .unwrap_or_default();
        let csr = match <x509_parser::certification_request::X509CertificationRequest as x509_parser::prelude::FromDer<_>>::from_der(&der) {
            Ok((_, c)) => c,
            Err(e) => panic!("not a CSR: {e}"),
        };
        let info = &csr.certification_request_info;
        assert_eq!(
            info.subject_pki.subject_public_key.data.as_ref(),
            identity.key.verifying_key().as_bytes()
        );
        let subject = info.subject.to_string();
        assert!(
            subject.contains("O=Test Org") && subject.contains("CN=Test Signer"),
            "{subject}"
        );
        Ok(())
    }

    #[test]
    fn importing_a_certificate_for_another_key_changes_nothing() -> Result<()> {
        let a = tempfile::tempdir().map_err(|e| ManifestError::io("tempdir", Path::new("."), e))?;
        let b = tempfile::tempdir().map_err(|e| ManifestError::io("tempdir", Path::new("."), e))?;
        Identity::create(a.path(), &options())?;
        Identity::create(b.path(), &options())?;
        let before = fs::read(a.path().join(CHAIN_FILE)).unwrap_or_default();
        let err = Identity::import_certificate(a.path(), &b.path().join(CHAIN_FILE), None);
        assert!(
            matches!(err, Err(ManifestError::CertificateForAnotherKey { .. })),
            "{err:?}"
        );
        assert_eq!(
            fs::read(a.path().join(CHAIN_FILE)).unwrap_or_default(),
            before
        );
        assert!(a.path().join(ROOT_FILE).is_file());
        Ok(())
    }

    #[test]
    fn importing_its_own_chain_again_keeps_the_identity_usable() -> Result<()> {
        let dir =
            tempfile::tempdir().map_err(|e| ManifestError::io("tempdir", Path::new("."), e))?;
        Identity::create(dir.path(), &options())?;
        let copy = dir.path().join("issued.pem");
        fs::copy(dir.path().join(CHAIN_FILE), &copy)
            .map_err(|e| ManifestError::io("copy", &copy, e))?;
        let imported = Identity::import_certificate(dir.path(), &copy, None)?;
        assert_eq!(imported.chain.len(), 2);
        assert!(imported.has_root());
        Ok(())
    }

    #[test]
    fn a_ca_certificate_cannot_be_imported_as_the_leaf() -> Result<()> {
        let dir =
            tempfile::tempdir().map_err(|e| ManifestError::io("tempdir", Path::new("."), e))?;
        let identity = Identity::create(dir.path(), &options())?;
        assert!(leaf_policy_problem(&identity.chain[1]).is_some());
        let garbage = dir.path().join("garbage.pem");
        fs::write(&garbage, "not a pem").map_err(|e| ManifestError::io("write", &garbage, e))?;
        assert!(matches!(
            Identity::import_certificate(dir.path(), &garbage, None),
            Err(ManifestError::CertificateFile { .. })
        ));
        Ok(())
    }

    #[test]
    fn an_identity_with_an_ed25519_root_still_loads() -> Result<()> {
        // keys/dev was made before roots became ECDSA: it must keep loading and signing.
        let dev = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../keys/dev");
        let identity = Identity::load(&dev)?;
        let root = parse(identity.chain.last().map(Vec::as_slice).unwrap_or_default());
        assert_eq!(
            root.public_key().algorithm.algorithm,
            x509_parser::oid_registry::OID_SIG_ED25519
        );
        Ok(())
    }
}
