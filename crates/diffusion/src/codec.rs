//! Latent codecs: frames ⇄ latents.
//!
//! The default [`HaarCodec`] is an exact orthonormal transform: a two-level 2-D Haar wavelet on
//! every 4×4 pixel block turns each colour channel into 16 bands at a quarter of the resolution
//! (32×32×3 → 48×8×8). Band 0 of each colour is the block mean (coarse), bands 1–3 the level-2
//! details, bands 4–15 the level-1 details (fine). Each band is then standardised with fixed
//! statistics so latents have unit variance. Encode ∘ decode is the identity up to float rounding,
//! and Gaussian noise stays Gaussian — no VAE to train, and the watermark can weight coarse bands,
//! which survive compression, above fine ones.
//!
//! A learned VAE (Stable-Diffusion family) fits the same [`LatentCodec`] trait.

use candle_core::{DType, Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::error::{DiffusionError, Result};

/// Frames ⇄ latents. Frames are `[F, 3, H, W]` in `[-1, 1]`; latents `[F, C, H/f, W/f]`.
pub trait LatentCodec: Send + Sync {
    /// Latent channels `C`.
    fn latent_channels(&self) -> usize;
    /// Spatial downsampling factor `f`.
    fn factor(&self) -> usize;
    fn encode(&self, frames: &Tensor) -> Result<Tensor>;
    fn decode(&self, latents: &Tensor) -> Result<Tensor>;
    /// True when `decode(encode(x)) == x` (up to rounding).
    fn is_exact(&self) -> bool;
}

/// Per-band standardisation of the Haar codec, stored in the model's config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BandStats {
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
}

impl BandStats {
    /// No standardisation (mean 0, std 1) for `channels` bands.
    pub fn identity(channels: usize) -> Self {
        Self {
            mean: vec![0.0; channels],
            std: vec![1.0; channels],
        }
    }
}

/// Two-level Haar on 4×4 blocks: 3 colour channels → 48 latent channels at 1/4 resolution.
#[derive(Debug, Clone)]
pub struct HaarCodec {
    /// `[16, 16]`: row k is basis function k over the 16 pixels of a block (row-major).
    basis: Tensor,
    mean: Tensor,
    std: Tensor,
}

/// Block size of the codec.
pub const HAAR_BLOCK: usize = 4;
/// Latent channels of the codec.
pub const HAAR_CHANNELS: usize = 48;

/// The orthonormal 16×16 two-level Haar basis on a 4×4 block.
pub fn haar_basis() -> [[f32; 16]; 16] {
    let mut rows = [[0f32; 16]; 16];
    for (k, row) in rows.iter_mut().enumerate() {
        // Column k of the forward transform is the response to pixel k alone; the transform is
        // orthonormal, so its inverse is its transpose: build forward responses, then transpose.
        let mut block = [0f32; 16];
        block[k] = 1.0;
        let coeffs = haar_forward(&block);
        for (i, c) in coeffs.iter().enumerate() {
            row[i] = *c;
        }
    }
    // rows[k][i] = coefficient i of impulse k = M[i][k]; return M (row i = basis function i).
    let mut m = [[0f32; 16]; 16];
    for (k, row) in rows.iter().enumerate() {
        for (i, &v) in row.iter().enumerate() {
            m[i][k] = v;
        }
    }
    m
}

/// Two-level Haar of one 4×4 block (row-major) → 16 coefficients, coarse first.
fn haar_forward(block: &[f32; 16]) -> [f32; 16] {
    let px = |y: usize, x: usize| block[y * 4 + x];
    let mut ll = [0f32; 4];
    let mut detail = [[0f32; 4]; 3];
    for by in 0..2 {
        for bx in 0..2 {
            let (a, b) = (px(2 * by, 2 * bx), px(2 * by, 2 * bx + 1));
            let (c, d) = (px(2 * by + 1, 2 * bx), px(2 * by + 1, 2 * bx + 1));
            let i = by * 2 + bx;
            ll[i] = (a + b + c + d) / 2.0;
            detail[0][i] = (a - b + c - d) / 2.0;
            detail[1][i] = (a + b - c - d) / 2.0;
            detail[2][i] = (a - b - c + d) / 2.0;
        }
    }
    let (a, b, c, d) = (ll[0], ll[1], ll[2], ll[3]);
    let mut out = [0f32; 16];
    out[0] = (a + b + c + d) / 2.0;
    out[1] = (a - b + c - d) / 2.0;
    out[2] = (a + b - c - d) / 2.0;
    out[3] = (a - b - c + d) / 2.0;
    for (band, values) in detail.iter().enumerate() {
        out[4 + band * 4..8 + band * 4].copy_from_slice(values);
    }
    out
}

impl HaarCodec {
    pub fn new(stats: &BandStats, device: &Device) -> Result<Self> {
        if stats.mean.len() != HAAR_CHANNELS || stats.std.len() != HAAR_CHANNELS {
            return Err(DiffusionError::input(format!(
                "Haar band statistics need {HAAR_CHANNELS} values"
            )));
        }
        if stats.std.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
            return Err(DiffusionError::input("Haar band std must be positive"));
        }
        let flat: Vec<f32> = haar_basis().iter().flatten().copied().collect();
        Ok(Self {
            basis: Tensor::from_vec(flat, (16, 16), device)?,
            mean: Tensor::from_vec(stats.mean.clone(), (1, HAAR_CHANNELS, 1, 1), device)?,
            std: Tensor::from_vec(stats.std.clone(), (1, HAAR_CHANNELS, 1, 1), device)?,
        })
    }

    /// Raw (unstandardised) band coefficients.
    pub fn bands(&self, frames: &Tensor) -> Result<Tensor> {
        let (f, c, h, w) = frames.dims4()?;
        if c != 3 || h % HAAR_BLOCK != 0 || w % HAAR_BLOCK != 0 {
            return Err(DiffusionError::input(format!(
                "frames must be [F, 3, H, W] with H and W multiples of {HAAR_BLOCK}, got [{f}, {c}, {h}, {w}]"
            )));
        }
        let (hb, wb) = (h / HAAR_BLOCK, w / HAAR_BLOCK);
        let blocks = frames
            .to_dtype(DType::F32)?
            .reshape((f, 3, hb, HAAR_BLOCK, wb, HAAR_BLOCK))?
            .permute((0, 1, 2, 4, 3, 5))?
            .contiguous()?
            .reshape((f * 3 * hb * wb, 16))?;
        let coeffs = blocks.matmul(&self.basis.t()?)?; // [N, 16]
        Ok(coeffs
            .reshape((f, 3, hb, wb, 16))?
            .permute((0, 1, 4, 2, 3))?
            .contiguous()?
            .reshape((f, HAAR_CHANNELS, hb, wb))?)
    }
}

impl LatentCodec for HaarCodec {
    fn latent_channels(&self) -> usize {
        HAAR_CHANNELS
    }

    fn factor(&self) -> usize {
        HAAR_BLOCK
    }

    fn encode(&self, frames: &Tensor) -> Result<Tensor> {
        let bands = self.bands(frames)?;
        Ok(bands.broadcast_sub(&self.mean)?.broadcast_div(&self.std)?)
    }

    fn decode(&self, latents: &Tensor) -> Result<Tensor> {
        let (f, c, hb, wb) = latents.dims4()?;
        if c != HAAR_CHANNELS {
            return Err(DiffusionError::input(format!(
                "latents must have {HAAR_CHANNELS} channels, got {c}"
            )));
        }
        let bands = latents
            .to_dtype(DType::F32)?
            .broadcast_mul(&self.std)?
            .broadcast_add(&self.mean)?;
        let coeffs = bands
            .reshape((f, 3, 16, hb, wb))?
            .permute((0, 1, 3, 4, 2))?
            .contiguous()?
            .reshape((f * 3 * hb * wb, 16))?;
        let blocks = coeffs.matmul(&self.basis)?; // orthonormal: inverse = transpose
        Ok(blocks
            .reshape((f, 3, hb, wb, HAAR_BLOCK, HAAR_BLOCK))?
            .permute((0, 1, 2, 4, 3, 5))?
            .contiguous()?
            .reshape((f, 3, hb * HAAR_BLOCK, wb * HAAR_BLOCK))?)
    }

    fn is_exact(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basis_is_orthonormal_and_coarse_first() {
        let m = haar_basis();
        for i in 0..16 {
            for j in 0..16 {
                let dot: f32 = (0..16).map(|k| m[i][k] * m[j][k]).sum();
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((dot - want).abs() < 1e-6, "({i},{j}) = {dot}");
            }
        }
        // Band 0 is the block mean, scaled: every pixel weighs 1/4.
        assert!(m[0].iter().all(|&v| (v - 0.25).abs() < 1e-6));
    }

    #[test]
    fn encode_then_decode_is_exact() -> Result<()> {
        let device = Device::Cpu;
        let stats = BandStats {
            mean: (0..48).map(|i| i as f32 * 0.01).collect(),
            std: (0..48).map(|i| 0.5 + i as f32 * 0.02).collect(),
        };
        let codec = HaarCodec::new(&stats, &device)?;
        let frames = ((Tensor::rand(0f32, 1f32, (3, 3, 32, 16), &device)? * 2.0)? - 1.0)?;
        let latents = codec.encode(&frames)?;
        assert_eq!(latents.dims(), &[3, 48, 8, 4]);
        let back = codec.decode(&latents)?;
        let err = (back - &frames)?.abs()?.max_all()?.to_scalar::<f32>()?;
        assert!(err < 1e-5, "{err}");
        // Energy is preserved by the raw transform.
        let bands = codec.bands(&frames)?;
        let e1 = frames.sqr()?.sum_all()?.to_scalar::<f32>()?;
        let e2 = bands.sqr()?.sum_all()?.to_scalar::<f32>()?;
        assert!((e1 - e2).abs() / e1 < 1e-5);
        Ok(())
    }

    #[test]
    fn bad_shapes_are_errors() -> Result<()> {
        let device = Device::Cpu;
        let codec = HaarCodec::new(&BandStats::identity(48), &device)?;
        assert!(codec
            .encode(&Tensor::zeros((1, 3, 30, 32), DType::F32, &device)?)
            .is_err());
        assert!(codec
            .decode(&Tensor::zeros((1, 12, 8, 8), DType::F32, &device)?)
            .is_err());
        assert!(HaarCodec::new(&BandStats::identity(12), &device).is_err());
        Ok(())
    }
}
