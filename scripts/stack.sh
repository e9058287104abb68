#!/usr/bin/env bash
# The local stack's state: a throwaway PostgreSQL cluster, SoftHSM2 tokens, a local CA (public
# listener, CTID) and the internal CA of the operator/auditor listeners (scripts/pki.sh), three
# auditors (alice, bob, carol: each a client certificate, a principal row and an approval key in
# a SoftHSM2 token of their own), the genesis auditor roster and the configuration of the
# authority and the warrant component, all under $REALDID_STATE_DIR (default .state/) and owned by
# the unprivileged service user. Never touches the system PostgreSQL cluster.
#   scripts/stack.sh init      create whatever is missing (idempotent; reuses what exists)
#   scripts/stack.sh pg-start  start the local cluster      scripts/stack.sh pg-stop   stop it
#   scripts/stack.sh env       print the environment the tools need (source it)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

S="$REALDID_STATE_DIR"
BIN="${REALDID_BIN:-$REALDID_ROOT/build/release}"
PG_PORT="${REALDID_PG_PORT:-55432}"
PUBLIC_PORT="${REALDID_PUBLIC_PORT:-8443}"
METRICS_PORT="${REALDID_METRICS_PORT:-9464}"
CTID_PORT="${REALDID_CTID_PORT:-8444}"
ADMIN_PORT="${REALDID_ADMIN_PORT:-8445}"
WARRANT_PORT="${REALDID_WARRANT_PORT:-9443}"
PKI_SH="$REALDID_ROOT/scripts/pki.sh"
INTERNAL="$S/pki/internal"   # the internal CA (scripts/pki.sh) and the mutual-TLS listeners' certs
AUDITORS=(alice bob carol)   # genesis roster: an author and M = 2 approvers
ISSUANCE_TOKEN=realdid-issuance
ESCROW_TOKEN=realdid-escrow

secret_file() {  # secret_file NAME: a random secret in $S/secrets/NAME, created once
  local f="$S/secrets/$1"
  if [ ! -s "$f" ]; then
    (umask 077; openssl rand -hex 16 > "$f")
  fi
  echo "$f"
}

init_dirs() {
  mkdir -p "$S"
  check_traversable "$(dirname "$S")"
  mkdir -p "$S/secrets" "$S/tokens" "$S/pki" "$S/keys" "$S/log"
  chmod 700 "$S/secrets"
}

init_tokens() {
  cat > "$S/softhsm2.conf" <<CONF
directories.tokendir = $S/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
CONF
  export SOFTHSM2_CONF="$S/softhsm2.conf"
  local label pinf sof slots
  for label in "$ISSUANCE_TOKEN" "$ESCROW_TOKEN"; do
    # Captured first: under pipefail, `grep -q` closing the pipe early could fail the test and
    # create a second token with the same label.
    slots=$(softhsm2-util --show-slots 2>/dev/null || true)
    if grep -Eq "Label:[[:space:]]*$label[[:space:]]*$" <<<"$slots"; then
      continue
    fi
    pinf=$(secret_file "$label.pin"); sof=$(secret_file "$label.so-pin")
    log "creating SoftHSM2 token $label"
    softhsm2-util --init-token --free --label "$label" --pin "$(cat "$pinf")" --so-pin "$(cat "$sof")" >/dev/null
  done
}

issue_cert() {  # issue_cert NAME SUBJECT EKU: a P-256 key and a certificate from the local CA
  local p="$S/pki" name="$1" subject="$2" eku="$3"
  [ -s "$p/$name.pem" ] && return 0
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "$subject" \
    -keyout "$p/$name.key" -out "$p/$name.csr" 2>/dev/null
  openssl x509 -req -in "$p/$name.csr" -CA "$p/ca.pem" -CAkey "$p/ca.key" -CAcreateserial -days 397 \
    -extfile <(printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=%s\nbasicConstraints=CA:FALSE\n' "$eku") \
    -out "$p/$name.pem" 2>/dev/null
  rm -f "$p/$name.csr"
}

init_pki() {
  local p="$S/pki"
  if [ ! -s "$p/ca.pem" ]; then
    log "creating the local CA and the server certificate"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 825 \
      -subj "/CN=RealDID local CA" -keyout "$p/ca.key" -out "$p/ca.pem" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  fi
  issue_cert server "/CN=localhost" serverAuth
  issue_cert ctid-server "/CN=localhost" serverAuth
  # The authority's client certificate for mutual TLS towards CTID.
  issue_cert authority-ctid-client "/CN=realdid-authority" clientAuth
  chmod 600 "$p"/*.key
}

pki_server_cert() {  # pki_server_cert PREFIX: a serverAuth certificate from the internal CA
  [ -s "$1.pem" ] && return 0
  rm -f "$1.key"  # a key without its certificate is left over from an interrupted run
  "$PKI_SH" server "$INTERNAL" "$1" localhost 127.0.0.1 >/dev/null
}

init_internal_pki() {
  if [ ! -s "$INTERNAL/ca.pem" ]; then
    log "creating the internal CA (operator/auditor mutual TLS) in $INTERNAL"
    rm -rf "$INTERNAL"
    "$PKI_SH" init-ca "$INTERNAL" "RealDID local internal CA" >/dev/null
  fi
  pki_server_cert "$INTERNAL/warrant-server"
  pki_server_cert "$INTERNAL/admin-server"
}

# Each auditor is a person with a client certificate and an approval key in a token of their own:
# $S/auditors/NAME/{client.pem,client.key,softhsm2.conf,tokens/,token.pin,approval-key.jwk}.
init_auditors() {
  local name d slots
  for name in "${AUDITORS[@]}"; do
    d="$S/auditors/$name"
    mkdir -p "$d/tokens"
    chmod 700 "$d"
    if [ ! -s "$d/client.pem" ]; then
      log "auditor $name: client certificate from the internal CA"
      rm -f "$d/client.key"
      "$PKI_SH" issue "$INTERNAL" "$d/client" "$name" >/dev/null
    fi
    printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n' \
      "$d/tokens" > "$d/softhsm2.conf"
    [ -s "$d/token.pin" ] || (umask 077; openssl rand -hex 16 > "$d/token.pin")
    slots=$(SOFTHSM2_CONF="$d/softhsm2.conf" softhsm2-util --show-slots 2>/dev/null || true)
    if ! grep -Eq "Label:[[:space:]]*auditor-${name}[[:space:]]*$" <<<"$slots"; then
      log "auditor $name: SoftHSM2 token auditor-$name"
      SOFTHSM2_CONF="$d/softhsm2.conf" softhsm2-util --init-token --free --label "auditor-$name" \
        --pin "$(cat "$d/token.pin")" --so-pin "$(openssl rand -hex 16)" >/dev/null
    fi
    if [ ! -s "$d/approval-key.jwk" ]; then
      local tool=keygen
      # A key made by an interrupted run is reused (keygen refuses to overwrite it).
      if SOFTHSM2_CONF="$d/softhsm2.conf" "$BIN/tools/auditor/realdid-auditor" pubkey \
           --token "auditor-$name" --pin-file "$d/token.pin" >/dev/null 2>&1; then
        tool=pubkey
      fi
      log "auditor $name: approval key (P-256, non-extractable) in the token ($tool)"
      SOFTHSM2_CONF="$d/softhsm2.conf" "$BIN/tools/auditor/realdid-auditor" "$tool" \
        --token "auditor-$name" --pin-file "$d/token.pin" > "$d/approval-key.jwk.tmp"
      mv "$d/approval-key.jwk.tmp" "$d/approval-key.jwk"
    fi
  done
}

# Principal rows (table principals) through scripts/pki.sh add -> realdid-admin, once each.
enrol_principal() {  # enrol_principal DIR ROLE: DIR/client.pem gets ROLE
  local d="$1" role="$2" out
  [ -f "$d/enrolled" ] && return 0
  log "$(basename "$d"): enrolled as a principal with role $role"
  if ! out=$(REALDID_BIN="$BIN" "$PKI_SH" add "$S/secrets/dsn-realdid_owner" "$d/client.pem" "$role" \
               "$INTERNAL" 2>&1); then
    # Enrolled by an interrupted run already: the certificate's hash is listed.
    REALDID_BIN="$BIN" "$PKI_SH" list "$S/secrets/dsn-realdid_owner" 2>/dev/null \
      | grep -q "$(openssl x509 -in "$d/client.pem" -outform DER | sha256sum | cut -c1-64)" \
      || die "enrolling $d failed: $out"
  fi
  touch "$d/enrolled"
}

# An operator for the admin listener ($S/operators/ops) and the three auditors.
enrol_principals() {
  local d="$S/operators/ops" name
  mkdir -p "$d"
  chmod 700 "$d"
  if [ ! -s "$d/client.pem" ]; then
    rm -f "$d/client.key"
    "$PKI_SH" issue "$INTERNAL" "$d/client" ops >/dev/null
  fi
  enrol_principal "$d" operator
  for name in "${AUDITORS[@]}"; do enrol_principal "$S/auditors/$name" auditor; done
}

# The genesis auditor roster, loaded once by the warrant component (docs/operations.md,
# "Enrolling auditors"); its SHA-256 is what the ceremony participants sign off.
genesis_roster() {
  local w="$S/warrant" name d entries=()
  mkdir -p "$w"
  [ -s "$w/genesis.done" ] && return 0
  for name in "${AUDITORS[@]}"; do
    d="$S/auditors/$name"
    entries+=("$(jq -cn --arg lbl "$name" \
      --arg cert "$("$BIN/tools/auditor/realdid-auditor" cert-sha256 "$d/client.pem")" \
      --slurpfile jwk "$d/approval-key.jwk" '{"label": $lbl, "cert_sha256": $cert, "public_jwk": $jwk[0]}')")
  done
  printf '%s\n' "${entries[@]}" | jq -cs '{v: 1, auditors: .}' > "$w/genesis-roster.json"
  log "loading the genesis auditor roster (sha256 $(sha256sum "$w/genesis-roster.json" | cut -c1-16)...)"
  chown -R "$REALDID_USER:$REALDID_USER" "$w"
  (cd / && as_service_user "$BIN/warrant/realdid-warrant" --config "$S/warrant.ini" \
     --genesis-roster "$w/genesis-roster.json") > "$w/genesis.out" 2>"$S/log/warrant-genesis.log" \
    || die "loading the genesis roster failed (see $S/log/warrant-genesis.log)"
  mv "$w/genesis.out" "$w/genesis.done"
}

pg_ctl_() { (cd / && as_service_user "$PG_BIN/pg_ctl" -D "$S/pg" "$@"); }

pg_running() { [ -f "$S/pg/postmaster.pid" ] && pg_ctl_ status >/dev/null 2>&1; }

pg_start() {
  pg_running && return 0
  log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
  pg_ctl_ -l "$S/log/postgresql.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -c port=$PG_PORT -c unix_socket_directories=$S/run" start >/dev/null
}

pg_stop() { pg_running && pg_ctl_ -m fast -w stop >/dev/null || true; }

init_pg() {
  mkdir -p "$S/run"
  if [ ! -s "$S/pg/PG_VERSION" ]; then
    log "creating a throwaway PostgreSQL cluster in $S/pg"
    chown "$REALDID_USER:$REALDID_USER" "$S" "$S/log" "$S/run"
    (cd / && as_service_user "$PG_BIN/initdb" -D "$S/pg" -U postgres --auth-local=peer --auth-host=scram-sha-256 \
      -E UTF8 --locale=C.UTF-8 >/dev/null)
    # Local superuser access is by peer authentication over the state folder's socket only.
    printf 'local all postgres peer map=realdid\nhost realdid all 127.0.0.1/32 scram-sha-256\n' > "$S/pg/pg_hba.conf"
    printf 'realdid %s postgres\n' "$REALDID_USER" > "$S/pg/pg_ident.conf"
    chown "$REALDID_USER:$REALDID_USER" "$S/pg/pg_hba.conf" "$S/pg/pg_ident.conf"
  fi
  chown "$REALDID_USER:$REALDID_USER" "$S/run" "$S/log"
  pg_start
  local role pw
  local -A pws=()
  for role in realdid_owner realdid_authority realdid_warrant; do
    pw=$(cat "$(secret_file "pg-$role.password")")
    pws[$role]="$pw"
    printf 'host=127.0.0.1 port=%s dbname=realdid user=%s password=%s connect_timeout=5\n' \
      "$PG_PORT" "$role" "$pw" > "$S/secrets/dsn-$role"
    chmod 600 "$S/secrets/dsn-$role"
  done
  log "bootstrapping roles and the database (idempotent)"
  # Passwords travel through the environment (runuser keeps it), never a command line (see roles.sql).
  ( export REALDID_OWNER_PASSWORD="${pws[realdid_owner]}" REALDID_AUTHORITY_PASSWORD="${pws[realdid_authority]}" \
      REALDID_WARRANT_PASSWORD="${pws[realdid_warrant]}"
    cd / && as_service_user psql -X -q -v ON_ERROR_STOP=1 -h "$S/run" -p "$PG_PORT" -U postgres -d postgres \
    -f "$REALDID_ROOT/migrations/bootstrap/roles.sql" >/dev/null )
}

migrate() {
  log "applying migrations"
  "$BIN/tools/migrate/realdid-migrate" --dsn-file "$S/secrets/dsn-realdid_owner" --dir "$REALDID_ROOT/migrations"
}

ceremony() {
  export SOFTHSM2_CONF="$S/softhsm2.conf"
  if [ -s "$S/keys/keys.json" ]; then
    return 0
  fi
  log "running the key ceremony"
  "$BIN/tools/ceremony/realdid-ceremony" \
    --module /usr/lib/softhsm/libsofthsm2.so \
    --issuance-token "$ISSUANCE_TOKEN" --issuance-pin-file "$S/secrets/$ISSUANCE_TOKEN.pin" \
    --escrow-token "$ESCROW_TOKEN" --escrow-pin-file "$S/secrets/$ESCROW_TOKEN.pin" \
    --out "$S/keys"
}

# State made before the revocation-list and Privacy Pass keys existed cannot serve the demo; the
# ceremony never overwrites keys, so say so instead of failing later.
check_manifest() {
  local role
  for role in audit-signing revocation-list privacypass escrow; do
    jq -e --arg r "$role" 'any(.keys[]; .role == $r)' "$S/keys/keys.json" >/dev/null ||
      die "$S/keys/keys.json has no '$role' key: this state predates it; move $S away and run again"
  done
}

write_config() {
  cat > "$S/authority.ini" <<INI
; Generated by scripts/stack.sh for the local stack. See authority/authority.example.ini.
[server]
listen_address = 127.0.0.1
port = $PUBLIC_PORT
tls_cert_file = $S/pki/server.pem
tls_key_file = $S/pki/server.key

[metrics]
listen_address = 127.0.0.1
port = $METRICS_PORT

[hsm]
module_path = /usr/lib/softhsm/libsofthsm2.so
token_label = $ISSUANCE_TOKEN
pin_file = $S/secrets/$ISSUANCE_TOKEN.pin
pool_size = 2
keys_manifest = $S/keys/keys.json

[db]
dsn_file = $S/secrets/dsn-realdid_authority
pool_size = 4

[issuance]
iss = https://127.0.0.1:$PUBLIC_PORT
k = 32
min_k = 16
credential_lifetime = 30d
session_ttl = 10m
nonce_ttl = 5m
lockout = 30d

; The demo issues credentials for resident #42 on every run and the state is reused across runs:
; no per-person cap here (production keeps the default, authority/authority.example.ini).
max_active_credentials = 0

[ctid]
; The local stack talks to ctid-sim (scripts/run.sh starts it) with mutual TLS.
base_url = https://127.0.0.1:$CTID_PORT
client_cert_file = $S/pki/authority-ctid-client.pem
client_key_file = $S/pki/authority-ctid-client.key
ca_file = $S/pki/ca.pem

[admin]
; The operator/auditor listener: mutual TLS against the internal CA, roles from table principals.
listen_address = 127.0.0.1
port = $ADMIN_PORT
tls_cert_file = $INTERNAL/admin-server.pem
tls_key_file = $INTERNAL/admin-server.key
client_ca_file = $INTERNAL/ca.pem

[audit]
; Frequent checkpoints so that the demo sees its own rows signed within seconds.
checkpoint_rows = 5
checkpoint_interval = 15s

[log]
level = info
INI
  cat > "$S/warrant.ini" <<INI
; Generated by scripts/stack.sh for the local stack. See warrant/warrant.example.ini.
[server]
; Mutual TLS only, against the internal CA; every route needs an enrolled auditor.
listen_address = 127.0.0.1
port = $WARRANT_PORT
tls_cert_file = $INTERNAL/warrant-server.pem
tls_key_file = $INTERNAL/warrant-server.key
tls_ca_file = $INTERNAL/ca.pem

[db]
dsn_file = $S/secrets/dsn-realdid_warrant
pool_size = 2

[hsm]
; The escrow token: only this process holds its PIN.
module_path = /usr/lib/softhsm/libsofthsm2.so
token_label = $ESCROW_TOKEN
pin_file = $S/secrets/$ESCROW_TOKEN.pin
pool_size = 2
keys_manifest = $S/keys/keys.json

[identity]
token_label = $ISSUANCE_TOKEN
pin_file = $S/secrets/$ISSUANCE_TOKEN.pin

[warrant]
approvals = 2
max_lifetime = 30d

[log]
level = info
INI
}

own_state() {
  # The service user owns the whole state folder; secrets stay 0600/0700.
  chown -R "$REALDID_USER:$REALDID_USER" "$S"
}

check_binaries() {
  local b
  for b in tools/migrate/realdid-migrate tools/ceremony/realdid-ceremony tools/admin/realdid-admin \
           tools/auditor/realdid-auditor warrant/realdid-warrant; do
    [ -x "$BIN/$b" ] || die "$BIN/$b is missing: build it first (scripts/build.sh release $(basename "$b"))"
  done
}

cmd="${1:-}"
case "$cmd" in
  init)
    require_root; check_binaries; ensure_service_user; init_dirs; init_tokens; init_pki; init_internal_pki
    init_auditors; init_pg; own_state
    migrate; ceremony; check_manifest; enrol_principals; write_config; own_state; genesis_roster ;;
  pg-start) require_root; pg_start ;;
  pg-stop) require_root; pg_stop ;;
  env) echo "export SOFTHSM2_CONF=$S/softhsm2.conf" ;;
  *) die "usage: scripts/stack.sh init|pg-start|pg-stop|env" ;;
esac
