//! Convolutions as im2col + one matrix multiply.
//!
//! candle's CPU conv2d backward is several times slower than its forward; written as shifted
//! views, a concatenation and a single GEMM, both directions are matrix multiplies and copies.
//! Weights keep candle's `[out, in, kh, kw]` layout.

use candle_core::{Module, Tensor};
use candle_nn::{Init, VarBuilder};

use crate::error::Result;

/// A 3×3 (or, for `temporal`, 3×1) convolution with padding 1 along the convolved axes.
#[derive(Debug, Clone)]
pub struct Conv {
    weight: Tensor,
    bias: Tensor,
    out: usize,
    kernel: (usize, usize),
}

impl Conv {
    /// 3×3 spatial convolution.
    pub fn new3(input: usize, output: usize, vb: VarBuilder) -> Result<Self> {
        Self::with_kernel(input, output, (3, 3), None, vb)
    }

    /// 1×1 convolution.
    pub fn new1(input: usize, output: usize, vb: VarBuilder) -> Result<Self> {
        Self::with_kernel(input, output, (1, 1), None, vb)
    }

    /// Any kernel; `init = Some(Init::Const(0.0))` zero-initialises weight and bias.
    pub fn with_kernel(
        input: usize,
        output: usize,
        kernel: (usize, usize),
        init: Option<Init>,
        vb: VarBuilder,
    ) -> Result<Self> {
        let fan_in = (input * kernel.0 * kernel.1) as f64;
        let bound = 1.0 / fan_in.sqrt();
        let w_init = init.unwrap_or(Init::Uniform {
            lo: -bound,
            up: bound,
        });
        let b_init = init.unwrap_or(Init::Uniform {
            lo: -bound,
            up: bound,
        });
        Ok(Self {
            weight: vb.get_with_hints((output, input, kernel.0, kernel.1), "weight", w_init)?,
            bias: vb.get_with_hints(output, "bias", b_init)?,
            out: output,
            kernel,
        })
    }

    /// Convolves `[N, C, H, W]` (same size out).
    pub fn apply(&self, x: &Tensor) -> Result<Tensor> {
        let (n, c, h, w) = x.dims4()?;
        let (kh, kw) = self.kernel;
        let cols = if (kh, kw) == (1, 1) {
            x.reshape((n, c, h * w))?
        } else {
            let (ph, pw) = (kh / 2, kw / 2);
            let mut xp = x.clone();
            if ph > 0 {
                xp = xp.pad_with_zeros(2, ph, ph)?;
            }
            if pw > 0 {
                xp = xp.pad_with_zeros(3, pw, pw)?;
            }
            let mut shifted = Vec::with_capacity(kh * kw);
            for dy in 0..kh {
                for dx in 0..kw {
                    shifted.push(xp.narrow(2, dy, h)?.narrow(3, dx, w)?);
                }
            }
            Tensor::stack(&shifted, 2)?.reshape((n, c * kh * kw, h * w))?
        };
        let k = c * kh * kw;
        let rows = cols
            .transpose(1, 2)?
            .contiguous()?
            .reshape((n * h * w, k))?;
        let weight = self.weight.reshape((self.out, k))?;
        let y = rows.matmul(&weight.t()?)?.broadcast_add(&self.bias)?; // [N·H·W, out]
        Ok(y.reshape((n, h * w, self.out))?
            .transpose(1, 2)?
            .contiguous()?
            .reshape((n, self.out, h, w))?)
    }
}

impl Module for Conv {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        self.apply(x)
            .map_err(|e| candle_core::Error::Msg(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device};
    use candle_nn::VarMap;

    #[test]
    fn matches_candle_conv2d_forward_and_backward() -> Result<()> {
        let device = Device::Cpu;
        let map = VarMap::new();
        let vb = VarBuilder::from_varmap(&map, DType::F32, &device);
        let conv = Conv::new3(5, 7, vb.pp("c"))?;
        let x = candle_core::Var::from_tensor(&Tensor::randn(0f32, 1f32, (2, 5, 6, 4), &device)?)?;
        let ours = conv.apply(x.as_tensor())?;
        let theirs = x
            .as_tensor()
            .conv2d(&conv.weight, 1, 1, 1, 1)?
            .broadcast_add(&conv.bias.reshape((1, 7, 1, 1))?)?;
        let diff = (&ours - &theirs)?.abs()?.max_all()?.to_scalar::<f32>()?;
        assert!(diff < 1e-4, "{diff}");
        let g1 = ours.sqr()?.sum_all()?.backward()?;
        let g2 = theirs.sqr()?.sum_all()?.backward()?;
        let (a, b) = (g1.get(&x), g2.get(&x));
        if let (Some(a), Some(b)) = (a, b) {
            let diff = (a - b)?.abs()?.max_all()?.to_scalar::<f32>()?;
            assert!(diff < 1e-3, "{diff}");
        } else {
            return Err(crate::error::DiffusionError::input("missing gradient"));
        }
        Ok(())
    }
}
