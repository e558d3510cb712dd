//! The spatial tamper map: agreement per block of latent pixels, and the blocks whose mark was
//! replaced (foreign content, or a region pasted from another clip of the same key).

use super::observe::{ObservedFrame, PilotsVsCodeword};
use super::thresholds::{SPLICE_BLOCK_Z, SPLICE_WINDOW_Z};
use super::{DetectOptions, FrameMatch, SpatialMap};
use crate::keystream::{bit, Layout};
use crate::shape::LatentShape;

/// The tamper map's blocks, and the block of each counted layout position.
pub(super) struct BlockGrid {
    block: usize,
    height: usize,
    width: usize,
    /// Block of layout position `j`, `None` where it is not counted.
    of: Vec<Option<usize>>,
    /// First layout position of pilot B.
    pilot_b_start: usize,
}

impl BlockGrid {
    pub(super) fn new(
        layout: &Layout,
        len: usize,
        shape: LatentShape,
        options: &DetectOptions,
        counted: &dyn Fn(usize) -> bool,
    ) -> Self {
        let (h, w) = (shape.height, shape.width);
        let block = options.block.unwrap_or((h.min(w) / 8).max(1)).max(1);
        let (height, width) = (h.div_ceil(block), w.div_ceil(block));
        let [y0, y1, x0, x1] = options.observed_area.unwrap_or([0, h, 0, w]);
        let of = layout.order[..len]
            .iter()
            .enumerate()
            .map(|(j, &e)| {
                let e = e as usize;
                let (y, x) = ((e / w) % h, e % w);
                let observed = (y0..y1).contains(&y) && (x0..x1).contains(&x);
                (observed && counted(j)).then_some((y / block) * width + x / block)
            })
            .collect();
        Self {
            block,
            height,
            width,
            of,
            pilot_b_start: layout.pilot_a,
        }
    }
}

/// Agreement counts of one block or window.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Tally {
    /// All counted elements.
    agree: u32,
    count: u32,
    /// Pilot B elements (never used to choose frames or channels, so free of selection bias)
    /// against codeword elements (only when the payload was decoded).
    split: PilotsVsCodeword,
}

impl Tally {
    pub(super) fn add(&mut self, other: &Tally) {
        self.agree += other.agree;
        self.count += other.count;
        self.split.add(&other.split);
    }

    pub(super) fn agreement(&self) -> f32 {
        if self.count == 0 {
            f32::NAN
        } else {
            self.agree as f32 / self.count as f32
        }
    }
}

/// The tamper map. A region is called edited only when it carries no mark of this clip: its
/// agreement is at chance (foreign content), or its pilots agree while its codeword does not
/// (another clip made with the same key). Agreement that is merely lower than elsewhere is not
/// evidence: how well the mark survives depends on the content (measured on the default model:
/// blocks of untouched clips range from 0.57 to 0.79 around a median of 0.71, with whole regions
/// lower where the picture is smooth), so a threshold relative to the clip's level flagged 2 of
/// 27 untouched clips.
pub(super) fn spatial_map(
    frames: &[ObservedFrame],
    matches: &[FrameMatch],
    expected: &[Vec<u64>],
    grid: &BlockGrid,
    data_start: usize,
) -> Option<SpatialMap> {
    let (block, gh, gw) = (grid.block, grid.height, grid.width);
    let cells = gh * gw;
    let mut total = vec![Tally::default(); cells];
    let mut per_frame = Vec::with_capacity(frames.len());
    // A template is counted once: a frame repeated (by a frame-rate conversion, say) carries the
    // same evidence again, and counting it twice would make chance differences look significant.
    let mut counted = std::collections::HashSet::new();
    for (obs, m) in frames.iter().zip(matches) {
        let Some(t) = m.template else {
            per_frame.push(Vec::new());
            continue;
        };
        let first = counted.insert(t);
        let mut tally = vec![Tally::default(); cells];
        for (j, b) in grid.of.iter().enumerate() {
            let Some(b) = *b else { continue };
            let agrees = u32::from(bit(&obs.signs, j) == bit(&expected[t], j));
            let cell = &mut tally[b];
            cell.count += 1;
            cell.agree += agrees;
            if j >= data_start {
                cell.split.data_count += 1;
                cell.split.data_agree += agrees as usize;
            } else if j >= grid.pilot_b_start {
                cell.split.pilot_count += 1;
                cell.split.pilot_agree += agrees as usize;
            }
        }
        per_frame.push(tally.iter().map(Tally::agreement).collect());
        if !first {
            continue;
        }
        for (sum, cell) in total.iter_mut().zip(&tally) {
            sum.add(cell);
        }
    }
    if total.iter().all(|c| c.count == 0) {
        return None;
    }
    let agreement: Vec<f32> = total.iter().map(Tally::agreement).collect();
    // The clip's own agreement level: the median block (robust to the edited minority).
    let mut sorted: Vec<f32> = agreement
        .iter()
        .copied()
        .filter(|a| a.is_finite())
        .collect();
    sorted.sort_by(f32::total_cmp);
    let level = sorted.get(sorted.len() / 2).copied().unwrap_or(0.5);
    // At chance: within 3 sd of 0.5 (a foreign region stays below 99.87 % of the time) and within
    // a quarter of the way from chance to the clip's level; and the clip itself clearly marked.
    let at_chance = |t: &Tally, sigmas: f32| -> bool {
        if t.count == 0 {
            return false;
        }
        let sd = 0.5 / (t.count as f32).sqrt();
        let a = t.agreement();
        level > 0.5 + 8.0 * sd && a < 0.5 + sigmas * sd && a < 0.5 + (level - 0.5) / 4.0
    };
    // 2×2 windows of blocks pool four blocks' evidence: an edited region that covers a window
    // shows clearly there, while one block's noise does not.
    let window = |wy: usize, wx: usize| -> Tally {
        let mut sum = Tally::default();
        for y in wy..(wy + 2).min(gh) {
            for x in wx..(wx + 2).min(gw) {
                sum.add(&total[y * gw + x]);
            }
        }
        sum
    };
    let (wh, ww) = (gh.saturating_sub(1).max(1), gw.saturating_sub(1).max(1));
    let windows: Vec<(bool, bool)> = (0..wh * ww)
        .map(|i| {
            let w = window(i / ww, i % ww);
            (
                at_chance(&w, 3.0),
                w.split.looks_like_another_clip(SPLICE_WINDOW_Z),
            )
        })
        .collect();
    let cut = 0.5 + (level - 0.5) / 2.0;
    // A block leans towards "replaced": nearer chance than the clip's level, or its pilots
    // clearly ahead of its codeword. Alone that is no evidence (smooth content does the first).
    let leans = |cell: &Tally, chance: bool, spliced: bool| {
        chance && cell.agreement() < cut || spliced && cell.split.gap_z() >= 2.0
    };
    let seeds: Vec<bool> = (0..cells)
        .map(|b| {
            let cell = &total[b];
            if cell.count == 0 {
                return false;
            }
            // One block replaced on its own evidence…
            if at_chance(cell, 2.0) && cell.agreement() < 0.5 + (level - 0.5) / 8.0
                || cell.split.looks_like_another_clip(SPLICE_BLOCK_Z)
            {
                return true;
            }
            // …or a block that leans the same way inside a window edited as a whole.
            let (y, x) = (b / gw, b % gw);
            (y.saturating_sub(1)..=y.min(wh - 1)).any(|wy| {
                (x.saturating_sub(1)..=x.min(ww - 1)).any(|wx| {
                    let (chance, spliced) = windows[wy * ww + wx];
                    leans(cell, chance, spliced)
                })
            })
        })
        .collect();
    // An edit rarely follows the block grid: the blocks it only partly covers are mixed, so no
    // window through them is judged. One ring around the judged blocks takes those that lean.
    let tampered = (0..cells)
        .map(|b| {
            let (y, x) = (b / gw, b % gw);
            seeds[b]
                || total[b].count > 0
                    && leans(&total[b], true, true)
                    && (y.saturating_sub(1)..=(y + 1).min(gh - 1)).any(|ny| {
                        (x.saturating_sub(1)..=(x + 1).min(gw - 1)).any(|nx| seeds[ny * gw + nx])
                    })
        })
        .collect();
    Some(SpatialMap {
        block,
        grid_height: gh,
        grid_width: gw,
        agreement,
        tampered,
        per_frame,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::panic)]
    use super::*;
    use crate::key::WatermarkKey;
    use crate::keystream::template_bits;
    use rand::{Rng, SeedableRng};

    /// Frames that carry their template everywhere except in the top-left quarter, where the
    /// signs are coins (foreign content).
    #[test]
    fn a_foreign_region_is_mapped_where_it_is() {
        let key = WatermarkKey::new(&[9; 32]);
        let shape = LatentShape::new(6, 4, 32, 32);
        let n = shape.frame_len();
        let layout = Layout::new(&key, n, crate::code::CODE_BITS);
        let expected: Vec<Vec<u64>> = (0..6).map(|t| template_bits(&key, n, t)).collect();
        let mut rng = rand::rngs::StdRng::seed_from_u64(4);
        let frames: Vec<ObservedFrame> = (0..6)
            .map(|t| {
                let mut raw = vec![0f32; n];
                for (j, &e) in layout.order.iter().enumerate() {
                    let e = e as usize;
                    let (y, x) = ((e / 32) % 32, e % 32);
                    let negative = if y < 16 && x < 16 {
                        rng.gen::<bool>()
                    } else {
                        // 85 % agreement elsewhere.
                        bit(&expected[t as usize], j) ^ (rng.gen::<f32>() < 0.15)
                    };
                    raw[e] = if negative { -1.0 } else { 1.0 };
                }
                ObservedFrame::new(&raw, &layout)
            })
            .collect();
        let matches: Vec<FrameMatch> = (0..6)
            .map(|o| FrameMatch {
                observed: o,
                template: Some(o),
                agreement: 0.8,
                z: 20.0,
                unreadable: false,
            })
            .collect();
        let options = DetectOptions::default();
        let grid = BlockGrid::new(&layout, layout.code_start(), shape, &options, &|_| true);
        assert_eq!((grid.block, grid.height, grid.width), (4, 8, 8));
        let Some(map) = spatial_map(&frames, &matches, &expected, &grid, layout.code_start())
        else {
            panic!("no map")
        };
        let flagged: Vec<(usize, usize)> = (0..64)
            .filter(|&b| map.tampered[b])
            .map(|b| (b / 8, b % 8))
            .collect();
        assert!(!flagged.is_empty());
        // Every flagged block touches the replaced quarter (blocks 0..4 in each direction, plus
        // at most the ring around it), and most of the quarter is flagged.
        assert!(
            flagged.iter().all(|&(y, x)| y <= 4 && x <= 4),
            "{flagged:?}"
        );
        let inside = flagged.iter().filter(|&&(y, x)| y < 4 && x < 4).count();
        assert!(inside >= 12, "{flagged:?}");
        assert!(map.agreement[63] > 0.8 && map.agreement[0] < 0.6);
    }

    #[test]
    fn tallies_add_and_have_no_agreement_when_empty() {
        let mut t = Tally::default();
        assert!(t.agreement().is_nan());
        t.add(&Tally {
            agree: 3,
            count: 4,
            split: PilotsVsCodeword::default(),
        });
        assert_eq!(t.agreement(), 0.75);
    }
}
