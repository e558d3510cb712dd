//! End to end: identities, signing, verification states and exit codes, bad input.

mod common;

use common::*;
use std::fs;
use std::path::Path;

fn identity(dir: &std::path::Path) -> std::path::PathBuf {
    let id = dir.join("id");
    let r = candor_run(&[
        "keys",
        "init",
        "--dir",
        id.to_str().unwrap_or_default(),
        "--org",
        "Newsroom Test",
        "--name",
        "Desk Camera",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    id
}

fn sign(input: &std::path::Path, output: &std::path::Path, id: &std::path::Path) -> Run {
    candor_run(&[
        "sign",
        input.to_str().unwrap_or_default(),
        "-o",
        output.to_str().unwrap_or_default(),
        "--identity",
        id.to_str().unwrap_or_default(),
        "--source-type",
        "digitalCapture",
    ])
}

fn verify_json(
    file: &std::path::Path,
    trust: Option<&std::path::Path>,
) -> (Run, serde_json::Value) {
    let mut args = vec![
        "verify".to_string(),
        "--no-watermark".to_string(),
        file.display().to_string(),
        "--json".into(),
    ];
    if let Some(t) = trust {
        args.push("--trust".into());
        args.push(t.display().to_string());
    }
    let r = run(candor().args(&args));
    let v = json_lines(&r.stdout).into_iter().next().unwrap_or_default();
    (r, v)
}

#[test]
fn signed_clip_is_trusted_with_its_root_and_valid_without() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let id = identity(dir.path());
    let clip = h264_clip(dir.path(), "clip.mp4");
    let signed = dir.path().join("signed.mp4");
    let r = sign(&clip, &signed, &id);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        !r.stderr.contains("PUBLIC TEST"),
        "own identity must not warn"
    );

    let (r, v) = verify_json(&signed, Some(&id.join("root.pem")));
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(v["manifest"]["state"], "trusted", "{v}");
    assert_eq!(v["manifest"]["signer"]["common_name"], "Desk Camera");
    assert_eq!(v["manifest"]["signer"]["algorithm"], "Ed25519");
    assert_eq!(v["manifest"]["source_type"], "camera capture");
    assert_eq!(v["manifest"]["actions"][0]["action"], "c2pa.created");
    assert!(
        v["manifest"]["failures"]
            .as_array()
            .is_some_and(|f| f.is_empty()),
        "{v}"
    );
    assert!(
        v.get("watermark").is_some(),
        "the watermark slot is part of the schema"
    );

    let (r, v) = verify_json(&signed, None);
    assert_eq!(r.code, 0);
    assert_eq!(v["manifest"]["state"], "valid");
    let codes: Vec<&str> = v["manifest"]["failures"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["code"].as_str())
        .collect();
    assert_eq!(codes, vec!["signingCredential.untrusted"]);

    // Text output for people says it plainly.
    let r = candor_run(&[
        "verify",
        "--no-watermark",
        signed.to_str().unwrap_or_default(),
    ]);
    assert!(r.stdout.contains("signer not trusted"), "{}", r.stdout);
    assert!(r.stdout.contains("camera capture"), "{}", r.stdout);

    // A root that is not the signer's is not trusted either.
    let other = dir.path().join("other");
    assert_eq!(
        candor_run(&["keys", "init", "--dir", other.to_str().unwrap_or_default()]).code,
        0
    );
    let (_, v) = verify_json(&signed, Some(&other.join("root.pem")));
    assert_eq!(v["manifest"]["state"], "valid");

    // --require-trusted turns "valid but untrusted" into a failure.
    let r = candor_run(&[
        "verify",
        "--no-watermark",
        signed.to_str().unwrap_or_default(),
        "--require-trusted",
    ]);
    assert_eq!(r.code, 1);
}

#[test]
fn a_flipped_byte_in_mdat_is_invalid_and_exits_1() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let id = identity(dir.path());
    let clip = h264_clip(dir.path(), "clip.mp4");
    let signed = dir.path().join("signed.mp4");
    assert_eq!(sign(&clip, &signed, &id).code, 0);
    let mut bytes = fs::read(&signed).unwrap_or_default();
    let at = mdat_payload_offset(&bytes).unwrap_or_else(|| panic!("no mdat")) + 100;
    bytes[at] ^= 0xff;
    let tampered = dir.path().join("tampered.mp4");
    fs::write(&tampered, &bytes).unwrap_or_else(|e| panic!("{e}"));

    let (r, v) = verify_json(&tampered, Some(&id.join("root.pem")));
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert_eq!(v["manifest"]["state"], "invalid");
    assert_eq!(v["status"], "failed");
    let codes: Vec<&str> = v["manifest"]["failures"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["code"].as_str())
        .collect();
    assert!(codes.contains(&"assertion.bmffHash.mismatch"), "{codes:?}");
    let r = candor_run(&[
        "verify",
        "--no-watermark",
        tampered.to_str().unwrap_or_default(),
    ]);
    assert!(r.stdout.contains("INVALID"), "{}", r.stdout);
}

#[test]
fn a_stream_copy_remux_carries_no_credentials() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let id = identity(dir.path());
    let clip = h264_clip(dir.path(), "clip.mp4");
    let signed = dir.path().join("signed.mp4");
    assert_eq!(sign(&clip, &signed, &id).code, 0);
    let remuxed = dir.path().join("remuxed.mp4");
    let status = std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-i"])
        .arg(&signed)
        .args(["-c", "copy"])
        .arg(&remuxed)
        .status()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success());
    let (r, v) = verify_json(&remuxed, None);
    assert_eq!(r.code, 0);
    assert_eq!(v["manifest"]["state"], "none");
    assert_eq!(v["status"], "no_credentials");
    let r = candor_run(&[
        "verify",
        "--no-watermark",
        remuxed.to_str().unwrap_or_default(),
        "--require-credentials",
    ]);
    assert_eq!(r.code, 1);
}

#[test]
fn signing_a_signed_file_records_an_edit_with_its_parent() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let id = identity(dir.path());
    let clip = h264_clip(dir.path(), "clip.mp4");
    let once = dir.path().join("once.mp4");
    let twice = dir.path().join("twice.mp4");
    assert_eq!(sign(&clip, &once, &id).code, 0);
    let r = sign(&once, &twice, &id);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("edit"), "{}", r.stdout);
    let (r, v) = verify_json(&twice, Some(&id.join("root.pem")));
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(v["manifest"]["state"], "trusted", "{v}");
    let ingredients = v["manifest"]["ingredients"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(ingredients.len(), 1, "{v}");
    assert_eq!(ingredients[0]["relationship"], "parentOf");
    assert!(ingredients[0]["manifest"].is_string());
    let actions: Vec<&str> = v["manifest"]["actions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["action"].as_str())
        .collect();
    assert!(actions.contains(&"c2pa.opened"), "{actions:?}");
}

#[test]
fn the_public_test_identity_signs_with_a_loud_warning() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let clip = h264_clip(dir.path(), "clip.mp4");
    let signed = dir.path().join("signed.mp4");
    let r = candor_run(&[
        "sign",
        clip.to_str().unwrap_or_default(),
        "-o",
        signed.to_str().unwrap_or_default(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("PUBLIC TEST identity"), "{}", r.stderr);
    assert!(r.stderr.contains("must not trust"), "{}", r.stderr);
    let (_, v) = verify_json(&signed, None);
    assert_eq!(v["manifest"]["state"], "valid", "never trusted by default");
}

#[test]
fn keys_init_writes_private_files_0600_and_refuses_to_overwrite() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let id = identity(dir.path());
    for f in ["signing.key", "watermark.key"] {
        let mode = fs::metadata(id.join(f))
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0);
        assert_eq!(mode, 0o600, "{f}");
    }
    let before = fs::read(id.join("signing.key")).unwrap_or_default();
    let r = candor_run(&["keys", "init", "--dir", id.to_str().unwrap_or_default()]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--force"), "{}", r.stderr);
    assert_eq!(fs::read(id.join("signing.key")).unwrap_or_default(), before);
    // The private key never reaches the terminal.
    let key_text = String::from_utf8_lossy(&before).to_string();
    let body: String = key_text
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    assert!(!r.stderr.contains(&body) && !r.stdout.contains(&body));
}

#[test]
fn bad_input_is_a_clear_error_with_exit_2() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let id = identity(dir.path());
    let clip = h264_clip(dir.path(), "clip.mp4");
    let out = dir.path().join("out.mp4");

    let empty = dir.path().join("empty.mp4");
    fs::write(&empty, b"").unwrap_or_else(|e| panic!("{e}"));
    let r = sign(&empty, &out, &id);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("empty"), "{}", r.stderr);
    let r = candor_run(&[
        "verify",
        "--no-watermark",
        empty.to_str().unwrap_or_default(),
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stdout.contains("empty"), "{}", r.stdout);

    let bytes = fs::read(&clip).unwrap_or_default();
    let truncated = dir.path().join("truncated.mp4");
    fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap_or_else(|e| panic!("{e}"));
    // Cut before its moov box (ffmpeg writes it last): no video FFmpeg can open, so an input
    // error, never "no credentials" with exit 0 — with or without the watermark check.
    let r = candor_run(&["probe", truncated.to_str().unwrap_or_default()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    // An unreadable file, verified with and without the watermark check: exit 2, status
    // "error", a verdict that says it could not check; the reports, for more checks.
    let unreadable = |file: &std::path::Path| -> Vec<serde_json::Value> {
        [vec!["--no-watermark"], vec![]]
            .into_iter()
            .map(|extra| {
                let mut args = vec!["verify", "--json", file.to_str().unwrap_or_default()];
                args.extend(extra);
                let r = candor_run(&args);
                assert_eq!(r.code, 2, "{args:?}: {}", r.stdout);
                let report = json_lines(&r.stdout).remove(0);
                assert_eq!(report["status"], "error", "{report}");
                let verdict = report["verdict"].as_str().unwrap_or_default();
                assert!(verdict.starts_with("Could not check"), "{verdict}");
                report
            })
            .collect()
    };
    unreadable(&truncated);

    // The same cut of a signed clip keeps its manifest box (written ahead of the media) but not
    // the moov: still unreadable input (exit 2), never "credentials invalid" (exit 1); what the
    // surviving manifest said stays in the report.
    let signed = dir.path().join("signed-to-cut.mp4");
    assert_eq!(sign(&clip, &signed, &id).code, 0);
    let bytes = fs::read(&signed).unwrap_or_default();
    let cut = dir.path().join("signed-cut.mp4");
    fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap_or_else(|e| panic!("{e}"));
    for report in unreadable(&cut) {
        let verdict = report["verdict"].as_str().unwrap_or_default();
        assert!(verdict.contains("FFmpeg"), "{verdict}");
        assert!(report["manifest"].is_object(), "{report}");
    }

    let random = dir.path().join("random.mp4");
    let noise: Vec<u8> = (0..100_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    fs::write(&random, &noise).unwrap_or_else(|e| panic!("{e}"));
    for args in [vec!["probe"], vec!["verify", "--no-watermark"]] {
        let r = run(candor().args(&args).arg(&random));
        assert_eq!(r.code, 2, "{args:?}: {} {}", r.stdout, r.stderr);
    }
    let r = sign(&random, &out, &id);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("not an MP4"), "{}", r.stderr);

    // Wrong extension: a real MP4 named .txt is recognised by content and signs.
    let misnamed = dir.path().join("clip.txt");
    fs::copy(&clip, &misnamed).unwrap_or_else(|e| panic!("{e}"));
    let r = sign(&misnamed, &dir.path().join("misnamed-signed.mp4"), &id);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // A WebM cannot carry embedded credentials: signing says so.
    let webm = dir.path().join("clip.webm");
    ffmpeg_clip(
        &webm,
        "testsrc2=size=160x120:rate=10:duration=1",
        &["-c:v", "libvpx-vp9", "-b:v", "200k"],
    );
    let r = sign(&webm, &out, &id);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("Matroska/WebM"), "{}", r.stderr);

    // Unwritable output.
    let r = sign(
        &clip,
        std::path::Path::new("/proc/candor-cannot-write/out.mp4"),
        &id,
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("out.mp4"), "{}", r.stderr);
    // Existing output is kept without --force.
    fs::write(&out, b"keep me").unwrap_or_else(|e| panic!("{e}"));
    let r = sign(&clip, &out, &id);
    assert_eq!(r.code, 2);
    assert_eq!(fs::read(&out).unwrap_or_default(), b"keep me");

    // Missing identity and missing input.
    let r = sign(
        &clip,
        &dir.path().join("x.mp4"),
        &dir.path().join("no-such-identity"),
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("keys init"), "{}", r.stderr);
    let r = candor_run(&["verify", "--no-watermark", "/no/such/file.mp4"]);
    assert_eq!(r.code, 2);

    // A private key readable by others is refused.
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(id.join("signing.key"), fs::Permissions::from_mode(0o644))
        .unwrap_or_else(|e| panic!("{e}"));
    let r = sign(&clip, &dir.path().join("y.mp4"), &id);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("chmod 600"), "{}", r.stderr);

    // Trust file that is not PEM; unknown source type; usage errors.
    let r = candor_run(&[
        "verify",
        "--no-watermark",
        clip.to_str().unwrap_or_default(),
        "--trust",
        clip.to_str().unwrap_or_default(),
    ]);
    assert_eq!(r.code, 2);
    let r = candor_run(&[
        "sign",
        clip.to_str().unwrap_or_default(),
        "-o",
        "z.mp4",
        "--source-type",
        "painting",
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("digitalCapture"), "{}", r.stderr);
    assert_eq!(candor_run(&["verify"]).code, 2);
    assert_eq!(candor_run(&["frobnicate"]).code, 2);
}

#[test]
fn batch_verify_reports_every_file_and_the_worst_exit_code() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let id = identity(dir.path());
    let clip = h264_clip(dir.path(), "clip.mp4");
    let signed = dir.path().join("signed.mp4");
    assert_eq!(sign(&clip, &signed, &id).code, 0);
    let bad = dir.path().join("bad.mp4");
    fs::write(&bad, b"nonsense that is not a video").unwrap_or_else(|e| panic!("{e}"));
    let r = candor_run(&[
        "verify",
        "--no-watermark",
        signed.to_str().unwrap_or_default(),
        bad.to_str().unwrap_or_default(),
        clip.to_str().unwrap_or_default(),
        "--json",
    ]);
    let lines = json_lines(&r.stdout);
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["status"], "verified");
    assert_eq!(lines[1]["status"], "error");
    assert_eq!(lines[2]["status"], "no_credentials");
    assert_eq!(r.code, 2);
}

#[test]
fn parallel_batch_keeps_going_past_bad_files_and_keeps_order() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let id = identity(dir.path());
    let videos = dir.path().join("videos");
    fs::create_dir_all(videos.join("sub")).unwrap_or_else(|e| panic!("{e}"));
    let clip = h264_clip(&videos, "c.mp4");
    assert_eq!(sign(&clip, &videos.join("a_signed.mp4"), &id).code, 0);
    fs::write(videos.join("b_truncated.mp4"), b"\0\0\0\x18ftypisom")
        .unwrap_or_else(|e| panic!("{e}"));
    fs::write(videos.join("sub/d_empty.mov"), b"").unwrap_or_else(|e| panic!("{e}"));
    let r = candor_run(&[
        "verify",
        "--no-watermark",
        "--recursive",
        "--jobs",
        "3",
        videos.to_str().unwrap_or_default(),
        "--json",
    ]);
    let lines = json_lines(&r.stdout);
    let names: Vec<String> = lines
        .iter()
        .map(|l| {
            Path::new(l["file"].as_str().unwrap_or_default())
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(
        names,
        ["a_signed.mp4", "b_truncated.mp4", "c.mp4", "d_empty.mov"],
        "{}",
        r.stdout
    );
    let status: Vec<&str> = lines
        .iter()
        .map(|l| l["status"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(status, ["verified", "error", "no_credentials", "error"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}

#[test]
fn probe_reports_the_container_and_credentials() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let clip = dir.path().join("a.mp4");
    ffmpeg_clip(
        &clip,
        "testsrc2=size=320x240:rate=25:duration=2",
        &[
            "-f",
            "lavfi",
            "-i",
            "sine=duration=2",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-shortest",
        ],
    );
    let r = candor_run(&["probe", clip.to_str().unwrap_or_default(), "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap_or_default();
    assert_eq!(v["codec"], "h264");
    assert_eq!(v["width"], 320);
    assert_eq!(v["frame_count"], 50);
    assert_eq!(v["fps"], 25.0);
    assert_eq!(v["has_audio"], true);
    assert_eq!(v["c2pa_manifest"], false);
    let signed = dir.path().join("s.mp4");
    assert_eq!(
        candor_run(&[
            "sign",
            clip.to_str().unwrap_or_default(),
            "-o",
            signed.to_str().unwrap_or_default()
        ])
        .code,
        0
    );
    let r = candor_run(&["probe", signed.to_str().unwrap_or_default()]);
    assert!(r.stdout.contains("manifest present"), "{}", r.stdout);
}

#[test]
fn fragmented_mp4_signs_and_verifies_with_its_fragments() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("dash");
    fs::create_dir_all(&src).unwrap();
    let status = std::process::Command::new("ffmpeg")
        .current_dir(&src)
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=160x120:rate=25:duration=3",
        ])
        .args([
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-g",
            "25",
            "-f",
            "dash",
            "-seg_duration",
            "1",
        ])
        .args([
            "-init_seg_name",
            "init.mp4",
            "-media_seg_name",
            "seg_$Number$.m4s",
            "out.mpd",
        ])
        .status()
        .unwrap();
    assert!(status.success());
    let id = identity(dir.path());
    let out = dir.path().join("signed");
    let r = candor_run(&[
        "sign",
        src.join("init.mp4").to_str().unwrap(),
        "--fragments",
        "seg_*.m4s",
        "-o",
        out.to_str().unwrap(),
        "--identity",
        id.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(out.join("init.mp4").is_file() && out.join("seg_1.m4s").is_file());
    let r = candor_run(&[
        "verify",
        "--no-watermark",
        out.join("init.mp4").to_str().unwrap(),
        "--fragments",
        "seg_*.m4s",
        "--trust",
        id.join("root.pem").to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(json_lines(&r.stdout)[0]["manifest"]["state"], "trusted");
    // A fragment changed after signing breaks the binding.
    let seg = out.join("seg_2.m4s");
    let mut bytes = fs::read(&seg).unwrap();
    let n = bytes.len();
    bytes[n - 50] ^= 0xff;
    fs::write(&seg, bytes).unwrap();
    let r = candor_run(&[
        "verify",
        "--no-watermark",
        out.join("init.mp4").to_str().unwrap(),
        "--fragments",
        "seg_*.m4s",
        "--json",
    ]);
    assert_eq!(r.code, 1, "{}", r.stdout);
}
