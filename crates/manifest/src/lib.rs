//! Content Credentials (C2PA) for Candor: Ed25519 identities, signing, and validation reports.
//!
//! ```no_run
//! use candor_manifest::{read_manifest, sign_file, Identity, ManifestSpec, TrustAnchors};
//! use std::path::Path;
//! # fn main() -> Result<(), candor_manifest::ManifestError> {
//! let identity = Identity::load(Path::new("keys/dev"))?;
//! let spec = ManifestSpec::new(c2pa::DigitalSourceType::DigitalCapture);
//! sign_file(&identity, Path::new("in.mp4"), Path::new("signed.mp4"), &spec, false)?;
//! let anchors = TrustAnchors::from_files(&[identity.root_path()])?;
//! let report = read_manifest(Path::new("signed.mp4"), None, &anchors)?;
//! println!("{}", report.summary);
//! # Ok(()) }
//! ```
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod error;
mod explain;
mod format;
mod identity;
mod read;
mod sign;
mod signer;
mod source_type;
mod spec;
mod tsa;

pub use c2pa::DigitalSourceType;
pub use error::{ManifestError, Result};
pub use explain::explain;
pub use format::{sniff, Container};
pub use identity::{Identity, IdentityInfo, NewIdentity};
pub use read::{
    read_detached_manifest, read_detached_manifest_unbound, read_manifest, ActionReport,
    CredentialState, IngredientReport, ManifestReport, SignerReport, StatusReport, TrustAnchors,
};
pub use sign::{sign_file, sign_fragmented, SignOutcome};
pub use signer::Ed25519Signer;
pub use source_type::{describe_source_type, parse_source_type, SOURCE_TYPES};
pub use spec::{
    EditInfo, EditOf, GenerationInfo, ManifestSpec, MiningPermission, RegionBinding, ShotInfo,
    SoftBinding, Timespan,
};
pub use tsa::check_tsa_url;
