#!/usr/bin/env bash
# Installs the Debian packages the local test servers need, only when something is missing.
# Fast no-op (no apt-get update) when everything is already installed.
# System daemons are never started by the package scripts (temporary policy-rc.d), so the
# system Dovecot/Postfix/Dante/tinyproxy never run and never bind the standard ports.
set -euo pipefail

PACKAGES=(
  dovecot-core dovecot-imapd dovecot-pop3d dovecot-lmtpd
  postfix dante-server tinyproxy postgresql
  openssl ca-certificates iproute2 procps util-linux passwd
)

missing=()
# The OAuth2 authorization server (oauth2/server.js) runs on Node.js (>= 20) with npm.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  PACKAGES+=(nodejs npm)
fi
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "installed" ]] || missing+=("$pkg")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "install.sh: missing packages (${missing[*]}) and not root; install them with apt-get" >&2
  exit 1
fi

echo "install.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
echo "postfix postfix/mailname string localhost" | debconf-set-selections

# Keep the package scripts from starting system daemons (invoke-rc.d honours policy-rc.d).
policy=/usr/sbin/policy-rc.d
own_policy=0
if [[ ! -e "$policy" ]]; then
  printf '#!/bin/sh\n# temporary, written by mail-settings tests/servers/install.sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  own_policy=1
fi
cleanup() { if [[ $own_policy -eq 1 ]]; then rm -f "$policy"; fi; }
trap cleanup EXIT

apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" >/dev/null

# If a system instance was running anyway (e.g. a policy-rc.d that allowed it), stop it
# so nothing listens on the standard mail ports. Only the default system configs are touched.
if [[ -s /var/spool/postfix/pid/master.pid ]] && [[ -f /etc/postfix/main.cf ]]; then
  postfix stop >/dev/null 2>&1 || true
fi
for svc in dovecot danted tinyproxy; do
  if [[ -x /etc/init.d/$svc ]]; then
    /etc/init.d/"$svc" stop >/dev/null 2>&1 || true
  fi
done
echo "install.sh: done" >&2
