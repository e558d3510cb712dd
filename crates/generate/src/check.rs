//! The generator checks what it drew before it lets a frame go: every object the layout planner
//! placed must be visible where it was placed. The default model sometimes lets a small object
//! fade over a chunk's last frames (or a growing one's first); those frames are drawn again beside
//! the good ones ([`redraw_noise`], `chunks::draw_shots`).
//!
//! A frame's background is estimated row by row (the scenes are vertical gradients and an object
//! covers well under half a row); an object is visible when enough pixels of the disc the planner
//! gave it stand out from that background.

use candle_core::Tensor;
use candor_diffusion::layout::PlannedObject;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};

use crate::Result;

/// A pixel stands out from its row's background when its R, G and B differ from it by this much
/// in total (0–765).
const STANDS_OUT: u32 = 90;
/// Share of an object's planned disc (inside the frame) that must stand out: a star or a
/// triangle covers about a third of the disc around it, and the model may draw it a pixel or two
/// off its plan.
const MIN_SHARE: f32 = 0.2;
/// …and never fewer pixels than this.
const MIN_PIXELS: usize = 4;
/// Two objects planned at least this far apart (pixels between their discs) must be drawn apart.
const MIN_WAY: f32 = 2.0;
/// A standing region reaching from one object to another counts as a bridge only while it covers
/// at most this share of the frame (`NUM / DEN`); past it the background estimate has failed.
const MAX_BRIDGED_SHARE_NUM: usize = 2;
const MAX_BRIDGED_SHARE_DEN: usize = 5;
/// …and only when it fills less than this share of its bounding box (one sprawling shape).
const SPRAWL_FILL: f32 = 0.35;
/// A largest standing region smaller than this (pixels) is speckle, whatever its outline.
const MIN_REGION: usize = 6;
/// Discs smaller than this radius (pixels at the model's size) are not checked: nothing that
/// small is planned, and a sliver at the frame's edge says nothing.
const MIN_RADIUS: f32 = 1.5;

/// Indices into `frames` (RGB24, `size`×`size`, frame `i` being frame `first + i` of the plan's
/// shot) of the frames where an object of `plan` is not visible, or where two objects planned
/// apart were drawn into one blob: the way between them stands out all along, or standing
/// pixels lead from one to the other by any way and sprawl over a box they barely fill (a viewer
/// sees one shape of mixed colour; two objects merely touching side by side still read as two).
pub fn faded_frames(
    frames: &[Vec<u8>],
    size: usize,
    plan: &[PlannedObject],
    first: usize,
) -> Vec<usize> {
    frames
        .iter()
        .enumerate()
        .filter(|(i, rgb)| {
            // A buffer too short for the size says nothing either way.
            let Some(frame) = Frame::new(rgb, size) else {
                return false;
            };
            let at: Vec<(f32, f32, f32)> = plan
                .iter()
                .filter_map(|p| p.track.positions.get(first + i).copied())
                .collect();
            at.iter().any(|&(cx, cy, r)| !frame.visible(cx, cy, r))
                || frame.sprawls()
                || at
                    .iter()
                    .enumerate()
                    .any(|(k, &a)| at[k + 1..].iter().any(|&b| frame.joined(a, b)))
        })
        .map(|(i, _)| i)
        .collect()
}

/// One frame and its background: each row's median colour, computed once for every check.
struct Frame<'a> {
    rgb: &'a [u8],
    size: usize,
    medians: Vec<[u8; 3]>,
}

impl<'a> Frame<'a> {
    fn new(rgb: &'a [u8], size: usize) -> Option<Self> {
        if size == 0 || rgb.len() < size * size * 3 {
            return None;
        }
        let medians = (0..size)
            .map(|y| {
                let row = &rgb[y * size * 3..(y + 1) * size * 3];
                [0, 1, 2].map(|c| {
                    let mut v: Vec<u8> = (0..size).map(|x| row[x * 3 + c]).collect();
                    v.sort_unstable();
                    v[size / 2]
                })
            })
            .collect();
        Some(Self { rgb, size, medians })
    }

    /// Whether the pixel at (`x`, `y`) stands out from its row's background.
    fn stands_out(&self, x: usize, y: usize) -> bool {
        let p = (y * self.size + x) * 3;
        let d: u32 = (0..3)
            .map(|c| u32::from(self.rgb[p + c].abs_diff(self.medians[y][c])))
            .sum();
        d > STANDS_OUT
    }

    /// Whether the disc at (`cx`, `cy`) of radius `r` stands out from the background.
    fn visible(&self, cx: f32, cy: f32, r: f32) -> bool {
        if r < MIN_RADIUS || !r.is_finite() {
            return true;
        }
        let size = self.size;
        let (mut inside, mut standing) = (0usize, 0usize);
        let rows =
            (cy - r).floor().max(0.0) as usize..((cy + r).ceil().max(0.0) as usize).min(size);
        for y in rows {
            for x in 0..size {
                let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
                if dx * dx + dy * dy <= r * r {
                    inside += 1;
                    standing += usize::from(self.stands_out(x, y));
                }
            }
        }
        // Off the frame: nothing to see, nothing missing.
        inside == 0 || standing >= MIN_PIXELS.max((MIN_SHARE * inside as f32).ceil() as usize)
    }

    /// Whether what stands out is not what any plan puts there: over half the frame, or one
    /// 4-connected region over [`MAX_BRIDGED_SHARE_NUM`]`/`[`MAX_BRIDGED_SHARE_DEN`] of it, or a
    /// largest region that fills less than [`SPRAWL_FILL`] of its box. The planner's objects
    /// together cover well under that (three of the largest, a quarter), and each fills half its
    /// box or more; a frame past it shows speckle and halo run into a shape with no outline,
    /// objects planned close run together, or noise.
    fn sprawls(&self) -> bool {
        let size = self.size;
        let standing: Vec<bool> = (0..size * size)
            .map(|p| self.stands_out(p % size, p / size))
            .collect();
        let limit = MAX_BRIDGED_SHARE_NUM * size * size;
        if 2 * standing.iter().filter(|&&s| s).count() > size * size {
            return true;
        }
        let mut seen = vec![false; size * size];
        let mut largest: Vec<usize> = Vec::new();
        for start in 0..size * size {
            if !standing[start] || seen[start] {
                continue;
            }
            seen[start] = true;
            let region = flood(vec![start], size, &mut seen, |q| standing[q]);
            if region.len() * MAX_BRIDGED_SHARE_DEN > limit {
                return true;
            }
            if region.len() > largest.len() {
                largest = region;
            }
        }
        if largest.len() < MIN_REGION {
            return false;
        }
        box_fill(&largest, size) < SPRAWL_FILL
    }

    /// Whether discs `a` and `b` were drawn into one blob: the pixels standing out inside `a`
    /// reach those inside `b` through standing pixels (4-connected), whatever way the bridge
    /// takes, or every pixel on the straight way between them stands out. Discs that touch or
    /// overlap in the plan are not checked, nor a way shorter than [`MIN_WAY`] pixels.
    fn joined(&self, a: (f32, f32, f32), b: (f32, f32, f32)) -> bool {
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let d = (dx * dx + dy * dy).sqrt();
        let way = d - a.2 - b.2;
        if !way.is_finite() || way < MIN_WAY {
            return false;
        }
        let (ux, uy) = (dx / d, dy / d);
        let samples = (way * 2.0).ceil() as usize;
        let side = self.size as f32;
        let straight = (0..=samples).all(|k| {
            let t = a.2 + way * k as f32 / samples as f32;
            let (x, y) = (a.0 + ux * t, a.1 + uy * t);
            x >= 0.0 && y >= 0.0 && x < side && y < side && self.stands_out(x as usize, y as usize)
        });
        straight || self.connected(a, b)
    }

    /// Whether a 4-connected path of standing pixels leads from a standing pixel inside disc `a`
    /// to one inside disc `b`. A blob that spreads over most of the frame is not a bridge between
    /// two objects but a background the row medians do not describe (two large objects side by
    /// side fill most of their rows): not called joined.
    fn connected(&self, a: (f32, f32, f32), b: (f32, f32, f32)) -> bool {
        let size = self.size;
        let inside = |p: usize, (cx, cy, r): (f32, f32, f32)| {
            let (x, y) = ((p % size) as f32 + 0.5, (p / size) as f32 + 0.5);
            (x - cx).powi(2) + (y - cy).powi(2) <= r * r
        };
        let standing = |p: usize| self.stands_out(p % size, p / size);
        let mut seen = vec![false; size * size];
        let seeds: Vec<usize> = (0..size * size)
            .filter(|&p| inside(p, a) && standing(p))
            .collect();
        for &p in &seeds {
            seen[p] = true;
        }
        let queue = flood(seeds, size, &mut seen, standing);
        let reached = queue.iter().any(|&p| inside(p, b));
        if !reached || queue.len() * MAX_BRIDGED_SHARE_DEN > MAX_BRIDGED_SHARE_NUM * size * size {
            return false;
        }
        // Two objects side by side make a compact shape a viewer still reads as two; joined
        // across a corner or by a thread they sprawl over a box they barely fill.
        box_fill(&queue, size) < SPRAWL_FILL
    }
}

/// The share of its bounding box that a region of a `size`-wide frame fills.
fn box_fill(region: &[usize], size: usize) -> f32 {
    let (xs, ys) = (
        region.iter().map(|p| p % size),
        region.iter().map(|p| p / size),
    );
    let (x0, x1) = (xs.clone().min().unwrap_or(0), xs.max().unwrap_or(0));
    let (y0, y1) = (ys.clone().min().unwrap_or(0), ys.max().unwrap_or(0));
    region.len() as f32 / ((x1 - x0 + 1) * (y1 - y0 + 1)) as f32
}

/// The 4-connected region of a `size`-wide frame's pixels for which `keep` holds, grown from
/// `seeds` (already marked in `seen`, as is every pixel it takes).
fn flood(
    seeds: Vec<usize>,
    size: usize,
    seen: &mut [bool],
    keep: impl Fn(usize) -> bool,
) -> Vec<usize> {
    let mut region = seeds;
    let mut i = 0;
    while let Some(&p) = region.get(i) {
        i += 1;
        let (x, y) = (p % size, p / size);
        let next = [
            (x > 0).then(|| p - 1),
            (x + 1 < size).then(|| p + 1),
            (y > 0).then(|| p - size),
            (y + 1 < size).then(|| p + size),
        ];
        for q in next.into_iter().flatten() {
            if !seen[q] && keep(q) {
                seen[q] = true;
                region.push(q);
            }
        }
    }
    region
}

/// `noise` (`[F, C, h, w]`) with the magnitudes of `frames` drawn afresh from `seed`, every
/// element keeping its sign. The watermark decides the signs and chance the magnitudes
/// (`candor_watermark::embed`), so the new noise carries the same mark, exactly N(0, 1) as before.
pub fn redraw_noise(noise: &Tensor, frames: &[usize], seed: u64) -> Result<Tensor> {
    let dims = noise.dims().to_vec();
    let per_frame: usize = dims.iter().skip(1).product();
    let mut values: Vec<f32> = noise.flatten_all()?.to_vec1()?;
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
    for &f in frames {
        let Some(frame) = values.get_mut(f * per_frame..(f + 1) * per_frame) else {
            continue;
        };
        for v in frame {
            let magnitude: f32 = StandardNormal.sample(&mut rng);
            *v = if v.is_sign_negative() {
                -magnitude.abs()
            } else {
                magnitude.abs()
            };
        }
    }
    Ok(Tensor::from_vec(values, dims, noise.device())?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;
    use candor_diffusion::data::{Motion, Track};
    use candor_diffusion::layout::NamedObject;

    fn plan(positions: Vec<(f32, f32, f32)>) -> PlannedObject {
        PlannedObject {
            object: NamedObject {
                colour: Some("red".into()),
                shape: Some("circle".into()),
                motion: None,
            },
            motion: Motion::Right,
            motion_from_prompt: true,
            colour_from_prompt: true,
            held_colour: None,
            track: Track {
                colour: [1.0, 0.0, 0.0],
                shape: "circle".into(),
                positions,
            },
        }
    }

    /// A grey 32×32 frame with a red disc at (`cx`, `cy`) of radius `r` (none when `r` is 0).
    fn frame(cx: f32, cy: f32, r: f32) -> Vec<u8> {
        let mut f = vec![120u8; 32 * 32 * 3];
        for y in 0..32 {
            for x in 0..32 {
                let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
                if dx * dx + dy * dy <= r * r {
                    f[(y * 32 + x) * 3..(y * 32 + x) * 3 + 3].copy_from_slice(&[230, 30, 30]);
                }
            }
        }
        f
    }

    #[test]
    fn a_frame_whose_object_faded_is_found_and_only_it() {
        let p = plan((0..4).map(|i| (8.0 + 4.0 * i as f32, 16.0, 5.0)).collect());
        let frames = vec![
            frame(8.0, 16.0, 5.0),
            frame(12.0, 16.0, 5.0),
            frame(16.0, 16.0, 0.0), // faded away
            frame(21.0, 17.0, 5.0), // a pixel off its plan: still there
        ];
        assert_eq!(
            faded_frames(&frames, 32, std::slice::from_ref(&p), 0),
            vec![2]
        );
        // Frame indices are relative to `first`: the same frames later in the shot.
        let mut positions = vec![(8.0, 16.0, 5.0); 6];
        positions[5] = (26.0, 16.0, 5.0);
        let later = plan(positions);
        assert!(faded_frames(&frames[..1], 32, std::slice::from_ref(&later), 0).is_empty());
        assert_eq!(faded_frames(&frames[..1], 32, &[later], 5), vec![0]);
    }

    #[test]
    fn two_objects_planned_apart_but_drawn_into_one_blob_are_found() {
        // On a diagonal, so that no row is mostly object (the background is a row's median).
        let red = plan(vec![(8.0, 8.0, 4.0); 3]);
        let blue = plan(vec![(24.0, 24.0, 4.0); 3]);
        let apart = {
            let mut f = frame(8.0, 8.0, 4.0);
            let other = frame(24.0, 24.0, 4.0);
            for (p, q) in f.iter_mut().zip(&other) {
                *p = (*p).max(*q);
            }
            f
        };
        // The same two discs with a band of colour between them.
        let mut bridged = apart.clone();
        for t in 8..25 {
            for (x, y) in [(t, t), (t + 1, t), (t, t + 1)] {
                if x < 32 && y < 32 {
                    bridged[(y * 32 + x) * 3..(y * 32 + x) * 3 + 3].copy_from_slice(&[230, 30, 30]);
                }
            }
        }
        // The same discs joined by a thin bridge beside the straight way, four pixels off it
        // (nothing on the way between the centres stands out).
        let mut round = apart.clone();
        for t in 7..21 {
            for (x, y) in [(t + 4, t), (t + 5, t)] {
                round[(y * 32 + x) * 3..(y * 32 + x) * 3 + 3].copy_from_slice(&[230, 30, 30]);
            }
        }
        let both = [red, blue];
        // Both objects are visible in all frames: what is found is the join (and, planned or
        // not, the sprawl of the band).
        assert!(Frame::new(&bridged, 32).is_some_and(|f| {
            f.visible(8.0, 8.0, 4.0)
                && f.visible(24.0, 24.0, 4.0)
                && f.joined((8.0, 8.0, 4.0), (24.0, 24.0, 4.0))
        }));
        assert!(!Frame::new(&apart, 32).is_some_and(|f| f.sprawls()));
        assert_eq!(
            faded_frames(&[apart.clone(), bridged, round], 32, &both, 0),
            vec![1, 2]
        );
        // A frame standing out nearly everywhere (the row medians failed) is not called joined.
        let mut flooded = apart;
        for y in 0..32 {
            for x in 0..20 {
                flooded[(y * 32 + x) * 3..(y * 32 + x) * 3 + 3].copy_from_slice(&[230, 30, 30]);
            }
        }
        assert!(!Frame::new(&flooded, 32)
            .is_some_and(|f| f.connected((8.0, 8.0, 4.0), (24.0, 24.0, 4.0))));
    }

    #[test]
    fn a_frame_standing_out_far_past_its_plan_is_found() {
        let p = plan(vec![(16.0, 16.0, 5.0); 3]);
        let clean = frame(16.0, 16.0, 5.0);
        // Speckle: a pixel in four of every fourth row stands out (no region is large).
        let mut speckled = clean.clone();
        // Noise: a third of each row darker than the rest, a third lighter (two thirds stand out).
        let mut noisy = clean.clone();
        // The object with a halo run into one shape over 42 % of the frame, under half of each
        // row (each row's median is still the background).
        let mut haloed = clean.clone();
        for y in 0..32 {
            for x in 0..32 {
                let at = (y * 32 + x) * 3;
                if (x + y) % 4 == 0 && y % 4 == 0 {
                    speckled[at..at + 3].copy_from_slice(&[40, 220, 40]);
                }
                match x % 3 {
                    0 => noisy[at..at + 3].copy_from_slice(&[0, 0, 0]),
                    2 => noisy[at..at + 3].copy_from_slice(&[255, 255, 255]),
                    _ => {}
                }
                if y >= 3 && x < 15 {
                    haloed[at..at + 3].copy_from_slice(&[40, 220, 40]);
                }
            }
        }
        // The object run into a second one across a corner: an L over a box it barely fills.
        let mut cornered = clean.clone();
        for t in 0..13 {
            for (x, y) in [(16, 21 + t.min(7)), (16 + t, 28)] {
                let at = (y * 32 + x) * 3;
                cornered[at..at + 3].copy_from_slice(&[230, 30, 30]);
            }
        }
        let frames = [clean, speckled, noisy, haloed, cornered];
        assert_eq!(faded_frames(&frames, 32, &[p], 0), vec![2, 3, 4]);
        let sprawls: Vec<bool> = frames
            .iter()
            .map(|f| Frame::new(f, 32).is_some_and(|f| f.sprawls()))
            .collect();
        assert_eq!(sprawls, [false, false, true, true, true]);
    }

    #[test]
    fn off_frame_tiny_and_unplanned_objects_are_not_called_faded() {
        let grey = frame(0.0, 0.0, 0.0);
        let off = plan(vec![(-20.0, 16.0, 5.0), (16.0, 16.0, 1.0)]);
        assert!(faded_frames(&[grey.clone(), grey.clone()], 32, &[off], 0).is_empty());
        // A frame past the plan's end, a short buffer, no plan: nothing to check.
        let short = plan(vec![(16.0, 16.0, 5.0)]);
        assert!(faded_frames(&[grey.clone(), grey.clone()], 32, &[short], 1).is_empty());
        assert!(faded_frames(&[vec![0u8; 10]], 32, &[plan(vec![(16.0, 16.0, 5.0)])], 0).is_empty());
        assert!(faded_frames(&[grey], 32, &[], 0).is_empty());
    }

    #[test]
    fn redrawn_noise_keeps_every_sign_changes_only_the_frames_asked_and_is_deterministic(
    ) -> Result<()> {
        let dev = Device::Cpu;
        let noise = Tensor::randn(0f32, 1.0, (3, 2, 4, 4), &dev)?;
        let a = redraw_noise(&noise, &[1, 7], 42)?;
        let b = redraw_noise(&noise, &[1, 7], 42)?;
        let (n, a, b): (Vec<f32>, Vec<f32>, Vec<f32>) = (
            noise.flatten_all()?.to_vec1()?,
            a.flatten_all()?.to_vec1()?,
            b.flatten_all()?.to_vec1()?,
        );
        assert_eq!(a, b);
        for (i, (x, y)) in n.iter().zip(&a).enumerate() {
            assert_eq!(x.is_sign_negative(), y.is_sign_negative(), "element {i}");
            if (32..64).contains(&i) {
                assert_ne!(x, y, "frame 1 is drawn afresh");
            } else {
                assert_eq!(x, y, "other frames are kept");
            }
        }
        Ok(())
    }
}
