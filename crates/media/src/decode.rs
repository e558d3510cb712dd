//! Streaming decode of any video FFmpeg reads into RGB frames.
//!
//! [`FrameReader`] holds one demuxer, one decoder and one scaler; it yields frames one at a time, so
//! memory is bounded by the decoder's own reorder buffer, not by the clip's length.

use std::path::{Path, PathBuf};

use ffmpeg::format::Pixel;
use ffmpeg::software::scaling;
use ffmpeg_next as ffmpeg;

use crate::color::{set_yuv_details, sws_colorspace};
use crate::error::{describe, MediaError, Result};
use crate::frame::RgbFrame;

/// What to decode.
#[derive(Debug, Clone)]
pub struct DecodeOptions {
    /// Keep every `stride`-th decoded frame (1 keeps all).
    pub stride: usize,
    /// Stop after this many frames have been returned.
    pub max_frames: Option<usize>,
    /// Scale frames to this size (width, height); `None` keeps the stream's size.
    pub size: Option<(u32, u32)>,
    /// How the scaler resamples to `size`.
    pub scaling: Scaling,
    /// Skip the codec's in-loop deblocking filter (H.264, HEVC): faster decoding of slightly
    /// blockier pictures, for readers that look at a much reduced size anyway.
    pub skip_loop_filter: bool,
}

/// The scaler's resampling filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scaling {
    /// Bicubic, for pictures people look at.
    #[default]
    Bicubic,
    /// Area averaging: each output pixel the mean of the input it covers (a large reduction
    /// without aliasing, and cheaper than resizing a full-size RGB picture afterwards).
    Area,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self {
            stride: 1,
            max_frames: None,
            size: None,
            scaling: Scaling::Bicubic,
            skip_loop_filter: false,
        }
    }
}

/// A stream of RGB frames from one file.
pub struct FrameReader {
    path: PathBuf,
    input: ffmpeg::format::context::Input,
    decoder: ffmpeg::decoder::Video,
    stream_index: usize,
    time_base: ffmpeg::Rational,
    frame_rate: Option<f64>,
    frames_hint: Option<u64>,
    start_pts: Option<i64>,
    scaler: Option<(scaling::Context, (Pixel, u32, u32))>,
    options: DecodeOptions,
    decoded: usize,
    returned: usize,
    input_done: bool,
    finished: bool,
}

impl std::fmt::Debug for FrameReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameReader")
            .field("path", &self.path)
            .field("decoded", &self.decoded)
            .finish_non_exhaustive()
    }
}

pub(crate) fn open_input(path: &Path) -> Result<ffmpeg::format::context::Input> {
    crate::init();
    let meta = std::fs::metadata(path).map_err(|e| MediaError::Open {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    if meta.is_dir() {
        return Err(MediaError::Open {
            path: path.to_path_buf(),
            reason: "is a directory".into(),
        });
    }
    if meta.len() == 0 {
        return Err(MediaError::Open {
            path: path.to_path_buf(),
            reason: "the file is empty".into(),
        });
    }
    ffmpeg::format::input(&path).map_err(|e| MediaError::Open {
        path: path.to_path_buf(),
        reason: describe(&e),
    })
}

impl FrameReader {
    /// Opens `path` and prepares to decode its best video stream.
    pub fn open(path: &Path, options: DecodeOptions) -> Result<Self> {
        if options.stride == 0 {
            return Err(MediaError::InvalidOption(
                "stride must be at least 1".into(),
            ));
        }
        if let Some((w, h)) = options.size {
            if w == 0 || h == 0 {
                return Err(MediaError::InvalidOption(format!(
                    "output size {w}x{h} is empty"
                )));
            }
        }
        let input = open_input(path)?;
        let stream = input
            .streams()
            .best(ffmpeg::media::Type::Video)
            .ok_or_else(|| MediaError::NoVideo {
                path: path.to_path_buf(),
            })?;
        let stream_index = stream.index();
        let time_base = stream.time_base();
        let rate = stream.avg_frame_rate();
        let frame_rate = (rate.numerator() > 0 && rate.denominator() > 0)
            .then(|| f64::from(rate))
            .filter(|r| r.is_finite() && *r > 0.0 && *r < 1000.0);
        let frames_hint = u64::try_from(stream.frames()).ok().filter(|&n| n > 0);
        let open_err = |e: ffmpeg::Error| MediaError::Open {
            path: path.to_path_buf(),
            reason: describe(&e),
        };
        let mut context = ffmpeg::codec::context::Context::from_parameters(stream.parameters())
            .map_err(open_err)?;
        // Use the machine's cores; FFmpeg picks frame or slice threading. Threading has to be
        // set before the decoder is opened, or it decodes on one thread.
        context.set_threading(ffmpeg::threading::Config {
            kind: ffmpeg::threading::Type::Frame,
            count: 0,
            ..Default::default()
        });
        if options.skip_loop_filter {
            // SAFETY: the context is valid and not yet opened or shared with another thread;
            // `skip_loop_filter` is a plain field FFmpeg reads when decoding.
            unsafe {
                (*context.as_mut_ptr()).skip_loop_filter = ffmpeg::ffi::AVDiscard::AVDISCARD_ALL;
            }
        }
        let decoder = context.decoder().video().map_err(open_err)?;
        Ok(Self {
            path: path.to_path_buf(),
            input,
            decoder,
            stream_index,
            time_base,
            frame_rate,
            frames_hint,
            start_pts: None,
            scaler: None,
            options,
            decoded: 0,
            returned: 0,
            input_done: false,
            finished: false,
        })
    }

    /// The stream's average frame rate, when the container states a sane one.
    pub fn frame_rate(&self) -> Option<f64> {
        self.frame_rate
    }

    /// The number of frames the container says the stream has (not all containers say).
    pub fn frames_hint(&self) -> Option<u64> {
        self.frames_hint
    }

    /// The coded picture size (width, height).
    pub fn source_size(&self) -> (u32, u32) {
        (self.decoder.width(), self.decoder.height())
    }

    /// Decodes everything that remains into a vector (for short clips and tests).
    pub fn collect_frames(self) -> Result<Vec<RgbFrame>> {
        self.collect()
    }

    fn decode_error(&self, reason: String) -> MediaError {
        MediaError::Decode {
            path: self.path.clone(),
            frame: self.decoded,
            reason,
        }
    }

    /// Pulls the next decoded picture out of the decoder, feeding packets as needed.
    fn next_picture(&mut self) -> Result<Option<ffmpeg::frame::Video>> {
        let mut picture = ffmpeg::frame::Video::empty();
        loop {
            match self.decoder.receive_frame(&mut picture) {
                Ok(()) => return Ok(Some(picture)),
                Err(ffmpeg::Error::Eof) => return Ok(None),
                Err(ffmpeg::Error::Other { errno: EAGAIN }) => {}
                Err(e) => return Err(self.decode_error(describe(&e))),
            }
            if self.input_done {
                return Ok(None);
            }
            // Feed one packet of our stream (or EOF).
            loop {
                let mut packet = ffmpeg::Packet::empty();
                match packet.read(&mut self.input) {
                    Ok(()) => {
                        if packet.stream() != self.stream_index {
                            continue;
                        }
                        match self.decoder.send_packet(&packet) {
                            Ok(()) => {}
                            // Corrupt packets in damaged files are skipped, as players do.
                            Err(ffmpeg::Error::InvalidData) => continue,
                            Err(e) => return Err(self.decode_error(describe(&e))),
                        }
                        break;
                    }
                    Err(ffmpeg::Error::Eof) => {
                        self.input_done = true;
                        let _ = self.decoder.send_eof();
                        break;
                    }
                    Err(e) => {
                        // A read error mid-file (truncation) ends the stream; what decoded stays.
                        if self.decoded == 0 {
                            return Err(self.decode_error(describe(&e)));
                        }
                        self.input_done = true;
                        let _ = self.decoder.send_eof();
                        break;
                    }
                }
            }
        }
    }

    fn convert(&mut self, picture: &ffmpeg::frame::Video) -> Result<RgbFrame> {
        let source = (picture.format(), picture.width(), picture.height());
        let (out_w, out_h) = self.options.size.unwrap_or((source.1, source.2));
        let rebuild = !matches!(&self.scaler, Some((_, key)) if *key == source);
        if rebuild {
            let mut scaler = scaling::Context::get(
                source.0,
                source.1,
                source.2,
                Pixel::RGB24,
                out_w,
                out_h,
                match self.options.scaling {
                    Scaling::Bicubic => {
                        scaling::Flags::BICUBIC
                            | scaling::Flags::ACCURATE_RND
                            | scaling::Flags::FULL_CHR_H_INT
                    }
                    Scaling::Area => scaling::Flags::AREA | scaling::Flags::ACCURATE_RND,
                },
            )
            .map_err(|e| self.decode_error(format!("cannot convert {:?} to RGB: {e}", source.0)))?;
            let full = picture.color_range() == ffmpeg::util::color::Range::JPEG
                || matches!(
                    source.0,
                    Pixel::YUVJ420P | Pixel::YUVJ422P | Pixel::YUVJ444P
                );
            set_yuv_details(
                &mut scaler,
                sws_colorspace(picture.color_space(), source.2),
                full,
                true,
            );
            self.scaler = Some((scaler, source));
        }
        let mut rgb = ffmpeg::frame::Video::empty();
        if let Some((scaler, _)) = self.scaler.as_mut() {
            scaler
                .run(picture, &mut rgb)
                .map_err(|e| MediaError::Decode {
                    path: self.path.clone(),
                    frame: self.decoded,
                    reason: e.to_string(),
                })?;
        }
        let row = out_w as usize * 3;
        let stride = rgb.stride(0);
        let plane = rgb.data(0);
        let mut data = Vec::with_capacity(row * out_h as usize);
        for y in 0..out_h as usize {
            let start = y * stride;
            let line = plane
                .get(start..start + row)
                .ok_or_else(|| self.decode_error("scaler returned a short plane".into()))?;
            data.extend_from_slice(line);
        }
        let pts = picture.timestamp().or(picture.pts());
        let pts_seconds = pts.map(|p| {
            let start = *self.start_pts.get_or_insert(p);
            (p - start) as f64 * f64::from(self.time_base)
        });
        Ok(RgbFrame {
            index: self.decoded,
            pts_seconds,
            width: out_w,
            height: out_h,
            data,
        })
    }
}

const EAGAIN: i32 = 11;

impl Iterator for FrameReader {
    type Item = Result<RgbFrame>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.finished
                || self
                    .options
                    .max_frames
                    .is_some_and(|max| self.returned >= max)
            {
                return None;
            }
            let picture = match self.next_picture() {
                Ok(Some(p)) => p,
                Ok(None) => {
                    self.finished = true;
                    if self.decoded == 0 {
                        return Some(Err(MediaError::NoFrames {
                            path: self.path.clone(),
                        }));
                    }
                    return None;
                }
                Err(e) => {
                    self.finished = true;
                    return Some(Err(e));
                }
            };
            let keep = self.decoded.is_multiple_of(self.options.stride);
            let result = if keep {
                Some(self.convert(&picture))
            } else {
                None
            };
            self.decoded += 1;
            if let Some(result) = result {
                if result.is_ok() {
                    self.returned += 1;
                } else {
                    self.finished = true;
                }
                return Some(result);
            }
        }
    }
}
