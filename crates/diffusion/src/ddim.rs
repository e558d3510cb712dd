//! Noise schedule, DDIM sampling and DDIM inversion (deterministic, v-prediction).
//!
//! Cosine schedule over 1000 training steps: ᾱ(t) = cos²(((t/T)+s)/(1+s)·π/2) / cos²(s/(1+s)·π/2),
//! clipped so the last step keeps a sliver of signal. With v = √ᾱ·ε − √(1−ᾱ)·x₀ the model's output
//! gives x̂₀ = √ᾱ·x_t − √(1−ᾱ)·v and ε̂ = √(1−ᾱ)·x_t + √ᾱ·v. DDIM moves x_t to
//! x_s = √ᾱ_s·x̂₀ + √(1−ᾱ_s)·ε̂; inversion runs the same update from s to t.

use candle_core::Tensor;

use crate::error::{DiffusionError, Result};

/// Training timesteps.
pub const TRAIN_STEPS: usize = 1000;

/// ᾱ for every training timestep.
pub fn alphas_cumprod() -> Vec<f64> {
    let s = 0.008;
    let f = |t: f64| {
        (((t / TRAIN_STEPS as f64) + s) / (1.0 + s) * std::f64::consts::FRAC_PI_2)
            .cos()
            .powi(2)
    };
    let f0 = f(0.0);
    (0..TRAIN_STEPS)
        .map(|t| (f(t as f64 + 1.0) / f0).clamp(1e-4, 0.9999))
        .collect()
}

/// Timesteps visited by a K-step sampler, from noisiest to cleanest.
pub fn sampling_timesteps(steps: usize) -> Result<Vec<usize>> {
    if steps == 0 || steps > TRAIN_STEPS {
        return Err(DiffusionError::input(format!(
            "steps must be between 1 and {TRAIN_STEPS}, got {steps}"
        )));
    }
    Ok((0..steps)
        .map(|i| {
            ((TRAIN_STEPS - 1) as f64 * (steps - 1 - i) as f64 / (steps - 1).max(1) as f64).round()
                as usize
        })
        .collect())
}

/// x̂₀ and ε̂ from a v-prediction at ᾱ.
pub fn split_v(x: &Tensor, v: &Tensor, alpha_bar: f64) -> Result<(Tensor, Tensor)> {
    let (a, s) = (alpha_bar.sqrt(), (1.0 - alpha_bar).sqrt());
    let x0 = ((x * a)? - (v * s)?)?;
    let eps = ((x * s)? + (v * a)?)?;
    Ok((x0, eps))
}

/// One DDIM move from ᾱ_from to ᾱ_to using the model's v at the current point.
pub fn ddim_move(x: &Tensor, v: &Tensor, alpha_from: f64, alpha_to: f64) -> Result<Tensor> {
    let (x0, eps) = split_v(x, v, alpha_from)?;
    Ok(((x0 * alpha_to.sqrt())? + (eps * (1.0 - alpha_to).sqrt())?)?)
}

/// Runs DDIM from `noise` (at the noisiest timestep) to a clean latent. `model(x, t)` returns v.
pub fn sample(
    noise: &Tensor,
    steps: usize,
    mut model: impl FnMut(&Tensor, usize) -> Result<Tensor>,
    mut progress: impl FnMut(usize, usize),
) -> Result<Tensor> {
    let abar = alphas_cumprod();
    let ts = sampling_timesteps(steps)?;
    let mut x = noise.clone();
    for (i, &t) in ts.iter().enumerate() {
        // Detached: the weights are trainable variables, so every step would otherwise keep the
        // whole graph of all the steps before it alive (7.5 GB for a 25-step default clip).
        let v = model(&x, t)?.detach();
        let next = if i + 1 < ts.len() {
            abar[ts[i + 1]]
        } else {
            1.0
        };
        x = if next >= 1.0 {
            split_v(&x, &v, abar[t])?.0
        } else {
            ddim_move(&x, &v, abar[t], next)?
        }
        .detach();
        progress(i + 1, ts.len());
    }
    Ok(x)
}

/// DDIM inversion: from a clean latent back to an estimate of the initial noise, in `steps`
/// model evaluations (from the cleanest timestep up to the noisiest). `steps = 0` returns the
/// latent itself: the detector can read the watermark straight from the latent when the model
/// leaves the initial noise's signs visible in its output (measured per model; see
/// `candor bench robustness --inversion-steps`).
pub fn invert(
    latent: &Tensor,
    steps: usize,
    mut model: impl FnMut(&Tensor, usize) -> Result<Tensor>,
    mut progress: impl FnMut(usize, usize),
) -> Result<Tensor> {
    if steps == 0 {
        return Ok(latent.clone());
    }
    let abar = alphas_cumprod();
    let mut points = sampling_timesteps(steps + 1)?;
    points.reverse(); // cleanest first; the clean latent counts as sitting at the cleanest one
    let mut x = latent.clone();
    // Each move evaluates the model where x sits and carries x̂₀, ε̂ to the next noisier point.
    for i in 1..points.len() {
        let (from, to) = (points[i - 1], points[i]);
        let v = model(&x, from)?.detach();
        x = ddim_move(&x, &v, abar[from], abar[to])?.detach();
        progress(i, steps);
    }
    Ok(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn schedule_is_decreasing_and_bounded() {
        let a = alphas_cumprod();
        assert_eq!(a.len(), TRAIN_STEPS);
        assert!(a.windows(2).all(|w| w[1] <= w[0]));
        assert!(a[0] > 0.99 && a[TRAIN_STEPS - 1] < 0.01);
        assert_eq!(
            sampling_timesteps(5).ok(),
            Some(vec![999, 749, 500, 250, 0])
        );
        assert!(sampling_timesteps(0).is_err());
    }

    #[test]
    fn an_oracle_model_inverts_exactly() -> Result<()> {
        // With a model that knows the true noise, DDIM sampling is exact and inversion returns it.
        let device = Device::Cpu;
        let x0 = Tensor::randn(0f32, 1f32, (2, 3, 4, 4), &device)?;
        let eps = Tensor::randn(0f32, 1f32, (2, 3, 4, 4), &device)?;
        let abar = alphas_cumprod();
        let oracle = |x: &Tensor, t: usize| -> Result<Tensor> {
            // v such that split_v gives the true x0 and eps: v = √ᾱ ε − √(1−ᾱ) x0.
            let _ = x;
            Ok(((&eps * abar[t].sqrt())? - (&x0 * (1.0 - abar[t]).sqrt())?)?)
        };
        let t_last = TRAIN_STEPS - 1;
        let start = ((&x0 * abar[t_last].sqrt())? + (&eps * (1.0 - abar[t_last]).sqrt())?)?;
        let out = sample(&start, 10, oracle, |_, _| {})?;
        let err = (out - &x0)?.abs()?.max_all()?.to_scalar::<f32>()?;
        assert!(err < 1e-4, "{err}");
        // Inversion treats the clean latent as sitting at the cleanest timestep (ᾱ = 0.9999, 1 %
        // noise), so it is exact up to that first step's mismatch.
        let back = invert(&x0, 10, oracle, |_, _| {})?;
        let err = (back - &start)?.abs()?.max_all()?.to_scalar::<f32>()?;
        assert!(err < 0.05, "{err}");
        // A wrong model is far off: the test can fail.
        let wrong = invert(&x0, 10, |x: &Tensor, _| Ok(x.zeros_like()?), |_, _| {})?;
        let err = (wrong - &start)?.abs()?.max_all()?.to_scalar::<f32>()?;
        assert!(err > 0.5, "{err}");
        Ok(())
    }

    #[test]
    fn steps_keep_no_graph_of_the_steps_before() -> Result<()> {
        // A model whose output depends on a trainable variable, as the UNet's does: without
        // detaching, each step's latent would hold the graph of every earlier step (memory grew by
        // 300 MB per step on the default model).
        let w = candle_core::Var::ones((1, 2, 3, 3), candle_core::DType::F32, &Device::Cpu)?;
        let model = |x: &Tensor, _: usize| -> Result<Tensor> { Ok((x * w.as_tensor())?) };
        let x = Tensor::randn(0f32, 1f32, (1, 2, 3, 3), &Device::Cpu)?;
        assert!(model(&x, 0)?.track_op(), "the model output is tracked");
        let out = sample(&x, 4, model, |_, _| {})?;
        assert!(!out.track_op());
        let back = invert(&x, 4, model, |_, _| {})?;
        assert!(!back.track_op());
        Ok(())
    }

    #[test]
    fn inversion_makes_exactly_k_model_calls_and_zero_returns_the_latent() -> Result<()> {
        let x0 = Tensor::randn(0f32, 1f32, (1, 2, 3, 3), &Device::Cpu)?;
        for k in [0usize, 1, 2, 7] {
            let mut calls = Vec::new();
            let out = invert(
                &x0,
                k,
                |x: &Tensor, t| {
                    calls.push(t);
                    Ok(x.ones_like()?)
                },
                |_, _| {},
            )?;
            assert_eq!(calls.len(), k);
            if k == 0 {
                let same = (out - &x0)?.abs()?.max_all()?.to_scalar::<f32>()?;
                assert_eq!(same, 0.0);
            } else {
                assert_eq!(calls[0], 0, "starts at the cleanest timestep");
            }
        }
        Ok(())
    }
}
