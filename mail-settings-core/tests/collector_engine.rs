//! The collector's exactly-once logic against an in-memory server ([`MemoryServer`]), for
//! what a real server will not do on demand: cuts at chosen points, refusals, a message that
//! always breaks the connection, renumbering (UIDVALIDITY change), a server without UIDL.
//! The same behaviour against real Dovecot is in `tests/tests/collector*.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mail_settings_core::collector::{
    CancelToken, CollectError, Collector, CollectorOptions, MailSource, MemoryFault,
    MemoryProtocol, MemoryServer, MessageOutcome, Progress, RunControl, RunReport,
};
use mail_settings_core::inbox::{Inbox, InboxQuery};
use mail_settings_core::store::Store;
use mail_settings_core::{IncomingAccount, IncomingAccountForm, Protocol, RecordId};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

fn message(i: usize) -> Vec<u8> {
    format!(
        "From: Sender {i} <sender{i}@example.test>\r\n\
         To: desk@example.test\r\n\
         Subject: Ticket {i}\r\n\
         Date: Tue, 1 Jul 2025 10:{:02}:00 +0000\r\n\
         Message-ID: <m{i}@example.test>\r\n\
         \r\n\
         Body of message {i}.\r\n",
        i % 60
    )
    .into_bytes()
}

struct Setup {
    store: Arc<Store>,
    account: RecordId,
    server: MemoryServer,
    collector: Collector,
}

fn form(name: &str, protocol: Protocol, keep: bool) -> IncomingAccountForm {
    IncomingAccountForm {
        name: name.to_owned(),
        host: "mail.example.test".to_owned(),
        protocol: Some(protocol),
        credential: Some("c".to_owned()),
        keep_copy_on_server: keep,
        check_interval_secs: 30,
        ..IncomingAccountForm::default()
    }
}

fn options() -> CollectorOptions {
    let mut o = CollectorOptions::default();
    o.batch_messages = 3;
    o.commit_messages = 2;
    o
}

fn setup_with(
    kind: MemoryProtocol,
    keep: bool,
    tweak: impl FnOnce(&mut IncomingAccountForm),
) -> Setup {
    let store = Arc::new(Store::open_in_memory().unwrap());
    let protocol = if kind == MemoryProtocol::Imap {
        Protocol::Imap
    } else {
        Protocol::Pop3
    };
    let mut f = form("Desk", protocol, keep);
    tweak(&mut f);
    let account = store.create_incoming(&f).unwrap().id;
    let server = MemoryServer::new(kind);
    let s2 = server.clone();
    let collector = Collector::with_sources(
        store.clone(),
        Arc::new(move |_: &IncomingAccount| Ok(Box::new(s2.source()) as Box<dyn MailSource>)),
        options(),
    );
    Setup {
        store,
        account,
        server,
        collector,
    }
}

fn setup(kind: MemoryProtocol, keep: bool) -> Setup {
    setup_with(kind, keep, |_| {})
}

impl Setup {
    fn inbox(&self) -> Inbox {
        Inbox::new(self.store.clone())
    }

    fn run(&self) -> RunReport {
        self.collector.check_now(self.account).unwrap()
    }

    fn fail(&self) -> (RunReport, CollectError) {
        match self.collector.check_now(self.account) {
            Ok(r) => panic!("the run should have failed: {r:?}"),
            Err(e) => (e.report().cloned().unwrap_or_default(), e),
        }
    }

    /// Every stored message's Message-ID, sorted (a duplicate would show twice).
    fn stored_ids(&self) -> Vec<String> {
        let mut q = InboxQuery::account(self.account);
        q.page_size = 1000;
        let mut ids: Vec<String> = self
            .inbox()
            .list(&q)
            .unwrap()
            .messages
            .into_iter()
            .map(|m| m.message_id.unwrap_or_default())
            .collect();
        ids.sort();
        ids
    }
}

fn expected_ids(range: std::ops::Range<usize>) -> Vec<String> {
    let mut v: Vec<String> = range.map(|i| format!("m{i}@example.test")).collect();
    v.sort();
    v
}

const ALL: [MemoryProtocol; 3] = [
    MemoryProtocol::Imap,
    MemoryProtocol::Pop3,
    MemoryProtocol::Pop3NoUidl,
];

#[test]
fn keep_copy_fetches_each_message_once_and_never_changes_the_server() {
    for kind in ALL {
        let s = setup(kind, true);
        for i in 0..5 {
            s.server.add(message(i));
        }
        let r = s.run();
        assert_eq!(
            (r.listed, r.fetched, r.deleted_on_server),
            (5, 5, 0),
            "{kind:?}"
        );
        assert_eq!(s.stored_ids(), expected_ids(0..5), "{kind:?}");
        assert_eq!(s.server.len(), 5, "{kind:?}");
        assert_eq!(s.server.changes(), 0, "{kind:?}");

        let r = s.run();
        assert_eq!(r.fetched, 0, "{kind:?}: a second run fetches nothing");
        assert_eq!(r.duplicates, 0, "{kind:?}");
        if kind != MemoryProtocol::Pop3NoUidl {
            // With stable ids nothing is even downloaded again.
            for (uid, _) in s.server.messages() {
                assert_eq!(s.server.fetch_count(uid), 1, "{kind:?} uid {uid}");
            }
            assert_eq!(r.already_stored, 5, "{kind:?}");
        }

        s.server.add(message(5));
        s.server.add(message(6));
        let r = s.run();
        assert_eq!(r.fetched, 2, "{kind:?}: messages added between runs");
        assert_eq!(s.stored_ids(), expected_ids(0..7), "{kind:?}");
        assert_eq!(s.server.changes(), 0, "{kind:?}");
    }
}

#[test]
fn without_keep_copy_messages_leave_the_server_only_after_they_are_stored() {
    for kind in ALL {
        let s = setup(kind, false);
        for i in 0..7 {
            s.server.add(message(i));
        }
        let r = s.run();
        assert_eq!((r.fetched, r.deleted_on_server), (7, 7), "{kind:?}");
        assert!(s.server.is_empty(), "{kind:?}");
        assert_eq!(s.stored_ids(), expected_ids(0..7), "{kind:?}");
        let r = s.run();
        assert_eq!((r.listed, r.fetched), (0, 0), "{kind:?}");
        s.server.add(message(7));
        assert_eq!(s.run().fetched, 1, "{kind:?}");
        assert_eq!(s.stored_ids(), expected_ids(0..8), "{kind:?}");
        assert!(s.server.is_empty(), "{kind:?}");
    }
}

#[test]
fn a_cut_in_the_middle_of_a_message_loses_nothing_and_duplicates_nothing() {
    for keep in [true, false] {
        for kind in ALL {
            let s = setup(kind, keep);
            for i in 0..8 {
                s.server.add(message(i));
            }
            s.server.inject(MemoryFault::AfterMessages(2));
            let (r, e) = s.fail();
            assert!(e.to_string().contains("closed the connection"), "{e}");
            assert_eq!(
                r.fetched, 2,
                "{kind:?} keep={keep}: the two whole messages are committed"
            );
            assert_eq!(s.stored_ids().len(), 2);
            if !keep {
                assert_eq!(s.server.len(), 8 - r.deleted_on_server as usize);
            }
            let r = s.run();
            assert_eq!(r.fetched, 6, "{kind:?} keep={keep}");
            assert_eq!(s.stored_ids(), expected_ids(0..8), "{kind:?} keep={keep}");
            assert_eq!(
                s.server.len(),
                if keep { 8 } else { 0 },
                "{kind:?} keep={keep}"
            );
        }
    }
}

#[test]
fn a_cut_after_the_commit_and_before_the_deletion_only_deletes_on_the_next_run() {
    for kind in ALL {
        let s = setup(kind, false);
        for i in 0..4 {
            s.server.add(message(i));
        }
        s.server.inject(MemoryFault::Delete);
        let (r, _) = s.fail();
        assert!(r.fetched >= 1, "{kind:?}");
        assert_eq!(s.server.len(), 4, "{kind:?}: nothing deleted");
        let stored = s.stored_ids().len();
        assert_eq!(stored as u64, r.fetched);
        let r = s.run();
        assert_eq!(
            r.fetched as usize,
            4 - stored,
            "{kind:?}: only the rest is fetched"
        );
        assert_eq!(r.duplicates, 0, "{kind:?}");
        assert_eq!(s.stored_ids(), expected_ids(0..4), "{kind:?}");
        assert!(s.server.is_empty(), "{kind:?}");
    }
}

#[test]
fn pop3_deletions_wait_for_quit_and_a_lost_quit_is_repaired() {
    for kind in [MemoryProtocol::Pop3, MemoryProtocol::Pop3NoUidl] {
        let s = setup(kind, false);
        for i in 0..5 {
            s.server.add(message(i));
        }
        s.server.inject(MemoryFault::Close);
        let (r, _) = s.fail();
        assert_eq!(r.fetched, 5, "{kind:?}");
        assert_eq!(
            s.server.len(),
            5,
            "{kind:?}: QUIT never answered, DELE not applied"
        );
        let r = s.run();
        assert_eq!(r.fetched, 0, "{kind:?}");
        assert_eq!(s.server.len(), 0, "{kind:?}");
        assert_eq!(s.stored_ids(), expected_ids(0..5), "{kind:?}");
    }
}

#[test]
fn a_changed_uidvalidity_resyncs_without_storing_anything_twice() {
    for keep in [true, false] {
        let s = setup(MemoryProtocol::Imap, keep);
        for i in 0..4 {
            s.server.add(message(i));
        }
        // Half of them are stored, then the server renumbers its mailbox.
        s.server.inject(MemoryFault::AfterMessages(2));
        let _ = s.fail();
        s.server.renumber();
        let r = s.run();
        assert!(r.resynced);
        assert_eq!(r.fetched, 2, "keep={keep}");
        assert_eq!(
            r.duplicates,
            if keep { 2 } else { 2 - r.already_stored },
            "keep={keep}"
        );
        assert_eq!(s.stored_ids(), expected_ids(0..4), "keep={keep}");
        let r = s.run();
        assert!(!r.resynced);
        assert_eq!((r.fetched, r.duplicates), (0, 0));
    }
}

#[test]
fn the_same_message_arriving_again_is_counted_not_stored() {
    let s = setup(MemoryProtocol::Imap, true);
    s.server.add(message(1));
    s.server.add(message(1));
    s.server.add(message(2));
    let r = s.run();
    assert_eq!((r.fetched, r.duplicates), (2, 1));
    let page = s.inbox().list(&InboxQuery::account(s.account)).unwrap();
    let m1 = page
        .messages
        .iter()
        .find(|m| m.message_id.as_deref() == Some("m1@example.test"))
        .unwrap();
    assert_eq!(m1.duplicates, 1);
    assert_eq!(s.collector.status(s.account).unwrap().duplicates, 1);
    // Same Message-ID, different content: a different message.
    let mut other = message(1);
    other.extend_from_slice(b"Edited.\r\n");
    s.server.add(other);
    assert_eq!(s.run().fetched, 1);
}

#[test]
fn a_message_over_the_size_limit_is_skipped_and_left_on_the_server() {
    for kind in ALL {
        let s = setup_with(kind, false, |f| f.max_message_size = 2048);
        s.server.add(message(0));
        let mut big = message(1);
        big.extend(std::iter::repeat_n(b'x', 4000));
        s.server.add(big);
        s.server.add(message(2));
        let r = s.run();
        assert_eq!((r.fetched, r.skipped), (2, 1), "{kind:?}");
        // The run says which message, what became of it and why.
        assert_eq!(r.skipped_too_large, 1, "{kind:?}");
        assert_eq!(r.problems.len(), 1, "{kind:?}: {:?}", r.problems);
        let p = &r.problems[0];
        assert_eq!(p.outcome, MessageOutcome::SkippedTooLarge);
        assert_eq!(p.outcome.as_str(), "skipped_too_large");
        assert_eq!(p.size, Some(message(1).len() as u64 + 4000));
        assert!(
            p.reason.contains("larger than the account's limit of 2048"),
            "{}",
            p.reason
        );
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["problems"][0]["outcome"], "skipped_too_large");
        assert_eq!(
            s.server.len(),
            1,
            "{kind:?}: the large one stays on the server"
        );
        let skipped = s.collector.skipped(s.account).unwrap();
        assert_eq!(skipped.len(), 1);
        assert!(skipped[0].too_large);
        assert!(
            skipped[0]
                .reason
                .contains("larger than the account's limit of 2048"),
            "{}",
            skipped[0].reason
        );
        let r = s.run();
        assert_eq!((r.fetched, r.skipped), (0, 1), "{kind:?}");
        assert_eq!(r.skipped_too_large, 1, "{kind:?}: reported by every run");
        let st = s.collector.status(s.account).unwrap();
        assert_eq!((st.fetched, st.skipped), (2, 1));
        assert_eq!(st.problems.len(), 1, "{:?}", st.problems);
        assert_eq!(st.problems[0].outcome, MessageOutcome::SkippedTooLarge);
        assert_eq!(st.problems[0].reason, p.reason);

        // Raising the limit lets it in.
        let stored = s.store.get_incoming(s.account).unwrap();
        let mut f = stored.record.clone();
        f.max_message_size = 1 << 20;
        s.store
            .update_incoming(s.account, stored.version, &f)
            .unwrap();
        let r = s.run();
        assert_eq!((r.fetched, r.skipped), (1, 0), "{kind:?}");
        assert!(s.server.is_empty());
        assert_eq!(s.stored_ids(), expected_ids(0..3));
    }
}

#[test]
fn a_refused_message_does_not_block_the_others_and_is_skipped_after_three_tries() {
    let s = setup(MemoryProtocol::Pop3, true);
    for i in 0..5 {
        s.server.add(message(i));
    }
    s.server.refuse(3);
    for attempt in 1..=3 {
        let r = s.run();
        assert_eq!(r.refused, 1, "attempt {attempt}");
        assert_eq!(r.skipped, u64::from(attempt == 3));
        assert_eq!(r.problems.len(), 1, "attempt {attempt}: {:?}", r.problems);
        assert_eq!(r.problems[0].outcome, MessageOutcome::Refused);
        assert_eq!(r.problems[0].message, "UIDL uidl-3");
        assert_eq!(r.problems[0].attempts, attempt);
        assert!(
            r.problems[0].reason.contains("refused to deliver it"),
            "{}",
            r.problems[0].reason
        );
    }
    assert_eq!(s.stored_ids().len(), 4);
    let r = s.run();
    assert_eq!(
        (r.refused, r.skipped, r.fetched),
        (0, 1, 0),
        "not tried any more"
    );
    assert_eq!(r.problems.len(), 1, "still reported: {:?}", r.problems);
    assert_eq!(r.problems[0].outcome, MessageOutcome::Refused);
    let st = s.collector.status(s.account).unwrap();
    assert_eq!(st.problems.len(), 1, "{:?}", st.problems);
    assert_eq!(st.problems[0].outcome, MessageOutcome::Refused);
    s.server.allow(3);
    assert_eq!(s.run().fetched, 0, "still skipped until asked");
    assert_eq!(s.collector.retry_skipped(s.account).unwrap(), 1);
    assert_eq!(s.run().fetched, 1);
    assert_eq!(s.stored_ids(), expected_ids(0..5));
}

#[test]
fn a_message_that_always_breaks_the_connection_goes_last_and_the_rest_arrives() {
    for kind in [MemoryProtocol::Imap, MemoryProtocol::Pop3] {
        let s = setup(kind, false);
        for i in 0..9 {
            s.server.add(message(i));
        }
        s.server.poison(2);
        let mut runs = 0;
        while s.stored_ids().len() < 8 {
            let _ = s.collector.check_now(s.account);
            runs += 1;
            assert!(
                runs <= 4,
                "{kind:?}: the others should arrive within a few runs"
            );
        }
        let ids = s.stored_ids();
        assert!(
            !ids.contains(&"m1@example.test".to_owned()),
            "{kind:?}: uid 2 is message 1"
        );
        assert_eq!(
            s.server.len(),
            1,
            "{kind:?}: only the bad one stays on the server"
        );
        let (r, e) = s.fail();
        assert_eq!(r.pending, 1, "{kind:?}: {e}");
    }
}

#[test]
fn a_message_that_does_not_parse_is_stored_raw() {
    let s = setup(MemoryProtocol::Imap, true);
    s.server.add(Vec::new());
    s.server.add(message(1));
    let r = s.run();
    assert_eq!(r.fetched, 2);
    let page = s.inbox().list(&InboxQuery::account(s.account)).unwrap();
    let bad = page.messages.iter().find(|m| m.size == 0).unwrap();
    assert!(bad.parse_error.is_some());
    assert_eq!(s.inbox().raw(bad.id).unwrap(), Vec::<u8>::new());
}

#[test]
fn cancel_stops_at_a_message_boundary_and_keeps_what_was_fetched() {
    for kind in ALL {
        let s = setup(kind, false);
        for i in 0..10 {
            s.server.add(message(i));
        }
        let cancel = CancelToken::new();
        let c2 = cancel.clone();
        let control = RunControl {
            cancel,
            progress: Some(Arc::new(move |p: &Progress| {
                if p.done == 4 {
                    c2.cancel();
                }
            })),
        };
        let r = s.collector.check_now_with(s.account, &control).unwrap();
        assert!(r.cancelled, "{kind:?}");
        assert_eq!(r.fetched, 4, "{kind:?}");
        assert_eq!(r.pending, 6, "{kind:?}");
        assert_eq!(r.deleted_on_server, 4, "{kind:?}");
        assert_eq!(s.server.len(), 6, "{kind:?}");
        assert_eq!(s.collector.status(s.account).unwrap().pending, 6);
        let r = s.run();
        assert_eq!(r.fetched, 6, "{kind:?}");
        assert_eq!(s.stored_ids(), expected_ids(0..10), "{kind:?}");
    }
}

#[test]
fn progress_counts_messages_and_bytes() {
    let s = setup(MemoryProtocol::Imap, true);
    let mut total_bytes = 0;
    for i in 0..5 {
        let m = message(i);
        total_bytes += m.len() as u64;
        s.server.add(m);
    }
    let seen = Arc::new(Mutex::new(Vec::<Progress>::new()));
    let s2 = seen.clone();
    s.collector.add_listener(Arc::new(move |p: &Progress| {
        s2.lock().unwrap().push(p.clone())
    }));
    s.run();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.first().unwrap().done, 0);
    assert_eq!(seen.first().unwrap().total, 5);
    let last = seen.last().unwrap();
    assert_eq!((last.done, last.total, last.bytes), (5, 5, total_bytes));
    assert_eq!(last.total_bytes, total_bytes);
    assert!(seen.windows(2).all(|w| w[0].done <= w[1].done));
    assert_eq!(last.account_name, "Desk");
}

/// A source whose `open` waits for a gate.
struct Gated {
    inner: mail_settings_core::collector::MemorySource,
    gate: Arc<(Mutex<bool>, Condvar)>,
    entered: Arc<(Mutex<bool>, Condvar)>,
}

impl MailSource for Gated {
    fn describe(&self) -> String {
        "gated".into()
    }
    fn open(
        &mut self,
        read_only: bool,
    ) -> Result<mail_settings_core::collector::Listing, mail_settings_core::ConnectionError> {
        {
            let (m, c) = &*self.entered;
            *m.lock().unwrap() = true;
            c.notify_all();
        }
        let (m, c) = &*self.gate;
        let mut open = m.lock().unwrap();
        while !*open {
            open = c.wait(open).unwrap();
        }
        self.inner.open(read_only)
    }
    fn fetch(
        &mut self,
        messages: &[mail_settings_core::collector::ListedMessage],
        sink: &mut dyn mail_settings_core::collector::MessageSink,
    ) -> Result<(), mail_settings_core::ConnectionError> {
        self.inner.fetch(messages, sink)
    }
    fn delete(
        &mut self,
        ids: &[mail_settings_core::collector::SourceId],
    ) -> Result<(), mail_settings_core::ConnectionError> {
        self.inner.delete(ids)
    }
    fn close(&mut self) -> Result<(), mail_settings_core::ConnectionError> {
        self.inner.close()
    }
}

#[test]
fn one_account_never_has_two_runs_at_once() {
    let store = Arc::new(Store::open_in_memory().unwrap());
    let account = store
        .create_incoming(&form("Desk", Protocol::Imap, true))
        .unwrap()
        .id;
    let server = MemoryServer::new(MemoryProtocol::Imap);
    for i in 0..3 {
        server.add(message(i));
    }
    let gate = Arc::new((Mutex::new(false), Condvar::new()));
    let entered = Arc::new((Mutex::new(false), Condvar::new()));
    let (s2, g2, e2) = (server.clone(), gate.clone(), entered.clone());
    let collector = Arc::new(Collector::with_sources(
        store.clone(),
        Arc::new(move |_: &IncomingAccount| {
            Ok(Box::new(Gated {
                inner: s2.source(),
                gate: g2.clone(),
                entered: e2.clone(),
            }) as Box<dyn MailSource>)
        }),
        options(),
    ));
    let c2 = collector.clone();
    let first = std::thread::spawn(move || c2.check_now(account));
    {
        let (m, c) = &*entered;
        let mut e = m.lock().unwrap();
        while !*e {
            e = c.wait(e).unwrap();
        }
    }
    assert!(collector.status(account).unwrap().running);
    match collector.check_now(account) {
        Err(CollectError::Busy { account: a }) => assert_eq!(a, account),
        other => panic!("expected Busy, got {other:?}"),
    }
    {
        let (m, c) = &*gate;
        *m.lock().unwrap() = true;
        c.notify_all();
    }
    assert_eq!(first.join().unwrap().unwrap().fetched, 3);
    assert!(!collector.status(account).unwrap().running);
    assert_eq!(collector.check_now(account).unwrap().fetched, 0);
}

#[test]
fn two_collectors_on_one_store_store_each_message_once() {
    let s = setup(MemoryProtocol::Imap, true);
    for i in 0..40 {
        s.server.add(message(i));
    }
    let s2 = s.server.clone();
    let other = Collector::with_sources(
        s.store.clone(),
        Arc::new(move |_: &IncomingAccount| Ok(Box::new(s2.source()) as Box<dyn MailSource>)),
        options(),
    );
    std::thread::scope(|scope| {
        let a = scope.spawn(|| s.collector.check_now(s.account).unwrap());
        let b = scope.spawn(|| other.check_now(s.account).unwrap());
        let (a, b) = (a.join().unwrap(), b.join().unwrap());
        assert_eq!(a.fetched + b.fetched, 40);
        assert_eq!(a.duplicates + b.duplicates, 0);
    });
    assert_eq!(s.stored_ids(), expected_ids(0..40));
}

#[test]
fn a_disabled_account_is_never_contacted() {
    let s = setup_with(MemoryProtocol::Imap, true, |f| f.enabled = false);
    s.server.add(message(0));
    match s.collector.check_now(s.account) {
        Err(CollectError::Disabled { .. }) => {}
        other => panic!("expected Disabled, got {other:?}"),
    }
    assert_eq!(s.server.sessions(), 0);
}

#[test]
fn a_failing_account_records_its_error_and_backs_off_without_holding_back_the_others() {
    let store = Arc::new(Store::open_in_memory().unwrap());
    let good = store
        .create_incoming(&form("Good", Protocol::Imap, true))
        .unwrap()
        .id;
    let bad = store
        .create_incoming(&form("Bad", Protocol::Imap, true))
        .unwrap()
        .id;
    let server = MemoryServer::new(MemoryProtocol::Imap);
    for i in 0..3 {
        server.add(message(i));
    }
    let s2 = server.clone();
    let collector = Collector::with_sources(
        store.clone(),
        Arc::new(move |a: &IncomingAccount| {
            if a.name() == "Bad" {
                Err(CollectError::Connection(
                    mail_settings_core::ConnectionError::new(
                        mail_settings_core::ErrorCategory::Auth,
                        "authentication failed (test)",
                    ),
                ))
            } else {
                Ok(Box::new(s2.source()) as Box<dyn MailSource>)
            }
        }),
        options(),
    );
    collector.start().unwrap();
    assert!(collector.is_running());
    // Wait (bounded) for both first checks.
    let mut waited = 0;
    loop {
        let st: Vec<_> = collector.statuses().unwrap();
        let done = st.iter().all(|s| s.runs >= 1 && !s.running);
        if done {
            break;
        }
        waited += 1;
        assert!(
            waited < 500,
            "the scheduler never checked both accounts: {st:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let g = collector.status(good).unwrap();
    let b = collector.status(bad).unwrap();
    assert_eq!(g.fetched, 3);
    assert!(g.last_error.is_none() && g.last_success.is_some());
    let err = b.last_error.clone().unwrap();
    assert_eq!(err.category, mail_settings_core::ErrorCategory::Auth);
    assert_eq!(b.consecutive_failures, 1);
    assert!(b.last_success.is_none());
    // The good one is due again after its interval; the bad one not before.
    let (gn, bn) = (g.next_check.unwrap(), b.next_check.unwrap());
    assert!(
        bn >= gn,
        "a failing account is not checked sooner than a good one"
    );
    collector.stop();
    assert!(!collector.is_running());
    // check now works while stopped.
    server.add(message(3));
    assert_eq!(collector.check_now(good).unwrap().fetched, 1);
}

#[test]
fn collect_once_runs_the_named_accounts_and_reports_each() {
    let s = setup(MemoryProtocol::Pop3, true);
    s.server.add(message(0));
    let results = s
        .collector
        .collect_once(&[], &RunControl::default())
        .unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].0, s.account);
    assert_eq!(results[0].1.as_ref().unwrap().fetched, 1);
    let results = s
        .collector
        .collect_once(&[s.account, 9999], &RunControl::default())
        .unwrap();
    assert_eq!(results[0].1.as_ref().unwrap().fetched, 0);
    let e = results[1].1.as_ref().unwrap_err();
    assert_eq!(
        e.category(),
        mail_settings_core::ErrorCategory::NotFound,
        "{e}"
    );
}

#[test]
fn deleting_an_account_deletes_its_messages_and_state() {
    let s = setup(MemoryProtocol::Imap, true);
    for i in 0..3 {
        s.server.add(message(i));
    }
    s.run();
    assert_eq!(s.inbox().count(None).unwrap(), 3);
    let v = s.store.get_incoming(s.account).unwrap().version;
    s.store.delete_incoming(s.account, v).unwrap();
    assert_eq!(s.inbox().count(None).unwrap(), 0);
}
