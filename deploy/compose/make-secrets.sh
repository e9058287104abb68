#!/usr/bin/env bash
# Creates deploy/compose/secrets/ for deploy/compose.yaml (run once, as root, on the engine host):
# random PINs and passwords, the DSNs, a local CA with the authority's server certificate, the
# CTID simulator's certificate and the authority's CTID client certificate; the internal CA of the
# mutual-TLS listeners (scripts/pki.sh) with the server certificates of the operator listener and
# of the warrant component (client certificates for operators and auditors: scripts/pki.sh, see
# docs/operations.md "Issuing certificates"). Files are mode 0400
# and owned by uid 10001 (the containers' user; the services refuse secrets readable by others);
# the PostgreSQL role passwords belong to uid 999 (the postgres image's user, which runs the
# bootstrap job).
# A real deployment takes its certificates from its own CA and its PINs from the HSM officers.
set -euo pipefail
d="${MAKE_SECRETS_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/secrets}"
[ "$(id -u)" -eq 0 ] || { echo "run as root (files are chowned to uid 10001)" >&2; exit 1; }
if [ -e "$d" ]; then echo "$d exists; remove it first to start over" >&2; exit 1; fi
mkdir -m 0700 "$d"
umask 077
rnd() { openssl rand -hex 16; }
for f in pg-superuser-password pg-owner-password pg-authority-password pg-warrant-password \
         issuance-token-pin issuance-token-so-pin escrow-token-pin escrow-token-so-pin; do
  rnd > "$d/$f"
done
for role in owner authority warrant; do
  printf 'host=postgres port=5432 dbname=realdid user=realdid_%s password=%s sslmode=prefer connect_timeout=5\n' \
    "$role" "$(cat "$d/pg-$role-password")" > "$d/dsn-realdid_$role"
done
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 825 -subj "/CN=RealDID compose CA" \
  -keyout "$d/ca.key" -out "$d/ca.crt" -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
leaf() {  # leaf NAME CN SAN EKU
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$2" \
    -keyout "$d/$1.key" -out "$d/$1.csr" 2>/dev/null
  openssl x509 -req -in "$d/$1.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial -days 397 \
    -extfile <(printf 'subjectAltName=%s\nextendedKeyUsage=%s\nbasicConstraints=CA:FALSE\n' "$3" "$4") \
    -out "$d/$1.crt" 2>/dev/null
  rm -f "$d/$1.csr"
}
leaf server localhost "DNS:localhost,DNS:authority,IP:127.0.0.1" serverAuth
leaf ctid-sim ctid-sim "DNS:ctid-sim" serverAuth
leaf ctid-client realdid-authority "DNS:realdid-authority" clientAuth
rm -f "$d/ca.srl"
# The internal CA (operator/auditor client certificates) and its listeners' server certificates.
pki="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../scripts" && pwd)/pki.sh"
internal="$d/../internal-ca.KEEP-OFFLINE"
[ -e "$internal" ] && { echo "$internal exists; remove it first to start over" >&2; exit 1; }
sh "$pki" init-ca "$internal" "RealDID compose internal CA" >/dev/null
sh "$pki" server "$internal" "$d/admin-server" authority localhost 127.0.0.1 >/dev/null
sh "$pki" server "$internal" "$d/warrant-server" warrant localhost 127.0.0.1 >/dev/null
mv "$d/admin-server.pem" "$d/admin-server.crt"
mv "$d/warrant-server.pem" "$d/warrant-server.crt"
cp "$internal/ca.pem" "$d/internal-ca.crt"
chmod 0400 "$d"/*
chown 10001:10001 "$d"/*
chown 999:999 "$d"/pg-*-password
# The CA key signs nothing else here; keep it out of the secrets the containers can mount.
mv "$d/ca.key" "$d/../ca.key.KEEP-OFFLINE" && chown root:root "$d/../ca.key.KEEP-OFFLINE"
echo "wrote $d"
