//! A compact perceptual fingerprint of a clip's content, robust to what platforms do to a video
//! (re-encoding, resizing, brightness and contrast, noise, blur) and different for different
//! content. It binds stored credentials to the pixels they were made for: a watermark copied onto
//! other footage carries the clip's payload but not its picture.
//!
//! Per frame, from RGB at the model's working size:
//! - **layout**: luma area-averaged to an 8×8 grid, minus its best-fitting plane (a vertical sky
//!   gradient or a lighting ramp says nothing about what is in the picture), scaled to unit norm
//!   and stored as 64 signed bytes. Two frames are compared by the correlation of their layouts.
//! - **colour**: the frame's mean chromaticity (r and g of r+g+b), which brightness changes keep.
//! - **structure**: how strong that layout is (its norm in grey levels): a faint copy of the
//!   layout — what a clip's high-pass residual draws on flat footage — is not the picture.
//! - **motion** (computed when comparing): each frame's layout minus the mean of the compared
//!   frames; two clips over the same background share their static layout, not what moves.
//!
//! Frames are compared pairwise, each observed frame with the original frame it carries (the
//! watermark's frame alignment), so dropped, repeated and reordered frames do not matter.

use serde::{Deserialize, Serialize};

/// Cells per side of the layout grid.
pub const GRID: usize = 8;
const CELLS: usize = GRID * GRID;

/// Bytes per frame in the encoding: layout, chroma, structure.
const FRAME_BYTES: usize = CELLS + 3;

/// Version tag of the text encoding ([`ClipFingerprint::encode`]).
pub const FINGERPRINT_ALG: &str = "org.candor.fingerprint.v1";

/// One frame's fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameFingerprint {
    /// Detrended luma layout, unit norm, scaled by 127 (all zero for a flat frame).
    pub layout: Vec<i8>,
    /// Mean chromaticity r/(r+g+b), g/(r+g+b), scaled by 255.
    pub chroma: [u8; 2],
    /// How much structure the layout has: its norm before scaling, in grey levels (capped at 255).
    /// A watermark residual pasted onto flat footage recreates a faint copy of the layout; the
    /// structure tells the faint copy from the picture.
    pub structure: u8,
}

/// A clip's fingerprint: one entry per frame, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClipFingerprint {
    pub frames: Vec<FrameFingerprint>,
}

/// How well an observed clip matches a fingerprint.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FingerprintMatch {
    /// Frame pairs compared.
    pub pairs: usize,
    /// Mean correlation of the layouts over the pairs whose original frame has structure (−1..1).
    pub layout_correlation: f32,
    /// Mean distance of the chromaticities (0 = same colour balance; in units of 1/255).
    pub chroma_distance: f32,
    /// Median over the compared frames of the observed structure over the original's (1 = as
    /// strong; a faint copy of the layout is far below 1).
    #[serde(default = "one")]
    pub structure_ratio: f32,
    /// Correlation of what moves: each frame's layout minus the mean layout of the compared
    /// frames, pooled over them. A shared background cannot supply it. `None` when the original
    /// barely changes over the compared frames.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub motion_correlation: Option<f32>,
}

fn one() -> f32 {
    1.0
}

/// A match at least this close in layout is the same content…
pub const MIN_LAYOUT_CORRELATION: f32 = 0.6;
/// …and, where the original moves, what moves must agree this well: two clips over the same
/// background share their static layout, not their motion. Two clips of one shape over one
/// background moving on paths that share a component (down-left and down-right) agree at about
/// 0.4 (`bench robustness`, "pairs agreeing in all but motion"); the bench's attacked copies of
/// a clip keep the motion far closer (its "min motion" column).
pub const MIN_MOTION_CORRELATION: f32 = 0.6;
/// The original moves when its frames' deviations from their mean carry at least this share of
/// the layouts' energy.
const MIN_MOTION_SHARE: f64 = 0.05;

/// A match found only under another placement than the mark's (a crop the mark survived as it
/// is) must be at least this close: each placement tried is one more chance for other content.
pub const MIN_LAYOUT_CORRELATION_MOVED: f32 = 0.85;
/// …unless what moves agrees at least this well, when [`MIN_LAYOUT_CORRELATION_MOVED_IN_MOTION`]
/// will do: a low-contrast clip letterboxed into 4:3 keeps its motion at 0.98 and its layout at
/// only 0.83 (`bench robustness`, clip 34 of 48), while different clips with one motion agree in
/// it at 0.63 at most, under any placement…
pub const MIN_MOTION_CORRELATION_MOVED: f32 = 0.95;
/// …and then the layout must still be this close.
pub const MIN_LAYOUT_CORRELATION_MOVED_IN_MOTION: f32 = 0.75;
/// …and its colour balance may differ by at most this, once contrast and saturation are allowed
/// for (`chroma_distance`): brightness keeps it, contrast 1.3 on saturated colours moved it by 40
/// to 46 before that fit; a scene of another colour (sky blue against a red sunset) is 80 or more
/// away…
pub const MAX_CHROMA_DISTANCE: f32 = 32.0;
/// A colour balance further off than this (what contrast 1.3, a hue shift or a tight crop
/// give a genuine copy: up to 24 in `bench robustness`, where every such copy keeps a layout
/// correlation of 0.96 or more)…
pub const CHROMA_DISTANCE_OFF_COLOUR: f32 = 12.0;
/// …binds only with a layout at least this close: two different clips of one shape and one
/// direction over warm scenes (a purple triangle over sand, a blue one over a sunset) agree at
/// 0.86–0.87 in layout and 0.8 in motion with their colour balance 21–30 apart (candor-shapes-v4,
/// `bench robustness`, 2026-12-07), which the bars above alone let through.
pub const MIN_LAYOUT_CORRELATION_OFF_COLOUR: f32 = 0.93;
/// …and its layout must be at least this strong relative to the original's: contrast changes,
/// blur and compression keep most of it (the robustness bench's transforms stay above 0.6), while
/// a clip's residual pasted onto flat or smooth footage draws a faint copy.
pub const MIN_STRUCTURE_RATIO: f32 = 0.4;

/// A match below the bars above may still be too close to call other content: a genuine copy
/// degraded past recognition (H.264 at CRF 50 keeps a layout correlation near 0.47, its colour and
/// most of its motion) is left unbound, not called a copy of another clip's mark. Resemblance asks
/// a layout at least this close…
pub const MIN_LAYOUT_RESEMBLANCE: f32 = 0.4;
/// …and, where the original moves, motion at least this close (different clips over one
/// background agree in motion at 0.23 at most in `bench robustness`).
pub const MIN_MOTION_RESEMBLANCE: f32 = 0.3;

impl FingerprintMatch {
    /// True when the observed clip may be the fingerprinted content, degraded: not the same
    /// content by [`Self::same_content`], but not evidence of other content either.
    pub fn resembles(&self) -> bool {
        self.meets(MIN_LAYOUT_RESEMBLANCE, MIN_MOTION_RESEMBLANCE)
    }

    /// True when the observed clip is the fingerprinted content.
    pub fn same_content(&self) -> bool {
        self.meets(MIN_LAYOUT_CORRELATION, MIN_MOTION_CORRELATION)
            && (self.chroma_distance <= CHROMA_DISTANCE_OFF_COLOUR
                || self.layout_correlation >= MIN_LAYOUT_CORRELATION_OFF_COLOUR)
    }

    /// True when the observed clip is the fingerprinted content by a comparison under a placement
    /// picked among many (the stricter bars: each placement is one more chance for other
    /// content).
    pub fn same_content_moved(&self) -> bool {
        let in_motion = self
            .motion_correlation
            .is_some_and(|m| m >= MIN_MOTION_CORRELATION_MOVED);
        self.same_content()
            && (self.layout_correlation >= MIN_LAYOUT_CORRELATION_MOVED
                || (in_motion && self.layout_correlation >= MIN_LAYOUT_CORRELATION_MOVED_IN_MOTION))
    }

    /// Every bar at once, with these layout and motion bars (colour and structure are the same
    /// for both judgements).
    fn meets(&self, layout: f32, motion: f32) -> bool {
        self.pairs > 0
            && self.layout_correlation >= layout
            && self.chroma_distance <= MAX_CHROMA_DISTANCE
            && self.structure_ratio >= MIN_STRUCTURE_RATIO
            && self.motion_correlation.is_none_or(|m| m >= motion)
    }
}

/// The fingerprint of one RGB24 frame of `size×size` (`None` when the buffer is too short).
pub fn frame_fingerprint(rgb: &[u8], size: usize) -> Option<FrameFingerprint> {
    if size < GRID || rgb.len() < size * size * 3 {
        return None;
    }
    let mut cells = [0f64; CELLS];
    let mut counts = [0f64; CELLS];
    let mut sums = [0f64; 3];
    for y in 0..size {
        for x in 0..size {
            let p = &rgb[(y * size + x) * 3..(y * size + x) * 3 + 3];
            let (r, g, b) = (f64::from(p[0]), f64::from(p[1]), f64::from(p[2]));
            let cell = (y * GRID / size) * GRID + x * GRID / size;
            cells[cell] += 0.299 * r + 0.587 * g + 0.114 * b;
            counts[cell] += 1.0;
            sums[0] += r;
            sums[1] += g;
            sums[2] += b;
        }
    }
    for (c, n) in cells.iter_mut().zip(&counts) {
        *c /= n.max(1.0);
    }
    let detrended = detrend(&cells);
    let norm = detrended.iter().map(|v| v * v).sum::<f64>().sqrt();
    // Below about one grey level of structure per cell, the frame is flat: no layout to compare.
    let structure = norm.round().clamp(0.0, 255.0) as u8;
    let layout = if norm < GRID as f64 {
        vec![0i8; CELLS]
    } else {
        detrended
            .iter()
            .map(|v| (v / norm * 127.0).round().clamp(-127.0, 127.0) as i8)
            .collect()
    };
    let total = (sums[0] + sums[1] + sums[2]).max(1.0);
    let chroma = [
        (sums[0] / total * 255.0).round() as u8,
        (sums[1] / total * 255.0).round() as u8,
    ];
    Some(FrameFingerprint {
        layout,
        chroma,
        structure,
    })
}

/// The grid minus its least-squares plane a + b·x + c·y (x, y centred, so the three fits are
/// independent).
fn detrend(cells: &[f64; CELLS]) -> [f64; CELLS] {
    let centre = (GRID as f64 - 1.0) / 2.0;
    let coord = |i: usize| i as f64 - centre;
    let (mut mean, mut bx, mut by, mut sxx) = (0.0, 0.0, 0.0, 0.0);
    for (i, &v) in cells.iter().enumerate() {
        let (y, x) = (coord(i / GRID), coord(i % GRID));
        mean += v;
        bx += v * x;
        by += v * y;
        sxx += x * x;
    }
    mean /= CELLS as f64;
    let (bx, by) = (bx / sxx, by / sxx);
    let mut out = [0f64; CELLS];
    for (i, o) in out.iter_mut().enumerate() {
        let (y, x) = (coord(i / GRID), coord(i % GRID));
        *o = cells[i] - mean - bx * x - by * y;
    }
    out
}

impl ClipFingerprint {
    /// The fingerprint of RGB24 frames of `size×size`.
    pub fn of_frames(frames: &[Vec<u8>], size: usize) -> Option<Self> {
        let frames = frames
            .iter()
            .map(|f| frame_fingerprint(f, size))
            .collect::<Option<Vec<_>>>()?;
        (!frames.is_empty()).then_some(Self { frames })
    }

    /// A compact text form for manifests and stores: `org.candor.fingerprint.v1:` followed by
    /// hex of, per frame, 64 layout bytes, 2 chroma bytes and 1 structure byte.
    pub fn encode(&self) -> String {
        let mut bytes = Vec::with_capacity(self.frames.len() * FRAME_BYTES);
        for f in &self.frames {
            bytes.extend(f.layout.iter().map(|&v| v as u8));
            bytes.extend(f.chroma);
            bytes.push(f.structure);
        }
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        format!("{FINGERPRINT_ALG}:{hex}")
    }

    /// Reads [`Self::encode`]'s form; `None` for another algorithm or a malformed value.
    pub fn decode(text: &str) -> Option<Self> {
        let hex = text.strip_prefix(FINGERPRINT_ALG)?.strip_prefix(':')?;
        if hex.len() % 2 != 0 || !hex.is_ascii() {
            return None;
        }
        let bytes = (0..hex.len() / 2)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
            .collect::<Option<Vec<u8>>>()?;
        if bytes.is_empty() || bytes.len() % FRAME_BYTES != 0 {
            return None;
        }
        let frames = bytes
            .chunks_exact(FRAME_BYTES)
            .map(|c| FrameFingerprint {
                layout: c[..CELLS].iter().map(|&b| b as i8).collect(),
                chroma: [c[CELLS], c[CELLS + 1]],
                structure: c[CELLS + 2],
            })
            .collect();
        Some(Self { frames })
    }

    /// Compares observed frames with this fingerprint. `pairs` are (observed frame, original
    /// frame) indices, as the watermark aligned them; pairs out of range are skipped.
    pub fn compare(
        &self,
        observed: &ClipFingerprint,
        pairs: &[(usize, usize)],
    ) -> FingerprintMatch {
        self.compare_outside(observed, pairs, &[])
    }

    /// [`Self::compare`] leaving out the grid cells `skip[i]` marks (row-major, [`GRID`]×[`GRID`]):
    /// regions the watermark's tamper map found replaced, whose picture was changed on purpose.
    /// With fewer than a quarter of the cells left, nothing is compared (no match, `pairs` 0).
    pub fn compare_outside(
        &self,
        observed: &ClipFingerprint,
        pairs: &[(usize, usize)],
        skip: &[bool],
    ) -> FingerprintMatch {
        let kept: Vec<usize> = (0..CELLS)
            .filter(|&i| !skip.get(i).copied().unwrap_or(false))
            .collect();
        // At least a quarter of the picture to compare (a crop to 70 % keeps the middle 4×4
        // cells whole): less says too little either way.
        if 4 * kept.len() < CELLS {
            return FingerprintMatch {
                pairs: 0,
                layout_correlation: 0.0,
                chroma_distance: f32::INFINITY,
                structure_ratio: 0.0,
                motion_correlation: None,
            };
        }
        // With cells left out (an edit, or the border a crop cut away), each layout is refitted
        // to the cells kept: the stored layouts were detrended over the whole picture, and a
        // crop's filled-in border moves that plane, which would read as a difference.
        let partial = kept.len() < CELLS;
        let vector = |f: &FrameFingerprint| -> Vec<f64> {
            let at = |i: usize| f64::from(f.layout.get(i).copied().unwrap_or(0));
            if partial {
                let grey = f64::from(f.structure) / 127.0;
                detrend_on(
                    &kept.iter().map(|&i| at(i) * grey).collect::<Vec<_>>(),
                    &kept,
                )
            } else {
                (0..CELLS).map(at).collect()
            }
        };
        let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
        let (mut corr, mut corr_n, mut chroma, mut n) = (0f64, 0usize, 0f64, 0usize);
        let mut ratios: Vec<f32> = Vec::new();
        let mut paired: Vec<(Vec<f64>, Vec<f64>)> = Vec::new();
        for &(o, t) in pairs {
            let (Some(seen), Some(orig)) = (observed.frames.get(o), self.frames.get(t)) else {
                continue;
            };
            n += 1;
            chroma += chroma_distance(seen.chroma, orig.chroma);
            if orig.layout.iter().all(|&v| v == 0) {
                continue; // a flat original frame has no layout to agree with
            }
            let (a, b) = (vector(seen), vector(orig));
            corr += correlation(&a, &b);
            corr_n += 1;
            ratios.push(if partial {
                (norm(&a) / norm(&b).max(1e-9)) as f32
            } else {
                f32::from(seen.structure) / f32::from(orig.structure.max(1))
            });
            paired.push((a, b));
        }
        let motion_correlation = motion_correlation(&paired);
        FingerprintMatch {
            pairs: n,
            layout_correlation: if corr_n == 0 {
                // Only flat frames: the colour decides alone.
                1.0
            } else {
                (corr / corr_n as f64) as f32
            },
            chroma_distance: if n == 0 {
                f32::INFINITY
            } else {
                (chroma / n as f64) as f32
            },
            structure_ratio: if ratios.is_empty() {
                1.0
            } else {
                ratios.sort_by(f32::total_cmp);
                ratios[ratios.len() / 2]
            },
            motion_correlation,
        }
    }
}

/// Neutral chromaticity (r/(r+g+b) of grey), in the fingerprint's units.
const GREY: f64 = 255.0 / 3.0;
/// How far contrast or saturation may scale a colour's distance from grey (contrast 1.3 on
/// saturated colours scales it by about 1.3; clipping keeps it below 1.5).
const SATURATION_RANGE: (f64, f64) = (0.7, 1.5);

/// Distance of two mean chromaticities once the observed one's departure from grey is scaled,
/// within [`SATURATION_RANGE`], to fit the original's: brightness keeps a chromaticity, contrast
/// and saturation scale its departure from grey without turning it, and another scene's colour
/// points elsewhere.
fn chroma_distance(seen: [u8; 2], orig: [u8; 2]) -> f64 {
    let dev = |c: [u8; 2]| [f64::from(c[0]) - GREY, f64::from(c[1]) - GREY];
    let (s, o) = (dev(seen), dev(orig));
    let ss = s[0] * s[0] + s[1] * s[1];
    let k = if ss > 1.0 {
        ((s[0] * o[0] + s[1] * o[1]) / ss).clamp(SATURATION_RANGE.0, SATURATION_RANGE.1)
    } else {
        1.0
    };
    let (dr, dg) = (k * s[0] - o[0], k * s[1] - o[1]);
    (dr * dr + dg * dg).sqrt()
}

/// `values` (one per cell of `cells`) minus their least-squares plane a + b·x + c·y over those
/// cells; the values unchanged when the plane cannot be fitted (cells on one line).
fn detrend_on(values: &[f64], cells: &[usize]) -> Vec<f64> {
    let n = cells.len() as f64;
    if cells.len() < 3 {
        return values.to_vec();
    }
    let xy = |i: usize| ((i % GRID) as f64, (i / GRID) as f64);
    let (mx, my) = cells.iter().fold((0.0, 0.0), |(a, b), &i| {
        let (x, y) = xy(i);
        (a + x / n, b + y / n)
    });
    let mv = values.iter().sum::<f64>() / n;
    let (mut sxx, mut sxy, mut syy, mut sxv, mut syv) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (&i, &v) in cells.iter().zip(values) {
        let (x, y) = xy(i);
        let (x, y, v) = (x - mx, y - my, v - mv);
        sxx += x * x;
        sxy += x * y;
        syy += y * y;
        sxv += x * v;
        syv += y * v;
    }
    let det = sxx * syy - sxy * sxy;
    if det.abs() < 1e-9 {
        return values.iter().map(|v| v - mv).collect();
    }
    let b = (sxv * syy - syv * sxy) / det;
    let c = (syv * sxx - sxv * sxy) / det;
    cells
        .iter()
        .zip(values)
        .map(|(&i, &v)| {
            let (x, y) = xy(i);
            v - mv - b * (x - mx) - c * (y - my)
        })
        .collect()
}

/// The pooled correlation of the (observed, original) layouts' deviations from their own means
/// over the pairs; `None` when the original's deviations are too small to say.
fn motion_correlation(paired: &[(Vec<f64>, Vec<f64>)]) -> Option<f32> {
    if paired.len() < 2 {
        return None;
    }
    let n = paired.len() as f64;
    let len = paired
        .iter()
        .map(|p| p.0.len().min(p.1.len()))
        .min()
        .unwrap_or(0);
    let mean = |second: bool| -> Vec<f64> {
        (0..len)
            .map(|c| {
                paired
                    .iter()
                    .map(|p| if second { p.1[c] } else { p.0[c] })
                    .sum::<f64>()
                    / n
            })
            .collect()
    };
    let (ms, mo) = (mean(false), mean(true));
    let (mut so, mut ss, mut oo, mut total) = (0.0, 0.0, 0.0, 0.0);
    for (seen, orig) in paired {
        for c in 0..len {
            let (s, o) = (seen[c] - ms[c], orig[c] - mo[c]);
            so += s * o;
            ss += s * s;
            oo += o * o;
            total += orig[c] * orig[c];
        }
    }
    if total <= 0.0 || oo < MIN_MOTION_SHARE * total || ss <= 0.0 {
        return None;
    }
    Some((so / (ss * oo).sqrt()) as f32)
}

/// Pearson correlation of two layout vectors (0 when either is flat).
fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let len = a.len().min(b.len());
    let n = len.max(1) as f64;
    let (ma, mb) = (
        a[..len].iter().sum::<f64>() / n,
        b[..len].iter().sum::<f64>() / n,
    );
    let (mut ab, mut aa, mut bb) = (0.0, 0.0, 0.0);
    for i in 0..len {
        let (x, y) = (a[i] - ma, b[i] - mb);
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    if aa <= 0.0 || bb <= 0.0 {
        0.0
    } else {
        ab / (aa * bb).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 32×32 frame: a vertical gradient background with a bright square at (x0, y0).
    fn frame(x0: usize, y0: usize, tint: [u8; 3]) -> Vec<u8> {
        let mut rgb = Vec::with_capacity(32 * 32 * 3);
        for y in 0..32 {
            for x in 0..32 {
                let inside = (x0..x0 + 8).contains(&x) && (y0..y0 + 8).contains(&y);
                let base = 60 + 4 * y as u32;
                for c in tint {
                    let v = if inside {
                        240
                    } else {
                        base * u32::from(c) / 255
                    };
                    rgb.push(v.min(255) as u8);
                }
            }
        }
        rgb
    }

    fn clip(offset: usize, tint: [u8; 3]) -> ClipFingerprint {
        let frames: Vec<Vec<u8>> = (0..8)
            .map(|i| frame(2 + i * 2 + offset, 10, tint))
            .collect();
        ClipFingerprint::of_frames(&frames, 32).unwrap_or(ClipFingerprint { frames: vec![] })
    }

    fn identity(n: usize) -> Vec<(usize, usize)> {
        (0..n).map(|i| (i, i)).collect()
    }

    #[test]
    fn the_same_content_matches_and_other_content_does_not() {
        let blue = [120, 160, 255];
        let a = clip(0, blue);
        let m = a.compare(&a, &identity(8));
        assert!(m.same_content() && m.layout_correlation > 0.99, "{m:?}");
        // Same background, the object elsewhere: the gradient alone does not make a match.
        let moved: Vec<Vec<u8>> = (0..8).map(|i| frame(20 - i * 2, 20, blue)).collect();
        let moved = ClipFingerprint::of_frames(&moved, 32).unwrap_or(a.clone());
        assert!(!a.compare(&moved, &identity(8)).same_content());
        // Same layout, another colour balance.
        let red = clip(0, [255, 110, 90]);
        let m = a.compare(&red, &identity(8));
        assert!(m.layout_correlation > 0.9 && !m.same_content(), "{m:?}");
    }

    #[test]
    fn brightness_and_contrast_keep_the_fingerprint() {
        let frames: Vec<Vec<u8>> = (0..8)
            .map(|i| frame(2 + i * 2, 10, [120, 160, 255]))
            .collect();
        let a =
            ClipFingerprint::of_frames(&frames, 32).unwrap_or(ClipFingerprint { frames: vec![] });
        let brighter: Vec<Vec<u8>> = frames
            .iter()
            .map(|f| {
                f.iter()
                    .map(|&v| (f32::from(v) * 0.8 + 10.0) as u8)
                    .collect()
            })
            .collect();
        let b = ClipFingerprint::of_frames(&brighter, 32).unwrap_or(a.clone());
        let m = a.compare(&b, &identity(8));
        assert!(m.same_content(), "{m:?}");
    }

    /// The centre half of each frame kept where it was and the rest filled with the frame's
    /// mean colour: what a detector renders for a crop to 50 % placed back on its canvas.
    fn centre_crop(frames: &[Vec<u8>]) -> (ClipFingerprint, Vec<bool>) {
        let cropped: Vec<Vec<u8>> = frames
            .iter()
            .map(|f| {
                let mean: Vec<u8> = (0..3)
                    .map(|c| {
                        let sum: u32 = f.iter().skip(c).step_by(3).map(|&v| u32::from(v)).sum();
                        (sum / (32 * 32)) as u8
                    })
                    .collect();
                let mut out = f.clone();
                for y in 0..32 {
                    for x in 0..32 {
                        if !((8..24).contains(&x) && (8..24).contains(&y)) {
                            out[(y * 32 + x) * 3..(y * 32 + x) * 3 + 3].copy_from_slice(&mean);
                        }
                    }
                }
                out
            })
            .collect();
        let skip: Vec<bool> = (0..CELLS)
            .map(|i| !((2..6).contains(&(i % GRID)) && (2..6).contains(&(i / GRID))))
            .collect();
        (
            ClipFingerprint::of_frames(&cropped, 32).unwrap_or(ClipFingerprint { frames: vec![] }),
            skip,
        )
    }

    #[test]
    fn a_crop_matches_on_the_cells_it_kept_and_other_content_does_not() {
        let blue = [120, 160, 255];
        // The object crosses the middle of the picture, with a gradient behind it.
        let frames: Vec<Vec<u8>> = (0..8).map(|i| frame(4 + i * 2, 12, blue)).collect();
        let a =
            ClipFingerprint::of_frames(&frames, 32).unwrap_or(ClipFingerprint { frames: vec![] });
        let (seen, skip) = centre_crop(&frames);
        let m = a.compare_outside(&seen, &identity(8), &skip);
        // Refitted to the kept cells, the crop is the picture (0.92 when the whole-picture plane,
        // moved by the filled-in border, was left in).
        assert!(
            m.same_content() && m.layout_correlation > 0.97 && m.structure_ratio > 0.6,
            "{m:?}"
        );
        // The same crop of a clip whose object moves the other way is not this content.
        let other: Vec<Vec<u8>> = (0..8).map(|i| frame(18 - i * 2, 12, blue)).collect();
        let (seen, skip) = centre_crop(&other);
        let m = a.compare_outside(&seen, &identity(8), &skip);
        assert!(!m.same_content(), "{m:?}");
    }

    #[test]
    fn contrast_on_saturated_colours_keeps_the_colour_and_another_hue_does_not() {
        // A red-orange scene, its contrast raised by 1.3 around mid-grey (clipped): the
        // chromaticity moves a long way from the original's, but along the same direction.
        let warm: Vec<Vec<u8>> = (0..8)
            .map(|i| frame(2 + i * 2, 10, [255, 120, 60]))
            .collect();
        let a = ClipFingerprint::of_frames(&warm, 32).unwrap_or(ClipFingerprint { frames: vec![] });
        let contrast: Vec<Vec<u8>> = warm
            .iter()
            .map(|f| {
                f.iter()
                    .map(|&v| ((f32::from(v) - 128.0) * 1.3 + 128.0).clamp(0.0, 255.0) as u8)
                    .collect()
            })
            .collect();
        let b = ClipFingerprint::of_frames(&contrast, 32).unwrap_or(a.clone());
        let m = a.compare(&b, &identity(8));
        assert!(m.same_content() && m.chroma_distance < 8.0, "{m:?}");
        // The same layout in blue: the departure from grey points the other way.
        let cold: Vec<Vec<u8>> = (0..8)
            .map(|i| frame(2 + i * 2, 10, [60, 120, 255]))
            .collect();
        let c = ClipFingerprint::of_frames(&cold, 32).unwrap_or(a.clone());
        let m = a.compare(&c, &identity(8));
        assert!(!m.same_content() && m.chroma_distance > 40.0, "{m:?}");
    }

    #[test]
    fn a_faint_copy_of_the_layout_is_not_the_picture() {
        let blue = [120, 160, 255];
        let frames: Vec<Vec<u8>> = (0..8).map(|i| frame(2 + i * 2, 10, blue)).collect();
        let a =
            ClipFingerprint::of_frames(&frames, 32).unwrap_or(ClipFingerprint { frames: vec![] });
        // The same picture at a tenth of its contrast around its own colour: a residual on a
        // flat host looks like this.
        let faint: Vec<Vec<u8>> = frames
            .iter()
            .map(|f| {
                f.iter()
                    .map(|&v| (f32::from(v) * 0.1 + 150.0) as u8)
                    .collect()
            })
            .collect();
        let b = ClipFingerprint::of_frames(&faint, 32).unwrap_or(a.clone());
        let m = a.compare(&b, &identity(8));
        assert!(m.layout_correlation > 0.9, "{m:?}");
        assert!(m.structure_ratio < 0.2 && !m.same_content(), "{m:?}");
    }

    /// A match of 16 frames in the same colour with most of the structure: only layout and motion
    /// vary.
    fn m(layout: f32, motion: Option<f32>) -> FingerprintMatch {
        FingerprintMatch {
            pairs: 16,
            layout_correlation: layout,
            chroma_distance: 1.0,
            structure_ratio: 0.9,
            motion_correlation: motion,
        }
    }

    #[test]
    fn the_bars_tell_copies_degraded_copies_and_other_clips_apart() {
        // An attacked copy (the robustness bench's weakest row keeps motion at 0.86).
        assert!(m(0.9, Some(0.86)).same_content());
        // Two clips of one shape over one background, on paths sharing a component: the layout
        // agrees, the motion only partly. Not the same content.
        assert!(!m(0.89, Some(0.40)).same_content());
        // Different clips over one background: not the content, and not like it either.
        let other = m(0.86, Some(0.23));
        assert!(!other.same_content() && !other.resembles());
        // A genuine copy at H.264 CRF 50: not bound, but not evidence of other content.
        let mush = FingerprintMatch {
            structure_ratio: 0.75,
            ..m(0.47, Some(0.47))
        };
        assert!(!mush.same_content() && mush.resembles());
        // Two different clips of one shape and direction over warm scenes (v4's purple triangle
        // over sand and blue triangle over a sunset): layout and motion close, the colour balance
        // off. Not the same content; a genuine copy whose colours moved that far (contrast, hue,
        // a tight crop) keeps its layout.
        let off = |layout: f32, chroma: f32| FingerprintMatch {
            chroma_distance: chroma,
            ..m(layout, Some(0.83))
        };
        assert!(!off(0.869, 21.5).same_content());
        assert!(!off(0.858, 30.3).same_content());
        assert!(off(0.96, 24.0).same_content());
        assert!(off(0.869, 11.0).same_content());
        // Unrelated footage.
        assert!(!m(0.1, Some(0.05)).resembles());
        assert!(!m(0.1, None).resembles());
    }

    #[test]
    fn a_match_under_a_placement_picked_among_many_needs_more() {
        // Close in layout: enough whether or not it moves.
        assert!(m(0.9, Some(0.7)).same_content_moved());
        assert!(m(0.9, None).same_content_moved());
        // A faint layout (a low-contrast clip letterboxed) whose motion agrees almost exactly.
        assert!(m(0.83, Some(0.985)).same_content_moved());
        // The same layout with the motion other clips of one direction reach: not enough.
        assert!(!m(0.83, Some(0.7)).same_content_moved());
        assert!(!m(0.83, None).same_content_moved());
        // Motion alone never binds.
        assert!(!m(0.7, Some(0.99)).same_content_moved());
        // Nothing the plain bars refuse passes.
        assert!(!FingerprintMatch {
            chroma_distance: 60.0,
            ..m(0.95, Some(0.99))
        }
        .same_content_moved());
    }

    #[test]
    fn the_alignment_pairs_frames() {
        let a = clip(0, [120, 160, 255]);
        // Observed: every other original frame (a frame-rate halving).
        let half = ClipFingerprint {
            frames: a.frames.iter().step_by(2).cloned().collect(),
        };
        let pairs: Vec<(usize, usize)> = (0..4).map(|o| (o, 2 * o)).collect();
        assert!(a.compare(&half, &pairs).same_content());
        // Out-of-range pairs are skipped; none left is no match.
        let m = a.compare(&half, &[(9, 9)]);
        assert_eq!(m.pairs, 0);
        assert!(!m.same_content());
    }

    #[test]
    fn an_edited_region_is_left_out_when_the_tamper_map_names_it() {
        let blue = [120, 160, 255];
        let frames: Vec<Vec<u8>> = (0..8).map(|i| frame(2 + i * 2, 10, blue)).collect();
        let a =
            ClipFingerprint::of_frames(&frames, 32).unwrap_or(ClipFingerprint { frames: vec![] });
        // A striped 16×16 patch pasted into the top-right corner of every frame.
        let edited: Vec<Vec<u8>> = frames
            .iter()
            .map(|f| {
                let mut f = f.clone();
                for y in 0..16 {
                    for x in 16..32 {
                        for c in 0..3 {
                            f[(y * 32 + x) * 3 + c] = if (x + y) % 8 < 4 { 250 } else { 10 };
                        }
                    }
                }
                f
            })
            .collect();
        let e = ClipFingerprint::of_frames(&edited, 32).unwrap_or(a.clone());
        let whole = a.compare(&e, &identity(8));
        let skip: Vec<bool> = (0..64).map(|i| i / 8 < 4 && i % 8 >= 4).collect();
        let outside = a.compare_outside(&e, &identity(8), &skip);
        assert!(
            outside.layout_correlation > whole.layout_correlation,
            "{whole:?} {outside:?}"
        );
        assert!(outside.layout_correlation > 0.8, "{outside:?}");
        // Leaving out more than three quarters of the picture leaves nothing to compare.
        let nothing = a.compare_outside(&a, &identity(8), &[true; 50]);
        assert!(!nothing.same_content());
        assert_eq!(nothing.pairs, 0);
        // The middle 4×4 cells alone (what a crop to 70 % keeps whole) still compare.
        let middle: Vec<bool> = (0..64)
            .map(|i| !((2..6).contains(&(i / 8)) && (2..6).contains(&(i % 8))))
            .collect();
        let kept = a.compare_outside(&a, &identity(8), &middle);
        assert!(kept.pairs > 0 && kept.same_content(), "{kept:?}");
    }

    #[test]
    fn encoding_round_trips_and_rejects_garbage() {
        let a = clip(0, [120, 160, 255]);
        let text = a.encode();
        assert!(text.starts_with("org.candor.fingerprint.v1:"));
        assert_eq!(ClipFingerprint::decode(&text), Some(a));
        for bad in [
            "",
            "org.candor.fingerprint.v1:",
            "org.candor.fingerprint.v1:zz",
            "other:00",
        ] {
            assert_eq!(ClipFingerprint::decode(bad), None, "{bad}");
        }
        assert_eq!(
            ClipFingerprint::decode("org.candor.fingerprint.v1:0a0b"),
            None
        );
        assert!(frame_fingerprint(&[0u8; 10], 32).is_none());
        assert!(ClipFingerprint::of_frames(&[], 32).is_none());
    }

    #[test]
    fn a_flat_frame_has_no_layout() {
        let grey = vec![128u8; 32 * 32 * 3];
        let f = frame_fingerprint(&grey, 32).unwrap_or(FrameFingerprint {
            layout: vec![1; 64],
            chroma: [0, 0],
            structure: 9,
        });
        assert_eq!(f.structure, 0);
        assert!(f.layout.iter().all(|&v| v == 0));
        assert_eq!(f.chroma, [85, 85]);
    }
}
