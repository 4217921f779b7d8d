//! The settings of SPEC.md "OAuth2 clients and OAuth2 accounts": the `oauth2_clients` record
//! kind, the accounts' `authentication` and `oauth2_client`, their validation codes, the typed
//! client the token manager takes, the store (on SQLite and, when the test server runs,
//! PostgreSQL) and settings documents.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mail_settings_core::document::SettingsDocument;
use mail_settings_core::model::OAuth2Grant;
use mail_settings_core::oauth2::{OAuth2Client, OAuth2Provider, GOOGLE_SCOPE};
use mail_settings_core::store::{Store, StoreError};
use mail_settings_core::validate::{
    validate_document, validate_incoming, validate_oauth2_client, validate_smtp, Code, Severity,
    ValidationContext,
};
use mail_settings_core::{
    AuthenticationMethod, IncomingAccount, IncomingAccountForm, OAuth2ClientForm,
    OAuth2ProviderKind, Protocol, SmtpAccount, SmtpAccountForm,
};

mod support {
    pub mod postgres;
}

fn microsoft() -> OAuth2ClientForm {
    OAuth2ClientForm {
        name: "Microsoft 365".into(),
        provider: Some(OAuth2ProviderKind::Microsoft),
        client_id: "9e5f94bc-e8a4-4e73-b8be-63364c29d753".into(),
        ..OAuth2ClientForm::default()
    }
}

fn custom() -> OAuth2ClientForm {
    OAuth2ClientForm {
        name: "Local IdP".into(),
        provider: Some(OAuth2ProviderKind::Custom),
        client_id: "mail-settings".into(),
        token_url: Some("https://idp.example.com/token".into()),
        device_authorization_url: Some("https://idp.example.com/device/auth".into()),
        ..OAuth2ClientForm::default()
    }
}

fn imap(client: Option<i64>) -> IncomingAccountForm {
    IncomingAccountForm {
        name: "Help desk".into(),
        host: "outlook.office365.com".into(),
        protocol: Some(Protocol::Imap),
        credential: Some("helpdesk".into()),
        authentication: if client.is_some() {
            AuthenticationMethod::OAuth2
        } else {
            AuthenticationMethod::Password
        },
        oauth2_client: client,
        ..IncomingAccountForm::default()
    }
}

fn smtp(client: Option<i64>) -> SmtpAccountForm {
    SmtpAccountForm {
        name: "Outbound".into(),
        sender_email: "helpdesk@example.com".into(),
        host: "smtp.office365.com".into(),
        credential: Some("helpdesk".into()),
        authentication: if client.is_some() {
            AuthenticationMethod::OAuth2
        } else {
            AuthenticationMethod::Password
        },
        oauth2_client: client,
        ..SmtpAccountForm::default()
    }
}

fn client_codes(form: &OAuth2ClientForm) -> Vec<(String, Code)> {
    validate_oauth2_client(form, "", &ValidationContext::standalone())
        .results()
        .iter()
        .map(|r| (r.path.clone(), r.code))
        .collect()
}

fn one(path: &str, code: Code) -> Vec<(String, Code)> {
    vec![(path.to_owned(), code)]
}

#[test]
fn the_new_codes_are_errors_with_their_spec_words() {
    for (code, word) in [
        (Code::OAuth2ClientRequired, "oauth2_client_required"),
        (Code::OAuth2ClientNotAllowed, "oauth2_client_not_allowed"),
        (Code::UnknownOAuth2Client, "unknown_oauth2_client"),
        (Code::OAuth2ClientDisabled, "oauth2_client_disabled"),
        (Code::GrantNotSupported, "grant_not_supported"),
        (Code::ClientSecretRequired, "client_secret_required"),
        (Code::TenantRequired, "tenant_required"),
        (Code::InvalidUrl, "invalid_url"),
    ] {
        assert_eq!(code.as_str(), word);
        assert_eq!(serde_json::to_string(&code).unwrap(), format!("\"{word}\""));
        assert_eq!(
            serde_json::from_str::<Code>(&format!("\"{word}\"")).unwrap(),
            code
        );
        assert_eq!(code.severity(), Severity::Error);
        assert!(Code::ALL.contains(&code), "{word} missing from Code::ALL");
    }
}

#[test]
fn a_valid_client_of_each_provider_has_no_results() {
    let google = OAuth2ClientForm {
        name: "Google".into(),
        provider: Some(OAuth2ProviderKind::Google),
        client_id: "1234.apps.googleusercontent.com".into(),
        client_secret_credential: Some("google-secret".into()),
        ..OAuth2ClientForm::default()
    };
    let app_only = OAuth2ClientForm {
        grant: OAuth2Grant::ClientCredentials,
        tenant: Some("contoso.onmicrosoft.com".into()),
        client_secret_credential: Some("m365-secret".into()),
        ..microsoft()
    };
    for form in [microsoft(), google, custom(), app_only] {
        assert_eq!(client_codes(&form), vec![], "{form:?}");
    }
}

#[test]
fn client_required_fields() {
    let mut f = microsoft();
    f.name = "  ".into();
    f.provider = None;
    f.client_id = String::new();
    assert_eq!(
        client_codes(&f),
        vec![
            ("name".to_owned(), Code::Required),
            ("provider".to_owned(), Code::Required),
            ("client_id".to_owned(), Code::Required),
        ]
    );
    f = microsoft();
    f.client_id = "abc\r\ndef".into();
    assert_eq!(client_codes(&f), one("client_id", Code::InvalidCharacters));
}

#[test]
fn grant_not_supported_for_google_app_only() {
    let f = OAuth2ClientForm {
        name: "Google".into(),
        provider: Some(OAuth2ProviderKind::Google),
        client_id: "x.apps.googleusercontent.com".into(),
        client_secret_credential: Some("g".into()),
        grant: OAuth2Grant::ClientCredentials,
        ..OAuth2ClientForm::default()
    };
    assert_eq!(client_codes(&f), one("grant", Code::GrantNotSupported));
}

#[test]
fn client_secret_required_for_app_only() {
    let f = OAuth2ClientForm {
        grant: OAuth2Grant::ClientCredentials,
        tenant: Some("contoso.onmicrosoft.com".into()),
        ..microsoft()
    };
    assert_eq!(
        client_codes(&f),
        one("client_secret_credential", Code::ClientSecretRequired)
    );
    let f = OAuth2ClientForm {
        grant: OAuth2Grant::ClientCredentials,
        ..custom()
    };
    assert_eq!(
        client_codes(&f),
        one("client_secret_credential", Code::ClientSecretRequired)
    );
}

#[test]
fn tenant_required_for_microsoft_app_only() {
    for tenant in [None, Some("organizations"), Some("Common"), Some("  ")] {
        let f = OAuth2ClientForm {
            grant: OAuth2Grant::ClientCredentials,
            client_secret_credential: Some("m365-secret".into()),
            tenant: tenant.map(str::to_owned),
            ..microsoft()
        };
        assert_eq!(
            client_codes(&f),
            one("tenant", Code::TenantRequired),
            "{tenant:?}"
        );
    }
}

#[test]
fn endpoint_urls_are_https_or_loopback_http() {
    for ok in [
        "https://idp.example.com/token",
        "http://127.0.0.1:18443/token",
        "http://localhost:8080/token",
        "http://[::1]/token",
    ] {
        let f = OAuth2ClientForm {
            token_url: Some(ok.into()),
            ..custom()
        };
        assert_eq!(client_codes(&f), vec![], "{ok}");
    }
    for bad in [
        "http://idp.example.com/token",
        "ftp://idp.example.com/token",
        "idp.example.com/token",
        "https://user:pw@idp.example.com/token",
        "https://idp.example.com/token#frag",
        "http://10.0.0.1/token",
    ] {
        let f = OAuth2ClientForm {
            token_url: Some(bad.into()),
            ..custom()
        };
        assert_eq!(
            client_codes(&f),
            one("token_url", Code::InvalidUrl),
            "{bad}"
        );
        let f = OAuth2ClientForm {
            authorization_url: Some(bad.into()),
            ..microsoft()
        };
        assert_eq!(
            client_codes(&f),
            one("authorization_url", Code::InvalidUrl),
            "{bad}"
        );
    }
}

#[test]
fn a_custom_client_needs_its_token_url_and_a_way_to_sign_in() {
    let f = OAuth2ClientForm {
        token_url: None,
        ..custom()
    };
    assert_eq!(client_codes(&f), one("token_url", Code::Required));
    let f = OAuth2ClientForm {
        device_authorization_url: None,
        ..custom()
    };
    assert_eq!(
        client_codes(&f),
        one("device_authorization_url", Code::Required)
    );
    // The browser alone is a way to sign in; app-only access signs nobody in.
    let f = OAuth2ClientForm {
        device_authorization_url: None,
        authorization_url: Some("https://idp.example.com/auth".into()),
        ..custom()
    };
    assert_eq!(client_codes(&f), vec![]);
    let f = OAuth2ClientForm {
        device_authorization_url: None,
        grant: OAuth2Grant::ClientCredentials,
        client_secret_credential: Some("idp-secret".into()),
        ..custom()
    };
    assert_eq!(client_codes(&f), vec![]);
}

#[test]
fn scopes_are_tokens() {
    let mut f = microsoft();
    f.scopes = vec!["https://outlook.office.com/IMAP.AccessAsUser.All".into()];
    assert_eq!(client_codes(&f), vec![]);
    for bad in ["", "two words", "a\nb"] {
        f.scopes = vec![bad.to_owned()];
        assert_eq!(
            client_codes(&f),
            one("scopes", Code::InvalidCharacters),
            "{bad:?}"
        );
    }
}

fn account_codes(
    form: &IncomingAccountForm,
    clients: Option<&[OAuth2ClientForm]>,
) -> Vec<(String, Code)> {
    let ctx = ValidationContext {
        oauth2_clients: clients,
        ..ValidationContext::standalone()
    };
    validate_incoming(form, "", &ctx)
        .results()
        .iter()
        .map(|r| (r.path.clone(), r.code))
        .collect()
}

#[test]
fn account_authentication_rules() {
    let enabled = OAuth2ClientForm {
        id: Some(4),
        ..microsoft()
    };
    let disabled = OAuth2ClientForm {
        id: Some(5),
        name: "Old registration".into(),
        enabled: false,
        ..microsoft()
    };
    let clients = [enabled, disabled];
    // PASSWORD without client, OAUTH2 with an enabled client: fine.
    assert_eq!(account_codes(&imap(None), Some(&clients)), vec![]);
    assert_eq!(account_codes(&imap(Some(4)), Some(&clients)), vec![]);
    // OAUTH2 without a client.
    let mut f = imap(None);
    f.authentication = AuthenticationMethod::OAuth2;
    assert_eq!(
        account_codes(&f, Some(&clients)),
        one("oauth2_client", Code::OAuth2ClientRequired)
    );
    // A client with PASSWORD.
    let mut f = imap(Some(4));
    f.authentication = AuthenticationMethod::Password;
    assert_eq!(
        account_codes(&f, Some(&clients)),
        one("oauth2_client", Code::OAuth2ClientNotAllowed)
    );
    // Unknown and disabled clients; existence unchecked without a list.
    assert_eq!(
        account_codes(&imap(Some(99)), Some(&clients)),
        one("oauth2_client", Code::UnknownOAuth2Client)
    );
    assert_eq!(
        account_codes(&imap(Some(5)), Some(&clients)),
        one("oauth2_client", Code::OAuth2ClientDisabled)
    );
    assert_eq!(account_codes(&imap(Some(99)), None), vec![]);
}

#[test]
fn smtp_without_authentication_keeps_password_and_no_client() {
    let ctx = ValidationContext::standalone();
    let codes = |f: &SmtpAccountForm| -> Vec<(String, Code)> {
        validate_smtp(f, "", &ctx)
            .results()
            .iter()
            .map(|r| (r.path.clone(), r.code))
            .collect()
    };
    assert_eq!(codes(&smtp(Some(3))), vec![]);
    let mut f = smtp(Some(3));
    f.use_authentication = false;
    f.credential = None;
    assert_eq!(
        codes(&f),
        one("authentication", Code::OAuth2ClientNotAllowed)
    );
    f.authentication = AuthenticationMethod::Password;
    assert_eq!(
        codes(&f),
        one("oauth2_client", Code::OAuth2ClientNotAllowed)
    );
    f.oauth2_client = None;
    assert_eq!(codes(&f), vec![]);
    let mut f = smtp(None);
    f.authentication = AuthenticationMethod::OAuth2;
    assert_eq!(codes(&f), one("oauth2_client", Code::OAuth2ClientRequired));
}

#[test]
fn typed_accounts_carry_their_method_and_client() {
    let ctx = ValidationContext::standalone();
    let a = IncomingAccount::from_form(&imap(Some(4)), &ctx).unwrap();
    assert_eq!(
        (a.authentication(), a.oauth2_client()),
        (AuthenticationMethod::OAuth2, Some(4))
    );
    let a = IncomingAccount::from_form(&imap(None), &ctx).unwrap();
    assert_eq!(
        (a.authentication(), a.oauth2_client()),
        (AuthenticationMethod::Password, None)
    );
    let s = SmtpAccount::from_form(&smtp(Some(4)), &ctx).unwrap();
    assert_eq!(
        (s.authentication(), s.oauth2_client()),
        (AuthenticationMethod::OAuth2, Some(4))
    );
    let mut f = imap(None);
    f.authentication = AuthenticationMethod::OAuth2;
    let v = IncomingAccount::from_form(&f, &ctx).unwrap_err();
    assert!(
        v.contains("oauth2_client", Code::OAuth2ClientRequired),
        "{v}"
    );
}

#[test]
fn the_typed_client_takes_the_presets() {
    let c = OAuth2Client::from_form(&microsoft()).unwrap();
    assert_eq!(
        c.provider,
        OAuth2Provider::Microsoft {
            tenant: "organizations".into()
        }
    );
    let e = c.endpoints().unwrap();
    assert_eq!(
        e.token_url,
        "https://login.microsoftonline.com/organizations/oauth2/v2.0/token"
    );
    assert!(e
        .scopes
        .contains(&"https://outlook.office.com/IMAP.AccessAsUser.All".to_owned()));
    let app_only = OAuth2Client::from_form(&OAuth2ClientForm {
        grant: OAuth2Grant::ClientCredentials,
        tenant: Some(" contoso.onmicrosoft.com ".into()),
        client_secret_credential: Some("m365-secret".into()),
        ..microsoft()
    })
    .unwrap();
    let e = app_only.endpoints().unwrap();
    assert_eq!(
        e.token_url,
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
    );
    assert_eq!(e.scopes, vec!["https://outlook.office365.com/.default"]);
    assert_eq!(
        app_only
            .client_secret_credential
            .as_ref()
            .map(|c| c.as_str()),
        Some("m365-secret")
    );
    let google = OAuth2Client::from_form(&OAuth2ClientForm {
        name: "Google".into(),
        provider: Some(OAuth2ProviderKind::Google),
        client_id: "x.apps.googleusercontent.com".into(),
        ..OAuth2ClientForm::default()
    })
    .unwrap();
    assert_eq!(google.endpoints().unwrap().scopes, vec![GOOGLE_SCOPE]);
    let c = OAuth2Client::from_form(&OAuth2ClientForm {
        scopes: vec!["openid".into(), "offline_access".into()],
        ..custom()
    })
    .unwrap();
    let e = c.endpoints().unwrap();
    assert_eq!(e.token_url, "https://idp.example.com/token");
    assert_eq!(
        e.device_authorization_url.as_deref(),
        Some("https://idp.example.com/device/auth")
    );
    assert_eq!(e.scopes, vec!["openid", "offline_access"]);
    let v = OAuth2Client::from_form(&OAuth2ClientForm {
        token_url: Some("http://idp.example.com/token".into()),
        ..custom()
    })
    .unwrap_err();
    assert!(v.contains("token_url", Code::InvalidUrl), "{v}");
}

fn invalid(e: StoreError) -> mail_settings_core::Validation {
    match e {
        StoreError::Invalid(v) => v,
        other => panic!("expected invalid settings, got {other}"),
    }
}

#[test]
fn store_crud_round_trips_clients_and_oauth2_accounts() {
    for store in support::postgres::stores("store_crud_round_trips_clients_and_oauth2_accounts") {
        let full = OAuth2ClientForm {
            tenant: Some("contoso.onmicrosoft.com".into()),
            client_secret_credential: Some("m365-secret".into()),
            grant: OAuth2Grant::ClientCredentials,
            token_url: Some("https://login.example.com/token".into()),
            device_authorization_url: Some("https://login.example.com/device".into()),
            authorization_url: Some("https://login.example.com/auth".into()),
            scopes: vec!["a".into(), "b/c".into()],
            ..microsoft()
        };
        let created = store.create_oauth2_client(&full).unwrap();
        let mut want = full.clone();
        want.id = Some(created.id);
        assert_eq!(created.record, want);
        assert_eq!(store.get_oauth2_client(created.id).unwrap(), created);
        assert_eq!(
            store.get_oauth2_client_by_name(" microsoft 365 ").unwrap(),
            created
        );
        assert_eq!(store.list_oauth2_clients().unwrap(), vec![created.clone()]);
        let (typed, enabled) = store.oauth2_client(created.id).unwrap();
        assert!(enabled);
        assert_eq!(typed, OAuth2Client::from_form(&want).unwrap());

        // Names are unique among clients; a second client is fine under another name.
        let v = invalid(store.create_oauth2_client(&microsoft()).unwrap_err());
        assert!(v.contains("name", Code::DuplicateName), "{v}");
        let other = store
            .create_oauth2_client(&OAuth2ClientForm {
                name: "Spare".into(),
                ..microsoft()
            })
            .unwrap();
        // Invalid clients are refused.
        let v = invalid(
            store
                .create_oauth2_client(&OAuth2ClientForm {
                    name: "Bad".into(),
                    token_url: Some("http://idp.example.com/".into()),
                    ..custom()
                })
                .unwrap_err(),
        );
        assert!(v.contains("token_url", Code::InvalidUrl), "{v}");

        // Accounts: the reference is checked against the store's clients.
        let inc = store.create_incoming(&imap(Some(created.id))).unwrap();
        assert_eq!(inc.record.authentication, AuthenticationMethod::OAuth2);
        assert_eq!(store.get_incoming(inc.id).unwrap().record, inc.record);
        let typed = store.incoming_account(inc.id).unwrap();
        assert_eq!(typed.oauth2_client(), Some(created.id));
        let out = store.create_smtp(&smtp(Some(created.id))).unwrap();
        assert_eq!(store.get_smtp(out.id).unwrap().record, out.record);
        let mut missing = imap(Some(created.id + 1000));
        missing.name = "Missing".into();
        let v = invalid(store.create_incoming(&missing).unwrap_err());
        assert!(
            v.contains("oauth2_client", Code::UnknownOAuth2Client),
            "{v}"
        );

        // A client in use can be neither deleted nor disabled; an unused one can.
        let e = store
            .delete_oauth2_client(created.id, created.version)
            .unwrap_err();
        match &e {
            StoreError::InUse { used_by, .. } => assert_eq!(used_by.len(), 2, "{e}"),
            other => panic!("{other}"),
        }
        assert!(e.to_string().contains("another OAuth2 client"), "{e}");
        let mut off = created.record.clone();
        off.enabled = false;
        assert!(matches!(
            store.update_oauth2_client(created.id, created.version, &off),
            Err(StoreError::InUse { .. })
        ));
        let mut spare_off = other.record.clone();
        spare_off.enabled = false;
        let spare = store
            .update_oauth2_client(other.id, other.version, &spare_off)
            .unwrap();
        assert!(!spare.record.enabled);
        // An account may not name a disabled client.
        let mut on_disabled = imap(Some(other.id));
        on_disabled.name = "On disabled".into();
        let v = invalid(store.create_incoming(&on_disabled).unwrap_err());
        assert!(
            v.contains("oauth2_client", Code::OAuth2ClientDisabled),
            "{v}"
        );
        // Optimistic versions as for every record.
        assert!(matches!(
            store.update_oauth2_client(other.id, other.version, &spare_off),
            Err(StoreError::Conflict { .. })
        ));
        store.delete_oauth2_client(spare.id, spare.version).unwrap();
        assert!(matches!(
            store.get_oauth2_client(spare.id),
            Err(StoreError::NotFound { .. })
        ));
        // Moving the accounts back to PASSWORD frees the client.
        let mut pw = inc.record.clone();
        pw.authentication = AuthenticationMethod::Password;
        pw.oauth2_client = None;
        store.update_incoming(inc.id, inc.version, &pw).unwrap();
        store.delete_smtp(out.id, out.version).unwrap();
        store
            .delete_oauth2_client(created.id, created.version)
            .unwrap();
        assert_eq!(store.list_oauth2_clients().unwrap(), vec![]);
    }
}

fn document() -> SettingsDocument {
    SettingsDocument {
        oauth2_clients: vec![
            OAuth2ClientForm {
                id: Some(3),
                ..microsoft()
            },
            OAuth2ClientForm {
                id: Some(8),
                scopes: vec!["openid".into(), "offline_access".into()],
                ..custom()
            },
        ],
        incoming_accounts: vec![imap(Some(3)), {
            let mut f = imap(None);
            f.name = "Password account".into();
            f
        }],
        smtp_accounts: vec![smtp(Some(8))],
        ..SettingsDocument::default()
    }
}

#[test]
fn documents_carry_oauth2_clients_in_json_and_toml() {
    let doc = document();
    assert!(!validate_document(&doc, None).has_errors());
    let json = doc.to_json();
    assert!(json.contains("\"oauth2_clients\""), "{json}");
    assert!(json.contains("\"authentication\": \"OAUTH2\""), "{json}");
    assert!(json.contains("\"provider\": \"MICROSOFT\""), "{json}");
    assert_eq!(SettingsDocument::from_json(&json).unwrap(), doc);
    assert_eq!(SettingsDocument::from_toml(&doc.to_toml()).unwrap(), doc);
    // Defaults are left out: a document without OAuth2 reads and writes as before.
    let plain = SettingsDocument {
        incoming_accounts: vec![imap(None)],
        ..SettingsDocument::default()
    };
    let text = plain.to_json();
    assert!(
        !text.contains("oauth2") && !text.contains("authentication"),
        "{text}"
    );
    // Words as SPEC.md spells them.
    let parsed = SettingsDocument::from_json(
        r#"{"version": 1, "oauth2_clients": [{"id": 1, "name": "G", "provider": "GOOGLE",
            "client_id": "x", "grant": "REFRESH_TOKEN"}],
            "incoming_accounts": [{"name": "A", "host": "imap.gmail.com", "protocol": "IMAP",
            "credential": "a", "authentication": "OAUTH2", "oauth2_client": 1}]}"#,
    )
    .unwrap();
    assert_eq!(
        parsed.oauth2_clients[0].provider,
        Some(OAuth2ProviderKind::Google)
    );
    assert!(!validate_document(&parsed, None).has_errors());
    assert!(SettingsDocument::from_json(
        r#"{"version": 1, "oauth2_clients": [{"name": "G", "provider": "OKTA"}]}"#
    )
    .is_err());
}

#[test]
fn document_validation_checks_clients_and_references() {
    let mut doc = document();
    doc.oauth2_clients[1].name = " microsoft 365".into();
    doc.oauth2_clients[1].token_url = Some("http://idp.example.com/token".into());
    doc.incoming_accounts[0].oauth2_client = Some(42);
    doc.smtp_accounts[0].oauth2_client = None;
    let v = validate_document(&doc, None);
    for (path, code) in [
        ("oauth2_clients[1].token_url", Code::InvalidUrl),
        ("oauth2_clients[1].name", Code::DuplicateName),
        (
            "incoming_accounts[0].oauth2_client",
            Code::UnknownOAuth2Client,
        ),
        ("smtp_accounts[0].oauth2_client", Code::OAuth2ClientRequired),
    ] {
        assert!(v.contains(path, code), "{path} {code}: {v}");
    }
    let mut doc = document();
    doc.oauth2_clients[0].enabled = false;
    let v = validate_document(&doc, None);
    assert!(
        v.contains(
            "incoming_accounts[0].oauth2_client",
            Code::OAuth2ClientDisabled
        ),
        "{v}"
    );
}

#[test]
fn import_and_export_round_trip_clients_and_check_references() {
    for store in support::postgres::stores("import_and_export_round_trip_clients") {
        let doc = document();
        let summary = store.import(&doc).unwrap();
        assert_eq!(summary.created, 5);
        let exported = store.export().unwrap();
        assert_eq!(exported.oauth2_clients, doc.oauth2_clients);
        assert_eq!(
            exported.incoming_accounts[0].oauth2_client,
            Some(3),
            "{exported:?}"
        );
        assert_eq!(
            exported.smtp_accounts[0].authentication,
            AuthenticationMethod::OAuth2
        );
        let again = store.import(&exported).unwrap();
        assert_eq!((again.unchanged, again.created, again.deleted), (5, 0, 0));
        // A reference to a client the document leaves out refuses the whole import.
        let mut broken = exported.clone();
        broken.oauth2_clients.remove(0);
        let v = invalid(store.import(&broken).unwrap_err());
        assert!(
            v.contains(
                "incoming_accounts[0].oauth2_client",
                Code::UnknownOAuth2Client
            ),
            "{v}"
        );
        assert_eq!(store.export().unwrap(), exported);
        // Leaving out the client and its accounts deletes them.
        let mut fewer = exported.clone();
        fewer.oauth2_clients.remove(0);
        fewer.incoming_accounts.remove(0);
        let s = store.import(&fewer).unwrap();
        assert_eq!(s.deleted, 2);
        assert_eq!(store.list_oauth2_clients().unwrap().len(), 1);
    }
}

#[test]
fn the_application_binds_stored_oauth2_accounts_and_wants_a_token_store() {
    use mail_settings_core::app::{AppOptions, MailSettings};
    use mail_settings_core::oauth2::InMemoryTokenStore;
    use mail_settings_core::{Credential, CredentialId, ErrorCategory, InMemoryCredentials};
    use std::sync::Arc;
    let store = Arc::new(Store::open_in_memory().unwrap());
    let client = store.create_oauth2_client(&microsoft()).unwrap();
    store.create_incoming(&imap(Some(client.id))).unwrap();
    let mut pw = imap(None);
    pw.name = "Password".into();
    pw.credential = Some("pw".into());
    store.create_incoming(&pw).unwrap();
    let creds = Arc::new(InMemoryCredentials::new().with("pw", Credential::password("u", "p")));
    let app = MailSettings::new(store.clone(), creds, AppOptions::default());

    // Configuration time: no token store while a REFRESH_TOKEN account exists is refused.
    let e = app.with_token_store(None).unwrap_err();
    assert_eq!(e.category(), ErrorCategory::Validation);
    assert!(e.to_string().contains("\"Help desk\""), "{e}");
    // Without one, that account's logins say so; the password account is the host's.
    let login = app.login_credentials();
    assert!(login.mints_tokens(&CredentialId::new("helpdesk")));
    let e = login
        .credential(&CredentialId::new("helpdesk"))
        .unwrap_err();
    assert!(e.to_string().contains("no token store"), "{e}");
    assert_eq!(
        login.credential(&CredentialId::new("pw")).unwrap().username,
        "u"
    );
    assert!(!login.mints_tokens(&CredentialId::new("pw")));

    // With a token store: the account is not signed in yet, and status says so.
    let app = app
        .with_token_store(Some(Arc::new(InMemoryTokenStore::new())))
        .unwrap();
    let st = app.oauth2_status().unwrap();
    assert_eq!(st.len(), 1);
    assert_eq!(
        (st[0].kind, st[0].account.as_str(), st[0].state),
        ("incoming", "Help desk", "not_signed_in")
    );
    // With a signed-in token store: signed in (no token obtained by this process yet).
    let tokens = InMemoryTokenStore::new().with("helpdesk", "helpdesk@example.com", Some("rt"));
    let app = app.with_token_store(Some(Arc::new(tokens))).unwrap();
    let st = app.oauth2_status().unwrap();
    assert_eq!(st[0].state, "signed_in");
    assert_eq!(st[0].username.as_deref(), Some("helpdesk@example.com"));
    assert!(!format!("{st:?}").contains("\"rt\""));

    // An app-only client needs no token store.
    let store = Arc::new(Store::open_in_memory().unwrap());
    let c = store
        .create_oauth2_client(&OAuth2ClientForm {
            grant: OAuth2Grant::ClientCredentials,
            tenant: Some("contoso.onmicrosoft.com".into()),
            client_secret_credential: Some("m365-secret".into()),
            ..microsoft()
        })
        .unwrap();
    store.create_incoming(&imap(Some(c.id))).unwrap();
    let app = MailSettings::new(
        store,
        Arc::new(InMemoryCredentials::new()),
        AppOptions::default(),
    );
    assert!(app.with_token_store(None).is_ok());
}

#[test]
fn reports_show_the_authentication_method_and_filter_on_it() {
    use mail_settings_core::report::{
        render_text, IncomingReportFilter, Lang, PageRequest, SmtpReportFilter,
    };
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("r.sqlite3")).unwrap();
    let client = store.create_oauth2_client(&microsoft()).unwrap();
    let oauth = store.create_incoming(&imap(Some(client.id))).unwrap();
    let mut pw = imap(None);
    pw.name = "Password inbox".into();
    let pw = store.create_incoming(&pw).unwrap();
    let out_oauth = store.create_smtp(&smtp(Some(client.id))).unwrap();
    let mut anon = smtp(None);
    anon.name = "Relay".into();
    anon.use_authentication = false;
    anon.credential = None;
    let anon = store.create_smtp(&anon).unwrap();

    let all = store
        .incoming_report(&IncomingReportFilter::default(), PageRequest::page(1))
        .unwrap();
    let methods: Vec<_> = all
        .rows
        .iter()
        .map(|r| (r.id, r.authentication_method))
        .collect();
    assert_eq!(
        methods,
        vec![
            (oauth.id, AuthenticationMethod::OAuth2),
            (pw.id, AuthenticationMethod::Password)
        ]
    );
    let only = |m| IncomingReportFilter {
        auth_method: Some(m),
        ..IncomingReportFilter::default()
    };
    let page = store
        .incoming_report(&only(AuthenticationMethod::OAuth2), PageRequest::page(1))
        .unwrap();
    assert_eq!((page.total, page.rows[0].id), (1, oauth.id), "{page:?}");
    let page = store
        .incoming_report(&only(AuthenticationMethod::Password), PageRequest::page(1))
        .unwrap();
    assert_eq!((page.total, page.rows[0].id), (1, pw.id));
    let json = serde_json::to_string(&page).unwrap();
    assert!(
        json.contains("\"authentication_method\":\"PASSWORD\""),
        "{json}"
    );
    let text = render_text(&all, Lang::En);
    assert!(
        text.contains("Authentication method") && text.contains("OAUTH2"),
        "{text}"
    );

    let mut csv = Vec::new();
    store
        .write_incoming_csv(&only(AuthenticationMethod::OAuth2), Lang::PtBr, &mut csv)
        .unwrap();
    let csv = String::from_utf8(csv).unwrap();
    let mut lines = csv.lines();
    assert!(
        lines.next().unwrap().ends_with(",Método de autenticação"),
        "{csv}"
    );
    assert!(lines.next().unwrap().ends_with(",OAUTH2"), "{csv}");
    assert_eq!(lines.next(), None);
    let mut html = Vec::new();
    store
        .write_incoming_html(
            &only(AuthenticationMethod::OAuth2),
            Lang::En,
            std::time::SystemTime::now(),
            &mut html,
        )
        .unwrap();
    let html = String::from_utf8(html).unwrap();
    assert!(html.contains("Authentication method"), "{html}");
    assert!(
        html.contains("OAUTH2") && !html.contains("Password inbox"),
        "{html}"
    );

    // SMTP: "Authentication" keeps meaning use_authentication; the method is its own column.
    let rows = store
        .smtp_report(&SmtpReportFilter::default(), PageRequest::page(1))
        .unwrap()
        .rows;
    let got: Vec<_> = rows
        .iter()
        .map(|r| (r.id, r.authentication, r.authentication_method))
        .collect();
    assert_eq!(
        got,
        vec![
            (out_oauth.id, true, AuthenticationMethod::OAuth2),
            (anon.id, false, AuthenticationMethod::Password)
        ]
    );
    let f = SmtpReportFilter {
        authentication: Some(true),
        auth_method: Some(AuthenticationMethod::Password),
        ..SmtpReportFilter::default()
    };
    assert_eq!(
        store.smtp_report(&f, PageRequest::page(1)).unwrap().total,
        0
    );
    let mut csv = Vec::new();
    store
        .write_smtp_csv(&SmtpReportFilter::default(), Lang::En, &mut csv)
        .unwrap();
    let csv = String::from_utf8(csv).unwrap();
    assert!(
        csv.lines()
            .next()
            .unwrap()
            .ends_with(",Authentication,Default,Authentication method"),
        "{csv}"
    );
}
