//! Finding the signing identity: `--identity`, then `$CANDOR_IDENTITY`, then the public test
//! identity in `keys/dev` (with a loud warning).

use std::path::{Path, PathBuf};

use candor_manifest::Identity;

use super::CliResult;

/// The committed public test identity, found beside the working directory or the source tree.
pub fn default_identity_dir() -> PathBuf {
    let local = PathBuf::from("keys/dev");
    if local.join("identity.json").is_file() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("keys/dev")
}

/// Loads the identity to sign with, printing the public-test warning to stderr when it applies.
pub fn load_identity(explicit: Option<&Path>) -> CliResult<Identity> {
    let dir = match explicit {
        Some(d) => d.to_path_buf(),
        None => match std::env::var_os("CANDOR_IDENTITY") {
            Some(d) => PathBuf::from(d),
            None => default_identity_dir(),
        },
    };
    let identity = Identity::load(&dir).map_err(|e| e.to_string())?;
    if let Some(warning) = identity.public_test_warning() {
        eprintln!("{warning}");
    }
    Ok(identity)
}
