#!/bin/sh
# The internal CA of the operator/auditor API (mutual TLS) and the certificates it issues.
# docs/operations.md "Issuing certificates" walks through it. POSIX sh + the openssl command.
#
#   scripts/pki.sh init-ca  CA_DIR [CN]              create the CA (CA_DIR/ca.key 0600, ca.pem)
#   scripts/pki.sh request  PREFIX CN                on the holder's machine: PREFIX.key (0600,
#                                                    never leaves it) and PREFIX.csr
#   scripts/pki.sh sign     CA_DIR CSR OUT.pem       at the CA: a client certificate for the CSR
#   scripts/pki.sh issue    CA_DIR PREFIX CN         request + sign in one place (test stacks, demo)
#   scripts/pki.sh server   CA_DIR PREFIX HOST...    a server certificate for the admin listener
#   scripts/pki.sh add      DSN_FILE CERT ROLE CA_DIR   enrol CERT as a principal (operator |
#                                                    auditor | administrator) via realdid-admin
#   scripts/pki.sh disable  DSN_FILE CERT            disable the principal of CERT
#   scripts/pki.sh list     DSN_FILE                 list principals
#
# Client certificates: P-256 keys, CA:FALSE, keyUsage digitalSignature, extendedKeyUsage
# clientAuth, random 128-bit serials; extensions of a CSR are never copied (a CSR cannot ask for
# CA:TRUE). Validity: REALDID_PKI_DAYS (default 365; the CA 3650). The role is not in the
# certificate: it lives in PostgreSQL (table principals), so disabling a principal or changing a
# role needs no new certificate. DSN_FILE holds the realdid_owner connection string (mode 0600):
# only the owner may write principals. realdid-admin is found through REALDID_ADMIN or
# REALDID_BIN (default build/release/tools/admin/realdid-admin).
set -eu

DAYS="${REALDID_PKI_DAYS:-365}"
CA_DAYS="${REALDID_PKI_CA_DAYS:-3650}"

die() { echo "pki.sh: $*" >&2; exit 1; }
usage() { sed -n '4,15p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

serial() { echo "0x$(openssl rand -hex 16)"; }

newkey() {  # newkey FILE: a P-256 private key readable by its owner only
  [ ! -e "$1" ] || die "$1 exists; refusing to overwrite a private key"
  (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null) \
    || die "cannot create key $1"
  chmod 600 "$1"
}

check_cn() {
  case "$1" in
    ''|*[!A-Za-z0-9\ ._@-]*) die "CN must be 1-64 characters of A-Z a-z 0-9 space . _ @ -" ;;
  esac
  [ "${#1}" -le 64 ] || die "CN must be at most 64 characters"
}

ext_file() {  # ext_file FILE KIND [HOST...]
  f="$1"; kind="$2"; shift 2
  {
    echo "basicConstraints = critical, CA:FALSE"
    echo "keyUsage = critical, digitalSignature"
    echo "subjectKeyIdentifier = hash"
    echo "authorityKeyIdentifier = keyid"
    if [ "$kind" = client ]; then
      echo "extendedKeyUsage = clientAuth"
    else
      echo "extendedKeyUsage = serverAuth"
      san=""
      for h in "$@"; do
        case "$h" in
          *[!0-9.]*) san="${san:+$san, }DNS:$h" ;;
          *) san="${san:+$san, }IP:$h" ;;
        esac
      done
      echo "subjectAltName = $san"
    fi
  } > "$f"
}

sign_csr() {  # sign_csr CA_DIR CSR OUT KIND [HOST...]
  ca="$1"; csr="$2"; out="$3"; kind="$4"; shift 4
  [ -r "$ca/ca.key" ] && [ -r "$ca/ca.pem" ] || die "no CA in $ca (run init-ca)"
  openssl req -in "$csr" -noout -verify >/dev/null 2>&1 || die "$csr: bad CSR signature"
  tmp="$(mktemp)"
  ext_file "$tmp" "$kind" "$@"
  openssl x509 -req -in "$csr" -CA "$ca/ca.pem" -CAkey "$ca/ca.key" -set_serial "$(serial)" \
    -days "$DAYS" -sha256 -extfile "$tmp" -out "$out" 2>/dev/null || { rm -f "$tmp"; die "signing failed"; }
  rm -f "$tmp"
  openssl verify -CAfile "$ca/ca.pem" -purpose "ssl$kind" "$out" >/dev/null \
    || die "$out does not verify against the CA"
}

admin_bin() {
  if [ -n "${REALDID_ADMIN:-}" ]; then echo "$REALDID_ADMIN"; return; fi
  root="$(cd "$(dirname "$0")/.." && pwd)"
  echo "${REALDID_BIN:-$root/build/release}/tools/admin/realdid-admin"
}

cmd="${1:-}"
[ $# -gt 0 ] && shift
case "$cmd" in
  init-ca)
    [ $# -ge 1 ] || usage
    ca="$1"; cn="${2:-RealDID internal CA}"
    check_cn "$cn"
    [ ! -e "$ca/ca.pem" ] || die "$ca/ca.pem exists"
    mkdir -p "$ca"
    newkey "$ca/ca.key"
    tmp="$(mktemp)"
    printf '%s\n' "[req]" "distinguished_name = dn" "x509_extensions = v3" "prompt = no" \
      "[dn]" "CN = $cn" "[v3]" "basicConstraints = critical, CA:TRUE, pathlen:0" \
      "keyUsage = critical, keyCertSign, cRLSign" "subjectKeyIdentifier = hash" > "$tmp"
    openssl req -new -x509 -key "$ca/ca.key" -config "$tmp" -days "$CA_DAYS" -sha256 \
      -set_serial "$(serial)" -out "$ca/ca.pem" 2>/dev/null || { rm -f "$tmp"; die "CA creation failed"; }
    rm -f "$tmp"
    chmod 644 "$ca/ca.pem"
    echo "$ca/ca.pem"
    ;;
  request)
    [ $# -eq 2 ] || usage
    check_cn "$2"
    newkey "$1.key"
    openssl req -new -key "$1.key" -subj "/CN=$2" -sha256 -out "$1.csr" || die "CSR failed"
    echo "$1.csr"
    ;;
  sign)
    [ $# -eq 3 ] || usage
    sign_csr "$1" "$2" "$3" client
    echo "$3"
    ;;
  issue)
    [ $# -eq 3 ] || usage
    check_cn "$3"
    newkey "$2.key"
    openssl req -new -key "$2.key" -subj "/CN=$3" -sha256 -out "$2.csr" || die "CSR failed"
    sign_csr "$1" "$2.csr" "$2.pem" client
    rm -f "$2.csr"
    echo "$2.pem"
    ;;
  server)
    [ $# -ge 3 ] || usage
    ca="$1"; prefix="$2"; shift 2
    check_cn "$1"
    newkey "$prefix.key"
    openssl req -new -key "$prefix.key" -subj "/CN=$1" -sha256 -out "$prefix.csr" || die "CSR failed"
    sign_csr "$ca" "$prefix.csr" "$prefix.pem" server "$@"
    rm -f "$prefix.csr"
    echo "$prefix.pem"
    ;;
  add)
    [ $# -eq 4 ] || usage
    exec "$(admin_bin)" principal add --dsn-file "$1" --cert "$2" --role "$3" --ca "$4/ca.pem"
    ;;
  disable)
    [ $# -eq 2 ] || usage
    exec "$(admin_bin)" principal disable --dsn-file "$1" --cert "$2"
    ;;
  list)
    [ $# -eq 1 ] || usage
    exec "$(admin_bin)" principal list --dsn-file "$1"
    ;;
  *)
    usage
    ;;
esac
