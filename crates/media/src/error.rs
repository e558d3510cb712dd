//! Typed errors of the media crate.

use std::path::PathBuf;

/// What can go wrong reading or writing video.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("{path}: {reason}")]
    Open { path: PathBuf, reason: String },
    #[error("{path}: no video stream")]
    NoVideo { path: PathBuf },
    #[error("{path}: the video stream holds no decodable frame")]
    NoFrames { path: PathBuf },
    #[error("{path}: decoding failed at frame {frame}: {reason}")]
    Decode {
        path: PathBuf,
        frame: usize,
        reason: String,
    },
    #[error("{path}: encoding failed: {reason}")]
    Encode { path: PathBuf, reason: String },
    #[error("invalid option: {0}")]
    InvalidOption(String),
}

pub type Result<T> = std::result::Result<T, MediaError>;

/// Turns FFmpeg's terse errors into words a user can act on.
pub(crate) fn describe(error: &ffmpeg_next::Error) -> String {
    use ffmpeg_next::Error as E;
    match error {
        E::InvalidData => {
            "not a video FFmpeg can read (invalid data: wrong format, truncated or corrupt)".into()
        }
        E::Eof => "unexpected end of file (truncated?)".into(),
        E::DecoderNotFound => "no decoder for this codec in the installed FFmpeg".into(),
        E::EncoderNotFound => "no encoder for this codec in the installed FFmpeg".into(),
        E::StreamNotFound => "no suitable stream".into(),
        E::Other { errno } if *errno == libc_enoent() => "no such file".into(),
        E::Other { errno } if *errno == libc_eacces() => "permission denied".into(),
        other => other.to_string(),
    }
}

const fn libc_enoent() -> i32 {
    2
}
const fn libc_eacces() -> i32 {
    13
}
