//! What is in a video file: container, codec, size, rate, duration, frame count, audio.

use std::path::Path;

use ffmpeg_next as ffmpeg;
use serde::{Deserialize, Serialize};

use crate::decode::open_input;
use crate::error::{MediaError, Result};

/// A summary of a media file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MediaInfo {
    /// Container as FFmpeg names it (e.g. `mov,mp4,m4a,3gp,3g2,mj2`, `matroska,webm`).
    pub container: String,
    /// Video codec (e.g. `h264`, `hevc`, `vp9`, `av1`).
    pub codec: String,
    /// Pixel format of the coded video (e.g. `yuv420p`, `yuv420p10le`).
    pub pixel_format: String,
    pub width: u32,
    pub height: u32,
    /// Average frame rate in frames per second.
    pub fps: f64,
    /// The frame rate as FFmpeg states it, "num/den".
    pub fps_rational: String,
    pub duration_seconds: f64,
    /// Number of video frames (counted from packets when the container does not say).
    pub frame_count: u64,
    pub has_audio: bool,
    pub file_bytes: u64,
}

/// Reads the container and counts video packets (no decoding).
pub fn probe(path: &Path) -> Result<MediaInfo> {
    let mut input = open_input(path)?;
    let stream = input
        .streams()
        .best(ffmpeg::media::Type::Video)
        .ok_or_else(|| MediaError::NoVideo {
            path: path.to_path_buf(),
        })?;
    let index = stream.index();
    let params = stream.parameters();
    let decoder = ffmpeg::codec::context::Context::from_parameters(params.clone())
        .and_then(|c| c.decoder().video())
        .map_err(|e| MediaError::Open {
            path: path.to_path_buf(),
            reason: crate::error::describe(&e),
        })?;
    let (width, height) = (decoder.width(), decoder.height());
    let pixel_format = decoder
        .format()
        .descriptor()
        .map(|d| d.name().to_string())
        .unwrap_or_else(|| "unknown".into());
    let codec = params.id().name().to_string();
    let rate = stream.avg_frame_rate();
    let rate = if rate.numerator() > 0 && rate.denominator() > 0 {
        rate
    } else {
        stream.rate()
    };
    let fps = if rate.denominator() != 0 {
        f64::from(rate)
    } else {
        0.0
    };
    let time_base = f64::from(stream.time_base());
    let stream_duration = stream.duration();
    let declared_frames = stream.frames();
    let has_audio = input
        .streams()
        .any(|s| s.parameters().medium() == ffmpeg::media::Type::Audio);
    let container = input.format().name().to_string();
    let container_duration = input.duration();

    // Count packets when the container does not give a frame count (Matroska, WebM).
    let frame_count = if declared_frames > 0 {
        declared_frames as u64
    } else {
        let mut n = 0u64;
        for (s, _) in input.packets() {
            if s.index() == index {
                n += 1;
            }
        }
        n
    };
    let duration_seconds = if stream_duration > 0 {
        stream_duration as f64 * time_base
    } else if container_duration > 0 {
        container_duration as f64 / f64::from(ffmpeg::ffi::AV_TIME_BASE)
    } else if fps > 0.0 {
        frame_count as f64 / fps
    } else {
        0.0
    };
    let file_bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    Ok(MediaInfo {
        container,
        codec,
        pixel_format,
        width,
        height,
        fps,
        fps_rational: format!("{}/{}", rate.numerator(), rate.denominator()),
        duration_seconds,
        frame_count,
        has_audio,
        file_bytes,
    })
}
