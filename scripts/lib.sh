# Shared helpers for the project's scripts. Source it; do not run it.
# shellcheck shell=bash

REALDID_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REALDID_STATE_DIR="${REALDID_STATE_DIR:-$REALDID_ROOT/.state}"
# The unprivileged account that owns the local PostgreSQL cluster (PostgreSQL refuses root).
REALDID_USER="${REALDID_USER:-realdid}"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"

log() { printf '\033[1;34m[realdid]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[realdid] error:\033[0m %s\n' "$*" >&2; exit 1; }

require_root() {
  [ "$(id -u)" -eq 0 ] || die "run this as root (it installs packages and creates an unprivileged service user)"
}

ensure_service_user() {
  if ! id -u "$REALDID_USER" >/dev/null 2>&1; then
    log "creating unprivileged user $REALDID_USER"
    useradd --system --user-group --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin "$REALDID_USER"
  fi
}

as_service_user() { runuser -u "$REALDID_USER" -- "$@"; }

# Every directory from / to $1 must be traversable by the service user.
check_traversable() {
  local d="$1"
  as_service_user test -x "$d" || die "$d is not reachable by user $REALDID_USER; set REALDID_STATE_DIR to a folder it can reach (e.g. /var/tmp/realdid)"
}

jobs_count() { echo "${REALDID_JOBS:-$(nproc)}"; }
