//! Pixel operations on packed RGB24 frames, in one place: area and bilinear resizing, mirroring,
//! and resampling a region of a frame onto a square canvas. Deterministic (same bytes on every
//! machine), and total: a buffer shorter than its stated size gives a black result, never a panic.

/// Area-average resize of a `w×h` RGB24 frame to `out_w×out_h`: each output pixel is the rounded
/// mean of the input pixels its footprint covers (at least one). The detector's way down to the
/// model's scale: on a frame upscaled by an integer factor it undoes the upscale.
pub fn resize_area(rgb: &[u8], w: usize, h: usize, out_w: usize, out_h: usize) -> Vec<u8> {
    let mut out = vec![0u8; out_w * out_h * 3];
    if w == 0 || h == 0 || rgb.len() < w * h * 3 || out_w == 0 || out_h == 0 {
        return out;
    }
    for oy in 0..out_h {
        let (y0, y1) = (
            oy * h / out_h,
            ((oy + 1) * h / out_h).max(oy * h / out_h + 1).min(h),
        );
        for ox in 0..out_w {
            let (x0, x1) = (
                ox * w / out_w,
                ((ox + 1) * w / out_w).max(ox * w / out_w + 1).min(w),
            );
            for c in 0..3 {
                let mut sum = 0u32;
                for y in y0..y1 {
                    for x in x0..x1 {
                        sum += u32::from(rgb[(y * w + x) * 3 + c]);
                    }
                }
                let n = ((y1 - y0) * (x1 - x0)).max(1) as u32;
                out[(oy * out_w + ox) * 3 + c] = ((sum + n / 2) / n) as u8;
            }
        }
    }
    out
}

/// Bilinear resize of a `w×h` RGB24 frame to `out_w×out_h` (pixel centres at half-integers).
pub fn resize_bilinear(rgb: &[u8], w: usize, h: usize, ow: usize, oh: usize) -> Vec<u8> {
    let mut out = vec![0u8; ow * oh * 3];
    if w == 0 || h == 0 || rgb.len() < w * h * 3 {
        return out;
    }
    let coord = |o: usize, out_len: usize, in_len: usize| -> (usize, usize, f32) {
        let x = ((o as f32 + 0.5) * in_len as f32 / out_len as f32 - 0.5).max(0.0);
        let x0 = (x.floor() as usize).min(in_len - 1);
        let x1 = (x0 + 1).min(in_len - 1);
        (x0, x1, x - x0 as f32)
    };
    for oy in 0..oh {
        let (y0, y1, fy) = coord(oy, oh, h);
        for ox in 0..ow {
            let (x0, x1, fx) = coord(ox, ow, w);
            for c in 0..3 {
                let p = |y: usize, x: usize| f32::from(rgb[(y * w + x) * 3 + c]);
                let top = p(y0, x0) * (1.0 - fx) + p(y0, x1) * fx;
                let bottom = p(y1, x0) * (1.0 - fx) + p(y1, x1) * fx;
                out[(oy * ow + ox) * 3 + c] =
                    (top * (1.0 - fy) + bottom * fy).round().clamp(0.0, 255.0) as u8;
            }
        }
    }
    out
}

/// The frame mirrored left to right.
pub fn mirror(rgb: &[u8], width: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(rgb.len());
    for row in rgb.chunks_exact(width.max(1) * 3) {
        for px in row.chunks_exact(3).rev() {
            out.extend_from_slice(px);
        }
    }
    out
}

/// A region of a canvas in fractions of it: top-left corner `x`, `y` and size `w`, `h` (a region
/// larger than 1 with a negative corner holds the canvas inside borders).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Region {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

/// Rotates a `width×height` RGB24 picture by `degrees` about its centre, counter-clockwise as
/// seen on screen (y down), keeping its size. Quarter turns of a square picture move whole
/// pixels; other angles sample bilinearly, and what falls outside the picture takes its mean
/// colour (as [`render_canvas`] fills what a crop cut away).
pub fn rotate(rgb: &[u8], width: usize, height: usize, degrees: f64) -> Vec<u8> {
    if width == 0 || height == 0 || rgb.len() < width * height * 3 {
        return vec![0u8; width * height * 3];
    }
    let quarter = (degrees / 90.0).round();
    if (degrees - quarter * 90.0).abs() < 1e-9 && width == height {
        let turns = (quarter as i64).rem_euclid(4);
        let n = width;
        let mut out = vec![0u8; n * n * 3];
        for y in 0..n {
            for x in 0..n {
                // Source pixel of output (x, y) for a counter-clockwise turn.
                let (sx, sy) = match turns {
                    0 => (x, y),
                    1 => (n - 1 - y, x),
                    2 => (n - 1 - x, n - 1 - y),
                    _ => (y, n - 1 - x),
                };
                let (d, s) = ((y * n + x) * 3, (sy * n + sx) * 3);
                out[d..d + 3].copy_from_slice(&rgb[s..s + 3]);
            }
        }
        return out;
    }
    let mut mean = [0f64; 3];
    for px in rgb.chunks_exact(3).take(width * height) {
        for c in 0..3 {
            mean[c] += f64::from(px[c]);
        }
    }
    let mean = mean.map(|m| m / (width * height) as f64);
    let (sin, cos) = degrees.to_radians().sin_cos();
    let (cx, cy) = ((width as f64 - 1.0) / 2.0, (height as f64 - 1.0) / 2.0);
    let sample = |x: isize, y: isize, c: usize| -> f64 {
        if x < 0 || y < 0 || x as usize >= width || y as usize >= height {
            mean[c]
        } else {
            f64::from(rgb[(y as usize * width + x as usize) * 3 + c])
        }
    };
    let mut out = vec![0u8; width * height * 3];
    for y in 0..height {
        for x in 0..width {
            // Counter-clockwise on screen: the source is the output turned clockwise.
            let (dx, dy) = (x as f64 - cx, y as f64 - cy);
            let sx = cx + cos * dx - sin * dy;
            let sy = cy + sin * dx + cos * dy;
            let (x0, y0) = (sx.floor(), sy.floor());
            let (fx, fy) = (sx - x0, sy - y0);
            let (x0, y0) = (x0 as isize, y0 as isize);
            for c in 0..3 {
                let v = sample(x0, y0, c) * (1.0 - fx) * (1.0 - fy)
                    + sample(x0 + 1, y0, c) * fx * (1.0 - fy)
                    + sample(x0, y0 + 1, c) * (1.0 - fx) * fy
                    + sample(x0 + 1, y0 + 1, c) * fx * fy;
                out[(y * width + x) * 3 + c] = v.round().clamp(0.0, 255.0) as u8;
            }
        }
    }
    out
}

/// Renders a `size×size` canvas of which the `width×height` RGB24 frame `data` shows the
/// region `p`: each output pixel averages the frame pixels its footprint covers; canvas pixels
/// outside the frame get the frame's mean colour.
pub fn render_canvas(data: &[u8], width: usize, height: usize, p: Region, size: usize) -> Vec<u8> {
    CanvasMap::new(width, height, p, size, false, 0.0).apply(data)
}

/// A resampling onto a canvas, worked out once and applied to many frames: the frame turned by
/// `rotate_degrees` ([`rotate`]), then mirrored when asked ([`mirror`]), then the region rendered
/// onto a `size×size` canvas ([`render_canvas`]) — the three in one pass, each output pixel a
/// weighted sum of source pixels and of the frame's mean colour. Without a turn (or with a quarter
/// turn of a square frame) the weights are equal and the result is byte for byte that of the
/// three functions; other turns round once instead of twice (at most 1 apart).
#[derive(Debug, Clone)]
pub struct CanvasMap {
    width: usize,
    height: usize,
    size: usize,
    /// Per output pixel: its taps `[start, end)` and the weight of the frame's mean colour.
    spans: Vec<(u32, u32, f32)>,
    /// (source pixel, weight).
    taps: Vec<(u32, f32)>,
    /// Turned by an angle that is not a quarter turn: taps are bilinear, weighted. Otherwise
    /// every pixel's taps have equal weights: the integer path, as `render_canvas`.
    turned: bool,
}

impl CanvasMap {
    pub fn new(
        width: usize,
        height: usize,
        region: Region,
        size: usize,
        mirrored: bool,
        rotate_degrees: f64,
    ) -> Self {
        let mut map = Self {
            width,
            height,
            size,
            spans: Vec::with_capacity(size * size),
            taps: Vec::new(),
            turned: false,
        };
        if width == 0 || height == 0 {
            map.spans = vec![(0, 0, 1.0); size * size];
            return map;
        }
        // Where a pixel of the turned frame comes from in the source.
        let degrees = -rotate_degrees;
        let quarter = (degrees / 90.0).round();
        let exact_turn = (degrees - quarter * 90.0).abs() < 1e-9 && width == height;
        let turns = (quarter as i64).rem_euclid(4);
        let (sin, cos) = degrees.to_radians().sin_cos();
        let (cx, cy) = ((width as f64 - 1.0) / 2.0, (height as f64 - 1.0) / 2.0);
        let source = |x: usize, y: usize, weight: f32, taps: &mut Vec<(u32, f32)>| -> f32 {
            if rotate_degrees == 0.0 || exact_turn {
                let n = width;
                let (sx, sy) = match if rotate_degrees == 0.0 { 0 } else { turns } {
                    0 => (x, y),
                    1 => (n - 1 - y, x),
                    2 => (n - 1 - x, n - 1 - y),
                    _ => (y, n - 1 - x),
                };
                taps.push(((sy * width + sx) as u32, weight));
                return 0.0;
            }
            let (dx, dy) = (x as f64 - cx, y as f64 - cy);
            let sx = cx + cos * dx - sin * dy;
            let sy = cy + sin * dx + cos * dy;
            let (x0, y0) = (sx.floor(), sy.floor());
            let (fx, fy) = (sx - x0, sy - y0);
            let mut to_mean = 0f32;
            for (ox, oy, w) in [
                (0, 0, (1.0 - fx) * (1.0 - fy)),
                (1, 0, fx * (1.0 - fy)),
                (0, 1, (1.0 - fx) * fy),
                (1, 1, fx * fy),
            ] {
                let (px, py) = (x0 as i64 + ox, y0 as i64 + oy);
                let w = weight * w as f32;
                if px < 0 || py < 0 || px as usize >= width || py as usize >= height {
                    to_mean += w;
                } else if w > 0.0 {
                    taps.push(((py as usize * width + px as usize) as u32, w));
                }
            }
            to_mean
        };
        map.turned = !(rotate_degrees == 0.0 || exact_turn);
        let to_u = |fx: f64| (fx - region.x) / region.w * width as f64;
        let to_v = |fy: f64| (fy - region.y) / region.h * height as f64;
        for oy in 0..size {
            let v0 = to_v(oy as f64 / size as f64).max(0.0);
            let v1 = to_v((oy + 1) as f64 / size as f64).min(height as f64);
            for ox in 0..size {
                let u0 = to_u(ox as f64 / size as f64).max(0.0);
                let u1 = to_u((ox + 1) as f64 / size as f64).min(width as f64);
                let start = map.taps.len() as u32;
                if u1 <= u0 || v1 <= v0 {
                    map.spans.push((start, start, 1.0));
                    continue;
                }
                let (x0, y0) = (u0.floor() as usize, v0.floor() as usize);
                let x1 = (u1.ceil() as usize).clamp(x0 + 1, width);
                let y1 = (v1.ceil() as usize).clamp(y0 + 1, height);
                let share = 1.0 / ((x1 - x0) * (y1 - y0)) as f32;
                let mut mean = 0f32;
                for y in y0..y1 {
                    for x in x0..x1 {
                        let mx = if mirrored { width - 1 - x } else { x };
                        mean += source(mx, y, share, &mut map.taps);
                    }
                }
                map.spans.push((start, map.taps.len() as u32, mean));
            }
        }
        map
    }

    /// The canvas of one frame (`width×height` RGB24; a short buffer gives black).
    pub fn apply(&self, rgb: &[u8]) -> Vec<u8> {
        let mut out = vec![0u8; self.size * self.size * 3];
        if self.width == 0 || self.height == 0 || rgb.len() < self.width * self.height * 3 {
            return out;
        }
        let mut total = [0u64; 3];
        let needs_mean = self.spans.iter().any(|s| s.2 > 0.0);
        if needs_mean {
            for px in rgb.chunks_exact(3).take(self.width * self.height) {
                for c in 0..3 {
                    total[c] += u64::from(px[c]);
                }
            }
        }
        let n = (self.width * self.height) as u64;
        let mean_u8 = total.map(|t| (t / n.max(1)) as u8);
        for (i, &(start, end, mean_weight)) in self.spans.iter().enumerate() {
            let taps = &self.taps[start as usize..end as usize];
            let slot = &mut out[i * 3..i * 3 + 3];
            if taps.is_empty() {
                slot.copy_from_slice(&mean_u8);
                continue;
            }
            if !self.turned {
                let count = taps.len() as u32;
                let mut sum = [0u32; 3];
                for &(p, _) in taps {
                    let p = p as usize * 3;
                    for c in 0..3 {
                        sum[c] += u32::from(rgb[p + c]);
                    }
                }
                for c in 0..3 {
                    slot[c] = ((sum[c] + count / 2) / count.max(1)) as u8;
                }
            } else {
                let mut sum = [0f32; 3];
                for &(p, w) in taps {
                    let p = p as usize * 3;
                    for c in 0..3 {
                        sum[c] += w * f32::from(rgb[p + c]);
                    }
                }
                for c in 0..3 {
                    let v = sum[c] + mean_weight * f32::from(mean_u8[c]);
                    slot[c] = v.round().clamp(0.0, 255.0) as u8;
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_frames_stay_constant_and_size_is_right() {
        let rgb = vec![100u8; 4 * 4 * 3];
        let out = resize_bilinear(&rgb, 4, 4, 16, 16);
        assert_eq!(out.len(), 16 * 16 * 3);
        assert!(out.iter().all(|&v| v == 100));
    }

    #[test]
    fn block_means_of_a_4x_upscale_give_back_a_smooth_source() {
        // The detector brings frames back by averaging 4×4 blocks: on smooth content that undoes
        // the upscale (the watermark lives at the source scale).
        let rgb: Vec<u8> = (0..8 * 8)
            .flat_map(|p| {
                let (y, x) = (p / 8, p % 8);
                [
                    (20 + 25 * x) as u8,
                    (30 + 20 * y) as u8,
                    (100 + 5 * (x + y)) as u8,
                ]
            })
            .collect();
        let out = resize_bilinear(&rgb, 8, 8, 32, 32);
        for y in 1..7 {
            for x in 1..7 {
                for c in 0..3 {
                    let src = f32::from(rgb[(y * 8 + x) * 3 + c]);
                    let mean: f32 = (0..16)
                        .map(|i| f32::from(out[((y * 4 + i / 4) * 32 + x * 4 + i % 4) * 3 + c]))
                        .sum::<f32>()
                        / 16.0;
                    assert!((mean - src).abs() <= 1.0, "({y},{x},{c}): {mean} vs {src}");
                }
            }
        }
    }

    #[test]
    fn rotations_turn_the_picture_and_undo_each_other() {
        // 4x4, a distinct value per pixel in the red channel.
        let d: Vec<u8> = (0..16u8).flat_map(|v| [v * 10, 0, 0]).collect();
        let q = rotate(&d, 4, 4, 90.0);
        // Counter-clockwise: the top-right pixel (x=3, y=0) moves to the top-left.
        assert_eq!(q[0], 30);
        assert_eq!(rotate(&q, 4, 4, -90.0), d);
        assert_eq!(rotate(&rotate(&d, 4, 4, 180.0), 4, 4, 180.0), d);
        assert_eq!(rotate(&d, 4, 4, 360.0), d);
        // A small angle and back keeps the centre of a smooth picture.
        let smooth: Vec<u8> = (0..32 * 32)
            .flat_map(|i| [((i % 32) * 8) as u8, ((i / 32) * 8) as u8, 100])
            .collect();
        let back = rotate(&rotate(&smooth, 32, 32, 10.0), 32, 32, -10.0);
        let centre = (16 * 32 + 16) * 3;
        assert!((i32::from(back[centre]) - i32::from(smooth[centre])).abs() <= 2);
        // Degenerate input: no panic.
        assert_eq!(rotate(&[], 0, 0, 10.0), Vec::<u8>::new());
        assert_eq!(rotate(&[1, 2], 4, 4, 10.0).len(), 48);
    }

    #[test]
    fn a_canvas_map_is_the_three_steps_in_one() {
        let frame: Vec<u8> = (0..48 * 48)
            .flat_map(|i| {
                let (x, y) = (i % 48, i / 48);
                [(x * 5) as u8, (y * 5) as u8, ((x * y) % 251) as u8]
            })
            .collect();
        let regions = [
            Region {
                x: 0.0,
                y: 0.0,
                w: 1.0,
                h: 1.0,
            },
            Region {
                x: 0.1,
                y: 0.15,
                w: 0.8,
                h: 0.7,
            },
            Region {
                x: -0.2,
                y: 0.0,
                w: 1.4,
                h: 1.0,
            },
        ];
        for region in regions {
            for mirrored in [false, true] {
                for degrees in [0.0, 90.0, 180.0, 270.0, -90.0] {
                    let turned = rotate(&frame, 48, 48, -degrees);
                    let flipped = if mirrored {
                        mirror(&turned, 48)
                    } else {
                        turned
                    };
                    let expected = render_canvas(&flipped, 48, 48, region, 12);
                    let map = CanvasMap::new(48, 48, region, 12, mirrored, degrees);
                    assert_eq!(
                        map.apply(&frame),
                        expected,
                        "{region:?} {mirrored} {degrees}"
                    );
                }
                // A small turn: one rounding instead of two, and canvas outside the frame takes
                // the frame's mean rather than the turned frame's (the turn fills its corners).
                let turned = rotate(&frame, 48, 48, -10.0);
                let flipped = if mirrored {
                    mirror(&turned, 48)
                } else {
                    turned
                };
                let expected = render_canvas(&flipped, 48, 48, region, 12);
                let got = CanvasMap::new(48, 48, region, 12, mirrored, 10.0).apply(&frame);
                let inside = |i: usize| {
                    let (ox, oy) = ((i / 3) % 12, (i / 3) / 12);
                    let u = |f: f64| (f - region.x) / region.w;
                    let v = |f: f64| (f - region.y) / region.h;
                    u(ox as f64 / 12.0) >= 0.0
                        && u((ox + 1) as f64 / 12.0) <= 1.0
                        && v(oy as f64 / 12.0) >= 0.0
                        && v((oy + 1) as f64 / 12.0) <= 1.0
                };
                let worst = (0..expected.len())
                    .filter(|&i| inside(i))
                    .map(|i| (i32::from(expected[i]) - i32::from(got[i])).abs())
                    .max();
                assert!(worst <= Some(1), "{region:?} {mirrored}: {worst:?}");
            }
        }
        // Short input: black, no panic.
        let map = CanvasMap::new(48, 48, regions[0], 12, false, 10.0);
        assert_eq!(map.apply(&[1, 2, 3]), vec![0u8; 12 * 12 * 3]);
        assert_eq!(
            CanvasMap::new(0, 0, regions[0], 4, false, 0.0).apply(&[]),
            vec![0u8; 48]
        );
    }
}
