//! Command-line interface: argument definitions and dispatch.

mod bench;
mod defaults;
mod edit;
mod error;
mod generate;
mod identity;
mod keys;
mod probe;
mod serve;
mod sign;
mod store;
mod storyboard;
mod train;
mod verify;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// How a command ended, as an exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// 0: everything checked out.
    Success,
    /// 1: checked, and it failed verification.
    Failed,
    /// 2: usage or input error.
    InputError,
}

impl From<Outcome> for ExitCode {
    fn from(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Success => ExitCode::SUCCESS,
            Outcome::Failed => ExitCode::from(1),
            Outcome::InputError => ExitCode::from(2),
        }
    }
}

pub use error::CliError;

/// A command's result; an error exits with code 2.
pub type CliResult<T> = Result<T, CliError>;

#[derive(Debug, Parser)]
#[command(
    name = "candor",
    version,
    about = "Video provenance: sign and verify Content Credentials (C2PA), and find Candor's latent watermark",
    long_about = "Candor signs videos with C2PA Content Credentials (Ed25519), verifies any video's \
credentials with clear answers, and carries a keyed latent watermark that survives re-encoding.\n\n\
Exit codes: 0 success; 1 checked, and verification failed; 2 usage or input error.",
    after_help = "Examples:\n  candor keys init --dir my-identity\n  candor sign footage.mp4 -o signed.mp4 --identity my-identity --source-type digitalCapture\n  candor verify signed.mp4 --trust my-identity/root.pem\n  candor probe footage.mp4 --json"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what a video file holds: container, codec, size, frame rate, duration, frames, audio, credentials.
    Probe(probe::ProbeArgs),
    /// Manage signing identities: create one (ECDSA root CA, Ed25519 leaf, watermark secret), ask a CA for a certificate (csr), install it (import).
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Add signed Content Credentials to a video (MP4/MOV, or a fragmented MP4 with --fragments).
    Sign(sign::SignArgs),
    /// Check the Content Credentials of videos and say, in plain words, what they show.
    Verify(verify::VerifyArgs),
    /// Generate a short clip from a prompt: watermarked, signed as AI-generated, recorded in the manifest store.
    Generate(generate::GenerateArgs),
    /// Redraw one region of a Candor clip over a span of seconds from a new prompt, signed as an edit.
    Edit(edit::EditArgs),
    /// Make a storyboard (a YAML list of shots, each a prompt and a duration) into one disclosed clip.
    Storyboard(storyboard::StoryboardArgs),
    /// The manifest store: list, show and export the manifests this installation signed.
    Store(store::StoreArgs),
    /// Serve verification and the C2PA Soft Binding Resolution API over HTTP, to other organisations.
    Serve(serve::ServeArgs),
    /// Train (or resume training) the default generation model from procedural data.
    Train(train::TrainArgs),
    /// Measure: statistical checks of the watermark, signing and verification speed.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

pub fn run(cli: Cli) -> CliResult<Outcome> {
    match cli.command {
        Command::Probe(args) => probe::run(args),
        Command::Keys(command) => keys::run(command),
        Command::Sign(args) => sign::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Generate(args) => generate::run(args),
        Command::Storyboard(args) => storyboard::run(args),
        Command::Edit(args) => edit::run(args),
        Command::Store(args) => store::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Train(args) => train::run(args),
        Command::Bench(command) => bench::run(command),
    }
}

/// Writes a value as pretty JSON to stdout.
pub fn print_json<T: serde::Serialize>(value: &T) -> CliResult<()> {
    let text = serde_json::to_string_pretty(value)?;
    println!("{text}");
    Ok(())
}

/// Paths of `--trust` files, checked to exist.
pub fn existing(paths: &[PathBuf]) -> CliResult<()> {
    for p in paths {
        if !p.is_file() {
            return Err(format!("{}: no such file", p.display()).into());
        }
    }
    Ok(())
}

/// A progress bar on stderr (hidden when stderr is not a terminal).
pub fn progress(len: u64, what: &str) -> indicatif::ProgressBar {
    candor_eval::progress(len, what)
}
