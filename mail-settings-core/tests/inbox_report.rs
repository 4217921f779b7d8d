//! The inbox report: an account's inbox listing exported as the account reports are (CSV with
//! the same formula safety and optional byte-order mark, printable HTML), EN and PT-BR.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mail_settings_core::collector::{
    Collector, CollectorOptions, MailSource, MemoryProtocol, MemoryServer,
};
use mail_settings_core::inbox::{Inbox, InboxQuery};
use mail_settings_core::report::{CsvOptions, Lang};
use mail_settings_core::store::Store;
use mail_settings_core::{IncomingAccount, IncomingAccountForm, Protocol};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

fn message(i: usize, from: &str, subject: &str, day: u32) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: desk@example.test\r\nSubject: {subject}\r\n\
         Date: {day:02} Jul 2025 12:00:00 +0000\r\nMessage-ID: <report-{i}@example.test>\r\n\r\nBody {i}\r\n"
    )
    .into_bytes()
}

/// Two accounts; "Suporte São Paulo" holds `n` plain messages plus two that try to break the
/// exports (a formula, markup).
#[path = "support/postgres.rs"]
mod postgres_support;

use postgres_support::TestStore;

/// The inbox on both backends: SQLite, and PostgreSQL when the test server answers (its
/// database dropped with the [`TestStore`]).
fn inboxes(test: &str, n: usize) -> Vec<(Inbox, i64, TestStore)> {
    postgres_support::stores(test)
        .into_iter()
        .map(|s| {
            let (inbox, desk) = inbox(&s, n);
            (inbox, desk, s)
        })
        .collect()
}

fn inbox(store: &Arc<Store>, n: usize) -> (Inbox, i64) {
    let store = Arc::clone(store);
    let mut ids = Vec::new();
    let servers: Vec<(String, MemoryServer)> = ["Suporte São Paulo", "Sales"]
        .iter()
        .map(|name| {
            let form = IncomingAccountForm {
                name: (*name).to_owned(),
                host: "mail.example.test".into(),
                protocol: Some(Protocol::Imap),
                credential: Some("c".into()),
                ..IncomingAccountForm::default()
            };
            ids.push(store.create_incoming(&form).unwrap().id);
            ((*name).to_owned(), MemoryServer::new(MemoryProtocol::Imap))
        })
        .collect();
    let desk = &servers[0].1;
    for i in 0..n {
        desk.add(message(
            i,
            "a@example.test",
            &format!("Chamado {i}"),
            (i % 28 + 1) as u32,
        ));
    }
    desk.add(message(1000, "=HYPERLINK(\"http://evil\")", "+SUM(A1)", 29));
    desk.add(message(
        1001,
        "José <jose@example.test>",
        "<script>alert(1)</script> & \"x\"",
        30,
    ));
    servers[1]
        .1
        .add(message(2000, "b@example.test", "other account", 2));
    let sources = servers.clone();
    let collector = Collector::with_sources(
        store.clone(),
        Arc::new(move |a: &IncomingAccount| {
            let s = sources
                .iter()
                .find(|(n, _)| n == a.name())
                .unwrap()
                .1
                .source();
            Ok(Box::new(s) as Box<dyn MailSource>)
        }),
        CollectorOptions::default(),
    );
    for id in &ids {
        collector.check_now(*id).unwrap();
    }
    (Inbox::new(store), ids[0])
}

#[test]
fn csv_is_the_whole_listing_formula_safe_with_an_optional_bom() {
    // More than two export chunks of 500.
    for (inbox, desk, _store) in inboxes(
        "csv_is_the_whole_listing_formula_safe_with_an_optional_bom",
        1200,
    ) {
        let q = InboxQuery {
            page: 3,
            page_size: 7, // ignored by exports
            ..InboxQuery::account(desk)
        };
        let mut csv = Vec::new();
        assert_eq!(
            inbox
                .write_csv(&q, Lang::PtBr, CsvOptions::default(), &mut csv)
                .unwrap(),
            1202
        );
        let text = String::from_utf8(csv.clone()).unwrap();
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines[0], "ID,Conta,Data,De,Assunto,Tamanho,Anexos,Lida");
        assert_eq!(
            lines.len(),
            1 + 1202 + 1,
            "a header, the rows, and the final CRLF"
        );
        // Newest first, as the listing: the message dated the 30th, then the 29th.
        assert!(
            lines[1].contains("\"<script>alert(1)</script> & \"\"x\"\"\""),
            "{}",
            lines[1]
        );
        assert!(lines[1].contains("2025-07-30 12:00:00 UTC"), "{}", lines[1]);
        assert!(lines[2].contains(",'+SUM(A1),"), "{}", lines[2]);
        assert!(lines[2].ends_with(",Não"), "{}", lines[2]);
        assert!(text.contains("Suporte São Paulo") && !text.contains("other account"));
        // The same rows as the listing, in its order.
        let first_page = inbox.list(&InboxQuery::account(desk)).unwrap();
        for (line, m) in lines[1..].iter().zip(&first_page.messages) {
            assert!(line.starts_with(&format!("{},", m.id)), "{line}");
        }
        // The byte-order mark, once, only when asked.
        let mut bom = Vec::new();
        inbox
            .write_csv(&q, Lang::PtBr, CsvOptions::default().bom(true), &mut bom)
            .unwrap();
        assert_eq!(&bom[..3], b"\xEF\xBB\xBF");
        assert_eq!(&bom[3..], &csv[..]);
        // English labels; filters apply; every account.
        let mut en = Vec::new();
        let unread_hyperlinks = InboxQuery {
            text_contains: Some("hyperlink".into()),
            ..InboxQuery::default()
        };
        assert_eq!(
            inbox
                .write_csv(&unread_hyperlinks, Lang::En, CsvOptions::default(), &mut en)
                .unwrap(),
            1
        );
        assert!(String::from_utf8(en)
            .unwrap()
            .starts_with("ID,Account,Date,From,Subject,Size,Attachments,Read\r\n"));
    }
}

#[test]
fn html_is_a_printable_escaped_page_with_its_filters() {
    for (inbox, desk, _store) in inboxes("html_is_a_printable_escaped_page_with_its_filters", 3) {
        let q = InboxQuery {
            text_contains: Some("chamado".into()),
            unread_only: true,
            ..InboxQuery::account(desk)
        };
        let at = UNIX_EPOCH + Duration::from_secs(1_765_000_000);
        let mut html = Vec::new();
        assert_eq!(inbox.write_html(&q, Lang::PtBr, at, &mut html).unwrap(), 3);
        let page = String::from_utf8(html).unwrap();
        assert!(page.starts_with("<!DOCTYPE html>\n<html lang=\"pt-BR\">"));
        assert!(page.contains("<h1>Caixa de Entrada</h1>"));
        assert!(
            page.contains(
                "Conta: Suporte São Paulo; De ou assunto: chamado; Somente não lidas: Sim"
            ),
            "{page}"
        );
        assert!(page.contains("@media print"));
        assert!(page.contains("Registros: 3"));
        assert_eq!(page.matches("<tr><td class=\"num\">").count(), 3);
        let mut all = Vec::new();
        inbox
            .write_html(&InboxQuery::account(desk), Lang::En, at, &mut all)
            .unwrap();
        let all = String::from_utf8(all).unwrap();
        assert!(all.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot;"));
        assert!(!all.contains("<script>"));
        assert!(all.contains("<h1>Inbox</h1>") && all.contains("Rows: 5"));
    }
}
