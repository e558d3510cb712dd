//! Signing identities: an Ed25519 key, its X.509 chain, and the watermark secret kept beside them.
//!
//! An identity is a directory:
//!
//! | file | content | mode |
//! |---|---|---|
//! | `identity.json` | organisation, common name, creation time, whether it is a public test identity | 0644 |
//! | `signing.key` | Ed25519 private key, PKCS#8 PEM | 0600 |
//! | `chain.pem` | leaf certificate then the root that issued it | 0644 |
//! | `root.pem` | the root certificate: the trust anchor verifiers pass with `--trust` | 0644 |
//! | `watermark.key` | 256-bit watermark secret, hex | 0600 |
//!
//! The root's private key is discarded once the leaf is issued: nothing else can be signed by it.

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
        let (leaf_der, root_der) = issue_chain(&key, &options.organization, &options.common_name)?;
        let mut watermark_secret = [0u8; 32];
        OsRng.fill_bytes(&mut watermark_secret);

        let key_pem = key
            .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
            .map_err(|_| ManifestError::Certificate("could not encode the private key".into()))?;
        write_private(&dir.join(KEY_FILE), key_pem.as_bytes())?;
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
        // The leaf's SubjectPublicKeyInfo ends with the raw 32-byte Ed25519 public key; a key that
        // does not appear there belongs to another certificate and would sign unverifiable claims.
        let public = key.verifying_key().to_bytes();
        if !leaf.windows(public.len()).any(|w| w == public) {
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

/// Issues a self-signed root CA and a leaf for `key`, returning their DER encodings.
fn issue_chain(
    key: &SigningKey,
    organization: &str,
    common_name: &str,
) -> Result<(Vec<u8>, Vec<u8>)> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
        KeyUsagePurpose, PKCS_ED25519,
    };
    let cert_err = |e: rcgen::Error| ManifestError::Certificate(e.to_string());
    let now = time::OffsetDateTime::now_utc();
    let not_before = now - time::Duration::days(1);

    let root_key = KeyPair::generate_for(&PKCS_ED25519).map_err(cert_err)?;
    let mut root = CertificateParams::new(Vec::<String>::new()).map_err(cert_err)?;
    root.distinguished_name
        .push(DnType::OrganizationName, organization);
    root.distinguished_name
        .push(DnType::CommonName, format!("{organization} Root CA"));
    root.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    root.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    root.not_before = not_before;
    root.not_after = now + time::Duration::days(3650);
    let root_cert = root.self_signed(&root_key).map_err(cert_err)?;

    let mut leaf = CertificateParams::new(Vec::<String>::new()).map_err(cert_err)?;
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
    leaf.not_before = not_before;
    leaf.not_after = now + time::Duration::days(1825);
    let leaf_cert = leaf
        .signed_by(
            &LeafPublicKey(key.verifying_key().to_bytes()),
            &root_cert,
            &root_key,
        )
        .map_err(cert_err)?;
    Ok((leaf_cert.der().to_vec(), root_cert.der().to_vec()))
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
        for f in [KEY_FILE, WATERMARK_FILE] {
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
}
