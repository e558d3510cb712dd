//! Video I/O for Candor on FFmpeg: probe a file, stream-decode it into RGB frames with timestamps,
//! and encode RGB frames to H.264 MP4.
//!
//! ```no_run
//! use candor_media::{DecodeOptions, FrameReader};
//! # fn main() -> Result<(), candor_media::MediaError> {
//! let options = DecodeOptions { stride: 2, max_frames: Some(16), size: Some((64, 64)), ..Default::default() };
//! for frame in FrameReader::open(std::path::Path::new("clip.mp4"), options)? {
//!     let frame = frame?;
//!     println!("frame {} at {:?} s", frame.index, frame.pts_seconds);
//! }
//! # Ok(()) }
//! ```
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod boxes;
mod color;
mod decode;
mod encode;
mod error;
pub mod fingerprint;
mod frame;
pub mod pixels;
mod probe;

pub use decode::{DecodeOptions, FrameReader, Scaling};
pub use encode::{EncodeOptions, Mp4Writer};
pub use error::{MediaError, Result};
pub use frame::RgbFrame;
pub use probe::{probe, MediaInfo};

/// Initialises FFmpeg once and silences its console logging (errors come back as values).
pub(crate) fn init() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = ffmpeg_next::init();
        ffmpeg_next::util::log::set_level(ffmpeg_next::util::log::Level::Fatal);
    });
}
