//! `candor keys`: create signing identities, ask a CA for a certificate, install what it issued.

use std::path::PathBuf;

use candor_manifest::{Identity, NewIdentity};
use clap::{Args, Subcommand};
use serde_json::json;

use super::{print_json, CliError, CliResult, Outcome};

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a new identity: an ECDSA P-256 root CA, an Ed25519 claim-signing leaf it issued, and a watermark secret.
    ///
    /// The shape is what the C2PA certificate policy asks for: the root is a CA (CA:true,
    /// keyCertSign) with an ECDSA key, the leaf an end-entity Ed25519 certificate (digitalSignature,
    /// C2PA claim-signing and emailProtection EKUs, key identifiers). Give verifiers `DIR/root.pem`
    /// (they pass it with `candor verify --trust`). Keep `signing.key`, `ca.key` and
    /// `watermark.key` private (mode 0600); nothing else is secret. To be trusted beyond your own
    /// verifiers, get the leaf from a recognised CA instead: `candor keys csr`, then `candor keys import`.
    Init(InitArgs),
    /// Write a PKCS#10 certificate signing request for the identity's Ed25519 signing key.
    ///
    /// The subject is O= and CN= of the identity; the request asks for digitalSignature and the
    /// C2PA claim-signing and emailProtection extended key usages. Send it to a CA (one on the
    /// C2PA trust list, or your organisation's), then install the certificate it returns with
    /// `candor keys import`. The private key never leaves the identity directory.
    ///
    /// Example: candor keys csr --dir newsroom -o newsroom.csr
    Csr(CsrArgs),
    /// Install a certificate a CA issued for the identity's signing key (and the CA's chain).
    ///
    /// The certificate must be for this identity's key (otherwise exit 2 and nothing changes) and
    /// be a claim-signing leaf (not a CA, digitalSignature, an EKU C2PA accepts). `chain.pem`
    /// becomes the leaf followed by the chain; `root.pem` becomes the chain's self-signed root
    /// when the chain ends with one, and is removed otherwise.
    ///
    /// Example: candor keys import --dir newsroom --cert newsroom.pem --chain ca-chain.pem
    Import(ImportArgs),
}

#[derive(Debug, Args)]
pub struct CsrArgs {
    /// Identity directory (from `candor keys init`).
    #[arg(long)]
    dir: PathBuf,
    /// Where to write the request (PEM).
    #[arg(short, long)]
    output: PathBuf,
    /// Replace the output file if it exists.
    #[arg(long)]
    force: bool,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Identity directory whose signing key the certificate is for.
    #[arg(long)]
    dir: PathBuf,
    /// The issued leaf certificate (PEM; may be followed by its issuers).
    #[arg(long, value_name = "PEM")]
    cert: PathBuf,
    /// The issuing CA's certificates (PEM), intermediates first, root last if included.
    #[arg(long, value_name = "PEM")]
    chain: Option<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
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
        KeysCommand::Csr(args) => csr(args),
        KeysCommand::Import(args) => import(args),
    }
}

fn csr(args: CsrArgs) -> CliResult<Outcome> {
    if args.output.exists() && !args.force {
        return Err(format!(
            "{}: file exists (pass --force to replace it)",
            args.output.display()
        )
        .into());
    }
    let identity = Identity::load(&args.dir)?;
    let pem = identity.csr_pem()?;
    std::fs::write(&args.output, pem).map_err(|source| CliError::Io {
        path: args.output.clone(),
        source,
    })?;
    let info = identity.info();
    println!(
        "Wrote a certificate signing request for CN={}, O={} (Ed25519) to {}",
        info.common_name,
        info.organization,
        args.output.display()
    );
    println!(
        "  next: have a CA sign it, then: candor keys import --dir {} --cert LEAF.pem --chain CA-CHAIN.pem",
        args.dir.display()
    );
    Ok(Outcome::Success)
}

fn import(args: ImportArgs) -> CliResult<Outcome> {
    super::existing(std::slice::from_ref(&args.cert))?;
    if let Some(chain) = &args.chain {
        super::existing(std::slice::from_ref(chain))?;
    }
    let identity = Identity::import_certificate(&args.dir, &args.cert, args.chain.as_deref())?;
    let root = identity.has_root().then(|| identity.root_path());
    if args.json {
        print_json(&json!({
            "dir": identity.dir(),
            "certificate": args.cert,
            "trust_anchor": root,
        }))?;
    } else {
        println!(
            "Installed {} as the signing certificate of {}",
            args.cert.display(),
            identity.dir().display()
        );
        match root {
            Some(root) => println!(
                "  trust anchor: {}  (the chain's root: candor verify --trust ...)",
                root.display()
            ),
            None => println!(
                "  trust anchor: the chain given stops below its root; verifiers need the CA's root \
                 (or the C2PA trust list: candor verify --trust-list ...)"
            ),
        }
    }
    Ok(Outcome::Success)
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
        println!(
            "  signer:       CN={}, O={} (Ed25519 leaf, issued by \"{} Root CA\", ECDSA P-256)",
            args.name, args.org, args.org
        );
        println!(
            "  trust anchor: {}  (give this to verifiers: candor verify --trust ...)",
            identity.root_path().display()
        );
        println!(
            "  private:      signing.key, ca.key, watermark.key (mode 0600; never share them)"
        );
    }
    Ok(Outcome::Success)
}
