//! Typed errors of the diffusion crate.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum DiffusionError {
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
    #[error("model {dir}: {reason}")]
    Model { dir: PathBuf, reason: String },
    #[error("invalid input: {0}")]
    Input(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

pub type Result<T> = std::result::Result<T, DiffusionError>;

impl DiffusionError {
    pub(crate) fn input(message: impl Into<String>) -> Self {
        Self::Input(message.into())
    }
}
