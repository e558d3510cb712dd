//! Signing: adds a Content Credentials manifest to an MP4/MOV (or a fragmented MP4 set).

use std::fs;
use std::path::{Path, PathBuf};

use c2pa::{Builder, BuilderIntent, ClaimGeneratorInfo};
use serde_json::json;

use crate::error::{ManifestError, Result};
use crate::format::sniff;
use crate::identity::Identity;
use crate::read::{c2pa_context, map_read_error, TrustAnchors};
use crate::signer::Ed25519Signer;
use crate::spec::{ManifestSpec, GENERATION_LABEL, SOFT_BINDING_LABEL, TRAINING_MINING_LABEL};

/// What signing did.
#[derive(Debug, Clone)]
pub struct SignOutcome {
    /// Where the signed asset was written.
    pub output: PathBuf,
    /// True when the input already carried a manifest, which became the parent ingredient.
    pub edited_existing: bool,
    /// Size of the embedded manifest store in bytes.
    pub manifest_bytes: usize,
    /// The signed manifest store (JUMBF) that was embedded, for a manifest store keyed by binding.
    pub manifest: Vec<u8>,
}

/// Signs `input` into `output`. The output is written beside its final name and renamed into place
/// only once complete, so a failure never leaves a half-written file; an existing `output` is kept
/// unless `overwrite` is set.
pub fn sign_file(
    identity: &Identity,
    input: &Path,
    output: &Path,
    spec: &ManifestSpec,
    overwrite: bool,
) -> Result<SignOutcome> {
    let container = sniff(input)?;
    check_output(input, output, overwrite)?;
    let edited_existing = carries_manifest(input)?;
    let mut builder = builder_for(spec, edited_existing, output)?;

    let dir = output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let staging = tempfile_in(dir, output)?;
    let result = (|| {
        let mut source =
            fs::File::open(input).map_err(|e| ManifestError::io("opening", input, e))?;
        let mut dest = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .truncate(true)
            .open(&staging)
            .map_err(|e| ManifestError::io("writing", &staging, e))?;
        let signer = identity
            .signer()
            .with_time_stamp_authority(spec.time_stamp_authority.clone());
        let manifest = builder
            .sign(&signer, container.mime(), &mut source, &mut dest)
            .map_err(|e| signing_error(&signer, input, e))?;
        dest.sync_all()
            .map_err(|e| ManifestError::io("writing", &staging, e))?;
        fs::rename(&staging, output).map_err(|e| ManifestError::io("writing", output, e))?;
        Ok(manifest)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&staging);
    }
    let manifest = result?;
    Ok(SignOutcome {
        output: output.to_path_buf(),
        edited_existing,
        manifest_bytes: manifest.len(),
        manifest,
    })
}

/// Signs a fragmented MP4: the init segment `init` and every fragment matching `fragments` (a glob
/// relative to the init segment's directory) are written, signed, into `output_dir`. Returns the
/// files written.
pub fn sign_fragmented(
    identity: &Identity,
    init: &Path,
    fragments: &str,
    output_dir: &Path,
    spec: &ManifestSpec,
) -> Result<Vec<PathBuf>> {
    sniff(init)?;
    // c2pa-rs mirrors the init segment's directory name under the output directory (and writes
    // nothing for a bare file name), so it gets an absolute path and we flatten its layout.
    let init = fs::canonicalize(init).map_err(|e| ManifestError::io("opening", init, e))?;
    let parent_name = init
        .parent()
        .and_then(|p| p.file_name())
        .map(PathBuf::from)
        .unwrap_or_default();
    fs::create_dir_all(output_dir).map_err(|e| ManifestError::io("creating", output_dir, e))?;
    let mut builder = builder_for(spec, false, &init)?;
    let signer = identity
        .signer()
        .with_time_stamp_authority(spec.time_stamp_authority.clone());
    builder
        .sign_fragmented_files(
            &signer,
            init.clone(),
            PathBuf::from(fragments),
            output_dir.to_path_buf(),
        )
        .map_err(|e| signing_error(&signer, &init, e))?;
    let nested = output_dir.join(&parent_name);
    let mut written = Vec::new();
    if !parent_name.as_os_str().is_empty() && nested.is_dir() {
        for entry in fs::read_dir(&nested).map_err(|e| ManifestError::io("reading", &nested, e))? {
            let entry = entry.map_err(|e| ManifestError::io("reading", &nested, e))?;
            let target = output_dir.join(entry.file_name());
            fs::rename(entry.path(), &target)
                .map_err(|e| ManifestError::io("writing", &target, e))?;
            written.push(target);
        }
        let _ = fs::remove_dir(&nested);
    }
    written.sort();
    Ok(written)
}

/// A signing failure: the time-stamp authority's, in its words, when it was the one that failed.
fn signing_error(signer: &Ed25519Signer, input: &Path, error: c2pa::Error) -> ManifestError {
    match (signer.time_stamp_authority(), signer.time_stamp_failure()) {
        (Some(url), Some(reason)) => ManifestError::TimeStamp {
            url: url.to_string(),
            reason,
        },
        (Some(url), None) if matches!(error, c2pa::Error::TimeStampError(_)) => {
            ManifestError::TimeStamp {
                url: url.to_string(),
                reason: error.to_string(),
            }
        }
        _ => map_read_error(input, error, "signing"),
    }
}

fn builder_for(spec: &ManifestSpec, edit: bool, output: &Path) -> Result<Builder> {
    let c2pa_err = |e| ManifestError::c2pa("building the manifest", e);
    let context = c2pa_context(&TrustAnchors::none())?;
    let title = spec.title.clone().unwrap_or_else(|| {
        output
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "video".into())
    });
    let mut builder = Builder::from_context(context)
        .with_definition(json!({ "title": title }))
        .map_err(c2pa_err)?;
    let (agent, version) = &spec.software_agent;
    let mut generator = ClaimGeneratorInfo::new(agent);
    generator.set_version(version);
    builder.set_claim_generator_info(generator);
    let software_agent = json!({ "name": agent, "version": version });
    if let Some(e) = &spec.edit_of {
        // The parent file is the parentOf ingredient (with its manifest, when it has one); the
        // builder adds c2pa.opened for it, and c2pa.edited says what changed where.
        builder.set_intent(BuilderIntent::Edit);
        let format = sniff(&e.parent)?.mime();
        let mut parent = fs::File::open(&e.parent)
            .map_err(|err| ManifestError::io("opening", &e.parent, err))?;
        let title = e
            .parent
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "parent".into());
        builder
            .add_ingredient_from_stream(
                json!({ "title": title, "relationship": "parentOf" }).to_string(),
                format,
                &mut parent,
            )
            .map_err(c2pa_err)?;
        builder
            .add_action(json!({
                "action": "c2pa.edited",
                "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia",
                "softwareAgent": software_agent,
                "description": e.description,
                "changes": [{
                    "region": crate::spec::region_ranges(e.region, e.timespan),
                    "description": e.description,
                }],
            }))
            .map_err(c2pa_err)?;
    } else if edit {
        // The builder turns the source's manifest into the parentOf ingredient and adds c2pa.opened.
        builder.set_intent(BuilderIntent::Edit);
    } else {
        builder.set_intent(BuilderIntent::Create(spec.source_type.clone()));
        builder
            .add_action(json!({
                "action": "c2pa.created",
                "digitalSourceType": spec.source_type,
                "softwareAgent": software_agent,
            }))
            .map_err(c2pa_err)?;
    }
    if spec.watermarked {
        // C2PA 2.2: an invisible watermark was inserted; its soft binding follows.
        builder
            .add_action(json!({
                "action": "c2pa.watermarked",
                "softwareAgent": software_agent,
                "description": "An invisible watermark carrying the soft binding was put into the latent noise the frames were made from",
            }))
            .map_err(c2pa_err)?;
    }
    if let Some(binding) = &spec.soft_binding {
        builder
            .add_assertion(SOFT_BINDING_LABEL, &binding.to_assertion())
            .map_err(c2pa_err)?;
    }
    if let Some(permission) = spec.training_mining {
        builder
            .add_assertion(
                TRAINING_MINING_LABEL,
                &ManifestSpec::training_mining_assertion(permission),
            )
            .map_err(c2pa_err)?;
    }
    if let Some(generation) = &spec.generation {
        builder
            .add_assertion(GENERATION_LABEL, generation)
            .map_err(c2pa_err)?;
    }
    Ok(builder)
}

/// True when `path` already holds a manifest store (valid or not).
fn carries_manifest(path: &Path) -> Result<bool> {
    let context = c2pa_context(&TrustAnchors::none())?;
    match c2pa::Reader::from_context(context).with_file(path) {
        Ok(_) => Ok(true),
        Err(c2pa::Error::JumbfNotFound) | Err(c2pa::Error::ProvenanceMissing) => Ok(false),
        Err(e) => match map_read_error(path, e, "reading") {
            // A manifest that cannot be parsed still exists: sign as an edit, the builder records it.
            ManifestError::C2pa { .. } => Ok(true),
            other => Err(other),
        },
    }
}

fn check_output(input: &Path, output: &Path, overwrite: bool) -> Result<()> {
    let same = match (fs::canonicalize(input), fs::canonicalize(output)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same {
        return Err(ManifestError::io(
            "writing",
            output,
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the output must differ from the input",
            ),
        ));
    }
    if output.exists() && !overwrite {
        return Err(ManifestError::io(
            "writing",
            output,
            std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "file exists (pass --force to replace it)",
            ),
        ));
    }
    Ok(())
}

/// Creates an empty staging file next to `output`, failing early if the directory is unwritable.
fn tempfile_in(dir: &Path, output: &Path) -> Result<PathBuf> {
    let name = output
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".into());
    let staging = dir.join(format!(".{name}.candor-{}.partial", std::process::id()));
    fs::File::create(&staging).map_err(|e| ManifestError::io("writing", output, e))?;
    Ok(staging)
}
