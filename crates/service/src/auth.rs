//! Bearer tokens: made once, shown once, stored as their SHA-256 only; scopes; per-token rate
//! limits (a token bucket per token, in this worker's memory).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use base64::Engine;
use candor_store::{ManifestStore, NewToken, TokenRecord};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `POST /v1/verify`.
    Verify,
    /// The Soft Binding Resolution API (C2PA's OAuth2 scope name).
    FetchManifests,
    /// Everything.
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::Verify, Scope::FetchManifests, Scope::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Verify => "verify",
            Scope::FetchManifests => "fetch:manifests",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s.trim())
    }
}

/// Token prefix: recognisable in a leaked config, and by secret scanners.
const PREFIX: &str = "candor_";

/// SHA-256 of a token as given.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// A fresh token: 256 random bits, URL-safe.
fn fresh_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!(
        "{PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// Makes a token with `scopes`, stores its hash, and returns (id, the token). The token is not
/// kept anywhere: the caller shows it once.
pub fn create_token(
    store: &ManifestStore,
    name: &str,
    scopes: &[Scope],
    rate_per_minute: u32,
) -> Result<(i64, String), candor_store::StoreError> {
    let token = fresh_token();
    let id = store.add_token(&NewToken {
        name: name.to_string(),
        hash: token_hash(&token),
        scopes: scopes.iter().map(|s| s.as_str().to_string()).collect(),
        rate_per_minute,
    })?;
    Ok((id, token))
}

/// A request's authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub token_id: i64,
    pub name: String,
    scopes: Vec<String>,
    pub rate_per_minute: u32,
}

impl Caller {
    pub fn from_record(t: TokenRecord) -> Self {
        Self {
            token_id: t.id,
            name: t.name,
            scopes: t.scopes,
            rate_per_minute: t.rate_per_minute,
        }
    }

    /// Whether the token grants `scope` (admin grants every scope).
    pub fn allows(&self, scope: Scope) -> bool {
        self.scopes
            .iter()
            .any(|s| s == scope.as_str() || s == Scope::Admin.as_str())
    }
}

/// The bearer token of an `Authorization` header value.
pub fn bearer(header: Option<&str>) -> Option<&str> {
    let value = header?.trim();
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| token.trim())
}

/// Per-token token buckets: `rate_per_minute` requests a minute, bursts up to that many.
#[derive(Debug, Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<i64, (f64, Instant)>>,
}

impl RateLimiter {
    /// Takes one request from the token's bucket: `Ok` or `Err(seconds until one is free)`.
    pub fn take(&self, token_id: i64, rate_per_minute: u32) -> Result<(), u64> {
        if rate_per_minute == 0 {
            return Err(60);
        }
        let capacity = rate_per_minute as f64;
        let per_second = capacity / 60.0;
        let now = Instant::now();
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(()); // a poisoned limiter never locks callers out
        };
        let (level, last) = buckets.entry(token_id).or_insert((capacity, now));
        *level = (*level + now.duration_since(*last).as_secs_f64() * per_second).min(capacity);
        *last = now;
        if *level >= 1.0 {
            *level -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *level) / per_second).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_and_admin_grants_all() {
        assert_eq!(Scope::parse("fetch:manifests"), Some(Scope::FetchManifests));
        assert_eq!(Scope::parse("root"), None);
        let c = Caller {
            token_id: 1,
            name: "x".into(),
            scopes: vec!["verify".into()],
            rate_per_minute: 1,
        };
        assert!(c.allows(Scope::Verify) && !c.allows(Scope::FetchManifests));
        let admin = Caller {
            scopes: vec!["admin".into()],
            ..c
        };
        assert!(Scope::ALL.iter().all(|&s| admin.allows(s)));
    }

    #[test]
    fn bearer_headers() {
        assert_eq!(bearer(Some("Bearer abc")), Some("abc"));
        assert_eq!(bearer(Some("bearer  abc ")), Some("abc"));
        assert_eq!(bearer(Some("Basic abc")), None);
        assert_eq!(bearer(Some("Bearer ")), None);
        assert_eq!(bearer(None), None);
    }

    #[test]
    fn tokens_are_random_and_hash_differently() {
        let (a, b) = (fresh_token(), fresh_token());
        assert_ne!(a, b);
        assert!(a.starts_with(PREFIX) && a.len() > 40);
        assert_ne!(token_hash(&a), token_hash(&b));
    }

    #[test]
    fn the_bucket_allows_a_burst_then_refuses() {
        let limiter = RateLimiter::default();
        for _ in 0..5 {
            assert!(limiter.take(7, 5).is_ok());
        }
        let wait = limiter.take(7, 5);
        assert!(matches!(wait, Err(s) if (1..=12).contains(&s)), "{wait:?}");
        // Another token has its own bucket.
        assert!(limiter.take(8, 5).is_ok());
        assert!(limiter.take(9, 0).is_err());
    }
}
