#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod encoder;

use std::path::PathBuf;

/// What can go wrong reading a prompt or loading the encoder.
#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    #[error("reading {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("text encoder file {path} is unusable: {reason}")]
    BadEncoder { path: PathBuf, reason: String },
    #[error("text encoder failed: {0}")]
    Encoder(String),
}
