//! A fault-injecting TCP proxy: forwards connections to a target port and, when told to, cuts
//! the next connection after exactly N bytes in one direction (the first N bytes pass, then
//! both sides are shut down). It also counts the bytes of every connection, so that a test
//! can learn how long a clean session is and spread its cuts over the whole of it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cut {
    /// Direction.
    pub direction: Direction,
    /// Bytes let through in that direction before the cut.
    pub after: u64,
}

/// What happened on one connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConnStats {
    /// Bytes client → server.
    pub up: u64,
    /// Bytes server → client.
    pub down: u64,
    /// The connection was cut by the proxy.
    pub cut: bool,
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
            .map(|c| *c.lock().unwrap())
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
        let limit = cut.filter(|c| c.direction == dir).map(|c| c.after);
        let stats = stats.clone();
        let ends = ends.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 16 * 1024];
            let mut passed = 0u64;
            loop {
                let n = match from.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                let allowed = match limit {
                    Some(l) => (l.saturating_sub(passed)).min(n as u64) as usize,
                    None => n,
                };
                if allowed > 0 && to.write_all(&buf[..allowed]).is_err() {
                    break;
                }
                passed += allowed as u64;
                {
                    let mut s = stats.lock().unwrap();
                    match dir {
                        Direction::Up => s.up += allowed as u64,
                        Direction::Down => s.down += allowed as u64,
                    }
                }
                if allowed < n || limit == Some(passed) {
                    stats.lock().unwrap().cut = true;
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
