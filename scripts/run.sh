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
"$REALDID_ROOT/scripts/build.sh" release realdid-authority realdid-ceremony realdid-migrate
"$REALDID_ROOT/scripts/stack.sh" init

S="$REALDID_STATE_DIR"
export SOFTHSM2_CONF="$S/softhsm2.conf"
AUTH_BIN="$REALDID_ROOT/build/release/authority/realdid-authority"

if [ "$demo" -eq 0 ]; then
  log "starting the authority (Ctrl-C to stop)"
  exec runuser -u "$REALDID_USER" -- env SOFTHSM2_CONF="$SOFTHSM2_CONF" "$AUTH_BIN" --config "$S/authority.ini"
fi

runuser -u "$REALDID_USER" -- env SOFTHSM2_CONF="$SOFTHSM2_CONF" "$AUTH_BIN" --config "$S/authority.ini" \
  > "$S/log/authority.log" 2>&1 &
auth_pid=$!
cleanup() {
  kill -TERM "$auth_pid" 2>/dev/null || true
  wait "$auth_pid" 2>/dev/null || true
  "$REALDID_ROOT/scripts/stack.sh" pg-stop || true
}
trap cleanup EXIT
"$REALDID_ROOT/scripts/demo.sh"
