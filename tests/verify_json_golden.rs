//! `candor verify --json` stays the same, field for field, on third-party fixtures and on
//! Candor clips (signed, stripped with its manifest in a store, re-encoded, and its mark
//! transplanted onto other footage): the goldens in `tests/golden/`. Only the stage timings
//! (`watermark.times`) may differ. A deliberate change of the report updates the goldens in the
//! same commit (`CANDOR_UPDATE_GOLDEN=1 cargo test --test verify_json_golden`), and the diff
//! shows what changed.

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;

const FIXTURES: &str = "../shared/fixtures/c2pa/c2pa-rs";
const CLIPS: &str = "tests/data/verify";

/// Drops what is measured rather than decided: the time each stage took.
fn decided(v: Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(k, _)| k != "times")
                .map(|(k, v)| (k, decided(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(decided).collect()),
        other => other,
    }
}

fn fixtures_present() -> bool {
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURES);
    let present = here.join("video1.mp4").is_file();
    assert!(
        present || std::env::var("CI").map_or(true, |v| v != "true"),
        "third-party fixtures missing at {} (CI=true: they must be there)",
        here.display()
    );
    if !present {
        eprintln!(
            "SKIPPED: third-party fixtures not found at {}",
            here.display()
        );
    }
    present
}

/// Runs `candor verify ARGS --json` and compares its lines and exit code with the golden.
fn check(golden: &str, args: &[String], code: i32) {
    let mut all: Vec<&str> = vec!["verify"];
    all.extend(args.iter().map(String::as_str));
    all.push("--json");
    let run = candor_run(&all);
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(golden);
    if std::env::var_os("CANDOR_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &run.stdout).unwrap();
    }
    assert_eq!(
        run.code, code,
        "{golden}: exit code; stderr: {}",
        run.stderr
    );
    let expected = std::fs::read_to_string(&path).unwrap();
    let got: Vec<Value> = json_lines(&run.stdout).into_iter().map(decided).collect();
    let want: Vec<Value> = json_lines(&expected).into_iter().map(decided).collect();
    assert_eq!(got.len(), want.len(), "{golden}: number of reports");
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g, w, "{golden}: report of {} changed", w["file"]);
    }
}

fn paths(dir: &str, names: &[&str]) -> Vec<String> {
    names.iter().map(|n| format!("{dir}/{n}")).collect()
}

#[test]
fn candor_clips_signed_stripped_and_reencoded() {
    let mut args = paths(CLIPS, &["clip.mp4", "stripped.mp4", "reencoded.mp4"]);
    args.extend(["--store", "tests/data/verify/store.db", "--jobs", "1"].map(String::from));
    check("generated.jsonl", &args, 0);
}

#[test]
fn a_copied_mark_is_failed_and_attaches_nothing() {
    let mut args = paths(CLIPS, &["copied.mp4"]);
    args.extend(["--store", "tests/data/verify/store.db"].map(String::from));
    check("copied.jsonl", &args, 1);
}

/// The mean high-pass residual of 14 clips of the public test key, doubled, on mandelbrot
/// footage (36 dB): the key's pilots without a payload.
#[test]
fn an_averaged_pattern_is_reported_as_forged() {
    let mut args = paths(CLIPS, &["forged.mp4"]);
    args.extend(["--store", "/nonexistent/store.db"].map(String::from));
    check("forged.jsonl", &args, 1);
}

#[test]
fn credentials_only() {
    let mut args = paths(CLIPS, &["clip.mp4"]);
    args.push("--no-watermark".into());
    check("no-watermark.jsonl", &args, 0);
}

#[test]
fn unreadable_inputs() {
    let args = vec![
        "Cargo.toml".to_string(),
        format!("{CLIPS}/missing.mp4"),
        "--jobs".into(),
        "1".into(),
    ];
    check("unreadable.jsonl", &args, 2);
}

#[test]
fn third_party_fixtures() {
    if !fixtures_present() {
        return;
    }
    let no_store = ["--store", "/nonexistent/store.db"].map(String::from);
    let mut args = paths(
        FIXTURES,
        &[
            "video1.mp4",
            "legacy.mp4",
            "video1_no_manifest.mp4",
            "c.mov",
            "nested_moov_1000.mp4",
        ],
    );
    args.extend(no_store.clone());
    args.extend(["--jobs", "1"].map(String::from));
    check("fixtures.jsonl", &args, 2);

    let mut args = paths(FIXTURES, &["video1.mp4"]);
    args.extend(
        [
            "--trust",
            "../shared/fixtures/c2pa/trust/c2pa-rs_test_cert_root_bundle.pem",
        ]
        .map(String::from),
    );
    args.extend(no_store.clone());
    check("trusted.jsonl", &args, 0);

    let mut args = paths(FIXTURES, &["dashinit.mp4"]);
    args.extend(["--fragments", "dash1.m4s"].map(String::from));
    args.extend(no_store);
    check("fragments.jsonl", &args, 0);
}
