//! Helpers for the end-to-end tests: run the `candor` binary, make clips with the ffmpeg CLI.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn candor() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_candor"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd.env_remove("CANDOR_IDENTITY");
    cmd
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(cmd: &mut Command) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().unwrap_or_else(|e| panic!("cannot run: {e}"));
    let run = Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    };
    assert!(
        !run.stderr.contains("panicked"),
        "candor panicked:\n{}",
        run.stderr
    );
    run
}

pub fn candor_run(args: &[&str]) -> Run {
    run(candor().args(args))
}

/// Makes a clip with the ffmpeg CLI from a lavfi source.
pub fn ffmpeg_clip(out: &Path, source: &str, extra: &[&str]) {
    let status = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            source,
        ])
        .args(extra)
        .arg(out)
        .status()
        .unwrap_or_else(|e| panic!("ffmpeg CLI not available: {e}"));
    assert!(status.success(), "ffmpeg failed to make {}", out.display());
}

/// A 1-second 320x240 H.264 MP4 test clip.
pub fn h264_clip(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    ffmpeg_clip(
        &path,
        "testsrc2=size=320x240:rate=25:duration=1",
        &["-c:v", "libx264", "-pix_fmt", "yuv420p"],
    );
    path
}

pub fn json_lines(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {e}: {l}")))
        .collect()
}

/// Byte offset of the payload of the first top-level `mdat` box.
pub fn mdat_payload_offset(bytes: &[u8]) -> Option<usize> {
    let mut pos = 0usize;
    while pos + 8 <= bytes.len() {
        let size = u32::from_be_bytes(bytes[pos..pos + 4].try_into().ok()?) as usize;
        let kind = &bytes[pos + 4..pos + 8];
        let (header, size) = if size == 1 {
            let big = u64::from_be_bytes(bytes[pos + 8..pos + 16].try_into().ok()?) as usize;
            (16, big)
        } else if size == 0 {
            (8, bytes.len() - pos)
        } else {
            (8, size)
        };
        if kind == b"mdat" {
            return Some(pos + header);
        }
        if size < 8 {
            return None;
        }
        pos += size;
    }
    None
}

/// Runs the ffmpeg CLI quietly, overwriting outputs; the test fails if it does.
pub fn ffmpeg(args: &[&str]) {
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-loglevel", "error", "-y"])
        .args(args)
        .status()
        .unwrap_or_else(|e| panic!("ffmpeg CLI not available: {e}"));
    assert!(status.success(), "ffmpeg {args:?} failed");
}
