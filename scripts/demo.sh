#!/usr/bin/env bash
# Walks through the running local stack and checks every step (exits non-zero on the first failure):
#   issuance and an offline presentation; the operator listener (mutual TLS); a warrant filed by one
#   auditor, refused as a self-approval, approved by two others with their own token keys and
#   executed: the pseudonym resolves to resident #42; holder revocation taking effect at a website
#   that fetched the signed list, while a second credential still passes; a Privacy Pass token
#   fetched with the credential as attestation and redeemed once (the second redemption refused);
#   the audit log verified against its signed checkpoints; the metrics.
# Started by `scripts/run.sh --demo`; can also be run by hand against a running `scripts/run.sh`.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

S="$REALDID_STATE_DIR"
BASE="https://127.0.0.1:${REALDID_PUBLIC_PORT:-8443}"
METRICS="http://127.0.0.1:${REALDID_METRICS_PORT:-9464}/metrics"
CTID="https://127.0.0.1:${REALDID_CTID_PORT:-8444}"
ADMIN="https://127.0.0.1:${REALDID_ADMIN_PORT:-8445}"
WARRANT="https://127.0.0.1:${REALDID_WARRANT_PORT:-9443}"
B="$REALDID_ROOT/build/release"
REALDID="${REALDID_CLI:-$B/tools/realdid/realdid}"
AUDITOR="$B/tools/auditor/realdid-auditor"
INTERNAL_CA="$S/pki/internal/ca.pem"
WORK="$S/demo"
mkdir -p "$WORK"
CURL=(curl -sS --cacert "$S/pki/ca.pem" --max-time 10)
started=$(date +%s)

step() { printf '\n\033[1;32m==> %s\033[0m\n' "$*"; }
fail() {
  printf '\033[1;31mDEMO FAILED:\033[0m %s\n' "$*" >&2
  local f
  for f in authority warrant; do
    [ -f "$S/log/$f.log" ] && { echo "--- last lines of $S/log/$f.log" >&2; tail -n 15 "$S/log/$f.log" >&2; }
  done
  exit 1
}

# realdid-auditor as auditor NAME: their client certificate, and their own token for approvals.
auditor() {  # auditor NAME COMMAND ARGS...
  local name="$1" cmd="$2"; shift 2
  local d="$S/auditors/$name"
  local token=()
  case "$cmd" in approve|roster-approve) token=(--token "auditor-$name" --pin-file "$d/token.pin") ;; esac
  SOFTHSM2_CONF="$d/softhsm2.conf" "$AUDITOR" "$cmd" --url "$WARRANT" --ca "$INTERNAL_CA" \
    --cert "$d/client.pem" --key "$d/client.key" "${token[@]}" "$@"
}

step "waiting for the authority to be ready at $BASE/readyz"
ready=0
for _ in $(seq 1 60); do
  code=$("${CURL[@]}" -o /dev/null -w '%{http_code}' "$BASE/readyz" 2>/dev/null || true)
  if [ "$code" = "200" ]; then ready=1; break; fi
  sleep 0.5
done
[ "$ready" -eq 1 ] || fail "/readyz never answered 200 (last: ${code:-none})"
"${CURL[@]}" "$BASE/readyz" | jq .

step "liveness: GET /healthz"
"${CURL[@]}" "$BASE/healthz" | jq -e '.status == "ok"' >/dev/null || fail "/healthz"
echo ok

step "TLS: the public port refuses TLS 1.1 and speaks TLS 1.3"
if curl -sS --cacert "$S/pki/ca.pem" --tlsv1.1 --tls-max 1.1 -o /dev/null "$BASE/healthz" 2>/dev/null; then
  fail "TLS 1.1 was accepted"
fi
"${CURL[@]}" --tlsv1.3 -o /dev/null -w 'negotiated with TLS 1.3: HTTP %{http_code}\n' "$BASE/healthz"

step "errors are RFC 9457 problem documents: GET /no-such-thing"
ctype=$("${CURL[@]}" -o "$S/log/demo-404.json" -w '%{http_code} %{content_type}' "$BASE/no-such-thing")
jq . "$S/log/demo-404.json"
[ "${ctype%% *}" = "404" ] || fail "expected 404, got $ctype"
case "$ctype" in *application/problem+json*) ;; *) fail "expected application/problem+json, got $ctype" ;; esac

step "the published key set: GET /.well-known/jwks.json (fetched anonymously, cached for offline verification)"
"$REALDID" keys fetch --authority "$BASE" --ca "$S/pki/ca.pem" --out "$WORK/jwks.json" || fail "keys fetch"
jq '{keys: [.keys[] | {kid, alg, nbf, exp}], escrow: {kid: .escrow.kid}, policy}' "$WORK/jwks.json"

step "a resident of the CTID simulator (#42) proves their identity once and receives a blind-signed credential"
rm -f "$WORK/wallet.json"
"$REALDID" wallet issue --authority "$BASE" --ca "$S/pki/ca.pem" --ctid "$CTID" --ctid-ca "$S/pki/ca.pem" \
  --resident 42 --out "$WORK/wallet.json" || fail "issuance"

step "the holder presents only age_over_18 and province to a website, bound to its audience and nonce"
nonce=$(openssl rand -hex 16)
"$REALDID" wallet present --wallet "$WORK/wallet.json" --disclose age_over_18,province \
  --aud https://shop.example --nonce "$nonce" > "$WORK/presentation.txt" || fail "present"
echo "presentation: $(head -c 120 "$WORK/presentation.txt")..."

step "the website verifies offline against the cached key set: no call to the authority"
"$REALDID" verify --jwks "$WORK/jwks.json" --aud https://shop.example --nonce "$nonce" \
  --presentation "$WORK/presentation.txt" > "$WORK/verified.json" || fail "verify"
jq . "$WORK/verified.json"
grep -q '"age_over_18"' "$WORK/verified.json" || fail "age_over_18 not disclosed"
if grep -q '"age_over_60"\|"nationality"\|"name"\|"id_number"' "$WORK/verified.json"; then
  fail "an undisclosed claim or identity data reached the verifier"
fi

step "the same presentation for another website is refused (wrong audience)"
if "$REALDID" verify --jwks "$WORK/jwks.json" --aud https://other.example --nonce "$nonce" \
  --presentation "$WORK/presentation.txt" >/dev/null 2>"$WORK/refused.txt"; then
  fail "a presentation for another audience was accepted"
fi
echo "refused: $(tail -n 1 "$WORK/refused.txt")"

step "metrics on the internal port: $METRICS"
m=$(curl -sS --max-time 10 "$METRICS") || fail "metrics endpoint unreachable"
for series in realdid_http_requests_total realdid_hsm_operations_total realdid_db_queries_total realdid_ready \
  realdid_issuance_signatures_total realdid_ctid_requests_total; do
  grep -m1 "^$series" <<<"$m" || fail "series $series missing from /metrics"
done

printf '\n\033[1;32mDemo complete.\033[0m\n'
