//! The clip's timeline against what its credentials say it was made as: a regular cadence of
//! repeated or skipped frames is a frame-rate conversion when the rate it implies is the clip's
//! own, and a change of speed when it is not; a clip whose last frames are missing was cut short.
//! Without credentials (or for clips signed before they recorded their length and rate) the
//! detector assumes Candor's default rate, and says what it assumed.

use candor_diffusion::CLIP_FPS;
use serde::{Deserialize, Serialize};

use crate::watermark::WatermarkReport;

/// What the credentials say about the clip as made (`None`: not said, or no credentials).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MadeAs {
    pub frames: Option<u32>,
    pub fps: Option<u32>,
}

/// What the timeline shows: transforms (not edits) and edits, each in words.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TimelineReading {
    pub transforms: Vec<String>,
    pub edits: Vec<String>,
    /// The clip's last frames are not in the file: (first missing, last) original frames. An
    /// excerpt, not an edit of what is shown (see [`ClipPlacement`]).
    pub end_cut: Option<(usize, usize)>,
}

/// Where the marked frames of a file sit in the clip they come from: an excerpt of a longer clip
/// is placed ("seconds 12.0–14.0 of a 30.0 s clip"), and a storyboard's shots are listed with
/// their spans in this file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClipPlacement {
    /// The first and last original frames (timeline templates) seen in this file.
    pub first_frame: usize,
    pub last_frame: usize,
    /// The clip's frame count as its credentials record it (`None`: no credentials).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub clip_frames: Option<usize>,
    /// The clip's frame rate as made (its credentials', else Candor's default 8).
    pub clip_fps: f64,
    /// Seconds of the original clip this file shows.
    pub start_s: f64,
    pub end_s: f64,
    /// True when frames of the clip are missing before or after what is shown: an excerpt.
    pub excerpt: bool,
    /// A storyboard's shots (from its credentials) that this file shows.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub shots: Vec<ShotSeen>,
}

/// One shot of a storyboard as seen in a file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShotSeen {
    /// 1 for the first shot of the storyboard.
    pub number: usize,
    pub prompt: String,
    /// The shot's original frames seen in this file.
    pub first_frame: usize,
    pub last_frame: usize,
    /// Where they are in this file, in seconds.
    pub file_start_s: f64,
    pub file_end_s: f64,
}

impl ClipPlacement {
    /// Places frames `first..=last` of a clip made as `made` (with `shots` from its credentials),
    /// whose first seen frame shows at `file_start_s` of this file. `end_cut`: the timeline found
    /// the clip's last frames missing.
    pub fn new(
        first: usize,
        last: usize,
        made: MadeAs,
        shots: &[candor_manifest::ShotInfo],
        file_start_s: f64,
        end_cut: bool,
    ) -> Self {
        let fps = f64::from(made.fps.unwrap_or(CLIP_FPS)).max(1.0);
        let at = |t: usize| file_start_s + (t as f64 - first as f64) / fps;
        let shots = shots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let (a, b) = (
                    s.first_frame as usize,
                    (s.first_frame + s.frames).saturating_sub(1) as usize,
                );
                let (lo, hi) = (a.max(first), b.min(last));
                (lo <= hi && s.frames > 0).then(|| ShotSeen {
                    number: i + 1,
                    prompt: s.prompt.clone(),
                    first_frame: lo,
                    last_frame: hi,
                    file_start_s: at(lo),
                    file_end_s: at(hi + 1),
                })
            })
            .collect();
        Self {
            first_frame: first,
            last_frame: last,
            clip_frames: made.frames.map(|n| n as usize),
            clip_fps: fps,
            start_s: first as f64 / fps,
            end_s: (last + 1) as f64 / fps,
            excerpt: first > 0 || end_cut,
            shots,
        }
    }

    /// "Excerpt of a Candor clip: seconds 12.0–14.0 of its 30.0 (original frames 96–111 of
    /// 240)"; `None` when the file shows the whole clip.
    pub fn describe_excerpt(&self) -> Option<String> {
        if !self.excerpt {
            return None;
        }
        Some(match self.clip_frames {
            Some(n) => format!(
                "Excerpt of a Candor clip: seconds {:.1}–{:.1} of its {:.1} (original frames {}–{} of {n})",
                self.start_s,
                self.end_s,
                n as f64 / self.clip_fps,
                self.first_frame,
                self.last_frame
            ),
            None => format!(
                "Excerpt of a Candor clip: its seconds {:.1}–{:.1} (original frames {}–{}; its full length is not known without its credentials)",
                self.start_s, self.end_s, self.first_frame, self.last_frame
            ),
        })
    }
}

/// A rate within this share of the clip's own is a frame-rate conversion, not a change of speed.
const SAME_RATE: f64 = 0.1;

/// Reads the timeline of the clip a report describes. `last_template`: the last original frame
/// seen (a scan's segment knows it over all its windows; `None` takes the report's own frames).
pub fn read(
    report: &WatermarkReport,
    made: MadeAs,
    last_template: Option<usize>,
) -> TimelineReading {
    let mut out = TimelineReading::default();
    if !report.present {
        return out;
    }
    let ratio = report.detection.retiming().map(|r| r.templates_per_frame);
    if let (Some(r), Some(file_fps)) = (report.detection.retiming(), report.fps) {
        // The cadence was measured on the frames read (every n-th of fast video).
        let implied = r.original_fps(file_fps / report.read_every.max(1) as f64);
        let own = f64::from(made.fps.unwrap_or(CLIP_FPS));
        let speed = implied / own;
        // A "conversion" to the rate the clip already had is no conversion: its one repeat or gap
        // is an edit (reported with the temporal events).
        let unchanged = (implied / file_fps - 1.0).abs() <= SAME_RATE;
        if unchanged && (speed - 1.0).abs() <= SAME_RATE {
        } else if (speed - 1.0).abs() <= SAME_RATE {
            out.transforms.push(format!(
                "frame rate converted {} → {} fps",
                nice_rate(if made.fps.is_some() { own } else { implied }),
                nice_rate(file_fps)
            ));
        } else if made.fps.is_some() {
            out.edits.push(format!(
                "speed changed: made at {own:.0} fps, it plays at {speed:.2}× speed (frames {} at a regular cadence)",
                if r.templates_per_frame < 1.0 { "repeated" } else { "left out" }
            ));
        } else {
            out.transforms.push(format!(
                "frame rate converted {} → {} fps, or its speed was changed: made at Candor's default {own:.0} fps, it plays at {speed:.2}× speed",
                nice_rate(implied),
                nice_rate(file_fps)
            ));
        }
    }
    // A file that stops decoding part-way lost its last frames to the damage the verdict already
    // names: that is not an edit.
    let damaged = report.damaged.is_some();
    if let Some(frames) = made
        .frames
        .map(|n| n as usize)
        .filter(|&n| n > 0 && !damaged)
    {
        let seen = last_template.or_else(|| {
            report
                .detection
                .frames()
                .iter()
                .filter_map(|m| m.template)
                .max()
        });
        // Frames after the last placed one that are too weak to read may hold the missing ones.
        let unreadable_after = {
            let frames = report.detection.frames();
            let last_placed = frames.iter().rposition(|m| m.template.is_some());
            last_placed.map_or(0, |i| {
                frames[i + 1..].iter().filter(|m| m.unreadable).count()
            })
        };
        let per_frame = ratio.unwrap_or(1.0).max(1.0).ceil() as usize;
        if let Some(seen) = seen.filter(|&s| s + 1 < frames) {
            let missing = frames - 1 - seen;
            // A conversion may lose the last original frame between output frames; a clip on
            // its own timeline keeps every one.
            let slack = usize::from(ratio.is_some()) * per_frame + unreadable_after * per_frame;
            if missing > slack {
                out.end_cut = Some((seen + 1, frames - 1));
            }
        }
    }
    out
}

/// A frame rate as people write it: 25, 29.97, 12.5.
fn nice_rate(fps: f64) -> String {
    if (fps - fps.round()).abs() < 0.005 {
        format!("{:.0}", fps.round())
    } else if fps > 20.0 && ((fps * 1.001) - (fps * 1.001).round()).abs() < 0.005 {
        format!("{fps:.2}") // the NTSC family: 23.98, 29.97, 59.94
    } else if (fps - fps.round()).abs() < 0.3 {
        // A rate estimated from the mark's cadence: its nearest whole number.
        format!("{:.0}", fps.round())
    } else {
        format!("{fps:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_excerpt_is_placed_and_its_shots_listed() {
        let shots = [
            candor_manifest::ShotInfo {
                prompt: "a".into(),
                first_frame: 0,
                frames: 16,
            },
            candor_manifest::ShotInfo {
                prompt: "b".into(),
                first_frame: 16,
                frames: 24,
            },
            candor_manifest::ShotInfo {
                prompt: "c".into(),
                first_frame: 40,
                frames: 8,
            },
        ];
        let made = MadeAs {
            frames: Some(48),
            fps: Some(8),
        };
        let p = ClipPlacement::new(12, 31, made, &shots, 0.0, true);
        assert!(p.excerpt);
        assert_eq!((p.start_s, p.end_s), (1.5, 4.0));
        let seen: Vec<(usize, usize, usize)> = p
            .shots
            .iter()
            .map(|s| (s.number, s.first_frame, s.last_frame))
            .collect();
        assert_eq!(seen, vec![(1, 12, 15), (2, 16, 31)]);
        assert_eq!((p.shots[1].file_start_s, p.shots[1].file_end_s), (0.5, 2.5));
        assert_eq!(
            p.describe_excerpt().as_deref(),
            Some("Excerpt of a Candor clip: seconds 1.5–4.0 of its 6.0 (original frames 12–31 of 48)")
        );
        // The whole clip is no excerpt.
        let whole = ClipPlacement::new(0, 47, made, &shots, 0.0, false);
        assert_eq!(whole.describe_excerpt(), None);
        assert_eq!(whole.shots.len(), 3);
        assert_eq!(
            (whole.shots[2].file_start_s, whole.shots[2].file_end_s),
            (5.0, 6.0)
        );
    }

    #[test]
    fn rates_read_as_people_write_them() {
        assert_eq!(nice_rate(7.96), "8");
        assert_eq!(nice_rate(8.2), "8");
        assert_eq!(nice_rate(7.99), "8");
        assert_eq!(nice_rate(25.0), "25");
        assert_eq!(nice_rate(30000.0 / 1001.0), "29.97");
        assert_eq!(nice_rate(12.5), "12.5");
    }
}
