//! `candor serve`: Candor's verification and the C2PA Soft Binding Resolution API over HTTP, for
//! platforms and other organisations.
//!
//! - `POST /v1/verify` — upload a video (streamed to disk, size- and time-limited); the answer is
//!   the JSON `candor verify --json` prints (scope `verify`).
//! - The resolution API (scope `fetch:manifests`, C2PA's OAuth2 scope name):
//!   `GET|POST /v1/matches/byBinding`, `POST /v1/matches/byContent` (this server runs its own
//!   watermark detection, with its keys, on the upload), `GET /v1/manifests/{manifestId}`,
//!   `GET /v1/services/supportedAlgorithms` (public).
//! - `GET /healthz`, `GET /metrics` (Prometheus), `GET /openapi.json` (generated from the
//!   handlers below, so it cannot drift from them).
//!
//! Tokens are bearer tokens with scopes, stored hashed in the manifest store (`candor serve
//! token create`); each has a rate limit per minute, kept per worker. Logs are structured, carry
//! a request id (`x-request-id`, also returned), and never contain a token, a key or upload
//! bytes. TLS is terminated by a reverse proxy (docs/SERVICE.md has the nginx configuration).
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod auth;
mod metrics;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, MatchedPath, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use candor_store::ManifestStore;
use candor_verify::Verifier;
use candor_watermark::SOFT_BINDING_ALG;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;
use tokio::sync::Semaphore;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::{IntoParams, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use auth::{create_token, Scope};

/// How the service runs.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Largest upload accepted (413 beyond).
    pub max_upload_bytes: u64,
    /// Longest an upload may take to arrive (408 beyond).
    pub upload_timeout: Duration,
    /// Verifications run at once; more wait their turn.
    pub verify_jobs: usize,
    /// Where uploads are spooled while they are checked (deleted after).
    pub spool_dir: PathBuf,
    /// Most matches returned by a resolution query.
    pub max_results: usize,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            max_upload_bytes: 512 << 20,
            upload_timeout: Duration::from_secs(300),
            verify_jobs: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            spool_dir: std::env::temp_dir(),
            max_results: 16,
        }
    }
}

/// Service errors at start-up.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("spool directory {path}: {source}")]
    Spool {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Runtime(std::io::Error),
}

struct AppState {
    verifier: Arc<Verifier>,
    store: Arc<ManifestStore>,
    limiter: auth::RateLimiter,
    metrics: metrics::Metrics,
    jobs: Semaphore,
    config: ServiceConfig,
}

type Shared = Arc<AppState>;

/// An error answer: `{"error": "..."}` with a 4xx/5xx status.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    message: String,
    headers: Vec<(header::HeaderName, String)>,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            headers: Vec::new(),
        }
    }
    fn internal(what: impl std::fmt::Display) -> Self {
        tracing::error!(error = %what, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error (logged)")
    }
}

/// The body of every error answer.
#[derive(Serialize, ToSchema)]
struct ErrorBody {
    error: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(ErrorBody {
                error: self.message,
            }),
        )
            .into_response();
        for (name, value) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(name, v);
            }
        }
        response
    }
}

/// A query string, rejected as a JSON 400 like every other error.
struct Q<T>(T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequestParts<S> for Q<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| Q(v))
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()))
    }
}

/// A path parameter, rejected as a JSON 400.
struct P<T>(T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned + Send> axum::extract::FromRequestParts<S>
    for P<T>
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| P(v))
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()))
    }
}

/// The caller of a request, when its token is known, unrevoked, allows `scope`, and is within its
/// rate limit.
async fn authorize(
    state: &Shared,
    headers: &HeaderMap,
    scope: Scope,
) -> Result<auth::Caller, ApiError> {
    let challenge = |error: &str| {
        format!(
            "Bearer realm=\"candor\", scope=\"{}\", error=\"{error}\"",
            scope.as_str()
        )
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let Some(token) = auth::bearer(given) else {
        state.metrics.auth_failures.fetch_add(1, Ordering::Relaxed);
        let mut e = ApiError::new(
            StatusCode::UNAUTHORIZED,
            "a bearer token is required (Authorization: Bearer …)",
        );
        e.headers
            .push((header::WWW_AUTHENTICATE, challenge("invalid_request")));
        return Err(e);
    };
    let hash = auth::token_hash(token);
    let store = state.store.clone();
    let found = tokio::task::spawn_blocking(move || store.token_by_hash(&hash))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let Some(record) = found else {
        state.metrics.auth_failures.fetch_add(1, Ordering::Relaxed);
        let mut e = ApiError::new(StatusCode::UNAUTHORIZED, "unknown or revoked token");
        e.headers
            .push((header::WWW_AUTHENTICATE, challenge("invalid_token")));
        return Err(e);
    };
    let caller = auth::Caller::from_record(record);
    if !caller.allows(scope) {
        state.metrics.auth_failures.fetch_add(1, Ordering::Relaxed);
        let mut e = ApiError::new(
            StatusCode::FORBIDDEN,
            format!("this token lacks the scope {}", scope.as_str()),
        );
        e.headers
            .push((header::WWW_AUTHENTICATE, challenge("insufficient_scope")));
        return Err(e);
    }
    if let Err(wait) = state.limiter.take(caller.token_id, caller.rate_per_minute) {
        state.metrics.rate_limited.fetch_add(1, Ordering::Relaxed);
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "rate limit of this token ({} requests a minute) reached; retry in {wait} s",
                caller.rate_per_minute
            ),
        );
        e.headers.push((header::RETRY_AFTER, wait.to_string()));
        return Err(e);
    }
    tracing::Span::current().record("token", caller.token_id);
    Ok(caller)
}

/// The name a report gives an upload: the last path component of the client's file name, without
/// control characters, at most 200 characters; "upload" when there is none.
fn display_name(filename: Option<&str>) -> String {
    let base = filename
        .map(|f| f.rsplit(['/', '\\']).next().unwrap_or(""))
        .unwrap_or("");
    let clean: String = base.chars().filter(|c| !c.is_control()).take(200).collect();
    if clean.trim().is_empty() || clean == "." || clean == ".." {
        "upload".into()
    } else {
        clean
    }
}

/// File name suffix for an upload, from the client's file name or content type (c2pa reads the
/// container by extension).
fn upload_suffix(headers: &HeaderMap, filename: Option<&str>) -> &'static str {
    const KNOWN: [(&str, &str); 7] = [
        ("mp4", ".mp4"),
        ("m4v", ".m4v"),
        ("mov", ".mov"),
        ("quicktime", ".mov"),
        ("webm", ".webm"),
        ("mkv", ".mkv"),
        ("x-matroska", ".mkv"),
    ];
    let by_name = filename
        .and_then(|f| Path::new(f).extension())
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let by_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.split(';').next())
        .and_then(|t| t.trim().strip_prefix("video/"))
        .map(str::to_ascii_lowercase);
    for key in [by_name, by_type].into_iter().flatten() {
        if let Some((_, s)) = KNOWN.iter().find(|(k, _)| *k == key) {
            return s;
        }
    }
    ".mp4"
}

/// How much of an over-limit upload is read (and discarded) before the 413 is sent.
const DRAIN_MAX: u64 = 8 << 20;

/// How long a refused upload is read for before its refusal is sent.
const DRAIN_TIME: Duration = Duration::from_secs(5);

/// `e`, once up to [`DRAIN_MAX`] of the refused upload was read and discarded (for at most
/// [`DRAIN_TIME`]): a client still sending its file when the refusal comes (a wrong token) would
/// otherwise see its connection reset and never read why.
async fn refuse_upload(body: Body, e: ApiError) -> ApiError {
    let mut stream = body.into_data_stream();
    let _ = tokio::time::timeout(DRAIN_TIME, discard(&mut stream, 0, DRAIN_MAX)).await;
    e
}

/// Reads and drops the rest of an upload, `read` bytes of which were read already, until more
/// than `limit` were read in all or it ends.
async fn discard(stream: &mut axum::body::BodyDataStream, mut read: u64, limit: u64) {
    while read <= limit {
        match stream.next().await {
            Some(Ok(chunk)) => read += chunk.len() as u64,
            _ => break,
        }
    }
}

/// Streams a request body to a spool file, within the size and time limits.
async fn spool(
    state: &Shared,
    headers: &HeaderMap,
    body: Body,
    suffix: &str,
) -> Result<tempfile::NamedTempFile, ApiError> {
    let max = state.config.max_upload_bytes;
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("upload larger than this service accepts ({max} bytes)"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    // Far too large: refused at once. Slightly too large: read to the end (below), so that the
    // client, still sending, gets the 413 rather than a reset connection.
    if declared.is_some_and(|n| n > max.saturating_add(DRAIN_MAX)) {
        return Err(too_large());
    }
    let file = tempfile::Builder::new()
        .prefix("candor-upload-")
        .suffix(suffix)
        .tempfile_in(&state.config.spool_dir)
        .map_err(ApiError::internal)?;
    let std_file = file.reopen().map_err(ApiError::internal)?;
    let mut out = tokio::fs::File::from_std(std_file);
    let mut stream = body.into_data_stream();
    let metrics = &state.metrics;
    let copy = async {
        let mut total = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| {
                ApiError::new(StatusCode::BAD_REQUEST, format!("upload interrupted: {e}"))
            })?;
            total += chunk.len() as u64;
            if total > max {
                discard(&mut stream, total, max.saturating_add(DRAIN_MAX)).await;
                return Err(too_large());
            }
            out.write_all(&chunk).await.map_err(ApiError::internal)?;
        }
        out.flush().await.map_err(ApiError::internal)?;
        metrics.upload_bytes.fetch_add(total, Ordering::Relaxed);
        if total == 0 {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "empty upload: send the video as the request body",
            ));
        }
        Ok(())
    };
    match tokio::time::timeout(state.config.upload_timeout, copy).await {
        Ok(Ok(())) => Ok(file),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "upload took longer than {} s",
                state.config.upload_timeout.as_secs()
            ),
        )),
    }
}

/// Runs `f` on a blocking thread once one of the verification slots is free.
async fn with_slot<T: Send + 'static>(
    state: &Shared,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    state.metrics.in_flight.fetch_add(1, Ordering::Relaxed);
    let result = async {
        let _permit = state.jobs.acquire().await.map_err(ApiError::internal)?;
        tokio::task::spawn_blocking(f)
            .await
            .map_err(ApiError::internal)
    }
    .await;
    state.metrics.in_flight.fetch_sub(1, Ordering::Relaxed);
    result
}

/// Which sources a check of an upload may ask.
#[derive(Debug, Clone, Copy)]
enum Reach {
    /// The local store, then the configured resolvers (`/v1/verify`).
    WithResolvers,
    /// This installation's own keys and store (answers to other resolvers' queries).
    LocalOnly,
}

/// Spools an upload and verifies it in one of the verification slots: the report, and the spool
/// file (deleted when dropped).
async fn check_upload(
    state: &Shared,
    headers: &HeaderMap,
    body: Body,
    suffix: &str,
    reach: Reach,
) -> Result<(candor_verify::FileReport, tempfile::NamedTempFile), ApiError> {
    let file = spool(state, headers, body, suffix).await?;
    let verifier = state.verifier.clone();
    let path = file.path().to_path_buf();
    let report = with_slot(state, move || match reach {
        Reach::WithResolvers => verifier.verify(&path),
        Reach::LocalOnly => verifier.verify_local_only(&path),
    })
    .await?;
    Ok((report, file))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct VerifyQuery {
    /// The upload's file name, for the report (and its container type, by extension).
    filename: Option<String>,
}

/// Verify a video: credentials, watermark, recovery, verdict.
///
/// The body is the video itself (any container FFmpeg reads). The answer is the JSON object
/// `candor verify --json` prints for one file (docs/VERIFY-JSON.md): `status`, `verdict`,
/// `manifest`, `watermark`.
#[utoipa::path(
    post,
    path = "/v1/verify",
    tag = "verify",
    params(VerifyQuery),
    request_body(description = "The video file (any container FFmpeg reads).", content(([u8] = "application/octet-stream"), ([u8] = "video/mp4"))),
    responses(
        (status = 200, description = "The file's report (as `candor verify --json`).", body = Object),
        (status = 422, description = "Not a readable video: the report, with `status` error and the reason.", body = Object),
        (status = 400, description = "Empty or interrupted upload.", body = ErrorBody),
        (status = 401, description = "No, unknown or revoked token.", body = ErrorBody),
        (status = 403, description = "The token lacks the scope `verify`.", body = ErrorBody),
        (status = 408, description = "The upload took too long.", body = ErrorBody),
        (status = 413, description = "The upload is larger than the service accepts.", body = ErrorBody),
        (status = 429, description = "The token's rate limit is reached (see Retry-After).", body = ErrorBody),
    ),
    security(("bearer" = ["verify"]))
)]
async fn verify(
    State(state): State<Shared>,
    query: Result<Q<VerifyQuery>, ApiError>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let Q(query) = match authorize(&state, &headers, Scope::Verify).await.and(query) {
        Ok(q) => q,
        Err(e) => return Err(refuse_upload(body, e).await),
    };
    let name = display_name(query.filename.as_deref());
    let suffix = upload_suffix(&headers, query.filename.as_deref());
    let (report, file) = check_upload(&state, &headers, body, suffix, Reach::WithResolvers).await?;
    state.metrics.verdict(report.status.name());
    let text = serde_json::to_string(&report).map_err(ApiError::internal)?;
    // The spool path is this server's business: the report names the upload as the client did.
    // The path is plain ASCII (no JSON escapes), so it appears verbatim inside the JSON strings;
    // it is replaced by the name's JSON-escaped text.
    let named = serde_json::to_string(&name).map_err(ApiError::internal)?;
    let named = named.trim_matches('"');
    let text = text.replace(&file.path().display().to_string(), named);
    drop(file);
    // A file that could not be read as a video is the client's input error.
    let status = if report.status == candor_verify::Status::Error {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((status, [(header::CONTENT_TYPE, "application/json")], text).into_response())
}

/// A soft-binding query (C2PA `c2pa.softBindingQuery`).
#[derive(Deserialize, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
struct BindingQuery {
    /// Soft-binding algorithm (`org.candor.latent-watermark.v1`).
    #[schema(min_length = 1, max_length = 200)]
    #[param(min_length = 1, max_length = 200)]
    alg: String,
    /// The binding value, base64 (at most 1 KiB decoded).
    #[schema(min_length = 1, max_length = 1368, format = Byte)]
    #[param(min_length = 1, max_length = 1368, format = Byte)]
    value: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
struct MaxResults {
    /// Most matches to return.
    #[param(minimum = 0, maximum = 1000)]
    max_results: Option<usize>,
}

/// Our extension of a match found by content: what this server read, so the client can check the
/// manifest against the content itself.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct CandorMatch {
    /// The watermark payload this server read, hex.
    payload: String,
    /// (observed frame, original frame) pairs the mark was aligned on.
    alignment: Vec<(usize, usize)>,
    /// log10 of the detection's p-value.
    log10_p_value: f64,
}

/// One match (C2PA `c2pa.softBindingQueryResult.matches[]`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Match {
    /// The manifest's id (its URN); fetch it from `/v1/manifests/{manifestId}`.
    manifest_id: String,
    /// Strength of the match, 0–100.
    similarity_score: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    candor: Option<CandorMatch>,
}

/// C2PA `c2pa.softBindingQueryResult`.
#[derive(Serialize, ToSchema)]
struct Matches {
    matches: Vec<Match>,
}

/// Most results for a query: `maxResults` (0–1000 as documented), at most the service's own cap.
fn result_limit(state: &Shared, asked: Option<usize>) -> Result<usize, ApiError> {
    match asked {
        Some(n) if n > 1000 => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "maxResults is at most 1000",
        )),
        Some(n) => Ok(n.min(state.config.max_results)),
        None => Ok(state.config.max_results),
    }
}

async fn lookup(
    state: &Shared,
    alg: String,
    value: &str,
    max: Option<usize>,
) -> Result<Json<Matches>, ApiError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(value.trim()))
        .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "value is not base64"))?;
    if alg.is_empty() || alg.len() > 200 || bytes.is_empty() || bytes.len() > 1024 {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "alg or value out of range",
        ));
    }
    let limit = result_limit(state, max)?;
    let store = state.store.clone();
    let found = tokio::task::spawn_blocking(move || store.by_binding(&alg, &bytes))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    Ok(Json(Matches {
        matches: found
            .into_iter()
            .take(limit)
            .map(|m| Match {
                manifest_id: m.manifest_label,
                similarity_score: 100,
                candor: None,
            })
            .collect(),
    }))
}

/// Manifest ids for a soft binding (query parameters).
#[utoipa::path(
    get,
    path = "/v1/matches/byBinding",
    tag = "resolution",
    params(BindingQuery, MaxResults),
    responses(
        (status = 200, description = "Matching manifests.", body = Matches),
        (status = 400, description = "Invalid query value.", body = ErrorBody),
        (status = 401, description = "No, unknown or revoked token.", body = ErrorBody),
        (status = 403, description = "The token lacks the scope `fetch:manifests`.", body = ErrorBody),
        (status = 429, description = "Rate limit reached.", body = ErrorBody),
    ),
    security(("bearer" = ["fetch:manifests"]))
)]
async fn by_binding_get(
    State(state): State<Shared>,
    headers: HeaderMap,
    q: Result<Q<BindingQuery>, ApiError>,
    max: Result<Q<MaxResults>, ApiError>,
) -> Result<Json<Matches>, ApiError> {
    authorize(&state, &headers, Scope::FetchManifests).await?;
    let (Q(q), Q(max)) = (q?, max?);
    lookup(&state, q.alg, &q.value, max.max_results).await
}

/// Manifest ids for a soft binding (JSON body).
#[utoipa::path(
    post,
    path = "/v1/matches/byBinding",
    tag = "resolution",
    params(MaxResults),
    request_body = BindingQuery,
    responses(
        (status = 200, description = "Matching manifests.", body = Matches),
        (status = 400, description = "Invalid query value.", body = ErrorBody),
        (status = 401, description = "No, unknown or revoked token.", body = ErrorBody),
        (status = 403, description = "The token lacks the scope `fetch:manifests`.", body = ErrorBody),
        (status = 429, description = "Rate limit reached.", body = ErrorBody),
    ),
    security(("bearer" = ["fetch:manifests"]))
)]
async fn by_binding_post(
    State(state): State<Shared>,
    headers: HeaderMap,
    max: Result<Q<MaxResults>, ApiError>,
    body: Result<Json<BindingQuery>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Matches>, ApiError> {
    authorize(&state, &headers, Scope::FetchManifests).await?;
    let Q(max) = max?;
    let Json(q) = body.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()))?;
    lookup(&state, q.alg, &q.value, max.max_results).await
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
struct ContentQuery {
    /// Soft-binding algorithm to match with (only `org.candor.latent-watermark.v1`; empty or
    /// absent means that one).
    #[param(pattern = r"^(org\.candor\.latent-watermark\.v1)?$")]
    alg: Option<String>,
    /// Most matches to return.
    #[param(minimum = 0, maximum = 1000)]
    max_results: Option<usize>,
}

/// Manifest ids for an asset: this server runs its watermark detection (its keys) on the upload.
#[utoipa::path(
    post,
    path = "/v1/matches/byContent",
    tag = "resolution",
    params(ContentQuery),
    request_body(description = "The asset.", content(([u8] = "application/octet-stream"), ([u8] = "video/mp4"))),
    responses(
        (status = 200, description = "Matching manifests, each with what this server read (`candor`).", body = Matches),
        (status = 400, description = "Unsupported algorithm, or an empty upload.", body = ErrorBody),
        (status = 401, description = "No, unknown or revoked token.", body = ErrorBody),
        (status = 403, description = "The token lacks the scope `fetch:manifests`.", body = ErrorBody),
        (status = 408, description = "The upload took too long.", body = ErrorBody),
        (status = 413, description = "The upload is larger than the service accepts.", body = ErrorBody),
        (status = 429, description = "Rate limit reached.", body = ErrorBody),
    ),
    security(("bearer" = ["fetch:manifests"]))
)]
async fn by_content(
    State(state): State<Shared>,
    q: Result<Q<ContentQuery>, ApiError>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Matches>, ApiError> {
    let Q(q) = match authorize(&state, &headers, Scope::FetchManifests)
        .await
        .and(q)
    {
        Ok(q) => q,
        Err(e) => return Err(refuse_upload(body, e).await),
    };
    let limit = result_limit(&state, q.max_results)?;
    // No alg (or an empty one) means this service's own.
    if let Some(alg) = q
        .alg
        .as_deref()
        .filter(|a| !a.is_empty() && *a != SOFT_BINDING_ALG)
    {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("unsupported algorithm {alg} (this service matches {SOFT_BINDING_ALG})"),
        ));
    }
    // Only this installation's own keys and store: a by-content query is never forwarded.
    let suffix = upload_suffix(&headers, None);
    let (report, file) = check_upload(&state, &headers, body, suffix, Reach::LocalOnly).await?;
    drop(file);
    let Some(wm) = report.watermark.as_ref().map(|w| &w.report) else {
        return Ok(Json(Matches { matches: vec![] }));
    };
    // A mark judged copied (its payload names a clip signed for other content) is a match too:
    // the asker checks the content itself and sees the manifest is not this video's.
    let copied = wm
        .forgery
        .as_ref()
        .is_some_and(|f| f.kind == candor_verify::ForgeryKind::Copied);
    let Some(payload) = wm.detection.payload().filter(|_| wm.present || copied) else {
        return Ok(Json(Matches { matches: vec![] }));
    };
    let bytes = payload.to_bytes().to_vec();
    let store = state.store.clone();
    let lookup_bytes = bytes.clone();
    let found =
        tokio::task::spawn_blocking(move || store.by_binding(SOFT_BINDING_ALG, &lookup_bytes))
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::internal)?;
    let log10_p = wm.detection.log10_p_value();
    let alignment = wm.alignment_pairs();
    Ok(Json(Matches {
        matches: found
            .into_iter()
            .take(limit)
            .map(|m| Match {
                manifest_id: m.manifest_label,
                similarity_score: 100,
                candor: Some(CandorMatch {
                    payload: hex::encode(&bytes),
                    alignment: alignment.clone(),
                    log10_p_value: log10_p,
                }),
            })
            .collect(),
    }))
}

/// A manifest store (C2PA JUMBF) by manifest id.
#[utoipa::path(
    get,
    path = "/v1/manifests/{manifestId}",
    tag = "resolution",
    params(("manifestId" = String, Path, description = "The manifest's id (URN), as a match gave it.")),
    responses(
        (status = 200, description = "The manifest store.", content_type = "application/c2pa", body = Vec<u8>),
        (status = 400, description = "The id is not valid UTF-8 once percent-decoded.", body = ErrorBody),
        (status = 401, description = "No, unknown or revoked token.", body = ErrorBody),
        (status = 403, description = "The token lacks the scope `fetch:manifests`.", body = ErrorBody),
        (status = 404, description = "No manifest with this id.", body = ErrorBody),
        (status = 429, description = "Rate limit reached.", body = ErrorBody),
    ),
    security(("bearer" = ["fetch:manifests"]))
)]
async fn manifest(
    State(state): State<Shared>,
    headers: HeaderMap,
    id: Result<P<String>, ApiError>,
) -> Result<Response, ApiError> {
    authorize(&state, &headers, Scope::FetchManifests).await?;
    let P(id) = id?;
    let store = state.store.clone();
    let lookup_id = id.clone();
    let found = tokio::task::spawn_blocking(move || store.by_label(&lookup_id))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    match found {
        Some(m) => Ok(([(header::CONTENT_TYPE, "application/c2pa")], m.manifest).into_response()),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no manifest {id}"),
        )),
    }
}

#[derive(Serialize, ToSchema)]
struct Alg {
    alg: String,
}

/// C2PA `c2pa.softBindingAlgList`.
#[derive(Serialize, ToSchema)]
struct AlgList {
    watermarks: Vec<Alg>,
    fingerprints: Vec<Alg>,
}

/// The soft-binding algorithms this service resolves.
#[utoipa::path(
    get,
    path = "/v1/services/supportedAlgorithms",
    tag = "resolution",
    responses((status = 200, description = "Supported algorithms.", body = AlgList))
)]
async fn supported_algorithms() -> Json<AlgList> {
    Json(AlgList {
        watermarks: vec![Alg {
            alg: SOFT_BINDING_ALG.to_string(),
        }],
        fingerprints: vec![],
    })
}

#[derive(Serialize, ToSchema)]
struct Health {
    status: String,
    store: String,
}

/// Liveness and the store's reachability.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    responses(
        (status = 200, description = "Serving, store reachable.", body = Health),
        (status = 503, description = "The store cannot be reached.", body = Health),
    )
)]
async fn healthz(State(state): State<Shared>) -> Response {
    let store = state.store.clone();
    let ok = tokio::task::spawn_blocking(move || store.list(1).is_ok())
        .await
        .unwrap_or(false);
    let body = Health {
        status: if ok { "ok" } else { "degraded" }.into(),
        store: if ok { "reachable" } else { "unreachable" }.into(),
    };
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

/// Prometheus metrics of this worker.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses((status = 200, description = "Prometheus text exposition format.", content_type = "text/plain", body = String))
)]
async fn metrics_text(State(state): State<Shared>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Candor service",
        description = "Video verification and the C2PA Soft Binding Resolution API (C2PA 2.2). Tokens: `candor serve token create --scope verify,fetch:manifests`.",
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "verify", description = "Verification of uploads"),
        (name = "resolution", description = "C2PA Soft Binding Resolution API"),
        (name = "operations", description = "Health and metrics"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A token from `candor serve token create`; scopes verify, fetch:manifests, admin.",
                    ))
                    .build(),
            ),
        );
    }
}

/// Records every request's route, status and duration.
async fn observe(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    // Only the methods this service answers get their own series: anything else is "other", so
    // a client cannot grow /metrics one made-up method at a time.
    let method = match request.method().as_str() {
        m @ ("GET" | "POST" | "HEAD" | "OPTIONS" | "PUT" | "DELETE" | "PATCH") => m.to_string(),
        _ => "other".to_string(),
    };
    let start = Instant::now();
    let response = next.run(request).await;
    state.metrics.observe(
        &route,
        &method,
        response.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    response
}

/// A client's `x-request-id` is kept only when it is a plain token (letters, digits, `-_.:`, at
/// most 128 characters); otherwise it is dropped and a fresh one is made, so the text log cannot
/// be forged through it.
async fn sanitize_request_id(mut request: Request, next: Next) -> Response {
    let plain = |v: &HeaderValue| {
        let b = v.as_bytes();
        !b.is_empty()
            && b.len() <= 128
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || b"-_.:".contains(c))
    };
    if request
        .headers()
        .get("x-request-id")
        .is_some_and(|v| !plain(v))
    {
        request.headers_mut().remove("x-request-id");
    }
    next.run(request).await
}

/// Every route, and the OpenAPI document made from the same handlers' annotations.
fn routes_and_document() -> (axum::Router<Shared>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(verify))
        .routes(routes!(by_binding_get, by_binding_post))
        .routes(routes!(by_content))
        .routes(routes!(manifest))
        .routes(routes!(supported_algorithms))
        .routes(routes!(healthz))
        .routes(routes!(metrics_text))
        .split_for_parts()
}

/// The application: routes, OpenAPI document, limits, request ids, logs, metrics.
pub fn app(
    verifier: Arc<Verifier>,
    store: Arc<ManifestStore>,
    config: ServiceConfig,
) -> axum::Router {
    let state: Shared = Arc::new(AppState {
        verifier,
        store,
        limiter: auth::RateLimiter::default(),
        metrics: metrics::Metrics::default(),
        jobs: Semaphore::new(config.verify_jobs.max(1)),
        config,
    });
    let (router, api) = routes_and_document();
    let document = Arc::new(api);
    router
        .route(
            "/openapi.json",
            axum::routing::get(move || {
                let document = document.clone();
                async move { Json(document.as_ref().clone()) }
            }),
        )
        .fallback(|| async {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "no such endpoint (see /openapi.json)",
            )
        })
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(DefaultBodyLimit::max(64 << 10))
        .layer(
            TraceLayer::new_for_http()
                .on_response(
                    tower_http::trace::DefaultOnResponse::new()
                        .level(tracing::Level::INFO)
                        .latency_unit(tower_http::LatencyUnit::Millis),
                )
                .make_span_with(|request: &Request| {
                    let id = request
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    // The path only: never headers (tokens) nor bodies.
                    tracing::info_span!(
                        "request",
                        request_id = %id,
                        method = %request.method(),
                        path = %request.uri().path(),
                        token = tracing::field::Empty,
                    )
                }),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(middleware::from_fn(sanitize_request_id))
        .with_state(state)
}

/// The OpenAPI document the service serves.
pub fn openapi_json() -> String {
    let (_, api) = routes_and_document();
    api.to_pretty_json().unwrap_or_default()
}

/// Logs to stderr, JSON lines with `json`, filtered by `$CANDOR_LOG` (default `info`).
pub fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CANDOR_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// Serves on `addr` until SIGINT or SIGTERM; `on_listening` gets the bound address (port 0 picks
/// a free one) before the first request is taken.
pub fn run(
    addr: SocketAddr,
    verifier: Arc<Verifier>,
    store: Arc<ManifestStore>,
    config: ServiceConfig,
    on_listening: impl FnOnce(SocketAddr),
) -> Result<(), ServiceError> {
    std::fs::create_dir_all(&config.spool_dir).map_err(|source| ServiceError::Spool {
        path: config.spool_dir.clone(),
        source,
    })?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(ServiceError::Runtime)?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| ServiceError::Bind { addr, source })?;
        let bound = listener.local_addr().map_err(ServiceError::Runtime)?;
        on_listening(bound);
        tracing::info!(%bound, "listening");
        axum::serve(listener, app(verifier, store, config))
            .with_graceful_shutdown(shutdown())
            .await
            .map_err(ServiceError::Runtime)
    })
}

async fn shutdown() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
    tracing::info!("shutting down: finishing requests in flight");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_openapi_document_lists_every_route_and_the_bearer_scheme() {
        let doc: serde_json::Value = serde_json::from_str(&openapi_json()).unwrap_or_default();
        let paths = doc["paths"].as_object().cloned().unwrap_or_default();
        for p in [
            "/v1/verify",
            "/v1/matches/byBinding",
            "/v1/matches/byContent",
            "/v1/manifests/{manifestId}",
            "/v1/services/supportedAlgorithms",
            "/healthz",
            "/metrics",
        ] {
            assert!(
                paths.contains_key(p),
                "{p} missing from the OpenAPI document"
            );
        }
        assert!(doc["paths"]["/v1/matches/byBinding"]["get"].is_object());
        assert!(doc["paths"]["/v1/matches/byBinding"]["post"].is_object());
        assert_eq!(
            doc["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );
    }

    #[test]
    fn display_names_are_clean_base_names() {
        assert_eq!(display_name(Some("../../etc/passwd")), "passwd");
        assert_eq!(display_name(Some("a\u{14}b\u{0}.mp4")), "ab.mp4");
        assert_eq!(display_name(Some("C:\\x\\clip.mov")), "clip.mov");
        assert_eq!(display_name(Some("..")), "upload");
        assert_eq!(display_name(None), "upload");
        assert_eq!(display_name(Some(&"x".repeat(500))).len(), 200);
    }

    #[test]
    fn upload_suffixes_follow_name_then_type() {
        let mut h = HeaderMap::new();
        assert_eq!(upload_suffix(&h, None), ".mp4");
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("video/webm"));
        assert_eq!(upload_suffix(&h, None), ".webm");
        assert_eq!(upload_suffix(&h, Some("x.MOV")), ".mov");
        assert_eq!(upload_suffix(&h, Some("../../etc/passwd")), ".webm");
    }
}
