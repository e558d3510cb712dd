//! `candor verify --resolver`: the flags are checked before any work, the store is asked first,
//! and a resolver's manifest is checked like the store's. The resolver here is a tiny HTTP server
//! in the test that answers from a copy of the test store; the end-to-end test against
//! `candor serve` lives with the service.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc::{channel, Receiver};

use base64::Engine as _;
use candor_store::ManifestStore;
use candor_watermark::SOFT_BINDING_ALG;
use common::{candor, json_lines, run};

const TOKEN: &str = "tok-CLI-SECRET-77";
const CLIPS: &str = "tests/data/verify";

fn fixtures_present() -> bool {
    let present = std::path::Path::new(CLIPS).join("stripped.mp4").is_file();
    if !present {
        eprintln!("skipped: {CLIPS} missing");
    }
    present
}

/// Percent-encoding as a path segment: everything but the unreserved characters.
fn segment(id: &str) -> String {
    id.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A resolver answering `matches/byBinding` and `manifests/{id}` from the test store; every
/// request's line and `Authorization` header go to the receiver.
fn fake_resolver() -> (String, Receiver<(String, Option<String>)>) {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("store.db");
    std::fs::copy(format!("{CLIPS}/store.db"), &copy).unwrap();
    let store = ManifestStore::open(&copy).unwrap();
    let mut by_value: HashMap<String, Vec<String>> = HashMap::new();
    let mut manifests: HashMap<String, Vec<u8>> = HashMap::new();
    for value in store.bindings(SOFT_BINDING_ALG).unwrap() {
        for m in store.by_binding(SOFT_BINDING_ALG, &value).unwrap() {
            by_value
                .entry(base64::engine::general_purpose::STANDARD.encode(&value))
                .or_default()
                .push(m.manifest_label.clone());
            manifests.insert(
                format!("/v1/manifests/{}", segment(&m.manifest_label)),
                m.manifest,
            );
        }
    }
    drop(store);
    drop(dir);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let (mut auth, mut len) = (None, 0);
            loop {
                let mut h = String::new();
                reader.read_line(&mut h).unwrap();
                let h = h.trim_end().to_string();
                if h.is_empty() {
                    break;
                }
                let (name, value) = h.split_once(':').unwrap();
                match name.to_ascii_lowercase().as_str() {
                    "authorization" => auth = Some(value.trim().to_string()),
                    "content-length" => len = value.trim().parse().unwrap(),
                    _ => {}
                }
            }
            let mut body = vec![0; len];
            reader.read_exact(&mut body).unwrap();
            let target = line
                .split_whitespace()
                .nth(1)
                .unwrap_or_default()
                .to_string();
            let (status, kind, answer) = if target == "/v1/matches/byBinding" {
                let query: serde_json::Value = serde_json::from_slice(&body).unwrap();
                let ids = by_value
                    .get(query["value"].as_str().unwrap_or_default())
                    .cloned()
                    .unwrap_or_default();
                let matches: Vec<_> = ids
                    .iter()
                    .map(|id| serde_json::json!({"manifestId": id}))
                    .collect();
                let json = serde_json::json!({ "matches": matches }).to_string();
                (200, "application/json", json.into_bytes())
            } else if let Some(m) = manifests.get(&target) {
                (200, "application/c2pa", m.clone())
            } else {
                (404, "text/plain", b"not here".to_vec())
            };
            let _ = tx.send((line.trim_end().to_string(), auth));
            let head = format!(
                "HTTP/1.1 {status} X\r\nConnection: close\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n\r\n",
                answer.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&answer);
        }
    });
    (url, rx)
}

#[test]
fn a_bad_resolver_url_is_a_usage_error_before_any_work() {
    for (args, words) in [
        (vec!["--resolver", "ftp://r.example"], "--resolver"),
        (vec!["--resolver", "r.example"], "--resolver"),
        (
            vec![
                "--resolver",
                "https://r.example",
                "--resolver-ca",
                "/nonexistent.pem",
            ],
            "--resolver-ca",
        ),
    ] {
        let r = run(candor()
            .arg("verify")
            .arg("/nonexistent/clip.mp4")
            .args(&args));
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(words), "{args:?}: {}", r.stderr);
        assert!(
            !r.stderr.contains("no such file"),
            "work was done first: {}",
            r.stderr
        );
    }
    let r = run(candor()
        .args([
            "verify",
            "/nonexistent/clip.mp4",
            "--resolver",
            "http://127.0.0.1:9",
        ])
        .env("CANDOR_RESOLVER_TOKEN", format!("{TOKEN} with spaces")));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("--resolver-token") && !r.stderr.contains(TOKEN),
        "{}",
        r.stderr
    );
}

#[test]
fn a_stripped_clip_is_recovered_from_a_resolver_and_checked_here() {
    if !fixtures_present() {
        return;
    }
    let (url, seen) = fake_resolver();
    let r = run(candor()
        .args(["verify", &format!("{CLIPS}/stripped.mp4"), "--json"])
        .args(["--store", "/nonexistent/store.db", "--resolver", &url])
        .env("CANDOR_RESOLVER_TOKEN", TOKEN));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let report = &json_lines(&r.stdout)[0];
    let recovered = &report["watermark"]["recovered"];
    assert_eq!(recovered["source"], format!("{url}/v1"), "{report:#}");
    assert_eq!(recovered["accepted"], true, "{report:#}");
    assert_eq!(recovered["signature_valid"], true);
    assert!(recovered.get("store_id").is_none());
    let lookups = report["watermark"]["lookups"].to_string();
    assert!(lookups.contains("1 manifest(s)"), "{lookups}");
    let requests: Vec<_> = seen.try_iter().collect();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert!(requests[0].0.starts_with("POST /v1/matches/byBinding"));
    assert!(requests[1].0.starts_with("GET /v1/manifests/"));
    for (_, auth) in &requests {
        assert_eq!(auth.as_deref(), Some(&*format!("Bearer {TOKEN}")));
    }
    assert!(!r.stdout.contains(TOKEN) && !r.stderr.contains(TOKEN));
}

#[test]
fn the_local_store_is_asked_before_the_resolvers() {
    if !fixtures_present() {
        return;
    }
    let (url, seen) = fake_resolver();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store.db");
    std::fs::copy(format!("{CLIPS}/store.db"), &store).unwrap();
    let r = run(candor()
        .args([
            "verify",
            &format!("{CLIPS}/stripped.mp4"),
            "--json",
            "--store",
        ])
        .arg(&store)
        .args(["--resolver", &url]));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let report = &json_lines(&r.stdout)[0];
    assert_eq!(
        report["watermark"]["recovered"]["source"],
        "the manifest store"
    );
    assert_eq!(report["watermark"]["recovered"]["accepted"], true);
    assert_eq!(
        seen.try_iter().count(),
        0,
        "the resolver was asked though the store had it"
    );
}
