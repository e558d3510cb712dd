//! The resolver's base URL: checked, stripped of credentials, normalised; and the one rule for
//! endpoints a match names (same origin only).

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC};
use url::Url;

use crate::ResolverError;

/// Everything but the unreserved characters (RFC 3986) is percent-encoded in a path segment, so
/// an id such as `urn:c2pa:…` or one holding `/`, `?` or `#` stays one segment.
pub(crate) const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A resolver's API base from what the user gave: `http://` or `https://` with a host, no query
/// or fragment; any user name and password dropped (they would end up in reports and are not
/// used: the token goes in a header); an empty path or `/` means `/v1`; no trailing `/`.
pub fn parse_base_url(given: &str) -> Result<Url, ResolverError> {
    let bad = |reason: &str| ResolverError::Url {
        url: redact_userinfo(given),
        reason: reason.to_string(),
    };
    let mut url = Url::parse(given.trim()).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("not an http:// or https:// URL"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad(
            "a resolver's base URL takes no query or fragment (give the API base, e.g. https://resolver.example/v1)",
        ));
    }
    // Infallible for http(s) URLs with a host; ignored otherwise.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    let path = url.path().trim_end_matches('/').to_string();
    if path.is_empty() {
        url.set_path("/v1");
    } else {
        url.set_path(&path);
    }
    Ok(url)
}

/// The base to fetch a match's manifest from when the match names an `endpoint`: that endpoint,
/// when it has the resolver's own origin (scheme, host, port); otherwise it is not followed (a
/// resolver cannot send us, or our token, elsewhere).
pub(crate) fn same_origin_endpoint(base: &Url, endpoint: &str) -> Result<Url, String> {
    match parse_base_url(endpoint) {
        Ok(e) if e.origin() == base.origin() => Ok(e),
        Ok(e) => Err(format!(
            "names another resolver ({}), not followed: only {} is asked",
            e.origin().ascii_serialization(),
            base.origin().ascii_serialization()
        )),
        Err(e) => Err(format!(
            "names an endpoint that is not a URL ({e}), not followed"
        )),
    }
}

/// `given` with anything between `://` and `@` hidden, for messages about a URL that did not
/// parse.
fn redact_userinfo(given: &str) -> String {
    let Some(start) = given.find("://").map(|i| i + 3) else {
        return given.to_string();
    };
    let rest = &given[start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}…@{}", &given[..start], &rest[at + 1..]),
        None => given.to_string(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn bare_origins_mean_v1_and_credentials_are_dropped() {
        let cases = [
            ("https://r.example", "https://r.example/v1"),
            ("https://r.example/", "https://r.example/v1"),
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080/v1"),
            ("https://r.example/api/v1/", "https://r.example/api/v1"),
            ("https://user:secret@r.example/sbr", "https://r.example/sbr"),
        ];
        for (given, want) in cases {
            assert_eq!(parse_base_url(given).unwrap().as_str(), want, "{given}");
        }
    }

    #[test]
    fn only_http_and_https_base_urls() {
        for given in [
            "ftp://r.example",
            "file:///tmp/x",
            "r.example",
            "https://r.example/v1?x=1",
            "https://r.example/v1#x",
            "",
        ] {
            assert!(parse_base_url(given).is_err(), "{given}");
        }
        let e = parse_base_url("htps://user:secret@r.example").unwrap_err();
        assert!(!e.to_string().contains("secret"), "{e}");
        let e = parse_base_url("https://user:secret@[bad").unwrap_err();
        assert!(!e.to_string().contains("secret"), "{e}");
    }

    #[test]
    fn only_endpoints_of_the_same_origin_are_followed() {
        let base = parse_base_url("https://r.example").unwrap();
        assert_eq!(
            same_origin_endpoint(&base, "https://r.example/other/v1")
                .unwrap()
                .as_str(),
            "https://r.example/other/v1"
        );
        assert!(same_origin_endpoint(&base, "https://evil.example/v1").is_err());
        assert!(same_origin_endpoint(&base, "http://r.example/v1").is_err());
        assert!(same_origin_endpoint(&base, "https://r.example:8443/v1").is_err());
        assert!(same_origin_endpoint(&base, "not a url").is_err());
    }
}
