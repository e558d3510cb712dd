//! `candor`: generate disclosed clips, sign and verify Content Credentials, find latent watermarks.
//!
//! This binary only parses arguments, calls the libraries in `crates/` and prints. Exit codes:
//! 0 success, 1 checked and failed verification, 2 usage or input error.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(code) => code.into(),
        Err(error) => {
            eprintln!("error: {error}");
            cli::Outcome::InputError.into()
        }
    }
}
