//! The HTTP side: one agent (rustls on ring, the webpki roots plus an optional private CA),
//! timeouts, capped answers, no redirects, and errors in words that name the URL and the status
//! but never the token.

use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use url::Url;

use crate::{ResolverError, ResolverOptions, CONNECT_TIMEOUT, MAX_JSON_BYTES, MAX_MANIFEST_BYTES};

/// At most this much of an error answer is read, and this many characters of it quoted.
const ERROR_BODY_BYTES: u64 = 4096;
const ERROR_QUOTE_CHARS: usize = 200;

pub(crate) struct Client {
    agent: ureq::Agent,
    token: Option<String>,
    binding_timeout: Duration,
    content_timeout: Duration,
}

impl Client {
    pub(crate) fn new(options: &ResolverOptions) -> Result<Self, ResolverError> {
        let token = match options.token.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(t) => {
                // RFC 6750's b64token is printable ASCII without spaces; anything else could break
                // or smuggle headers. The token itself is never repeated.
                if !t.bytes().all(|b| b.is_ascii_graphic()) {
                    return Err(ResolverError::Token(
                        "it holds spaces, control or non-ASCII characters".into(),
                    ));
                }
                Some(t.to_string())
            }
        };
        let agent = ureq::AgentBuilder::new()
            .tls_config(tls_config(options.extra_ca_pem.as_deref())?)
            .timeout_connect(CONNECT_TIMEOUT)
            // A resolver cannot send us (or our token) elsewhere.
            .redirects(0)
            .user_agent(concat!("candor/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(Self {
            agent,
            token,
            binding_timeout: options.binding_timeout,
            content_timeout: options.content_timeout,
        })
    }

    fn request(&self, method: &str, url: &Url, timeout: Duration, accept: &str) -> ureq::Request {
        let request = self
            .agent
            .request_url(method, url)
            .timeout(timeout)
            .set("Accept", accept);
        match &self.token {
            Some(t) => request.set("Authorization", &format!("Bearer {t}")),
            None => request,
        }
    }

    /// `GET url` for a JSON answer.
    pub(crate) fn get_json(&self, url: &Url) -> Result<Vec<u8>, String> {
        let call = Call::new("GET", url, self.binding_timeout);
        let sent = self
            .request("GET", url, self.binding_timeout, "application/json")
            .call();
        self.read(&call, sent, MAX_JSON_BYTES, "JSON answer")
    }

    /// `POST url` with a JSON body, for a JSON answer.
    pub(crate) fn post_json(&self, url: &Url, body: &str) -> Result<Vec<u8>, String> {
        let call = Call::new("POST", url, self.binding_timeout);
        let sent = self
            .request("POST", url, self.binding_timeout, "application/json")
            .set("Content-Type", "application/json")
            .send_string(body);
        self.read(&call, sent, MAX_JSON_BYTES, "JSON answer")
    }

    /// `GET url` for a manifest store (`application/c2pa`).
    pub(crate) fn get_manifest(&self, url: &Url) -> Result<Vec<u8>, String> {
        let call = Call::new("GET", url, self.binding_timeout);
        let sent = self
            .request("GET", url, self.binding_timeout, "application/c2pa")
            .call();
        let bytes = self.read(&call, sent, MAX_MANIFEST_BYTES, "manifest")?;
        if bytes.is_empty() {
            return Err(format!("{call}: the manifest is empty"));
        }
        Ok(bytes)
    }

    /// `POST url` with `len` bytes streamed from `body`, for a JSON answer.
    pub(crate) fn post_file(
        &self,
        url: &Url,
        content_type: &str,
        len: u64,
        body: impl Read,
    ) -> Result<Vec<u8>, String> {
        let mut call = Call::new("POST", url, self.content_timeout);
        call.upload = Some(len);
        let sent = self
            .request("POST", url, self.content_timeout, "application/json")
            .set("Content-Type", content_type)
            .set("Content-Length", &len.to_string())
            .send(body);
        self.read(&call, sent, MAX_JSON_BYTES, "JSON answer")
    }

    /// The body of a 200 answer, at most `limit` bytes; anything else in words.
    fn read(
        &self,
        call: &Call,
        sent: Result<ureq::Response, ureq::Error>,
        limit: u64,
        what: &str,
    ) -> Result<Vec<u8>, String> {
        let response = match sent {
            Ok(r) if r.status() == 200 => r,
            Ok(r) => return Err(format!("{call}: {}", self.unexpected(r))),
            Err(ureq::Error::Status(code, r)) => {
                return Err(format!("{call}: {}", self.refused(code, r)))
            }
            Err(ureq::Error::Transport(t)) => {
                return Err(format!("{call}: {}", transport(&t, call)))
            }
        };
        let too_large = || format!("{call}: the {what} is larger than {}", size(limit));
        if response
            .header("Content-Length")
            .and_then(|l| l.trim().parse::<u64>().ok())
            .is_some_and(|l| l > limit)
        {
            return Err(too_large());
        }
        let mut bytes = Vec::new();
        response
            .into_reader()
            .take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("{call}: reading the {what}: {}", io_error(&e, call)))?;
        if bytes.len() as u64 > limit {
            return Err(too_large());
        }
        Ok(bytes)
    }

    /// A status below 400 other than 200 (a redirect is not followed).
    fn unexpected(&self, r: ureq::Response) -> String {
        let code = r.status();
        match r.header("Location") {
            Some(to) if (300..400).contains(&code) => format!(
                "{code} redirect to {}, not followed (give the resolver's API base URL itself)",
                self.quote(to)
            ),
            _ => format!("unexpected status {code}"),
        }
    }

    /// A status of 400 or more, with the resolver's own message when it gives one.
    fn refused(&self, code: u16, r: ureq::Response) -> String {
        // Seconds, or an HTTP date.
        let retry_after = r
            .header("Retry-After")
            .map(|v| match v.trim().parse::<u64>() {
                Ok(seconds) => format!("{seconds} s"),
                Err(_) => self.quote(v),
            });
        let why = match code {
            401 if self.token.is_some() => {
                "401 Unauthorized: the resolver refused the token".to_string()
            }
            401 => "401 Unauthorized: the resolver wants a token (--resolver-token or CANDOR_RESOLVER_TOKEN)"
                .to_string(),
            403 => "403 Forbidden: the token lacks the scope fetch:manifests".to_string(),
            404 => "404 Not Found".to_string(),
            413 => "413 Payload Too Large: the resolver does not take files this large".to_string(),
            429 => match &retry_after {
                Some(after) => format!("429 Too Many Requests: rate limited, retry after {after}"),
                None => "429 Too Many Requests: rate limited".to_string(),
            },
            500..=599 => format!("{code} server error"),
            _ => format!("status {code}"),
        };
        match self.server_message(r) {
            Some(m) => format!("{why} (the resolver says: {m})"),
            None => why,
        }
    }

    /// The resolver's message in an error answer: a JSON `error`/`message`/`detail`/`title`
    /// string, or plain text; quoted short, without control characters or the token.
    fn server_message(&self, r: ureq::Response) -> Option<String> {
        let json = r.content_type().contains("json");
        let plain = r.content_type().starts_with("text/plain");
        let mut bytes = Vec::new();
        r.into_reader()
            .take(ERROR_BODY_BYTES)
            .read_to_end(&mut bytes)
            .ok()?;
        let text = if json {
            let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
            ["error", "message", "detail", "title"]
                .iter()
                .find_map(|k| value.get(k).and_then(|v| v.as_str()).map(str::to_string))?
        } else if plain {
            String::from_utf8_lossy(&bytes).into_owned()
        } else {
            return None;
        };
        let quoted = self.quote(&text);
        (!quoted.is_empty()).then_some(quoted)
    }

    /// Text from the resolver made safe to print: one line, short, never the token.
    fn quote(&self, text: &str) -> String {
        let mut line: String = text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        if let Some(t) = &self.token {
            line = line.replace(t.as_str(), "[token]");
        }
        let line = line.trim();
        match line.char_indices().nth(ERROR_QUOTE_CHARS) {
            Some((cut, _)) => format!("{}…", &line[..cut]),
            None => line.to_string(),
        }
    }
}

/// One request, for messages: "POST https://…/matches/byBinding".
pub(crate) struct Call {
    method: &'static str,
    url: String,
    timeout: Duration,
    upload: Option<u64>,
}

impl Call {
    fn new(method: &'static str, url: &Url, timeout: Duration) -> Self {
        Self {
            method,
            url: url.to_string(),
            timeout,
            upload: None,
        }
    }
}

impl std::fmt::Display for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.url)
    }
}

/// A failure below HTTP, in words (ureq's messages name only our own URL, never headers).
fn transport(t: &ureq::Transport, call: &Call) -> String {
    use std::error::Error as _;
    let io = t.source().and_then(|s| s.downcast_ref::<std::io::Error>());
    if let Some(e) = io {
        if is_timeout(e) {
            return io_error(e, call);
        }
    }
    let detail = t
        .source()
        .map(|s| s.to_string())
        .or_else(|| t.message().map(str::to_string))
        .unwrap_or_default();
    let what = match t.kind() {
        ureq::ErrorKind::Dns => "could not resolve the host",
        ureq::ErrorKind::ConnectionFailed => "could not connect",
        ureq::ErrorKind::Io if call.upload.is_some() => UPLOAD_BROKE,
        ureq::ErrorKind::Io => "the connection broke",
        ureq::ErrorKind::BadStatus | ureq::ErrorKind::BadHeader => "the answer is not valid HTTP",
        _ => "the request failed",
    };
    if detail.is_empty() {
        what.to_string()
    } else {
        format!("{what} ({detail})")
    }
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
    )
}

fn io_error(e: &std::io::Error, call: &Call) -> String {
    if is_timeout(e) {
        format!(
            "timed out (the limit for the whole request is {} s)",
            call.timeout.as_secs_f64()
        )
    } else {
        e.to_string()
    }
}

fn size(bytes: u64) -> String {
    if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{bytes} bytes")
    }
}

/// rustls on ring: the webpki roots, plus the certificates of `extra` (PEM) when given.
fn tls_config(extra: Option<&Path>) -> Result<Arc<rustls::ClientConfig>, ResolverError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = extra {
        let bad = |reason: String| ResolverError::Ca {
            path: path.to_path_buf(),
            reason,
        };
        let pem = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| bad(format!("not PEM certificates ({e})")))?;
            roots
                .add(cert)
                .map_err(|e| bad(format!("a certificate cannot be a trust anchor ({e})")))?;
            added += 1;
        }
        if added == 0 {
            return Err(bad("no CERTIFICATE block in it".into()));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ResolverError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// How a broken upload is worded (the resolver closed the connection while the file was sent).
pub(crate) const UPLOAD_BROKE: &str =
    "the connection broke during the upload (the resolver may not take files this large)";
