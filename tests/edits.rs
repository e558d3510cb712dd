//! End to end with the shipped model: `candor edit` redraws one region over a span, leaves the
//! rest as it was, signs an edit whose parent ingredient carries the original's manifest, and
//! `verify` tells the declared edit from a change elsewhere; bad input exits 2 and writes nothing.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

const MODEL: &str = "models/candor-shapes-v3";

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Every frame of `path` as RGB24 (`size`×`size`), through the ffmpeg CLI.
fn frames(path: &Path, size: usize) -> Vec<Vec<u8>> {
    let out = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-i",
            s(path),
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    out.stdout
        .chunks(size * size * 3)
        .map(<[u8]>::to_vec)
        .collect()
}

fn psnr(a: &[(u8, u8)]) -> f64 {
    let mse = a
        .iter()
        .map(|&(x, y)| (f64::from(x) - f64::from(y)).powi(2))
        .sum::<f64>()
        / a.len().max(1) as f64;
    10.0 * (255.0f64.powi(2) / mse.max(1e-9)).log10()
}

#[test]
fn an_edit_changes_only_its_region_and_span_and_verifies_as_declared() {
    let dir = tempfile::tempdir().unwrap();
    let (clip, edited, store) = (
        dir.path().join("clip.mp4"),
        dir.path().join("edited.mp4"),
        dir.path().join("store.db"),
    );
    let r = candor_run(&[
        "generate",
        "a red circle bouncing over the grass",
        "--seed",
        "3",
        // A fixed clip: verdicts on a flat object's blocks depend on the clip.
        "--content-id",
        "00000000000e0171",
        "--model",
        MODEL,
        "--store",
        s(&store),
        "-o",
        s(&clip),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // The top-left quarter (64×64 of 128×128), seconds 0.5–1.5 (frames 4–11), as a blue star.
    let r = candor_run(&[
        "edit",
        s(&clip),
        "a blue star",
        "--region",
        "0,0,64,64",
        "--from",
        "0.5",
        "--to",
        "1.5",
        "--model",
        MODEL,
        "--store",
        s(&store),
        "-o",
        s(&edited),
        "--json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let e: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        (e["first_frame"].as_u64(), e["frames"].as_u64()),
        (Some(4), Some(8))
    );

    // Outside the region and the span: the parent's pixels (re-encoded once).
    let (a, b) = (frames(&clip, 128), frames(&edited, 128));
    assert_eq!(a.len(), 16);
    assert_eq!(b.len(), 16);
    let mut outside = Vec::new();
    let mut blue_inside = 0usize;
    for (f, (fa, fb)) in a.iter().zip(&b).enumerate() {
        for p in 0..128 * 128 {
            let (x, y) = (p % 128, p / 128);
            let inside = x < 64 && y < 64 && (4..12).contains(&f);
            if inside {
                let [r, g, bl] = [fb[p * 3], fb[p * 3 + 1], fb[p * 3 + 2]];
                blue_inside += usize::from(bl > 150 && r < 110 && g < 150);
            } else {
                for c in 0..3 {
                    outside.push((fa[p * 3 + c], fb[p * 3 + c]));
                }
            }
        }
    }
    let p = psnr(&outside);
    assert!(p >= 35.0, "PSNR outside the edit {p:.1} dB");
    // Inside: the new attribute shows (blue pixels in the region over the span).
    assert!(
        blue_inside > 8 * 64 * 64 / 50,
        "blue pixels inside: {blue_inside}"
    );

    // verify: the declared edit, its parent ingredient with the original's manifest.
    let r = candor_run(&["verify", s(&edited), "--store", s(&store), "--json"]);
    let v = json_lines(&r.stdout).remove(0);
    let verdict = v["verdict"].as_str().unwrap();
    assert!(verdict.contains("Edited with Candor as declared: region x 0, y 0, 64×64 px of frames 4–11 redrawn as \"a blue star\""), "{verdict}");
    assert!(!verdict.contains("Tampered"), "{verdict}");
    assert_eq!(r.code, 0, "{verdict}");
    let m = &v["manifest"];
    assert_eq!(m["state"], "valid", "{m}");
    let actions: Vec<&str> = m["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"c2pa.opened") && actions.contains(&"c2pa.edited"),
        "{actions:?}"
    );
    let ingredients = m["ingredients"].as_array().unwrap();
    assert_eq!(ingredients.len(), 1);
    assert_eq!(ingredients[0]["relationship"], "parentOf");
    assert!(
        ingredients[0]["manifest"].is_string(),
        "the parent's manifest travels with it: {m}"
    );
    assert!(
        m["ingredient_failures"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["code"] == "signingCredential.untrusted"),
        "c2pa-rs validates the parent ingredient: {m}"
    );
    assert_eq!(m["generation"]["edits"][0]["prompt"], "a blue star");
    assert_eq!(
        m["soft_binding"]["regions"][0]["region"],
        serde_json::json!([0, 0, 64, 64])
    );

    // The HTML report shows the declared edit and what the watermark says of it.
    let html = dir.path().join("report.html");
    let r = candor_run(&[
        "verify",
        s(&edited),
        "--store",
        s(&store),
        "--html",
        s(&html),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("Edits its credentials declare")
            && page.contains("confirmed by the watermark"),
        "{page}"
    );

    // Stripped: the store recovers the edit's credentials (not the original's), still declared.
    let stripped = dir.path().join("stripped.mp4");
    ffmpeg(&[
        "-i",
        s(&edited),
        "-map_metadata",
        "-1",
        "-c:v",
        "libx264",
        "-crf",
        "18",
        s(&stripped),
    ]);
    let r = candor_run(&["verify", s(&stripped), "--store", s(&store), "--json"]);
    let v = json_lines(&r.stdout).remove(0);
    let verdict = v["verdict"].as_str().unwrap();
    assert_eq!(v["watermark"]["recovered"]["accepted"], true, "{v}");
    assert!(
        verdict.contains("Edited with Candor as declared"),
        "{verdict}"
    );

    // Another region changed with ffmpeg: tampered.
    let boxed = dir.path().join("boxed.mp4");
    ffmpeg(&[
        "-i",
        s(&edited),
        "-vf",
        "drawbox=x=72:y=72:w=48:h=48:color=white:t=fill",
        "-c:v",
        "libx264",
        "-crf",
        "18",
        s(&boxed),
    ]);
    let r = candor_run(&["verify", s(&boxed), "--store", s(&store), "--json"]);
    let v = json_lines(&r.stdout).remove(0);
    let verdict = v["verdict"].as_str().unwrap();
    assert!(verdict.contains("Tampered"), "{verdict}");
    assert_eq!(r.code, 1, "{verdict}");

    // A stripped original: its credentials are recovered through its watermark, and the edit
    // says so; the parent ingredient then carries no manifest of its own.
    let bare = dir.path().join("bare.mp4");
    ffmpeg(&[
        "-i",
        s(&clip),
        "-map_metadata",
        "-1",
        "-c",
        "copy",
        s(&bare),
    ]);
    let from_bare = dir.path().join("from-bare.mp4");
    let r = candor_run(&[
        "edit",
        s(&bare),
        "a green square",
        "--region",
        "64,64,64,64",
        "--model",
        MODEL,
        "--store",
        s(&store),
        "-o",
        s(&from_bare),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("recovered through its watermark from store record"),
        "{}",
        r.stdout
    );
    let r = candor_run(&["verify", s(&from_bare), "--store", s(&store), "--json"]);
    let v = json_lines(&r.stdout).remove(0);
    assert!(
        v["verdict"]
            .as_str()
            .unwrap()
            .contains("Edited with Candor as declared: region x 64, y 64"),
        "{v}"
    );

    // The stripped original, whose payload now also names two edits in the store, recovers its
    // own credentials (the best content match), not an edit's.
    let r = candor_run(&["verify", s(&bare), "--store", s(&store), "--json"]);
    let v = json_lines(&r.stdout).remove(0);
    assert_eq!(v["watermark"]["recovered"]["accepted"], true, "{v}");
    assert!(
        v["watermark"]["recovered"]["manifest"]["generation"]["edits"].is_null(),
        "{v}"
    );
    assert!(!v["verdict"].as_str().unwrap().contains("Edited"), "{v}");

    // Laundering: a change nobody made with Candor is never passed off as the declared edit,
    // even though the edit's manifest is in the store under the same payload: the original with
    // the region blanked over the span, and the edit with the region changed outside the span.
    for (name, from, filter) in [
        (
            "blanked.mp4",
            &clip,
            "drawbox=x=0:y=0:w=64:h=64:color=black:t=fill:enable='between(n,4,11)'",
        ),
        (
            "before-span.mp4",
            &edited,
            "drawbox=x=0:y=0:w=64:h=64:color=white:t=fill:enable='between(n,0,3)'",
        ),
    ] {
        let out = dir.path().join(name);
        ffmpeg(&[
            "-i",
            s(from),
            "-vf",
            filter,
            "-map_metadata",
            "-1",
            "-c:v",
            "libx264",
            "-crf",
            "18",
            s(&out),
        ]);
        let r = candor_run(&["verify", s(&out), "--store", s(&store), "--json"]);
        let v = json_lines(&r.stdout).remove(0);
        let verdict = v["verdict"].as_str().unwrap();
        assert!(!verdict.contains("as declared"), "{name}: {verdict}");
        // (Whether the edit's manifest was rejected by its check or never matched the picture,
        // the change is not passed off as the edit.)
    }

    // A tiny whole-clip edit of the same original in the store, and an edit of the edit whose
    // region overlaps the first: the stripped original still gets its own credentials, and the
    // chain verifies as declared, both edits confirmed.
    let tiny = dir.path().join("tiny.mp4");
    let r = candor_run(&[
        "edit",
        s(&clip),
        "a white diamond",
        "--region",
        "0,0,16,16",
        "--model",
        MODEL,
        "--store",
        s(&store),
        "-o",
        s(&tiny),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = candor_run(&["verify", s(&bare), "--store", s(&store), "--json"]);
    let v = json_lines(&r.stdout).remove(0);
    assert!(!v["verdict"].as_str().unwrap().contains("Edited"), "{v}");
    let chain = dir.path().join("chain.mp4");
    let r = candor_run(&[
        "edit",
        s(&edited),
        "a green triangle",
        "--region",
        "32,32,64,64",
        "--from",
        "1",
        "--to",
        "2",
        "--model",
        MODEL,
        "--store",
        s(&store),
        "-o",
        s(&chain),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = candor_run(&["verify", s(&chain), "--store", s(&store), "--json"]);
    let v = json_lines(&r.stdout).remove(0);
    let checks: Vec<&str> = v["watermark"]["edits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["check"].as_str().unwrap())
        .collect();
    assert_eq!(checks, vec!["confirmed", "confirmed"], "{v}");
    assert_eq!(r.code, 0, "{v}");

    // The original still verifies as itself, with no edit claimed.
    let r = candor_run(&["verify", s(&clip), "--store", s(&store), "--json"]);
    let v = json_lines(&r.stdout).remove(0);
    assert!(!v["verdict"].as_str().unwrap().contains("Edited"), "{v}");
}

#[test]
fn bad_edits_exit_2_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (clip, out, store) = (
        dir.path().join("clip.mp4"),
        dir.path().join("out.mp4"),
        dir.path().join("store.db"),
    );
    let r = candor_run(&[
        "generate",
        "a red circle",
        "--frames",
        "8",
        "--steps",
        "4",
        "--model",
        MODEL,
        "--store",
        s(&store),
        "-o",
        s(&clip),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let camera = h264_clip(dir.path(), "camera.mp4");
    let edit = |file: &Path, extra: &[&str]| {
        let mut args = vec![
            "edit",
            s(file),
            "a blue star",
            "--model",
            MODEL,
            "--store",
            s(&store),
            "-o",
            s(&out),
        ];
        args.extend_from_slice(extra);
        candor_run(&args)
    };
    for (file, extra, says) in [
        (&camera, vec!["--region", "0,0,16,16"], "not a Candor clip"),
        (&clip, vec!["--region", "100,100,64,64"], "inside the frame"),
        (&clip, vec!["--region", "0,0,0,16"], "width and height"),
        (&clip, vec!["--region", "0,0,16"], "x,y,w,h"),
        (
            &clip,
            vec!["--region", "0,0,16,16", "--from", "0.5", "--to", "3"],
            "inside the clip",
        ),
        (
            &clip,
            vec!["--region", "0,0,16,16", "--from", "0.8", "--to", "0.2"],
            "inside the clip",
        ),
        (
            &clip,
            vec!["--region", "0,0,16,16", "--from=-1"],
            "inside the clip",
        ),
        (
            &dir.path().join("missing.mp4"),
            vec!["--region", "0,0,16,16"],
            "no such file",
        ),
    ] {
        let r = edit(file, &extra);
        assert_eq!(r.code, 2, "{extra:?}: {}", r.stderr);
        assert!(r.stderr.contains(says), "{extra:?}: {}", r.stderr);
        assert!(!out.exists(), "{extra:?}: nothing written");
    }
    // A refused prompt.
    let r = candor_run(&[
        "edit",
        s(&clip),
        "a portrait of the prime minister",
        "--region",
        "0,0,16,16",
        "--model",
        MODEL,
        "--store",
        s(&store),
        "-o",
        s(&out),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(!out.exists());
}
