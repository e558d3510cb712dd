//! Geometry recovery: the latent watermark lives on the model's latent grid, so a crop, a zoom or
//! a letterbox moves every element. The detector tries a fixed set of placements — where the
//! observed picture sits on the original canvas — ranks them with a cheap one-step inversion of a
//! few frames, and runs the full detection on the best one. The p-value is multiplied by the
//! number of placements tried, so the false-positive rate stays the one stated.

use std::borrow::Cow;

#[cfg(test)]
use candor_media::pixels::{mirror, rotate};
use candor_media::pixels::{CanvasMap, Region};
use serde::{Deserialize, Serialize};

/// The region of the original frame that the observed frame shows, in fractions of the original
/// (`x`, `y`: top-left corner; `w`, `h`: size). A region larger than 1 with a negative corner means
/// the observed frame holds the original inside borders (letterbox or pillarbox).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Placement {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
    /// The observed frame is mirrored left to right (applied before the region).
    #[serde(default)]
    pub mirrored: bool,
    /// The observed frame is the original turned by this many degrees counter-clockwise (undone
    /// first, before the mirror and the region).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub rotated_degrees: f64,
    /// What this placement undoes, in words.
    pub name: Cow<'static, str>,
}

impl Placement {
    /// The observed frame is the original, whole (or stretched to another aspect, which the
    /// resize to the model's square size undoes anyway).
    pub const IDENTITY: Placement = Placement {
        x: 0.0,
        y: 0.0,
        w: 1.0,
        h: 1.0,
        mirrored: false,
        rotated_degrees: 0.0,
        name: Cow::Borrowed("as is"),
    };

    /// The whole frame, mirrored left to right.
    pub const MIRRORED: Placement = Placement {
        x: 0.0,
        y: 0.0,
        w: 1.0,
        h: 1.0,
        mirrored: true,
        rotated_degrees: 0.0,
        name: Cow::Borrowed("horizontal flip"),
    };

    /// The positions `[y0, y1, x0, x1)` of a `height × width` latent of the original canvas that
    /// lie wholly inside the observed picture, or `None` when the picture covers the canvas. The
    /// rest was filled in by [`place`] and holds nothing to compare.
    pub fn observed_area(&self, height: usize, width: usize) -> Option<[usize; 4]> {
        let inside = |start: f64, size: f64, n: usize| {
            let first = (start.max(0.0) * n as f64 - 1e-9).ceil().max(0.0) as usize;
            let end = (((start + size).min(1.0)) * n as f64 + 1e-9)
                .floor()
                .max(0.0) as usize;
            (first.min(n), end.min(n))
        };
        let (mut y0, mut y1) = inside(self.y, self.h, height);
        let (mut x0, mut x1) = inside(self.x, self.w, width);
        // Turned back by an angle that is not a quarter turn, the picture's corners fell outside:
        // the centred square of side 1 / (|cos| + |sin|) is what is left whole.
        let quarter = (self.rotated_degrees / 90.0).round() * 90.0;
        if (self.rotated_degrees - quarter).abs() > 1e-9 {
            let (sin, cos) = self.rotated_degrees.to_radians().sin_cos();
            let side = 1.0 / (sin.abs() + cos.abs());
            let (a, b) = inside((1.0 - side) / 2.0, side, height);
            let (c, d) = inside((1.0 - side) / 2.0, side, width);
            (y0, y1, x0, x1) = (y0.max(a), y1.min(b), x0.max(c), x1.min(d));
        }
        let whole = (y0, y1, x0, x1) == (0, height, 0, width);
        (!whole).then_some([y0, y1, x0, x1])
    }

    fn crop(fraction: f64, ax: f64, ay: f64, name: &'static str) -> Self {
        Self {
            x: (1.0 - fraction) * ax,
            y: (1.0 - fraction) * ay,
            w: fraction,
            h: fraction,
            mirrored: false,
            rotated_degrees: 0.0,
            name: Cow::Borrowed(name),
        }
    }

    fn rotated(degrees: f64, name: &'static str) -> Self {
        Self {
            rotated_degrees: degrees,
            name: Cow::Borrowed(name),
            ..Self::IDENTITY
        }
    }

    fn boxed(inner_w: f64, inner_h: f64, name: &'static str) -> Self {
        // The original fills `inner_w × inner_h` of the observed frame, centred.
        let (w, h) = (1.0 / inner_w, 1.0 / inner_h);
        Self {
            x: -(w - 1.0) / 2.0,
            y: -(h - 1.0) / 2.0,
            w,
            h,
            mirrored: false,
            rotated_degrees: 0.0,
            name: Cow::Borrowed(name),
        }
    }
}

/// The placements searched after the frame as it is: a horizontal flip, centre crops (zooms)
/// from 95 % to 50 %, corner and edge crops at 80 % and 60 %, and letterbox / pillarbox to 16:9
/// and 4:3, and rotations: quarter turns (phone footage) and small angles (±5°, ±10°).
pub fn candidate_placements() -> Vec<Placement> {
    let mut out = vec![Placement::MIRRORED];
    for (f, name) in [
        (0.95, "centre crop 95 %"),
        (0.9, "centre crop 90 %"),
        (0.85, "centre crop 85 %"),
        (0.8, "centre crop 80 %"),
        (0.75, "centre crop 75 %"),
        (0.7, "centre crop 70 %"),
        (0.6, "centre crop 60 %"),
        (0.5, "centre crop 50 %"),
    ] {
        out.push(Placement::crop(f, 0.5, 0.5, name));
    }
    for (f, corners) in [
        (
            0.8,
            [
                "top-left crop 80 %",
                "top-right crop 80 %",
                "bottom-left crop 80 %",
                "bottom-right crop 80 %",
            ],
        ),
        (
            0.6,
            [
                "top-left crop 60 %",
                "top-right crop 60 %",
                "bottom-left crop 60 %",
                "bottom-right crop 60 %",
            ],
        ),
    ] {
        for (i, name) in corners.into_iter().enumerate() {
            out.push(Placement::crop(f, (i % 2) as f64, (i / 2) as f64, name));
        }
    }
    for (w, h, name) in [
        (9.0 / 16.0, 1.0, "pillarbox in 16:9"),
        (0.75, 1.0, "pillarbox in 4:3"),
        (1.0, 9.0 / 16.0, "letterbox in 16:9"),
        (1.0, 0.75, "letterbox in 4:3"),
    ] {
        out.push(Placement::boxed(w, h, name));
    }
    for (degrees, name) in [
        (90.0, "rotation by 90° counter-clockwise"),
        (180.0, "rotation by 180°"),
        (270.0, "rotation by 90° clockwise"),
        (10.0, "rotation by about 10° counter-clockwise"),
        (5.0, "rotation by about 5° counter-clockwise"),
        (-5.0, "rotation by about 5° clockwise"),
        (-10.0, "rotation by about 10° clockwise"),
    ] {
        out.push(Placement::rotated(degrees, name));
    }
    out
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

/// Renders the original canvas at `size×size` from an observed RGB24 frame (`width×height`)
/// under a placement (the turn undone first, then the mirror, then the region; see
/// [`candor_media::pixels::CanvasMap`]).
pub fn place(data: &[u8], width: usize, height: usize, p: &Placement, size: usize) -> Vec<u8> {
    canvas_map(width, height, p, size).apply(data)
}

/// [`place`] for many frames of one size: the resampling is worked out once.
pub fn place_frames(
    frames: &[Vec<u8>],
    width: usize,
    height: usize,
    p: &Placement,
    size: usize,
) -> Vec<Vec<u8>> {
    let map = canvas_map(width, height, p, size);
    frames.iter().map(|f| map.apply(f)).collect()
}

fn canvas_map(width: usize, height: usize, p: &Placement, size: usize) -> CanvasMap {
    let region = Region {
        x: p.x,
        y: p.y,
        w: p.w,
        h: p.h,
    };
    CanvasMap::new(width, height, region, size, p.mirrored, p.rotated_degrees)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 64×64 picture with a distinct colour per 8×8 cell.
    fn cells() -> Vec<u8> {
        let mut d = vec![0u8; 64 * 64 * 3];
        for y in 0..64 {
            for x in 0..64 {
                let i = (y * 64 + x) * 3;
                d[i] = (x / 8 * 30) as u8;
                d[i + 1] = (y / 8 * 30) as u8;
                d[i + 2] = 128;
            }
        }
        d
    }

    #[test]
    fn identity_placement_is_an_area_resize() {
        let d = cells();
        let out = place(&d, 64, 64, &Placement::IDENTITY, 8);
        for cy in 0..8 {
            for cx in 0..8 {
                let i = (cy * 8 + cx) * 3;
                assert_eq!(&out[i..i + 3], &[(cx * 30) as u8, (cy * 30) as u8, 128]);
            }
        }
    }

    #[test]
    fn a_centre_crop_is_undone() {
        // Crop the middle 50 % (cells 2..6) and blow it up to 64×64, as an attacker would.
        let d = cells();
        let mut zoomed = vec![0u8; 64 * 64 * 3];
        for y in 0..64 {
            for x in 0..64 {
                let (sx, sy) = (16 + x / 2, 16 + y / 2);
                zoomed[(y * 64 + x) * 3..(y * 64 + x) * 3 + 3]
                    .copy_from_slice(&d[(sy * 64 + sx) * 3..(sy * 64 + sx) * 3 + 3]);
            }
        }
        let p = Placement::crop(0.5, 0.5, 0.5, "test");
        let out = place(&zoomed, 64, 64, &p, 8);
        // Cells 2..6 of the original come back where they were.
        for cy in 2..6 {
            for cx in 2..6 {
                let i = (cy * 8 + cx) * 3;
                assert_eq!(
                    &out[i..i + 2],
                    &[(cx * 30) as u8, (cy * 30) as u8],
                    "{cx},{cy}"
                );
            }
        }
        // Outside: the observed frame's mean colour.
        assert_eq!(out[2], 128);
        // Without the placement the cells are in the wrong place.
        let wrong = place(&zoomed, 64, 64, &Placement::IDENTITY, 8);
        assert_ne!(&wrong[(2 * 8 + 2) * 3..(2 * 8 + 2) * 3 + 2], &[60, 60]);
    }

    #[test]
    fn a_letterbox_is_undone() {
        // The original squeezed into the middle 48 rows of 64, black bars above and below.
        let d = cells();
        let mut boxed = vec![0u8; 64 * 64 * 3];
        for y in 8..56 {
            for x in 0..64 {
                let sy = ((y - 8) as f64 * 64.0 / 48.0) as usize;
                boxed[(y * 64 + x) * 3..(y * 64 + x) * 3 + 3]
                    .copy_from_slice(&d[(sy * 64 + x) * 3..(sy * 64 + x) * 3 + 3]);
            }
        }
        let p = Placement::boxed(1.0, 0.75, "test");
        let out = place(&boxed, 64, 64, &p, 8);
        let cell = |cx: usize, cy: usize| out[(cy * 8 + cx) * 3 + 1];
        assert_eq!(cell(3, 0), 0);
        assert_eq!(cell(3, 4), 120);
        assert!((i32::from(cell(3, 7)) - 210).abs() <= 8, "{}", cell(3, 7));
    }

    #[test]
    fn a_flip_is_undone() {
        let d = cells();
        let flipped = mirror(&d, 64);
        assert_ne!(flipped, d);
        assert_eq!(place(&flipped, 64, 64, &Placement::MIRRORED, 64), d);
    }

    #[test]
    fn a_quarter_turn_is_undone() {
        let d = cells();
        let turned = rotate(&d, 64, 64, 90.0);
        let p = Placement::rotated(90.0, "test");
        assert_eq!(place(&turned, 64, 64, &p, 64), d);
        assert_eq!(
            place(&turned, 64, 64, &p, 8),
            place(&d, 64, 64, &Placement::IDENTITY, 8)
        );
    }

    #[test]
    fn the_observed_area_leaves_out_what_a_crop_cut_away() {
        assert_eq!(Placement::IDENTITY.observed_area(8, 8), None);
        assert_eq!(Placement::MIRRORED.observed_area(8, 8), None);
        // A centre crop to 80 % shows 0.1–0.9 of the canvas: rows and columns 1–6 of 8 whole.
        let centre = Placement::crop(0.8, 0.5, 0.5, "centre crop");
        assert_eq!(centre.observed_area(8, 8), Some([1, 7, 1, 7]));
        // Crop to the top-left 60 %: 0–0.6 of the canvas, so rows and columns 0–3 whole (4.8).
        let corner = Placement::crop(0.6, 0.0, 0.0, "corner crop");
        assert_eq!(corner.observed_area(8, 8), Some([0, 4, 0, 4]));
        // A letterbox shows the whole canvas inside borders.
        let boxed = Placement::boxed(1.0, 0.75, "letterbox");
        assert_eq!(boxed.observed_area(8, 8), None);
        // Turned back by 10°, the corners are gone; a quarter turn loses nothing.
        assert_eq!(
            Placement::rotated(10.0, "r").observed_area(8, 8),
            Some([1, 7, 1, 7])
        );
        assert_eq!(Placement::rotated(90.0, "r").observed_area(8, 8), None);
    }

    #[test]
    fn candidates_are_distinct_and_sane() {
        let c = candidate_placements();
        assert!(c.len() >= 16);
        for (i, a) in c.iter().enumerate() {
            assert!(a.w > 0.0 && a.h > 0.0);
            assert!(c[i + 1..].iter().all(|b| b != a), "{a:?} repeated");
        }
        assert!(!c.contains(&Placement::IDENTITY));
    }
}
