//! `candor keys`: create signing identities.

use std::path::PathBuf;

use candor_manifest::{Identity, NewIdentity};
use clap::{Args, Subcommand};
use serde_json::json;

use super::{print_json, CliResult, Outcome};

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a new identity: Ed25519 signing key (0600), root and leaf certificates, watermark secret (0600).
    ///
    /// Give verifiers `DIR/root.pem` (they pass it with `candor verify --trust`). Keep
    /// `signing.key` and `watermark.key` private; nothing else is secret.
    Init(InitArgs),
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Directory to create the identity in.
    #[arg(long, default_value = "candor-identity")]
    dir: PathBuf,
    /// Organisation named in the certificates (O=).
    #[arg(long, default_value = "Candor User")]
    org: String,
    /// Common name of the signing certificate (CN=).
    #[arg(long, default_value = "Candor Signer")]
    name: String,
    /// Replace an identity already in DIR (its key is lost).
    #[arg(long)]
    force: bool,
    /// Mark the identity as a PUBLIC TEST identity whose key is meant to be published (keys/dev).
    #[arg(long, hide = true)]
    public_test: bool,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(command: KeysCommand) -> CliResult<Outcome> {
    match command {
        KeysCommand::Init(args) => init(args),
    }
}

fn init(args: InitArgs) -> CliResult<Outcome> {
    let identity = Identity::create(
        &args.dir,
        &NewIdentity {
            organization: args.org.clone(),
            common_name: args.name.clone(),
            public_test_identity: args.public_test,
            force: args.force,
        },
    )?;
    if args.json {
        print_json(&json!({
            "dir": identity.dir(),
            "organization": args.org,
            "common_name": args.name,
            "trust_anchor": identity.root_path(),
        }))?;
    } else {
        println!("Created identity in {}", identity.dir().display());
        println!("  signer:       CN={}, O={} (Ed25519)", args.name, args.org);
        println!(
            "  trust anchor: {}  (give this to verifiers: candor verify --trust ...)",
            identity.root_path().display()
        );
        println!("  private:      signing.key, watermark.key (mode 0600; never share them)");
    }
    Ok(Outcome::Success)
}
