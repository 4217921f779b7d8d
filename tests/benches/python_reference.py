#!/usr/bin/env python3
"""The Python reference of the wire benchmark (tests/benches/wire.rs, issue 3).

The same work as the Rust side, done the way a Python program would do it with the standard
library only: smtplib (SMTP_SSL, or SMTP + starttls), imaplib (IMAP4_SSL, UID FETCH of
BODY.PEEK[] in batches) and poplib (POP3_SSL, a RETR loop). One TLS context, made once and
trusting the test CA, as a careful program would make it. wire.rs runs this script once per
case, each in its own process; it prints BEGIN and END around the timed part (wire.rs samples
the machine's and Dovecot's CPU there) and then the line wire.rs reads:

    RESULT messages=<n> bytes=<n> seconds=<float> peak_kb=<VmHWM> cpu_seconds=<float>

`seconds` runs from before the connection to after QUIT/LOGOUT (interpreter start and file
reading excluded, as on the Rust side); `peak_kb` is the process's peak resident set (VmHWM)
at the end; `cpu_seconds` is its user + system CPU time over the same span; SMTP on one
connection adds `setup_seconds`, the time to open it (connect, TLS, EHLO, AUTH). The password
comes from the environment (MS_BENCH_PASSWORD), never the command line. Usage:

    python_reference.py smtp --port P --security ssl|starttls --mode one|new \
        --user U --cafile CA --sender S --rcpt R --dir DIR_OF_EML_FILES
    python_reference.py imap --port P --user U --cafile CA [--batch 100]
    python_reference.py pop3 --port P --user U --cafile CA
"""

import argparse
import imaplib
import os
import poplib
import smtplib
import ssl
import sys
import time


def peak_kb():
    """VmHWM of this process, in kB (0 when /proc is not there)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds():
    t = os.times()
    return t.user + t.system


def report(messages, nbytes, seconds, cpu_start, setup=None):
    cpu = cpu_seconds() - cpu_start
    print("END", flush=True)
    extra = "" if setup is None else f" setup_seconds={setup:.6f}"
    print(
        f"RESULT messages={messages} bytes={nbytes} seconds={seconds:.6f} peak_kb={peak_kb()}"
        f" cpu_seconds={cpu:.3f}{extra}",
        flush=True,
    )


def context(cafile):
    return ssl.create_default_context(cafile=cafile)


def smtp(args, password):
    names = sorted(n for n in os.listdir(args.dir) if n.endswith(".eml"))
    messages = []
    for n in names:
        with open(os.path.join(args.dir, n), "rb") as f:
            messages.append(f.read())
    ctx = context(args.cafile)

    def session():
        if args.security == "ssl":
            s = smtplib.SMTP_SSL(args.host, args.port, context=ctx, timeout=60)
        else:
            s = smtplib.SMTP(args.host, args.port, timeout=60)
            s.starttls(context=ctx)
        s.login(args.user, password)
        return s

    sent = 0
    nbytes = 0
    setup = None
    print("BEGIN", flush=True)
    cpu = cpu_seconds()
    start = time.perf_counter()
    if args.mode == "one":
        s = session()
        setup = time.perf_counter() - start
        for m in messages:
            s.sendmail(args.sender, [args.rcpt], m)
            sent += 1
            nbytes += len(m)
        s.quit()
    else:
        for m in messages:
            s = session()
            s.sendmail(args.sender, [args.rcpt], m)
            s.quit()
            sent += 1
            nbytes += len(m)
    report(sent, nbytes, time.perf_counter() - start, cpu, setup)


def imap(args, password):
    ctx = context(args.cafile)
    count = 0
    nbytes = 0
    print("BEGIN", flush=True)
    cpu = cpu_seconds()
    start = time.perf_counter()
    m = imaplib.IMAP4_SSL(args.host, args.port, ssl_context=ctx, timeout=60)
    m.login(args.user, password)
    typ, _ = m.select("INBOX")
    if typ != "OK":
        sys.exit("SELECT INBOX failed")
    typ, data = m.uid("SEARCH", None, "ALL")
    if typ != "OK":
        sys.exit("UID SEARCH failed")
    uids = data[0].split()
    for i in range(0, len(uids), args.batch):
        chunk = b",".join(uids[i : i + args.batch]).decode()
        typ, data = m.uid("FETCH", chunk, "(BODY.PEEK[])")
        if typ != "OK":
            sys.exit("UID FETCH failed")
        for item in data:
            if isinstance(item, tuple):
                count += 1
                nbytes += len(item[1])
    m.logout()
    report(count, nbytes, time.perf_counter() - start, cpu)


def pop3(args, password):
    ctx = context(args.cafile)
    count = 0
    nbytes = 0
    print("BEGIN", flush=True)
    cpu = cpu_seconds()
    start = time.perf_counter()
    m = poplib.POP3_SSL(args.host, args.port, context=ctx, timeout=60)
    m.user(args.user)
    m.pass_(password)
    messages, _size = m.stat()
    for i in range(1, messages + 1):
        _resp, _lines, octets = m.retr(i)
        count += 1
        nbytes += octets
    m.quit()
    report(count, nbytes, time.perf_counter() - start, cpu)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("kind", choices=["smtp", "imap", "pop3"])
    p.add_argument("--host", default="localhost")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--cafile", required=True)
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--security", choices=["ssl", "starttls"], default="ssl")
    p.add_argument("--mode", choices=["one", "new"], default="one")
    p.add_argument("--sender")
    p.add_argument("--rcpt")
    p.add_argument("--dir")
    args = p.parse_args()
    password = os.environ.get("MS_BENCH_PASSWORD")
    if not password:
        sys.exit("MS_BENCH_PASSWORD is not set")
    {"smtp": smtp, "imap": imap, "pop3": pop3}[args.kind](args, password)


if __name__ == "__main__":
    main()
