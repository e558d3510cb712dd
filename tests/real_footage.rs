//! The detector on footage as platforms and newsrooms hold it: a Candor clip spliced into longer
//! real video (found and placed in time), two clips in one file, an upload pipeline's upscale and
//! frame-rate conversion (named, not called tampering), real edits inside a converted clip (still
//! tampering), phone rotations, and long clean footage (nothing found, the rate stated per file).

mod common;

use common::*;
use std::path::{Path, PathBuf};

const CLIP: &str = "tests/data/verify/clip.mp4"; // content id 00000000c0ffee01, in store.db
const CLIP_ID: &str = "00000000c0ffee01";
const CLIP2: &str = "tests/data/verify/clip2.mp4"; // content id 4670b4cd82f9032e
const CLIP2_ID: &str = "4670b4cd82f9032e";
const STORE: &str = "tests/data/verify/store.db";

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `seconds` of synthetic real footage at 1280×720, 25 fps.
fn footage(dir: &Path, name: &str, source: &str, seconds: u32) -> PathBuf {
    let out = dir.join(name);
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        &format!("{source}=size=1280x720:rate=25"),
        "-t",
        &seconds.to_string(),
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-crf",
        "20",
        "-pix_fmt",
        "yuv420p",
        s(&out),
    ]);
    out
}

/// Joins `parts` into one H.264 file at 1280×720, 25 fps: Candor clips are upscaled and
/// converted to 25 fps on the way, as an editor or an upload pipeline would.
fn join(dir: &Path, name: &str, parts: &[&Path]) -> PathBuf {
    let out = dir.join(name);
    let mut args: Vec<String> = Vec::new();
    let mut graph = String::new();
    for (i, p) in parts.iter().enumerate() {
        args.extend(["-i".into(), s(p).into()]);
        graph.push_str(&format!(
            "[{i}]scale=1280:720,fps=25,setsar=1,format=yuv420p[v{i}];"
        ));
    }
    for i in 0..parts.len() {
        graph.push_str(&format!("[v{i}]"));
    }
    graph.push_str(&format!("concat=n={}:v=1[out]", parts.len()));
    args.extend(
        [
            "-filter_complex",
            &graph,
            "-map",
            "[out]",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            "23",
            s(&out),
        ]
        .map(String::from),
    );
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    ffmpeg(&refs);
    out
}

fn verify(file: &Path, extra: &[&str]) -> (i32, serde_json::Value) {
    let mut args = vec!["verify", s(file), "--json"];
    args.extend(extra);
    let r = candor_run(&args);
    let report = json_lines(&r.stdout).into_iter().next().unwrap_or_default();
    (r.code, report)
}

fn segments(report: &serde_json::Value) -> Vec<serde_json::Value> {
    report["watermark"]["segments"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn a_clip_spliced_into_real_footage_is_found_and_placed_in_time() {
    let dir = tempfile::tempdir().unwrap();
    let before = footage(dir.path(), "a.mp4", "mandelbrot", 3);
    let after = footage(dir.path(), "b.mp4", "testsrc2", 2);
    let file = join(
        dir.path(),
        "splice.mp4",
        &[&before, Path::new(CLIP), &after],
    );
    let (code, report) = verify(&file, &["--store", STORE]);
    assert_eq!(code, 0, "{report}");
    let found = segments(&report);
    assert_eq!(found.len(), 1, "{report}");
    let seg = &found[0];
    assert!(
        (seg["start_s"].as_f64().unwrap() - 3.0).abs() <= 0.5,
        "{seg}"
    );
    assert!((seg["end_s"].as_f64().unwrap() - 5.0).abs() <= 0.5, "{seg}");
    assert_eq!(seg["content_id"], CLIP_ID);
    assert_eq!(seg["template_range"], serde_json::json!([0, 15]));
    let verdict = report["verdict"].as_str().unwrap();
    assert!(
        verdict.starts_with("Seconds 3.0–5.0 of 7.0 carry a Candor clip's mark"),
        "{verdict}"
    );
    assert!(!verdict.contains("Tampered"), "{verdict}");
    // Its credentials come back from the store, in words a reader can defend.
    let recovered = &report["watermark"]["recovered"];
    assert_eq!(recovered["accepted"], true, "{report}");
    assert!(recovered["summary"]
        .as_str()
        .unwrap()
        .starts_with("Signed credentials of the original clip (signature valid, watermark payload matches, content matches); this file is a re-encoded or re-packaged copy"));
    assert_eq!(recovered["bytes_match"], false);
    // The scan says what it looked at, and the rate is per file.
    let scan = &report["watermark"]["scan"];
    assert!(scan["windows"].as_u64().unwrap() >= 5, "{scan}");
    assert_eq!(scan["frames_decoded"], 175);
}

#[test]
fn two_clips_in_one_file_give_two_segments() {
    let dir = tempfile::tempdir().unwrap();
    let gap = footage(dir.path(), "gap.mp4", "testsrc2", 3);
    let file = join(
        dir.path(),
        "two.mp4",
        &[Path::new(CLIP), &gap, Path::new(CLIP2)],
    );
    let (_, report) = verify(&file, &[]);
    let found = segments(&report);
    assert_eq!(found.len(), 2, "{report}");
    assert_eq!(found[0]["content_id"], CLIP_ID);
    assert_eq!(found[1]["content_id"], CLIP2_ID);
    assert!((found[0]["start_s"].as_f64().unwrap() - 0.0).abs() <= 0.5);
    assert!(
        (found[1]["start_s"].as_f64().unwrap() - 5.0).abs() <= 0.5,
        "{report}"
    );
    assert!(
        (found[1]["end_s"].as_f64().unwrap() - 7.0).abs() <= 0.5,
        "{report}"
    );
}

#[test]
fn an_upload_pipelines_upscale_and_frame_rate_conversion_is_named_not_tampering() {
    let dir = tempfile::tempdir().unwrap();
    for (name, filter, rate) in [
        (
            "fps25.mp4",
            "scale=1280:720,fps=25",
            "frame rate converted 8 → 25 fps",
        ),
        (
            "blend30.mp4",
            "scale=1280:720,framerate=30",
            "frame rate converted 8 → 30 fps",
        ),
    ] {
        let out = dir.path().join(name);
        ffmpeg(&[
            "-i",
            CLIP,
            "-vf",
            filter,
            "-c:v",
            "libx264",
            "-crf",
            "23",
            s(&out),
        ]);
        let (code, report) = verify(&out, &["--store", STORE]);
        assert_eq!(code, 0, "{report}");
        let wm = &report["watermark"];
        assert_eq!(wm["present"], true, "{name}: {report}");
        assert_eq!(wm["content_id"], CLIP_ID, "{name}");
        let verdict = report["verdict"].as_str().unwrap();
        assert!(!verdict.contains("Tampered"), "{name}: {verdict}");
        let transforms: Vec<&str> = wm["transforms"]
            .as_array()
            .map(|a| a.iter().filter_map(|t| t.as_str()).collect())
            .unwrap_or_default();
        assert!(transforms.contains(&rate), "{name}: {transforms:?}");
        assert!(transforms
            .iter()
            .any(|t| t.starts_with("resized: shown at 1280×720")));
        assert!(verdict.contains(rate), "{verdict}");
        assert_eq!(wm["recovered"]["accepted"], true, "{name}");
    }
}

#[test]
fn edits_inside_a_converted_clip_are_still_tampering() {
    let dir = tempfile::tempdir().unwrap();
    // Original frames 5-8 cut, then the pipeline's conversion.
    let cut = dir.path().join("cut.mp4");
    ffmpeg(&[
        "-i",
        CLIP,
        "-vf",
        "select='not(between(n\\,5\\,8))',setpts=N/8/TB,scale=1280:720,fps=25",
        "-c:v",
        "libx264",
        "-crf",
        "23",
        s(&cut),
    ]);
    let (code, report) = verify(&cut, &[]);
    let verdict = report["verdict"].as_str().unwrap();
    assert!(verdict.starts_with("Tampered: "), "{verdict}");
    assert!(verdict.contains("removed"), "{verdict}");
    assert_eq!(code, 1, "an edited clip fails verification");
    assert_eq!(report["status"], "failed");
}

#[test]
fn phone_rotations_are_undone() {
    let dir = tempfile::tempdir().unwrap();
    for (filter, placement) in [
        ("transpose=1", "rotation by 90° clockwise"),
        ("hflip,vflip", "rotation by 180°"),
        ("rotate=10*PI/180", "rotation by about 10° clockwise"),
    ] {
        let out = dir.path().join("r.mp4");
        ffmpeg(&[
            "-i",
            CLIP,
            "-vf",
            filter,
            "-c:v",
            "libx264",
            "-crf",
            "23",
            s(&out),
        ]);
        let (_, report) = verify(&out, &[]);
        let wm = &report["watermark"];
        assert_eq!(wm["present"], true, "{filter}: {report}");
        assert_eq!(wm["content_id"], CLIP_ID, "{filter}");
        assert_eq!(wm["geometry"]["placement"]["name"], placement, "{filter}");
        let verdict = report["verdict"].as_str().unwrap();
        assert!(!verdict.contains("Tampered"), "{filter}: {verdict}");
    }
}

#[test]
fn long_clean_footage_shows_nothing_and_says_so_per_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = footage(dir.path(), "clean.mp4", "testsrc2", 12);
    let (code, report) = verify(&file, &[]);
    assert_eq!(code, 0);
    assert_eq!(report["watermark"]["present"], false, "{report}");
    assert!(segments(&report).is_empty());
    assert_eq!(
        report["verdict"],
        "No provenance found (false-positive rate of this check: 1e-9 per file). Not checked: marks under other organisations' keys (no --resolver to ask)"
    );
    assert!(report["watermark"]["scan"]["windows"].as_u64().unwrap() >= 11);
}

#[test]
fn clips_back_to_back_after_a_platform_transcode_are_told_apart_with_their_own_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let before = footage(dir.path(), "a.mp4", "testsrc2", 2);
    let joined = join(
        dir.path(),
        "b2b.mp4",
        &[&before, Path::new(CLIP), Path::new(CLIP2)],
    );
    // What a platform's pipeline then does to the whole upload.
    let transcoded = dir.path().join("b2b-h265.mp4");
    ffmpeg(&[
        "-i",
        s(&joined),
        "-c:v",
        "libx265",
        "-crf",
        "32",
        "-x265-params",
        "log-level=error",
        s(&transcoded),
    ]);
    let (code, report) = verify(
        &transcoded,
        &["--store", "tests/data/verify/store-clips.db"],
    );
    assert_eq!(code, 0, "{report}");
    assert_ne!(report["status"], "failed", "{report}");
    let found = segments(&report);
    assert_eq!(found.len(), 2, "{report}");
    for (seg, (id, start)) in found.iter().zip([(CLIP_ID, 2.0), (CLIP2_ID, 4.0)]) {
        assert_eq!(seg["content_id"], id, "{report}");
        assert!(
            (seg["start_s"].as_f64().unwrap() - start).abs() <= 0.5,
            "{seg}"
        );
        assert_eq!(seg["credentials"]["accepted"], true, "{seg}");
    }
    assert_ne!(
        found[0]["credentials"]["origin"],
        found[1]["credentials"]["origin"]
    );
    assert!(found[0]["credentials"]["origin"]
        .as_str()
        .is_some_and(|o| o.starts_with("store record ")));
}

#[test]
fn a_truncated_file_is_checked_on_what_decodes() {
    let dir = tempfile::tempdir().unwrap();
    let stripped = dir.path().join("strip.mp4");
    ffmpeg(&[
        "-i",
        CLIP,
        "-c:v",
        "libx264",
        "-movflags",
        "+faststart",
        s(&stripped),
    ]);
    let bytes = std::fs::read(&stripped).unwrap();
    let cut = dir.path().join("cut.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() - 300]).unwrap();
    let (code, report) = verify(&cut, &["--store", STORE]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["watermark"]["present"], true, "{report}");
    assert_eq!(report["watermark"]["content_id"], CLIP_ID);
    let verdict = report["verdict"].as_str().unwrap();
    assert!(
        verdict.starts_with("Damaged file: the video stops decoding after"),
        "{verdict}"
    );
    // A longer file cut to 60 %: the clip inside it is still found where it is.
    let before = footage(dir.path(), "a.mp4", "testsrc2", 3);
    let after = footage(dir.path(), "b.mp4", "mandelbrot", 4);
    let spliced = join(
        dir.path(),
        "splice.mp4",
        &[&before, Path::new(CLIP), &after],
    );
    let faststart = dir.path().join("fs.mp4");
    ffmpeg(&[
        "-i",
        s(&spliced),
        "-c",
        "copy",
        "-movflags",
        "+faststart",
        s(&faststart),
    ]);
    let bytes = std::fs::read(&faststart).unwrap();
    let cut = dir.path().join("cut60.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() * 6 / 10]).unwrap();
    let (_, report) = verify(&cut, &[]);
    let found = segments(&report);
    assert_eq!(found.len(), 1, "{report}");
    assert!((found[0]["start_s"].as_f64().unwrap() - 3.0).abs() <= 0.5);
    assert!(report["verdict"]
        .as_str()
        .unwrap()
        .starts_with("Damaged file"));
}

/// Made with credentials that record its length and rate (16 frames at 8 fps); in store-clips.db.
const CLIP3: &str = "tests/data/verify/clip3.mp4";
const CLIPS_STORE: &str = "tests/data/verify/store-clips.db";

#[test]
fn a_clip_whose_credentials_give_its_rate_and_length_shows_speed_changes_and_cut_ends() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t.mp4");
    let check = |filter: &str, rate: Option<&str>| {
        let mut args = vec!["-i", CLIP3, "-vf", filter];
        if let Some(r) = rate {
            args.extend(["-r", r]);
        }
        args.extend(["-c:v", "libx264", "-crf", "20", s(&out)]);
        ffmpeg(&args);
        let (_, report) = verify(&out, &["--store", CLIPS_STORE]);
        assert_eq!(
            report["watermark"]["recovered"]["accepted"], true,
            "{report}"
        );
        report["verdict"].as_str().unwrap().to_string()
    };
    // A frame-rate conversion keeps the clip's speed: a transform.
    let converted = check("fps=25", None);
    assert!(!converted.contains("Tampered"), "{converted}");
    assert!(
        converted.contains("frame rate converted 8 → 25 fps"),
        "{converted}"
    );
    // Slowed down to half speed (each frame shown twice at the same rate): an edit.
    let slowed = check("setpts=2*PTS", Some("8"));
    assert!(
        slowed.starts_with("Tampered: speed changed: made at 8 fps, it plays at 0.50× speed"),
        "{slowed}"
    );
    // One frame in four left out and the rest played at 8 fps: sped up, an edit.
    let sped = check("select='not(eq(mod(n\\,4)\\,3))',setpts=N/8/TB", Some("8"));
    assert!(sped.contains("plays at 1.33× speed"), "{sped}");
    // The last frames cut off: the credentials say there were 16, so this is an excerpt, placed
    // in the clip (not an edit of what is shown).
    let last = check("trim=end_frame=15", None);
    assert!(
        last.starts_with(
            "Excerpt of a Candor clip: seconds 0.0–1.9 of its 2.0 (original frames 0–14 of 16)"
        ),
        "{last}"
    );
    assert!(!last.contains("Tampered"), "{last}");
    let cut = check("trim=end_frame=12", None);
    assert!(
        cut.starts_with(
            "Excerpt of a Candor clip: seconds 0.0–1.5 of its 2.0 (original frames 0–11 of 16)"
        ),
        "{cut}"
    );
    // Cut at both ends: placed from its first frame shown.
    let middle = check("trim=start_frame=4:end_frame=12,setpts=PTS-STARTPTS", None);
    assert!(
        middle.starts_with(
            "Excerpt of a Candor clip: seconds 0.5–1.5 of its 2.0 (original frames 4–11 of 16)"
        ),
        "{middle}"
    );
    assert!(!middle.contains("Tampered"), "{middle}");
    // Untouched but re-encoded: none of these.
    let plain = check("null", None);
    assert!(!plain.contains("Tampered"), "{plain}");
}

#[test]
fn the_same_clip_twice_is_two_segments_and_a_reversed_one_is_one() {
    let dir = tempfile::tempdir().unwrap();
    let host = footage(dir.path(), "h.mp4", "testsrc2", 2);
    let twice = join(
        dir.path(),
        "twice.mp4",
        &[&host, Path::new(CLIP), Path::new(CLIP), &host],
    );
    let (_, report) = verify(&twice, &[]);
    let found = segments(&report);
    assert_eq!(found.len(), 2, "{report}");
    for (seg, start) in found.iter().zip([2.0, 4.0]) {
        assert_eq!(seg["content_id"], CLIP_ID);
        assert!(
            (seg["start_s"].as_f64().unwrap() - start).abs() <= 0.5,
            "{seg}"
        );
    }
    assert!(
        !report["verdict"].as_str().unwrap().contains("Tampered"),
        "{report}"
    );
    // The clip played backwards inside footage: one segment, reported as reordered.
    let reversed = dir.path().join("rev.mp4");
    ffmpeg(&[
        "-i",
        CLIP,
        "-vf",
        "reverse",
        "-c:v",
        "libx264",
        "-crf",
        "18",
        s(&reversed),
    ]);
    let file = join(dir.path(), "in.mp4", &[&host, &reversed, &host]);
    let (code, report) = verify(&file, &[]);
    assert_eq!(segments(&report).len(), 1, "{report}");
    assert!(
        report["verdict"].as_str().unwrap().contains("out of order"),
        "{report}"
    );
    assert_eq!(code, 1);
}

#[test]
fn one_frame_cut_from_the_middle_is_an_edit_not_a_conversion() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cut1.mp4");
    ffmpeg(&[
        "-i",
        CLIP3,
        "-vf",
        "select='not(eq(n\\,8))',setpts=N/8/TB",
        "-r",
        "8",
        "-c:v",
        "libx264",
        "-crf",
        "18",
        s(&out),
    ]);
    let (code, report) = verify(&out, &["--store", CLIPS_STORE]);
    let verdict = report["verdict"].as_str().unwrap();
    assert!(
        verdict.starts_with("Tampered: frame 8 removed"),
        "{verdict}"
    );
    assert!(!verdict.contains("converted 8 → 8"), "{verdict}");
    assert_eq!(code, 1);
}

#[test]
fn a_faint_clip_letterboxed_is_the_whole_clip_with_its_credentials() {
    // A low-contrast clip (pink on sand) squeezed into 4:3 with bars: the mark is found on the
    // picture as it is, clip-wide, with only a few frames placeable one by one, and the content
    // lines up only once the bars are undone. It was called "an excerpt, seconds 0.4–0.8" and
    // its credentials were refused as made for other content (bench robustness, clip 34 of 48).
    let dir = tempfile::tempdir().unwrap();
    let (clip, store) = (dir.path().join("c.mp4"), dir.path().join("s.db"));
    let r = candor_run(&[
        "generate",
        "a pink triangle moving right over the sand",
        "--seed",
        "1034",
        "--content-id",
        "0000726f62000022",
        "-o",
        s(&clip),
        "--store",
        s(&store),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let boxed = dir.path().join("letterbox.mp4");
    ffmpeg(&[
        "-i",
        s(&clip),
        "-vf",
        "scale=iw:ih*3/4,pad=iw:ih*4/3:0:(oh-ih)/2",
        "-c:v",
        "libx264",
        "-crf",
        "18",
        "-pix_fmt",
        "yuv420p",
        s(&boxed),
    ]);
    let (code, report) = verify(&boxed, &["--store", s(&store)]);
    assert_eq!(code, 0, "{report}");
    let wm = &report["watermark"];
    assert_eq!(wm["present"], true, "{report}");
    assert_eq!(wm["content_id"], "0000726f62000022");
    assert_eq!(wm["recovered"]["accepted"], true, "{report}");
    let verdict = report["verdict"].as_str().unwrap();
    assert!(!verdict.contains("Excerpt"), "{verdict}");
    assert!(!verdict.contains("Tampered"), "{verdict}");
    // Other content with this clip's mark is still refused: the bars are not the picture.
    let other = dir.path().join("other.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=128x128:rate=8",
        "-t",
        "2",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        s(&other),
    ]);
    let (_, report) = verify(&other, &["--store", s(&store)]);
    assert_ne!(report["watermark"]["present"], true, "{report}");
}
