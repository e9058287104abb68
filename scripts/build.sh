#!/usr/bin/env bash
# Configures and builds one of the project's build trees.
#   scripts/build.sh release   g++, RelWithDebInfo, warnings as errors       -> build/release
#   scripts/build.sh asan      clang, ASan+UBSan, libFuzzer targets linked   -> build/asan
#   scripts/build.sh tsan      clang, ThreadSanitizer                        -> build/tsan
# Extra arguments are passed to ninja (e.g. target names); `--configure` only configures.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

preset="${1:-release}"; shift || true
dir="$REALDID_ROOT/build/$preset"
case "$preset" in
  release) args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++ -DREALDID_WERROR=ON) ;;
  asan)    args=(-DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DREALDID_WERROR=ON
                 -DREALDID_SANITIZE=ON -DREALDID_FUZZ=ON) ;;
  tsan)    args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DREALDID_TSAN=ON) ;;
  *) die "unknown preset $preset (release|asan|tsan)" ;;
esac
if [ ! -f "$dir/build.ninja" ]; then
  log "configuring $preset in $dir"
  cmake -S "$REALDID_ROOT" -B "$dir" -G Ninja "${args[@]}" >/dev/null
fi
[ "${1:-}" = "--configure" ] && exit 0
log "building $preset"
ninja -C "$dir" -j "$(jobs_count)" "$@"
