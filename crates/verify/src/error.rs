//! Typed errors of verification, by the part that failed.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Media(#[from] candor_media::MediaError),
    #[error(transparent)]
    Model(#[from] candor_diffusion::DiffusionError),
    #[error(transparent)]
    Tensor(#[from] candle_core::Error),
    #[error(transparent)]
    Watermark(#[from] candor_watermark::WatermarkError),
    #[error(transparent)]
    Store(#[from] candor_store::StoreError),
    #[error("{}: no frames", path.display())]
    NoFrames { path: PathBuf },
}

pub type Result<T> = std::result::Result<T, VerifyError>;
