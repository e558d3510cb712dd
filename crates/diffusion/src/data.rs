//! Procedural training data: short clips of coloured shapes moving over simple backgrounds, with
//! captions from varied templates. Deterministic from a seed; some colour–shape combinations are
//! held out of training so prompt adherence can be measured on combinations the model never saw.

use rand::seq::SliceRandom;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Colours the model knows, with their RGB in [0, 1].
pub const COLOURS: &[(&str, [f32; 3])] = &[
    ("red", [0.90, 0.12, 0.12]),
    ("orange", [0.98, 0.55, 0.08]),
    ("yellow", [0.97, 0.90, 0.15]),
    ("green", [0.15, 0.75, 0.20]),
    ("cyan", [0.10, 0.85, 0.90]),
    ("blue", [0.15, 0.25, 0.95]),
    ("purple", [0.60, 0.20, 0.80]),
    ("pink", [0.98, 0.50, 0.75]),
    ("white", [0.97, 0.97, 0.97]),
    // Since candor-shapes-v4: a mid grey lighter than the grey background, so a grey object
    // shows on every background (training never puts one on the grey background).
    ("gray", [0.64, 0.64, 0.66]),
];

/// The colours candor-shapes-v1 to v3 were trained on (every colour but grey): a model whose
/// config does not list its colours draws these.
pub const COLOURS_BEFORE_V4: usize = 9;

pub const SHAPES: &[&str] = &["circle", "square", "triangle", "star", "diamond"];

/// Motions: a direction (unit steps in x, y; y grows downwards) or a change of size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Motion {
    Left,
    Right,
    Up,
    Down,
    UpLeft,
    UpRight,
    DownLeft,
    DownRight,
    Bouncing,
    Growing,
    Shrinking,
    /// Staying where it is: never drawn in training (not in [`Motion::ALL`]); a prompt asks it
    /// and the layout planner holds the object in place, which the layout-conditioned model
    /// follows.
    Still,
}

impl Motion {
    pub const ALL: [Motion; 11] = [
        Motion::Left,
        Motion::Right,
        Motion::Up,
        Motion::Down,
        Motion::UpLeft,
        Motion::UpRight,
        Motion::DownLeft,
        Motion::DownRight,
        Motion::Bouncing,
        Motion::Growing,
        Motion::Shrinking,
    ];

    /// Every motion a prompt may ask: training's and [`Motion::Still`].
    pub fn askable() -> impl Iterator<Item = Motion> {
        Motion::ALL.into_iter().chain([Motion::Still])
    }

    /// Whether the motion changes the object's size.
    pub fn changes_size(self) -> bool {
        matches!(self, Motion::Growing | Motion::Shrinking)
    }

    /// Unit direction of travel (x right, y down); zero for size changes and bouncing.
    pub fn direction(self) -> (f32, f32) {
        let d = std::f32::consts::FRAC_1_SQRT_2;
        match self {
            Motion::Left => (-1.0, 0.0),
            Motion::Right => (1.0, 0.0),
            Motion::Up => (0.0, -1.0),
            Motion::Down => (0.0, 1.0),
            Motion::UpLeft => (-d, -d),
            Motion::UpRight => (d, -d),
            Motion::DownLeft => (-d, d),
            Motion::DownRight => (d, d),
            Motion::Bouncing | Motion::Growing | Motion::Shrinking | Motion::Still => (0.0, 0.0),
        }
    }

    /// Words a caption uses for it.
    pub fn phrase(self) -> &'static str {
        match self {
            Motion::Left => "moving left",
            Motion::Right => "moving right",
            Motion::Up => "moving up",
            Motion::Down => "moving down",
            Motion::UpLeft => "moving up left",
            Motion::UpRight => "moving up right",
            Motion::DownLeft => "moving down left",
            Motion::DownRight => "moving down right",
            Motion::Bouncing => "bouncing",
            Motion::Growing => "growing",
            Motion::Shrinking => "shrinking",
            Motion::Still => "staying still",
        }
    }
}

pub const BACKGROUNDS: &[&str] = &["sky", "sunset", "night", "grass", "gray", "sand"];

/// Colour–shape pairs never shown in training (prompt-adherence evaluation uses them).
pub const HELD_OUT: &[(&str, &str)] = &[
    ("purple", "star"),
    ("green", "triangle"),
    ("orange", "circle"),
    ("cyan", "square"),
    ("pink", "diamond"),
];

/// One object in a clip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectSpec {
    pub colour: String,
    pub shape: String,
    pub motion: Motion,
}

/// What a clip shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClipSpec {
    pub objects: Vec<ObjectSpec>,
    pub background: String,
}

/// A rendered clip: `[frames, 3, size, size]` in [-1, 1], row-major.
#[derive(Debug, Clone)]
pub struct Clip {
    pub spec: ClipSpec,
    pub caption: String,
    pub pixels: Vec<f32>,
    /// Where each object of `spec` is, frame by frame.
    pub tracks: Vec<Track>,
}

pub fn colour_rgb(name: &str) -> Option<[f32; 3]> {
    COLOURS.iter().find(|(n, _)| *n == name).map(|(_, c)| *c)
}

fn is_held_out(colour: &str, shape: &str) -> bool {
    HELD_OUT.iter().any(|(c, s)| *c == colour && *s == shape)
}

/// A random clip spec with one or two objects; `training` excludes held-out colour–shape
/// pairs.
pub fn random_spec<R: Rng>(rng: &mut R, training: bool) -> ClipSpec {
    random_spec_with(rng, training, 2)
}

/// A random clip spec with up to `max_objects` objects (of different colours): for at most two,
/// one in four clips has two (as candor-shapes-v1 and v2 were trained); for three, 45 % have
/// one, 35 % two and 20 % three.
pub fn random_spec_with<R: Rng>(rng: &mut R, training: bool, max_objects: usize) -> ClipSpec {
    random_spec_focused(rng, training, max_objects, None)
}

/// [`random_spec_with`], with `focus = (colour, share)` drawing that palette colour for `share`
/// of the objects (the others uniformly); `None` draws exactly what `random_spec_with` draws.
pub fn random_spec_focused<R: Rng>(
    rng: &mut R,
    training: bool,
    max_objects: usize,
    focus: Option<(&str, f64)>,
) -> ClipSpec {
    let count = match max_objects {
        0 | 1 => 1,
        2 => {
            if rng.gen_bool(0.25) {
                2
            } else {
                1
            }
        }
        _ => match rng.gen_range(0..100) {
            0..45 => 1,
            45..80 => 2,
            _ => 3,
        },
    };
    let mut objects: Vec<ObjectSpec> = Vec::new();
    while objects.len() < count {
        let focused = focus
            // Below 1, so a clip of several objects (distinct colours) always gets the others.
            .filter(|&(_, share)| rng.gen_bool(share.clamp(0.0, 0.95)))
            .and_then(|(name, _)| COLOURS.iter().find(|(c, _)| *c == name));
        let colour = match focused {
            Some((c, _)) => *c,
            None => COLOURS[rng.gen_range(0..COLOURS.len())].0,
        };
        let shape = SHAPES[rng.gen_range(0..SHAPES.len())];
        if training && is_held_out(colour, shape) {
            continue;
        }
        if objects.iter().any(|o| o.colour == colour) {
            continue;
        }
        let motion = Motion::ALL[rng.gen_range(0..Motion::ALL.len())];
        objects.push(ObjectSpec {
            colour: colour.into(),
            shape: shape.into(),
            motion,
        });
    }
    let mut background = BACKGROUNDS[rng.gen_range(0..BACKGROUNDS.len())];
    // A grey object on the grey background would not show: another background.
    while background == "gray" && objects.iter().any(|o| o.colour == "gray") {
        background = BACKGROUNDS[rng.gen_range(0..BACKGROUNDS.len())];
    }
    let background = background.to_string();
    ClipSpec {
        objects,
        background,
    }
}

/// A caption from one of several templates.
pub fn caption<R: Rng>(spec: &ClipSpec, rng: &mut R) -> String {
    let describe = |o: &ObjectSpec, rng: &mut R| -> String {
        match rng.gen_range(0..3) {
            0 => format!("a {} {} {}", o.colour, o.shape, o.motion.phrase()),
            1 => format!("the {} {} {}", o.colour, o.shape, o.motion.phrase()),
            _ => format!("{} {} {}", o.colour, o.shape, o.motion.phrase()),
        }
    };
    let subjects: Vec<String> = spec.objects.iter().map(|o| describe(o, rng)).collect();
    let subject = subjects.join(" and ");
    let bg = &spec.background;
    let bg_phrase = match bg.as_str() {
        "gray" | "sand" => format!("on a {bg} background"),
        _ => ["over the", "in the", "against the"]
            .choose(rng)
            .map(|p| format!("{p} {bg}"))
            .unwrap_or_default(),
    };
    match rng.gen_range(0..3) {
        0 => format!("{subject} {bg_phrase}"),
        1 => format!("{bg} scene, {subject}"),
        _ => format!("{subject}, {bg} background"),
    }
}

/// A background's colour at height `y` (0 top, 1 bottom), mid-frame, without stars.
pub fn background_colour(name: &str, y: f32) -> [f32; 3] {
    background_rgb(name, y, 0.5, 0.0)
}

fn background_rgb(name: &str, y: f32, x: f32, star: f32) -> [f32; 3] {
    let mix = |a: [f32; 3], b: [f32; 3], t: f32| {
        [
            a[0] + (b[0] - a[0]) * t,
            a[1] + (b[1] - a[1]) * t,
            a[2] + (b[2] - a[2]) * t,
        ]
    };
    match name {
        "sky" => mix([0.25, 0.50, 0.90], [0.70, 0.85, 1.00], y),
        "sunset" => mix([0.45, 0.20, 0.55], [1.00, 0.55, 0.20], y),
        "night" => {
            let base = mix([0.02, 0.03, 0.12], [0.08, 0.10, 0.25], y);
            if star > 0.0 {
                mix(base, [0.9, 0.9, 0.8], star)
            } else {
                base
            }
        }
        "grass" => {
            if y > 0.55 {
                mix([0.20, 0.55, 0.15], [0.10, 0.40, 0.08], (y - 0.55) / 0.45)
            } else {
                mix([0.40, 0.65, 0.95], [0.75, 0.88, 1.00], y / 0.55)
            }
        }
        "sand" => mix([0.93, 0.85, 0.62], [0.85, 0.74, 0.50], y + 0.1 * x),
        _ => mix([0.55, 0.55, 0.55], [0.45, 0.45, 0.45], y),
    }
}

/// Signed distance-like inside test: how far inside the shape (in radii) point (dx, dy) is.
fn inside(shape: &str, dx: f32, dy: f32, r: f32) -> bool {
    let (x, y) = (dx / r, dy / r);
    match shape {
        "circle" => x * x + y * y <= 1.0,
        "square" => x.abs() <= 0.85 && y.abs() <= 0.85,
        "diamond" => x.abs() + y.abs() <= 1.1,
        "triangle" => y <= 0.8 && y >= -1.0 + 2.0 * x.abs() * 0.9 - 0.0 && y >= -1.0,
        "star" => {
            let angle = y.atan2(x);
            let radius = (x * x + y * y).sqrt();
            let spike = 0.55
                + 0.45 * (0.5 + 0.5 * (5.0 * angle - std::f32::consts::FRAC_PI_2).cos()).powf(3.0);
            radius <= spike
        }
        _ => false,
    }
}

/// Where one object is in each frame of a clip.
#[derive(Debug, Clone, PartialEq)]
pub struct Track {
    pub colour: [f32; 3],
    pub shape: String,
    /// Centre x, centre y and radius per frame, in pixels.
    pub positions: Vec<(f32, f32, f32)>,
}

/// A path for `o` over `frames` frames of `size` pixels, drawn the way training clips draw
/// theirs (the layout planner draws from the same distribution).
pub fn track<R: Rng>(o: &ObjectSpec, frames: usize, size: f32, rng: &mut R) -> Track {
    let base_r = size * rng.gen_range(0.13..0.18);
    let speed = size * rng.gen_range(0.035..0.05);
    let (dx, dy) = o.motion.direction();
    let travel = speed * (frames.saturating_sub(1)) as f32;
    // Start so that the path stays inside the frame.
    let span = |d: f32| -> (f32, f32) {
        let lo = base_r + (-d * travel).max(0.0);
        let hi = size - base_r - (d * travel).max(0.0);
        if lo < hi {
            (lo, hi)
        } else {
            (size / 2.0, size / 2.0 + 1e-3)
        }
    };
    let (xl, xh) = span(dx);
    let (yl, yh) = span(dy);
    let (x0, y0) = (rng.gen_range(xl..xh), rng.gen_range(yl..yh));
    let phase = rng.gen_range(0.0..std::f32::consts::PI);
    let positions = (0..frames)
        .map(|f| {
            let t = f as f32;
            let progress = t / (frames.max(2) - 1) as f32;
            match o.motion {
                Motion::Bouncing => {
                    let bounce = (t * 0.55 + phase).sin().abs() * size * 0.3;
                    (x0, (size - base_r - 1.0 - bounce).max(base_r), base_r)
                }
                Motion::Growing => (
                    x0.clamp(size * 0.35, size * 0.65),
                    y0.clamp(size * 0.35, size * 0.65),
                    size * (0.08 + 0.20 * progress),
                ),
                Motion::Shrinking => (
                    x0.clamp(size * 0.35, size * 0.65),
                    y0.clamp(size * 0.35, size * 0.65),
                    size * (0.28 - 0.20 * progress),
                ),
                _ => (x0 + dx * speed * t, y0 + dy * speed * t, base_r),
            }
        })
        .collect();
    Track {
        colour: colour_rgb(&o.colour).unwrap_or([1.0, 1.0, 1.0]),
        shape: o.shape.clone(),
        positions,
    }
}

/// Renders a clip (2×2 supersampled edges).
pub fn render<R: Rng>(spec: &ClipSpec, frames: usize, size: usize, rng: &mut R) -> Vec<f32> {
    render_with_tracks(spec, frames, size, rng).0
}

/// Renders a clip and returns where its objects are.
pub fn render_with_tracks<R: Rng>(
    spec: &ClipSpec,
    frames: usize,
    size: usize,
    rng: &mut R,
) -> (Vec<f32>, Vec<Track>) {
    let tracks: Vec<Track> = spec
        .objects
        .iter()
        .map(|o| track(o, frames, size as f32, rng))
        .collect();
    let stars: Vec<(usize, usize, f32)> = (0..6)
        .map(|_| {
            (
                rng.gen_range(0..size),
                rng.gen_range(0..size * 2 / 3),
                rng.gen_range(0.5..1.0),
            )
        })
        .collect();
    let plane = size * size;
    let mut out = vec![0f32; frames * 3 * plane];
    for f in 0..frames {
        for py in 0..size {
            for px in 0..size {
                let star = if spec.background == "night" {
                    stars
                        .iter()
                        .find(|&&(sx, sy, _)| sx == px && sy == py)
                        .map(|s| s.2)
                        .unwrap_or(0.0)
                } else {
                    0.0
                };
                let mut rgb = background_rgb(
                    &spec.background,
                    py as f32 / size as f32,
                    px as f32 / size as f32,
                    star,
                );
                for t in &tracks {
                    let (cx, cy, r) = t.positions[f];
                    let mut cover = 0.0;
                    for (oy, ox) in [(0.25, 0.25), (0.25, 0.75), (0.75, 0.25), (0.75, 0.75)] {
                        if inside(&t.shape, px as f32 + ox - cx, py as f32 + oy - cy, r) {
                            cover += 0.25;
                        }
                    }
                    for (value, colour) in rgb.iter_mut().zip(t.colour) {
                        *value = *value * (1.0 - cover) + colour * cover;
                    }
                }
                for (c, value) in rgb.iter().enumerate() {
                    out[((f * 3 + c) * size + py) * size + px] = value.clamp(0.0, 1.0) * 2.0 - 1.0;
                }
            }
        }
    }
    (out, tracks)
}

/// A random training (or evaluation) clip with its caption.
pub fn random_clip<R: Rng>(rng: &mut R, frames: usize, size: usize, training: bool) -> Clip {
    random_clip_with(rng, frames, size, training, 2)
}

/// A random clip with up to `max_objects` objects (see [`random_spec_with`]).
pub fn random_clip_with<R: Rng>(
    rng: &mut R,
    frames: usize,
    size: usize,
    training: bool,
    max_objects: usize,
) -> Clip {
    random_clip_focused(rng, frames, size, training, max_objects, None)
}

/// [`random_clip_with`] with a focus colour (see [`random_spec_focused`]).
pub fn random_clip_focused<R: Rng>(
    rng: &mut R,
    frames: usize,
    size: usize,
    training: bool,
    max_objects: usize,
    focus: Option<(&str, f64)>,
) -> Clip {
    let spec = random_spec_focused(rng, training, max_objects, focus);
    let caption = caption(&spec, rng);
    let (pixels, tracks) = render_with_tracks(&spec, frames, size, rng);
    Clip {
        spec,
        caption,
        pixels,
        tracks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_focus_colour_takes_its_share_and_none_changes_nothing() {
        use rand::SeedableRng;
        let mut a = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let mut b = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        for _ in 0..50 {
            assert_eq!(
                random_spec_with(&mut a, true, 3),
                random_spec_focused(&mut b, true, 3, None)
            );
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(6);
        let (mut grey, mut all) = (0, 0);
        for _ in 0..400 {
            // Even a share of 1 ends: the other objects of a clip get other colours.
            let spec = random_spec_focused(&mut rng, true, 3, Some(("gray", 1.0)));
            assert!(spec.background != "gray" || spec.objects.iter().all(|o| o.colour != "gray"));
            grey += spec.objects.iter().filter(|o| o.colour == "gray").count();
            all += spec.objects.len();
        }
        assert!(grey * 2 > all, "{grey} of {all}");
    }
    use rand::SeedableRng;

    #[test]
    fn clips_are_deterministic_and_in_range() {
        let a = random_clip(&mut rand_chacha::ChaCha8Rng::seed_from_u64(3), 8, 32, true);
        let b = random_clip(&mut rand_chacha::ChaCha8Rng::seed_from_u64(3), 8, 32, true);
        assert_eq!(a.caption, b.caption);
        assert_eq!(a.pixels, b.pixels);
        assert_eq!(a.pixels.len(), 8 * 3 * 32 * 32);
        assert!(a.pixels.iter().all(|v| (-1.0..=1.0).contains(v)));
    }

    #[test]
    fn training_never_shows_held_out_pairs() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        for _ in 0..2000 {
            let spec = random_spec(&mut rng, true);
            for o in &spec.objects {
                assert!(!is_held_out(&o.colour, &o.shape), "{o:?}");
            }
        }
    }

    #[test]
    fn a_moving_object_moves_the_right_way() {
        let spec = ClipSpec {
            objects: vec![ObjectSpec {
                colour: "red".into(),
                shape: "circle".into(),
                motion: Motion::Right,
            }],
            background: "gray".into(),
        };
        let px = render(&spec, 8, 32, &mut rand_chacha::ChaCha8Rng::seed_from_u64(1));
        let centroid = |f: usize| {
            let (mut sx, mut n) = (0.0, 0.0);
            for y in 0..32 {
                for x in 0..32 {
                    let r = px[((f * 3) * 32 + y) * 32 + x];
                    let g = px[((f * 3 + 1) * 32 + y) * 32 + x];
                    if r - g > 0.8 {
                        sx += x as f32;
                        n += 1.0;
                    }
                }
            }
            sx / n
        };
        assert!(centroid(7) > centroid(0) + 5.0);
    }
}
