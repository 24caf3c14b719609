#!/usr/bin/env bash
# Runs every RoomSignal test suite: .NET unit + integration (real Kestrel, real redis-server),
# multi-process cluster tests, the JS protocol tests, the browser tests in headless Chromium and a
# smoke test of the load tool (tools/loadtest-smoke.sh).
# Installs what a fresh Debian machine lacks (redis-server, chromium, nginx, coturn, npm packages, docker.io,
# debootstrap) first. The backplane suite runs against Redis in a Testcontainers container: Docker is
# started when none runs (and stopped at the end if this script started it), and a local Redis image is
# built once with debootstrap + docker import (nothing is pulled). ROOMSIGNAL_TEST_DOCKER=off runs
# every suite against a local redis-server instead, on machines without Docker. With Docker, the compose test
# (scripts/compose-test.sh: docker-compose.yml on local images, two browsers through nginx; about 40 s once its base
# images exist, 2-3 min more on the first run for debootstrap) runs last; ROOMSIGNAL_TEST_COMPOSE=off skips it.
# Exit code: 0 only when every suite passed.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT="$ROOT/test-output"
mkdir -p "$OUT"
START=$(date +%s)

step() { printf '\n==> [%4ss] %s\n' "$(( $(date +%s) - START ))" "$*"; }
die() { echo "error: $*" >&2; exit 2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    die "need root to run: $*"; fi
}

# --- 1. prerequisites (idempotent) -------------------------------------------------------------
step "checking prerequisites"
command -v dotnet >/dev/null || die "the .NET 10 SDK is required (https://dot.net); dotnet is not on PATH"
missing=()
command -v redis-server >/dev/null || [ -x /usr/bin/redis-server ] || missing+=(redis-server)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
# client-js/test/nginx.test.mjs runs scripts/cluster.sh: nginx in front, coturn beside the nodes. The TURN tests
# (Server.Tests Ice/CoturnTests, client-js/test/turn.test.mjs) start turnserver and turnutils_uclient from coturn.
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
{ command -v turnserver >/dev/null || [ -x /usr/bin/turnserver ]; } && { command -v turnutils_uclient >/dev/null || [ -x /usr/bin/turnutils_uclient ]; } \
  || missing+=(coturn)
command -v curl >/dev/null || missing+=(curl)
# apt_install LOG HINT PACKAGE...: installs the packages with apt-get, logging to $OUT/LOG; HINT ends the error.
apt_install() {
  local log="$OUT/$1" hint=$2; shift 2
  command -v apt-get >/dev/null || die "missing $* and no apt-get to install them$hint"
  step "installing $* with apt-get"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq || die "apt-get update failed"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >"$log" 2>&1 \
    || { tail -20 "$log"; die "apt-get install $* failed"; }
}
[ ${#missing[@]} -gt 0 ] && apt_install apt.log "" "${missing[@]}"

# --- 1b. Docker and the Redis test image for Testcontainers ----------------------------------
DOCKER_MODE=${ROOMSIGNAL_TEST_DOCKER:-on}
TEST_IMAGE=${ROOMSIGNAL_TEST_REDIS_IMAGE:-roomsignal-test-redis:bookworm}
export ROOMSIGNAL_TEST_REDIS_IMAGE=$TEST_IMAGE
export ROOMSIGNAL_TEST_RUN_ID="rs-$$-$START"
STARTED_DOCKERD=
cleanup() {
  if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
    # Containers of this run that a crashed test host left behind (Ryuk is off: nothing else removes them).
    docker ps -aq --filter "label=roomsignal.test.run=$ROOMSIGNAL_TEST_RUN_ID" | xargs -r docker rm -f >/dev/null 2>&1
  fi
  if [ -n "$STARTED_DOCKERD" ]; then
    echo "stopping the dockerd this script started (pid $STARTED_DOCKERD)"
    as_root kill "$STARTED_DOCKERD" 2>/dev/null
    for _ in $(seq 30); do kill -0 "$STARTED_DOCKERD" 2>/dev/null || break; sleep 1; done
  fi
}
trap cleanup EXIT

case "$DOCKER_MODE" in
  on)
    step "Docker for the Testcontainers Redis (ROOMSIGNAL_TEST_DOCKER=off to run without it)"
    need=()
    # dockerd, not docker: some images ship a docker client binary without the engine.
    { command -v dockerd >/dev/null && command -v docker >/dev/null; } || need+=(docker.io)
    command -v debootstrap >/dev/null || need+=(debootstrap)
    command -v docker-compose >/dev/null || need+=(docker-compose)
    [ ${#need[@]} -gt 0 ] && apt_install apt-docker.log "; or set ROOMSIGNAL_TEST_DOCKER=off" "${need[@]}"
    if ! docker info >/dev/null 2>&1; then
      rm -f "$OUT/dockerd.pid"
      # One dockerd per machine: whoever holds the lock starts it, the others find it running.
      as_root flock /tmp/rs-dockerd.lock sh -c 'docker info >/dev/null 2>&1 || { nohup dockerd >"$1" 2>&1 & echo $! >"$2"; }
        for i in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done' sh "$OUT/dockerd.log" "$OUT/dockerd.pid"
      [ -s "$OUT/dockerd.pid" ] && STARTED_DOCKERD=$(cat "$OUT/dockerd.pid")
      docker info >/dev/null 2>&1 \
        || { tail -20 "$OUT/dockerd.log" 2>/dev/null; die "Docker could not be started (log: test-output/dockerd.log); set ROOMSIGNAL_TEST_DOCKER=off to run without it"; }
      echo "started dockerd (pid ${STARTED_DOCKERD:-?}); it is stopped at the end"
    else
      echo "a Docker engine is running"
    fi
    if docker image inspect "$TEST_IMAGE" >/dev/null 2>&1; then
      echo "Redis test image $TEST_IMAGE exists; reusing it"
    else
      step "building the Redis test image $TEST_IMAGE once (debootstrap --variant=minbase --include=redis-server bookworm, docker import)"
      rootfs=$(mktemp -d /tmp/roomsignal-redis-rootfs.XXXXXX)
      as_root debootstrap --variant=minbase --include=redis-server bookworm "$rootfs" >"$OUT/debootstrap.log" 2>&1 \
        || { tail -20 "$OUT/debootstrap.log"; as_root rm -rf "$rootfs"; die "debootstrap of the Redis test image failed (log: test-output/debootstrap.log)"; }
      as_root tar -C "$rootfs" -c . | docker import - "$TEST_IMAGE" >/dev/null || { as_root rm -rf "$rootfs"; die "docker import of $TEST_IMAGE failed"; }
      as_root rm -rf "$rootfs"
    fi
    BACKPLANE_REDIS=container
    ;;
  off) echo "ROOMSIGNAL_TEST_DOCKER=off: every suite uses a local redis-server"; BACKPLANE_REDIS=local ;;
  *) die "ROOMSIGNAL_TEST_DOCKER must be on or off, not '$DOCKER_MODE'" ;;
esac

step "installing client-js npm packages"
if [ ! -d client-js/node_modules ] || [ client-js/package-lock.json -nt client-js/node_modules/.package-lock.json ]; then
  (cd client-js && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed in client-js"
else
  echo "client-js/node_modules is up to date"
fi

# --- 2. build once -----------------------------------------------------------------------------
step "building RoomSignal.sln (Release)"
dotnet build RoomSignal.sln -c Release -nologo -clp:ErrorsOnly -v:q || die "build failed"

# --- 3. run every suite, keep going on failure, total up --------------------------------------
passed=0; failed=0; skipped=0; failures=()

run_dotnet_suite() {
  local project=$1 redis=$2 log="$OUT/$(basename "$1").log" choice="$OUT/$(basename "$1").redis.txt"
  local where="local redis-server"
  [ "$redis" = container ] && where="Testcontainers.Redis, image $TEST_IMAGE"
  step "dotnet test $project (Redis: $where)"
  rm -f "$choice"
  ROOMSIGNAL_TEST_REDIS=$redis ROOMSIGNAL_TEST_REDIS_LOG=$choice \
    dotnet test "$project" -c Release --no-build -nologo --logger "console;verbosity=minimal" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}   # read before any other command replaces PIPESTATUS
  [ -s "$choice" ] && sed 's/^/  /' "$choice"
  # The summary line looks like: "Passed!  - Failed:     0, Passed:    41, Skipped:     0, Total: ..."
  local line; line=$(grep -E 'Failed: +[0-9]+, Passed: +[0-9]+' "$log" | tail -1)
  if [ -n "$line" ]; then
    passed=$((passed + $(sed -E 's/.*Passed: +([0-9]+).*/\1/' <<<"$line")))
    failed=$((failed + $(sed -E 's/.*Failed: +([0-9]+).*/\1/' <<<"$line")))
    skipped=$((skipped + $(sed -E 's/.*Skipped: +([0-9]+).*/\1/' <<<"$line")))
  fi
  if [ "$rc" -ne 0 ] || [ -z "$line" ]; then
    failures+=("$project")
    [ -z "$line" ] && failed=$((failed + 1))
  fi
}

# The backplane suite through Testcontainers; the others keep a local redis-server (faster). Tests that
# kill or restart Redis always start their own redis-server.
run_dotnet_suite tests/RoomSignal.Server.Tests local
run_dotnet_suite tests/RoomSignal.Redis.Tests "$BACKPLANE_REDIS"
run_dotnet_suite tests/RoomSignal.Cluster.Tests local

step "client-js: protocol and browser tests (node --test)"
js_log="$OUT/client-js.log"
(cd client-js && npm test) 2>&1 | tee "$js_log"
js_rc=${PIPESTATUS[0]}
js_pass=$(grep -E '^# pass [0-9]+' "$js_log" | tail -1 | awk '{print $3}')
js_fail=$(grep -E '^# fail [0-9]+' "$js_log" | tail -1 | awk '{print $3}')
js_skip=$(grep -E '^# skipped [0-9]+' "$js_log" | tail -1 | awk '{print $3}')
passed=$((passed + ${js_pass:-0})); failed=$((failed + ${js_fail:-0})); skipped=$((skipped + ${js_skip:-0}))
if [ "$js_rc" -ne 0 ] || [ -z "$js_pass" ]; then
  failures+=("client-js")
  [ -z "$js_fail" ] && failed=$((failed + 1))
fi

step "load tool smoke test (tools/loadtest-smoke.sh)"
lt_log="$OUT/loadtest-smoke.log"
tools/loadtest-smoke.sh 2>&1 | tee "$lt_log"
lt_rc=${PIPESTATUS[0]}
lt_pass=$(grep -E '^# pass [0-9]+' "$lt_log" | tail -1 | awk '{print $3}')
lt_fail=$(grep -E '^# fail [0-9]+' "$lt_log" | tail -1 | awk '{print $3}')
passed=$((passed + ${lt_pass:-0})); failed=$((failed + ${lt_fail:-0}))
if [ "$lt_rc" -ne 0 ] || [ -z "$lt_pass" ]; then
  failures+=("loadtest-smoke")
  [ -z "$lt_fail" ] && failed=$((failed + 1))
fi

# --- 4. the compose test: docker-compose.yml + docker-compose.local.yml on locally built images ------------------
COMPOSE_MODE=${ROOMSIGNAL_TEST_COMPOSE:-$DOCKER_MODE}
if [ "$COMPOSE_MODE" = on ] && [ "$DOCKER_MODE" = on ]; then
  step "compose test (scripts/compose-test.sh; ROOMSIGNAL_TEST_COMPOSE=off skips it)"
  c_log="$OUT/compose-test.log"
  as_root env ROOMSIGNAL_COMPOSE_LOG="$OUT/compose.log" scripts/compose-test.sh 2>&1 | tee "$c_log"
  c_rc=${PIPESTATUS[0]}
  c_pass=$(grep -E '^# pass [0-9]+' "$c_log" | tail -1 | awk '{print $3}')
  c_fail=$(grep -E '^# fail [0-9]+' "$c_log" | tail -1 | awk '{print $3}')
  passed=$((passed + ${c_pass:-0})); failed=$((failed + ${c_fail:-0}))
  if [ "$c_rc" -ne 0 ] || [ -z "$c_pass" ]; then
    failures+=("compose-test")
    [ -z "$c_fail" ] || [ "$c_fail" -eq 0 ] && failed=$((failed + 1))
  fi
else
  step "compose test NOT run (ROOMSIGNAL_TEST_COMPOSE=$COMPOSE_MODE, ROOMSIGNAL_TEST_DOCKER=$DOCKER_MODE): counted as 1 skipped"
  skipped=$((skipped + 1))
fi

step "done in $(( $(date +%s) - START )) s; logs in test-output/"
if [ ${#failures[@]} -gt 0 ]; then
  echo "failing suites: ${failures[*]}"
  # Name every failed test once more at the end, where a CI log tail shows it.
  echo "failed tests:"
  # A failed .NET test with the first lines of its error message: the reason must survive a log cut to its tail.
  { awk '/^[[:space:]]*Failed [A-Za-z_][A-Za-z0-9_.]+/ { n = 12 } n > 0 { print; n-- }' "$OUT"/RoomSignal.*.Tests.log 2>/dev/null
    grep -hE '^\s*not ok [0-9]+ - ' "$js_log" 2>/dev/null
    grep -hE '^not ok - ' "$lt_log" 2>/dev/null
    grep -hE '^\s*not ok [0-9]+ - ' "$OUT/compose-test.log" 2>/dev/null
  } | cut -c1-240 | sed 's/^ */  /'
fi
echo "total: $passed passed, $failed failed, $skipped skipped"
[ ${#failures[@]} -eq 0 ] && [ "$failed" -eq 0 ]
