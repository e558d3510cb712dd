//! The client against a tiny HTTP server in the test (canned answers on 127.0.0.1): what it
//! sends, what it accepts, and how it words what goes wrong — always naming the resolver's URL
//! and the status, never the token.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use base64::Engine as _;
use candor_resolver::{RemoteResolver, ResolverError, ResolverOptions, CONTENT_ALG};
use candor_verify::ManifestSource;

const TOKEN: &str = "tok-SECRET-4f9a";

/// One request as the server read it.
#[derive(Debug)]
struct Seen {
    method: String,
    /// Path and query as sent.
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A canned answer.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Waits this long before answering.
    delay: Duration,
    /// Sends a `Content-Length` (otherwise the body ends when the connection closes).
    length: bool,
}

fn reply(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
    Reply {
        status,
        headers: vec![("Content-Type".into(), content_type.into())],
        body: body.into(),
        delay: Duration::ZERO,
        length: true,
    }
}

fn json(status: u16, body: serde_json::Value) -> Reply {
    reply(status, "application/json", body.to_string())
}

struct Server {
    url: String,
    seen: Receiver<Seen>,
}

impl Server {
    /// Every request the server has read so far.
    fn requests(&self) -> Vec<Seen> {
        self.seen.try_iter().collect()
    }
}

/// Serves `handler`'s answers, one connection at a time, each closed after its answer.
fn serve(handler: impl Fn(&Seen) -> Reply + Send + 'static) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, seen) = channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let Some((request, mut stream)) = read_request(stream) else {
                continue;
            };
            let answer = handler(&request);
            let _ = tx.send(request);
            std::thread::sleep(answer.delay);
            let _ = write_reply(&mut stream, &answer);
        }
    });
    Server { url, seen }
}

fn read_request(stream: TcpStream) -> Option<(Seen, TcpStream)> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (name, value) = h.split_once(':')?;
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    let mut seen = Seen {
        method,
        target,
        headers,
        body: Vec::new(),
    };
    if let Some(len) = seen.header("content-length") {
        let mut body = vec![0; len.parse().ok()?];
        reader.read_exact(&mut body).ok()?;
        seen.body = body;
    } else if seen
        .header("transfer-encoding")
        .is_some_and(|t| t.contains("chunked"))
    {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).ok()?;
            let size = usize::from_str_radix(size.trim(), 16).ok()?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).ok()?;
            if size == 0 {
                break;
            }
            seen.body.extend_from_slice(&chunk[..size]);
        }
    }
    Some((seen, stream))
}

fn write_reply(stream: &mut TcpStream, r: &Reply) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {} Canned\r\nConnection: close\r\n", r.status);
    for (n, v) in &r.headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    if r.length && !r.headers.iter().any(|(n, _)| n == "Content-Length") {
        head.push_str(&format!("Content-Length: {}\r\n", r.body.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(&r.body)?;
    stream.flush()
}

fn options() -> ResolverOptions {
    ResolverOptions {
        token: Some(TOKEN.into()),
        ..ResolverOptions::default()
    }
}

fn resolver(server: &Server) -> RemoteResolver {
    RemoteResolver::new(&server.url, options()).unwrap()
}

/// Bytes that are not text: every byte value, many times.
fn binary(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

fn manifest_reply(bytes: &[u8]) -> Reply {
    reply(200, "application/c2pa", bytes.to_vec())
}

/// The error must name the resolver and the status, and never the token.
fn assert_worded(error: &str, server: &Server, status: &str) {
    assert!(error.contains(&server.url), "no URL in: {error}");
    assert!(error.contains(status), "no '{status}' in: {error}");
    assert!(!error.contains(TOKEN), "the token leaked: {error}");
}

#[test]
fn by_binding_fetches_each_match_and_returns_its_bytes() {
    let manifest = binary(300_000);
    let served = manifest.clone();
    let server = serve(move |r| match (r.method.as_str(), r.target.as_str()) {
        ("POST", "/v1/matches/byBinding") => json(
            200,
            serde_json::json!({"matches": [{"manifestId": "urn:c2pa:1234-abcd", "similarityScore": 100}]}),
        ),
        ("GET", "/v1/manifests/urn%3Ac2pa%3A1234-abcd") => manifest_reply(&served),
        _ => reply(404, "text/plain", "no such thing"),
    });
    let resolver = resolver(&server);
    assert_eq!(resolver.name(), format!("{}/v1", server.url));
    let payload = [0x01, 0x02, 0xfe, 0xff, 0x10];
    let found = resolver.by_binding(CONTENT_ALG, &payload).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].manifest_id, "urn:c2pa:1234-abcd");
    assert_eq!(found[0].store_id, None);
    assert!(
        found[0].manifest == manifest,
        "the bytes changed on the way"
    );

    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    let query = &seen[0];
    assert_eq!(
        query.header("authorization"),
        Some(&*format!("Bearer {TOKEN}"))
    );
    assert!(query
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    let body: serde_json::Value = serde_json::from_slice(&query.body).unwrap();
    assert_eq!(body["alg"], CONTENT_ALG);
    assert_eq!(
        body["value"],
        base64::engine::general_purpose::STANDARD.encode(payload)
    );
    assert_eq!(seen[1].method, "GET");
    assert_eq!(
        seen[1].header("authorization"),
        Some(&*format!("Bearer {TOKEN}"))
    );
}

#[test]
fn manifest_ids_are_percent_encoded_as_one_path_segment() {
    let server = serve(|r| match r.method.as_str() {
        "POST" => json(
            200,
            serde_json::json!({"matches": [{"manifestId": "urn:c2pa:a/b c?d#e%f"}]}),
        ),
        _ => manifest_reply(b"jumbf"),
    });
    // A base with a path of its own keeps it.
    let resolver = RemoteResolver::new(&format!("{}/sbr/v1/", server.url), options()).unwrap();
    assert_eq!(resolver.name(), format!("{}/sbr/v1", server.url));
    let found = resolver.by_binding(CONTENT_ALG, b"x").unwrap();
    assert_eq!(found[0].manifest_id, "urn:c2pa:a/b c?d#e%f");
    let seen = server.requests();
    assert_eq!(seen[0].target, "/sbr/v1/matches/byBinding");
    assert_eq!(
        seen[1].target,
        "/sbr/v1/manifests/urn%3Ac2pa%3Aa%2Fb%20c%3Fd%23e%25f"
    );
}

#[test]
fn no_matches_is_an_empty_answer_not_an_error() {
    let server = serve(|_| json(200, serde_json::json!({"matches": []})));
    assert!(resolver(&server)
        .by_binding(CONTENT_ALG, b"x")
        .unwrap()
        .is_empty());
}

#[test]
fn refusals_are_worded_with_the_status_and_without_the_token() {
    type Case = (u16, &'static str, Vec<(String, String)>);
    let cases: [Case; 5] = [
        (401, "401 Unauthorized", vec![]),
        (403, "fetch:manifests", vec![]),
        (
            429,
            "retry after 30 s",
            vec![("Retry-After".into(), "30".into())],
        ),
        (500, "500 server error", vec![]),
        (418, "status 418", vec![]),
    ];
    for (status, words, headers) in cases {
        let server = serve(move |_| {
            // A careless resolver that echoes the token it was sent.
            let mut r = json(
                status,
                serde_json::json!({"error": format!("nope for {TOKEN}\nreally")}),
            );
            r.headers.extend(headers.clone());
            r
        });
        let e = resolver(&server).by_binding(CONTENT_ALG, b"x").unwrap_err();
        assert_worded(&e, &server, words);
        assert!(e.contains(&status.to_string()), "{e}");
        assert!(e.contains("nope for [token] really"), "{e}");
    }
}

#[test]
fn a_401_without_a_token_says_how_to_give_one() {
    let server = serve(|_| reply(401, "text/plain", ""));
    let e = RemoteResolver::new(&server.url, ResolverOptions::default())
        .unwrap()
        .by_binding(CONTENT_ALG, b"x")
        .unwrap_err();
    assert_worded(&e, &server, "401");
    assert!(e.contains("--resolver-token"), "{e}");
    assert!(server.requests()[0].header("authorization").is_none());
}

#[test]
fn garbage_answers_are_errors() {
    for body in ["<html>hello</html>", "{}", r#"{"matches": 3}"#] {
        let server = serve(move |_| reply(200, "application/json", body));
        let e = resolver(&server).by_binding(CONTENT_ALG, b"x").unwrap_err();
        assert_worded(&e, &server, "matches/byBinding");
        assert!(
            e.contains("not JSON") || e.contains("no \"matches\" list"),
            "{e}"
        );
    }
}

#[test]
fn oversized_answers_are_refused() {
    // Declared too large, and (without a Content-Length) found too large while reading.
    for length in [true, false] {
        let server = serve(move |_| {
            let mut junk = b"{\"matches\": [], \"pad\": \"".to_vec();
            junk.resize((1 << 20) + 100, b'a');
            let mut r = reply(200, "application/json", junk);
            r.length = length;
            r
        });
        let e = resolver(&server).by_binding(CONTENT_ALG, b"x").unwrap_err();
        assert_worded(&e, &server, "larger than 1 MiB");
    }
    // A manifest declared larger than 16 MiB is not read.
    let server = serve(|r| match r.method.as_str() {
        "POST" => json(
            200,
            serde_json::json!({"matches": [{"manifestId": "urn:big"}]}),
        ),
        _ => {
            let mut r = manifest_reply(b"short");
            r.headers
                .push(("Content-Length".into(), ((16u64 << 20) + 1).to_string()));
            r
        }
    });
    let e = resolver(&server).by_binding(CONTENT_ALG, b"x").unwrap_err();
    assert_worded(&e, &server, "larger than 16 MiB");
}

#[test]
fn a_refused_connection_is_worded() {
    let url = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let e = RemoteResolver::new(&url, options())
        .unwrap()
        .by_binding(CONTENT_ALG, b"x")
        .unwrap_err();
    assert!(e.contains(&url) && e.contains("could not connect"), "{e}");
    assert!(!e.contains(TOKEN), "{e}");
}

#[test]
fn a_slow_resolver_times_out() {
    let server = serve(|_| {
        let mut r = json(200, serde_json::json!({"matches": []}));
        r.delay = Duration::from_secs(3);
        r
    });
    let resolver = RemoteResolver::new(
        &server.url,
        ResolverOptions {
            binding_timeout: Duration::from_millis(500),
            ..options()
        },
    )
    .unwrap();
    let started = Instant::now();
    let e = resolver.by_binding(CONTENT_ALG, b"x").unwrap_err();
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "{:?}",
        started.elapsed()
    );
    assert_worded(&e, &server, "timed out");
}

#[test]
fn a_foreign_endpoint_is_not_followed() {
    let server = serve(|r| match r.method.as_str() {
        "POST" => json(
            200,
            serde_json::json!({"matches": [
                {"manifestId": "urn:elsewhere", "endpoint": "http://other.invalid/v1"},
            ]}),
        ),
        _ => manifest_reply(b"jumbf"),
    });
    let e = resolver(&server).by_binding(CONTENT_ALG, b"x").unwrap_err();
    assert!(
        e.contains("urn:elsewhere") && e.contains("not followed"),
        "{e}"
    );
    assert!(e.contains("http://other.invalid"), "{e}");
    assert_eq!(server.requests().len(), 1, "nothing but the query was sent");

    // With a match of its own too: that one is fetched, the foreign one still not.
    let server = serve(|r| match r.method.as_str() {
        "POST" => json(
            200,
            serde_json::json!({"matches": [
                {"manifestId": "urn:elsewhere", "endpoint": "http://other.invalid/v1"},
                {"manifestId": "urn:here"},
            ]}),
        ),
        _ => manifest_reply(b"jumbf"),
    });
    let found = resolver(&server).by_binding(CONTENT_ALG, b"x").unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].manifest_id, "urn:here");
    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].target, "/v1/manifests/urn%3Ahere");
}

#[test]
fn an_endpoint_of_the_same_origin_is_followed() {
    let server = serve(|r| match r.method.as_str() {
        "POST" => {
            let host = r.header("host").unwrap_or_default().to_string();
            json(
                200,
                serde_json::json!({"matches": [
                    {"manifestId": "urn:x", "endpoint": format!("http://{host}/archive/v1")},
                ]}),
            )
        }
        _ => manifest_reply(b"jumbf"),
    });
    let found = resolver(&server).by_binding(CONTENT_ALG, b"x").unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(server.requests()[1].target, "/archive/v1/manifests/urn%3Ax");
}

#[test]
fn an_unknown_manifest_is_worded() {
    let server = serve(|r| match r.method.as_str() {
        "POST" => json(
            200,
            serde_json::json!({"matches": [{"manifestId": "urn:gone"}]}),
        ),
        _ => reply(404, "text/plain", "unknown manifest"),
    });
    let e = resolver(&server).by_binding(CONTENT_ALG, b"x").unwrap_err();
    assert_worded(&e, &server, "404");
    assert!(
        e.contains("urn:gone") && e.contains("unknown manifest"),
        "{e}"
    );
}

#[test]
fn a_redirect_is_not_followed() {
    let server = serve(|_| {
        let mut r = reply(302, "text/plain", "");
        r.headers
            .push(("Location".into(), "http://other.invalid/v1".into()));
        r
    });
    let e = resolver(&server).by_binding(CONTENT_ALG, b"x").unwrap_err();
    assert_worded(&e, &server, "302");
    assert!(e.contains("not followed"), "{e}");
    assert_eq!(server.requests().len(), 1);
}

fn supported(watermarks: &[&str]) -> Reply {
    let list: Vec<_> = watermarks
        .iter()
        .map(|a| serde_json::json!({"alg": a}))
        .collect();
    json(
        200,
        serde_json::json!({"watermarks": list, "fingerprints": []}),
    )
}

fn video(dir: &Path, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join("clip.mp4");
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn by_content_streams_the_file_and_reads_the_candor_extension() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = binary(1_500_000);
    let file = video(dir.path(), &bytes);
    let server = serve(|r| match (r.method.as_str(), r.target.as_str()) {
        ("GET", "/v1/services/supportedAlgorithms") => supported(&[CONTENT_ALG]),
        ("POST", t) if t.starts_with("/v1/matches/byContent") => json(
            200,
            serde_json::json!({"matches": [
                {"manifestId": "urn:weak", "similarityScore": 40,
                 "candor": {"payload": "0a0b", "alignment": [], "log10PValue": -3.0}},
                {"manifestId": "urn:nopayload", "similarityScore": 99},
                {"manifestId": "urn:strong", "similarityScore": 97,
                 "candor": {"payload": "00ff10", "alignment": [[0, 2], [1, 3]], "log10PValue": -12.3}},
            ]}),
        ),
        ("GET", "/v1/manifests/urn%3Astrong") => manifest_reply(b"strong"),
        ("GET", "/v1/manifests/urn%3Aweak") => manifest_reply(b"weak"),
        _ => reply(404, "text/plain", ""),
    });
    let found = resolver(&server).by_content(&file).unwrap().unwrap();
    assert_eq!(found.len(), 2);
    // The strongest first; the match without a payload skipped.
    assert_eq!(found[0].manifest.manifest_id, "urn:strong");
    assert_eq!(found[0].manifest.manifest, b"strong");
    assert_eq!(found[0].payload, vec![0x00, 0xff, 0x10]);
    assert_eq!(found[0].alignment, vec![(0, 2), (1, 3)]);
    assert_eq!(found[0].log10_p_value, Some(-12.3));
    assert_eq!(found[1].manifest.manifest_id, "urn:weak");
    assert!(found[1].alignment.is_empty());

    let seen = server.requests();
    let upload = seen.iter().find(|s| s.method == "POST").unwrap();
    assert_eq!(
        upload.target,
        format!("/v1/matches/byContent?alg={CONTENT_ALG}")
    );
    assert_eq!(upload.header("content-type"), Some("video/mp4"));
    assert_eq!(
        upload.header("content-length"),
        Some(&*bytes.len().to_string())
    );
    assert_eq!(
        upload.header("authorization"),
        Some(&*format!("Bearer {TOKEN}"))
    );
    assert!(
        upload.body == bytes,
        "the server did not get the file's exact bytes"
    );
    assert!(!seen.iter().any(|s| s.target.contains("nopayload")));
}

#[test]
fn by_content_asks_only_resolvers_that_list_the_algorithm() {
    let dir = tempfile::tempdir().unwrap();
    let file = video(dir.path(), b"video");
    // Lists another watermark only; and one without the service at all.
    for listed in [true, false] {
        let server = serve(move |r| match r.method.as_str() {
            "GET" if listed => supported(&["com.example.other"]),
            _ => reply(404, "text/plain", ""),
        });
        let resolver = resolver(&server);
        assert!(resolver.by_content(&file).is_none());
        // Asked once per resolver, and nothing was uploaded.
        assert!(resolver.by_content(&file).is_none());
        let seen = server.requests();
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert_eq!(seen[0].target, "/v1/services/supportedAlgorithms");
    }
    // Uploads switched off: nothing is asked.
    let server = serve(|_| supported(&[CONTENT_ALG]));
    let off = RemoteResolver::new(
        &server.url,
        ResolverOptions {
            by_content: false,
            ..options()
        },
    )
    .unwrap();
    assert!(off.by_content(&file).is_none());
    assert!(server.requests().is_empty());
}

#[test]
fn by_content_refusals_are_worded() {
    let dir = tempfile::tempdir().unwrap();
    let file = video(dir.path(), &binary(10_000));
    let server = serve(|r| match r.method.as_str() {
        "GET" => supported(&[CONTENT_ALG]),
        _ => reply(413, "text/plain", "too big"),
    });
    let e = resolver(&server).by_content(&file).unwrap().unwrap_err();
    assert_worded(&e, &server, "413");
    assert!(e.contains("matches/byContent"), "{e}");

    // A resolver that cannot be asked what it supports is an error to report, not a silence.
    let server = serve(|_| reply(403, "text/plain", ""));
    let e = resolver(&server).by_content(&file).unwrap().unwrap_err();
    assert_worded(&e, &server, "403");
}

#[test]
fn supported_algorithms_are_listed() {
    let server = serve(|_| supported(&[CONTENT_ALG, "com.example.other"]));
    let s = resolver(&server).supported_algorithms().unwrap();
    assert_eq!(s.watermarks, vec![CONTENT_ALG, "com.example.other"]);
    assert!(s.fingerprints.is_empty());
}

#[test]
fn setup_errors_are_worded_without_secrets() {
    let e = RemoteResolver::new("ftp://r.example", options()).unwrap_err();
    assert!(matches!(e, ResolverError::Url { .. }), "{e}");
    let e = RemoteResolver::new(
        "http://r.example",
        ResolverOptions {
            token: Some(format!("{TOKEN}\r\nX-Evil: 1")),
            ..options()
        },
    )
    .unwrap_err();
    assert!(matches!(e, ResolverError::Token(_)), "{e}");
    assert!(!e.to_string().contains(TOKEN), "{e}");

    let dir = tempfile::tempdir().unwrap();
    let not_pem = dir.path().join("ca.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    for ca in [not_pem, dir.path().join("missing.pem")] {
        let e = RemoteResolver::new(
            "https://r.example",
            ResolverOptions {
                extra_ca_pem: Some(ca),
                ..options()
            },
        )
        .unwrap_err();
        assert!(matches!(e, ResolverError::Ca { .. }), "{e}");
    }
    // A real CA certificate is taken.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../keys/dev/root.pem");
    RemoteResolver::new(
        "https://r.example",
        ResolverOptions {
            extra_ca_pem: Some(root),
            ..options()
        },
    )
    .unwrap();
}
