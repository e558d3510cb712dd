//! End to end with the shipped model: long clips drawn in chunks on one watermark timeline,
//! excerpts of them placed by `verify`, storyboards of several shots listed by `verify`, and bad
//! input (exit 2, nothing written).

mod common;

use common::*;
use std::path::Path;

const MODEL: &str = "models/candor-shapes-v3";

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn verify_json(file: &Path, store: &Path) -> (i32, serde_json::Value) {
    let r = candor_run(&["verify", s(file), "--store", s(store), "--json"]);
    assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
    (r.code, json_lines(&r.stdout).remove(0))
}

/// Frames `start..end` of `clip`, re-encoded without its metadata (an excerpt a platform made).
fn excerpt(clip: &Path, out: &Path, start: usize, end: usize, extra_filter: &str) {
    let filter =
        format!("trim=start_frame={start}:end_frame={end},setpts=PTS-STARTPTS{extra_filter}");
    ffmpeg(&[
        "-i",
        s(clip),
        "-vf",
        &filter,
        "-map_metadata",
        "-1",
        "-c:v",
        "libx264",
        "-crf",
        "23",
        s(out),
    ]);
}

#[test]
fn a_long_clip_is_one_timeline_and_its_excerpts_are_found_and_placed() {
    let dir = tempfile::tempdir().unwrap();
    let (clip, store) = (dir.path().join("long.mp4"), dir.path().join("store.db"));
    // 5 s at 8 fps: 40 frames, three 16-frame chunks.
    let r = candor_run(&[
        "generate",
        "a red circle moving left over the grass",
        "--duration",
        "5s",
        // A fixed clip: the same content id, seed and default steps give the same frames.
        "--content-id",
        "00000000000010a1",
        "--model",
        MODEL,
        "--store",
        s(&store),
        "-o",
        s(&clip),
        "--json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let g: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(g["frames"], 40);

    // The whole clip: its own credentials, the mark over every frame, no excerpt.
    let (code, v) = verify_json(&clip, &store);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["manifest"]["generation"]["frames"], 40);
    assert_eq!(v["watermark"]["present"], true, "{v}");
    assert_eq!(v["watermark"]["content_id"], g["content_id"]);
    let p = &v["watermark"]["placement"];
    assert_eq!(
        (p["first_frame"].as_u64(), p["last_frame"].as_u64()),
        (Some(0), Some(39)),
        "{p}"
    );
    assert_eq!(p["excerpt"], false);

    // Excerpts from the middle and the end, metadata stripped: placed within a frame, the
    // content id exact, credentials recovered, called an excerpt and not tampering.
    for (start, end, filter) in [(18usize, 34usize, ""), (27, 40, ""), (9, 25, ",fps=25")] {
        let cut = dir.path().join(format!("cut-{start}-{end}.mp4"));
        excerpt(&clip, &cut, start, end, filter);
        let (code, v) = verify_json(&cut, &store);
        let wm = &v["watermark"];
        assert_eq!(wm["present"], true, "{start}-{end}: {v}");
        assert_eq!(wm["content_id"], g["content_id"], "{v}");
        let first = wm["placement"]["first_frame"].as_i64().unwrap();
        assert!(
            (first - start as i64).abs() <= 1,
            "{start}-{end}{filter}: placed at {first}: {v}"
        );
        let last = wm["placement"]["last_frame"].as_i64().unwrap();
        assert!(
            (last - (end as i64 - 1)).abs() <= 1,
            "{start}-{end}{filter}: last {last}: {v}"
        );
        assert_eq!(wm["placement"]["excerpt"], true);
        assert_eq!(wm["recovered"]["accepted"], true, "{v}");
        let verdict = v["verdict"].as_str().unwrap();
        assert!(
            verdict.starts_with("Excerpt of a Candor clip: seconds"),
            "{verdict}"
        );
        assert!(verdict.contains("of 40)"), "{verdict}");
        assert!(!verdict.contains("Tampered"), "{verdict}");
        assert_eq!(code, 0, "{verdict}");
    }

    // Files longer than one window are scanned whole: frames cut from inside, and parts swapped,
    // are still edits (34 frames of the 40 left; then frames 22–39 before 0–15).
    let cut = dir.path().join("cut-inside.mp4");
    ffmpeg(&[
        "-i",
        s(&clip),
        "-vf",
        "select='not(between(n\\,20\\,25))',setpts=N/8/TB",
        "-map_metadata",
        "-1",
        "-c:v",
        "libx264",
        "-crf",
        "20",
        "-r",
        "8",
        s(&cut),
    ]);
    let (code, v) = verify_json(&cut, &store);
    let verdict = v["verdict"].as_str().unwrap();
    assert!(verdict.starts_with("Tampered: frames 20-25"), "{verdict}");
    assert_eq!(verdict.matches("20-25").count(), 1, "named once: {verdict}");
    assert_eq!(code, 1);
    let swapped = dir.path().join("swapped.mp4");
    ffmpeg(&[
        "-i",
        s(&clip),
        "-filter_complex",
        "[0]trim=start_frame=22:end_frame=40,setpts=PTS-STARTPTS[a];[0]trim=start_frame=0:end_frame=16,setpts=PTS-STARTPTS[b];[a][b]concat=n=2[v]",
        "-map",
        "[v]",
        "-map_metadata",
        "-1",
        "-c:v",
        "libx264",
        "-crf",
        "20",
        s(&swapped),
    ]);
    let (code, v) = verify_json(&swapped, &store);
    let verdict = v["verdict"].as_str().unwrap();
    assert!(
        verdict.contains("reordered: the clip's frames 0–15 are shown after its frames 22–39"),
        "{verdict}"
    );
    assert_eq!(code, 1);

    // One frame dropped (39 of 40 left), and part of the clip shown again (frames 0–23, then
    // 16–39): edits.
    for (name, filter, says) in [
        (
            "drop1.mp4",
            "select='not(eq(n\\,30))',setpts=N/8/TB",
            "frame 30 removed",
        ),
        (
            "repeat.mp4",
            "select='lt(n\\,24)+gte(n\\,16)',setpts=N/8/TB",
            "",
        ),
    ] {
        let out = dir.path().join(name);
        if name == "repeat.mp4" {
            ffmpeg(&[
                "-i",
                s(&clip),
                "-filter_complex",
                "[0]trim=start_frame=0:end_frame=24,setpts=PTS-STARTPTS[a];[0]trim=start_frame=16:end_frame=40,setpts=PTS-STARTPTS[b];[a][b]concat=n=2[v]",
                "-map",
                "[v]",
                "-map_metadata",
                "-1",
                "-c:v",
                "libx264",
                "-crf",
                "20",
                s(&out),
            ]);
        } else {
            ffmpeg(&[
                "-i",
                s(&clip),
                "-vf",
                filter,
                "-map_metadata",
                "-1",
                "-c:v",
                "libx264",
                "-crf",
                "20",
                "-r",
                "8",
                s(&out),
            ]);
        }
        let (code, v) = verify_json(&out, &store);
        let verdict = v["verdict"].as_str().unwrap();
        let says = if says.is_empty() {
            "repeated: the clip's frames 16–23 are shown again"
        } else {
            says
        };
        assert!(verdict.contains(says), "{name}: {verdict}");
        assert_eq!(code, 1, "{name}");
    }

    // An excerpt with frames dropped inside it is still an edit.
    let holed = dir.path().join("holed.mp4");
    ffmpeg(&[
        "-i",
        s(&clip),
        "-vf",
        "select='between(n\\,10\\,17)+between(n\\,22\\,30)',setpts=N/8/TB",
        "-map_metadata",
        "-1",
        "-c:v",
        "libx264",
        "-crf",
        "20",
        "-r",
        "8",
        s(&holed),
    ]);
    let (code, v) = verify_json(&holed, &store);
    let verdict = v["verdict"].as_str().unwrap();
    assert!(
        verdict.contains("Tampered: frames 18-21 removed"),
        "{verdict}"
    );
    assert_eq!(code, 1);
}

#[test]
fn a_storyboard_is_one_clip_whose_shots_verify_lists() {
    let dir = tempfile::tempdir().unwrap();
    let (board, film, store) = (
        dir.path().join("shots.yaml"),
        dir.path().join("film.mp4"),
        dir.path().join("store.db"),
    );
    std::fs::write(
        &board,
        "shots:\n  - prompt: \"a red circle drifting left over the grass\"\n    duration: 1s\n  - prompt: \"a blue star rising into the night sky\"\n    duration: 2s\n  - prompt: \"a yellow square growing on the beach\"\n    frames: 12\n",
    )
    .unwrap();
    let r = candor_run(&[
        "storyboard",
        s(&board),
        "-o",
        s(&film),
        "--steps",
        "6",
        "--model",
        MODEL,
        "--store",
        s(&store),
        "--json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let g: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(g["frames"], 36);
    assert_eq!(g["shots"].as_array().unwrap().len(), 3);

    let (code, v) = verify_json(&film, &store);
    assert_eq!(code, 0, "{v}");
    let shots = v["watermark"]["placement"]["shots"].as_array().unwrap();
    let spans: Vec<(u64, u64, &str)> = shots
        .iter()
        .map(|s| {
            (
                s["first_frame"].as_u64().unwrap(),
                s["last_frame"].as_u64().unwrap(),
                s["prompt"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        spans,
        vec![
            (0, 7, "a red circle drifting left over the grass"),
            (8, 23, "a blue star rising into the night sky"),
            (24, 35, "a yellow square growing on the beach"),
        ]
    );
    assert_eq!(
        v["manifest"]["generation"]["shots"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let r = candor_run(&["verify", s(&film), "--store", s(&store)]);
    assert!(
        r.stdout.contains("Shot 2:      1.00–3.00 s of this file"),
        "{}",
        r.stdout
    );

    // Stripped and cut to the second shot: found, placed, and that shot named.
    let cut = dir.path().join("shot2.mp4");
    excerpt(&film, &cut, 8, 24, "");
    let (_, v) = verify_json(&cut, &store);
    assert_eq!(v["watermark"]["recovered"]["accepted"], true, "{v}");
    let shots = v["watermark"]["placement"]["shots"].as_array().unwrap();
    // (A frame either side may be placed in the shot next to it.)
    let main = shots
        .iter()
        .max_by_key(|s| s["last_frame"].as_u64().unwrap() - s["first_frame"].as_u64().unwrap())
        .unwrap();
    assert_eq!(main["number"], 2, "{v}");
    assert_eq!(main["prompt"], "a blue star rising into the night sky");
    assert!(shots.len() <= 2, "{v}");
}

#[test]
fn bad_long_clips_and_storyboards_exit_2_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store.db");
    let out = dir.path().join("out.mp4");
    let board = dir.path().join("board.yaml");
    let storyboard = |text: Option<&str>| {
        if let Some(t) = text {
            std::fs::write(&board, t).unwrap();
        } else {
            let _ = std::fs::remove_file(&board);
        }
        candor_run(&[
            "storyboard",
            s(&board),
            "-o",
            s(&out),
            "--model",
            MODEL,
            "--store",
            s(&store),
        ])
    };
    for (text, says) in [
        (Some("shots: []\n"), "no shots"),
        (Some(""), "no shots"),
        (Some("shots:\n  - prompt: a red circle\n"), "no length"),
        (Some("shots:\n  - prompt: a red circle\n    duration: 40s\n"), "at most 256"),
        (Some("shots: [unclosed\n"), "board.yaml"),
        (Some("shots:\n  - prompt: a red circle\n    duration: 1s\n  - prompt: a portrait of the prime minister\n    duration: 1s\n"), "cannot draw"),
        (None, "no such file"),
    ] {
        let r = storyboard(text);
        assert_eq!(r.code, 2, "{text:?}: {}", r.stderr);
        assert!(r.stderr.contains(says), "{text:?}: {}", r.stderr);
        assert!(!out.exists(), "{text:?}: nothing written");
    }
    // Prompts that would show differently from what they say are refused, nothing written.
    for prompt in [
        "a red circle \u{202e}gnivom",
        "a red\u{200b} circle",
        "a red \u{1b}[31mcircle",
    ] {
        let r = candor_run(&[
            "generate",
            prompt,
            "--model",
            MODEL,
            "--store",
            s(&store),
            "-o",
            s(&out),
        ]);
        assert_eq!(r.code, 2, "{prompt:?}: {}", r.stderr);
        assert!(
            r.stderr
                .contains("the prompt must be text without control or invisible"),
            "{}",
            r.stderr
        );
        assert!(!out.exists());
    }
    for (flag, value, says) in [
        ("--duration", "soon", "not a positive length"),
        ("--duration", "40s", "at most 256 (32.0 s at that rate)"),
        ("--duration", "0s", "not a positive length"),
        ("--frames", "300", "between 1 and 256"),
    ] {
        let r = candor_run(&[
            "generate",
            "a red circle",
            flag,
            value,
            "--model",
            MODEL,
            "--store",
            s(&store),
            "-o",
            s(&out),
        ]);
        assert_eq!(r.code, 2, "{flag} {value}: {}", r.stderr);
        assert!(r.stderr.contains(says), "{flag} {value}: {}", r.stderr);
        assert!(!out.exists());
    }
}
