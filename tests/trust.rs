//! Trust that follows the C2PA certificate policy, end to end: an identity's leaf issued by a CA
//! made with openssl (CSR → `openssl x509 -req` → `keys import` → sign → Trusted), RFC 3161
//! time-stamps from a local time-stamp authority (`openssl ts -reply` behind a loopback HTTP
//! handler), the official C2PA trust lists, and the bad input around all of them.

mod common;

use common::*;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("openssl not available: {e}"));
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A self-signed ECDSA P-256 root CA, `NAME.key` and `NAME.pem` in `dir`.
fn openssl_ca(dir: &Path, name: &str, subject: &str) -> PathBuf {
    let key = format!("{name}.key");
    let pem = format!("{name}.pem");
    openssl(
        dir,
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            &key,
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            &key,
            "-subj",
            subject,
            "-days",
            "30",
            "-sha256",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-out",
            &pem,
        ],
    );
    dir.join(pem)
}

/// Signs `csr` with the CA `ca` (from [`openssl_ca`]) using the extensions in section `ext`.
fn openssl_issue(dir: &Path, ca: &str, csr: &str, out: &str, ext: &str) {
    fs::write(
        dir.join("ext.cnf"),
        "[leaf]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n\
         extendedKeyUsage=emailProtection\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n\
         [tsa]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n\
         extendedKeyUsage=critical,timeStamping\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            csr,
            "-CA",
            &format!("{ca}.pem"),
            "-CAkey",
            &format!("{ca}.key"),
            "-CAcreateserial",
            "-days",
            "30",
            "-sha256",
            "-extfile",
            "ext.cnf",
            "-extensions",
            ext,
            "-out",
            out,
        ],
    );
}

fn init_identity(dir: &Path, name: &str) -> PathBuf {
    let id = dir.join(name);
    let r = candor_run(&[
        "keys",
        "init",
        "--dir",
        id.to_str().unwrap(),
        "--org",
        "Trust Test Newsroom",
        "--name",
        "Desk Signer",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    id
}

fn verify_json(file: &Path, extra: &[&str]) -> (i32, serde_json::Value) {
    let mut args = vec!["verify", file.to_str().unwrap(), "--no-watermark", "--json"];
    args.extend_from_slice(extra);
    let r = candor_run(&args);
    assert!(r.code == 0 || r.code == 1, "exit {}: {}", r.code, r.stderr);
    let lines = json_lines(&r.stdout);
    (r.code, lines[0].clone())
}

fn state(report: &serde_json::Value) -> &str {
    report["manifest"]["state"].as_str().unwrap_or("?")
}

fn sign(input: &Path, output: &Path, id: &Path, extra: &[&str]) -> Run {
    let mut args = vec![
        "sign",
        input.to_str().unwrap(),
        "-o",
        output.to_str().unwrap(),
        "--identity",
        id.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    candor_run(&args)
}

#[test]
fn a_leaf_issued_by_an_openssl_ca_from_our_csr_is_imported_and_trusted_against_that_ca() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let id = init_identity(d, "newsroom");
    let csr = d.join("leaf.csr");
    let r = candor_run(&[
        "keys",
        "csr",
        "--dir",
        id.to_str().unwrap(),
        "-o",
        csr.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = fs::read_to_string(&csr).unwrap();
    assert!(text.starts_with("-----BEGIN CERTIFICATE REQUEST-----"));
    assert!(!text.contains("PRIVATE KEY") && !r.stdout.contains("PRIVATE KEY"));
    // openssl checks the request's self-signature and reads our subject back.
    let out = Command::new("openssl")
        .args([
            "req",
            "-in",
            csr.to_str().unwrap(),
            "-noout",
            "-verify",
            "-subject",
        ])
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("Desk Signer") && said.contains("Trust Test Newsroom"),
        "{said}"
    );

    let ca = openssl_ca(d, "ca", "/O=Trust Test CA/CN=Trust Test Root");
    openssl_issue(d, "ca", "leaf.csr", "leaf.pem", "leaf");
    let r = candor_run(&[
        "keys",
        "import",
        "--dir",
        id.to_str().unwrap(),
        "--cert",
        d.join("leaf.pem").to_str().unwrap(),
        "--chain",
        ca.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lf = |p: &Path| fs::read_to_string(p).unwrap().replace('\r', "");
    assert_eq!(
        lf(&id.join("root.pem")),
        lf(&ca),
        "root.pem is the CA's root"
    );

    let clip = h264_clip(d, "clip.mp4");
    let signed = d.join("signed.mp4");
    let r = sign(&clip, &signed, &id, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (code, report) = verify_json(&signed, &["--trust", ca.to_str().unwrap()]);
    assert_eq!(state(&report), "trusted", "{report}");
    assert_eq!(code, 0);
    assert_eq!(report["manifest"]["signer"]["common_name"], "Desk Signer");
    // The same CA as a TSA anchor only trusts time-stamps, never the claim signer it issued.
    let (_, report) = verify_json(&signed, &["--tsa-trust-list", ca.to_str().unwrap()]);
    assert_eq!(state(&report), "valid", "{report}");
    // As a trust-list CA it does.
    let (_, report) = verify_json(&signed, &["--trust-list", ca.to_str().unwrap()]);
    assert_eq!(state(&report), "trusted", "{report}");
    // Another CA does not make it trusted.
    let other = openssl_ca(d, "other", "/O=Other CA/CN=Other Root");
    let (_, report) = verify_json(&signed, &["--trust", other.to_str().unwrap()]);
    assert_eq!(state(&report), "valid", "{report}");
}

#[test]
fn keys_csr_and_import_refuse_bad_input_with_exit_2_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A CSR for an identity that does not exist.
    let missing = d.join("nobody");
    let r = candor_run(&[
        "keys",
        "csr",
        "--dir",
        missing.to_str().unwrap(),
        "-o",
        d.join("x.csr").to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("no such directory"), "{}", r.stderr);
    assert!(!d.join("x.csr").exists());

    // A certificate for another identity's key.
    let a = init_identity(d, "a");
    let b = init_identity(d, "b");
    let before = fs::read(a.join("chain.pem")).unwrap();
    let r = candor_run(&[
        "keys",
        "import",
        "--dir",
        a.to_str().unwrap(),
        "--cert",
        b.join("chain.pem").to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("certifies a different key"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("PRIVATE"), "{}", r.stderr);
    assert_eq!(fs::read(a.join("chain.pem")).unwrap(), before);
    assert!(a.join("root.pem").is_file());

    // A CA certificate (the identity's own root) offered as the leaf: right file type, wrong shape.
    let r = candor_run(&[
        "keys",
        "import",
        "--dir",
        a.to_str().unwrap(),
        "--cert",
        a.join("root.pem").to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);

    // Not a certificate at all, and a file that is not there.
    let junk = d.join("junk.pem");
    fs::write(&junk, "hello").unwrap();
    for cert in [junk.to_str().unwrap(), "/nonexistent/leaf.pem"] {
        let r = candor_run(&[
            "keys",
            "import",
            "--dir",
            a.to_str().unwrap(),
            "--cert",
            cert,
        ]);
        assert_eq!(r.code, 2, "{cert}: {}", r.stderr);
    }
    assert_eq!(fs::read(a.join("chain.pem")).unwrap(), before);
}

#[test]
fn keys_init_makes_an_ecdsa_ca_and_an_ed25519_leaf_that_openssl_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let id = init_identity(dir.path(), "id");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(id.join("ca.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let root = id.join("root.pem");
    let text = |args: &[&str]| {
        let out = Command::new("openssl").args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let root_text = text(&["x509", "-in", root.to_str().unwrap(), "-noout", "-text"]);
    assert!(
        root_text.contains("id-ecPublicKey") && root_text.contains("prime256v1"),
        "{root_text}"
    );
    assert!(
        root_text.contains("CA:TRUE") && root_text.contains("Certificate Sign"),
        "{root_text}"
    );
    // chain.pem starts with the leaf.
    let leaf_text = text(&[
        "x509",
        "-in",
        id.join("chain.pem").to_str().unwrap(),
        "-noout",
        "-text",
    ]);
    assert!(leaf_text.contains("ED25519"), "{leaf_text}");
    assert!(
        leaf_text.contains("CA:FALSE") && leaf_text.contains("Digital Signature"),
        "{leaf_text}"
    );
    assert!(leaf_text.contains("E-mail Protection"), "{leaf_text}");
    assert!(
        leaf_text.contains("Authority Key Identifier")
            && leaf_text.contains("Subject Key Identifier")
    );
    let verified = text(&[
        "verify",
        "-CAfile",
        root.to_str().unwrap(),
        id.join("chain.pem").to_str().unwrap(),
    ]);
    assert!(verified.contains("OK"), "{verified}");
}

/// A local RFC 3161 time-stamp authority: `openssl ts -reply` behind a loopback HTTP handler.
struct LocalTsa {
    url: String,
    root: PathBuf,
}

fn local_tsa(dir: &Path) -> LocalTsa {
    let tsa_dir = dir.join("tsa");
    fs::create_dir_all(&tsa_dir).unwrap();
    let root = openssl_ca(&tsa_dir, "tsaroot", "/O=Local TSA Org/CN=Local TSA Root");
    openssl(
        &tsa_dir,
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "tsa.key",
        ],
    );
    openssl(
        &tsa_dir,
        &[
            "req",
            "-new",
            "-key",
            "tsa.key",
            "-subj",
            "/O=Local TSA Org/CN=Local TSA",
            "-out",
            "tsa.csr",
        ],
    );
    openssl_issue(&tsa_dir, "tsaroot", "tsa.csr", "tsa.pem", "tsa");
    let config = tsa_dir.join("ts.cnf");
    fs::write(
        &config,
        format!(
            "[tsa]\ndefault_tsa = tsa_config\n[tsa_config]\ndir = {dir}\nserial = $dir/serial\n\
             crypto_device = builtin\nsigner_cert = $dir/tsa.pem\ncerts = $dir/tsaroot.pem\n\
             signer_key = $dir/tsa.key\nsigner_digest = sha256\ndefault_policy = 1.2.3.4.1\n\
             digests = sha256, sha384, sha512\naccuracy = secs:1\nordering = yes\ntsa_name = yes\n\
             ess_cert_id_chain = no\ness_cert_id_alg = sha256\n",
            dir = tsa_dir.display()
        ),
    )
    .unwrap();
    fs::write(tsa_dir.join("serial"), "01\n").unwrap();

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/tsa", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.split_once(':') {
                    if name.eq_ignore_ascii_case("content-length") {
                        length = value.trim().parse().unwrap_or(0);
                    }
                }
            }
            let mut body = vec![0u8; length];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            let query = tsa_dir.join(format!("q{n}.tsq"));
            let reply = tsa_dir.join(format!("r{n}.tsr"));
            fs::write(&query, &body).unwrap();
            let ok = Command::new("openssl")
                .args(["ts", "-reply", "-config"])
                .arg(&config)
                .arg("-queryfile")
                .arg(&query)
                .arg("-out")
                .arg(&reply)
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false);
            let answer = if ok {
                let bytes = fs::read(&reply).unwrap();
                let mut a = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/timestamp-reply\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    bytes.len()
                )
                .into_bytes();
                a.extend_from_slice(&bytes);
                a
            } else {
                b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n".to_vec()
            };
            let _ = stream.write_all(&answer);
        }
    });
    LocalTsa { url, root }
}

/// A loopback HTTP server that answers every request with `answer`.
/// Reads one HTTP/1.1 request: the head, then `Content-Length` bytes of body.
fn read_http_request(stream: &mut std::net::TcpStream) {
    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(10)));
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if got.len() >= end + 4 + length {
                return;
            }
        }
        match stream.read(&mut buf) {
            Ok(n) if n > 0 => got.extend_from_slice(&buf[..n]),
            _ => return,
        }
    }
}

fn fixed_server(answer: &'static [u8]) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            // Read the whole request (head and body) before answering:
            // closing a socket with unread bytes makes the kernel send a
            // reset, which can reach the client before the answer does.
            read_http_request(&mut stream);
            let _ = stream.write_all(answer);
            let _ = stream.flush();
            let _ = stream.shutdown(std::net::Shutdown::Write);
            let mut rest = [0u8; 1024];
            while matches!(stream.read(&mut rest), Ok(n) if n > 0) {}
        }
    });
    url
}

#[test]
fn a_signature_time_stamped_by_a_local_tsa_shows_its_time_trusted_only_with_the_tsa_root() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let tsa = local_tsa(d);
    let id = init_identity(d, "id");
    let clip = h264_clip(d, "clip.mp4");
    let signed = d.join("stamped.mp4");
    let r = sign(&clip, &signed, &id, &["--tsa", &tsa.url]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("time-stamp"), "{}", r.stdout);

    let root = id.join("root.pem");
    let (code, report) = verify_json(&signed, &["--trust", root.to_str().unwrap()]);
    assert_eq!((code, state(&report)), (0, "trusted"), "{report}");
    let signer = &report["manifest"]["signer"];
    assert_eq!(signer["time_stamped"], true, "{report}");
    assert_eq!(signer["time_stamp_trusted"], false, "{report}");
    let time = signer["signing_time"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(time.starts_with("20"), "the TSA's time: {report}");

    // With the TSA's root as a TSA anchor, the time-stamp is trusted; the signer still by its root.
    let tsa_root = tsa.root.to_str().unwrap();
    let (_, report) = verify_json(
        &signed,
        &[
            "--trust",
            root.to_str().unwrap(),
            "--tsa-trust-list",
            tsa_root,
        ],
    );
    assert_eq!(state(&report), "trusted", "{report}");
    assert_eq!(
        report["manifest"]["signer"]["time_stamp_trusted"], true,
        "{report}"
    );
    assert_eq!(report["manifest"]["signer"]["signing_time"], time.as_str());

    // A TSA anchor trusts time-stamps only, never the claim signer.
    let (_, report) = verify_json(&signed, &["--tsa-trust-list", tsa_root]);
    assert_eq!(state(&report), "valid", "{report}");
    assert_eq!(
        report["manifest"]["signer"]["time_stamp_trusted"], true,
        "{report}"
    );

    // The text report says it in words.
    let r = candor_run(&[
        "verify",
        signed.to_str().unwrap(),
        "--no-watermark",
        "--trust",
        root.to_str().unwrap(),
        "--tsa-trust-list",
        tsa_root,
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains(&time), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("time-stamped by a trusted time-stamp authority"),
        "{}",
        r.stdout
    );

    // Unstamped signatures keep saying the time is the signer's own claim.
    let plain = d.join("plain.mp4");
    assert_eq!(sign(&clip, &plain, &id, &[]).code, 0);
    let (_, report) = verify_json(&plain, &["--tsa-trust-list", tsa_root]);
    assert_eq!(
        report["manifest"]["signer"]["time_stamped"], false,
        "{report}"
    );
    assert!(report["manifest"]["signer"]
        .get("time_stamp_trusted")
        .is_none());
}

#[test]
fn a_failing_tsa_is_a_clear_error_with_exit_2_and_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let clip = h264_clip(d, "clip.mp4");
    let id = init_identity(d, "id");
    // Nothing listens on a port just released.
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/tsa", l.local_addr().unwrap())
    };
    let error_page = fixed_server(b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/html\r\nContent-Length: 4\r\n\r\noops");
    let not_a_reply = fixed_server(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/timestamp-reply\r\nContent-Length: 5\r\n\r\nhello",
    );
    for (url, words) in [
        (closed.as_str(), "could not reach it"),
        (error_page.as_str(), "HTTP 500"),
        (not_a_reply.as_str(), "time-stamp authority"),
        ("https://tsa.example/", "only http://"),
        ("not a url", "not a URL"),
    ] {
        let out = d.join("out.mp4");
        let r = sign(&clip, &out, &id, &["--tsa", url]);
        assert_eq!(r.code, 2, "{url}: {}", r.stderr);
        assert!(
            r.stderr.contains("time-stamp authority"),
            "{url}: {}",
            r.stderr
        );
        assert!(r.stderr.contains(words), "{url}: {}", r.stderr);
        assert!(!out.exists(), "{url}: no unstamped output may be left");
        let leftovers: Vec<_> = fs::read_dir(d)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains("partial"))
            .collect();
        assert!(leftovers.is_empty(), "{url}: staging files left");
    }
}

fn shared_trust(name: &str) -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/fixtures/c2pa/trust")
        .join(name);
    if path.is_file() {
        Some(path)
    } else {
        eprintln!(
            "SKIPPED: {} not found (the C2PA trust lists live in ../shared beside the checkout)",
            path.display()
        );
        None
    }
}

#[test]
fn the_official_c2pa_trust_lists_load_and_do_not_trust_a_private_signer() {
    let (Some(list), Some(tsa_list)) = (
        shared_trust("C2PA-TRUST-LIST.pem"),
        shared_trust("C2PA-TSA-TRUST-LIST.pem"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let id = init_identity(d, "id");
    let clip = h264_clip(d, "clip.mp4");
    let signed = d.join("signed.mp4");
    assert_eq!(sign(&clip, &signed, &id, &[]).code, 0);
    let (code, report) = verify_json(
        &signed,
        &[
            "--trust-list",
            list.to_str().unwrap(),
            "--tsa-trust-list",
            tsa_list.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{report}");
    assert_eq!(state(&report), "valid", "{report}");
    assert_eq!(report["manifest"]["trust_configured"], true);
    assert!(
        report["manifest"]["failures"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "signingCredential.untrusted"),
        "{report}"
    );
    // The trust list and the identity's own root together: trusted by the root.
    let (_, report) = verify_json(
        &signed,
        &[
            "--trust-list",
            list.to_str().unwrap(),
            "--trust",
            id.join("root.pem").to_str().unwrap(),
        ],
    );
    assert_eq!(state(&report), "trusted", "{report}");
}

#[test]
fn a_malformed_trust_list_is_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let clip = h264_clip(d, "clip.mp4");
    let empty = d.join("empty.pem");
    fs::write(&empty, "Subject\tCN=nothing here\n").unwrap();
    let garbage = d.join("garbage.pem");
    fs::write(
        &garbage,
        "-----BEGIN CERTIFICATE-----\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let broken = d.join("broken.pem");
    fs::write(&broken, "-----BEGIN CERTIFICATE-----\n!!!!\n").unwrap();
    for flag in ["--trust-list", "--tsa-trust-list"] {
        for file in [&empty, &garbage, &broken, &d.join("missing.pem")] {
            let r = candor_run(&[
                "verify",
                clip.to_str().unwrap(),
                "--no-watermark",
                flag,
                file.to_str().unwrap(),
            ]);
            assert_eq!(r.code, 2, "{flag} {}: {}", file.display(), r.stderr);
            assert!(
                r.stderr
                    .contains(file.file_name().unwrap().to_str().unwrap()),
                "the error names the file: {}",
                r.stderr
            );
        }
    }
}

#[test]
fn a_generated_clip_records_c2pa_watermarked_and_carries_the_tsa_time_stamp() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let tsa = local_tsa(d);
    let out = d.join("gen.mp4");
    let store = d.join("store.db");
    let generate = |out: &Path, url: &str| {
        candor_run(&[
            "generate",
            "a red circle moving left over the sky",
            "-o",
            out.to_str().unwrap(),
            "--store",
            store.to_str().unwrap(),
            "--frames",
            "4",
            "--steps",
            "2",
            "--tsa",
            url,
        ])
    };
    let r = generate(&out, &tsa.url);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (code, report) = verify_json(
        &out,
        &[
            "--trust",
            "keys/dev/root.pem",
            "--tsa-trust-list",
            tsa.root.to_str().unwrap(),
        ],
    );
    assert_eq!((code, state(&report)), (0, "trusted"), "{report}");
    let manifest = &report["manifest"];
    assert_eq!(manifest["failures"], serde_json::json!([]), "{report}");
    let actions: Vec<&str> = manifest["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["action"].as_str())
        .collect();
    assert!(actions.contains(&"c2pa.created"), "{actions:?}");
    assert!(actions.contains(&"c2pa.watermarked"), "{actions:?}");
    assert_eq!(manifest["signer"]["time_stamped"], true, "{report}");
    assert_eq!(manifest["signer"]["time_stamp_trusted"], true, "{report}");

    // An unreachable TSA: exit 2 and no clip left behind, signed or not.
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/tsa", l.local_addr().unwrap())
    };
    let failed = d.join("failed.mp4");
    let r = generate(&failed, &closed);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("time-stamp authority"), "{}", r.stderr);
    assert!(!failed.exists());
    let left: Vec<_> = fs::read_dir(d)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".candor"))
        .collect();
    assert!(left.is_empty(), "intermediate files left: {left:?}");
}
