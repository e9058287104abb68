#!/usr/bin/env bash
# Brings up the whole stack locally and runs it in the foreground (Ctrl-C stops it): ctid-sim, the
# authority (public API, metrics, operator listener) and the warrant component.
#   sudo scripts/run.sh          install, build, create state (reused when present), serve
#   sudo scripts/run.sh --demo   the same, then walk through the demo against it and exit
# Ports (environment): REALDID_PUBLIC_PORT 8443, REALDID_CTID_PORT 8444, REALDID_ADMIN_PORT 8445,
# REALDID_WARRANT_PORT 9443, REALDID_METRICS_PORT 9464, REALDID_PG_PORT 55432.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root

demo=0
for a in "$@"; do
  case "$a" in
    --demo) demo=1 ;;
    *) die "unknown argument $a (usage: scripts/run.sh [--demo])" ;;
  esac
done

"$REALDID_ROOT/scripts/install-deps.sh"
"$REALDID_ROOT/scripts/build.sh" release realdid-authority realdid-ceremony realdid-migrate ctid-sim realdid \
  realdid-warrant realdid-auditor realdid-admin
"$REALDID_ROOT/scripts/stack.sh" init

S="$REALDID_STATE_DIR"
export SOFTHSM2_CONF="$S/softhsm2.conf"
B="$REALDID_ROOT/build/release"
CTID_PORT="${REALDID_CTID_PORT:-8444}"

# The CTID simulator stands in for the national real-name platform (docs/protocol.md section 6).
log "starting ctid-sim on https://127.0.0.1:$CTID_PORT"
runuser -u "$REALDID_USER" -- "$B/tools/ctid-sim/ctid-sim" --listen "127.0.0.1:$CTID_PORT" \
  --cert "$S/pki/ctid-server.pem" --key "$S/pki/ctid-server.key" --client-ca "$S/pki/ca.pem" \
  --seed 1 --population 1000000 > "$S/log/ctid-sim.out" 2> "$S/log/ctid-sim.log" &
ctid_pid=$!
auth_pid=""
warrant_pid=""
stop_pid() { [ -n "$1" ] && { kill -TERM "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }; }
cleanup() {
  stop_pid "$warrant_pid"
  stop_pid "$auth_pid"
  stop_pid "$ctid_pid"
  "$REALDID_ROOT/scripts/stack.sh" pg-stop || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The authority: public API, /metrics, and the operator listener ([admin], mutual TLS).
# The warrant component: its own process, mutual-TLS listener, database role and the only holder of
# the escrow token's PIN. Both run as the unprivileged service user.
start_services() {  # stdout/stderr go to $S/log/<name>.{out,log}
  runuser -u "$REALDID_USER" -- env SOFTHSM2_CONF="$SOFTHSM2_CONF" "$B/authority/realdid-authority" \
    --config "$S/authority.ini" > "$S/log/authority.out" 2> "$S/log/authority.log" &
  auth_pid=$!
  # The warrant component opens the same SoftHSM2 token directory: start it once the authority is
  # up, not at the same instant (two SoftHSM2 processes initialising one token directory together
  # can fail with CKR_GENERAL_ERROR; seen once in C_GetTokenInfo).
  for _ in $(seq 1 150); do
    curl -sf --cacert "$S/pki/ca.pem" "https://127.0.0.1:${REALDID_PUBLIC_PORT:-8443}/readyz" >/dev/null && break
    kill -0 "$auth_pid" 2>/dev/null || break
    sleep 0.2
  done
  runuser -u "$REALDID_USER" -- env SOFTHSM2_CONF="$SOFTHSM2_CONF" "$B/warrant/realdid-warrant" \
    --config "$S/warrant.ini" > "$S/log/warrant.out" 2> "$S/log/warrant.log" &
  warrant_pid=$!
}

if [ "$demo" -eq 0 ]; then
  log "starting the authority on https://127.0.0.1:${REALDID_PUBLIC_PORT:-8443} (operator listener :${REALDID_ADMIN_PORT:-8445})"
  log "starting the warrant component on https://127.0.0.1:${REALDID_WARRANT_PORT:-9443} (logs in $S/log; Ctrl-C to stop)"
  start_services
  # Serve until either process ends (or Ctrl-C); then stop the other one.
  set +e
  wait -n "$auth_pid" "$warrant_pid"
  rc=$?
  set -e
  log "a service exited ($rc); stopping the stack (see $S/log/authority.log, $S/log/warrant.log)"
  exit "$rc"
fi

start_services
"$REALDID_ROOT/scripts/demo.sh"
