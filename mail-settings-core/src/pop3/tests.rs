//! Unit tests of the client over in-memory streams, and its proptests.
#![allow(clippy::unwrap_used)]
use super::*;
use proptest::prelude::*;

/// Server bytes in, client bytes out.
struct Mem {
    input: io::Cursor<Vec<u8>>,
    output: Vec<u8>,
    chunk: usize,
}

impl Read for Mem {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.chunk.max(1));
        self.input.read(&mut buf[..n])
    }
}
impl Write for Mem {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.output.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn client(server: &[u8], chunk: usize) -> Result<Pop3Client<Mem>, ConnectionError> {
    Pop3Client::new(
        Mem {
            input: io::Cursor::new(server.to_vec()),
            output: Vec::new(),
            chunk,
        },
        Timeouts::default(),
    )
}

#[test]
fn status_lines_are_strict() {
    assert_eq!(
        parse_status(b"+OK ready"),
        Some(Status {
            ok: true,
            text: "ready".into()
        })
    );
    assert_eq!(parse_status(b"+OK").map(|s| s.ok), Some(true));
    assert_eq!(parse_status(b"-ERR").map(|s| s.ok), Some(false));
    assert_eq!(parse_status(b"+OKAY"), None);
    assert_eq!(parse_status(b"+ok"), None);
    assert_eq!(parse_status(b"* OK"), None);
    assert_eq!(parse_status(b""), None);
}

#[test]
fn retr_unstuffs_and_streams() {
    for chunk in [1, 2, 3, 7, 4096] {
        let mut c = client(
            b"+OK hi\r\n+OK 5 octets\r\nA\r\n..B\r\n.\rC\r\n..\r\nbare\nD\r\n.\r\n+OK\r\n",
            chunk,
        )
        .unwrap();
        let mut out = Vec::new();
        let n = c.retr(1, &mut out).unwrap();
        assert_eq!(out, b"A\r\n.B\r\n\rC\r\n.\r\nbare\nD\r\n", "chunk {chunk}");
        assert_eq!(n, out.len() as u64);
        c.noop().unwrap();
        assert_eq!(c.reader.get_ref().output, b"RETR 1\r\nNOOP\r\n");
        // A bare-LF end, a dot-CR that is content at the very end, and a message with no line.
        let mut c = client(b"+OK hi\r\n+OK\n.x\n.\r.\n.\n+OK\r\n.\r\n+OK\r\n", chunk).unwrap();
        let mut out = Vec::new();
        c.retr(1, &mut out).unwrap();
        assert_eq!(out, b"x\n\r.\n", "chunk {chunk}");
        let mut out = Vec::new();
        assert_eq!(c.retr(2, &mut out).unwrap(), 0, "chunk {chunk}");
        c.noop().unwrap();
    }
}

#[test]
fn retr_each_hands_over_as_read_and_a_break_drains_what_was_sent() {
    let mut server = b"+OK\r\n+OK\r\nPIPELINING\r\n.\r\n".to_vec();
    for n in 1..=PIPELINE_WINDOW + 1 {
        server.extend_from_slice(format!("+OK\r\nbody {n}\r\n..dot\r\n.\r\n").as_bytes());
    }
    server.extend_from_slice(b"+OK\r\n");
    let mut c = client(&server, 7).unwrap();
    c.capa().unwrap();
    let numbers: Vec<u32> = (1..=40).collect();
    let mut got: Vec<(usize, Vec<u8>)> = Vec::new();
    c.retr_each(
        &numbers,
        |_| Vec::new(),
        |i, body, r| {
            assert_eq!(r.unwrap(), body.len() as u64);
            got.push((i, body));
            if i == 1 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        },
    )
    .unwrap();
    assert_eq!(
        got,
        vec![
            (0, b"body 1\r\n.dot\r\n".to_vec()),
            (1, b"body 2\r\n.dot\r\n".to_vec())
        ]
    );
    // A window was sent, and one more after the first answer; nothing after the break.
    // Those answers were read and dropped: the session is still in step.
    c.noop().unwrap();
    let mut expected = b"CAPA\r\n".to_vec();
    for n in 1..=PIPELINE_WINDOW + 1 {
        expected.extend_from_slice(format!("RETR {n}\r\n").as_bytes());
    }
    expected.extend_from_slice(b"NOOP\r\n");
    assert_eq!(
        String::from_utf8_lossy(&c.reader.get_ref().output),
        String::from_utf8_lossy(&expected)
    );
}

#[test]
fn long_lines_are_bounded_in_listings_but_not_in_messages() {
    let mut server = b"+OK\r\n+OK\r\n".to_vec();
    server.extend(std::iter::repeat_n(b'x', 100_000));
    server.extend_from_slice(b"\r\n.\r\n+OK\r\n1 ");
    server.extend(std::iter::repeat_n(b'9', MAX_LINE));
    server.extend_from_slice(b"\r\n.\r\n");
    let mut c = client(&server, 4096).unwrap();
    let mut out = Vec::new();
    assert_eq!(c.retr(1, &mut out).unwrap(), 100_002);
    let e = c.list().unwrap_err();
    assert!(
        e.is_protocol() && e.message().contains("longer than"),
        "{e}"
    );
    assert!(!c.is_usable());
}

#[test]
fn pipelined_retr_and_dele_read_replies_in_order() {
    let server = b"+OK\r\n+OK\r\nPIPELINING\r\n.\r\n+OK\r\none\r\n.\r\n-ERR no such message\r\n+OK\r\nthree\r\n.\r\n+OK\r\n-ERR gone\r\n";
    let mut c = client(server, 5).unwrap();
    c.capa().unwrap();
    let mut sinks = vec![Vec::new(), Vec::new(), Vec::new()];
    let r = c.retr_many(&[1, 2, 3], &mut sinks).unwrap();
    assert_eq!(r[0].as_ref().unwrap(), &5);
    assert!(r[1]
        .as_ref()
        .unwrap_err()
        .message()
        .contains("no such message"));
    assert_eq!(r[2].as_ref().unwrap(), &7);
    assert_eq!(sinks[0], b"one\r\n");
    assert_eq!(sinks[2], b"three\r\n");
    let d = c.dele_many(&[1, 3]).unwrap();
    assert!(d[0].is_ok() && d[1].is_err());
    assert_eq!(
        c.reader.get_ref().output,
        b"CAPA\r\nRETR 1\r\nRETR 2\r\nRETR 3\r\nDELE 1\r\nDELE 3\r\n"
    );
}

#[test]
fn password_is_never_in_errors() {
    let mut c = client(
        b"+OK\r\n+OK\r\nSASL PLAIN\r\n.\r\n-ERR [AUTH] bad: AHUAc2VjcmV0LXB3\r\n",
        64,
    )
    .unwrap();
    let e = c
        .login(&Credential::password("u", "secret-pw"))
        .unwrap_err();
    assert!(e.is_auth(), "{e}");
    assert!(!e.to_string().contains("AHUAc2VjcmV0LXB3"), "{e}");
    assert!(e.to_string().contains("[redacted]"), "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    #[test]
    fn any_bytes_never_panic_and_memory_stays_bounded(
        bytes in proptest::collection::vec(any::<u8>(), 0..20_000),
        chunk in 1usize..5000,
    ) {
        exercise(&bytes, chunk);
    }

    #[test]
    fn pop3_like_bytes_never_panic(
        lines in proptest::collection::vec(
            prop_oneof![
                Just(b"+OK\r\n".to_vec()),
                Just(b"-ERR x\r\n".to_vec()),
                Just(b".\r\n".to_vec()),
                Just(b"..\r\n".to_vec()),
                Just(b".\r".to_vec()),
                Just(b"1 2\r\n".to_vec()),
                Just(b"+ \r\n".to_vec()),
                Just(b"\n".to_vec()),
                proptest::collection::vec(any::<u8>(), 0..40),
            ],
            0..200,
        ),
        chunk in 1usize..64,
    ) {
        exercise(&lines.concat(), chunk);
    }
}

/// Drives every reading path of the client over `bytes`.
fn exercise(bytes: &[u8], chunk: usize) {
    let Ok(mut c) = client(bytes, chunk) else {
        return;
    };
    let _ = c.capa();
    let _ = c.login(&Credential::password("u", "p"));
    let _ = c.stat();
    let _ = c.list();
    let _ = c.list_one(1);
    let _ = c.uidl();
    let _ = c.uidl_one(1);
    let mut sink = Vec::new();
    let _ = c.retr(1, &mut sink);
    let _ = c.top(1, 0, &mut sink);
    let mut sinks = [Vec::new(), Vec::new()];
    let _ = c.retr_many(&[1, 2], &mut sinks);
    let _ = c.dele_many(&[1, 2]);
    assert_eq!(c.reader.capacity(), BUFFER, "the read buffer never grows");
    assert!(sink.len() <= bytes.len());
    let _ = c.quit();
}
