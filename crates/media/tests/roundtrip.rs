//! Encode/decode round trips, every codec the issue names, decode options and bad input.

use std::path::{Path, PathBuf};
use std::process::Command;

use candor_media::{
    probe, DecodeOptions, EncodeOptions, FrameReader, MediaError, Mp4Writer, RgbFrame,
};

/// Natural-looking content: smooth sky-like gradient, a soft moving blob, mild texture.
fn natural_frame(w: u32, h: u32, t: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity((w * h * 3) as usize);
    let (cx, cy) = (w as f32 * (0.3 + 0.02 * t as f32), h as f32 * 0.5);
    for y in 0..h {
        for x in 0..w {
            let (fx, fy) = (x as f32 / w as f32, y as f32 / h as f32);
            let d = ((x as f32 - cx).powi(2) + (y as f32 - cy).powi(2)).sqrt() / (w as f32 * 0.15);
            let blob = (-d * d).exp();
            let texture = ((x as f32 * 0.7).sin() * (y as f32 * 0.9).cos()) * 6.0;
            let r = 60.0 + 120.0 * fy + 150.0 * blob + texture;
            let g = 110.0 + 80.0 * fx + 60.0 * blob + texture;
            let b = 200.0 - 90.0 * fy + 20.0 * blob + texture;
            out.extend([r, g, b].map(|v| v.clamp(0.0, 255.0) as u8));
        }
    }
    out
}

fn write_clip(path: &Path, w: u32, h: u32, frames: usize, options: EncodeOptions) -> Vec<Vec<u8>> {
    let mut writer = Mp4Writer::create(path, options).unwrap();
    let mut originals = Vec::new();
    for t in 0..frames {
        let f = natural_frame(w, h, t);
        writer.write_rgb(&f).unwrap();
        originals.push(f);
    }
    assert_eq!(writer.finish().unwrap(), frames);
    originals
}

fn ffmpeg(out: &Path, args: &[&str]) {
    let status = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=192x108:rate=24:duration=1",
        ])
        .args(args)
        .arg(out)
        .status()
        .expect("the ffmpeg CLI is installed");
    assert!(status.success(), "ffmpeg could not make {}", out.display());
}

#[test]
fn crf18_round_trip_keeps_35_db_with_exact_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("natural.mp4");
    let (w, h) = (320, 240);
    let mut options = EncodeOptions::new(w, h, 30);
    options.fps = (30000, 1001);
    let originals = write_clip(&path, w, h, 24, options);

    let frames = FrameReader::open(&path, DecodeOptions::default())
        .unwrap()
        .collect_frames()
        .unwrap();
    assert_eq!(frames.len(), 24);
    for (i, (frame, original)) in frames.iter().zip(&originals).enumerate() {
        assert_eq!(frame.index, i);
        let expected_pts = i as f64 * 1001.0 / 30000.0;
        let pts = frame.pts_seconds.unwrap();
        assert!(
            (pts - expected_pts).abs() < 1e-6,
            "frame {i}: {pts} vs {expected_pts}"
        );
        let reference = RgbFrame::new(w, h, original.clone()).unwrap();
        let psnr = frame.psnr(&reference).unwrap();
        assert!(psnr >= 35.0, "frame {i}: PSNR {psnr:.2} dB");
    }
    let info = probe(&path).unwrap();
    assert_eq!(info.fps_rational, "30000/1001");
    assert_eq!(info.frame_count, 24);
    assert_eq!((info.width, info.height), (320, 240));
    assert_eq!(info.codec, "h264");
    assert_eq!(info.pixel_format, "yuv420p");
    assert!(!info.has_audio);
    // +faststart: the index (moov) comes before the media data.
    let bytes = std::fs::read(&path).unwrap();
    let moov = bytes.windows(4).position(|w| w == b"moov").unwrap();
    let mdat = bytes.windows(4).position(|w| w == b"mdat").unwrap();
    assert!(moov < mdat);
}

#[test]
fn odd_sizes_keep_their_exact_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("odd.mp4");
    let originals = write_clip(&path, 161, 97, 5, EncodeOptions::new(161, 97, 25));
    let frames = FrameReader::open(&path, DecodeOptions::default())
        .unwrap()
        .collect_frames()
        .unwrap();
    assert_eq!(frames.len(), 5);
    assert_eq!((frames[0].width, frames[0].height), (161, 97));
    let reference = RgbFrame::new(161, 97, originals[0].clone()).unwrap();
    assert!(frames[0].psnr(&reference).unwrap() > 35.0);
}

#[test]
fn every_named_codec_decodes() {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(PathBuf, Vec<&str>, &str, &str)> = vec![
        (
            dir.path().join("h264.mp4"),
            vec!["-c:v", "libx264", "-pix_fmt", "yuv420p"],
            "h264",
            "yuv420p",
        ),
        (
            dir.path().join("hevc10.mov"),
            vec![
                "-c:v",
                "libx265",
                "-pix_fmt",
                "yuv420p10le",
                "-x265-params",
                "log-level=error",
            ],
            "hevc",
            "yuv420p10le",
        ),
        (
            dir.path().join("hevc8.mkv"),
            vec![
                "-c:v",
                "libx265",
                "-pix_fmt",
                "yuv420p",
                "-x265-params",
                "log-level=error",
            ],
            "hevc",
            "yuv420p",
        ),
        (
            dir.path().join("vp9.webm"),
            vec![
                "-c:v",
                "libvpx-vp9",
                "-b:v",
                "300k",
                "-deadline",
                "realtime",
                "-cpu-used",
                "8",
            ],
            "vp9",
            "yuv420p",
        ),
        (
            dir.path().join("av1.mkv"),
            vec!["-c:v", "libsvtav1", "-preset", "12"],
            "av1",
            "yuv420p",
        ),
    ];
    for (path, args, codec, pixel) in cases {
        ffmpeg(&path, &args);
        let info = probe(&path).unwrap();
        assert_eq!(info.codec, codec, "{}", path.display());
        assert_eq!(info.pixel_format, pixel, "{}", path.display());
        assert_eq!(info.frame_count, 24, "{}", path.display());
        let frames = FrameReader::open(&path, DecodeOptions::default())
            .unwrap()
            .collect_frames()
            .unwrap();
        assert_eq!(frames.len(), 24, "{}", path.display());
        assert_eq!((frames[0].width, frames[0].height), (192, 108));
        // testsrc2 is colourful: the decode is not a blank or grey frame.
        let mean: f64 =
            frames[5].data.iter().map(|&v| f64::from(v)).sum::<f64>() / frames[5].data.len() as f64;
        assert!(
            mean > 20.0 && mean < 235.0,
            "{}: mean {mean}",
            path.display()
        );
        let second = frames[1].pts_seconds.unwrap() - frames[0].pts_seconds.unwrap();
        assert!(
            (second - 1.0 / 24.0).abs() < 1e-3,
            "{}: {second}",
            path.display()
        );
    }
}

#[test]
fn area_scaling_without_the_loop_filter_keeps_the_picture() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.mp4");
    write_clip(&path, 128, 96, 8, EncodeOptions::new(128, 96, 8));
    let read = |options: DecodeOptions| {
        FrameReader::open(&path, options)
            .unwrap()
            .collect_frames()
            .unwrap()
    };
    let plain = read(DecodeOptions::default());
    let small = read(DecodeOptions {
        size: Some((32, 32)),
        scaling: candor_media::Scaling::Area,
        skip_loop_filter: true,
        ..DecodeOptions::default()
    });
    assert_eq!(plain.len(), small.len());
    for (p, s) in plain.iter().zip(&small) {
        assert_eq!((s.width, s.height), (32, 32));
        // The scaler's area reduction is the mean of the full picture's pixels it covers.
        let reference = p.resized_area(32, 32);
        let diff: f64 = reference
            .iter()
            .zip(&s.data)
            .map(|(&a, &b)| (f64::from(a) - f64::from(b)).abs())
            .sum::<f64>()
            / reference.len() as f64;
        assert!(diff < 4.0, "mean difference {diff}");
    }
}

#[test]
fn stride_limit_and_size_options_apply() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.mp4");
    write_clip(&path, 128, 96, 20, EncodeOptions::new(128, 96, 20));
    let options = DecodeOptions {
        stride: 3,
        max_frames: Some(4),
        size: Some((32, 24)),
        ..DecodeOptions::default()
    };
    let frames = FrameReader::open(&path, options)
        .unwrap()
        .collect_frames()
        .unwrap();
    let indices: Vec<usize> = frames.iter().map(|f| f.index).collect();
    assert_eq!(indices, vec![0, 3, 6, 9]);
    assert!(frames
        .iter()
        .all(|f| (f.width, f.height) == (32, 24) && f.data.len() == 32 * 24 * 3));
    assert!((frames[1].pts_seconds.unwrap() - 0.15).abs() < 1e-6);
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.mp4");
    std::fs::write(&empty, b"").unwrap();
    let e = FrameReader::open(&empty, DecodeOptions::default()).unwrap_err();
    assert!(e.to_string().contains("empty"), "{e}");
    assert!(probe(&empty).is_err());

    let random = dir.path().join("random.mkv");
    std::fs::write(
        &random,
        (0..50_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    assert!(matches!(
        FrameReader::open(&random, DecodeOptions::default()),
        Err(MediaError::Open { .. })
    ));

    let missing = dir.path().join("missing.mp4");
    assert!(FrameReader::open(&missing, DecodeOptions::default()).is_err());
    assert!(FrameReader::open(dir.path(), DecodeOptions::default()).is_err());

    // Truncated: whatever decodes is returned, then the stream ends or errors; never a panic.
    let full = dir.path().join("full.mp4");
    write_clip(&full, 64, 48, 30, EncodeOptions::new(64, 48, 30));
    let bytes = std::fs::read(&full).unwrap();
    let truncated = dir.path().join("truncated.mp4");
    std::fs::write(&truncated, &bytes[..bytes.len() * 2 / 3]).unwrap();
    if let Ok(reader) = FrameReader::open(&truncated, DecodeOptions::default()) {
        let results: Vec<_> = reader.collect();
        assert!(results.len() <= 30);
    }

    let audio_only = dir.path().join("tone.m4a");
    let status = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "sine=duration=1",
            "-c:a",
            "aac",
        ])
        .arg(&audio_only)
        .status()
        .unwrap();
    assert!(status.success());
    assert!(matches!(
        FrameReader::open(&audio_only, DecodeOptions::default()),
        Err(MediaError::NoVideo { .. })
    ));

    assert!(matches!(
        FrameReader::open(
            &full,
            DecodeOptions {
                stride: 0,
                ..DecodeOptions::default()
            }
        ),
        Err(MediaError::InvalidOption(_))
    ));
    assert!(Mp4Writer::create(&dir.path().join("z.mp4"), EncodeOptions::new(0, 10, 25)).is_err());
    let mut bad_rate = EncodeOptions::new(10, 10, 25);
    bad_rate.fps = (25, 0);
    assert!(Mp4Writer::create(&dir.path().join("z.mp4"), bad_rate).is_err());
    assert!(Mp4Writer::create(
        Path::new("/proc/no/such/dir/out.mp4"),
        EncodeOptions::new(16, 16, 25)
    )
    .is_err());
    let mut writer =
        Mp4Writer::create(&dir.path().join("w.mp4"), EncodeOptions::new(16, 16, 25)).unwrap();
    assert!(matches!(
        writer.write_rgb(&[0u8; 10]),
        Err(MediaError::InvalidOption(_))
    ));
    // Finishing with no frames is an error and leaves no file behind.
    assert!(writer.finish().is_err());
    assert!(!dir.path().join("w.mp4").exists());
}
