//! The Soft Binding Resolution API's JSON answers, read leniently: a field this client does not
//! need, or a malformed optional one, never rejects the answer; a missing `matches` list does.

use serde_json::Value;

/// One entry of a `matches` list.
#[derive(Debug, Clone)]
pub(crate) struct Match {
    pub manifest_id: String,
    /// Another resolver's base URL the manifest lives at, when the resolver says so.
    pub endpoint: Option<String>,
    pub similarity_score: Option<f64>,
    /// Candor's extension of a `matches/byContent` answer.
    pub candor: Option<CandorMatch>,
}

/// The `candor` object of a by-content match: what the resolver's own detection read.
#[derive(Debug, Clone)]
pub(crate) struct CandorMatch {
    /// The watermark payload it decoded (`None`: absent or not hex).
    pub payload: Option<Vec<u8>>,
    /// (observed frame, original frame) pairs; empty when absent or malformed.
    pub alignment: Vec<(usize, usize)>,
    pub log10_p_value: Option<f64>,
}

/// What `services/supportedAlgorithms` lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SupportedAlgorithms {
    /// Watermark algorithms it decodes (`alg` names).
    pub watermarks: Vec<String>,
    /// Fingerprint algorithms it matches.
    pub fingerprints: Vec<String>,
}

/// Pairs beyond this many are a resolver's mistake, not an alignment: dropped.
const MAX_ALIGNMENT: usize = 1 << 20;

fn parse_json(body: &[u8]) -> Result<Value, String> {
    serde_json::from_slice(body).map_err(|e| format!("the answer is not JSON ({e})"))
}

/// `{"matches": [{"manifestId": …, "endpoint"?, "similarityScore"?, "candor"?}, …]}`. Entries
/// without a string `manifestId` are dropped.
pub(crate) fn parse_matches(body: &[u8]) -> Result<Vec<Match>, String> {
    let value = parse_json(body)?;
    let Some(list) = value.get("matches").and_then(Value::as_array) else {
        return Err("the answer has no \"matches\" list".into());
    };
    Ok(list
        .iter()
        .filter_map(|m| {
            let manifest_id = m.get("manifestId")?.as_str()?;
            if manifest_id.is_empty() || manifest_id.len() > 2048 {
                return None;
            }
            Some(Match {
                manifest_id: manifest_id.to_string(),
                endpoint: m
                    .get("endpoint")
                    .and_then(Value::as_str)
                    .filter(|e| !e.is_empty())
                    .map(str::to_string),
                similarity_score: m.get("similarityScore").and_then(Value::as_f64),
                candor: m.get("candor").filter(|c| c.is_object()).map(parse_candor),
            })
        })
        .collect())
}

fn parse_candor(c: &Value) -> CandorMatch {
    let payload = c
        .get("payload")
        .and_then(Value::as_str)
        .and_then(|h| hex::decode(h).ok())
        .filter(|p| !p.is_empty());
    let alignment = c
        .get("alignment")
        .and_then(Value::as_array)
        .filter(|a| a.len() <= MAX_ALIGNMENT)
        .and_then(|pairs| {
            pairs
                .iter()
                .map(|p| {
                    let pair = p.as_array().filter(|p| p.len() == 2)?;
                    let o = usize::try_from(pair[0].as_u64()?).ok()?;
                    let f = usize::try_from(pair[1].as_u64()?).ok()?;
                    Some((o, f))
                })
                .collect::<Option<Vec<_>>>()
        })
        .unwrap_or_default();
    CandorMatch {
        payload,
        alignment,
        log10_p_value: c.get("log10PValue").and_then(Value::as_f64),
    }
}

/// `{"watermarks": [{"alg": …}], "fingerprints": [{"alg": …}]}`.
pub(crate) fn parse_supported(body: &[u8]) -> Result<SupportedAlgorithms, String> {
    let value = parse_json(body)?;
    if !value.is_object() {
        return Err("the answer is not a JSON object".into());
    }
    let algs = |key: &str| -> Vec<String> {
        value
            .get(key)
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(|a| a.get("alg").and_then(Value::as_str))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    Ok(SupportedAlgorithms {
        watermarks: algs("watermarks"),
        fingerprints: algs("fingerprints"),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn matches_are_read_leniently() {
        let body = br#"{"matches": [
            {"manifestId": "urn:c2pa:a", "similarityScore": 100},
            {"manifestId": 5},
            {"endpoint": "https://x"},
            {"manifestId": "urn:c2pa:b", "endpoint": "https://other/v1",
             "candor": {"payload": "00ff", "alignment": [[0, 0], [1, 2]], "log10PValue": -12.5}},
            {"manifestId": "urn:c2pa:c", "candor": {"payload": "zz", "alignment": [[0]]}}
        ]}"#;
        let m = parse_matches(body).unwrap();
        assert_eq!(m.len(), 3);
        assert_eq!(m[0].manifest_id, "urn:c2pa:a");
        assert_eq!(m[0].similarity_score, Some(100.0));
        assert!(m[0].candor.is_none());
        let c = m[1].candor.as_ref().unwrap();
        assert_eq!(m[1].endpoint.as_deref(), Some("https://other/v1"));
        assert_eq!(c.payload.as_deref(), Some(&[0x00, 0xff][..]));
        assert_eq!(c.alignment, vec![(0, 0), (1, 2)]);
        assert_eq!(c.log10_p_value, Some(-12.5));
        let c = m[2].candor.as_ref().unwrap();
        assert!(c.payload.is_none() && c.alignment.is_empty());
    }

    #[test]
    fn an_answer_without_matches_is_an_error() {
        assert!(parse_matches(b"{}").is_err());
        assert!(parse_matches(b"[]").is_err());
        assert!(parse_matches(b"<html>").is_err());
        assert!(parse_matches(br#"{"matches": []}"#).unwrap().is_empty());
    }

    #[test]
    fn supported_algorithms() {
        let s = parse_supported(
            br#"{"watermarks": [{"alg": "org.candor.latent-watermark.v1"}, {}], "fingerprints": [{"alg": "f"}]}"#,
        )
        .unwrap();
        assert_eq!(s.watermarks, vec!["org.candor.latent-watermark.v1"]);
        assert_eq!(s.fingerprints, vec!["f"]);
        assert!(parse_supported(b"3").is_err());
    }
}
