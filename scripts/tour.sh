#!/usr/bin/env bash
# The main job: an end-to-end tour of mail-settings against local servers that it starts
# itself (Dovecot, Postfix, Dante, tinyproxy from Debian's packages), with the embedded SQLite
# store. Does all set-up on a fresh Debian machine (root). Every step is the operator's
# command, `mail-settings`, as an operator would type it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export PATH="$HOME/.cargo/bin:$PATH"

say() { printf '\n\033[1m### %s\033[0m\n' "$*"; }
show() { printf '$ mail-settings'; printf ' %q' "$@"; printf '\n'; }
run() { show "$@"; "$ms" "$@"; }
# A step whose exit status is part of the story (1 = errors found, as documented).
run_status() { local want=$1; shift; show "$@"; set +e; "$ms" "$@"; local got=$?; set -e
    [ "$got" = "$want" ] || { echo "tour: expected exit $want, got $got" >&2; exit 1; }; echo "(exit $got, as expected)"; }

say "Set-up: build tools, local servers, the mail-settings command"
bash scripts/deps.sh
bash tests/servers/start.sh
cargo build --quiet -p mail-settings-cli
ms="$root/target/debug/mail-settings"

# shellcheck disable=SC1091
source tests/servers/ports.env
MS_SERVERS_DIR=${MS_SERVERS_DIR_OVERRIDE:-$MS_SERVERS_DIR}
export MS_SERVERS_DIR
work="$root/target/tour"
rm -rf "$work" && mkdir -p "$work"
export MAIL_SETTINGS_DB="$work/settings.sqlite3"
run_id=$(date +%s)

# The sample settings for the local servers, with this machine's ports filled in.
doc="$work/settings.json"
cp examples/settings/local-servers.json "$doc"
while IFS='=' read -r key value; do
    [[ "$key" =~ ^MS_ ]] || continue
    [ "$key" = MS_SERVERS_DIR ] && value=$MS_SERVERS_DIR
    sed -i "s|\${$key}|$value|g" "$doc"
done < tests/servers/ports.env

# The vault: credential id -> user name and password. Each run uses fresh mailboxes.
creds="$work/credentials.json"
mb() { echo "$1-$run_id@$MS_MAIL_DOMAIN"; }
cat > "$creds" <<JSON
{
  "helpdesk-imap": {"username": "$(mb helpdesk)", "password": "$MS_MAIL_PASSWORD"},
  "helpdesk-imap-nocopy": {"username": "$(mb helpdesk-nocopy)", "password": "$MS_MAIL_PASSWORD"},
  "alerts-pop3": {"username": "$(mb alerts)", "password": "$MS_MAIL_PASSWORD"},
  "alerts-pop3-nocopy": {"username": "$(mb alerts-nocopy)", "password": "$MS_MAIL_PASSWORD"},
  "notify-smtp": {"username": "$(mb notify)", "password": "$MS_MAIL_PASSWORD"},
  "helpdesk-folders": {"username": "$(mb helpdesk-folders)", "password": "$MS_MAIL_PASSWORD"},
  "proxy": {"username": "$MS_PROXY_USER", "password": "$MS_PROXY_PASSWORD"}
}
JSON
chmod 600 "$creds"

say "1. Validate: a settings document with mistakes, then the local one"
run_status 1 validate examples/settings/broken.toml
run_status 1 --lang pt-BR validate examples/settings/broken.toml --format json >/dev/null
run validate "$doc" --credentials "$creds"

say "2. Import into a fresh store (SQLite, one file: $MAIL_SETTINGS_DB) and report"
run import "$doc" --credentials "$creds"
run report incoming
run report incoming --secure yes --keep-copy no
run --lang pt-BR report smtp
run report incoming --format csv > "$work/incoming.csv" && echo "(CSV: $work/incoming.csv)" && cat "$work/incoming.csv"
run report smtp --format html > "$work/smtp.html" && echo "(printable HTML: $work/smtp.html)"

say "3. Check every enabled account, stage by stage"
for account in "Helpdesk IMAP" "Helpdesk IMAP, no copy (STARTTLS via HTTP proxy)" \
               "Alerts POP3 (STLS via SOCKS5)" "Alerts POP3S, no copy" \
               "Notifications" "Password expiry (STARTTLS via SOCKS5)"; do
    run check "$account" --kind "$( [[ $account == Notifications || $account == Password* ]] && echo smtp || echo incoming)" --credentials "$creds"
done
say "   ...and a check that is refused: a disabled account is never contacted"
run_status 1 check 5 --kind incoming --credentials "$creds"

say "4. Send: the test configuration (seed 004) through both SMTP accounts"
for to in "$(mb helpdesk)" "$(mb helpdesk-nocopy)" "$(mb alerts)" "$(mb alerts-nocopy)"; do
    run test-smtp Notifications --to "$to" --credentials "$creds"
done
run test-smtp "Password expiry (STARTTLS via SOCKS5)" --to "$(mb helpdesk)" \
    --subject "Your password expires in 3 days" --message "Change it at the portal." --credentials "$creds" --format json

say "5. Collect: the messages above, over IMAP and POP3, with and without keep copy"
sleep 1  # Postfix hands the messages to Dovecot within a moment
run collect --once --credentials "$creds"
say "   A second run fetches nothing new; the accounts without keep copy emptied their server mailbox"
run collect --once --credentials "$creds"
run status
for account in "Helpdesk IMAP, no copy (STARTTLS via HTTP proxy)" "Alerts POP3S, no copy"; do
    run check "$account" --kind incoming --credentials "$creds" | grep -E 'mailbox|check' 
done

say "6. View inbox (seed 000) and read a message"
run inbox "Helpdesk IMAP"
run inbox ALL --page-size 5
first=$("$ms" inbox "Helpdesk IMAP" --format json | sed -n 's/^ *"id": \([0-9]*\),$/\1/p' | head -1)
run show "$first"
run inbox "Helpdesk IMAP" --unread

say "7. The same from Rust: the runnable files in examples/rust/"
ex() { printf '$ cargo run --example %s\n' "$*"; cargo run --quiet -p mail-settings-core --example "$@"; }
ex check_account "$doc" "$creds" "Alerts POP3 (STLS via SOCKS5)"
ex send_notification "$doc" "$creds" "$(mb helpdesk)"
sleep 1
ex collect_inbox "$doc" "$creds" "$work/examples.sqlite3"

say "8. Folders and push: an IMAP account collecting INBOX and \"Support/Tier 2\", waiting in IDLE"
# A store of its own, so the accounts above stay as they are. The folder is made on the
# server with Dovecot's own tool (on this Dovecot, Maildir++, it is \"Support.Tier 2\").
fdb="$work/folders.sqlite3"
fmb=$(mb helpdesk-folders)
doveadm -c "$MS_SERVERS_DIR/dovecot/main.conf" mailbox create -u "$fmb" "Support.Tier 2"
printf 'From: customer@example.test\r\nTo: %s\r\nSubject: Escalated to tier 2\r\nMessage-ID: <tier2-%s@example.test>\r\n\r\nPlease escalate.\r\n' \
    "$fmb" "$run_id" | doveadm -c "$MS_SERVERS_DIR/dovecot/main.conf" save -u "$fmb" -m "Support.Tier 2"
cat > "$work/folders.json" <<JSON
{"version": 1, "incoming_accounts": [
  {"id": 1, "name": "Helpdesk folders (push)", "protocol": "IMAP", "host": "localhost",
   "port": $MS_IMAPS_PORT, "credential": "helpdesk-folders", "keep_copy_on_server": true,
   "folders": ["INBOX", "Support/Tier 2"], "check_interval_secs": 3600,
   "ca_file": "$MS_SERVERS_DIR/certs/ca.pem"}]}
JSON
export MAIL_SETTINGS_DB="$fdb"
run import "$work/folders.json" --credentials "$creds"
run check "Helpdesk folders (push)" --kind incoming --credentials "$creds"
run collect --once --credentials "$creds"
say "   Push: the collector runs (poll interval one hour) and waits in IDLE; a message sent now arrives at once"
show collect --credentials "$creds" '&'
"$ms" collect --credentials "$creds" > "$work/collector.log" 2>&1 &
collector_pid=$!
sleep 2
MAIL_SETTINGS_DB="$work/settings.sqlite3" run test-smtp Notifications --to "$fmb" --subject "New ticket by push" --credentials "$creds"
started=$(date +%s%N)
# The whole page is read (grep without -q): a reader closing the pipe early would make the
# command's next write fail.
until "$ms" inbox "Helpdesk folders (push)" --format json | grep "New ticket by push" >/dev/null; do
    if [ $(( ($(date +%s%N) - started) / 1000000000 )) -ge 20 ]; then
        echo "tour: the message did not arrive by push within 20 s" >&2; kill -INT "$collector_pid"; exit 1
    fi
    sleep 0.1
done
echo "(in the inbox $(( ($(date +%s%N) - started) / 1000000 )) ms after Postfix accepted it)"
kill -INT "$collector_pid" && wait "$collector_pid"
run inbox "Helpdesk folders (push)"
export MAIL_SETTINGS_DB="$work/settings.sqlite3"

say "9. OAuth2: an account that signs in with a token server (device code), then collects"
# The local authorization server (npm's oidc-provider, tests/servers/oauth2/) stands in for
# Microsoft 365 or Google; Dovecot validates the tokens it issues. The client is confidential:
# its secret is a vault entry, the settings only name it.
omb=$(mb oauth2-user)
odb="$work/oauth2.sqlite3"
ocreds="$work/oauth2-credentials.json"
cat > "$ocreds" <<JSON
{"idp-secret": {"client_secret": "$MS_OAUTH2_CLIENT_SECRET"},
 "$omb": {"username": "$omb"}}
JSON
chmod 600 "$ocreds"
issuer="http://127.0.0.1:$MS_OAUTH2_SERVER_PORT"
cat > "$work/oauth2.json" <<JSON
{"version": 1,
 "oauth2_clients": [{"id": 1, "name": "Local IdP", "provider": "CUSTOM",
   "client_id": "ms-confidential", "client_secret_credential": "idp-secret",
   "token_url": "$issuer/token", "device_authorization_url": "$issuer/device/auth",
   "scopes": ["openid", "offline_access", "mail"]}],
 "incoming_accounts": [{"id": 1, "name": "Helpdesk (OAuth2)", "protocol": "IMAP",
   "host": "localhost", "port": $MS_IMAPS_PORT, "credential": "$omb",
   "authentication": "OAUTH2", "oauth2_client": 1, "ca_file": "$MS_SERVERS_DIR/certs/ca.pem"}]}
JSON
export MAIL_SETTINGS_DB="$odb"
run import "$work/oauth2.json" --credentials "$ocreds"
MAIL_SETTINGS_DB="$work/settings.sqlite3" run test-smtp Notifications --to "$omb" --subject "For the OAuth2 mailbox" --credentials "$creds"
run oauth2 status --credentials "$ocreds"
# The sign-in prints the verification URL and the user code; the person approves it in a
# browser. Here the approval is scripted: the test server's /test/approve-device route does
# what the person's "Approve" click does.
show oauth2 sign-in "$omb" --client "Local IdP" --credentials "$ocreds" '&'
"$ms" oauth2 sign-in "$omb" --client "Local IdP" --credentials "$ocreds" > "$work/sign-in.log" 2>&1 &
sign_in_pid=$!
code=""
for _ in $(seq 1 100); do
    code=$(sed -n 's/.* and enter the code \([A-Z0-9-]*\).*/\1/p' "$work/sign-in.log")
    [ -n "$code" ] && break
    sleep 0.1
done
[ -n "$code" ] || { cat "$work/sign-in.log" >&2; echo "tour: no user code printed" >&2; exit 1; }
printf '(the person approves the code %s as %s)\n' "$code" "$omb"
curl -fsS -X POST --data-urlencode "user_code=$code" --data-urlencode "account=$omb" \
    "$issuer/test/approve-device" >/dev/null
wait "$sign_in_pid"
cat "$work/sign-in.log"
run collect --once --credentials "$ocreds"
run oauth2 status --credentials "$ocreds"
run report incoming --auth-method oauth2
export MAIL_SETTINGS_DB="$work/settings.sqlite3"

say "Tour done. Store: $MAIL_SETTINGS_DB; files: $work"
