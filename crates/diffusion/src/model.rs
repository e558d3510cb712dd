//! A complete diffusion model: configuration, latent codec, denoiser; loading, sampling, inversion.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::codec::{BandStats, HaarCodec};
use crate::data::{COLOURS, COLOURS_BEFORE_V4};
use crate::ddim;
use crate::error::{DiffusionError, Result};
use crate::layout;
use crate::prompt::{tokenize, vocabulary, Tokens, MAX_TOKENS};
use crate::unet::{UNetConfig, VideoUNet};

/// Mixed into the generation seed for the layout planner's draws, so they are not the draws
/// that pick the noise's magnitudes.
const LAYOUT_SEED_DOMAIN: u64 = 0x6c61_796f_7574_0001;

/// A pull of the predicted clean latent towards `target` (`[F, C, h, w]`), element by element
/// by `weight` (0 leaves an element to the model, 1 puts it on the target), on the sampler's
/// first `steps` steps only: the later steps are the model's own, so what was pulled is
/// harmonised with what is around it. Generation uses it to hold an object's colour where the
/// layout placed it (`candor_generate`). `held`, when given, is a second weight applied on every
/// step after the first `steps`: what must stay on the target to the end (a colour the model was
/// not trained on, drawn through a trained one).
#[derive(Debug, Clone)]
pub struct Steer {
    pub target: Tensor,
    pub weight: Tensor,
    pub steps: usize,
    pub held: Option<Tensor>,
}

/// `config.json` of a model directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// Model name recorded in manifests.
    pub name: String,
    /// Native frame size in pixels (square).
    pub size: usize,
    /// Frames the model was trained on.
    pub frames: usize,
    pub unet: UNetConfig,
    /// Latent codec: `haar` (exact, built in).
    pub codec: String,
    pub band_stats: BandStats,
    /// Vocabulary the prompt encoder was trained on.
    pub vocabulary: Vec<String>,
    /// DDIM inversion steps the detector uses by default with this model, chosen from the
    /// measured robustness curve (`candor bench robustness --inversion-steps K`); 0 reads the
    /// watermark from the latent itself. Absent: 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detector_inversion_steps: Option<usize>,
    /// How well each latent channel keeps the watermark's signs after heavy re-encoding, as
    /// weights for the detector's clip-wide test (`2 × agreement − 1`, measured by the
    /// `calibrate_detector` example of candor-verify on attacked clips). Absent: equal weights.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detector_channel_weights: Option<Vec<f32>>,
    /// Object colours the model was trained to draw (names in [`crate::data::COLOURS`]).
    /// Absent: the nine of candor-shapes-v1 to v3 (no grey).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub colours: Option<Vec<String>>,
}

impl ModelConfig {
    /// Shape of the default model, with band statistics to fill in.
    pub fn default_model(name: &str, band_stats: BandStats) -> Self {
        let vocabulary = vocabulary();
        Self {
            name: name.into(),
            size: 32,
            frames: 16,
            unet: UNetConfig::default_model(vocabulary.len(), MAX_TOKENS),
            codec: "haar".into(),
            band_stats,
            vocabulary,
            detector_inversion_steps: None,
            detector_channel_weights: None,
            colours: Some(COLOURS.iter().map(|(c, _)| c.to_string()).collect()),
        }
    }

    /// A tiny random model for tests.
    pub fn tiny(name: &str) -> Self {
        let vocabulary = vocabulary();
        Self {
            name: name.into(),
            size: 32,
            frames: 4,
            unet: UNetConfig::tiny(vocabulary.len(), MAX_TOKENS),
            codec: "haar".into(),
            band_stats: BandStats::identity(48),
            vocabulary,
            detector_inversion_steps: None,
            detector_channel_weights: None,
            colours: Some(COLOURS.iter().map(|(c, _)| c.to_string()).collect()),
        }
    }

    /// The object colours this model draws, in palette order: those its config lists that the
    /// palette knows, else the palette's first nine.
    pub fn colours(&self) -> Vec<&'static str> {
        let palette = COLOURS.iter().map(|(c, _)| *c);
        match &self.colours {
            Some(listed) => palette.filter(|c| listed.iter().any(|l| l == c)).collect(),
            None => palette.take(COLOURS_BEFORE_V4).collect(),
        }
    }

    /// The detector's default inversion steps for this model.
    pub fn default_inversion_steps(&self) -> usize {
        self.detector_inversion_steps.unwrap_or(10)
    }

    /// Latent shape `[frames, C, h, w]` for `frames` frames at native size.
    pub fn latent_shape(&self, frames: usize) -> (usize, usize, usize, usize) {
        let h = self.size / crate::codec::HAAR_BLOCK;
        (frames, self.unet.latent_channels, h, h)
    }
}

/// A loaded model.
pub struct DiffusionModel {
    pub config: ModelConfig,
    pub codec: HaarCodec,
    pub unet: VideoUNet,
    /// SHA-256 of the weights file (hex), recorded in manifests; empty for in-memory models.
    pub weights_sha256: String,
    pub device: Device,
    varmap: VarMap,
}

impl std::fmt::Debug for DiffusionModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiffusionModel")
            .field("name", &self.config.name)
            .finish_non_exhaustive()
    }
}

impl DiffusionModel {
    /// A model with freshly initialised weights (training starts here; tests use tiny ones).
    pub fn new_random(config: ModelConfig, device: &Device) -> Result<Self> {
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, device);
        let unet = VideoUNet::new(&config.unet, vb)?;
        let codec = HaarCodec::new(&config.band_stats, device)?;
        Ok(Self {
            config,
            codec,
            unet,
            weights_sha256: String::new(),
            device: device.clone(),
            varmap,
        })
    }

    /// Loads `dir/config.json` and `dir/model.safetensors` for inference (no autograd; train from
    /// [`DiffusionModel::new_random`] and the trainer's checkpoints).
    pub fn load(dir: &Path, device: &Device) -> Result<Self> {
        let bad = |reason: String| DiffusionError::Model {
            dir: dir.to_path_buf(),
            reason,
        };
        if !dir.is_dir() {
            return Err(bad("no such model directory".into()));
        }
        let config_path = dir.join("config.json");
        let text =
            std::fs::read_to_string(&config_path).map_err(|e| bad(format!("config.json: {e}")))?;
        let config: ModelConfig =
            serde_json::from_str(&text).map_err(|e| bad(format!("config.json: {e}")))?;
        if config.codec != "haar" {
            return Err(bad(format!(
                "codec '{}' is not supported by this build",
                config.codec
            )));
        }
        if config.vocabulary != vocabulary() {
            return Err(bad(
                "the model's vocabulary differs from this build's prompt encoder".into(),
            ));
        }
        let weights = dir.join("model.safetensors");
        let bytes = std::fs::read(&weights).map_err(|e| bad(format!("model.safetensors: {e}")))?;
        let weights_sha256 = hex::encode(Sha256::digest(&bytes));
        let mut model = Self::new_random(config, device)?;
        model
            .load_weights_bytes(&bytes)
            .map_err(|e| bad(format!("model.safetensors: {e}")))?;
        model.freeze()?;
        model.weights_sha256 = weights_sha256;
        Ok(model)
    }

    /// Rebuilds the UNet over plain (non-variable) views of the weights: a loaded model is for
    /// inference, and a network built from variables records every operation for backprop,
    /// keeping each step's intermediate tensors alive until it ends. The views share storage with
    /// the variables, so `varmap` and `save` still see the same weights.
    fn freeze(&mut self) -> Result<()> {
        let weights: std::collections::HashMap<String, Tensor> = self
            .varmap
            .data()
            .lock()
            .map_err(|_| DiffusionError::input("weights lock poisoned"))?
            .iter()
            .map(|(name, var)| (name.clone(), var.as_tensor().detach()))
            .collect();
        let vb = VarBuilder::from_tensors(weights, DType::F32, &self.device);
        self.unet = VideoUNet::new(&self.config.unet, vb)?;
        Ok(())
    }

    fn load_weights_bytes(&mut self, bytes: &[u8]) -> Result<()> {
        let tensors = candle_core::safetensors::load_buffer(bytes, &self.device)?;
        let data = self
            .varmap
            .data()
            .lock()
            .map_err(|_| DiffusionError::input("weights lock poisoned"))?;
        for (name, var) in data.iter() {
            let t = tensors
                .get(name)
                .ok_or_else(|| DiffusionError::input(format!("tensor '{name}' missing")))?;
            if t.dims() != var.dims() {
                return Err(DiffusionError::input(format!(
                    "tensor '{name}' has shape {:?}, expected {:?}",
                    t.dims(),
                    var.dims()
                )));
            }
            var.set(&t.to_dtype(DType::F32)?)?;
        }
        Ok(())
    }

    /// The trainable variables (name → var).
    pub fn varmap(&self) -> &VarMap {
        &self.varmap
    }

    /// Writes `dir/config.json` and `dir/model.safetensors`.
    pub fn save(&self, dir: &Path) -> Result<PathBuf> {
        std::fs::create_dir_all(dir).map_err(|e| DiffusionError::Io {
            path: dir.to_path_buf(),
            source: e,
        })?;
        let json = serde_json::to_string_pretty(&self.config)
            .map_err(|e| DiffusionError::input(e.to_string()))?;
        std::fs::write(dir.join("config.json"), json).map_err(|e| DiffusionError::Io {
            path: dir.join("config.json"),
            source: e,
        })?;
        let path = dir.join("model.safetensors");
        self.varmap.save(&path)?;
        Ok(path)
    }

    /// Tokenises a prompt with the model's vocabulary.
    pub fn tokenize(&self, prompt: &str) -> Tokens {
        tokenize(prompt)
    }

    /// The prompt encoder's embedding `[1, emb]` of `tokens`.
    pub fn prompt_embedding(&self, tokens: &Tokens) -> Result<Tensor> {
        let ids = Tensor::from_vec(tokens.ids.clone(), (1, tokens.ids.len()), &self.device)?;
        self.unet.encode_prompt(&ids)
    }

    /// The layout planner's objects for a prompt (empty for a model without a layout input):
    /// deterministic in `seed`.
    pub fn layout_plan(
        &self,
        tokens: &Tokens,
        frames: usize,
        seed: u64,
    ) -> Vec<layout::PlannedObject> {
        self.layout_plan_objects(layout::objects_in(tokens), frames, None, seed)
    }

    /// As [`Self::layout_plan`], for objects a prompt reader named, over the `background` it read
    /// (if any).
    pub fn layout_plan_objects(
        &self,
        objects: Vec<layout::NamedObject>,
        frames: usize,
        background: Option<&str>,
        seed: u64,
    ) -> Vec<layout::PlannedObject> {
        let Some(cfg) = self.config.unet.layout else {
            return Vec::new();
        };
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ LAYOUT_SEED_DOMAIN);
        layout::plan_objects(
            objects,
            cfg.slots,
            frames,
            self.config.size,
            background,
            &mut rng,
        )
    }

    /// Layout maps `[1, F, channels, side, side]` of objects over `frames` frames (the
    /// planner's, or a training clip's), or `None` for a model without a layout input.
    pub fn layout_maps(
        &self,
        objects: &[layout::LayoutObject],
        frames: usize,
    ) -> Result<Option<Tensor>> {
        let Some(cfg) = self.config.unet.layout else {
            return Ok(None);
        };
        let maps = layout::maps(objects, frames, self.config.size, cfg);
        Ok(Some(Tensor::from_vec(
            maps,
            (1, frames, cfg.channels(), cfg.side, cfg.side),
            &self.device,
        )?))
    }

    /// DDIM sampling from `noise: [F, C, h, w]` with classifier-free guidance; `layout` places
    /// the prompt's objects (from [`Self::layout_maps`]; `None`: nothing placed). Returns latents.
    pub fn sample(
        &self,
        noise: &Tensor,
        tokens: &Tokens,
        layout: Option<&Tensor>,
        steps: usize,
        guidance: f64,
        progress: impl FnMut(usize, usize),
    ) -> Result<Tensor> {
        self.sample_with(
            ddim::Sampler::Ddim,
            noise,
            tokens,
            layout,
            steps,
            guidance,
            progress,
        )
    }

    /// As [`Self::sample`], with the sampler of choice.
    #[allow(clippy::too_many_arguments)]
    pub fn sample_with(
        &self,
        sampler: ddim::Sampler,
        noise: &Tensor,
        tokens: &Tokens,
        layout: Option<&Tensor>,
        steps: usize,
        guidance: f64,
        progress: impl FnMut(usize, usize),
    ) -> Result<Tensor> {
        self.sample_known(
            sampler, noise, None, None, None, tokens, layout, steps, guidance, progress,
        )
    }

    /// As [`Self::sample_with`], keeping the `known` part of the latent (`[F, C, h, w]`-shaped
    /// tensors) exactly as it is and drawing the rest beside it: a long clip's next chunk after
    /// its overlap with the previous one, or an edit's region. `trace` receives the latent
    /// (`[F, C, h, w]`) after every step but the last: the path a later chunk holds its overlap
    /// to ([`ddim::Known::path`]). `steer` pulls the predicted clean latent towards a target on
    /// the first steps ([`Steer`]).
    #[allow(clippy::too_many_arguments)]
    pub fn sample_known(
        &self,
        sampler: ddim::Sampler,
        noise: &Tensor,
        known: Option<&ddim::Known>,
        trace: Option<&mut Vec<Tensor>>,
        steer: Option<&Steer>,
        tokens: &Tokens,
        layout: Option<&Tensor>,
        steps: usize,
        guidance: f64,
        progress: impl FnMut(usize, usize),
    ) -> Result<Tensor> {
        let known = match known {
            Some(k) => Some(ddim::Known {
                x0: k.x0.unsqueeze(0)?,
                noise: k.noise.unsqueeze(0)?,
                mask: k.mask.unsqueeze(0)?,
                path: match &k.path {
                    Some(p) => Some(
                        p.iter()
                            .map(|t| t.unsqueeze(0))
                            .collect::<std::result::Result<Vec<_>, _>>()?,
                    ),
                    None => None,
                },
            }),
            None => None,
        };
        let mut batched_trace: Vec<Tensor> = Vec::new();
        let cond = self.prompt_embedding(tokens)?;
        let uncond = self.prompt_embedding(&tokenize(""))?;
        let both = Tensor::cat(&[&cond, &uncond], 0)?;
        // The unconditional branch has no layout either (all-zero maps).
        let both_layouts = match layout {
            Some(l) => Some(Tensor::cat(&[l, &l.zeros_like()?], 0)?),
            None => None,
        };
        let x = noise.unsqueeze(0)?;
        let abar = ddim::alphas_cumprod();
        let steer = match steer {
            Some(s) => Some((
                s.target.unsqueeze(0)?,
                s.weight.unsqueeze(0)?,
                s.steps,
                match &s.held {
                    Some(h) => Some(h.unsqueeze(0)?),
                    None => None,
                },
            )),
            None => None,
        };
        let mut step = 0usize;
        let out = ddim::sample_known(
            sampler,
            &x,
            steps,
            known.as_ref(),
            trace.is_some().then_some(&mut batched_trace),
            |x, t| {
                let v = if guidance == 1.0 {
                    let tt = Tensor::new(&[t as f32], &self.device)?;
                    self.unet.forward(x, &tt, &cond, layout)?
                } else {
                    let xx = Tensor::cat(&[x, x], 0)?;
                    let tt = Tensor::new(&[t as f32, t as f32], &self.device)?;
                    let v = self.unet.forward(&xx, &tt, &both, both_layouts.as_ref())?;
                    let vc = v.get(0)?.unsqueeze(0)?;
                    let vu = v.get(1)?.unsqueeze(0)?;
                    (&vu + ((vc - &vu)? * guidance)?)?
                };
                step += 1;
                let pull = match &steer {
                    Some((target, weight, until, _)) if step <= *until => Some((target, weight)),
                    Some((target, _, _, Some(held))) => Some((target, held)),
                    _ => None,
                };
                match pull {
                    // x̂₀ = √ᾱ·x − √(1−ᾱ)·v: moving x̂₀ by Δ moves v by −Δ/√(1−ᾱ).
                    Some((target, weight)) => {
                        let a = abar[t.min(abar.len() - 1)];
                        let x0 = ((x * a.sqrt())? - (&v * (1.0 - a).sqrt())?)?;
                        let delta = ((target - x0)? * weight)?;
                        Ok((v - (delta / (1.0 - a).sqrt().max(1e-6))?)?)
                    }
                    None => Ok(v),
                }
            },
            progress,
        )?;
        if let Some(trace) = trace {
            for t in batched_trace {
                trace.push(t.squeeze(0)?);
            }
        }
        Ok(out.squeeze(0)?)
    }

    /// DDIM inversion with the empty prompt: latents `[F, C, h, w]` → initial-noise estimate.
    pub fn invert(
        &self,
        latents: &Tensor,
        steps: usize,
        progress: impl FnMut(usize, usize),
    ) -> Result<Tensor> {
        let uncond = self.prompt_embedding(&tokenize(""))?;
        let x = latents.unsqueeze(0)?;
        let out = ddim::invert(
            &x,
            steps,
            |x, t| {
                let tt = Tensor::new(&[t as f32], &self.device)?;
                self.unet.forward(x, &tt, &uncond, None)
            },
            progress,
        )?;
        Ok(out.squeeze(0)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_without_colours_draws_no_grey_and_the_vocabulary_is_unchanged() {
        let mut config = ModelConfig::tiny("t");
        assert!(config.colours().contains(&"gray"));
        config.colours = None;
        let colours = config.colours();
        assert_eq!(colours.len(), 9);
        assert!(!colours.contains(&"gray"));
        // Grey has one token, the background's: the shipped models' vocabulary still loads.
        let vocab = vocabulary();
        assert_eq!(vocab.len(), 29);
        assert_eq!(vocab.iter().filter(|w| *w == "gray").count(), 1);
        assert_eq!(vocab[10], "white");
        assert_eq!(vocab[11], "circle");
    }

    fn forward(model: &DiffusionModel) -> Result<Tensor> {
        let (f, c, h, w) = model.config.latent_shape(2);
        let x = Tensor::ones((1, f, c, h, w), DType::F32, &model.device)?;
        let t = Tensor::new(&[500f32], &model.device)?;
        let prompt = model.prompt_embedding(&model.tokenize("a red circle"))?;
        model.unet.forward(&x, &t, &prompt, None)
    }

    #[test]
    fn a_loaded_model_computes_the_same_without_recording_gradients() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| DiffusionError::input(e.to_string()))?;
        let trained = DiffusionModel::new_random(ModelConfig::tiny("tiny"), &Device::Cpu)?;
        trained.save(dir.path())?;
        let loaded = DiffusionModel::load(dir.path(), &Device::Cpu)?;
        let (a, b) = (forward(&trained)?, forward(&loaded)?);
        assert!(a.track_op(), "a trainable model records its operations");
        assert!(!b.track_op(), "a loaded model is for inference");
        let diff = (a - b)?.abs()?.max_all()?.to_scalar::<f32>()?;
        assert_eq!(diff, 0.0);
        assert_eq!(loaded.weights_sha256.len(), 64);
        Ok(())
    }

    #[test]
    fn bad_weights_are_a_model_error() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| DiffusionError::input(e.to_string()))?;
        DiffusionModel::new_random(ModelConfig::tiny("tiny"), &Device::Cpu)?.save(dir.path())?;
        let weights = dir.path().join("model.safetensors");
        let bytes = std::fs::read(&weights).map_err(|e| DiffusionError::input(e.to_string()))?;
        std::fs::write(&weights, &bytes[..bytes.len() / 2])
            .map_err(|e| DiffusionError::input(e.to_string()))?;
        let e = DiffusionModel::load(dir.path(), &Device::Cpu).map(|_| ());
        assert!(
            matches!(&e, Err(DiffusionError::Model { reason, .. }) if reason.contains("model.safetensors")),
            "{e:?}"
        );
        Ok(())
    }
}
