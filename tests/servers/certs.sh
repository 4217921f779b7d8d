#!/usr/bin/env bash
# Creates the test CA and the server certificates under $MS_SERVERS_DIR/certs:
#   ca.pem/ca.key          test CA (trust anchor for the tests)
#   localhost.pem/.key     valid, SAN DNS:localhost IP:127.0.0.1 IP:::1, signed by the CA
#   selfsigned.pem/.key    SAN DNS:localhost, self-signed (not from the CA)
#   expired.pem/.key       SAN DNS:localhost, signed by the CA, validity entirely in the past
#   wronghost.pem/.key     SAN DNS:wrong.example only, signed by the CA
# Idempotent: keeps everything while the set is complete and localhost.pem has > 30 days left.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

umask 022
dir=$MS_CERT_DIR
mkdir -p "$dir"

complete=1
for f in ca localhost selfsigned expired wronghost; do
  [[ -s "$dir/$f.pem" && -s "$dir/$f.key" ]] || complete=0
done
if [[ $complete -eq 1 ]] &&
  openssl x509 -in "$dir/localhost.pem" -noout -checkend $((30 * 86400)) >/dev/null 2>&1 &&
  openssl x509 -in "$dir/ca.pem" -noout -checkend $((30 * 86400)) >/dev/null 2>&1; then
  exit 0
fi

work=$(mktemp -d "$dir/.work.XXXXXX")
trap 'rm -rf "$work"' EXIT

newkey() { openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null; }

# Minimal `openssl ca` setup (needed for -startdate/-enddate with OpenSSL 3.0).
mkdir -p "$work/newcerts"
: >"$work/index.txt"
openssl rand -hex 16 >"$work/serial"
cat >"$work/ca.cnf" <<EOF
[ ca ]
default_ca = testca
[ testca ]
dir = $work
database = \$dir/index.txt
new_certs_dir = \$dir/newcerts
serial = \$dir/serial
certificate = $work/ca.pem
private_key = $work/ca.key
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
[ policy_any ]
commonName = supplied
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ v3_ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ server_localhost ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
[ server_localhost_only ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:localhost
[ server_selfsigned ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
subjectAltName = DNS:localhost
[ server_wronghost ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:wrong.example
EOF

# CA
newkey "$work/ca.key"
openssl req -new -x509 -config "$work/ca.cnf" -extensions v3_ca -key "$work/ca.key" \
  -subj "/O=mail-settings tests/CN=mail-settings Test CA" -days 3650 -sha256 -out "$work/ca.pem"

# sign NAME CN EXTENSIONS [extra openssl ca args...]
sign() {
  local name=$1 cn=$2 ext=$3
  shift 3
  newkey "$work/$name.key"
  openssl req -new -config "$work/ca.cnf" -key "$work/$name.key" -subj "/CN=$cn" -out "$work/$name.csr"
  openssl ca -batch -notext -config "$work/ca.cnf" -extensions "$ext" \
    -in "$work/$name.csr" -out "$work/$name.pem" "$@" 2>/dev/null
}
sign localhost localhost server_localhost -days 825
sign expired localhost server_localhost_only -startdate 20200101000000Z -enddate 20210101000000Z
sign wronghost wrong.example server_wronghost -days 825

# Self-signed, not from the CA.
newkey "$work/selfsigned.key"
openssl req -new -x509 -config "$work/ca.cnf" -extensions server_selfsigned \
  -key "$work/selfsigned.key" -subj "/CN=localhost" -days 825 -sha256 -out "$work/selfsigned.pem"

for f in ca localhost selfsigned expired wronghost; do
  chmod 600 "$work/$f.key"
  chmod 644 "$work/$f.pem"
  mv -f "$work/$f.key" "$dir/$f.key"
  mv -f "$work/$f.pem" "$dir/$f.pem"
done
echo "certs.sh: created test CA and certificates in $dir" >&2
