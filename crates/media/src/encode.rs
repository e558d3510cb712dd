//! H.264 MP4 writer: libx264, CRF, BT.709 tags, `+faststart`, exact frame rate.
//!
//! Even sizes use yuv420p (plays everywhere). H.264 4:2:0 cannot represent odd sizes, so odd sizes
//! use yuv444p (High 4:4:4 profile) rather than silently changing the picture size.

use std::path::{Path, PathBuf};

use ffmpeg::format::Pixel;
use ffmpeg::software::scaling;
use ffmpeg::util::color;
use ffmpeg_next as ffmpeg;

use crate::color::set_yuv_details;
use crate::error::{describe, MediaError, Result};
use crate::frame::RgbFrame;

const SWS_CS_ITU709: i32 = 1;
const EAGAIN: i32 = 11;

/// How to encode.
#[derive(Debug, Clone)]
pub struct EncodeOptions {
    pub width: u32,
    pub height: u32,
    /// Frame rate as a rational number (numerator, denominator), e.g. (30000, 1001).
    pub fps: (i32, i32),
    /// x264 constant rate factor: 0 lossless, 18 visually transparent, 23 default, 51 worst.
    pub crf: u8,
    /// x264 preset (ultrafast … veryslow).
    pub preset: String,
}

impl EncodeOptions {
    /// Defaults for a size and whole frame rate: CRF 18, preset `medium`.
    pub fn new(width: u32, height: u32, fps: i32) -> Self {
        Self {
            width,
            height,
            fps: (fps, 1),
            crf: 18,
            preset: "medium".into(),
        }
    }
}

/// Writes RGB frames to an MP4 file. Call [`Mp4Writer::finish`] to complete the file.
pub struct Mp4Writer {
    path: PathBuf,
    output: ffmpeg::format::context::Output,
    encoder: ffmpeg::encoder::Video,
    scaler: scaling::Context,
    encoder_time_base: ffmpeg::Rational,
    stream_time_base: ffmpeg::Rational,
    pixel: Pixel,
    options: EncodeOptions,
    written: i64,
}

impl std::fmt::Debug for Mp4Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mp4Writer")
            .field("path", &self.path)
            .field("written", &self.written)
            .finish_non_exhaustive()
    }
}

impl Mp4Writer {
    /// Creates `path` (MP4) and opens an H.264 encoder.
    pub fn create(path: &Path, options: EncodeOptions) -> Result<Self> {
        crate::init();
        let fail = |reason: String| MediaError::Encode {
            path: path.to_path_buf(),
            reason,
        };
        if options.width == 0 || options.height == 0 {
            return Err(MediaError::InvalidOption(format!(
                "frame size {}x{} is empty",
                options.width, options.height
            )));
        }
        if options.fps.0 <= 0 || options.fps.1 <= 0 {
            return Err(MediaError::InvalidOption(format!(
                "frame rate {}/{} must be positive",
                options.fps.0, options.fps.1
            )));
        }
        if options.crf > 51 {
            return Err(MediaError::InvalidOption(format!(
                "CRF {} is above 51",
                options.crf
            )));
        }
        let mut output = ffmpeg::format::output_as(&path, "mp4")
            .map_err(|e| fail(format!("cannot create the file: {}", describe(&e))))?;
        let codec = ffmpeg::encoder::find_by_name("libx264")
            .ok_or_else(|| fail("libx264 is not available in this FFmpeg".into()))?;
        let global_header = output
            .format()
            .flags()
            .contains(ffmpeg::format::Flags::GLOBAL_HEADER);
        let mut stream = output.add_stream(codec).map_err(|e| fail(describe(&e)))?;
        let stream_index = stream.index();
        let mut video = ffmpeg::codec::context::Context::new_with_codec(codec)
            .encoder()
            .video()
            .map_err(|e| fail(describe(&e)))?;
        let pixel = if options.width.is_multiple_of(2) && options.height.is_multiple_of(2) {
            Pixel::YUV420P
        } else {
            Pixel::YUV444P
        };
        let frame_rate = ffmpeg::Rational::new(options.fps.0, options.fps.1);
        let encoder_time_base = frame_rate.invert();
        video.set_width(options.width);
        video.set_height(options.height);
        video.set_format(pixel);
        video.set_time_base(encoder_time_base);
        video.set_frame_rate(Some(frame_rate));
        video.set_colorspace(color::Space::BT709);
        video.set_color_range(color::Range::MPEG);
        video.set_color_primaries(color::Primaries::BT709);
        video.set_color_transfer_characteristic(color::TransferCharacteristic::BT709);
        if global_header {
            video.set_flags(ffmpeg::codec::Flags::GLOBAL_HEADER);
        }
        let mut x264 = ffmpeg::Dictionary::new();
        x264.set("crf", &options.crf.to_string());
        x264.set("preset", &options.preset);
        // One encoder thread: multi-threaded x264 output can differ run to run, and Candor
        // promises identical files for identical inputs (clips here are small).
        x264.set("threads", "1");
        // x264's AVX-512 routines (0.164, Debian 12) make its output depend on what memory
        // held before: the same frames encoded twice in one process came out different in about
        // one run in four. Every other instruction set it has gives the same bits as its C code.
        if let Some(cpu) = x264_cpu_without_avx512() {
            x264.set("x264-params", &format!("asm={cpu}"));
        }
        let encoder = video.open_with(x264).map_err(|e| fail(describe(&e)))?;
        stream.set_parameters(&encoder);
        stream.set_time_base(encoder_time_base);
        stream.set_avg_frame_rate(frame_rate);
        stream.set_rate(frame_rate);

        let mut muxer = ffmpeg::Dictionary::new();
        muxer.set("movflags", "+faststart");
        output
            .write_header_with(muxer)
            .map_err(|e| fail(describe(&e)))?;
        let stream_time_base = output
            .stream(stream_index)
            .map(|s| s.time_base())
            .ok_or_else(|| fail("the muxer lost the video stream".into()))?;

        let mut scaler = scaling::Context::get(
            Pixel::RGB24,
            options.width,
            options.height,
            pixel,
            options.width,
            options.height,
            scaling::Flags::BICUBIC | scaling::Flags::ACCURATE_RND | scaling::Flags::FULL_CHR_H_INP,
        )
        .map_err(|e| fail(e.to_string()))?;
        set_yuv_details(&mut scaler, SWS_CS_ITU709, false, false);

        Ok(Self {
            path: path.to_path_buf(),
            output,
            encoder,
            scaler,
            encoder_time_base,
            stream_time_base,
            pixel,
            options,
            written: 0,
        })
    }

    fn fail(&self, reason: String) -> MediaError {
        MediaError::Encode {
            path: self.path.clone(),
            reason,
        }
    }

    /// Appends one RGB24 frame (`width * height * 3` bytes). Its timestamp is its index / fps.
    pub fn write_rgb(&mut self, rgb: &[u8]) -> Result<()> {
        let (w, h) = (self.options.width, self.options.height);
        if rgb.len() != w as usize * h as usize * 3 {
            return Err(MediaError::InvalidOption(format!(
                "frame has {} bytes, expected {} for {w}x{h} RGB",
                rgb.len(),
                w as usize * h as usize * 3
            )));
        }
        let mut source = ffmpeg::frame::Video::new(Pixel::RGB24, w, h);
        let stride = source.stride(0);
        let row = w as usize * 3;
        {
            let plane = source.data_mut(0);
            for (y, line) in rgb.chunks_exact(row).enumerate() {
                if let Some(dst) = plane.get_mut(y * stride..y * stride + row) {
                    dst.copy_from_slice(line);
                }
            }
        }
        let mut yuv = ffmpeg::frame::Video::new(self.pixel, w, h);
        self.scaler
            .run(&source, &mut yuv)
            .map_err(|e| self.fail(e.to_string()))?;
        yuv.set_pts(Some(self.written));
        yuv.set_color_space(color::Space::BT709);
        yuv.set_color_range(color::Range::MPEG);
        yuv.set_color_primaries(color::Primaries::BT709);
        yuv.set_color_transfer_characteristic(color::TransferCharacteristic::BT709);
        self.encoder
            .send_frame(&yuv)
            .map_err(|e| self.fail(describe(&e)))?;
        self.written += 1;
        self.drain()
    }

    /// Appends a frame; its size must match the writer's.
    pub fn write(&mut self, frame: &RgbFrame) -> Result<()> {
        if (frame.width, frame.height) != (self.options.width, self.options.height) {
            return Err(MediaError::InvalidOption(format!(
                "frame is {}x{}, the writer was opened for {}x{}",
                frame.width, frame.height, self.options.width, self.options.height
            )));
        }
        self.write_rgb(&frame.data)
    }

    fn drain(&mut self) -> Result<()> {
        let mut packet = ffmpeg::Packet::empty();
        loop {
            match self.encoder.receive_packet(&mut packet) {
                Ok(()) => {
                    packet.set_stream(0);
                    packet.rescale_ts(self.encoder_time_base, self.stream_time_base);
                    packet
                        .write_interleaved(&mut self.output)
                        .map_err(|e| self.fail(describe(&e)))?;
                }
                Err(ffmpeg::Error::Eof) => return Ok(()),
                Err(ffmpeg::Error::Other { errno: EAGAIN }) => return Ok(()),
                Err(e) => return Err(self.fail(describe(&e))),
            }
        }
    }

    /// Flushes the encoder and writes the index; returns the number of frames written.
    pub fn finish(mut self) -> Result<usize> {
        if self.written == 0 {
            let _ = std::fs::remove_file(&self.path);
            return Err(self.fail("no frames were written".into()));
        }
        self.encoder
            .send_eof()
            .map_err(|e| self.fail(describe(&e)))?;
        self.drain()?;
        self.output
            .write_trailer()
            .map_err(|e| self.fail(describe(&e)))?;
        Ok(self.written as usize)
    }
}

/// The x264 instruction sets this CPU has, AVX-512 left out (`None` off x86-64: x264 detects).
/// Only sets the CPU reports are named: x264 takes the list as it is and would run instructions
/// the CPU lacks.
#[cfg(target_arch = "x86_64")]
fn x264_cpu_without_avx512() -> Option<String> {
    let sets = [
        (std::arch::is_x86_feature_detected!("sse"), "MMX2,SSE"),
        (std::arch::is_x86_feature_detected!("sse2"), "SSE2,SSE2Fast"),
        (std::arch::is_x86_feature_detected!("sse3"), "SSE3"),
        (std::arch::is_x86_feature_detected!("ssse3"), "SSSE3"),
        (std::arch::is_x86_feature_detected!("sse4.1"), "SSE4.1"),
        (std::arch::is_x86_feature_detected!("sse4.2"), "SSE4.2"),
        (std::arch::is_x86_feature_detected!("lzcnt"), "LZCNT"),
        (std::arch::is_x86_feature_detected!("avx"), "AVX"),
        (std::arch::is_x86_feature_detected!("fma"), "FMA3"),
        (std::arch::is_x86_feature_detected!("bmi1"), "BMI1"),
        (std::arch::is_x86_feature_detected!("bmi2"), "BMI2"),
        (std::arch::is_x86_feature_detected!("avx2"), "AVX2"),
    ];
    // Each set assumes the ones before it (x264 checks them in this order too).
    let names: Vec<&str> = sets
        .iter()
        .take_while(|(has, _)| *has)
        .map(|(_, name)| *name)
        .collect();
    if names.is_empty() {
        return Some("0".into());
    }
    Some(names.join(","))
}

#[cfg(not(target_arch = "x86_64"))]
fn x264_cpu_without_avx512() -> Option<String> {
    None
}
