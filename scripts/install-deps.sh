#!/usr/bin/env bash
# Installs every Debian package the project builds, tests and runs with (Debian 12, as root).
# Idempotent: skips apt entirely when everything is already installed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root

PACKAGES=(
  # toolchains and build
  build-essential cmake ninja-build pkg-config git clang clang-tidy lld libclang-rt-14-dev
  # libraries of the design card
  libssl-dev libpoco-dev libpqxx-dev prometheus-cpp-dev libp11-kit-dev
  # tests
  libgtest-dev libgmock-dev
  # real components: HSM, database
  softhsm2 opensc postgresql-15 postgresql-client-15
  # tooling used by the scripts and the demo
  openssl curl jq ca-certificates
  # benchmark curves (scripts/bench.sh)
  gnuplot-nox
  golang-go golang-github-cloudflare-circl-dev
  # deploy checks (scripts/check-deploy.sh): unit verification, YAML, rules, a real Prometheus,
  # the container root filesystem
  systemd yamllint python3-yaml prometheus mmdebstrap
)
# Node.js runs the interoperability tests against independent JavaScript implementations; the
# machine image ships Node 20 with npm. Only where it is absent do we take Debian's.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  PACKAGES+=(nodejs npm)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ "${#missing[@]}" -eq 0 ]; then
  log "all packages present"
  exit 0
fi
log "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
# Debian's postgresql package creates and starts a system cluster; the project never uses it.
