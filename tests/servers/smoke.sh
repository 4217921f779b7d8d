#!/usr/bin/env bash
# End-to-end check of the running test servers (run start.sh first). Uses only Python's
# standard library and `openssl s_client`. Last line: "N passed, N failed"; exit 1 on failure.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Hand every MS_* value to Python.
while IFS= read -r v; do export "${v?}"; done < <(compgen -v MS_)

exec python3 - <<'PY'
import base64, hashlib, hmac, imaplib, json, os, poplib, re, smtplib, socket, ssl
import subprocess, sys, time, uuid
from email.message import EmailMessage
from email.parser import BytesParser
from email import policy

E = os.environ
HOST = "127.0.0.1"
DOMAIN = E["MS_MAIL_DOMAIN"]
PASSWORD = E["MS_MAIL_PASSWORD"]
CA = os.path.join(E["MS_SERVERS_DIR"], "certs", "ca.pem")
P = lambda name: int(E["MS_" + name + "_PORT"])
TIMEOUT = 10
passed = failed = 0


def check(name, fn):
    global passed, failed
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - report every failure the same way
        failed += 1
        print(f"FAIL {name}: {type(e).__name__}: {e}", flush=True)
    else:
        passed += 1
        print(f"ok   {name}", flush=True)


def expect(cond, msg):
    if not cond:
        raise AssertionError(msg)


def ctx_verify():
    c = ssl.create_default_context(cafile=CA)
    return c


def ctx_insecure():
    c = ssl.create_default_context()
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


def user(tag):
    return f"smoke-{tag}-{uuid.uuid4().hex[:8]}@{DOMAIN}"


# ---------------------------------------------------------------- IMAP / POP3 logins
def imap_starttls(port, ctx, server_hostname="localhost"):
    m = imaplib.IMAP4(HOST, port, timeout=TIMEOUT)
    expect("STARTTLS" in m.capabilities, f"no STARTTLS in {m.capabilities}")
    # imaplib passes host to wrap_socket; connect by IP but verify the name "localhost".
    m.host = server_hostname
    m.starttls(ssl_context=ctx)
    return m


def imaps(port, ctx):
    return imaplib.IMAP4_SSL("localhost", port, ssl_context=ctx, timeout=TIMEOUT)


def pop3_stls(port, ctx):
    p = poplib.POP3(HOST, port, timeout=TIMEOUT)
    expect("STLS" in p.capa(), f"no STLS in {p.capa()}")
    p.host = "localhost"
    p.stls(context=ctx)
    return p


def pop3s(port, ctx):
    return poplib.POP3_SSL("localhost", port, context=ctx, timeout=TIMEOUT)


def imap_login_ok(m, u):
    typ, _ = m.login(u, PASSWORD)
    expect(typ == "OK", "login failed")
    m.logout()


def pop3_login_ok(p, u):
    p.user(u)
    resp = p.pass_(PASSWORD)
    expect(resp.startswith(b"+OK"), resp)
    p.quit()


def t_imap_starttls():
    m = imap_starttls(P("IMAP"), ctx_verify())
    imap_login_ok(m, user("imap"))


def t_imaps():
    m = imaps(P("IMAPS"), ctx_verify())
    caps = m.capabilities
    m.login(user("imaps"), PASSWORD)
    caps = m.capabilities if len(m.capabilities) > len(caps) else caps
    typ, data = m.capability()
    expect(b"UIDPLUS" in data[0], f"no UIDPLUS in {data}")
    m.logout()


def t_pop3_stls():
    pop3_login_ok(pop3_stls(P("POP3"), ctx_verify()), user("pop3"))


def t_pop3s():
    p = pop3s(P("POP3S"), ctx_verify())
    capa = p.capa()
    expect("UIDL" in capa and "PIPELINING" in capa, f"CAPA {capa}")
    pop3_login_ok(p, user("pop3s"))


def t_imap_wrong_password():
    m = imaps(P("IMAPS"), ctx_verify())
    try:
        m.login(user("bad"), PASSWORD + "x")
    except imaplib.IMAP4.error:
        return
    raise AssertionError("wrong password accepted")


def t_imap_notls():
    m = imaplib.IMAP4(HOST, P("IMAP_NOTLS"), timeout=TIMEOUT)
    expect("STARTTLS" not in m.capabilities, f"STARTTLS offered: {m.capabilities}")
    imap_login_ok(m, user("imap-notls"))


def t_pop3_notls():
    p = poplib.POP3(HOST, P("POP3_NOTLS"), timeout=TIMEOUT)
    expect("STLS" not in p.capa(), f"STLS offered: {p.capa()}")
    pop3_login_ok(p, user("pop3-notls"))


def t_imap_plain_clear():
    # Clear-text login on the STARTTLS port without upgrading (clear-text tests).
    m = imaplib.IMAP4(HOST, P("IMAP"), timeout=TIMEOUT)
    imap_login_ok(m, user("imap-clear"))


# ---------------------------------------------------------------- bad certificates
BAD = {"SELFSIGNED": (18, "self-signed certificate"),
       "EXPIRED": (10, "certificate has expired"),
       "WRONGHOST": (62, "hostname mismatch")}


def expect_verify_error(fn, code):
    try:
        conn = fn()
    except ssl.SSLCertVerificationError as e:
        expect(e.verify_code == code, f"verify_code {e.verify_code} ({e.verify_message}), want {code}")
        return
    try:
        conn.logout() if hasattr(conn, "logout") else conn.quit()
    except Exception:
        pass
    raise AssertionError("TLS verification unexpectedly succeeded")


def smtp_starttls(port, ctx):
    s = smtplib.SMTP(HOST, port, local_hostname="smoke.test", timeout=TIMEOUT)
    s.ehlo()
    expect(s.has_extn("starttls"), "no STARTTLS in EHLO")
    s._host = "localhost"
    s.starttls(context=ctx)
    return s


def smtps(port, ctx):
    return smtplib.SMTP_SSL("localhost", port, local_hostname="smoke.test", context=ctx, timeout=TIMEOUT)


def bad_cert_checks(variant):
    code = BAD[variant][0]
    yield f"{variant.lower()} IMAP STARTTLS verify fails ({code})", lambda: expect_verify_error(
        lambda: imap_starttls(P(f"IMAP_{variant}"), ctx_verify()), code)
    yield f"{variant.lower()} IMAPS verify fails ({code})", lambda: expect_verify_error(
        lambda: imaps(P(f"IMAPS_{variant}"), ctx_verify()), code)
    yield f"{variant.lower()} POP3 STLS verify fails ({code})", lambda: expect_verify_error(
        lambda: pop3_stls(P(f"POP3_{variant}"), ctx_verify()), code)
    yield f"{variant.lower()} POP3S verify fails ({code})", lambda: expect_verify_error(
        lambda: pop3s(P(f"POP3S_{variant}"), ctx_verify()), code)
    yield f"{variant.lower()} SMTP STARTTLS verify fails ({code})", lambda: expect_verify_error(
        lambda: smtp_starttls(P(f"SMTP_{variant}"), ctx_verify()), code)
    yield f"{variant.lower()} SMTPS verify fails ({code})", lambda: expect_verify_error(
        lambda: smtps(P(f"SMTPS_{variant}"), ctx_verify()), code)
    # Same users behind the bad certificate when verification is off.
    yield f"{variant.lower()} IMAPS login without verification", lambda: imap_login_ok(
        imaps(P(f"IMAPS_{variant}"), ctx_insecure()), user("insecure"))
    yield f"{variant.lower()} POP3 STLS login without verification", lambda: pop3_login_ok(
        pop3_stls(P(f"POP3_{variant}"), ctx_insecure()), user("insecure"))


def s_client(port, starttls=None):
    args = ["openssl", "s_client", "-connect", f"{HOST}:{port}", "-CAfile", CA,
            "-verify_hostname", "localhost", "-servername", "localhost"]
    if starttls:
        args += ["-starttls", starttls]
    r = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=20)
    m = re.search(r"Verify return code: (\d+) \(([^)]*)\)", r.stdout)
    expect(m, f"no verify result from s_client: {r.stdout[-300:]} {r.stderr[-300:]}")
    return int(m.group(1)), m.group(2)


def s_client_checks():
    for variant, want in [("", 0)] + [(v, BAD[v][0]) for v in BAD]:
        sfx = f"_{variant}" if variant else ""
        for proto, port_name, st in [("imap", "IMAP", "imap"), ("imaps", "IMAPS", None),
                                     ("pop3", "POP3", "pop3"), ("pop3s", "POP3S", None),
                                     ("smtp", "SMTP", "smtp"), ("smtps", "SMTPS", None)]:
            port = P(port_name + sfx)
            def run(port=port, st=st, want=want):
                code, msg = s_client(port, st)
                expect(code == want, f"verify code {code} ({msg}), want {want}")
            yield f"s_client {proto}{sfx.lower()} {port}: verify code {want}", run


# ---------------------------------------------------------------- SMTP -> Dovecot
def make_message(sender, rcpt, subject, body="hello"):
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = rcpt
    msg["Subject"] = subject
    msg["Reply-To"] = f"reply-{uuid.uuid4().hex[:6]}@{DOMAIN}"
    msg["Disposition-Notification-To"] = sender
    msg["Message-ID"] = f"<{uuid.uuid4().hex}@smoke.test>"
    msg.set_content(body)
    return msg


def imap_wait(u, count, deadline=15):
    end = time.time() + deadline
    while True:
        m = imaps(P("IMAPS"), ctx_verify())
        m.login(u, PASSWORD)
        m.select("INBOX")
        typ, data = m.uid("SEARCH", None, "ALL")
        uids = data[0].split()
        if len(uids) >= count or time.time() > end:
            return m, uids
        m.logout()
        time.sleep(0.2)


def t_smtp_roundtrip():
    rcpt = user("rcpt")
    auth_user = user("sender")
    env_from = f"bounces-{uuid.uuid4().hex[:6]}@other.example"  # != authenticated user
    subjects = []
    # STARTTLS submission with AUTH
    s = smtp_starttls(P("SMTP"), ctx_verify())
    s.login(auth_user, PASSWORD)
    subj = f"smoke starttls {uuid.uuid4().hex[:6]}"
    refused = s.send_message(make_message(auth_user, rcpt, subj), from_addr=env_from, to_addrs=[rcpt])
    expect(not refused, refused)
    s.quit()
    subjects.append(subj)
    # Implicit TLS with AUTH
    s = smtps(P("SMTPS"), ctx_verify())
    s.login(auth_user, PASSWORD)
    subj = f"smoke smtps {uuid.uuid4().hex[:6]}"
    s.send_message(make_message(auth_user, rcpt, subj), from_addr=env_from, to_addrs=[rcpt])
    s.quit()
    subjects.append(subj)
    # Clear text, no STARTTLS offered, AUTH still allowed
    s = smtplib.SMTP(HOST, P("SMTP_NOTLS"), local_hostname="smoke.test", timeout=TIMEOUT)
    s.ehlo()
    expect(not s.has_extn("starttls"), "STARTTLS offered on the NOTLS port")
    s.login(auth_user, PASSWORD)
    subj = f"smoke notls {uuid.uuid4().hex[:6]}"
    s.send_message(make_message(auth_user, rcpt, subj), from_addr=env_from, to_addrs=[rcpt])
    s.quit()
    subjects.append(subj)

    # Read back over IMAP
    m, uids = imap_wait(rcpt, 3)
    expect(len(uids) == 3, f"IMAP sees {len(uids)} messages, want 3")
    got = []
    for uid in uids:
        typ, data = m.uid("FETCH", uid, "(BODY.PEEK[])")
        msg = BytesParser(policy=policy.default).parsebytes(data[0][1])
        expect(msg["Return-Path"] == f"<{env_from}>", f"Return-Path {msg['Return-Path']!r}")
        expect(msg["Disposition-Notification-To"] and msg["Reply-To"], "headers lost")
        got.append(str(msg["Subject"]))
    expect(sorted(got) == sorted(subjects), f"subjects {got}")
    # UID EXPUNGE (UIDPLUS) removes exactly one message
    m.uid("STORE", uids[0], "+FLAGS.SILENT", r"(\Deleted)")
    m.uid("STORE", uids[1], "+FLAGS.SILENT", r"(\Deleted)")
    typ, data = m.uid("EXPUNGE", uids[0])
    expect(typ == "OK", f"UID EXPUNGE: {typ} {data}")
    typ, data = m.uid("SEARCH", None, "ALL")
    left = data[0].split()
    expect(left == uids[1:], f"after UID EXPUNGE {left}, want {uids[1:]}")
    m.uid("STORE", uids[1], "-FLAGS.SILENT", r"(\Deleted)")
    m.logout()

    # Read back over POP3 (STLS)
    p = pop3_stls(P("POP3"), ctx_verify())
    p.user(rcpt)
    p.pass_(PASSWORD)
    count, _ = p.stat()
    expect(count == 2, f"POP3 sees {count} messages, want 2")
    resp, uidls, _ = p.uidl()
    expect(all(re.fullmatch(rb"\d+ [0-9A-Fa-f]{16}", u) for u in uidls), f"UIDL {uidls}")
    resp, lines, _ = p.retr(1)
    msg = BytesParser(policy=policy.default).parsebytes(b"\r\n".join(lines))
    expect(msg["Return-Path"] == f"<{env_from}>", f"POP3 Return-Path {msg['Return-Path']!r}")
    p.quit()


def t_smtp_wrong_password():
    s = smtp_starttls(P("SMTP"), ctx_verify())
    try:
        s.login(user("bad"), PASSWORD + "x")
    except smtplib.SMTPAuthenticationError:
        s.quit()
        return
    raise AssertionError("wrong SMTP password accepted")


def t_smtp_nothing_leaves():
    # Recipients outside the test domain are refused at RCPT TO (error transport): 550 5.1.1.
    s = smtplib.SMTP(HOST, P("SMTP_NOTLS"), local_hostname="smoke.test", timeout=TIMEOUT)
    s.ehlo()
    s.mail(user("sender"))
    code, resp = s.rcpt("someone@example.com")
    s.quit()
    expect(code == 550, f"RCPT to an external address: {code} {resp}")


# ---------------------------------------------------------------- OAuth2
def mint_token(u, ttl=300):
    env = {}
    with open(os.path.join(E["MS_SERVERS_DIR"], "oauth2.env")) as f:
        for line in f:
            if "=" in line and not line.startswith("#"):
                k, v = line.strip().split("=", 1)
                env[k] = v
    key = base64.b64decode(open(env["MS_OAUTH2_KEY_FILE"]).read())
    b64u = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    head = b64u(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64u(json.dumps({env["MS_OAUTH2_USER_CLAIM"]: u, "exp": int(time.time()) + ttl}).encode())
    sig = b64u(hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest())
    return f"{head}.{body}.{sig}"


def t_oauth2_imap():
    u = user("oauth")
    tok = mint_token(u)
    m = imaps(P("IMAPS"), ctx_verify())
    expect("AUTH=XOAUTH2" in m.capabilities and "AUTH=OAUTHBEARER" in m.capabilities, m.capabilities)
    typ, _ = m.authenticate("XOAUTH2", lambda _: f"user={u}\x01auth=Bearer {tok}\x01\x01".encode())
    expect(typ == "OK", typ)
    m.logout()
    m = imaps(P("IMAPS"), ctx_verify())
    typ, _ = m.authenticate("OAUTHBEARER", lambda _: (
        f"n,a={u},\x01host=localhost\x01port={P('IMAPS')}\x01auth=Bearer {tok}\x01\x01").encode())
    expect(typ == "OK", typ)
    m.logout()


def t_oauth2_bad_token():
    u = user("oauth")
    tok = mint_token(u, ttl=-60)  # expired
    m = imaps(P("IMAPS"), ctx_verify())
    steps = iter([f"user={u}\x01auth=Bearer {tok}\x01\x01".encode(), b""])
    try:
        m.authenticate("XOAUTH2", lambda _: next(steps))
    except imaplib.IMAP4.error:
        return
    raise AssertionError("expired token accepted")


def t_oauth2_smtp():
    u = user("oauth")
    tok = mint_token(u)
    s = smtp_starttls(P("SMTP"), ctx_verify())
    s.ehlo()
    expect("XOAUTH2" in s.esmtp_features.get("auth", "").upper(), s.esmtp_features.get("auth"))
    code, resp = s.docmd("AUTH", "XOAUTH2 " + base64.b64encode(
        f"user={u}\x01auth=Bearer {tok}\x01\x01".encode()).decode())
    expect(code == 235, f"{code} {resp}")
    s.quit()


# ---------------------------------------------------------------- proxies
def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("proxy closed the connection")
        buf += chunk
    return buf


def socks5(proxy_port, dest_host, dest_port, creds=None):
    """Returns (sock, reply_code); reply_code 0 = success."""
    s = socket.create_connection((HOST, proxy_port), timeout=TIMEOUT)
    s.sendall(b"\x05\x01" + (b"\x02" if creds else b"\x00"))
    ver, method = recv_exact(s, 2)
    if method == 0xFF:
        s.close()
        return None, "no acceptable method"
    if method == 0x02:
        u, pw = (x.encode() for x in creds)
        s.sendall(b"\x01" + bytes([len(u)]) + u + bytes([len(pw)]) + pw)
        _, status = recv_exact(s, 2)
        if status != 0:
            s.close()
            return None, "auth refused"
    try:
        addr = b"\x01" + socket.inet_aton(dest_host)
    except OSError:
        addr = b"\x03" + bytes([len(dest_host)]) + dest_host.encode()
    s.sendall(b"\x05\x01\x00" + addr + dest_port.to_bytes(2, "big"))
    head = recv_exact(s, 4)
    atyp = head[3]
    recv_exact(s, {1: 4, 4: 16}.get(atyp, 0) or recv_exact(s, 1)[0])
    recv_exact(s, 2)
    if head[1] != 0:
        s.close()
        return None, head[1]
    return s, 0


def http_connect(proxy_port, dest_host, dest_port, creds=None):
    """Returns (sock, status_code)."""
    s = socket.create_connection((HOST, proxy_port), timeout=TIMEOUT)
    req = f"CONNECT {dest_host}:{dest_port} HTTP/1.1\r\nHost: {dest_host}:{dest_port}\r\n"
    if creds:
        req += "Proxy-Authorization: Basic " + base64.b64encode(":".join(creds).encode()).decode() + "\r\n"
    s.sendall((req + "\r\n").encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(4096)
        if not chunk:
            break
        buf += chunk
    status = int(buf.split(b" ", 2)[1]) if buf.startswith(b"HTTP/") else -1
    if status != 200:
        s.close()
        return None, status
    return s, status


def imaps_greeting_over(sock):
    t = ctx_verify().wrap_socket(sock, server_hostname="localhost")
    greet = t.recv(4096)
    t.close()
    expect(greet.startswith(b"* OK"), greet)


CREDS = (E["MS_PROXY_USER"], E["MS_PROXY_PASSWORD"])
WRONG = (E["MS_PROXY_USER"], E["MS_PROXY_PASSWORD"] + "x")


def t_socks5_noauth():
    for host in ("localhost", "127.0.0.1"):
        s, rep = socks5(P("SOCKS5"), host, P("IMAPS"))
        expect(rep == 0, f"SOCKS5 reply {rep} for {host}")
        imaps_greeting_over(s)


def t_socks5_auth():
    s, rep = socks5(P("SOCKS5_AUTH"), "localhost", P("IMAPS"), CREDS)
    expect(rep == 0, f"SOCKS5 reply {rep}")
    imaps_greeting_over(s)


def t_socks5_wrong_password():
    s, rep = socks5(P("SOCKS5_AUTH"), "localhost", P("IMAPS"), WRONG)
    expect(s is None and rep == "auth refused", rep)


def t_socks5_auth_required():
    s, rep = socks5(P("SOCKS5_AUTH"), "localhost", P("IMAPS"))
    expect(s is None and rep == "no acceptable method", rep)


def t_socks5_blocked():
    for port, creds in ((P("SOCKS5"), None), (P("SOCKS5_AUTH"), CREDS)):
        for host in ("localhost", "127.0.0.1"):
            s, rep = socks5(port, host, P("PROXY_BLOCKED"), creds)
            expect(s is None and rep == 2, f"blocked port via {port} {host}: reply {rep}, want 2")


def t_http_noauth():
    s, st = http_connect(P("HTTP_PROXY"), "localhost", P("IMAPS"))
    expect(st == 200, st)
    imaps_greeting_over(s)


def t_http_auth():
    s, st = http_connect(P("HTTP_PROXY_AUTH"), "localhost", P("IMAPS"), CREDS)
    expect(st == 200, st)
    imaps_greeting_over(s)


def t_http_wrong_password():
    # tinyproxy 1.11: no Proxy-Authorization -> 407, wrong credentials -> 401.
    s, st = http_connect(P("HTTP_PROXY_AUTH"), "localhost", P("IMAPS"))
    expect(st == 407, f"{st} without credentials, want 407")
    s, st = http_connect(P("HTTP_PROXY_AUTH"), "localhost", P("IMAPS"), WRONG)
    expect(st in (401, 407), f"{st} with a wrong password, want 401 or 407")


def t_http_blocked():
    for port, creds in ((P("HTTP_PROXY"), None), (P("HTTP_PROXY_AUTH"), CREDS)):
        s, st = http_connect(port, "localhost", P("PROXY_BLOCKED"), creds)
        expect(st == 403, f"blocked port via {port}: {st}")


# ---------------------------------------------------------------- run
checks = [
    ("IMAP STARTTLS login (verified)", t_imap_starttls),
    ("IMAPS login (verified), UIDPLUS", t_imaps),
    ("POP3 STLS login (verified)", t_pop3_stls),
    ("POP3S login (verified), CAPA UIDL PIPELINING", t_pop3s),
    ("IMAP clear-text login on the STARTTLS port", t_imap_plain_clear),
    ("IMAP wrong password refused", t_imap_wrong_password),
    ("IMAP NOTLS: no STARTTLS, login", t_imap_notls),
    ("POP3 NOTLS: no STLS, login", t_pop3_notls),
]
for v in BAD:
    checks += list(bad_cert_checks(v))
checks += list(s_client_checks())
checks += [
    ("SMTP submit (STARTTLS, SMTPS, NOTLS; AUTH) -> IMAP/POP3, Return-Path, UID EXPUNGE", t_smtp_roundtrip),
    ("SMTP wrong password refused", t_smtp_wrong_password),
    ("SMTP external recipient refused (550)", t_smtp_nothing_leaves),
    ("OAuth2 IMAP XOAUTH2 + OAUTHBEARER", t_oauth2_imap),
    ("OAuth2 expired token refused", t_oauth2_bad_token),
    ("OAuth2 SMTP AUTH XOAUTH2", t_oauth2_smtp),
    ("SOCKS5 no-auth -> IMAPS (name and IP)", t_socks5_noauth),
    ("SOCKS5 user/pass -> IMAPS", t_socks5_auth),
    ("SOCKS5 wrong password refused", t_socks5_wrong_password),
    ("SOCKS5 auth port requires user/pass", t_socks5_auth_required),
    ("SOCKS5 blocked port refused", t_socks5_blocked),
    ("HTTP CONNECT no-auth -> IMAPS", t_http_noauth),
    ("HTTP CONNECT Basic auth -> IMAPS", t_http_auth),
    ("HTTP CONNECT missing/wrong password -> 407/401", t_http_wrong_password),
    ("HTTP CONNECT blocked port -> 403", t_http_blocked),
]
for name, fn in checks:
    check(name, fn)
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
