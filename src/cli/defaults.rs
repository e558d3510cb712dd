//! Where the CLI finds what the user did not name: the default model and identity, beside the
//! working directory or the source tree.

use std::path::{Path, PathBuf};

/// The default model shipped in the repository.
pub const DEFAULT_MODEL: &str = "models/candor-shapes-v3";

/// `--model`, else the default model next to the working directory or the source tree.
pub fn model_dir(explicit: Option<&Path>) -> PathBuf {
    if let Some(dir) = explicit {
        return dir.to_path_buf();
    }
    let local = PathBuf::from(DEFAULT_MODEL);
    if local.join("config.json").is_file() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_MODEL)
}

/// The committed public test identity, found beside the working directory or the source tree.
pub fn default_identity_dir() -> PathBuf {
    let local = PathBuf::from("keys/dev");
    if local.join("identity.json").is_file() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("keys/dev")
}

/// The identity directory when none is given: `$CANDOR_IDENTITY`, else the public test one.
pub fn identity_dir() -> PathBuf {
    match std::env::var_os("CANDOR_IDENTITY") {
        Some(d) => PathBuf::from(d),
        None => default_identity_dir(),
    }
}
