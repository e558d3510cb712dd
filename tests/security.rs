//! Attacks from outside, end to end with the shipped model: a marked clip's residual transplanted
//! onto other footage must not bring that clip's credentials along, while the clip itself,
//! stripped and re-encoded, still gets them back.

mod common;

use common::*;
use std::path::Path;

/// `host` plus the high-pass residual of `marked` (the clip minus a Gaussian blur of it, sigma
/// in output pixels): what an attacker without the key can lift off a public clip.
fn transplant(marked: &Path, host: &Path, sigma: u32, out: &Path) {
    let graph = format!(
        "[1]format=yuv444p,split[a][b];[b]gblur=sigma={sigma}[blur];\
         [a][blur]blend=all_mode=grainextract[residual];[0]format=yuv444p[host];\
         [host][residual]blend=all_mode=grainmerge,format=yuv420p"
    );
    ffmpeg(&[
        "-i",
        host.to_str().unwrap(),
        "-i",
        marked.to_str().unwrap(),
        "-filter_complex",
        &graph,
        "-c:v",
        "libx264",
        "-crf",
        "18",
        out.to_str().unwrap(),
    ]);
}

fn verify(file: &Path, store: &Path) -> (i32, serde_json::Value) {
    let r = candor_run(&[
        "verify",
        file.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
        "--json",
    ]);
    let report = json_lines(&r.stdout).into_iter().next().unwrap_or_default();
    (r.code, report)
}

#[test]
fn a_transplanted_mark_is_reported_as_copied_and_brings_no_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let (clip, store) = (dir.path().join("clip.mp4"), dir.path().join("store.db"));
    let r = candor_run(&[
        "generate",
        "a red circle moving right over the sky",
        "-o",
        clip.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
        "--seed",
        "1",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);

    // The clip itself, stripped and re-encoded: its credentials come back, bound to its content.
    let copy = dir.path().join("copy.mp4");
    ffmpeg(&[
        "-i",
        clip.to_str().unwrap(),
        "-c:v",
        "libx264",
        "-crf",
        "30",
        copy.to_str().unwrap(),
    ]);
    let (code, report) = verify(&copy, &store);
    assert_eq!(code, 0, "{report}");
    let recovered = &report["watermark"]["recovered"];
    assert_eq!(recovered["accepted"], true, "{report}");
    assert!(
        recovered["content_match"]["layout_correlation"]
            .as_f64()
            .unwrap_or(0.0)
            > 0.9
    );
    assert!(report["verdict"]
        .as_str()
        .unwrap_or_default()
        .contains("recovered from the manifest store"));

    // One byte of the claim's CBOR changed: the video still plays, so its credentials are
    // invalid (exit 1) and its watermark is still checked.
    let mut bytes = std::fs::read(&clip).unwrap();
    let claim = bytes.windows(10).position(|w| w == b"c2pa.claim").unwrap();
    let cbor = claim
        + bytes[claim..]
            .windows(4)
            .position(|w| w == b"cbor")
            .unwrap();
    bytes[cbor + 4] = 0xff;
    let damaged = dir.path().join("damaged.mp4");
    std::fs::write(&damaged, &bytes).unwrap();
    let (code, report) = verify(&damaged, &store);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["manifest"]["state"], "invalid", "{report}");
    assert_eq!(report["watermark"]["present"], true, "{report}");

    // Remuxed into Matroska (no C2PA there at all): still recovered, through the signature.
    let mkv = dir.path().join("copy.mkv");
    ffmpeg(&[
        "-i",
        clip.to_str().unwrap(),
        "-c",
        "copy",
        mkv.to_str().unwrap(),
    ]);
    let (code, report) = verify(&mkv, &store);
    assert_eq!(code, 0, "{report}");
    assert_eq!(
        report["watermark"]["recovered"]["accepted"], true,
        "{report}"
    );

    // Its residual on other footage: the mark is there, its credentials are not attached.
    // Hosts: textured footage, and flat sky-coloured footage, where the residual alone draws a
    // faint copy of the clip's layout.
    let textured = dir.path().join("mandelbrot.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "mandelbrot=size=128x128:rate=8",
        "-t",
        "2",
        "-pix_fmt",
        "yuv420p",
        textured.to_str().unwrap(),
    ]);
    let flat = dir.path().join("flat.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "color=c=0x6ea0f5:s=128x128:r=8:d=2",
        "-pix_fmt",
        "yuv420p",
        flat.to_str().unwrap(),
    ]);
    let mut copied = 0;
    for (host, sigma) in [(&textured, 4), (&textured, 8), (&flat, 4)] {
        let forged = dir.path().join(format!("transplant-{sigma}.mp4"));
        transplant(&clip, host, sigma, &forged);
        let (code, report) = verify(&forged, &store);
        let w = &report["watermark"];
        // Either the mark is not read at all, or it is read and called copied: never recovered.
        assert!(w["recovered"].is_null(), "sigma {sigma}: {report}");
        if w["detection"]["present"] == true && !w["content_id"].is_null() {
            assert_eq!(code, 1, "sigma {sigma}: {report}");
            assert_eq!(report["status"], "failed");
            assert_eq!(w["present"], false);
            assert_eq!(w["forgery"]["kind"], "copied", "{report}");
            copied += 1;
            assert!(report["verdict"]
                .as_str()
                .unwrap_or_default()
                .starts_with("Forged or copied watermark"));
        }
        assert!(!report["verdict"]
            .as_str()
            .unwrap_or_default()
            .contains("AI-generated"));
    }
    // The attack is real: at least one strength carries the mark and its payload across.
    assert!(
        copied >= 1,
        "no transplant carried the mark: the test checks nothing"
    );
}
