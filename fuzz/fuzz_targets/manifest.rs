//! C2PA reading of arbitrary bytes: as a video that may embed a manifest
//! (`candor_manifest::read_manifest`), and as a detached manifest store checked against a real
//! clip (`read_detached_manifest`, the path recovery from a store takes).
#![no_main]

mod common;

use std::path::Path;

use candor_manifest::{read_detached_manifest, read_manifest, TrustAnchors};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let anchors = TrustAnchors::none();
    if let Some((_dir, path)) = common::as_file(data) {
        let _ = read_manifest(&path, None, &anchors);
    }
    let asset = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/data/verify/clip.mp4"
    ));
    let _ = read_detached_manifest(data, asset, &anchors);
});
