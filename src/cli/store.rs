//! `candor store`: the manifests this installation signed, keyed by watermark payload.

use std::path::PathBuf;

use candor_store::{ManifestStore, StoreLocation};
use clap::{Args, Subcommand};

use super::{print_json, CliError, CliResult, Outcome};

#[derive(Debug, Args)]
pub struct StoreArgs {
    /// Manifest store: an SQLite file or a postgres:// URL. Default: $CANDOR_STORE, else
    /// ~/.local/share/candor/manifests.db.
    #[arg(long, global = true, value_name = "PATH|URL")]
    store: Option<StoreLocation>,
    #[command(subcommand)]
    command: StoreCommand,
}

#[derive(Debug, Subcommand)]
enum StoreCommand {
    /// The most recent records.
    List {
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// One record: soft binding, asset, model, prompt.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Write a record's signed manifest store (JUMBF, `.c2pa`) to a file.
    Export {
        id: i64,
        #[arg(short, long)]
        output: PathBuf,
    },
}

pub fn run(args: StoreArgs) -> CliResult<Outcome> {
    let path = args.store.unwrap_or_default();
    if !path.exists() {
        return Err(format!(
            "{path}: no manifest store here yet (it is created by `candor generate`)"
        )
        .into());
    }
    let store = ManifestStore::connect(&path)?;
    match args.command {
        StoreCommand::List { limit, json } => {
            let records = store.list(limit)?;
            if json {
                print_json(&records)?;
            } else {
                for r in &records {
                    println!(
                        "{:>5}  {}  payload {}  {}  \"{}\"",
                        r.id,
                        r.created,
                        r.binding_hex,
                        candor_verify::report::printable(&r.asset),
                        candor_verify::report::printable(
                            r.metadata["prompt"].as_str().unwrap_or("")
                        )
                    );
                }
                println!("{} record(s) in {path}", records.len());
            }
        }
        StoreCommand::Show { id, json } => {
            let r = store
                .manifest(id)?
                .ok_or_else(|| format!("no record {id}"))?;
            if json {
                print_json(&r)?;
            } else {
                println!("record {}\n  manifest: {}\n  binding:  {} = {}\n  asset:    {}\n  created:  {}\n  bytes:    {}\n  facts:    {}",
                    r.id, r.manifest_label, r.alg, r.binding_hex, r.asset, r.created, r.manifest_bytes, r.metadata);
            }
        }
        StoreCommand::Export { id, output } => {
            let r = store
                .manifest(id)?
                .ok_or_else(|| format!("no record {id}"))?;
            std::fs::write(&output, &r.manifest).map_err(|source| CliError::Io {
                path: output.clone(),
                source,
            })?;
            println!("wrote {} ({} bytes)", output.display(), r.manifest.len());
        }
    }
    Ok(Outcome::Success)
}
