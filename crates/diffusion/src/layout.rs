//! Layout: where each object the prompt names is, frame by frame, as occupancy maps the denoiser
//! is conditioned on.
//!
//! Training clips carry their true object tracks. At generation time a planner reads the prompt
//! ("a red circle moving left and a blue star growing"), draws a path for each object from the
//! same distribution the training clips' paths come from, and renders it the same way. The
//! denoiser learns to put an object where its map says; what the object looks like (colour,
//! shape) and everything around it still comes from the prompt. This is layout-grounded
//! generation (a planner turns text into boxes, the diffusion model draws them): a tiny model
//! cannot learn "moving left means column 6 in frame 3" from a pooled prompt vector alone — the
//! first release followed the requested direction in a quarter of its clips.

use rand::Rng;

use crate::data::{track, Motion, ObjectSpec, Track, COLOURS, SHAPES};
use crate::prompt::{vocabulary, Tokens};
use crate::unet::LayoutConfig;

/// The most objects a layout can hold (a model's `LayoutConfig::slots` says how many it has).
pub const MAX_SLOTS: usize = 3;

/// Latent cells per side of a pixel frame (the Haar codec's 4×4 blocks).
const CELL: usize = crate::codec::HAAR_BLOCK;

/// An object the prompt names, with its motion when the prompt says one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedObject {
    pub colour: Option<String>,
    pub shape: Option<String>,
    pub motion: Option<Motion>,
}

/// The objects a prompt names, in order: words between "and"s that include a colour or a shape.
pub fn objects_in(tokens: &Tokens) -> Vec<NamedObject> {
    let vocab = vocabulary();
    let mut objects = Vec::new();
    let mut words: Vec<&str> = Vec::new();
    let mut flush = |words: &mut Vec<&str>| {
        let colour = words
            .iter()
            .find(|w| COLOURS.iter().any(|(c, _)| c == *w))
            .map(|w| w.to_string());
        let shape = words
            .iter()
            .find(|w| SHAPES.contains(w))
            .map(|w| w.to_string());
        if colour.is_some() || shape.is_some() {
            objects.push(NamedObject {
                colour,
                shape,
                motion: motion_of(words),
            });
        }
        words.clear();
    };
    for &id in tokens.ids.iter().filter(|&&id| id != 0) {
        match vocab.get(id as usize).map(String::as_str) {
            Some("and") => flush(&mut words),
            Some(word) => words.push(word),
            None => {}
        }
    }
    flush(&mut words);
    objects
}

/// The motion named by a group of words ("up left", "bouncing"), if any: a change of size or a
/// bounce first (one word each), else the direction whose signs the direction words give.
fn motion_of(words: &[&str]) -> Option<Motion> {
    let has = |w: &str| words.contains(&w);
    let sign = |v: f32| i32::from(v > 0.0) - i32::from(v < 0.0);
    let wanted = (
        i32::from(has("right")) - i32::from(has("left")),
        i32::from(has("down")) - i32::from(has("up")),
    );
    let (still, moving): (Vec<Motion>, Vec<Motion>) = Motion::ALL
        .into_iter()
        .partition(|m| m.direction() == (0.0, 0.0));
    still.into_iter().find(|m| has(m.phrase())).or_else(|| {
        moving.into_iter().find(|m| {
            let (dx, dy) = m.direction();
            (sign(dx), sign(dy)) == wanted
        })
    })
}

/// An object the planner placed: what the prompt called it, how it moves and where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedObject {
    pub object: NamedObject,
    pub motion: Motion,
    /// `false` when the prompt named no motion for it and the planner drew one.
    pub motion_from_prompt: bool,
    pub track: Track,
}

impl PlannedObject {
    /// "red circle: moving left", "square: bouncing (no motion in the prompt: drawn from the seed)".
    pub fn describe(&self) -> String {
        let name: Vec<&str> = [self.object.colour.as_deref(), self.object.shape.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        let how = if self.motion_from_prompt {
            self.motion.phrase().to_string()
        } else {
            format!(
                "{} (no motion in the prompt: drawn from the seed)",
                self.motion.phrase()
            )
        };
        format!("{}: {how}", name.join(" "))
    }
}

/// The smallest radius the planner gives an object, as a share of the frame (training's moving
/// objects are 13–18 %, its growing and shrinking ones 8–28 %).
pub const MIN_PLANNED_RADIUS: f32 = 0.12;

/// Paths for the prompt's objects (at most `slots`); an object without a motion gets one drawn
/// from `rng`, as does its start, speed and size.
pub fn plan<R: Rng>(
    tokens: &Tokens,
    slots: usize,
    frames: usize,
    size: usize,
    rng: &mut R,
) -> Vec<PlannedObject> {
    plan_objects(objects_in(tokens), slots, frames, size, rng)
}

/// Paths for objects named some other way (a prompt reader's); as [`plan`].
pub fn plan_objects<R: Rng>(
    objects: Vec<NamedObject>,
    slots: usize,
    frames: usize,
    size: usize,
    rng: &mut R,
) -> Vec<PlannedObject> {
    objects
        .into_iter()
        .take(slots)
        .map(|object| {
            let motion = object
                .motion
                .unwrap_or_else(|| Motion::ALL[rng.gen_range(0..Motion::ALL.len())]);
            let spec = ObjectSpec {
                colour: object.colour.clone().unwrap_or_else(|| "white".into()),
                shape: object.shape.clone().unwrap_or_else(|| "circle".into()),
                motion,
            };
            let mut track = track(&spec, frames, size as f32, rng);
            // Training draws a size change from 8 % of the frame; at 32 latent pixels that first
            // (or last) eighth of a shrinking or growing clip is a speck the model often leaves
            // out. The plan keeps the smallest end at the size of the smallest moving object.
            let smallest = MIN_PLANNED_RADIUS * size as f32;
            for p in &mut track.positions {
                p.2 = p.2.max(smallest);
            }
            PlannedObject {
                motion_from_prompt: object.motion.is_some(),
                object,
                motion,
                track,
            }
        })
        .collect()
}

/// Slows a straight path that would leave the frame until it fits, when that keeps it at least
/// `min_speed` pixels a frame: a "rising" star over 3 s rises across the frame for all 3 s
/// instead of turning back at the top. The path is centred in the room it has along each axis it
/// moves on. Returns false (and leaves the path as it was) when the path is not a straight one,
/// already fits, or would have to be slower than `min_speed`.
pub fn slow_to_fit(track: &mut Track, size: f32, min_speed: f32) -> bool {
    let p = &track.positions;
    let (Some(&(x0, y0, r)), Some(&(x1, y1, r1))) = (p.first(), p.get(1)) else {
        return false;
    };
    let (vx, vy) = (x1 - x0, y1 - y0);
    let speed = (vx * vx + vy * vy).sqrt();
    let n = p.len();
    let straight = (r - r1).abs() < 1e-4
        && speed > 0.0
        && p.iter().enumerate().all(|(i, &(x, y, ri))| {
            (x - (x0 + vx * i as f32)).abs() < 1e-3
                && (y - (y0 + vy * i as f32)).abs() < 1e-3
                && (ri - r).abs() < 1e-4
        });
    if !straight {
        return false;
    }
    let room = size - 2.0 * r;
    let steps = (n - 1) as f32;
    let fits = |v: f32, start: f32| {
        let end = start + v * steps;
        start.min(end) >= r - 1e-3 && start.max(end) <= size - r + 1e-3
    };
    if fits(vx, x0) && fits(vy, y0) {
        return false;
    }
    let scale = [vx, vy]
        .iter()
        .filter(|v| v.abs() > 1e-6)
        .map(|v| (room / (v.abs() * steps)).min(1.0))
        .fold(1.0f32, f32::min);
    if room <= 0.0 || speed * scale < min_speed {
        return false;
    }
    let start = |v: f32, at: f32| -> f32 {
        if v.abs() <= 1e-6 {
            return at;
        }
        let travel = v.abs() * scale * steps;
        let margin = (room - travel) / 2.0;
        if v > 0.0 {
            r + margin
        } else {
            size - r - margin
        }
    };
    let (sx, sy) = (start(vx, x0), start(vy, y0));
    for (i, q) in track.positions.iter_mut().enumerate() {
        *q = (sx + vx * scale * i as f32, sy + vy * scale * i as f32, r);
    }
    true
}

/// Keeps a path inside the frame by reflecting it off the edges, as a ball on a table: a straight
/// motion longer than the frame allows turns back at the edge instead of leaving the picture (a
/// long clip's objects stay in view for its whole duration). A path already inside is unchanged.
pub fn fold_into_frame(track: &mut Track, size: f32) {
    let fold = |v: f32, r: f32| -> f32 {
        let (lo, hi) = (r, size - r);
        let span = hi - lo;
        if span <= 0.0 {
            return size / 2.0;
        }
        if (lo..=hi).contains(&v) {
            return v;
        }
        let u = (v - lo).rem_euclid(2.0 * span);
        lo + if u <= span { u } else { 2.0 * span - u }
    };
    for p in &mut track.positions {
        *p = (fold(p.0, p.2), fold(p.1, p.2), p.2);
    }
}

impl PlannedObject {
    /// What the layout tells the model about it: the colour and shape only when the prompt
    /// named them (the model chooses the rest).
    pub fn layout_object(&self) -> LayoutObject<'_> {
        LayoutObject {
            track: &self.track,
            colour: self.object.colour.is_some(),
            shape: self.object.shape.is_some(),
        }
    }
}

/// An object as the layout shows it: its path, and whether its colour and shape are given.
#[derive(Debug, Clone, Copy)]
pub struct LayoutObject<'a> {
    pub track: &'a Track,
    pub colour: bool,
    pub shape: bool,
}

impl<'a> LayoutObject<'a> {
    /// A training clip's object: everything known.
    pub fn known(track: &'a Track) -> Self {
        Self {
            track,
            colour: true,
            shape: true,
        }
    }
}

/// Layout maps `[frames, cfg.channels(), side, side]`, row-major (side = size / 4): per slot,
/// the share of each latent cell the object's disc covers (4×4 samples per pixel cell), then,
/// when `cfg.attributes`, that share times the object's RGB and times its shape's one-hot
/// (zero when not given). Empty slots are zero; objects beyond `cfg.slots` are left out.
pub fn maps(objects: &[LayoutObject], frames: usize, size: usize, cfg: LayoutConfig) -> Vec<f32> {
    let side = size / CELL;
    let plane = side * side;
    let per_slot = cfg.channels_per_slot();
    let channels = cfg.channels();
    let mut out = vec![0f32; frames * channels * plane];
    for (slot, o) in objects.iter().take(cfg.slots).enumerate() {
        let shape = SHAPES.iter().position(|s| *s == o.track.shape);
        for (f, &(cx, cy, r)) in o.track.positions.iter().take(frames).enumerate() {
            let cover = coverage(cx, cy, r, side);
            let base = (f * channels + slot * per_slot) * plane;
            out[base..base + plane].copy_from_slice(&cover);
            if !cfg.attributes {
                continue;
            }
            let mut put = |channel: usize, scale: f32| {
                let at = base + channel * plane;
                for (dst, c) in out[at..at + plane].iter_mut().zip(&cover) {
                    *dst = c * scale;
                }
            };
            if o.colour {
                for (k, v) in o.track.colour.iter().enumerate() {
                    put(1 + k, *v);
                }
            }
            if let (true, Some(s)) = (o.shape, shape) {
                put(4 + s, 1.0);
            }
        }
    }
    out
}

/// The share of each cell of a `side × side` grid (4-pixel cells) a disc covers.
fn coverage(cx: f32, cy: f32, r: f32, side: usize) -> Vec<f32> {
    let samples = 4;
    let per_cell = (CELL * samples) as f32;
    let mut out = vec![0f32; side * side];
    for gy in 0..side {
        for gx in 0..side {
            let mut inside = 0usize;
            for sy in 0..CELL * samples {
                for sx in 0..CELL * samples {
                    let px = (gx * CELL) as f32 + (sx as f32 + 0.5) / samples as f32;
                    let py = (gy * CELL) as f32 + (sy as f32 + 0.5) / samples as f32;
                    if (px - cx).powi(2) + (py - cy).powi(2) <= r * r {
                        inside += 1;
                    }
                }
            }
            out[gy * side + gx] = inside as f32 / (per_cell * per_cell);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prompt::tokenize;
    use rand::SeedableRng;

    #[test]
    fn objects_and_motions_are_read_from_the_prompt() {
        let objects = objects_in(&tokenize(
            "a red circle moving up left and the blue star growing, night scene",
        ));
        assert_eq!(
            objects,
            vec![
                NamedObject {
                    colour: Some("red".into()),
                    shape: Some("circle".into()),
                    motion: Some(Motion::UpLeft),
                },
                NamedObject {
                    colour: Some("blue".into()),
                    shape: Some("star".into()),
                    motion: Some(Motion::Growing),
                },
            ]
        );
        assert_eq!(objects_in(&tokenize("night scene")), vec![]);
        assert_eq!(objects_in(&tokenize("")), vec![]);
        let named = |p: &str| objects_in(&tokenize(p)).first().and_then(|o| o.motion);
        assert_eq!(
            named("red circle moving down right"),
            Some(Motion::DownRight)
        );
        assert_eq!(named("red circle moving left up"), Some(Motion::UpLeft));
        assert_eq!(named("red circle shrinking"), Some(Motion::Shrinking));
        assert_eq!(named("red circle bouncing left"), Some(Motion::Bouncing));
        assert_eq!(named("red circle moving left right"), None);
        let still = objects_in(&tokenize("a square"));
        assert_eq!(still.len(), 1);
        assert_eq!(still[0].motion, None);
    }

    #[test]
    fn a_path_a_little_too_long_is_slowed_to_cross_the_frame_once() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        let mut planned = plan(&tokenize("a blue star moving up"), 3, 24, 32, &mut rng);
        let track = &mut planned[0].track;
        let before = track.clone();
        assert!(slow_to_fit(track, 32.0, 0.5));
        let (first, last) = (track.positions[0], track.positions[23]);
        assert!(last.1 < first.1, "still rising");
        assert!(track
            .positions
            .iter()
            .all(|&(x, y, r)| y >= r - 1e-3 && y <= 32.0 - r + 1e-3 && (x - first.0).abs() < 1e-3));
        let step = |t: &Track| (t.positions[1].1 - t.positions[0].1).abs();
        assert!(step(track) < step(&before) && step(track) >= 0.5);
        // Too long to slow down that far: left for the reflection.
        let mut long = plan(&tokenize("a blue star moving up"), 3, 240, 32, &mut rng);
        let kept = long[0].track.clone();
        assert!(!slow_to_fit(&mut long[0].track, 32.0, 0.5));
        assert_eq!(long[0].track, kept);
        // Not a straight path: untouched.
        let mut growing = plan(&tokenize("a blue star growing"), 3, 24, 32, &mut rng);
        assert!(!slow_to_fit(&mut growing[0].track, 32.0, 0.5));
    }

    #[test]
    fn a_long_path_turns_back_at_the_edges_and_never_jumps() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let size = 32.0;
        let mut planned = plan(&tokenize("a red circle moving left"), 3, 240, 32, &mut rng);
        let inside = |t: &Track| {
            t.positions.iter().all(|&(x, y, r)| {
                x >= r - 1e-3 && x <= size - r + 1e-3 && y >= r - 1e-3 && y <= size - r + 1e-3
            })
        };
        assert!(
            !inside(&planned[0].track),
            "240 frames of straight travel leave the frame"
        );
        let before = planned[0].track.clone();
        fold_into_frame(&mut planned[0].track, size);
        let track = &planned[0].track;
        assert!(inside(track));
        // Consecutive positions move no further than the straight path did.
        let step = |t: &Track, i: usize| {
            let (a, b) = (t.positions[i], t.positions[i + 1]);
            ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt()
        };
        for i in 0..239 {
            assert!(step(track, i) <= step(&before, i) + 1e-3, "frame {i}");
        }
        // It starts the way the prompt says, and turns back at least once.
        assert!(track.positions[1].0 < track.positions[0].0);
        let turns = (1..239)
            .filter(|&i| {
                let d0 = track.positions[i].0 - track.positions[i - 1].0;
                let d1 = track.positions[i + 1].0 - track.positions[i].0;
                d0 * d1 < 0.0
            })
            .count();
        assert!(turns >= 2, "{turns}");
        // A path inside the frame is left as it was.
        let mut short = plan(&tokenize("a red circle moving left"), 3, 16, 32, &mut rng);
        if inside(&short[0].track) {
            let kept = short[0].track.clone();
            fold_into_frame(&mut short[0].track, size);
            assert_eq!(short[0].track, kept);
        }
    }

    #[test]
    fn a_planned_path_goes_the_way_the_prompt_says() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        for (prompt, dx, dy) in [
            ("a red circle moving left", -1.0, 0.0),
            ("a red circle moving right", 1.0, 0.0),
            ("a red circle moving up", 0.0, -1.0),
            ("a red circle moving down", 0.0, 1.0),
        ] {
            let planned = plan(&tokenize(prompt), MAX_SLOTS, 16, 32, &mut rng);
            assert_eq!(planned.len(), 1);
            let (x0, y0, _) = planned[0].track.positions[0];
            let (x1, y1, _) = planned[0].track.positions[15];
            assert!((x1 - x0) * dx + (y1 - y0) * dy > 10.0, "{prompt}");
            assert!(planned[0].describe().starts_with("red circle: moving "));
        }
        let drawn = plan(&tokenize("a pink square"), MAX_SLOTS, 16, 32, &mut rng);
        assert!(!drawn[0].motion_from_prompt);
        assert!(
            drawn[0].describe().contains("drawn from the seed"),
            "{}",
            drawn[0].describe()
        );
        // Only as many objects as the model has slots get one; the rest of the prompt still
        // conditions the model.
        let many = plan(
            &tokenize("red circle and blue star and green square and white diamond"),
            MAX_SLOTS,
            4,
            32,
            &mut rng,
        );
        assert_eq!(many.len(), MAX_SLOTS);
        let two = plan(
            &tokenize("red circle and blue star and green square"),
            2,
            4,
            32,
            &mut rng,
        );
        assert_eq!(two.len(), 2);
    }

    #[test]
    fn occupancy_covers_the_cells_under_the_object() {
        let t = Track {
            colour: [1.0, 0.0, 0.0],
            shape: "circle".into(),
            positions: vec![(6.0, 6.0, 4.0), (26.0, 26.0, 4.0)],
        };
        let maps = maps(
            &[LayoutObject::known(&t)],
            2,
            32,
            LayoutConfig::for_frame_size(32),
        );
        assert_eq!(maps.len(), 2 * 2 * 64);
        let cell =
            |f: usize, slot: usize, y: usize, x: usize| maps[(f * 2 + slot) * 64 + y * 8 + x];
        // Frame 0: the disc centred at (6, 6) sits on cells (1, 1) and its neighbours.
        assert!(cell(0, 0, 1, 1) > 0.9);
        assert_eq!(cell(0, 0, 7, 7), 0.0);
        // Frame 1: it has moved to the opposite corner.
        assert!(cell(1, 0, 6, 6) > 0.9);
        assert_eq!(cell(1, 0, 1, 1), 0.0);
        // Coverage adds up to the disc's area (π r² = 50 pixels, 16 pixels a cell).
        let total: f32 = (0..64).map(|i| maps[i]).sum::<f32>() * 16.0;
        assert!((total - std::f32::consts::PI * 16.0).abs() < 2.0, "{total}");
        // The second slot is empty.
        assert!((0..64).all(|i| cell(0, 1, i / 8, i % 8) == 0.0));
    }

    #[test]
    fn attribute_channels_carry_each_objects_colour_and_shape_where_it_is() {
        let red = Track {
            colour: [0.9, 0.1, 0.1],
            shape: "star".into(),
            positions: vec![(6.0, 6.0, 4.0)],
        };
        let blue = Track {
            colour: [0.1, 0.2, 0.9],
            shape: "square".into(),
            positions: vec![(26.0, 26.0, 4.0)],
        };
        let cfg = LayoutConfig::with_attributes(32);
        let per = cfg.channels_per_slot();
        assert_eq!(per, 1 + 3 + SHAPES.len());
        let unknown_colour = LayoutObject {
            track: &blue,
            colour: false,
            shape: true,
        };
        let m = maps(&[LayoutObject::known(&red), unknown_colour], 1, 32, cfg);
        assert_eq!(m.len(), cfg.channels() * 64);
        let at = |slot: usize, ch: usize, y: usize, x: usize| m[(slot * per + ch) * 64 + y * 8 + x];
        let index = |name: &str| SHAPES.iter().position(|s| *s == name).unwrap_or(usize::MAX);
        let (star, square) = (4 + index("star"), 4 + index("square"));
        // Slot 0: red star at the top left, nothing at the bottom right.
        assert!(at(0, 0, 1, 1) > 0.9);
        assert!((at(0, 1, 1, 1) - 0.9 * at(0, 0, 1, 1)).abs() < 1e-6);
        assert!((at(0, 3, 1, 1) - 0.1 * at(0, 0, 1, 1)).abs() < 1e-6);
        assert_eq!(at(0, star, 1, 1), at(0, 0, 1, 1));
        assert_eq!(at(0, square, 1, 1), 0.0);
        assert_eq!(at(0, 0, 6, 6), 0.0);
        // Slot 1: its shape is given, its colour is not (the model chooses it).
        assert!(at(1, 0, 6, 6) > 0.9);
        assert_eq!(at(1, square, 6, 6), at(1, 0, 6, 6));
        assert!((1..4).all(|c| at(1, c, 6, 6) == 0.0));
        // Slot 2 is empty.
        assert!((0..per * 64).all(|i| m[2 * per * 64 + i] == 0.0));
    }

    #[test]
    fn planned_objects_are_never_specks() {
        for (seed, motion) in [
            (1u64, Motion::Shrinking),
            (2, Motion::Growing),
            (3, Motion::Left),
        ] {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let planned = plan_objects(
                vec![NamedObject {
                    colour: Some("red".into()),
                    shape: Some("star".into()),
                    motion: Some(motion),
                }],
                3,
                16,
                32,
                &mut rng,
            );
            let radii: Vec<f32> = planned[0].track.positions.iter().map(|p| p.2).collect();
            assert!(
                radii.iter().all(|&r| r >= MIN_PLANNED_RADIUS * 32.0 - 1e-4),
                "{motion:?}: {radii:?}"
            );
            // A size change still changes the size.
            if motion == Motion::Shrinking {
                assert!(radii[0] > 1.5 * radii[15], "{radii:?}");
            }
        }
    }
}
