//! The IMAP/POP3 and SMTP reports over a real store file: every filter alone and combined, the
//! effective port, paging and order, CSV (RFC 4180, neutralised formulas, both languages), the
//! printable HTML page (escaping) and the text table.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mail_settings_core::report::{
    render_text, IncomingReportFilter, IncomingReportRow, Lang, PageRequest, ReportPage,
    SmtpReportFilter, Status, DEFAULT_PAGE_SIZE, EXPORT_CHUNK,
};
use mail_settings_core::store::Store;
use mail_settings_core::{
    IncomingAccountForm, Protocol, SecureConnectionType, SettingsDocument, SmtpAccountForm,
};
use std::time::{Duration, UNIX_EPOCH};

fn incoming(name: &str) -> IncomingAccountForm {
    IncomingAccountForm {
        name: name.to_owned(),
        host: "imap.example.com".to_owned(),
        protocol: Some(Protocol::Imap),
        credential: Some("mailbox".to_owned()),
        ..Default::default()
    }
}

fn smtp(name: &str) -> SmtpAccountForm {
    SmtpAccountForm {
        name: name.to_owned(),
        host: "smtp.example.com".to_owned(),
        sender_email: "noreply@example.com".to_owned(),
        credential: Some("smtp-notify".to_owned()),
        ..Default::default()
    }
}

/// 64 incoming accounts covering every combination of the four yes/no columns four times,
/// under names "acct-NN" (and "ACCT" in upper case for every fourth).
fn varied_forms() -> Vec<IncomingAccountForm> {
    (0..64)
        .map(|i: u32| {
            let name = if i % 4 == 0 {
                format!("ACCT-{i:02}")
            } else {
                format!("acct-{i:02}")
            };
            let mut f = incoming(&name);
            f.use_secure_connection = i & 1 == 0;
            f.automatic_check = i & 2 == 0;
            f.keep_copy_on_server = i & 4 == 0;
            f.enabled = i & 8 == 0;
            f.protocol = Some(if i & 16 == 0 {
                Protocol::Imap
            } else {
                Protocol::Pop3
            });
            f.secure_connection_type = if i & 32 == 0 {
                SecureConnectionType::Ssl
            } else {
                SecureConnectionType::Tls
            };
            f
        })
        .collect()
}

#[path = "support/postgres.rs"]
mod postgres_support;

use postgres_support::TestStore;

/// An SQLite file store holding `forms`.
fn stores_with_sqlite_only(forms: Vec<IncomingAccountForm>) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("settings.sqlite3")).unwrap();
    store
        .import(&SettingsDocument {
            incoming_accounts: forms,
            ..SettingsDocument::default()
        })
        .unwrap();
    (dir, store)
}

/// Stores holding `forms` (imported): an SQLite file, and a PostgreSQL database when the test
/// server answers (dropped with its [`TestStore`]).
fn stores_with(
    test: &str,
    forms: Vec<IncomingAccountForm>,
) -> Vec<(Option<tempfile::TempDir>, TestStore)> {
    let doc = SettingsDocument {
        incoming_accounts: forms,
        ..SettingsDocument::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let file = Store::open(dir.path().join("settings.sqlite3")).unwrap();
    let mut out = vec![(Some(dir), TestStore::from(file))];
    out.extend(postgres_support::postgres_store(test).map(|s| (None, s)));
    for (_, store) in &out {
        store.import(&doc).unwrap();
    }
    out
}

fn all_rows(store: &Store, filter: &IncomingReportFilter) -> ReportPage<IncomingReportRow> {
    store
        .incoming_report(
            filter,
            PageRequest {
                page: 1,
                page_size: 1000,
            },
        )
        .unwrap()
}

/// Ids of the stored forms matching `keep`, in id order.
fn expected_ids(store: &Store, keep: impl Fn(&IncomingAccountForm) -> bool) -> Vec<i64> {
    store
        .list_incoming()
        .unwrap()
        .into_iter()
        .filter(|s| keep(&s.record))
        .map(|s| s.id)
        .collect()
}

fn ids(page: &ReportPage<IncomingReportRow>) -> Vec<i64> {
    page.rows.iter().map(|r| r.id).collect()
}

#[test]
fn each_incoming_filter_alone() {
    for (_dir, store) in stores_with("each_incoming_filter_alone", varied_forms()) {
        let none = all_rows(&store, &IncomingReportFilter::default());
        assert_eq!(none.total, 64);
        assert_eq!(ids(&none), expected_ids(&store, |_| true));

        for yes in [true, false] {
            let f = IncomingReportFilter {
                secure_connection: Some(yes),
                ..Default::default()
            };
            let page = all_rows(&store, &f);
            assert_eq!(
                ids(&page),
                expected_ids(&store, |a| a.use_secure_connection == yes)
            );
            assert_eq!(page.total, 32);

            let f = IncomingReportFilter {
                automatic_check: Some(yes),
                ..Default::default()
            };
            assert_eq!(
                ids(&all_rows(&store, &f)),
                expected_ids(&store, |a| a.automatic_check == yes)
            );

            let f = IncomingReportFilter {
                keep_copy: Some(yes),
                ..Default::default()
            };
            assert_eq!(
                ids(&all_rows(&store, &f)),
                expected_ids(&store, |a| a.keep_copy_on_server == yes)
            );
        }
        for (status, enabled) in [(Status::Enabled, true), (Status::Disabled, false)] {
            let f = IncomingReportFilter {
                status: Some(status),
                ..Default::default()
            };
            let page = all_rows(&store, &f);
            assert_eq!(ids(&page), expected_ids(&store, |a| a.enabled == enabled));
            assert_eq!(page.total, 32);
        }
        let f = IncomingReportFilter {
            name_contains: Some("Acct-1".to_owned()),
            ..Default::default()
        };
        let page = all_rows(&store, &f);
        assert_eq!(
            ids(&page),
            expected_ids(&store, |a| a.name.to_lowercase().contains("acct-1"))
        );
        assert_eq!(page.total, 10, "acct-10 … acct-19, whatever their case");
    }
}

#[test]
fn incoming_filters_combine_with_and() {
    for (_dir, store) in stores_with("incoming_filters_combine_with_and", varied_forms()) {
        let f = IncomingReportFilter {
            name_contains: Some("acct-".to_owned()),
            secure_connection: Some(true),
            automatic_check: Some(false),
            keep_copy: Some(true),
            status: Some(Status::Enabled),
            auth_method: None,
        };
        let page = all_rows(&store, &f);
        let want = expected_ids(&store, |a| {
            a.use_secure_connection && !a.automatic_check && a.keep_copy_on_server && a.enabled
        });
        assert_eq!(want.len(), 4);
        assert_eq!(ids(&page), want);
        assert_eq!(page.total, 4);

        let f = IncomingReportFilter {
            name_contains: Some("ACCT-0".to_owned()),
            secure_connection: Some(false),
            ..Default::default()
        };
        assert_eq!(
            ids(&all_rows(&store, &f)),
            expected_ids(&store, |a| a.name.to_lowercase().starts_with("acct-0")
                && !a.use_secure_connection)
        );
    }
}

#[test]
fn name_contains_is_literal_and_case_insensitive() {
    let names = [
        "100% sure",
        "a_b",
        "aXb",
        "back\\slash",
        "JOÃO Suporte",
        "  padded  ",
    ];
    for (_dir, store) in stores_with(
        "name_contains_is_literal_and_case_insensitive",
        names.iter().map(|n| incoming(n)).collect(),
    ) {
        let find = |needle: &str| -> Vec<String> {
            let f = IncomingReportFilter {
                name_contains: Some(needle.to_owned()),
                ..Default::default()
            };
            all_rows(&store, &f)
                .rows
                .into_iter()
                .map(|r| r.name)
                .collect()
        };
        assert_eq!(find("%"), vec!["100% sure"]);
        assert_eq!(find("_"), vec!["a_b"]);
        assert_eq!(find("\\"), vec!["back\\slash"]);
        assert_eq!(find("joão"), vec!["JOÃO Suporte"]);
        assert_eq!(find("PADDED"), vec!["padded"], "names are shown trimmed");
        assert_eq!(
            find("   ").len(),
            names.len(),
            "a blank filter is no filter"
        );
        assert!(find("nothing like it").is_empty());
    }
}

#[test]
fn connection_type_and_effective_port() {
    let cases: Vec<(IncomingAccountForm, Option<SecureConnectionType>, u16)> = vec![
        (incoming("imap ssl"), Some(SecureConnectionType::Ssl), 993),
        (
            IncomingAccountForm {
                secure_connection_type: SecureConnectionType::Tls,
                ..incoming("imap tls")
            },
            Some(SecureConnectionType::Tls),
            143,
        ),
        (
            IncomingAccountForm {
                use_secure_connection: false,
                ..incoming("imap clear")
            },
            None,
            143,
        ),
        (
            IncomingAccountForm {
                protocol: Some(Protocol::Pop3),
                ..incoming("pop ssl")
            },
            Some(SecureConnectionType::Ssl),
            995,
        ),
        (
            IncomingAccountForm {
                protocol: Some(Protocol::Pop3),
                secure_connection_type: SecureConnectionType::Tls,
                ..incoming("pop tls")
            },
            Some(SecureConnectionType::Tls),
            110,
        ),
        (
            IncomingAccountForm {
                protocol: Some(Protocol::Pop3),
                use_secure_connection: false,
                // The type is kept in the form but means nothing without a secure connection.
                secure_connection_type: SecureConnectionType::Ssl,
                ..incoming("pop clear")
            },
            None,
            110,
        ),
        (
            IncomingAccountForm {
                port: Some(10993),
                ..incoming("typed port")
            },
            Some(SecureConnectionType::Ssl),
            10993,
        ),
    ];
    for (_dir, store) in stores_with(
        "connection_type_and_effective_port",
        cases.iter().map(|c| c.0.clone()).collect(),
    ) {
        let page = all_rows(&store, &IncomingReportFilter::default());
        for (row, (form, kind, port)) in page.rows.iter().zip(&cases) {
            assert_eq!(row.name, form.name);
            assert_eq!(row.connection_type, *kind, "{}", form.name);
            assert_eq!(row.secure_connection, kind.is_some(), "{}", form.name);
            assert_eq!(row.port, *port, "{}", form.name);
            assert_eq!(Some(row.port), form.effective_port(), "{}", form.name);
            assert_eq!(Some(row.protocol), form.protocol);
        }
        let csv = csv_of(&store, &IncomingReportFilter::default(), Lang::En);
        assert!(
            csv.contains("\r\n3,imap clear,No,,IMAP,143,Yes,Yes,INBOX,,Yes,PASSWORD\r\n"),
            "{csv}"
        );
    }
}

#[test]
fn paging_total_last_page_and_past_the_end() {
    let forms: Vec<_> = (0..95).map(|i| incoming(&format!("a{i:03}"))).collect();
    for (_dir, store) in stores_with("paging_total_last_page_and_past_the_end", forms) {
        let all = ids(&all_rows(&store, &IncomingReportFilter::default()));
        let f = IncomingReportFilter::default();

        let first = store.incoming_report(&f, PageRequest::default()).unwrap();
        assert_eq!(first.page_size, DEFAULT_PAGE_SIZE);
        assert_eq!((first.page, first.total, first.page_count()), (1, 95, 4));
        assert_eq!(ids(&first), all[..30]);

        let mut joined = Vec::new();
        for p in 1..=4 {
            let page = store.incoming_report(&f, PageRequest::page(p)).unwrap();
            assert_eq!(page.total, 95);
            joined.extend(ids(&page));
        }
        assert_eq!(joined, all, "pages cover every row once, in id order");
        let last = store.incoming_report(&f, PageRequest::page(4)).unwrap();
        assert_eq!(last.rows.len(), 5);

        let past = store.incoming_report(&f, PageRequest::page(5)).unwrap();
        assert!(past.rows.is_empty());
        assert_eq!((past.page, past.total), (5, 95));
        let far = store
            .incoming_report(&f, PageRequest::page(u32::MAX))
            .unwrap();
        assert!(far.rows.is_empty());

        // Page 0 reads as 1; sizes are brought into 1..=1000.
        let zero = store
            .incoming_report(
                &f,
                PageRequest {
                    page: 0,
                    page_size: 0,
                },
            )
            .unwrap();
        assert_eq!(
            (zero.page, zero.page_size, ids(&zero)),
            (1, 1, vec![all[0]])
        );

        let filtered = IncomingReportFilter {
            name_contains: Some("a09".to_owned()),
            ..Default::default()
        };
        let page = store
            .incoming_report(
                &filtered,
                PageRequest {
                    page: 2,
                    page_size: 3,
                },
            )
            .unwrap();
        assert_eq!(page.total, 5, "a090 … a094");
        assert_eq!(page.rows.len(), 2);
        assert_eq!(page.page_count(), 2);
    }
}

#[test]
fn order_is_stable_under_edits() {
    let forms: Vec<_> = (0..40)
        .map(|i| incoming(&format!("z{:02}", 39 - i)))
        .collect();
    for (_dir, store) in stores_with("order_is_stable_under_edits", forms) {
        let f = IncomingReportFilter::default();
        let before = ids(&store.incoming_report(&f, PageRequest::page(1)).unwrap());
        let mut sorted = before.clone();
        sorted.sort_unstable();
        assert_eq!(before, sorted, "by id, not by name");
        // Editing records (new versions, new names) does not move them.
        for s in store.list_incoming().unwrap().into_iter().step_by(3) {
            let mut form = s.record.clone();
            form.name = format!("edited {}", s.id);
            store.update_incoming(s.id, s.version, &form).unwrap();
        }
        let after = ids(&store.incoming_report(&f, PageRequest::page(1)).unwrap());
        assert_eq!(after, before);
    }
}

fn csv_of(store: &Store, filter: &IncomingReportFilter, lang: Lang) -> String {
    let mut out = Vec::new();
    store.write_incoming_csv(filter, lang, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// A small RFC 4180 reader: records of fields, CRLF line ends.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                c => field.push(c),
            }
        } else {
            match c {
                '"' => quoted = true,
                ',' => record.push(std::mem::take(&mut field)),
                '\r' => {
                    assert_eq!(chars.next(), Some('\n'), "bare CR outside quotes");
                    record.push(std::mem::take(&mut field));
                    records.push(std::mem::take(&mut record));
                }
                '\n' => panic!("bare LF outside quotes"),
                c => field.push(c),
            }
        }
    }
    assert!(
        field.is_empty() && record.is_empty(),
        "last line ends with CRLF"
    );
    records
}

#[test]
fn csv_quotes_and_neutralises() {
    let names = [
        "Plain",
        "Comma, Inc",
        "Say \"hi\"",
        "=HYPERLINK(\"http://evil.example\",\"x\")",
        "+1 555",
        "-2+3",
        "@SUM(A1)",
        "Trailing = is fine",
    ];
    for (_dir, store) in stores_with(
        "csv_quotes_and_neutralises",
        names.iter().map(|n| incoming(n)).collect(),
    ) {
        let csv = csv_of(&store, &IncomingReportFilter::default(), Lang::En);
        assert!(csv.ends_with("\r\n"));
        let records = parse_csv(&csv);
        assert_eq!(
            records[0],
            vec![
                "ID",
                "Name",
                "Secure connection",
                "Connection type",
                "Protocol",
                "Port",
                "Automatic check",
                "Keep copy in server",
                "Folders",
                "Archive folder",
                "Push",
                "Authentication method"
            ]
        );
        let got: Vec<&str> = records[1..].iter().map(|r| r[1].as_str()).collect();
        assert_eq!(
            got,
            vec![
                "Plain",
                "Comma, Inc",
                "Say \"hi\"",
                "'=HYPERLINK(\"http://evil.example\",\"x\")",
                "'+1 555",
                "'-2+3",
                "'@SUM(A1)",
                "Trailing = is fine",
            ]
        );
        assert!(records[1..].iter().all(|r| r.len() == 12));
        assert_eq!(
            records[1][2..],
            ["Yes", "SSL", "IMAP", "993", "Yes", "Yes", "INBOX", "", "Yes", "PASSWORD"]
        );
        assert!(csv.contains("\"Say \"\"hi\"\"\""), "{csv}");
        assert!(!csv.contains("\n=") && !csv.contains(",="), "{csv}");
    }
}

#[test]
fn csv_in_portuguese() {
    let mut form = incoming("Conta São Paulo");
    form.use_secure_connection = false;
    form.automatic_check = false;
    for (_dir, store) in stores_with("csv_in_portuguese", vec![form]) {
        let csv = csv_of(&store, &IncomingReportFilter::default(), Lang::PtBr);
        let records = parse_csv(&csv);
        assert_eq!(
            records[0],
            vec![
                "ID",
                "Nome",
                "Conexão segura",
                "Tipo de conexão",
                "Protocolo",
                "Porta",
                "Verificação automática",
                "Manter cópia no servidor",
                "Pastas",
                "Pasta de arquivo",
                "Push",
                "Método de autenticação"
            ]
        );
        assert_eq!(
            records[1],
            vec![
                "1",
                "Conta São Paulo",
                "Não",
                "",
                "IMAP",
                "143",
                "Não",
                "Sim",
                "INBOX",
                "",
                "Sim",
                "PASSWORD"
            ]
        );
    }
}

#[test]
fn csv_exports_every_page_of_the_filtered_report() {
    let n = EXPORT_CHUNK as usize * 2 + 137;
    let forms: Vec<_> = (0..n)
        .map(|i| {
            let mut f = incoming(&format!("bulk {i:05}"));
            f.keep_copy_on_server = i % 3 != 0;
            f
        })
        .collect();
    for (_dir, store) in stores_with("csv_exports_every_page_of_the_filtered_report", forms) {
        let all = csv_of(&store, &IncomingReportFilter::default(), Lang::En);
        let records = parse_csv(&all);
        assert_eq!(records.len(), n + 1);
        let ids: Vec<i64> = records[1..].iter().map(|r| r[0].parse().unwrap()).collect();
        assert_eq!(ids, (1..=n as i64).collect::<Vec<_>>());

        let f = IncomingReportFilter {
            keep_copy: Some(false),
            ..Default::default()
        };
        let mut out = Vec::new();
        let rows = store.write_incoming_csv(&f, Lang::En, &mut out).unwrap();
        let records = parse_csv(&String::from_utf8(out).unwrap());
        assert_eq!(rows as usize, records.len() - 1);
        assert_eq!(rows as usize, n.div_ceil(3));
        assert!(records[1..].iter().all(|r| r[7] == "No"));
        assert_eq!(
            rows,
            store
                .incoming_report(&f, PageRequest::page(1))
                .unwrap()
                .total
        );
    }
}

#[test]
fn smtp_report_filters_columns_and_csv() {
    for store in postgres_support::stores("smtp_report_filters_columns_and_csv") {
        let a = store
            .create_smtp(&SmtpAccountForm {
                default_account: true,
                ..smtp("Notifications")
            })
            .unwrap();
        let b = store
            .create_smtp(&SmtpAccountForm {
                use_authentication: false,
                credential: None,
                use_secure_connection: false,
                port: Some(25),
                ..smtp("Relay")
            })
            .unwrap();
        let c = store
            .create_smtp(&SmtpAccountForm {
                enabled: false,
                secure_connection_type: SecureConnectionType::Tls,
                sender_email: "=cmd@example.com".to_owned(),
                ..smtp("Old notifications")
            })
            .unwrap();
        let ids = |f: SmtpReportFilter| -> Vec<i64> {
            store
                .smtp_report(&f, PageRequest::default())
                .unwrap()
                .rows
                .iter()
                .map(|r| r.id)
                .collect()
        };
        assert_eq!(ids(SmtpReportFilter::default()), vec![a.id, b.id, c.id]);
        assert_eq!(
            ids(SmtpReportFilter {
                name_contains: Some("NOTIF".to_owned()),
                ..Default::default()
            }),
            vec![a.id, c.id]
        );
        assert_eq!(
            ids(SmtpReportFilter {
                secure_connection: Some(false),
                ..Default::default()
            }),
            vec![b.id]
        );
        assert_eq!(
            ids(SmtpReportFilter {
                status: Some(Status::Disabled),
                ..Default::default()
            }),
            vec![c.id]
        );
        assert_eq!(
            ids(SmtpReportFilter {
                authentication: Some(true),
                ..Default::default()
            }),
            vec![a.id, c.id]
        );
        assert_eq!(
            ids(SmtpReportFilter {
                default_account: Some(true),
                ..Default::default()
            }),
            vec![a.id]
        );
        assert_eq!(
            ids(SmtpReportFilter {
                name_contains: Some("notif".to_owned()),
                status: Some(Status::Enabled),
                default_account: Some(false),
                ..Default::default()
            }),
            Vec::<i64>::new()
        );

        let page = store
            .smtp_report(&SmtpReportFilter::default(), PageRequest::default())
            .unwrap();
        let ports: Vec<u16> = page.rows.iter().map(|r| r.port).collect();
        assert_eq!(ports, vec![465, 25, 587]);
        assert_eq!(page.rows[1].connection_type, None);
        assert_eq!(
            page.rows[2].connection_type,
            Some(SecureConnectionType::Tls)
        );

        let mut out = Vec::new();
        store
            .write_smtp_csv(&SmtpReportFilter::default(), Lang::PtBr, &mut out)
            .unwrap();
        let records = parse_csv(&String::from_utf8(out).unwrap());
        assert_eq!(
            records[0],
            vec![
                "ID",
                "Nome",
                "Ativo",
                "Remetente",
                "Host",
                "Porta",
                "Conexão segura",
                "Tipo de conexão",
                "Autenticação",
                "Padrão",
                "Método de autenticação"
            ]
        );
        assert_eq!(
            records[1],
            vec![
                "1",
                "Notifications",
                "Sim",
                "noreply@example.com",
                "smtp.example.com",
                "465",
                "Sim",
                "SSL",
                "Sim",
                "Sim",
                "PASSWORD"
            ]
        );
        assert_eq!(records[3][3], "'=cmd@example.com");
        assert_eq!(records[3][2], "Não");
    }
}

#[test]
fn html_is_standalone_printable_and_escaped() {
    let names = ["<script>alert(1)</script>", "\"&'", "Tom & Jerry's <b>"];
    for (_dir, store) in stores_with(
        "html_is_standalone_printable_and_escaped",
        names.iter().map(|n| incoming(n)).collect(),
    ) {
        let filter = IncomingReportFilter {
            name_contains: Some("<".to_owned()),
            secure_connection: Some(true),
            ..Default::default()
        };
        let generated = UNIX_EPOCH + Duration::from_secs(1_763_779_680);
        let mut out = Vec::new();
        let rows = store
            .write_incoming_html(&filter, Lang::En, generated, &mut out)
            .unwrap();
        assert_eq!(rows, 2);
        let html = String::from_utf8(out).unwrap();
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<title>IMAP/POP3 settings</title>"));
        assert!(html.contains("@media print"));
        assert!(html.contains("2025-11-22 02:48:00 UTC"), "{html}");
        assert!(
            html.contains("Name: &lt;; Secure connection: Yes"),
            "{html}"
        );
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("Tom &amp; Jerry&#39;s &lt;b&gt;"));
        assert!(
            !html.contains("<script>") && !html.contains("<b>"),
            "{html}"
        );
        assert!(!html.contains("\"&'"));
        assert_eq!(html.matches("<tr>").count(), 1 + 2, "header and two rows");
        assert!(
            !html.contains("http://") && !html.contains("src="),
            "standalone"
        );

        let mut out = Vec::new();
        store
            .write_incoming_html(
                &IncomingReportFilter::default(),
                Lang::PtBr,
                generated,
                &mut out,
            )
            .unwrap();
        let html = String::from_utf8(out).unwrap();
        assert!(html.contains("<html lang=\"pt-BR\">"));
        assert!(html.contains("Configuração IMAP/POP3"));
        assert!(html.contains("Filtros: nenhum"));
        assert!(html.contains("<th scope=\"col\">Manter cópia no servidor</th>"));
        assert!(html.contains("&quot;&amp;&#39;"));

        let mut out = Vec::new();
        store
            .write_smtp_html(&SmtpReportFilter::default(), Lang::En, generated, &mut out)
            .unwrap();
        assert!(String::from_utf8(out)
            .unwrap()
            .contains("<title>SMTP settings</title>"));
    }
}

#[test]
fn text_table_is_aligned() {
    // The rendering under test is the same for both backends: the SQLite file only.
    let (_dir, store) = stores_with_sqlite_only(vec![
        incoming("Short"),
        IncomingAccountForm {
            port: Some(10993),
            ..incoming("A much longer account name")
        },
        incoming("Third one"),
    ]);
    let page = store
        .incoming_report(&IncomingReportFilter::default(), PageRequest::default())
        .unwrap();
    let text = render_text(&page, Lang::En);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1 + 1 + 3 + 1, "{text}");
    assert!(lines[0].starts_with("ID  Name"), "{text}");
    assert!(lines[1].starts_with("--  ----"), "{text}");
    // Every row's name starts where the Name header starts.
    let name_col = lines[0].find("Name").unwrap();
    for (line, name) in lines[2..5]
        .iter()
        .zip(["Short", "A much longer", "Third one"])
    {
        assert_eq!(line.find(name), Some(name_col), "{text}");
    }
    // Ports are right-aligned under their header.
    let port_end = lines[0].find("Port").unwrap() + 4;
    assert_eq!(&lines[2][port_end - 3..port_end], "993", "{text}");
    assert_eq!(&lines[3][port_end - 5..port_end], "10993", "{text}");
    assert_eq!(lines[5], "Page 1 of 1 (3 rows)");

    let pt = render_text(&page, Lang::PtBr);
    assert!(pt.starts_with("ID  Nome"), "{pt}");
    assert!(pt.contains("Sim"));
    assert!(pt.ends_with("Página 1 de 1 (3 registros)\n"), "{pt}");
}

#[test]
fn pages_and_filters_serialize_for_the_cli() {
    for (_dir, store) in stores_with(
        "pages_and_filters_serialize_for_the_cli",
        vec![incoming("Helpdesk")],
    ) {
        let page = store
            .incoming_report(&IncomingReportFilter::default(), PageRequest::default())
            .unwrap();
        let json = serde_json::to_value(&page).unwrap();
        assert_eq!(json["total"], 1);
        assert_eq!(json["page"], 1);
        assert_eq!(json["page_size"], 30);
        assert_eq!(json["rows"][0]["name"], "Helpdesk");
        assert_eq!(json["rows"][0]["port"], 993);
        assert_eq!(json["rows"][0]["connection_type"], "SSL");
        assert_eq!(json["rows"][0]["protocol"], "IMAP");

        let filter: IncomingReportFilter =
            serde_json::from_str(r#"{"name_contains": "help", "status": "disabled"}"#).unwrap();
        assert_eq!(filter.status, Some(Status::Disabled));
        assert!(serde_json::from_str::<IncomingReportFilter>(r#"{"nmae": "x"}"#).is_err());
        assert_eq!(serde_json::to_string(&Lang::PtBr).unwrap(), "\"pt-BR\"");
    }
}

/// Folders, Archive folder and Push (issue 15) in every format and both languages: folders as
/// the user writes them, the archive folder or nothing, push only for an IMAP account with
/// `use_push` (a POP3 account has none, whatever the field says).
#[test]
fn folders_archive_and_push_columns() {
    let mut imap = incoming("Suporte");
    imap.folders = vec!["INBOX".into(), "Suporte/Atenção".into()];
    imap.archive_folder = Some("Arquivo/Concluídos".into());
    imap.keep_copy_on_server = false;
    let mut polled = incoming("Polled");
    polled.use_push = false;
    let mut pop3 = incoming("POP3 box");
    pop3.protocol = Some(Protocol::Pop3);
    for (_dir, store) in stores_with("folders_archive_and_push_columns", vec![imap, polled, pop3]) {
        let page = all_rows(&store, &IncomingReportFilter::default());
        let got: Vec<(Vec<String>, Option<String>, bool)> = page
            .rows
            .iter()
            .map(|r| (r.folders.clone(), r.archive_folder.clone(), r.push))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    vec!["INBOX".to_owned(), "Suporte/Atenção".to_owned()],
                    Some("Arquivo/Concluídos".to_owned()),
                    true
                ),
                (vec!["INBOX".to_owned()], None, false),
                (vec!["INBOX".to_owned()], None, false),
            ]
        );

        let records = parse_csv(&csv_of(
            &store,
            &IncomingReportFilter::default(),
            Lang::PtBr,
        ));
        assert_eq!(records[0][8..11], ["Pastas", "Pasta de arquivo", "Push"]);
        assert_eq!(
            records[1][8..11],
            ["INBOX, Suporte/Atenção", "Arquivo/Concluídos", "Sim"]
        );
        assert_eq!(records[2][8..11], ["INBOX", "", "Não"]);
        assert_eq!(records[3][8..11], ["INBOX", "", "Não"]);

        let text = render_text(&page, Lang::En);
        let header = text.lines().find(|l| l.contains("Name")).unwrap();
        assert!(
            header.contains("Folders")
                && header.contains("Archive folder")
                && header.contains("Push"),
            "{text}"
        );
        assert!(
            text.contains("INBOX, Suporte/Atenção") && text.contains("Arquivo/Concluídos"),
            "{text}"
        );

        let json = serde_json::to_value(&page.rows[0]).unwrap();
        assert_eq!(
            json["folders"],
            serde_json::json!(["INBOX", "Suporte/Atenção"])
        );
        assert_eq!(json["archive_folder"], "Arquivo/Concluídos");
        assert_eq!(json["push"], true);

        let mut out = Vec::new();
        store
            .write_incoming_html(
                &IncomingReportFilter::default(),
                Lang::PtBr,
                UNIX_EPOCH,
                &mut out,
            )
            .unwrap();
        let html = String::from_utf8(out).unwrap();
        for th in ["Pastas", "Pasta de arquivo", "Push"] {
            assert!(
                html.contains(&format!("<th scope=\"col\">{th}</th>")),
                "{html}"
            );
        }
        assert!(html.contains("<td>Arquivo/Concluídos</td>"), "{html}");
    }
}
