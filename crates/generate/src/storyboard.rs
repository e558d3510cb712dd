//! Storyboards: a list of shots, each a prompt and a duration, made into one clip.
//!
//! ```yaml
//! fps: 8                 # optional (the default model's 8)
//! shots:
//!   - prompt: "a red circle drifting left over the grass"
//!     duration: 2s       # seconds ("2s", "2.5s", 2) ...
//!   - prompt: "a blue star rising into the night sky"
//!     frames: 24         # ... or frames
//!     transition: cut    # how the shot begins; "cut" is the only one
//! ```

use std::path::Path;

use serde::Deserialize;

use crate::{GenerateError, Result, Shot, MAX_FRAMES};

/// A storyboard as read from its file.
#[derive(Debug, Clone, PartialEq)]
pub struct Storyboard {
    pub fps: Option<u32>,
    pub shots: Vec<Shot>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    fps: Option<u32>,
    #[serde(default)]
    shots: Vec<ShotEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ShotEntry {
    prompt: String,
    #[serde(default)]
    duration: Option<serde_yaml::Value>,
    #[serde(default)]
    frames: Option<usize>,
    #[serde(default)]
    transition: Option<String>,
}

fn invalid(path: &Path, reason: impl Into<String>) -> GenerateError {
    GenerateError::Storyboard {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Seconds from "2s", "2.5 s", "1500ms" or a bare number of seconds.
pub fn parse_duration(text: &str) -> Option<f64> {
    let t = text.trim();
    let (number, scale) = if let Some(ms) = t.strip_suffix("ms") {
        (ms, 1e-3)
    } else if let Some(s) = t.strip_suffix('s') {
        (s, 1.0)
    } else {
        (t, 1.0)
    };
    let v: f64 = number.trim().parse().ok()?;
    (v.is_finite() && v > 0.0).then_some(v * scale)
}

impl Storyboard {
    /// Reads a storyboard file; durations become frames at `fps` when given, else at the file's
    /// `fps`, else at the default model's 8. Every problem is an error naming the shot: an empty list, a shot without a prompt or
    /// a length, a length that rounds to no frame, an unknown transition, a total over
    /// [`MAX_FRAMES`] frames.
    pub fn read(path: &Path, fps: Option<u32>) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| invalid(path, e.to_string()))?;
        Self::parse(&text, path, fps)
    }

    /// [`Self::read`] of text already read (`path` names it in errors).
    pub fn parse(text: &str, path: &Path, fps: Option<u32>) -> Result<Self> {
        let file: File = serde_yaml::from_str(text).map_err(|e| invalid(path, e.to_string()))?;
        let fps = fps.or(file.fps).unwrap_or(candor_diffusion::CLIP_FPS);
        if fps == 0 || fps > 240 {
            return Err(invalid(
                path,
                format!("fps must be between 1 and 240, got {fps}"),
            ));
        }
        if file.shots.is_empty() {
            return Err(invalid(path, "no shots: list at least one under `shots:`"));
        }
        let mut shots = Vec::with_capacity(file.shots.len());
        for (i, entry) in file.shots.into_iter().enumerate() {
            let n = i + 1;
            if entry.prompt.trim().is_empty() {
                return Err(invalid(path, format!("shot {n} has an empty prompt")));
            }
            if let Some(t) = entry.transition.as_deref() {
                if t != "cut" {
                    return Err(invalid(
                        path,
                        format!("shot {n}: unknown transition {t:?} (known: cut)"),
                    ));
                }
            }
            let frames = match (entry.duration, entry.frames) {
                (Some(_), Some(_)) => {
                    return Err(invalid(
                        path,
                        format!("shot {n} gives both a duration and frames: give one"),
                    ))
                }
                (None, Some(f)) => f,
                (Some(d), None) => {
                    let text = match &d {
                        serde_yaml::Value::String(s) => s.clone(),
                        serde_yaml::Value::Number(x) => x.to_string(),
                        _ => String::new(),
                    };
                    let seconds = parse_duration(&text).ok_or_else(|| {
                        invalid(
                            path,
                            format!(
                                "shot {n}: duration {text:?} is not a length such as 2s or 1.5s"
                            ),
                        )
                    })?;
                    (seconds * f64::from(fps)).round() as usize
                }
                (None, None) => {
                    return Err(invalid(
                        path,
                        format!("shot {n} has no length: give `duration: 2s` or `frames: 16`"),
                    ))
                }
            };
            if frames == 0 {
                return Err(invalid(
                    path,
                    format!("shot {n} is shorter than one frame at {fps} fps"),
                ));
            }
            shots.push(Shot {
                prompt: entry.prompt,
                frames,
            });
        }
        let total: usize = shots.iter().map(|s| s.frames).sum();
        if total > MAX_FRAMES {
            return Err(invalid(
                path,
                format!(
                    "the shots last {total} frames; at most {MAX_FRAMES} ({:.1} s at {fps} fps)",
                    MAX_FRAMES as f64 / f64::from(fps)
                ),
            ));
        }
        Ok(Self {
            fps: Some(fps),
            shots,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Storyboard> {
        Storyboard::parse(text, Path::new("shots.yaml"), None)
    }

    #[test]
    fn shots_are_read_with_durations_or_frames() -> Result<()> {
        let s = parse(
            "shots:\n  - prompt: a red circle moving left\n    duration: 2s\n  - prompt: a blue star\n    frames: 20\n    transition: cut\n  - prompt: a green square\n    duration: 1.5\n",
        )?;
        assert_eq!(s.fps, Some(8));
        let frames: Vec<usize> = s.shots.iter().map(|s| s.frames).collect();
        assert_eq!(frames, vec![16, 20, 12]);
        assert_eq!(s.shots[1].prompt, "a blue star");
        let s = parse("fps: 4\nshots:\n  - prompt: x\n    duration: 500ms\n")?;
        assert_eq!((s.fps, s.shots[0].frames), (Some(4), 2));
        // The caller's rate wins over the file's.
        let s = Storyboard::parse(
            "fps: 4\nshots:\n  - prompt: x\n    duration: 2s\n",
            Path::new("a"),
            Some(10),
        )?;
        assert_eq!((s.fps, s.shots[0].frames), (Some(10), 20));
        Ok(())
    }

    #[test]
    fn bad_storyboards_say_what_is_wrong() {
        for (text, says) in [
            ("shots: []\n", "no shots"),
            ("{}\n", "no shots"),
            ("shots:\n  - prompt: ''\n    duration: 2s\n", "empty prompt"),
            ("shots:\n  - prompt: a\n", "no length"),
            (
                "shots:\n  - prompt: a\n    duration: 2s\n    frames: 3\n",
                "both",
            ),
            (
                "shots:\n  - prompt: a\n    duration: soon\n",
                "not a length",
            ),
            ("shots:\n  - prompt: a\n    duration: -2s\n", "not a length"),
            (
                "shots:\n  - prompt: a\n    duration: 10ms\n",
                "shorter than one frame",
            ),
            (
                "shots:\n  - prompt: a\n    frames: 0\n",
                "shorter than one frame",
            ),
            (
                "shots:\n  - prompt: a\n    frames: 200\n  - prompt: b\n    frames: 100\n",
                "at most 256",
            ),
            (
                "shots:\n  - prompt: a\n    frames: 2\n    transition: wipe\n",
                "unknown transition",
            ),
            (
                "shots:\n  - prompt: a\n    frames: 2\n    colour: red\n",
                "unknown field",
            ),
            ("fps: 0\nshots:\n  - prompt: a\n    frames: 2\n", "fps"),
            ("shots: [\n", "shots.yaml"),
        ] {
            let e = parse(text).err();
            assert!(
                matches!(e, Some(GenerateError::Storyboard { .. })),
                "{text:?}: {e:?}"
            );
            let m = e.map(|e| e.to_string()).unwrap_or_default();
            assert!(m.contains(says), "{text:?}: {m}");
            assert!(m.contains("shots.yaml"), "{m}");
        }
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("2s"), Some(2.0));
        assert_eq!(parse_duration(" 2.5 s"), Some(2.5));
        assert_eq!(parse_duration("1500ms"), Some(1.5));
        assert_eq!(parse_duration("3"), Some(3.0));
        assert_eq!(parse_duration("0s"), None);
        assert_eq!(parse_duration("NaN"), None);
        assert_eq!(parse_duration("inf"), None);
        assert_eq!(parse_duration(""), None);
    }
}
