//! The video denoiser: a small UNet over latent frames with temporal layers and prompt conditioning.
//!
//! Input `[B, F, C, h, w]` latents, per-sample timesteps `[B]` and prompt tokens `[B, T]`; output
//! the v-prediction, same shape as the input. Spatial layers run on the `B·F` frames as a batch;
//! temporal layers mix each position across frames: a (3×1) convolution at full latent
//! resolution, attention over frames at the coarse one. Frames also get their index as an
//! embedding, so the model knows where in the clip a frame sits, and occupancy maps of the
//! objects (`crate::layout`) say where each object is.
//!
//! Every block is written here from differentiable candle ops (candle's fused softmax and layer
//! norm have no backward pass).
//!
//! Longer than most files here (about 700 lines, a third of them tests): the blocks are small
//! structs that only this network composes, and they read best next to the forward pass that
//! wires them.

use candle_core::{DType, Module, Tensor, D};
use candle_nn::{Init, VarBuilder};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::layers::Conv;

/// Architecture hyper-parameters, stored in the model's `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UNetConfig {
    pub latent_channels: usize,
    pub base_channels: usize,
    pub coarse_channels: usize,
    pub emb_dim: usize,
    pub text_dim: usize,
    pub vocab_size: usize,
    pub max_tokens: usize,
    pub heads: usize,
    pub groups: usize,
    /// The layout input (see [`LayoutInput`]); models trained before it existed read `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layout: Option<LayoutConfig>,
}

/// Shape of the layout input: `slots` objects' maps on the latent's `side × side` grid
/// (see `crate::layout`). Each slot has one occupancy channel and, when `attributes` is set,
/// the object's colour (3 channels) and shape (one channel per shape the model knows), each
/// multiplied by the occupancy, so every object carries its own colour and shape to where it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayoutConfig {
    pub slots: usize,
    pub side: usize,
    /// Colour and shape channels per slot; models saved before they existed read `false`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub attributes: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl LayoutConfig {
    /// Occupancy only, two slots (candor-shapes-v2's layout input), for frames of `size` pixels.
    pub fn for_frame_size(size: usize) -> Self {
        Self {
            slots: 2,
            side: size / crate::codec::HAAR_BLOCK,
            attributes: false,
        }
    }

    /// [`crate::layout::MAX_SLOTS`] slots with colour and shape channels.
    pub fn with_attributes(size: usize) -> Self {
        Self {
            slots: crate::layout::MAX_SLOTS,
            side: size / crate::codec::HAAR_BLOCK,
            attributes: true,
        }
    }

    /// Channels per slot: occupancy, then (with attributes) RGB and one per shape.
    pub fn channels_per_slot(&self) -> usize {
        if self.attributes {
            1 + 3 + crate::data::SHAPES.len()
        } else {
            1
        }
    }

    /// Input channels of the layout projections.
    pub fn channels(&self) -> usize {
        self.slots * self.channels_per_slot()
    }
}

impl UNetConfig {
    /// The default model's shape.
    pub fn default_model(vocab_size: usize, max_tokens: usize) -> Self {
        Self {
            latent_channels: 48,
            base_channels: 64,
            coarse_channels: 96,
            emb_dim: 256,
            text_dim: 128,
            vocab_size,
            max_tokens,
            heads: 4,
            groups: 16,
            layout: Some(LayoutConfig::with_attributes(32)),
        }
    }

    /// A tiny configuration for tests (random weights, no training).
    pub fn tiny(vocab_size: usize, max_tokens: usize) -> Self {
        Self {
            latent_channels: 48,
            base_channels: 16,
            coarse_channels: 32,
            emb_dim: 32,
            text_dim: 16,
            vocab_size,
            max_tokens,
            heads: 2,
            groups: 4,
            layout: Some(LayoutConfig::with_attributes(32)),
        }
    }
}

fn silu(x: &Tensor) -> Result<Tensor> {
    Ok(candle_nn::ops::silu(x)?)
}

/// Softmax over the last dimension from elementary ops (differentiable).
pub fn softmax(x: &Tensor) -> Result<Tensor> {
    let max = x.max_keepdim(D::Minus1)?;
    let e = x.broadcast_sub(&max)?.exp()?;
    Ok(e.broadcast_div(&e.sum_keepdim(D::Minus1)?)?)
}

fn linear_zero(input: usize, output: usize, vb: VarBuilder) -> Result<candle_nn::Linear> {
    let w = vb.get_with_hints((output, input), "weight", Init::Const(0.0))?;
    let b = vb.get_with_hints(output, "bias", Init::Const(0.0))?;
    Ok(candle_nn::Linear::new(w, Some(b)))
}

fn conv3(input: usize, output: usize, vb: VarBuilder) -> Result<Conv> {
    Conv::new3(input, output, vb)
}

/// Sinusoidal features of a scalar per row: `[N] → [N, dim]`.
pub fn sinusoidal(values: &Tensor, dim: usize) -> Result<Tensor> {
    let half = dim / 2;
    let device = values.device();
    let freqs: Vec<f32> = (0..half)
        .map(|i| (-(10_000f32).ln() * i as f32 / half as f32).exp())
        .collect();
    let freqs = Tensor::from_vec(freqs, (1, half), device)?;
    let args = values
        .to_dtype(DType::F32)?
        .unsqueeze(1)?
        .broadcast_mul(&freqs)?;
    Ok(Tensor::cat(&[args.sin()?, args.cos()?], 1)?)
}

/// GroupNorm → SiLU → conv → (+ embedding) → GroupNorm → SiLU → conv, plus a skip path.
struct ResBlock {
    norm1: candle_nn::GroupNorm,
    conv1: Conv,
    emb: candle_nn::Linear,
    norm2: candle_nn::GroupNorm,
    conv2: Conv,
    skip: Option<Conv>,
}

impl ResBlock {
    fn new(input: usize, output: usize, cfg: &UNetConfig, vb: VarBuilder) -> Result<Self> {
        let skip = if input != output {
            Some(Conv::new1(input, output, vb.pp("skip"))?)
        } else {
            None
        };
        Ok(Self {
            norm1: candle_nn::group_norm(cfg.groups, input, 1e-5, vb.pp("norm1"))?,
            conv1: conv3(input, output, vb.pp("conv1"))?,
            emb: candle_nn::linear(cfg.emb_dim, output, vb.pp("emb"))?,
            norm2: candle_nn::group_norm(cfg.groups, output, 1e-5, vb.pp("norm2"))?,
            conv2: conv3(output, output, vb.pp("conv2"))?,
            skip,
        })
    }

    fn forward(&self, x: &Tensor, emb: &Tensor) -> Result<Tensor> {
        let h = self.conv1.apply(&silu(&self.norm1.forward(x)?)?)?;
        let e = self.emb.forward(&silu(emb)?)?.unsqueeze(2)?.unsqueeze(3)?;
        let h = h.broadcast_add(&e)?;
        let h = self.conv2.apply(&silu(&self.norm2.forward(&h)?)?)?;
        let skip = match &self.skip {
            Some(s) => s.apply(x)?,
            None => x.clone(),
        };
        Ok((h + skip)?)
    }
}

/// Multi-head attention over the middle axis of `[N, L, C]`, with a zero-initialised output.
struct Attention {
    qkv: candle_nn::Linear,
    out: candle_nn::Linear,
    heads: usize,
}

impl Attention {
    fn new(channels: usize, heads: usize, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            qkv: candle_nn::linear(channels, 3 * channels, vb.pp("qkv"))?,
            out: linear_zero(channels, channels, vb.pp("out"))?,
            heads,
        })
    }

    /// `x: [N, L, C]`; `mask` (optional) `[N, 1, 1, L]` added to the scores.
    fn forward(&self, x: &Tensor, mask: Option<&Tensor>) -> Result<Tensor> {
        let (n, l, c) = x.dims3()?;
        let hd = c / self.heads;
        let qkv = self
            .qkv
            .forward(x)?
            .reshape((n, l, 3, self.heads, hd))?
            .permute((2, 0, 3, 1, 4))?; // [3, N, H, L, hd]
        let q = qkv.get(0)?.contiguous()?;
        let k = qkv.get(1)?.contiguous()?;
        let v = qkv.get(2)?.contiguous()?;
        let mut scores = (q.matmul(&k.t()?)? / (hd as f64).sqrt())?;
        if let Some(m) = mask {
            scores = scores.broadcast_add(m)?;
        }
        let attn = softmax(&scores)?;
        let y = attn
            .matmul(&v)?
            .permute((0, 2, 1, 3))?
            .contiguous()?
            .reshape((n, l, c))?;
        Ok(self.out.forward(&y)?)
    }
}

/// Self-attention over the positions of each frame.
struct SpatialAttention {
    norm: candle_nn::GroupNorm,
    attn: Attention,
}

impl SpatialAttention {
    fn new(channels: usize, cfg: &UNetConfig, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            norm: candle_nn::group_norm(cfg.groups, channels, 1e-5, vb.pp("norm"))?,
            attn: Attention::new(channels, cfg.heads, vb.pp("attn"))?,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (n, c, h, w) = x.dims4()?;
        let t = self
            .norm
            .forward(x)?
            .reshape((n, c, h * w))?
            .transpose(1, 2)?
            .contiguous()?;
        let y = self
            .attn
            .forward(&t, None)?
            .transpose(1, 2)?
            .reshape((n, c, h, w))?;
        Ok((x + y)?)
    }
}

/// Attention across frames at each position.
struct TemporalAttention {
    norm: candle_nn::GroupNorm,
    attn: Attention,
}

impl TemporalAttention {
    fn new(channels: usize, cfg: &UNetConfig, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            norm: candle_nn::group_norm(cfg.groups, channels, 1e-5, vb.pp("norm"))?,
            attn: Attention::new(channels, cfg.heads, vb.pp("attn"))?,
        })
    }

    fn forward(&self, x: &Tensor, frames: usize) -> Result<Tensor> {
        let (n, c, h, w) = x.dims4()?;
        let b = n / frames;
        // [B·F, C, H, W] → [B·H·W, C, F]
        let seq = x
            .reshape((b, frames, c, h * w))?
            .permute((0, 3, 2, 1))?
            .contiguous()?
            .reshape((b * h * w, c, frames))?;
        let t = self.norm.forward(&seq)?.transpose(1, 2)?.contiguous()?; // [B·HW, F, C]
        let y = self.attn.forward(&t, None)?; // [B·HW, F, C]
        let y = y
            .reshape((b, h * w, frames, c))?
            .permute((0, 2, 3, 1))?
            .contiguous()?
            .reshape((n, c, h, w))?;
        Ok((x + y)?)
    }
}

/// A (3×1) convolution across frames at each position, zero-initialised residual.
struct TemporalConv {
    norm: candle_nn::GroupNorm,
    conv: Conv,
}

impl TemporalConv {
    fn new(channels: usize, cfg: &UNetConfig, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            norm: candle_nn::group_norm(cfg.groups, channels, 1e-5, vb.pp("norm"))?,
            conv: Conv::with_kernel(channels, channels, (3, 1), Some(Init::Const(0.0)), vb)?,
        })
    }

    fn forward(&self, x: &Tensor, frames: usize) -> Result<Tensor> {
        let (n, c, h, w) = x.dims4()?;
        let b = n / frames;
        // [B·F, C, H, W] → [B, C, F, H·W], convolve along F.
        let seq = silu(&self.norm.forward(x)?)?
            .reshape((b, frames, c, h * w))?
            .transpose(1, 2)?
            .contiguous()?;
        let y = self.conv.apply(&seq)?; // [B, C, F, HW]
        let y = y.transpose(1, 2)?.contiguous()?.reshape((n, c, h, w))?;
        Ok((x + y)?)
    }
}

/// Where the objects are: maps `[B·F, channels, side, side]` (per object the prompt names,
/// `crate::layout`) projected into the UNet's features at both resolutions.
///
/// The projections start at zero, so a trained model grown with this block (`Trainer::grow`)
/// computes exactly what it did before, until it learns to use it. An all-zero map means "no
/// layout" (unconditional branch of guidance, inversion).
struct LayoutInput {
    cfg: LayoutConfig,
    fine: Conv,
    coarse: Conv,
}

impl LayoutInput {
    fn new(cfg: LayoutConfig, unet: &UNetConfig, vb: VarBuilder) -> Result<Self> {
        let zero = Some(Init::Const(0.0));
        Ok(Self {
            cfg,
            fine: Conv::with_kernel(
                cfg.channels(),
                unet.base_channels,
                (3, 3),
                zero,
                vb.pp("fine"),
            )?,
            coarse: Conv::with_kernel(
                cfg.channels(),
                unet.coarse_channels,
                (3, 3),
                zero,
                vb.pp("coarse"),
            )?,
        })
    }

    /// Features for maps `[N, channels, side, side]`: `[N, base, side, side]` and
    /// `[N, coarse, side/2, side/2]`.
    fn forward(&self, maps: &Tensor) -> Result<(Tensor, Tensor)> {
        let (n, k, s, _) = maps.dims4()?;
        let pooled = maps.reshape((n, k, s / 2, 2, s / 2, 2))?.mean(5)?.mean(3)?;
        Ok((self.fine.apply(maps)?, self.coarse.apply(&pooled)?))
    }
}

/// Prompt encoder: token and position embeddings, one self-attention block, masked mean pool.
struct TextEncoder {
    tokens: candle_nn::Embedding,
    positions: Tensor,
    attn: Attention,
    mlp1: candle_nn::Linear,
    mlp2: candle_nn::Linear,
    proj: candle_nn::Linear,
}

impl TextEncoder {
    fn new(cfg: &UNetConfig, vb: VarBuilder) -> Result<Self> {
        let d = cfg.text_dim;
        Ok(Self {
            tokens: candle_nn::embedding(cfg.vocab_size, d, vb.pp("tokens"))?,
            positions: vb.get_with_hints(
                (cfg.max_tokens, d),
                "positions",
                Init::Randn {
                    mean: 0.0,
                    stdev: 0.02,
                },
            )?,
            attn: Attention::new(d, cfg.heads, vb.pp("attn"))?,
            mlp1: candle_nn::linear(d, 2 * d, vb.pp("mlp1"))?,
            mlp2: candle_nn::linear(2 * d, d, vb.pp("mlp2"))?,
            proj: candle_nn::linear(d, cfg.emb_dim, vb.pp("proj"))?,
        })
    }

    /// `ids: [B, T]` → `[B, emb_dim]`. Padding (id 0) is masked out; the empty prompt maps to the
    /// projection's bias alone (the unconditional embedding for classifier-free guidance).
    fn forward(&self, ids: &Tensor) -> Result<Tensor> {
        let (b, t) = ids.dims2()?;
        let keep = ids.ne(0u32)?.to_dtype(DType::F32)?; // [B, T]
        let mask = ((keep.clone() - 1.0)? * 1e4)?.reshape((b, 1, 1, t))?;
        let x = self
            .tokens
            .forward(ids)?
            .broadcast_add(&self.positions.narrow(0, 0, t)?.unsqueeze(0)?)?;
        let x = (&x + self.attn.forward(&x, Some(&mask))?)?;
        let x = (&x + self.mlp2.forward(&silu(&self.mlp1.forward(&x)?)?)?)?;
        let weights = keep.unsqueeze(2)?; // [B, T, 1]
        let count = weights.sum_keepdim(1)?.clamp(1.0, f64::MAX)?; // [B, 1, 1]
        let pooled = x
            .broadcast_mul(&weights)?
            .sum_keepdim(1)?
            .broadcast_div(&count)?
            .squeeze(1)?;
        Ok(self.proj.forward(&pooled)?)
    }
}

/// The video UNet.
pub struct VideoUNet {
    cfg: UNetConfig,
    time1: candle_nn::Linear,
    time2: candle_nn::Linear,
    frame: candle_nn::Linear,
    text: TextEncoder,
    layout: Option<LayoutInput>,
    conv_in: Conv,
    res_a: ResBlock,
    temp_a: TemporalConv,
    down: Conv,
    res_b: ResBlock,
    attn_b: SpatialAttention,
    tattn_b: TemporalAttention,
    res_m1: ResBlock,
    attn_m: SpatialAttention,
    tattn_m: TemporalAttention,
    res_m2: ResBlock,
    res_u1: ResBlock,
    attn_u: SpatialAttention,
    tattn_u: TemporalAttention,
    up: Conv,
    res_u0: ResBlock,
    temp_u: TemporalConv,
    norm_out: candle_nn::GroupNorm,
    conv_out: Conv,
}

impl VideoUNet {
    pub fn new(cfg: &UNetConfig, vb: VarBuilder) -> Result<Self> {
        let (c0, c1, e) = (cfg.base_channels, cfg.coarse_channels, cfg.emb_dim);
        Ok(Self {
            cfg: cfg.clone(),
            time1: candle_nn::linear(128, e, vb.pp("time1"))?,
            time2: candle_nn::linear(e, e, vb.pp("time2"))?,
            frame: candle_nn::linear(64, e, vb.pp("frame"))?,
            text: TextEncoder::new(cfg, vb.pp("text"))?,
            layout: match cfg.layout {
                Some(l) if l.side % 2 != 0 || l.side == 0 => {
                    return Err(crate::error::DiffusionError::input(format!(
                        "layout side {} must be even and positive",
                        l.side
                    )))
                }
                Some(l) => Some(LayoutInput::new(l, cfg, vb.pp("layout"))?),
                None => None,
            },
            conv_in: conv3(cfg.latent_channels, c0, vb.pp("conv_in"))?,
            res_a: ResBlock::new(c0, c0, cfg, vb.pp("res_a"))?,
            temp_a: TemporalConv::new(c0, cfg, vb.pp("temp_a"))?,
            down: conv3(c0, c1, vb.pp("down"))?,
            res_b: ResBlock::new(c1, c1, cfg, vb.pp("res_b"))?,
            attn_b: SpatialAttention::new(c1, cfg, vb.pp("attn_b"))?,
            tattn_b: TemporalAttention::new(c1, cfg, vb.pp("tattn_b"))?,
            res_m1: ResBlock::new(c1, c1, cfg, vb.pp("res_m1"))?,
            attn_m: SpatialAttention::new(c1, cfg, vb.pp("attn_m"))?,
            tattn_m: TemporalAttention::new(c1, cfg, vb.pp("tattn_m"))?,
            res_m2: ResBlock::new(c1, c1, cfg, vb.pp("res_m2"))?,
            res_u1: ResBlock::new(2 * c1, c1, cfg, vb.pp("res_u1"))?,
            attn_u: SpatialAttention::new(c1, cfg, vb.pp("attn_u"))?,
            tattn_u: TemporalAttention::new(c1, cfg, vb.pp("tattn_u"))?,
            up: conv3(c1, c0, vb.pp("up"))?,
            res_u0: ResBlock::new(2 * c0, c0, cfg, vb.pp("res_u0"))?,
            temp_u: TemporalConv::new(c0, cfg, vb.pp("temp_u"))?,
            norm_out: candle_nn::group_norm(cfg.groups, c0, 1e-5, vb.pp("norm_out"))?,
            conv_out: Conv::with_kernel(
                c0,
                cfg.latent_channels,
                (3, 3),
                Some(Init::Const(0.0)),
                vb.pp("conv_out"),
            )?,
        })
    }

    pub fn config(&self) -> &UNetConfig {
        &self.cfg
    }

    /// Prompt embeddings `[B, emb]` for token ids `[B, T]` (computed once per sampling run).
    pub fn encode_prompt(&self, ids: &Tensor) -> Result<Tensor> {
        self.text.forward(ids)
    }

    /// v-prediction for `x: [B, F, C, h, w]`, timesteps `t: [B]` (0..1000), prompt embeddings
    /// `[B, emb]` and, for a model with a layout input, maps `[B, F, channels, side, side]`
    /// (`None`: no layout, as all-zero maps).
    pub fn forward(
        &self,
        x: &Tensor,
        t: &Tensor,
        prompt: &Tensor,
        layout: Option<&Tensor>,
    ) -> Result<Tensor> {
        let (b, f, c, h, w) = x.dims5()?;
        let n = b * f;
        let device = x.device();
        let temb = self
            .time2
            .forward(&silu(&self.time1.forward(&sinusoidal(t, 128)?)?)?)?; // [B, E]
        let frame_ids = Tensor::arange(0u32, f as u32, device)?.to_dtype(DType::F32)?;
        let femb = self.frame.forward(&sinusoidal(&frame_ids, 64)?)?; // [F, E]
        let e = self.cfg.emb_dim;
        let emb = (temb + prompt)?
            .unsqueeze(1)?
            .broadcast_add(&femb.unsqueeze(0)?)?
            .reshape((n, e))?;
        let layout = match &self.layout {
            Some(l) if l.cfg.side != h || l.cfg.side != w => {
                return Err(crate::error::DiffusionError::input(format!(
                    "the layout input was trained for {0}×{0} latents, not {h}×{w}",
                    l.cfg.side
                )))
            }
            Some(l) => {
                let (k, s) = (l.cfg.channels(), l.cfg.side);
                let maps = match layout {
                    Some(m) if m.dims() != [b, f, k, s, s] => {
                        return Err(crate::error::DiffusionError::input(format!(
                            "layout maps of shape {:?}, expected {:?}",
                            m.dims(),
                            [b, f, k, s, s]
                        )))
                    }
                    Some(m) => m.reshape((n, k, s, s))?,
                    None => Tensor::zeros((n, k, s, s), DType::F32, device)?,
                };
                Some(l.forward(&maps)?)
            }
            None => None,
        };

        let x = x.reshape((n, c, h, w))?;
        let mut h1 = self.conv_in.apply(&x)?;
        if let Some((fine, _)) = &layout {
            h1 = (h1 + fine)?;
        }
        let h1 = self.res_a.forward(&h1, &emb)?;
        let h1 = self.temp_a.forward(&h1, f)?;
        // Downsample: 2×2 average, then a 3×3 convolution at the coarse resolution.
        let (_, _, fh, fw) = h1.dims4()?;
        let pooled = h1
            .reshape((n, self.cfg.base_channels, fh / 2, 2, fw / 2, 2))?
            .mean(5)?
            .mean(3)?;
        let mut h2 = self.down.apply(&pooled)?;
        if let Some((_, coarse)) = &layout {
            h2 = (h2 + coarse)?;
        }
        let h2 = self.res_b.forward(&h2, &emb)?;
        let h2 = self.attn_b.forward(&h2)?;
        let h2 = self.tattn_b.forward(&h2, f)?;
        let m = self.res_m1.forward(&h2, &emb)?;
        let m = self.attn_m.forward(&m)?;
        let m = self.tattn_m.forward(&m, f)?;
        let m = self.res_m2.forward(&m, &emb)?;
        let u = self.res_u1.forward(&Tensor::cat(&[&m, &h2], 1)?, &emb)?;
        let u = self.attn_u.forward(&u)?;
        let u = self.tattn_u.forward(&u, f)?;
        let (_, _, hh, ww) = u.dims4()?;
        let u = self.up.apply(&u.upsample_nearest2d(hh * 2, ww * 2)?)?;
        let u = self.res_u0.forward(&Tensor::cat(&[&u, &h1], 1)?, &emb)?;
        let u = self.temp_u.forward(&u, f)?;
        let out = self.conv_out.apply(&silu(&self.norm_out.forward(&u)?)?)?;
        Ok(out.reshape((b, f, c, h, w))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;
    use candle_nn::VarMap;

    fn tiny(layout: bool) -> UNetConfig {
        let mut cfg = UNetConfig::tiny(29, 16);
        if !layout {
            cfg.layout = None;
        }
        cfg
    }

    fn inputs(device: &Device) -> Result<(Tensor, Tensor, Tensor)> {
        let x = Tensor::randn(0f32, 1f32, (2, 3, 48, 8, 8), device)?;
        let t = Tensor::new(&[100f32, 700.0], device)?;
        let ids = Tensor::new(&[[2u32, 11, 16, 0], [3, 12, 17, 0]], device)?;
        Ok((x, t, ids))
    }

    fn max_diff(a: &Tensor, b: &Tensor) -> Result<f32> {
        Ok((a - b)?.abs()?.max_all()?.to_scalar::<f32>()?)
    }

    fn maps(device: &Device, column: usize) -> Result<Tensor> {
        // One object in slot 0 (its occupancy channel), a 2×2-cell block at `column` in every
        // frame.
        let ch = LayoutConfig::with_attributes(32).channels();
        let mut m = vec![0f32; 2 * 3 * ch * 64];
        for bf in 0..6 {
            for (y, x) in [(3, column), (3, column + 1), (4, column), (4, column + 1)] {
                m[bf * ch * 64 + y * 8 + x] = 1.0;
            }
        }
        Ok(Tensor::from_vec(m, (2, 3, ch, 8, 8), device)?)
    }

    /// A tiny UNet and its variables.
    fn tiny_net(layout: bool, device: &Device) -> Result<(VarMap, VideoUNet)> {
        let map = VarMap::new();
        let net = VideoUNet::new(
            &tiny(layout),
            VarBuilder::from_varmap(&map, DType::F32, device),
        )?;
        Ok((map, net))
    }

    /// Stands in for training: random weights for the variables whose names start with one of
    /// `prefixes` (the output layer and the layout projections start at zero).
    fn randomise(map: &VarMap, prefixes: &[&str], device: &Device) -> Result<()> {
        let data = map
            .data()
            .lock()
            .map_err(|_| crate::error::DiffusionError::input("lock"))?;
        for (name, var) in data.iter() {
            if prefixes.iter().any(|p| name.starts_with(p)) {
                var.set(&Tensor::randn(0f32, 0.5, var.dims(), device)?)?;
            }
        }
        Ok(())
    }

    #[test]
    fn a_grown_layout_input_starts_silent() -> Result<()> {
        // What `Trainer::grow` relies on: the same weights plus a fresh layout input compute
        // exactly what they computed without it, whatever the maps say.
        let device = Device::Cpu;
        let (plain_map, plain) = tiny_net(false, &device)?;
        let (grown_map, grown) = tiny_net(true, &device)?;
        randomise(&plain_map, &["conv_out"], &device)?;
        let source = plain_map
            .data()
            .lock()
            .map_err(|_| crate::error::DiffusionError::input("lock"))?
            .clone();
        let mut shared = 0;
        for (name, var) in grown_map
            .data()
            .lock()
            .map_err(|_| crate::error::DiffusionError::input("lock"))?
            .iter()
        {
            if let Some(v) = source.get(name) {
                var.set(v.as_tensor())?;
                shared += 1;
            } else {
                assert!(
                    name.starts_with("layout."),
                    "{name} is not in the plain model"
                );
            }
        }
        assert_eq!(shared, source.len());
        let (x, t, ids) = inputs(&device)?;
        let a = plain.forward(&x, &t, &plain.encode_prompt(&ids)?, None)?;
        let m = maps(&device, 1)?;
        let b = grown.forward(&x, &t, &grown.encode_prompt(&ids)?, Some(&m))?;
        assert!(
            a.abs()?.max_all()?.to_scalar::<f32>()? > 1e-3,
            "output is all zero"
        );
        assert_eq!(max_diff(&a, &b)?, 0.0);
        Ok(())
    }

    #[test]
    fn a_trained_layout_input_follows_the_maps() -> Result<()> {
        let device = Device::Cpu;
        let (map, net) = tiny_net(true, &device)?;
        randomise(&map, &["layout.", "conv_out"], &device)?;
        let (x, t, ids) = inputs(&device)?;
        let prompt = net.encode_prompt(&ids)?;
        let left = net.forward(&x, &t, &prompt, Some(&maps(&device, 1)?))?;
        let right = net.forward(&x, &t, &prompt, Some(&maps(&device, 5)?))?;
        let none = net.forward(&x, &t, &prompt, None)?;
        assert!(max_diff(&left, &right)? > 1e-3, "maps ignored");
        assert!(max_diff(&left, &none)? > 1e-3, "maps ignored");
        // Maps of the wrong shape are an error, not a panic.
        let wrong = Tensor::zeros((2, 3, 1, 8, 8), DType::F32, &device)?;
        assert!(net.forward(&x, &t, &prompt, Some(&wrong)).is_err());
        Ok(())
    }

    #[test]
    fn latents_off_the_layout_grid_are_an_error() -> Result<()> {
        let device = Device::Cpu;
        let (_, net) = tiny_net(true, &device)?;
        let (_, t, ids) = inputs(&device)?;
        let x = Tensor::randn(0f32, 1f32, (2, 3, 48, 4, 4), &device)?;
        let err = net
            .forward(&x, &t, &net.encode_prompt(&ids)?, None)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("8×8") && err.contains("4×4"), "{err}");
        let mut odd = tiny(true);
        odd.layout = odd.layout.map(|l| LayoutConfig { side: 7, ..l });
        let map = VarMap::new();
        assert!(VideoUNet::new(&odd, VarBuilder::from_varmap(&map, DType::F32, &device)).is_err());
        Ok(())
    }
}
