#!/bin/sh
# Runs one Node interop script: run_interop.sh <script.mjs> [args...].
# Prerequisites: node and tests/interop/node_modules (`npm ci --prefix tests/interop`). When either is
# missing the test is skipped (exit 77, ctest SKIP_RETURN_CODE), except under CI=true, where it fails.
set -eu
dir=$(cd "$(dirname "$0")" && pwd)
script=$1
shift
missing=""
command -v node >/dev/null 2>&1 || missing="node"
[ -d "$dir/node_modules" ] || missing="${missing:+$missing, }node_modules (run: npm ci --prefix tests/interop)"
if [ -n "$missing" ]; then
  echo "interop prerequisites missing: $missing"
  if [ "${CI:-}" = "true" ]; then
    echo "FAIL: CI=true requires the interop prerequisites"
    exit 1
  fi
  echo "SKIP"
  exit 77
fi
exec node "$dir/$script" "$@"
