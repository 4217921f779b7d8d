//! `net` against the real local servers: direct, SOCKS5 and HTTP CONNECT routes; implicit TLS
//! and STARTTLS with the valid, self-signed, expired and wrong-host certificates; every failure
//! category a connection check reports.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mail_settings_core::net::{self, MailStream, Timeouts, TlsVersion};
use mail_settings_core::typed::{ConnectionSettings, TlsOptions};
use mail_settings_core::{
    ConnectorKind, CredentialId, Endpoint, ErrorCategory, InMemoryCredentials, NetworkConnector,
    ProxyHop, Route, Security,
};
use mail_settings_tests::servers;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

fn ep(host: &str, port: u16) -> Endpoint {
    Endpoint::parse(host, port).unwrap()
}

fn trusted() -> TlsOptions {
    TlsOptions {
        verify: true,
        ca_file: Some(servers().ca_file()),
    }
}

fn unverified() -> TlsOptions {
    TlsOptions {
        verify: false,
        ca_file: None,
    }
}

fn settings(
    port_key: &str,
    security: Security,
    tls: TlsOptions,
    route: Route,
) -> ConnectionSettings {
    ConnectionSettings {
        endpoint: ep("localhost", servers().port(port_key)),
        security,
        tls,
        route,
    }
}

fn creds() -> InMemoryCredentials {
    servers().credentials_for("nobody@example.test")
}

fn socks(port_key: &str, credential: Option<&str>) -> Route {
    Route::Proxy(NetworkConnector::new(
        ConnectorKind::Socks5,
        ep("127.0.0.1", servers().port(port_key)),
        credential.map(CredentialId::new),
    ))
}

fn http(port_key: &str, credential: Option<&str>) -> Route {
    Route::Proxy(NetworkConnector::new(
        ConnectorKind::HttpConnect,
        ep("127.0.0.1", servers().port(port_key)),
        credential.map(CredentialId::new),
    ))
}

/// Reads one line (the POP3 greeting) from a stream.
fn greeting(stream: &mut MailStream) -> String {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while !line.ends_with(b"\r\n") {
        let n = stream.read(&mut byte).unwrap();
        assert_eq!(n, 1, "connection closed before the greeting ended");
        line.push(byte[0]);
    }
    String::from_utf8(line).unwrap()
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A listener that accepts and never says anything; kept open by the returned thread until
/// the process ends.
fn silent_listener() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in l.incoming() {
            held.push(s);
        }
    });
    port
}

fn all_routes() -> Vec<(&'static str, Route)> {
    vec![
        ("direct", Route::Direct),
        ("socks5", socks("MS_SOCKS5_PORT", None)),
        ("socks5+auth", socks("MS_SOCKS5_AUTH_PORT", Some("proxy"))),
        ("http", http("MS_HTTP_PROXY_PORT", None)),
        ("http+auth", http("MS_HTTP_PROXY_AUTH_PORT", Some("proxy"))),
    ]
}

#[test]
fn implicit_tls_with_the_test_ca_over_every_route() {
    for (name, route) in all_routes() {
        let s = settings("MS_POP3S_PORT", Security::ImplicitTls, trusted(), route);
        let (mut stream, info) = net::connect(&s, &creds(), &Timeouts::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(stream.is_tls(), "{name}");
        assert!(greeting(&mut stream).starts_with("+OK"), "{name}");
        let info = info.expect("implicit TLS gives TlsInfo");
        assert!(info.verified, "{name}");
        assert!(
            matches!(info.version, Some(TlsVersion::Tls12 | TlsVersion::Tls13)),
            "{name}: {:?}",
            info.version
        );
        assert!(info.cipher_suite.is_some(), "{name}");
        let cert = info.certificate.expect("peer certificate");
        assert!(
            cert.subject.contains("localhost"),
            "{name}: {}",
            cert.subject
        );
        assert!(
            cert.subject_alt_names.iter().any(|n| n == "localhost"),
            "{name}: {:?}",
            cert.subject_alt_names
        );
        assert_ne!(cert.subject, cert.issuer, "{name}: signed by the test CA");
        assert!(cert.not_before < cert.not_after);
    }
}

#[test]
fn plain_settings_give_a_plain_stream_and_starttls_upgrades_it() {
    for (name, route) in all_routes() {
        let s = settings("MS_POP3_PORT", Security::StartTls, trusted(), route);
        let (mut stream, info) = net::connect(&s, &creds(), &Timeouts::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(info.is_none(), "{name}");
        assert!(!stream.is_tls(), "{name}");
        assert!(greeting(&mut stream).starts_with("+OK"), "{name}");
        stream.write_all(b"STLS\r\n").unwrap();
        assert!(greeting(&mut stream).starts_with("+OK"), "{name}");
        let (mut tls, info) = stream
            .upgrade_to_tls(&s.endpoint.host, &s.tls, &Timeouts::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(tls.is_tls() && info.verified, "{name}");
        tls.write_all(b"CAPA\r\n").unwrap();
        assert!(greeting(&mut tls).starts_with("+OK"), "{name}");

        // STARTTLS twice is refused.
        let err = tls
            .upgrade_to_tls(&s.endpoint.host, &s.tls, &Timeouts::default())
            .unwrap_err();
        assert!(err.is_tls(), "{name}: {err}");
    }
}

#[test]
fn bad_certificates_are_certificate_errors_and_pass_with_verification_off() {
    let cases = [
        ("MS_POP3S_SELFSIGNED_PORT", "self-signed"),
        ("MS_POP3S_EXPIRED_PORT", "expired"),
        ("MS_POP3S_WRONGHOST_PORT", "another host name"),
    ];
    for (key, words) in cases {
        let s = settings(key, Security::ImplicitTls, trusted(), Route::Direct);
        let err = net::connect(&s, &creds(), &Timeouts::default()).unwrap_err();
        assert_eq!(err.category(), ErrorCategory::Certificate, "{key}: {err}");
        assert!(err.is_tls());
        assert!(err.message().contains(words), "{key}: {err}");

        let s = settings(key, Security::ImplicitTls, unverified(), Route::Direct);
        let (mut stream, info) = net::connect(&s, &creds(), &Timeouts::default())
            .unwrap_or_else(|e| panic!("{key} with verification off: {e}"));
        assert!(!info.unwrap().verified);
        assert!(greeting(&mut stream).starts_with("+OK"), "{key}");
    }
}

#[test]
fn bad_certificates_are_rejected_through_starttls_and_through_a_proxy_too() {
    // STARTTLS on the expired port.
    let s = settings(
        "MS_POP3_EXPIRED_PORT",
        Security::StartTls,
        trusted(),
        Route::Direct,
    );
    let (mut stream, _) = net::connect(&s, &creds(), &Timeouts::default()).unwrap();
    greeting(&mut stream);
    stream.write_all(b"STLS\r\n").unwrap();
    assert!(greeting(&mut stream).starts_with("+OK"));
    let err = stream
        .upgrade_to_tls(&s.endpoint.host, &s.tls, &Timeouts::default())
        .unwrap_err();
    assert!(
        err.is_certificate() && err.message().contains("expired"),
        "{err}"
    );

    // Wrong host through SOCKS5: the name checked is the target's, not the proxy's.
    let s = settings(
        "MS_POP3S_WRONGHOST_PORT",
        Security::ImplicitTls,
        trusted(),
        socks("MS_SOCKS5_PORT", None),
    );
    let err = net::connect(&s, &creds(), &Timeouts::default()).unwrap_err();
    assert!(
        err.is_certificate() && err.message().contains("another host name"),
        "{err}"
    );
}

#[test]
fn without_the_test_ca_the_valid_certificate_has_an_unknown_authority() {
    let s = settings(
        "MS_POP3S_PORT",
        Security::ImplicitTls,
        TlsOptions::verified(),
        Route::Direct,
    );
    let err = net::connect(&s, &creds(), &Timeouts::default()).unwrap_err();
    assert!(err.is_certificate(), "{err}");
    assert!(
        err.message().contains("unknown certificate authority"),
        "{err}"
    );
}

#[test]
fn implicit_tls_on_a_clear_port_is_a_tls_error() {
    let s = settings(
        "MS_POP3_PORT",
        Security::ImplicitTls,
        trusted(),
        Route::Direct,
    );
    let err = net::connect(&s, &creds(), &Timeouts::default()).unwrap_err();
    assert_eq!(err.category(), ErrorCategory::Tls, "{err}");
    assert!(err.message().contains("did not answer with TLS"), "{err}");
}

#[test]
fn closed_port_is_a_connect_error_and_unknown_host_a_dns_error() {
    let s = ConnectionSettings {
        endpoint: ep("127.0.0.1", closed_port()),
        security: Security::Clear,
        tls: trusted(),
        route: Route::Direct,
    };
    let err = net::connect(&s, &creds(), &Timeouts::default()).unwrap_err();
    assert!(err.is_connect() && !err.is_dns(), "{err}");
    assert!(err.message().contains("refused"), "{err}");

    let s = ConnectionSettings {
        endpoint: ep("no-such-host.invalid", 110),
        ..s
    };
    let err = net::connect(&s, &creds(), &Timeouts::default()).unwrap_err();
    assert!(err.is_dns(), "{err}");
}

#[test]
fn proxy_credentials_wrong_or_missing_are_proxy_auth() {
    for route in [
        socks("MS_SOCKS5_AUTH_PORT", Some("wrong-proxy")),
        socks("MS_SOCKS5_AUTH_PORT", None),
        http("MS_HTTP_PROXY_AUTH_PORT", Some("wrong-proxy")),
        http("MS_HTTP_PROXY_AUTH_PORT", None),
    ] {
        let s = settings("MS_POP3_PORT", Security::Clear, trusted(), route.clone());
        let err = net::connect(&s, &creds(), &Timeouts::default()).unwrap_err();
        assert!(err.is_proxy(), "{route:?}: {err}");
        assert_eq!(err.hop(), Some(ProxyHop::ProxyAuth), "{route:?}: {err}");
        let text = format!("{err} {err:?}");
        assert!(!text.contains("nope"), "the wrong password leaked: {text}");
        assert!(
            !text.contains(servers().value("MS_PROXY_PASSWORD")),
            "the proxy password leaked: {text}"
        );
    }
    // The message names the hop and the proxy.
    let s = settings(
        "MS_POP3_PORT",
        Security::Clear,
        trusted(),
        socks("MS_SOCKS5_AUTH_PORT", Some("wrong-proxy")),
    );
    let err = net::connect(&s, &creds(), &Timeouts::default()).unwrap_err();
    assert_eq!(
        err.message(),
        format!(
            "SOCKS5 proxy 127.0.0.1:{} rejected the user name and password",
            servers().port("MS_SOCKS5_AUTH_PORT")
        )
    );
}

#[test]
fn blocked_target_port_is_proxy_refused() {
    let blocked = servers().port("MS_PROXY_BLOCKED_PORT");
    for (name, route) in all_routes().into_iter().skip(1) {
        let s = ConnectionSettings {
            endpoint: ep("127.0.0.1", blocked),
            security: Security::Clear,
            tls: trusted(),
            route,
        };
        let err = net::connect(&s, &creds(), &Timeouts::default()).unwrap_err();
        assert_eq!(err.hop(), Some(ProxyHop::ProxyRefused), "{name}: {err}");
    }
}

#[test]
fn unreachable_target_is_target_unreachable() {
    // SOCKS5 (Dante allows any loopback port): a closed port.
    let port = closed_port();
    for (name, route) in all_routes().into_iter().skip(1).take(2) {
        let s = ConnectionSettings {
            endpoint: ep("127.0.0.1", port),
            security: Security::Clear,
            tls: trusted(),
            route,
        };
        let err = net::connect(&s, &creds(), &Timeouts::default()).unwrap_err();
        assert_eq!(
            err.hop(),
            Some(ProxyHop::TargetUnreachable),
            "{name}: {err}"
        );
    }
    // Every proxy: a host name only the proxy would resolve, and cannot (tinyproxy only allows
    // the test servers' ports, so the port is one of them).
    for (name, route) in all_routes().into_iter().skip(1) {
        let s = ConnectionSettings {
            endpoint: ep("no-such-host.invalid", servers().port("MS_POP3_PORT")),
            security: Security::Clear,
            tls: trusted(),
            route,
        };
        let err = net::connect(&s, &creds(), &Timeouts::default()).unwrap_err();
        assert_eq!(
            err.hop(),
            Some(ProxyHop::TargetUnreachable),
            "{name}: {err}"
        );
        assert!(
            err.message().contains("no-such-host.invalid"),
            "{name}: {err}"
        );
    }
}

#[test]
fn a_proxy_nobody_listens_on_is_proxy_unreachable() {
    let port = closed_port();
    for route in [
        Route::Proxy(NetworkConnector::new(
            ConnectorKind::Socks5,
            ep("127.0.0.1", port),
            None,
        )),
        Route::Proxy(NetworkConnector::new(
            ConnectorKind::HttpConnect,
            ep("127.0.0.1", port),
            None,
        )),
    ] {
        let s = settings("MS_POP3_PORT", Security::Clear, trusted(), route);
        let err = net::connect(&s, &creds(), &Timeouts::default()).unwrap_err();
        assert_eq!(err.hop(), Some(ProxyHop::ProxyUnreachable), "{err}");
        assert!(err.message().contains(&port.to_string()), "{err}");
    }
}

#[test]
fn a_server_or_proxy_that_never_answers_times_out_within_the_bound() {
    let port = silent_listener();
    let bound = Duration::from_millis(800);
    let timeouts = Timeouts::uniform(bound);
    let silent = ep("127.0.0.1", port);
    let cases = [
        (
            "implicit TLS",
            ConnectionSettings {
                endpoint: silent.clone(),
                security: Security::ImplicitTls,
                tls: trusted(),
                route: Route::Direct,
            },
        ),
        (
            "SOCKS5 proxy",
            settings(
                "MS_POP3_PORT",
                Security::Clear,
                trusted(),
                Route::Proxy(NetworkConnector::new(
                    ConnectorKind::Socks5,
                    silent.clone(),
                    None,
                )),
            ),
        ),
        (
            "HTTP proxy",
            settings(
                "MS_POP3_PORT",
                Security::Clear,
                trusted(),
                Route::Proxy(NetworkConnector::new(
                    ConnectorKind::HttpConnect,
                    silent.clone(),
                    None,
                )),
            ),
        ),
    ];
    for (name, s) in cases {
        let started = Instant::now();
        let err = net::connect(&s, &creds(), &timeouts).unwrap_err();
        let took = started.elapsed();
        assert!(err.is_timeout(), "{name}: {err}");
        // It waited for the bound, and did not hang far past it (a hang check, with room for a
        // loaded machine; not a speed assertion).
        assert!(took >= bound, "{name}: gave up after {took:?}");
        assert!(took < bound * 10, "{name}: took {took:?}");
    }
}

#[test]
fn plain_read_after_connect_sees_the_greeting_through_http_connect() {
    // The greeting may arrive right behind the proxy's 200: it must not be lost.
    let s = settings(
        "MS_POP3_NOTLS_PORT",
        Security::Clear,
        trusted(),
        http("MS_HTTP_PROXY_PORT", None),
    );
    let (stream, _) = net::connect(&s, &creds(), &Timeouts::default()).unwrap();
    let mut r = BufReader::new(stream);
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    assert!(line.starts_with("+OK"), "{line}");
}
