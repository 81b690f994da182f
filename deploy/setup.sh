#!/usr/bin/env bash
# One-step setup of a tsswarm checkout, as root on Debian: the host packages tsswarm drives,
# the npm dependencies, the build, and `tsswarm` / `tsswarmd` on PATH. Idempotent: a second run
# with nothing changed only checks, in a few seconds.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (tsswarm makes namespaces, mounts and cgroups)"
[ "$(uname -s)" = Linux ] || die "tsswarm runs on Linux only"
command -v node >/dev/null || die "Node.js 20 or newer is needed (node not found)"
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || die "Node.js 20 or newer is needed (found $(node --version))"

# Debian packages: the real parts tsswarm drives.
packages=(runc conmon iproute2 iptables nftables busybox-static etcd-server docker-registry skopeo umoci
  iperf3 iputils-ping curl)
missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The Debian packages start services we do not want running behind the tests' backs.
for svc in etcd docker-registry; do
  if command -v systemctl >/dev/null && systemctl is-active --quiet "$svc" 2>/dev/null; then
    systemctl disable --now "$svc" >/dev/null 2>&1 || true
  fi
done

# npm dependencies, reinstalled only when the lock file changed.
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
stamp=node_modules/.tsswarm-lock-sha256
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_sum" ]; then
  say "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_sum" > "$stamp"
fi

# Build, only when a source file is newer than the last build.
build_stamp=dist/.build-stamp
if [ ! -f "$build_stamp" ] || [ -n "$(find lib manager worker netd cli daemon deploy proto test tsconfig.json package.json \
    -newer "$build_stamp" -type f \( -name '*.ts' -o -name '*.js' -o -name '*.json' -o -name '*.proto' \) -print -quit 2>/dev/null)" ]; then
  say "building"
  npm run --silent build
  touch "$build_stamp"
fi

# tsswarm and tsswarmd on PATH.
for bin in tsswarm tsswarmd; do
  target="$repo/dist/cli/$bin.js"
  if [ "$(readlink /usr/local/bin/$bin 2>/dev/null || true)" != "$target" ]; then
    ln -sfn "$target" "/usr/local/bin/$bin"
    say "linked /usr/local/bin/$bin"
  fi
done
say "ready"
