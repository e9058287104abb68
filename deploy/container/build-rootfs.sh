#!/usr/bin/env bash
# Builds the runtime root filesystem of the RealDID container image from Debian 12 packages,
# without a container engine (mmdebstrap, as root), and checks that it runs.
#
#   deploy/container/build-rootfs.sh [--bin-dir DIR] [--out FILE.tar] [--simulate]
#
#   --bin-dir   the CMake build tree holding the binaries (default: build/release)
#   --out       the tarball to write (default: build/container/realdid-rootfs.tar)
#   --simulate  only resolve the package set (mmdebstrap --simulate), write nothing
#
# The image: Debian 12 "essential" variant + deploy/container/runtime-packages.txt, no apt, no
# documentation; /usr/lib/realdid/{realdid-authority,realdid-migrate,realdid-ceremony,ctid-sim,
# realdid,realdid-warrant,realdid-admin} (those that are built), migrations in /usr/share/realdid/migrations, the non-root user
# realdid (uid/gid 10001) owning only /var/lib/realdid. Import it with an engine as
#   podman import --change 'USER 10001:10001' build/container/realdid-rootfs.tar realdid:local
# or build deploy/container/Containerfile, which installs the same packages.
# Apt sources: the host's own (/etc/apt/sources.list.d/*.sources or /etc/apt/sources.list).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin_dir="$root/build/release"
out="$root/build/container/realdid-rootfs.tar"
simulate=0
while [ $# -gt 0 ]; do
  case "$1" in
    --bin-dir) bin_dir="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --simulate) simulate=1; shift ;;
    *) echo "usage: $0 [--bin-dir DIR] [--out FILE.tar] [--simulate]" >&2; exit 2 ;;
  esac
done
say() { printf '[build-rootfs] %s\n' "$*" >&2; }
die() { printf '[build-rootfs] error: %s\n' "$*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "run as root (mmdebstrap root mode, chroot check)"
command -v mmdebstrap >/dev/null || die "mmdebstrap is not installed (scripts/install-deps.sh)"

mapfile -t packages < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' "$here/runtime-packages.txt" | grep -v '^$')
declare -A listed=()
for p in "${packages[@]}"; do listed[$p]=1; done

# The binaries (path in the build tree -> name in the image). realdid-authority is required.
declare -A binaries=(
  [authority/realdid-authority]=realdid-authority
  [tools/migrate/realdid-migrate]=realdid-migrate
  [tools/ceremony/realdid-ceremony]=realdid-ceremony
  [tools/ctid-sim/ctid-sim]=ctid-sim
  [tools/realdid/realdid]=realdid
  [warrant/realdid-warrant]=realdid-warrant
  [tools/admin/realdid-admin]=realdid-admin
)
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin"
for rel in "${!binaries[@]}"; do
  if [ -x "$bin_dir/$rel" ]; then
    install -s -m 0755 "$bin_dir/$rel" "$stage/bin/${binaries[$rel]}"  # stripped: no cores anyway
  elif [ "$rel" = authority/realdid-authority ] && [ "$simulate" -eq 0 ]; then
    die "$bin_dir/$rel is missing: build it first (scripts/build.sh release)"
  fi
done

# Every shared library a binary needs must belong to a listed package (resolved on the build
# host, which has the same Debian release and therefore the same package names).
missing=()
for b in "$stage"/bin/*; do
  [ -e "$b" ] || continue
  while read -r lib; do
    # awk reads all of its input (no early exit): under pipefail an early exit would make
    # ldconfig die of SIGPIPE and fail the whole script, depending on timing.
    path=$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64|x86_64/ && !f { print $NF; f = 1 }')
    [ -n "$path" ] || { missing+=("$lib(unresolved, needed by $(basename "$b"))"); continue; }
    pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -n1 | cut -d: -f1) || true
    [ -n "$pkg" ] || pkg=$(dpkg -S "$path" 2>/dev/null | head -n1 | cut -d: -f1) || true
    if [ -z "$pkg" ] || [ -z "${listed[$pkg]:-}" ]; then
      missing+=("$lib(${pkg:-no package}, needed by $(basename "$b"))")
    fi
  done < <(readelf -d "$b" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
done
[ "${#missing[@]}" -eq 0 ] || die "runtime-packages.txt lacks the packages of: ${missing[*]}"
say "binaries: $(ls "$stage/bin" | tr '\n' ' ')"

sources=()
for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list; do
  [ -s "$f" ] && sources+=("$f")
done
[ "${#sources[@]}" -gt 0 ] || die "no apt sources on this host"

include=$(IFS=,; echo "${packages[*]}")
common=(--variant=essential --include="$include" --skip=check/empty
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*'
  --dpkgopt='path-exclude=/usr/share/info/*' --dpkgopt='path-exclude=/usr/share/locale/*'
  --dpkgopt='path-include=/usr/share/doc/*/copyright')

if [ "$simulate" -eq 1 ]; then
  say "resolving ${#packages[@]} packages (simulate)"
  mmdebstrap --simulate "${common[@]}" bookworm /dev/null "${sources[@]}"
  exit 0
fi

mkdir -p "$(dirname "$out")"
mkdir -p "$stage/migrations"
cp "$root"/migrations/*.sql "$stage/migrations/"
cp -r "$root/migrations/bootstrap" "$stage/migrations/"
say "building $out"
mmdebstrap --quiet "${common[@]}" \
  --customize-hook='chroot "$1" groupadd --system --gid 10001 realdid' \
  --customize-hook='chroot "$1" useradd --uid 10001 --gid 10001 --home-dir /var/lib/realdid --no-create-home --shell /usr/sbin/nologin realdid' \
  --customize-hook="mkdir -p \"\$1/usr/lib/realdid\" \"\$1/usr/share/realdid\" \"\$1/etc/realdid\" \"\$1/var/lib/realdid/tokens\"" \
  --customize-hook="cp -a '$stage/bin/.' \"\$1/usr/lib/realdid/\"" \
  --customize-hook="cp -a '$stage/migrations' \"\$1/usr/share/realdid/\"" \
  --customize-hook='chown -R 10001:10001 "$1/var/lib/realdid"; chmod 0750 "$1/var/lib/realdid"' \
  --customize-hook='rm -rf "$1/var/cache/apt/"* "$1/var/lib/apt/lists/"* "$1/var/log/"*' \
  bookworm "$out" "${sources[@]}"

# Check: every binary starts inside the root filesystem as the non-root user (chroot, no engine).
check="$(mktemp -d)"
trap 'rm -rf "$stage" "$check"' EXIT
tar -C "$check" -xf "$out"
for b in "$check"/usr/lib/realdid/*; do
  name=$(basename "$b")
  libs=$(chroot "$check" ldd "/usr/lib/realdid/$name" 2>&1) || die "$name: ldd failed inside the image"
  if grep -q 'not found' <<<"$libs"; then
    die "$name: unresolved libraries inside the image"
  fi
done
chroot --userspec=10001:10001 "$check" /usr/lib/realdid/realdid-authority --version >/dev/null ||
  die "realdid-authority --version failed inside the image"
if [ -e "$check/usr/lib/realdid/realdid-warrant" ]; then
  chroot --userspec=10001:10001 "$check" /usr/lib/realdid/realdid-warrant --version >/dev/null ||
    die "realdid-warrant --version failed inside the image"
fi
chroot --userspec=10001:10001 "$check" /usr/bin/softhsm2-util --version >/dev/null ||
  die "softhsm2-util failed inside the image"
[ "$(chroot "$check" id -u realdid)" = 10001 ] || die "user realdid missing"
say "ok: $(du -h "$out" | cut -f1) $(tar -tf "$out" | wc -l) entries; binaries start as uid 10001"
