//! The clip's timeline against what its credentials say it was made as: a regular cadence of
//! repeated or skipped frames is a frame-rate conversion when the rate it implies is the clip's
//! own, and a change of speed when it is not; a clip whose last frames are missing was cut short.
//! Without credentials (or for clips signed before they recorded their length and rate) the
//! detector assumes Candor's default rate, and says what it assumed.

use candor_diffusion::CLIP_FPS;

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
                out.edits.push(if missing == 1 {
                    format!("frame {} removed at the end", seen + 1)
                } else {
                    format!("frames {}-{} removed at the end", seen + 1, frames - 1)
                });
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
    fn rates_read_as_people_write_them() {
        assert_eq!(nice_rate(7.96), "8");
        assert_eq!(nice_rate(8.2), "8");
        assert_eq!(nice_rate(7.99), "8");
        assert_eq!(nice_rate(25.0), "25");
        assert_eq!(nice_rate(30000.0 / 1001.0), "29.97");
        assert_eq!(nice_rate(12.5), "12.5");
    }
}
