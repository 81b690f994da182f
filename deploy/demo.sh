#!/usr/bin/env bash
# `npm run demo`: a swarm on this machine. A 3-host lab (network namespaces joined by a private
# switch, nothing linked to the real network) with a registry on h1; a web service of 6 replicas
# (the busybox test image, httpd answering with its container's hostname) published on 8080 through
# the routing mesh; requests through every host reach every replica; scale to 9; drain h3; power off
# h2 and watch its tasks move; tear down. The lab is removed even when a step fails or on Ctrl-C.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
bash deploy/setup.sh >/dev/null

lab="demo$$"
tss() { node "$repo/dist/cli/tsswarm.js" "$@"; }
on() { local h=$1; shift; tss lab exec "$lab" "$h" -- node "$repo/dist/cli/tsswarm.js" "$@"; }
work=$(mktemp -d /tmp/tsswarm-demo-XXXXXX)
cleanup() { tss lab down "$lab" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT INT TERM
started=$(date +%s%N)
ms() { echo $((($(date +%s%N) - $1) / 1000000)); }
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
summary=()
note() { summary+=("$*"); printf '   -> %s\n' "$*"; }

# Replica hostnames answering through host $1's port 8080, from $2 requests (bounded: 2 s each).
distinct() {
  local host=$1 n=$2 addr
  addr=$(tss lab ls --format json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const l=JSON.parse(s).find(x=>x.name===process.argv[1]);console.log(l.hosts.find(h=>h.name===process.argv[2]).address)})' "$lab" "$host")
  # One lab exec for the whole loop (a CLI start per request would cost more than the requests).
  tss lab exec "$lab" "$host" -- sh -c 'for _ in $(seq 1 "$1"); do wget -q -T 2 -O - "http://$2:8080/" 2>/dev/null; echo; done' sh "$n" "$addr" | sort -u | grep -c . || true
}
# Waits (bounded) until `service ps web` shows $1 running tasks, none of them on host $2 (optional).
wait_running() {
  local want=$1 avoid=${2:-} deadline=$((SECONDS + 60)) rows
  while [ $SECONDS -lt $deadline ]; do
    rows=$(on h1 service ps web -f desired-state=running --format '{{.Node}} {{.CurrentState}}' | grep -i ' running' || true)
    if [ "$(grep -c . <<<"$rows")" -eq "$want" ] && { [ -z "$avoid" ] || ! grep -q "^$avoid " <<<"$rows"; }; then return 0; fi
    sleep 0.5
  done
  echo "timed out waiting for $want running tasks${avoid:+ off $avoid}" >&2
  return 1
}

step "tsswarm lab up $lab --hosts 3 --registry   (h1 manager, h2 h3 workers, a registry on h1:5000)"
t=$(date +%s%N)
tss lab up "$lab" --hosts 3 --registry
registry=$(tss lab ls --format json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).find(x=>x.name===process.argv[1]).hosts[0].address+":5000"))' "$lab")
on h1 swarm update --dispatcher-heartbeat 1s >/dev/null   # detect the power loss below in 3 s (default 5 s heartbeat: 15 s)
on h1 node ls
note "swarm of 3 hosts up in $(ms "$t") ms"

step "push the test image to the lab registry, as users would"
t=$(date +%s%N)
node dist/deploy/images/build-busybox.js "$work/busybox.tar" >/dev/null
tss image load --data-dir "$work/store" -i "$work/busybox.tar" >/dev/null
tss image tag --data-dir "$work/store" busybox "$registry/busybox:demo"
tss lab exec "$lab" h1 -- node "$repo/dist/cli/tsswarm.js" image push --data-dir "$work/store" --insecure-registry "$registry" "$registry/busybox:demo" | tail -1
note "image $registry/busybox:demo pushed in $(ms "$t") ms"

step "tsswarm service create --name web --replicas 6 -p 8080:80 $registry/busybox:demo httpd"
t=$(date +%s%N)
on h1 service create --name web --replicas 6 -p 8080:80 "$registry/busybox:demo" \
  sh -c 'mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www'
on h1 service ls
on h1 service ps web
note "6 replicas pulled and running in $(ms "$t") ms"

step "requests through every host's 8080 (routing mesh) reach all 6 replicas"
for h in h1 h2 h3; do
  n=$(distinct "$h" 24)
  note "$h:8080 -> $n distinct replicas answered 24 requests"
done

step "tsswarm service scale web=9"
t=$(date +%s%N)
on h1 service scale web=9
n=$(distinct h2 36)
note "scaled to 9 in $(ms "$t") ms; h2:8080 now reaches $n distinct replicas"

step "tsswarm node update --availability drain h3   (its tasks move to h1 and h2)"
t=$(date +%s%N)
on h1 node update --availability drain h3 >/dev/null
wait_running 9 h3
on h1 service ps web -f desired-state=running
note "h3 drained, its tasks rescheduled in $(ms "$t") ms"

step "power loss on h2 (tsswarm lab kill: its daemon and containers die)"
t=$(date +%s%N)
tss lab kill "$lab" h2
wait_running 9 h2
on h1 node ls
on h1 service ps web -f desired-state=running
n=$(distinct h1 36)
note "h2 lost: 9 replicas running again after $(ms "$t") ms; h1:8080 reaches $n distinct replicas"

step "summary"
for line in "${summary[@]}"; do printf '  %s\n' "$line"; done
printf '  demo took %s ms\n' "$(ms "$started")"

step "tsswarm lab down $lab"
tss lab down "$lab"
trap - EXIT INT TERM
rm -rf "$work"
printf '\nnamespaces left: %s\n' "$(ip netns list | grep -c "^tss-$lab-" || true)"
