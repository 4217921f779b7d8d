//! Folders and the archive folder against the real local Dovecot (Maildir++ layout: `.`
//! separates levels, no namespace prefix): several folders collected exactly once, each with
//! its own ledger; a non-ASCII folder name (modified UTF-7 on the wire); messages moved to the
//! archive folder after they are stored; a missing archive folder fails the run and changes
//! nothing; connection cuts during the move lose nothing and store nothing twice.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod collector_support;

use collector_support::fault_proxy::{Cut, Direction, FaultProxy};
use collector_support::*;
use mail_settings_core::imap::{self, ImapOptions, ImapSession};
use mail_settings_core::net::MailStream;
use mail_settings_core::store::Store;
use mail_settings_core::{IncomingAccount, Protocol, RecordId, SecureConnectionType};
use mail_settings_tests::{lmtp_deliver, servers, unique_mailbox};
use std::collections::BTreeMap;
use std::sync::Arc;

fn session(account: &IncomingAccount, mailbox: &str) -> ImapSession<MailStream> {
    imap::connect(
        account,
        &servers().credentials_for(mailbox),
        &ImapOptions::default(),
    )
    .unwrap()
}

/// An account on the direct port (clear text: the fault proxy reads verbs), as `edit` says.
fn account(
    store: &Store,
    mailbox: &str,
    keep: bool,
    port: Option<u16>,
    edit: impl FnOnce(&mut mail_settings_core::IncomingAccountForm),
) -> RecordId {
    let id = create_account(
        store,
        Protocol::Imap,
        mailbox,
        keep,
        if port.is_some() {
            None
        } else {
            Some(SecureConnectionType::Ssl)
        },
        port,
    );
    let stored = store.get_incoming(id).unwrap();
    let mut form = stored.record;
    edit(&mut form);
    store.update_incoming(id, stored.version, &form).unwrap();
    id
}

/// Creates the folders (user names) and delivers `count` messages tagged `tag` into each:
/// through LMTP into INBOX, then moved there.
fn fill(
    store: &Store,
    id: RecordId,
    mailbox: &str,
    folders: &[(&str, &str, usize)],
) -> Vec<String> {
    let acc = store.incoming_account(id).unwrap();
    let mut s = session(&acc, mailbox);
    let map = s.folder_map().unwrap();
    let mut expected = Vec::new();
    for (folder, tag, count) in folders {
        let wire = map.to_wire(folder).unwrap();
        if wire != "INBOX" && !s.mailbox_exists(&wire).unwrap() {
            s.create_mailbox(&wire).unwrap();
        }
        s.select("INBOX").unwrap();
        let before = s.uids().unwrap();
        for i in 0..*count {
            lmtp_deliver("sender@example.test", mailbox, &message(tag, i, 1500));
            expected.push(message_id(tag, i));
        }
        if wire != "INBOX" {
            s.select("INBOX").unwrap();
            let new: Vec<u32> = s
                .uids()
                .unwrap()
                .into_iter()
                .filter(|u| !before.contains(u))
                .collect();
            assert_eq!(new.len(), *count);
            s.uid_move(&new, &wire).unwrap();
        }
    }
    s.logout().unwrap();
    expected
}

/// Message-IDs in a folder (a user name), read over IMAP.
fn folder_ids(store: &Store, id: RecordId, mailbox: &str, folder: &str) -> BTreeMap<String, usize> {
    let acc = store.incoming_account(id).unwrap();
    let mut s = session(&acc, mailbox);
    let wire = s.folder_map().unwrap().to_wire(folder).unwrap();
    let mut out = BTreeMap::new();
    if s.mailbox_exists(&wire).unwrap() {
        s.examine(&wire).unwrap();
        let uids = s.uids().unwrap();
        for m in s.uid_fetch(&uids).unwrap() {
            let text = String::from_utf8_lossy(&m.raw);
            let mid = text
                .lines()
                .find_map(|l| l.strip_prefix("Message-ID:"))
                .map(|v| v.trim().trim_matches(['<', '>']).to_owned())
                .unwrap_or_default();
            *out.entry(mid).or_insert(0) += 1;
        }
    }
    s.logout().unwrap();
    out
}

#[test]
fn dovecot_announces_its_namespace_and_names_map() {
    let mailbox = unique_mailbox("ns");
    let store = Store::open_in_memory().unwrap();
    let id = account(&store, &mailbox, true, None, |_| {});
    let acc = store.incoming_account(id).unwrap();
    let mut s = session(&acc, &mailbox);
    let map = s.folder_map().unwrap();
    // The local Dovecot stores Maildir++: "." between levels, no prefix.
    assert_eq!((map.prefix(), map.delimiter()), ("", Some('.')));
    assert_eq!(map.to_wire("Support/Tier 2").unwrap(), "Support.Tier 2");
    let wire = map.to_wire("Atendimento/São Paulo").unwrap();
    assert_eq!(wire, "Atendimento.S&AOM-o Paulo");
    s.create_mailbox(&wire).unwrap();
    let listed = s.list_mailboxes().unwrap();
    assert!(
        listed
            .iter()
            .any(|m| map.to_user(&m.name).as_deref() == Some("Atendimento/São Paulo")),
        "{listed:?}"
    );
    s.logout().unwrap();
}

#[test]
fn every_listed_folder_is_collected_exactly_once_with_its_own_ledger() {
    let mailbox = unique_mailbox("folders");
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path().join("s.db")).unwrap());
    let id = account(&store, &mailbox, true, None, |f| {
        f.folders = vec![
            "INBOX".into(),
            "Support/Tier 2".into(),
            "Atendimento/São Paulo".into(),
        ];
    });
    let expected = fill(
        &store,
        id,
        &mailbox,
        &[
            ("INBOX", "fin", 2),
            ("Support/Tier 2", "fst", 3),
            ("Atendimento/São Paulo", "fsp", 2),
        ],
    );
    let collector = collector(&store, &mailbox);
    let r = collector.check_now(id).unwrap();
    assert_eq!((r.listed, r.fetched, r.duplicates), (7, 7, 0), "{r:?}");
    assert_exactly_once(&inbox_ids(&store, id), &expected, "folders");
    // Nothing new: nothing fetched, every folder's ledger knows its messages (UIDs overlap
    // between folders, so one shared ledger would have skipped some above).
    let r = collector.check_now(id).unwrap();
    assert_eq!((r.fetched, r.already_stored), (0, 7), "{r:?}");
    // A new message in the second folder only.
    let more = fill(&store, id, &mailbox, &[("Support/Tier 2", "fst2", 1)]);
    let r = collector.check_now(id).unwrap();
    assert_eq!((r.fetched, r.already_stored), (1, 7), "{r:?}");
    let all: Vec<String> = expected.into_iter().chain(more).collect();
    assert_exactly_once(&inbox_ids(&store, id), &all, "folders, second round");
}

#[test]
fn a_missing_folder_fails_that_folder_only() {
    let mailbox = unique_mailbox("nofolder");
    let store = Arc::new(Store::open_in_memory().unwrap());
    let id = account(&store, &mailbox, false, None, |f| {
        f.folders = vec!["INBOX".into(), "Does/Not Exist".into()];
    });
    let expected = fill(&store, id, &mailbox, &[("INBOX", "nof", 2)]);
    let err = collector(&store, &mailbox).check_now(id).unwrap_err();
    assert!(err.to_string().contains("Does/Not Exist"), "{err}");
    let report = err.report().expect("INBOX was collected");
    assert_eq!(report.fetched, 2);
    assert_exactly_once(&inbox_ids(&store, id), &expected, "missing folder");
}

#[test]
fn collected_messages_move_to_the_archive_folder() {
    let mailbox = unique_mailbox("archive");
    let store = Arc::new(Store::open_in_memory().unwrap());
    let id = account(&store, &mailbox, false, None, |f| {
        f.archive_folder = Some("Arquivo/Concluídos".into());
    });
    // The archive folder does not exist yet: the run fails, nothing is fetched or removed.
    let expected = fill(&store, id, &mailbox, &[("INBOX", "arc", 3)]);
    let err = collector(&store, &mailbox).check_now(id).unwrap_err();
    assert!(
        err.to_string().contains("archive folder") && err.to_string().contains("does not exist"),
        "{err}"
    );
    assert_eq!(server_ids(&mailbox).len(), 3, "nothing was removed");
    assert!(inbox_ids(&store, id).is_empty());

    // Created: the messages are stored, then moved there (none left in INBOX).
    fill(&store, id, &mailbox, &[("Arquivo/Concluídos", "none", 0)]);
    let r = collector(&store, &mailbox).check_now(id).unwrap();
    assert_eq!((r.fetched, r.deleted_on_server), (3, 3), "{r:?}");
    assert_exactly_once(&inbox_ids(&store, id), &expected, "archive");
    assert!(server_ids(&mailbox).is_empty());
    let archived = folder_ids(&store, id, &mailbox, "Arquivo/Concluídos");
    assert_eq!(archived.keys().cloned().collect::<Vec<_>>(), {
        let mut e = expected.clone();
        e.sort();
        e
    });
    assert!(archived.values().all(|n| *n == 1), "{archived:?}");
}

/// Cut the connection during the move (the command never arrives, or it was applied and the
/// answer never came), at the first and second `UID MOVE` of a run: every message ends up in
/// the inbox exactly once, and on the server exactly once (INBOX or archive, never neither).
#[test]
fn cuts_during_the_move_lose_nothing_and_store_nothing_twice() {
    let port = servers().port("MS_IMAP_PORT");
    let cases = [
        ("UID MOVE", 1, Direction::Up, 0),
        ("UID MOVE", 1, Direction::Down, 0),
        ("UID MOVE", 2, Direction::Down, 0),
        ("UID FETCH", 2, Direction::Down, 10),
        ("SELECT", 1, Direction::Down, 0),
    ];
    for (n, (verb, nth, direction, after)) in cases.into_iter().enumerate() {
        let context = format!("cut during {verb} #{nth} {direction:?} after {after}");
        let mailbox = unique_mailbox(&format!("arccut{n}"));
        let proxy = FaultProxy::start(port);
        let store = Arc::new(Store::open_in_memory().unwrap());
        let id = account(&store, &mailbox, false, Some(proxy.port), |f| {
            f.archive_folder = Some("Archive".into());
            f.use_secure_connection = false;
        });
        let expected = fill(
            &store,
            id,
            &mailbox,
            &[("Archive", "x", 0), ("INBOX", &format!("ac{n}"), 6)],
        );
        let mut c = collector(&store, &mailbox);
        let _ = &mut c;
        proxy.cut_next(Cut::During {
            verb: verb.to_owned(),
            nth,
            direction,
            after,
        });
        let first = c.check_now(id);
        assert!(
            first.is_err(),
            "{context}: the cut should fail the run: {first:?}"
        );
        // The next runs finish the work.
        for _ in 0..2 {
            c.check_now(id).unwrap();
        }
        assert_exactly_once(&inbox_ids(&store, id), &expected, &context);
        let inbox = server_ids(&mailbox);
        let archived = folder_ids(&store, id, &mailbox, "Archive");
        assert!(inbox.is_empty(), "{context}: left in INBOX: {inbox:?}");
        for m in &expected {
            assert_eq!(
                archived.get(m),
                Some(&1),
                "{context}: {m} in the archive: {archived:?}"
            );
        }
        assert_eq!(archived.len(), expected.len(), "{context}: {archived:?}");
    }
}

/// A store written before folders existed (schema 4: no `folders`, `archive_folder`,
/// `use_push`) keeps its INBOX ledger through the migration: nothing is fetched again.
#[test]
fn inbox_ledgers_of_an_older_store_keep_working_after_the_upgrade() {
    let mailbox = unique_mailbox("upgrade");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let store = Arc::new(Store::open(&path).unwrap());
    let id = account(&store, &mailbox, true, None, |_| {});
    let expected = fill(&store, id, &mailbox, &[("INBOX", "upg", 3)]);
    assert_eq!(
        collector(&store, &mailbox).check_now(id).unwrap().fetched,
        3
    );
    drop(store);
    // Back to schema 4, as the previous release left it.
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        for col in ["folders", "archive_folder", "use_push"] {
            c.execute_batch(&format!("ALTER TABLE incoming_accounts DROP COLUMN {col}"))
                .unwrap();
        }
        // Version 8 (OAuth2 clients) is the last one before the folders migration; migrations
        // added after it are re-run on opening and must not mind (they create what is missing).
        c.pragma_update(None, "user_version", 8).unwrap();
    }
    let store = Arc::new(Store::open(&path).unwrap());
    let form = store.get_incoming(id).unwrap().record;
    assert_eq!(
        (
            form.folders.clone(),
            form.archive_folder.clone(),
            form.use_push
        ),
        (vec!["INBOX".to_owned()], None, true)
    );
    let r = collector(&store, &mailbox).check_now(id).unwrap();
    assert_eq!(
        (r.fetched, r.already_stored, r.duplicates),
        (0, 3, 0),
        "{r:?}"
    );
    assert_exactly_once(&inbox_ids(&store, id), &expected, "upgrade");
}

/// A proxy to the local Dovecot (clear text) that removes capabilities from what the server
/// announces (greeting, CAPABILITY, the OK of LOGIN) and records the verbs the client sends:
/// Dovecot then plays a server without MOVE, or without MOVE and UIDPLUS.
struct HidingProxy {
    port: u16,
    verbs: Arc<std::sync::Mutex<Vec<String>>>,
}

impl HidingProxy {
    fn start(hide: &'static [&'static str]) -> Self {
        use std::io::{BufRead, BufReader, Write};
        use std::net::{TcpListener, TcpStream};
        let target = servers().port("MS_IMAP_PORT");
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let verbs = Arc::new(std::sync::Mutex::new(Vec::new()));
        let v2 = verbs.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { break };
                let server = TcpStream::connect(("127.0.0.1", target)).unwrap();
                let (mut c_w, mut s_w) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let v3 = v2.clone();
                std::thread::spawn(move || {
                    let mut r = BufReader::new(client);
                    let mut line = Vec::new();
                    while r.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
                        let words: Vec<String> = String::from_utf8_lossy(&line)
                            .split_whitespace()
                            .take(3)
                            .map(str::to_ascii_uppercase)
                            .collect();
                        if words.len() >= 2 {
                            let verb = if words[1] == "UID" && words.len() > 2 {
                                format!("UID {}", words[2])
                            } else {
                                words[1].clone()
                            };
                            v3.lock().unwrap().push(verb);
                        }
                        if s_w.write_all(&line).is_err() {
                            break;
                        }
                        line.clear();
                    }
                    let _ = s_w.shutdown(std::net::Shutdown::Both);
                });
                std::thread::spawn(move || {
                    let mut r = BufReader::new(server);
                    let mut line = Vec::new();
                    while r.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
                        let text = String::from_utf8_lossy(&line);
                        let out = if text.to_ascii_uppercase().contains("CAPABILITY") {
                            let kept: Vec<&str> = text
                                .trim_end()
                                .split(' ')
                                .filter(|w| {
                                    !hide
                                        .iter()
                                        .any(|h| w.trim_end_matches(']').eq_ignore_ascii_case(h))
                                })
                                .collect();
                            format!("{}\r\n", kept.join(" ")).into_bytes()
                        } else {
                            line.clone()
                        };
                        if c_w.write_all(&out).is_err() {
                            break;
                        }
                        line.clear();
                    }
                    let _ = c_w.shutdown(std::net::Shutdown::Both);
                });
            }
        });
        Self { port, verbs }
    }

    fn sent(&self, verb: &str) -> usize {
        self.verbs
            .lock()
            .unwrap()
            .iter()
            .filter(|v| *v == verb)
            .count()
    }
}

#[test]
fn without_move_the_archive_is_copy_mark_and_uid_expunge() {
    let proxy = HidingProxy::start(&["MOVE"]);
    let mailbox = unique_mailbox("nomove");
    let store = Arc::new(Store::open_in_memory().unwrap());
    let id = account(&store, &mailbox, false, Some(proxy.port), |f| {
        f.archive_folder = Some("Archive".into());
    });
    let expected = fill(
        &store,
        id,
        &mailbox,
        &[("Archive", "x", 0), ("INBOX", "nmv", 3)],
    );
    let c = collector(&store, &mailbox);
    let r = c.check_now(id).unwrap();
    assert_eq!((r.fetched, r.deleted_on_server), (3, 3), "{r:?}");
    assert!(r.notes.is_empty(), "{:?}", r.notes);
    assert!(!r.needs_expunging && !c.status(id).unwrap().needs_expunging);
    assert_eq!(proxy.sent("UID MOVE"), 0);
    assert_eq!((proxy.sent("UID COPY"), proxy.sent("UID EXPUNGE")), (1, 1));
    assert_eq!(proxy.sent("EXPUNGE"), 0, "never a plain EXPUNGE");
    assert!(server_ids(&mailbox).is_empty());
    let archived = folder_ids(&store, id, &mailbox, "Archive");
    assert_eq!(archived.len(), 3);
    assert!(archived.values().all(|n| *n == 1));
    assert_exactly_once(&inbox_ids(&store, id), &expected, "no MOVE");
}

#[test]
fn without_move_and_uidplus_messages_are_copied_and_marked_once_never_expunged() {
    let proxy = HidingProxy::start(&["MOVE", "UIDPLUS"]);
    let mailbox = unique_mailbox("nouidplus");
    let store = Arc::new(Store::open_in_memory().unwrap());
    let id = account(&store, &mailbox, false, Some(proxy.port), |f| {
        f.archive_folder = Some("Archive".into());
    });
    let expected = fill(
        &store,
        id,
        &mailbox,
        &[("Archive", "x", 0), ("INBOX", "nup", 3)],
    );
    let c = collector(&store, &mailbox);
    let r = c.check_now(id).unwrap();
    assert_eq!(r.fetched, 3, "{r:?}");
    assert!(
        r.notes.iter().any(|n| n.contains("needs expunging")),
        "{:?}",
        r.notes
    );
    // A second run copies nothing again: the messages are marked \Deleted already.
    let r = c.check_now(id).unwrap();
    assert_eq!((r.fetched, r.already_stored), (0, 3), "{r:?}");
    assert_eq!(proxy.sent("UID COPY"), 1);
    assert_eq!(
        proxy.sent("EXPUNGE") + proxy.sent("UID EXPUNGE") + proxy.sent("UID MOVE"),
        0
    );
    // Still in INBOX (marked), once in the archive.
    assert_eq!(server_ids(&mailbox).len(), 3);
    let archived = folder_ids(&store, id, &mailbox, "Archive");
    assert_eq!(archived.len(), 3);
    assert!(archived.values().all(|n| *n == 1), "{archived:?}");
    let acc = store.incoming_account(id).unwrap();
    let mut s = session(&acc, &mailbox);
    s.examine("INBOX").unwrap();
    let uids = s.uids().unwrap();
    assert!(s.flags(&uids).unwrap().iter().all(|f| f.has("\\Deleted")));
    s.logout().unwrap();
    assert_exactly_once(&inbox_ids(&store, id), &expected, "no MOVE, no UIDPLUS");

    // The account's status keeps "needs expunging", for this process and for others reading
    // the store (`mail-settings status`).
    assert!(c.status(id).unwrap().needs_expunging);
    let others = mail_settings_core::collector::account_statuses(&store).unwrap();
    assert!(others
        .iter()
        .any(|s| s.account_id == id && s.needs_expunging));
    // A run that no longer needs it (keep copy: nothing is moved) clears it.
    let stored = store.get_incoming(id).unwrap();
    let mut form = stored.record;
    form.keep_copy_on_server = true;
    store.update_incoming(id, stored.version, &form).unwrap();
    let r = c.check_now(id).unwrap();
    assert!(!r.needs_expunging && r.notes.is_empty(), "{r:?}");
    assert!(!c.status(id).unwrap().needs_expunging);
}

#[test]
fn the_check_lists_the_folders_and_names_the_missing_ones() {
    use mail_settings_core::check::{check_incoming, CheckOptions, StageName};
    let mailbox = unique_mailbox("checkf");
    let store = Arc::new(Store::open_in_memory().unwrap());
    let id = account(&store, &mailbox, false, None, |f| {
        f.folders = vec!["INBOX".into(), "Support/Tier 2".into()];
        f.archive_folder = Some("Arquivo".into());
    });
    fill(&store, id, &mailbox, &[("Support/Tier 2", "chk", 1)]);
    let creds = servers().credentials_for(&mailbox);
    let acc = store.incoming_account(id).unwrap();
    let report = check_incoming(&acc, &creds, &CheckOptions::default());
    assert!(!report.ok, "{report}");
    let failed = report.failure().unwrap();
    assert_eq!(failed.name, StageName::Folders, "{report}");
    assert!(
        failed
            .detail
            .contains("archive folder \"Arquivo\" not on the server"),
        "{report}"
    );
    let support = report
        .folders
        .iter()
        .find(|f| f.name.as_deref() == Some("Support/Tier 2"))
        .expect("listed");
    assert!(support.collected && !support.archive);
    assert_eq!(support.wire, "Support.Tier 2");

    fill(&store, id, &mailbox, &[("Arquivo", "none", 0)]);
    let report = check_incoming(&acc, &creds, &CheckOptions::default());
    assert!(report.ok, "{report}");
    assert!(report
        .folders
        .iter()
        .any(|f| f.archive && f.name.as_deref() == Some("Arquivo")));
    // Both collected folders were opened and sized.
    let sized: Vec<&str> = report
        .stages
        .iter()
        .filter(|s| s.name == StageName::Mailbox)
        .map(|s| s.detail.as_str())
        .collect();
    assert!(
        sized
            .iter()
            .any(|d| d.starts_with("Support/Tier 2: 1 message,")),
        "{sized:?}"
    );
    let text = report.to_string();
    assert!(
        text.contains("Support/Tier 2") && text.contains("[collected]"),
        "{text}"
    );
}
