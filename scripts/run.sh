#!/usr/bin/env bash
# Brings up the whole stack locally and runs the authority in the foreground (Ctrl-C stops it).
#   sudo scripts/run.sh          install, build, create state (reused when present), serve
#   sudo scripts/run.sh --demo   the same, then walk through the demo against it and exit
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
"$REALDID_ROOT/scripts/build.sh" release realdid-authority realdid-ceremony realdid-migrate ctid-sim realdid
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
cleanup() {
  [ -n "$auth_pid" ] && { kill -TERM "$auth_pid" 2>/dev/null || true; wait "$auth_pid" 2>/dev/null || true; }
  kill -TERM "$ctid_pid" 2>/dev/null || true
  wait "$ctid_pid" 2>/dev/null || true
  "$REALDID_ROOT/scripts/stack.sh" pg-stop || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$demo" -eq 0 ]; then
  log "starting the authority (Ctrl-C to stop)"
  runuser -u "$REALDID_USER" -- env SOFTHSM2_CONF="$SOFTHSM2_CONF" "$B/authority/realdid-authority" \
    --config "$S/authority.ini" &
  auth_pid=$!
  wait "$auth_pid"
  exit $?
fi

runuser -u "$REALDID_USER" -- env SOFTHSM2_CONF="$SOFTHSM2_CONF" "$B/authority/realdid-authority" \
  --config "$S/authority.ini" > "$S/log/authority.out" 2> "$S/log/authority.log" &
auth_pid=$!
"$REALDID_ROOT/scripts/demo.sh"
