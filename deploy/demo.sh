#!/usr/bin/env bash
# `npm run demo`: what tsswarm can show today. Builds a 3-host lab (network namespaces joined by a
# private switch), shows every host reaching every other one and a bounded throughput test between
# two of them, then removes the lab, even when a step fails or the demo is interrupted.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
bash deploy/setup.sh >/dev/null

lab="demo-$$"
tss() { node "$repo/dist/cli/tsswarm.js" "$@"; }
cleanup() { tss lab down "$lab" >/dev/null 2>&1 || true; }
trap cleanup EXIT INT TERM
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "tsswarm lab up $lab --hosts 3 --no-daemons"
tss lab up "$lab" --hosts 3 --no-daemons

step "tsswarm lab ls"
tss lab ls

mapfile -t addrs < <(tss lab ls --format json | node -e '
  let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
    const lab = JSON.parse(s).find((l) => l.name === process.argv[1]);
    for (const h of lab.hosts) console.log(h.address);
  });' "$lab")

step "every host pings every other host over the lab switch"
for i in 1 2 3; do
  for j in 1 2 3; do
    [ "$i" = "$j" ] && continue
    rtt=$(tss lab exec "$lab" "h$i" -- ping -c1 -W1 "${addrs[$((j - 1))]}" | sed -n 's/.*time=\([0-9.]*\) ms/\1/p')
    printf '  h%s -> h%s (%s): %s ms\n' "$i" "$j" "${addrs[$((j - 1))]}" "$rtt"
  done
done

step "a 2-second iperf3 run from h1 to h3"
tss lab exec "$lab" h3 -- iperf3 -s -1 -B "${addrs[2]}" >/dev/null &
server=$!
sleep 0.3
tss lab exec "$lab" h1 -- iperf3 -c "${addrs[2]}" -t 2 -f g | grep -E 'sender|receiver' || true
wait "$server" || true

step "tsswarm lab down $lab"
tss lab down "$lab"
trap - EXIT INT TERM
printf '\nnamespaces left: %s\n' "$(ip netns list | grep -c "^tss-$lab-" || true)"
