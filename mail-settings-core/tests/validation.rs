//! Every rule and default of SPEC.md: each code triggered, and not triggered by a valid record.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use mail_settings_core::model::{default_port, Service};
use mail_settings_core::validate::{
    parse_host, validate_connector, validate_document, validate_incoming, validate_smtp,
};
use mail_settings_core::{
    Code, ConnectorKind, Credential, InMemoryCredentials, IncomingAccount, IncomingAccountForm,
    NetworkConnectorForm, Protocol, Route, SecureConnectionType, Security, SettingsDocument,
    Severity, SmtpAccount, SmtpAccountForm, ValidationContext,
};

fn incoming() -> IncomingAccountForm {
    IncomingAccountForm {
        name: "Helpdesk".into(),
        host: "imap.example.com".into(),
        protocol: Some(Protocol::Imap),
        credential: Some("helpdesk-mailbox".into()),
        ..Default::default()
    }
}

fn smtp() -> SmtpAccountForm {
    SmtpAccountForm {
        name: "Notifications".into(),
        host: "smtp.example.com".into(),
        sender_email: "noreply@example.com".into(),
        credential: Some("smtp-notify".into()),
        ..Default::default()
    }
}

fn connector() -> NetworkConnectorForm {
    NetworkConnectorForm {
        id: Some(1),
        name: "dc-east".into(),
        kind: Some(ConnectorKind::Socks5),
        host: "10.0.0.5".into(),
        port: Some(1080),
        ..Default::default()
    }
}

fn codes(v: &mail_settings_core::Validation) -> Vec<(String, Code)> {
    v.results()
        .iter()
        .map(|r| (r.path.clone(), r.code))
        .collect()
}

fn standalone() -> ValidationContext<'static> {
    ValidationContext::standalone()
}

#[test]
fn spec_defaults_of_incoming_account() {
    let f = IncomingAccountForm::default();
    assert!(f.keep_copy_on_server);
    assert!(f.automatic_check);
    assert_eq!(f.check_interval_secs, 300);
    assert!(f.enabled);
    assert!(!f.use_network_connector);
    assert!(f.network_connector.is_none());
    assert!(
        !f.skip_certificate,
        "SPEC differs from the seeds: certificate checks stay on"
    );
    assert!(f.use_secure_connection);
    assert_eq!(f.secure_connection_type, SecureConnectionType::Ssl);
    assert_eq!(f.port, None);
}

#[test]
fn spec_defaults_of_smtp_account() {
    let f = SmtpAccountForm::default();
    assert!(f.enabled);
    assert!(!f.default_account);
    assert!(!f.send_read_receipt);
    assert!(!f.force_configuration);
    assert!(!f.enable_footer);
    assert!(f.use_secure_connection);
    assert_eq!(f.secure_connection_type, SecureConnectionType::Ssl);
    assert!(f.use_authentication);
    assert!(!f.skip_certificate_errors);
    assert!(!f.use_network_connector);
}

#[test]
fn defaults_apply_when_fields_are_left_out_of_a_document() {
    let doc = SettingsDocument::from_json(
        r#"{"version":1,"incoming_accounts":[{"name":"a","protocol":"POP3","host":"h","credential":"c"}],
            "smtp_accounts":[{"name":"s","host":"h","sender_email":"a@b.c","credential":"c"}]}"#,
    )
    .unwrap();
    assert_eq!(
        doc.incoming_accounts[0],
        IncomingAccountForm {
            name: "a".into(),
            protocol: Some(Protocol::Pop3),
            host: "h".into(),
            credential: Some("c".into()),
            ..Default::default()
        }
    );
    assert_eq!(
        doc.smtp_accounts[0].secure_connection_type,
        SecureConnectionType::Ssl
    );
    assert!(doc.smtp_accounts[0].use_authentication);
}

#[test]
fn default_ports_by_protocol_and_security() {
    let table = [
        (Service::Imap, Security::Clear, 143),
        (Service::Imap, Security::StartTls, 143),
        (Service::Imap, Security::ImplicitTls, 993),
        (Service::Pop3, Security::Clear, 110),
        (Service::Pop3, Security::StartTls, 110),
        (Service::Pop3, Security::ImplicitTls, 995),
        (Service::Smtp, Security::Clear, 587),
        (Service::Smtp, Security::StartTls, 587),
        (Service::Smtp, Security::ImplicitTls, 465),
    ];
    for (service, security, port) in table {
        assert_eq!(
            default_port(service, security),
            port,
            "{service:?} {security:?}"
        );
    }
    let mut f = incoming();
    f.secure_connection_type = SecureConnectionType::Tls;
    assert_eq!(f.effective_port(), Some(143));
    f.port = Some(10143);
    assert_eq!(f.effective_port(), Some(10143));
}

#[test]
fn valid_records_have_no_results() {
    assert!(validate_incoming(&incoming(), "", &standalone()).is_empty());
    assert!(validate_smtp(&smtp(), "", &standalone()).is_empty());
    assert!(validate_connector(&connector(), "", &standalone()).is_empty());
}

#[test]
fn required_fields() {
    let f = IncomingAccountForm::default();
    let v = validate_incoming(&f, "", &standalone());
    for (path, code) in [
        ("name", Code::Required),
        ("host", Code::Required),
        ("protocol", Code::Required),
        ("credential", Code::CredentialRequired),
    ] {
        assert!(v.contains(path, code), "{path} {code}: {v}");
    }
    let v = validate_smtp(&SmtpAccountForm::default(), "", &standalone());
    for (path, code) in [
        ("name", Code::Required),
        ("host", Code::Required),
        ("sender_email", Code::Required),
        ("credential", Code::CredentialRequired),
    ] {
        assert!(v.contains(path, code), "{path} {code}: {v}");
    }
    let v = validate_connector(&NetworkConnectorForm::default(), "", &standalone());
    for path in ["name", "kind", "host", "port"] {
        assert!(v.contains(path, Code::Required), "{path}: {v}");
    }
}

#[test]
fn blank_name_is_required_and_name_is_trimmed_before_length() {
    let mut f = incoming();
    f.name = "   ".into();
    assert!(validate_incoming(&f, "", &standalone()).contains("name", Code::Required));
    f.name = format!("  {}  ", "x".repeat(100));
    assert!(validate_incoming(&f, "", &standalone()).is_empty());
    f.name = "é".repeat(101);
    assert!(validate_incoming(&f, "", &standalone()).contains("name", Code::TooLong));
    let mut s = smtp();
    s.name = "y".repeat(101);
    assert!(validate_smtp(&s, "", &standalone()).contains("name", Code::TooLong));
}

#[test]
fn hosts() {
    for good in [
        "imap.example.com",
        "localhost",
        "mail-01.example.co.uk",
        "192.168.0.10",
        "::1",
        "[2001:db8::1]",
        "fe80::1",
        "xn--bcher-kva.example",
        "bücher.example",
        "example.com.",
    ] {
        assert!(parse_host(good).is_some(), "{good} should be a host");
    }
    for bad in [
        "imap://example.com",
        "example.com:993",
        "example.com/path",
        "exa mple.com",
        " example.com",
        "example..com",
        ".example.com",
        "-bad.example.com",
        "bad-.example.com",
        "999.1.1.1",
        "[not-v6]",
        "",
        "a@b",
        &"a".repeat(64),
    ] {
        assert!(parse_host(bad).is_none(), "{bad:?} should not be a host");
        let mut f = incoming();
        f.host = bad.to_owned();
        let v = validate_incoming(&f, "", &standalone());
        let expected = if bad.trim().is_empty() {
            Code::Required
        } else {
            Code::InvalidHost
        };
        assert!(v.contains("host", expected), "{bad:?}: {v}");
    }
}

#[test]
fn ports() {
    let mut f = incoming();
    for bad in [0, -1, 65536, 70000] {
        f.port = Some(bad);
        assert!(validate_incoming(&f, "", &standalone()).contains("port", Code::InvalidPort));
    }
    for good in [1, 993, 65535] {
        f.port = Some(good);
        assert!(validate_incoming(&f, "", &standalone()).is_empty());
    }
    let mut s = smtp();
    s.port = Some(70000);
    assert!(validate_smtp(&s, "", &standalone()).contains("port", Code::InvalidPort));
    let mut c = connector();
    c.port = Some(0);
    assert!(validate_connector(&c, "", &standalone()).contains("port", Code::InvalidPort));
}

#[test]
fn check_interval_range() {
    let mut f = incoming();
    for bad in [0, 29, 86_401, -5] {
        f.check_interval_secs = bad;
        let v = validate_incoming(&f, "", &standalone());
        assert!(v.contains("check_interval_secs", Code::OutOfRange), "{bad}");
        assert!(v.results()[0].message.contains("30") && v.results()[0].message.contains("86400"));
    }
    for good in [30, 300, 86_400] {
        f.check_interval_secs = good;
        assert!(validate_incoming(&f, "", &standalone()).is_empty());
    }
}

#[test]
fn emails() {
    let mut s = smtp();
    for bad in [
        "noreply",
        "no reply@example.com",
        "a@",
        "@b.c",
        "Name <a@b.c>",
        "a@b@c",
    ] {
        s.sender_email = bad.into();
        assert!(
            validate_smtp(&s, "", &standalone()).contains("sender_email", Code::InvalidEmail),
            "{bad}"
        );
    }
    s.sender_email = "noreply@example.com".into();
    s.reply_to = Some("bad".into());
    s.return_path = Some("bounces@".into());
    let v = validate_smtp(&s, "", &standalone());
    assert!(v.contains("reply_to", Code::InvalidEmail));
    assert!(v.contains("return_path", Code::InvalidEmail));
    s.reply_to = Some("help@example.com".into());
    s.return_path = Some("bounces@example.com".into());
    assert!(validate_smtp(&s, "", &standalone()).is_empty());
    s.reply_to = Some(format!("{}@example.com", "a".repeat(250)));
    assert!(validate_smtp(&s, "", &standalone()).contains("reply_to", Code::TooLong));
}

#[test]
fn network_connector_rules() {
    let connectors = [
        connector(),
        NetworkConnectorForm {
            id: Some(2),
            enabled: false,
            ..connector()
        },
    ];
    let ctx = ValidationContext::standalone().with_connectors(&connectors);
    let mut f = incoming();
    f.use_network_connector = true;
    assert!(validate_incoming(&f, "", &ctx)
        .contains("network_connector", Code::NetworkConnectorRequired));
    f.network_connector = Some(1);
    assert!(validate_incoming(&f, "", &ctx).is_empty());
    f.network_connector = Some(9);
    assert!(validate_incoming(&f, "", &ctx)
        .contains("network_connector", Code::UnknownNetworkConnector));
    f.network_connector = Some(2);
    assert!(validate_incoming(&f, "", &ctx)
        .contains("network_connector", Code::NetworkConnectorDisabled));
    f.use_network_connector = false;
    f.network_connector = Some(1);
    assert!(validate_incoming(&f, "", &ctx)
        .contains("network_connector", Code::NetworkConnectorNotAllowed));

    let mut s = smtp();
    s.use_network_connector = true;
    assert!(
        validate_smtp(&s, "", &ctx).contains("network_connector", Code::NetworkConnectorRequired)
    );
    s.network_connector = Some(2);
    assert!(
        validate_smtp(&s, "", &ctx).contains("network_connector", Code::NetworkConnectorDisabled)
    );
    s.use_network_connector = false;
    assert!(
        validate_smtp(&s, "", &ctx).contains("network_connector", Code::NetworkConnectorNotAllowed)
    );
}

#[test]
fn credential_rules() {
    let provider = InMemoryCredentials::new()
        .with("helpdesk-mailbox", Credential::password("u", "p"))
        .with("smtp-notify", Credential::password("u", "p"));
    let ctx = ValidationContext::standalone().with_credentials(&provider);
    assert!(validate_incoming(&incoming(), "", &ctx).is_empty());
    let mut f = incoming();
    f.credential = Some("missing".into());
    let v = validate_incoming(&f, "", &ctx);
    assert!(v.contains("credential", Code::UnknownCredential));
    assert!(v.results()[0].message.contains("missing"));
    // Without a provider, existence is not checked.
    assert!(validate_incoming(&f, "", &standalone()).is_empty());

    let mut s = smtp();
    s.use_authentication = false;
    assert!(validate_smtp(&s, "", &ctx).contains("credential", Code::CredentialNotAllowed));
    s.credential = None;
    assert!(validate_smtp(&s, "", &ctx).is_empty());
    s.use_authentication = true;
    assert!(validate_smtp(&s, "", &ctx).contains("credential", Code::CredentialRequired));
    s.credential = Some("nope".into());
    assert!(validate_smtp(&s, "", &ctx).contains("credential", Code::UnknownCredential));
}

#[test]
fn read_receipt_and_footer() {
    let mut s = smtp();
    s.send_read_receipt = true;
    assert!(validate_smtp(&s, "", &standalone())
        .contains("confirmation_email", Code::ConfirmationEmailRequired));
    s.confirmation_email = Some("not-an-address".into());
    assert!(validate_smtp(&s, "", &standalone()).contains("confirmation_email", Code::InvalidEmail));
    s.confirmation_email = Some("receipts@example.com".into());
    assert!(validate_smtp(&s, "", &standalone()).is_empty());

    s.enable_footer = true;
    assert!(validate_smtp(&s, "", &standalone()).contains("footer", Code::FooterRequired));
    s.footer = Some("  ".into());
    assert!(validate_smtp(&s, "", &standalone()).contains("footer", Code::FooterRequired));
    s.footer = Some("Sent by the help desk".into());
    assert!(validate_smtp(&s, "", &standalone()).is_empty());
    s.enable_footer = false;
    s.footer = None;
    assert!(validate_smtp(&s, "", &standalone()).is_empty());
}

#[test]
fn warnings_never_block() {
    let mut f = incoming();
    f.skip_certificate = true;
    let v = validate_incoming(&f, "", &standalone());
    assert!(v.contains("skip_certificate", Code::CertificateCheckDisabled));
    assert!(!v.has_errors());
    assert_eq!(v.results()[0].severity, Severity::Warning);
    assert!(IncomingAccount::from_form(&f, &standalone()).is_ok());

    let mut f = incoming();
    f.use_secure_connection = false;
    let v = validate_incoming(&f, "", &standalone());
    assert!(v.contains("use_secure_connection", Code::CleartextCredentials));
    assert!(!v.has_errors());

    let mut s = smtp();
    s.skip_certificate_errors = true;
    s.use_secure_connection = false;
    let v = validate_smtp(&s, "", &standalone());
    // Skipping certificates on a clear-text connection has no certificate to skip.
    assert!(!v.contains("skip_certificate_errors", Code::CertificateCheckDisabled));
    assert!(v.contains("use_secure_connection", Code::CleartextCredentials));
    s.use_secure_connection = true;
    assert!(validate_smtp(&s, "", &standalone())
        .contains("skip_certificate_errors", Code::CertificateCheckDisabled));
    // No credential, no clear-text warning.
    let mut s = smtp();
    s.use_authentication = false;
    s.credential = None;
    s.use_secure_connection = false;
    assert!(validate_smtp(&s, "", &standalone()).is_empty());
}

#[test]
fn every_problem_is_reported_at_once() {
    let f = IncomingAccountForm {
        name: String::new(),
        host: "bad host".into(),
        port: Some(70000),
        check_interval_secs: 1,
        use_network_connector: true,
        skip_certificate: true,
        ..Default::default()
    };
    let v = validate_incoming(&f, "", &standalone());
    let got = codes(&v);
    for expected in [
        ("name", Code::Required),
        ("check_interval_secs", Code::OutOfRange),
        ("host", Code::InvalidHost),
        ("port", Code::InvalidPort),
        ("protocol", Code::Required),
        ("network_connector", Code::NetworkConnectorRequired),
        ("credential", Code::CredentialRequired),
        ("skip_certificate", Code::CertificateCheckDisabled),
    ] {
        assert!(
            got.contains(&(expected.0.to_owned(), expected.1)),
            "{expected:?} in {got:?}"
        );
    }
}

#[test]
fn messages_in_both_languages() {
    let v = validate_incoming(&IncomingAccountForm::default(), "", &standalone());
    let name = v.results().iter().find(|r| r.path == "name").unwrap();
    assert_eq!(name.message, "Account name is required.");
    assert_eq!(name.message_pt_br, "Nome da conta é obrigatório.");
    for r in v.results() {
        assert!(!r.message.is_empty() && !r.message_pt_br.is_empty());
        assert_ne!(r.message, r.message_pt_br);
    }
    let json = serde_json::to_value(v.results()).unwrap();
    assert_eq!(json[0]["code"], "required");
    assert_eq!(json[0]["severity"], "error");
}

#[test]
fn document_rules_and_paths() {
    let doc = SettingsDocument {
        network_connectors: vec![
            connector(),
            NetworkConnectorForm {
                name: "DC-EAST ".into(),
                ..connector()
            },
        ],
        incoming_accounts: vec![
            incoming(),
            IncomingAccountForm {
                name: " helpdesk".into(),
                ..incoming()
            },
            IncomingAccountForm {
                name: "Other".into(),
                use_network_connector: true,
                network_connector: Some(5),
                ..incoming()
            },
        ],
        smtp_accounts: vec![
            SmtpAccountForm {
                default_account: true,
                ..smtp()
            },
            SmtpAccountForm {
                name: "Second".into(),
                default_account: true,
                ..smtp()
            },
        ],
        ..Default::default()
    };
    let v = validate_document(&doc, None);
    assert!(
        v.contains("network_connectors[1].name", Code::DuplicateName),
        "{v}"
    );
    assert!(
        v.contains("network_connectors[1].id", Code::DuplicateId),
        "{v}"
    );
    assert!(v.contains("incoming_accounts[1].name", Code::DuplicateName));
    assert!(!v.contains("incoming_accounts[0].name", Code::DuplicateName));
    assert!(v.contains(
        "incoming_accounts[2].network_connector",
        Code::UnknownNetworkConnector
    ));
    assert!(v.contains(
        "smtp_accounts[0].default_account",
        Code::MultipleDefaultAccounts
    ));
    assert!(v.contains(
        "smtp_accounts[1].default_account",
        Code::MultipleDefaultAccounts
    ));

    let provider = InMemoryCredentials::new();
    let v = validate_document(&doc, Some(&provider));
    assert!(v.contains("incoming_accounts[0].credential", Code::UnknownCredential));
}

#[test]
fn every_code_can_be_triggered() {
    // Collect codes from the cases above in one place, so a new code without a test fails here.
    let mut seen = std::collections::HashSet::new();
    let connectors = [NetworkConnectorForm {
        id: Some(2),
        enabled: false,
        ..connector()
    }];
    let provider = InMemoryCredentials::new();
    let ctx = ValidationContext::standalone()
        .with_connectors(&connectors)
        .with_credentials(&provider);
    let forms = [
        IncomingAccountForm {
            host: "a b".into(),
            port: Some(0),
            check_interval_secs: 0,
            use_network_connector: true,
            skip_certificate: true,
            use_secure_connection: true,
            ..Default::default()
        },
        IncomingAccountForm {
            name: "x".repeat(101),
            network_connector: Some(1),
            credential: Some("c".into()),
            use_secure_connection: false,
            ..incoming()
        },
        IncomingAccountForm {
            use_network_connector: true,
            network_connector: Some(9),
            ..incoming()
        },
        IncomingAccountForm {
            use_network_connector: true,
            network_connector: Some(2),
            ..incoming()
        },
        IncomingAccountForm {
            name: "Help\x1b[2Jdesk".into(),
            ..incoming()
        },
    ];
    for f in &forms {
        seen.extend(
            validate_incoming(f, "", &ctx)
                .results()
                .iter()
                .map(|r| r.code),
        );
    }
    let s = SmtpAccountForm {
        sender_email: "bad".into(),
        use_authentication: false,
        send_read_receipt: true,
        enable_footer: true,
        ..smtp()
    };
    seen.extend(validate_smtp(&s, "", &ctx).results().iter().map(|r| r.code));
    let doc = SettingsDocument {
        smtp_accounts: vec![
            SmtpAccountForm {
                id: Some(3),
                default_account: true,
                ..smtp()
            },
            SmtpAccountForm {
                id: Some(3),
                default_account: true,
                ..smtp()
            },
        ],
        ..Default::default()
    };
    seen.extend(
        validate_document(&doc, None)
            .results()
            .iter()
            .map(|r| r.code),
    );
    // Report schedules' own codes.
    let schedule = mail_settings_core::schedule::ReportScheduleForm {
        time_of_day: "25:00".into(),
        time_zone: "Nowhere/City".into(),
        smtp_account: Some(3),
        ..Default::default()
    };
    let accounts = [
        SmtpAccountForm {
            id: Some(3),
            enabled: false,
            ..smtp()
        },
        SmtpAccountForm {
            id: Some(4),
            ..smtp()
        },
    ];
    for (i, accounts) in [&accounts[..], &accounts[1..]].into_iter().enumerate() {
        let v = mail_settings_core::schedule::validate_schedule(&schedule, "", Some(accounts));
        seen.extend(v.results().iter().map(|r| r.code));
        assert!(!v.is_empty(), "case {i}");
    }
    // Folders, archive, push.
    for f in [
        IncomingAccountForm {
            protocol: Some(Protocol::Pop3),
            folders: vec!["INBOX".into(), "Other".into()],
            archive_folder: Some("Archive".into()),
            ..incoming()
        },
        IncomingAccountForm {
            folders: vec![String::new()],
            ..incoming()
        },
        IncomingAccountForm {
            keep_copy_on_server: false,
            archive_folder: Some("inbox".into()),
            ..incoming()
        },
        IncomingAccountForm {
            keep_copy_on_server: true,
            archive_folder: Some("Archive".into()),
            ..incoming()
        },
    ] {
        seen.extend(
            validate_incoming(&f, "", &ValidationContext::standalone())
                .results()
                .iter()
                .map(|r| r.code),
        );
    }
    // OAuth2 clients and OAuth2 accounts.
    {
        use mail_settings_core::model::{AuthenticationMethod, OAuth2Grant};
        use mail_settings_core::{OAuth2ClientForm, OAuth2ProviderKind};
        let clients = [
            OAuth2ClientForm {
                id: Some(1),
                name: "Off".into(),
                enabled: false,
                provider: Some(OAuth2ProviderKind::Microsoft),
                client_id: "x".into(),
                ..Default::default()
            },
            OAuth2ClientForm {
                name: "Google".into(),
                provider: Some(OAuth2ProviderKind::Google),
                client_id: "x".into(),
                grant: OAuth2Grant::ClientCredentials,
                ..Default::default()
            },
            OAuth2ClientForm {
                name: "M365".into(),
                provider: Some(OAuth2ProviderKind::Microsoft),
                client_id: "x".into(),
                grant: OAuth2Grant::ClientCredentials,
                token_url: Some("http://login.example.com/token".into()),
                ..Default::default()
            },
        ];
        for c in &clients {
            let v = mail_settings_core::validate::validate_oauth2_client(
                c,
                "",
                &ValidationContext::standalone(),
            );
            seen.extend(v.results().iter().map(|r| r.code));
        }
        let ctx = ValidationContext::standalone().with_oauth2_clients(&clients);
        for (method, client) in [
            (AuthenticationMethod::OAuth2, None),
            (AuthenticationMethod::Password, Some(1)),
            (AuthenticationMethod::OAuth2, Some(1)),
            (AuthenticationMethod::OAuth2, Some(9)),
        ] {
            let f = IncomingAccountForm {
                authentication: method,
                oauth2_client: client,
                ..incoming()
            };
            seen.extend(
                validate_incoming(&f, "", &ctx)
                    .results()
                    .iter()
                    .map(|r| r.code),
            );
        }
    }
    for code in Code::ALL {
        assert!(seen.contains(&code), "no case triggers {code}");
    }
}

#[test]
fn typed_accounts_resolve_port_security_route_and_credential() {
    let connectors = [connector()];
    let ctx = ValidationContext::standalone().with_connectors(&connectors);
    let f = IncomingAccountForm {
        secure_connection_type: SecureConnectionType::Tls,
        protocol: Some(Protocol::Pop3),
        use_network_connector: true,
        network_connector: Some(1),
        ..incoming()
    };
    let a = IncomingAccount::from_form(&f, &ctx).unwrap();
    assert_eq!(a.connection().endpoint.port, 110);
    assert_eq!(a.connection().security, Security::StartTls);
    assert!(a.connection().tls.verify);
    match &a.connection().route {
        Route::Proxy(c) => {
            assert_eq!(c.kind(), ConnectorKind::Socks5);
            assert_eq!(c.endpoint().port, 1080);
        }
        other => panic!("expected a proxy route, got {other:?}"),
    }
    assert_eq!(a.credential().as_str(), "helpdesk-mailbox");

    // A connector named without the list to resolve it cannot become a typed account.
    assert!(IncomingAccount::from_form(&f, &standalone()).is_err());
    // Any error blocks.
    let bad = IncomingAccountForm {
        port: Some(70000),
        ..incoming()
    };
    let err = IncomingAccount::from_form(&bad, &standalone()).unwrap_err();
    assert!(err.contains("port", Code::InvalidPort));

    let s = SmtpAccountForm {
        use_authentication: false,
        credential: None,
        use_secure_connection: false,
        send_read_receipt: false,
        confirmation_email: Some("r@example.com".into()),
        footer: Some("ignored while disabled".into()),
        ..smtp()
    };
    let a = SmtpAccount::from_form(&s, &standalone()).unwrap();
    assert_eq!(a.connection().endpoint.port, 587);
    assert_eq!(a.connection().security, Security::Clear);
    assert!(a.credential().is_none());
    assert!(a.read_receipt_to().is_none());
    assert!(a.footer().is_none());
    let a = SmtpAccount::from_form(&smtp(), &standalone()).unwrap();
    assert_eq!(a.connection().endpoint.port, 465);
    assert_eq!(a.credential().map(|c| c.as_str()), Some("smtp-notify"));
}

#[test]
fn control_characters_are_invalid_characters_except_in_the_footer() {
    let ctx = ValidationContext::standalone();
    for bad in [
        "Help\ndesk",
        "Help\rdesk",
        "Help\0desk",
        "Help\x1b[2Jdesk",
        "Help\u{9b}desk",
        "Help\tdesk",
        "Helpdesk\x7f",
    ] {
        let v = validate_incoming(
            &IncomingAccountForm {
                name: bad.into(),
                credential: Some(format!("mailbox{bad}")),
                ..incoming()
            },
            "",
            &ctx,
        );
        assert!(v.contains("name", Code::InvalidCharacters), "{bad:?}: {v}");
        assert!(
            v.contains("credential", Code::InvalidCharacters),
            "{bad:?}: {v}"
        );
        let r = v.results().iter().find(|r| r.path == "name").unwrap();
        assert_eq!(r.severity, Severity::Error);
        assert!(r.message.contains("control characters"), "{}", r.message);
        assert!(
            r.message_pt_br.contains("caracteres de controle"),
            "{}",
            r.message_pt_br
        );

        let v = validate_smtp(
            &SmtpAccountForm {
                name: bad.into(),
                sender_email: format!("noreply{bad}@example.com"),
                reply_to: Some(format!("desk{bad}@example.com")),
                return_path: Some(format!("bounce@example.com{bad}")),
                send_read_receipt: true,
                confirmation_email: Some(format!("{bad}@example.com")),
                ..smtp()
            },
            "",
            &ctx,
        );
        for path in [
            "name",
            "sender_email",
            "reply_to",
            "return_path",
            "confirmation_email",
        ] {
            assert!(
                v.contains(path, Code::InvalidCharacters),
                "{path} {bad:?}: {v}"
            );
            assert!(
                !v.contains(path, Code::InvalidEmail),
                "one result a field: {v}"
            );
        }
        let v = validate_connector(
            &NetworkConnectorForm {
                name: bad.into(),
                credential: Some(bad.into()),
                ..connector()
            },
            "",
            &ctx,
        );
        assert!(v.contains("name", Code::InvalidCharacters), "{v}");
        assert!(v.contains("credential", Code::InvalidCharacters), "{v}");
        // Hosts keep their own code.
        let v = validate_incoming(
            &IncomingAccountForm {
                host: format!("imap{bad}.example.com"),
                ..incoming()
            },
            "",
            &ctx,
        );
        assert!(v.contains("host", Code::InvalidHost), "{v}");
        assert!(!v.contains("host", Code::InvalidCharacters), "{v}");
    }
    // A multi-line footer keeps CR, LF and TAB; ESC, NUL and C1 are refused there too.
    let footer = |f: &str| {
        validate_smtp(
            &SmtpAccountForm {
                enable_footer: true,
                footer: Some(f.into()),
                ..smtp()
            },
            "",
            &ctx,
        )
    };
    assert!(footer("Line one\r\n\tLine two\nLine three").is_empty());
    for bad in ["a\x1b[2Jb", "a\0b", "a\u{85}b"] {
        let v = footer(bad);
        assert!(
            v.contains("footer", Code::InvalidCharacters),
            "{bad:?}: {v}"
        );
    }
    // Printable text in every script stays valid, and so does a document path for it.
    let v = validate_incoming(
        &IncomingAccountForm {
            name: "Suporte — São Paulo ✓".into(),
            ..incoming()
        },
        "",
        &ctx,
    );
    assert!(v.is_empty(), "{v}");
    let doc = SettingsDocument {
        incoming_accounts: vec![IncomingAccountForm {
            name: "a\u{1b}b".into(),
            ..incoming()
        }],
        ..Default::default()
    };
    assert!(validate_document(&doc, None)
        .contains("incoming_accounts[0].name", Code::InvalidCharacters));
    assert_eq!(Code::InvalidCharacters.as_str(), "invalid_characters");
    assert!(Code::ALL.contains(&Code::InvalidCharacters));
}
