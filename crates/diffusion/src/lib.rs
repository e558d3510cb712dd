//! Candor's generation engine on candle: an exact Haar latent codec, a small video UNet with
//! temporal layers and prompt conditioning, DDIM sampling and inversion, and the training loop of
//! the default model (procedural data, resumable).
//!
//! The initial noise is an input: callers (the `generate` crate) draw it from the watermark crate,
//! so this crate never decides what noise a clip starts from.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod codec;
pub mod data;
pub mod ddim;
mod error;
pub mod layers;
pub mod layout;
pub mod model;
pub mod pixels;
pub mod prompt;
pub mod train;
pub mod unet;

pub use codec::{HaarCodec, LatentCodec};
pub use ddim::Sampler;
pub use error::{DiffusionError, Result};
pub use model::{DiffusionModel, ModelConfig, Steer};
pub use pixels::{CLIP_FPS, WORK_SCALE};
pub use prompt::{tokenize, Tokens};
pub use train::{TrainConfig, Trainer};
