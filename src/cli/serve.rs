//! `candor serve`: verification and the C2PA Soft Binding Resolution API over HTTP.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use candor_service::{create_token, Scope, ServiceConfig};
use candor_store::{ManifestStore, StoreLocation};
use candor_verify::{Verifier, VerifierConfig};
use clap::{Args, Subcommand};

use super::verify::{build_watermark_setup, ResolverArgs, SetupParts, TrustArgs};
use super::{print_json, CliResult, Outcome};

#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "Endpoints (all under one listener; the OpenAPI document at /openapi.json):\n  \
POST /v1/verify                         upload a video, get `candor verify --json`'s report   (scope verify)\n  \
GET|POST /v1/matches/byBinding          manifest ids for a watermark payload            (scope fetch:manifests)\n  \
POST /v1/matches/byContent              this server detects its own mark in an upload    (scope fetch:manifests)\n  \
GET /v1/manifests/{manifestId}          a manifest store (application/c2pa)              (scope fetch:manifests)\n  \
GET /v1/services/supportedAlgorithms    public\n  \
GET /healthz, GET /metrics              public (bind to loopback; expose through a proxy)\n\n\
TLS: terminate it in a reverse proxy (docs/SERVICE.md has an nginx configuration).\n\n\
Examples:\n  candor serve token create --scope verify,fetch:manifests --name platform-x\n  \
candor serve --listen 127.0.0.1:8080 --identity my-id --store postgres://candor@db/candor\n  \
curl -H \"Authorization: Bearer $TOKEN\" --data-binary @clip.mp4 http://127.0.0.1:8080/v1/verify"
)]
pub struct ServeArgs {
    #[command(subcommand)]
    command: Option<ServeCommand>,
    /// Address to listen on (port 0: any free port, printed on start).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Manifest store (and token store): an SQLite file or a postgres:// URL shared by several
    /// workers. Default: $CANDOR_STORE, else ~/.local/share/candor/manifests.db.
    #[arg(long, global = true, value_name = "PATH|URL")]
    store: Option<StoreLocation>,
    /// Identity directory whose watermark key this service detects (repeatable). Default:
    /// $CANDOR_IDENTITY, else the public test identity keys/dev.
    #[arg(long = "identity", value_name = "DIR")]
    identities: Vec<PathBuf>,
    #[command(flatten)]
    trust: TrustArgs,
    /// Model whose DDIM inversion estimates the initial noise (default: the shipped model).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Largest upload accepted, in MiB (413 beyond).
    #[arg(long, default_value_t = 512, value_name = "MIB")]
    max_upload_mib: u64,
    /// Longest an upload may take to arrive, in seconds (408 beyond).
    #[arg(long, default_value_t = 300, value_name = "S")]
    upload_timeout: u64,
    /// Verifications at once (default: one per CPU core); more wait their turn.
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
    /// Directory uploads are spooled to while checked (default: the system temp directory).
    #[arg(long, value_name = "DIR")]
    spool: Option<PathBuf>,
    /// Other organisations' resolvers, asked for /v1/verify only (as `candor verify
    /// --resolver`); resolution queries are answered from this installation alone, never
    /// forwarded.
    #[command(flatten)]
    resolvers: ResolverArgs,
    /// Logs as JSON lines (on stderr), for a log pipeline.
    #[arg(long)]
    log_json: bool,
}

#[derive(Debug, Subcommand)]
enum ServeCommand {
    /// API tokens: create (printed once, stored hashed), list, revoke.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Print the service's OpenAPI document.
    Openapi,
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create a token; prints it as the last line (it is shown only this once).
    Create {
        /// Scopes, comma-separated: verify, fetch:manifests, admin.
        #[arg(long, value_delimiter = ',', required = true)]
        scope: Vec<String>,
        /// A name for people ("platform-x ingest").
        #[arg(long, default_value = "unnamed")]
        name: String,
        /// Requests a minute this token may make.
        #[arg(long, default_value_t = 600)]
        rate: u32,
    },
    /// List tokens (never the tokens themselves).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by id.
    Revoke { id: i64 },
}

pub fn run(args: ServeArgs) -> CliResult<Outcome> {
    let location = args.store.clone().unwrap_or_default();
    match args.command {
        Some(ServeCommand::Token(command)) => token(&location, command),
        Some(ServeCommand::Openapi) => {
            println!("{}", candor_service::openapi_json());
            Ok(Outcome::Success)
        }
        None => serve(args, &location),
    }
}

fn token(location: &StoreLocation, command: TokenCommand) -> CliResult<Outcome> {
    let store = ManifestStore::connect(location)?;
    match command {
        TokenCommand::Create { scope, name, rate } => {
            let scopes = scope
                .iter()
                .map(|s| {
                    Scope::parse(s).ok_or_else(|| {
                        format!("--scope {s}: not a scope (verify, fetch:manifests, admin)")
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            if name.chars().any(char::is_control) || name.chars().count() > 100 {
                return Err(
                    "--name: at most 100 characters, none of them control characters".into(),
                );
            }
            if rate == 0 {
                return Err("--rate must be at least 1 request a minute".into());
            }
            let (id, token) = create_token(&store, &name, &scopes, rate)?;
            eprintln!(
                "token {id} \"{name}\" ({}; {rate} requests/min) stored hashed in {location}; it is shown only now:",
                scope.join(", ")
            );
            println!("{token}");
        }
        TokenCommand::List { json } => {
            let tokens = store.tokens()?;
            if json {
                print_json(&tokens)?;
            } else {
                for t in &tokens {
                    println!(
                        "{:>4}  {:<24} {:<32} {:>5}/min  {}{}",
                        t.id,
                        t.name,
                        t.scopes.join(","),
                        t.rate_per_minute,
                        t.created,
                        if t.revoked { "  REVOKED" } else { "" }
                    );
                }
            }
        }
        TokenCommand::Revoke { id } => {
            if store.tokens()?.iter().any(|t| t.id == id && t.revoked) {
                println!("token {id} was already revoked");
                return Ok(Outcome::Success);
            }
            if !store.revoke_token(id)? {
                return Err(format!("no token {id}").into());
            }
            println!("token {id} revoked");
        }
    }
    Ok(Outcome::Success)
}

fn serve(args: ServeArgs, location: &StoreLocation) -> CliResult<Outcome> {
    if args.max_upload_mib == 0 || args.upload_timeout == 0 {
        return Err("--max-upload-mib and --upload-timeout must be positive".into());
    }
    let anchors = args.trust.anchors()?;
    let resolvers = args.resolvers.sources()?;
    let store = Arc::new(ManifestStore::connect(location)?);
    let setup = build_watermark_setup(&SetupParts {
        model: args.model.as_deref(),
        keys: &args.identities,
        store: Some(store.clone()),
        resolvers,
        inversion_steps: None,
        geometry_search: true,
    })?;
    let verifier = Arc::new(Verifier::new(VerifierConfig {
        anchors,
        watermark: Some(setup),
        watermark_note: None,
    }));
    let defaults = ServiceConfig::default();
    let config = ServiceConfig {
        max_upload_bytes: args.max_upload_mib << 20,
        upload_timeout: Duration::from_secs(args.upload_timeout),
        verify_jobs: args.jobs.unwrap_or(defaults.verify_jobs),
        spool_dir: args.spool.clone().unwrap_or(defaults.spool_dir),
        ..defaults
    };
    candor_service::init_logging(args.log_json);
    let store_name = location.to_string();
    candor_service::run(args.listen, verifier, store, config, |bound| {
        // The one line on stdout: scripts and tests read the bound address from it.
        println!("candor serve: listening on http://{bound} (store {store_name})");
        let _ = std::io::Write::flush(&mut std::io::stdout());
    })
    .map_err(|e| e.to_string())?;
    Ok(Outcome::Success)
}
