//! `candor train`: trains (or resumes training) the default model from procedural data.

use std::path::PathBuf;

use candle_core::Device;
use candor_diffusion::{TrainConfig, Trainer};
use clap::Args;

use super::{CliResult, Outcome};

#[derive(Debug, Args)]
#[command(
    after_help = "A run directory holds config.json, train.json, checkpoint.safetensors (weights, EMA, \
optimiser state), state.json and loss.csv. Running the same command again resumes where it stopped; \
--steps can be raised to train longer. --export writes the EMA weights as a model directory.\n\n\
Example (reproduces the shipped model, grown from the committed candor-shapes-v2 run, itself grown from v1; \
its first 900 steps ran with --steps 1600 --lr-decay-from-step 1100, which leaves the schedule below unchanged \
up to step 900):\n  candor train --run runs/candor-shapes-v3 --grow-from runs/candor-shapes-v2 --steps 1300 --lr 3e-4 \
--lr-decay-from-step 1000 --ema-decay 0.998 --seed 2027 --export models/candor-shapes-v3"
)]
pub struct TrainArgs {
    /// Run directory (created, or resumed when it holds a checkpoint).
    #[arg(long, default_value = "runs/candor-shapes-v3")]
    run: PathBuf,
    /// Train until this many steps in total.
    #[arg(long, default_value_t = 20_000)]
    steps: usize,
    /// Clips per batch (new runs only).
    #[arg(long, default_value_t = 3)]
    batch: usize,
    /// Frames per clip (new runs only).
    #[arg(long, default_value_t = 16)]
    frames: usize,
    /// Learning rate (new runs only).
    #[arg(long, default_value_t = 4e-4)]
    lr: f64,
    /// Checkpoint every N steps.
    #[arg(long, default_value_t = 100)]
    checkpoint_every: usize,
    /// Seed of the data stream (new runs only).
    #[arg(long, default_value_t = 2026)]
    seed: u64,
    /// Step from which the loss is weighted per latent band (new runs only; the shipped run
    /// switched at the step its train.json records).
    #[arg(long, default_value_t = 0)]
    band_weighted_from_step: usize,
    /// Step from which the learning rate anneals linearly to 5 % at --steps. Applies to resumed
    /// runs too (it is recorded in the run's train.json). Default: never.
    #[arg(long)]
    lr_decay_from_step: Option<usize>,
    /// Start a new run from another run's EMA weights, adding the layout input (how
    /// candor-shapes-v2 was grown from candor-shapes-v1) or growing an occupancy-only one into
    /// three slots with each object's colour and shape (how candor-shapes-v3 was grown from v2).
    /// What is new starts at zero, so the grown model begins where the source stopped.
    #[arg(long, value_name = "RUN")]
    grow_from: Option<PathBuf>,
    /// Decay of the weights' exponential moving average, which is what gets exported (new runs
    /// only).
    #[arg(long, default_value_t = 0.999)]
    ema_decay: f64,
    /// Draw one palette colour for a share of the objects from now on, as COLOUR:SHARE
    /// ("gray:0.35": how candor-shapes-v4 learnt grey). Applies to resumed runs too (recorded
    /// in train.json from the step it starts).
    #[arg(long, value_name = "COLOUR:SHARE")]
    focus_colour: Option<String>,
    /// After training, write the EMA weights as a model directory here.
    #[arg(long)]
    export: Option<PathBuf>,
}

pub fn run(args: TrainArgs) -> CliResult<Outcome> {
    if args.batch == 0 || args.frames == 0 || args.checkpoint_every == 0 {
        return Err("--batch, --frames and --checkpoint-every must be at least 1".into());
    }
    if !(0.0..1.0).contains(&args.ema_decay) {
        return Err("--ema-decay must be at least 0 and below 1".into());
    }
    let focus = match &args.focus_colour {
        Some(focus) => Some(
            focus
                .split_once(':')
                .and_then(|(c, s)| Some((c.to_string(), s.parse::<f64>().ok()?)))
                .filter(|(c, s)| {
                    (0.0..1.0).contains(s) && candor_diffusion::data::colour_rgb(c).is_some()
                })
                .ok_or(
                    "--focus-colour must be COLOUR:SHARE with a palette colour and 0 <= SHARE < 1",
                )?,
        ),
        None => None,
    };
    let name = args
        .run
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.is_empty())
        .ok_or("--run must name a directory")?;
    let config = TrainConfig {
        name, // the model is named after its run directory
        steps: args.steps,
        batch_clips: args.batch,
        frames: args.frames,
        lr: args.lr,
        seed: args.seed,
        checkpoint_every: args.checkpoint_every,
        band_weighted_from_step: args.band_weighted_from_step,
        lr_decay_from_step: args.lr_decay_from_step.unwrap_or(usize::MAX),
        ema_decay: args.ema_decay,
        ..TrainConfig::default()
    };
    let mut trainer = match &args.grow_from {
        Some(source) => Trainer::grow(&args.run, config, source, &Device::Cpu),
        None => Trainer::open(&args.run, config, &Device::Cpu),
    }?;
    if let Some(from) = args.lr_decay_from_step {
        trainer.config.lr_decay_from_step = from; // a resumed run takes the new schedule too
    }
    if let Some((colour, share)) = focus {
        trainer.config.focus = Some((colour, share, trainer.state.step));
    }
    let start = trainer.state.step;
    let total = trainer.config.steps;
    eprintln!(
        "training {} from step {start} to {total} in {}",
        trainer.config.name,
        args.run.display()
    );
    let bar = super::progress(total as u64, "training");
    bar.set_position(start as u64);
    let mut smoothed = f64::NAN;
    trainer.run(|step, loss| {
        smoothed = if smoothed.is_nan() {
            loss
        } else {
            0.98 * smoothed + 0.02 * loss
        };
        bar.set_position(step as u64);
        bar.set_message(format!("training, loss {smoothed:.4}"));
        if !bar.is_hidden() {
            return;
        }
        if step % 50 == 0 {
            eprintln!("step {step} loss {smoothed:.4}");
        }
    })?;
    bar.finish_and_clear();
    if let Some(out) = &args.export {
        trainer.export(out)?;
        eprintln!("exported EMA weights to {}", out.display());
    }
    Ok(Outcome::Success)
}
