#!/usr/bin/env python3
"""Python references of the collection benchmark (tests/benches/collect.rs).

What a Python collector would do with the standard library only, over TLS trusting the test
CA: imaplib (IMAP4_SSL, EXAMINE INBOX, UID FETCH of BODY.PEEK[] in batches of 100) and poplib
(POP3_SSL, a RETR loop). The messages are only downloaded (kept in memory one batch at a
time, then dropped): nothing is parsed or stored, so these are upper bounds for a Python
collector. collect.rs runs this script once per case in its own process and reads its last
line:

    RESULT messages=<n> bytes=<n> seconds=<float> peak_kb=<VmHWM> cpu_own=<s> cpu_busy=<s> cpu_all=<s>

(cpu_*: CPU seconds of this process, of the whole machine busy, and of all its cores, over
the download.)

The password comes from the environment (MS_BENCH_PASSWORD). Usage:

    collect_reference.py imap --port P --user U --cafile CA [--batch 100]
    collect_reference.py pop3 --port P --user U --cafile CA
"""

import argparse
import imaplib
import os
import poplib
import ssl
import sys
import time


def peak_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def cpu_now():
    """CPU seconds: this process, the machine busy, the machine in all (every core)."""
    tick = os.sysconf("SC_CLK_TCK")
    with open("/proc/self/stat") as f:
        after = f.read().rsplit(")", 1)[1].split()
    own = (int(after[11]) + int(after[12])) / tick
    with open("/proc/stat") as f:
        t = [int(v) for v in f.readline().split()[1:9]]
    idle = t[3] + t[4]
    busy = t[0] + t[1] + t[2] + t[5] + t[6] + t[7]
    return own, busy / tick, (busy + idle) / tick


def imap(args, ctx, password):
    count = total = 0
    start = time.perf_counter()
    m = imaplib.IMAP4_SSL("localhost", args.port, ssl_context=ctx)
    m.login(args.user, password)
    m.select("INBOX", readonly=True)
    typ, data = m.uid("SEARCH", None, "ALL")
    uids = data[0].split()
    for i in range(0, len(uids), args.batch):
        batch = b",".join(uids[i:i + args.batch]).decode()
        typ, data = m.uid("FETCH", batch, "(BODY.PEEK[])")
        for item in data:
            if isinstance(item, tuple):
                count += 1
                total += len(item[1])
    m.logout()
    return count, total, time.perf_counter() - start


def pop3(args, ctx, password):
    count = total = 0
    start = time.perf_counter()
    p = poplib.POP3_SSL("localhost", args.port, context=ctx)
    p.user(args.user)
    p.pass_(password)
    n, _ = p.stat()
    for i in range(1, n + 1):
        _, lines, octets = p.retr(i)
        count += 1
        total += octets
    p.quit()
    return count, total, time.perf_counter() - start


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("protocol", choices=["imap", "pop3"])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--cafile", required=True)
    ap.add_argument("--batch", type=int, default=100)
    args = ap.parse_args()
    password = os.environ["MS_BENCH_PASSWORD"]
    ctx = ssl.create_default_context(cafile=args.cafile)
    before = cpu_now()
    count, total, seconds = (imap if args.protocol == "imap" else pop3)(args, ctx, password)
    after = cpu_now()
    own, busy, every = (a - b for a, b in zip(after, before))
    print(
        f"RESULT messages={count} bytes={total} seconds={seconds:.3f} peak_kb={peak_kb()} "
        f"cpu_own={own:.2f} cpu_busy={busy:.2f} cpu_all={every:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
