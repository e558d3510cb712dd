//! `candor serve` end to end: the real binary on loopback, real HTTP, real tokens, a real
//! PostgreSQL store (CI starts one with scripts/start-services.sh), and a second organisation —
//! its own identity, store and service — whose clips this installation recovers through
//! federation (`candor verify --resolver`).

mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{candor, candor_run, ffmpeg, json_lines};

/// A running `candor serve`; killed when dropped.
struct Server {
    child: Child,
    base: String,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(dir: &Path, name: &str, args: &[&str]) -> Server {
        let log = dir.join(format!("{name}.log"));
        let mut child = candor()
            .args(["serve", "--listen", "127.0.0.1:0", "--jobs", "2"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("candor serve starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("a first line");
        let base = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| {
                panic!(
                    "no address in {line:?}; log: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                )
            })
            .to_string();
        Server { child, base, log }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(300))
        .build()
}

/// (status, body) of a request, whatever the status.
fn call(req: ureq::Request, body: Option<&[u8]>) -> (u16, String, Option<String>) {
    let result = match body {
        Some(b) => req.send_bytes(b),
        None => req.call(),
    };
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("request failed: {e}"),
    };
    let status = response.status();
    let retry = response.header("retry-after").map(str::to_string);
    let mut text = String::new();
    let _ = response.into_reader().read_to_string(&mut text);
    (status, text, retry)
}

fn token(store: &str, scopes: &str, rate: u32) -> String {
    let r = candor_run(&[
        "serve",
        "token",
        "create",
        "--store",
        store,
        "--scope",
        scopes,
        "--name",
        "test",
        "--rate",
        &rate.to_string(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.stdout
        .lines()
        .last()
        .expect("token line")
        .trim()
        .to_string()
}

/// A copy of `clip` as a platform delivers it: re-encoded, metadata stripped.
fn strip(clip: &Path, out: &Path) {
    ffmpeg(&[
        "-i",
        clip.to_str().unwrap(),
        "-map_metadata",
        "-1",
        "-c:v",
        "libx264",
        "-crf",
        "18",
        "-pix_fmt",
        "yuv420p",
        out.to_str().unwrap(),
    ]);
}

fn postgres() -> Option<String> {
    match std::env::var("CANDOR_TEST_POSTGRES") {
        Ok(url) => Some(url),
        Err(_) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must run the PostgreSQL tests: start the server with scripts/start-services.sh"
            );
            eprintln!("skipped: CANDOR_TEST_POSTGRES is not set");
            None
        }
    }
}

/// A fresh PostgreSQL schema for one test, as a store URL.
fn postgres_store(test: &str) -> Option<String> {
    let base = postgres()?;
    let schema = format!("svc_{test}_{}", std::process::id());
    let status = Command::new("psql")
        .args([
            &base,
            "-qc",
            &format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"),
        ])
        .status()
        .expect("psql runs");
    assert!(status.success());
    let sep = if base.contains('?') { '&' } else { '?' };
    Some(format!("{base}{sep}options=-csearch_path%3D{schema}"))
}

#[test]
fn tokens_scopes_limits_and_hostile_requests() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store.db");
    let store = store.to_str().unwrap();
    std::fs::copy("tests/data/verify/store-clips.db", store).unwrap();
    let verify_token = token(store, "verify", 600);
    let fetch_token = token(store, "fetch:manifests", 3);
    let server = Server::start(
        dir.path(),
        "a",
        &["--store", store, "--max-upload-mib", "1"],
    );
    let a = agent();

    // Public: health, algorithms, the OpenAPI document (every route in it).
    let (s, body, _) = call(a.get(&server.url("/healthz")), None);
    assert_eq!((s, body.contains("\"ok\"")), (200, true), "{body}");
    let (s, body, _) = call(a.get(&server.url("/v1/services/supportedAlgorithms")), None);
    assert_eq!(s, 200);
    assert!(body.contains("org.candor.latent-watermark.v1"), "{body}");
    let (s, body, _) = call(a.get(&server.url("/openapi.json")), None);
    assert_eq!(s, 200);
    let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
    for p in [
        "/v1/verify",
        "/v1/matches/byBinding",
        "/v1/matches/byContent",
        "/v1/manifests/{manifestId}",
    ] {
        assert!(doc["paths"][p].is_object(), "{p} not in /openapi.json");
    }

    // 401 without a token, with a bad one; 403 with the wrong scope.
    let by_binding = server.url("/v1/matches/byBinding");
    let (s, body, _) = call(a.post(&by_binding), Some(b"{}"));
    assert_eq!(s, 401, "{body}");
    let (s, _, _) = call(
        a.post(&by_binding)
            .set("Authorization", "Bearer candor_nope"),
        Some(b"{}"),
    );
    assert_eq!(s, 401);
    let (s, body, _) = call(
        a.post(&by_binding)
            .set("Authorization", &format!("Bearer {verify_token}")),
        Some(br#"{"alg":"org.candor.latent-watermark.v1","value":"AAAA"}"#),
    );
    assert_eq!(s, 403, "{body}");
    assert!(body.contains("fetch:manifests"));
    // An upload refused for its token is read before the refusal goes out: the client, still
    // sending its file, gets the 401 and not a reset connection (the server closing on unread
    // bytes resets it).
    let big = vec![0u8; 4 << 20];
    for path in ["/v1/verify", "/v1/matches/byContent"] {
        let (s, body, _) = call(
            a.post(&server.url(path))
                .set("Authorization", "Bearer candor_nope")
                .set("Content-Type", "video/mp4"),
            Some(&big),
        );
        assert_eq!(s, 401, "{path}: {body}");
        assert!(body.contains("unknown or revoked token"), "{path}: {body}");
    }

    // A real lookup: a payload from the store answers its manifest; the manifest's bytes come back.
    let listed = candor_run(&["store", "list", "--store", store, "--json"]);
    let records: serde_json::Value = serde_json::from_str(&listed.stdout).unwrap();
    let hexed = records[0]["binding_hex"].as_str().unwrap();
    let label = records[0]["manifest_label"].as_str().unwrap().to_string();
    let value = base64_of(&hex_bytes(hexed));
    let auth = format!("Bearer {fetch_token}");
    let (s, body, _) = call(
        a.post(&by_binding)
            .set("Authorization", &auth)
            .set("Content-Type", "application/json"),
        Some(format!(r#"{{"alg":"org.candor.latent-watermark.v1","value":"{value}"}}"#).as_bytes()),
    );
    assert_eq!(s, 200, "{body}");
    assert!(body.contains(&label), "{body}");
    // Malformed JSON, bad base64: 400, and the server stays up.
    let (s, _, _) = call(
        a.post(&by_binding)
            .set("Authorization", &auth)
            .set("Content-Type", "application/json"),
        Some(b"{not json"),
    );
    assert_eq!(s, 400);
    // Bad base64 in a GET query: 400 (the third request of this token).
    let (s, _, _) = call(
        a.get(&format!("{by_binding}?alg=x&value=!!"))
            .set("Authorization", &auth),
        None,
    );
    assert_eq!(s, 400);
    // The rate limit (3 a minute): the next request is refused with Retry-After.
    let (s, _, retry) = call(
        a.get(&format!("{by_binding}?alg=x&value=!!"))
            .set("Authorization", &auth),
        None,
    );
    assert_eq!(s, 429, "rate limit");
    assert!(retry.is_some_and(|r| r.parse::<u64>().is_ok_and(|n| n >= 1)));

    // Uploads: empty → 400, too large (1 MiB limit) → 413, not a video → 422 with the report.
    let verify = server.url("/v1/verify");
    let vauth = format!("Bearer {verify_token}");
    let (s, _, _) = call(a.post(&verify).set("Authorization", &vauth), Some(b""));
    assert_eq!(s, 400);
    let big = vec![0u8; (1 << 20) + 10];
    let (s, _, _) = call(a.post(&verify).set("Authorization", &vauth), Some(&big));
    assert_eq!(s, 413);
    // The server closes a connection whose body it refused: a fresh client from here on.
    let a = agent();
    let (s, body, _) = call(
        a.post(&format!("{verify}?filename=notes.mp4"))
            .set("Authorization", &vauth),
        Some(b"this is not a video at all"),
    );
    assert_eq!(s, 422, "{body}");
    let report: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(report["status"], "error");
    assert_eq!(report["file"], "notes.mp4");
    assert!(
        !body.contains("candor-upload-"),
        "the spool path leaked: {body}"
    );
    let (s, _, _) = call(a.get(&server.url("/v1/nothing")), None);
    assert_eq!(s, 404);

    // A file built to make container parsers slow (an ftyp and 30 000 empty boxes) is refused
    // at once, unparsed.
    let mut boxes = vec![0u8, 0, 0, 16];
    boxes.extend_from_slice(b"ftypisom\0\0\0\0");
    for _ in 0..30_000 {
        boxes.extend_from_slice(&[0, 0, 0, 8]);
        boxes.extend_from_slice(b"free");
    }
    let started = std::time::Instant::now();
    let (s, body, _) = call(a.post(&verify).set("Authorization", &vauth), Some(&boxes));
    assert_eq!(s, 422, "{body}");
    assert!(body.contains("top-level ISO-BMFF boxes"), "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // A request id that could forge a log line is replaced; a plain one is kept.
    let forged = a
        .get(&server.url("/healthz"))
        .set("X-Request-Id", "x method=DELETE path=/admin} fake")
        .call()
        .unwrap();
    let id = forged
        .header("x-request-id")
        .unwrap_or_default()
        .to_string();
    assert!(!id.contains(' ') && !id.is_empty(), "{id}");
    let plain = a
        .get(&server.url("/healthz"))
        .set("X-Request-Id", "edge-42.a")
        .call()
        .unwrap();
    assert_eq!(plain.header("x-request-id"), Some("edge-42.a"));

    // Still up; the metrics counted what happened; the tokens never reached the log.
    let (s, _, _) = call(a.get(&server.url("/healthz")), None);
    assert_eq!(s, 200);
    let (_, metrics, _) = call(a.get(&server.url("/metrics")), None);
    assert!(metrics.contains("candor_rate_limited_total 1"), "{metrics}");
    assert!(
        metrics.contains("route=\"/v1/matches/byBinding\",method=\"POST\",status=\"401\""),
        "{metrics}"
    );
    let log = server.log();
    assert!(log.contains("request_id"), "{log}");
    assert!(
        !log.contains(&verify_token) && !log.contains(&fetch_token),
        "a token was logged"
    );
}

#[test]
fn another_organisations_clip_is_recovered_through_its_resolver() {
    let dir = tempfile::tempdir().unwrap();
    let d = |p: &str| dir.path().join(p).to_str().unwrap().to_string();
    // Organisation B: its own identity, store and service; it generates a clip.
    let r = candor_run(&[
        "keys",
        "init",
        "--dir",
        &d("org-b"),
        "--org",
        "Org B",
        "--name",
        "B desk",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let store_b = postgres_store("federation").unwrap_or_else(|| d("b.db"));
    let r = candor_run(&[
        "generate",
        "a red circle moving left over the sky",
        "-o",
        &d("b-clip.mp4"),
        "--seed",
        "3",
        "--identity",
        &d("org-b"),
        "--store",
        &store_b,
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // The platform re-encodes it and strips the metadata.
    strip(Path::new(&d("b-clip.mp4")), Path::new(&d("upload.mp4")));
    let b_token = token(&store_b, "fetch:manifests,verify", 600);
    let server = Server::start(
        dir.path(),
        "b",
        &["--store", &store_b, "--identity", &d("org-b")],
    );

    // B's own service, asked to verify the stripped copy, recovers its credentials.
    let body = std::fs::read(d("upload.mp4")).unwrap();
    let (s, text, _) = call(
        agent()
            .post(&server.url("/v1/verify?filename=upload.mp4"))
            .set("Authorization", &format!("Bearer {b_token}")),
        Some(&body),
    );
    assert_eq!(s, 200, "{text}");
    let report: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(report["watermark"]["recovered"]["accepted"], true, "{text}");

    // Organisation A: the default key and an empty store of its own. Without resolvers: nothing.
    let empty = d("a.db");
    let alone = candor_run(&["verify", &d("upload.mp4"), "--json", "--store", &empty]);
    assert!(
        json_lines(&alone.stdout)[0]["verdict"]
            .as_str()
            .unwrap()
            .starts_with("No provenance found"),
        "{}",
        alone.stdout
    );
    // With B's resolver: B detects its own mark by content; A checks what comes back.
    let federated = candor()
        .args([
            "verify",
            &d("upload.mp4"),
            "--json",
            "--store",
            &empty,
            "--resolver",
            &server.base,
        ])
        .env("CANDOR_RESOLVER_TOKEN", &b_token)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&federated.stdout);
    let v = &json_lines(&out)[0];
    let recovered = &v["watermark"]["recovered"];
    assert_eq!(recovered["accepted"], true, "{out}");
    assert_eq!(recovered["found_by_resolver"], true, "{out}");
    assert_eq!(recovered["signature_valid"], true);
    assert!(recovered["source"]
        .as_str()
        .unwrap()
        .starts_with(&server.base));
    assert!(
        v["verdict"]
            .as_str()
            .unwrap()
            .contains("found a Candor watermark with a key this installation does not hold"),
        "{out}"
    );
    assert!(!String::from_utf8_lossy(&federated.stderr).contains(&b_token));

    // A holds B's watermark key (shared for verification) but not its store: by binding.
    let by_binding = candor()
        .args([
            "verify",
            &d("upload.mp4"),
            "--json",
            "--store",
            &empty,
            "--watermark-key",
            &d("org-b"),
            "--resolver",
            &server.base,
        ])
        .env("CANDOR_RESOLVER_TOKEN", &b_token)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&by_binding.stdout);
    let v = &json_lines(&out)[0];
    assert_eq!(v["watermark"]["present"], true, "{out}");
    assert_eq!(v["watermark"]["recovered"]["accepted"], true, "{out}");
    assert!(
        v["verdict"]
            .as_str()
            .unwrap()
            .contains(&format!("recovered from {}/v1", server.base)),
        "{out}"
    );

    // Unrelated real footage through the same resolver: no credentials are attached to it.
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=256x256:rate=8:duration=2",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        &d("real.mp4"),
    ]);
    let real = candor()
        .args([
            "verify",
            &d("real.mp4"),
            "--json",
            "--store",
            &empty,
            "--resolver",
            &server.base,
        ])
        .env("CANDOR_RESOLVER_TOKEN", &b_token)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&real.stdout);
    let v = &json_lines(&out)[0];
    assert!(v["watermark"]["recovered"].is_null(), "{out}");
    assert!(
        v["verdict"]
            .as_str()
            .unwrap()
            .starts_with("No provenance found"),
        "{out}"
    );

    // A wrong token: the resolver refuses, and the verdict says what could not be asked.
    let refused = candor()
        .args([
            "verify",
            &d("upload.mp4"),
            "--json",
            "--store",
            &empty,
            "--resolver",
            &server.base,
        ])
        .env("CANDOR_RESOLVER_TOKEN", "candor_wrong")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&refused.stdout);
    let v = &json_lines(&out)[0];
    assert!(v["watermark"]["recovered"].is_null(), "{out}");
    let lookups = v["watermark"]["lookups"].to_string();
    assert!(lookups.contains("401"), "{lookups}");
    assert!(
        !out.contains("candor_wrong"),
        "the token leaked into the report"
    );
}

#[test]
fn two_workers_share_one_postgres_store() {
    let Some(store) = postgres_store("workers") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("clip.mp4");
    let r = candor_run(&[
        "generate",
        "a blue square moving right over the grass",
        "-o",
        clip.to_str().unwrap(),
        "--seed",
        "5",
        "--store",
        &store,
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let fetch = token(&store, "fetch:manifests", 600);
    let one = Server::start(dir.path(), "w1", &["--store", &store]);
    let two = Server::start(dir.path(), "w2", &["--store", &store]);
    let listed = candor_run(&["store", "list", "--store", &store, "--json"]);
    let records: serde_json::Value = serde_json::from_str(&listed.stdout).unwrap();
    assert_eq!(
        records.as_array().map(Vec::len),
        Some(1),
        "{}",
        listed.stdout
    );
    let label = records[0]["manifest_label"].as_str().unwrap();
    for server in [&one, &two] {
        let (s, body, _) = call(
            agent()
                .get(&server.url(&format!("/v1/manifests/{}", label.replace(':', "%3A"))))
                .set("Authorization", &format!("Bearer {fetch}")),
            None,
        );
        assert_eq!(s, 200, "{body}");
        let (s, _, _) = call(
            agent()
                .get(&server.url("/v1/manifests/urn:c2pa:nope"))
                .set("Authorization", &format!("Bearer {fetch}")),
            None,
        );
        assert_eq!(s, 404);
    }
    // A token revoked through one worker's store is refused by both.
    let list = candor_run(&["serve", "token", "list", "--store", &store, "--json"]);
    let tokens: serde_json::Value = serde_json::from_str(&list.stdout).unwrap();
    let id = tokens[0]["id"].as_i64().unwrap().to_string();
    assert_eq!(
        candor_run(&["serve", "token", "revoke", &id, "--store", &store]).code,
        0
    );
    for server in [&one, &two] {
        let (s, _, _) = call(
            agent()
                .get(&server.url(&format!("/v1/manifests/{label}")))
                .set("Authorization", &format!("Bearer {fetch}")),
            None,
        );
        assert_eq!(s, 401);
    }
}

fn openssl(args: &[&str], dir: &Path) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// nginx terminates TLS in front of the service with deploy/nginx-candor.conf as shipped;
/// federation works over https with a private CA, request ids pass through, /metrics stays
/// private.
#[test]
fn behind_nginx_with_tls() {
    if Command::new("nginx").arg("-v").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the nginx test (install-deps installs nginx)"
        );
        eprintln!("skipped: nginx is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    // A private CA and a server certificate for 127.0.0.1.
    openssl(
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=Test Proxy CA",
        ],
        p,
    );
    openssl(
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
        p,
    );
    std::fs::write(
        p.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
        p,
    );

    let store = p.join("store.db");
    let store = store.to_str().unwrap();
    std::fs::copy("tests/data/verify/store-clips.db", store).unwrap();
    let fetch = token(store, "fetch:manifests,verify", 600);
    let server = Server::start(p, "behind", &["--store", store]);
    let upstream = server.base.trim_start_matches("http://").to_string();
    let port = free_port();
    let site = std::fs::read_to_string("deploy/nginx-candor.conf")
        .unwrap()
        .replace("@LISTEN@", &format!("127.0.0.1:{port}"))
        .replace("@CERT@", p.join("server.pem").to_str().unwrap())
        .replace("@KEY@", p.join("server.key").to_str().unwrap())
        .replace("@UPSTREAM@", &upstream);
    let root = unsafe_is_root();
    let d = p.to_str().unwrap();
    let conf = format!(
        "{user}worker_processes 1;\nerror_log {d}/error.log;\npid {d}/nginx.pid;\nevents {{ worker_connections 64; }}\nhttp {{\n access_log {d}/access.log;\n client_body_temp_path {d}/body;\n proxy_temp_path {d}/proxy;\n fastcgi_temp_path {d}/fastcgi;\n uwsgi_temp_path {d}/uwsgi;\n scgi_temp_path {d}/scgi;\n{site}\n}}\n",
        user = if root { "user root;\n" } else { "" },
    );
    std::fs::write(p.join("nginx.conf"), conf).unwrap();
    let mut nginx = Command::new("nginx")
        .args([
            "-p",
            d,
            "-c",
            p.join("nginx.conf").to_str().unwrap(),
            "-g",
            "daemon off;",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nginx starts");
    struct Kill<'a>(&'a mut Child);
    impl Drop for Kill<'_> {
        fn drop(&mut self) {
            // SIGTERM: the master stops its workers too (SIGKILL would orphan them).
            let _ = Command::new("kill")
                .args(["-TERM", &self.0.id().to_string()])
                .status();
            let _ = self.0.wait();
        }
    }
    let guard = Kill(&mut nginx);
    let https = format!("https://127.0.0.1:{port}");
    let curl = |args: &[&str]| {
        Command::new("curl")
            .args([
                "-sS",
                "--cacert",
                p.join("ca.pem").to_str().unwrap(),
                "--retry",
                "20",
                "--retry-connrefused",
                "--retry-delay",
                "0",
            ])
            .args(args)
            .output()
            .expect("curl runs")
    };
    let health = curl(&["-i", &format!("{https}/healthz")]);
    let text = String::from_utf8_lossy(&health.stdout).to_string();
    assert!(
        text.starts_with("HTTP/2 200") || text.starts_with("HTTP/1.1 200"),
        "{text}{}",
        String::from_utf8_lossy(&health.stderr)
    );
    // The edge's request id (nginx's $request_id) comes back, and is in the service's log.
    let edge_id = text
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("x-request-id: ")
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_else(|| panic!("no x-request-id in {text}"));
    let metrics = curl(&[
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        &format!("{https}/metrics"),
    ]);
    assert_eq!(String::from_utf8_lossy(&metrics.stdout), "404");
    // Without the private CA the certificate is refused.
    let untrusted = Command::new("curl")
        .args(["-sS", &format!("{https}/healthz")])
        .output()
        .unwrap();
    assert!(!untrusted.status.success());

    // Federation over TLS: a stripped clip of this store, recovered through the proxy.
    let federated = candor()
        .args([
            "verify",
            "tests/data/verify/stripped.mp4",
            "--json",
            "--store",
            p.join("empty.db").to_str().unwrap(),
            "--watermark-key",
            "keys/dev",
            "--resolver",
            &https,
            "--resolver-ca",
            p.join("ca.pem").to_str().unwrap(),
        ])
        .env("CANDOR_RESOLVER_TOKEN", &fetch)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&federated.stdout);
    let v = &json_lines(&out)[0];
    assert_eq!(
        v["watermark"]["recovered"]["accepted"],
        true,
        "{out}{}",
        String::from_utf8_lossy(&federated.stderr)
    );
    assert!(v["watermark"]["recovered"]["source"]
        .as_str()
        .unwrap()
        .starts_with(&https));
    drop(guard);
    assert!(
        server.log().contains(&edge_id),
        "the edge's request id is in the service's log"
    );
}

fn unsafe_is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

#[test]
fn bad_serve_arguments_are_usage_errors() {
    let r = candor_run(&[
        "serve",
        "token",
        "create",
        "--scope",
        "root",
        "--store",
        "/tmp/x-candor-none.db",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("not a scope"), "{}", r.stderr);
    let r = candor_run(&["serve", "--store", "https://example.org/db"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let r = candor_run(&[
        "serve",
        "token",
        "revoke",
        "999",
        "--store",
        "/tmp/x-candor-none2.db",
    ]);
    assert_eq!(r.code, 2);
    let _ = std::fs::remove_file("/tmp/x-candor-none.db");
    let _ = std::fs::remove_file("/tmp/x-candor-none2.db");
    let r = candor_run(&[
        "serve",
        "--store",
        "postgres://candor:secret-pw@127.0.0.1:1/x?connect_timeout=2",
    ]);
    assert_eq!(r.code, 2);
    assert!(!r.stderr.contains("secret-pw"), "{}", r.stderr);
}

fn hex_bytes(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
