//! A fault-injecting TCP proxy: forwards connections to a target port and, when told to, cuts
//! the next connection
//! - after exactly N bytes in one direction ([`Cut::At`]: the first N bytes pass, then both
//!   sides are shut down), or
//! - during a given client command ([`Cut::During`], clear text only): upwards just before the
//!   command line's final LF (the server never gets the whole command), or downwards after N
//!   bytes of what the server sends once it has the command (N = 0: the server acted on it —
//!   applied a `DELE` at `QUIT`, say — but the client never hears back).
//!
//! It counts the bytes of every connection (so that a test can spread byte offsets over a
//! whole session), records which client command each cut fell in, and every command verb
//! the client sent. Only verbs are kept, never arguments, so no password is ever recorded.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Which way the cut bytes flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Client to server (commands).
    Up,
    /// Server to client (replies, message bodies).
    Down,
}

/// A cut for the next connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cut {
    /// After `after` bytes in `direction`, counted from the start of the connection.
    At {
        /// Direction.
        direction: Direction,
        /// Bytes let through in that direction before the cut.
        after: u64,
    },
    /// During the `nth` (from 1) client command whose verb is `verb` (see [`verb`]).
    During {
        /// E.g. `DELE`, `UID EXPUNGE`, `QUIT`.
        verb: String,
        /// Which one of them.
        nth: usize,
        /// `Up`: the command line is cut before its LF; `Down`: the answer after `after` bytes.
        direction: Direction,
        /// Bytes of the answer let through (downwards only).
        after: u64,
    },
}

/// What happened on one connection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConnStats {
    /// Bytes client → server.
    pub up: u64,
    /// Bytes server → client.
    pub down: u64,
    /// The connection was cut by the proxy.
    pub cut: bool,
    /// The client command the cut fell in (cut upwards) or whose answer it fell in (cut
    /// downwards); `(greeting)` before any command. Meaningful in clear text only.
    pub cut_during: Option<String>,
    /// Every command verb the client sent whole, with how many times (clear text only).
    pub verbs: BTreeMap<String, usize>,
    partial: Vec<u8>,
    last_line: Vec<u8>,
    /// Downwards cut armed by a `During` command: cut when `down` reaches it.
    down_target: Option<u64>,
}

/// The verb of a client line: IMAP `tag VERB` (`tag UID VERB`), POP3 `VERB`; anything else
/// (a SASL continuation) is `(continuation)`.
pub fn verb(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(line);
    let words: Vec<&str> = text.split_whitespace().collect();
    let is_pop3 = words
        .first()
        .is_some_and(|w| (3..=4).contains(&w.len()) && w.chars().all(|c| c.is_ascii_uppercase()));
    let verb = if is_pop3 {
        words.first().map(|w| (*w).to_owned())
    } else {
        match words.get(1) {
            Some(w) if w.eq_ignore_ascii_case("UID") => words
                .get(2)
                .map(|v| format!("UID {}", v.to_ascii_uppercase())),
            Some(w) => Some(w.to_ascii_uppercase()),
            None => None,
        }
    };
    verb.filter(|v| v.chars().all(|c| c.is_ascii_alphabetic() || c == ' '))
        .unwrap_or_else(|| "(continuation)".to_owned())
}

#[derive(Default)]
struct Shared {
    next_cut: Option<Cut>,
    conns: Vec<Arc<Mutex<ConnStats>>>,
}

/// The proxy; stops when dropped.
pub struct FaultProxy {
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FaultProxy {
    /// Starts a proxy to 127.0.0.1:`target`.
    pub fn start(target: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Mutex::new(Shared::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (s2, st2) = (shared.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !st2.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        client.set_nonblocking(false).unwrap();
                        let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                            let _ = client.shutdown(Shutdown::Both);
                            continue;
                        };
                        let stats = Arc::new(Mutex::new(ConnStats::default()));
                        let cut = {
                            let mut s = s2.lock().unwrap();
                            s.conns.push(stats.clone());
                            s.next_cut.take()
                        };
                        spawn_pumps(client, server, cut, stats);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(2));
                    }
                    Err(_) => break,
                }
            }
        });
        Self {
            port,
            shared,
            stop,
            thread: Some(thread),
        }
    }

    /// Cuts the next connection as `cut` says.
    pub fn cut_next(&self, cut: Cut) {
        self.shared.lock().unwrap().next_cut = Some(cut);
    }

    /// Forgets a cut not used yet.
    pub fn clear(&self) {
        self.shared.lock().unwrap().next_cut = None;
    }

    /// The stats of every connection so far, oldest first.
    pub fn connections(&self) -> Vec<ConnStats> {
        self.shared
            .lock()
            .unwrap()
            .conns
            .iter()
            .map(|c| c.lock().unwrap().clone())
            .collect()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn mark_cut(s: &mut ConnStats, upward: bool) {
    s.cut = true;
    let line = if upward && !s.partial.is_empty() {
        s.partial.clone()
    } else {
        s.last_line.clone()
    };
    s.cut_during = Some(if line.is_empty() {
        "(greeting)".to_owned()
    } else {
        verb(&line)
    });
}

/// How many bytes of `buf` (client → server) may pass; `Some` when the cut falls inside.
fn scan_up(s: &mut ConnStats, buf: &[u8], cut: &Option<Cut>) -> Option<usize> {
    for (i, &b) in buf.iter().enumerate() {
        if let Some(Cut::At {
            direction: Direction::Up,
            after,
        }) = cut
        {
            if s.up + i as u64 == *after {
                return Some(i);
            }
        }
        if b == b'\n' {
            let line = std::mem::take(&mut s.partial);
            let v = verb(&line);
            let count = s.verbs.get(&v).copied().unwrap_or(0) + 1;
            if let Some(Cut::During {
                verb: want,
                nth,
                direction,
                after,
            }) = cut
            {
                if *want == v && count == *nth {
                    match direction {
                        Direction::Up => {
                            s.partial = line;
                            return Some(i);
                        }
                        Direction::Down => s.down_target = Some(s.down + after),
                    }
                }
            }
            s.verbs.insert(v, count);
            s.last_line = line;
        } else if s.partial.len() < 64 {
            s.partial.push(b);
        }
    }
    None
}

fn spawn_pumps(
    client: TcpStream,
    server: TcpStream,
    cut: Option<Cut>,
    stats: Arc<Mutex<ConnStats>>,
) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    // Idle connections left behind by a test end on their own.
    let idle = Some(Duration::from_secs(120));
    let _ = client.set_read_timeout(idle);
    let _ = server.set_read_timeout(idle);
    let pairs = [
        (
            Direction::Up,
            client.try_clone().unwrap(),
            server.try_clone().unwrap(),
        ),
        (
            Direction::Down,
            server.try_clone().unwrap(),
            client.try_clone().unwrap(),
        ),
    ];
    let ends = Arc::new((client, server));
    for (dir, mut from, mut to) in pairs {
        let stats = stats.clone();
        let ends = ends.clone();
        let cut = cut.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 16 * 1024];
            loop {
                let n = match from.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                let (allowed, cutting) = {
                    let mut s = stats.lock().unwrap();
                    let limit = match dir {
                        Direction::Up => scan_up(&mut s, &buf[..n], &cut),
                        Direction::Down => {
                            let target = match &cut {
                                Some(Cut::At {
                                    direction: Direction::Down,
                                    after,
                                }) => Some(*after),
                                _ => s.down_target,
                            };
                            target
                                .map(|t| t.saturating_sub(s.down).min(n as u64) as usize)
                                .filter(|allowed| {
                                    *allowed < n || s.down + n as u64 == target.unwrap_or(u64::MAX)
                                })
                        }
                    };
                    let allowed = limit.unwrap_or(n);
                    match dir {
                        Direction::Up => s.up += allowed as u64,
                        Direction::Down => s.down += allowed as u64,
                    }
                    if limit.is_some() {
                        mark_cut(&mut s, dir == Direction::Up);
                    }
                    (allowed, limit.is_some())
                };
                if allowed > 0 && to.write_all(&buf[..allowed]).is_err() {
                    break;
                }
                if cutting {
                    let _ = to.flush();
                    let _ = ends.0.shutdown(Shutdown::Both);
                    let _ = ends.1.shutdown(Shutdown::Both);
                    return;
                }
            }
            // One side closed: close the other way too.
            let _ = to.shutdown(Shutdown::Write);
        });
    }
}
