//! Prometheus metrics, in the text exposition format (`GET /metrics`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Upper bounds of the request-duration histogram, seconds.
const BUCKETS: [f64; 10] = [0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

#[derive(Debug, Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Counters and histograms this worker keeps.
#[derive(Debug, Default)]
pub struct Metrics {
    /// (route, method, status) → requests.
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    /// route → duration histogram.
    durations: Mutex<BTreeMap<String, Histogram>>,
    /// verdict status → files verified.
    verdicts: Mutex<BTreeMap<String, u64>>,
    pub upload_bytes: AtomicU64,
    pub rate_limited: AtomicU64,
    pub auth_failures: AtomicU64,
    pub in_flight: AtomicU64,
}

impl Metrics {
    pub fn observe(&self, route: &str, method: &str, status: u16, seconds: f64) {
        if let Ok(mut r) = self.requests.lock() {
            *r.entry((route.to_string(), method.to_string(), status))
                .or_default() += 1;
        }
        if let Ok(mut d) = self.durations.lock() {
            let h = d.entry(route.to_string()).or_default();
            for (i, &b) in BUCKETS.iter().enumerate() {
                if seconds <= b {
                    h.counts[i] += 1;
                }
            }
            h.count += 1;
            h.sum += seconds;
        }
    }

    pub fn verdict(&self, status: &str) {
        if let Ok(mut v) = self.verdicts.lock() {
            *v.entry(status.to_string()).or_default() += 1;
        }
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let mut o = String::new();
        o.push_str("# HELP candor_http_requests_total HTTP requests by route, method and status.\n# TYPE candor_http_requests_total counter\n");
        if let Ok(r) = self.requests.lock() {
            for ((route, method, status), n) in r.iter() {
                let _ = writeln!(
                    o,
                    "candor_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {n}"
                );
            }
        }
        o.push_str("# HELP candor_http_request_duration_seconds Request duration by route.\n# TYPE candor_http_request_duration_seconds histogram\n");
        if let Ok(d) = self.durations.lock() {
            for (route, h) in d.iter() {
                for (i, b) in BUCKETS.iter().enumerate() {
                    let _ = writeln!(
                        o,
                        "candor_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{b}\"}} {}",
                        h.counts[i]
                    );
                }
                let _ = writeln!(
                    o,
                    "candor_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}\ncandor_http_request_duration_seconds_sum{{route=\"{route}\"}} {}\ncandor_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                    h.count, h.sum, h.count
                );
            }
        }
        o.push_str("# HELP candor_verifications_total Files verified, by verdict status.\n# TYPE candor_verifications_total counter\n");
        if let Ok(v) = self.verdicts.lock() {
            for (status, n) in v.iter() {
                let _ = writeln!(o, "candor_verifications_total{{status=\"{status}\"}} {n}");
            }
        }
        let gauges = [
            (
                "candor_upload_bytes_total",
                "counter",
                "Bytes of uploads received.",
                &self.upload_bytes,
            ),
            (
                "candor_rate_limited_total",
                "counter",
                "Requests refused by a token's rate limit.",
                &self.rate_limited,
            ),
            (
                "candor_auth_failures_total",
                "counter",
                "Requests refused for a missing, unknown or under-scoped token.",
                &self.auth_failures,
            ),
            (
                "candor_verifications_in_flight",
                "gauge",
                "Verifications running or queued now.",
                &self.in_flight,
            ),
        ];
        for (name, kind, help, value) in gauges {
            let _ = writeln!(
                o,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {}",
                value.load(Ordering::Relaxed)
            );
        }
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_cumulative_buckets() {
        let m = Metrics::default();
        m.observe("/v1/verify", "POST", 200, 0.2);
        m.observe("/v1/verify", "POST", 200, 3.0);
        m.observe("/healthz", "GET", 200, 0.001);
        m.verdict("no_credentials");
        let text = m.render();
        assert!(text.contains(
            "candor_http_requests_total{route=\"/v1/verify\",method=\"POST\",status=\"200\"} 2"
        ));
        assert!(text.contains(
            "candor_http_request_duration_seconds_bucket{route=\"/v1/verify\",le=\"0.5\"} 1"
        ));
        assert!(text.contains(
            "candor_http_request_duration_seconds_bucket{route=\"/v1/verify\",le=\"5\"} 2"
        ));
        assert!(text.contains("candor_verifications_total{status=\"no_credentials\"} 1"));
    }
}
