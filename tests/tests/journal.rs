//! The collection journal against the real local Dovecot, IMAP and POP3: a run's journal holds
//! its `stored`, `duplicate` and `skipped_too_large` entries with the sizes the inbox and the
//! server have; a message skipped on every run stays one entry; and pruning the journal never
//! makes a message be fetched again. (Refusals and cuts, which Dovecot does not do on cue, are
//! in `mail-settings-core/tests/journal_memory.rs` against the scripted in-memory server.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod collector_support;

use collector_support::*;
use mail_settings_core::collector::MessageOutcome;
use mail_settings_core::inbox::{Inbox, InboxQuery};
use mail_settings_core::journal::{self, AccountFilter, JournalEntry, JournalFilters};
use mail_settings_core::store::Store;
use mail_settings_core::{Protocol, SecureConnectionType};
use mail_settings_tests::seed::{remove_mailbox, MaildirWriter};
use mail_settings_tests::unique_mailbox;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

fn entries(store: &Store, account: i64, outcome: MessageOutcome) -> Vec<JournalEntry> {
    journal::page(
        store,
        &JournalFilters {
            account: Some(AccountFilter::Id(account)),
            outcome: Some(outcome),
            ..JournalFilters::default()
        },
        1,
        100,
    )
    .unwrap()
    .rows
}

#[test]
fn a_run_journals_stored_duplicate_and_too_large_messages_with_their_sizes() {
    for protocol in [Protocol::Imap, Protocol::Pop3] {
        let mailbox = unique_mailbox("journal");
        let store = Arc::new(Store::open_in_memory().unwrap());
        let account = create_account(
            &store,
            protocol,
            &mailbox,
            true,
            Some(SecureConnectionType::Ssl),
            None,
        );
        let stored = store.get_incoming(account).unwrap();
        let mut f = stored.record.clone();
        f.max_message_size = 20_000;
        store.update_incoming(account, stored.version, &f).unwrap();
        let small = message("journal", 0, 3_000);
        let other = message("journal", 2, 5_000);
        let mut w = MaildirWriter::open(&mailbox).unwrap();
        w.add(&small, None).unwrap();
        let large = message("journal", 1, 60_000);
        w.add(&large, None).unwrap();
        w.add(&other, None).unwrap();
        // The very same bytes again, under another id: a duplicate.
        w.add(&small, None).unwrap();
        drop(w);

        let c = collector(&store, &mailbox);
        let r = c.check_now(account).unwrap();
        assert_eq!(
            (r.fetched, r.duplicates, r.skipped_too_large),
            (2, 1, 1),
            "{protocol}: {r:?}"
        );

        let folder = if protocol == Protocol::Imap {
            "INBOX"
        } else {
            "POP3"
        };
        let id_word = if protocol == Protocol::Imap {
            "UID "
        } else {
            "UIDL "
        };
        let inbox = Inbox::new(store.clone());
        let listed = inbox.list(&InboxQuery::account(account)).unwrap().messages;
        let stored_entries = entries(&store, account, MessageOutcome::Stored);
        assert_eq!(stored_entries.len(), 2, "{protocol}: {stored_entries:?}");
        for e in &stored_entries {
            assert_eq!(e.folder, folder);
            assert!(e.server_id.starts_with(id_word), "{e:?}");
            let m = listed
                .iter()
                .find(|m| m.message_id == e.message_id)
                .unwrap_or_else(|| panic!("{protocol}: no inbox message for {e:?}"));
            assert_eq!(e.size, Some(m.size), "{protocol}: the stored size");
            assert_eq!(e.subject, m.subject);
        }
        let dup = entries(&store, account, MessageOutcome::Duplicate);
        assert_eq!(dup.len(), 1, "{protocol}: {dup:?}");
        assert_eq!(
            dup[0].message_id.as_deref(),
            Some("journal-0@collector.test")
        );
        assert_eq!(dup[0].size, Some(small.len() as u64), "{protocol}");
        assert_ne!(
            dup[0].server_id,
            stored_entries
                .iter()
                .find(|e| e.message_id == dup[0].message_id)
                .unwrap()
                .server_id
        );
        let big = entries(&store, account, MessageOutcome::SkippedTooLarge);
        assert_eq!(big.len(), 1, "{protocol}: {big:?}");
        assert_eq!(big[0].size, Some(large.len() as u64), "{protocol}: {big:?}");
        assert!(big[0].reason.contains("20000"), "{protocol}: {big:?}");
        assert_eq!(big[0].seen_count, 1);

        // Skipped again by the next two runs: still one entry, seen three times.
        c.check_now(account).unwrap();
        c.check_now(account).unwrap();
        let big = entries(&store, account, MessageOutcome::SkippedTooLarge);
        assert_eq!(big.len(), 1, "{protocol}: {big:?}");
        assert_eq!(big[0].seen_count, 3, "{protocol}");
        let all = journal::page(&store, &JournalFilters::default(), 1, 100).unwrap();
        assert_eq!(all.total, 4, "{protocol}: {:?}", all.rows);
        let runs = journal::runs(&store, Some(account), 10).unwrap();
        assert_eq!(runs.len(), 3);
        let first = runs.last().unwrap();
        assert_eq!(
            (
                first.listed,
                first.stored,
                first.duplicates,
                first.skipped_too_large
            ),
            (4, 2, 1, 1),
            "{protocol}: {first:?}"
        );
        assert!(first.bytes > 0 && first.error_category.is_none());
        let _ = remove_mailbox(&mailbox);
    }
}

#[test]
fn a_pruned_journal_does_not_make_a_message_be_fetched_again() {
    for (protocol, keep) in [(Protocol::Imap, true), (Protocol::Pop3, true)] {
        let mailbox = unique_mailbox("jprune");
        let store = Arc::new(Store::open_in_memory().unwrap());
        let account = create_account(
            &store,
            protocol,
            &mailbox,
            keep,
            Some(SecureConnectionType::Ssl),
            None,
        );
        let mut w = MaildirWriter::open(&mailbox).unwrap();
        for i in 0..4 {
            w.add(&message("jprune", i, 2_000), None).unwrap();
        }
        drop(w);
        let c = collector(&store, &mailbox);
        assert_eq!(c.check_now(account).unwrap().fetched, 4);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        // 91 days on, the 90-day journal is emptied; the ledger is not touched.
        let pruned = journal::prune(&store, now + 91 * 86_400, journal::PRUNE_BATCH).unwrap();
        assert_eq!(pruned, 4, "{protocol}");
        assert_eq!(
            journal::page(&store, &JournalFilters::default(), 1, 30)
                .unwrap()
                .total,
            0
        );
        let r = c.check_now(account).unwrap();
        assert_eq!(
            (r.fetched, r.duplicates, r.already_stored),
            (0, 0, 4),
            "{protocol}: {r:?}"
        );
        assert_eq!(Inbox::new(store.clone()).count(Some(account)).unwrap(), 4);
        let _ = remove_mailbox(&mailbox);
    }
}
