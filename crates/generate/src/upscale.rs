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
    fn block_means_are_preserved_by_4x_upscaling() {
        let rgb: Vec<u8> = (0..8 * 8 * 3).map(|i| (i * 7 % 256) as u8).collect();
        let out = upscale_bilinear(&rgb, 8, 8, 32, 32);
        // The centre of each 4×4 output block sits on its source pixel's centre: close to it.
        for y in 1..7 {
            for x in 1..7 {
                let src = f32::from(rgb[(y * 8 + x) * 3]);
                let mean: f32 = (0..4)
                    .flat_map(|dy| (0..4).map(move |dx| (dy, dx)))
                    .map(|(dy, dx)| f32::from(out[((y * 4 + dy) * 32 + x * 4 + dx) * 3]))
                    .sum::<f32>()
                    / 16.0;
                assert!((mean - src).abs() < 40.0);
            }
        }
    }
}
