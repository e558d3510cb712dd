//! Latent shapes and the crate's errors.

use serde::{Deserialize, Serialize};

/// Shape of a video latent, `[frames, channels, height, width]`, stored row-major.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatentShape {
    pub frames: usize,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
}

impl LatentShape {
    pub fn new(frames: usize, channels: usize, height: usize, width: usize) -> Self {
        Self {
            frames,
            channels,
            height,
            width,
        }
    }

    /// Elements in one frame.
    pub fn frame_len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// Elements in the whole latent.
    pub fn len(&self) -> usize {
        self.frames * self.frame_len()
    }

    /// True when any dimension is zero.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn check(&self, data_len: Option<usize>) -> Result<(), WatermarkError> {
        if self.is_empty() {
            return Err(WatermarkError::EmptyShape(*self));
        }
        if self.frame_len() > u32::MAX as usize || self.len() > (1usize << 34) {
            return Err(WatermarkError::TooLarge(*self));
        }
        match data_len {
            Some(n) if n != self.len() => Err(WatermarkError::LengthMismatch {
                shape: *self,
                len: n,
            }),
            _ => Ok(()),
        }
    }
}

impl std::fmt::Display for LatentShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}x{}x{}x{}",
            self.frames, self.channels, self.height, self.width
        )
    }
}

/// Errors of the watermark crate: all come from arguments, none from chance.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WatermarkError {
    #[error("latent shape {0} is empty")]
    EmptyShape(LatentShape),
    #[error("latent shape {0} is too large")]
    TooLarge(LatentShape),
    #[error("latent of {len} values does not match shape {shape}")]
    LengthMismatch { shape: LatentShape, len: usize },
    #[error("the key ring is empty")]
    NoKeys,
    #[error("invalid option: {0}")]
    InvalidOption(String),
}
