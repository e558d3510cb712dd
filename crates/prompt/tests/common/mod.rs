#![allow(dead_code)]
use std::path::PathBuf;

use candor_prompt::{PromptReader, World};

include!("world.rs");

/// The installed encoder's directory: `$CANDOR_TEXT_ENCODER`, else the repository's
/// `models/text-encoder`.
pub fn encoder_dir() -> PathBuf {
    match std::env::var_os("CANDOR_TEXT_ENCODER") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models/text-encoder"),
    }
}

/// The encoder reader, or `None` (with a note) when the encoder is not installed; under
/// `CI=true` a missing encoder fails the test.
pub fn reader() -> Option<PromptReader> {
    let dir = encoder_dir();
    if !dir.join("model.safetensors").exists() {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
        assert!(
            !ci,
            "CI=true but the text encoder is not installed in {} (run scripts/install-text-encoder.sh)",
            dir.display()
        );
        eprintln!(
            "note: skipped: text encoder not installed in {} (scripts/install-text-encoder.sh)",
            dir.display()
        );
        return None;
    }
    Some(PromptReader::open(&dir, world()).unwrap())
}
