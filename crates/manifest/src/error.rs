//! Typed errors of the manifest crate. They never carry key material.

use std::path::PathBuf;

/// Everything that can go wrong while creating identities, signing or reading manifests.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// A file could not be read or written.
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The identity directory is missing a file or holds a malformed one.
    #[error("identity {dir}: {reason}")]
    Identity { dir: PathBuf, reason: String },
    /// A private key file is readable by other users.
    #[error(
        "refusing to use private key {path}: its permissions are {mode:o}, readable by other users; run `chmod 600 {path}`"
    )]
    KeyPermissions { path: PathBuf, mode: u32 },
    /// An identity already exists where a new one was requested.
    #[error("{0} already holds an identity; pass --force to replace it")]
    IdentityExists(PathBuf),
    /// Certificate generation failed.
    #[error("certificate generation failed: {0}")]
    Certificate(String),
    /// A certificate offered for an identity certifies some other key.
    #[error(
        "{} certifies a different key than the signing key of identity {}; nothing was changed. \
         Import the certificate the CA issued for this identity's CSR (`candor keys csr --dir {}`)",
        cert.display(), dir.display(), dir.display()
    )]
    CertificateForAnotherKey { cert: PathBuf, dir: PathBuf },
    /// A certificate file that is malformed or unusable for claim signing.
    #[error("{}: {reason}", path.display())]
    CertificateFile { path: PathBuf, reason: String },
    /// The time-stamp authority could not be reached or gave no usable time-stamp.
    #[error("time-stamp authority {url}: {reason}")]
    TimeStamp { url: String, reason: String },
    /// A trust anchor file is not a PEM certificate bundle.
    #[error("trust anchors {path}: {reason}")]
    Trust { path: PathBuf, reason: String },
    /// The asset's format cannot carry a manifest.
    #[error("{path}: unsupported format for Content Credentials ({reason})")]
    UnsupportedFormat { path: PathBuf, reason: String },
    /// The asset is malformed (truncated, nested too deep, not what its name says).
    #[error("{path}: not a readable media file ({reason})")]
    InvalidAsset { path: PathBuf, reason: String },
    /// The C2PA SDK refused an operation.
    #[error("{context}: {source}")]
    C2pa {
        context: String,
        // Boxed: c2pa's error is large and would bloat every Result of this crate.
        #[source]
        source: Box<c2pa::Error>,
    },
}

impl ManifestError {
    pub(crate) fn io(action: &'static str, path: &std::path::Path, source: std::io::Error) -> Self {
        Self::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn c2pa(context: impl Into<String>, source: c2pa::Error) -> Self {
        Self::C2pa {
            context: context.into(),
            source: Box::new(source),
        }
    }

    /// True when the problem lies in the input (a file the user handed us) rather than in our own state.
    pub fn is_input_error(&self) -> bool {
        !matches!(self, Self::C2pa { .. })
    }
}

pub type Result<T> = std::result::Result<T, ManifestError>;
