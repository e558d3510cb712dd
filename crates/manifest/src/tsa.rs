//! RFC 3161 time-stamps: the plain-HTTP client c2pa-rs asks a time-stamp authority through.
//!
//! Candor builds c2pa-rs without its HTTP clients (`default-features = false`: no network while
//! reading). Signing with `--tsa URL` needs one request, so this module holds a small HTTP/1.1
//! client over `std::net` and hands it to c2pa-rs as its resolver: c2pa-rs still builds the
//! `application/timestamp-query`, checks the reply's nonce and the token's signature over the
//! claim signature. Only `http://` is spoken: a time-stamp token is signed by the TSA, so TLS
//! would add no integrity, and public TSAs serve RFC 3161 over plain HTTP.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use c2pa::http::http::{self, Request, Response};
use c2pa::http::{HttpResolverError, SyncHttpResolver};

use crate::error::{ManifestError, Result};

/// How long connecting, and each read or write, may take.
const TIMEOUT: Duration = Duration::from_secs(20);
/// The most a reply may hold (a time-stamp token with its certificates is a few kilobytes).
const MAX_REPLY: u64 = 1 << 20;

/// Checks that `url` is a time-stamp authority URL this client can reach (`http://host[:port]/path`).
pub fn check_tsa_url(url: &str) -> Result<()> {
    let bad = |reason: &str| ManifestError::TimeStamp {
        url: url.to_string(),
        reason: reason.to_string(),
    };
    let uri: http::Uri = url
        .parse()
        .map_err(|_| bad("not a URL (expected http://host[:port]/path)"))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") => {
            return Err(bad(
                "only http:// time-stamp authorities are supported (RFC 3161 replies are signed, \
                 so TLS adds no integrity; most TSAs serve plain HTTP)",
            ))
        }
        _ => return Err(bad("not an http:// URL")),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(bad("the URL names no host"));
    }
    Ok(())
}

/// The resolver c2pa-rs sends its time-stamp request through.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct PlainHttp;

fn io_error(kind: std::io::ErrorKind, message: impl Into<String>) -> HttpResolverError {
    HttpResolverError::Io(std::io::Error::new(kind, message.into()))
}

impl SyncHttpResolver for PlainHttp {
    fn http_resolve(
        &self,
        request: Request<Vec<u8>>,
    ) -> std::result::Result<Response<Box<dyn Read>>, HttpResolverError> {
        use std::io::ErrorKind::{InvalidData, InvalidInput};
        let uri = request.uri().clone();
        if uri.scheme_str() != Some("http") {
            return Err(io_error(InvalidInput, "only http:// URLs are supported"));
        }
        let host = uri
            .host()
            .ok_or_else(|| io_error(InvalidInput, "the URL names no host"))?;
        let port = uri.port_u16().unwrap_or(80);
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let mut stream = connect(host, port)?;
        stream.set_read_timeout(Some(TIMEOUT))?;
        stream.set_write_timeout(Some(TIMEOUT))?;

        let host_header = match uri.port_u16() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_string(),
        };
        let mut head = format!(
            "{} {path} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: candor/{}\r\nConnection: close\r\nContent-Length: {}\r\n",
            request.method(),
            env!("CARGO_PKG_VERSION"),
            request.body().len()
        );
        for (name, value) in request.headers() {
            let value = value
                .to_str()
                .map_err(|_| io_error(InvalidInput, "a request header is not text"))?;
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes())?;
        stream.write_all(request.body())?;
        stream.flush()?;

        let mut reply = Vec::new();
        stream.take(MAX_REPLY + 1).read_to_end(&mut reply)?;
        if reply.len() as u64 > MAX_REPLY {
            return Err(io_error(InvalidData, "the reply is larger than 1 MiB"));
        }
        parse_reply(&reply)
    }
}

fn connect(host: &str, port: u16) -> std::result::Result<TcpStream, HttpResolverError> {
    let mut last = None;
    for addr in (host, port).to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, TIMEOUT) {
            Ok(stream) => return Ok(stream),
            Err(e) => last = Some(e),
        }
    }
    Err(HttpResolverError::Io(last.unwrap_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{host} has no address"),
        )
    })))
}

/// Parses an HTTP/1.x reply (status line, headers, a body sized by Content-Length, chunked, or
/// up to the end of the connection).
fn parse_reply(reply: &[u8]) -> std::result::Result<Response<Box<dyn Read>>, HttpResolverError> {
    use std::io::ErrorKind::InvalidData;
    let bad = |what: &str| io_error(InvalidData, format!("not an HTTP reply ({what})"));
    let split = reply
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no end of headers"))?;
    let head = std::str::from_utf8(&reply[..split]).map_err(|_| bad("headers are not text"))?;
    let mut body = reply[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.split(' ');
    if !parts.next().unwrap_or_default().starts_with("HTTP/1.") {
        return Err(bad("no HTTP/1.x status line"));
    }
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("no status code"))?;
    let mut builder = Response::builder().status(status);
    let mut chunked = false;
    let mut length = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            return Err(bad("a header without ':'"));
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("transfer-encoding") && value.eq_ignore_ascii_case("chunked") {
            chunked = true;
            continue;
        }
        if name.eq_ignore_ascii_case("content-length") {
            length = Some(
                value
                    .parse::<usize>()
                    .map_err(|_| bad("Content-Length is not a number"))?,
            );
        }
        builder = builder.header(name.trim(), value);
    }
    if chunked {
        body = dechunk(&body).ok_or_else(|| bad("malformed chunked body"))?;
    } else if let Some(n) = length {
        if body.len() < n {
            return Err(bad("the body is shorter than its Content-Length"));
        }
        body.truncate(n);
    }
    builder
        .body(Box::new(std::io::Cursor::new(body)) as Box<dyn Read>)
        .map_err(HttpResolverError::Http)
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..line_end]).ok()?;
        let size_text = size_text.split(';').next()?.trim();
        let size = usize::from_str_radix(size_text, 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;

    fn body(mut r: Response<Box<dyn Read>>) -> Vec<u8> {
        let mut out = Vec::new();
        let _ = r.body_mut().read_to_end(&mut out);
        out
    }

    #[test]
    fn urls_other_than_http_are_refused_in_words() {
        assert!(check_tsa_url("http://127.0.0.1:8080/tsa").is_ok());
        assert!(check_tsa_url("http://timestamp.example/").is_ok());
        for bad in [
            "https://tsa.example/",
            "ftp://x/",
            "not a url",
            "http:///path",
        ] {
            let err = check_tsa_url(bad)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains(bad), "{bad}: {err}");
        }
    }

    #[test]
    fn replies_with_length_chunks_or_neither_parse() {
        let r = parse_reply(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/timestamp-reply\r\nContent-Length: 3\r\n\r\nabcdef",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/timestamp-reply")
        );
        assert_eq!(body(r), b"abc");
        let r = parse_reply(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(body(r), b"abcde");
        let r = parse_reply(b"HTTP/1.0 500 Oops\r\n\r\nboom").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), 500);
        assert_eq!(body(r), b"boom");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for reply in [
            &b""[..],
            b"hello",
            b"SSH-2.0\r\n\r\n",
            b"HTTP/1.1 abc\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\nshort",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        ] {
            assert!(parse_reply(reply).is_err(), "{reply:?}");
        }
    }
}
