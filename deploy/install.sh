#!/usr/bin/env bash
# Installs tsswarm on a real host as a systemd service: runs deploy/setup.sh (packages, npm ci,
# build, /usr/local/bin links), installs deploy/systemd/tsswarmd.service and starts it. Idempotent.
# Usage (as root, from a clone): deploy/install.sh [--advertise-addr IP] [--listen-addr IP:PORT]
# The flags become defaults for `tsswarm swarm init|join` on this host.
set -euo pipefail

say() { printf 'install: %s\n' "$*"; }
die() { printf 'install: %s\n' "$*" >&2; exit 2; }

[ "$(id -u)" -eq 0 ] || die "run as root"
command -v systemctl >/dev/null || die "systemd is needed (systemctl not found)"

extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --advertise-addr|--listen-addr)
      [ $# -ge 2 ] || die "$1 needs a value"
      [[ "$2" =~ ^[A-Za-z0-9.:\[\]-]+$ ]] || die "invalid $1 value: $2"
      extra+=("$1" "$2"); shift 2 ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) die "unknown option $1 (try --help)" ;;
  esac
done

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$repo/deploy/setup.sh"

unit=/etc/systemd/system/tsswarmd.service
tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
if [ ${#extra[@]} -gt 0 ]; then
  sed "s|^ExecStart=\(.*\)$|ExecStart=\1 ${extra[*]}|" "$repo/deploy/systemd/tsswarmd.service" >"$tmp"
else
  cp "$repo/deploy/systemd/tsswarmd.service" "$tmp"
fi
if ! cmp -s "$tmp" "$unit" 2>/dev/null; then
  install -m 0644 "$tmp" "$unit"
  systemctl daemon-reload
  say "installed $unit"
fi
mkdir -p /usr/local/share/doc/tsswarm && cp "$repo/README.md" /usr/local/share/doc/tsswarm/README.md
systemctl enable --now tsswarmd >/dev/null
say "tsswarmd is $(systemctl is-active tsswarmd); open 2377/tcp (managers) and 4789/udp (overlay) between hosts"
