//! Noise schedule, sampling (DDIM, DPM-Solver++ 2M) and DDIM inversion (deterministic,
//! v-prediction).
//!
//! Cosine schedule over 1000 training steps: ᾱ(t) = cos²(((t/T)+s)/(1+s)·π/2) / cos²(s/(1+s)·π/2),
//! clipped so the last step keeps a sliver of signal. With v = √ᾱ·ε − √(1−ᾱ)·x₀ the model's output
//! gives x̂₀ = √ᾱ·x_t − √(1−ᾱ)·v and ε̂ = √(1−ᾱ)·x_t + √ᾱ·v. DDIM moves x_t to
//! x_s = √ᾱ_s·x̂₀ + √(1−ᾱ_s)·ε̂; inversion runs the same update from s to t.
//!
//! In terms of the half log-SNR λ = log(α/σ) (α = √ᾱ, σ = √(1−ᾱ)) that move is
//! x_s = (σ_s/σ_t)·x_t − α_s·(e^(−h) − 1)·x̂₀ with h = λ_s − λ_t: the first-order DPM-Solver++
//! step (Lu et al., 2022). [`Sampler::DpmSolver2M`] replaces x̂₀ by its second-order multistep
//! extrapolation from the two latest predictions, D = (1 + 1/2r)·x̂₀ − (1/2r)·x̂₀′ with
//! r = h′/h; it costs no extra model call and reaches DDIM's quality in about half the steps.

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

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

/// Timesteps visited by a K-step sampler spaced uniformly in λ = ½·log(ᾱ/(1−ᾱ)) rather than in
/// t, from noisiest to cleanest, strictly decreasing: the spacing a multistep solver needs (its
/// extrapolation assumes neighbouring steps of similar size in λ; time-uniform steps on the
/// cosine schedule make the first step ten times longer than the next).
pub fn log_snr_timesteps(steps: usize) -> Result<Vec<usize>> {
    let uniform = sampling_timesteps(steps)?;
    if steps < 3 {
        return Ok(uniform);
    }
    let abar = alphas_cumprod();
    let lambda = |t: usize| 0.5 * (abar[t] / (1.0 - abar[t])).ln();
    let (hi, lo) = (lambda(TRAIN_STEPS - 1), lambda(0));
    let mut out: Vec<usize> = Vec::with_capacity(steps);
    for i in 0..steps {
        let target = hi + (lo - hi) * i as f64 / (steps - 1) as f64;
        // λ grows as t falls: the first t whose λ reaches the target.
        let t = if i + 1 == steps {
            0
        } else {
            (0..TRAIN_STEPS)
                .rev()
                .find(|&t| lambda(t) >= target)
                .unwrap_or(0)
        };
        // Strictly decreasing, leaving room for the steps still to come.
        let ceiling = out.last().map_or(TRAIN_STEPS - 1, |&p| p.saturating_sub(1));
        let floor = steps - 1 - i;
        out.push(t.min(ceiling).max(floor));
    }
    Ok(out)
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

/// How a clip is sampled from its initial noise. Both are deterministic ODE solvers, so the
/// initial noise (and the watermark drawn into it) decides the clip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Sampler {
    /// DDIM (first order).
    Ddim,
    /// DPM-Solver++ (2M): second-order multistep in x̂₀, one model call per step.
    #[default]
    DpmSolver2M,
}

impl Sampler {
    pub const ALL: [Sampler; 2] = [Sampler::Ddim, Sampler::DpmSolver2M];

    /// "ddim", "dpm-solver-2m": as on the command line and in manifests.
    pub fn name(self) -> &'static str {
        match self {
            Sampler::Ddim => "ddim",
            Sampler::DpmSolver2M => "dpm-solver-2m",
        }
    }

    /// The sampler named `name` (see [`Self::name`]).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// Runs DDIM from `noise` (at the noisiest timestep) to a clean latent. `model(x, t)` returns v.
pub fn sample(
    noise: &Tensor,
    steps: usize,
    model: impl FnMut(&Tensor, usize) -> Result<Tensor>,
    progress: impl FnMut(usize, usize),
) -> Result<Tensor> {
    sample_with(Sampler::Ddim, noise, steps, model, progress)
}

/// Runs `sampler` from `noise` (at the noisiest timestep) to a clean latent in `steps` model
/// calls. `model(x, t)` returns v.
pub fn sample_with(
    sampler: Sampler,
    noise: &Tensor,
    steps: usize,
    model: impl FnMut(&Tensor, usize) -> Result<Tensor>,
    progress: impl FnMut(usize, usize),
) -> Result<Tensor> {
    sample_known(sampler, noise, steps, None, None, model, progress)
}

/// Part of a latent that is already decided: where `mask` is 1 the result must be `x0`, a latent
/// that was sampled from `noise` (the same initial noise the sampler starts from there). Used to
/// continue a clip from its last frames (a long clip's chunks) and to redraw one region of a clip
/// while keeping the rest (an edit).
#[derive(Debug, Clone)]
pub struct Known {
    /// The decided clean latent, shaped as the sampler's latent.
    pub x0: Tensor,
    /// The initial noise `x0` was sampled from, same shape.
    pub noise: Tensor,
    /// 1 where `x0` holds, 0 where the sampler draws; broadcastable to the latent.
    pub mask: Tensor,
    /// The path the decided part took when it was sampled itself, with the same sampler and
    /// steps from the same noise: its latent after each step but the last (see the `trace` of
    /// [`sample_known`]). Held to that path, the decided part is what the model itself made of
    /// it at every noise level; without it, it is put where the forward process from `x0` puts
    /// it (which the model never produced, a small mismatch the drawn part sees at each step).
    pub path: Option<Vec<Tensor>>,
}

impl Known {
    /// The decided part placed at ᾱ (the forward process from `x0` along its own noise), the
    /// rest of `x` kept.
    fn impose(&self, x: &Tensor, alpha_bar: f64, step: Option<usize>) -> Result<Tensor> {
        let at = match (step, &self.path) {
            (Some(i), Some(path)) if i < path.len() => path[i].clone(),
            _ => ((&self.x0 * alpha_bar.sqrt())? + (&self.noise * (1.0 - alpha_bar).sqrt())?)?,
        };
        let keep = self.mask.broadcast_as(x.shape())?;
        let free = (keep.ones_like()? - &keep)?;
        Ok(((at * &keep)? + (x * free)?)?)
    }
}

/// [`sample_with`] holding the `known` part of the latent to what it was: after every step the
/// decided elements are put back on their own path ([`Known::path`]), or where the forward
/// process from their clean value puts them (the replacement method of inpainting with a
/// diffusion model), so the drawn part is denoised beside them and the result keeps them exactly.
/// `trace` receives the latent after every step but the last: the path a later call holds this
/// result's elements to.
pub fn sample_known(
    sampler: Sampler,
    noise: &Tensor,
    steps: usize,
    known: Option<&Known>,
    mut trace: Option<&mut Vec<Tensor>>,
    mut model: impl FnMut(&Tensor, usize) -> Result<Tensor>,
    mut progress: impl FnMut(usize, usize),
) -> Result<Tensor> {
    let abar = alphas_cumprod();
    let ts = match sampler {
        Sampler::Ddim => sampling_timesteps(steps)?,
        Sampler::DpmSolver2M => log_snr_timesteps(steps)?,
    };
    let lambda = |a: f64| 0.5 * (a / (1.0 - a)).ln();
    let mut x = noise.clone();
    // The previous step's x̂₀ and its step size in λ (for the multistep correction).
    let mut previous: Option<(Tensor, f64)> = None;
    for (i, &t) in ts.iter().enumerate() {
        // Detached: the weights are trainable variables, so every step would otherwise keep the
        // whole graph of all the steps before it alive (7.5 GB for a 25-step default clip).
        let v = model(&x, t)?.detach();
        let (x0, _) = split_v(&x, &v, abar[t])?;
        let Some(&next) = ts.get(i + 1) else {
            x = match known {
                Some(k) => k.impose(&x0, 1.0, None)?,
                None => x0,
            }
            .detach();
            progress(i + 1, ts.len());
            break;
        };
        let (a_t, a_s) = (abar[t], abar[next]);
        let h = lambda(a_s) - lambda(a_t);
        let d = match (sampler, &previous) {
            (Sampler::DpmSolver2M, Some((x0_prev, h_prev))) if h > 0.0 => {
                let r = h_prev / h;
                let k = 1.0 / (2.0 * r);
                ((&x0 * (1.0 + k))? - (x0_prev * k)?)?
            }
            _ => x0.clone(),
        };
        let ratio = ((1.0 - a_s) / (1.0 - a_t)).sqrt();
        let coeff = a_s.sqrt() * (1.0 - (-h).exp());
        x = ((&x * ratio)? + (d * coeff)?)?;
        if let Some(k) = known {
            x = k.impose(&x, a_s, Some(i))?;
        }
        x = x.detach();
        if let Some(t) = trace.as_deref_mut() {
            t.push(x.clone());
        }
        previous = Some((x0, h));
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
    use candle_core::{DType, Device};

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
    fn known_elements_come_out_exactly_and_the_rest_is_sampled() -> Result<()> {
        // An oracle model for one clean latent: sampled from its noise, it returns that latent.
        let device = Device::Cpu;
        let (x0, eps) = (
            Tensor::randn(0f32, 1f32, (4, 2, 3, 3), &device)?,
            Tensor::randn(0f32, 1f32, (4, 2, 3, 3), &device)?,
        );
        let abar = alphas_cumprod();
        let oracle = |_: &Tensor, t: usize| -> Result<Tensor> {
            Ok(((&eps * abar[t].sqrt())? - (&x0 * (1.0 - abar[t]).sqrt())?)?)
        };
        // The first frame is decided as something else entirely.
        let other = (Tensor::ones((4, 2, 3, 3), DType::F32, &device)? * 5.0)?;
        let mask = Tensor::new(&[1f32, 0., 0., 0.], &device)?.reshape((4, 1, 1, 1))?;
        let known = Known {
            x0: other.clone(),
            noise: eps.clone(),
            mask,
            path: None,
        };
        for sampler in Sampler::ALL {
            let out = sample_known(sampler, &eps, 8, Some(&known), None, oracle, |_, _| {})?;
            let first = (out.get(0)? - other.get(0)?)?
                .abs()?
                .max_all()?
                .to_scalar::<f32>()?;
            assert_eq!(first, 0.0, "{sampler:?}: the decided frame is kept exactly");
            let rest = (out.narrow(0, 1, 3)? - x0.narrow(0, 1, 3)?)?
                .abs()?
                .max_all()?
                .to_scalar::<f32>()?;
            // (Up to the start: the sampler starts at the noise, the oracle's x_T also holds
            // √ᾱ_T·x0, about 1 % of it.)
            assert!(
                rest < 0.05,
                "{sampler:?}: the free frames are sampled: {rest}"
            );
        }
        // Without `known` the first frame is the oracle's, not the decided one.
        let free = sample_known(Sampler::Ddim, &eps, 8, None, None, oracle, |_, _| {})?;
        let first = (free.get(0)? - other.get(0)?)?
            .abs()?
            .max_all()?
            .to_scalar::<f32>()?;
        assert!(first > 1.0);
        Ok(())
    }

    #[test]
    fn held_to_its_own_path_a_decided_part_leaves_the_run_as_it_was() -> Result<()> {
        // A model whose output depends on x and mixes frames (as temporal layers do).
        let model = |x: &Tensor, t: usize| -> Result<Tensor> {
            let mean = x.mean_keepdim(0)?.broadcast_as(x.shape())?;
            Ok(((x * 0.3)? + (mean * (0.2 + t as f64 / 2000.0))?)?)
        };
        let device = Device::Cpu;
        let noise = Tensor::randn(0f32, 1f32, (4, 2, 3, 3), &device)?;
        let mut trace = Vec::new();
        let first = sample_known(
            Sampler::DpmSolver2M,
            &noise,
            6,
            None,
            Some(&mut trace),
            model,
            |_, _| {},
        )?;
        assert_eq!(trace.len(), 5, "every step but the last");
        let mask = Tensor::new(&[1f32, 1., 0., 0.], &device)?.reshape((4, 1, 1, 1))?;
        let held = |path: Option<Vec<Tensor>>| Known {
            x0: first.clone(),
            noise: noise.clone(),
            mask: mask.clone(),
            path,
        };
        let diff =
            |a: &Tensor| -> Result<f32> { Ok((a - &first)?.abs()?.max_all()?.to_scalar::<f32>()?) };
        let on_path = sample_known(
            Sampler::DpmSolver2M,
            &noise,
            6,
            Some(&held(Some(trace))),
            None,
            model,
            |_, _| {},
        )?;
        assert!(diff(&on_path)? < 1e-5, "{}", diff(&on_path)?);
        // Put back by the forward process instead, the free frames come out otherwise.
        let forward = sample_known(
            Sampler::DpmSolver2M,
            &noise,
            6,
            Some(&held(None)),
            None,
            model,
            |_, _| {},
        )?;
        assert!(diff(&forward)? > 1e-3, "{}", diff(&forward)?);
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

    /// A model that knows the data is N(0, c²) per element: its x̂₀ is the posterior mean, and the
    /// sampling ODE's exact solution is x₀ = x_T · √(ᾱ₀c² + 1 − ᾱ₀) / √(ᾱ_T c² + 1 − ᾱ_T).
    fn gaussian_error(sampler: Sampler, steps: usize) -> Result<f64> {
        let c2 = 0.25f64;
        let abar = alphas_cumprod();
        let model = |x: &Tensor, t: usize| -> Result<Tensor> {
            let (a, s) = (abar[t].sqrt(), (1.0 - abar[t]).sqrt());
            let x0 = (x * (a * c2 / (a * a * c2 + s * s)))?;
            let eps = ((x - (&x0 * a)?)? / s)?;
            Ok(((eps * a)? - (x0 * s)?)?)
        };
        let noise = Tensor::randn(0f32, 1f32, (64,), &Device::Cpu)?;
        let out = sample_with(sampler, &noise, steps, model, |_, _| {})?;
        let (a_t, a_0) = (abar[TRAIN_STEPS - 1], 1.0);
        let scale = (a_0 * c2 + 1.0 - a_0).sqrt() / (a_t * c2 + 1.0 - a_t).sqrt();
        let exact = (&noise * scale)?;
        let err = (out - &exact)?.abs()?.max_all()?.to_scalar::<f32>()?;
        let size = exact.abs()?.max_all()?.to_scalar::<f32>()?;
        Ok(f64::from(err / size))
    }

    #[test]
    fn dpm_solver_2m_is_second_order_and_beats_ddim_at_half_the_steps() -> Result<()> {
        let ddim_25 = gaussian_error(Sampler::Ddim, 25)?;
        let ddim_12 = gaussian_error(Sampler::Ddim, 12)?;
        let dpm_12 = gaussian_error(Sampler::DpmSolver2M, 12)?;
        let dpm_24 = gaussian_error(Sampler::DpmSolver2M, 24)?;
        eprintln!("ddim 25: {ddim_25:.2e}, ddim 12: {ddim_12:.2e}, dpm 12: {dpm_12:.2e}, dpm 24: {dpm_24:.2e}");
        assert!(dpm_12 < ddim_25, "dpm 12 {dpm_12} vs ddim 25 {ddim_25}");
        assert!(
            dpm_12 < ddim_12 / 2.0,
            "dpm 12 {dpm_12} vs ddim 12 {ddim_12}"
        );
        // Halving the step size cuts a second-order method's error by more than 2.
        assert!(dpm_24 < dpm_12 / 2.5, "dpm 24 {dpm_24} vs dpm 12 {dpm_12}");
        let ts = log_snr_timesteps(12)?;
        assert_eq!((ts[0], ts[11], ts.len()), (TRAIN_STEPS - 1, 0, 12));
        assert!(ts.windows(2).all(|w| w[1] < w[0]), "{ts:?}");
        let many = log_snr_timesteps(1000)?;
        assert!(many.windows(2).all(|w| w[1] < w[0]));
        // One step of either is DDIM's single step.
        let (one_ddim, one_dpm) = (
            gaussian_error(Sampler::Ddim, 1)?,
            gaussian_error(Sampler::DpmSolver2M, 1)?,
        );
        assert!((one_ddim - one_dpm).abs() < 1e-5, "{one_ddim} vs {one_dpm}");
        assert_eq!(
            Sampler::from_name("dpm-solver-2m"),
            Some(Sampler::DpmSolver2M)
        );
        assert_eq!(Sampler::from_name("euler"), None);
        Ok(())
    }
}
