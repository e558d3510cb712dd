//! Typed errors of the diffusion crate.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum DiffusionError {
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
    #[error("model {dir}: {reason}")]
    Model { dir: PathBuf, reason: String },
    #[error("frame of {got} bytes where {expected} (RGB24 at the model's size) were expected")]
    FrameSize { expected: usize, got: usize },
    #[error("expected RGB frames, got {channels} channels")]
    NotRgb { channels: usize },
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
