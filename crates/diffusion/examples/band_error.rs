//! How well a model denoises, band by band: noises held-out clips to several timesteps and prints
//! the mean squared error of x̂₀ for the colour (DC), coarse-detail and fine-detail Haar bands,
//! next to the noise variance (1 − ᾱ) the error would be if the model did nothing.
//!
//! `cargo run -p candor-diffusion --example band_error -- [MODEL_DIR]`

use candle_core::{Device, Tensor};
use candor_diffusion::{
    data::random_clip, ddim::alphas_cumprod, model::DiffusionModel, prompt::tokenize, LatentCodec,
};
use rand::SeedableRng;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "models/candor-shapes-v2".into());
    let dev = Device::Cpu;
    let model = DiffusionModel::load(std::path::Path::new(&dir), &dev)?;
    let frames = model.config.frames;
    let size = model.config.size;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(77);
    let abar = alphas_cumprod();
    // Channel order per colour: DC, 3 level-2 details, 12 level-1 details.
    let groups: [(&str, Vec<usize>); 3] = [
        ("colour", vec![0, 16, 32]),
        (
            "coarse",
            (0..3)
                .flat_map(|c| (1..4).map(move |k| c * 16 + k))
                .collect(),
        ),
        (
            "fine",
            (0..3)
                .flat_map(|c| (4..16).map(move |k| c * 16 + k))
                .collect(),
        ),
    ];
    let timesteps = [20usize, 100, 300, 500, 700, 900, 990];
    let clips = 4;
    let mut err = vec![[0f32; 3]; timesteps.len()];
    for _ in 0..clips {
        let clip = random_clip(&mut rng, frames, size, false);
        let pixels = Tensor::from_vec(clip.pixels, (frames, 3, size, size), &dev)?;
        let x0 = model.codec.encode(&pixels)?.unsqueeze(0)?;
        let tokens = tokenize(&clip.caption);
        let ids = Tensor::from_vec(tokens.ids.clone(), (1, tokens.ids.len()), &dev)?;
        let prompt = model.unet.encode_prompt(&ids)?;
        // The clip's true object paths, as training sees them.
        let layout = model.layout_maps(
            &clip
                .tracks
                .iter()
                .map(candor_diffusion::layout::LayoutObject::known)
                .collect::<Vec<_>>(),
            frames,
        )?;
        for (row, &t) in timesteps.iter().enumerate() {
            let eps = Tensor::randn(0f32, 1f32, x0.dims(), &dev)?;
            let (a, s) = (abar[t].sqrt(), (1.0 - abar[t]).sqrt());
            let xt = ((&x0 * a)? + (&eps * s)?)?;
            let v = model.unet.forward(
                &xt,
                &Tensor::new(&[t as f32], &dev)?,
                &prompt,
                layout.as_ref(),
            )?;
            let x0_hat = ((&xt * a)? - (&v * s)?)?;
            let per_band = (x0_hat - &x0)?
                .sqr()?
                .mean((0, 1, 3, 4))?
                .to_vec1::<f32>()?;
            for (g, (_, bands)) in groups.iter().enumerate() {
                err[row][g] +=
                    bands.iter().map(|&i| per_band[i]).sum::<f32>() / (bands.len() * clips) as f32;
            }
        }
    }
    println!("timestep  1-ᾱ (no denoising)  colour   coarse   fine");
    for (row, &t) in timesteps.iter().enumerate() {
        let [c, m, f] = err[row];
        println!("{t:8}  {:18.3}  {c:6.3}   {m:6.3}   {f:6.3}", 1.0 - abar[t]);
    }
    Ok(())
}
