//! Loading the signing identity: `--identity`, then `$CANDOR_IDENTITY`, then the public test
//! identity in `keys/dev` (with a loud warning).

use std::path::Path;

use candor_manifest::Identity;

use super::defaults::identity_dir;
use super::CliResult;

/// Loads the identity to sign with, printing the public-test warning to stderr when it applies.
pub fn load_identity(explicit: Option<&Path>) -> CliResult<Identity> {
    let dir = match explicit {
        Some(d) => d.to_path_buf(),
        None => identity_dir(),
    };
    let identity = Identity::load(&dir)?;
    if let Some(warning) = identity.public_test_warning() {
        eprintln!("{warning}");
    }
    Ok(identity)
}
