//! Training the default model: procedural clips → Haar latents → v-prediction loss, Adam, EMA,
//! resumable checkpoints (weights, EMA, optimiser moments, step, loss log).
//!
//! Longer than most files here (about 650 lines, half of them tests) because a checkpoint's
//! parts must be written and resumed together: split, the resume path would be spread over files.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use candle_core::{backprop::GradStore, DType, Device, Tensor, Var};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::codec::{BandStats, HaarCodec, LatentCodec, HAAR_CHANNELS};
use crate::data::{random_clip, random_clip_focused, COLOURS};
use crate::ddim::{alphas_cumprod, TRAIN_STEPS};
use crate::error::{DiffusionError, Result};
use crate::layout::LayoutObject;
use crate::model::{DiffusionModel, ModelConfig};
use crate::prompt::tokenize;
use crate::unet::LayoutConfig;

/// Training settings, saved with the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub name: String,
    pub steps: usize,
    pub batch_clips: usize,
    pub frames: usize,
    pub size: usize,
    pub lr: f64,
    pub warmup: usize,
    pub ema_decay: f64,
    /// Fraction of captions replaced by the empty prompt (for classifier-free guidance).
    pub cfg_dropout: f64,
    pub seed: u64,
    pub checkpoint_every: usize,
    /// From this step on, each latent band's share of the loss is proportional to its standard
    /// deviation in pixel units (see [`band_loss_weights`]). Runs saved before this setting
    /// existed read it as "never".
    #[serde(default = "never")]
    pub band_weighted_from_step: usize,
    /// From this step to `steps`, the learning rate falls linearly to 5 % of `lr` (annealing
    /// lets the weights settle at the end of a run). Older runs read it as "never".
    #[serde(default = "never")]
    pub lr_decay_from_step: usize,
    /// The run this one was grown from (see [`Trainer::grow`]), with the step it had reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grown_from: Option<String>,
    /// Most objects per training clip (see `data::random_spec_with`); older runs read 2.
    #[serde(default = "two")]
    pub max_objects: usize,
    /// For a layout with attributes: the chance that an object's colour (and, independently,
    /// its shape) is left out of its layout slot, so the model also draws objects whose colour
    /// or shape the prompt does not give. Older runs read 0.
    #[serde(default)]
    pub attribute_dropout: f64,
    /// A palette colour drawn for this share of objects instead of its uniform share (how
    /// candor-shapes-v4 learnt grey), from step `focus.2` on. Older runs: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub focus: Option<(String, f64, usize)>,
}

fn two() -> usize {
    2
}

fn never() -> usize {
    usize::MAX
}

/// Learning rate at `step`: linear warm-up, constant, then a linear decay to 5 % from
/// `lr_decay_from_step` to `steps`.
pub fn learning_rate(c: &TrainConfig, step: usize) -> f64 {
    let warm = ((step + 1) as f64 / c.warmup.max(1) as f64).min(1.0);
    let decay = if step >= c.lr_decay_from_step && c.steps > c.lr_decay_from_step {
        let left = c.steps.saturating_sub(step) as f64 / (c.steps - c.lr_decay_from_step) as f64;
        0.05 + 0.95 * left.clamp(0.0, 1.0)
    } else {
        1.0
    };
    c.lr * warm * decay
}

/// Per-band loss weights, mean 1, proportional to each band's pixel-unit standard deviation.
///
/// The latents are standardised per band, so an unweighted loss gives each of the 48 bands the
/// same say: the three coarse colour (DC) bands, which carry what a clip shows (object colour,
/// position, background), got 6 % of it, and the model left visible block noise in them. Weighting
/// by the band's std moves about half the loss onto the DC bands while the fine bands still learn.
pub fn band_loss_weights(stats: &BandStats) -> Vec<f32> {
    let mean = stats.std.iter().sum::<f32>() / stats.std.len().max(1) as f32;
    stats.std.iter().map(|s| s / mean.max(1e-6)).collect()
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            name: "candor-shapes-v2".into(),
            steps: 20_000,
            batch_clips: 3,
            frames: 16,
            size: 32,
            lr: 4e-4,
            warmup: 200,
            ema_decay: 0.999,
            cfg_dropout: 0.1,
            seed: 2026,
            checkpoint_every: 100,
            band_weighted_from_step: 0,
            grown_from: None,
            lr_decay_from_step: usize::MAX,
            max_objects: crate::layout::MAX_SLOTS,
            attribute_dropout: 0.15,
            focus: None,
        }
    }
}

/// A layout projection's weights `[out, old.channels(), kh, kw]` regrown for `new`: each old
/// slot's occupancy weights go to the same slot's occupancy channel, new slots start as a copy of
/// the last old slot's, and the attribute channels start at zero — so with occupancy-only maps
/// the grown projection computes what the old one did.
fn grow_layout_weight(w: &Tensor, old: LayoutConfig, new: LayoutConfig) -> Result<Tensor> {
    let (out, inputs, kh, kw) = w.dims4()?;
    if inputs != old.channels() || old.attributes || old.slots == 0 {
        return Err(DiffusionError::input(format!(
            "a layout weight with {inputs} input channels does not fit a {}-slot layout",
            old.slots
        )));
    }
    let zeros = Tensor::zeros((out, 1, kh, kw), w.dtype(), w.device())?;
    let mut channels = Vec::with_capacity(new.channels());
    for slot in 0..new.slots {
        channels.push(w.narrow(1, slot.min(old.slots - 1), 1)?);
        for _ in 1..new.channels_per_slot() {
            channels.push(zeros.clone());
        }
    }
    Ok(Tensor::cat(&channels, 1)?)
}

/// Progress of a run, saved as `state.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TrainState {
    pub step: usize,
    pub seconds: f64,
    pub last_loss: f64,
}

/// Band statistics of the Haar codec over random training clips.
pub fn band_stats(config: &TrainConfig, clips: usize, device: &Device) -> Result<BandStats> {
    let codec = HaarCodec::new(&BandStats::identity(HAAR_CHANNELS), device)?;
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed ^ 0xba5d);
    let mut sums = vec![0f64; HAAR_CHANNELS];
    let mut squares = vec![0f64; HAAR_CHANNELS];
    let mut count = 0f64;
    for _ in 0..clips {
        let clip = random_clip(&mut rng, config.frames, config.size, true);
        let frames = Tensor::from_vec(
            clip.pixels,
            (config.frames, 3, config.size, config.size),
            device,
        )?;
        let bands = codec.bands(&frames)?.transpose(0, 1)?.flatten_from(1)?; // [48, N]
        let values: Vec<Vec<f32>> = bands.to_vec2()?;
        for (c, row) in values.iter().enumerate() {
            sums[c] += row.iter().map(|&v| f64::from(v)).sum::<f64>();
            squares[c] += row
                .iter()
                .map(|&v| f64::from(v) * f64::from(v))
                .sum::<f64>();
        }
        count += values.first().map(|r| r.len()).unwrap_or(0) as f64;
    }
    let mean: Vec<f32> = sums.iter().map(|s| (s / count) as f32).collect();
    let std: Vec<f32> = squares
        .iter()
        .zip(&mean)
        .map(|(q, m)| ((q / count - f64::from(*m).powi(2)).max(1e-8).sqrt() as f32).max(0.01))
        .collect();
    Ok(BandStats { mean, std })
}

/// Adam with decoupled weight decay, whose moments are saved with the checkpoint.
struct Adam {
    vars: Vec<(String, Var)>,
    m: Vec<Tensor>,
    v: Vec<Tensor>,
    step: usize,
}

impl Adam {
    fn new(vars: Vec<(String, Var)>) -> Result<Self> {
        let m = vars
            .iter()
            .map(|(_, v)| v.zeros_like())
            .collect::<candle_core::Result<Vec<_>>>()?;
        let v = vars
            .iter()
            .map(|(_, v)| v.zeros_like())
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Self {
            vars,
            m,
            v,
            step: 0,
        })
    }

    fn update(&mut self, grads: &GradStore, lr: f64, clip_norm: f64) -> Result<f64> {
        let (b1, b2, eps, wd): (f64, f64, f64, f64) = (0.9, 0.999, 1e-8, 0.01);
        self.step += 1;
        let mut norm2 = 0f64;
        let gs: Vec<Option<Tensor>> = self
            .vars
            .iter()
            .map(|(_, v)| grads.get(v).cloned())
            .collect();
        for g in gs.iter().flatten() {
            norm2 += f64::from(g.sqr()?.sum_all()?.to_scalar::<f32>()?);
        }
        let norm = norm2.sqrt();
        let scale = if norm > clip_norm {
            clip_norm / norm
        } else {
            1.0
        };
        let (c1, c2) = (
            1.0 - b1.powi(self.step as i32),
            1.0 - b2.powi(self.step as i32),
        );
        for (i, g) in gs.into_iter().enumerate() {
            let Some(g) = g else { continue };
            // Optimiser state is plain data: detached, or every step would chain onto the last
            // one's autograd graph and memory would grow without bound.
            let g = (g.detach() * scale)?;
            self.m[i] = ((&self.m[i] * b1)? + (&g * (1.0 - b1))?)?.detach();
            self.v[i] = ((&self.v[i] * b2)? + (g.sqr()? * (1.0 - b2))?)?.detach();
            let update = ((&self.m[i] / c1)? / ((&self.v[i] / c2)?.sqrt()? + eps)?)?;
            let var = &self.vars[i].1;
            let next = ((var.as_tensor().detach() * (1.0 - lr * wd))? - (update * lr)?)?;
            var.set(&next)?;
        }
        Ok(norm)
    }
}

/// A training run in a directory: `config.json`, `train.json`, `checkpoint.safetensors`,
/// `state.json`, `loss.csv`.
pub struct Trainer {
    dir: PathBuf,
    pub config: TrainConfig,
    pub model: DiffusionModel,
    ema: Vec<Tensor>,
    adam: Adam,
    pub state: TrainState,
    device: Device,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> DiffusionError + '_ {
    move |e| DiffusionError::Io {
        path: path.to_path_buf(),
        source: e,
    }
}

impl Trainer {
    /// Starts a run, or resumes the one in `dir` (its saved settings win over `config`).
    pub fn open(dir: &Path, config: TrainConfig, device: &Device) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let train_path = dir.join("train.json");
        let resume = dir.join("checkpoint.safetensors").is_file();
        let config = if resume {
            let text = std::fs::read_to_string(&train_path).map_err(io(&train_path))?;
            let mut saved: TrainConfig =
                serde_json::from_str(&text).map_err(|e| DiffusionError::input(e.to_string()))?;
            saved.steps = config.steps; // the target may be raised when resuming
            saved
        } else {
            config
        };
        let model_config = if resume {
            let p = dir.join("config.json");
            let text = std::fs::read_to_string(&p).map_err(io(&p))?;
            serde_json::from_str::<ModelConfig>(&text)
                .map_err(|e| DiffusionError::input(e.to_string()))?
        } else {
            let stats = band_stats(&config, 64, device)?;
            let mut mc = ModelConfig::default_model(&config.name, stats);
            mc.size = config.size;
            mc.frames = config.frames;
            mc.unet.layout = Some(LayoutConfig::with_attributes(config.size));
            mc
        };
        let mut trainer = Self::assemble(dir, config, model_config, device)?;
        if resume {
            trainer.load_checkpoint()?;
        } else {
            trainer.save_checkpoint()?;
        }
        Ok(trainer)
    }

    /// A new run in `dir` that starts from the EMA weights of the run in `source`, with the
    /// layout input added (its projections start at zero: at step 0 the grown model computes what
    /// the source computes). Band statistics, vocabulary and every tensor the two share come from the
    /// source; the optimiser starts afresh.
    pub fn grow(
        dir: &Path,
        mut config: TrainConfig,
        source: &Path,
        device: &Device,
    ) -> Result<Self> {
        if dir.join("checkpoint.safetensors").is_file() {
            return Err(DiffusionError::input(format!(
                "{} already holds a run; resume it without --grow-from",
                dir.display()
            )));
        }
        let p = source.join("config.json");
        let text = std::fs::read_to_string(&p).map_err(io(&p))?;
        let mut model_config: ModelConfig =
            serde_json::from_str(&text).map_err(|e| DiffusionError::input(e.to_string()))?;
        if model_config.frames != config.frames || model_config.size != config.size {
            return Err(DiffusionError::input(format!(
                "the source run was trained on {} frames of {}×{}, not {} of {}×{}",
                model_config.frames,
                model_config.size,
                model_config.size,
                config.frames,
                config.size,
                config.size
            )));
        }
        model_config.name = config.name.clone();
        let target = LayoutConfig::with_attributes(model_config.size);
        let source_layout = model_config.unet.layout;
        if let Some(l) = source_layout {
            if l.attributes || l.slots >= target.slots || l.side != target.side {
                return Err(DiffusionError::input(format!(
                    "{} already has a layout input with attributes; resume it instead",
                    source.display()
                )));
            }
        }
        model_config.unet.layout = Some(target);
        let state_path = source.join("state.json");
        let text = std::fs::read_to_string(&state_path).map_err(io(&state_path))?;
        let state: TrainState =
            serde_json::from_str(&text).map_err(|e| DiffusionError::input(e.to_string()))?;
        config.grown_from = Some(format!("{} at step {}", source.display(), state.step));
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let mut trainer = Self::assemble(dir, config, model_config, device)?;
        let ckpt = source.join("checkpoint.safetensors");
        let tensors = candle_core::safetensors::load(&ckpt, device)?;
        let mut loaded = 0;
        for (i, (name, var)) in trainer.adam.vars.iter().enumerate() {
            if let (Some(t), Some(old)) = (tensors.get(&format!("ema.{name}")), source_layout) {
                if name.starts_with("layout.") && name.ends_with(".weight") {
                    let grown = grow_layout_weight(t, old, target)?;
                    var.set(&grown)?;
                    trainer.ema[i] = grown;
                    loaded += 1;
                    continue;
                }
            }
            if let Some(t) = tensors.get(&format!("ema.{name}")) {
                if t.dims() != var.as_tensor().dims() {
                    return Err(DiffusionError::input(format!(
                        "{name}: shape {:?} in the source, {:?} here",
                        t.dims(),
                        var.as_tensor().dims()
                    )));
                }
                var.set(t)?;
                trainer.ema[i] = t.copy()?;
                loaded += 1;
            }
        }
        let source_tensors = tensors.keys().filter(|k| k.starts_with("ema.")).count();
        if loaded != source_tensors {
            return Err(DiffusionError::input(format!(
                "the source has {source_tensors} weight tensors and only {loaded} fit this model"
            )));
        }
        trainer.save_checkpoint()?;
        Ok(trainer)
    }

    /// Model, optimiser and EMA for a run (weights freshly initialised).
    fn assemble(
        dir: &Path,
        config: TrainConfig,
        mut model_config: ModelConfig,
        device: &Device,
    ) -> Result<Self> {
        // The data stream draws objects from the whole palette (`data::COLOURS`): what this
        // run's exports can draw, whatever the run it resumes or grows from listed.
        model_config.colours = Some(COLOURS.iter().map(|(c, _)| c.to_string()).collect());
        let model = DiffusionModel::new_random(model_config, device)?;
        let mut vars: Vec<(String, Var)> = model
            .varmap()
            .data()
            .lock()
            .map_err(|_| DiffusionError::input("weights lock poisoned"))?
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        let ema = vars
            .iter()
            .map(|(_, v)| v.as_tensor().copy())
            .collect::<candle_core::Result<Vec<_>>>()?;
        let adam = Adam::new(vars)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            config,
            model,
            ema,
            adam,
            state: TrainState::default(),
            device: device.clone(),
        })
    }

    fn checkpoint_path(&self) -> PathBuf {
        self.dir.join("checkpoint.safetensors")
    }

    fn load_checkpoint(&mut self) -> Result<()> {
        let path = self.checkpoint_path();
        let tensors = candle_core::safetensors::load(&path, &self.device)?;
        let get = |k: String| {
            tensors
                .get(&k)
                .cloned()
                .ok_or_else(|| DiffusionError::input(format!("checkpoint lacks {k}")))
        };
        for (i, (name, var)) in self.adam.vars.iter().enumerate() {
            var.set(&get(format!("model.{name}"))?)?;
            self.ema[i] = get(format!("ema.{name}"))?;
            self.adam.m[i] = get(format!("adam_m.{name}"))?;
            self.adam.v[i] = get(format!("adam_v.{name}"))?;
        }
        let state_path = self.dir.join("state.json");
        let text = std::fs::read_to_string(&state_path).map_err(io(&state_path))?;
        self.state =
            serde_json::from_str(&text).map_err(|e| DiffusionError::input(e.to_string()))?;
        self.adam.step = self.state.step;
        Ok(())
    }

    /// Writes the checkpoint atomically (temp file, then rename).
    pub fn save_checkpoint(&self) -> Result<()> {
        let mut map: HashMap<String, Tensor> = HashMap::new();
        for (i, (name, var)) in self.adam.vars.iter().enumerate() {
            map.insert(format!("model.{name}"), var.as_tensor().clone());
            map.insert(format!("ema.{name}"), self.ema[i].clone());
            map.insert(format!("adam_m.{name}"), self.adam.m[i].clone());
            map.insert(format!("adam_v.{name}"), self.adam.v[i].clone());
        }
        let tmp = self.dir.join("checkpoint.safetensors.tmp");
        candle_core::safetensors::save(&map, &tmp)?;
        std::fs::rename(&tmp, self.checkpoint_path()).map_err(io(&self.checkpoint_path()))?;
        let write_json = |name: &str, value: String| -> Result<()> {
            let p = self.dir.join(name);
            std::fs::write(&p, value).map_err(io(&p))
        };
        write_json(
            "state.json",
            serde_json::to_string_pretty(&self.state)
                .map_err(|e| DiffusionError::input(e.to_string()))?,
        )?;
        write_json(
            "train.json",
            serde_json::to_string_pretty(&self.config)
                .map_err(|e| DiffusionError::input(e.to_string()))?,
        )?;
        write_json(
            "config.json",
            serde_json::to_string_pretty(&self.model.config)
                .map_err(|e| DiffusionError::input(e.to_string()))?,
        )?;
        Ok(())
    }

    /// Writes the EMA weights as a shippable model directory.
    pub fn export(&self, out: &Path) -> Result<()> {
        std::fs::create_dir_all(out).map_err(io(out))?;
        let map: HashMap<String, Tensor> = self
            .adam
            .vars
            .iter()
            .zip(&self.ema)
            .map(|((name, _), t)| (name.clone(), t.clone()))
            .collect();
        candle_core::safetensors::save(&map, out.join("model.safetensors"))?;
        let json = serde_json::to_string_pretty(&self.model.config)
            .map_err(|e| DiffusionError::input(e.to_string()))?;
        std::fs::write(out.join("config.json"), json).map_err(io(out))?;
        Ok(())
    }

    /// One optimisation step on a fresh batch; returns the loss.
    pub fn step(&mut self) -> Result<f64> {
        let c = &self.config;
        let step = self.state.step;
        let mut rng =
            ChaCha8Rng::seed_from_u64(c.seed.wrapping_mul(1_000_003).wrapping_add(step as u64));
        let (f, s) = (c.frames, c.size);
        let mut pixels = Vec::with_capacity(c.batch_clips * f * 3 * s * s);
        let mut ids = Vec::with_capacity(c.batch_clips * crate::prompt::MAX_TOKENS);
        let layout_cfg = self.model.config.unet.layout;
        let mut layouts = Vec::new();
        for _ in 0..c.batch_clips {
            let focus = c
                .focus
                .as_ref()
                .filter(|(_, _, from)| step >= *from)
                .map(|(colour, share, _)| (colour.as_str(), *share));
            let clip = random_clip_focused(&mut rng, f, s, true, c.max_objects, focus);
            pixels.extend(clip.pixels);
            let drop_caption = rng.gen_bool(c.cfg_dropout);
            let caption = if drop_caption {
                String::new()
            } else {
                clip.caption
            };
            ids.extend(tokenize(&caption).ids);
            // The layout goes with the caption (guidance's unconditional branch has neither),
            // and is also left out on its own now and then, so a prompt without objects to
            // place still works.
            let drop_layout = drop_caption || rng.gen_bool(c.cfg_dropout);
            let objects: Vec<LayoutObject> = clip
                .tracks
                .iter()
                .map(|t| LayoutObject {
                    track: t,
                    colour: !rng.gen_bool(c.attribute_dropout),
                    shape: !rng.gen_bool(c.attribute_dropout),
                })
                .collect();
            if let Some(cfg) = layout_cfg {
                let maps = crate::layout::maps(&objects, f, s, cfg);
                if drop_layout {
                    layouts.extend(std::iter::repeat_n(0f32, maps.len()));
                } else {
                    layouts.extend(maps);
                }
            }
        }
        let b = c.batch_clips;
        let frames = Tensor::from_vec(pixels, (b * f, 3, s, s), &self.device)?;
        let x0 = self.model.codec.encode(&frames)?;
        let (_, lc, lh, lw) = x0.dims4()?;
        let x0 = x0.reshape((b, f, lc, lh, lw))?;
        let eps = Tensor::randn(0f32, 1f32, x0.dims(), &self.device)?;
        let abar = alphas_cumprod();
        let ts: Vec<usize> = (0..b).map(|_| rng.gen_range(0..TRAIN_STEPS)).collect();
        let sa: Vec<f32> = ts.iter().map(|&t| abar[t].sqrt() as f32).collect();
        let sb: Vec<f32> = ts.iter().map(|&t| (1.0 - abar[t]).sqrt() as f32).collect();
        let sa = Tensor::from_vec(sa, (b, 1, 1, 1, 1), &self.device)?;
        let sb = Tensor::from_vec(sb, (b, 1, 1, 1, 1), &self.device)?;
        let xt = (x0.broadcast_mul(&sa)? + eps.broadcast_mul(&sb)?)?;
        let target = (eps.broadcast_mul(&sa)? - x0.broadcast_mul(&sb)?)?;
        let t = Tensor::from_vec(
            ts.iter().map(|&t| t as f32).collect::<Vec<_>>(),
            b,
            &self.device,
        )?;
        let tokens = Tensor::from_vec(ids, (b, crate::prompt::MAX_TOKENS), &self.device)?;
        let prompt = self.model.unet.encode_prompt(&tokens)?;
        let layout = match self.model.config.unet.layout {
            Some(l) => Some(Tensor::from_vec(
                layouts,
                (b, f, l.channels(), l.side, l.side),
                &self.device,
            )?),
            None => None,
        };
        let v = self.model.unet.forward(&xt, &t, &prompt, layout.as_ref())?;
        let err = (v - target)?.sqr()?;
        let loss = if step >= c.band_weighted_from_step {
            let w = band_loss_weights(&self.model.config.band_stats);
            let w = Tensor::from_vec(w, (1, 1, lc, 1, 1), &self.device)?;
            err.broadcast_mul(&w)?.mean_all()?
        } else {
            err.mean_all()?
        };
        let grads = loss.backward()?;
        let lr = learning_rate(c, step);
        self.adam.update(&grads, lr, 1.0)?;
        let d = c.ema_decay.min((1.0 + step as f64) / (10.0 + step as f64));
        for (i, (_, var)) in self.adam.vars.iter().enumerate() {
            self.ema[i] = ((&self.ema[i] * d)? + (var.as_tensor().detach() * (1.0 - d))?)?.detach();
        }
        let loss = f64::from(loss.to_dtype(DType::F32)?.to_scalar::<f32>()?);
        self.state.step += 1;
        self.state.last_loss = loss;
        Ok(loss)
    }

    /// Trains until `config.steps`, checkpointing as it goes. `progress(step, loss)` after each step.
    pub fn run(&mut self, mut progress: impl FnMut(usize, f64)) -> Result<()> {
        let log_path = self.dir.join("loss.csv");
        let mut log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(io(&log_path))?;
        let started = std::time::Instant::now();
        let base_seconds = self.state.seconds;
        while self.state.step < self.config.steps {
            let loss = self.step()?;
            self.state.seconds = base_seconds + started.elapsed().as_secs_f64();
            writeln!(
                log,
                "{},{:.6},{:.1}",
                self.state.step, loss, self.state.seconds
            )
            .map_err(io(&log_path))?;
            if self.state.step.is_multiple_of(self.config.checkpoint_every)
                || self.state.step == self.config.steps
            {
                self.save_checkpoint()?;
            }
            progress(self.state.step, loss);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn band_weights_follow_the_band_spread_and_average_one() {
        let stats = BandStats {
            mean: vec![0.0; 4],
            std: vec![2.0, 1.0, 0.5, 0.5],
        };
        let w = band_loss_weights(&stats);
        assert_eq!(w, vec![2.0, 1.0, 0.5, 0.5]);
        assert!((w.iter().sum::<f32>() / 4.0 - 1.0).abs() < 1e-6);
    }

    #[test]
    fn learning_rate_warms_up_holds_and_anneals() {
        let c = TrainConfig {
            steps: 1000,
            warmup: 100,
            lr: 1.0,
            lr_decay_from_step: 600,
            ..TrainConfig::default()
        };
        assert!((learning_rate(&c, 49) - 0.5).abs() < 1e-9);
        assert_eq!(learning_rate(&c, 300), 1.0);
        assert!((learning_rate(&c, 800) - 0.525).abs() < 1e-9);
        assert!((learning_rate(&c, 1000) - 0.05).abs() < 1e-9);
        let never = TrainConfig {
            lr: 1.0,
            ..TrainConfig::default()
        };
        assert_eq!(learning_rate(&never, 19_999), 1.0);
    }

    #[test]
    fn the_committed_run_grows_a_layout_input_once() -> Result<()> {
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../runs/candor-shapes-v1");
        let dir = std::env::temp_dir().join(format!("candor-grow-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let config = TrainConfig {
            name: "grown".into(),
            steps: 0,
            ..TrainConfig::default()
        };
        let device = Device::Cpu;
        let outcome = (|| -> Result<()> {
            let grown = Trainer::grow(&dir, config.clone(), &source, &device)?;
            let layout = grown.model.config.unet.layout;
            assert_eq!(layout.map(|l| l.side), Some(8));
            assert_eq!(grown.state.step, 0);
            assert_eq!(grown.model.config.name, "grown");
            assert!(grown
                .config
                .grown_from
                .as_deref()
                .is_some_and(|g| g.ends_with("candor-shapes-v1 at step 8800")));
            // The grown run is a run: it resumes, and it cannot be grown again.
            let resumed = Trainer::open(&dir, config.clone(), &device)?;
            assert_eq!(resumed.model.config.unet.layout, layout);
            let again = Trainer::grow(&dir, config.clone(), &source, &device);
            assert!(again.is_err(), "grew over an existing run");
            let other = std::env::temp_dir().join(format!("candor-grow-2-{}", std::process::id()));
            let twice = Trainer::grow(&other, config.clone(), &dir, &device);
            let _ = std::fs::remove_dir_all(&other);
            assert!(twice.is_err(), "grew a layout input with attributes twice");
            let fewer = TrainConfig {
                frames: 8,
                ..config.clone()
            };
            let wrong = Trainer::grow(&other, fewer, &source, &device);
            let _ = std::fs::remove_dir_all(&other);
            assert!(wrong.is_err(), "grew a 16-frame run into an 8-frame one");
            Ok(())
        })();
        let _ = std::fs::remove_dir_all(&dir);
        outcome
    }

    #[test]
    fn runs_saved_before_band_weighting_existed_never_weight() {
        let old = r#"{"name":"x","steps":1,"batch_clips":1,"frames":4,"size":32,"lr":0.001,
            "warmup":1,"ema_decay":0.9,"cfg_dropout":0.1,"seed":1,"checkpoint_every":1}"#;
        let parsed: std::result::Result<TrainConfig, _> = serde_json::from_str(old);
        assert_eq!(
            parsed.ok().map(|c| c.band_weighted_from_step),
            Some(usize::MAX)
        );
    }

    #[test]
    fn v2_grown_with_attributes_computes_what_v2_computes_at_step_0() -> Result<()> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let dir = std::env::temp_dir().join(format!("candor-grow-v2-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let device = Device::Cpu;
        let config = TrainConfig {
            name: "grown".into(),
            steps: 0,
            ..TrainConfig::default()
        };
        let outcome = (|| -> Result<()> {
            let grown = Trainer::grow(&dir, config, &root.join("runs/candor-shapes-v2"), &device)?;
            let layout = grown.model.config.unet.layout;
            assert_eq!(layout, Some(LayoutConfig::with_attributes(32)));
            let v2 = DiffusionModel::load(&root.join("models/candor-shapes-v2"), &device)?;
            let tokens = v2.tokenize("a red circle moving left and a blue star moving up");
            let plan = v2.layout_plan(&tokens, 16, 3);
            assert_eq!(plan.len(), 2);
            let (f, c, h, w) = v2.config.latent_shape(16);
            let x = Tensor::randn(0f32, 1f32, (1, f, c, h, w), &device)?;
            let t = Tensor::new(&[600f32], &device)?;
            let objects: Vec<LayoutObject> = plan.iter().map(|p| p.layout_object()).collect();
            let old_maps = v2.layout_maps(&objects, 16)?;
            // The grown model given only occupancy (no colour, no shape) is the old one.
            let bare: Vec<LayoutObject> = objects
                .iter()
                .map(|o| LayoutObject {
                    colour: false,
                    shape: false,
                    ..*o
                })
                .collect();
            let new_maps = grown.model.layout_maps(&bare, 16)?;
            let a = v2
                .unet
                .forward(&x, &t, &v2.prompt_embedding(&tokens)?, old_maps.as_ref())?;
            let b = grown.model.unet.forward(
                &x,
                &t,
                &grown.model.prompt_embedding(&tokens)?,
                new_maps.as_ref(),
            )?;
            let diff = (a - b)?.abs()?.max_all()?.to_scalar::<f32>()?;
            assert!(diff < 1e-4, "{diff}");
            Ok(())
        })();
        let _ = std::fs::remove_dir_all(&dir);
        outcome
    }
}
