//! Temporal events: every observed frame matched to the template it carries, then dropped,
//! inserted, reordered and repeated frames read off the matched sequence.

use super::observe::{ObservedFrame, PilotsVsCodeword};
use super::thresholds::{
    BLEND_MIN_Z, FAINT_CLIP_Z, FRAME_MATCH_ALPHA, NEIGHBOUR_MATCH_ALPHA, OTHER_CLIP_GAP_Z,
    OTHER_CLIP_PILOT_Z, UNREADABLE_MIN_Z, UNREADABLE_MIN_Z_FAINT,
};
use super::{FrameMatch, TemporalEvent};
use crate::keystream::agreement;
use crate::stats::{ln_binomial_upper_tail, standard_score};
use serde::{Deserialize, Serialize};

/// Best template for every observed frame, judged on `len` known positions. A frame counts as
/// matched when its agreement would arise by chance with probability below 1e-6 after accounting
/// for every (frame, template) pair tried. `hint` (observed frame, template) pairs, when given,
/// are the clip-wide alignment that found the watermark: frames too weak to match on their own are
/// re-tested against their template from it rather than from their neighbours.
pub(super) fn match_frames(
    frames: &[ObservedFrame],
    expected: &[Vec<u64>],
    len: usize,
    hint: Option<&[(usize, usize)]>,
) -> Vec<FrameMatch> {
    let tries = (frames.len() * expected.len()).max(1) as f64;
    let ln_alpha = (FRAME_MATCH_ALPHA / tries).ln();
    let score = |o: usize, t: usize| agreement(&frames[o].signs, &expected[t], 0, len);
    let mut matches: Vec<FrameMatch> = (0..frames.len())
        .map(|o| {
            let mut best = (0usize, 0usize);
            for t in 0..expected.len() {
                let a = score(o, t);
                if a > best.1 {
                    best = (t, a);
                }
            }
            let matched = len > 0 && ln_binomial_upper_tail(len as u64, best.1 as u64) < ln_alpha;
            FrameMatch {
                observed: o,
                template: matched.then_some(best.0),
                agreement: best.1 as f32 / len.max(1) as f32,
                z: standard_score(best.1, len),
                unreadable: false,
            }
        })
        .collect();
    // A frame that compression left too weak for the open search is tested once more, against
    // the one template its matched neighbours say belongs there: one test per frame needs far less
    // evidence. Only frames that fail this too are called foreign.
    let ln_alpha_neighbour = (NEIGHBOUR_MATCH_ALPHA / frames.len().max(1) as f64).ln();
    // How strong the clip is: the median frame's best score in the open search.
    let mut best_z: Vec<f32> = matches.iter().map(|m| m.z).collect();
    best_z.sort_by(f32::total_cmp);
    let faint = best_z
        .get(best_z.len() / 2)
        .is_some_and(|&z| z < FAINT_CLIP_Z);
    let unreadable_min_z = if faint {
        UNREADABLE_MIN_Z_FAINT
    } else {
        UNREADABLE_MIN_Z
    };
    // The nearest matched frame before (else after) says which template belongs at `o`.
    let mut last_matched: Option<(usize, usize)> = None;
    for o in 0..matches.len() {
        if let Some(t) = matches[o].template {
            last_matched = Some((o, t));
            continue;
        }
        if len == 0 {
            continue;
        }
        let from_previous = last_matched.map(|(mo, t)| t + (o - mo));
        let from_next = || {
            matches[o + 1..]
                .iter()
                .find_map(|m| m.template.map(|t| (m.observed, t)))
                .and_then(|(mo, t)| t.checked_sub(mo - o))
        };
        let from_hint =
            hint.and_then(|pairs| pairs.iter().find(|&&(ho, _)| ho == o).map(|&(_, t)| t));
        let Some(t) = from_hint
            .or(from_previous)
            .or_else(from_next)
            .filter(|&t| t < expected.len())
        else {
            continue;
        };
        let a = score(o, t);
        let z = standard_score(a, len);
        let matched = ln_binomial_upper_tail(len as u64, a as u64) < ln_alpha_neighbour;
        matches[o] = FrameMatch {
            observed: o,
            template: matched.then_some(t),
            agreement: a as f32 / len as f32,
            z,
            unreadable: !matched && z >= unreadable_min_z,
        };
    }
    let blend_min_z = if faint {
        UNREADABLE_MIN_Z_FAINT
    } else {
        BLEND_MIN_Z
    };
    unmix_blends(&mut matches, expected.len(), len, blend_min_z, &score);
    matches
}

/// A frame that carries a neighbour's template where its own is missing may be a blend of the two
/// (a codec carrying most blocks over from the previous frame — VP9 in real-time mode at CRF 40
/// does — or frame blending). When it also agrees with the template that belongs at its place
/// (z ≥ `min_z`), it is unreadable rather than a repeat: a frame really repeated by an edit, or
/// the frame after a dropped one, agrees with that template only by chance.
pub(super) fn unmix_blends(
    matches: &mut [FrameMatch],
    templates: usize,
    len: usize,
    min_z: f32,
    score: &dyn Fn(usize, usize) -> usize,
) {
    let held: std::collections::HashSet<usize> =
        matches.iter().filter_map(|m| m.template).collect();
    for o in 0..matches.len() {
        let Some(t) = matches[o].template else {
            continue;
        };
        let before = matches[..o]
            .iter()
            .rev()
            .find_map(|m| m.template.map(|t| t + (o - m.observed)));
        let after = || {
            matches[o + 1..]
                .iter()
                .find_map(|m| m.template.and_then(|t| t.checked_sub(m.observed - o)))
        };
        let Some(own) = before.or_else(after) else {
            continue;
        };
        if own == t || own >= templates || held.contains(&own) || own.abs_diff(t) != 1 {
            continue;
        }
        let a = score(o, own);
        let z = standard_score(a, len);
        if z >= min_z {
            matches[o] = FrameMatch {
                observed: o,
                template: None,
                agreement: a as f32 / len.max(1) as f32,
                z,
                unreadable: true,
            };
        }
    }
}

/// A matched frame whose pilots agree clearly (z ≥ [`OTHER_CLIP_PILOT_Z`]) while its codeword falls more than [`OTHER_CLIP_GAP_Z`] sd
/// behind them and less than half as far above chance ([`PilotsVsCodeword`]) comes from another
/// clip made with the same key: it is unmatched (reported as inserted).
pub(super) fn mark_other_clips(
    matches: &mut [FrameMatch],
    frames: &[ObservedFrame],
    expected: &[Vec<u64>],
    data_start: usize,
    len: usize,
) {
    if len <= data_start || data_start == 0 {
        return;
    }
    for m in matches.iter_mut() {
        let Some(t) = m.template else { continue };
        let signs = &frames[m.observed].signs;
        let split = PilotsVsCodeword {
            pilot_agree: agreement(signs, &expected[t], 0, data_start),
            pilot_count: data_start,
            data_agree: agreement(signs, &expected[t], data_start, len),
            data_count: len - data_start,
        };
        let pilots_z = standard_score(split.pilot_agree, split.pilot_count);
        if pilots_z >= OTHER_CLIP_PILOT_Z && split.looks_like_another_clip(OTHER_CLIP_GAP_Z) {
            m.template = None;
            m.unreadable = false;
        }
    }
}

/// Fewest matched frames a frame-rate change is read from.
const RETIMING_MIN_FRAMES: usize = 6;
/// Share of matched frames that must lie on the fitted timeline (within one template).
const RETIMING_MIN_ON_LINE: f64 = 0.8;
/// Rates closer to 1 than this are the clip's own timeline (a drop or two bends it slightly).
const RETIMING_MIN_CHANGE: f64 = 0.08;
/// Repeats (or gaps) a cadence shows at least: fewer are edits.
const CADENCE_MIN_EVENTS: usize = 2;

/// A uniform change of the clip's timeline read off the matched frames: a frame-rate conversion
/// repeats (or blends) original frames at a regular cadence, or leaves some out at one. Reported
/// as what the copy went through, not as an edit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Retiming {
    /// Original frames per observed frame: below 1 when frames were repeated (a conversion to a
    /// higher rate, 8 → 25 fps gives 0.32), above 1 when some were left out at a regular cadence.
    pub templates_per_frame: f64,
    /// Matched frames on the fitted timeline, of all matched frames.
    pub on_line: usize,
    pub matched: usize,
}

impl Retiming {
    /// The frame rate the original had, given the rate this file plays at.
    pub fn original_fps(&self, file_fps: f64) -> f64 {
        file_fps * self.templates_per_frame
    }
}

/// Fits observed frame → template as one straight timeline (Theil–Sen: the median of the slopes
/// between matched frames, robust to a few edits) and returns it when the clip was retimed: the
/// slope is away from 1 and most matched frames lie on it.
pub(super) fn retiming(matches: &[FrameMatch]) -> Option<Retiming> {
    let pairs: Vec<(f64, f64)> = matches
        .iter()
        .filter(|m| !m.unreadable)
        .filter_map(|m| m.template.map(|t| (m.observed as f64, t as f64)))
        .collect();
    if pairs.len() < RETIMING_MIN_FRAMES {
        return None;
    }
    let mut slopes = Vec::with_capacity(pairs.len() * pairs.len() / 2);
    for (i, &(oi, ti)) in pairs.iter().enumerate() {
        for &(oj, tj) in &pairs[i + 1..] {
            if oj > oi {
                slopes.push((tj - ti) / (oj - oi));
            }
        }
    }
    let slope = median(&mut slopes)?;
    let mut intercepts: Vec<f64> = pairs.iter().map(|&(o, t)| t - slope * o).collect();
    let intercept = median(&mut intercepts)?;
    let on_line = pairs
        .iter()
        .filter(|&&(o, t)| (t - (intercept + slope * o)).abs() <= 1.0)
        .count();
    let retimed = slope > 0.0
        && (slope - 1.0).abs() >= RETIMING_MIN_CHANGE
        && on_line as f64 >= RETIMING_MIN_ON_LINE * pairs.len() as f64;
    retimed.then_some(Retiming {
        templates_per_frame: slope,
        on_line,
        matched: pairs.len(),
    })
}

fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    Some(values[values.len() / 2])
}

/// Dropped, inserted, reordered and duplicated frames from the matched template sequence. Under a
/// [`Retiming`], the repeats and gaps its cadence makes are not events: a frame repeating the
/// template of the frame just before it (as often as the rate explains), and a gap no longer than
/// the rate leaves out. Repeats and gaps beyond that, inserts and reorders are still reported.
pub(super) fn temporal_events_retimed(
    matches: &[FrameMatch],
    retimed: Option<Retiming>,
) -> Vec<TemporalEvent> {
    let mut events = temporal_events(matches);
    let Some(r) = retimed else {
        return events;
    };
    let rate = r.templates_per_frame;
    // How many observed frames one template may cover, and how many templates one step may skip.
    let max_run = (1.0 / rate).ceil() as usize + 1;
    let max_gap = rate.ceil().max(1.0) as usize - 1;
    let template_at = |o: usize| matches.get(o).and_then(|m| m.template);
    // A cadence repeats: one repeat or one gap alone is an edit, not a conversion.
    let cadence_repeat = |e: &TemporalEvent| matches!(e, TemporalEvent::Duplicated { .. });
    let cadence_gap = |e: &TemporalEvent| matches!(e, TemporalEvent::Dropped { .. });
    let repeats = events.iter().filter(|e| cadence_repeat(e)).count();
    let gaps = events.iter().filter(|e| cadence_gap(e)).count();
    let run_length = |o: usize, t: usize| {
        // Consecutive frames up to and including `o` that carry `t` (unreadable ones bridge).
        let mut n = 0;
        for m in matches[..=o].iter().rev() {
            match m.template {
                Some(x) if x == t => n += 1,
                None if m.unreadable => {}
                _ => break,
            }
        }
        n
    };
    events.retain(|e| match *e {
        TemporalEvent::Duplicated { observed, template } if repeats >= CADENCE_MIN_EVENTS => {
            let previous = matches[..observed]
                .iter()
                .rev()
                .find(|m| !m.unreadable)
                .and_then(|m| m.template);
            !(previous == Some(template) && run_length(observed, template) <= max_run)
        }
        TemporalEvent::Dropped {
            first,
            last,
            before,
        } if gaps >= CADENCE_MIN_EVENTS => {
            let cadence = last - first < max_gap
                && template_at(before) == Some(last + 1)
                && before > 0
                && template_at(before - 1).is_some_and(|t| t + 1 == first);
            !cadence
        }
        _ => true,
    });
    events
}

/// Dropped, inserted, reordered and duplicated frames from the matched template sequence.
pub(super) fn temporal_events(matches: &[FrameMatch]) -> Vec<TemporalEvent> {
    let mut events = Vec::new();
    if matches.iter().all(|m| m.template.is_none()) {
        return events;
    }
    let mut seen = std::collections::HashSet::new();
    let mut sequence: Vec<(usize, usize)> = Vec::new(); // (observed, template), first occurrences
    for m in matches.iter().filter(|m| !m.unreadable) {
        match m.template {
            None => events.push(TemporalEvent::Inserted {
                observed: m.observed,
            }),
            Some(t) if !seen.insert(t) => events.push(TemporalEvent::Duplicated {
                observed: m.observed,
                template: t,
            }),
            Some(t) => sequence.push((m.observed, t)),
        }
    }
    // Frames outside a longest increasing run of templates are the ones that moved.
    let keep = longest_increasing(&sequence.iter().map(|&(_, t)| t).collect::<Vec<_>>());
    let mut in_order = Vec::new();
    for (i, &(o, t)) in sequence.iter().enumerate() {
        if keep.contains(&i) {
            in_order.push((o, t));
        } else {
            events.push(TemporalEvent::Reordered {
                observed: o,
                template: t,
            });
        }
    }
    // Gaps in the in-order run that no moved frame fills are drops.
    // An unreadable frame is taken to hold the next template in line, not to hide a drop.
    let unreadable: Vec<usize> = matches
        .iter()
        .filter(|m| m.unreadable)
        .map(|m| m.observed)
        .collect();
    let mut expected_next = 0usize;
    let mut previous_observed: Option<usize> = None;
    for &(o, t) in &in_order {
        let between = unreadable
            .iter()
            .filter(|&&u| u < o && previous_observed.is_none_or(|p| u > p))
            .count();
        previous_observed = Some(o);
        if t > expected_next {
            let missing: Vec<usize> = (expected_next..t)
                .filter(|x| !seen.contains(x))
                .skip(between)
                .collect();
            for run in runs(&missing) {
                events.push(TemporalEvent::Dropped {
                    first: run.0,
                    last: run.1,
                    before: o,
                });
            }
        }
        expected_next = expected_next.max(t + 1);
    }
    events.sort_by_key(|e| match e {
        TemporalEvent::Dropped { before, .. } => (*before, 0),
        TemporalEvent::Inserted { observed } => (*observed, 1),
        TemporalEvent::Reordered { observed, .. } => (*observed, 1),
        TemporalEvent::Duplicated { observed, .. } => (*observed, 1),
    });
    events
}

/// Indices of one longest strictly increasing subsequence (patience sorting, O(n log n)).
pub(super) fn longest_increasing(values: &[usize]) -> std::collections::HashSet<usize> {
    let mut tails: Vec<usize> = Vec::new(); // index into values of the tail of each length
    let mut parent: Vec<Option<usize>> = vec![None; values.len()];
    for (i, &v) in values.iter().enumerate() {
        let pos = tails.partition_point(|&j| values[j] < v);
        parent[i] = pos.checked_sub(1).map(|p| tails[p]);
        if pos == tails.len() {
            tails.push(i);
        } else {
            tails[pos] = i;
        }
    }
    let mut out = std::collections::HashSet::new();
    let mut cursor = tails.last().copied();
    while let Some(i) = cursor {
        out.insert(i);
        cursor = parent[i];
    }
    out
}

pub(super) fn runs(sorted: &[usize]) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    for &x in sorted {
        match out.last_mut() {
            Some(last) if last.1 + 1 == x => last.1 = x,
            _ => out.push((x, x)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::panic)]
    use super::*;

    fn placed(templates: &[Option<usize>]) -> Vec<FrameMatch> {
        templates
            .iter()
            .enumerate()
            .map(|(o, &t)| FrameMatch {
                observed: o,
                template: t,
                agreement: if t.is_some() { 0.9 } else { 0.5 },
                z: if t.is_some() { 20.0 } else { 0.0 },
                unreadable: false,
            })
            .collect()
    }

    #[test]
    fn an_untouched_sequence_has_no_events() {
        let m = placed(&[Some(0), Some(1), Some(2), Some(3)]);
        assert!(temporal_events(&m).is_empty());
        // Nothing placed: nothing to say.
        assert!(temporal_events(&placed(&[None, None])).is_empty());
    }

    #[test]
    fn drops_inserts_reorders_and_repeats_are_told_apart() {
        let m = placed(&[Some(0), Some(1), Some(4), None, Some(6), Some(5), Some(6)]);
        let events = temporal_events(&m);
        assert!(events.contains(&TemporalEvent::Dropped {
            first: 2,
            last: 3,
            before: 2
        }));
        assert!(events.contains(&TemporalEvent::Inserted { observed: 3 }));
        assert!(events
            .iter()
            .any(|e| matches!(e, TemporalEvent::Reordered { .. })));
        assert!(events.contains(&TemporalEvent::Duplicated {
            observed: 6,
            template: 6
        }));
    }

    #[test]
    fn unreadable_frames_fill_gaps_instead_of_hiding_drops() {
        let mut m = placed(&[Some(0), None, Some(2)]);
        m[1].unreadable = true;
        assert!(temporal_events(&m).is_empty());
    }

    /// Observed frame `o` of a clip converted by repeating frames: template `floor(o * rate)`.
    fn converted(frames: usize, rate: f64) -> Vec<Option<usize>> {
        (0..frames)
            .map(|o| Some((o as f64 * rate).floor() as usize))
            .collect()
    }

    #[test]
    fn a_frame_rate_conversion_is_a_retiming_not_repeats() {
        // 8 -> 25 fps: each original frame shown 3 or 4 times.
        let m = placed(&converted(32, 8.0 / 25.0));
        let Some(r) = retiming(&m) else {
            panic!("8 -> 25 fps not read as a retiming");
        };
        assert!((r.templates_per_frame - 0.32).abs() < 0.03, "{r:?}");
        assert!((r.original_fps(25.0) - 8.0).abs() < 0.5);
        assert!(
            !temporal_events(&m).is_empty(),
            "plain events call the cadence repeats"
        );
        assert!(temporal_events_retimed(&m, Some(r)).is_empty());
        // 8 -> 6 fps: one frame in four left out, at a regular cadence.
        let m = placed(&converted(12, 8.0 / 6.0));
        let Some(r) = retiming(&m) else {
            panic!("8 -> 6 fps not read as a retiming");
        };
        assert!(r.templates_per_frame > 1.2);
        assert!(
            temporal_events_retimed(&m, Some(r)).is_empty(),
            "{:?}",
            temporal_events(&m)
        );
    }

    #[test]
    fn edits_inside_a_converted_clip_are_still_reported() {
        let rate = 8.0 / 25.0;
        // Original frames 4-6 cut before the conversion: the timeline jumps by three.
        let mut t = converted(40, rate);
        for x in t.iter_mut().skip(13).flatten() {
            *x += 3;
        }
        let m = placed(&t);
        let r = retiming(&m);
        let events = temporal_events_retimed(&m, r);
        assert!(
            events.iter().any(|e| matches!(
                e,
                TemporalEvent::Dropped {
                    first: 4,
                    last: 6,
                    ..
                }
            )),
            "{events:?}"
        );
        // A frame pasted in, and one moved: still there.
        let mut t = converted(40, rate);
        t[20] = None;
        t[30] = Some(1);
        let m = placed(&t);
        let events = temporal_events_retimed(&m, retiming(&m));
        assert!(events.contains(&TemporalEvent::Inserted { observed: 20 }));
        assert!(events.iter().any(|e| matches!(
            e,
            TemporalEvent::Duplicated { observed: 30, .. }
                | TemporalEvent::Reordered { observed: 30, .. }
        )));
        // A template repeated far longer than the rate explains (a freeze): reported.
        let mut t = converted(40, rate);
        for x in t.iter_mut().skip(10).take(12) {
            *x = Some(3);
        }
        let m = placed(&t);
        assert!(!temporal_events_retimed(&m, retiming(&m)).is_empty());
    }

    #[test]
    fn one_dropped_frame_is_an_edit_even_if_the_fit_calls_it_a_retiming() {
        // Frame 8 of 16 cut: 15 frames, one gap. Whatever the fit says, one gap is no cadence.
        let t: Vec<Option<usize>> = (0..15)
            .map(|o| Some(if o < 8 { o } else { o + 1 }))
            .collect();
        let m = placed(&t);
        let forced = Some(Retiming {
            templates_per_frame: 1.1,
            on_line: 15,
            matched: 15,
        });
        assert!(temporal_events_retimed(&m, forced).iter().any(|e| matches!(
            e,
            TemporalEvent::Dropped {
                first: 8,
                last: 8,
                ..
            }
        )));
    }

    #[test]
    fn the_clips_own_timeline_is_not_a_retiming() {
        assert_eq!(retiming(&placed(&converted(16, 1.0))), None);
        // Three frames dropped from a 1:1 timeline: an edit, not a conversion.
        let t: Vec<Option<usize>> = (0..16)
            .map(|o| Some(if o < 8 { o } else { o + 3 }))
            .collect();
        assert_eq!(retiming(&placed(&t)), None);
        // Too few frames to say.
        assert_eq!(retiming(&placed(&converted(4, 0.32))), None);
    }

    #[test]
    fn longest_increasing_and_runs() {
        let keep = longest_increasing(&[0, 1, 5, 2, 3, 4]);
        assert_eq!(keep.len(), 5);
        assert!(!keep.contains(&2));
        assert!(longest_increasing(&[]).is_empty());
        assert_eq!(runs(&[1, 2, 3, 7, 9, 10]), vec![(1, 3), (7, 7), (9, 10)]);
    }
}
