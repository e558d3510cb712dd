//! Reading and validating Content Credentials into a [`ManifestReport`].
//!
//! Trust is explicit: with no anchors configured every signer is "not trusted", never "trusted".

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::{ManifestError, Result};
use crate::explain::explain;
use crate::identity::parse_pem_certificates;
use crate::source_type::describe_source_type;
use crate::spec::{GenerationInfo, SoftBinding, GENERATION_LABEL, SOFT_BINDING_LABEL};

/// Certificates the verifier was told to trust, by role.
///
/// - `--trust` (user anchors): roots the user trusts, for claim signers and time-stamp
///   authorities alike (what c2pa-rs does with its anchors);
/// - a C2PA trust list (`--trust-list`): anchors of claim-signing certificates;
/// - a TSA trust list (`--tsa-trust-list`): anchors of time-stamp authorities only. They never
///   make a claim signer trusted: a CA trusted for time-stamps may issue any number of
///   emailProtection certificates that C2PA would otherwise accept as claim signers.
///
/// c2pa-rs 0.90 checks the claim signer and the time-stamp against one anchor pool (the TSA with
/// the timeStamping EKU required), so the TSA anchors are checked in a second validation of the
/// manifest store alone, without the asset (see [`read_manifest`]).
#[derive(Debug, Clone, Default)]
pub struct TrustAnchors {
    /// Claim-signer anchors (user anchors and trust lists), PEM.
    pem: String,
    /// Time-stamp authority anchors, PEM.
    tsa_pem: String,
    sources: Vec<PathBuf>,
    count: usize,
    tsa_count: usize,
}

impl TrustAnchors {
    /// No anchors: signatures can be intact, but no signer is trusted.
    pub fn none() -> Self {
        Self::default()
    }

    /// Anchors from PEM bundles (`--trust`); each file must hold at least one certificate.
    pub fn from_files(paths: &[PathBuf]) -> Result<Self> {
        Self::none().with_trust_list(paths)
    }

    /// Adds claim-signing anchors from PEM bundles such as the C2PA trust list (text between the
    /// PEM blocks, such as the list's `Subject` lines, is ignored).
    pub fn with_trust_list(mut self, paths: &[PathBuf]) -> Result<Self> {
        for path in paths {
            let (pem, n) = load_bundle(path)?;
            self.pem.push_str(&pem);
            self.count += n;
            self.sources.push(path.clone());
        }
        Ok(self)
    }

    /// Adds time-stamp authority anchors from PEM bundles such as the C2PA TSA trust list.
    pub fn with_tsa_trust_list(mut self, paths: &[PathBuf]) -> Result<Self> {
        for path in paths {
            let (pem, n) = load_bundle(path)?;
            self.tsa_pem.push_str(&pem);
            self.tsa_count += n;
            self.sources.push(path.clone());
        }
        Ok(self)
    }

    /// True when at least one claim-signer anchor is configured.
    pub fn is_configured(&self) -> bool {
        self.count > 0
    }

    /// Number of claim-signer anchor certificates.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when no claim-signer anchor is configured.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Number of time-stamp authority anchors (beyond the claim-signer anchors, which c2pa-rs
    /// also accepts for time-stamps).
    pub fn tsa_len(&self) -> usize {
        self.tsa_count
    }

    /// The files the anchors came from.
    pub fn sources(&self) -> &[PathBuf] {
        &self.sources
    }

    /// The same anchors with the TSA anchors in the claim-signer role: what the second
    /// validation, which only looks at the time-stamp, uses.
    fn tsa_only(&self) -> Self {
        Self {
            pem: self.tsa_pem.clone(),
            count: self.tsa_count,
            ..Self::default()
        }
    }
}

/// A PEM bundle's certificates, re-encoded as clean PEM, each checked to be X.509.
fn load_bundle(path: &Path) -> Result<(String, usize)> {
    let bytes = std::fs::read(path).map_err(|e| ManifestError::io("reading", path, e))?;
    let bad = |reason: String| ManifestError::Trust {
        path: path.to_path_buf(),
        reason,
    };
    let certs = parse_pem_certificates(&bytes).map_err(bad)?;
    let mut pem = String::new();
    for (i, der) in certs.iter().enumerate() {
        if x509_parser::parse_x509_certificate(der).is_err() {
            return Err(bad(format!(
                "certificate {} of {} is not a valid X.509 certificate",
                i + 1,
                certs.len()
            )));
        }
        pem.push_str(&pem::encode(&pem::Pem::new("CERTIFICATE", der.clone())));
    }
    Ok((pem, certs.len()))
}

/// A c2pa context with our settings: trust only the given anchors, no network.
pub(crate) fn c2pa_context(anchors: &TrustAnchors) -> Result<c2pa::Context> {
    let trust_anchors = if anchors.is_configured() {
        Value::String(anchors.pem.clone())
    } else {
        Value::Null
    };
    let settings = json!({
        "trust": { "trust_anchors": trust_anchors },
        "verify": {
            "verify_after_reading": true,
            "verify_trust": true,
            "ocsp_fetch": false,
            "remote_manifest_fetch": false,
        },
    });
    c2pa::Context::new()
        .with_settings(settings.to_string().as_str())
        .map_err(|e| ManifestError::c2pa("configuring the C2PA validator", e))
}

/// Translates c2pa's reading errors into ours, so malformed input reads as input.
pub(crate) fn map_read_error(path: &Path, error: c2pa::Error, action: &str) -> ManifestError {
    match error {
        c2pa::Error::InvalidAsset(reason) => ManifestError::InvalidAsset {
            path: path.to_path_buf(),
            reason,
        },
        c2pa::Error::UnsupportedType => ManifestError::UnsupportedFormat {
            path: path.to_path_buf(),
            reason: "c2pa cannot handle this container".into(),
        },
        c2pa::Error::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            ManifestError::InvalidAsset {
                path: path.to_path_buf(),
                reason: "the file is truncated".into(),
            }
        }
        c2pa::Error::IoError(e) => ManifestError::io("reading", path, e),
        other => ManifestError::c2pa(format!("{action} {}", path.display()), other),
    }
}

/// The validation state of a file's Content Credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialState {
    /// Intact and signed by a certificate that chains to a configured anchor.
    Trusted,
    /// Intact (hashes and signature verify), signer not established as trusted.
    Valid,
    /// Present but broken: content or manifest changed after signing, or the signature fails.
    Invalid,
    /// No Content Credentials in the file.
    None,
}

impl CredentialState {
    /// The name used in reports (`Trusted`, `Valid`, `Invalid`, `None`).
    pub fn name(self) -> &'static str {
        match self {
            CredentialState::Trusted => "Trusted",
            CredentialState::Valid => "Valid",
            CredentialState::Invalid => "Invalid",
            CredentialState::None => "None",
        }
    }
}

/// Who signed the active manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignerReport {
    pub issuer: Option<String>,
    pub common_name: Option<String>,
    pub algorithm: Option<String>,
    /// Signing time as the manifest states it.
    pub signing_time: Option<String>,
    /// True when an RFC 3161 time-stamp backs the signing time.
    pub time_stamped: bool,
    /// For a time-stamped signature checked against anchors: whether the time-stamp authority
    /// chains to one (a `--trust` root, a trust list or a TSA trust list). Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_stamp_trusted: Option<bool>,
    pub certificate_serial: Option<String>,
}

/// One action of the active manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionReport {
    pub action: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digital_source_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_type_words: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub software_agent: Option<String>,
}

/// One ingredient of the active manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngredientReport {
    pub title: Option<String>,
    pub relationship: String,
    /// Label of the ingredient's own manifest, when it had one.
    pub manifest: Option<String>,
}

/// A validation failure, with its code and plain words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusReport {
    pub code: String,
    pub explanation: String,
    /// The validator's own detail, when it gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Where in the manifest store the problem is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

/// The manifest half of a verification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestReport {
    pub state: CredentialState,
    /// One sentence for people.
    pub summary: String,
    /// Whether any trust anchor was configured for this check.
    pub trust_configured: bool,
    pub manifest_label: Option<String>,
    pub title: Option<String>,
    pub claim_generator: Option<String>,
    pub signer: Option<SignerReport>,
    pub actions: Vec<ActionReport>,
    /// The digitalSourceType of the creating action, in plain words ("AI-generated", ...).
    pub source_type: Option<String>,
    pub ingredients: Vec<IngredientReport>,
    /// Validation failures of the active manifest.
    pub failures: Vec<StatusReport>,
    /// Failures found in ingredients' own manifests (reported by where they are, not held
    /// against the active manifest's state).
    pub ingredient_failures: Vec<StatusReport>,
    pub soft_binding: Option<SoftBinding>,
    pub generation: Option<GenerationInfo>,
}

impl ManifestReport {
    /// The report for a file without Content Credentials.
    pub fn none(trust_configured: bool) -> Self {
        Self {
            state: CredentialState::None,
            summary: "No Content Credentials".into(),
            trust_configured,
            manifest_label: None,
            title: None,
            claim_generator: None,
            signer: None,
            actions: Vec::new(),
            source_type: None,
            ingredients: Vec::new(),
            failures: Vec::new(),
            ingredient_failures: Vec::new(),
            soft_binding: None,
            generation: None,
        }
    }

    /// The failure codes, for tests and machines.
    pub fn failure_codes(&self) -> Vec<&str> {
        self.failures.iter().map(|f| f.code.as_str()).collect()
    }
}

/// Reads and validates the Content Credentials of `path`. With `fragments`, `path` is a fragmented
/// MP4 init segment and the fragments are validated with it.
pub fn read_manifest(
    path: &Path,
    fragments: Option<&[PathBuf]>,
    anchors: &TrustAnchors,
) -> Result<ManifestReport> {
    crate::format::sniff(path)?;
    let context = c2pa_context(anchors)?;
    let reader = c2pa::Reader::from_context(context);
    let reader = match fragments {
        Some(list) => reader.with_fragmented_files(path, &list.to_vec()),
        None => reader.with_file(path),
    };
    let reader = match reader {
        Ok(r) => r,
        Err(c2pa::Error::JumbfNotFound) | Err(c2pa::Error::ProvenanceMissing) => {
            return Ok(ManifestReport::none(anchors.is_configured()))
        }
        Err(e) => return Err(map_read_error(path, e, "reading Content Credentials of")),
    };
    let mut report = report_from_reader(&reader, anchors.is_configured());
    check_time_stamp_against_tsa_anchors(&mut report, anchors, || {
        c2pa::jumbf_io::load_jumbf_from_file(path).ok()
    });
    Ok(report)
}

/// Whether the report's time-stamp is trusted, now that the TSA anchors are consulted too: when
/// the claim-signer anchors did not establish it, the manifest store (from `manifest`) is
/// validated once more, against the empty stand-in asset, with the TSA anchors alone, and only
/// the time-stamp's verdict of that validation is kept.
fn check_time_stamp_against_tsa_anchors(
    report: &mut ManifestReport,
    anchors: &TrustAnchors,
    manifest: impl FnOnce() -> Option<Vec<u8>>,
) {
    let Some(signer) = report.signer.as_mut() else {
        return;
    };
    if !signer.time_stamped || signer.time_stamp_trusted == Some(true) {
        return;
    }
    if anchors.tsa_count > 0 {
        signer.time_stamp_trusted = Some(false);
        let trusted = manifest().is_some_and(|store| {
            let tsa = anchors.tsa_only();
            c2pa_context(&tsa).ok().is_some_and(|context| {
                c2pa::Reader::from_context(context)
                    .with_manifest_data_and_stream(
                        &store,
                        "video/mp4",
                        std::io::Cursor::new(EMPTY_MP4),
                    )
                    .ok()
                    .is_some_and(|reader| time_stamp_codes(&reader).1)
            })
        });
        signer.time_stamp_trusted = Some(trusted);
    }
}

/// (time-stamp validated, time-stamp trusted) for the active manifest.
fn time_stamp_codes(reader: &c2pa::Reader) -> (bool, bool) {
    let Some(active) = reader
        .validation_results()
        .and_then(|r| r.active_manifest())
    else {
        return (false, false);
    };
    let has = |code: &str| active.success().iter().any(|s| s.code() == code);
    let trusted = has("timeStamp.trusted");
    (trusted || has("timeStamp.validated"), trusted)
}

/// The smallest MP4 a C2PA reader walks: one `ftyp` box and an empty `mdat`.
const EMPTY_MP4: &[u8] = b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2\0\0\0\x08mdat";

/// Validates a manifest kept apart from its asset (a manifest store record) against `asset`, a copy
/// that lost its embedded credentials. The copy was usually re-encoded, so the hard binding is
/// expected to fail; what matters is that the claim signature verifies. Returns the report and
/// whether the signature (and, with anchors, the chain) holds apart from the content hash.
///
/// A copy in a container C2PA cannot bind (Matroska, WebM, AVI: a remux or a platform's
/// re-encode) has no hard binding to check at all; the manifest is then validated against an
/// empty MP4 stand-in, which checks the signature and reports the content hash as not matching.
pub fn read_detached_manifest(
    manifest: &[u8],
    asset: &Path,
    anchors: &TrustAnchors,
) -> Result<(ManifestReport, bool)> {
    read_detached(manifest, Some(asset), anchors)
}

/// [`read_detached_manifest`] without an asset: the signature (and, with anchors, the chain) is
/// checked against an empty MP4 stand-in, and the content hash reported as not matching. For a
/// file that cannot be the signed original anyway (a longer video holding a copy of the clip):
/// hashing it would cost memory in proportion to its size for an answer known in advance.
pub fn read_detached_manifest_unbound(
    manifest: &[u8],
    anchors: &TrustAnchors,
) -> Result<(ManifestReport, bool)> {
    read_detached(manifest, None, anchors)
}

fn read_detached(
    manifest: &[u8],
    asset: Option<&Path>,
    anchors: &TrustAnchors,
) -> Result<(ManifestReport, bool)> {
    let context = c2pa_context(anchors)?;
    let Some(asset) = asset else {
        let reader = c2pa::Reader::from_context(context)
            .with_manifest_data_and_stream(manifest, "video/mp4", std::io::Cursor::new(EMPTY_MP4))
            .map_err(|e| map_read_error(Path::new("(stored manifest)"), e, "validating"))?;
        let mut report = report_from_reader(&reader, anchors.is_configured());
        check_time_stamp_against_tsa_anchors(&mut report, anchors, || Some(manifest.to_vec()));
        return Ok(signature_checked(report));
    };
    let reader = match crate::format::sniff(asset) {
        Ok(container) => {
            let file =
                std::fs::File::open(asset).map_err(|e| ManifestError::io("opening", asset, e))?;
            c2pa::Reader::from_context(context).with_manifest_data_and_stream(
                manifest,
                container.mime(),
                file,
            )
        }
        Err(ManifestError::UnsupportedFormat { .. }) => c2pa::Reader::from_context(context)
            .with_manifest_data_and_stream(manifest, "video/mp4", std::io::Cursor::new(EMPTY_MP4)),
        Err(e) => return Err(e),
    }
    .map_err(|e| map_read_error(asset, e, "validating the stored manifest for"))?;
    let mut report = report_from_reader(&reader, anchors.is_configured());
    check_time_stamp_against_tsa_anchors(&mut report, anchors, || Some(manifest.to_vec()));
    Ok(signature_checked(report))
}

/// The report, and whether its signature holds apart from the content hash.
fn signature_checked(report: ManifestReport) -> (ManifestReport, bool) {
    let content_codes = [
        "assertion.bmffHash.mismatch",
        "assertion.dataHash.mismatch",
        "assertion.bmffHash.malformed",
    ];
    let signature_ok = !report.failures.iter().any(|f| {
        !content_codes.contains(&f.code.as_str()) && f.code != "signingCredential.untrusted"
    });
    (report, signature_ok)
}

fn report_from_reader(reader: &c2pa::Reader, trust_configured: bool) -> ManifestReport {
    let mut report = ManifestReport::none(trust_configured);
    report.state = match reader.validation_state() {
        c2pa::ValidationState::Trusted => CredentialState::Trusted,
        c2pa::ValidationState::Valid => CredentialState::Valid,
        c2pa::ValidationState::Invalid => CredentialState::Invalid,
    };

    let (time_stamped, time_stamp_trusted) = time_stamp_codes(reader);
    if let Some(results) = reader.validation_results() {
        if let Some(active) = results.active_manifest() {
            report
                .failures
                .extend(active.failure().iter().map(|s| status(s, None)));
        }
        for delta in results.ingredient_deltas().into_iter().flatten() {
            let uri = delta.ingredient_assertion_uri().to_string();
            report.ingredient_failures.extend(
                delta
                    .validation_deltas()
                    .failure()
                    .iter()
                    .map(|s| status(s, Some(uri.clone()))),
            );
        }
    }

    dedup(&mut report.failures);
    dedup(&mut report.ingredient_failures);

    if let Some(manifest) = reader.active_manifest() {
        report.manifest_label = manifest.label().map(str::to_string);
        report.title = manifest.title().map(str::to_string);
        report.claim_generator = manifest
            .claim_generator()
            .map(str::to_string)
            .or_else(|| claim_generator_from_info(manifest));
        report.signer = manifest.signature_info().map(|info| SignerReport {
            issuer: info.issuer.clone(),
            common_name: info.common_name.clone(),
            algorithm: info.alg.map(algorithm_name),
            signing_time: info.time.clone(),
            time_stamped,
            time_stamp_trusted: (time_stamped && trust_configured).then_some(time_stamp_trusted),
            certificate_serial: info.cert_serial_number.clone(),
        });
        for assertion in manifest.assertions() {
            let label = assertion.label();
            let Ok(value) = assertion.value() else {
                continue;
            };
            if label.starts_with("c2pa.actions") {
                report.actions.extend(actions_from(value));
            } else if label == SOFT_BINDING_LABEL {
                report.soft_binding = SoftBinding::from_assertion(value);
            } else if label == GENERATION_LABEL {
                report.generation = serde_json::from_value(value.clone()).ok();
            }
        }
        report.source_type = report
            .actions
            .iter()
            .find(|a| a.action == "c2pa.created")
            .or_else(|| {
                report
                    .actions
                    .iter()
                    .find(|a| a.source_type_words.is_some())
            })
            .and_then(|a| a.source_type_words.clone());
        report.ingredients = manifest
            .ingredients()
            .iter()
            .map(|i| IngredientReport {
                title: i.title().map(str::to_string),
                relationship: relationship_name(i.relationship()),
                manifest: i.active_manifest().map(str::to_string),
            })
            .collect();
    }
    report.summary = summarise(&report);
    report
}

/// The validator can log one finding twice (for the claim and its time-stamp): keep the first.
fn dedup(list: &mut Vec<StatusReport>) {
    let mut seen = std::collections::HashSet::new();
    list.retain(|s| seen.insert((s.code.clone(), s.location.clone())));
}

fn status(s: &c2pa::validation_status::ValidationStatus, location: Option<String>) -> StatusReport {
    StatusReport {
        code: s.code().to_string(),
        explanation: explain(s.code()).to_string(),
        detail: s.explanation().map(str::to_string),
        location: location.or_else(|| s.url().map(str::to_string)),
    }
}

/// Algorithm names as the specifications write them (`Ed25519`, `ES256`, `PS384`).
fn algorithm_name(alg: c2pa::SigningAlg) -> String {
    let name = alg.to_string();
    if name.eq_ignore_ascii_case("ed25519") {
        "Ed25519".into()
    } else {
        name.to_uppercase()
    }
}

fn claim_generator_from_info(manifest: &c2pa::Manifest) -> Option<String> {
    let json = serde_json::to_value(manifest).ok()?;
    let info = json.get("claim_generator_info")?.get(0)?;
    let name = info.get("name")?.as_str()?;
    Some(match info.get("version").and_then(Value::as_str) {
        Some(v) => format!("{name} {v}"),
        None => name.to_string(),
    })
}

fn actions_from(value: &Value) -> Vec<ActionReport> {
    let Some(list) = value.get("actions").and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|a| {
            let action = a.get("action")?.as_str()?.to_string();
            let dst = a
                .get("digitalSourceType")
                .and_then(Value::as_str)
                .map(str::to_string);
            let software_agent = match a.get("softwareAgent") {
                Some(Value::String(s)) => Some(s.clone()),
                Some(obj) => obj.get("name").and_then(Value::as_str).map(|name| {
                    match obj.get("version").and_then(Value::as_str) {
                        Some(v) => format!("{name} {v}"),
                        None => name.to_string(),
                    }
                }),
                None => None,
            };
            Some(ActionReport {
                action,
                source_type_words: dst.as_deref().map(describe_source_type),
                digital_source_type: dst,
                software_agent,
            })
        })
        .collect()
}

fn relationship_name(r: &c2pa::Relationship) -> String {
    serde_json::to_value(r)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| format!("{r:?}"))
}

fn summarise(report: &ManifestReport) -> String {
    let who = report
        .signer
        .as_ref()
        .and_then(|s| s.common_name.clone().or_else(|| s.issuer.clone()))
        .unwrap_or_else(|| "an unnamed signer".into());
    match report.state {
        CredentialState::Trusted => format!("Content Credentials valid, signed by {who} (trusted)"),
        CredentialState::Valid if !report.trust_configured => format!(
            "Content Credentials intact, signed by {who}; signer not trusted (no trust anchors given)"
        ),
        CredentialState::Valid => {
            if report.failures.iter().any(|f| f.code == "signingCredential.untrusted") {
                format!("Content Credentials intact, signed by {who}; signer not in your trust anchors")
            } else {
                format!("Content Credentials intact, signed by {who}; trust not established")
            }
        }
        CredentialState::Invalid => {
            let why = report
                .failures
                .iter()
                .find(|f| f.code != "signingCredential.untrusted")
                .or(report.failures.first())
                .map(|f| f.explanation.clone())
                .unwrap_or_else(|| "the validator rejected the manifest".into());
            format!("Content Credentials INVALID: {why}")
        }
        CredentialState::None => "No Content Credentials".into(),
    }
}
