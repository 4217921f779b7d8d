#!/usr/bin/env bash
# Builds the chroot of each extra server family (Cyrus + Exim, Courier) when it is missing.
#
#   tests/servers/families/install.sh [cyrus] [courier]     (default: both, in parallel)
#   tests/servers/families/install.sh --tool                 (only install mmdebstrap)
#
# A root is a Debian tree made by mmdebstrap of the release the host runs, from the mirrors
# the host's apt configuration names (read here, at run time, from /etc/apt/sources.list and
# /etc/apt/sources.list.d/; no mirror is written in the repository). Roots are cached outside
# the clone in $MS_ROOTS_CACHE (default /var/cache/mail-settings/roots) under
# <family>-<hash of this script>, so a change of the package lists or of this script builds a
# new root; a missing root is rebuilt. Fast no-op when the roots exist.
# The daemons' configuration is written by start.sh at every start (not part of the root).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

# Package lists. Courier needs "a mail-transport-agent": Debian's default-mta, exim4
# (daemon-light), satisfies it, so courier-mta is not pulled in.
fam_packages() {
  case "$1" in
    cyrus) echo "cyrus-imapd cyrus-pop3d cyrus-admin sasl2-bin exim4-daemon-light ca-certificates openssl procps" ;;
    courier) echo "courier-imap courier-pop courier-authdaemon courier-authlib-userdb exim4-daemon-light ca-certificates openssl procps" ;;
    *) echo "install.sh: unknown family '$1'" >&2; return 1 ;;
  esac
}

# sources.list lines of the host's Debian mirrors (one-line and deb822 formats).
host_sources() {
  local f
  if [[ -f /etc/apt/sources.list ]]; then
    grep -E '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list || true
  fi
  for f in /etc/apt/sources.list.d/*.list; do
    [[ -f "$f" ]] && { grep -E '^[[:space:]]*deb[[:space:]]' "$f" || true; }
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f "$f" ]] || continue
    # deb822 stanzas -> "deb [signed-by=K] URI SUITE COMPONENTS" per URI and suite.
    awk '
      function flush() {
        if (types ~ /(^| )deb( |$)/ && enabled != "no" && uris != "") {
          nu = split(uris, U, " "); ns = split(suites, S, " ")
          opt = (signed != "") ? "[signed-by=" signed "] " : ""
          for (i = 1; i <= nu; i++) for (j = 1; j <= ns; j++) print "deb " opt U[i] " " S[j] " " comps
        }
        types = uris = suites = comps = signed = enabled = ""
      }
      /^[[:space:]]*#/ { next }
      /^[[:space:]]*$/ { flush(); next }
      {
        k = tolower($1); sub(/:$/, "", k); $1 = ""; v = $0; sub(/^[[:space:]]+/, "", v)
        if (k == "types") types = v; else if (k == "uris") uris = v; else if (k == "suites") suites = v
        else if (k == "components") comps = v; else if (k == "signed-by") signed = v
        else if (k == "enabled") enabled = tolower(v)
      }
      END { flush() }' "$f"
  done
}

# mmdebstrap from the host's apt (waits for a dpkg lock held by another installer).
install_tool() {
  command -v mmdebstrap >/dev/null && return 0
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
    --no-install-recommends mmdebstrap >/dev/null
}

build_root() {
  local fam=$1 root tmp codename start lines=()
  root=$(fam_root "$fam")
  # Built meanwhile by another install.sh (we waited for its lock).
  [[ -e "$root/.ms-complete" ]] && return 0
  codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
  mapfile -t lines < <(host_sources | grep -E "[[:space:]]($codename|$codename-[a-z]+)[[:space:]]")
  if [[ ${#lines[@]} -eq 0 ]]; then
    echo "families/install.sh: no Debian $codename source in the host's apt configuration" >&2
    return 1
  fi
  mkdir -p "$(dirname "$root")"
  tmp=$root.tmp.$$
  rm -rf "$tmp"
  start=$SECONDS
  echo "families/install.sh: building the $fam root in $root (mmdebstrap $codename)" >&2
  local pkgs
  pkgs=$(fam_packages "$fam" | tr ' ' ',')
  # The package scripts must not start daemons in the root (mmdebstrap adds a policy-rc.d
  # during installation); debconf answers are the defaults.
  if ! mmdebstrap --mode=root --variant=apt --include="$pkgs" \
      "$codename" "$tmp" "${lines[@]}" >"$tmp.log" 2>&1; then
    echo "families/install.sh: mmdebstrap failed for $fam; last lines of $tmp.log:" >&2
    tail -n 30 "$tmp.log" >&2
    rm -rf "$tmp"
    return 1
  fi
  touch "$tmp/.ms-complete"
  rm -rf "$root"
  mv "$tmp" "$root"
  mv "$tmp.log" "$root.log"
  echo "families/install.sh: $fam root built in $((SECONDS - start)) s" >&2
  # Older roots of this family (other hashes) are left for the operator; print them.
  local old
  for old in "$(dirname "$root")/$fam"-*; do
    [[ "$old" == "$root" || "$old" == *.log || "$old" == *.tmp.* ]] && continue
    [[ -d "$old" ]] && echo "families/install.sh: old root $old may be removed" >&2
  done
  return 0
}

if [[ "${1:-}" == --tool ]]; then
  install_tool
  exit 0
fi
fams=("$@")
[[ ${#fams[@]} -gt 0 ]] || fams=(cyrus courier)
missing=()
for fam in "${fams[@]}"; do
  fam_packages "$fam" >/dev/null
  [[ -e "$(fam_root "$fam")/.ms-complete" ]] || missing+=("$fam")
done
[[ ${#missing[@]} -gt 0 ]] || exit 0
if [[ $(id -u) -ne 0 ]]; then
  echo "families/install.sh: roots missing (${missing[*]}) and not root" >&2
  exit 1
fi
install_tool
# One builder at a time (another one may be building the same roots).
mkdir -p "$MS_ROOTS_CACHE"
exec 8>"$MS_ROOTS_CACHE/.lock"
flock -w 1800 8
pids=()
for fam in "${missing[@]}"; do
  build_root "$fam" 8>&- &
  pids+=($!)
done
rc=0
for pid in "${pids[@]}"; do
  wait "$pid" || rc=1
done
exit $rc
