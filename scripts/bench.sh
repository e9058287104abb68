#!/usr/bin/env bash
# The benchmark suite (docs/performance.md explains every figure). Run as root after scripts/run.sh
# has installed everything:   sudo scripts/bench.sh [--quick]
# Each figure is printed as a ratio against a baseline measured in the same run:
#   1. reveal check (K=32, RSA-3072, recorded transcript) vs its crypto floor       (reveal_bench)
#   2. presentation verification/s vs the sum of its primitives                      (verify_bench)
#   3. full issuance over HTTPS + PostgreSQL + ctid-sim, K = 8 16 32 64 at concurrency
#      1..32, CPU per issuance of each process, vs the raw HSM C_Sign rate and CPU    (issuance_bench)
#   4. the RFC 9578 token endpoint (RSA-2048) vs the Go peer (../shared/peers/go-issuer, built in a
#      temp dir) with its `peer load -c 16` over plain HTTP on loopback against both (the authority's
#      BENCHMARK-ONLY [bench] listener), vs SoftHSM2's raw C_Sign CPU              (hsm_sign_bench)
#   5. database growth: 10 million synthetic issuances (REALDID_BENCH_DB_RECORDS; --quick: 200 000),
#      bytes per issuance, insert rates, warrant/revocation lookups vs a PK lookup (db_growth), and
#      one vs two authority processes on one database and token (multi_authority_bench)
# Output: $OUT/bench.json (one JSON object per line), $OUT/issuance.png (curves), $OUT/*.log.
# Environment: REALDID_BENCH_OUT (default /var/tmp/realdid-bench/out), REALDID_BENCH_KS,
# REALDID_BENCH_CONCURRENCY, REALDID_BENCH_COUNT (issuances per run, at least 2 x concurrency),
# REALDID_GO_PEER (path of the go-issuer sources), REALDID_BENCH_TOKEN_SECS / _RUNS / _PORT,
# REALDID_BENCH_BIN (a built tree; skips the build). Uses its own state folder and ports, so it does
# not disturb a stack started by scripts/run.sh.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root

quick=0
parts=all  # --token-only: only part 4 (the token endpoint vs the Go peer)
for a in "$@"; do
  case "$a" in
    --quick) quick=1 ;;
    --token-only) parts=token-only ;;
    *) die "unknown argument $a (usage: scripts/bench.sh [--quick] [--token-only])" ;;
  esac
done

export REALDID_STATE_DIR="${REALDID_BENCH_STATE:-/var/tmp/realdid-bench/state}"
export REALDID_PUBLIC_PORT="${REALDID_BENCH_PUBLIC_PORT:-18443}"
export REALDID_METRICS_PORT="${REALDID_BENCH_METRICS_PORT:-19464}"
export REALDID_CTID_PORT="${REALDID_BENCH_CTID_PORT:-18444}"
export REALDID_PG_PORT="${REALDID_BENCH_PG_PORT:-55442}"
OUT="${REALDID_BENCH_OUT:-/var/tmp/realdid-bench/out}"
if [ "$quick" -eq 1 ]; then
  KS="${REALDID_BENCH_KS:-8 32}"; CONC="${REALDID_BENCH_CONCURRENCY:-1 4}"; COUNT="${REALDID_BENCH_COUNT:-16}"
else
  KS="${REALDID_BENCH_KS:-8 16 32 64}"; CONC="${REALDID_BENCH_CONCURRENCY:-1 2 4 8 16 32}"
  COUNT="${REALDID_BENCH_COUNT:-64}"
fi
GO_PEER="${REALDID_GO_PEER:-$REALDID_ROOT/../shared/peers/go-issuer}"
mkdir -p "$OUT" "$(dirname "$REALDID_STATE_DIR")"
rm -f "$OUT/bench.json"
B="${REALDID_BENCH_BIN:-$REALDID_ROOT/build/release}"  # REALDID_BENCH_BIN: an already built tree

if [ -z "${REALDID_BENCH_BIN:-}" ]; then
  "$REALDID_ROOT/scripts/build.sh" release realdid-authority realdid-ceremony realdid-migrate realdid-admin realdid-auditor realdid-warrant ctid-sim \
    issuance_bench reveal_bench verify_bench db_growth multi_authority_bench hsm_sign_bench
fi
REALDID_BIN="$B" "$REALDID_ROOT/scripts/stack.sh" init
S="$REALDID_STATE_DIR"
export SOFTHSM2_CONF="$S/softhsm2.conf"
TRANSCRIPT="$REALDID_ROOT/docs/examples/issuance-transcript.jsonl"

ctid_pid=""; auth_pid=""; peer_pid=""
cleanup() {
  for p in $auth_pid $peer_pid $ctid_pid; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  "$REALDID_ROOT/scripts/stack.sh" pg-stop || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$parts" = all ]; then
log "1. reveal check vs its floor"
"$B/bench/reveal_bench" --transcript "$TRANSCRIPT" --iterations 20 | tee "$OUT/reveal.log"
"$B/bench/reveal_bench" --transcript "$TRANSCRIPT" --iterations 20 --json \
  | sed 's/^{/{"bench":"reveal",/' >> "$OUT/bench.json"

log "2. presentation verification vs its primitives"
"$B/bench/verify_bench" --iterations 300 --json "$OUT/bench.json" | tee "$OUT/verify.log"

log "3. full issuance (K: $KS; concurrency: $CONC)"
runuser -u "$REALDID_USER" -- "$B/tools/ctid-sim/ctid-sim" --listen "127.0.0.1:$REALDID_CTID_PORT" \
  --cert "$S/pki/ctid-server.pem" --key "$S/pki/ctid-server.key" --client-ca "$S/pki/ca.pem" \
  --seed 1 --population 1000000 > "$OUT/ctid-sim.out" 2> "$OUT/ctid-sim.log" &
ctid_pid=$!
for _ in $(seq 1 100); do  # ctid-sim listening (any TLS answer; connection refused is curl code 7)
  rc=0; curl -sk -o /dev/null "https://127.0.0.1:$REALDID_CTID_PORT/" || rc=$?
  [ "$rc" -ne 7 ] && break
  sleep 0.2
done
pg_pid=$(head -1 "$S/pg/postmaster.pid")
base=$(( $(date +%s) % 100000 * 5 ))  # distinct residents per run and per invocation
for k in $KS; do
  runuser -u "$REALDID_USER" -- env SOFTHSM2_CONF="$SOFTHSM2_CONF" REALDID_ISSUANCE_K="$k" \
    REALDID_ISSUANCE_MIN_K=8 REALDID_LIMITS_ENABLED=false "$B/authority/realdid-authority" --config "$S/authority.ini" \
    > "$OUT/authority-k$k.out" 2> "$OUT/authority-k$k.log" &
  auth_pid=$!
  # Per-source rate limits are off for the benchmark: every wallet comes from 127.0.0.1.
  for _ in $(seq 1 300); do
    curl -sf --cacert "$S/pki/ca.pem" "https://127.0.0.1:$REALDID_PUBLIC_PORT/readyz" >/dev/null && break
    sleep 0.2
  done
  # runuser forks: the authority is its child.
  apid=$(pgrep -P "$auth_pid" -f realdid-authority || echo "$auth_pid")
  for c in $CONC; do
    n=$(( COUNT > 2 * c ? COUNT : 2 * c ))
    "$B/bench/issuance_bench" --authority "https://127.0.0.1:$REALDID_PUBLIC_PORT" --ca "$S/pki/ca.pem" \
      --ctid "https://127.0.0.1:$REALDID_CTID_PORT" --ctid-ca "$S/pki/ca.pem" \
      --concurrency "$c" --count "$n" --k "$k" --resident-base "$base" \
      --authority-pid "$apid" --ctid-pid "$(pgrep -P "$ctid_pid" -f ctid-sim || echo "$ctid_pid")" \
      --postgres-pid "$pg_pid" \
      --hsm-module /usr/lib/softhsm/libsofthsm2.so --hsm-token realdid-issuance \
      --hsm-pin-file "$S/secrets/realdid-issuance.pin" --keys-manifest "$S/keys/keys.json" \
      --hsm-signs $(( 40 * c > 200 ? 40 * c : 200 )) --transcript "$TRANSCRIPT" \
      --json "$OUT/bench.json" | tee -a "$OUT/issuance.log" || true
    base=$(( base + n ))
  done
  kill -TERM "$auth_pid" 2>/dev/null || true; wait "$auth_pid" 2>/dev/null || true; auth_pid=""
done
fi

log "4. RFC 9578 token endpoint vs the Go peer (same transport: plain HTTP on loopback, c=16)"
# The Go peer (../shared/peers/go-issuer, Go 1.19 + circl) is built in a temp dir outside the
# checkout (its README's way); the authority serves the same route on its BENCHMARK-ONLY plain-HTTP
# loopback listener ([bench] plain_http_port: no attestation, no quota; authority/bench_listener.h).
# Baseline in the same run: SoftHSM2's raw C_Sign (CKM_RSA_X_509, the RSA-2048 privacypass key).
token_secs="${REALDID_BENCH_TOKEN_SECS:-$([ "$quick" -eq 1 ] && echo 5 || echo 10)}"
token_runs="${REALDID_BENCH_TOKEN_RUNS:-$([ "$quick" -eq 1 ] && echo 1 || echo 3)}"
bench_port="${REALDID_BENCH_TOKEN_PORT:-18092}"; go_port="${REALDID_BENCH_GO_PORT:-18091}"
if command -v go >/dev/null 2>&1 && [ -d "$GO_PEER" ] && [ -d /usr/share/gocode/src/github.com/cloudflare/circl ]; then
  peer_dir=$(mktemp -d /tmp/go-issuer.XXXXXX)
  cp -r "$GO_PEER"/. "$peer_dir"/   # built outside the checkout; never part of the project
  (cd "$peer_dir" && GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$peer_dir/.cache" go build -o peer .)
  runuser -u "$REALDID_USER" -- env SOFTHSM2_CONF="$SOFTHSM2_CONF" REALDID_LIMITS_ENABLED=false \
    REALDID_BENCH_PLAIN_HTTP_PORT="$bench_port" REALDID_BENCH_PLAIN_HTTP_ADDRESS=127.0.0.1 \
    "$B/authority/realdid-authority" --config "$S/authority.ini" \
    > "$OUT/authority-token.out" 2> "$OUT/authority-token.log" &
  auth_pid=$!
  "$peer_dir/peer" serve -addr 127.0.0.1:$go_port > "$OUT/go-peer.log" 2>&1 &
  peer_pid=$!
  for _ in $(seq 1 300); do
    curl -sf -o /dev/null "http://127.0.0.1:$bench_port/.well-known/private-token-issuer-directory" \
      && curl -sf -o /dev/null "http://127.0.0.1:$go_port/.well-known/private-token-issuer-directory" && break
    sleep 0.2
  done
  apid=$(pgrep -P "$auth_pid" -f realdid-authority || echo "$auth_pid")
  : > "$OUT/token.dat"; rm -f "$OUT/hsm_sign.json"
  for run in $(seq 1 "$token_runs"); do
    log "token run $run/$token_runs (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
    "$B/bench/hsm_sign_bench" --module /usr/lib/softhsm/libsofthsm2.so --token realdid-issuance \
      --pin-file "$S/secrets/realdid-issuance.pin" --keys-manifest "$S/keys/keys.json" \
      --role privacypass --threads 2 --signs "$([ "$quick" -eq 1 ] && echo 1500 || echo 4000)" \
      --json "$OUT/hsm_sign.json" | tee -a "$OUT/token.log" || true
    "$peer_dir/peer" load -url http://127.0.0.1:$go_port -c 16 -secs "$token_secs" -pid "$peer_pid" \
      | tee -a "$OUT/token.log" | tail -1 > "$OUT/go-peer-load.json" || true
    "$peer_dir/peer" load -url "http://127.0.0.1:$bench_port" -c 16 -secs "$token_secs" -pid "$apid" \
      | tee -a "$OUT/token.log" | tail -1 > "$OUT/authority-token-load.json" || true
    jq -c -n --slurpfile go "$OUT/go-peer-load.json" --slurpfile au "$OUT/authority-token-load.json" \
      --argjson hsm "$(tail -1 "$OUT/hsm_sign.json")" --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" '
      ($go[0]) as $g | ($au[0]) as $a |
      {bench:"token", run:'"$run"', concurrency:16, load_average:$load,
       go_req_per_s:$g.req_per_s, go_p50_ms:$g.p50_ms, go_p99_ms:$g.p99_ms,
       go_cpu_ms_per_req:$g.server_cpu_ms_per_req, go_errors:$g.errors,
       authority_req_per_s:$a.req_per_s, authority_p50_ms:$a.p50_ms, authority_p99_ms:$a.p99_ms,
       authority_cpu_ms_per_token:$a.server_cpu_ms_per_req, authority_errors:$a.errors,
       hsm_cpu_ms_per_sign:$hsm.cpu_ms_per_sign, hsm_signs_per_s:$hsm.signs_per_s,
       throughput_vs_go:($a.req_per_s / $g.req_per_s),
       efficiency:($hsm.cpu_ms_per_sign / $a.server_cpu_ms_per_req)}' | tee -a "$OUT/token.dat" >> "$OUT/bench.json" \
      || log "token run $run: a measurement failed (see $OUT/token.log)"
  done
  jq -r '"token endpoint run \(.run) (load \(.load_average)): authority \(.authority_req_per_s|floor) req/s p50 \(.authority_p50_ms) ms p99 \(.authority_p99_ms) ms CPU/token \(.authority_cpu_ms_per_token*1000|floor/1000) ms (errors \(.authority_errors)) | Go peer \(.go_req_per_s|floor) req/s p50 \(.go_p50_ms) ms p99 \(.go_p99_ms) ms CPU/req \(.go_cpu_ms_per_req*1000|floor/1000) ms | HSM C_Sign \(.hsm_cpu_ms_per_sign*1000|floor/1000) ms CPU, \(.hsm_signs_per_s|floor)/s\n  throughput vs Go peer \(.throughput_vs_go*100|floor/100)x (target >= 1.8) | p99 \(.authority_p99_ms) ms (target <= 10) | efficiency \(.efficiency*100|floor/100) (target >= 0.85)"' \
    "$OUT/token.dat" | tee "$OUT/token-summary.log"
  kill -TERM "$peer_pid" 2>/dev/null || true; wait "$peer_pid" 2>/dev/null || true; peer_pid=""
  kill -TERM "$auth_pid" 2>/dev/null || true; wait "$auth_pid" 2>/dev/null || true; auth_pid=""
  rm -rf "$peer_dir"
else
  log "token endpoint: Go or circl missing (apt-get install -y golang-go golang-github-cloudflare-circl-dev); skipped"
fi
[ "$parts" = token-only ] && { log "figures: $OUT/bench.json"; exit 0; }

log "5. database growth (REALDID_BENCH_DB_RECORDS) and two authority processes (docs/scale.md)"
db_records="${REALDID_BENCH_DB_RECORDS:-$([ "$quick" -eq 1 ] && echo 200000 || echo 10000000)}"
rm -f "$OUT/db_growth.json" "$OUT/multi_authority.json"
"$B/bench/db_growth" --records "$db_records" --json "$OUT/db_growth.json" | tee "$OUT/db_growth.log" || true
[ -s "$OUT/db_growth.json" ] && sed 's/^{/{"bench":"db_growth",/' "$OUT/db_growth.json" >> "$OUT/bench.json"
"$B/bench/multi_authority_bench" --concurrency 4 --count "$([ "$quick" -eq 1 ] && echo 16 || echo 40)" \
  --json "$OUT/multi_authority.json" | tee "$OUT/multi_authority.log" || true
[ -s "$OUT/multi_authority.json" ] && sed 's/^{/{"bench":"multi_authority",/' "$OUT/multi_authority.json" >> "$OUT/bench.json"

log "curves"
if command -v gnuplot >/dev/null 2>&1 && command -v jq >/dev/null 2>&1; then
  for k in $KS; do
    jq -r "select(.bench==\"issuance\" and .k==$k) | \"\(.concurrency) \(.issuances_per_s) \(.p50_ms) \(.p99_ms)\"" \
      "$OUT/bench.json" > "$OUT/issuance-k$k.dat"
  done
  {
    echo "set terminal png size 1200,500; set output '$OUT/issuance.png'"
    echo "set multiplot layout 1,2; set logscale x 2; set xlabel 'concurrency'; set key top left"
    printf "set title 'issuances/s (RSA-3072, HTTPS, PostgreSQL)'; plot "
    for k in $KS; do printf "'%s' using 1:2 with linespoints title 'K=%s', " "$OUT/issuance-k$k.dat" "$k"; done
    echo ""
    printf "set title 'latency p99 (ms)'; set logscale y; plot "
    for k in $KS; do printf "'%s' using 1:4 with linespoints title 'K=%s p99', " "$OUT/issuance-k$k.dat" "$k"; done
    echo ""
    echo "unset multiplot"
  } | sed 's/, $//' > "$OUT/issuance.gp"
  gnuplot "$OUT/issuance.gp" && log "curves: $OUT/issuance.png"
else
  log "gnuplot or jq missing: no image (scripts/install-deps.sh installs them)"
fi
log "figures: $OUT/bench.json"
