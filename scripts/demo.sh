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
ICURL=(curl -sS --cacert "$INTERNAL_CA" --max-time 10)   # the mutual-TLS listeners
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

step "waiting for the warrant component at $WARRANT/readyz (mutual TLS: auditor alice's certificate)"
ready=0
for _ in $(seq 1 60); do
  code=$("${ICURL[@]}" --cert "$S/auditors/alice/client.pem" \
    --key "$S/auditors/alice/client.key" -o /dev/null -w '%{http_code}' "$WARRANT/readyz" 2>/dev/null || true)
  if [ "$code" = "200" ]; then ready=1; break; fi
  sleep 0.5
done
[ "$ready" -eq 1 ] || fail "the warrant component's /readyz never answered 200 (last: ${code:-none})"
echo ready

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

step "the operator listener ($ADMIN): mutual TLS against the internal CA, role from the principals table"
code=$("${ICURL[@]}" -o "$WORK/admin-anon.json" -w '%{http_code}' "$ADMIN/v1/admin/status" || true)
[ "$code" = "401" ] || fail "the operator listener answered $code without a client certificate (want 401)"
echo "without a client certificate: $code $(jq -r .title "$WORK/admin-anon.json" 2>/dev/null)"
"${ICURL[@]}" -f --cert "$S/operators/ops/client.pem" --key "$S/operators/ops/client.key" \
  -o "$WORK/admin-status.json" "$ADMIN/v1/admin/status" || fail "operator status"
jq -e 'type == "object"' "$WORK/admin-status.json" >/dev/null || fail "operator status is not JSON"
echo "operator 'ops': $(jq -c . "$WORK/admin-status.json" | head -c 300)"

step "the warrant component ($WARRANT): its own process and mutual-TLS listener; the roster of auditors"
code=$("${ICURL[@]}" -o /dev/null -w '%{http_code}' "$WARRANT/v1/roster" || true)
[ "$code" = "401" ] || fail "the warrant listener answered $code without a client certificate (want 401)"
echo "without a client certificate: $code"
auditor alice roster > "$WORK/roster.json" || fail "roster"
jq -c '[.auditors[]? // .[]? | {id, label}]' "$WORK/roster.json" 2>/dev/null || jq -c . "$WORK/roster.json"
for a in alice bob carol; do grep -q "\"$a\"" "$WORK/roster.json" || fail "auditor $a is not on the roster"; done

step "a court order names the presentation the website kept: auditor alice files a credential-scoped warrant"
auditor alice file --legal-basis "Criminal Procedure Law art. 152 (demo)" --case "DEMO-$(date +%s)" \
  --credential-file "$WORK/presentation.txt" --expires-in 3600 > "$WORK/warrant-filed.json" \
  || fail "filing the warrant"
wid=$(jq -er .id "$WORK/warrant-filed.json") || fail "no warrant id in $(cat "$WORK/warrant-filed.json")"
jq '{id, state, content_hash, content: (.content | fromjson? // .)}' "$WORK/warrant-filed.json"

step "alice cannot approve her own warrant (dual control)"
if auditor alice approve "$wid" >/dev/null 2>"$WORK/self-approval.txt"; then
  fail "a self-approval was accepted"
fi
grep -q "self-approval" "$WORK/self-approval.txt" || fail "self-approval refused for another reason: $(tail -n 1 "$WORK/self-approval.txt")"
echo "refused: $(tail -n 1 "$WORK/self-approval.txt")"

step "bob and carol approve, each signing the warrant's content hash with the key in their own token"
for a in bob carol; do
  auditor "$a" approve "$wid" > "$WORK/approval-$a.json" 2>"$WORK/approval-$a.err" \
    || fail "$a's approval: $(tail -n 1 "$WORK/approval-$a.err")"
  echo "$a approved"
done
auditor alice show "$wid" > "$WORK/warrant-approved.json" || fail "show warrant"
jq -c '{id, state, approvals_valid}' "$WORK/warrant-approved.json"
[ "$(jq -r .state "$WORK/warrant-approved.json")" = approved ] || fail "the warrant is not approved"
[ "$(jq -r .approvals_valid "$WORK/warrant-approved.json")" = 2 ] || fail "want 2 valid approvals"

step "alice executes the warrant: the warrant component opens the escrow and resolves the pseudonym"
auditor alice execute "$wid" --credential-file "$WORK/presentation.txt" > "$WORK/warrant-executed.json" \
  2>"$WORK/warrant-executed.err" || fail "execution: $(tail -n 1 "$WORK/warrant-executed.err")"
jq . "$WORK/warrant-executed.json"
[ "$(jq -r .outcome "$WORK/warrant-executed.json")" = resolved ] || fail "the outcome is not 'resolved'"
# The demo's own synthetic resident, as ctid-sim's population holds them.
"${CURL[@]}" "$CTID/v1/residents/42" > "$WORK/resident-42.json" || fail "ctid-sim resident #42"
want_name=$(jq -r .name "$WORK/resident-42.json"); want_id=$(jq -r .id_number "$WORK/resident-42.json")
[ "$(jq -r .identity.name "$WORK/warrant-executed.json")" = "$want_name" ] || fail "resolved to another name"
[ "$(jq -r .identity.id_number "$WORK/warrant-executed.json")" = "$want_id" ] || fail "resolved to another ID number"
echo "the pseudonymous presentation resolves to resident #42 of ctid-sim's synthetic population: $want_name, $want_id"

step "execution is single use: a second execution is refused"
if auditor alice execute "$wid" --credential-file "$WORK/presentation.txt" >/dev/null 2>"$WORK/second-exec.txt"; then
  fail "a warrant was executed twice"
fi
echo "refused: $(tail -n 1 "$WORK/second-exec.txt")"

step "the name and ID number appear in no log line of the authority or the warrant component"
for f in authority warrant; do
  if grep -qF -e "$want_id" -e "$want_name" "$S/log/$f.log"; then fail "identity data in $S/log/$f.log"; fi
done
echo "checked $S/log/authority.log and $S/log/warrant.log"

step "the same resident obtains a second credential (a new pseudonym, unlinkable to the first)"
rm -f "$WORK/wallet2.json"
"$REALDID" wallet issue --authority "$BASE" --ca "$S/pki/ca.pem" --ctid "$CTID" --ctid-ca "$S/pki/ca.pem" \
  --resident 42 --out "$WORK/wallet2.json" || fail "second issuance"

step "the holder revokes the first credential (proof of possession of its holder key)"
"$REALDID" wallet revoke --wallet "$WORK/wallet.json" --authority "$BASE" --ca "$S/pki/ca.pem" \
  > "$WORK/revoked.json" || fail "holder revocation"
jq -c . "$WORK/revoked.json"
[ "$(jq -r .newly_revoked "$WORK/revoked.json")" = true ] || fail "the credential was not newly revoked"

step "the website fetches the signed revocation lists (one per signing key; no per-login call)"
"$REALDID" revocation fetch --authority "$BASE" --ca "$S/pki/ca.pem" --jwks "$WORK/jwks.json" \
  --cache "$WORK/revocation-cache" > "$WORK/revocation-fetch.json" || fail "revocation fetch"
cat "$WORK/revocation-fetch.json"

step "the website refuses a fresh presentation of the revoked credential"
nonce=$(openssl rand -hex 16)
"$REALDID" wallet present --wallet "$WORK/wallet.json" --disclose age_over_18 --aud https://shop.example \
  --nonce "$nonce" > "$WORK/presentation-revoked.txt" || fail "present (revoked)"
if "$REALDID" verify --jwks "$WORK/jwks.json" --aud https://shop.example --nonce "$nonce" \
  --presentation "$WORK/presentation-revoked.txt" --revocation-cache "$WORK/revocation-cache" \
  >/dev/null 2>"$WORK/refused-revoked.txt"; then
  fail "a revoked credential was accepted"
fi
grep -q "revoked" "$WORK/refused-revoked.txt" || fail "refused for another reason: $(tail -n 1 "$WORK/refused-revoked.txt")"
echo "refused: $(tail -n 1 "$WORK/refused-revoked.txt")"

step "the second, unrevoked credential still passes"
nonce=$(openssl rand -hex 16)
"$REALDID" wallet present --wallet "$WORK/wallet2.json" --disclose age_over_18 --aud https://shop.example \
  --nonce "$nonce" > "$WORK/presentation2.txt" || fail "present (second credential)"
"$REALDID" verify --jwks "$WORK/jwks.json" --aud https://shop.example --nonce "$nonce" \
  --presentation "$WORK/presentation2.txt" --revocation-cache "$WORK/revocation-cache" \
  > "$WORK/verified2.json" || fail "the unrevoked credential was refused"
jq -c . "$WORK/verified2.json"

step "Privacy Pass: a website that only needs 'a verified resident' challenges with a token request"
issuer_name="${BASE#https://}"
challenge=$("$REALDID" token challenge --issuer-name "$issuer_name" --origin shop.example) || fail "token challenge"
echo "WWW-Authenticate: PrivateToken challenge=$challenge"
"$REALDID" token directory --authority "$BASE" --ca "$S/pki/ca.pem" --out "$WORK/token-directory.json" \
  || fail "token directory"

step "the revoked credential cannot attest for a token"
if "$REALDID" token fetch --wallet "$WORK/wallet.json" --authority "$BASE" --ca "$S/pki/ca.pem" \
  --challenge "$challenge" >/dev/null 2>"$WORK/token-revoked.txt"; then
  fail "a revoked credential obtained a token"
fi
echo "refused: $(tail -n 1 "$WORK/token-revoked.txt")"

step "the wallet fetches a token, attested by the unrevoked credential (blind-signed: the authority cannot link it)"
"$REALDID" token fetch --wallet "$WORK/wallet2.json" --authority "$BASE" --ca "$S/pki/ca.pem" \
  --challenge "$challenge" --out "$WORK/token.txt" || fail "token fetch"
echo "Authorization: PrivateToken token=$(head -c 60 "$WORK/token.txt")..."

step "the website redeems it offline against the issuer's public key: valid once"
rm -f "$WORK/seen-tokens"
"$REALDID" token redeem --directory "$WORK/token-directory.json" --token-file "$WORK/token.txt" \
  --challenge "$challenge" --seen "$WORK/seen-tokens" > "$WORK/redeemed.json" || fail "token redemption"
jq -c . "$WORK/redeemed.json"
jq -e '.valid == true and .challenge_checked == true and .double_spend_checked == true' "$WORK/redeemed.json" \
  >/dev/null || fail "redemption did not check everything"

step "the same token redeemed again is refused (double spend)"
if "$REALDID" token redeem --directory "$WORK/token-directory.json" --token-file "$WORK/token.txt" \
  --challenge "$challenge" --seen "$WORK/seen-tokens" >/dev/null 2>"$WORK/double-spend.txt"; then
  fail "a token was redeemed twice"
fi
echo "refused: $(tail -n 1 "$WORK/double-spend.txt")"

step "the audit log: hash chain and HSM-signed checkpoints verified; a witness records the newest checkpoint"
# The authority signs a checkpoint every few rows or seconds ([audit]); wait until this run's rows are
# covered, then check (the witness file persists across runs: the log must only ever grow).
audit_ok=0
for _ in $(seq 1 40); do
  if "$REALDID" audit verify --dsn-file "$S/secrets/dsn-realdid_warrant" --keys "$S/keys/keys.json" \
       > "$WORK/audit.json" 2>"$WORK/audit.err" \
     && [ "$(jq -r .unsigned_rows "$WORK/audit.json")" = 0 ]; then
    audit_ok=1; break
  fi
  jq -e '.ok == false' "$WORK/audit.json" >/dev/null 2>&1 && break
  sleep 1
done
[ "$audit_ok" -eq 1 ] || { cat "$WORK/audit.json" "$WORK/audit.err" >&2; fail "audit verify"; }
"$REALDID" audit verify --dsn-file "$S/secrets/dsn-realdid_warrant" --keys "$S/keys/keys.json" \
  --witness "$WORK/audit-witness.json" > "$WORK/audit.json" || { cat "$WORK/audit.json" >&2; fail "audit verify --witness"; }
jq -c . "$WORK/audit.json"
jq -e '.ok == true' "$WORK/audit.json" >/dev/null || fail "the audit log does not verify"

step "metrics on the internal port: $METRICS"
m=$(curl -sS --max-time 10 "$METRICS") || fail "metrics endpoint unreachable"
for series in realdid_http_requests_total realdid_hsm_operations_total realdid_db_queries_total realdid_ready \
  realdid_issuance_signatures_total realdid_ctid_requests_total; do
  grep -m1 "^$series" <<<"$m" || fail "series $series missing from /metrics"
done

printf '\n\033[1;32mDemo complete\033[0m (%ss).\n' "$(( $(date +%s) - started ))"
