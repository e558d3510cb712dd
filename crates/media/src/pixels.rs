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

/// Renders a `size×size` canvas of which the `width×height` RGB24 frame `data` shows the
/// region `p`: each output pixel averages the frame pixels its footprint covers; canvas pixels
/// outside the frame get the frame's mean colour.
pub fn render_canvas(data: &[u8], width: usize, height: usize, p: Region, size: usize) -> Vec<u8> {
    if width == 0 || height == 0 || data.len() < width * height * 3 {
        return vec![0u8; size * size * 3];
    }
    let mut mean = [0u64; 3];
    for px in data.chunks_exact(3) {
        for c in 0..3 {
            mean[c] += u64::from(px[c]);
        }
    }
    let n = (data.len() / 3).max(1) as u64;
    let mean = mean.map(|m| (m / n) as u8);
    let mut out = vec![0u8; size * size * 3];
    // Observed coordinate (in pixels) of an original-canvas fraction.
    let to_u = |fx: f64| (fx - p.x) / p.w * width as f64;
    let to_v = |fy: f64| (fy - p.y) / p.h * height as f64;
    for oy in 0..size {
        let v0 = to_v(oy as f64 / size as f64).max(0.0);
        let v1 = to_v((oy + 1) as f64 / size as f64).min(height as f64);
        for ox in 0..size {
            let u0 = to_u(ox as f64 / size as f64).max(0.0);
            let u1 = to_u((ox + 1) as f64 / size as f64).min(width as f64);
            let slot = &mut out[(oy * size + ox) * 3..(oy * size + ox) * 3 + 3];
            if u1 <= u0 || v1 <= v0 {
                slot.copy_from_slice(&mean);
                continue;
            }
            // Whole pixels whose centres fall in the footprint (at least the nearest one).
            let (x0, y0) = (u0.floor() as usize, v0.floor() as usize);
            let x1 = (u1.ceil() as usize).clamp(x0 + 1, width);
            let y1 = (v1.ceil() as usize).clamp(y0 + 1, height);
            let mut sum = [0u32; 3];
            let mut count = 0u32;
            for y in y0..y1 {
                for x in x0..x1 {
                    let i = (y * width + x) * 3;
                    for c in 0..3 {
                        sum[c] += u32::from(data[i + c]);
                    }
                    count += 1;
                }
            }
            for c in 0..3 {
                slot[c] = ((sum[c] + count / 2) / count.max(1)) as u8;
            }
        }
    }
    out
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
}
