//! Shared by the targets: arbitrary bytes as a file with the extension the first byte picks
//! (the container probes sniff content, but FFmpeg and c2pa also look at the name).

use std::path::PathBuf;

pub const EXTENSIONS: &[&str] = &["mp4", "mov", "m4v", "mkv", "webm", "avi", "m4s", "bin"];

/// Writes `data` (after its first byte) to a fresh temporary file; `None` when the input is empty
/// or the file cannot be written (a full disk is not a finding).
pub fn as_file(data: &[u8]) -> Option<(tempfile::TempDir, PathBuf)> {
    let (&pick, body) = data.split_first()?;
    let dir = tempfile::tempdir().ok()?;
    let ext = EXTENSIONS[usize::from(pick) % EXTENSIONS.len()];
    let path = dir.path().join(format!("input.{ext}"));
    std::fs::write(&path, body).ok()?;
    Some((dir, path))
}
