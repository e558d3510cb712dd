//! A client of C2PA Soft Binding Resolution API services (C2PA 2.2): another organisation's
//! resolver, asked for the manifests it holds for a watermark payload (`matches/byBinding`, then
//! `manifests/{id}`) or, for a mark under keys this installation lacks, to run its own detection
//! on the uploaded file (`matches/byContent`).
//!
//! [`RemoteResolver`] is a [`candor_verify::ManifestSource`]: whatever it returns is checked by
//! the verifier (signature, soft binding, content fingerprint) before it is reported. A resolver
//! is asked, never trusted, and it cannot send us elsewhere: a match naming another resolver's
//! endpoint is not followed, and neither is a redirect.
//!
//! ```no_run
//! use candor_resolver::{RemoteResolver, ResolverOptions};
//! use candor_verify::ManifestSource;
//! let resolver = RemoteResolver::new(
//!     "https://resolver.example",
//!     ResolverOptions { token: Some("…".into()), ..ResolverOptions::default() },
//! )?;
//! assert_eq!(resolver.name(), "https://resolver.example/v1");
//! # Ok::<(), candor_resolver::ResolverError>(())
//! ```
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod api;
mod base;
mod http;

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine as _;
use candor_verify::{ContentMatch, ManifestSource, SourcedManifest};
use url::Url;

pub use api::SupportedAlgorithms;
pub use base::parse_base_url;

use api::Match;
use http::{Client, UPLOAD_BROKE};

/// The algorithm name of Candor's latent watermark, as a soft binding and for `matches/byContent`.
pub const CONTENT_ALG: &str = candor_watermark::SOFT_BINDING_ALG;

/// How long connecting to a resolver may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default limit for a whole `matches/byBinding` or `manifests/{id}` request.
pub const DEFAULT_BINDING_TIMEOUT: Duration = Duration::from_secs(30);
/// Default limit for a whole `matches/byContent` request (the upload and the resolver's detection).
pub const DEFAULT_CONTENT_TIMEOUT: Duration = Duration::from_secs(120);
/// The largest manifest store accepted from a resolver.
pub const MAX_MANIFEST_BYTES: u64 = 16 << 20;
/// The largest JSON answer accepted from a resolver.
pub const MAX_JSON_BYTES: u64 = 1 << 20;
/// At most this many manifests are fetched for one query (a resolver cannot make us fetch more).
pub const MAX_FETCHED: usize = 8;

/// How to talk to a resolver.
#[derive(Clone)]
pub struct ResolverOptions {
    /// Sent as `Authorization: Bearer <token>`; never written into an error or a name.
    pub token: Option<String>,
    /// Extra CA certificates (a PEM file) trusted for `https://` besides the public web roots: a
    /// private CA in front of a resolver.
    pub extra_ca_pem: Option<PathBuf>,
    /// Limit for each whole `matches/byBinding`, `manifests/{id}` and
    /// `services/supportedAlgorithms` request.
    pub binding_timeout: Duration,
    /// Limit for a whole `matches/byContent` request.
    pub content_timeout: Duration,
    /// Whether files may be uploaded for `matches/byContent` (only to a resolver that lists
    /// [`CONTENT_ALG`] among its watermarks). `false`: by payload only.
    pub by_content: bool,
}

impl Default for ResolverOptions {
    fn default() -> Self {
        Self {
            token: None,
            extra_ca_pem: None,
            binding_timeout: DEFAULT_BINDING_TIMEOUT,
            content_timeout: DEFAULT_CONTENT_TIMEOUT,
            by_content: true,
        }
    }
}

impl std::fmt::Debug for ResolverOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResolverOptions")
            .field("token", &self.token.as_ref().map(|_| "[hidden]"))
            .field("extra_ca_pem", &self.extra_ca_pem)
            .field("binding_timeout", &self.binding_timeout)
            .field("content_timeout", &self.content_timeout)
            .field("by_content", &self.by_content)
            .finish()
    }
}

/// Why a resolver could not be set up (nothing was sent yet).
#[derive(Debug, thiserror::Error)]
pub enum ResolverError {
    /// The URL is not an `http://` or `https://` base URL.
    #[error("resolver URL '{url}': {reason}")]
    Url { url: String, reason: String },
    /// The extra CA file could not be used.
    #[error("resolver CA {}: {reason}", path.display())]
    Ca { path: PathBuf, reason: String },
    /// The token cannot go into an HTTP header (its value is never repeated).
    #[error("resolver token: {0}")]
    Token(String),
    /// The TLS configuration could not be built.
    #[error("TLS set-up: {0}")]
    Tls(String),
}

/// Longest all of one query's manifest fetches may take together.
const FETCH_DEADLINE: Duration = Duration::from_secs(45);

/// A Soft Binding Resolution API service, asked over HTTP(S).
pub struct RemoteResolver {
    /// The API base, normalised (`…/v1` for a bare origin), without credentials or a trailing `/`.
    base: Url,
    client: Client,
    by_content: bool,
    /// Whether it lists [`CONTENT_ALG`] among its watermarks, once asked successfully.
    takes_content: Mutex<Option<bool>>,
}

impl std::fmt::Debug for RemoteResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteResolver")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

impl RemoteResolver {
    /// A resolver at `url` (its API base; a bare origin such as `https://resolver.example` means
    /// `https://resolver.example/v1`). Checks the URL, the token and the CA file; sends nothing.
    pub fn new(url: &str, options: ResolverOptions) -> Result<Self, ResolverError> {
        let base = parse_base_url(url)?;
        let client = Client::new(&options)?;
        Ok(Self {
            base,
            client,
            by_content: options.by_content,
            takes_content: Mutex::new(None),
        })
    }

    /// The API base URL every request goes under.
    pub fn base_url(&self) -> &str {
        self.base.as_str()
    }

    /// `GET services/supportedAlgorithms`.
    pub fn supported_algorithms(&self) -> Result<SupportedAlgorithms, String> {
        let url = endpoint(&self.base, &["services", "supportedAlgorithms"]);
        let body = self.client.get_json(&url)?;
        api::parse_supported(&body).map_err(|e| format!("GET {url}: {e}"))
    }

    /// `POST matches/byBinding` with `{"alg", "value"}` (the value in standard base64).
    fn matches_by_binding(&self, alg: &str, value: &[u8]) -> Result<Vec<Match>, String> {
        let url = endpoint(&self.base, &["matches", "byBinding"]);
        let request = serde_json::json!({
            "alg": alg,
            "value": base64::engine::general_purpose::STANDARD.encode(value),
        });
        let body = self.client.post_json(&url, &request.to_string())?;
        api::parse_matches(&body).map_err(|e| format!("POST {url}: {e}"))
    }

    /// `POST matches/byContent?alg=…` with the file streamed from disk as the body.
    fn matches_by_content(&self, file: &Path) -> Result<Vec<Match>, String> {
        let mut url = endpoint(&self.base, &["matches", "byContent"]);
        url.query_pairs_mut().append_pair("alg", CONTENT_ALG);
        // A kept-alive connection the resolver closed just as the upload began breaks it: the
        // upload is tried once more, on a fresh connection.
        let mut attempt = 0;
        let answer = loop {
            let opened = File::open(file).map_err(|e| format!("{}: {e}", file.display()))?;
            let len = opened
                .metadata()
                .map_err(|e| format!("{}: {e}", file.display()))?
                .len();
            // Never more than the length declared, even if the file grows meanwhile.
            let body = BufReader::with_capacity(1 << 16, opened.take(len));
            match self.client.post_file(&url, content_type(file), len, body) {
                Err(e) if attempt == 0 && e.contains(UPLOAD_BROKE) => attempt += 1,
                other => break other?,
            }
        };
        api::parse_matches(&answer).map_err(|e| format!("POST {url}: {e}"))
    }

    /// `GET manifests/{id}` under `base`: the manifest store's bytes.
    fn fetch_manifest(&self, base: &Url, manifest_id: &str) -> Result<Vec<u8>, String> {
        let url = endpoint(base, &["manifests", manifest_id]);
        self.client.get_manifest(&url)
    }

    /// Whether files may be uploaded to it: it lists [`CONTENT_ALG`] among its watermarks.
    fn takes_content(&self) -> Result<bool, String> {
        if let Ok(guard) = self.takes_content.lock() {
            if let Some(known) = *guard {
                return Ok(known);
            }
        }
        let takes = match self.supported_algorithms() {
            Ok(s) => s.watermarks.iter().any(|a| a == CONTENT_ALG),
            // No such service: it cannot be asked by content.
            Err(e) if e.contains(": 404 ") => false,
            Err(e) => return Err(e),
        };
        if let Ok(mut guard) = self.takes_content.lock() {
            *guard = Some(takes);
        }
        Ok(takes)
    }

    /// Fetches each match's manifest from this resolver (or from an endpoint of its own origin),
    /// at most [`MAX_FETCHED`]; what is skipped or fails goes to `notes`.
    fn fetch_matches(&self, matches: Vec<Match>, notes: &mut Vec<String>) -> Vec<(Match, Vec<u8>)> {
        let mut fetched = Vec::new();
        let mut seen: Vec<String> = Vec::new();
        let mut left_out = 0;
        let mut late = 0;
        let deadline = std::time::Instant::now() + FETCH_DEADLINE;
        for m in matches {
            if seen.contains(&m.manifest_id) {
                continue;
            }
            // A slow resolver listing many manifests must not hold a verification for minutes.
            if std::time::Instant::now() >= deadline {
                late += 1;
                continue;
            }
            if seen.len() >= MAX_FETCHED {
                left_out += 1;
                continue;
            }
            seen.push(m.manifest_id.clone());
            let base = match &m.endpoint {
                None => self.base.clone(),
                Some(e) => match base::same_origin_endpoint(&self.base, e) {
                    Ok(b) => b,
                    Err(why) => {
                        notes.push(format!("match {}: {why}", m.manifest_id));
                        continue;
                    }
                },
            };
            match self.fetch_manifest(&base, &m.manifest_id) {
                Ok(bytes) => fetched.push((m, bytes)),
                Err(e) => notes.push(format!("manifest {}: {e}", m.manifest_id)),
            }
        }
        if left_out > 0 {
            notes.push(format!(
                "{left_out} more match(es) not fetched (at most {MAX_FETCHED} per query)"
            ));
        }
        if late > 0 {
            notes.push(format!(
                "{late} match(es) not fetched: the resolver took longer than {} s in all",
                FETCH_DEADLINE.as_secs()
            ));
        }
        fetched
    }
}

/// What was found, or the notes when nothing was and something was skipped or failed.
fn found_or_notes<T>(found: Vec<T>, matched: usize, notes: Vec<String>) -> Result<Vec<T>, String> {
    if found.is_empty() && !notes.is_empty() {
        Err(format!(
            "{matched} match(es), no manifest fetched: {}",
            notes.join("; ")
        ))
    } else {
        Ok(found)
    }
}

impl ManifestSource for RemoteResolver {
    fn name(&self) -> String {
        self.base.to_string()
    }

    fn by_binding(&self, alg: &str, value: &[u8]) -> Result<Vec<SourcedManifest>, String> {
        let matches = self.matches_by_binding(alg, value)?;
        let matched = matches.len();
        let mut notes = Vec::new();
        let found = self
            .fetch_matches(matches, &mut notes)
            .into_iter()
            .map(|(m, manifest)| SourcedManifest {
                manifest_id: m.manifest_id,
                store_id: None,
                manifest,
            })
            .collect();
        found_or_notes(found, matched, notes)
    }

    fn is_remote(&self) -> bool {
        true
    }

    fn by_content(&self, file: &Path) -> Option<Result<Vec<ContentMatch>, String>> {
        if !self.by_content {
            return None;
        }
        match self.takes_content() {
            Ok(true) => {}
            Ok(false) => return None,
            Err(e) => return Some(Err(e)),
        }
        let mut matches = match self.matches_by_content(file) {
            Ok(m) => m,
            Err(e) => return Some(Err(e)),
        };
        let matched = matches.len();
        let mut notes = Vec::new();
        // Only matches the resolver says it read a payload for can be checked here.
        matches.retain(|m| match &m.candor {
            Some(c) if c.payload.is_some() => true,
            _ => {
                notes.push(format!(
                    "match {}: no candor payload, skipped",
                    m.manifest_id
                ));
                false
            }
        });
        // The strongest first.
        matches.sort_by(|a, b| {
            let score = |m: &Match| m.similarity_score.unwrap_or(f64::NEG_INFINITY);
            score(b).total_cmp(&score(a))
        });
        let found = self
            .fetch_matches(matches, &mut notes)
            .into_iter()
            .filter_map(|(m, manifest)| {
                let candor = m.candor?;
                Some(ContentMatch {
                    manifest: SourcedManifest {
                        manifest_id: m.manifest_id,
                        store_id: None,
                        manifest,
                    },
                    payload: candor.payload?,
                    alignment: candor.alignment,
                    log10_p_value: candor.log10_p_value,
                })
            })
            .collect();
        Some(found_or_notes(found, matched, notes))
    }
}

/// `base` with path segments appended (each percent-encoded as a path segment).
fn endpoint(base: &Url, segments: &[&str]) -> Url {
    let mut path = base.path().trim_end_matches('/').to_string();
    for s in segments {
        path.push('/');
        path.extend(percent_encoding::utf8_percent_encode(s, base::SEGMENT));
    }
    let mut url = base.clone();
    url.set_path(&path);
    url
}

/// The upload's `Content-Type`, by extension.
fn content_type(file: &Path) -> &'static str {
    let ext = file
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("mp4" | "m4v" | "m4s") => "video/mp4",
        Some("mov") => "video/quicktime",
        Some("mkv") => "video/x-matroska",
        Some("webm") => "video/webm",
        Some("avi") => "video/x-msvideo",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_percent_encode_the_manifest_id_as_one_segment() {
        let base = parse_base_url("https://r.example/api/v1/").unwrap();
        let url = endpoint(&base, &["manifests", "urn:c2pa:1/2 3?#%"]);
        assert_eq!(
            url.as_str(),
            "https://r.example/api/v1/manifests/urn%3Ac2pa%3A1%2F2%203%3F%23%25"
        );
    }

    #[test]
    fn content_types_follow_the_extension() {
        assert_eq!(content_type(Path::new("a.MP4")), "video/mp4");
        assert_eq!(content_type(Path::new("a.mov")), "video/quicktime");
        assert_eq!(content_type(Path::new("a")), "application/octet-stream");
    }
}
