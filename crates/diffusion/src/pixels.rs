//! Pixels ⇄ tensors, in one place: packed RGB24 frames and the model's `[F, 3, s, s]` tensors in
//! [-1, 1] (a byte `b` is `b / 127.5 − 1`; a value `v` is the byte `round((v + 1) · 127.5)`,
//! clamped).

use candle_core::{Device, Tensor};

use crate::{DiffusionError, Result};

/// How many times the model's native size a clip is made and read at: generation upscales by it,
/// and the detector's geometry search works at it.
pub const WORK_SCALE: usize = 4;

/// The frame rate clips are made at unless asked otherwise (the model was trained on motion at
/// this rate): what the detector assumes when it tells a frame-rate conversion from a change of
/// speed.
pub const CLIP_FPS: u32 = 8;

/// RGB24 frames of `size×size` → `[F, 3, size, size]` in [-1, 1].
pub fn rgb_to_tensor(frames: &[Vec<u8>], size: usize, device: &Device) -> Result<Tensor> {
    let plane = size * size;
    if let Some(bad) = frames.iter().find(|f| f.len() != plane * 3) {
        return Err(DiffusionError::FrameSize {
            expected: plane * 3,
            got: bad.len(),
        });
    }
    let mut data = vec![0f32; frames.len() * 3 * plane];
    for (f, rgb) in frames.iter().enumerate() {
        for p in 0..plane {
            for c in 0..3 {
                data[(f * 3 + c) * plane + p] = f32::from(rgb[p * 3 + c]) / 127.5 - 1.0;
            }
        }
    }
    Ok(Tensor::from_vec(
        data,
        (frames.len(), 3, size, size),
        device,
    )?)
}

/// `[F, 3, h, w]` in [-1, 1] → RGB24 frames.
pub fn tensor_to_rgb(frames: &Tensor) -> Result<Vec<Vec<u8>>> {
    let (f, c, h, w) = frames.dims4()?;
    if c != 3 {
        return Err(DiffusionError::NotRgb { channels: c });
    }
    let data: Vec<f32> = frames.flatten_all()?.to_vec1()?;
    let plane = h * w;
    Ok((0..f)
        .map(|i| {
            let mut rgb = Vec::with_capacity(plane * 3);
            for p in 0..plane {
                for ch in 0..3 {
                    let v = data[(i * 3 + ch) * plane + p];
                    rgb.push(((v + 1.0) * 127.5).round().clamp(0.0, 255.0) as u8);
                }
            }
            rgb
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_survive_the_round_trip() -> Result<()> {
        let frames: Vec<Vec<u8>> = (0..2)
            .map(|f| {
                (0..4 * 4 * 3)
                    .map(|i| ((i * 7 + f * 31) % 256) as u8)
                    .collect()
            })
            .collect();
        let t = rgb_to_tensor(&frames, 4, &Device::Cpu)?;
        assert_eq!(t.dims4()?, (2, 3, 4, 4));
        assert_eq!(tensor_to_rgb(&t)?, frames);
        Ok(())
    }

    #[test]
    fn wrong_sizes_are_errors_not_panics() -> Result<()> {
        let short = vec![vec![0u8; 10]];
        assert!(matches!(
            rgb_to_tensor(&short, 4, &Device::Cpu),
            Err(DiffusionError::FrameSize {
                expected: 48,
                got: 10
            })
        ));
        let grey = Tensor::zeros((1, 1, 4, 4), candle_core::DType::F32, &Device::Cpu)?;
        assert!(matches!(
            tensor_to_rgb(&grey),
            Err(DiffusionError::NotRgb { channels: 1 })
        ));
        Ok(())
    }
}
