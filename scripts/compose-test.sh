#!/usr/bin/env bash
# The compose test: builds the local images (scripts/docker-local-images.sh: nothing is pulled), starts
# docker-compose.yml with docker-compose.local.yml (every container on the host's network, on free loopback ports),
# waits for /readyz through nginx, has two Chromium pages on different nodes call each other through nginx
# (client-js/test/compose.call.mjs), and takes the cluster down again, whatever happened.
# Needs root, Docker (started here when none runs, and stopped again), docker-compose, debootstrap, the .NET SDK, node
# and client-js/node_modules (npm ci). Output ends with node's "# pass N" / "# fail N"; exit code 0 only when it passed.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
START=$(date +%s)
say() { printf '[compose-test %4ss] %s\n' "$(( $(date +%s) - START ))" "$*"; }
die() { say "error: $*" >&2; exit 2; }

command -v docker-compose >/dev/null || die "docker-compose is missing (apt-get install docker-compose)"
[ -d client-js/node_modules/playwright-core ] || die "client-js/node_modules is missing: run npm ci in client-js"

STARTED_DOCKERD=
PROJECT="roomsignal-compose-$$"
compose() { docker-compose -p "$PROJECT" -f docker-compose.yml -f docker-compose.local.yml "$@"; }
cleanup() {
  if [ -n "${UP:-}" ]; then
    say "docker-compose down"
    compose logs --no-color >"${COMPOSE_LOG:-/dev/null}" 2>&1 || true
    compose down --remove-orphans -t 20 >/dev/null 2>&1 || say "docker-compose down failed"
  fi
  if [ -n "$STARTED_DOCKERD" ]; then
    say "stopping the dockerd this script started (pid $STARTED_DOCKERD)"
    kill "$STARTED_DOCKERD" 2>/dev/null
    for _ in $(seq 30); do kill -0 "$STARTED_DOCKERD" 2>/dev/null || break; sleep 1; done
  fi
}
trap cleanup EXIT

if ! docker info >/dev/null 2>&1; then
  pidfile=$(mktemp)
  # One dockerd per machine: whoever holds the lock starts it, the others find it running.
  flock /tmp/rs-dockerd.lock sh -c 'docker info >/dev/null 2>&1 || { nohup dockerd >/tmp/dockerd.log 2>&1 & echo $! >"$1"; }
    for i in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done' sh "$pidfile"
  [ -s "$pidfile" ] && STARTED_DOCKERD=$(cat "$pidfile")
  rm -f "$pidfile"
  docker info >/dev/null 2>&1 || die "Docker could not be started (see /tmp/dockerd.log)"
fi

say "building the local images (scripts/docker-local-images.sh)"
scripts/docker-local-images.sh || die "building the local images failed"

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# Below the kernel's ephemeral range (32768 and up here), so no outgoing connection of the machine can hold one
# of these ports between the check and the containers' bind (seen once: a node died with "address already in use").
for _ in $(seq 20); do
  base=$(( 20000 + RANDOM % 12000 ))
  busy=
  for p in $base $((base + 1)) $((base + 2)) $((base + 100)) $((base + 200)); do port_busy "$p" && busy=1; done
  [ -z "$busy" ] && break
done
[ -z "$busy" ] || die "found no free ports"
export ROOMSIGNAL_COMPOSE_PORT=$base ROOMSIGNAL_NODE1_PORT=$((base + 1)) ROOMSIGNAL_NODE2_PORT=$((base + 2))
export ROOMSIGNAL_REDIS_PORT=$((base + 100)) ROOMSIGNAL_TURN_PORT=$((base + 200))
export ROOMSIGNAL_TURN_MIN_PORT=$((40000 + (base % 1000) * 20)) ROOMSIGNAL_TURN_MAX_PORT=$((40000 + (base % 1000) * 20 + 19))
ROOMSIGNAL_TURN_SECRET=$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n'); export ROOMSIGNAL_TURN_SECRET
COMPOSE_LOG=${ROOMSIGNAL_COMPOSE_LOG:-$ROOT/test-output/compose.log}
mkdir -p "$(dirname "$COMPOSE_LOG")"

say "docker-compose up -d (project $PROJECT; nginx on 127.0.0.1:$base, nodes $((base + 1)) and $((base + 2)), redis $((base + 100)), coturn $((base + 200)))"
UP=1
compose up -d --no-build || die "docker-compose up failed"

front="http://127.0.0.1:$base"
say "waiting for /readyz of node1, node2 and nginx (90 s at most)"
deadline=$(( $(date +%s) + 90 ))
for target in "node1 http://127.0.0.1:$((base + 1))" "node2 http://127.0.0.1:$((base + 2))" "nginx $front"; do
  set -- $target
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "$2/readyz")" = 200 ]; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      compose ps; compose logs --no-color --tail=30
      die "$1 ($2/readyz) was not ready within 90 s"
    fi
    sleep 0.5
  done
done
say "ready after $(( $(date +%s) - START )) s; two browsers through nginx"
(cd client-js && ROOMSIGNAL_COMPOSE_FRONT="$front" node --test --test-timeout=180000 test/compose.call.mjs)
rc=$?
say "done in $(( $(date +%s) - START )) s (exit $rc); container logs in ${COMPOSE_LOG#"$ROOT"/}"
exit $rc
