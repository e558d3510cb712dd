//! What the model expects a clip to look like at one noise level: x̂₀ predicted from pure noise at
//! timestep T for a prompt, per frame, with the centroid of each frame's foreground (pixels far
//! from the clip's temporal median). Shows whether the model has learnt where things go before
//! any sampling dynamics are involved. Writes the frames side by side as a PPM.
//!
//! `cargo run -p candor-diffusion --example x0_preview -- MODEL_DIR "PROMPT" T OUT.ppm`

use candle_core::{Device, Tensor};
use candor_diffusion::{
    ddim::{alphas_cumprod, split_v},
    model::DiffusionModel,
    prompt::tokenize,
    LatentCodec,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, dir, prompt, t, out] = args.as_slice() else {
        return Err("usage: x0_preview MODEL_DIR PROMPT T OUT.ppm".into());
    };
    let t: usize = t.parse()?;
    let dev = Device::Cpu;
    let model = DiffusionModel::load(std::path::Path::new(dir), &dev)?;
    let (f, c, h, w) = model.config.latent_shape(model.config.frames);
    let abar = alphas_cumprod()[t];
    let tokens = tokenize(prompt);
    let ids = Tensor::from_vec(tokens.ids.clone(), (1, tokens.ids.len()), &dev)?;
    let cond = model.unet.encode_prompt(&ids)?;
    let plan = model.layout_plan(&tokens, f, 1);
    let layout = model.layout_maps(
        &plan.iter().map(|p| p.layout_object()).collect::<Vec<_>>(),
        f,
    )?;
    // Average x̂₀ over several noise draws: the model's expectation, not one sample's.
    let draws = 4;
    let mut sum: Option<Tensor> = None;
    for _ in 0..draws {
        let eps = Tensor::randn(0f32, 1f32, (1, f, c, h, w), &dev)?;
        let x = (eps * (1.0 - abar).sqrt())?;
        let tt = Tensor::new(&[t as f32], &dev)?;
        let v = model.unet.forward(&x, &tt, &cond, layout.as_ref())?;
        let (x0, _) = split_v(&x, &v, abar)?;
        sum = Some(match sum {
            Some(s) => (s + x0)?,
            None => x0,
        });
    }
    let x0 = (sum.ok_or("no draws")? / draws as f64)?.squeeze(0)?;
    let frames = model.codec.decode(&x0)?; // [F, 3, S, S] in [-1, 1]
    let s = model.config.size;
    let px: Vec<f32> = frames.flatten_all()?.to_vec1()?;
    let at = |fr: usize, ch: usize, y: usize, x: usize| px[((fr * 3 + ch) * s + y) * s + x];
    let mut median = vec![0f32; 3 * s * s];
    for ch in 0..3 {
        for y in 0..s {
            for x in 0..s {
                let mut v: Vec<f32> = (0..f).map(|fr| at(fr, ch, y, x)).collect();
                v.sort_by(|a, b| a.total_cmp(b));
                median[(ch * s + y) * s + x] = v[f / 2];
            }
        }
    }
    println!("{}", tokens.describe());
    for fr in 0..f {
        let (mut sx, mut sy, mut sw) = (0f32, 0f32, 0f32);
        for y in 0..s {
            for x in 0..s {
                let d: f32 = (0..3)
                    .map(|ch| (at(fr, ch, y, x) - median[(ch * s + y) * s + x]).abs())
                    .sum();
                let wgt = (d - 0.2).max(0.0);
                sx += wgt * x as f32;
                sy += wgt * y as f32;
                sw += wgt;
            }
        }
        if sw > 0.0 {
            println!(
                "frame {fr:2}: centroid ({:5.1}, {:5.1}), weight {sw:.1}",
                sx / sw,
                sy / sw
            );
        } else {
            println!("frame {fr:2}: no foreground");
        }
    }
    let mut ppm = format!("P6 {} {} 255\n", s * f, s).into_bytes();
    for y in 0..s {
        for fr in 0..f {
            for x in 0..s {
                for ch in 0..3 {
                    ppm.push(((at(fr, ch, y, x) + 1.0) * 127.5).clamp(0.0, 255.0) as u8);
                }
            }
        }
    }
    std::fs::write(out, ppm)?;
    Ok(())
}
