//! The HTTP client the `oauth2` crate's requests go through: our own connector (directly or
//! through the account's network connector, SOCKS5 or HTTP CONNECT), TLS verified by
//! native-tls, one request per connection (`Connection: close`), every read bounded in time
//! (per read and by the request's overall deadline) and in bytes ([`MAX_RESPONSE_BYTES`]).
//! Plain `http` only for loopback hosts (a local test server, a desktop app's redirect).

use crate::credentials::CredentialProvider;
use crate::error::{ConnectionError, ErrorCategory};
use crate::net::{self, OpDeadline, Timeouts};
use crate::typed::{Endpoint, Host, Route, TlsOptions};
use oauth2::{HttpRequest, HttpResponse};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// The largest token endpoint response read (64 KiB): token responses are a few KiB.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// One HTTP exchange at a time over [`net::open`]; implements `oauth2::SyncHttpClient`.
pub(crate) struct ConnectorHttp<'a> {
    pub route: &'a Route,
    pub creds: &'a dyn CredentialProvider,
    pub timeouts: Timeouts,
    pub tls: TlsOptions,
    pub deadline: OpDeadline,
}

impl std::fmt::Debug for ConnectorHttp<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectorHttp")
            .field("route", &self.route)
            .finish_non_exhaustive()
    }
}

/// Whether plain HTTP may be used with `host`: loopback only.
pub fn is_loopback(host: &Host) -> bool {
    match host {
        Host::Ipv4(a) => a.is_loopback(),
        Host::Ipv6(a) => a.is_loopback(),
        Host::Domain(d) => d == "localhost",
    }
}

fn http_err(message: impl Into<String>) -> ConnectionError {
    ConnectionError::new(ErrorCategory::Protocol, message)
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

impl oauth2::SyncHttpClient for ConnectorHttp<'_> {
    type Error = ConnectionError;

    fn call(&self, request: HttpRequest) -> Result<HttpResponse, ConnectionError> {
        let uri = request.uri().clone();
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(http_err("the OAuth2 endpoint URL is not http or https")),
        };
        let host_text = uri
            .host()
            .ok_or_else(|| http_err("the OAuth2 endpoint URL has no host"))?;
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let endpoint = Endpoint::parse(
            host_text.trim_start_matches('[').trim_end_matches(']'),
            port,
        )
        .ok_or_else(|| http_err("the OAuth2 endpoint URL's host is not valid"))?;
        if !https && !is_loopback(&endpoint.host) {
            return Err(ConnectionError::new(
                ErrorCategory::Tls,
                format!(
                    "the OAuth2 endpoint {endpoint} is plain http: only https is used, except \
                     for loopback hosts"
                ),
            ));
        }
        if self.deadline.expired() {
            return Err(ConnectionError::timeout(
                "calling the OAuth2 token endpoint",
                self.deadline.budget(),
            ));
        }
        let tcp = net::open(&endpoint, self.route, self.creds, &self.timeouts)?;
        let control: TcpStream = tcp
            .try_clone()
            .map_err(|e| net::io_error(e, "opening the OAuth2 connection", self.timeouts.read))?;
        let mut stream: Box<dyn ReadWrite> = if https {
            let (tls, _info) = net::tls::handshake(tcp, &endpoint.host, &self.tls, &self.timeouts)
                .map_err(|e| e.context(&endpoint))?;
            Box::new(tls)
        } else {
            Box::new(tcp)
        };

        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let host_header = match uri.port_u16() {
            Some(p) => format!("{host_text}:{p}"),
            None => host_text.to_owned(),
        };
        let mut head = format!(
            "{} {path} HTTP/1.1\r\nHost: {host_header}\r\nConnection: close\r\nContent-Length: {}\r\n",
            request.method(),
            request.body().len()
        );
        for (name, value) in request.headers() {
            let name = name.as_str();
            if name.eq_ignore_ascii_case("host")
                || name.eq_ignore_ascii_case("content-length")
                || name.eq_ignore_ascii_case("connection")
            {
                continue;
            }
            let value = value
                .to_str()
                .map_err(|_| http_err("an OAuth2 request header is not text"))?;
            if value.contains(['\r', '\n']) {
                return Err(http_err("an OAuth2 request header holds a line break"));
            }
            head.push_str(name);
            head.push_str(": ");
            head.push_str(value);
            head.push_str("\r\n");
        }
        head.push_str("\r\n");
        let bound = |d: Duration| d.min(self.deadline.left()).max(Duration::from_millis(1));
        control
            .set_write_timeout(Some(bound(self.timeouts.write)))
            .map_err(|e| net::io_error(e, "sending to the OAuth2 endpoint", self.timeouts.write))?;
        let mut out = head.into_bytes();
        out.extend_from_slice(request.body());
        stream
            .write_all(&out)
            .and_then(|()| stream.flush())
            .map_err(|e| net::io_error(e, "sending to the OAuth2 endpoint", self.timeouts.write))?;

        // Read the whole response (the server closes: Connection: close), bounded.
        let mut buf = Vec::with_capacity(4096);
        let mut chunk = [0u8; 8192];
        loop {
            if self.deadline.expired() {
                return Err(ConnectionError::timeout(
                    "reading the OAuth2 token endpoint's answer",
                    self.deadline.budget(),
                ));
            }
            control
                .set_read_timeout(Some(bound(self.timeouts.read)))
                .map_err(|e| net::io_error(e, "reading the OAuth2 answer", self.timeouts.read))?;
            let n = match stream.read(&mut chunk) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                // A TLS close without close_notify after a complete answer: take what we have.
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => 0,
                Err(e) => {
                    return Err(net::io_error(
                        e,
                        "reading the OAuth2 answer",
                        self.timeouts.read,
                    ))
                }
            };
            if n == 0 {
                break;
            }
            if buf.len() + n > MAX_RESPONSE_BYTES {
                return Err(http_err(format!(
                    "the OAuth2 endpoint {endpoint} sent more than {MAX_RESPONSE_BYTES} bytes"
                )));
            }
            buf.extend_from_slice(&chunk[..n]);
            if let Some(done) = complete_response(&buf) {
                buf.truncate(done);
                break;
            }
        }
        parse_response(&buf).map_err(|m| http_err(format!("the OAuth2 endpoint {endpoint}: {m}")))
    }
}

/// The length of a complete response in `buf` (head and a Content-Length body), if complete.
fn complete_response(buf: &[u8]) -> Option<usize> {
    let head_end = memchr::memmem::find(buf, b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&buf[..head_end]).ok()?;
    let len = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case("content-length")
            .then(|| v.trim().parse::<usize>().ok())
            .flatten()
    })?;
    (buf.len() >= head_end + len).then_some(head_end + len)
}

/// Parses a whole HTTP/1.x response (Content-Length, chunked, or up to the close).
pub(crate) fn parse_response(buf: &[u8]) -> Result<HttpResponse, String> {
    let head_end = memchr::memmem::find(buf, b"\r\n\r\n")
        .ok_or_else(|| "the answer ended before its head was complete".to_owned())?;
    let head = std::str::from_utf8(&buf[..head_end])
        .map_err(|_| "the answer's head is not text".to_owned())?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err("the answer is not HTTP/1.x".to_owned());
    }
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .filter(|s| (100..600).contains(s))
        .ok_or_else(|| "the answer has no valid status code".to_owned())?;
    let mut builder = oauth2::http::Response::builder().status(status);
    let mut content_length = None;
    let mut chunked = false;
    for line in lines {
        let (k, v) = line
            .split_once(':')
            .ok_or_else(|| "a header line of the answer has no colon".to_owned())?;
        let (k, v) = (k.trim(), v.trim());
        if k.eq_ignore_ascii_case("content-length") {
            content_length = Some(
                v.parse::<usize>()
                    .map_err(|_| "the Content-Length is not a number".to_owned())?,
            );
        } else if k.eq_ignore_ascii_case("transfer-encoding") {
            chunked = v.to_ascii_lowercase().contains("chunked");
        }
        builder = builder.header(k, v);
    }
    let rest = &buf[head_end + 4..];
    let body = if chunked {
        dechunk(rest)?
    } else if let Some(n) = content_length {
        rest.get(..n)
            .ok_or_else(|| "the answer ended before its Content-Length".to_owned())?
            .to_vec()
    } else {
        rest.to_vec()
    };
    builder
        .body(body)
        .map_err(|_| "the answer's headers are not valid".to_owned())
}

fn dechunk(mut rest: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let eol = memchr::memmem::find(rest, b"\r\n")
            .ok_or_else(|| "a chunk size line is cut".to_owned())?;
        let size_text = std::str::from_utf8(&rest[..eol]).map_err(|_| "bad chunk size")?;
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| "a chunk size is not hex".to_owned())?;
        rest = &rest[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        let data = rest
            .get(..size)
            .ok_or_else(|| "a chunk is cut".to_owned())?;
        out.extend_from_slice(data);
        rest = rest.get(size + 2..).unwrap_or_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_content_length_and_chunked_answers() {
        let r = parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}extra").unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.body(), b"{}");
        let r = parse_response(
            b"HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n2\r\n\"}\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(r.status(), 400);
        assert_eq!(r.body(), b"{\"a\"}");
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n{}").is_err());
        assert!(parse_response(b"SMTP 220\r\n\r\n").is_err());
    }

    #[test]
    fn plain_http_is_for_loopback_only() {
        assert!(is_loopback(&Host::Ipv4("127.0.0.1".parse().unwrap())));
        assert!(is_loopback(&Host::Domain("localhost".into())));
        assert!(!is_loopback(&Host::Domain(
            "login.microsoftonline.com".into()
        )));
    }
}
