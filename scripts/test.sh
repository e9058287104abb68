#!/usr/bin/env bash
# Runs every test of the project on a fresh Debian 12 machine (as root): installs, builds, tests.
#   1. g++ build with warnings as errors: unit and known-answer vector tests
#   2. clang ASan+UBSan build: the whole suite (unit, vectors, integration against a real PostgreSQL
#      and a real SoftHSM2 token, end to end over TLS, interoperability) and the fuzzers, run briefly
#   3. clang ThreadSanitizer build: the tests labelled "concurrency"
#   4. clang-tidy on the project's own sources
#   5. the README's run command with --demo, from an empty state folder, to its end
#   6. the deployment checks (scripts/check-deploy.sh)
# Environment: REALDID_FUZZ_SECONDS (default 10 per target), REALDID_SKIP_TIDY=1, REALDID_SKIP_TSAN=1.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root
cd "$REALDID_ROOT"
start=$(date +%s)
stage() { printf '\n\033[1;35m=== %s (t+%ss)\033[0m\n' "$*" "$(( $(date +%s) - start ))"; }

stage "packages"
scripts/install-deps.sh
ensure_service_user

if [ -f tests/interop/package-lock.json ]; then
  stage "npm ci (independent implementations for the interoperability tests)"
  npm ci --prefix tests/interop --no-audit --no-fund --loglevel=error
fi

export CTEST_OUTPUT_ON_FAILURE=1
ctest_run() {  # ctest_run DIR ARGS...
  local dir="$1"; shift
  ctest --test-dir "$dir" --no-tests=error -j "$(jobs_count)" "$@"
}

stage "g++ -Werror build: unit and vector tests"
scripts/build.sh release
ctest_run build/release -L 'unit|vectors'

stage "clang ASan+UBSan build: the whole suite"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$REALDID_ROOT/tests/lsan.supp:print_suppressions=0"
scripts/build.sh asan
ctest_run build/asan

stage "fuzzers, ${REALDID_FUZZ_SECONDS:-10}s each"
shopt -s nullglob
fuzzers=(build/asan/tests/fuzz/fuzz_*)
[ "${#fuzzers[@]}" -gt 0 ] || die "no fuzzers were built"
for f in "${fuzzers[@]}"; do
  [ -x "$f" ] || continue
  name=$(basename "$f")
  corpus="tests/fuzz/corpus/$name"
  work=$(mktemp -d)
  [ -d "$corpus" ] && cp -r "$corpus"/. "$work"/
  log "fuzzing $name"
  "$f" -max_total_time="${REALDID_FUZZ_SECONDS:-10}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    "$work" 2>"$work.log" || { tail -n 60 "$work.log"; die "fuzzer $name found a failure"; }
  grep -E '^stat::number_of_executed_units' "$work.log" || true
  rm -rf "$work" "$work.log"
done

if [ "${REALDID_SKIP_TSAN:-0}" != 1 ]; then
  stage "clang ThreadSanitizer build: concurrency tests"
  export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$REALDID_ROOT/tests/tsan.supp"
  # Only the test binaries labelled "concurrency" (one ctest entry per binary, named as its target).
  scripts/build.sh tsan --configure
  mapfile -t targets < <(ctest --test-dir build/tsan -N -L concurrency | sed -n 's/^ *Test *#[0-9]*: //p')
  [ "${#targets[@]}" -gt 0 ] || die "no test is labelled concurrency"
  scripts/build.sh tsan "${targets[@]}"
  ctest_run build/tsan -L concurrency
fi

if [ "${REALDID_SKIP_TIDY:-0}" != 1 ]; then
  stage "clang-tidy on the project's own sources"
  mapfile -t sources < <(git ls-files 'core/*.cc' 'hsm/*.cc' 'db/*.cc' 'ctid/*.cc' 'issuance/*.cc' 'authority/*.cc' 'wallet/*.cc' 'tools/*.cc' 'bench/*.cc' 'warrant/*.cc' 'revocation/*.cc' 'privacypass/*.cc')
  printf '%s\n' "${sources[@]}" | xargs -P "$(jobs_count)" -n 4 \
    clang-tidy -p build/asan --quiet --warnings-as-errors='*' 2>/dev/null
  log "clang-tidy: ${#sources[@]} files clean"
fi

stage "the README's run command, --demo, from an empty state folder"
demo_state=$(mktemp -d /var/tmp/realdid-demo.XXXXXX)
chmod 755 "$demo_state"
REALDID_STATE_DIR="$demo_state" REALDID_PUBLIC_PORT=18443 REALDID_METRICS_PORT=19464 REALDID_PG_PORT=55433 \
  REALDID_CTID_PORT=18444 REALDID_ADMIN_PORT=18445 REALDID_WARRANT_PORT=19443 \
  scripts/run.sh --demo
rm -rf "$demo_state"

stage "deploy: systemd units, compose, Kubernetes, Prometheus rules, container rootfs, a real Prometheus scrape"
scripts/check-deploy.sh

stage "all stages passed"
