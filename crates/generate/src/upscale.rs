//! Deterministic bilinear resampling of RGB24 frames (pixel centres at half-integers).

/// Resizes an RGB24 frame from `w×h` to `out_w×out_h`.
pub fn upscale_bilinear(rgb: &[u8], w: u32, h: u32, out_w: u32, out_h: u32) -> Vec<u8> {
    let (w, h, ow, oh) = (w as usize, h as usize, out_w as usize, out_h as usize);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_frames_stay_constant_and_size_is_right() {
        let rgb = vec![100u8; 4 * 4 * 3];
        let out = upscale_bilinear(&rgb, 4, 4, 16, 16);
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
        let out = upscale_bilinear(&rgb, 8, 8, 32, 32);
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
