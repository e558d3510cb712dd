//! The whole-file scan: every frame of a file decoded once, in memory bounded by one window, and
//! the watermark looked for in overlapping windows of it, so that a Candor clip anywhere in a
//! longer video is found and placed in time (`segments`), and several clips in one file give
//! several segments. The false-positive rate stays the one stated per file: every window's tests
//! are counted in one budget.
//!
//! A file no longer than [`WatermarkOptions::max_frames`] frames is one window: the clip as it
//! is (the check the detector always made).

use std::collections::VecDeque;
use std::path::Path;
use std::time::Instant;

use candor_diffusion::{DiffusionModel, WORK_SCALE};
use candor_media::{DecodeOptions, FrameReader, RgbFrame, Scaling};
use candor_watermark::KeyRing;
use serde::{Deserialize, Serialize};

use crate::watermark::{check_frames_in, Scope, StageTimes, WatermarkOptions, WatermarkReport};
use crate::{Result, VerifyError};

/// A segment's timeline that falls back by more than this many templates starts a new segment.
const RESTART_DROP: usize = 2;

/// Decoded frames waiting for the detector, at most.
const FRAME_QUEUE: usize = 16;

/// How a file is scanned.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScanOptions {
    /// Seconds of video per window: the length of the default model's clip, so that a clip
    /// anywhere in a file fills at least three quarters of one window.
    pub window_seconds: f64,
    /// Frames are read at no more than this rate (every n-th frame of faster video): the mark
    /// repeats within a frame of the original clip, and an 8 fps clip converted to 25, 30 or 60
    /// fps still shows each of its frames at 12.5, 15 or 15 (half the work of reading them all).
    pub max_fps: f64,
}

impl Default for ScanOptions {
    fn default() -> Self {
        Self {
            window_seconds: 2.0,
            max_fps: 16.0,
        }
    }
}

/// Which seconds of a file carry which Candor clip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    pub start_s: f64,
    pub end_s: f64,
    /// The first and last frame of the file (decode order, from 0) that carry the clip's mark.
    pub first_frame: usize,
    pub last_frame: usize,
    /// The clip's content id (hex), when its payload decoded.
    pub content_id: Option<String>,
    pub key_id: String,
    /// The best window's p-value, corrected for every test of the scan.
    pub log10_p_value: f64,
    /// The original clip's frames seen here (template indices, first and last).
    pub template_range: [usize; 2],
    /// Runs of the clip's frames missing inside the segment (first and last template of each):
    /// its timeline jumps ahead there by more than its cadence explains.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub removed: Vec<[usize; 2]>,
    /// The credentials recovered for this segment's clip, when the file carries none of its own
    /// and a store was given.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub credentials: Option<SegmentCredentials>,
}

/// What recovery gave for one segment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentCredentials {
    /// "store record 5", or "manifest urn:… from https://resolver".
    pub origin: String,
    /// Signature, soft binding and content fingerprint all check (see `recovered.accepted`).
    pub accepted: bool,
    /// The manifest was signed for other content: a copied mark.
    pub copied: bool,
    pub summary: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub prompt: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub model: Option<String>,
}

impl SegmentCredentials {
    /// One line for people: "store record 5: <summary>; prompt "…"".
    pub fn describe(&self) -> String {
        format!(
            "{}: {}{}",
            self.origin,
            self.summary,
            self.prompt
                .as_ref()
                .map(|p| format!("; prompt \"{p}\""))
                .unwrap_or_default()
        )
    }
}

/// What the scan looked at.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScanReport {
    /// Windows tested; each holds the tests of one clip check (placements, candidates).
    pub windows: usize,
    /// Every test run over the file: the false-positive rate is split between them.
    pub tests: usize,
    pub frames_decoded: usize,
    /// Frames looked at (every n-th of fast video).
    pub frames_read: usize,
    pub duration_s: f64,
    /// The false-positive rate of the scan per file.
    pub false_positive_rate: f64,
}

/// A decoded frame as the detector reads it.
struct Frame {
    /// Position in the file's decoded frames.
    index: usize,
    /// Presentation time, seconds from the first frame.
    time: f64,
    native: Vec<u8>,
    work: Vec<u8>,
}

/// A segment being assembled, with the frames it is re-checked on (at most `whole_file_frames`).
struct OpenSegment {
    best: WatermarkReport,
    key_payload: (String, Option<String>),
    placed: Vec<(usize, usize)>,
    span: (usize, usize),
    frames: Vec<Frame>,
}

/// The outcome of a file's scan: the report of the clip the verdict is about (the strongest
/// segment's, or the whole file's when nothing was found), every segment, and the scan's figures.
pub struct Scanned {
    pub report: WatermarkReport,
    pub segments: Vec<Segment>,
    /// Each segment's own check (its payload, alignment and fingerprint: what recovering its
    /// credentials needs), in the order of `segments`.
    pub segment_reports: Vec<WatermarkReport>,
    pub scan: Option<ScanReport>,
}

/// Decodes `path` once and looks for the watermark in all of it.
pub fn scan_file(
    path: &Path,
    model: &DiffusionModel,
    ring: &KeyRing,
    options: &WatermarkOptions,
) -> Result<Scanned> {
    let scan = &options.scan;
    let started = Instant::now();
    let native = model.config.size;
    let work_side = native * WORK_SCALE;
    let probe = FrameReader::open(path, DecodeOptions::default())?;
    let fps = probe.frame_rate().unwrap_or(25.0);
    let frames_hint = probe.frames_hint();
    let (sw, sh) = probe.source_size();
    drop(probe);
    let stride = (fps / scan.max_fps).ceil().max(1.0) as usize;
    let read_fps = fps / stride as f64;
    let window = ((scan.window_seconds * read_fps).round() as usize).clamp(8, 64);
    let hop = (window / 2).max(1);
    // Large pictures are reduced by the scaler straight to the detector's working size, and their
    // deblocking filter skipped: at a twentieth of the size neither shows.
    let large = u64::from(sw) * u64::from(sh) >= 4 * (work_side * work_side) as u64;
    // Small pictures are decoded whole and area-averaged exactly (their chroma needs the
    // full-size conversion's interpolation).
    let decode = DecodeOptions {
        stride,
        max_frames: None,
        size: large.then_some((work_side as u32, work_side as u32)),
        scaling: if large {
            Scaling::Area
        } else {
            Scaling::Bicubic
        },
        skip_loop_filter: large,
    };
    // Windows the file will have, from the container's frame count (checked at the end).
    let expected_windows = frames_hint
        .map(|n| windows_for((n as usize).div_ceil(stride), window, hop))
        .unwrap_or(1);
    let mut scanner = Scanner {
        model,
        ring,
        options,
        window,
        hop,
        budget_windows: expected_windows.max(1),
        buffer: VecDeque::new(),
        read: 0,
        decoded: 0,
        windows_run: 0,
        tests_per_window: 1,
        strongest: None,
        head: Vec::new(),
        open: None,
        closed: Vec::new(),
        last_time: 0.0,
        frame_seconds: 1.0 / read_fps,
    };
    // Decoding runs on its own thread (FFmpeg's threads under it), detection on this one, with a
    // short queue between them: memory stays one queue and one window, and the detector's work
    // hides behind the decoder's.
    let source = path.to_path_buf();
    let (tx, rx) = std::sync::mpsc::sync_channel::<candor_media::Result<RgbFrame>>(FRAME_QUEUE);
    let (outcome, t_decode) = std::thread::scope(|s| {
        let decoder = s.spawn(move || {
            let t = Instant::now();
            match FrameReader::open(&source, decode) {
                Err(e) => {
                    let _ = tx.send(Err(e));
                }
                Ok(reader) => {
                    for frame in reader {
                        if tx.send(frame).is_err() {
                            break; // the scan stopped on an error
                        }
                    }
                }
            }
            t.elapsed().as_secs_f64()
        });
        let mut outcome: Result<()> = Ok(());
        let mut damaged = None;
        for frame in rx.iter() {
            match frame {
                Ok(f) => {
                    if let Err(e) = scanner.push(f) {
                        outcome = Err(e);
                        break;
                    }
                }
                // A file that stops decoding part-way (truncated, corrupt) is checked on what
                // decoded: cutting a few bytes off must not hide a mark.
                Err(e) if scanner.read > 0 => {
                    damaged = Some(format!(
                        "the video stops decoding after {} frames ({e}); the watermark was checked on those",
                        scanner.decoded
                    ));
                    break;
                }
                Err(e) => {
                    outcome = Err(e.into());
                    break;
                }
            }
        }
        drop(rx);
        ((outcome, damaged), decoder.join().unwrap_or(0.0))
    });
    let (outcome, damaged) = outcome;
    outcome?;
    if scanner.read == 0 {
        return Err(VerifyError::NoFrames {
            path: path.to_path_buf(),
        });
    }
    let times = StageTimes {
        decode: t_decode,
        ..StageTimes::default()
    };
    // A short file is one clip: checked whole, as it is.
    if scanner.read <= options.max_frames {
        let (n, w): (Vec<_>, Vec<_>) = scanner.head.into_iter().map(|f| (f.native, f.work)).unzip();
        let mut report = check_frames_in(&n, &w, model, ring, options, times, Scope::CLIP)?;
        report.transforms = transforms(&report, (sw, sh), work_side);
        report.damaged = damaged;
        report.fps = Some(fps);
        report.read_every = stride;
        return Ok(Scanned {
            report,
            segments: Vec::new(),
            segment_reports: Vec::new(),
            scan: None,
        });
    }
    scanner.finish()?;
    let total_windows = scanner.windows_run.max(1);
    let per_window_tests = scanner.tests_per_window;
    // The budget was set from the container's frame count: correct it if the file had more (or
    // fewer) windows.
    let adjust = (total_windows as f64 / scanner.budget_windows as f64).log10();
    let threshold = options.detect.threshold;
    let mut segments = Vec::new();
    let mut segment_reports = Vec::new();
    let mut best: Option<WatermarkReport> = None;
    let closed = merge_overlapping(std::mem::take(&mut scanner.closed), options.max_frames);
    for seg in closed {
        let log10_p = (seg.best.detection.log10_p_value() + adjust).min(0.0);
        if log10_p > threshold.log10() {
            continue;
        }
        let (first, last) = match (seg.placed.first(), seg.placed.last()) {
            (Some(a), Some(b)) => (a.0, b.0),
            _ => seg.span,
        };
        let templates: Vec<usize> = seg.placed.iter().map(|p| p.1).collect();
        let time_of = |index: usize| index as f64 / fps;
        // Re-check the clip on its own frames: its edits, its payload and its recovery are about
        // these frames, not the footage around them.
        let (n, w): (Vec<_>, Vec<_>) = seg
            .frames
            .iter()
            .filter(|f| f.index >= first && f.index <= last)
            .map(|f| (f.native.clone(), f.work.clone()))
            .unzip();
        let report = if n.is_empty() {
            seg.best.clone()
        } else {
            let own = check_frames_in(
                &n,
                &w,
                model,
                ring,
                options,
                times.clone(),
                Scope {
                    windows: total_windows,
                    keep_frames: true,
                },
            )?;
            if own.present || own.forgery.is_some() {
                own
            } else {
                seg.best.clone()
            }
        };
        let start = seg
            .frames
            .iter()
            .find(|f| f.index == first)
            .map(|f| f.time)
            .unwrap_or_else(|| time_of(first));
        let segment = Segment {
            start_s: round_ms(start),
            end_s: round_ms(time_of(last).max(start) + stride as f64 / fps),
            first_frame: first,
            last_frame: last,
            content_id: report.content_id.clone(),
            key_id: report.detection.key_id().to_string(),
            log10_p_value: log10_p,
            template_range: [
                templates.iter().copied().min().unwrap_or(0),
                templates.iter().copied().max().unwrap_or(0),
            ],
            removed: removed_spans(&seg.placed),
            credentials: None,
        };
        segments.push(segment);
        segment_reports.push(report.clone());
        if best
            .as_ref()
            .is_none_or(|b| report.detection.log10_p_value() < b.detection.log10_p_value())
        {
            best = Some(report);
        }
    }
    let strongest = scanner.strongest.take();
    let scan_report = ScanReport {
        windows: total_windows,
        tests: per_window_tests * total_windows,
        frames_decoded: scanner.decoded,
        frames_read: scanner.read,
        duration_s: round_ms(scanner.last_time + scanner.frame_seconds),
        false_positive_rate: threshold,
    };
    let mut report = match best.or(strongest) {
        Some(r) => r,
        None => {
            return Err(VerifyError::NoFrames {
                path: path.to_path_buf(),
            })
        }
    };
    report.frames_read = scanner.read;
    report.transforms = transforms(&report, (sw, sh), work_side);
    report.damaged = damaged;
    report.fps = Some(fps);
    report.read_every = stride;
    report.times.decode = t_decode;
    report.times.detection = started.elapsed().as_secs_f64() - t_decode;
    if segments.is_empty() {
        report.present = false;
        report.summary = format!(
            "No Candor watermark found in {:.1} s of video ({} windows, {} tests; false-positive rate of this check: {:.0e} per file, {} key(s))",
            scan_report.duration_s,
            scan_report.windows,
            scan_report.tests,
            threshold,
            report.detection.keys_tried()
        );
    } else {
        for seg in &mut segments {
            seg.end_s = seg.end_s.min(scan_report.duration_s);
        }
        report.summary = format!(
            "{} — {} in {:.1} s ({} windows scanned, false-positive rate {:.0e} per file)",
            report.summary,
            if segments.len() == 1 {
                "1 segment".to_string()
            } else {
                format!("{} segments", segments.len())
            },
            scan_report.duration_s,
            scan_report.windows,
            threshold
        );
    }
    Ok(Scanned {
        report,
        segments,
        segment_reports,
        scan: Some(scan_report),
    })
}

/// Runs of templates missing between consecutive placed (file frame, template) pairs: where the
/// timeline jumps ahead by at least two frames more than its own cadence (the median templates
/// per file frame, so a frame-rate conversion's skips are not gaps), with the pairs on each side
/// of the jump keeping that cadence (one misplaced frame is not a cut).
pub(crate) fn removed_spans(placed: &[(usize, usize)]) -> Vec<[usize; 2]> {
    if placed.len() < 4 {
        return Vec::new();
    }
    // Each step between neighbours: (file frames, templates, template before); `None` when the
    // timeline falls back (a reorder, or a misplaced frame).
    let steps: Vec<Option<(usize, usize, usize)>> = placed
        .windows(2)
        .map(|w| {
            let (df, dt) = (w[1].0.checked_sub(w[0].0)?, w[1].1.checked_sub(w[0].1)?);
            (df > 0).then_some((df, dt, w[0].1))
        })
        .collect();
    let mut rates: Vec<f64> = steps
        .iter()
        .flatten()
        .map(|&(df, dt, _)| dt as f64 / df as f64)
        .collect();
    rates.sort_by(f64::total_cmp);
    let Some(&rate) = rates.get(rates.len() / 2) else {
        return Vec::new();
    };
    let expected = |df: usize| (df as f64 * rate).ceil() as usize;
    // A clip shown at its own rate (one template a frame read, nearly every step) has no cadence
    // to hide a gap in: one frame missing is a cut.
    let exact = steps
        .iter()
        .flatten()
        .filter(|&&(df, dt, _)| dt == df)
        .count()
        * 10
        >= steps.len() * 9;
    let slack = if exact { 1 } else { 2 };
    let regular = |i: usize| {
        steps
            .get(i)
            .copied()
            .flatten()
            .is_some_and(|(df, dt, _)| dt <= expected(df) + 1)
    };
    let mut out = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let Some((df, dt, from)) = *step else {
            continue;
        };
        if dt >= expected(df) + slack && i > 0 && regular(i - 1) && regular(i + 1) {
            out.push([from + expected(df).max(1), from + dt - 1]);
        }
    }
    out
}

/// What a platform did to the clip, read off the mark: a change of size, a placement the
/// geometry search undid. Each is a transform, not an edit. (A retiming is named where the
/// clip's own rate is known: [`crate::timeline`].)
fn transforms(report: &WatermarkReport, size: (u32, u32), made: usize) -> Vec<String> {
    let mut out = Vec::new();
    if !report.present {
        return out;
    }
    if size != (made as u32, made as u32) {
        out.push(format!(
            "resized: shown at {}×{} (made at {made}×{made})",
            size.0, size.1
        ));
    }
    if let Some(g) = &report.geometry {
        if g.placement != crate::Placement::IDENTITY {
            out.push(format!("{} undone", g.placement.name));
        }
    }
    out
}

/// The placed (file frame, template) pairs of one window, cut where the timeline starts over
/// (two clips back to back: the pilots, the same in every clip of a key, place both).
fn timeline_runs(placed: Vec<(usize, usize)>) -> Vec<Vec<(usize, usize)>> {
    let mut runs: Vec<Vec<(usize, usize)>> = Vec::new();
    let mut previous = None::<usize>;
    for p in placed {
        // A jump back from one placed frame to the next: a reversed or shuffled clip steps back
        // a frame or two at a time and stays one timeline.
        if runs.is_empty() || previous.is_some_and(|t| p.1 + RESTART_DROP < t) {
            runs.push(Vec::new());
        }
        previous = Some(p.1);
        if let Some(run) = runs.last_mut() {
            run.push(p);
        }
    }
    runs
}

/// Segments of one clip that overlap in the file (a faint window at a clip's edge, found apart
/// from its neighbours) are one segment.
fn merge_overlapping(segments: Vec<OpenSegment>, cap: usize) -> Vec<OpenSegment> {
    let mut out: Vec<OpenSegment> = Vec::new();
    for seg in segments {
        let extent = |s: &OpenSegment| match (s.placed.first(), s.placed.last()) {
            (Some(a), Some(b)) => (a.0, b.0),
            _ => s.span,
        };
        let joins = out.last().is_some_and(|prev| {
            let same_clip = prev.key_payload.0 == seg.key_payload.0
                && match (&prev.key_payload.1, &seg.key_payload.1) {
                    (Some(a), Some(b)) => a == b,
                    _ => true,
                };
            same_clip && extent(&seg).0 <= extent(prev).1
        });
        match out.last_mut() {
            Some(prev) if joins => {
                if seg.best.detection.log10_p_value() < prev.best.detection.log10_p_value() {
                    prev.best = seg.best.clone();
                }
                if prev.key_payload.1.is_none() {
                    prev.key_payload.1 = seg.key_payload.1.clone();
                }
                for p in seg.placed {
                    if !prev.placed.iter().any(|q| q.0 == p.0) {
                        prev.placed.push(p);
                    }
                }
                prev.placed.sort_unstable();
                prev.span = (prev.span.0.min(seg.span.0), prev.span.1.max(seg.span.1));
                let kept_until = prev.frames.last().map(|f| f.index);
                for f in seg.frames {
                    if prev.frames.len() < cap && kept_until.is_none_or(|k| f.index > k) {
                        prev.frames.push(f);
                    }
                }
            }
            _ => out.push(seg),
        }
    }
    out
}

/// Windows of `window` frames every `hop` frames over `frames` frames (the last one flush with
/// the end).
fn windows_for(frames: usize, window: usize, hop: usize) -> usize {
    if frames <= window {
        1
    } else {
        (frames - window).div_ceil(hop) + 1
    }
}

fn round_ms(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

struct Scanner<'a> {
    model: &'a DiffusionModel,
    ring: &'a KeyRing,
    options: &'a WatermarkOptions,
    window: usize,
    hop: usize,
    budget_windows: usize,
    /// The frames of the current window (and the next hop's).
    buffer: VecDeque<Frame>,
    read: usize,
    decoded: usize,
    windows_run: usize,
    tests_per_window: usize,
    /// The window with the smallest p-value (what a file without a mark reports).
    strongest: Option<WatermarkReport>,
    /// The first frames, kept for a file short enough to be one window.
    head: Vec<Frame>,
    open: Option<OpenSegment>,
    closed: Vec<OpenSegment>,
    last_time: f64,
    frame_seconds: f64,
}

impl Scanner<'_> {
    fn push(&mut self, frame: RgbFrame) -> Result<()> {
        let native = self.model.config.size;
        let time = frame
            .pts_seconds
            .unwrap_or(self.read as f64 * self.frame_seconds);
        let work_side = native * WORK_SCALE;
        let work = if (frame.width as usize, frame.height as usize) == (work_side, work_side) {
            frame.data
        } else {
            frame.resized_area(work_side, work_side)
        };
        let f = Frame {
            index: frame.index,
            time,
            native: candor_media::pixels::resize_area(&work, work_side, work_side, native, native),
            work,
        };
        self.decoded = frame.index + 1;
        self.last_time = time;
        self.read += 1;
        if self.head.len() < self.options.max_frames {
            self.head.push(Frame {
                index: f.index,
                time: f.time,
                native: f.native.clone(),
                work: f.work.clone(),
            });
        } else if !self.head.is_empty() && self.read > self.options.max_frames + 1 {
            // Long enough to scan: the head is not needed as a whole file any more.
            self.head.clear();
        }
        self.buffer.push_back(f);
        // Wait until the file is known to be longer than one window of the whole-file check.
        if self.read <= self.options.max_frames {
            return Ok(());
        }
        while self.buffer.len() >= self.window {
            self.run_window(self.window)?;
        }
        Ok(())
    }

    /// The last window, flush with the end of the file.
    fn finish(&mut self) -> Result<()> {
        if self.buffer.len() > self.hop || self.windows_run == 0 {
            // Keep the final window a full one where the file allows.
            let n = self.buffer.len();
            self.run_window(n)?;
        }
        if let Some(seg) = self.open.take() {
            self.closed.push(seg);
        }
        Ok(())
    }

    fn close(&mut self) {
        if let Some(seg) = self.open.take() {
            self.closed.push(seg);
        }
    }

    /// Adds one timeline run of a window to the open segment, or to a new one when it is another
    /// clip: another key, another payload, or a timeline that starts over (the same clip again,
    /// back to back). A window whose payload was not read continues a neighbour of its key.
    fn add_run(
        &mut self,
        run: &[(usize, usize)],
        key: &str,
        payload: Option<String>,
        report: &WatermarkReport,
        span: (usize, usize),
        len: usize,
    ) {
        // A run no later than what the open segment already holds was seen by an earlier window
        // (the end of the clip before a restart): it is that clip's, not the open one's.
        if !run.is_empty()
            && self
                .open
                .as_ref()
                .and_then(|s| s.placed.last())
                .is_some_and(|&(frame, _)| run.iter().all(|p| p.0 <= frame))
        {
            return;
        }
        let continues = self.open.as_ref().is_some_and(|s| {
            let same_clip = match (&s.key_payload.1, &payload) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            };
            let restarts = s.placed.last().is_some_and(|&(frame, template)| {
                run.iter()
                    .find(|p| p.0 > frame)
                    .is_some_and(|p| p.1 + RESTART_DROP < template)
            });
            s.key_payload.0 == key && same_clip && !restarts
        });
        if !continues {
            self.close();
        }
        let run_span = match (run.first(), run.last()) {
            (Some(a), Some(b)) => (a.0, b.0),
            _ => span,
        };
        let cap = self.options.max_frames;
        let seg = self.open.get_or_insert_with(|| OpenSegment {
            best: report.clone(),
            key_payload: (key.to_string(), payload.clone()),
            placed: Vec::new(),
            span: run_span,
            frames: Vec::new(),
        });
        if report.detection.log10_p_value() < seg.best.detection.log10_p_value() {
            seg.best = report.clone();
        }
        if seg.key_payload.1.is_none() {
            seg.key_payload.1 = payload;
        }
        seg.span = (seg.span.0.min(run_span.0), seg.span.1.max(run_span.1));
        for p in run {
            if !seg.placed.iter().any(|q| q.0 == p.0) {
                seg.placed.push(*p);
            }
        }
        seg.placed.sort_unstable();
        let kept_until = seg.frames.last().map(|f| f.index);
        for f in self.buffer.iter().take(len) {
            if seg.frames.len() >= cap || f.index > run_span.1 {
                break;
            }
            if f.index >= run_span.0 && kept_until.is_none_or(|k| f.index > k) {
                seg.frames.push(Frame {
                    index: f.index,
                    time: f.time,
                    native: f.native.clone(),
                    work: f.work.clone(),
                });
            }
        }
    }

    fn run_window(&mut self, len: usize) -> Result<()> {
        let len = len.min(self.buffer.len());
        if len == 0 {
            return Ok(());
        }
        let frames: Vec<&Frame> = self.buffer.iter().take(len).collect();
        let n: Vec<Vec<u8>> = frames.iter().map(|f| f.native.clone()).collect();
        let w: Vec<Vec<u8>> = frames.iter().map(|f| f.work.clone()).collect();
        let report = check_frames_in(
            &n,
            &w,
            self.model,
            self.ring,
            self.options,
            StageTimes::default(),
            Scope {
                windows: self.budget_windows,
                keep_frames: false,
            },
        )?;
        let span = (frames[0].index, frames[len - 1].index);
        let runs: Vec<Vec<(usize, usize)>> = if report.present {
            timeline_runs(
                report
                    .detection
                    .frames()
                    .iter()
                    .filter_map(|m| m.template.map(|t| (frames[m.observed].index, t)))
                    .collect(),
            )
        } else {
            Vec::new()
        };
        let found = report.present || report.forgery.is_some();
        let key = report.detection.key_id().to_string();
        if !found {
            self.close();
        } else if runs.len() <= 1 {
            let run = runs.into_iter().next().unwrap_or_default();
            self.add_run(&run, &key, report.content_id.clone(), &report, span, len);
        } else {
            // Two timelines in one window (clips back to back): the payload read belongs to one
            // of them, which one cannot be told here. The first run continues the open segment
            // if it can; each later run starts a segment whose clip its own check will name.
            for (i, run) in runs.iter().enumerate() {
                if i > 0 {
                    self.close();
                }
                self.add_run(run, &key, None, &report, span, len);
            }
        }
        self.windows_run += 1;
        self.tests_per_window = (report.tests / self.budget_windows).max(1);
        if self
            .strongest
            .as_ref()
            .is_none_or(|b| report.detection.log10_p_value() < b.detection.log10_p_value())
        {
            self.strongest = Some(report);
        }
        // Slide on by a hop (the whole buffer after the final window).
        let advance = if len < self.window { len } else { self.hop };
        for _ in 0..advance.min(self.buffer.len()) {
            self.buffer.pop_front();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_timelines_in_one_window_are_two_runs() {
        // Clip A's last frames, then clip B from its start.
        let placed = vec![
            (10, 13),
            (11, 14),
            (12, 15),
            (13, 0),
            (14, 1),
            (15, 2),
            (16, 3),
        ];
        let runs = timeline_runs(placed);
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0], vec![(10, 13), (11, 14), (12, 15)]);
        assert_eq!(runs[1][0], (13, 0));
        // One timeline, repeats and a small step back (a reorder) included: one run.
        let one = vec![(0, 0), (1, 0), (2, 1), (3, 3), (4, 2), (5, 4)];
        assert_eq!(timeline_runs(one.clone()), vec![one]);
        // A reversed clip steps back one frame at a time: still one timeline.
        let reversed: Vec<(usize, usize)> = (0..16).map(|i| (i, 15 - i)).collect();
        assert_eq!(timeline_runs(reversed).len(), 1);
        assert!(timeline_runs(Vec::new()).is_empty());
    }

    #[test]
    fn windows_cover_the_file() {
        assert_eq!(windows_for(10, 16, 8), 1);
        assert_eq!(windows_for(16, 16, 8), 1);
        assert_eq!(windows_for(17, 16, 8), 2);
        assert_eq!(windows_for(50, 50, 25), 1);
        assert_eq!(windows_for(1800, 64, 32), 56);
    }
}

#[cfg(test)]
mod removed_tests {
    use super::removed_spans;

    #[test]
    fn a_jump_ahead_is_a_cut_and_a_cadence_is_not() {
        let straight: Vec<(usize, usize)> = (0..40).map(|f| (f, f)).collect();
        assert!(removed_spans(&straight).is_empty());
        // Frames 20–39 of the clip cut: file frame 20 shows template 40.
        let cut: Vec<(usize, usize)> = (0..20)
            .map(|f| (f, f))
            .chain((20..40).map(|f| (f, f + 20)))
            .collect();
        assert_eq!(removed_spans(&cut), vec![[20, 39]]);
        // One frame missing from a clip at its own rate.
        let one: Vec<(usize, usize)> = (0..40)
            .map(|f| (f, if f < 25 { f } else { f + 1 }))
            .collect();
        assert_eq!(removed_spans(&one), vec![[25, 25]]);
        // 8 fps shown at 25 fps, read every 2nd frame: 0.64 templates per frame read.
        let converted: Vec<(usize, usize)> = (0..60)
            .map(|f| (2 * f, (f as f64 * 0.64).round() as usize))
            .collect();
        assert!(removed_spans(&converted).is_empty());
        // One misplaced frame far ahead is not a cut.
        let mut odd = straight.clone();
        odd[10].1 = 30;
        assert!(removed_spans(&odd).is_empty());
    }
}
