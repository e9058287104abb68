#!/usr/bin/env bash
# Checks everything under deploy/ (one stage of scripts/test.sh; as root, after the release build):
#   1. systemd units and timers: systemd-analyze verify (any warning fails) in a temporary root, the
#      offline exposure score of each service against its threshold, sysusers.d/tmpfiles.d applied
#      to that root
#   2. YAML: yamllint over deploy/
#   3. compose: make-secrets.sh into a temporary folder, then deploy/tools/check_compose.py (and a
#      broken copy must fail)
#   4. Kubernetes: deploy/tools/check_k8s.py (and broken copies must fail); the authority.ini and
#      warrant.ini of compose and of the ConfigMaps use only keys the service knows
#      (authority/config.cc, warrant/config.cc)
#   5. Prometheus: promtool check rules / check config / test rules; the Grafana dashboard is JSON;
#      docs/metrics.md names every series the code registers and every series the rules and the
#      dashboard use
#   6. container root filesystem: deploy/container/build-rootfs.sh (mmdebstrap from Debian's
#      packages, then the binaries run inside it as uid 10001)
#   7. a real Prometheus (Debian's package) on loopback scrapes a running authority; the query API
#      must return realdid_ready == 1, realdid_http_requests_total, realdid_hsm_operations_total,
#      realdid_db_queries_total, up == 1, the alert rules loaded and no alert firing
#
# Environment:
#   REALDID_BIN             build tree with the binaries (default build/release)
#   REALDID_DEPLOY_ROOTFS   full (default) | simulate (only resolve the package set) | skip
#   METRICS_URL             scrape this running authority (e.g. http://127.0.0.1:9464/metrics)
#                           instead of starting one; PUBLIC_URL and CA_FILE (optional) let the
#                           check send /healthz and /readyz requests to it first
#   Without METRICS_URL the check brings up its own stack (scripts/stack.sh init in a temporary
#   state folder on free ports), runs the authority and stops everything afterwards.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root
cd "$REALDID_ROOT"

BIN="${REALDID_BIN:-$REALDID_ROOT/build/release}"
ROOTFS_MODE="${REALDID_DEPLOY_ROOTFS:-full}"
# Offline exposure scores (x10) measured on systemd 252; a unit scoring worse fails the check.
declare -A SECURITY_THRESHOLD=(
  [realdid-authority.service]=11
  [realdid-warrant.service]=11
  [ctid-sim.service]=11
  [realdid-ceremony.service]=2
  [realdid-retention.service]=9
)

work=$(mktemp -d /var/tmp/realdid-check-deploy.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -n "${stack_state:-}" ]; then
    REALDID_STATE_DIR="$stack_state" REALDID_PG_PORT="$pg_port" "$REALDID_ROOT/scripts/stack.sh" pg-stop || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

t_all=$(date +%s)
timings=()
t0=0
begin() { t0=$(date +%s); printf '\n\033[1;36m--- check-deploy: %s\033[0m\n' "$1" >&2; current="$1"; }
end() { local s=$(( $(date +%s) - t0 )); timings+=("$(printf '%4ss  %s' "$s" "$current")"); log "$current: ok (${s}s)"; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

for tool in systemd-analyze systemd-sysusers systemd-tmpfiles yamllint promtool prometheus jq python3 mmdebstrap; do
  command -v "$tool" >/dev/null || die "$tool is missing (scripts/install-deps.sh installs it)"
done
python3 -c 'import yaml' 2>/dev/null || die "python3-yaml is missing"

# ---------------------------------------------------------------------------------------------
begin "systemd units: verify, exposure scores, sysusers/tmpfiles"
R="$work/root"
mkdir -p "$R/etc/systemd/system" "$R/usr/lib/systemd" "$R/usr/lib/realdid" "$R/etc/realdid"
# systemd's own units (targets the services order against), then ours, and stub executables at
# the ExecStart paths (verify checks that they exist and are executable).
cp -a /lib/systemd/system "$R/usr/lib/systemd/"
cp deploy/systemd/*.service deploy/systemd/*.timer "$R/etc/systemd/system/"
mkdir -p "$R/bin" "$R/usr/bin"
for b in usr/lib/realdid/realdid-authority usr/lib/realdid/realdid-ceremony usr/lib/realdid/realdid-warrant \
         usr/lib/realdid/ctid-sim usr/lib/realdid/realdid-admin; do
  printf '#!/bin/sh\nexit 0\n' > "$R/$b"; chmod 755 "$R/$b"
done
units=() timers=()
for u in deploy/systemd/*.service; do units+=("$(basename "$u")"); done
for u in deploy/systemd/*.timer; do timers+=("$(basename "$u")"); done
[ "${#units[@]}" -eq "${#SECURITY_THRESHOLD[@]}" ] || die "every unit needs a threshold in SECURITY_THRESHOLD"
for t in "${timers[@]}"; do
  [ -e "deploy/systemd/${t%.timer}.service" ] || die "$t has no service of the same name"
done
out=$( cd "$R/etc/systemd/system" && systemd-analyze verify --root="$R" "${units[@]}" "${timers[@]}" 2>&1 ) ||
  { echo "$out"; die "systemd-analyze verify failed"; }
[ -z "$out" ] || { echo "$out"; die "systemd-analyze verify printed warnings (treated as errors)"; }
for u in "${units[@]}"; do
  th="${SECURITY_THRESHOLD[$u]:-}"; [ -n "$th" ] || die "no exposure threshold for $u"
  res=$( cd "$R/etc/systemd/system" && systemd-analyze security --offline=true --root="$R" --threshold="$th" "$u" 2>&1 ) ||
    { echo "$res" | grep -E '^✗' || true; echo "$res" | tail -n 1; die "$u: exposure above $th/10"; }
  log "$(echo "$res" | tail -n 1 | sed 's/^→ //') (threshold $((th / 10)).$((th % 10)))"
done
# A broken unit must fail: this proves the check reads what it claims to.
sed 's/^ProtectSystem=strict$/ProtectSystem=strict\nPrivateTmp=maybe/' deploy/systemd/realdid-authority.service \
  > "$R/etc/systemd/system/realdid-broken.service"
broken=$( cd "$R/etc/systemd/system" && systemd-analyze verify --root="$R" realdid-broken.service 2>&1 || true )
grep -q 'realdid-broken.service:.*Failed to parse' <<<"$broken" || die "systemd-analyze verify did not notice a broken unit"
rm "$R/etc/systemd/system/realdid-broken.service"
systemd-sysusers --root="$R" - < deploy/systemd/realdid.sysusers.conf >/dev/null 2>&1
for a in realdid-authority realdid-warrant realdid-ceremony realdid-maintenance; do
  grep -q "^$a:" "$R/etc/passwd" || die "sysusers did not create $a"
done
grep -Eq '^realdid-hsm:.*realdid-authority' "$R/etc/group" || die "realdid-authority is not in realdid-hsm"
# The maintenance account holds only the owner DSN: never a token.
! grep -Eq '^realdid-hsm:.*realdid-maintenance' "$R/etc/group" || die "realdid-maintenance must not be in realdid-hsm"
systemd-tmpfiles --root="$R" --create - < deploy/systemd/realdid.tmpfiles.conf
hsm_gid=$(awk -F: '$1 == "realdid-hsm" { print $3 }' "$R/etc/group")
[ "$(stat -c '%a %g' "$R/var/lib/realdid/tokens")" = "2770 $hsm_gid" ] ||
  die "tmpfiles: /var/lib/realdid/tokens is $(stat -c '%a %g' "$R/var/lib/realdid/tokens"), want 2770 realdid-hsm"
[ "$(stat -c '%a' "$R/etc/realdid/credstore")" = "700" ] || die "tmpfiles: credstore must be 0700"
end

# ---------------------------------------------------------------------------------------------
begin "yamllint deploy/"
yamllint --strict -c deploy/.yamllint.yml deploy/
end

# ---------------------------------------------------------------------------------------------
begin "compose: make-secrets.sh + structure"
MAKE_SECRETS_DIR="$work/compose-secrets" bash deploy/compose/make-secrets.sh >/dev/null
for f in "$work"/compose-secrets/*; do
  [ "$(stat -c '%a' "$f")" = 400 ] || die "make-secrets.sh: $(basename "$f") is not mode 0400"
done
python3 deploy/tools/check_compose.py deploy/compose.yaml --secrets-dir "$work/compose-secrets"
# A broken copy, beside copies of what it references, must fail with exactly its two faults.
mkdir -p "$work/copy/deploy" "$work/copy/migrations"
cp -r deploy/compose deploy/prometheus "$work/copy/deploy/"; cp -r migrations/bootstrap "$work/copy/migrations/"
python3 - deploy/compose.yaml "$work/copy/deploy/compose.yaml" <<'PY'
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
d["services"]["authority"]["cap_drop"] = []
d["services"]["authority"]["depends_on"]["nosuch"] = {"condition": "service_started"}
yaml.safe_dump(d, open(sys.argv[2], "w"))
PY
broken=$(python3 deploy/tools/check_compose.py "$work/copy/deploy/compose.yaml" --secrets-dir "$work/compose-secrets" || true)
grep -q 'authority: cap_drop must include ALL' <<<"$broken" &&
  grep -q "unknown service 'nosuch'" <<<"$broken" &&
  [ "$(grep -c '^check_compose: ' <<<"$broken")" -eq 2 ] ||
  { echo "$broken"; die "check_compose.py did not report exactly the two faults of a broken copy"; }
end

# ---------------------------------------------------------------------------------------------
begin "Kubernetes manifests: schema subset and policy"
python3 deploy/tools/check_k8s.py deploy/k8s
python3 deploy/tools/check_ini_keys.py authority/config.cc deploy/compose/authority.ini deploy/k8s/configmap.yaml
python3 deploy/tools/check_ini_keys.py warrant/config.cc deploy/compose/warrant.ini warrant/warrant.example.ini \
  deploy/k8s/warrant-configmap.yaml
mkdir -p "$work/k8s-broken"
cp deploy/k8s/*.yaml "$work/k8s-broken/"
sed -i -e 's/readOnlyRootFilesystem: true/readOnlyRootFilesystem: false/' \
  -e 's/path: \/readyz/path: \/ready/' -e 's/defaultMode: 0400/defaultMode: 0404/' \
  -e 's/allowPrivilegeEscalation: false/allowPrivlegeEscalation: false/' "$work/k8s-broken/deployment.yaml"
n=$(python3 deploy/tools/check_k8s.py "$work/k8s-broken" | grep -c '^check_k8s: ' || true)
[ "$n" -ge 4 ] || die "check_k8s.py found only $n problems in a deliberately broken Deployment"
# The warrant component and the CronJob are read too: an httpGet probe on the mutual-TLS listener,
# a rolling single replica, a CronJob with a writable root and a bad schedule must each be named.
cp deploy/k8s/deployment.yaml "$work/k8s-broken/"
sed -i -e '0,/tcpSocket: {port: https}/s//httpGet: {path: \/healthz, port: https, scheme: HTTPS}/' \
  -e 's/type: Recreate/type: RollingUpdate/' "$work/k8s-broken/warrant-deployment.yaml"
sed -i -e '0,/readOnlyRootFilesystem: true/s//readOnlyRootFilesystem: false/' \
  -e 's/schedule: "30 4 \* \* \*"/schedule: "daily"/' "$work/k8s-broken/retention-cronjob.yaml"
broken=$(python3 deploy/tools/check_k8s.py "$work/k8s-broken" || true)
grep -q 'Deployment/realdid-warrant).*startupProbe: the listener on 9443 is mutual TLS only' <<<"$broken" &&
  grep -q 'Deployment/realdid-warrant): replicas must be >= 2' <<<"$broken" &&
  grep -q 'CronJob/realdid-retention).*readOnlyRootFilesystem must be true' <<<"$broken" &&
  grep -q "CronJob/realdid-retention): schedule 'daily'" <<<"$broken" &&
  [ "$(grep -c '^check_k8s: ' <<<"$broken")" -eq 4 ] ||
  { echo "$broken"; die "check_k8s.py did not report exactly the four faults of a broken warrant Deployment and CronJob"; }
end

# ---------------------------------------------------------------------------------------------
begin "Prometheus rules, configs, Grafana dashboard, docs/metrics.md"
promtool check rules deploy/prometheus/alerts.yml
promtool test rules deploy/prometheus/tests/alerts_test.yml
promtool check config deploy/prometheus/prometheus.yml
mkdir -p "$work/promcfg"
sed 's#/etc/prometheus/alerts.yml#alerts.yml#' deploy/compose/prometheus.yml > "$work/promcfg/prometheus.yml"
cp deploy/prometheus/alerts.yml "$work/promcfg/"
promtool check config "$work/promcfg/prometheus.yml"
# Every alert has a test case in which it fires, and a runbook section in docs/operations.md.
for a in $(sed -n 's/^ *- alert: *//p' deploy/prometheus/alerts.yml); do
  grep -Eq "alertname: $a\$" deploy/prometheus/tests/alerts_test.yml || die "alert $a has no test case"
  cases=$(grep -A3 -E "alertname: $a\$" deploy/prometheus/tests/alerts_test.yml)
  grep -q 'exp_labels' <<<"$cases" ||
    die "alert $a never fires in a test case"
  grep -qi "^### $a\$" docs/operations.md || die "alert $a has no runbook section (### $a) in docs/operations.md"
done
jq -e '.title and .uid and (.panels | length > 0) and ([.panels[] | select(.type != "row") | .targets | length > 0] | all)' \
  deploy/grafana/realdid.json >/dev/null || die "deploy/grafana/realdid.json is not a complete dashboard"
# Series names: registered in the code, used by rules and the dashboard, documented.
mapfile -t code_series < <(grep -rhoE '\.Name\("realdid_[a-z0-9_]+"\)' --include='*.cc' . | sed 's/.Name("\(.*\)")/\1/' | sort -u)
[ "${#code_series[@]}" -gt 0 ] || die "found no series in the code"
mapfile -t used_series < <( { grep -hoE 'realdid_[a-z0-9_]+' deploy/prometheus/alerts.yml;
  jq -r '.. | .expr? // empty' deploy/grafana/realdid.json | grep -oE 'realdid_[a-z0-9_]+'; } |
  sed -E 's/_(bucket|sum|count)$//' | grep -vE '^realdid_(authority|warrant)$' | sort -u)
for s in "${code_series[@]}" "${used_series[@]}"; do
  grep -q "\`$s\`" docs/metrics.md || die "docs/metrics.md does not document $s"
done
log "${#code_series[@]} series registered in the code, ${#used_series[@]} used by rules/dashboard: all documented"
end

# ---------------------------------------------------------------------------------------------
case "$ROOTFS_MODE" in
  full)
    begin "container root filesystem (mmdebstrap, Debian 12)"
    deploy/container/build-rootfs.sh --bin-dir "$BIN" --out "$work/realdid-rootfs.tar"
    rm -f "$work/realdid-rootfs.tar"
    end ;;
  simulate)
    begin "container package set resolves (mmdebstrap --simulate)"
    deploy/container/build-rootfs.sh --bin-dir "$BIN" --simulate >/dev/null 2>&1 ||
      deploy/container/build-rootfs.sh --bin-dir "$BIN" --simulate
    end ;;
  skip) log "container root filesystem: skipped (REALDID_DEPLOY_ROOTFS=skip)" ;;
  *) die "REALDID_DEPLOY_ROOTFS must be full, simulate or skip" ;;
esac

# ---------------------------------------------------------------------------------------------
begin "a real Prometheus scrapes a running authority"
ensure_service_user
public_url="${PUBLIC_URL:-}"
ca_file="${CA_FILE:-}"
metrics_url="${METRICS_URL:-}"
if [ -z "$metrics_url" ]; then
  [ -x "$BIN/authority/realdid-authority" ] || die "$BIN/authority/realdid-authority is missing (build first)"
  stack_state="$work/stack"
  pg_port=$(free_port); pub_port=$(free_port); met_port=$(free_port); adm_port=$(free_port)
  log "bringing up a temporary stack in $stack_state (PostgreSQL :$pg_port, API :$pub_port, metrics :$met_port)"
  REALDID_STATE_DIR="$stack_state" REALDID_BIN="$BIN" REALDID_PG_PORT="$pg_port" \
    REALDID_PUBLIC_PORT="$pub_port" REALDID_METRICS_PORT="$met_port" REALDID_ADMIN_PORT="$adm_port" \
    scripts/stack.sh init >"$work/stack.log" 2>&1 ||
    { tail -n 40 "$work/stack.log"; die "scripts/stack.sh init failed"; }
  runuser -u "$REALDID_USER" -- env SOFTHSM2_CONF="$stack_state/softhsm2.conf" \
    "$BIN/authority/realdid-authority" --config "$stack_state/authority.ini" >"$work/authority.log" 2>&1 &
  pids+=("$!")
  public_url="https://127.0.0.1:$pub_port"; ca_file="$stack_state/pki/ca.pem"
  metrics_url="http://127.0.0.1:$met_port/metrics"
fi
target=$(echo "$metrics_url" | sed -E 's#^https?://([^/]+)/.*#\1#')
metrics_path=$(echo "$metrics_url" | sed -E 's#^https?://[^/]+##')
case "$target" in 127.0.0.1:*|localhost:*|\[::1\]:*) ;; *) die "METRICS_URL must be on loopback" ;; esac

# The authority answers (bounded wait), and serves a few requests so the HTTP series exist.
for _ in $(seq 1 60); do
  curl -fsS -o /dev/null "$metrics_url" 2>/dev/null && break
  sleep 0.5
done
curl -fsS -o /dev/null "$metrics_url" || { tail -n 30 "$work/authority.log" 2>/dev/null || true; die "no metrics at $metrics_url"; }
if [ -n "$public_url" ]; then
  cacert=(); [ -n "$ca_file" ] && cacert=(--cacert "$ca_file")
  for _ in $(seq 1 20); do
    curl -fsS -o /dev/null "${cacert[@]}" "$public_url/readyz" 2>/dev/null && break
    sleep 0.5
  done
  curl -fsS -o /dev/null "${cacert[@]}" "$public_url/healthz" || die "$public_url/healthz failed"
  curl -fsS -o /dev/null "${cacert[@]}" "$public_url/readyz" || die "$public_url/readyz is not ready"
fi

prom_port=$(free_port)
mkdir -p "$work/prom/data"
cp deploy/prometheus/alerts.yml "$work/prom/"
cat > "$work/prom/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [alerts.yml]
scrape_configs:
  - job_name: realdid-authority
    metrics_path: $metrics_path
    static_configs:
      - targets: ["$target"]
YML
chown -R "$REALDID_USER:$REALDID_USER" "$work/prom"
runuser -u "$REALDID_USER" -- prometheus --config.file="$work/prom/prometheus.yml" \
  --storage.tsdb.path="$work/prom/data" --web.listen-address="127.0.0.1:$prom_port" \
  --storage.tsdb.retention.time=1h --log.level=warn >"$work/prometheus.log" 2>&1 &
pids+=("$!")
prom="http://127.0.0.1:$prom_port"
for _ in $(seq 1 60); do
  curl -fsS -o /dev/null "$prom/-/ready" 2>/dev/null && break
  sleep 0.5
done
curl -fsS -o /dev/null "$prom/-/ready" || { tail -n 20 "$work/prometheus.log"; die "Prometheus did not become ready"; }
log "Prometheus $(prometheus --version 2>&1 | awk 'NR == 1 {print $3}') on $prom scraping $metrics_url"

query() { curl -fsS --get --data-urlencode "query=$1" "$prom/api/v1/query"; }
expect() {  # expect NAME PROMQL: the query returns at least one sample (bounded wait)
  local name="$1" q="$2" r=""
  for _ in $(seq 1 40); do
    r=$(query "$q" 2>/dev/null || true)
    if [ "$(echo "$r" | jq -r '.data.result | length' 2>/dev/null || echo 0)" -gt 0 ]; then
      log "  $name: $(echo "$r" | jq -c '[.data.result[] | .value[1]] | .[0:4]')"
      return 0
    fi
    sleep 0.5
  done
  echo "$r" >&2
  die "Prometheus has no result for $name ($q)"
}
expect "up == 1" 'up{job="realdid-authority"} == 1'
expect "realdid_ready == 1" 'realdid_ready == 1'
expect "realdid_http_requests_total" 'realdid_http_requests_total'
expect "realdid_hsm_operations_total{result=\"ok\"} > 0" 'realdid_hsm_operations_total{result="ok"} > 0'
# Readiness pings are not counted as queries (db::Pool::Ping bypasses the observer), so a fresh
# authority that served no issuance has zero queries: require the pre-created series themselves.
expect "realdid_db_queries_total{result=ok|error}" 'count(realdid_db_queries_total{result=~"ok|error"}) == 2'
expect "realdid_build_info" 'realdid_build_info == 1'
# The ceremony gives the blind-signing key a window of 365 days: its end lies in the future.
expect "realdid_signing_key_not_after_seconds > time()" 'realdid_signing_key_not_after_seconds > time()'
groups=$(curl -fsS "$prom/api/v1/rules" | jq '.data.groups | length')
rules=$(sed -n 's/^ *- alert: *//p' deploy/prometheus/alerts.yml | wc -l)
loaded=$(curl -fsS "$prom/api/v1/rules" | jq '[.data.groups[].rules[]] | length')
[ "$loaded" -eq "$rules" ] || die "Prometheus loaded $loaded rules, alerts.yml has $rules"
firing=$(curl -fsS "$prom/api/v1/alerts" | jq -r '[.data.alerts[] | select(.state == "firing") | .labels.alertname] | join(",")')
[ -z "$firing" ] || die "alerts firing against a healthy authority: $firing"
log "  rules: $groups groups, $loaded alerts loaded, none firing"
end

printf '\n\033[1;36m--- check-deploy timings\033[0m\n' >&2
printf '%s\n' "${timings[@]}" >&2
log "check-deploy: all checks passed in $(( $(date +%s) - t_all ))s"
