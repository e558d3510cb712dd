//! Container probing and frame decoding of arbitrary bytes: `candor_media::probe`, then a few
//! frames through `FrameReader` both ways the detector reads them (full size, and area-scaled
//! without the deblocking filter).
#![no_main]

mod common;

use candor_media::{DecodeOptions, FrameReader, Scaling};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((_dir, path)) = common::as_file(data) else {
        return;
    };
    let _ = candor_media::probe(&path);
    for options in [
        DecodeOptions {
            max_frames: Some(6),
            ..DecodeOptions::default()
        },
        DecodeOptions {
            stride: 2,
            max_frames: Some(6),
            size: Some((128, 128)),
            scaling: Scaling::Area,
            skip_loop_filter: true,
        },
    ] {
        if let Ok(reader) = FrameReader::open(&path, options) {
            for frame in reader {
                match frame {
                    Ok(f) => assert_eq!(f.data.len(), (f.width * f.height * 3) as usize),
                    Err(_) => break,
                }
            }
        }
    }
});
