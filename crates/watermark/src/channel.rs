//! Simulated channels for tests and benchmarks: what happens to an initial-noise estimate between
//! generation and detection (estimation noise, dropped, shuffled, swapped, inserted frames, edited
//! regions). These are models of attacks, used to measure the scheme; the real pipeline's attacks
//! are measured end to end by the detector's own benchmarks.

use rand::seq::SliceRandom;
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::shape::LatentShape;

/// Noise standard deviation that flips a fraction `p` of the signs of N(0,1) elements:
/// P(flip) = arccos(ρ)/π with ρ = 1/√(1+σ²).
pub fn sigma_for_flip_rate(p: f64) -> f64 {
    let rho = (p * std::f64::consts::PI).cos();
    (1.0 / (rho * rho) - 1.0).sqrt()
}

/// Adds N(0, σ²) noise to every element.
pub fn add_noise<R: Rng + ?Sized>(latent: &mut [f32], sigma: f64, rng: &mut R) {
    for v in latent {
        let e: f64 = StandardNormal.sample(rng);
        *v += (e * sigma) as f32;
    }
}

/// Fresh N(0,1) values (an unwatermarked latent).
pub fn gaussian<R: Rng + ?Sized>(len: usize, rng: &mut R) -> Vec<f32> {
    (0..len).map(|_| StandardNormal.sample(rng)).collect()
}

/// Keeps a random `1 - fraction` of the frames in random order. Returns the new latent, its shape
/// and the original index of each kept frame.
pub fn drop_and_shuffle<R: Rng + ?Sized>(
    latent: &[f32],
    shape: LatentShape,
    fraction: f64,
    rng: &mut R,
) -> (Vec<f32>, LatentShape, Vec<usize>) {
    let keep = ((shape.frames as f64) * (1.0 - fraction)).round().max(1.0) as usize;
    let mut order: Vec<usize> = (0..shape.frames).collect();
    order.shuffle(rng);
    order.truncate(keep);
    (
        select_frames(latent, shape, &order),
        LatentShape {
            frames: keep,
            ..shape
        },
        order,
    )
}

/// The frames at `order` (original indices), in that order.
pub fn select_frames(latent: &[f32], shape: LatentShape, order: &[usize]) -> Vec<f32> {
    let n = shape.frame_len();
    order
        .iter()
        .flat_map(|&f| latent[f * n..(f + 1) * n].iter().copied())
        .collect()
}

/// Inserts a frame of fresh noise at position `at`.
pub fn insert_foreign<R: Rng + ?Sized>(
    latent: &[f32],
    shape: LatentShape,
    at: usize,
    rng: &mut R,
) -> (Vec<f32>, LatentShape) {
    let n = shape.frame_len();
    let mut out = latent[..at * n].to_vec();
    out.extend(gaussian(n, rng));
    out.extend_from_slice(&latent[at * n..]);
    (
        out,
        LatentShape {
            frames: shape.frames + 1,
            ..shape
        },
    )
}

/// Replaces the spatial rectangle `[y0, y0+h) × [x0, x0+w)` of every channel of every frame with
/// fresh noise.
pub fn replace_region<R: Rng + ?Sized>(
    latent: &mut [f32],
    shape: LatentShape,
    (y0, x0, h, w): (usize, usize, usize, usize),
    rng: &mut R,
) {
    for f in 0..shape.frames {
        for c in 0..shape.channels {
            for y in y0..(y0 + h).min(shape.height) {
                for x in x0..(x0 + w).min(shape.width) {
                    let i = ((f * shape.channels + c) * shape.height + y) * shape.width + x;
                    latent[i] = StandardNormal.sample(rng);
                }
            }
        }
    }
}
