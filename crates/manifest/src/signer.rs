//! A [`c2pa::Signer`] whose signatures come from `ed25519-dalek`.
//!
//! c2pa-rs asks a signer for three things: raw signature bytes over the COSE `Sig_structure`, the
//! algorithm, and the DER certificate chain (leaf first). Ed25519 signatures are deterministic and 64
//! bytes, so the reserve size is the chain plus a fixed margin for the COSE envelope. With a
//! time-stamp authority, the signer also fetches an RFC 3161 token over the signature
//! ([`crate::tsa`]); the reserve then leaves room for the token and the TSA's certificates.

use std::sync::Mutex;

use ed25519_dalek::{Signer as _, SigningKey};

/// Room for an RFC 3161 time-stamp reply: the token, its signature and the TSA's chain.
const TIME_STAMP_RESERVE: usize = 16 * 1024;

/// Signs C2PA claims with an Ed25519 key and presents its X.509 chain.
pub struct Ed25519Signer {
    key: SigningKey,
    /// DER certificates, leaf first.
    chain: Vec<Vec<u8>>,
    /// RFC 3161 time-stamp authority URL.
    tsa: Option<String>,
    /// Why the last time-stamp request failed, in words (c2pa-rs keeps only a coarse error).
    tsa_failure: Mutex<Option<String>>,
}

impl Ed25519Signer {
    /// A signer from a key and its certificate chain (leaf first, DER).
    pub fn new(key: SigningKey, chain: Vec<Vec<u8>>) -> Self {
        Self {
            key,
            chain,
            tsa: None,
            tsa_failure: Mutex::new(None),
        }
    }

    /// Counter-signs every claim signature with a time-stamp from `url` (RFC 3161 over HTTP).
    pub fn with_time_stamp_authority(mut self, url: Option<String>) -> Self {
        self.tsa = url;
        self
    }

    /// The time-stamp authority, when one is set.
    pub fn time_stamp_authority(&self) -> Option<&str> {
        self.tsa.as_deref()
    }

    /// Why the last time-stamp request failed, if it did.
    pub fn time_stamp_failure(&self) -> Option<String> {
        self.tsa_failure.lock().ok().and_then(|f| f.clone())
    }

    fn request_time_stamp(&self, url: &str, message: &[u8]) -> c2pa::Result<Vec<u8>> {
        use c2pa::Signer as _;
        let body = self.timestamp_request_body(message)?;
        let context = c2pa::Context::new().with_resolver(crate::tsa::PlainHttp);
        c2pa::crypto::time_stamp::default_rfc3161_request(url, None, &body, message, &context)
            .map_err(|e| {
                if let Ok(mut failure) = self.tsa_failure.lock() {
                    *failure = Some(describe_time_stamp_error(&e));
                }
                e.into()
            })
    }
}

fn describe_time_stamp_error(e: &c2pa::crypto::time_stamp::TimeStampError) -> String {
    use c2pa::crypto::time_stamp::TimeStampError as E;
    match e {
        E::HttpErrorResponse(status, content_type) => format!(
            "it answered HTTP {status} with {} instead of a time-stamp reply",
            content_type.as_deref().unwrap_or("no content type")
        ),
        E::NonceMismatch => "its reply does not answer this request (nonce mismatch)".into(),
        E::HttpResolverError(inner) => format!("could not reach it ({inner})"),
        other => format!("its reply is not a usable time-stamp ({other})"),
    }
}

impl std::fmt::Debug for Ed25519Signer {
    // Never print the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ed25519Signer")
            .field("certificates", &self.chain.len())
            .field("tsa", &self.tsa)
            .finish_non_exhaustive()
    }
}

impl c2pa::Signer for Ed25519Signer {
    fn sign(&self, data: &[u8]) -> c2pa::Result<Vec<u8>> {
        Ok(self.key.sign(data).to_bytes().to_vec())
    }

    fn alg(&self) -> c2pa::SigningAlg {
        c2pa::SigningAlg::Ed25519
    }

    fn certs(&self) -> c2pa::Result<Vec<Vec<u8>>> {
        Ok(self.chain.clone())
    }

    fn reserve_size(&self) -> usize {
        // COSE headers, the 64-byte signature and padding fit well within 4 KiB beyond the chain.
        let stamp = if self.tsa.is_some() {
            TIME_STAMP_RESERVE
        } else {
            0
        };
        4096 + stamp + self.chain.iter().map(Vec::len).sum::<usize>()
    }

    fn time_authority_url(&self) -> Option<String> {
        self.tsa.clone()
    }

    fn send_timestamp_request(&self, message: &[u8]) -> Option<c2pa::Result<Vec<u8>>> {
        let url = self.tsa.as_deref()?;
        Some(self.request_time_stamp(url, message))
    }
}
